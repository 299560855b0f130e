/*
 * train.c
 *	  ml_train: read the project's relation as the caller, encode, split,
 *	  fit, evaluate and store a new model version.
 *
 * The relation is read once into a frame (core/frame.c) in a memory
 * context this call owns; learners see only designs built from it
 * (model/features.c). The version row, its payload and an audit row are
 * written as the extension owner after the caller's rights were checked.
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/catalog.h"
#include "core/run_progress.h"
#include "core/options.h"
#include "model/deployed.h"
#include "model/versions.h"
#include "model/importance.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "model/search.h"
#include "model/stored.h"
#include "model/train.h"

PG_FUNCTION_INFO_V1(ml_train);

/* One fitted candidate and how it scored. */
typedef struct Trial
{
	const MlLearner *learner;
	void	   *params;
	MlTrained  *trained;
	StringInfoData metrics;		/* JSON members */
	double		primary;		/* rmse (lower wins) or accuracy (higher wins) */
	double		seconds;
} Trial;

static void
read_options(JsonbContainer *opts, MlTrainOptions *o, bool is_auto)
{
	static const char *const valid[] = {
		"test_size", "folds", "seed", "time_column", "holdout_column", "features", "exclude",
		"permutation_importance", "permutation_repeats", "budget_s", "max_trials", "recipe", NULL
	};

	MlOptCheckKeys(opts, "training options", valid);
	memset(o, 0, sizeof(*o));
	o->test_size = MlOptRange(opts, "test_size", 0.2, 0.01, 0.9);
	o->folds = MlOptInt(opts, "folds", 1, 1, 20);
	o->seed = MlOptInt(opts, "seed", 42, 0, PG_INT32_MAX);
	o->time_column = MlOptString(opts, "time_column", NULL);
	o->holdout_column = MlOptString(opts, "holdout_column", NULL);
	o->features = MlOptStringList(opts, "features");
	if (o->features == NIL && MlOptGet(opts, "features") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"features\" must name at least one column"),
				 errhint("Leave it out to learn from every column.")));
	o->exclude = MlOptStringList(opts, "exclude");
	o->permutation_importance = MlOptBool(opts, "permutation_importance", false);
	o->permutation_repeats = MlOptInt(opts, "permutation_repeats", ML_PERMUTATION_REPEATS, 1, 100);
	if (o->permutation_importance && o->folds > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"permutation_importance\" cannot be combined with \"folds\""),
				 errhint("It is measured on the test split, and with folds the stored model learns from every row; "
						 "use ml_evaluate() on held-out rows instead.")));
	o->budget_s = MlOptRange(opts, "budget_s", 60, 0.1, 86400);
	o->max_trials = MlOptInt(opts, "max_trials", 27, 1, 1000);
	if (!is_auto && (MlOptGet(opts, "max_trials") || MlOptGet(opts, "budget_s")))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"budget_s\" and \"max_trials\" apply to algorithm \"auto\" only"),
				 errhint("Leave them out, or let ml_train search with algorithm \"auto\".")));
	if (o->folds > 1 && (o->time_column || o->holdout_column))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"folds\" cannot be combined with \"time_column\" or \"holdout_column\""),
				 errhint("A time or column split is one holdout; k-fold splits rows at random.")));
	if (o->time_column && o->holdout_column)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"time_column\" and \"holdout_column\" are mutually exclusive")));
	/*
	 * auto holds the test rows out as a named algorithm does without
	 * folds, and cross-validates its search on the training rows: 3 folds
	 * unless told, one holdout of them when the split is by time or column.
	 */
	o->search_folds = 1;
	if (is_auto)
	{
		o->search_folds = MlOptGet(opts, "folds") ? o->folds :
			(o->time_column || o->holdout_column) ? 1 : 3;
		o->folds = 1;
	}
}

