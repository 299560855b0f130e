/*
 * groups.c
 *	  ml_train_groups: one model per group of key columns (many-models),
 *	  stored as one version that routes every scored row to its group.
 *
 * The relation is read once as the caller. Each group with enough rows
 * gets what ml_train would give the group's rows alone with a named
 * algorithm: its own split (the same seed), its own encoder and fit, its
 * test metrics; groups below min_rows and groups never seen are scored by
 * the fallback, a model of every row ("global"), or refused ("error").
 * The grouped model (model/grouped.c) keeps a raw top-level encoder over
 * the feature columns and the key columns, so scoring only needs the
 * row's raw features to find its model.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "core/options.h"
#include "model/groups.h"
#include "model/metrics.h"
#include "model/search.h"
#include "model/stored.h"
#include "model/train.h"
#include "model/versions.h"

PG_FUNCTION_INFO_V1(ml_train_groups);

#define MAX_GROUP_BY 8

typedef struct GroupOptions
{
	MlTrainOptions t;
	int			min_rows;
	bool		fallback_global;
	int			workers;		/* background workers; 0: the backend fits alone */
} GroupOptions;

/* One group: its rows (indexes into td->rows, in frame order) and its fit. */
typedef struct FitGroup
{
	int64		first;			/* into the sorted order */
	int64		n;
	MlTrained  *model;			/* NULL: too small */
	void	   *params;			/* auto: the search winner's hyperparameters */
	MlDesign   *train;			/* prepared for the fit */
	MlDesign   *test;
	StringInfoData metrics;
	double	   *test_y;
	double	   *test_out;
	int64		ntest;
} FitGroup;

static void
read_options(JsonbContainer *opts, GroupOptions *o)
{
	static const char *const valid[] = {
		"test_size", "seed", "features", "exclude", "min_rows", "fallback", "workers",
		"budget_s", "max_trials", NULL
	};
	char	   *fallback;

	MlOptCheckKeys(opts, "grouped training options", valid);
	memset(o, 0, sizeof(*o));
	o->t.test_size = MlOptRange(opts, "test_size", 0.2, 0.01, 0.9);
	o->t.folds = 1;
	o->t.seed = MlOptInt(opts, "seed", 42, 0, PG_INT32_MAX);
	o->t.features = MlOptStringList(opts, "features");
	if (o->t.features == NIL && MlOptGet(opts, "features") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"features\" must name at least one column"),
				 errhint("Leave it out to learn from every column.")));
	o->t.exclude = MlOptStringList(opts, "exclude");
	o->t.time_col = -1;
	o->t.holdout_col = -1;
	o->min_rows = MlOptInt(opts, "min_rows", 20, 2, PG_INT32_MAX);
	fallback = MlOptString(opts, "fallback", "global");
	if (strcmp(fallback, "global") != 0 && strcmp(fallback, "error") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown fallback \"%s\"", fallback),
				 errhint("Valid fallbacks: global (a model of every row), error.")));
	o->fallback_global = strcmp(fallback, "global") == 0;
	o->workers = MlOptInt(opts, "workers",
						  Min(max_parallel_workers_per_gather, ML_GROUPS_MAX_WORKERS),
						  0, ML_GROUPS_MAX_WORKERS);
	/* auto: the whole call's search budget, shared by the groups by their rows */
	o->t.budget_s = MlOptRange(opts, "budget_s", 60, 0.1, 86400);
	o->t.max_trials = MlOptInt(opts, "max_trials", 27, 1, 1000);
	o->t.search_folds = 3;
	o->t.search_silent = true;
}

static void
require_auto_options(JsonbContainer *opts, bool is_auto)
{
	if (!is_auto && (MlOptGet(opts, "max_trials") || MlOptGet(opts, "budget_s")))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"budget_s\" and \"max_trials\" apply to algorithm \"auto\" only"),
				 errhint("Leave them out, or train with algorithm \"auto\".")));
}

