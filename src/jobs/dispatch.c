/*
 * dispatch.c
 *	  One pass of the scheduler over one database, in a short-lived worker
 *	  the launcher starts every poll interval (launcher.c):
 *	    1. runs whose worker is gone without writing a result (terminated,
 *	       crashed, or a server restart) are marked failed, and retried if
 *	       their job allows it;
 *	    2. every due job gets a queued run, unless one is queued or running
 *	       (two runs of a job never overlap), and its next due time;
 *	    3. finished runs older than pg_mlops.job_run_retention are removed;
 *	    4. queued runs that are due start, one worker each, as the job's
 *	       owner (worker.c), while fewer than pg_mlops.max_job_workers run;
 *	    5. the database's API usage counters are written from shared memory
 *	       into mlops.api_usage (api/usage.c).
 * It connects as the bootstrap superuser but runs only these statements
 * on the catalog, with search_path pinned; no user code runs here.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/log_text.h"
#include "api/api.h"
#include "core/catalog.h"
#include "jobs/jobs.h"

typedef struct QueuedRun
{
	int64		run;
	int64		job;
	char	   *owner;
	char	   *owner_oid;		/* the OID of the role that scheduled it; NULL before 0.3.0 */
} QueuedRun;

static void
begin_tx(const char *what)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);
}

