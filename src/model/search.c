/*
 * search.c
 *	  The search behind ml_train(project, 'auto'): random configurations
 *	  of every learner that fits the task, successive halving, scored by
 *	  cross-validation on the training rows only (the test rows score the
 *	  winner once, after the search, in train.c).
 *
 * Rung r of R fits every configuration still alive on a sample of
 * 3^(r-R) of the training rows (nested samples: a row in rung r's sample
 * is in every later rung's), validates on the whole of each fold's held-out
 * rows, and keeps the best third for the next rung. The configurations,
 * the folds and the samples come from options.seed, so the same seed and
 * data give the same trials and the same winner unless the budget cuts the
 * search short.
 *
 * A trial whose fit raises an error is recorded as failed and the search
 * goes on: each fit runs in a subtransaction (a learner touches nothing but
 * its arrays, so rolling back is cheap) and a memory context of its own.
 * Cancellation, shutdown and internal errors are rethrown.
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/catalog.h"
#include "core/options.h"
#include "core/run_progress.h"
#include "model/metrics.h"
#include "model/search.h"

/* a rung's sample has at least this many rows (or all of them) */
#define SEARCH_MIN_ROWS 50
#define SEARCH_ETA 3
#define SEARCH_MAX_RUNGS 3

/* How the training rows are split for the search. */
typedef struct SearchRows
{
	int64		n;				/* training rows */
	int64	   *idx;			/* their indexes into td->rows */
	int		   *vfold;			/* validation fold of each, -1: never validates */
	int64	   *rank;			/* position in the nested samples */
	int			folds;
} SearchRows;

static double
elapsed_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

static double
uniform(pg_prng_state *rng, double lo, double hi)
{
	return lo + (hi - lo) * pg_prng_double(rng);
}

static double
log_uniform(pg_prng_state *rng, double lo, double hi)
{
	return exp(uniform(rng, log(lo), log(hi)));
}

static int
pick(pg_prng_state *rng, int n)
{
	return (int) pg_prng_uint64_range(rng, 0, (uint64) n - 1);
}

/*
 * The search space, as hyperparameters in the learner's own JSON (so the
 * learner's read_params checks them like a user's). anchor: the first
 * configuration of the learner, its defaults (or, for the forest, a
 * cheaper variant of them); otherwise a random draw. Numbers are printed
 * with 4 significant digits, so what is stored is what was fitted.
 * Documented in docs/training.md; keep the two in step.
 */
static char *
sample_config(const char *alg, bool anchor, pg_prng_state *rng)
{
	StringInfoData s;

	initStringInfo(&s);
	if (strcmp(alg, "gbdt") == 0)
	{
		static const int trees[] = {100, 200, 400};
		static const int leaf[] = {5, 10, 20, 50, 100};
		static const int leaves[] = {15, 31, 63};

		if (anchor)
			return "{}";
		appendStringInfo(&s, "{\"n_estimators\": %d, \"learning_rate\": %.4g, \"max_depth\": %d",
						 trees[pick(rng, lengthof(trees))], log_uniform(rng, 0.02, 0.3),
						 3 + pick(rng, 8));
		if (pg_prng_double(rng) < 0.5)
			appendStringInfo(&s, ", \"max_leaf_nodes\": %d", leaves[pick(rng, lengthof(leaves))]);
		appendStringInfo(&s, ", \"min_samples_leaf\": %d, \"l2_regularization\": %.4g"
						 ", \"subsample\": %.4g, \"colsample_bytree\": %.4g}",
						 leaf[pick(rng, lengthof(leaf))],
						 pg_prng_double(rng) < 0.3 ? 0.0 : log_uniform(rng, 1e-3, 10),
						 uniform(rng, 0.6, 1.0), uniform(rng, 0.5, 1.0));
	}
	else if (strcmp(alg, "random_forest") == 0)
	{
		static const int trees[] = {30, 60};
		static const char *const depth[] = {"null", "8", "12", "16", "24"};
		static const int leaf[] = {2, 5, 10, 20};
		static const char *const feats[] = {"\"sqrt\"", "\"log2\"", "0.33", "0.5", "0.8", "1.0"};

		if (anchor)
			return "{\"n_estimators\": 30, \"min_samples_leaf\": 5}";
		appendStringInfo(&s, "{\"n_estimators\": %d, \"max_depth\": %s, \"min_samples_leaf\": %d"
						 ", \"max_features\": %s}",
						 trees[pick(rng, lengthof(trees))], depth[pick(rng, lengthof(depth))],
						 leaf[pick(rng, lengthof(leaf))], feats[pick(rng, lengthof(feats))]);
	}
	else if (anchor)
		return "{}";
	else if (strcmp(alg, "ridge") == 0)
		appendStringInfo(&s, "{\"alpha\": %.4g}", log_uniform(rng, 1e-4, 1e3));
	else if (strcmp(alg, "lasso") == 0)
		appendStringInfo(&s, "{\"alpha\": %.4g}", log_uniform(rng, 1e-4, 10));
	else if (strcmp(alg, "elastic_net") == 0)
		appendStringInfo(&s, "{\"alpha\": %.4g, \"l1_ratio\": %.4g}",
						 log_uniform(rng, 1e-4, 10), uniform(rng, 0.05, 0.95));
	else if (strcmp(alg, "logistic") == 0)
		appendStringInfo(&s, "{\"C\": %.4g}", log_uniform(rng, 1e-3, 1e3));
	else if (strcmp(alg, "naive_bayes") == 0)
		appendStringInfo(&s, "{\"var_smoothing\": %.4g}", log_uniform(rng, 1e-12, 1e-3));
	else
		return NULL;			/* no hyperparameters to vary ("linear") */
	return s.data;
}