/* group_by as a list of 1 to MAX_GROUP_BY distinct column names. */
static List *
group_columns(FunctionCallInfo fcinfo)
{
	List	   *out;

	MlRequireArg(fcinfo, 1, "group_by");
	out = MlColumnListArg(fcinfo, 1, "group_by", MAX_GROUP_BY);
	if (out == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("group_by must name at least one column")));
	return out;
}

/* Key columns exist, are text, integer or boolean, and are not the target. */
static void
check_group_columns(Oid relid, MlProject *p, List *group_by)
{
	ListCell   *lc;

	foreach(lc, group_by)
	{
		char	   *name = lfirst(lc);
		AttrNumber	att = get_attnum(relid, name);
		Oid			typ;

		if (att == InvalidAttrNumber || att < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("group_by column \"%s\" of relation \"%s\" does not exist",
							name, get_rel_name(relid)),
					 errhint("Column names are case-sensitive here: pass the name exactly as stored.")));
		if (strcmp(name, p->target) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("group_by column \"%s\" cannot be the target", name)));
		typ = getBaseType(get_atttype(relid, att));
		if (typ != TEXTOID && typ != VARCHAROID && typ != BPCHAROID && typ != INT2OID &&
			typ != INT4OID && typ != INT8OID && typ != BOOLOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("group_by column \"%s\" has type %s", name, format_type_be(typ)),
					 errhint("Group keys are text, integer or boolean columns.")));
	}
}

/* Columns to load: features (or every column) but the excluded, target, keys. */
static List *
columns_to_load(Oid relid, MlProject *p, GroupOptions *o, List *group_by)
{
	List	   *cols = NIL;
	ListCell   *lc;
	TupleDesc	desc;

	foreach(lc, o->t.features)
		if (strcmp(lfirst(lc), p->target) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the target \"%s\" cannot be a feature", p->target)));
	foreach(lc, o->t.exclude)
		if (get_attnum(relid, lfirst(lc)) == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("excluded column \"%s\" does not exist", (char *) lfirst(lc))));
	desc = lookup_rowtype_tupdesc(get_rel_type_id(relid), -1);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		char	   *name = NameStr(att->attname);

		if (att->attisdropped || MlInList(o->t.exclude, name) || MlInList(group_by, name))
			continue;
		if (o->t.features == NIL || MlInList(o->t.features, name) || strcmp(name, p->target) == 0)
			cols = lappend(cols, pstrdup(name));
	}
	ReleaseTupleDesc(desc);
	foreach(lc, o->t.features)
		if (!MlInList(cols, lfirst(lc)) && !MlInList(group_by, lfirst(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("feature column \"%s\" does not exist or is excluded",
							(char *) lfirst(lc))));
	if (!MlInList(cols, p->target))
		cols = lappend(cols, pstrdup(p->target));
	return list_concat(cols, list_copy(group_by));
}

typedef struct KeySort
{
	const double *key;
	int			ngk;
} KeySort;

static int
cmp_rows_by_key(const void *a, const void *b, void *arg)
{
	KeySort    *ks = arg;
	int64		ra = *(const int64 *) a,
				rb = *(const int64 *) b;
	int			c = MlGroupedKeyCmp(&ks->key[ra * ks->ngk], &ks->key[rb * ks->ngk], ks->ngk);

	return c != 0 ? c : (ra < rb ? -1 : ra > rb);
}

