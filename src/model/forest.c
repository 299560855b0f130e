/*
 * forest.c
 *	  Random forest ("random_forest"): trees grown on bootstrap samples
 *	  with a random subset of features tried at each node, on the binned
 *	  tree builder of trees.c; regression averages the trees' leaf means,
 *	  classification their leaf class proportions.
 *
 * A regression tree is the builder's tree with gradient -y and hessian 1,
 * so a split's gain is the drop in the sum of squared errors and a leaf's
 * value is its mean. A classification tree grows on the one-hot class
 * indicators (one output per class): the same gain is then the drop in
 * Gini impurity times the rows, and a leaf's values are its class
 * proportions. A bootstrap draw is a row weight (how often the row was
 * drawn); min_samples_leaf counts distinct rows.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "core/options.h"
#include "model/model.h"
#include "model/trees.h"

#define FOREST_MAGIC 0x52464F52	/* "RFOR" */
#define FOREST_FORMAT 1
#define FOREST_MAX_TREES 100000

typedef struct ForestParams
{
	int			n_estimators;
	int			max_depth;		/* 0 = none */
	int			max_leaf_nodes; /* 0 = none */
	int			min_samples_leaf;
	double		min_impurity_decrease;
	double		max_features;	/* fraction of the features (0, 1] */
	int			max_features_n; /* or a count (> 1) */
	char	   *max_features_name;	/* or "sqrt" / "log2" (NULL if a number) */
	bool		bootstrap;
	int			max_bins;
	int			n_threads;
} ForestParams;

typedef struct ForestModel
{
	MlTask		task;
	int			nclass;
	int			nfeat;
	int			nout;			/* 1 for regression, nclass for classification */
	int			ntrees;
	MlTree	  **trees;
	double	   *gain;
	MlTreePack *pack;			/* the trees for scoring, built on first use */
} ForestModel;

static bool
forest_supports(MlTask task)
{
	return task == ML_TASK_REGRESSION || task == ML_TASK_BINARY || task == ML_TASK_MULTICLASS;
}

static void *
forest_read_params(JsonbContainer *hp, MlTask task)
{
	static const char *const valid[] = {
		"n_estimators", "max_depth", "max_leaf_nodes", "min_samples_leaf",
		"min_impurity_decrease", "max_features", "bootstrap", "max_bins",
		"n_threads", NULL
	};
	ForestParams *p = palloc0(sizeof(ForestParams));
	JsonbValue *mf;

	MlOptCheckKeys(hp, "random_forest hyperparameters", valid);
	p->n_estimators = MlOptInt(hp, "n_estimators", 100, 1, FOREST_MAX_TREES);
	p->max_depth = MlOptGet(hp, "max_depth") ? MlOptInt(hp, "max_depth", 0, 1, 1000) : 0;
	p->max_leaf_nodes = MlOptGet(hp, "max_leaf_nodes") ? MlOptInt(hp, "max_leaf_nodes", 0, 2, PG_INT32_MAX / 4) : 0;
	p->min_samples_leaf = MlOptInt(hp, "min_samples_leaf", 1, 1, PG_INT32_MAX / 4);
	p->min_impurity_decrease = MlOptRange(hp, "min_impurity_decrease", 0, 0, 1e300);
	p->bootstrap = MlOptBool(hp, "bootstrap", true);
	p->max_bins = MlOptInt(hp, "max_bins", 255, 2, 255);
	p->n_threads = MlOptInt(hp, "n_threads", 0, 0, ML_TREES_MAX_THREADS);
	mf = MlOptGet(hp, "max_features");
	p->max_features = 1.0;
	if (mf == NULL)
		p->max_features_name = task == ML_TASK_REGRESSION ? NULL : "sqrt";
	else if (mf->type == jbvString)
	{
		char	   *s = pnstrdup(mf->val.string.val, mf->val.string.len);

		if (strcmp(s, "sqrt") != 0 && strcmp(s, "log2") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_features\" must be \"sqrt\", \"log2\" or a number"),
					 errhint("A number in (0, 1] is a fraction of the features, a larger whole number a count.")));
		p->max_features_name = s;
	}
	else
	{
		double		v = MlOptNumber(hp, "max_features", 1.0);

		if (v > 0 && v <= 1)
			p->max_features = v;
		else if (v > 1 && v <= 1e6 && v == floor(v))
			p->max_features_n = (int) v;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"max_features\" must be \"sqrt\", \"log2\" or a number"),
					 errhint("A number in (0, 1] is a fraction of the features, a larger whole number a count.")));
	}
	return p;
}

