/*
 * impute_search.c
 *	  'auto's choice among a column's candidates: folds of the observed
 *	  cells, every candidate fitted on the training folds and scored on
 *	  the held-out cells (their out-of-fold predictions kept for the
 *	  blend), pairs of the best keys, the margins a more complex model
 *	  needs, nested folds on small columns, and the winner refitted on
 *	  every observed cell (impute_fit.c fits).
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "clean/impute.h"
#include "clean/impute_fit.h"

#define SEARCH_REG_ROWS		10000	/* rows a candidate regression is fitted on */
#define SEARCH_KNN_REFS		500	/* ... of a candidate KNN model */
#define SEARCH_ROWS			30000	/* training rows used to compare candidates */
#define PAIR_CANDIDATES		6		/* best single keys tried in pairs */
#define SIMPLER_MARGIN		0.01	/* relative gain a model needs over a global statistic */
#define ONEHOT_MARGIN		0.02	/* ... one-hot numeric inputs need over numbers */
#define NESTED_CELLS		400		/* at most: the search is scored by nested folds */

typedef struct KeyCache
{
	int			nkeys;
	MlKey	   *keys;
	int32	  **codes;			/* per key, per row */
} KeyCache;

/* Codes of each key for every row: the column's own codes or its cached datetime part. */
static void
cache_keys(MlFrame *frame, KeyCache *kc)
{
	kc->codes = palloc(sizeof(int32 *) * Max(kc->nkeys, 1));
	for (int i = 0; i < kc->nkeys; i++)
	{
		MlKey	   *key = &kc->keys[i];
		MlColumn   *col = &frame->cols[key->col];

		if (frame->nrows > 0)
			(void) MlKeyCode(frame, key, 0);	/* builds the part cache */
		kc->codes[i] = key->part < 0 ? col->code : col->parts[key->part];
	}
}

static void
gather_rows(MlFrame *frame, int target, Rows *rows, KeyCache *kc, Gathered *g)
{
	MlColumn   *col = &frame->cols[target];

	g->rows = rows;
	g->y = palloc(sizeof(double) * Max(rows->n, 1));
	g->t = col->code ? palloc(sizeof(int32) * Max(rows->n, 1)) : NULL;
	g->k = palloc0(sizeof(int32 *) * Max(kc->nkeys, 1));
	for (int64 i = 0; i < rows->n; i++)
	{
		if (i + ML_PREFETCH_AHEAD < rows->n)
		{
			__builtin_prefetch(&col->x[rows->idx[i + ML_PREFETCH_AHEAD]]);
			if (g->t)
				__builtin_prefetch(&col->code[rows->idx[i + ML_PREFETCH_AHEAD]]);
		}
		g->y[i] = col->x[rows->idx[i]];
		if (g->t)
			g->t[i] = col->code[rows->idx[i]];
	}
}

/* Key a's codes at the gathered rows. */
static const int32 *
gathered_key(Gathered *g, KeyCache *kc, int a)
{
	if (g->k[a] == NULL)
	{
		const int32 *codes = kc->codes[a];

		g->k[a] = palloc(sizeof(int32) * Max(g->rows->n, 1));
		for (int64 i = 0; i < g->rows->n; i++)
		{
			if (i + ML_PREFETCH_AHEAD < g->rows->n)
				__builtin_prefetch(&codes[g->rows->idx[i + ML_PREFETCH_AHEAD]]);
			g->k[a][i] = codes[g->rows->idx[i]];
		}
	}
	return g->k[a];
}

static void
gather_free(Gathered *g, KeyCache *kc)
{
	for (int a = 0; a < kc->nkeys; a++)
		if (g->k[a])
			pfree(g->k[a]);
	pfree(g->k);
	pfree(g->y);
	if (g->t)
		pfree(g->t);
}