/* Raw key of every used row: a level code or a number, NaN for NULL. */
static double *
row_keys(MlFrame *frame, MlTrainData *td, int *keycol, int ngk)
{
	double	   *key = palloc_extended(sizeof(double) * Max(td->nrows * ngk, 1), MCXT_ALLOC_HUGE);

	for (int k = 0; k < ngk; k++)
	{
		MlColumn   *col = &frame->cols[keycol[k]];

		if (col->kind != ML_KIND_CATEGORICAL && col->kind != ML_KIND_NUMERIC)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("group_by column \"%s\" has too many distinct values to be a group key",
							col->name),
					 errhint("FitGroup by a column of fewer distinct values.")));
		for (int64 i = 0; i < td->nrows; i++)
		{
			int64		row = td->rows[i];

			if (col->isnull[row])
				key[i * ngk + k] = NAN;
			else if (col->kind == ML_KIND_CATEGORICAL)
				key[i * ngk + k] = col->code[row] < 0 ? NAN : (double) col->code[row];
			else
				key[i * ngk + k] = col->x[row];
		}
	}
	return key;
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
 * Prepare the fit of gtd's rows as ml_train would with a named algorithm:
 * the split, an encoder of the training side, both sides' designs.
 */
static MlTrained *
prepare_rows(const MlLearner *l, MlFrame *frame, MlTrainData *gtd, GroupOptions *o, FitGroup *g)
{
	MlTrained  *t = palloc0(sizeof(MlTrained));
	int64	   *train = palloc(sizeof(int64) * Max(gtd->nrows, 1));
	int64	   *test = palloc(sizeof(int64) * Max(gtd->nrows, 1));
	int64	   *frows = palloc(sizeof(int64) * Max(gtd->nrows, 1));
	int64		ntrain = 0,
				ntest = 0;

	MlTrainSplit(gtd, frame, &o->t);
	for (int64 i = 0; i < gtd->nrows; i++)
	{
		if (gtd->fold[i] == 1)
			test[ntest++] = i;
		else
			train[ntrain++] = i;
	}
	for (int64 i = 0; i < ntrain; i++)
		frows[i] = gtd->rows[train[i]];
	t->learner = l;
	t->task = gtd->task;
	t->nclass = gtd->nclass;
	t->classes = gtd->classes;
	t->enc = MlEncoderFit(frame, gtd->features, frows, ntrain, l->needs_dense);
	g->train = MlTrainDesign(t->enc, frame, gtd, train, ntrain);
	g->train->seed = (uint64) o->t.seed;
	g->test = MlTrainDesign(t->enc, frame, gtd, test, ntest);
	g->ntest = ntest;
	initStringInfo(&g->metrics);
	appendStringInfo(&g->metrics, ", \"rows\": " INT64_FORMAT ", \"train_rows\": " INT64_FORMAT
					 ", \"test_rows\": " INT64_FORMAT, gtd->nrows, ntrain, ntest);
	pfree(frows);
	pfree(train);
	pfree(test);
	return t;
}

/* After the fit: the test side's predictions and metrics, before the row counts. */
static void
finish_rows(FitGroup *g)
{
	MlTrained  *t = g->model;
	StringInfoData m;

	g->test_y = g->test->y;
	g->test_out = palloc_extended(sizeof(double) * Max(g->ntest, 1) * MlTrainedOutputs(t),
								  MCXT_ALLOC_HUGE);
	t->learner->predict(t->model, g->test, g->test_out);
	/* "{" then members: the metrics writers separate members after the brace */
	initStringInfo(&m);
	appendStringInfoChar(&m, '{');
	if (t->task == ML_TASK_REGRESSION)
		(void) MlRegressionMetrics(g->test_y, g->test_out, g->ntest, &m);
	else
		(void) MlClassificationMetrics(g->test_y, g->test_out, g->ntest, t->nclass, &m);
	appendStringInfoString(&m, g->metrics.data);
	g->metrics = m;
	for (int f = 0; f < g->train->nfeat; f++)
		pfree(g->train->col[f]);
	g->train = NULL;
}

/* The used rows of one group as a training set of their own. */
static void
group_data(MlTrainData *td, const int64 *order, FitGroup *g, MlTrainData *gtd)
{
	*gtd = *td;
	gtd->nrows = g->n;
	gtd->rows = palloc(sizeof(int64) * Max(g->n, 1));
	gtd->y = palloc(sizeof(double) * Max(g->n, 1));
	for (int64 i = 0; i < g->n; i++)
	{
		gtd->rows[i] = td->rows[order[g->first + i]];
		gtd->y[i] = td->y[order[g->first + i]];
	}
}

