/*
 * schedule.c
 *	  Schedules: cron (five fields, or @hourly, @daily, @weekly, @monthly,
 *	  @yearly), evaluated in UTC so the time zone of whoever scheduled the
 *	  job does not change when it runs; or an interval ("30 seconds",
 *	  "5 minutes") counted from the previous due time.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "jobs/jobs.h"

/* cron's day-of-week count is 0..7 (both 0 and 7 are Sunday) */
typedef struct CronField
{
	const char *name;
	int			lo;
	int			hi;
} CronField;

static const CronField fields[5] = {
	{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31},
	{"month", 1, 12}, {"day of week", 0, 7}
};

static void
bad_cron(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid schedule \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("Use five cron fields (minute hour day-of-month month day-of-week, e.g. \"*/15 * * * *\"), "
					 "@hourly, @daily, @weekly, @monthly, @yearly, or an interval such as '30 seconds'.")));
}

/* One number of a field, within its range; *p moves past it. */
static int
cron_number(const char *text, const char **p, const CronField *f)
{
	long		v = 0;
	int			digits = 0;

	while (**p >= '0' && **p <= '9')
	{
		v = v * 10 + (**p - '0');
		(*p)++;
		if (++digits > 3)
			break;
	}
	if (digits == 0)
		bad_cron(text, psprintf("The %s field has something other than a number, *, -, / or ,.", f->name));
	if (v < f->lo || v > f->hi)
		bad_cron(text, psprintf("The %s field allows %d to %d, not %ld.", f->name, f->lo, f->hi, v));
	return (int) v;
}

/* One field: a comma list of "*", "n", "a-b", each with an optional "/step". */
static uint64
cron_field(const char *text, const char *src, const CronField *f, bool *star)
{
	uint64		bits = 0;
	const char *p = src;

	*star = strcmp(src, "*") == 0;
	for (;;)
	{
		int			lo,
					hi,
					step = 1;
		bool		single = false;

		if (*p == '*')
		{
			lo = f->lo;
			hi = f->hi;
			p++;
		}
		else
		{
			lo = hi = cron_number(text, &p, f);
			single = *p != '-';
			if (*p == '-')
			{
				p++;
				hi = cron_number(text, &p, f);
				if (hi < lo)
					bad_cron(text, psprintf("The %s field has a range that runs backwards.", f->name));
			}
		}
		if (*p == '/')
		{
			/* "5/10" is 5-59/10 in some crons and an error in others */
			if (single)
				bad_cron(text, psprintf("The %s field has a step on a single number; write a range (\"a-b/n\") or \"*/n\".",
										f->name));
			p++;
			step = cron_number(text, &p, &(CronField) {f->name, 1, f->hi});
		}
		for (int v = lo; v <= hi; v += step)
			bits |= UINT64CONST(1) << v;
		if (*p == '\0')
			break;
		if (*p != ',')
			bad_cron(text, psprintf("The %s field has something other than a number, *, -, / or ,.", f->name));
		p++;
	}
	return bits;
}

static void
parse_cron(const char *text, const char *spec, MlSchedule *s)
{
	char	   *copy = pstrdup(spec);
	char	   *parts[5];
	int			n = 0;
	bool		star;
	uint64		wd;

	for (char *tok = strtok(copy, " \t"); tok != NULL; tok = strtok(NULL, " \t"))
	{
		if (n == 5)
			bad_cron(text, "A cron schedule has exactly five fields.");
		parts[n++] = tok;
	}
	if (n != 5)
		bad_cron(text, "A cron schedule has exactly five fields.");
	s->minutes = cron_field(text, parts[0], &fields[0], &star);
	s->hours = (uint32) cron_field(text, parts[1], &fields[1], &star);
	s->mdays = (uint32) cron_field(text, parts[2], &fields[2], &s->mday_star);
	s->months = (uint16) cron_field(text, parts[3], &fields[3], &star);
	wd = cron_field(text, parts[4], &fields[4], &s->wday_star);
	if (wd & (UINT64CONST(1) << 7))
		wd |= 1;				/* 7 is Sunday too */
	s->wdays = (uint8) (wd & 0x7f);
}

/* An interval schedule: at least one second, no negative part. */
static void
parse_interval(const char *text, MlSchedule *s)
{
	MemoryContext cxt = CurrentMemoryContext;
	Interval   *iv = NULL;

	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(text),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		iv = NULL;
	}
	PG_END_TRY();
	if (iv == NULL)
		bad_cron(text, "It is neither five cron fields, an @ name, nor an interval.");
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time < USECS_PER_SEC))
		bad_cron(text, "An interval schedule must be at least one second, with no negative part.");
	/* beyond a century the next due time could leave timestamptz's range */
	if (iv->month / 12 + iv->day / 365 + iv->time / USECS_PER_DAY / 365 > 100)
		bad_cron(text, "An interval schedule must be at most 100 years.");
	s->is_interval = true;
	s->every = *iv;
}

