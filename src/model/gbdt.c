/*
 * gbdt.c
 *	  Histogram gradient boosting ("gbdt"): squared error for regression,
 *	  log loss for binary and softmax for multiclass classification (one
 *	  tree per class per round), on the binned tree builder of trees.c.
 *
 * Each round computes gradients and hessians of the loss at the current
 * raw scores, grows a tree on a row sample and a column sample, and adds
 * learning_rate times its leaf values (-G / (H + l2_regularization)) to the
 * scores of the rows in each leaf. With early_stopping, validation_fraction
 * of the rows is held out and boosting stops when the held-out loss has not
 * improved for n_iter_no_change rounds; the model keeps the best round.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "core/options.h"
#include "model/model.h"
#include "model/trees.h"

#define GBDT_MAGIC 0x47424454	/* "GBDT" */
#define GBDT_FORMAT 1
#define GBDT_MAX_TREES 1000000

typedef struct GbdtParams
{
	int			n_estimators;
	double		learning_rate;
	int			max_depth;		/* 0 = none */
	int			max_leaf_nodes; /* 0 = none */
	int			min_samples_leaf;
	double		min_gain_to_split;
	double		l2_regularization;
	double		subsample;
	double		colsample_bytree;
	int			max_bins;
	bool		early_stopping;
	double		validation_fraction;
	int			n_iter_no_change;
	int			n_threads;		/* 0 = automatic */
} GbdtParams;

typedef struct GbdtModel
{
	MlTask		task;
	int			nclass;
	int			nfeat;
	int			K;				/* trees per round (nclass for multiclass) */
	int			nrounds;
	double	   *init;			/* K raw scores before the first tree */
	MlTree	  **trees;			/* nrounds * K, round-major */
	double	   *gain;			/* nfeat */
	MlTreePack *pack;			/* the trees for scoring, built on first use */
	/* after the fit: raw scores of its rows by its trees (NULL: not kept) */
	const double *fitted;
	int64		nfitted;
} GbdtModel;

static bool
gbdt_supports(MlTask task)
{
	return task == ML_TASK_REGRESSION || task == ML_TASK_BINARY || task == ML_TASK_MULTICLASS;
}

static void *
gbdt_read_params(JsonbContainer *hp, MlTask task)
{
	static const char *const valid[] = {
		"n_estimators", "learning_rate", "max_depth", "max_leaf_nodes",
		"min_samples_leaf", "min_gain_to_split", "l2_regularization",
		"subsample", "colsample_bytree", "max_bins", "early_stopping",
		"validation_fraction", "n_iter_no_change", "n_threads", NULL
	};
	GbdtParams *p = palloc0(sizeof(GbdtParams));

	(void) task;
	MlOptCheckKeys(hp, "gbdt hyperparameters", valid);
	p->n_estimators = MlOptInt(hp, "n_estimators", 100, 1, 100000);
	p->learning_rate = MlOptRange(hp, "learning_rate", 0.1, 1e-6, 10);
	p->max_depth = MlOptGet(hp, "max_depth") ? MlOptInt(hp, "max_depth", 6, 1, 64) : 6;
	p->max_leaf_nodes = MlOptGet(hp, "max_leaf_nodes") ? MlOptInt(hp, "max_leaf_nodes", 31, 2, 1 << 20) : 0;
	p->min_samples_leaf = MlOptInt(hp, "min_samples_leaf", 20, 1, PG_INT32_MAX / 4);
	p->min_gain_to_split = MlOptRange(hp, "min_gain_to_split", 0, 0, 1e300);
	p->l2_regularization = MlOptRange(hp, "l2_regularization", 0, 0, 1e300);
	p->subsample = MlOptRange(hp, "subsample", 1.0, 1e-6, 1.0);
	p->colsample_bytree = MlOptRange(hp, "colsample_bytree", 1.0, 1e-6, 1.0);
	p->max_bins = MlOptInt(hp, "max_bins", 255, 2, 255);
	p->early_stopping = MlOptBool(hp, "early_stopping", false);
	p->validation_fraction = MlOptRange(hp, "validation_fraction", 0.1, 1e-6, 0.9);
	p->n_iter_no_change = MlOptInt(hp, "n_iter_no_change", 10, 1, 100000);
	p->n_threads = MlOptInt(hp, "n_threads", 0, 0, ML_TREES_MAX_THREADS);
	return p;
}