/* score_sum of a group-wise model over gathered test rows (k1, k2 by position). */
static double
score_groupwise(MlFrame *frame, MlModel *m, Gathered *g, const int32 *k1, const int32 *k2,
				bool numeric, double *oof)
{
	MlColumn   *col = &frame->cols[m->target];
	double		err = 0;
	double		unit = MlLossUnit(col);

	for (int64 i = 0; i < g->rows->n; i++)
	{
		double		v;
		int32		l;

		MlGroupLookup(m, k1[i], k2 ? k2[i] : -1, &v, &l);
		if (m->discrete && !numeric)
			err += (l != g->t[i]);
		else
		{
			double		p = m->discrete ? (l >= 0 ? col->level_value[l] : m->fill) : v;
			double		d = (p - g->y[i]) * unit;

			err += d * d;
			if (oof)
				oof[g->rows->idx[i]] = p;
		}
	}
	return err;
}

/*
 * Holdout loss over the test rows: the sum of squared errors for numeric
 * predictions, and for level predictions the count of wrong levels, or,
 * with numeric set (a numeric column's coded levels), the squared error of
 * the level's value.
 */
static double
score_sum(MlFrame *frame, MlModel *m, Rows *test, const int32 *c1, const int32 *c2,
		  bool numeric, double *oof)
{
	MlColumn   *col = &frame->cols[m->target];
	double	   *v = palloc(sizeof(double) * Max(test->n, 1));
	int32	   *l = palloc(sizeof(int32) * Max(test->n, 1));
	double		err = 0;
	double		unit = MlLossUnit(col);

	if (m->method == ML_METHOD_GROUPWISE && c1)
		for (int64 i = 0; i < test->n; i++)
			MlGroupLookup(m, c1[test->idx[i]], c2 ? c2[test->idx[i]] : -1, &v[i], &l[i]);
	else
		MlModelPredictRows(frame, m, test->idx, test->n, v, l);
	for (int64 i = 0; i < test->n; i++)
	{
		int64		r = test->idx[i];

		if (m->discrete && !numeric)
			err += (l[i] != col->code[r]);
		else
		{
			double		p = m->discrete ? (l[i] >= 0 ? col->level_value[l[i]] : m->fill) : v[i];
			double		d = (p - col->x[r]) * unit;

			err += d * d;
			if (oof)
				oof[r] = p;
		}
	}
	pfree(v);
	pfree(l);
	return err;
}

/* Holdout error from a loss sum: normalised RMSE, or the error rate. */
static double
error_of(MlColumn *col, double sum, int64 n, bool numeric)
{
	if (n == 0)
		return NAN;
	if (!numeric)
		return sum / n;
	/* squared in MlLossUnit's unit */
	return col->sd > 0 ? sqrt(sum / n) / MlLossUnit(col) / col->sd : sqrt(sum / n) / MlLossUnit(col);
}

/* Holdout error: normalised RMSE for numbers, error rate for levels. */
double
MlFitScoreModel(MlFrame *frame, MlModel *m, Rows *test, const int32 *c1, const int32 *c2)
{
	return error_of(&frame->cols[m->target],
					score_sum(frame, m, test, c1, c2, false, NULL), test->n, !m->discrete);
}

/*
 * The folds 'auto' scores on. A table with fewer than FOLD_ROWS observed
 * cells in the column has FOLDS folds: every observed cell is held out
 * once and predicted by models fitted on the others, so the choice rests
 * on all of them rather than on the few a single holdout would hide. Fold
 * f holds out the cells [lo, hi) of the shuffled observed rows; a single
 * fold holds out the last ntest.
 */
static void
fold_bounds(int64 n, int nfolds, int64 ntest, int f, int64 *lo, int64 *hi)
{
	if (nfolds <= 1)
	{
		*lo = n - ntest;
		*hi = n;
		return;
	}
	*lo = n * f / nfolds;
	*hi = n * (f + 1) / nfolds;
}