/* Columns to load: the chosen features (or all), the target, split columns. */
static List *
columns_to_load(Oid relid, MlProject *p, MlTrainOptions *o)
{
	List	   *cols = NIL;
	ListCell   *lc;
	const char *need[3] = {p->target, o->time_column, o->holdout_column};

	foreach(lc, o->exclude)
		if (strcmp(lfirst(lc), p->target) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the target \"%s\" cannot be excluded", p->target)));
	if (o->features != NIL)
	{
		foreach(lc, o->features)
		{
			if (strcmp(lfirst(lc), p->target) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the target \"%s\" cannot be a feature", p->target)));
			if (!MlInList(o->exclude, lfirst(lc)) && !MlInList(cols, lfirst(lc)))
				cols = lappend(cols, lfirst(lc));
		}
	}
	else
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);

		for (int a = 0; a < desc->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);
			char	   *name = NameStr(att->attname);

			if (!att->attisdropped && !MlInList(o->exclude, name))
				cols = lappend(cols, pstrdup(name));
		}
		relation_close(rel, NoLock);
		foreach(lc, o->exclude)
			if (get_attnum(relid, lfirst(lc)) == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("excluded column \"%s\" does not exist", (char *) lfirst(lc))));
	}
	for (int i = 0; i < 3; i++)
		if (need[i] && !MlInList(cols, need[i]))
			cols = lappend(cols, pstrdup(need[i]));
	return cols;
}

static MlTask
task_of(MlProject *p, MlTrainData *td, const MlLearner *l)
{
	if (l && l->supports(ML_TASK_CLUSTERING) && !l->supports(ML_TASK_REGRESSION))
		return ML_TASK_CLUSTERING;
	if (strcmp(p->task, "classification") != 0)
		return ML_TASK_REGRESSION;
	return td->nclass == 2 ? ML_TASK_BINARY : ML_TASK_MULTICLASS;
}