static void
forest_params_json(void *params, StringInfo out)
{
	ForestParams *p = params;

	appendStringInfo(out, "{\"n_estimators\": %d", p->n_estimators);
	if (p->max_depth > 0)
		appendStringInfo(out, ", \"max_depth\": %d", p->max_depth);
	else
		appendStringInfoString(out, ", \"max_depth\": null");
	if (p->max_leaf_nodes > 0)
		appendStringInfo(out, ", \"max_leaf_nodes\": %d", p->max_leaf_nodes);
	else
		appendStringInfoString(out, ", \"max_leaf_nodes\": null");
	appendStringInfo(out, ", \"min_samples_leaf\": %d, \"min_impurity_decrease\": ", p->min_samples_leaf);
	MlJsonNumber(out, p->min_impurity_decrease);
	appendStringInfoString(out, ", \"max_features\": ");
	if (p->max_features_name)
		appendStringInfo(out, "\"%s\"", p->max_features_name);
	else if (p->max_features_n > 0)
		appendStringInfo(out, "%d", p->max_features_n);
	else
		MlJsonNumber(out, p->max_features);
	appendStringInfo(out, ", \"bootstrap\": %s, \"max_bins\": %d, \"n_threads\": %d}",
					 p->bootstrap ? "true" : "false", p->max_bins, p->n_threads);
}

static int
features_per_node(ForestParams *p, int nfeat)
{
	int			k;

	if (p->max_features_name && strcmp(p->max_features_name, "sqrt") == 0)
		k = (int) floor(sqrt((double) nfeat));
	else if (p->max_features_name)
		k = (int) floor(log2((double) nfeat));
	else if (p->max_features_n > 0)
		k = p->max_features_n;
	else
		k = (int) floor(p->max_features * nfeat);
	return Min(Max(k, 1), nfeat);
}

