/*
 * metering.c
 *	  Calls through exposures, metered per statement.
 *
 * A call is one top-level statement: ml_predict over 1,000 rows in one
 * SELECT is one call of 1,000 rows. A statement is recognised by its start
 * timestamp and local transaction id, compared only when MlApiGeneration
 * moved (an outermost executor run or utility statement began, a call or
 * a transaction ended): per row MlApiRow compares one counter, inline,
 * without a clock read or a call. The statement's meter counts its rows in
 * backend memory. The call ends when the outermost executor
 * ends (or the top-level utility statement, or the transaction): one clock
 * read gives its latency, and the counts go into the shared entry (usage.c)
 * under its spinlock, once per statement. Rows under a daily quota are
 * charged to the shared counter as they are handed out (quota.c).
 *
 * A call that ends with its transaction's abort counts as an error, and
 * so does one refused by a quota or the rate limit. Rows handed out stay
 * counted: their values may have left the statement already.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "api/usage.h"

#define MAX_METERS 16

static MlApiMeter meters[MAX_METERS];
static int	nopen = 0;			/* open meters (any slot) */
static int	depth = 0;			/* executor / utility nesting */
static bool hooks_done = false;
uint64		MlApiGeneration = 1;

static ExecutorRun_hook_type prev_run = NULL;
static ExecutorFinish_hook_type prev_finish = NULL;
static ExecutorEnd_hook_type prev_end = NULL;
static ProcessUtility_hook_type prev_utility = NULL;

void
MlApiRequireShmem(const char *project)
{
	if (MlUsageReady())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 project ?
			 errmsg("project \"%s\" can be scored through an exposure only when pg_mlops is in shared_preload_libraries", project) :
			 errmsg("scoring through an exposure needs pg_mlops in shared_preload_libraries"),
			 errdetail("Calls through exposures are metered and limited in shared memory, which only a preloaded library has."),
			 errhint("Add pg_mlops to shared_preload_libraries in postgresql.conf and restart the server.")));
}

/* End every open call: latency from its statement's start, counts into shared memory. */
static void
end_calls(bool error)
{
	TimestampTz now;

	MlApiGeneration++;
	if (nopen == 0)
		return;
	now = GetCurrentTimestamp();
	for (int i = 0; i < MAX_METERS; i++)
	{
		MlApiMeter *m = &meters[i];
		MlUsageEntry *e = m->entry;
		int			bucket;

		if (!m->open)
			continue;
		m->open = false;
		nopen--;
		if (m->rows > m->charged)
			pg_atomic_fetch_add_u64(&e->rows, (uint64) (m->rows - m->charged));
		/* rows reserved under a quota and not handed out go back */
		if (m->reserved > 0)
			pg_atomic_fetch_sub_u64(&e->rows, (uint64) m->reserved);
		m->reserved = 0;
		bucket = MlUsageBucket(Max(now - m->stmt_start, 0));
		SpinLockAcquire(&e->mutex);
		e->counts.calls++;
		if (error || m->failed)
			e->counts.errors++;
		e->counts.hist[bucket]++;
		e->changes++;
		SpinLockRelease(&e->mutex);
		m->entry = NULL;
		MlUsageRelease(e);
	}
}

static void
xact_cb(XactEvent event, void *arg)
{
	(void) arg;
	MlApiGeneration++;
	if (nopen == 0)
		return;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		end_calls(true);
	else if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE ||
			 event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		end_calls(false);
}

/*
 * An error caught by a subtransaction: inside the statement (a PL/pgSQL
 * handler, an executor still running above it) the call goes on and has
 * had an error; caught outside any executor (a worker that runs each
 * request through SPI in a subtransaction) it ended with that error.
 */
static void
subxact_cb(SubXactEvent event, SubTransactionId mysub, SubTransactionId parent, void *arg)
{
	(void) mysub;
	(void) parent;
	(void) arg;
	if (nopen == 0 || event != SUBXACT_EVENT_ABORT_SUB)
		return;
	if (depth == 0)
	{
		end_calls(true);
		return;
	}
	for (int i = 0; i < MAX_METERS; i++)
		if (meters[i].open)
			meters[i].failed = true;
}

