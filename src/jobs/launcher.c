/*
 * launcher.c
 *	  The settings of the scheduler and its launcher background worker.
 *
 * The launcher is registered only when pg_mlops is in
 * shared_preload_libraries, never during a binary upgrade, and starts only
 * once recovery has finished (so never on a standby). It connects to no
 * database: every poll interval it starts one short-lived dispatch worker
 * per served database (dispatch.c), one after the other, and waits for
 * each. Staying out of the databases between polls means DROP DATABASE and
 * CREATE DATABASE ... TEMPLATE are not blocked by the scheduler.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

#include "jobs/jobs.h"

char	   *ml_job_databases = NULL;
int			ml_max_job_workers = 4;
int			ml_job_poll_interval = 500;
int			ml_job_run_retention = 30 * 24 * 3600;
int			ml_job_max_queued_runs = 3;

/* set in the postmaster (inherited by every backend it forks) */
static bool launcher_registered = false;

static bool
check_databases(char **newval, void **extra, GucSource source)
{
	char	   *copy = pstrdup(*newval);
	List	   *names;
	bool		ok = SplitIdentifierString(copy, ',', &names);

	(void) extra;
	(void) source;

	if (!ok)
		GUC_check_errdetail("List syntax is invalid: a comma-separated list of database names is expected.");
	list_free(names);
	pfree(copy);
	return ok;
}

void
MlJobsInit(void)
{
	BackgroundWorker w;

	DefineCustomStringVariable("pg_mlops.job_databases",
							   "Databases whose pg_mlops jobs the launcher runs (comma-separated).",
							   NULL, &ml_job_databases, "postgres",
							   PGC_SIGHUP, GUC_LIST_INPUT, check_databases, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.max_job_workers",
							"Most job runs executing at once, over all served databases.",
							NULL, &ml_max_job_workers, 4, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.job_poll_interval",
							"How often the launcher looks for due jobs and ended runs.",
							NULL, &ml_job_poll_interval, 500, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.job_run_retention",
							"How long finished job runs are kept (0: forever).",
							NULL, &ml_job_run_retention, 30 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("pg_mlops.job_max_queued_runs",
							"Most runs of one job waiting to start; ml_run_now refuses more.",
							NULL, &ml_job_max_queued_runs, 3, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_mlops");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "ml_jobs_launcher_main");
	snprintf(w.bgw_name, BGW_MAXLEN, ML_LAUNCHER_TYPE);
	snprintf(w.bgw_type, BGW_MAXLEN, ML_LAUNCHER_TYPE);
	RegisterBackgroundWorker(&w);
	launcher_registered = true;
}

/* Every job function starts here: without the launcher no job would run. */
void
MlJobsRequireLauncher(void)
{
	if (!launcher_registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_mlops jobs need the pg_mlops library in shared_preload_libraries"),
				 errdetail("Jobs are run by the pg_mlops launcher background worker, which only a preloaded library starts."),
				 errhint("Add pg_mlops to shared_preload_libraries in postgresql.conf, "
						 "list the database in pg_mlops.job_databases, and restart the server.")));
}

/* Is dbname in pg_mlops.job_databases? */
bool
MlJobsServesDatabase(const char *dbname)
{
	char	   *copy = pstrdup(ml_job_databases ? ml_job_databases : "");
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	if (!SplitIdentifierString(copy, ',', &names))
		return false;
	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), dbname) == 0)
			found = true;
	return found;
}

/*
 * The OIDs of the served databases that exist and accept connections,
 * read from the shared catalog pg_database (the launcher is connected to
 * no database). At most maxn, allocated in cxt.
 */
static int
served_databases(Oid *oids, int maxn)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			n = 0;
	static bool warned = false;
	bool		over = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate ||
			!MlJobsServesDatabase(NameStr(db->datname)))
			continue;
		if (n == maxn)
		{
			over = true;
			break;
		}
		oids[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	/* say so once, not every poll, when databases are left out */
	if (over && !warned)
		ereport(WARNING,
				(errmsg("pg_mlops launcher: more than %d databases to serve, the others are not served", maxn),
				 errhint("List at most %d databases in pg_mlops.job_databases.", maxn)));
	warned = over;
	return n;
}

/* Start the dispatch worker of one database and wait until it is done. */
static void
dispatch_one(Oid dboid)
{
	BackgroundWorker w;
	BackgroundWorkerHandle *handle;
	MlRunArg	arg = {dboid, InvalidOid, 0};
	static bool warned = false;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_mlops");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "ml_jobs_dispatch_main");
	snprintf(w.bgw_name, BGW_MAXLEN, ML_DISPATCH_TYPE);
	snprintf(w.bgw_type, BGW_MAXLEN, ML_DISPATCH_TYPE);
	memcpy(w.bgw_extra, &arg, sizeof(arg));
	w.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&w, &handle))
	{
		if (!warned)
			ereport(WARNING,
					(errmsg("pg_mlops launcher: no background worker slot free for a dispatch pass"),
					 errhint("Raise max_worker_processes.")));
		warned = true;
		return;
	}
	warned = false;
	if (WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		proc_exit(1);
	pfree(handle);
}

void
ml_jobs_launcher_main(Datum main_arg)
{
	Oid			oids[64];

	(void) main_arg;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	ereport(LOG,
			(errmsg("pg_mlops launcher started: serving databases \"%s\", at most %d runs at once, polling every %d ms",
					ml_job_databases, ml_max_job_workers, ml_job_poll_interval)));

	for (;;)
	{
		int			n;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		n = served_databases(oids, lengthof(oids));
		for (int i = 0; i < n; i++)
			dispatch_one(oids[i]);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ml_job_poll_interval, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
