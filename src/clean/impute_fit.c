/*
 * impute_fit.c
 *	  Fitting imputation models and choosing between them.
 *
 * Every method is fitted on rows where the target is observed. 'auto'
 * masks a random share of those observed cells (the holdout), fits each
 * candidate on the rest, scores it on the masked cells, and refits the
 * winner on every observed cell. Candidates: global statistics, group-wise
 * estimates over every usable key and pair of keys (with shrinkage towards
 * the coarser group, then the global value), ridge regression, and KNN.
 * Features are every other column except identifiers, free text, declared
 * targets, and columns mostly missing where the target is missing (they
 * would not be there to help when it counts).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "clean/impute.h"
#include "core/linalg.h"

#define MAX_LOWCARD_LEVELS	64
#define SHRINK				2.0
#define MAX_REG_ROWS		50000	/* rows a final regression is fitted on */
#define SEARCH_REG_ROWS		10000	/* rows a candidate regression is fitted on */
#define GRAM_BLOCK			1024
#define MAX_KNN_REFS		3000	/* reference rows of a fitted KNN model */
#define SEARCH_KNN_REFS		500	/* ... of a candidate KNN model */
#define SEARCH_ROWS			30000	/* training rows used to compare candidates */
#define PAIR_CANDIDATES		6		/* best single keys tried in pairs */
#define MAX_HOLDOUT			10000
#define SIMPLER_MARGIN		0.01	/* relative gain a model needs over a global statistic */
#define ONEHOT_MARGIN		0.02	/* ... one-hot numeric inputs need over numbers */
#define FOLD_ROWS			1000	/* fewer observed cells: FOLDS-fold scoring */
#define FOLDS				5
#define NESTED_CELLS		400		/* at most: the search is scored by nested folds */

typedef struct Rows
{
	int64	   *idx;
	int64		n;
} Rows;

static bool
observed(MlColumn *col, int64 row, bool discrete)
{
	if (col->isnull[row])
		return false;
	return discrete ? col->code[row] >= 0 : isfinite(col->x[row]);
}

/* ---------- which columns are features ---------- */

static double
missing_share(MlColumn *col, Rows *missing)
{
	int64		n = 0;

	for (int64 i = 0; i < missing->n; i++)
		if ((col->wasnull ? col->wasnull : col->isnull)[missing->idx[i]])
			n++;
	return missing->n ? (double) n / missing->n : 0;
}

static bool
usable_feature(MlFrame *frame, int c, int target, Rows *missing, MlImputeOptions *opts)
{
	MlColumn   *col = &frame->cols[c];
	ListCell   *lc;

	if (c == target || col->identifier || col->kind == ML_KIND_TEXT ||
		col->role == ML_ROLE_SKIP || col->role == ML_ROLE_TARGET ||
		col->role == ML_ROLE_IDENTIFIER || col->nnull == frame->nrows)
		return false;
	if (opts->target && strcmp(opts->target, col->name) == 0)
		return false;
	foreach(lc, opts->exclude_features)
		if (strcmp(lfirst(lc), col->name) == 0)
			return false;
	return missing_share(col, missing) <= 0.5;
}

/* Keys usable for grouping: coded columns and hour/dow/month of datetimes. */
static int
collect_keys(MlFrame *frame, int target, Rows *missing, MlImputeOptions *opts, MlKey *keys)
{
	int			n = 0;

	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (!usable_feature(frame, c, target, missing, opts))
			continue;
		if (col->kind == ML_KIND_DATETIME)
		{
			keys[n++] = (MlKey) {c, ML_PART_HOUR, 24, NULL};
			keys[n++] = (MlKey) {c, ML_PART_DOW, 7, NULL};
			keys[n++] = (MlKey) {c, ML_PART_MONTH, 13, NULL};
		}
		else if (col->code && col->nlevels > 1)
			keys[n++] = (MlKey) {c, -1, col->nlevels, NULL};
	}
	return n;
}

/* ---------- global statistics ---------- */

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * The most frequent of nlevels level codes (the first on ties), -1 when
 * there are none: codes[idx[i]] for i < n, or codes[i] without idx.
 */
static int
most_frequent_level(const int32 *codes, const int64 *idx, int64 n, int nlevels)
{
	int64	   *counts = palloc0(sizeof(int64) * Max(nlevels, 1));
	int64		best = -1;
	int			level = -1;

	for (int64 i = 0; i < n; i++)
		counts[codes[idx ? idx[i] : i]]++;
	for (int l = 0; l < nlevels; l++)
		if (counts[l] > best)
			best = counts[l], level = l;
	pfree(counts);
	return level;
}

