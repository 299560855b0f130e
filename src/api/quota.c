/*
 * quota.c
 *	  An exposure's limits, enforced exactly at the boundary across
 *	  backends: rows_per_day on the shared entry's atomic rows counter
 *	  (charged row by row, or block by block for ml_score, before the rows
 *	  are handed out), calls_per_second on the entry's rate window (checked
 *	  when a call begins, under its spinlock).
 *
 * The day is the UTC day of the statement's start, the second that of
 * the statement's start: a statement begun before midnight is charged to
 * the day it began. A refused call or row is not charged. Errors use
 * SQLSTATE 53400 (configuration_limit_exceeded) and say when the limit
 * resets.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "api/usage.h"

/* A timestamp as "YYYY-MM-DD HH:MM:SS UTC", whatever the session's time zone. */
static char *
utc_text(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("(out of range)");
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d UTC",
					tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Charge n rows to the day's quota, all or none. */
void
MlApiChargeRows(MlExposure *x, MlApiMeter *m, int64 n)
{
	MlUsageEntry *e = m->entry;
	uint64		used = pg_atomic_read_u64(&e->rows);

	for (;;)
	{
		if (used + (uint64) n > (uint64) x->rows_per_day)
		{
			TimestampTz reset = ((TimestampTz) e->key.day + 1) * USECS_PER_DAY;

			m->failed = true;
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("daily row quota of role \"%s\" on project \"%s\" exceeded: " INT64_FORMAT " rows per day",
							NameStr(x->consumer), x->project_name, x->rows_per_day),
					 errdetail(UINT64_FORMAT " rows were scored today (UTC); this statement asked for " INT64_FORMAT " more.",
							   used, n),
					 errhint("The quota resets at %s.", utc_text(reset))));
		}
		if (pg_atomic_compare_exchange_u64(&e->rows, &used, used + (uint64) n))
			break;
	}
	m->rows += n;
	m->charged += n;
}

/* A new call under calls_per_second: refused once the second's calls are used. */
void
MlApiCheckRate(MlExposure *x, MlApiMeter *m)
{
	MlUsageEntry *e = m->entry;
	int64		second = m->stmt_start / USECS_PER_SEC;
	bool		refused = false;

	SpinLockAcquire(&e->mutex);
	/* the window only moves forward: a call of an earlier second counts in the current one */
	if (second > e->rate_second)
	{
		e->rate_second = second;
		e->rate_calls = 0;
	}
	if (e->rate_calls >= x->calls_per_second)
		refused = true;
	else
		e->rate_calls++;
	second = e->rate_second;
	SpinLockRelease(&e->mutex);
	if (refused)
	{
		m->failed = true;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("rate limit of role \"%s\" on project \"%s\" exceeded: %d calls per second",
						NameStr(x->consumer), x->project_name, x->calls_per_second),
				 errhint("The limit resets at %s.", utc_text((second + 1) * USECS_PER_SEC))));
	}
}