/* {"market": "north", ...}: a group's key as its columns print it. */
static void
key_json(MlFrame *frame, int *keycol, int ngk, const double *key, StringInfo out)
{
	appendStringInfoChar(out, '{');
	for (int k = 0; k < ngk; k++)
	{
		MlColumn   *col = &frame->cols[keycol[k]];

		if (k > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, col->name);
		appendStringInfoString(out, ": ");
		if (isnan(key[k]))
			appendStringInfoString(out, "null");
		else if (col->kind == ML_KIND_CATEGORICAL)
		{
			const char *s = col->level_text[(int) key[k]];

			if (getBaseType(col->typid) == BOOLOID)
				appendStringInfoString(out, strcmp(s, "t") == 0 ? "true" : "false");
			else
				escape_json(out, s);
		}
		else
			MlJsonNumber(out, key[k]);
	}
	appendStringInfoChar(out, '}');
}

/* Overall figures: every fitted group's test rows pooled. */
static void
overall_metrics(MlTrainData *td, FitGroup *groups, int ngroups, int nout, StringInfo out)
{
	int64		n = 0,
				k = 0;
	double	   *y,
			   *pred;

	for (int i = 0; i < ngroups; i++)
		if (groups[i].model)
			n += groups[i].ntest;
	if (n == 0)
		return;
	y = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	pred = palloc_extended(sizeof(double) * n * nout, MCXT_ALLOC_HUGE);
	for (int i = 0; i < ngroups; i++)
		if (groups[i].model)
		{
			memcpy(&y[k], groups[i].test_y, sizeof(double) * groups[i].ntest);
			memcpy(&pred[k * nout], groups[i].test_out, sizeof(double) * groups[i].ntest * nout);
			k += groups[i].ntest;
		}
	if (td->task == ML_TASK_REGRESSION)
		(void) MlRegressionMetrics(y, pred, n, out);
	else
		(void) MlClassificationMetrics(y, pred, n, td->nclass, out);
	appendStringInfoString(out, ", ");
}

/* the search validates on its training rows: fewer than this and it refuses */
#define GROUP_SEARCH_MIN_ROWS 2

static int64
train_rows(MlTrainData *gtd)
{
	int64		n = 0;

	for (int64 i = 0; i < gtd->nrows; i++)
		n += gtd->fold[i] != 1;
	return n;
}

/*
 * auto for a group too small to search (min_rows may be as low as 2, and
 * its test rows leave one to train on): the first candidate with its
 * defaults, as a named algorithm would fit it, rather than failing the
 * whole call. Its metrics say there was no search.
 */
static MlTrained *
prepare_unsearched(MlFrame *frame, MlTrainData *gtd, GroupOptions *o, FitGroup *g)
{
	const MlLearner *l = linitial(MlAutoCandidates(gtd->task));
	MlTrained  *t;
	StringInfoData hp;

	g->params = l->read_params(NULL, gtd->task);
	t = prepare_rows(l, frame, gtd, o, g);
	initStringInfo(&hp);
	l->params_json(g->params, &hp);
	appendStringInfoString(&g->metrics, ", \"algorithm\": ");
	escape_json(&g->metrics, l->name);
	appendStringInfo(&g->metrics, ", \"hyperparameters\": %s, \"search\": null, \"search_skipped\": "
					 "\"fewer than %d training rows\"", hp.data, GROUP_SEARCH_MIN_ROWS);
	return t;
}

/*
 * auto for one group: ml_train's search on the group's training rows alone
 * (its own split, 3 validation folds), with its share of the budget; then
 * the winner is prepared as a named algorithm would be. The search is
 * summed up in the group's metrics.
 */