static void
run_hook(QueryDesc *qd, ScanDirection dir, uint64 count, bool execute_once)
{
	if (depth == 0)
		MlApiGeneration++;
	depth++;
	PG_TRY();
	{
		if (prev_run)
			prev_run(qd, dir, count, execute_once);
		else
			standard_ExecutorRun(qd, dir, count, execute_once);
	}
	PG_FINALLY();
	{
		depth--;
	}
	PG_END_TRY();
}

static void
finish_hook(QueryDesc *qd)
{
	depth++;
	PG_TRY();
	{
		if (prev_finish)
			prev_finish(qd);
		else
			standard_ExecutorFinish(qd);
	}
	PG_FINALLY();
	{
		depth--;
	}
	PG_END_TRY();
}

static void
end_hook(QueryDesc *qd)
{
	if (prev_end)
		prev_end(qd);
	else
		standard_ExecutorEnd(qd);
	if (depth == 0)
		end_calls(false);
}

static void
utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			 ProcessUtilityContext context, ParamListInfo params,
			 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (depth == 0)
		MlApiGeneration++;
	depth++;
	PG_TRY();
	{
		if (prev_utility)
			prev_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		depth--;
	}
	PG_END_TRY();
	if (depth == 0)
		end_calls(false);
}

void
MlApiInit(void)
{
	MlUsageShmemInit();
	if (hooks_done)
		return;
	prev_run = ExecutorRun_hook;
	ExecutorRun_hook = run_hook;
	prev_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = finish_hook;
	prev_end = ExecutorEnd_hook;
	ExecutorEnd_hook = end_hook;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = utility_hook;
	RegisterXactCallback(xact_cb, NULL);
	RegisterSubXactCallback(subxact_cb, NULL);
	hooks_done = true;
}

/*
 * The first row of a statement through an exposure (or the first since
 * its cached model was reloaded): find or open the statement's meter for
 * the exposure's project and consumer, checking the rate limit when it
 * opens.
 */
MlApiMeter *
MlApiBeginCall(MlExposure *x)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	LocalTransactionId lxid = MyProc->lxid;
	MlApiMeter *m = NULL;
	MlUsageEntry *e;
	int32		day;

	for (int i = 0; i < MAX_METERS; i++)
	{
		MlApiMeter *o = &meters[i];

		if (!o->open)
			continue;
		if (o->stmt_start == stmt && o->lxid == lxid)
		{
			e = o->entry;
			if (e->key.project_id == x->project_id &&
				e->key.consumer_oid == x->consumer_oid)
			{
				o->exposure_id = x->id;
				o->generation = MlApiGeneration;
				x->meter = o;
				return o;
			}
		}
	}
	/* calls of earlier statements still open (a cursor read by FETCH): they end now */
	for (int i = 0; i < MAX_METERS; i++)
		if (meters[i].open && (meters[i].stmt_start != stmt || meters[i].lxid != lxid))
		{
			end_calls(false);
			break;
		}
	for (int i = 0; i < MAX_METERS && m == NULL; i++)
		if (!meters[i].open)
			m = &meters[i];
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a statement can score through at most %d exposures", MAX_METERS)));

	day = (int32) (stmt / USECS_PER_DAY);
	e = MlUsageGet(x->project_id, x->consumer_oid, NameStr(x->consumer), day);
	memset(m, 0, sizeof(*m));
	m->generation = MlApiGeneration;
	m->exposure_id = x->id;
	m->stmt_start = stmt;
	m->lxid = lxid;
	m->entry = e;
	m->open = true;
	nopen++;
	x->meter = m;
	if (x->calls_per_second > 0)
		MlApiCheckRate(x, m);
	return m;
}

/*
 * A block of rows handed out through an exposure (ml_score; 0 rows: the
 * call begins); x NULL: not metered.
 */
void
MlApiRows(MlExposure *x, int64 n)
{
	MlApiMeter *m;

	if (x == NULL)
		return;
	m = MlApiMeterOf(x);
	if (n <= 0)
		return;
	if (x->rows_per_day > 0)
		MlApiChargeRows(x, m, n);
	else
		m->rows += n;
}