static void *
forest_fit(const MlDesign *d, void *params)
{
	ForestParams *p = params;
	ForestModel *m = palloc0(sizeof(ForestModel));
	int64		n = d->nrows;
	int			nout = d->task == ML_TASK_REGRESSION ? 1 : d->nclass;
	int			nthreads = MlTreesThreads(p->n_threads);
	uint64		rng = d->seed ^ UINT64CONST(0x666F726573742121);
	int32	   *all,
			   *rows;
	double	   *g,
			   *h;
	int32	   *draws;
	MlBins	   *bins;
	MlTreeBuilder *volatile builder = NULL;
	MlTreeParams tp;
	double		wsum = 0;

	if (n < 1 || n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random_forest needs between 1 and %d rows, not " INT64_FORMAT, PG_INT32_MAX, n)));
	if (d->nfeat < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random_forest needs at least one feature")));
	if (d->task != ML_TASK_REGRESSION && (d->nclass < 2 || d->nclass > 255))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random_forest classifies between 2 and 255 classes, not %d", d->nclass)));
	MlTreesCheckTarget(d);
	for (int64 i = 0; i < n; i++)
		wsum += d->w ? d->w[i] : 1.0;
	m->task = d->task;
	m->nclass = d->task == ML_TASK_REGRESSION ? 0 : d->nclass;
	m->nfeat = d->nfeat;
	m->nout = nout;
	m->trees = palloc0(sizeof(MlTree *) * p->n_estimators);
	m->gain = palloc0(sizeof(double) * d->nfeat);

	all = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	rows = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	draws = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	g = palloc_extended(sizeof(double) * n * nout, MCXT_ALLOC_HUGE);
	h = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		all[i] = (int32) i;
	bins = MlTreesBin(d, all, n, p->max_bins, d->seed, nthreads);
	memset(&tp, 0, sizeof(tp));
	tp.max_depth = p->max_depth;
	tp.max_leaf_nodes = p->max_leaf_nodes;
	tp.min_samples_leaf = p->min_samples_leaf;
	/* scikit-learn's decrease is weighted by the node's share of the rows */
	tp.min_gain_to_split = p->min_impurity_decrease * wsum;
	tp.l2 = 0;
	tp.min_hessian = 0;
	tp.max_features = features_per_node(p, d->nfeat);
	tp.leaf_scale = 1.0;

	PG_TRY();
	{
		builder = MlTreeBuilderCreate(bins, nout, &tp, nthreads);
		for (int t = 0; t < p->n_estimators; t++)
		{
			int64		nrows = 0;

			CHECK_FOR_INTERRUPTS();
			if (p->bootstrap)
			{
				memset(draws, 0, sizeof(int32) * n);
				for (int64 s = 0; s < n; s++)
					draws[MlTreesRandom(&rng) % (uint64) n]++;
			}
			for (int64 i = 0; i < n; i++)
			{
				double		w = (p->bootstrap ? draws[i] : 1) * (d->w ? d->w[i] : 1.0);

				if (w <= 0)
					continue;
				rows[nrows++] = (int32) i;
				h[i] = w;
				if (nout == 1)
					g[i] = -w * d->y[i];
				else
					for (int k = 0; k < nout; k++)
						g[(size_t) i * nout + k] = (int) d->y[i] == k ? -w : 0;
			}
			if (nrows == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the training rows have no weight")));
			m->trees[t] = MlTreeGrow(builder, rows, nrows, g, h, NULL, &rng, m->gain);
			m->ntrees++;
		}
	}
	PG_FINALLY();
	{
		MlTreeBuilderDestroy(builder);
	}
	PG_END_TRY();
	MlTreesNormalizeGain(m->gain, d->nfeat);
	return m;
}

static MlTreePack *
forest_pack(ForestModel *m)
{
	if (m->pack == NULL)
		m->pack = MlTreePackBuild(m, m->trees, m->ntrees, m->nfeat, 1, m->nout);
	return m->pack;
}

/* Sums of the trees' leaf values to their means, in place. */
static void
forest_mean(ForestModel *m, const MlDesign *d, double *out)
{
	for (int64 i = 0; i < d->nrows * m->nout; i++)
		out[i] /= m->ntrees;
}

/* Mean of the trees' leaf values, on the packed trees (tree_predict.c). */
static void
forest_predict(void *model, const MlDesign *d, double *out)
{
	ForestModel *m = model;

	MlTreePackScore(forest_pack(m), d, NULL, out);
	forest_mean(m, d, out);
}

/* The sums in the background (ml_score's blocks), the means at the finish. */
static void *
forest_predict_start(void *model, const MlDesign *d, double *out)
{
	return MlTreeJobStart(forest_pack(model), d, NULL, out);
}

static void
forest_predict_finish(void *model, void *job, const MlDesign *d, double *out)
{
	MlTreeJobWait(job);
	forest_mean(model, d, out);
}

static void
forest_predict_cancel(void *job)
{
	MlTreeJobCancel(job);
}

static void
forest_save(void *model, StringInfo buf)
{
	ForestModel *m = model;

	MlTreesWriteHead(buf, FOREST_MAGIC, FOREST_FORMAT, m->task, m->nclass, m->nfeat);
	MlWriteInt32(buf, m->ntrees);
	MlWriteFloat8s(buf, m->gain, m->nfeat);
	for (int t = 0; t < m->ntrees; t++)
		MlTreeWrite(m->trees[t], m->nout, buf);
}

static void *
forest_load(MlReader *r, const MlDesign *shape)
{
	ForestModel *m = palloc0(sizeof(ForestModel));

	MlTreesReadHead(r, shape, FOREST_MAGIC, FOREST_FORMAT, "random_forest", &m->task, &m->nclass,
					&m->nfeat);
	m->nout = m->task == ML_TASK_REGRESSION ? 1 : m->nclass;
	m->ntrees = MlReadInt32(r, 1, FOREST_MAX_TREES);
	m->gain = MlTreesReadGain(r, m->nfeat);
	if (m->ntrees > (r->len - r->pos) / 48)
		MlPayloadInvalid(r, "it ends too early");
	m->trees = palloc(sizeof(MlTree *) * m->ntrees);
	for (int t = 0; t < m->ntrees; t++)
		m->trees[t] = MlTreeRead(r, m->nout, shape);
	return m;
}

static void
forest_importance(void *model, double *gain)
{
	ForestModel *m = model;

	memcpy(gain, m->gain, sizeof(double) * m->nfeat);
}

static void
forest_view(void *model, MlModelView *v)
{
	ForestModel *m = model;

	v->form = ML_FORM_FOREST;
	v->nfeat = m->nfeat;
	v->ntrees = m->ntrees;
	v->per_round = 1;
	v->nout = m->nout;
	v->trees = m->trees;
}

const MlLearner MlForestLearner = {
	.name = "random_forest",
	.supports = forest_supports,
	.read_params = forest_read_params,
	.params_json = forest_params_json,
	.fit = forest_fit,
	.predict = forest_predict,
	.predict_start = forest_predict_start,
	.predict_finish = forest_predict_finish,
	.predict_cancel = forest_predict_cancel,
	.save = forest_save,
	.load = forest_load,
	.importance = forest_importance,
	.view = forest_view,
	.needs_dense = false,
};
