/*
 * tree_bins.c
 *	  Feature binning for the tree builder (MlTreesBin).
 *
 * Features are binned once (quantile bins of a sample, at most 255 value
 * bins and bin 255 for NaN; categorical codes bin by code, codes past 253
 * sharing bin 254). Thresholds lie between values, so a fitted tree that
 * stores them scores raw values the way its bins were split. Features are
 * binned in parallel, one task per feature.
 */
#include "postgres.h"

#include <math.h>

#include "core/select.h"
#include "model/trees_int.h"

#define BIN_SAMPLE 100000		/* values sorted to find a feature's bins */

#define DISTINCT_SLOTS 1024		/* open addressing table, > 2 * 255 */

/*
 * thread: the distinct values of v[0..m) into out when there are at most
 * maxb of them (returns false as soon as there are more).
 */
static bool
few_distinct(const double *v, int64 m, int maxb, double *out, int64 *nd)
{
	double		slot[DISTINCT_SLOTS];
	bool		used[DISTINCT_SLOTS];
	int64		n = 0;

	memset(used, 0, sizeof(used));
	for (int64 i = 0; i < m; i++)
	{
		double		x = v[i] == 0 ? 0 : v[i];	/* -0 and 0 are one value */
		uint64		bits;
		uint32		h;

		memcpy(&bits, &x, sizeof(bits));
		h = (uint32) ((bits * UINT64CONST(0x9E3779B97F4A7C15)) >> 54) & (DISTINCT_SLOTS - 1);
		while (used[h] && slot[h] != x)
			h = (h + 1) & (DISTINCT_SLOTS - 1);
		if (!used[h])
		{
			if (n == maxb)
				return false;
			used[h] = true;
			slot[h] = x;
			out[n++] = x;
		}
	}
	*nd = n;
	return true;
}

#define COUNT_RANGE 65536		/* whole numbers spanning fewer values: counted, not selected */

typedef struct BinJob
{
	const MlDesign *d;
	MlBins	   *bins;
	const int32 *sample;
	int64		nsample;
	int			max_bins;
	double	  **scratch;		/* per worker, nsample doubles */
	double	  **distinct;		/* per worker, max_bins doubles */
	int64	  **ranks;			/* per worker, max_bins ranks */
	int32	  **counts;			/* per worker, COUNT_RANGE counts */
	uint8	  **bintab;			/* per worker, COUNT_RANGE bins */
} BinJob;

/*
 * thread: whether v[0..m) are whole numbers (no -0, whose threshold a
 * selection could return with its sign) spanning fewer than COUNT_RANGE
 * values; their least.
 */
static bool
whole_range(const double *v, int64 m, double *lo)
{
	double		mn = INFINITY,
				mx = -INFINITY;
	bool		whole = true;

	for (int64 i = 0; i < m; i++)
	{
		double		x = v[i];

		whole &= x == floor(x) && !(x == 0 && signbit(x));
		mn = Min(mn, x);
		mx = Max(mx, x);
	}
	*lo = mn;
	return m > 0 && whole && mx - mn < COUNT_RANGE;
}

/*
 * thread: v[ranks[k]] of a sort of v[0..m), for the nr ascending ranks,
 * into out[k], from a count of each whole number lo .. lo + COUNT_RANGE - 1
 * (the values a selection would put there).
 */
static void
count_ranks(const double *v, int64 m, double lo, const int64 *ranks, int nr, int32 *counts,
			double *out)
{
	int64		cum = 0;
	int			slot = 0;
	int			top = 0;

	for (int64 i = 0; i < m; i++)
		top = Max(top, (int) (v[i] - lo));
	memset(counts, 0, sizeof(int32) * (top + 1));
	for (int64 i = 0; i < m; i++)
		counts[(int) (v[i] - lo)]++;
	for (int k = 0; k < nr; k++)
	{
		while (cum + counts[slot] <= ranks[k])
			cum += counts[slot++];
		out[k] = lo + slot;
	}
}

/*
 * thread: the first b with c <= upper[b] (upper[nb - 1] is infinite), NaN
 * in the missing bin; without branches, so the searches of successive rows
 * overlap in the CPU
 */
static inline int
bin_search(const double *upper, int nb, double c)
{
	const double *at = upper;
	int			len = nb;

	while (len > 1)
	{
		int			half = len >> 1;

		at += half * (at[half - 1] < c);
		len -= half;
	}
	return isnan(c) ? ML_TREES_MISSING_BIN : (int) (at - upper);
}

/* thread: a threshold between a and b (a < b), a itself if none fits */
static double
between(double a, double b)
{
	double		t = a / 2 + b / 2;

	return (t >= a && t < b) ? t : a;
}