static void
end_tx(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Is the 0.3.0 catalog there (extension created and updated)? */
static bool
catalog_ready(void)
{
	MlSpiExec("SELECT 1 FROM pg_catalog.pg_attribute "
			  "WHERE attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('mlops.job_runs') "
			  "  AND attname OPERATOR(pg_catalog.=) 'cancel_requested'",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	return SPI_processed == 1;
}

/* 1. Runs left queued-with-a-worker or running by a worker that is gone. */
static void
reap_orphans(void)
{
	SPITupleTable *tt;
	uint64		n;

	MlSpiExec("SELECT id, pid, cancel_requested FROM mlops.job_runs "
			  "WHERE status IN ('queued', 'running') AND pid IS NOT NULL",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int64		run = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		int			pid = DatumGetInt32(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
		bool		cancel = DatumGetBool(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));

		if (MlRunWorkerAlive(pid))
			continue;
		ereport(LOG,
				(errmsg("pg_mlops: run %lld: its worker (pid %d) ended without recording a result; marked %s",
						(long long) run, pid, cancel ? "cancelled" : "failed")));
		MlRunFinish(run, cancel ? "cancelled" : "failed", cancel ? "57014" : "57P01",
					cancel ? "cancelled; the worker ended before recording it"
					: "the run's worker ended without recording a result (terminated, crashed, or the server restarted)",
					!cancel);
	}
}

/* 2a. One due job: queue a run unless one is active, and move its next due time. */
static void
queue_due_job(int64 job, const char *schedule, TimestampTz due)
{
	MlSchedule	s;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TimestampTz next = due;
	Oid			types[3] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[3];

	MlScheduleParse(schedule, &s);
	/* skip the ticks a late pass missed: one run, not a burst */
	for (int i = 0; next <= now; i++)
		next = i < 10000 ? MlScheduleNext(&s, next) : MlScheduleNext(&s, now);
	values[0] = Int64GetDatum(job);
	values[1] = TimestampTzGetDatum(due);
	values[2] = TimestampTzGetDatum(next);
	MlSpiExec("INSERT INTO mlops.job_runs (job_id, trigger, due_at) "
			  "SELECT $1, 'schedule', $2 WHERE NOT EXISTS (SELECT 1 FROM mlops.job_runs r "
			  "  WHERE r.job_id OPERATOR(pg_catalog.=) $1 AND r.status IN ('queued', 'running'))",
			  3, types, values, NULL, SPI_OK_INSERT);
	if (SPI_processed == 0)
		ereport(LOG,
				(errmsg("pg_mlops: job %lld is due but its previous run has not ended; this time is skipped",
						(long long) job)));
	MlSpiExec("UPDATE mlops.jobs SET next_run_at = $3 WHERE id OPERATOR(pg_catalog.=) $1",
			  3, types, values, NULL, SPI_OK_UPDATE);
}

/*
 * 2. Due jobs, each in a subtransaction: a job whose stored schedule can
 * no longer be read is paused with a warning, and the others still run.
 */
static void
queue_due_jobs(void)
{
	SPITupleTable *tt;
	uint64		n;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	MlSpiExec("SELECT id, schedule, next_run_at FROM mlops.jobs "
			  "WHERE active AND next_run_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
			  "ORDER BY next_run_at, id FOR UPDATE SKIP LOCKED",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	tt = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		int64		job = DatumGetInt64(SPI_getbinval(tt->vals[i], tt->tupdesc, 1, &isnull));
		char	   *schedule = SPI_getvalue(tt->vals[i], tt->tupdesc, 2);
		TimestampTz due = DatumGetTimestampTz(SPI_getbinval(tt->vals[i], tt->tupdesc, 3, &isnull));

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			queue_due_job(job, schedule, due);
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			ErrorData  *e;
			Oid			types[1] = {INT8OID};
			Datum		values[1] = {Int64GetDatum(job)};

			MemoryContextSwitchTo(cxt);
			e = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			ereport(WARNING,
					(errmsg("pg_mlops: job %lld paused: %s", (long long) job, MlLogText(e->message))));
			MlSpiExec("UPDATE mlops.jobs SET next_run_at = NULL WHERE id OPERATOR(pg_catalog.=) $1",
					  1, types, values, NULL, SPI_OK_UPDATE);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
}

/* 3. Retention. */
static void
remove_old_runs(void)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(ml_job_run_retention)};

	if (ml_job_run_retention <= 0)
		return;
	/*
	 * Rows another transaction holds (an ml_unschedule deleting its job's
	 * runs, in its own order) are left for a later pass: retention never
	 * waits on them, so it cannot deadlock with them.
	 */
	MlSpiExec("DELETE FROM mlops.job_runs WHERE id OPERATOR(pg_catalog.=) ANY (SELECT id FROM mlops.job_runs "
			  "  WHERE status NOT IN ('queued', 'running') "
			  "  AND finished_at OPERATOR(pg_catalog.<) (pg_catalog.now() "
			  "      OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1)) "
			  "  FOR UPDATE SKIP LOCKED)",
			  1, types, values, NULL, SPI_OK_DELETE);
}

/* 4a. Queued runs ready to start: the oldest per job, none of its runs active. */
static List *
startable_runs(MemoryContext cxt)
{
	List	   *runs = NIL;
	int64		running;
	bool		isnull;
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(ML_RUN_TYPE)};

	MlSpiExec("SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
			  "WHERE backend_type OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	running = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (running >= ml_max_job_workers)
		return NIL;
	values[0] = Int64GetDatum(ml_max_job_workers - running);
	types[0] = INT8OID;
	MlSpiExec("SELECT q.id, q.job_id, q.owner, q.owner_oid FROM ("
			  "  SELECT DISTINCT ON (r.job_id) r.id, r.job_id, j.owner, r.due_at, r.pid, "
			  "    j.command OPERATOR(pg_catalog.->>) 'owner_oid' AS owner_oid "
			  "  FROM mlops.job_runs r JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id "
			  "  WHERE r.status OPERATOR(pg_catalog.=) 'queued' "
			  "  ORDER BY r.job_id, r.id) q "
			  "WHERE q.pid IS NULL AND q.due_at OPERATOR(pg_catalog.<=) pg_catalog.now() "
			  "  AND NOT EXISTS (SELECT 1 FROM mlops.job_runs o "
			  "    WHERE o.job_id OPERATOR(pg_catalog.=) q.job_id "
			  "      AND o.status OPERATOR(pg_catalog.=) 'running') "
			  "ORDER BY q.due_at, q.id LIMIT $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		QueuedRun  *q = palloc(sizeof(QueuedRun));

		q->run = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		q->job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		q->owner = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		q->owner_oid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);
		runs = lappend(runs, q);
		MemoryContextSwitchTo(old);
	}
	return runs;
}

/*
 * The role a run connects as: the job's owner, which must exist (the very
 * role that scheduled the job, not a new one of the same name), be able
 * to log in, not be a superuser, and still be an engineer (engineers own
 * schedules: a role that lost ml_engineer keeps no jobs running).
 * Otherwise the run fails, and says why.
 */
