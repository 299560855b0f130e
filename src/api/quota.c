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

/*
 * Charge n rows to the day's quota, all or none. The statement's reserved
 * rows go first; beyond them, the shared counter is raised by compare and
 * swap, with a reserve for the next rows of the statement (at most 64, and
 * at most 1/64 of what remains, so near the limit every row is charged
 * one by one and no backend holds rows another needs). The reserve not
 * used is given back when the call ends (metering.c).
 */
void
MlApiChargeRows(MlExposure *x, MlApiMeter *m, int64 n)
{
	MlUsageEntry *e = m->entry;
	int64		need = n - Min(n, m->reserved);
	uint64		used = pg_atomic_read_u64(&e->rows);
	uint64		limit = (uint64) x->rows_per_day;
	uint64		extra;

	for (;;)
	{
		if (used + (uint64) need > limit)
		{
			TimestampTz reset = ((TimestampTz) e->key.day + 1) * USECS_PER_DAY;

			m->failed = true;
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("daily row quota of role \"%s\" on project \"%s\" exceeded: rows_per_day is " INT64_FORMAT,
							NameStr(x->consumer), x->project_name, x->rows_per_day),
					 errdetail(UINT64_FORMAT " rows were scored today (UTC); this statement asked for " INT64_FORMAT " more.",
							   used >= (uint64) m->reserved ? used - (uint64) m->reserved : 0, n),
					 errhint("The quota resets at %s.", utc_text(reset))));
		}
		extra = Min(64, (limit - used - (uint64) need) / 64);
		if (pg_atomic_compare_exchange_u64(&e->rows, &used, used + (uint64) need + extra))
			break;
	}
	m->reserved = m->reserved - (n - need) + (int64) extra;
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
				 errmsg("rate limit of role \"%s\" on project \"%s\" exceeded: calls_per_second is %d",
						NameStr(x->consumer), x->project_name, x->calls_per_second),
				 errhint("The limit resets at %s.", utc_text((second + 1) * USECS_PER_SEC))));
	}
}