static MlTrained *
prepare_auto(MlFrame *frame, MlTrainData *gtd, GroupOptions *o, FitGroup *g, double budget_s)
{
	MlTrainOptions so = o->t;
	MlSearchResult res;
	MlTrained  *t;
	StringInfoData hp;

	so.budget_s = budget_s;
	MlTrainSplit(gtd, frame, &so);
	if (train_rows(gtd) < GROUP_SEARCH_MIN_ROWS)
		return prepare_unsearched(frame, gtd, o, g);
	MlSearch(&res, frame, gtd, &so, MlAutoCandidates(gtd->task));
	g->params = res.winner->params;
	t = prepare_rows(res.winner->learner, frame, gtd, o, g);
	initStringInfo(&hp);
	res.winner->learner->params_json(g->params, &hp);
	appendStringInfoString(&g->metrics, ", \"algorithm\": ");
	escape_json(&g->metrics, res.winner->learner->name);
	appendStringInfo(&g->metrics, ", \"hyperparameters\": %s, \"search\": {\"trials\": %d, "
					 "\"budget_exhausted\": %s, \"budget_s\": ", hp.data, list_length(res.trials),
					 res.budget_exhausted ? "true" : "false");
	MlJsonNumber(&g->metrics, budget_s);
	appendStringInfoString(&g->metrics, ", \"seconds\": ");
	MlJsonNumber(&g->metrics, res.seconds);
	appendStringInfoChar(&g->metrics, '}');
	return t;
}