static Oid
run_role(const QueuedRun *q)
{
	Oid			types[1] = {NAMEOID};
	Datum		values[1] = {DirectFunctionCall1(namein, CStringGetDatum(q->owner))};
	bool		isnull;
	const char *why = NULL;
	const char *sqlstate = "28000";
	Oid			role = InvalidOid;

	MlSpiExec("SELECT oid, rolcanlogin, rolsuper, "
			  "  pg_catalog.pg_has_role(oid, 'ml_engineer', 'USAGE') FROM pg_catalog.pg_roles "
			  "WHERE rolname OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		why = psprintf("role \"%s\" that owns job %lld does not exist", q->owner, (long long) q->job);
	else
	{
		HeapTuple	t = SPI_tuptable->vals[0];

		role = DatumGetObjectId(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
		/* a role dropped (or renamed) and another created under its name */
		if (q->owner_oid != NULL &&
			strcmp(q->owner_oid, psprintf("%u", role)) != 0)
			why = psprintf("role \"%s\" is not the role that scheduled job %lld (that role was dropped or renamed)",
						   q->owner, (long long) q->job);
		else if (!DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull)))
			why = psprintf("role \"%s\" that owns job %lld cannot log in (jobs run as their owner: ALTER ROLE ... LOGIN)",
						   q->owner, (long long) q->job);
		else if (DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &isnull)))
			why = psprintf("role \"%s\" that owns job %lld is a superuser; jobs never run as a superuser",
						   q->owner, (long long) q->job);
		else if (!DatumGetBool(SPI_getbinval(t, SPI_tuptable->tupdesc, 4, &isnull)))
		{
			why = psprintf("role \"%s\" that owns job %lld is no longer a member of ml_engineer; jobs run only for engineers",
						   q->owner, (long long) q->job);
			sqlstate = "42501";
		}
	}
	if (why == NULL)
		return role;
	ereport(LOG, (errmsg("pg_mlops: run %lld not started: %s", (long long) q->run, MlLogText(why))));
	MlRunFinish(q->run, "failed", sqlstate, why, false);
	return InvalidOid;
}

/* 4b. Start one run's worker and record its pid. */
static void
start_run(const QueuedRun *q)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	MlRunArg	arg;
	pid_t		pid;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];

	arg.database = MyDatabaseId;
	arg.role = run_role(q);
	arg.run = q->run;
	if (!OidIsValid(arg.role))
		return;
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_mlops");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "ml_jobs_run_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "pg_mlops job run %lld", (long long) q->run);
	snprintf(w.bgw_type, BGW_MAXLEN, ML_RUN_TYPE);
	memcpy(w.bgw_extra, &arg, sizeof(arg));
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		ereport(LOG,
				(errmsg("pg_mlops: run %lld stays queued: no background worker slot free", (long long) q->run),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		return;
	ereport(LOG,
			(errmsg("pg_mlops: starting run %lld of job %lld in database %s as role %s (worker pid %d)",
					(long long) q->run, (long long) q->job, MlLogQuote(get_database_name(MyDatabaseId)),
					MlLogQuote(q->owner), (int) pid)));
	values[0] = Int64GetDatum(q->run);
	values[1] = Int32GetDatum((int32) pid);
	MlSpiExec("UPDATE mlops.job_runs SET pid = $2 WHERE id OPERATOR(pg_catalog.=) $1 "
			  "AND status OPERATOR(pg_catalog.=) 'queued' AND pid IS NULL",
			  2, types, values, NULL, SPI_OK_UPDATE);
}

void
ml_jobs_dispatch_main(Datum main_arg)
{
	MlRunArg	arg;
	MemoryContext cxt;
	List	   *runs;
	ListCell   *lc;
	bool		ready;

	(void) main_arg;
	memcpy(&arg, MyBgworkerEntry->bgw_extra, sizeof(arg));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	if (IsBinaryUpgrade || RecoveryInProgress())
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(arg.database, InvalidOid, 0);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", ML_DISPATCH_TYPE, PGC_USERSET, PGC_S_SESSION);
	cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops dispatch", ALLOCSET_DEFAULT_SIZES);

	begin_tx("pg_mlops dispatch: due jobs");
	ready = catalog_ready();
	if (ready)
	{
		reap_orphans();
		queue_due_jobs();
		remove_old_runs();
	}
	end_tx();
	if (!ready)
		proc_exit(0);

	/* the queued rows are committed: a worker started now can claim them */
	begin_tx("pg_mlops dispatch: start runs");
	runs = startable_runs(cxt);
	foreach(lc, runs)
		start_run((QueuedRun *) lfirst(lc));
	end_tx();

	/* last, in a transaction of its own: a failed flush delays no run */
	{
		void	   *flushed;
		int			n;

		begin_tx("pg_mlops dispatch: api usage");
		flushed = MlApiUsageFlush(&n);
		end_tx();
		MlApiUsageFlushed(flushed, n);
	}
	proc_exit(0);
}
