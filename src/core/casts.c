/*
 * casts.c
 *	  Casts that never fail: text to number, boolean or timestamp, NULL when
 *	  the text is not one. Used by the polish step so that applying a recipe
 *	  to new data cannot stop halfway through a batch on one odd value.
 */
#include "postgres.h"

#include <ctype.h>

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/casts.h"
#include "core/frame.h"

PG_FUNCTION_INFO_V1(ml_try_numeric);
PG_FUNCTION_INFO_V1(ml_try_bool);
PG_FUNCTION_INFO_V1(ml_try_timestamp);
PG_FUNCTION_INFO_V1(ml_try_timestamptz);
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

/*
 * Whether a word names no time zone (pg_tzset finds none). pg_tzset keeps
 * the zones it finds, but looks for a word naming none in the zone
 * directory every time: a CSV column of dates such as "jan-02-2024" (a
 * word the date parser reads as a month, and decode_timestamp asks about)
 * took 30 us a cell instead of 0.4. The words found to name none are kept,
 * 4,096 at most (then forgotten together), for the backend's life.
 */
#define UNKNOWN_ZONE_WORDS 4096

static bool
names_no_zone(const char *word)
{
	static HTAB *unknown = NULL;
	char		key[TZ_STRLEN_MAX + 1];

	if (strlen(word) > TZ_STRLEN_MAX)
		return pg_tzset(word) == NULL;
	strlcpy(key, word, sizeof(key));
	if (unknown != NULL && hash_search(unknown, key, HASH_FIND, NULL) != NULL)
		return true;
	if (pg_tzset(word) != NULL)
		return false;
	if (unknown != NULL && hash_get_num_entries(unknown) >= UNKNOWN_ZONE_WORDS)
	{
		hash_destroy(unknown);
		unknown = NULL;
	}
	if (unknown == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(key);
		ctl.entrysize = sizeof(key);
		ctl.hcxt = TopMemoryContext;
		unknown = hash_create("pg_mlops words naming no time zone", 256, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	(void) hash_search(unknown, key, HASH_ENTER, NULL);
	return true;
}

/*
 * Decode s as a date and time into tm (tzp: its zone offset; NULL refuses
 * a zone, DecodeDateTime's own rule), never raising an error. PostgreSQL
 * 15's DecodeDateTime raises one, "time zone ... not recognized", at a word
 * in a zone's place that names no zone ("2024-01-02 c5a8", a hash after a
 * date): so when a word that could be taken for a zone name names none,
 * s is first decoded with nowhere to put a zone, which refuses it before
 * the zone is looked up; only if that decoding takes no zone (the word was
 * a part of the date, "jan-02-2024") is it decoded again with tzp, on the
 * same path. A timestamp holding such a word and a zone reads as none.
 */
static bool decode_datetime(const char *s, struct pg_tm *tm, fsec_t *fsec, int *tzp,
							int *dtype, bool *relative);

static bool
decode_timestamp(const char *s, struct pg_tm *tm, fsec_t *fsec, int *tzp)
{
	int			dtype;

	if (strpbrk(s, "0123456789") == NULL)
		return false;
	return decode_datetime(s, tm, fsec, tzp, &dtype, NULL) && dtype == DTK_DATE;
}

/*
 * decode_timestamp's decoding, of any text and into any of the date
 * parser's results (*dtype: DTK_DATE, or DTK_EPOCH, DTK_LATE, DTK_EARLY
 * for "epoch", "infinity", "-infinity"); *relative (if not NULL) tells
 * whether a field is one of its words for a moment relative to the time
 * it is read ("now", "today", "tomorrow", "yesterday").
 */
static bool
decode_datetime(const char *s, struct pg_tm *tm, fsec_t *fsec, int *tzp, int *dtype, bool *relative)
{
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	bool		unknown_word = false;

	if (strlen(s) >= MAXDATELEN)
		return false;
	if (ParseDateTime(s, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &nf) != 0)
		return false;
	if (relative)
	{
		*relative = false;
		for (int i = 0; i < nf; i++)
		{
			int			val;

			if ((ftype[i] == DTK_STRING || ftype[i] == DTK_SPECIAL) &&
				DecodeSpecial(i, field[i], &val) == RESERV &&
				(val == DTK_NOW || val == DTK_TODAY || val == DTK_TOMORROW || val == DTK_YESTERDAY))
				*relative = true;
		}
	}
	for (int i = 0; i < nf && !unknown_word; i++)
		if (ftype[i] == DTK_DATE && isalpha((unsigned char) field[i][0]) && names_no_zone(field[i]))
			unknown_word = true;
	if (unknown_word && tzp != NULL)
	{
		/* DecodeDateTime writes into the fields: decode a copy first */
		char		workbuf2[MAXDATELEN + MAXDATEFIELDS];
		char	   *field2[MAXDATEFIELDS];
		int			ftype2[MAXDATEFIELDS];
		int			nf2;

		if (ParseDateTime(s, workbuf2, sizeof(workbuf2), field2, ftype2, MAXDATEFIELDS, &nf2) != 0 ||
			DecodeDateTime(field2, ftype2, nf2, dtype, tm, fsec, NULL) != 0)
			return false;
	}
	return DecodeDateTime(field, ftype, nf, dtype, tm, fsec, tzp) == 0;
}

/*
 * What s is among the date parser's special words (MlTimeWord): one of a
 * fixed value, alone, which date_in, timestamp_in and timestamptz_in all
 * take ("epoch", "infinity", "-infinity"); a moment relative to the time
 * it is read, alone or with other fields ("now", "today 10:00"), whose
 * value would be the time of reading; or neither. Never raises an error.
 */
MlTimeWord
MlTextTimeWord(const char *s)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	int			dtype;
	bool		relative;

	if (!decode_datetime(s, &tm, &fsec, &tz, &dtype, &relative))
		return ML_TIME_WORD_NONE;
	if (relative && dtype == DTK_DATE)
		return ML_TIME_WORD_RELATIVE;
	if (dtype == DTK_EPOCH || dtype == DTK_LATE || dtype == DTK_EARLY)
		return ML_TIME_WORD_FIXED;
	return ML_TIME_WORD_NONE;
}

/* Parse a timestamp without raising errors; false if it is not one. */
static bool
parse_timestamp(const char *s, Timestamp *result)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (!decode_timestamp(s, &tm, &fsec, &tz))
		return false;
	return tm2timestamp(&tm, fsec, NULL, result) == 0;
}

