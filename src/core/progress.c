/*
 * progress.c
 *	  Progress reports for long cleaning calls.
 *
 * A call marks its start; each unit of work (a column fitted, a chunk
 * written) may then report, but a NOTICE goes out only when the last one
 * is at least pg_mlops.progress_interval milliseconds old, so short calls
 * stay silent and long ones say where they are.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"
#include "utils/timestamp.h"

#include "core/progress.h"

int			ml_progress_interval = 5000;

static TimestampTz call_start;
static TimestampTz last_report;

void
MlProgressInit(void)
{
	DefineCustomIntVariable("pg_mlops.progress_interval",
							"Milliseconds between progress NOTICEs of long pg_mlops calls (0: none).",
							NULL,
							&ml_progress_interval,
							5000, 0, INT_MAX / 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("pg_mlops");
}

void
MlProgressStart(void)
{
	call_start = last_report = GetCurrentTimestamp();
}

void
MlProgress(const char *fmt,...)
{
	TimestampTz now = GetCurrentTimestamp();
	char		buf[256];
	va_list		args;

	if (ml_progress_interval <= 0 ||
		!TimestampDifferenceExceeds(last_report, now, ml_progress_interval))
		return;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	last_report = now;
	ereport(NOTICE,
			(errmsg("%s (%.1f s so far)", buf, (double) (now - call_start) / 1e6)));
}