/* auto: each fit's learner and hyperparameters are its own; in the backend. */
static void
fit_auto(FitGroup **fits, MlDesign **designs, void **models, int nfits)
{
	for (int i = 0; i < nfits; i++)
	{
		models[i] = fits[i]->model->learner->fit(designs[i], fits[i]->params);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Fit every group big enough, and the fallback (global, when not NULL),
 * over the workers; returns the workers that ran. l NULL: auto, each fit
 * with its share of the budget by its rows.
 */
static int
fit_groups(const MlLearner *l, Jsonb *hp, void *params, MlFrame *frame, MlTrainData *td,
		   GroupOptions *o, const int64 *order, FitGroup *groups, int ngroups, FitGroup *global)
{
	FitGroup  **fits = palloc(sizeof(FitGroup *) * (ngroups + 1));
	MlDesign  **designs = palloc(sizeof(MlDesign *) * (ngroups + 1));
	void	  **models = palloc(sizeof(void *) * (ngroups + 1));
	int			nfits = 0;
	int			ran = 0;
	double		rows = global ? (double) td->nrows : 0;

	for (int i = 0; i < ngroups; i++)
		if (groups[i].n >= o->min_rows)
			rows += (double) groups[i].n;
	for (int i = 0; i < ngroups; i++)
	{
		MlTrainData gtd;

		if (groups[i].n < o->min_rows)
			continue;
		group_data(td, order, &groups[i], &gtd);
		groups[i].model = l ? prepare_rows(l, frame, &gtd, o, &groups[i]) :
			prepare_auto(frame, &gtd, o, &groups[i], o->t.budget_s * groups[i].n / rows);
		fits[nfits++] = &groups[i];
		CHECK_FOR_INTERRUPTS();
	}
	if (global)
	{
		MlTrainData gtd = *td;

		global->model = l ? prepare_rows(l, frame, td, o, global) :
			prepare_auto(frame, &gtd, o, global, o->t.budget_s * td->nrows / rows);
		fits[nfits++] = global;
	}
	for (int i = 0; i < nfits; i++)
		designs[i] = fits[i]->train;
	if (l)
		ran = MlGroupsFit(l, hp, params, designs, models, nfits, o->workers);
	else
		fit_auto(fits, designs, models, nfits);
	for (int i = 0; i < nfits; i++)
	{
		fits[i]->model->model = models[i];
		finish_rows(fits[i]);
	}
	return ran;
}

/* Split the sorted rows into groups of equal keys. */
static FitGroup *
find_groups(const double *key, int ngk, const int64 *order, int64 n, int *ngroups)
{
	FitGroup	   *groups = palloc0(sizeof(FitGroup) * Max(n, 1));
	int			k = 0;

	for (int64 i = 0; i < n; i++)
	{
		if (i == 0 || MlGroupedKeyCmp(&key[order[i] * ngk], &key[order[i - 1] * ngk], ngk) != 0)
		{
			groups[k].first = i;
			k++;
		}
		groups[k - 1].n++;
	}
	*ngroups = k;
	return groups;
}

static char *
metrics_json(MlFrame *frame, MlTrainData *td, GroupOptions *o, int *keycol, int ngk,
			 const double *key, const int64 *order, FitGroup *groups, int ngroups,
			 FitGroup *global, double fit_s, int nout, int workers)
{
	StringInfoData m;
	int			fitted = 0;
	bool		first = true;

	initStringInfo(&m);
	appendStringInfoChar(&m, '{');
	overall_metrics(td, groups, ngroups, nout, &m);
	for (int i = 0; i < ngroups; i++)
		fitted += groups[i].model != NULL;
	appendStringInfo(&m, "\"groups\": %d, \"fitted_groups\": %d, \"min_rows\": %d, \"fallback\": \"%s\"",
					 ngroups, fitted, o->min_rows, o->fallback_global ? "global" : "error");
	if (global)
		appendStringInfo(&m, ", \"global\": {%s}", global->metrics.data + 1);
	appendStringInfoString(&m, ", \"per_group\": [");
	for (int i = 0; i < ngroups; i++)
	{
		if (!groups[i].model)
			continue;
		appendStringInfoString(&m, first ? "{\"key\": " : ", {\"key\": ");
		key_json(frame, keycol, ngk, &key[order[groups[i].first] * ngk], &m);
		appendStringInfo(&m, ", %s}", groups[i].metrics.data + 1);
		first = false;
	}
	appendStringInfoString(&m, "], \"small_groups\": [");
	first = true;
	for (int i = 0; i < ngroups; i++)
	{
		if (groups[i].model)
			continue;
		appendStringInfoString(&m, first ? "{\"key\": " : ", {\"key\": ");
		key_json(frame, keycol, ngk, &key[order[groups[i].first] * ngk], &m);
		appendStringInfo(&m, ", \"rows\": " INT64_FORMAT "}", groups[i].n);
		first = false;
	}
	appendStringInfo(&m, "], \"workers\": %d, \"fit_seconds\": ", workers);
	MlJsonNumber(&m, fit_s);
	appendStringInfoChar(&m, '}');
	return m.data;
}

/* The grouped model: the fitted groups in key order, the fallback. */
static MlTrained *
grouped_model(MlFrame *frame, MlTrainData *td, int *keycol, int ngk, const double *key,
			  const int64 *order, FitGroup *groups, int ngroups, MlTrained *global, const char *what,
			  int min_rows)
{
	MlTrained  *t = palloc0(sizeof(MlTrained));
	MlGrouped  *g = palloc0(sizeof(MlGrouped));
	List	   *inputs = list_copy(td->features);
	int			k = 0;

	for (int i = 0; i < ngk; i++)
		inputs = lappend_int(inputs, keycol[i]);
	t->groups = g;
	t->task = td->task;
	t->nclass = td->nclass;
	t->classes = td->classes;
	t->enc = MlEncoderFit(frame, inputs, td->rows, td->nrows, false);
	g->ngk = ngk;
	g->nraw_feat = t->enc->inputs[t->enc->ninputs - ngk].first_raw;
	g->keys = palloc(sizeof(double) * Max(ngroups * ngk, 1));
	g->models = palloc(sizeof(MlTrained *) * Max(ngroups, 1));
	for (int i = 0; i < ngroups; i++)
	{
		if (!groups[i].model)
			continue;
		memcpy(&g->keys[k * ngk], &key[order[groups[i].first] * ngk], sizeof(double) * ngk);
		g->models[k++] = groups[i].model;
	}
	g->ngroups = k;
	g->global = global;
	g->what = what;
	if (k == 0 && global == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no group has the %d rows option \"min_rows\" asks for", min_rows),
				 errhint("Lower \"min_rows\", or train with option \"fallback\" set to \"global\".")));
	return t;
}