/* Weight of a learner in the random draws: trees get most of them. */
static double
draw_weight(const char *alg, int nother)
{
	if (strcmp(alg, "gbdt") == 0)
		return 0.5;
	if (strcmp(alg, "random_forest") == 0)
		return 0.15;
	return 0.35 / Max(nother, 1);
}

static MlSearchTrial *
new_config(int trial, const MlLearner *l, const char *json, MlTask task)
{
	MlSearchTrial *t = palloc0(sizeof(MlSearchTrial));
	Jsonb	   *hp = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	StringInfoData p;

	t->trial = trial;
	t->learner = l;
	t->params = l->read_params(&hp->root, task);
	initStringInfo(&p);
	l->params_json(t->params, &p);
	t->params_json = p.data;
	return t;
}

/*
 * n configurations: the anchor of each candidate first (in the order
 * given), then random draws among the candidates with a search space.
 */
static List *
configurations(List *cands, MlTask task, int n, pg_prng_state *rng)
{
	List	   *out = NIL;
	List	   *varied = NIL;
	double		total = 0;
	ListCell   *lc;

	foreach(lc, cands)
	{
		const MlLearner *l = lfirst(lc);

		if (list_length(out) < n)
			out = lappend(out, new_config(list_length(out) + 1, l, sample_config(l->name, true, NULL), task));
		if (sample_config(l->name, true, NULL) != NULL && strcmp(l->name, "linear") != 0)
			varied = lappend(varied, (void *) l);
	}
	foreach(lc, varied)
		total += draw_weight(((const MlLearner *) lfirst(lc))->name, list_length(varied) - 2);
	while (list_length(out) < n && varied != NIL)
	{
		double		u = pg_prng_double(rng) * total;
		const MlLearner *l = llast(varied);

		foreach(lc, varied)
		{
			u -= draw_weight(((const MlLearner *) lfirst(lc))->name, list_length(varied) - 2);
			if (u < 0)
			{
				l = lfirst(lc);
				break;
			}
		}
		out = lappend(out, new_config(list_length(out) + 1, l, sample_config(l->name, false, rng), task));
	}
	return out;
}

static void
shuffle(int64 *a, int64 n, pg_prng_state *rng)
{
	for (int64 i = n - 1; i > 0; i--)
	{
		int64		j = (int64) pg_prng_uint64_range(rng, 0, (uint64) i);
		int64		x = a[i];

		a[i] = a[j];
		a[j] = x;
	}
}

