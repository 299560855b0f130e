/*
 * report_cleaning.c
 *	  The cleaning report (stub, replaced below).
 */
#include "postgres.h"

#include "report/report.h"

void
MlReportCleaning(MlReport *r)
{
	(void) r;
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("not yet")));
}
