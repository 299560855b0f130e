/*
 * stored.c
 *	  The payload of a forecast version: magic, format, algorithm, the
 *	  settings every series shares (holidays included), then each series'
 *	  key, status and coefficients.
 *
 * Written and read with model/payload.c's helpers: reading trusts nothing
 * (counts are checked against the bytes left before they size an
 * allocation, every number that must be finite is), so a dumped or edited
 * row is an error, never a crash.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "model/model.h"
#include "forecast/forecast.h"

/* bytes of the smallest series record (a skipped one with an empty key) */
#define MIN_SERIES_BYTES (4 + 4 + 4 + 8 + 8 + 4 * 8)

static void
save_config(StringInfo buf, FcConfig *c)
{
	MlWriteInt32(buf, c->n_changepoints);
	MlWriteFloat8(buf, c->changepoint_range);
	MlWriteFloat8(buf, c->changepoint_prior);
	MlWriteFloat8(buf, c->seasonality_prior);
	MlWriteFloat8(buf, c->holiday_prior);
	MlWriteInt32(buf, c->weekly);
	MlWriteInt32(buf, c->weekly_order);
	MlWriteInt32(buf, c->yearly);
	MlWriteInt32(buf, c->yearly_order);
	MlWriteInt32(buf, c->min_points);
	MlWriteFloat8(buf, c->interval_width);
	MlWriteInt32(buf, c->nholidays);
	for (int g = 0; g < c->nholidays; g++)
	{
		MlWriteString(buf, c->holiday_name[g]);
		MlWriteInt32(buf, c->holiday_ndays[g]);
		MlWriteFloat8s(buf, c->holiday_days[g], c->holiday_ndays[g]);
	}
}

static void
save_series(StringInfo buf, const char *key, FcModel *m)
{
	MlWriteString(buf, key);
	MlWriteInt32(buf, m->status);
	MlWriteInt32(buf, m->npoints);
	MlWriteInt64(buf, m->missing);
	MlWriteInt64(buf, m->duplicates);
	MlWriteFloat8(buf, m->t0);
	MlWriteFloat8(buf, m->tspan);
	MlWriteFloat8(buf, m->step);
	MlWriteFloat8(buf, m->yscale);
	if (m->status != FC_FITTED)
		return;
	MlWriteInt32(buf, m->ncp);
	MlWriteFloat8s(buf, m->cp, m->ncp);
	MlWriteInt32(buf, m->weekly);
	MlWriteInt32(buf, m->yearly);
	MlWriteInt32(buf, m->nhol);
	MlWriteInt32(buf, m->p);
	MlWriteFloat8s(buf, m->beta, m->p);
	MlWriteFloat8(buf, m->sigma);
	MlWriteFloat8(buf, m->rmse);
	MlWriteFloat8(buf, m->mae);
	MlWriteFloat8(buf, m->smape);
}

bytea *
FcStoredSave(FcStored *s)
{
	StringInfoData buf;
	bytea	   *result;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, FC_PAYLOAD_MAGIC, 8);
	MlWriteInt32(&buf, FC_PAYLOAD_FORMAT);
	MlWriteString(&buf, FC_ALGORITHM);
	MlWriteInt32(&buf, s->local_time ? 1 : 0);
	save_config(&buf, &s->cfg);
	MlWriteInt64(&buf, s->nseries);
	for (int64 i = 0; i < s->nseries; i++)
		save_series(&buf, s->key[i], &s->models[i]);
	result = palloc_extended(VARHDRSZ + buf.len, MCXT_ALLOC_HUGE);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	pfree(buf.data);
	return result;
}

static double
read_range(MlReader *r, double lo, double hi)
{
	double		v = MlReadFiniteFloat8(r);

	if (v < lo || v > hi)
		MlPayloadInvalid(r, psprintf("value %g is outside %g..%g", v, lo, hi));
	return v;
}

static void
load_config(MlReader *r, FcConfig *c)
{
	c->n_changepoints = MlReadInt32(r, 0, FC_MAX_CHANGEPOINTS);
	c->changepoint_range = read_range(r, 0.01, 1);
	c->changepoint_prior = read_range(r, 1e-12, 1e12);
	c->seasonality_prior = read_range(r, 1e-12, 1e12);
	c->holiday_prior = read_range(r, 1e-12, 1e12);
	c->weekly = MlReadInt32(r, -1, 1);
	c->weekly_order = MlReadInt32(r, 1, FC_MAX_WEEKLY_ORDER);
	c->yearly = MlReadInt32(r, -1, 1);
	c->yearly_order = MlReadInt32(r, 1, FC_MAX_YEARLY_ORDER);
	c->min_points = MlReadInt32(r, 2, PG_INT32_MAX);
	c->interval_width = read_range(r, 0.01, 0.99);
	c->nholidays = MlReadInt32(r, 0, FC_MAX_HOLIDAY_GROUPS);
	c->holiday_name = palloc(sizeof(char *) * Max(c->nholidays, 1));
	c->holiday_ndays = palloc(sizeof(int) * Max(c->nholidays, 1));
	c->holiday_days = palloc(sizeof(double *) * Max(c->nholidays, 1));
	for (int g = 0; g < c->nholidays; g++)
	{
		c->holiday_name[g] = MlReadString(r);
		c->holiday_ndays[g] = MlReadInt32(r, 1, (r->len - r->pos) / 8);
		c->holiday_days[g] = palloc(sizeof(double) * c->holiday_ndays[g]);
		for (int d = 0; d < c->holiday_ndays[g]; d++)
		{
			c->holiday_days[g][d] = read_range(r, -1e10, 1e10);
			if (d > 0 && !(c->holiday_days[g][d] > c->holiday_days[g][d - 1]))
				MlPayloadInvalid(r, "holiday dates are not in ascending order");
		}
	}
}

