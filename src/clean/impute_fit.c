/*
 * impute_fit.c
 *	  Fitting imputation models (auto's choice among them: impute_search.c).
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
#include "clean/impute_fit.h"
#include "core/linalg.h"

#define SHRINK				2.0
#define MAX_REG_ROWS		50000	/* rows a final regression is fitted on */
#define GRAM_BLOCK			1024
#define MAX_KNN_REFS		3000	/* reference rows of a fitted KNN model */
/*
 * ... and their cells: on wide one-hot inputs (250 categories of 64
 * levels) 3,000 rows made a recipe too large to store and nan-Euclidean
 * work space of 3 x 8 bytes a cell beyond palloc's 1 GB (XX000 "invalid
 * memory alloc request size"); fewer rows are kept instead. Narrower
 * inputs (up to 1,333 cells a row) keep 3,000.
 */
#define MAX_KNN_CELLS		4000000
#define MAX_HOLDOUT			10000
#define FOLD_ROWS			1000	/* fewer observed cells: FOLDS-fold scoring */

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
int
MlFitCollectKeys(MlFrame *frame, int target, Rows *missing, MlImputeOptions *opts, MlKey *keys)
{
	int			n = 0;

	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (!usable_feature(frame, c, target, missing, opts))
			continue;
		if (col->kind == ML_KIND_DATETIME)
		{
			keys[n++] = (MlKey) {c, ML_PART_HOUR, 24, NULL, NULL, NULL};
			keys[n++] = (MlKey) {c, ML_PART_DOW, 7, NULL, NULL, NULL};
			keys[n++] = (MlKey) {c, ML_PART_MONTH, 13, NULL, NULL, NULL};
		}
		else if (col->code && col->nlevels > 1)
			keys[n++] = (MlKey) {c, -1, col->nlevels, NULL, NULL, NULL};
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

void
MlFitGlobal(MlFrame *frame, MlModel *m, Rows *train, MlMethod method)
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
		if (isinf(sum))
		{
			/*
			 * finite values near the double range (9e307 + 9e307): their
			 * sum overflowed, and the infinite mean filled nothing, with
			 * no word why; a sum of the shares stays within the values
			 */
			sum = 0;
			for (int64 i = 0; i < train->n; i++)
				sum += col->x[train->idx[i]] / train->n;
			m->fill = sum;
		}
		else
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
		if (isinf(sum))
		{
			/* MlFitGlobal's: a sum of the shares stays within the values */
			sum = 0;
			for (int64 i = 0; i < n; i++)
				sum += g->y[i] / n;
			m->fill = sum;
		}
		else
			m->fill = n ? sum / n : NAN;
	}
}

/*
 * c1 and c2 are the keys' codes by row, or, with g, by position in the
 * gathered rows (whose values and levels g holds).
 */