void
MlFitFoldRows(Rows *obs, int nfolds, int64 ntest, int f, Rows *train, Rows *test)
{
	int64		lo,
				hi;

	fold_bounds(obs->n, nfolds, ntest, f, &lo, &hi);
	test->idx = obs->idx + lo;
	test->n = hi - lo;
	if (hi == obs->n)
	{
		train->idx = obs->idx;
		train->n = lo;
		return;
	}
	train->idx = palloc(sizeof(int64) * Max(obs->n - test->n, 1));
	memcpy(train->idx, obs->idx, sizeof(int64) * lo);
	memcpy(train->idx + lo, obs->idx + hi, sizeof(int64) * (obs->n - hi));
	train->n = obs->n - test->n;
}

/* A candidate of 'auto': what to fit, and its loss summed over the folds. */
typedef struct Cand
{
	MlMethod	method;
	bool		discrete;		/* predicts levels */
	bool		onehot;			/* numeric coded inputs also one-hot */
	int			nkeys;
	int			key[2];			/* indices into the key cache */
	double		loss;
	int64		n;
	bool		valid;
	bool		nan;			/* KNN: nan-Euclidean */
	double	   *oof;			/* numeric: its prediction of each scored cell, by row */
} Cand;

static MlModel *
cand_model(MlModel *proto, Cand *c, KeyCache *kc)
{
	MlModel    *m = MlFitNewModel(proto, c->method);

	m->discrete = c->discrete;
	m->onehot = c->onehot;
	m->k = 5;
	m->knn_nan = c->nan;
	m->nkeys = c->nkeys;
	for (int i = 0; i < c->nkeys; i++)
		m->keys[i] = kc->keys[c->key[i]];
	return m;
}

/* Fit candidate c on one fold's training rows and add its loss on the test rows. */
static void
eval_cand(MlFrame *frame, MlModel *proto, Cand *c, KeyCache *kc, Rows *train, Gathered *gs,
		  Gathered *gt, Rows *knn_test, Rows *missing, MlImputeOptions *opts,
		  pg_prng_state *rng, bool numeric)
{
	MlModel    *m = cand_model(proto, c, kc);
	const int32 *c1 = c->nkeys > 0 ? kc->codes[c->key[0]] : NULL;
	const int32 *c2 = c->nkeys > 1 ? kc->codes[c->key[1]] : NULL;
	Rows	   *search = gs->rows;
	Rows	   *t = gt->rows;

	if (!c->valid)
		return;
	switch (c->method)
	{
		case ML_METHOD_GROUPWISE:
			MlFitGroupwise(frame, m, search, gathered_key(gs, kc, c->key[0]),
						  c->nkeys > 1 ? gathered_key(gs, kc, c->key[1]) : NULL, gs);
			c->loss += score_groupwise(frame, m, gt, gathered_key(gt, kc, c->key[0]),
									   c->nkeys > 1 ? gathered_key(gt, kc, c->key[1]) : NULL,
									   numeric, numeric ? c->oof : NULL);
			c->n += t->n;
			CHECK_FOR_INTERRUPTS();
			return;
		case ML_METHOD_REGRESSION:
			MlFitRegression(frame, m, search, missing, opts, rng, SEARCH_REG_ROWS);
			c->valid = m->feat->width > 1;
			break;
		case ML_METHOD_KNN:
			m->k = Max(1, opts->k);
			MlFitKnn(frame, m, search, missing, opts, rng, SEARCH_KNN_REFS);
			c->valid = m->feat->width > 1;
			t = knn_test;
			break;
		default:
			MlFitGlobal(frame, m, train, c->method);
			break;
	}
	if (c->valid)
	{
		c->loss += score_sum(frame, m, t, c1, c2, numeric, numeric ? c->oof : NULL);
		c->n += t->n;
	}
	CHECK_FOR_INTERRUPTS();
}