static void
fit_global(MlFrame *frame, MlModel *m, Rows *train, MlMethod method)
{
	MlColumn   *col = &frame->cols[m->target];

	if (m->discrete)
	{
		m->fill_level = most_frequent_level(col->code, train->idx, train->n, col->nlevels);
		return;
	}
	if (method == ML_METHOD_MEDIAN || method == ML_METHOD_MODE)
	{
		double	   *v = palloc(sizeof(double) * Max(train->n, 1));

		for (int64 i = 0; i < train->n; i++)
			v[i] = col->x[train->idx[i]];
		if (train->n == 0)
			m->fill = NAN;
		else if (method == ML_METHOD_MEDIAN)
			m->fill = MlQuantile(v, train->n, 0.5);
		else
		{
			/* most frequent value: the longest run of the sorted values */
			int64		run = 0,
						bestrun = 0;

			qsort(v, train->n, sizeof(double), cmp_double);
			for (int64 i = 0; i < train->n; i++)
			{
				run = (i > 0 && v[i] == v[i - 1]) ? run + 1 : 1;
				if (run > bestrun)
					bestrun = run, m->fill = v[i];
			}
		}
		pfree(v);
	}
	else
	{
		double		sum = 0;

		for (int64 i = 0; i < train->n; i++)
			sum += col->x[train->idx[i]];
		m->fill = train->n ? sum / train->n : NAN;
	}
}

/* ---------- group-wise ---------- */

/*
 * Group estimates over one key or a pair: numeric targets get the group
 * mean shrunk towards the first key's mean, itself shrunk towards the
 * global mean; discrete targets the group's most frequent level, backing
 * off to the first key's, then the global one.
 */
/*
 * A fold's rows gathered into consecutive arrays (target value, level, and
 * each key's codes on first use), in the rows' order: the thirty or so
 * candidates of a column then read them in sequence instead of at random
 * rows of the frame, and sum them in the same order (the same results).
 */
typedef struct Gathered
{
	Rows	   *rows;
	double	   *y;				/* the target's values */
	int32	   *t;				/* its level codes, or NULL */
	int32	  **k;				/* [key of the cache] codes, or NULL until used */
} Gathered;

/* fit_global's mean (or most frequent level) over gathered rows, in their order. */
static void
fit_global_gathered(MlColumn *col, MlModel *m, Gathered *g)
{
	int64		n = g->rows->n;

	if (m->discrete)
	{
		m->fill_level = most_frequent_level(g->t, NULL, n, col->nlevels);
		return;
	}
	{
		double		sum = 0;

		for (int64 i = 0; i < n; i++)
			sum += g->y[i];
		m->fill = n ? sum / n : NAN;
	}
}

/*
 * c1 and c2 are the keys' codes by row, or, with g, by position in the
 * gathered rows (whose values and levels g holds).
 */