static double
elapsed_s(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/*
 * The outputs of every row of td (n), from those of the train rows and
 * those of the test rows (each indexes into td's rows).
 */
static double *
scatter_outputs(MlTrained *t, int64 n, const int64 *train, int64 ntrain, const double *train_out,
				const int64 *test, int64 ntest, const double *test_out)
{
	int			nout = MlTrainedOutputs(t);
	double	   *all = palloc_extended(sizeof(double) * Max(n, 1) * nout, MCXT_ALLOC_HUGE);

	for (int64 i = 0; i < ntrain; i++)
		memcpy(all + train[i] * nout, train_out + i * nout, sizeof(double) * nout);
	for (int64 i = 0; i < ntest; i++)
		memcpy(all + test[i] * nout, test_out + i * nout, sizeof(double) * nout);
	return all;
}

/* Indexes (into td->rows) of the rows of one side of a split. */
static int64 *
rows_where(MlTrainData *td, int fold, bool equal, int64 *n)
{
	int64	   *out = palloc(sizeof(int64) * Max(td->nrows, 1));

	*n = 0;
	for (int64 i = 0; i < td->nrows; i++)
		if ((td->fold[i] == fold) == equal)
			out[(*n)++] = i;
	return out;
}

/*
 * Fit on `train` rows; score `test` rows into metrics (when there are any).
 * With keep, and when train and test are every row of td between them, the
 * predictions of td's rows are kept in t->fitted when the learner still
 * holds those of its training rows (the profile needs them all).
 */
static MlTrained *
fit_one(const MlLearner *l, void *params, MlFrame *frame, MlTrainData *td, MlTrainOptions *o,
		const int64 *train, int64 ntrain, const int64 *test, int64 ntest,
		StringInfo metrics, double *primary, bool keep)
{
	MlTrained  *t = palloc0(sizeof(MlTrained));
	MlDesign   *d;
	int64	   *frows = palloc(sizeof(int64) * Max(ntrain, 1));
	double	   *trained_out = NULL;

	for (int64 i = 0; i < ntrain; i++)
		frows[i] = td->rows[train[i]];
	t->learner = l;
	t->task = td->task;
	t->nclass = td->nclass;
	t->classes = td->classes;
	t->enc = MlEncoderFitPrep(frame, td->features, frows, ntrain, l->needs_dense, td->prep);
	if (td->replay != NIL)
		MlReplayAttach(t->enc, td->replay, frame);
	d = MlTrainDesign(t->enc, frame, td, train, ntrain);
	d->seed = (uint64) o->seed;
	t->model = l->fit(d, params);
	keep = keep && l->fitted != NULL && ntrain + ntest == td->nrows;
	if (keep)
	{
		trained_out = palloc_extended(sizeof(double) * Max(ntrain, 1) * MlTrainedOutputs(t),
									  MCXT_ALLOC_HUGE);
		keep = l->fitted(t->model, ntrain, trained_out);
	}
	if (ntest > 0 && td->task != ML_TASK_CLUSTERING)
	{
		MlDesign   *e = MlTrainDesign(t->enc, frame, td, test, ntest);
		double	   *out = palloc_extended(sizeof(double) * ntest * MlTrainedOutputs(t), MCXT_ALLOC_HUGE);

		l->predict(t->model, e, out);
		if (td->task == ML_TASK_REGRESSION)
			*primary = MlRegressionMetrics(e->y, out, ntest, metrics);
		else
			*primary = MlClassificationMetrics(e->y, out, ntest, td->nclass, metrics);
		if (keep)
			t->fitted = scatter_outputs(t, td->nrows, train, ntrain, trained_out, test, ntest, out);
	}
	else if (keep && ntest == 0)
		t->fitted = scatter_outputs(t, td->nrows, train, ntrain, trained_out, NULL, 0, NULL);
	else if (td->task == ML_TASK_CLUSTERING)
		/* no labels to score against; the metrics object must not stay empty */
		appendStringInfo(metrics, "\"clustered_rows\": " INT64_FORMAT, ntrain);
	return t;
}

/* fit_one for the search (search.c). */
MlTrained *
MlTrainFitScore(const MlLearner *l, void *params, MlFrame *frame, MlTrainData *td,
				MlTrainOptions *o, const int64 *train, int64 ntrain, const int64 *test,
				int64 ntest, StringInfo metrics, double *primary)
{
	return fit_one(l, params, frame, td, o, train, ntrain, test, ntest, metrics, primary, false);
}

/* Metrics for a numeric key averaged over folds: mean of each fold's. */
static void
run_trial(Trial *tr, MlFrame *frame, MlTrainData *td, MlTrainOptions *o)
{
	instr_time	start;
	int64		ntrain,
				ntest;

	INSTR_TIME_SET_CURRENT(start);
	initStringInfo(&tr->metrics);
	appendStringInfoChar(&tr->metrics, '{');
	if (o->folds <= 1)
	{
		int64	   *train = rows_where(td, 1, false, &ntrain);
		int64	   *test = rows_where(td, 1, true, &ntest);

		if (ntrain == 0 || (ntest == 0 && td->task != ML_TASK_CLUSTERING))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the split leaves " INT64_FORMAT " training and " INT64_FORMAT " test rows",
							ntrain, ntest),
					 errhint("Both sides need rows: check \"test_size\" or the holdout column.")));
		tr->trained = fit_one(tr->learner, tr->params, frame, td, o, train, ntrain, test, ntest,
							  &tr->metrics, &tr->primary, true);
	}
	else
	{
		double		sum = 0;
		int64	   *all = rows_where(td, -1, false, &ntrain);

		for (int k = 0; k < o->folds; k++)
		{
			int64	   *train = rows_where(td, k, false, &ntrain);
			int64	   *test = rows_where(td, k, true, &ntest);
			StringInfoData m;
			double		p = NAN;

			initStringInfo(&m);
			appendStringInfoChar(&m, '{');
			(void) fit_one(tr->learner, tr->params, frame, td, o, train, ntrain, test, ntest, &m, &p,
						   false);
			sum += p;
			if (k == 0)
				appendStringInfo(&tr->metrics, "\"fold_1\": %s}", m.data);
			else
				appendStringInfo(&tr->metrics, ", \"fold_%d\": %s}", k + 1, m.data);
		}
		tr->primary = sum / o->folds;
		appendStringInfo(&tr->metrics, ", \"cv_%s\": ",
						 td->task == ML_TASK_REGRESSION ? "rmse" : "accuracy");
		MlJsonNumber(&tr->metrics, tr->primary);
		/* the stored model learns from every row */
		tr->trained = fit_one(tr->learner, tr->params, frame, td, o, all, td->nrows, NULL, 0,
							  &tr->metrics, &tr->primary, true);
		tr->primary = sum / o->folds;
	}
	tr->seconds = elapsed_s(start);
}