static void
gbdt_params_json(void *params, StringInfo out)
{
	GbdtParams *p = params;

	appendStringInfo(out, "{\"n_estimators\": %d, \"learning_rate\": ", p->n_estimators);
	MlJsonNumber(out, p->learning_rate);
	appendStringInfo(out, ", \"max_depth\": %d", p->max_depth);
	if (p->max_leaf_nodes > 0)
		appendStringInfo(out, ", \"max_leaf_nodes\": %d", p->max_leaf_nodes);
	else
		appendStringInfoString(out, ", \"max_leaf_nodes\": null");
	appendStringInfo(out, ", \"min_samples_leaf\": %d, \"min_gain_to_split\": ", p->min_samples_leaf);
	MlJsonNumber(out, p->min_gain_to_split);
	appendStringInfoString(out, ", \"l2_regularization\": ");
	MlJsonNumber(out, p->l2_regularization);
	appendStringInfoString(out, ", \"subsample\": ");
	MlJsonNumber(out, p->subsample);
	appendStringInfoString(out, ", \"colsample_bytree\": ");
	MlJsonNumber(out, p->colsample_bytree);
	appendStringInfo(out, ", \"max_bins\": %d, \"early_stopping\": %s, \"validation_fraction\": ",
					 p->max_bins, p->early_stopping ? "true" : "false");
	MlJsonNumber(out, p->validation_fraction);
	appendStringInfo(out, ", \"n_iter_no_change\": %d, \"n_threads\": %d}",
					 p->n_iter_no_change, p->n_threads);
}

