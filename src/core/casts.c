/*
 * casts.c
 *	  Casts that never fail: text to number, boolean or timestamp, NULL when
 *	  the text is not one. Used by the polish step so that applying a recipe
 *	  to new data cannot stop halfway through a batch on one odd value.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "core/casts.h"

PG_FUNCTION_INFO_V1(ml_try_numeric);
PG_FUNCTION_INFO_V1(ml_try_bool);
PG_FUNCTION_INFO_V1(ml_try_timestamp);
PG_FUNCTION_INFO_V1(ml_try_bigint);
PG_FUNCTION_INFO_V1(ml_try_round_int8);
PG_FUNCTION_INFO_V1(ml_try_round_int4);

/*
 * A plain decimal number: optional sign, digits, point, exponent, spaces
 * around. Exactly what numeric_in accepts among finite values, so the cast
 * after this check cannot fail.
 */
bool
MlTextIsNumber(const char *s, double *value)
{
	const char *p = s;
	bool		digits = false;
	char	   *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '+' || *p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits = true;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits = true;
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return false;
	if (value)
		*value = strtod(s, &end);
	return true;
}

/* "007", "-01": a number written with leading zeros is a code, not an amount */
bool
MlTextHasLeadingZero(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '+' || *s == '-')
		s++;
	return s[0] == '0' && s[1] >= '0' && s[1] <= '9';
}

bool
MlTextIsBool(const char *s)
{
	bool		b;

	return parse_bool(s, &b);
}

/* Parse a timestamp without raising errors; false if it is not one. */
static bool
parse_timestamp(const char *s, Timestamp *result)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (strlen(s) >= MAXDATELEN || strpbrk(s, "0123456789") == NULL)
		return false;
	if (ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (DecodeDateTime(field, ftype, nf, &dtype, &tm, &fsec, &tz) != 0 || dtype != DTK_DATE)
		return false;
	return tm2timestamp(&tm, fsec, NULL, result) == 0;
}

/* Epoch seconds of a timestamp text (as timestamp without time zone). */
bool
MlTextToEpoch(const char *s, double *epoch)
{
	Timestamp	ts;

	if (!parse_timestamp(s, &ts))
		return false;
	*epoch = (double) ts / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	return true;
}

bool
MlTextIsTimestamp(const char *s)
{
	Timestamp	ts;

	return parse_timestamp(s, &ts);
}

Datum
ml_try_numeric(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!MlTextIsNumber(s, NULL))
		PG_RETURN_NULL();
	return DirectFunctionCall3(numeric_in, CStringGetDatum(s), ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}

Datum
ml_try_bool(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		b;

	if (!parse_bool(s, &b))
		PG_RETURN_NULL();
	PG_RETURN_BOOL(b);
}

Datum
ml_try_timestamp(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Timestamp	ts;

	if (!parse_timestamp(s, &ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMP(ts);
}

/*
 * A numeric rounded to a whole number in [lo, hi], or false when it is not
 * finite or out of that range: the integer casts below then give NULL.
 */
static bool
round_in_range(Numeric n, int64 lo, int64 hi, int64 *out)
{
	Datum		r;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	r = DirectFunctionCall2(numeric_round, NumericGetDatum(n), Int32GetDatum(0));
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, r, NumericGetDatum(int64_to_numeric(lo)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, r, NumericGetDatum(int64_to_numeric(hi)))))
		return false;
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, r));
	return true;
}

/* mlops.try_cast_bigint(text): a whole number, NULL for text or out of range. */
Datum
ml_try_bigint(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		v;

	if (!MlTextIsNumber(s, NULL))
		PG_RETURN_NULL();
	if (!round_in_range(DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1))),
						PG_INT64_MIN, PG_INT64_MAX, &v))
		PG_RETURN_NULL();
	PG_RETURN_INT64(v);
}

/* mlops.try_round_int8(numeric): rounded, NULL when out of range or not finite. */
Datum
ml_try_round_int8(PG_FUNCTION_ARGS)
{
	int64		v;

	if (!round_in_range(PG_GETARG_NUMERIC(0), PG_INT64_MIN, PG_INT64_MAX, &v))
		PG_RETURN_NULL();
	PG_RETURN_INT64(v);
}

/*
 * mlops.try_round_int4(numeric): rounded, NULL when out of range or not
 * finite. numeric_int4_opt_error rounds half away from zero as
 * numeric_round does and reports NaN, infinities and the range instead of
 * raising: the same answers as round_in_range without its four temporary
 * numerics (the datetime parts and integer casts of ml_clean call this on
 * every row).
 */
Datum
ml_try_round_int4(PG_FUNCTION_ARGS)
{
	bool		error;
	int32		v = numeric_int4_opt_error(PG_GETARG_NUMERIC(0), &error);

	if (error)
		PG_RETURN_NULL();
	PG_RETURN_INT32(v);
}