/* Gain importance per input column, normalized to sum 1. */
static void
importance_json(Trial *tr, StringInfo out)
{
	MlTrained  *t = tr->trained;
	MlEncoder  *enc = t->enc;
	double	   *gain;
	double	   *by_input;
	double		total = 0;

	if (t->learner->importance == NULL)
		return;
	gain = palloc0(sizeof(double) * Max(enc->nfeat, 1));
	by_input = palloc0(sizeof(double) * enc->ninputs);
	t->learner->importance(t->model, gain);
	for (int f = 0; f < enc->nfeat; f++)
		if (isfinite(gain[f]))
		{
			by_input[enc->feat_input[f]] += fabs(gain[f]);
			total += fabs(gain[f]);
		}
	appendStringInfoString(out, ", \"importance\": {");
	for (int i = 0; i < enc->ninputs; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, enc->inputs[i].name);
		appendStringInfoString(out, ": ");
		MlJsonNumber(out, total > 0 ? by_input[i] / total : 0);
	}
	appendStringInfoChar(out, '}');
}

/* A fingerprint of the data as read: a hash of every loaded cell. */
static char *
fingerprint(MlFrame *frame, MlTrainData *td)
{
	uint64		h = hash_bytes_uint32_extended((uint32) frame->nrows, 0);

	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) col->name,
												  strlen(col->name), 0));
		if (col->code && col->kind != ML_KIND_NUMERIC)
			h = hash_combine64(h, hash_bytes_extended((const unsigned char *) col->code,
													  sizeof(int32) * frame->nrows, 0));
		else
			h = hash_combine64(h, hash_bytes_extended((const unsigned char *) col->x,
													  sizeof(double) * frame->nrows, 0));
		CHECK_FOR_INTERRUPTS();
	}
	(void) td;
	return psprintf("%016llx", (unsigned long long) h);
}

/* Insert the version row and its audit entry; returns the version number. */
static int32
store_version(MlScope *scope, MlProject *p, Trial *tr, MlTrainData *td, MlFrame *frame,
			  MlTrainOptions *o, MlTrainRecipe *rec, StringInfo metrics)
{
	StringInfoData params,
				features,
				training;

	initStringInfo(&params);
	tr->learner->params_json(tr->params, &params);
	initStringInfo(&features);
	MlEncoderFeaturesJson(tr->trained->enc, &features);
	initStringInfo(&training);
	appendStringInfo(&training, "{\"task\": \"%s\", \"rows\": " INT64_FORMAT
					 ", \"rows_without_target\": " INT64_FORMAT ", \"split\": ",
					 td->task == ML_TASK_REGRESSION ? "regression" :
					 td->task == ML_TASK_BINARY ? "binary" :
					 td->task == ML_TASK_MULTICLASS ? "multiclass" : "clustering",
					 td->nrows, td->skipped_rows);
	if (o->folds > 1)
		appendStringInfo(&training, "{\"folds\": %d, \"seed\": %d}", o->folds, o->seed);
	else if (o->holdout_column)
	{
		appendStringInfoString(&training, "{\"holdout_column\": ");
		escape_json(&training, o->holdout_column);
		appendStringInfoChar(&training, '}');
	}
	else
	{
		appendStringInfoString(&training, "{\"test_size\": ");
		MlJsonNumber(&training, o->test_size);
		if (o->time_column)
		{
			appendStringInfoString(&training, ", \"time_column\": ");
			escape_json(&training, o->time_column);
		}
		else
			appendStringInfo(&training, ", \"seed\": %d", o->seed);
		appendStringInfoChar(&training, '}');
	}
	MlTrainListsJson(td, &training);
	MlTrainRecipeJson(rec, &training);
	appendStringInfoString(&training, ", \"fit_seconds\": ");
	MlJsonNumber(&training, tr->seconds);
	appendStringInfoChar(&training, '}');

	{
		MlVersionRow row = {
			.algorithm = tr->learner->name,
			.hyperparameters = params.data,
			.metrics = metrics->data,
			.payload = MlTrainedSave(tr->trained),
			.payload_format = ML_PAYLOAD_FORMAT,
			.row_count = frame->nrows,
			.fingerprint = fingerprint(frame, td),
			.features = features.data,
			.training = training.data,
			.recipe_id = rec->id,
			.audit_action = "train",
		};
		instr_time	start;
		int32		version;
		double		t_profile;

		INSTR_TIME_SET_CURRENT(start);
		row.profile = MlProfileBuild(tr->trained, frame, td->rows, td->nrows, tr->trained->fitted);
		t_profile = elapsed_s(start);
		version = MlStoreVersion(scope, p, &row);
		elog(DEBUG1, "train timing: profile %.3f s, storing %.3f s", t_profile,
			 elapsed_s(start) - t_profile);
		return version;
	}
}

