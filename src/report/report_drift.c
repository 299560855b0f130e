/*
 * report_drift.c
 *	  The drift report (stub, replaced below).
 */
#include "postgres.h"

#include "report/report.h"

void
MlReportDrift(MlReport *r)
{
	(void) r;
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("not yet")));
}