/* thread: the bin of every row of categorical feature j: its code */
static void
bin_categorical(MlBins *B, int j, const double *x)
{
	uint8	   *out = B->bins + j;
	size_t		nf = B->nfeat;
	int			top = 0;

	for (int64 i = 0; i < B->nrows; i++)
	{
		double		c = x[i];
		int			bin = (c >= 0 && c < ML_TREES_MAX_BINS - 1) ? (int) c : ML_TREES_MAX_BINS - 1;

		out[i * nf] = isnan(c) ? ML_TREES_MISSING_BIN : (uint8) bin;
		top = isnan(c) ? top : Max(top, bin + 1);
	}
	/* codes past the levels counted (never in a design made here) keep their slots */
	B->span[j] = Max(B->nbins[j], top);
}

/*
 * thread: more than maxb values v[0..m) in the sample: thresholds at its
 * quantiles into upper (returns how many), found by selection, or for
 * whole numbers of a short range by counting each (a sort would put the
 * same values there). For those, when there are fewer values than rows,
 * sets *tab_lo and *tab_n: the rows' bins are looked up by value.
 */
static int
quantile_thresholds(BinJob *job, int worker, double *v, int64 m, double *upper,
					double *tab_lo, int *tab_n)
{
	int64	   *ranks = job->ranks[worker];
	double	   *at = job->distinct[worker];
	double		mx = -INFINITY;
	int			maxb = job->max_bins;
	int			nb = 0;
	double		lo;

	for (int64 i = 0; i < m; i++)
		mx = Max(mx, v[i]);
	for (int b = 1; b < maxb; b++)
		ranks[b - 1] = (int64) ((double) b * m / maxb);
	if (whole_range(v, m, &lo))
	{
		count_ranks(v, m, lo, ranks, maxb - 1, job->counts[worker], at);
		/* the rows' bins by value too, when there are fewer values than rows */
		if ((mx - lo + 1) * 4 <= job->bins->nrows)
		{
			*tab_lo = lo;
			*tab_n = (int) (mx - lo + 1);
		}
	}
	else
	{
		MlSelectRanks(v, m, ranks, maxb - 1);
		for (int b = 1; b < maxb; b++)
			at[b - 1] = v[ranks[b - 1]];
	}
	for (int b = 1; b < maxb; b++)
	{
		double		t = at[b - 1];

		if (t < mx && (nb == 0 || t > upper[nb - 1]))
			upper[nb++] = t;
	}
	return nb;
}

/*
 * thread: the thresholds of numeric feature j from the sample's values
 * (sets its bin count and whether it can split; returns the bin count),
 * and whether its rows' bins are looked up by value (quantile_thresholds)
 */
static int
numeric_thresholds(BinJob *job, int j, int worker, double *tab_lo, int *tab_n)
{
	MlBins	   *B = job->bins;
	const double *x = job->d->col[j];
	double	   *upper = B->upper[j];
	int			nb = 0;
	double	   *v = job->scratch[worker];
	int64		m = 0,
				m_all,
				nd = 0;
	int			maxb = job->max_bins;

	for (int64 s = 0; s < job->nsample; s++)
	{
		double		c = x[job->sample[s]];

		if (!isnan(c))
			v[m++] = c;
	}
	m_all = m;
	if (few_distinct(v, m, maxb, job->distinct[worker], &nd))
	{
		/* at most maxb values: thresholds between them, sorted */
		memcpy(v, job->distinct[worker], sizeof(double) * nd);
		MlSortDoubles(v, nd);
		for (int64 i = 0; i + 1 < nd; i++)
			upper[nb++] = between(v[i], v[i + 1]);
	}
	else
		nb = quantile_thresholds(job, worker, v, m, upper, tab_lo, tab_n);
	upper[nb++] = INFINITY;
	B->nbins[j] = nb;
	/* one value and no NaN: nothing to split on */
	B->splittable[j] = nb > 1 || m_all < job->nsample;
	return nb;
}

/* thread: the bin of every row of numeric feature j, of nb bins */
static void
bin_numeric_rows(BinJob *job, int j, int worker, int nb, double tab_lo, int tab_n)
{
	MlBins	   *B = job->bins;
	const double *x = job->d->col[j];
	uint8	   *out = B->bins + j;
	size_t		nf = B->nfeat;
	const double *upper = B->upper[j];

	if (tab_n > 0)
	{
		/* whole numbers of the sample's range: their bins looked up */
		uint8	   *tab = job->bintab[worker];

		for (int k = 0; k < tab_n; k++)
			tab[k] = (uint8) bin_search(upper, nb, tab_lo + k);
		for (int64 i = 0; i < B->nrows; i++)
		{
			double		c = x[i];
			double		k = c - tab_lo;

			/* the table holds exactly lo + k: a value a rounding away is searched */
			if (k >= 0 && k < tab_n && k == (double) (int) k && tab_lo + (int) k == c)
				out[i * nf] = tab[(int) k];
			else
				out[i * nf] = (uint8) bin_search(upper, nb, c);
		}
	}
	else
		for (int64 i = 0; i < B->nrows; i++)
			out[i * nf] = (uint8) bin_search(upper, nb, x[i]);
}