static void
fit_groupwise(MlFrame *frame, MlModel *m, Rows *train, const int32 *c1, const int32 *c2,
			  Gathered *g)
{
	MlColumn   *col = &frame->cols[m->target];
	int			L1 = m->keys[0].nlevels;
	int			L2 = m->nkeys == 2 ? m->keys[1].nlevels : 1;
	int64		G = (int64) L1 * L2;
	int			T = m->discrete ? col->nlevels : 1;
	double	   *gsum = palloc0(sizeof(double) * G * T);
	double	   *gcnt = palloc0(sizeof(double) * G);
	double	   *psum = palloc0(sizeof(double) * L1 * T);
	double	   *pcnt = palloc0(sizeof(double) * L1);

	if (g)
		fit_global_gathered(col, m, g);
	else
		fit_global(frame, m, train, ML_METHOD_MEAN);
	for (int64 i = 0; i < train->n; i++)
	{
		int64		r = g ? i : train->idx[i];
		int			k1 = c1 ? c1[r] : MlKeyCode(frame, &m->keys[0], r);
		int			k2 = m->nkeys < 2 ? 0 : c2 ? c2[r] : MlKeyCode(frame, &m->keys[1], r);
		int			t = !m->discrete ? 0 : g ? g->t[i] : col->code[r];
		double		y = m->discrete ? 1 : g ? g->y[i] : col->x[r];

		if (k1 < 0 || k1 >= L1)
			continue;
		psum[(int64) k1 * T + t] += y;
		pcnt[k1] += 1;
		if (k2 < 0 || k2 >= L2)
			continue;
		gsum[((int64) k1 * L2 + k2) * T + t] += y;
		gcnt[(int64) k1 * L2 + k2] += 1;
	}

	m->pval = palloc(sizeof(double) * L1);
	m->plvl = palloc(sizeof(int32) * L1);
	m->gval = palloc(sizeof(double) * G);
	m->glvl = palloc(sizeof(int32) * G);
	for (int k1 = 0; k1 < L1; k1++)
	{
		if (m->discrete)
		{
			int32		best = -1;

			for (int t = 0; t < T; t++)
				if (psum[(int64) k1 * T + t] > 0 && (best < 0 || psum[(int64) k1 * T + t] > psum[(int64) k1 * T + best]))
					best = t;
			m->plvl[k1] = best;
			m->pval[k1] = NAN;
		}
		else
		{
			m->pval[k1] = pcnt[k1] > 0 ? (psum[k1] + SHRINK * m->fill) / (pcnt[k1] + SHRINK) : NAN;
			m->plvl[k1] = -1;
		}
	}
	for (int64 g = 0; g < G; g++)
	{
		int			k1 = g / L2;

		if (m->discrete)
		{
			int32		best = -1;

			for (int t = 0; t < T; t++)
				if (gsum[g * T + t] > 0 && (best < 0 || gsum[g * T + t] > gsum[g * T + best]))
					best = t;
			m->glvl[g] = best;
			m->gval[g] = NAN;
		}
		else
		{
			double		parent = isnan(m->pval[k1]) ? m->fill : m->pval[k1];

			m->gval[g] = gcnt[g] > 0 ? (gsum[g] + SHRINK * parent) / (gcnt[g] + SHRINK) : NAN;
			m->glvl[g] = -1;
		}
	}
	pfree(gsum);
	pfree(gcnt);
	pfree(psum);
	pfree(pcnt);
}

/* ---------- features: regression and KNN ---------- */

/*
 * Inputs: every usable numeric and datetime column as a standardised
 * number, and the one-hot levels of categorical columns and datetime
 * parts. Numeric columns with coded levels are one-hot as well only with
 * onehot_numeric: on a small table their levels would outnumber the rows.
 */
static MlFeatures *
build_features(MlFrame *frame, int target, Rows *missing, MlImputeOptions *opts,
			   bool onehot_numeric)
{
	MlFeatures *f = palloc0(sizeof(MlFeatures));
	MlKey	   *keys = palloc(sizeof(MlKey) * (frame->ncols * 3 + 1));
	int			nkeys = collect_keys(frame, target, missing, opts, keys);

	f->numcol = palloc(sizeof(int) * (frame->ncols + 1));
	f->mean = palloc(sizeof(double) * (frame->ncols + 1));
	f->sd = palloc(sizeof(double) * (frame->ncols + 1));
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (!usable_feature(frame, c, target, missing, opts) ||
			(col->kind != ML_KIND_NUMERIC && col->kind != ML_KIND_DATETIME) || col->sd <= 0)
			continue;
		f->numcol[f->nnum] = c;
		f->mean[f->nnum] = col->mean;
		f->sd[f->nnum] = col->sd;
		f->nnum++;
	}
	f->keys = palloc(sizeof(MlKey) * (nkeys + 1));
	f->width = 1 + f->nnum;
	for (int i = 0; i < nkeys; i++)
		if (keys[i].nlevels <= MAX_LOWCARD_LEVELS &&
			(onehot_numeric || keys[i].part >= 0 ||
			 !MlColumnNumericCodes(&frame->cols[keys[i].col])))
		{
			f->keys[f->nkey++] = keys[i];
			f->width += keys[i].nlevels;
		}
	pfree(keys);
	return f;
}

static Rows
subsample(Rows *rows, int64 max, pg_prng_state *rng)
{
	Rows		s;

	if (rows->n <= max)
		return *rows;
	s.idx = palloc(sizeof(int64) * max);
	s.n = max;
	/* reservoir sampling keeps every row equally likely */
	for (int64 i = 0; i < rows->n; i++)
	{
		if (i < max)
			s.idx[i] = rows->idx[i];
		else
		{
			int64		j = (int64) pg_prng_uint64_range(rng, 0, i);

			if (j < max)
				s.idx[j] = rows->idx[i];
		}
	}
	return s;
}