/*
 * The training rows (fold 0 of the holdout split), their validation folds
 * and their order in the nested samples. k folds at random; one holdout of
 * test_size of them when the split is by time (the latest training rows)
 * or by column (at random), so validation never sees the future either.
 */
static void
search_rows(SearchRows *sr, MlFrame *frame, MlTrainData *td, MlTrainOptions *o, pg_prng_state *rng)
{
	int64	   *perm;

	sr->idx = palloc(sizeof(int64) * Max(td->nrows, 1));
	sr->n = 0;
	for (int64 i = 0; i < td->nrows; i++)
		if (td->fold[i] != 1)
			sr->idx[sr->n++] = i;
	if (sr->n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the search needs at least 2 training rows, not " INT64_FORMAT, sr->n),
				 errhint("Check \"test_size\" or the holdout column.")));
	sr->folds = (int) Min((int64) o->search_folds, sr->n);
	sr->vfold = palloc(sizeof(int) * sr->n);
	sr->rank = palloc(sizeof(int64) * sr->n);
	perm = palloc(sizeof(int64) * sr->n);
	for (int64 j = 0; j < sr->n; j++)
		perm[j] = j;
	if (o->time_col >= 0)
	{
		MlColumn   *tc = &frame->cols[o->time_col];
		double	   *key = palloc(sizeof(double) * sr->n);

		for (int64 j = 0; j < sr->n; j++)
		{
			int64		row = td->rows[sr->idx[j]];

			key[j] = tc->isnull[row] ? -INFINITY : tc->x[row];
		}
		qsort_arg(perm, sr->n, sizeof(int64), MlCmpIndexByDouble, key);
		pfree(key);
	}
	else
		shuffle(perm, sr->n, rng);
	if (sr->folds > 1)
		for (int64 j = 0; j < sr->n; j++)
			sr->vfold[perm[j]] = (int) (j % sr->folds);
	else
	{
		int64		nval = Max((int64) ceil(sr->n * o->test_size), 1);

		/* the last rows of the order: the latest by time, or random ones */
		for (int64 j = 0; j < sr->n; j++)
			sr->vfold[perm[j]] = j >= sr->n - nval ? 0 : -1;
	}
	for (int64 j = 0; j < sr->n; j++)
		perm[j] = j;
	shuffle(perm, sr->n, rng);
	for (int64 j = 0; j < sr->n; j++)
		sr->rank[perm[j]] = j;
	pfree(perm);
}

static bool
better(MlTask task, double a, double b)
{
	if (isnan(b))
		return !isnan(a);
	if (isnan(a))
		return false;
	return task == ML_TASK_REGRESSION ? a < b : a > b;
}

/* The folds of one trial on a sample of m rows; the fit scores and time. */
static void
fit_folds(MlSearchTrial *t, SearchRows *sr, int64 m, MlFrame *frame, MlTrainData *td,
		  MlTrainOptions *o)
{
	int64	   *train = palloc(sizeof(int64) * sr->n);
	int64	   *val = palloc(sizeof(int64) * sr->n);

	for (int k = 0; k < sr->folds; k++)
	{
		int64		ntrain = 0,
					nval = 0;
		StringInfoData scratch;

		for (int64 j = 0; j < sr->n; j++)
		{
			if (sr->vfold[j] == k)
				val[nval++] = sr->idx[j];
			else if (sr->rank[j] < m)
				train[ntrain++] = sr->idx[j];
		}
		if (ntrain == 0 || nval == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fold %d of the search has " INT64_FORMAT " training and " INT64_FORMAT
							" validation rows", k + 1, ntrain, nval)));
		initStringInfo(&scratch);
		t->fold_scores[k] = NAN;
		(void) MlTrainFitScore(t->learner, t->params, frame, td, o, train, ntrain, val, nval,
							   &scratch, &t->fold_scores[k]);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Errors a failed trial must not swallow. */
static bool
must_rethrow(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cls == ERRCODE_OPERATOR_INTERVENTION ||	/* cancel, shutdown */
		cls == ERRCODE_INTERNAL_ERROR ||	/* internal errors are bugs */
		cls == ERRCODE_INSUFFICIENT_RESOURCES;	/* out of memory, disk, ... */
}