/*
 * Parse a timestamp with time zone without raising errors (its offset
 * applied, the session's zone where it names none); false if it is not
 * one or the instant is out of range.
 */
static bool
parse_timestamptz(const char *s, TimestampTz *result)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	return decode_timestamp(s, &tm, &fsec, &tz) && tm2timestamp(&tm, fsec, &tz, result) == 0 &&
		IS_VALID_TIMESTAMP(*result);
}

/*
 * How s reads as a date, never raising an error: a date (a time of day of
 * midnight allowed), not one, one with a time of day or a zone (which
 * date_in would drop without a word), or one beyond the range of date
 * (which is wider than timestamp's: 5874897 AD).
 */
MlDateFit
MlTextDateFit(const char *s)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (!decode_timestamp(s, &tm, &fsec, NULL))
		return decode_timestamp(s, &tm, &fsec, &tz) ? ML_DATE_ZONE : ML_DATE_NONE;
	if (tm.tm_hour != 0 || tm.tm_min != 0 || tm.tm_sec != 0 || fsec != 0)
		return ML_DATE_TIME;
	if (!IS_VALID_JULIAN(tm.tm_year, tm.tm_mon, tm.tm_mday) ||
		!IS_VALID_DATE(date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE))
		return ML_DATE_RANGE;
	return ML_DATE_OK;
}

/* Epoch seconds of a timestamp text (as timestamp without time zone). */
bool
MlTextToEpoch(const char *s, double *epoch)
{
	Timestamp	ts;

	if (!parse_timestamp(s, &ts))
		return false;
	*epoch = MlTimestampEpoch(ts);
	return true;
}

/*
 * Epoch seconds of the instant a timestamp text names (as timestamp with
 * time zone: its offset applied, the session's zone where it names none).
 */
bool
MlTextToEpochTz(const char *s, double *epoch)
{
	TimestampTz ts;

	if (!parse_timestamptz(s, &ts))
		return false;
	*epoch = MlTimestampEpoch(ts);
	return true;
}

/*
 * Whether any of the texts is a timestamp naming a zone: a text column of
 * such values declared datetime is read as instants (MlTextToEpochTz), as
 * timestamp without time zone would drop the zones.
 */
bool
MlTextsNameZones(char **texts, int n)
{
	for (int i = 0; i < n; i++)
		if (texts[i] && MlTextTimestampHasZone(texts[i]))
			return true;
	return false;
}

bool
MlTextIsTimestamp(const char *s)
{
	Timestamp	ts;

	return parse_timestamp(s, &ts);
}

/*
 * Whether a timestamp text names a time zone or an offset ("Z", "+05:30",
 * "EST", "Europe/Paris"): timestamp without time zone reads it and drops
 * the zone, so two different instants can read as one time. The date
 * parser refuses a zone when it is given nowhere to put one.
 */
bool
MlTextTimestampHasZone(const char *s)
{
	struct pg_tm tm;
	fsec_t		fsec;

	return MlTextIsTimestamp(s) && !decode_timestamp(s, &tm, &fsec, NULL);
}

/*
 * Whether s is a timestamp with time zone in range: its offset applied, or
 * the session's zone when it names none (as timestamptz_in reads it).
 */
bool
MlTextIsTimestampTz(const char *s)
{
	TimestampTz ts;

	return parse_timestamptz(s, &ts);
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

/* mlops.try_cast_timestamptz: the instant, or NULL (out of range too). */
Datum
ml_try_timestamptz(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz ts;

	if (!parse_timestamptz(s, &ts))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(ts);
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
