/*
 * runs.c
 *	  How a run ends, written by the run's worker, by the dispatch pass
 *	  (a worker that ended without writing it) or by ml_cancel: the final
 *	  status, the error and its SQLSTATE, a retry with backoff when the job
 *	  allows one, and a NOTIFY on channel ml_job_runs.
 *
 * The caller is in a transaction with SPI connected, as a role that may
 * write the catalog (the extension owner, or the dispatch pass's bootstrap
 * superuser), with search_path pinned.
 *
 * Lock order: a job's row, then its runs' rows. ml_unschedule (and the
 * ON DELETE CASCADE it starts), ml_run_now, ml_cancel and the dispatch
 * pass take them in that order. A run written twice in one transaction
 * (PostgreSQL then rechecks its foreign key: FOR KEY SHARE on the job) or
 * a retry queued after it would take the job after the run, and deadlock
 * with an unschedule; so MlRunFinish, the worker's record of a run and the
 * workflow step log lock the job first (MlRunLockJob). A single write of a
 * run (claiming, starting it) takes no job lock and needs none.
 * ml_drop_project comes before all of them: its DELETE of the project takes
 * the project's row, and the cascade then its models', its jobs' and their
 * runs' (the foreign keys' triggers fire in that order). A run's step that
 * wrote a row of the project holds its key share, so the drop waits for the
 * run; a step that wrote none waits for the drop at its next write of the
 * project (a model's foreign key) or at MlRunLockJob, never the other way
 * round (test/jobs_lock_order.sh).
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "postmaster/bgworker.h"
#include "utils/builtins.h"

#include "core/catalog.h"
#include "jobs/jobs.h"

/*
 * The payload names the run and its status only: any role connected to
 * the database may LISTEN, so nothing about the job goes on the channel.
 */
void
MlRunNotify(int64 run, const char *status)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(run), CStringGetTextDatum(status)};

	MlSpiExec("SELECT pg_catalog.pg_notify('ml_job_runs', "
			  "pg_catalog.jsonb_build_object('run', $1, 'status', $2)::pg_catalog.text)",
			  2, types, values, NULL, SPI_OK_SELECT);
}

/*
 * Lock the job of a run (FOR KEY SHARE: what the run's foreign key check
 * takes) before the caller writes the run. Waits for an ml_unschedule that
 * holds the job; once that commits, the job and its runs are gone and the
 * caller's writes find nothing. As the catalog's writer (see above).
 */
void
MlRunLockJob(int64 run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run)};

	MlSpiExec("SELECT 1 FROM mlops.jobs j JOIN mlops.job_runs r ON r.job_id OPERATOR(pg_catalog.=) j.id "
			  "WHERE r.id OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF j",
			  1, types, values, NULL, SPI_OK_SELECT);
}

/*
 * End a queued or running run. A failed or timed-out run whose job has
 * retries left queues the next attempt, due after the job's backoff
 * doubled for each attempt already made, at most a day (bounded in SQL
 * too, so no stored value can make the interval overflow here, in the
 * dispatch pass). Nothing happens to a run that has
 * already ended (it was cancelled, or its job was removed).
 */
void
MlRunFinish(int64 run, const char *status, const char *sqlstate,
			const char *message, bool allow_retry)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = "    ";
	bool		isnull;
	int64		job;
	int32		attempt;

	values[0] = Int64GetDatum(run);
	values[1] = CStringGetTextDatum(status);
	if (sqlstate)
		values[2] = CStringGetTextDatum(sqlstate);
	else
		nulls[2] = 'n';
	if (message)
		values[3] = CStringGetTextDatum(message);
	else
		nulls[3] = 'n';
	MlRunLockJob(run);
	MlSpiExec("UPDATE mlops.job_runs SET status = $2, sqlstate = $3, message = $4, "
			  "    finished_at = pg_catalog.clock_timestamp(), "
			  "    started_at = COALESCE(started_at, pg_catalog.clock_timestamp()), "
			  "    progress = CASE WHEN $2 OPERATOR(pg_catalog.=) 'succeeded' THEN 1 ELSE progress END "
			  "WHERE id OPERATOR(pg_catalog.=) $1 AND status IN ('queued', 'running') "
			  "RETURNING job_id, attempt",
			  4, types, values, nulls, SPI_OK_UPDATE_RETURNING);
	if (SPI_processed != 1)
		return;
	job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	attempt = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	MlRunNotify(run, status);

	if (allow_retry && (strcmp(status, "failed") == 0 || strcmp(status, "timed_out") == 0))
	{
		Oid			rtypes[2] = {INT8OID, INT4OID};
		Datum		rvalues[2] = {Int64GetDatum(job), Int32GetDatum(attempt)};

		MlSpiExec("INSERT INTO mlops.job_runs (job_id, attempt, trigger, due_at) "
				  "SELECT j.id, $2 OPERATOR(pg_catalog.+) 1, 'retry', "
				  "       pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) "
				  "       LEAST(LEAST(j.backoff, '1 day'::pg_catalog.interval) OPERATOR(pg_catalog.*) "
				  "             pg_catalog.power(2, LEAST($2, 16) OPERATOR(pg_catalog.-) 1), "
				  "             '1 day'::pg_catalog.interval) "
				  "FROM mlops.jobs j WHERE j.id OPERATOR(pg_catalog.=) $1 "
				  "  AND j.max_retries OPERATOR(pg_catalog.>=) $2",
				  2, rtypes, rvalues, NULL, SPI_OK_INSERT);
		if (SPI_processed == 1)
			ereport(LOG,
					(errmsg("pg_mlops: run %lld of job %lld %s; attempt %d queued after backoff",
							(long long) run, (long long) job, status, attempt + 1)));
	}
}

/* Is pid one of our run workers (not a recycled pid of something else)? */
bool
MlRunWorkerAlive(int pid)
{
	const char *type = pid > 0 ? GetBackgroundWorkerTypeByPid((pid_t) pid) : NULL;

	return type != NULL && strcmp(type, ML_RUN_TYPE) == 0;
}