static char *
training_json(MlTrainData *td, List *group_by, GroupOptions *o)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	appendStringInfo(&s, "{\"task\": \"%s\", \"rows\": " INT64_FORMAT
					 ", \"rows_without_target\": " INT64_FORMAT ", \"group_by\": [",
					 td->task == ML_TASK_REGRESSION ? "regression" :
					 td->task == ML_TASK_BINARY ? "binary" : "multiclass",
					 td->nrows, td->skipped_rows);
	foreach(lc, group_by)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&s, ", ");
		escape_json(&s, lfirst(lc));
	}
	appendStringInfoString(&s, "], \"split\": {\"test_size\": ");
	MlJsonNumber(&s, o->t.test_size);
	appendStringInfo(&s, ", \"seed\": %d}", o->t.seed);
	MlTrainListsJson(td, &s);
	appendStringInfoChar(&s, '}');
	return s.data;
}

/* Key columns out of the features; their frame indexes into keycol. */
static int *
key_columns(MlFrame *frame, MlTrainData *td, List *group_by)
{
	int		   *keycol = palloc(sizeof(int) * list_length(group_by));
	List	   *features = NIL;
	ListCell   *lc;

	foreach(lc, group_by)
		keycol[foreach_current_index(lc)] = MlFrameColumn(frame, lfirst(lc));
	foreach(lc, td->features)
	{
		bool		is_key = false;

		for (int k = 0; k < list_length(group_by); k++)
			is_key |= keycol[k] == lfirst_int(lc);
		if (!is_key)
			features = lappend_int(features, lfirst_int(lc));
	}
	if (features == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no column but the group keys can be a feature")));
	td->features = features;
	return keycol;
}

static const MlLearner *
learner_arg(FunctionCallInfo fcinfo)
{
	char	   *alg = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	const MlLearner *l;

	if (strcmp(alg, "auto") == 0)
		return NULL;			/* a search per group */
	l = MlLearnerByName(alg);
	if (l == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown algorithm \"%s\"", alg),
				 errhint("Valid algorithms: auto, %s.", MlLearnerNames())));
	if (!l->supports(ML_TASK_REGRESSION) && !l->supports(ML_TASK_BINARY))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("algorithm \"%s\" cannot be fitted per group", l->name),
				 errhint("Grouped models are regressors or classifiers.")));
	return l;
}