/* Learners auto searches, in order, for the task. */
List *
MlAutoCandidates(MlTask task)
{
	static const char *const names[] = {"gbdt", "random_forest", "ridge", "lasso", "elastic_net",
	"logistic", "naive_bayes", "linear"};
	List	   *out = NIL;

	for (size_t i = 0; i < lengthof(names); i++)
	{
		const MlLearner *l = MlLearnerByName(names[i]);

		if (l && l->supports(task))
			out = lappend(out, (void *) l);
	}
	return out;
}

/* All rows, no target: what a clustering learner sees. */
static void
clustering_rows(MlTrainData *td, MlFrame *frame)
{
	td->nrows = frame->nrows;
	td->rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	td->y = palloc0(sizeof(double) * Max(frame->nrows, 1));
	for (int64 i = 0; i < frame->nrows; i++)
		td->rows[i] = i;
	if (td->nrows < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the relation has " INT64_FORMAT " rows; training needs at least 2", td->nrows)));
}

/* Frame columns of the split options, checked for type. */
static void
split_columns(MlFrame *frame, MlTrainOptions *o)
{
	o->time_col = o->time_column ? MlFrameColumn(frame, o->time_column) : -1;
	o->holdout_col = o->holdout_column ? MlFrameColumn(frame, o->holdout_column) : -1;
	if (o->time_col >= 0 && frame->cols[o->time_col].kind != ML_KIND_DATETIME &&
		frame->cols[o->time_col].kind != ML_KIND_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" must be a date, a timestamp or a number", o->time_column)));
	if (o->holdout_col >= 0 && getBaseType(frame->cols[o->holdout_col].typid) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("holdout column \"%s\" must be boolean (true: a test row)", o->holdout_column)));
}

/* The frame, or a uniform sample when the relation outgrows the budget. */
static MlFrame *
load_frame(Oid relid, List *cols, bool *sampled)
{
	Size		budget = (Size) maintenance_work_mem * 1024 / 4 * 3;
	Size		per_row = (Size) list_length(cols) * ML_CELL_BYTES + 6;
	Size		est = MlFrameEstimate(relid, list_length(cols));

	*sampled = est > budget;
	return MlFrameLoadSample(relid, cols, false, *sampled ? (int64) (budget / per_row) : 0);
}

/*
 * The fitted version: the named learner with the user's hyperparameters,
 * or auto's search winner (search.c) refitted on every training row.
 */
static Trial *
train_best(MlSearchResult *search, const MlLearner *l, JsonbContainer *hp, MlFrame *frame,
		   MlTrainData *td, MlTrainOptions *o)
{
	Trial	   *tr = palloc0(sizeof(Trial));

	if (l == NULL)
	{
		List	   *cands = MlAutoCandidates(td->task);

		if (cands == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("no algorithm of this library can learn this task")));
		MlSearch(search, frame, td, o, cands);
		tr->learner = search->winner->learner;
		tr->params = search->winner->params;
	}
	else
	{
		tr->learner = l;
		tr->params = l->read_params(hp, td->task);
	}
	run_trial(tr, frame, td, o);
	return tr;
}