/* Run candidates [from, to) over every fold. */
static void
eval_folds(MlFrame *frame, MlModel *proto, Cand *cands, int from, int to, KeyCache *kc,
		   Rows *obs, int nfolds, int64 ntest, Rows *missing, MlImputeOptions *opts,
		   pg_prng_state *rng, bool numeric)
{
	for (int f = 0; f < nfolds; f++)
	{
		Rows		train,
					test,
					search,
					knn_test;

		Gathered	gs,
					gt;

		MlFitFoldRows(obs, nfolds, ntest, f, &train, &test);
		knn_test = MlFitSubsample(&test, 500, rng);
		search = MlFitSubsample(&train, SEARCH_ROWS, rng);
		gather_rows(frame, proto->target, &search, kc, &gs);
		gather_rows(frame, proto->target, &test, kc, &gt);
		for (int i = from; i < to; i++)
			eval_cand(frame, proto, &cands[i], kc, &train, &gs, &gt, &knn_test,
					  missing, opts, rng, numeric);
		gather_free(&gs, kc);
		gather_free(&gt, kc);
	}
}

/*
 * With several folds every observed cell is predicted once by a model that
 * did not see it: candidates [from, to) keep those predictions, so the
 * winner's can be averaged with the chain's on the same cells (a blend,
 * impute_blend.c).
 */
static void
track_oof(MlFrame *frame, Cand *cands, int from, int to, int nfolds, bool numeric)
{
	if (nfolds <= 1 || !numeric)
		return;
	for (int i = from; i < to; i++)
	{
		cands[i].oof = palloc(sizeof(double) * Max(frame->nrows, 1));
		for (int64 r = 0; r < frame->nrows; r++)
			cands[i].oof[r] = NAN;
	}
}

/*
 * auto: every candidate is fitted on the training part of the observed
 * cells and scored on the held-out part (over every fold); the best is
 * refitted on all of them. With both set (a numeric column whose levels
 * are coded), level predictions and numeric ones compete, all scored by
 * normalised RMSE. Numeric-input models are tried with coded numeric
 * inputs as numbers, and also one-hot.
 */