static void
fit_regression(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
			   MlImputeOptions *opts, pg_prng_state *rng, int64 maxrows)
{
	Rows		s = subsample(train, maxrows, rng);
	MlFeatures *f = build_features(frame, m->target, missing, opts, m->onehot);
	int			w = f->width;
	double	   *X = palloc(sizeof(double) * GRAM_BLOCK * w);
	double	   *y = palloc(sizeof(double) * GRAM_BLOCK);
	double	   *xtx = palloc0(sizeof(double) * w * w);
	double	   *xty = palloc0(sizeof(double) * w);
	double		yy = 0;

	/* X'X block by block: memory stays at GRAM_BLOCK rows whatever n is */
	for (int64 b = 0; b < s.n; b += GRAM_BLOCK)
	{
		int			nb = (int) Min(GRAM_BLOCK, s.n - b);

		MlFeatureBlock(frame, f, s.idx + b, nb, 1.0, X);
		for (int i = 0; i < nb; i++)
		{
			y[i] = frame->cols[m->target].x[s.idx[b + i]];
			yy += y[i] * y[i];
		}
		MlLinalgGramAdd(X, nb, w, y, xtx, xty);
		CHECK_FOR_INTERRUPTS();
	}
	m->feat = f;
	m->beta = palloc(sizeof(double) * w);
	/* with few rows per input, the penalty the evidence favours; else a token one */
	if (s.n > RIDGE_RICH_ROWS * (int64) w)
		MlLinalgRidgeSolve(xtx, xty, w, s.n, 1e-4, m->beta);
	else
		(void) MlRidgeFitBayes(xtx, xty, yy, w, s.n, m->beta);
	fit_global(frame, m, train, ML_METHOD_MEAN);
	pfree(X);
	pfree(y);
	pfree(xtx);
	pfree(xty);
}

static void
fit_knn(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
		MlImputeOptions *opts, pg_prng_state *rng, int64 maxrefs)
{
	Rows		s = subsample(train, maxrefs, rng);
	MlFeatures *f = build_features(frame, m->target, missing, opts, m->onehot);
	MlColumn   *col = &frame->cols[m->target];

	m->feat = f;
	m->k = Max(1, opts->k);
	m->nref = (int) s.n;
	m->ref = palloc(sizeof(double) * s.n * f->width);
	m->refy = palloc(sizeof(double) * s.n);
	for (int64 i = 0; i < s.n; i++)
	{
		/* an indicator mismatch then adds exactly 1 to the squared distance */
		MlFeatureRow(frame, f, s.idx[i], M_SQRT1_2, m->ref + i * f->width);
		m->ref[i * f->width] = 0;
		m->refy[i] = m->discrete ? col->code[s.idx[i]] : col->x[s.idx[i]];
	}
	fit_global(frame, m, train, ML_METHOD_MEAN);
}

/* ---------- learned imputer and classifier ---------- */

#define MAX_NET_ROWS 10000

static void
fit_net(MlFrame *frame, MlModel *m, Rows *train, Rows *missing, MlImputeOptions *opts,
		pg_prng_state *rng)
{
	Rows		s = subsample(train, MAX_NET_ROWS, rng);
	MlFeatures *f = build_features(frame, m->target, missing, opts, m->onehot);
	int		   *text = palloc(sizeof(int) * (frame->ncols + 1));
	int			ntext = 0;

	/*
	 * free text, and categories with too many levels to one-hot, enter as
	 * hashed trigrams (identifiers and targets never)
	 */
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		bool		texty = col->kind == ML_KIND_TEXT ||
			(col->kind == ML_KIND_CATEGORICAL && col->nlevels > MAX_LOWCARD_LEVELS);

		if (c != m->target && texty && !col->identifier && col->level_text &&
			col->role != ML_ROLE_SKIP && col->role != ML_ROLE_TARGET &&
			!(opts->target && strcmp(opts->target, col->name) == 0) &&
			missing_share(col, missing) <= 0.5)
			text[ntext++] = c;
	}
	MlNetFit(frame, m, s.idx, s.n, f, text, ntext,
			 m->method == ML_METHOD_CLASSIFIER ? 0 : opts->hidden, opts->epochs,
			 pg_prng_uint64(rng));
	fit_global(frame, m, train, ML_METHOD_MEAN);
}

