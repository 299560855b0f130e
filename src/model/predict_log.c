/*
 * predict_log.c
 *	  ml_predict's share of the scoring log: with pg_mlops.drift_sample_rows
 *	  = N > 0, one row in N that a backend scores with ml_predict is counted
 *	  on its version's training bins, in backend memory; the counts are
 *	  written at commit as one mlops.scoring_log row per version and role
 *	  (source 'ml_predict', rows = the sampled rows). 0, the default, logs
 *	  nothing and costs one comparison per call.
 *
 * The write runs in the pre-commit callback inside a subtransaction: a
 * write that fails (a project dropped meanwhile) drops the counts with a
 * WARNING instead of failing the commit. A read-only or aborted
 * transaction drops them without a word. Drift alerts are raised by the
 * next ml_score or ml_check_drift of the project, not at commit.
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "core/subxact.h"
#include "model/scoring_log.h"

int			ml_drift_sample_rows = 0;

/* One version's counts for one role, kept across transactions. */
typedef struct Sampled
{
	int64		model_id;
	Oid			role;
	char	   *role_name;
	MlScoringLog *log;			/* NULL when the version has no profile */
	double	  **rawp;			/* one row's raw features as columns of one */
	int			nraw;
	struct Sampled *next;
} Sampled;

static MemoryContext sample_cxt = NULL;
static Sampled *samples = NULL;
static uint64 seen = 0;
static bool pending = false;
static bool callback_registered = false;

static void flush_at_commit(XactEvent event, void *arg);

/* The entry of a version and role, its profile bound on first use. */
static Sampled *
sampled_of(MlDeployed *e)
{
	Oid			role = GetUserId();
	Sampled    *s;
	MlScope		scope;
	MemoryContext old;

	for (s = samples; s; s = s->next)
		if (s->model_id == e->model_id && s->role == role)
			return s;
	if (sample_cxt == NULL)
		sample_cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops drift samples",
										   ALLOCSET_SMALL_SIZES);
	if (!callback_registered)
	{
		RegisterXactCallback(flush_at_commit, NULL);
		callback_registered = true;
	}
	MlScopeEnter(&scope);
	old = MemoryContextSwitchTo(sample_cxt);
	s = palloc0(sizeof(Sampled));
	s->model_id = e->model_id;
	s->role = role;
	s->role_name = pstrdup(scope.caller_name);
	s->log = MlScoringLogNew(&scope, e);
	if (!MlScoringLogHasProfile(s->log))
		s->log = NULL;
	s->nraw = e->trained->enc->nraw;
	s->rawp = palloc(sizeof(double *) * Max(s->nraw, 1));
	MemoryContextSwitchTo(old);
	MlScopeExit(&scope);
	s->next = samples;
	samples = s;
	return s;
}

/*
 * One ml_predict row (raw features, its cells when bound to a row type,
 * the model's outputs): counted when it is the N-th.
 */
void
MlScoringLogSample(MlDeployed *e, MlRowBinding *b, double *raw, const Datum *values,
				   const bool *nulls, const double *out)
{
	Sampled    *s;

	if (ml_drift_sample_rows <= 0 || ++seen % (uint64) ml_drift_sample_rows != 0)
		return;
	s = sampled_of(e);
	if (s->log == NULL)
		return;
	for (int j = 0; j < s->nraw; j++)
		s->rawp[j] = &raw[j];
	MlScoringLogBlock(s->log, b, s->rawp, values, nulls, 0, 1, out);
	pending = true;
}

/* Write every entry's counts (in a subtransaction, MlSubxactTry). */
static void
write_counts(void *arg)
{
	MlScope		scope;

	(void) arg;
	/* the statements' snapshots are gone at commit: SPI needs one */
	PushActiveSnapshot(GetTransactionSnapshot());
	MlScopeEnter(&scope);
	for (Sampled *s = samples; s; s = s->next)
		if (s->log && MlScoringLogRows(s->log) > 0)
			MlScoringLogWrite(s->log, &scope, NULL, s->role_name, "ml_predict");
	MlScopeExit(&scope);
	PopActiveSnapshot();
}

static void
flush(void)
{
	char	   *why;

	if (!MlSubxactTry(write_counts, NULL, &why))
		ereport(WARNING,
				(errmsg("could not log the sampled ml_predict rows: %s", why),
				 errhint("The rows were scored; only their drift counts are lost.")));
}

static void
reset_counts(void)
{
	for (Sampled *s = samples; s; s = s->next)
		if (s->log)
			MlScoringLogReset(s->log);
	pending = false;
}

static void
flush_at_commit(XactEvent event, void *arg)
{
	(void) arg;
	if (!pending)
		return;
	if (event == XACT_EVENT_PRE_COMMIT && !XactReadOnly && !IsInParallelMode())
		flush();
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PRE_PREPARE)
		reset_counts();
}