static Cand *
select_best(MlFrame *frame, MlModel *proto, KeyCache *kcp, Rows *obs, int nfolds, int64 ntest,
			Rows *missing, MlImputeOptions *opts, pg_prng_state *rng, bool both)
{
	MlColumn   *col = &frame->cols[proto->target];
	KeyCache	kc = *kcp;
	Cand	   *cands;
	int			nc = 0;
	int			nsingle;
	int64		ntrain = nfolds > 1 ? obs->n - obs->n / nfolds : obs->n - ntest;
	int64		budget = Max(64, ntrain / 8);
	bool		numeric = both || !proto->discrete;
	bool		numcodes = false;
	Cand	   *best = NULL;

	for (int a = 0; a < kc.nkeys; a++)
		if (kc.keys[a].part < 0 && MlColumnNumericCodes(&frame->cols[kc.keys[a].col]) &&
			kc.keys[a].nlevels <= MAX_LOWCARD_LEVELS)
			numcodes = true;
	cands = palloc0(sizeof(Cand) * (2 * (kc.nkeys + PAIR_CANDIDATES * PAIR_CANDIDATES + 8)));

#define ADD(meth, disc, oh) \
	do { cands[nc] = (Cand) {(meth), (disc), (oh), 0, {0, 0}, 0, 0, true, false, NULL}; nc++; } while (0)
	for (int pass = 0; pass < 2; pass++)
	{
		bool		disc = pass == 0;
		int			T = disc ? col->nlevels : 1;

		if (disc ? !proto->discrete : (proto->discrete && !both))
			continue;
		if (disc)
			ADD(ML_METHOD_MODE, true, false);
		else
		{
			ADD(ML_METHOD_MEAN, false, false);
			ADD(ML_METHOD_MEDIAN, false, false);
		}
		for (int a = 0; a < kc.nkeys; a++)
		{
			/* a key with too few rows per group only memorises the sample */
			if ((int64) kc.keys[a].nlevels * T > 8000000 || kc.keys[a].nlevels > ntrain / 5)
				continue;
			ADD(ML_METHOD_GROUPWISE, disc, false);
			cands[nc - 1].nkeys = 1;
			cands[nc - 1].key[0] = a;
		}
		if (!disc)
			ADD(ML_METHOD_REGRESSION, false, false);
		/* a missing input as the mean, and skipped (KNNImputer's nan-Euclidean) */
		if (opts->knn_distance != ML_KNN_NAN_EUCLIDEAN)
			ADD(ML_METHOD_KNN, disc, false);
		if (opts->knn_distance != ML_KNN_EUCLIDEAN)
		{
			ADD(ML_METHOD_KNN, disc, false);
			cands[nc - 1].nan = true;
		}
		if (numcodes)
		{
			if (!disc)
				ADD(ML_METHOD_REGRESSION, false, true);
			ADD(ML_METHOD_KNN, disc, true);
		}
	}
	track_oof(frame, cands, 0, nc, nfolds, numeric);
	eval_folds(frame, proto, cands, 0, nc, &kc, obs, nfolds, ntest, missing, opts, rng, numeric);

	/* pairs of the most useful low-cardinality single keys */
	nsingle = nc;
	for (int pass = 0; pass < 2; pass++)
	{
		bool		disc = pass == 0;
		int			T = disc ? col->nlevels : 1;
		int		   *top = palloc(sizeof(int) * (nsingle + 1));
		double	   *err = palloc(sizeof(double) * (nsingle + 1));
		int			ntop = 0;

		for (int i = 0; i < nsingle; i++)
		{
			err[i] = cands[i].n > 0 ? cands[i].loss / cands[i].n : INFINITY;
			if (cands[i].method == ML_METHOD_GROUPWISE && cands[i].discrete == disc &&
				cands[i].valid && cands[i].n > 0 &&
				kc.keys[cands[i].key[0]].nlevels <= MAX_LOWCARD_LEVELS)
				top[ntop++] = i;
		}
		qsort_arg(top, ntop, sizeof(int), MlCmpIndexByValue, err);
		ntop = Min(ntop, PAIR_CANDIDATES);
		for (int i = 0; i < ntop; i++)
			for (int j = i + 1; j < ntop; j++)
			{
				int			a = cands[top[i]].key[0],
							b = cands[top[j]].key[0];
				int64		G = (int64) kc.keys[a].nlevels * kc.keys[b].nlevels;

				if (G > budget || G * T > 8000000 || kc.keys[a].col == kc.keys[b].col)
					continue;
				/* the coarser key is the parent the finer groups back off to */
				if (kc.keys[b].nlevels < kc.keys[a].nlevels)
				{
					int			t = a;

					a = b;
					b = t;
				}
				ADD(ML_METHOD_GROUPWISE, disc, false);
				cands[nc - 1].nkeys = 2;
				cands[nc - 1].key[0] = a;
				cands[nc - 1].key[1] = b;
			}
	}
#undef ADD
	track_oof(frame, cands, nsingle, nc, nfolds, numeric);
	eval_folds(frame, proto, cands, nsingle, nc, &kc, obs, nfolds, ntest, missing, opts, rng,
			   numeric);

	/*
	 * A model only replaces a global statistic if it beats it by a clear
	 * margin: on a column nothing predicts, the mean stays, rather than a
	 * group table that fits the holdout's noise. Likewise one-hot numeric
	 * inputs must clearly beat the same model with them as numbers.
	 */
#define SIMPLE(c) ((c)->method == ML_METHOD_MEAN || (c)->method == ML_METHOD_MEDIAN || \
				   (c)->method == ML_METHOD_MODE)
	for (int i = 0; i < nc; i++)
	{
		Cand	   *c = &cands[i];
		double		e,
					be;

		if (!c->valid || c->n == 0)
			continue;
		e = error_of(col, c->loss, c->n, numeric);
		be = best ? error_of(col, best->loss, best->n, numeric) : INFINITY;
		if (best == NULL ||
			(SIMPLE(best) && !SIMPLE(c) ? e < be * (1 - SIMPLER_MARGIN) :
			 c->onehot && !best->onehot ? e < be * (1 - ONEHOT_MARGIN) : e < be))
			best = c;
	}