void
MlFitGroupwise(MlFrame *frame, MlModel *m, Rows *train, const int32 *c1, const int32 *c2,
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

	double		unit = 1;		/* the sums' unit: see below */

	if (g)
		fit_global_gathered(col, m, g);
	else
		MlFitGlobal(frame, m, train, ML_METHOD_MEAN);
	for (;;)
	{
		bool		overflow = false;

		for (int64 i = 0; i < train->n; i++)
		{
			int64		r = g ? i : train->idx[i];
			int			k1 = c1 ? c1[r] : MlKeyCode(frame, &m->keys[0], r);
			int			k2 = m->nkeys < 2 ? 0 : c2 ? c2[r] : MlKeyCode(frame, &m->keys[1], r);
			int			t = !m->discrete ? 0 : g ? g->t[i] : col->code[r];
			double		y = m->discrete ? 1 : (g ? g->y[i] : col->x[r]) * unit;

			if (k1 < 0 || k1 >= L1)
				continue;
			psum[(int64) k1 * T + t] += y;
			pcnt[k1] += 1;
			if (k2 < 0 || k2 >= L2)
				continue;
			gsum[((int64) k1 * L2 + k2) * T + t] += y;
			gcnt[(int64) k1 * L2 + k2] += 1;
		}
		/*
		 * Finite values near the double range (9e307 + 9e307): a group's
		 * sum overflowed, and its infinite mean filled nothing, with no
		 * word why (MlFitGlobal's mean had the same). Summed again in
		 * units of 2^64 (exact: a power of two), the means are taken in
		 * those units and scaled back; sums that stay finite, as almost
		 * all do, are left exactly as they were.
		 */
		for (int64 j = 0; !m->discrete && unit == 1 && j < Max(G, L1); j++)
			if ((j < L1 && isinf(psum[j])) || (j < G && isinf(gsum[j])))
				overflow = true;
		if (!overflow)
			break;
		unit = 0x1p-64;
		memset(gsum, 0, sizeof(double) * G * T);
		memset(gcnt, 0, sizeof(double) * G);
		memset(psum, 0, sizeof(double) * L1 * T);
		memset(pcnt, 0, sizeof(double) * L1);
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
			m->pval[k1] = pcnt[k1] > 0 ?
				(psum[k1] + SHRINK * m->fill * unit) / (pcnt[k1] + SHRINK) / unit : NAN;
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

			m->gval[g] = gcnt[g] > 0 ?
				(gsum[g] + SHRINK * parent * unit) / (gcnt[g] + SHRINK) / unit : NAN;
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
	int			nkeys = MlFitCollectKeys(frame, target, missing, opts, keys);

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

Rows
MlFitSubsample(Rows *rows, int64 max, pg_prng_state *rng)
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

void
MlFitRegression(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
				MlImputeOptions *opts, pg_prng_state *rng, int64 maxrows)
{
	Rows		s = MlFitSubsample(train, maxrows, rng);
	MlFeatures *f = build_features(frame, m->target, missing, opts, m->onehot);
	int			w = f->width;
	double	   *X = palloc(sizeof(double) * GRAM_BLOCK * w);
	double	   *y = palloc(sizeof(double) * GRAM_BLOCK);
	double	   *xtx = palloc0(sizeof(double) * w * w);
	double	   *xty = palloc0(sizeof(double) * w);
	double		yy = 0;
	double		maxabs = 0;
	double		unit;

	for (int64 i = 0; i < s.n; i++)
		maxabs = Max(maxabs, fabs(frame->cols[m->target].x[s.idx[i]]));
	unit = MlTargetUnit(maxabs);
	/* X'X block by block: memory stays at GRAM_BLOCK rows whatever n is */
	for (int64 b = 0; b < s.n; b += GRAM_BLOCK)
	{
		int			nb = (int) Min(GRAM_BLOCK, s.n - b);

		MlFeatureBlock(frame, f, s.idx + b, nb, 1.0, X);
		for (int i = 0; i < nb; i++)
		{
			y[i] = frame->cols[m->target].x[s.idx[b + i]] * unit;
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
	if (unit != 1)
		MlUnscaleCoefficients(xtx, xty, w, s.n, unit, m->beta);
	MlFitGlobal(frame, m, train, ML_METHOD_MEAN);
	pfree(X);
	pfree(y);
	pfree(xtx);
	pfree(xty);
}

void
MlFitKnn(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
		 MlImputeOptions *opts, pg_prng_state *rng, int64 maxrefs)
{
	MlFeatures *f = build_features(frame, m->target, missing, opts, m->onehot);
	Rows		s = MlFitSubsample(train, Max(1, Min(maxrefs, MAX_KNN_CELLS / f->width)), rng);
	MlColumn   *col = &frame->cols[m->target];

	m->feat = f;
	m->k = Max(1, opts->k);
	/* 'auto' without the option tries both (the candidate says which) */
	if (opts->knn_distance != ML_KNN_ANY)
		m->knn_nan = opts->knn_distance == ML_KNN_NAN_EUCLIDEAN;
	m->nref = (int) s.n;
	m->ref = palloc(sizeof(double) * s.n * f->width);
	m->refy = palloc(sizeof(double) * s.n);
	for (int64 i = 0; i < s.n; i++)
	{
		/* an indicator mismatch then adds exactly 1 to the squared distance */
		MlFeatureRow(frame, f, s.idx[i], M_SQRT1_2, m->ref + i * f->width);
		if (m->knn_nan)
			MlFeatureMarkMissing(frame, f, &s.idx[i], 1, m->ref + i * f->width);
		for (int j = 1; j < f->width; j++)
			m->ref[i * f->width + j] = MlKnnInput(m->ref[i * f->width + j]);
		m->ref[i * f->width] = 0;
		m->refy[i] = m->discrete ? col->code[s.idx[i]] : col->x[s.idx[i]];
	}
	MlFitGlobal(frame, m, train, ML_METHOD_MEAN);
}

/* ---------- learned imputer and classifier ---------- */

#define MAX_NET_ROWS 10000

static void
fit_net(MlFrame *frame, MlModel *m, Rows *train, Rows *missing, MlImputeOptions *opts,
		pg_prng_state *rng)
{
	Rows		s = MlFitSubsample(train, MAX_NET_ROWS, rng);
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
	MlFitGlobal(frame, m, train, ML_METHOD_MEAN);
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
			m->keys[m->nkeys++] = (MlKey) {c, ML_PART_HOUR, 24, NULL, NULL, NULL};
		else if (col->code)
			m->keys[m->nkeys++] = (MlKey) {c, -1, Max(col->nlevels, 1), NULL, NULL, NULL};
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" has too many distinct values to group by", col->name),
					 errhint("Group by categorical or integer-coded columns.")));
	}
}