static inline double
sigmoid(double x)
{
	return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* Softmax of K raw scores into p. */
static inline void
softmax(const double *f, int K, double *p)
{
	double		mx = f[0],
				s = 0;

	for (int k = 1; k < K; k++)
		mx = Max(mx, f[k]);
	for (int k = 0; k < K; k++)
	{
		p[k] = exp(f[k] - mx);
		s += p[k];
	}
	for (int k = 0; k < K; k++)
		p[k] /= s;
}

/* Loss of the rows at raw scores F (mean, weighted). */
static double
gbdt_loss(const MlDesign *d, const double *F, int K, const int32 *rows, int64 n)
{
	double		loss = 0,
				wsum = 0;
	for (int64 s = 0; s < n; s++)
	{
		int32		i = rows[s];
		double		w = d->w ? d->w[i] : 1.0;
		double		l;

		if (d->task == ML_TASK_REGRESSION)
		{
			double		e = F[i] - d->y[i];

			l = e * e;
		}
		else if (d->task == ML_TASK_BINARY)
		{
			double		f = F[i];

			/* log(1 + exp(-f)) for class 1, log(1 + exp(f)) for class 0 */
			f = d->y[i] > 0.5 ? -f : f;
			l = f > 0 ? f + log1p(exp(-f)) : log1p(exp(f));
		}
		else
		{
			const double *f = F + (size_t) i * K;
			double		mx = f[0],
						s2 = 0;

			for (int k = 1; k < K; k++)
				mx = Max(mx, f[k]);
			for (int k = 0; k < K; k++)
				s2 += exp(f[k] - mx);
			l = mx + log(s2) - f[(int) d->y[i]];
		}
		loss += w * l;
		wsum += w;
	}
	return wsum > 0 ? loss / wsum : 0;
}

#define ROUND_CHUNKS 16

/* One round's row work, in chunks, on the builder's threads. */
typedef struct RoundCtx
{
	const MlDesign *d;
	int			K;
	int			k;				/* the class of the tree at hand */
	double	   *F;
	double	   *P;
	double	   *g;
	double	   *h;
	const int32 *rows;			/* the rows to work on */
	int64		nrows;
	MlTree	   *tree;
	const bool *skip;			/* rows the tree already scored */
	MlTreeBuilder *builder;
	bool		unit;			/* unweighted regression: gradients only, hessians 1 */
} RoundCtx;

/* thread: gradients and hessians of class k at the current scores */
static void
grad_task(void *arg, int task, int worker)
{
	RoundCtx   *c = arg;
	const MlDesign *d = c->d;
	int			K = c->K,
				k = c->k;
	int64		lo = c->nrows * task / ROUND_CHUNKS,
				hi = c->nrows * (task + 1) / ROUND_CHUNKS;

	(void) worker;
	for (int64 s = lo; s < hi; s++)
	{
		int32		i = c->rows[s];
		double		w = d->w ? d->w[i] : 1.0;

		if (c->unit)
			c->g[i] = c->F[i] - d->y[i];
		else if (d->task == ML_TASK_REGRESSION)
		{
			c->g[i] = w * (c->F[i] - d->y[i]);
			c->h[i] = w;
		}
		else if (d->task == ML_TASK_BINARY)
		{
			double		pr = sigmoid(c->F[i]);

			c->g[i] = w * (pr - d->y[i]);
			c->h[i] = w * Max(pr * (1 - pr), 1e-16);
		}
		else
		{
			double		pr = c->P[(size_t) i * K + k];

			c->g[i] = w * (pr - ((int) d->y[i] == k ? 1.0 : 0.0));
			c->h[i] = w * Max(pr * (1 - pr), 1e-16);
		}
	}
}

/* thread: class probabilities of the rows at the current scores */
static void
softmax_task(void *arg, int task, int worker)
{
	RoundCtx   *c = arg;
	int64		lo = c->nrows * task / ROUND_CHUNKS,
				hi = c->nrows * (task + 1) / ROUND_CHUNKS;

	(void) worker;
	for (int64 s = lo; s < hi; s++)
	{
		int32		i = c->rows[s];

		softmax(c->F + (size_t) i * c->K, c->K, c->P + (size_t) i * c->K);
	}
}

/* thread: task = a leaf: add its value to the scores of its rows */
static void
leaf_task(void *arg, int task, int worker)
{
	RoundCtx   *c = arg;
	int64		b0,
				b1;
	double		v = c->tree->values[task];
	const int32 *rows = MlTreeBuilderRows(c->builder);

	(void) worker;
	MlTreeLeafRows(c->builder, task, &b0, &b1);
	for (int64 s = b0; s < b1; s++)
		c->F[(size_t) rows[s] * c->K + c->k] += v;
}

/* thread: rows the tree was not grown on, through the tree */
static void
score_task(void *arg, int task, int worker)
{
	RoundCtx   *c = arg;
	int64		lo = c->d->nrows * task / ROUND_CHUNKS,
				hi = c->d->nrows * (task + 1) / ROUND_CHUNKS;

	(void) worker;
	for (int64 i = lo; i < hi; i++)
		if (!c->skip[i])
			c->F[(size_t) i * c->K + c->k] += MlTreeLeafValues(c->tree, c->d, i, 1)[0];
}

static void *
gbdt_fit(const MlDesign *d, void *params)
{
	GbdtParams *p = params;
	GbdtModel  *m = palloc0(sizeof(GbdtModel));
	int64		n = d->nrows;
	int			K;
	int			nthreads = MlTreesThreads(p->n_threads);
	uint64		rng = d->seed ^ UINT64CONST(0x6B6264742D726E67);
	int32	   *all = palloc_extended(sizeof(int32) * Max(n, 1), MCXT_ALLOC_HUGE);
	int32	   *train,
			   *valid = NULL,
			   *sample;
	int64		ntrain = n,
				nvalid = 0,
				nsample;
	double	   *F,
			   *g,
			   *h,
			   *P = NULL;
	bool	   *inbag;
	bool	   *allowed;
	double	   *pending;
	MlBins	   *bins;
	MlTreeBuilder *volatile builder = NULL;
	MlTreeParams tp;
	RoundCtx	rc;
	double		best_loss = INFINITY;
	int			best_round = 0;
	int			max_trees;
	bool		flush = false;

	double		t_start = MlTreesNow(),
				t0;

	memset(&MlTreesTime, 0, sizeof(MlTreesTime));
	if (n < 1 || n > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gbdt needs between 1 and %d rows, not " INT64_FORMAT, PG_INT32_MAX, n)));
	if (d->nfeat < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gbdt needs at least one feature")));
	if (d->task != ML_TASK_REGRESSION && (d->nclass < 2 || d->nclass > 255))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gbdt classifies between 2 and 255 classes, not %d", d->nclass)));
	MlTreesCheckTarget(d);
	K = d->task == ML_TASK_MULTICLASS ? d->nclass : 1;
	m->task = d->task;
	m->nclass = d->task == ML_TASK_REGRESSION ? 0 : d->nclass;
	m->nfeat = d->nfeat;
	m->K = K;
	m->init = palloc0(sizeof(double) * K);
	m->gain = palloc0(sizeof(double) * d->nfeat);
	max_trees = p->n_estimators * K;
	m->trees = palloc0(sizeof(MlTree *) * max_trees);

	for (int64 i = 0; i < n; i++)
		all[i] = (int32) i;
	train = all;
	if (p->early_stopping && n >= 4)
	{
		/* a seeded shuffle; the first nvalid rows are held out */
		int32	   *perm = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);

		memcpy(perm, all, sizeof(int32) * n);
		for (int64 i = n - 1; i > 0; i--)
		{
			int64		k = (int64) (MlTreesRandom(&rng) % (uint64) (i + 1));
			int32		t = perm[i];

			perm[i] = perm[k];
			perm[k] = t;
		}
		nvalid = Max(1, (int64) floor(n * p->validation_fraction));
		valid = perm;
		ntrain = n - nvalid;
		train = palloc_extended(sizeof(int32) * ntrain, MCXT_ALLOC_HUGE);
		{
			bool	   *isval = palloc0(n);
			int64		w = 0;

			for (int64 i = 0; i < nvalid; i++)
				isval[perm[i]] = true;
			for (int64 i = 0; i < n; i++)
				if (!isval[i])
					train[w++] = (int32) i;
			pfree(isval);
		}
	}

	/* initial scores from the training rows */
	{
		double		wsum = 0;
		double	   *cs = palloc0(sizeof(double) * Max(d->nclass, 1));

		for (int64 s = 0; s < ntrain; s++)
		{
			int32		i = train[s];
			double		w = d->w ? d->w[i] : 1.0;

			wsum += w;
			if (d->task == ML_TASK_REGRESSION)
				cs[0] += w * d->y[i];
			else
				cs[(int) d->y[i]] += w;
		}
		if (wsum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the training rows have no weight")));
		if (d->task == ML_TASK_REGRESSION)
			m->init[0] = cs[0] / wsum;
		else if (d->task == ML_TASK_BINARY)
		{
			double		p1 = Min(Max(cs[1] / wsum, 1e-12), 1 - 1e-12);

			m->init[0] = log(p1 / (1 - p1));
		}
		else
			for (int k = 0; k < K; k++)
				m->init[k] = log(Max(cs[k] / wsum, 1e-12));
	}

	F = palloc_extended(sizeof(double) * n * K, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < n; i++)
		for (int k = 0; k < K; k++)
			F[(size_t) i * K + k] = m->init[k];
	g = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	h = palloc_extended(sizeof(double) * n, MCXT_ALLOC_HUGE);
	if (K > 1)
		P = palloc_extended(sizeof(double) * n * K, MCXT_ALLOC_HUGE);
	inbag = palloc0(Max(n, 1));
	allowed = palloc(sizeof(bool) * d->nfeat);
	pending = palloc0(sizeof(double) * d->nfeat);
	nsample = Max(1, (int64) llround(p->subsample * ntrain));
	sample = palloc_extended(sizeof(int32) * Max(ntrain, 1), MCXT_ALLOC_HUGE);

	bins = MlTreesBin(d, train, ntrain, p->max_bins, d->seed, nthreads);
	memset(&tp, 0, sizeof(tp));
	tp.max_depth = p->max_depth;
	tp.max_leaf_nodes = p->max_leaf_nodes;
	tp.min_samples_leaf = p->min_samples_leaf;
	tp.min_gain_to_split = p->min_gain_to_split;
	tp.l2 = p->l2_regularization;
	tp.min_hessian = 1e-3;
	tp.max_features = 0;
	tp.leaf_scale = p->learning_rate;

	PG_TRY();
	{
		builder = MlTreeBuilderCreate(bins, 1, &tp, nthreads);
		for (int round = 0; round < p->n_estimators; round++)
		{
			CHECK_FOR_INTERRUPTS();
			/* rows of this round: a sample without replacement, in order */
			if (nsample < ntrain)
			{
				int64		need = nsample,
							w = 0;

				for (int64 s = 0; s < ntrain && need > 0; s++)
				{
					uint64		r = MlTreesRandom(&rng) % (uint64) (ntrain - s);

					if ((int64) r < need)
					{
						sample[w++] = train[s];
						need--;
					}
				}
			}
			else
				memcpy(sample, train, sizeof(int32) * ntrain);
			for (int64 s = 0; s < nsample; s++)
				inbag[sample[s]] = true;
			/* columns of this round's trees */
			{
				int			ncol = Max(1, (int) llround(p->colsample_bytree * d->nfeat));

				for (int j = 0; j < d->nfeat; j++)
					allowed[j] = ncol >= d->nfeat;
				if (ncol < d->nfeat)
				{
					int		   *idx = palloc(sizeof(int) * d->nfeat);

					for (int j = 0; j < d->nfeat; j++)
						idx[j] = j;
					for (int j = 0; j < ncol; j++)
					{
						int			k = j + (int) (MlTreesRandom(&rng) % (uint64) (d->nfeat - j));
						int			t = idx[j];

						idx[j] = idx[k];
						idx[k] = t;
						allowed[idx[j]] = true;
					}
					pfree(idx);
				}
			}
			rc.d = d;
			rc.K = K;
			rc.F = F;
			rc.P = P;
			rc.g = g;
			rc.h = h;
			rc.skip = inbag;
			rc.builder = builder;
			rc.unit = d->task == ML_TASK_REGRESSION && d->w == NULL;
			if (K > 1)
			{
				rc.rows = train;
				rc.nrows = ntrain;
				MlTreesParallel(builder, softmax_task, &rc, ROUND_CHUNKS);
			}
			for (int k = 0; k < K; k++)
			{
				MlTree	   *t;

				rc.k = k;
				rc.rows = sample;
				rc.nrows = nsample;
				t0 = MlTreesNow();
				MlTreesParallel(builder, grad_task, &rc, ROUND_CHUNKS);
				MlTreesTime.rows += MlTreesNow() - t0;
				/* unweighted squared error: hessians 1 */
				t = MlTreeGrow(builder, sample, nsample, g, rc.unit ? NULL : h,
							   allowed, &rng, pending);
				t0 = MlTreesNow();
				m->trees[m->nrounds * K + k] = t;
				rc.tree = t;
				/* scores of the rows the tree was grown on, by leaf */
				MlTreesParallel(builder, leaf_task, &rc, t->nleaves);
				/* other rows (out of the sample, held out) through the tree */
				if (nsample < n)
					MlTreesParallel(builder, score_task, &rc, ROUND_CHUNKS);
				MlTreesTime.rows += MlTreesNow() - t0;
			}
			for (int64 s = 0; s < nsample; s++)
				inbag[sample[s]] = false;
			m->nrounds++;
			flush = nvalid == 0;
			if (nvalid > 0)
			{
				double		loss = gbdt_loss(d, F, K, valid, nvalid);

				if (loss < best_loss - 1e-12 * fabs(best_loss) || round == 0)
				{
					best_loss = loss;
					best_round = round;
					flush = true;
				}
				else if (round - best_round >= p->n_iter_no_change)
					break;
			}
			/* gain counts only the trees kept */
			if (flush)
				for (int j = 0; j < d->nfeat; j++)
				{
					m->gain[j] += pending[j];
					pending[j] = 0;
				}
		}
	}
	PG_FINALLY();
	{
		MlTreeBuilderDestroy(builder);
	}
	PG_END_TRY();

	if (nvalid > 0 && m->nrounds > best_round + 1)
		m->nrounds = best_round + 1;	/* keep the best round */
	else
	{
		/* every row's score sums init and the kept trees in order, as predict does */
		m->fitted = F;
		m->nfitted = n;
	}
	MlTreesNormalizeGain(m->gain, d->nfeat);
	elog(DEBUG1, "gbdt timing: fit %.3f s (" INT64_FORMAT " rows, %d features, %d trees): "
		 "binning %.3f, gathering %.3f, histograms %.3f, partitioning %.3f, splits %.3f, "
		 "gradients and scores %.3f",
		 MlTreesNow() - t_start, n, d->nfeat, m->nrounds * K, MlTreesTime.bin,
		 MlTreesTime.gather, MlTreesTime.hist, MlTreesTime.partition, MlTreesTime.find,
		 MlTreesTime.rows);
	return m;
}

/* Raw scores of n rows to probabilities in place (classifiers). */
static void
gbdt_link(GbdtModel *m, int64 n, double *out)
{
	if (m->task == ML_TASK_BINARY)
	{
		/* from the last row down: row i's raw score is read before 2i, 2i + 1 are written */
		for (int64 row = n - 1; row >= 0; row--)
		{
			double		p1 = sigmoid(out[row]);

			out[row * 2] = 1 - p1;
			out[row * 2 + 1] = p1;
		}
	}
	else if (m->task == ML_TASK_MULTICLASS)
		for (int64 row = 0; row < n; row++)
			softmax(out + (size_t) row * m->K, m->K, out + (size_t) row * m->K);
}

static MlTreePack *
gbdt_pack(GbdtModel *m)
{
	if (m->pack == NULL)
		m->pack = MlTreePackBuild(m, m->trees, m->nrounds * m->K, m->nfeat, m->K, 1);
	return m->pack;
}

/*
 * Scores on the packed trees (tree_predict.c, built on first use in the
 * model's context): raw scores first, then probabilities in place.
 */
static void
gbdt_predict(void *model, const MlDesign *d, double *out)
{
	GbdtModel  *m = model;
	double		t0 = MlTreesNow();

	MlTreePackScore(gbdt_pack(m), d, m->init, out);
	gbdt_link(m, d->nrows, out);
	if (d->nrows >= 8192)
		elog(DEBUG1, "gbdt timing: predict %.3f s (" INT64_FORMAT " rows)", MlTreesNow() - t0,
			 d->nrows);
}

/*
 * The fit's own scores of its rows: the same leaves as scoring them (a
 * row's bin is at most a split's bin exactly when its value is at most the
 * split's threshold) and the same sums in the same order, so bit-identical
 * to gbdt_predict on them.
 */
static bool
gbdt_fitted(void *model, int64 nrows, double *out)
{
	GbdtModel  *m = model;

	if (m->fitted == NULL || nrows != m->nfitted)
		return false;
	memcpy(out, m->fitted, sizeof(double) * nrows * m->K);
	gbdt_link(m, nrows, out);
	return true;
}

/* The raw scores in the background (ml_score's blocks), then the link at the finish. */
static void *
gbdt_predict_start(void *model, const MlDesign *d, double *out)
{
	GbdtModel  *m = model;

	return MlTreeJobStart(gbdt_pack(m), d, m->init, out);
}

static void
gbdt_predict_finish(void *model, void *job, const MlDesign *d, double *out)
{
	MlTreeJobWait(job);
	gbdt_link(model, d->nrows, out);
}

static void
gbdt_predict_cancel(void *job)
{
	MlTreeJobCancel(job);
}

static void
gbdt_save(void *model, StringInfo buf)
{
	GbdtModel  *m = model;

	MlTreesWriteHead(buf, GBDT_MAGIC, GBDT_FORMAT, m->task, m->nclass, m->nfeat);
	MlWriteInt32(buf, m->K);
	MlWriteInt32(buf, m->nrounds);
	MlWriteFloat8s(buf, m->init, m->K);
	MlWriteFloat8s(buf, m->gain, m->nfeat);
	for (int t = 0; t < m->nrounds * m->K; t++)
		MlTreeWrite(m->trees[t], 1, buf);
}

static void *
gbdt_load(MlReader *r, const MlDesign *shape)
{
	GbdtModel  *m = palloc0(sizeof(GbdtModel));
	int			ntrees;

	MlTreesReadHead(r, shape, GBDT_MAGIC, GBDT_FORMAT, "gbdt", &m->task, &m->nclass, &m->nfeat);
	m->K = MlReadInt32(r, 1, 255);
	if (m->K != (m->task == ML_TASK_MULTICLASS ? m->nclass : 1))
		MlPayloadInvalid(r, "its trees per round do not match its task");
	m->nrounds = MlReadInt32(r, 1, GBDT_MAX_TREES / m->K);
	m->init = palloc(sizeof(double) * m->K);
	for (int k = 0; k < m->K; k++)
		m->init[k] = MlReadFiniteFloat8(r);
	m->gain = MlTreesReadGain(r, m->nfeat);
	ntrees = m->nrounds * m->K;
	/* a tree takes at least 12 + 28 + 8 bytes */
	if (ntrees > (r->len - r->pos) / 48)
		MlPayloadInvalid(r, "it ends too early");
	m->trees = palloc(sizeof(MlTree *) * ntrees);
	for (int t = 0; t < ntrees; t++)
		m->trees[t] = MlTreeRead(r, 1, shape);
	return m;
}

static void
gbdt_importance(void *model, double *gain)
{
	GbdtModel  *m = model;

	memcpy(gain, m->gain, sizeof(double) * m->nfeat);
}

static void
gbdt_view(void *model, MlModelView *v)
{
	GbdtModel  *m = model;

	v->form = ML_FORM_BOOSTED;
	v->nfeat = m->nfeat;
	v->ntrees = m->nrounds * m->K;
	v->per_round = m->K;
	v->nout = 1;
	v->init = m->init;
	v->trees = m->trees;
}

const MlLearner MlGbdtLearner = {
	.name = "gbdt",
	.supports = gbdt_supports,
	.read_params = gbdt_read_params,
	.params_json = gbdt_params_json,
	.fit = gbdt_fit,
	.predict = gbdt_predict,
	.fitted = gbdt_fitted,
	.predict_start = gbdt_predict_start,
	.predict_finish = gbdt_predict_finish,
	.predict_cancel = gbdt_predict_cancel,
	.save = gbdt_save,
	.load = gbdt_load,
	.importance = gbdt_importance,
	.view = gbdt_view,
	.needs_dense = false,
};