Datum
ml_train_groups(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	List	   *group_by = group_columns(fcinfo);
	const MlLearner *l = learner_arg(fcinfo);
	Jsonb	   *hp = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	GroupOptions o;
	MlTrainData td;
	MlFrame    *frame;
	MemoryContext cxt,
				old,
				callercxt;
	void	   *params;
	int		   *keycol;
	int			ngk = list_length(group_by);
	double	   *key;
	int64	   *order;
	FitGroup	   *groups;
	FitGroup		global;
	int			ngroups;
	int			fitted = 0;
	int			workers;
	KeySort		ks;
	instr_time	start;
	char	   *metrics;
	char	   *what;
	int32		version;

	read_options(PG_ARGISNULL(4) ? NULL : &PG_GETARG_JSONB_P(4)->root, &o);
	require_auto_options(PG_ARGISNULL(4) ? NULL : &PG_GETARG_JSONB_P(4)->root, l == NULL);
	if (l == NULL && hp != NULL && JsonContainerSize(&hp->root) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"auto\" chooses its own hyperparameters"),
				 errhint("Name an algorithm to set hyperparameters for every group.")));
	callercxt = CurrentMemoryContext;
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	MlProjectRequireChange(p);
	if (strcmp(p->task, "classification") != 0 && strcmp(p->task, "regression") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("project \"%s\" is a %s project", p->name, p->task),
				 errhint("Grouped models are fitted for regression and classification projects.")));
	MlScopeAsCaller(&scope);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_train_groups", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	{
		Oid			relid = MlProjectRelation(p);

		check_group_columns(relid, p, group_by);
		frame = MlFrameLoad(relid, columns_to_load(relid, p, &o, group_by), false);
	}
	memset(&td, 0, sizeof(td));
	MlTrainTarget(&td, frame, MlFrameColumn(frame, p->target), strcmp(p->task, "classification") == 0);
	td.task = strcmp(p->task, "classification") != 0 ? ML_TASK_REGRESSION :
		td.nclass == 2 ? ML_TASK_BINARY : ML_TASK_MULTICLASS;
	if (l && !l->supports(td.task))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("algorithm \"%s\" cannot learn a %s project", l->name, p->task)));
	params = l ? l->read_params(hp ? &hp->root : NULL, td.task) : NULL;
	MlTrainFeatures(&td, frame, MlFrameColumn(frame, p->target), -1, o.t.features != NIL);
	keycol = key_columns(frame, &td, group_by);

	key = row_keys(frame, &td, keycol, ngk);
	order = palloc_extended(sizeof(int64) * Max(td.nrows, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < td.nrows; i++)
		order[i] = i;
	ks.key = key;
	ks.ngk = ngk;
	qsort_arg(order, td.nrows, sizeof(int64), cmp_rows_by_key, &ks);
	groups = find_groups(key, ngk, order, td.nrows, &ngroups);

	INSTR_TIME_SET_CURRENT(start);
	memset(&global, 0, sizeof(global));
	workers = fit_groups(l, hp, params, frame, &td, &o, order, groups, ngroups,
						 o.fallback_global ? &global : NULL);
	for (int i = 0; i < ngroups; i++)
		fitted += groups[i].model != NULL;
	what = psprintf("the grouped model of project \"%s\"", p->name);
	metrics = metrics_json(frame, &td, &o, keycol, ngk, key, order, groups, ngroups,
						   o.fallback_global ? &global : NULL, elapsed_s(start),
						   td.task == ML_TASK_REGRESSION ? 1 : td.nclass, workers);
	{
		MlTrained  *t = grouped_model(frame, &td, keycol, ngk, key, order, groups, ngroups,
									  global.model, what, o.min_rows);
		StringInfoData hparams,
					features;

		initStringInfo(&hparams);
		if (l)
			l->params_json(params, &hparams);
		else
		{
			/* each group's choice is in metrics.per_group */
			appendStringInfoString(&hparams, "{\"budget_s\": ");
			MlJsonNumber(&hparams, o.t.budget_s);
			appendStringInfo(&hparams, ", \"max_trials\": %d}", o.t.max_trials);
		}
		initStringInfo(&features);
		MlEncoderFeaturesJson(t->enc, &features);
		{
			MlVersionRow row = {
				.algorithm = l ? l->name : "auto",
				.hyperparameters = hparams.data,
				.metrics = metrics,
				.payload = MlTrainedSave(t),
				.payload_format = ML_GROUPED_FORMAT,
				.row_count = frame->nrows,
				.fingerprint = psprintf("groups:%d:" INT64_FORMAT, ngroups, td.nrows),
				.features = features.data,
				.training = training_json(&td, group_by, &o),
				.audit_action = "train_groups",
				.audit_key = "groups",
				.audit_value = psprintf("%d", fitted),
			};

			version = MlStoreVersion(&scope, p, &row);
		}
	}
	MemoryContextSwitchTo(old);
	metrics = MemoryContextStrdup(callercxt, metrics);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	PG_RETURN_DATUM(MlVersionResult(fcinfo, version, Int32GetDatum(fitted), metrics));
}
