/*
 * jobs.h
 *	  The scheduler: launcher, per-database dispatch, run workers, schedules
 *	  and the catalog operations on runs they share.
 */
#ifndef ML_JOBS_H
#define ML_JOBS_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* what pg_stat_activity.backend_type says for each of our workers */
#define ML_LAUNCHER_TYPE	"pg_mlops launcher"
#define ML_DISPATCH_TYPE	"pg_mlops dispatch"
#define ML_RUN_TYPE			"pg_mlops job run"

/* settings (launcher.c) */
extern char *ml_job_databases;
extern int	ml_max_job_workers;
extern int	ml_job_poll_interval;
extern int	ml_job_run_retention;
extern int	ml_job_max_queued_runs;

extern void MlJobsInit(void);
extern void MlJobsRequireLauncher(void);
extern bool MlJobsServesDatabase(const char *dbname);

/* a parsed schedule (schedule.c) */
typedef struct MlSchedule
{
	bool		is_interval;
	Interval	every;			/* is_interval */
	uint64		minutes;		/* cron: bit per allowed value */
	uint32		hours;
	uint32		mdays;
	uint16		months;
	uint8		wdays;
	bool		mday_star;		/* day-of-month field was "*" */
	bool		wday_star;
} MlSchedule;

extern void MlScheduleParse(const char *text, MlSchedule *s);
extern TimestampTz MlScheduleNext(const MlSchedule *s, TimestampTz after);

/* what a worker is given (bgw_extra) */
typedef struct MlRunArg
{
	Oid			database;
	Oid			role;
	int64		run;
} MlRunArg;

/* runs.c: catalog writes on runs, inside a transaction with SPI connected */
extern void MlRunFinish(int64 run, const char *status, const char *sqlstate,
						const char *message, bool allow_retry);
extern void MlRunLockJob(int64 run);
extern void MlRunNotify(int64 run, const char *status);
extern bool MlRunWorkerAlive(int pid);

/*
 * worker.c: the score and clean steps of jobs, their output writer and the
 * owner's SPI calls (bound text parameters), for workflow steps.
 */
typedef struct MlRunStepArgs
{
	int64		run;
	int64		job;
	int64		project_id;
	const char *kind;			/* score or clean */
	const char *project;
	const char *ext;			/* the extension's schema, quoted */
	const char *relation;		/* quoted */
	const char *into;			/* quoted; NULL: clean in place */
	const char *mode;
	const char *recipe;
	int64		rows;			/* out */
	char	   *detail;			/* out */
} MlRunStepArgs;

extern void MlRunStep(MlRunStepArgs *a);
extern int64 MlRunWriteOutput(MlRunStepArgs *a, const char *source, bool stamp);
extern int64 MlRunWriteImport(MlRunStepArgs *a, const char *source);
extern void MlRunExec(const char *sql, int nargs, const char **args, int expected);

/* entry points of the workers (dispatch.c, worker.c) */
extern PGDLLEXPORT void ml_jobs_launcher_main(Datum arg);
extern PGDLLEXPORT void ml_jobs_dispatch_main(Datum arg);
extern PGDLLEXPORT void ml_jobs_run_main(Datum arg);

#endif							/* ML_JOBS_H */