/* ---------- explicit group keys (options.by) ---------- */

static void
set_group_keys(MlFrame *frame, MlModel *m, MlImputeOptions *opts)
{
	ListCell   *lc;

	if (list_length(opts->by) < 1 || list_length(opts->by) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"groupwise\" needs one or two columns in option \"by\"")));
	foreach(lc, opts->by)
	{
		int			c = MlFrameColumn(frame, lfirst(lc));
		MlColumn   *col;

		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" in option \"by\" does not exist", (char *) lfirst(lc))));
		col = &frame->cols[c];
		if (c == m->target)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" cannot group its own values", col->name)));
		if (col->kind == ML_KIND_DATETIME)
			m->keys[m->nkeys++] = (MlKey) {c, ML_PART_HOUR, 24, NULL};
		else if (col->code)
			m->keys[m->nkeys++] = (MlKey) {c, -1, Max(col->nlevels, 1), NULL};
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" has too many distinct values to group by", col->name),
					 errhint("Group by categorical or integer-coded columns.")));
	}
}

/* ---------- scoring and choice ---------- */

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
			double		d = p - g->y[i];

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
			double		d = p - col->x[r];

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
	return col->sd > 0 ? sqrt(sum / n) / col->sd : sqrt(sum / n);
}

/* Holdout error: normalised RMSE for numbers, error rate for levels. */
static double
score_model(MlFrame *frame, MlModel *m, Rows *test, const int32 *c1, const int32 *c2)
{
	return error_of(&frame->cols[m->target],
					score_sum(frame, m, test, c1, c2, false, NULL), test->n, !m->discrete);
}

static MlModel *
new_model(MlModel *proto, MlMethod method)
{
	MlModel    *m = palloc0(sizeof(MlModel));

	m->method = method;
	m->target = proto->target;
	m->discrete = proto->discrete;
	m->metric = proto->metric;
	m->fill_level = -1;
	m->error = NAN;
	m->onehot = proto->onehot;
	m->ntlevels = proto->ntlevels;
	m->tlevel_text = proto->tlevel_text;
	m->tlevel_value = proto->tlevel_value;
	return m;
}

static void
fit_method(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
		   MlImputeOptions *opts, pg_prng_state *rng)
{
	switch (m->method)
	{
		case ML_METHOD_MEAN:
		case ML_METHOD_MEDIAN:
		case ML_METHOD_MODE:
			fit_global(frame, m, train, m->method);
			break;
		case ML_METHOD_GROUPWISE:
			fit_groupwise(frame, m, train, NULL, NULL, NULL);
			break;
		case ML_METHOD_REGRESSION:
		case ML_METHOD_MICE:
			fit_regression(frame, m, train, missing, opts, rng, MAX_REG_ROWS);
			break;
		case ML_METHOD_KNN:
			fit_knn(frame, m, train, missing, opts, rng, MAX_KNN_REFS);
			break;
		case ML_METHOD_LEARNED:
		case ML_METHOD_CLASSIFIER:
			fit_net(frame, m, train, missing, opts, rng);
			break;
		default:
			fit_global(frame, m, train, ML_METHOD_MEAN);
			break;
	}
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

static void
fold_rows(Rows *obs, int nfolds, int64 ntest, int f, Rows *train, Rows *test)
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
	double	   *oof;			/* numeric: its prediction of each scored cell, by row */
} Cand;