/*
 * A series key is the jsonb text ml_forecast hands back: checked here,
 * without raising, so an edited key is "data corrupted" like any other
 * byte, not jsonb_in's syntax error later (need_escapes: \u0000, which
 * jsonb refuses, is refused here too).
 */
static void
check_key(MlReader *r, char *key)
{
	JsonLexContext *lex = makeJsonLexContextCstringLen(key, strlen(key),
													   GetDatabaseEncoding(), true);

	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		MlPayloadInvalid(r, "a series key is not valid JSON");
}

static void
load_series(MlReader *r, FcConfig *c, char **key, FcModel *m)
{
	int			maxp = FcMaxParams(c);

	*key = MlReadString(r);
	check_key(r, *key);
	m->status = (FcStatus) MlReadInt32(r, FC_FITTED, FC_SKIP_FAILED);
	m->npoints = MlReadInt32(r, 0, PG_INT32_MAX);
	m->missing = MlReadInt64(r, 0, PG_INT64_MAX);
	m->duplicates = MlReadInt64(r, 0, PG_INT32_MAX);
	/* epoch seconds of dates span about +-2e14 (4713 BC to 5874897 AD) */
	m->t0 = read_range(r, -1e15, 1e15);
	m->tspan = read_range(r, 0, 2e15);
	m->step = read_range(r, 0, 2e15);
	m->yscale = read_range(r, 0, DBL_MAX);
	m->cp = NULL;
	m->beta = NULL;
	if (m->status != FC_FITTED)
		return;
	if (!(m->tspan > 0 && m->step > 0 && m->yscale > 0))
		MlPayloadInvalid(r, "a fitted series has no time span, step or scale");
	m->ncp = MlReadInt32(r, 0, c->n_changepoints);
	m->cp = palloc(sizeof(double) * Max(m->ncp, 1));
	for (int j = 0; j < m->ncp; j++)
		m->cp[j] = read_range(r, 0, 1);
	m->weekly = MlReadInt32(r, 0, c->weekly_order);
	m->yearly = MlReadInt32(r, 0, c->yearly_order);
	m->nhol = MlReadInt32(r, 0, c->nholidays);
	m->p = MlReadInt32(r, 2, maxp);
	if (m->p != 2 + m->ncp + 2 * m->weekly + 2 * m->yearly + m->nhol)
		MlPayloadInvalid(r, "a series' coefficient count does not match its components");
	m->beta = palloc(sizeof(double) * m->p);
	for (int j = 0; j < m->p; j++)
		m->beta[j] = MlReadFiniteFloat8(r);
	m->sigma = read_range(r, 0, DBL_MAX);
	m->rmse = read_range(r, 0, DBL_MAX);
	m->mae = read_range(r, 0, DBL_MAX);
	m->smape = read_range(r, 0, 200);
}

FcStored *
FcStoredLoad(bytea *payload, const char *what)
{
	MlReader	r;
	FcStored   *s = palloc0(sizeof(FcStored));
	char	   *name;

	r.data = VARDATA_ANY(payload);
	r.len = VARSIZE_ANY_EXHDR(payload);
	r.pos = 0;
	r.what = what;
	if (r.len < 8 || memcmp(r.data, FC_PAYLOAD_MAGIC, 8) != 0)
		MlPayloadInvalid(&r, "it does not start with the pg_mlops forecast header");
	r.pos = 8;
	if (MlReadInt32(&r, 0, PG_INT32_MAX) != FC_PAYLOAD_FORMAT)
		MlPayloadInvalid(&r, psprintf("its format is not %d, the one this library reads",
									  FC_PAYLOAD_FORMAT));
	name = MlReadString(&r);
	if (strcmp(name, FC_ALGORITHM) != 0)
		MlPayloadInvalid(&r, psprintf("algorithm \"%s\" is unknown to this library", name));
	s->local_time = MlReadInt32(&r, 0, 1) == 1;
	load_config(&r, &s->cfg);
	s->nseries = MlReadInt64(&r, 0, (r.len - r.pos) / MIN_SERIES_BYTES);
	s->key = palloc_extended(sizeof(char *) * Max(s->nseries, 1), MCXT_ALLOC_HUGE);
	s->models = palloc_extended(sizeof(FcModel) * Max(s->nseries, 1), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < s->nseries; i++)
		load_series(&r, &s->cfg, &s->key[i], &s->models[i]);
	MlReadEnd(&r);
	return s;
}