/* thread: thresholds of numeric feature j, then the bin of every row */
static void
bin_feature(void *ctx, int j, int worker)
{
	BinJob	   *job = ctx;
	MlBins	   *B = job->bins;
	double		tab_lo = 0;
	int			tab_n = 0;
	int			nb;

	if (B->categorical[j])
	{
		bin_categorical(B, j, job->d->col[j]);
		return;
	}
	nb = numeric_thresholds(job, j, worker, &tab_lo, &tab_n);
	bin_numeric_rows(job, j, worker, nb, tab_lo, tab_n);
	B->span[j] = nb;
}

/*
 * Bin every row of d, with thresholds from (a sample of) the given rows.
 */
MlBins *
MlTreesBin(const MlDesign *d, const int32 *rows, int64 nrows, int max_bins,
		   uint64 seed, int nthreads)
{
	MlBins	   *B = palloc0(sizeof(MlBins));
	BinJob		job;
	int32	   *sample;
	int64		nsample = Min(nrows, BIN_SAMPLE);
	Pool	   *pool;

	B->nrows = d->nrows;
	B->nfeat = d->nfeat;
	B->bins = palloc_extended(Max((size_t) d->nrows * d->nfeat, 1), MCXT_ALLOC_HUGE);
	B->nbins = palloc0(sizeof(int) * Max(d->nfeat, 1));
	B->upper = palloc0(sizeof(double *) * Max(d->nfeat, 1));
	B->categorical = palloc0(sizeof(bool) * Max(d->nfeat, 1));
	B->ncat = palloc0(sizeof(int) * Max(d->nfeat, 1));
	B->splittable = palloc(sizeof(bool) * Max(d->nfeat, 1));
	B->span = palloc0(sizeof(int) * Max(d->nfeat, 1));
	for (int j = 0; j < d->nfeat; j++)
	{
		B->splittable[j] = true;
		B->categorical[j] = d->categorical && d->categorical[j];
		B->ncat[j] = B->categorical[j] ? d->ncat[j] : 0;
		if (B->categorical[j])
			B->nbins[j] = Max(1, Min(B->ncat[j], ML_TREES_MAX_BINS));
		else
			B->upper[j] = palloc(sizeof(double) * (ML_TREES_MAX_BINS + 1));
	}
	sample = palloc(sizeof(int32) * Max(nsample, 1));
	if (nsample == nrows)
		memcpy(sample, rows, sizeof(int32) * nrows);
	else
	{
		uint64		rng = seed ^ UINT64CONST(0xB1A5);

		for (int64 s = 0; s < nsample; s++)
			sample[s] = rows[MlTreesRandom(&rng) % (uint64) nrows];
	}
	job.d = d;
	job.bins = B;
	job.sample = sample;
	job.nsample = nsample;
	job.max_bins = Min(Max(max_bins, 2), ML_TREES_MAX_BINS);
	job.scratch = palloc(sizeof(double *) * ML_TREES_MAX_THREADS);
	pool = MlTreePoolCreate(nrows * d->nfeat >= POOL_MIN_CELLS ? nthreads : 1);
	job.distinct = palloc(sizeof(double *) * ML_TREES_MAX_THREADS);
	job.ranks = palloc(sizeof(int64 *) * ML_TREES_MAX_THREADS);
	job.counts = palloc(sizeof(int32 *) * ML_TREES_MAX_THREADS);
	job.bintab = palloc(sizeof(uint8 *) * ML_TREES_MAX_THREADS);
	for (int t = 0; t < MlTreePoolThreads(pool); t++)
	{
		job.scratch[t] = palloc(sizeof(double) * Max(nsample, 1));
		job.distinct[t] = palloc(sizeof(double) * (ML_TREES_MAX_BINS + 1));
		job.ranks[t] = palloc(sizeof(int64) * (ML_TREES_MAX_BINS + 1));
		job.counts[t] = palloc(sizeof(int32) * COUNT_RANGE);
		job.bintab[t] = palloc(COUNT_RANGE);
	}
	PG_TRY();
	{
		TIMED(bin, MlTreePoolRun(pool, bin_feature, &job, d->nfeat));
	}
	PG_FINALLY();
	{
		MlTreePoolDestroy(pool);
	}
	PG_END_TRY();
	return B;
}