static MlModel *
cand_model(MlModel *proto, Cand *c, KeyCache *kc)
{
	MlModel    *m = new_model(proto, c->method);

	m->discrete = c->discrete;
	m->onehot = c->onehot;
	m->k = 5;
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
			fit_groupwise(frame, m, search, gathered_key(gs, kc, c->key[0]),
						  c->nkeys > 1 ? gathered_key(gs, kc, c->key[1]) : NULL, gs);
			c->loss += score_groupwise(frame, m, gt, gathered_key(gt, kc, c->key[0]),
									   c->nkeys > 1 ? gathered_key(gt, kc, c->key[1]) : NULL,
									   numeric, numeric ? c->oof : NULL);
			c->n += t->n;
			CHECK_FOR_INTERRUPTS();
			return;
		case ML_METHOD_REGRESSION:
			fit_regression(frame, m, search, missing, opts, rng, SEARCH_REG_ROWS);
			c->valid = m->feat->width > 1;
			break;
		case ML_METHOD_KNN:
			m->k = Max(1, opts->k);
			fit_knn(frame, m, search, missing, opts, rng, SEARCH_KNN_REFS);
			c->valid = m->feat->width > 1;
			t = knn_test;
			break;
		default:
			fit_global(frame, m, train, c->method);
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

		fold_rows(obs, nfolds, ntest, f, &train, &test);
		knn_test = subsample(&test, 500, rng);
		search = subsample(&train, SEARCH_ROWS, rng);
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
	do { cands[nc] = (Cand) {(meth), (disc), (oh), 0, {0, 0}, 0, 0, true, NULL}; nc++; } while (0)
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
		ADD(ML_METHOD_KNN, disc, false);
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

		fold_rows(obs, nfolds, 0, f, &train, &test);
		c = *select_best(frame, proto, kc, &train, FOLDS, 0, missing, opts, rng, both);
		c.loss = 0;
		c.n = 0;
		c.valid = true;
		c.oof = oof;
		search = subsample(&train, SEARCH_ROWS, rng);
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

static MlModel *
choose_auto(MlFrame *frame, MlModel *proto, Rows *obs, int nfolds, int64 ntest,
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
	kc.nkeys = collect_keys(frame, proto->target, missing, opts, kc.keys);
	cache_keys(frame, &kc);
	best = select_best(frame, proto, &kc, obs, nfolds, ntest, missing, opts, rng, both);
	if (nfolds > 1 && numeric && obs->n <= NESTED_CELLS)
		nested = nested_oof(frame, proto, &kc, obs, nfolds, missing, opts, rng, both, &nested_err);

	/* refit the winner on every observed cell */
	m = cand_model(proto, best, &kc);
	m->metric = numeric ? "nrmse" : "error_rate";
	if (m->method == ML_METHOD_KNN)
		m->k = Max(1, opts->k);
	fit_method(frame, m, obs, missing, opts, rng);
	m->error = nested ? nested_err : error_of(col, best->loss, best->n, numeric);
	m->oof = nested ? nested : best->oof;
	return m;
}

/*
 * The target's observed and missing rows, and the holdout: a random share
 * of the observed cells, shuffled off the end (one fold), or all observed
 * cells shuffled (several folds). Returns false when nothing is observed.
 */
static bool
split_rows(MlFrame *frame, int target, bool discrete, MlImputeOptions *opts,
		   pg_prng_state *rng, bool folds, Rows *obs, Rows *miss, int *nfolds, int64 *ntestp)
{
	MlColumn   *col = &frame->cols[target];
	int64		ntest;
	int64		nshuffle;

	obs->idx = palloc(sizeof(int64) * Max(frame->nrows, 1));
	miss->idx = palloc(sizeof(int64) * Max(frame->nrows, 1));
	obs->n = miss->n = 0;
	for (int64 r = 0; r < frame->nrows; r++)
	{
		if (col->isnull[r])
			miss->idx[miss->n++] = r;
		else if (observed(col, r, discrete))
			obs->idx[obs->n++] = r;
	}
	*nfolds = 1;
	*ntestp = 0;
	if (obs->n == 0 || (discrete && col->nlevels == 0))
		return false;

	ntest = obs->n >= 10 ? Min((int64) (obs->n * opts->holdout), MAX_HOLDOUT) : 0;
	ntest = Max(ntest, obs->n >= 10 ? 1 : 0);
	if (folds && obs->n >= 10 && obs->n < FOLD_ROWS)
		*nfolds = FOLDS;
	nshuffle = *nfolds > 1 ? obs->n : ntest;
	for (int64 i = obs->n - 1; i > 0 && i >= obs->n - nshuffle; i--)
	{
		int64		j = (int64) pg_prng_uint64_range(rng, 0, i);
		int64		t = obs->idx[i];

		obs->idx[i] = obs->idx[j];
		obs->idx[j] = t;
	}
	*ntestp = ntest;
	return true;
}

/*
 * The inputs a regression for the target would use; with gapped_too also
 * the columns mostly missing where the target is (the chain fills them).
 */
MlFeatures *
MlImputeFeatures(MlFrame *frame, int target, MlImputeOptions *opts, bool onehot_numeric,
				 bool gapped_too)
{
	MlColumn   *col = &frame->cols[target];
	Rows		miss;

	miss.idx = palloc(sizeof(int64) * Max(frame->nrows, 1));
	miss.n = 0;
	for (int64 r = 0; r < frame->nrows && !gapped_too; r++)
		if ((col->wasnull ? col->wasnull : col->isnull)[r])
			miss.idx[miss.n++] = r;
	return build_features(frame, target, &miss, opts, onehot_numeric);
}

/*
 * Fit the imputation model for one column. Returns a model with method
 * ML_METHOD_NONE when the column has no observed value to learn from.
 */
MlModel *
MlImputeFit(MlFrame *frame, int target, MlImputeOptions *opts)
{
	MlColumn   *col = &frame->cols[target];
	MlModel		proto;
	MlModel    *m;
	Rows		obs,
				miss,
				train,
				test;
	pg_prng_state rng;
	int64		ntest;
	int			nfolds;

	memset(&proto, 0, sizeof(proto));
	proto.target = target;
	proto.discrete = col->code != NULL && MlColumnIsDiscrete(col) &&
		opts->method != ML_METHOD_MEAN && opts->method != ML_METHOD_MEDIAN &&
		opts->method != ML_METHOD_REGRESSION && opts->method != ML_METHOD_MICE &&
		!(opts->method == ML_METHOD_CONSTANT && col->kind != ML_KIND_CATEGORICAL);
	proto.metric = proto.discrete ? "error_rate" : "nrmse";
	proto.ntlevels = col->nlevels;
	proto.tlevel_text = col->level_text;
	proto.tlevel_value = col->level_value;
	if (!proto.discrete && (col->kind == ML_KIND_CATEGORICAL || col->kind == ML_KIND_TEXT) &&
		opts->method != ML_METHOD_CONSTANT)
	{
		if (opts->method != ML_METHOD_AUTO)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("method \"%s\" needs a numeric column, but \"%s\" is categorical",
							MlMethodName(opts->method), col->name),
					 errhint("Use mode, groupwise, knn or constant for categorical columns.")));
		proto.discrete = col->code != NULL;
	}

	if (opts->method == ML_METHOD_CLASSIFIER && !proto.discrete)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("method \"classifier\" needs a categorical column, but \"%s\" is numeric", col->name),
				 errhint("Use learned or regression for numeric columns.")));
	pg_prng_seed(&rng, (uint64) opts->seed * 7919 + target);
	if (!split_rows(frame, target, proto.discrete, opts, &rng, opts->method == ML_METHOD_AUTO,
					&obs, &miss, &nfolds, &ntest))
		return new_model(&proto, ML_METHOD_NONE);

	if (opts->method == ML_METHOD_AUTO && ntest > 0)
		return choose_auto(frame, &proto, &obs, nfolds, ntest, &miss, opts, &rng,
						   proto.discrete && MlColumnNumericCodes(col) && col->level_value);

	/* explicit methods: one holdout, and the inputs one-hot as they always were */
	if (nfolds > 1)
	{
		pg_prng_seed(&rng, (uint64) opts->seed * 7919 + target);
		(void) split_rows(frame, target, proto.discrete, opts, &rng, false,
						  &obs, &miss, &nfolds, &ntest);
	}
	fold_rows(&obs, 1, ntest, 0, &train, &test);
	proto.onehot = true;
	m = new_model(&proto, opts->method == ML_METHOD_AUTO ?
				  (proto.discrete ? ML_METHOD_MODE : ML_METHOD_MEAN) : opts->method);
	m->k = Max(1, opts->k);
	if (m->method == ML_METHOD_GROUPWISE)
		set_group_keys(frame, m, opts);
	/* explicit methods are scored on the same holdout, then refitted */
	if (ntest > 0 && m->method != ML_METHOD_CONSTANT && m->method != ML_METHOD_DELETE &&
		m->method != ML_METHOD_LOCF && m->method != ML_METHOD_INTERPOLATE)
	{
		fit_method(frame, m, &train, &miss, opts, &rng);
		m->error = score_model(frame, m, &test, NULL, NULL);
		{
			double		err = m->error;
			MlModel    *fresh = new_model(&proto, m->method);

			fresh->nkeys = m->nkeys;
			fresh->keys[0] = m->keys[0];
			fresh->keys[1] = m->keys[1];
			fresh->k = m->k;
			fresh->onehot = m->onehot;
			m = fresh;
			m->error = err;
		}
	}
	fit_method(frame, m, &obs, &miss, opts, &rng);
	return m;
}