/*
 * Run one configuration at one rung. The fit's memory lives in a context
 * deleted right after; an error of the fit becomes the trial's status.
 */
static void
run_trial(MlSearchTrial *t, SearchRows *sr, int64 m, MlFrame *frame, MlTrainData *td,
		  MlTrainOptions *o)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext fitcxt = AllocSetContextCreate(outer, "ml_train search trial",
												 ALLOCSET_DEFAULT_SIZES);
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	t->nfolds = sr->folds;
	t->fold_scores = palloc(sizeof(double) * sr->folds);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(fitcxt);
	PG_TRY();
	{
		fit_folds(t, sr, m, frame, td, o);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer);
		CurrentResourceOwner = owner;
		t->status = 'c';
		t->score = 0;
		for (int k = 0; k < sr->folds; k++)
			t->score += t->fold_scores[k] / sr->folds;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(outer);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer);
		CurrentResourceOwner = owner;
		if (must_rethrow(edata->sqlerrcode))
			ReThrowError(edata);
		t->status = 'f';
		t->score = NAN;
		t->error = psprintf("%s: %s", unpack_sql_state(edata->sqlerrcode), edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextDelete(fitcxt);
	t->seconds = elapsed_since(start);
}

static int
cmp_trial(const void *a, const void *b, void *arg)
{
	const MlSearchTrial *x = *(MlSearchTrial *const *) a;
	const MlSearchTrial *y = *(MlSearchTrial *const *) b;
	MlTask		task = *(MlTask *) arg;

	if (better(task, x->score, y->score))
		return -1;
	if (better(task, y->score, x->score))
		return 1;
	return x->trial - y->trial;
}

/* Sorted best first (failed last), ties to the earlier configuration. */
static MlSearchTrial **
ranked(List *trials, MlTask task)
{
	MlSearchTrial **a = palloc(sizeof(MlSearchTrial *) * Max(list_length(trials), 1));
	ListCell   *lc;

	foreach(lc, trials)
		a[foreach_current_index(lc)] = lfirst(lc);
	qsort_arg(a, list_length(trials), sizeof(MlSearchTrial *), cmp_trial, &task);
	return a;
}

static MlSearchTrial *
at_rung(MlSearchTrial *cfg, int rung, int64 m, double fraction)
{
	MlSearchTrial *t = palloc0(sizeof(MlSearchTrial));

	t->trial = cfg->trial;
	t->learner = cfg->learner;
	t->params = cfg->params;
	t->params_json = cfg->params_json;
	t->rung = rung;
	t->train_rows = m;
	t->fraction = fraction;
	return t;
}

/*
 * Run rung r: every configuration alive (the previous rung's trials, best
 * first) on a sample of m rows, while the budget lasts (checked before
 * every trial once one has completed: even a tiny budget yields a model).
 */
static List *
run_rung(MlSearchResult *res, List *alive, int r, int64 m, SearchRows *sr, MlFrame *frame,
		 MlTrainData *td, MlTrainOptions *o, instr_time start)
{
	List	   *rung = NIL;
	ListCell   *lc;

	foreach(lc, alive)
	{
		MlSearchTrial *prev = lfirst(lc);
		MlSearchTrial *t;
		bool		started = res->completed + res->pruned > 0;

		CHECK_FOR_INTERRUPTS();
		if (started && elapsed_since(start) > o->budget_s)
		{
			res->budget_exhausted = true;
			break;
		}

		/*
		 * A survivor's fit grows with its sample: one that would end past
		 * the budget, judged by its time in the previous rung, is skipped so
		 * cheaper ones can still run.
		 */
		if (started && r > 1 && prev->train_rows > 0 &&
			elapsed_since(start) + prev->seconds * m / prev->train_rows > o->budget_s)
		{
			res->budget_exhausted = true;
			res->skipped++;
			continue;
		}
		t = at_rung(prev, r, m, (double) m / sr->n);
		run_trial(t, sr, m, frame, td, o);
		/* the budget is the plan: its share spent is the search's progress */
		if (!o->search_silent)
			MlRunProgress(ML_TRAIN_PROGRESS_READ + (ML_TRAIN_PROGRESS_FITTED - ML_TRAIN_PROGRESS_READ) *
					  Min(1.0, elapsed_since(start) / Max(o->budget_s, 1e-9)), ML_PROGRESS_SAME_ROWS);
		rung = lappend(rung, t);
		res->trials = lappend(res->trials, t);
		if (t->status == 'f')
			res->failed++;
		else
			res->completed++;
	}
	return rung;
}