MlModel *
MlFitNewModel(MlModel *proto, MlMethod method)
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

void
MlFitMethod(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
			MlImputeOptions *opts, pg_prng_state *rng)
{
	switch (m->method)
	{
		case ML_METHOD_MEAN:
		case ML_METHOD_MEDIAN:
		case ML_METHOD_MODE:
			MlFitGlobal(frame, m, train, m->method);
			break;
		case ML_METHOD_GROUPWISE:
			MlFitGroupwise(frame, m, train, NULL, NULL, NULL);
			break;
		case ML_METHOD_REGRESSION:
		case ML_METHOD_MICE:
			MlFitRegression(frame, m, train, missing, opts, rng, MAX_REG_ROWS);
			break;
		case ML_METHOD_KNN:
			MlFitKnn(frame, m, train, missing, opts, rng, MAX_KNN_REFS);
			break;
		case ML_METHOD_LEARNED:
		case ML_METHOD_CLASSIFIER:
			fit_net(frame, m, train, missing, opts, rng);
			break;
		default:
			MlFitGlobal(frame, m, train, ML_METHOD_MEAN);
			break;
	}
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
		return MlFitNewModel(&proto, ML_METHOD_NONE);

	if (opts->method == ML_METHOD_AUTO && ntest > 0)
		return MlFitChooseAuto(frame, &proto, &obs, nfolds, ntest, &miss, opts, &rng,
						   proto.discrete && MlColumnNumericCodes(col) && col->level_value);

	/* explicit methods: one holdout, and the inputs one-hot as they always were */
	if (nfolds > 1)
	{
		pg_prng_seed(&rng, (uint64) opts->seed * 7919 + target);
		(void) split_rows(frame, target, proto.discrete, opts, &rng, false,
						  &obs, &miss, &nfolds, &ntest);
	}
	MlFitFoldRows(&obs, 1, ntest, 0, &train, &test);
	proto.onehot = true;
	m = MlFitNewModel(&proto, opts->method == ML_METHOD_AUTO ?
				  (proto.discrete ? ML_METHOD_MODE : ML_METHOD_MEAN) : opts->method);
	m->k = Max(1, opts->k);
	if (m->method == ML_METHOD_GROUPWISE)
		set_group_keys(frame, m, opts);
	/* explicit methods are scored on the same holdout, then refitted */
	if (ntest > 0 && m->method != ML_METHOD_CONSTANT && m->method != ML_METHOD_DELETE &&
		m->method != ML_METHOD_LOCF && m->method != ML_METHOD_INTERPOLATE)
	{
		MlFitMethod(frame, m, &train, &miss, opts, &rng);
		m->error = MlFitScoreModel(frame, m, &test, NULL, NULL);
		{
			double		err = m->error;
			MlModel    *fresh = MlFitNewModel(&proto, m->method);

			fresh->nkeys = m->nkeys;
			fresh->keys[0] = m->keys[0];
			fresh->keys[1] = m->keys[1];
			fresh->k = m->k;
			fresh->onehot = m->onehot;
			m = fresh;
			m->error = err;
		}
	}
	MlFitMethod(frame, m, &obs, &miss, opts, &rng);
	return m;
}