#undef SIMPLE

	/*
	 * No candidate could be scored (errors that are not numbers: values
	 * whose squares overflow): the global statistic, its error unknown.
	 */
	if (best == NULL)
		best = &cands[0];
	return best;
}

/*
 * The winner of a search is scored on the cells it won on: the best of a
 * dozen candidates on a few dozen cells looks better than it will be, by
 * the luck of the draw, where the chain, one candidate, does not. On a
 * small column the search itself is scored instead (nested folds): for
 * each fold, the search runs on the other folds and its winner predicts
 * the fold. Returns those predictions by row (NaN elsewhere) and their
 * error in *err.
 */
static double *
nested_oof(MlFrame *frame, MlModel *proto, KeyCache *kc, Rows *obs, int nfolds,
		   Rows *missing, MlImputeOptions *opts, pg_prng_state *rng, bool both, double *err)
{
	double	   *oof = palloc(sizeof(double) * Max(frame->nrows, 1));
	double		loss = 0;
	int64		n = 0;

	for (int64 r = 0; r < frame->nrows; r++)
		oof[r] = NAN;
	for (int f = 0; f < nfolds; f++)
	{
		Rows		train,
					test,
					search;
		Gathered	gs,
					gt;
		Cand		c;

		MlFitFoldRows(obs, nfolds, 0, f, &train, &test);
		c = *select_best(frame, proto, kc, &train, FOLDS, 0, missing, opts, rng, both);
		c.loss = 0;
		c.n = 0;
		c.valid = true;
		c.oof = oof;
		search = MlFitSubsample(&train, SEARCH_ROWS, rng);
		gather_rows(frame, proto->target, &search, kc, &gs);
		gather_rows(frame, proto->target, &test, kc, &gt);
		eval_cand(frame, proto, &c, kc, &train, &gs, &gt, &test, missing, opts, rng, true);
		gather_free(&gs, kc);
		gather_free(&gt, kc);
		loss += c.loss;
		n += c.n;
	}
	*err = error_of(&frame->cols[proto->target], loss, n, true);
	return oof;
}

MlModel *
MlFitChooseAuto(MlFrame *frame, MlModel *proto, Rows *obs, int nfolds, int64 ntest,
				Rows *missing, MlImputeOptions *opts, pg_prng_state *rng, bool both)
{
	MlColumn   *col = &frame->cols[proto->target];
	KeyCache	kc;
	Cand	   *best;
	MlModel    *m;
	bool		numeric = both || !proto->discrete;
	double		nested_err = NAN;
	double	   *nested = NULL;

	kc.keys = palloc(sizeof(MlKey) * (frame->ncols * 3 + 1));
	kc.nkeys = MlFitCollectKeys(frame, proto->target, missing, opts, kc.keys);
	cache_keys(frame, &kc);
	best = select_best(frame, proto, &kc, obs, nfolds, ntest, missing, opts, rng, both);
	if (nfolds > 1 && numeric && obs->n <= NESTED_CELLS)
		nested = nested_oof(frame, proto, &kc, obs, nfolds, missing, opts, rng, both, &nested_err);

	/* refit the winner on every observed cell */
	m = cand_model(proto, best, &kc);
	m->metric = numeric ? "nrmse" : "error_rate";
	if (m->method == ML_METHOD_KNN)
		m->k = Max(1, opts->k);
	MlFitMethod(frame, m, obs, missing, opts, rng);
	m->error = nested ? nested_err : error_of(col, best->loss, best->n, numeric);
	m->oof = nested ? nested : best->oof;
	return m;
}