/*
 * The best third of a rung's completed trials (all of them in the last
 * rung), best first; the others are pruned.
 */
static List *
promote(MlSearchResult *res, List *rung, bool last, MlTask task)
{
	MlSearchTrial **best = ranked(rung, task);
	int			keep = last ? list_length(rung) : (list_length(rung) + SEARCH_ETA - 1) / SEARCH_ETA;
	List	   *alive = NIL;

	for (int i = 0; i < list_length(rung); i++)
	{
		if (best[i]->status != 'c')
			continue;
		if (i < keep)
			alive = lappend(alive, best[i]);
		else
		{
			best[i]->status = 'p';
			res->completed--;
			res->pruned++;
		}
	}
	pfree(best);
	return alive;
}

/*
 * Successive halving within the budget. The winner is the best completed
 * trial of the highest rung that has one.
 */
void
MlSearch(MlSearchResult *res, MlFrame *frame, MlTrainData *td, MlTrainOptions *o, List *cands)
{
	pg_prng_state rng;
	SearchRows	sr;
	List	   *alive;
	instr_time	start;

	INSTR_TIME_SET_CURRENT(start);
	memset(res, 0, sizeof(*res));
	/* a stream of its own: the split used o->seed itself */
	pg_prng_seed(&rng, (uint64) o->seed ^ UINT64CONST(0x9E3779B97F4A7C15));
	search_rows(&sr, frame, td, o, &rng);
	alive = configurations(cands, td->task, o->max_trials, &rng);
	res->nconfigs = list_length(alive);
	res->folds = sr.folds;
	/* a rung per third of the configurations, while samples stay large enough */
	res->nrungs = 1;
	for (int n = res->nconfigs; n >= SEARCH_ETA && res->nrungs < SEARCH_MAX_RUNGS &&
		 sr.n / pow(SEARCH_ETA, res->nrungs) >= SEARCH_MIN_ROWS; n = (n + SEARCH_ETA - 1) / SEARCH_ETA)
		res->nrungs++;
	for (int r = 1; r <= res->nrungs && alive != NIL && !res->budget_exhausted; r++)
	{
		double		fraction = pow(SEARCH_ETA, r - res->nrungs);
		int64		m = Min(sr.n, Max((int64) ceil(fraction * sr.n), SEARCH_MIN_ROWS));
		List	   *rung = run_rung(res, alive, r, m, &sr, frame, td, o, start);

		if (rung == NIL)
			break;
		res->rungs_run = r;
		/* survivors run the next rung best first: a budget cut drops the worst */
		alive = promote(res, rung, r == res->nrungs || res->budget_exhausted, td->task);
		if (alive != NIL)
			res->winner = linitial(alive);
	}
	if (res->winner == NULL)
	{
		MlSearchTrial *first = linitial(res->trials);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("every trial of the search failed"),
				 errdetail("Trial 1 (%s): %s", first->learner->name, first->error),
				 errhint("Name an algorithm to see its error, or check the features and the target.")));
	}
	res->winner->chosen = true;
	res->seconds = elapsed_since(start);
}