void
MlScheduleParse(const char *text, MlSchedule *s)
{
	static const char *const named[][2] = {
		{"@hourly", "0 * * * *"}, {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
		{"@weekly", "0 0 * * 0"}, {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
		{"@annually", "0 0 1 1 *"}
	};
	const char *p;
	bool		cron_chars = true;

	memset(s, 0, sizeof(*s));
	if (text[0] == '@')
	{
		for (size_t i = 0; i < lengthof(named); i++)
			if (pg_strcasecmp(text, named[i][0]) == 0)
			{
				parse_cron(text, named[i][1], s);
				return;
			}
		bad_cron(text, "Known names are @hourly, @daily, @midnight, @weekly, @monthly, @yearly and @annually.");
	}
	/* cron fields hold only digits, * , - / and blanks; an interval has letters */
	for (p = text; *p; p++)
		if (!strchr("0123456789*,-/ \t", *p))
			cron_chars = false;
	if (cron_chars && strpbrk(text, "*,/ \t") != NULL)
		parse_cron(text, text, s);
	else
		parse_interval(text, s);
}

static bool
day_matches(const MlSchedule *s, int mday, int month, int wday)
{
	bool		dom = (s->mdays >> mday) & 1;
	bool		dow = (s->wdays >> wday) & 1;

	if (!((s->months >> month) & 1))
		return false;
	/* cron: when both day fields are restricted, either one matching is enough */
	if (!s->mday_star && !s->wday_star)
		return dom || dow;
	return dom && dow;
}

/* The first cron minute strictly after "after" (UTC), within five years. */
static TimestampTz
cron_next(const MlSchedule *s, TimestampTz after)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			julian;
	int			start_minute;

	if (timestamp2tm(after, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	julian = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
	start_minute = tm.tm_hour * 60 + tm.tm_min + 1;
	for (int d = 0; d < 5 * 366 + 1; d++, start_minute = 0)
	{
		int			y,
					m,
					md;

		j2date(julian + d, &y, &m, &md);
		if (!day_matches(s, md, m, j2day(julian + d)))
			continue;
		for (int t = start_minute; t < 24 * 60; t++)
		{
			if (((s->hours >> (t / 60)) & 1) && ((s->minutes >> (t % 60)) & 1))
			{
				struct pg_tm out = {0};
				Timestamp	result;

				out.tm_year = y;
				out.tm_mon = m;
				out.tm_mday = md;
				out.tm_hour = t / 60;
				out.tm_min = t % 60;
				if (tm2timestamp(&out, 0, NULL, &result) != 0)
					break;
				return (TimestampTz) result;
			}
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the schedule is never due"),
			 errdetail("No day in the next five years matches its day and month fields (such as 31 in February).")));
	return 0;					/* keep the compiler quiet */
}

/*
 * The next due time strictly after "after". An interval counts from
 * "after" (the launcher passes the previous due time and skips the ticks
 * it missed, so a late launcher does not queue a burst of runs).
 */
TimestampTz
MlScheduleNext(const MlSchedule *s, TimestampTz after)
{
	/*
	 * An interval is at most about a century and a cron time within five
	 * years: from a time closer than that to the range's end (or from an
	 * infinite one) the next time cannot be represented.
	 */
	if (TIMESTAMP_NOT_FINITE(after) || after > END_TIMESTAMP - 102 * 366 * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a schedule's next time cannot be counted from %s", timestamptz_to_str(after)),
				 errhint("Count from a finite time before the year 294000.")));
	if (s->is_interval)
		return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													   TimestampTzGetDatum(after),
													   IntervalPGetDatum(&s->every)));
	return cron_next(s, after);
}

/* mlops.schedule_next(schedule text, after timestamptz) -> timestamptz */
PG_FUNCTION_INFO_V1(ml_schedule_next);

Datum
ml_schedule_next(PG_FUNCTION_ARGS)
{
	MlSchedule	s;

	MlScheduleParse(text_to_cstring(PG_GETARG_TEXT_PP(0)), &s);
	PG_RETURN_TIMESTAMPTZ(MlScheduleNext(&s, PG_GETARG_TIMESTAMPTZ(1)));
}