Datum
ml_train(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	char	   *alg = PG_ARGISNULL(1) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	JsonbContainer *hp = PG_ARGISNULL(2) ? NULL : &PG_GETARG_JSONB_P(2)->root;
	JsonbContainer *opts = PG_ARGISNULL(3) ? NULL : &PG_GETARG_JSONB_P(3)->root;
	const MlLearner *l = NULL;
	MlTrainOptions o;
	MlTrainData td;
	MlTrainRecipe rec;
	MlFrame    *frame;
	Oid			relid;
	MemoryContext cxt,
				old,
				callercxt;
	Trial	   *best;
	MlSearchResult search;
	StringInfoData metrics;
	bool		sampled;
	int			tcol;
	int32		version;
	char	   *algorithm;
	char	   *metrics_text;
	instr_time	t_begin;

	INSTR_TIME_SET_CURRENT(t_begin);
	if (strcmp(alg, "auto") != 0 && (l = MlLearnerByName(alg)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", alg),
				 errhint("Valid algorithms: auto, %s.", MlLearnerNames())));
	if (l == NULL && hp != NULL && JsonContainerSize(hp) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"auto\" chooses its own hyperparameters"),
				 errhint("Name an algorithm to set hyperparameters.")));
	read_options(opts, &o, l == NULL);
	MlTrainRecipeOption(opts, &rec);

	callercxt = CurrentMemoryContext;	/* SPI_finish frees what SPI allocated */
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	MlProjectRequireTrain(p);
	if (strcmp(p->task, "forecast") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("project \"%s\" is a forecast project", p->name),
				 errhint("Train it with ml_forecast_train(project, time_column, series_by, options).")));
	MlScopeAsCaller(&scope);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_train", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	relid = MlProjectRelation(p);
	frame = load_frame(relid, columns_to_load(relid, p, &o), &sampled);
	tcol = MlFrameColumn(frame, p->target);
	split_columns(frame, &o);
	memset(&td, 0, sizeof(td));
	td.task = task_of(p, &td, l);
	if (td.task == ML_TASK_CLUSTERING)
		clustering_rows(&td, frame);
	else
	{
		MlTrainTarget(&td, frame, tcol, td.task != ML_TASK_REGRESSION);
		td.task = task_of(p, &td, l);
	}
	if (l && !l->supports(td.task))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"%s\" cannot learn a %s project", l->name, p->task)));
	if (td.task == ML_TASK_CLUSTERING && o.folds > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"folds\" does not apply to clustering"),
				 errhint("A clustering learner has no labels to score folds against; leave \"folds\" out.")));
	MlTrainFeatures(&td, frame, tcol, o.holdout_col, o.features != NIL);
	MlTrainRecipeResolve(&rec, p, relid, frame, &td);
	td.prep = rec.prep;
	td.replay = rec.replay;
	MlTrainSplit(&td, frame, &o);
	elog(DEBUG1, "train timing: reading and preparing %.3f s", elapsed_s(t_begin));
	MlRunProgress(ML_TRAIN_PROGRESS_READ, frame->nrows);
	best = train_best(&search, l, hp, frame, &td, &o);
	elog(DEBUG1, "train timing: fit and score %.3f s", best->seconds);
	MlRunProgress(ML_TRAIN_PROGRESS_FITTED, ML_PROGRESS_SAME_ROWS);

	initStringInfo(&metrics);
	appendStringInfoString(&metrics, best->metrics.data);
	importance_json(best, &metrics);
	if (o.permutation_importance)
		MlTrainPermutationImportance(best->trained, frame, &td, &o, &metrics);
	appendStringInfo(&metrics, ", \"sampled\": %s", sampled ? "true" : "false");
	if (l == NULL)
	{
		appendStringInfoString(&metrics, ", \"search\": ");
		MlSearchJson(&search, &o, &metrics);
	}
	appendStringInfoChar(&metrics, '}');
	{
		instr_time	t_recipe;

		INSTR_TIME_SET_CURRENT(t_recipe);
		MlTrainRecipeStore(&rec, &scope, p, relid, frame, best->trained);
		elog(DEBUG1, "train timing: recipe stored %.3f s", elapsed_s(t_recipe));
	}
	version = store_version(&scope, p, best, &td, frame, &o, &rec, &metrics);
	if (l == NULL)
		MlSearchStore(&search, td.task, p->id, version);
	MemoryContextSwitchTo(old);
	algorithm = MemoryContextStrdup(callercxt, best->learner->name);
	metrics_text = MemoryContextStrdup(callercxt, metrics.data);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	elog(DEBUG1, "train timing: total %.3f s", elapsed_s(t_begin));
	PG_RETURN_DATUM(MlVersionResult(fcinfo, version, CStringGetTextDatum(algorithm), metrics_text));
}
