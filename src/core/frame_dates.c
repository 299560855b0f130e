/*
 * frame_dates.c
 *	  Datetime cells of a frame (epoch seconds) broken into parts (year,
 *	  month, day of week, ...) and written back as date or timestamp text.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/frame.h"

/* The broken-down time of an epoch: false when it has none (NaN, out of range). */
static bool
epoch_tm(double epoch, bool with_tz, struct pg_tm *tm, fsec_t *fsec, int *jd)
{
	int			tz;
	Timestamp	ts;

	if (!isfinite(epoch))
		return false;
	/* beyond the timestamp range (far dates): no parts, never an overflowing cast */
	if (fabs(epoch) > 9.0e12)
		return false;
	ts = (Timestamp) ((epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
					  * USECS_PER_SEC);
	if (timestamp2tm(ts, with_tz ? &tz : NULL, tm, fsec, NULL, NULL) != 0)
		return false;
	*jd = date2j(tm->tm_year, tm->tm_mon, tm->tm_mday);
	return true;
}

static double
part_of_tm(const struct pg_tm *tm, fsec_t fsec, int jd, MlDatePart part)
{
	switch (part)
	{
		case ML_PART_YEAR:
			return tm->tm_year;
		case ML_PART_MONTH:
			return tm->tm_mon;
		case ML_PART_DAY:
			return tm->tm_mday;
		case ML_PART_HOUR:
			return tm->tm_hour;
		case ML_PART_MINUTE:
			return tm->tm_min;
		case ML_PART_SECOND:
			return tm->tm_sec + fsec / 1e6;
		case ML_PART_DOW:
			return j2day(jd);
		case ML_PART_DOY:
			return jd - date2j(tm->tm_year, 1, 1) + 1;
		case ML_PART_WEEK:
			return date2isoweek(tm->tm_year, tm->tm_mon, tm->tm_mday);
		case ML_PART_WEEKEND:
			return (j2day(jd) == 0 || j2day(jd) == 6) ? 1 : 0;
	}
	return NAN;
}

/*
 * A datetime part of epoch seconds. Timestamps without time zone are
 * taken as they are; timestamptz values in the session time zone.
 */
double
MlDatePartOf(double epoch, MlDatePart part, bool with_tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;

	if (!epoch_tm(epoch, with_tz, &tm, &fsec, &jd))
		return NAN;
	return part_of_tm(&tm, fsec, jd, part);
}

/* Several parts of one epoch, broken down once: out[p] = MlDatePartOf(epoch, parts[p]). */
void
MlDatePartsOf(double epoch, const MlDatePart *parts, int nparts, bool with_tz, double *out)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;
	bool		ok = epoch_tm(epoch, with_tz, &tm, &fsec, &jd);

	for (int p = 0; p < nparts; p++)
		out[p] = ok ? part_of_tm(&tm, fsec, jd, parts[p]) : NAN;
}

/*
 * MlDatePartsOf through a memo of the last day broken down, for
 * timestamps without time zone (their date parts depend on the day alone,
 * their time parts on the time of day alone, exactly as timestamp2tm
 * splits them): rows of the same day skip the calendar arithmetic. With a
 * time zone, every value takes the full path.
 */
void
MlDatePartsOfMemo(double epoch, const MlDatePart *parts, int nparts, bool with_tz, double *out,
				  MlDayMemo *memo)
{
	Timestamp	ts,
				date,
				time;
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;

	if (with_tz || !isfinite(epoch) || fabs(epoch) > 9.0e12)
	{
		MlDatePartsOf(epoch, parts, nparts, with_tz, out);
		return;
	}
	/* epoch_tm's timestamp, then timestamp2tm's split of it */
	ts = (Timestamp) ((epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
					  * USECS_PER_SEC);
	time = ts;
	TMODULO(time, date, USECS_PER_DAY);
	if (time < INT64CONST(0))
	{
		time += USECS_PER_DAY;
		date -= 1;
	}
	if (!memo->valid || memo->date != date)
	{
		bool		ok = epoch_tm(epoch, false, &tm, &fsec, &jd);

		for (int p = 0; p < nparts; p++)
			out[p] = ok ? part_of_tm(&tm, fsec, jd, parts[p]) : NAN;
		memo->valid = ok;
		memo->date = date;
		memo->year = tm.tm_year;
		memo->mon = tm.tm_mon;
		memo->mday = tm.tm_mday;
		memo->jd = jd;
		return;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = memo->year;
	tm.tm_mon = memo->mon;
	tm.tm_mday = memo->mday;
	dt2time(time, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fsec);
	for (int p = 0; p < nparts; p++)
		out[p] = part_of_tm(&tm, fsec, memo->jd, parts[p]);
}

/*
 * Epoch seconds back to ISO 8601 text, whatever the session's DateStyle:
 * the text a fill leaves in a text column. timestamptz_out's SQL and
 * Postgres styles write the zone's abbreviation, which need not read back
 * as the same offset (IST is India's in Asia/Kolkata but Israel's to the
 * parser; LMT is not read at all), and their day and month order depends
 * on the DateStyle of the session that reads it. ISO writes the offset in
 * digits and the year first.
 */
char *
MlEpochTextIso(double epoch, Oid typid)
{
	double		pg = epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	Oid			base = getBaseType(typid);
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	const char *tzn = NULL;
	char		buf[MAXDATELEN + 1];

	if (base == DATEOID)
	{
		j2date((int) floor(pg / SECS_PER_DAY + 0.5) + POSTGRES_EPOCH_JDATE,
			   &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		EncodeDateOnly(&tm, USE_ISO_DATES, buf);
		return pstrdup(buf);
	}
	if (timestamp2tm((Timestamp) rint(pg * USECS_PER_SEC), base == TIMESTAMPTZOID ? &tz : NULL,
					 &tm, &fsec, &tzn, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	EncodeDateTime(&tm, fsec, base == TIMESTAMPTZOID, tz, tzn, USE_ISO_DATES, buf);
	return pstrdup(buf);
}

/*
 * Epoch seconds (as the frame holds date/time cells) back to the text of a
 * date, timestamp or timestamptz value of type typid.
 */
char *
MlEpochText(double epoch, Oid typid)
{
	double		pg = epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	switch (getBaseType(typid))
	{
		case DATEOID:
			return DatumGetCString(DirectFunctionCall1(date_out,
													   DateADTGetDatum((DateADT) floor(pg / SECS_PER_DAY + 0.5))));
		case TIMESTAMPTZOID:
			return DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum((TimestampTz) rint(pg * USECS_PER_SEC))));
		default:
			return DatumGetCString(DirectFunctionCall1(timestamp_out,
													   TimestampGetDatum((Timestamp) rint(pg * USECS_PER_SEC))));
	}
}
