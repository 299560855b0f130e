/*
 * pg_mlops.c
 *	  Module entry point. _PG_init only delegates to each area's init.
 */
#include "postgres.h"

#include "fmgr.h"

#include "api/api.h"
#include "api/http.h"
#include "core/linalg.h"
#include "core/progress.h"
#include "core/run_progress.h"
#include "jobs/jobs.h"
#include "model/drift.h"
#include "model/score.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	MlLinalgInit();
	MlScoreInit();
	MlDriftInit();
	/* before MlProgressInit, which reserves the pg_mlops. prefix */
	MlJobsInit();
	MlApiInit();
	MlHttpInit();
	MlProgressInit();
	MlRunProgressShmemInit();
}