/* The search summary for the version's metrics (no timings but "seconds"). */
void
MlSearchJson(MlSearchResult *res, MlTrainOptions *o, StringInfo out)
{
	MlSearchTrial *w = res->winner;

	appendStringInfo(out, "{\"winner\": {\"trial\": %d, \"rung\": %d, \"algorithm\": ",
					 w->trial, w->rung);
	escape_json(out, w->learner->name);
	appendStringInfo(out, ", \"hyperparameters\": %s, \"cv_score\": ", w->params_json);
	MlJsonNumber(out, w->score);
	appendStringInfo(out, "}, \"configurations\": %d, \"rungs\": %d, \"rungs_run\": %d"
					 ", \"trials\": %d, \"completed\": %d, \"pruned\": %d, \"failed\": %d"
					 ", \"skipped\": %d, \"validation\": ",
					 res->nconfigs, res->nrungs, res->rungs_run, list_length(res->trials),
					 res->completed, res->pruned, res->failed, res->skipped);
	if (res->folds > 1)
		appendStringInfo(out, "\"%d folds\"", res->folds);
	else
		appendStringInfoString(out, o->time_col >= 0 ? "\"latest training rows\"" : "\"holdout\"");
	appendStringInfo(out, ", \"budget_exhausted\": %s, \"budget_s\": ",
					 res->budget_exhausted ? "true" : "false");
	MlJsonNumber(out, o->budget_s);
	appendStringInfoString(out, ", \"seconds\": ");
	MlJsonNumber(out, res->seconds);
	appendStringInfoChar(out, '}');
}

static Datum
scores_array(MlSearchTrial *t, bool *isnull)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(t->nfolds, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(t->nfolds, 1));
	int			dims[1] = {t->nfolds};
	int			lbs[1] = {1};

	*isnull = t->status == 'f';
	for (int k = 0; k < t->nfolds; k++)
	{
		nulls[k] = !isfinite(t->fold_scores[k]);
		d[k] = Float8GetDatum(nulls[k] ? 0 : t->fold_scores[k]);
	}
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, FLOAT8OID,
											  sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Insert the trial rows of the version just stored (as the extension
 * owner, within the same SPI connection and transaction).
 */
void
MlSearchStore(MlSearchResult *res, MlTask task, int64 project_id, int32 version)
{
	Oid			types[14] = {INT8OID, INT4OID, INT4OID, INT4OID, TEXTOID, JSONBOID, INT8OID,
	FLOAT8OID, TEXTOID, FLOAT8ARRAYOID, FLOAT8OID, FLOAT8OID, TEXTOID, TEXTOID};
	ListCell   *lc;

	foreach(lc, res->trials)
	{
		MlSearchTrial *t = lfirst(lc);
		Datum		v[15];
		char		nulls[15];
		bool		isnull;

		memset(nulls, ' ', sizeof(nulls));
		v[0] = Int64GetDatum(project_id);
		v[1] = Int32GetDatum(version);
		v[2] = Int32GetDatum(t->trial);
		v[3] = Int32GetDatum(t->rung);
		v[4] = CStringGetTextDatum(t->learner->name);
		v[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(t->params_json));
		v[6] = Int64GetDatum(t->train_rows);
		v[7] = Float8GetDatum(t->fraction);
		v[8] = CStringGetTextDatum(task == ML_TASK_REGRESSION ? "rmse" : "accuracy");
		v[9] = scores_array(t, &isnull);
		if (isnull)
			nulls[9] = 'n';
		v[10] = Float8GetDatum(t->score);
		if (!isfinite(t->score))
			nulls[10] = 'n';
		v[11] = Float8GetDatum(t->seconds);
		v[12] = CStringGetTextDatum(t->status == 'c' ? "completed" : t->status == 'p' ? "pruned" : "failed");
		if (t->error)
			v[13] = CStringGetTextDatum(t->error);
		else
			nulls[13] = 'n';
		v[14] = BoolGetDatum(t->chosen);
		{
			Oid			t15[15];

			memcpy(t15, types, sizeof(types));
			t15[14] = BOOLOID;
			MlSpiExec("INSERT INTO mlops.trials (project_id, model_id, version, trial, rung, algorithm, "
					  "hyperparameters, train_rows, fraction, metric, fold_scores, score, fit_seconds, "
					  "status, error, chosen) "
					  "SELECT $1, m.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 "
					  "FROM mlops.models m WHERE m.project_id OPERATOR(pg_catalog.=) $1 "
					  "AND m.version OPERATOR(pg_catalog.=) $2",
					  15, t15, v, nulls, SPI_OK_INSERT);
		}
	}
}
