/*
 * payload.c
 *	  The bytes of a stored model: big-endian integers and IEEE doubles
 *	  written to a StringInfo, read back with bounds and range checks.
 *
 * A payload may come from a restored dump or a hand-edited row, so reading
 * trusts nothing: every count is range-checked before it sizes an
 * allocation, and running off the end is an error, never a read past it.
 */
#include "postgres.h"

#include <math.h>

#include "libpq/pqformat.h"

#include "model/model.h"

void
MlPayloadInvalid(MlReader *r, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("%s has an invalid payload", r->what ? r->what : "model"),
			 errdetail("%s (at byte %d of %d).", detail, r->pos, r->len),
			 errhint("Fit it again (ml_train, ml_forecast_train, or the cleaning call that stored the recipe); payloads are written only by pg_mlops.")));
}

void
MlWriteInt32(StringInfo buf, int32 v)
{
	pq_sendint32(buf, (uint32) v);
}

void
MlWriteInt64(StringInfo buf, int64 v)
{
	pq_sendint64(buf, (uint64) v);
}

void
MlWriteFloat8(StringInfo buf, double v)
{
	pq_sendfloat8(buf, v);
}

void
MlWriteFloat8s(StringInfo buf, const double *v, int64 n)
{
	for (int64 i = 0; i < n; i++)
		pq_sendfloat8(buf, v[i]);
}

void
MlWriteString(StringInfo buf, const char *s)
{
	int32		len = (int32) strlen(s);

	pq_sendint32(buf, (uint32) len);
	appendBinaryStringInfo(buf, s, len);
}

static const char *
take(MlReader *r, int n)
{
	const char *p;

	if (n < 0 || r->len - r->pos < n)
		MlPayloadInvalid(r, "it ends too early");
	p = r->data + r->pos;
	r->pos += n;
	return p;
}

static uint64
take_u64(MlReader *r)
{
	const unsigned char *p = (const unsigned char *) take(r, 8);
	uint64		v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int32
MlReadInt32(MlReader *r, int32 min, int32 max)
{
	const unsigned char *p = (const unsigned char *) take(r, 4);
	int32		v = (int32) (((uint32) p[0] << 24) | ((uint32) p[1] << 16) |
							 ((uint32) p[2] << 8) | (uint32) p[3]);

	if (v < min || v > max)
		MlPayloadInvalid(r, psprintf("value %d is outside %d..%d", v, min, max));
	return v;
}

int64
MlReadInt64(MlReader *r, int64 min, int64 max)
{
	int64		v = (int64) take_u64(r);

	if (v < min || v > max)
		MlPayloadInvalid(r, psprintf("value " INT64_FORMAT " is outside " INT64_FORMAT ".." INT64_FORMAT,
									 v, min, max));
	return v;
}

double
MlReadFloat8(MlReader *r)
{
	union
	{
		uint64		i;
		double		d;
	}			u;

	u.i = take_u64(r);
	return u.d;
}

double
MlReadFiniteFloat8(MlReader *r)
{
	double		v = MlReadFloat8(r);

	if (!isfinite(v))
		MlPayloadInvalid(r, "a number that must be finite is not");
	return v;
}

void
MlReadFloat8s(MlReader *r, double *v, int64 n)
{
	if (n < 0 || n > (r->len - r->pos) / 8)
		MlPayloadInvalid(r, "it ends too early");
	for (int64 i = 0; i < n; i++)
		v[i] = MlReadFloat8(r);
}

char *
MlReadString(MlReader *r)
{
	int32		len = MlReadInt32(r, 0, r->len - r->pos - 4);
	const char *p = take(r, len);
	char	   *s = palloc(len + 1);

	memcpy(s, p, len);
	s[len] = '\0';
	if (strlen(s) != (size_t) len)
		MlPayloadInvalid(r, "a name holds a zero byte");
	if (!pg_verifymbstr(s, len, true))
		MlPayloadInvalid(r, "a name is not valid in the database encoding");
	return s;
}

void
MlReadEnd(MlReader *r)
{
	if (r->pos != r->len)
		MlPayloadInvalid(r, "bytes follow the model");
}

/* The bytes written into buf as a bytea (buf's buffer is freed). */
bytea *
MlPayloadBytea(StringInfo buf)
{
	bytea	   *result = palloc(VARHDRSZ + buf->len);

	SET_VARSIZE(result, VARHDRSZ + buf->len);
	memcpy(VARDATA(result), buf->data, buf->len);
	pfree(buf->data);
	return result;
}
