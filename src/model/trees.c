/*
 * trees.c
 *	  The binned tree builder shared by gbdt.c and forest.c.
 *
 * Features are binned once (quantile bins of a sample, at most 255 value
 * bins and bin 255 for NaN; categorical codes bin by code, codes past 253
 * sharing bin 254). A tree grows on histograms of gradient sums per bin:
 * the smaller child's histogram is built from its rows, the larger one's is
 * the parent's minus it. Each split tries NaN on both sides and keeps the
 * better; categorical splits order the categories present by gradient over
 * hessian and cut that order (LightGBM's method). Without max_leaf_nodes a
 * tree grows depth-first up to max_depth; with it, best-first.
 *
 * Histograms are built feature by feature, features shared among a pool of
 * compute-only threads. The threads run only the static functions marked
 * "thread" below: plain arithmetic on buffers the main thread allocated;
 * they never call PostgreSQL, and all signals are blocked in them. Each
 * feature's sums are added in row order whatever the thread count, so the
 * model does not depend on it.
 */
#include "postgres.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"

#include "core/select.h"
#include "model/trees.h"

#define BIN_SAMPLE 100000		/* values sorted to find a feature's bins */
#define POOL_MIN_CELLS 40000	/* fewer cells than this: no threads */
/*
 * How long an idle thread polls for the next job before it sleeps. The
 * main thread's work between two passes takes tens of microseconds; a
 * sleeping thread's wake-up can cost as much again (more on a virtual
 * machine, where the idle core may be halted), and a tree has some 25
 * passes, so the threads poll through a fit's gaps and sleep between fits.
 */
#define POOL_SPIN_SECONDS 0.002
#define POOL_SPIN_CHECK 64		/* polls between looks at the clock */
#define CAT_SMOOTH 10.0			/* hessian added when ordering categories */
#define TREES_MAX_NODES (PG_INT32_MAX / 2)

MlTreesTimes MlTreesTime;

/* run stmt, its wall time added to MlTreesTime.field */
#define TIMED(field, stmt) \
	do { \
		double		t0_ = MlTreesNow(); \
		stmt; \
		MlTreesTime.field += MlTreesNow() - t0_; \
	} while (0)

double
MlTreesNow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- random */

uint64
MlTreesRandom(uint64 *state)
{
	uint64		z = (*state += UINT64CONST(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* ----------------------------------------------------------- thread pool */

/*
 * A job is fn(ctx, task, worker) for tasks 0..ntasks-1. The job word packs
 * the job's generation, its task count and the next task to claim, so a
 * thread can only claim a task of the job it read fn and ctx for: a claim
 * is a compare-and-swap of the whole word, and the main thread changes fn
 * and ctx only after every task of the previous job has finished.
 */
typedef void (*PoolFn) (void *ctx, int task, int worker);

#define JOB_GEN(w)		((uint32) ((w) >> 40))
#define JOB_NTASKS(w)	((int) (((w) >> 20) & 0xFFFFF))
#define JOB_NEXT(w)		((int) ((w) & 0xFFFFF))
#define POOL_MAX_TASKS	0xFFFFF

typedef struct Pool
{
	int			nthreads;		/* the main thread is worker 0 */
	int			started;
	pthread_t	th[ML_TREES_MAX_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64		word;
	int			sleeping;
	int			stop;
	PoolFn		fn;
	void	   *ctx;
	int			done;
} Pool;

typedef struct PoolArg
{
	Pool	   *pool;
	int			worker;
} PoolArg;

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* thread: claim and run tasks of generation gen until none is left */
static void
pool_drain(Pool *p, uint32 gen, int worker)
{
	for (;;)
	{
		uint64		w = __atomic_load_n(&p->word, __ATOMIC_ACQUIRE);

		if (JOB_GEN(w) != (gen & 0xFFFFFF) || JOB_NEXT(w) >= JOB_NTASKS(w))
			return;
		if (__atomic_compare_exchange_n(&p->word, &w, w + 1, false,
										__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		{
			p->fn(p->ctx, JOB_NEXT(w), worker);
			__atomic_fetch_add(&p->done, 1, __ATOMIC_ACQ_REL);
		}
	}
}

/* thread */
static void *
pool_main(void *arg)
{
	PoolArg    *a = arg;
	Pool	   *p = a->pool;
	uint32		seen = 0;

	for (;;)
	{
		uint32		g = seen;
		double		spin_end = MlTreesNow() + POOL_SPIN_SECONDS;

		for (int spin = 1;; spin++)
		{
			g = JOB_GEN(__atomic_load_n(&p->word, __ATOMIC_ACQUIRE));
			if (g != seen || __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
				break;
			if (spin % POOL_SPIN_CHECK == 0 && MlTreesNow() > spin_end)
				break;
			cpu_relax();
		}
		if (g == seen && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
		{
			pthread_mutex_lock(&p->mu);
			__atomic_fetch_add(&p->sleeping, 1, __ATOMIC_SEQ_CST);
			while ((g = JOB_GEN(__atomic_load_n(&p->word, __ATOMIC_SEQ_CST))) == seen &&
				   !__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
				pthread_cond_wait(&p->cv, &p->mu);
			__atomic_fetch_sub(&p->sleeping, 1, __ATOMIC_SEQ_CST);
			pthread_mutex_unlock(&p->mu);
		}
		if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
			return NULL;
		seen = g;
		pool_drain(p, g, a->worker);
	}
}

static Pool *
pool_create(int nthreads)
{
	Pool	   *p = palloc0(sizeof(Pool));
	PoolArg    *args = palloc0(sizeof(PoolArg) * ML_TREES_MAX_THREADS);
	sigset_t	all,
				old;

	p->nthreads = 1;
	if (nthreads <= 1)
		return p;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	/* threads inherit the mask: no signal handler ever runs in them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 1; i < nthreads && i < ML_TREES_MAX_THREADS; i++)
	{
		args[i].pool = p;
		args[i].worker = i;
		if (pthread_create(&p->th[i], NULL, pool_main, &args[i]) != 0)
			break;
		p->started = i;
		p->nthreads = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

/* Run fn(ctx, task) for every task, on all threads; returns when done. */
static void
pool_run(Pool *p, PoolFn fn, void *ctx, int ntasks)
{
	uint32		gen;
	int			waits = 0;

	if (p->nthreads == 1 || ntasks <= 1)
	{
		for (int t = 0; t < ntasks; t++)
			fn(ctx, t, 0);
		return;
	}
	Assert(ntasks <= POOL_MAX_TASKS);
	p->fn = fn;
	p->ctx = ctx;
	__atomic_store_n(&p->done, 0, __ATOMIC_RELEASE);
	gen = (JOB_GEN(p->word) + 1) & 0xFFFFFF;
	__atomic_store_n(&p->word, ((uint64) gen << 40) | ((uint64) ntasks << 20), __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->sleeping, __ATOMIC_SEQ_CST) > 0)
	{
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	pool_drain(p, gen, 0);
	while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < ntasks)
	{
		/* a thread is still on a task; let it have this core if it shares it */
		if (++waits % 1024 == 0)
			sched_yield();
		cpu_relax();
	}
}

static void
pool_destroy(Pool *p)
{
	if (p == NULL || p->started == 0)
		return;
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i <= p->started; i++)
		pthread_join(p->th[i], NULL);
	p->started = 0;
	p->nthreads = 1;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

/*
 * Run fn(ctx, task, worker) for every task on a pool of nthreads started
 * for this call (scoring large batches); fn must be compute-only.
 */
void
MlTreesRun(int nthreads, void (*fn) (void *ctx, int task, int worker), void *ctx, int ntasks)
{
	Pool	   *pool = pool_create(nthreads);

	PG_TRY();
	{
		pool_run(pool, fn, ctx, ntasks);
	}
	PG_FINALLY();
	{
		pool_destroy(pool);
	}
	PG_END_TRY();
}

/*
 * Split gains normalized to sum 1, always finite (the payload stores only
 * finite numbers): a gain that overflowed on extreme targets counts as an
 * equal share of the whole among the features whose gain did.
 */
void
MlTreesNormalizeGain(double *gain, int n)
{
	double		total = 0;
	int			ninf = 0;

	for (int j = 0; j < n; j++)
	{
		if (!(gain[j] >= 0))
			gain[j] = 0;		/* NaN */
		if (isinf(gain[j]))
			ninf++;
		total += gain[j];
	}
	if (ninf > 0)
	{
		for (int j = 0; j < n; j++)
			gain[j] = isinf(gain[j]) ? 1.0 / ninf : 0;
		return;
	}
	if (isinf(total))
	{
		/* finite gains whose sum overflows: scale by the largest first */
		double		mx = 0;

		for (int j = 0; j < n; j++)
			mx = Max(mx, gain[j]);
		total = 0;
		for (int j = 0; j < n; j++)
			total += (gain[j] /= mx);
	}
	if (total > 0)
		for (int j = 0; j < n; j++)
			gain[j] /= total;
}

int
MlTreesThreads(int requested)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (requested > 0)
		return Min(requested, ML_TREES_MAX_THREADS);
	return (int) Max(1, Min(cores, 2));
}

/* --------------------------------------------------------------- binning */

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

/* thread: thresholds of numeric feature j, then the bin of every row */
static void
bin_feature(void *ctx, int j, int worker)
{
	BinJob	   *job = ctx;
	MlBins	   *B = job->bins;
	const double *x = job->d->col[j];
	uint8	   *out = B->bins + j;
	size_t		nf = B->nfeat;
	double	   *upper = B->upper[j];
	int			nb = 0;
	double		tab_lo = 0;
	int			tab_n = 0;

	if (B->categorical[j])
	{
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
		return;
	}
	{
		double	   *v = job->scratch[worker];
		int64		m = 0,
					m_all,
					nd = 0;
		int			maxb = job->max_bins;
		double		lo;

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
		{
			/*
			 * more than maxb values: the sample's quantiles, found by
			 * selection, or for whole numbers of a short range by counting
			 * each (a sort would put the same values there)
			 */
			int64	   *ranks = job->ranks[worker];
			double	   *at = job->distinct[worker];
			double		mx = -INFINITY;

			for (int64 i = 0; i < m; i++)
				mx = Max(mx, v[i]);
			for (int b = 1; b < maxb; b++)
				ranks[b - 1] = (int64) ((double) b * m / maxb);
			if (whole_range(v, m, &lo))
			{
				count_ranks(v, m, lo, ranks, maxb - 1, job->counts[worker], at);
				/* the rows' bins by value too, when there are fewer values than rows */
				if ((mx - lo + 1) * 4 <= B->nrows)
				{
					tab_lo = lo;
					tab_n = (int) (mx - lo + 1);
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
		}
		upper[nb++] = INFINITY;
		B->nbins[j] = nb;
		/* one value and no NaN: nothing to split on */
		B->splittable[j] = nb > 1 || m_all < job->nsample;
	}
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
	pool = pool_create(nrows * d->nfeat >= POOL_MIN_CELLS ? nthreads : 1);
	job.distinct = palloc(sizeof(double *) * ML_TREES_MAX_THREADS);
	job.ranks = palloc(sizeof(int64 *) * ML_TREES_MAX_THREADS);
	job.counts = palloc(sizeof(int32 *) * ML_TREES_MAX_THREADS);
	job.bintab = palloc(sizeof(uint8 *) * ML_TREES_MAX_THREADS);
	for (int t = 0; t < pool->nthreads; t++)
	{
		job.scratch[t] = palloc(sizeof(double) * Max(nsample, 1));
		job.distinct[t] = palloc(sizeof(double) * (ML_TREES_MAX_BINS + 1));
		job.ranks[t] = palloc(sizeof(int64) * (ML_TREES_MAX_BINS + 1));
		job.counts[t] = palloc(sizeof(int32) * COUNT_RANGE);
		job.bintab[t] = palloc(COUNT_RANGE);
	}
	PG_TRY();
	{
		TIMED(bin, pool_run(pool, bin_feature, &job, d->nfeat));
	}
	PG_FINALLY();
	{
		pool_destroy(pool);
	}
	PG_END_TRY();
	return B;
}

/* ----------------------------------------------------------- the builder */

typedef struct Cand
{
	int32		depth;
	int64		begin;
	int64		end;
	int64		mid;			/* after partitioning: first row going right */
	int			hist;			/* histogram buffer, -1 if none; <= -2: split */
	double		gain;			/* best split's gain, -1 if none */
	int			feature;
	int			bin;			/* numeric: bins <= bin go left */
	bool		missing_left;
	bool		categorical;
} Cand;

/* A histogram to build in a pass: cand's rows into hist. */
typedef struct HistJob
{
	int			cand;
	int			hist;
	int			sub;			/* then subtract it from this one (the parent's), or -1 */
} HistJob;

/* A part of a cand to partition: the whole cand or a chunk of it. */
typedef struct PartJob
{
	int			cand;
	bool		chunked;
	int64		lo;
	int64		hi;
	int64		nleft;
	int64		ldst;			/* chunked: where its left rows go */
	int64		rdst;			/* and its right rows */
} PartJob;

#define PART_CHUNK 16384		/* rows per chunk of a large cand */
#define PART_MAX_CHUNKS 16
#define HIST_GROUP 10			/* features per pass over the rows, at most (scratch: 40 kB) */
#define PREFETCH 24				/* rows ahead whose bins are fetched */
#define GATHER_CHUNKS 16		/* fixed, so sums do not depend on threads */
#define BATCH_BYTES (16 * 1024 * 1024)	/* histograms of a batch, at most */

typedef double v2d __attribute__((vector_size(16)));

struct MlTreeBuilder
{
	const MlBins *B;
	int			nout;
	int			S;				/* doubles per histogram slot: nout g, h, count */
	MlTreeParams p;
	Pool	   *pool;
	size_t		histlen;		/* doubles per histogram */
	int64	   *hoff;			/* feature j's slots start at hoff[j] * S: span bins, then NaN */
	double	  **hists;
	int			nhists;
	int		   *freehist;
	int			nfree;
	int			cap_hists;
	int64		cap_rows;
	int32	   *rows;			/* the tree's rows, grouped by node */
	int32	   *tmp;
	/*
	 * The tree's gradients and hessians, by row id, read where they are:
	 * a partition moves only the row ids (a node's rows stay in ascending
	 * order, so the reads go forward through these arrays).
	 */
	const double *G;			/* nout per row */
	const double *H;			/* NULL when unit_hess */
	bool		unit_hess;		/* every hessian is 1: sums are counts */
	/* the tree being grown */
	Cand	   *cands;
	double	   *tot;			/* S per cand: totals */
	double	   *ltot;			/* S per cand: best split's left totals */
	uint8	   *goleft;			/* 256 per cand */
	int			cap_cands;
	int			ncands;
	int		   *open;
	int			nopen;
	int		   *leaves;
	int			nleaves;
	int		   *feats;			/* features considered, for sampling */
	int			max_batch;
	/* the current pass */
	int		   *batch;
	int			nbatch;
	HistJob    *jobs;
	int			njobs;
	PartJob    *parts;
	int		   *scatter;
	int		   *finds;			/* cands whose split to find */
	int			nfinds;
	int		   *jfeat;			/* allowed features */
	int			jnfeat;
	int			ngroups;
	/* the tree's input, for gather_task */
	const int32 *src_rows;
	const double *src_g;
	const double *src_h;
	int64		src_n;
	double	   *chunk_tot;		/* GATHER_CHUNKS * (nout + 2) */
	/* per worker: HIST_GROUP * 256 (g, h) pairs (16-byte aligned) and counts */
	v2d		   *scratch_pair[ML_TREES_MAX_THREADS];
	uint32	   *scratch_cnt[ML_TREES_MAX_THREADS];
	/* result of the last tree */
	int64	   *leaf_begin;
	int64	   *leaf_end;
};

MlTreeBuilder *
MlTreeBuilderCreate(const MlBins *bins, int nout, const MlTreeParams *p, int nthreads)
{
	MlTreeBuilder *b = palloc0(sizeof(MlTreeBuilder));
	size_t		n = Max(bins->nrows, 1);

	b->B = bins;
	b->nout = nout;
	b->S = nout + 2;
	b->p = *p;
	/* a feature's slots: only the bins its rows can be in, and NaN's */
	b->hoff = palloc(sizeof(int64) * Max(bins->nfeat, 1));
	b->histlen = 0;
	for (int j = 0; j < bins->nfeat; j++)
	{
		b->hoff[j] = b->histlen;
		b->histlen += bins->span[j] + 1;
	}
	b->histlen = Max(b->histlen, 1) * b->S;
	b->max_batch = (int) Max(1, Min(256, BATCH_BYTES / (b->histlen * sizeof(double) * 2)));
	b->cap_hists = 8;
	b->hists = palloc0(sizeof(double *) * b->cap_hists);
	b->freehist = palloc(sizeof(int) * b->cap_hists);
	b->cap_rows = n;
	b->rows = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	b->tmp = palloc_extended(sizeof(int32) * n, MCXT_ALLOC_HUGE);
	b->cap_cands = 64;
	b->cands = palloc(sizeof(Cand) * b->cap_cands);
	b->tot = palloc(sizeof(double) * b->cap_cands * b->S);
	b->ltot = palloc(sizeof(double) * b->cap_cands * b->S);
	b->goleft = palloc(b->cap_cands * ML_TREES_NBIN);
	b->open = palloc(sizeof(int) * b->cap_cands);
	b->leaves = palloc(sizeof(int) * b->cap_cands);
	b->leaf_begin = palloc(sizeof(int64) * b->cap_cands);
	b->leaf_end = palloc(sizeof(int64) * b->cap_cands);
	b->feats = palloc(sizeof(int) * Max(bins->nfeat, 1));
	b->jfeat = palloc(sizeof(int) * Max(bins->nfeat, 1));
	b->batch = palloc(sizeof(int) * b->max_batch);
	b->jobs = palloc(sizeof(HistJob) * (b->max_batch + 1));
	b->finds = palloc(sizeof(int) * 2 * (b->max_batch + 1));
	/* each chunk has PART_CHUNK rows at least */
	b->parts = palloc(sizeof(PartJob) * (b->max_batch + n / PART_CHUNK + 1));
	b->scatter = palloc(sizeof(int) * (b->max_batch + n / PART_CHUNK + 1));
	b->chunk_tot = palloc(sizeof(double) * GATHER_CHUNKS * (nout + 2));
	for (int w = 0; w < ML_TREES_MAX_THREADS; w++)
	{
		char	   *raw = palloc(sizeof(v2d) * (HIST_GROUP * ML_TREES_NBIN + 1));

		b->scratch_pair[w] = (v2d *) TYPEALIGN(sizeof(v2d), raw);
		b->scratch_cnt[w] = palloc(sizeof(uint32) * HIST_GROUP * ML_TREES_NBIN);
	}
	b->pool = pool_create(nthreads);
	return b;
}

void
MlTreeBuilderDestroy(MlTreeBuilder *b)
{
	if (b)
		pool_destroy(b->pool);
}

/* Run fn(ctx, task, worker) for every task on the builder's threads. */
void
MlTreesParallel(MlTreeBuilder *b, void (*fn) (void *ctx, int task, int worker),
				void *ctx, int ntasks)
{
	pool_run(b->pool, fn, ctx, ntasks);
}

int32 *
MlTreeBuilderRows(MlTreeBuilder *b)
{
	return b->rows;
}

void
MlTreeLeafRows(MlTreeBuilder *b, int leaf, int64 *begin, int64 *end)
{
	*begin = b->leaf_begin[leaf];
	*end = b->leaf_end[leaf];
}

static int
hist_alloc(MlTreeBuilder *b)
{
	if (b->nfree > 0)
		return b->freehist[--b->nfree];
	if (b->nhists == b->cap_hists)
	{
		b->cap_hists *= 2;
		b->hists = repalloc(b->hists, sizeof(double *) * b->cap_hists);
		b->freehist = repalloc(b->freehist, sizeof(int) * b->cap_hists);
	}
	b->hists[b->nhists] = palloc_extended(sizeof(double) * b->histlen, MCXT_ALLOC_HUGE);
	return b->nhists++;
}

static void
hist_free(MlTreeBuilder *b, int h)
{
	if (h >= 0)
		b->freehist[b->nfree++] = h;
}

/*
 * thread: histograms of nf (1..HIST_GROUP, a constant once inlined)
 * features of one output over rows[begin, end), into pair[q * 256 + bin]:
 * (g, h) added as one aligned pair, the count into cnt (with unit hessians
 * the pair is (g, 1) and h is the count).
 */
static pg_attribute_always_inline void
hist_rows(int nf, bool unit, v2d *pair, uint32 *cnt, const uint8 *bins, const int *feat,
		  size_t stride, const int32 *r, const double *G, const double *H, int64 begin, int64 end)
{
	int			off[HIST_GROUP];

	for (int q = 0; q < nf; q++)
		off[q] = feat[q];
	for (int64 i = begin; i < end; i++)
	{
		int32		ri = r[i];
		const uint8 *rb = bins + (size_t) ri * stride;
		v2d			gh = {G[ri], unit ? 1.0 : H[ri]};

		if (i + PREFETCH < end)
		{
			__builtin_prefetch(bins + (size_t) r[i + PREFETCH] * stride);
			__builtin_prefetch(G + r[i + PREFETCH]);
		}
		/* unrolled (nf is a constant here): the loop's own work was most of a cell's */
#pragma GCC unroll 16
		for (int q = 0; q < nf; q++)
		{
			int			bin = rb[off[q]];

			pair[q * ML_TREES_NBIN + bin] += gh;
			if (!unit)
				cnt[q * ML_TREES_NBIN + bin]++;
		}
	}
}

/*
 * thread: task = (job, group of up to HIST_GROUP allowed features): the
 * histograms of those features over the job's rows, summed in the worker's
 * aligned scratch and then spread into the (g, h, count) slots. Updating several features per row keeps
 * independent additions in flight where one feature's run of equal bins
 * would chain them. Each feature's bins are summed in row order, so the
 * grouping does not change the sums.
 */
static void
hist_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;
	const HistJob *job = &b->jobs[task / b->ngroups];
	const Cand *c = &b->cands[job->cand];
	int			S = b->S;
	int64		begin = c->begin;
	int64		end = c->end;
	const int32 *r = b->rows;
	const double *G = b->G;
	const double *H = b->H;
	int			g = task % b->ngroups;
	int			first = g * b->jnfeat / b->ngroups;
	int			nf = (g + 1) * b->jnfeat / b->ngroups - first;
	double	   *base = b->hists[job->hist];
	double	   *hist[HIST_GROUP];
	int			span[HIST_GROUP];
	size_t		stride = b->B->nfeat;

	Assert(nf >= 1 && nf <= HIST_GROUP);
	for (int q = 0; q < nf; q++)
	{
		int			j = b->jfeat[first + q];

		hist[q] = base + b->hoff[j] * S;
		span[q] = b->B->span[j];
	}
	if (S == 3)
	{
		v2d		   *pair = b->scratch_pair[worker];
		uint32	   *cnt = b->scratch_cnt[worker];
		bool		unit = b->unit_hess;
		const uint8 *bins = b->B->bins;
		const int  *feat = b->jfeat + first;

		/* the slots rows can reach: bins below the span, and NaN's */
		for (int q = 0; q < nf; q++)
		{
			v2d		   *pq = pair + q * ML_TREES_NBIN;
			uint32	   *cq = cnt + q * ML_TREES_NBIN;

			memset(pq, 0, sizeof(v2d) * span[q]);
			memset(pq + ML_TREES_MISSING_BIN, 0, sizeof(v2d));
			if (!unit)
			{
				memset(cq, 0, sizeof(uint32) * span[q]);
				cq[ML_TREES_MISSING_BIN] = 0;
			}
		}
#define HIST_CASE(n) \
		case n: \
			if (unit) \
				hist_rows(n, true, pair, cnt, bins, feat, stride, r, G, H, begin, end); \
			else \
				hist_rows(n, false, pair, cnt, bins, feat, stride, r, G, H, begin, end); \
			break
		switch (nf)
		{
				HIST_CASE(1);
				HIST_CASE(2);
				HIST_CASE(3);
				HIST_CASE(4);
				HIST_CASE(5);
				HIST_CASE(6);
				HIST_CASE(7);
				HIST_CASE(8);
				HIST_CASE(9);
				HIST_CASE(10);
		}
#undef HIST_CASE
		for (int q = 0; q < nf; q++)
		{
			double	   *hq = hist[q];
			const v2d  *pq = pair + q * ML_TREES_NBIN;
			const uint32 *cq = cnt + q * ML_TREES_NBIN;

			for (int bin = 0; bin < span[q]; bin++)
			{
				hq[bin * 3] = pq[bin][0];
				hq[bin * 3 + 1] = pq[bin][1];
				hq[bin * 3 + 2] = unit ? pq[bin][1] : (double) cq[bin];
			}
			/* NaN's slot follows the value bins */
			hq[span[q] * 3] = pq[ML_TREES_MISSING_BIN][0];
			hq[span[q] * 3 + 1] = pq[ML_TREES_MISSING_BIN][1];
			hq[span[q] * 3 + 2] = unit ? pq[ML_TREES_MISSING_BIN][1] :
				(double) cq[ML_TREES_MISSING_BIN];
		}
	}
	else
	{
		int			nout = b->nout;

		for (int q = 0; q < nf; q++)
		{
			double	   *hq = hist[q];
			const uint8 *cq = b->B->bins + b->jfeat[first + q];

			memset(hq, 0, sizeof(double) * (span[q] + 1) * S);
			for (int64 i = begin; i < end; i++)
			{
				int32		ri = r[i];
				int			bin = cq[(size_t) ri * stride];
				double	   *e = hq + (bin == ML_TREES_MISSING_BIN ? span[q] : bin) * S;
				const double *gi = G + (size_t) ri * nout;

				for (int k = 0; k < nout; k++)
					e[k] += gi[k];
				e[nout] += b->unit_hess ? 1.0 : H[ri];
				e[nout + 1] += 1;
			}
		}
	}
	if (job->sub >= 0)
	{
		/* the sibling's histogram: the parent's minus this one */
		double	   *pbase = b->hists[job->sub];

		for (int q = 0; q < nf; q++)
		{
			double	   *ph = pbase + (hist[q] - base);
			const double *sh = hist[q];

			for (int k = 0; k < (span[q] + 1) * S; k++)
				ph[k] -= sh[k];
		}
	}
}

static void find_split(MlTreeBuilder *b, int ci, uint64 *rng);

/* thread: task = a cand of b->finds: its best split */
static void
find_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;

	(void) worker;
	find_split(b, b->finds[task], NULL);
}

/* Build the histograms of b->jobs, on the pool when there is enough work. */
static void
hist_pass(MlTreeBuilder *b)
{
	int64		cells = 0;
	int			ntasks;
	int			nth = b->pool->nthreads;

	/*
	 * Groups of up to HIST_GROUP features; with few jobs, enough groups for
	 * the task count to be a multiple of the threads (no thread idles at
	 * the root).
	 */
	b->ngroups = (b->jnfeat + HIST_GROUP - 1) / HIST_GROUP;
	if (nth > 1 && b->njobs < 4 * nth)
		while ((b->njobs * b->ngroups) % nth != 0 && b->ngroups < b->jnfeat)
			b->ngroups++;
	ntasks = b->njobs * b->ngroups;

	/* largest first, so the threads finish together */
	for (int k = 1; k < b->njobs; k++)
	{
		HistJob		x = b->jobs[k];
		int64		nx = b->cands[x.cand].end - b->cands[x.cand].begin;
		int			q = k;

		while (q > 0 && b->cands[b->jobs[q - 1].cand].end - b->cands[b->jobs[q - 1].cand].begin < nx)
		{
			b->jobs[q] = b->jobs[q - 1];
			q--;
		}
		b->jobs[q] = x;
	}

	for (int k = 0; k < b->njobs; k++)
	{
		const Cand *c = &b->cands[b->jobs[k].cand];

		cells += (c->end - c->begin) * b->jnfeat;
	}
	if (cells < POOL_MIN_CELLS)
		for (int t = 0; t < ntasks; t++)
			hist_task(b, t, 0);
	else
		pool_run(b->pool, hist_task, b, ntasks);
}

/*
 * thread: task = a chunk of the tree's rows: copy them in row order; the
 * chunk's sums (and whether a hessian is not 1).
 */
static void
gather_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;
	int			nout = b->nout;
	int			nchunks = b->src_n >= POOL_MIN_CELLS ? GATHER_CHUNKS : 1;
	int64		lo = b->src_n * task / nchunks;
	int64		hi = b->src_n * (task + 1) / nchunks;
	double	   *T = b->chunk_tot + task * (nout + 2);
	const int32 *rows = b->src_rows;
	const double *g = b->src_g;
	const double *h = b->src_h;
	double		not_unit = 0;

	(void) worker;
	memset(T, 0, sizeof(double) * (nout + 2));
	memcpy(b->rows + lo, rows + lo, sizeof(int32) * (hi - lo));
	if (h == NULL && nout == 1)
	{
		/* unit hessians: the hessian sum is the count */
		for (int64 i = lo; i < hi; i++)
			T[0] += g[rows[i]];
		T[1] = (double) (hi - lo);
		T[2] = 0;
		return;
	}
	for (int64 i = lo; i < hi; i++)
	{
		int32		r = rows[i];
		double		hv = h ? h[r] : 1.0;

		if (nout == 1)
			T[0] += g[r];
		else
			for (int k = 0; k < nout; k++)
				T[k] += g[(size_t) r * nout + k];
		T[nout] += hv;
		not_unit += hv != 1.0;
	}
	T[nout + 1] = not_unit;
}

/*
 * thread: rows lo..hi of the scratch array, as a partition left them (the
 * left rows first, the right ones from hi - 1 down), into the row array:
 * the left nl from ldst, the right ones from rdst, both in their order.
 */
static void
unpack_part(MlTreeBuilder *b, int64 lo, int64 hi, int64 nl, int64 ldst, int64 rdst)
{
	int64		nr = hi - lo - nl;
	int32	   *rows = b->rows;
	const int32 *tmp = b->tmp;

	memmove(rows + ldst, tmp + lo, sizeof(int32) * nl);
	for (int64 k = 0; k < nr; k++)
		rows[rdst + k] = tmp[hi - 1 - k];
}

/*
 * thread: task = a part of a cand of the batch (the whole cand, or a chunk
 * of a large one): partition its row ids by the cand's split, each side
 * in its order (so a node's rows stay ascending). A whole cand is
 * partitioned in place: the left rows written over the ones read (never
 * ahead of the reading), the right ones into the scratch array and copied
 * back after them. A chunk goes into the scratch array, the left rows from
 * lo up and the right ones from hi - 1 down, one pass writing each row to
 * both ends (branch-free: the slot not taken is overwritten later), moved
 * to its place later (scatter_task). Sets the part's left count.
 */
static void
partition_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;
	PartJob    *pj = &b->parts[task];
	Cand	   *c = &b->cands[pj->cand];
	const uint8 *gl = b->goleft + (size_t) pj->cand * ML_TREES_NBIN;
	const uint8 *col = b->B->bins + c->feature;
	size_t		stride = b->B->nfeat;
	int32	   *rows = b->rows;
	int32	   *tmp = b->tmp;
	int64		lo = pj->lo,
				hi = pj->hi;
	int64		wl = lo,
				wr = hi - 1;

	(void) worker;
	if (!pj->chunked)
	{
		int64		nr = 0;

		for (int64 i = lo; i < hi; i++)
		{
			int32		r = rows[i];
			int			go;

			if (i + PREFETCH < hi)
				__builtin_prefetch(col + (size_t) rows[i + PREFETCH] * stride);
			go = gl[col[(size_t) r * stride]];
			rows[wl] = r;
			tmp[lo + nr] = r;
			wl += go;
			nr += 1 - go;
		}
		memcpy(rows + wl, tmp + lo, sizeof(int32) * nr);
		pj->nleft = wl - lo;
		return;
	}
	for (int64 i = lo; i < hi; i++)
	{
		int32		r = rows[i];
		int			go;

		if (i + PREFETCH < hi)
			__builtin_prefetch(col + (size_t) rows[i + PREFETCH] * stride);
		go = gl[col[(size_t) r * stride]];
		tmp[wl] = r;
		tmp[wr] = r;
		wl += go;
		wr -= 1 - go;
	}
	pj->nleft = wl - lo;
}

/*
 * thread: task = a chunk of a cand partitioned in chunks: move its left
 * and right rows from the scratch arrays to their places in the cand.
 */
static void
scatter_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;
	PartJob    *pj = &b->parts[b->scatter[task]];

	(void) worker;
	unpack_part(b, pj->lo, pj->hi, pj->nleft, pj->ldst, pj->rdst);
}

/* Partition every cand of the batch; sets each one's mid. */
static void
partition_pass(MlTreeBuilder *b)
{
	int64		cells = 0;
	int			nparts = 0;
	int			nscatter = 0;
	bool		threads;

	for (int k = 0; k < b->nbatch; k++)
		cells += b->cands[b->batch[k]].end - b->cands[b->batch[k]].begin;
	threads = b->pool->nthreads > 1 && cells * 4 >= POOL_MIN_CELLS;
	for (int k = 0; k < b->nbatch; k++)
	{
		Cand	   *c = &b->cands[b->batch[k]];
		int64		n = c->end - c->begin;
		int			nch = threads && n >= 2 * PART_CHUNK ? (int) Min(PART_MAX_CHUNKS, n / PART_CHUNK) : 1;

		for (int q = 0; q < nch; q++)
		{
			PartJob    *pj = &b->parts[nparts++];

			pj->cand = b->batch[k];
			pj->lo = c->begin + n * q / nch;
			pj->hi = c->begin + n * (q + 1) / nch;
			pj->chunked = nch > 1;
		}
	}
	if (threads)
		pool_run(b->pool, partition_task, b, nparts);
	else
		for (int t = 0; t < nparts; t++)
			partition_task(b, t, 0);
	/* where each chunk's left and right rows go */
	for (int t = 0; t < nparts;)
	{
		int			ci = b->parts[t].cand;
		Cand	   *c = &b->cands[ci];
		int64		nleft = 0;
		int			u;

		for (u = t; u < nparts && b->parts[u].cand == ci; u++)
			nleft += b->parts[u].nleft;
		c->mid = c->begin + nleft;
		if (b->parts[t].chunked)
		{
			int64		ld = c->begin,
						rd = c->mid;

			for (int v = t; v < u; v++)
			{
				b->parts[v].ldst = ld;
				b->parts[v].rdst = rd;
				ld += b->parts[v].nleft;
				rd += b->parts[v].hi - b->parts[v].lo - b->parts[v].nleft;
				b->scatter[nscatter++] = v;
			}
		}
		t = u;
	}
	if (nscatter > 0)
		pool_run(b->pool, scatter_task, b, nscatter);
}

static inline double
score_of(const double *t, int nout, double l2)
{
	double		s = 0;
	double		den = t[nout] + l2;

	if (den <= 0)
		return 0;
	for (int k = 0; k < nout; k++)
		s += t[k] * t[k];
	return s / den;
}

typedef struct CatOrder
{
	double		key;
	int			bin;
} CatOrder;

static int
cmp_cat(const void *a, const void *b)
{
	const CatOrder *x = a,
			   *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->bin - y->bin;
}

/* Try the splits of one side's prefix sums; keep the best in c. */
static inline bool
split_ok(MlTreeBuilder *b, const double *L, const double *R, int nout)
{
	return L[nout + 1] >= b->p.min_samples_leaf && R[nout + 1] >= b->p.min_samples_leaf &&
		L[nout] >= b->p.min_hessian && R[nout] >= b->p.min_hessian &&
		L[nout] > 0 && R[nout] > 0;
}

/*
 * The best split of candidate ci (gain -1 when none), for nout outputs (a
 * constant once inlined: find_split). Runs in a thread too (find_task)
 * when no feature sampling needs the random state and the slots fit the
 * stack buffers.
 */
static pg_attribute_always_inline void
find_split_n(MlTreeBuilder *b, int ci, uint64 *rng, int nout)
{
	Cand	   *c = &b->cands[ci];
	int			S = nout + 2;
	const double *P = b->tot + (size_t) ci * S;
	double	   *best_l = b->ltot + (size_t) ci * S;
	uint8	   *gl = b->goleft + (size_t) ci * ML_TREES_NBIN;
	double		parent = score_of(P, nout, b->p.l2);
	double		L[64];
	double		R[64];
	double	   *Lb,
			   *Rb;
	const double *hist = b->hists[c->hist];
	int			nf;
	const int  *feats;
	int			maxf;
	CatOrder	order[ML_TREES_NBIN];
	int			best_cat_n = 0;
	CatOrder	best_order[ML_TREES_NBIN];

	c->gain = -1;
	Lb = S <= 64 ? L : palloc(sizeof(double) * S);
	Rb = S <= 64 ? R : palloc(sizeof(double) * S);
	nf = b->jnfeat;
	feats = b->jfeat;
	maxf = (b->p.max_features > 0 && b->p.max_features < nf) ? b->p.max_features : nf;
	if (maxf < nf)
	{
		/* main thread only: a random subset, in feature order for ties */
		memcpy(b->feats, b->jfeat, sizeof(int) * nf);
		feats = b->feats;
		for (int i = 0; i < maxf; i++)
		{
			int			k = i + (int) (MlTreesRandom(rng) % (uint64) (nf - i));
			int			t = b->feats[i];

			b->feats[i] = b->feats[k];
			b->feats[k] = t;
		}
		for (int i = 1; i < maxf; i++)
		{
			int			x = b->feats[i],
						k = i;

			while (k > 0 && b->feats[k - 1] > x)
			{
				b->feats[k] = b->feats[k - 1];
				k--;
			}
			b->feats[k] = x;
		}
	}
	for (int fi = 0; fi < maxf; fi++)
	{
		int			j = feats[fi];
		const double *hj = hist + b->hoff[j] * S;
		const double *M = hj + (size_t) b->B->span[j] * S;
		int			nb = b->B->nbins[j];
		bool		has_missing = M[nout + 1] > 0;

		if (!b->B->categorical[j])
		{
			for (int pass = 0; pass < (has_missing ? 2 : 1); pass++)
			{
				bool		mleft = pass == 1;
				int			last = (has_missing && !mleft) ? nb - 1 : nb - 2;

				for (int k = 0; k < S; k++)
					Lb[k] = mleft ? M[k] : 0;
				for (int bin = 0; bin <= last; bin++)
				{
					const double *e = hj + (size_t) bin * S;
					double		gain;

					if (e[nout + 1] == 0 && bin < last)
						continue;	/* same split as the previous bin */
					for (int k = 0; k < S; k++)
					{
						Lb[k] += e[k];
						Rb[k] = P[k] - Lb[k];
					}
					if (Rb[nout + 1] < b->p.min_samples_leaf)
						break;
					if (!split_ok(b, Lb, Rb, nout))
						continue;
					gain = score_of(Lb, nout, b->p.l2) + score_of(Rb, nout, b->p.l2) - parent;
					if (gain > c->gain && gain > b->p.min_gain_to_split && gain > 0)
					{
						c->gain = gain;
						c->feature = j;
						c->bin = bin;
						c->categorical = false;
						/* no NaN seen here: NaN follows the larger side */
						c->missing_left = has_missing ? mleft : Lb[nout + 1] >= Rb[nout + 1];
						memcpy(best_l, Lb, sizeof(double) * S);
					}
				}
			}
		}
		else
		{
			int			m = 0;
			int			kk = 0;

			if (nout > 1)
			{
				/* order by the output with the largest total (a class) */
				for (int k = 1; k < nout; k++)
					if (fabs(P[k]) > fabs(P[kk]))
						kk = k;
			}
			for (int bin = 0; bin < nb; bin++)
			{
				const double *e = hj + (size_t) bin * S;

				if (e[nout + 1] > 0)
				{
					order[m].key = e[kk] / (e[nout] + CAT_SMOOTH);
					order[m].bin = bin;
					m++;
				}
			}
			if (m + (has_missing ? 1 : 0) < 2)
				continue;
			qsort(order, m, sizeof(CatOrder), cmp_cat);
			for (int pass = 0; pass < (has_missing ? 2 : 1); pass++)
			{
				bool		mleft = pass == 1;
				int			last = (has_missing && !mleft) ? m : m - 1;

				for (int k = 0; k < S; k++)
					Lb[k] = mleft ? M[k] : 0;
				for (int t = 0; t < last; t++)
				{
					const double *e = hj + (size_t) order[t].bin * S;
					double		gain;

					for (int k = 0; k < S; k++)
					{
						Lb[k] += e[k];
						Rb[k] = P[k] - Lb[k];
					}
					if (!split_ok(b, Lb, Rb, nout))
						continue;
					gain = score_of(Lb, nout, b->p.l2) + score_of(Rb, nout, b->p.l2) - parent;
					if (gain > c->gain && gain > b->p.min_gain_to_split && gain > 0)
					{
						c->gain = gain;
						c->feature = j;
						c->bin = t + 1; /* categories in the left set */
						c->categorical = true;
						c->missing_left = has_missing ? mleft : Lb[nout + 1] >= Rb[nout + 1];
						memcpy(best_l, Lb, sizeof(double) * S);
						best_cat_n = m;
						memcpy(best_order, order, sizeof(CatOrder) * m);
					}
				}
			}
		}
	}
	if (c->gain > 0)
	{
		if (c->categorical)
		{
			memset(gl, 0, ML_TREES_NBIN);
			for (int t = 0; t < c->bin && t < best_cat_n; t++)
				gl[best_order[t].bin] = 1;
		}
		else
		{
			for (int bin = 0; bin < ML_TREES_NBIN; bin++)
				gl[bin] = bin <= c->bin;
		}
		gl[ML_TREES_MISSING_BIN] = c->missing_left;
	}
	if (Lb != L)
	{
		pfree(Lb);
		pfree(Rb);
	}
}

/* find_split_n with the loops over one output's slots unrolled */
static void
find_split(MlTreeBuilder *b, int ci, uint64 *rng)
{
	if (b->nout == 1)
		find_split_n(b, ci, rng, 1);
	else
		find_split_n(b, ci, rng, b->nout);
}

static int
cand_new(MlTreeBuilder *b, int64 begin, int64 end, int depth)
{
	Cand	   *c;

	if (b->ncands == b->cap_cands)
	{
		if (b->cap_cands >= TREES_MAX_NODES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a tree would have more than %d nodes", TREES_MAX_NODES),
					 errhint("Set max_depth, max_leaf_nodes or a larger min_samples_leaf.")));
		b->cap_cands *= 2;
		b->cands = repalloc_huge(b->cands, sizeof(Cand) * b->cap_cands);
		b->tot = repalloc_huge(b->tot, sizeof(double) * b->cap_cands * b->S);
		b->ltot = repalloc_huge(b->ltot, sizeof(double) * b->cap_cands * b->S);
		b->goleft = repalloc_huge(b->goleft, (Size) b->cap_cands * ML_TREES_NBIN);
		b->open = repalloc_huge(b->open, sizeof(int) * b->cap_cands);
		b->leaves = repalloc_huge(b->leaves, sizeof(int) * b->cap_cands);
		b->leaf_begin = repalloc_huge(b->leaf_begin, sizeof(int64) * b->cap_cands);
		b->leaf_end = repalloc_huge(b->leaf_end, sizeof(int64) * b->cap_cands);
	}
	c = &b->cands[b->ncands];
	c->depth = depth;
	c->begin = begin;
	c->end = end;
	c->mid = begin;
	c->hist = -1;
	c->gain = -1;
	c->feature = -1;
	c->bin = 0;
	c->missing_left = false;
	c->categorical = false;
	return b->ncands++;
}

static bool
can_split(MlTreeBuilder *b, int ci)
{
	Cand	   *c = &b->cands[ci];

	if (b->p.max_depth > 0 && c->depth >= b->p.max_depth)
		return false;
	return c->end - c->begin >= 2 * (int64) Max(b->p.min_samples_leaf, 1);
}

/* After its split was looked for: cand k is open or a leaf. */
static void
settle(MlTreeBuilder *b, int k, bool splittable)
{
	if (splittable && b->cands[k].gain > 0)
		b->open[b->nopen++] = k;
	else
	{
		hist_free(b, b->cands[k].hist);
		b->cands[k].hist = -1;
		b->cands[k].gain = -1;
		b->leaves[b->nleaves++] = k;
	}
}

/* Find the splits of b->finds, in parallel when that is safe. */
static void
find_pass(MlTreeBuilder *b, uint64 *rng)
{
	if (b->p.max_features == 0 && b->S <= 64 && b->nfinds > 1)
		pool_run(b->pool, find_task, b, b->nfinds);
	else
		for (int k = 0; k < b->nfinds; k++)
			find_split(b, b->finds[k], rng);
}

/*
 * Grow one tree on rows (copied; grouped by node in the builder's own
 * array) with gradients g (nout per row, by row id) and hessians h (by row
 * id; NULL when every hessian is 1), both read in place while the tree
 * grows. allowed: features this tree may use (NULL = all). gain[j] grows
 * by each split's gain. The leaves' row ranges stay readable (MlTreeLeafRows)
 * until the next tree.
 *
 * Without max_leaf_nodes the open nodes are split in batches (a level of
 * a shallow tree at once, depth-first in bounded batches for a deep one);
 * each batch is one parallel partition pass and one parallel histogram
 * pass. The tree does not depend on the batching: each node's split depends
 * on its rows only. With max_leaf_nodes the best open node is split first.
 */
MlTree *
MlTreeGrow(MlTreeBuilder *b, int32 *rows, int64 nrows, const double *g,
		   const double *h, const bool *allowed, uint64 *rng, double *gain)
{
	int			S = b->S;
	int			nout = b->nout;
	int			root;
	MlTree	   *t = palloc0(sizeof(MlTree));
	int			nsets = 0;
	int			max_leaves = b->p.max_leaf_nodes;

	Assert(nrows <= b->cap_rows && nrows > 0);
	b->ncands = 0;
	b->nopen = 0;
	b->nleaves = 0;
	b->nfree = 0;
	for (int i = 0; i < b->nhists; i++)
		b->freehist[b->nfree++] = b->nhists - 1 - i;
	b->jnfeat = 0;
	for (int j = 0; j < b->B->nfeat; j++)
		if ((allowed == NULL || allowed[j]) && b->B->splittable[j])
			b->jfeat[b->jnfeat++] = j;

	root = cand_new(b, 0, nrows, 0);
	{
		/* the rows and the totals, in fixed chunks */
		double	   *T = b->tot;

		b->src_rows = rows;
		b->src_g = g;
		b->src_h = h;
		b->src_n = nrows;
		TIMED(gather, pool_run(b->pool, gather_task, b, nrows >= POOL_MIN_CELLS ? GATHER_CHUNKS : 1));
		memset(T, 0, sizeof(double) * S);
		b->unit_hess = true;
		for (int c = 0; c < (nrows >= POOL_MIN_CELLS ? GATHER_CHUNKS : 1); c++)
		{
			for (int q = 0; q <= nout; q++)
				T[q] += b->chunk_tot[c * (nout + 2) + q];
			b->unit_hess &= b->chunk_tot[c * (nout + 2) + nout + 1] == 0;
		}
		T[nout + 1] = (double) nrows;
		b->G = g;
		b->H = b->unit_hess ? NULL : h;
	}
	if (can_split(b, root))
	{
		b->cands[root].hist = hist_alloc(b);
		b->jobs[0].cand = root;
		b->jobs[0].hist = b->cands[root].hist;
		b->jobs[0].sub = -1;
		b->njobs = 1;
		TIMED(hist, hist_pass(b));
	}
	b->nfinds = 0;
	if (can_split(b, root))
		b->finds[b->nfinds++] = root;
	TIMED(find, find_pass(b, rng));
	settle(b, root, can_split(b, root));

	while (b->nopen > 0)
	{
		CHECK_FOR_INTERRUPTS();
		b->nbatch = 0;
		if (max_leaves > 0)
		{
			int			pick = 0;

			if (b->nleaves + b->nopen >= max_leaves)
				break;
			for (int i = 1; i < b->nopen; i++)
				if (b->cands[b->open[i]].gain > b->cands[b->open[pick]].gain)
					pick = i;
			b->batch[b->nbatch++] = b->open[pick];
			memmove(b->open + pick, b->open + pick + 1, sizeof(int) * (b->nopen - pick - 1));
			b->nopen--;
		}
		else
		{
			/* the newest open nodes, oldest of them first */
			int			take = Min(b->nopen, b->max_batch);

			memcpy(b->batch, b->open + b->nopen - take, sizeof(int) * take);
			b->nbatch = take;
			b->nopen -= take;
		}

		TIMED(partition, partition_pass(b));

		/* children; the smaller of each pair gets a histogram built */
		b->njobs = 0;
		for (int k = 0; k < b->nbatch; k++)
		{
			int			ci = b->batch[k];
			int			li,
						ri,
						small;
			bool		split_l,
						split_r;
			Cand	   *c = &b->cands[ci];
			int64		begin = c->begin,
						mid = c->mid,
						end = c->end;
			int			depth = c->depth;

			if (gain)
				gain[c->feature] += c->gain;
			li = cand_new(b, begin, mid, depth + 1);
			ri = cand_new(b, mid, end, depth + 1);
			Assert(ri == li + 1);
			{
				double	   *P = b->tot + (size_t) ci * S;
				double	   *Lt = b->tot + (size_t) li * S;
				double	   *Rt = b->tot + (size_t) ri * S;
				const double *BL = b->ltot + (size_t) ci * S;

				for (int q = 0; q < S; q++)
				{
					Lt[q] = BL[q];
					Rt[q] = P[q] - BL[q];
				}
				Lt[nout + 1] = (double) (mid - begin);
				Rt[nout + 1] = (double) (end - mid);
			}
			split_l = can_split(b, li);
			split_r = can_split(b, ri);
			if (split_l || split_r)
			{
				bool		need_large;

				small = (mid - begin <= end - mid) ? li : ri;
				need_large = small == li ? split_r : split_l;
				b->cands[small].hist = hist_alloc(b);
				b->jobs[b->njobs].cand = small;
				b->jobs[b->njobs].hist = b->cands[small].hist;
				b->jobs[b->njobs].sub = -1;
				if (need_large)
				{
					/* the larger child takes over the parent's buffer */
					b->jobs[b->njobs].sub = b->cands[ci].hist;
					b->cands[small == li ? ri : li].hist = b->cands[ci].hist;
					b->cands[ci].hist = -1;
				}
				b->njobs++;
			}
			hist_free(b, b->cands[ci].hist);
			b->cands[ci].hist = -2 - li;	/* a split; children li, li + 1 */
		}
		if (b->njobs > 0)
			TIMED(hist, hist_pass(b));

		/* the children's splits */
		b->nfinds = 0;
		for (int k = b->ncands - 2 * b->nbatch; k < b->ncands; k++)
			if (can_split(b, k) && b->cands[k].hist >= 0)
				b->finds[b->nfinds++] = k;
		TIMED(find, find_pass(b, rng));
		for (int k = b->ncands - 2 * b->nbatch; k < b->ncands; k++)
			settle(b, k, can_split(b, k) && b->cands[k].hist >= 0);
	}
	/* whatever is still open becomes a leaf */
	for (int i = 0; i < b->nopen; i++)
	{
		hist_free(b, b->cands[b->open[i]].hist);
		b->cands[b->open[i]].hist = -1;
		b->cands[b->open[i]].gain = -1;
		b->leaves[b->nleaves++] = b->open[i];
	}
	b->nopen = 0;

	/* the fitted tree; node ids are cand ids, children after parents */
	t->nnodes = b->ncands;
	t->nleaves = b->nleaves;
	t->nodes = palloc_extended(sizeof(MlTreeNode) * t->nnodes, MCXT_ALLOC_HUGE);
	t->values = palloc_extended(sizeof(double) * t->nleaves * nout, MCXT_ALLOC_HUGE);
	for (int i = 0; i < b->ncands; i++)
		if (b->cands[i].hist <= -2 && b->cands[i].categorical)
			nsets++;
	t->nsets = nsets;
	t->sets = palloc0(sizeof(uint64) * 4 * Max(nsets, 1));
	nsets = 0;
	for (int i = 0; i < b->ncands; i++)
	{
		Cand	   *c = &b->cands[i];
		MlTreeNode *n = &t->nodes[i];

		memset(n, 0, sizeof(MlTreeNode));
		n->feature = -1;
		n->left = -1;
		n->right = -1;
		if (c->hist <= -2)
		{
			int			li = -2 - c->hist;
			const uint8 *gl = b->goleft + (size_t) i * ML_TREES_NBIN;

			n->feature = c->feature;
			n->left = li;
			n->right = li + 1;
			n->missing_left = c->missing_left;
			n->categorical = c->categorical;
			if (c->categorical)
			{
				uint64	   *set = t->sets + (size_t) nsets * 4;

				for (int bin = 0; bin < ML_TREES_MAX_BINS; bin++)
					if (gl[bin])
						set[bin >> 6] |= UINT64CONST(1) << (bin & 63);
				n->aux = nsets++;
			}
			else
				n->threshold = b->B->upper[c->feature][c->bin];
		}
	}
	for (int l = 0; l < b->nleaves; l++)
	{
		int			i = b->leaves[l];
		const double *T = b->tot + (size_t) i * S;
		double		den = T[nout] + b->p.l2;

		t->nodes[i].aux = l;
		for (int k = 0; k < nout; k++)
		{
			double		v = den > 0 ? -T[k] / den * b->p.leaf_scale : 0;

			/* the payload stores only finite numbers: report it here, not at scoring */
			if (!isfinite(v))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("a tree's leaf value overflowed"),
						 errhint("The target's values are too large to sum; rescale the target.")));
			t->values[(size_t) l * nout + k] = v;
		}
		b->leaf_begin[l] = b->cands[i].begin;
		b->leaf_end[l] = b->cands[i].end;
	}
	return t;
}

/* --------------------------------------------------------- save and load */

#define NODE_BYTES 28			/* feature, left, right, aux, flags, threshold */

void
MlTreeWrite(const MlTree *t, int nout, StringInfo buf)
{
	MlWriteInt32(buf, t->nnodes);
	MlWriteInt32(buf, t->nleaves);
	MlWriteInt32(buf, t->nsets);
	for (int i = 0; i < t->nnodes; i++)
	{
		const MlTreeNode *n = &t->nodes[i];

		MlWriteInt32(buf, n->feature);
		MlWriteInt32(buf, n->left);
		MlWriteInt32(buf, n->right);
		MlWriteInt32(buf, n->aux);
		MlWriteInt32(buf, (n->missing_left ? 1 : 0) | (n->categorical ? 2 : 0));
		MlWriteFloat8(buf, n->threshold);
	}
	MlWriteFloat8s(buf, t->values, (int64) t->nleaves * nout);
	for (int i = 0; i < t->nsets * 4; i++)
		MlWriteInt64(buf, (int64) t->sets[i]);
}

/*
 * Read a tree written by MlTreeWrite, trusting nothing: counts bounded by
 * the bytes left, features inside the shape, categorical flags matching it,
 * children after their parent and each node the child of one parent only
 * (so scoring always ends at a leaf), leaves numbered once, values finite.
 */
MlTree *
MlTreeRead(MlReader *r, int nout, const MlDesign *shape)
{
	MlTree	   *t = palloc0(sizeof(MlTree));
	int			left = r->len - r->pos;
	bool	   *seen;
	bool	   *leaf_seen;

	t->nnodes = MlReadInt32(r, 1, Max(1, left / NODE_BYTES));
	t->nleaves = MlReadInt32(r, 1, t->nnodes);
	t->nsets = MlReadInt32(r, 0, t->nnodes);
	t->nodes = palloc_extended(sizeof(MlTreeNode) * t->nnodes, MCXT_ALLOC_HUGE);
	seen = palloc0(sizeof(bool) * t->nnodes);
	leaf_seen = palloc0(sizeof(bool) * t->nleaves);
	for (int i = 0; i < t->nnodes; i++)
	{
		MlTreeNode *n = &t->nodes[i];
		int32		flags;

		n->feature = MlReadInt32(r, -1, shape->nfeat - 1);
		n->left = MlReadInt32(r, -1, t->nnodes - 1);
		n->right = MlReadInt32(r, -1, t->nnodes - 1);
		n->aux = MlReadInt32(r, 0, t->nnodes);
		flags = MlReadInt32(r, 0, 3);
		n->missing_left = (flags & 1) != 0;
		n->categorical = (flags & 2) != 0;
		n->threshold = MlReadFloat8(r);
		if (n->feature < 0)
		{
			if (n->left != -1 || n->right != -1 || flags != 0 || n->aux >= t->nleaves)
				MlPayloadInvalid(r, psprintf("leaf %d of a tree is malformed", i));
			if (leaf_seen[n->aux])
				MlPayloadInvalid(r, psprintf("leaf value %d is used twice", n->aux));
			leaf_seen[n->aux] = true;
			continue;
		}
		if (n->left <= i || n->right <= i || n->left == n->right)
			MlPayloadInvalid(r, psprintf("node %d of a tree has children that are not after it", i));
		if (seen[n->left] || seen[n->right])
			MlPayloadInvalid(r, psprintf("a node below node %d has two parents", i));
		seen[n->left] = seen[n->right] = true;
		if (n->categorical != (shape->categorical && shape->categorical[n->feature]))
			MlPayloadInvalid(r, psprintf("node %d splits feature %d of the wrong kind", i, n->feature));
		if (n->categorical ? n->aux >= t->nsets : (isnan(n->threshold) || n->aux != 0))
			MlPayloadInvalid(r, psprintf("node %d of a tree has an invalid split", i));
	}
	for (int i = 1; i < t->nnodes; i++)
		if (!seen[i])
			MlPayloadInvalid(r, psprintf("node %d of a tree is not reached", i));
	for (int l = 0; l < t->nleaves; l++)
		if (!leaf_seen[l])
			MlPayloadInvalid(r, psprintf("leaf value %d is not used", l));
	if ((int64) t->nleaves * nout > (r->len - r->pos) / 8)
		MlPayloadInvalid(r, "it ends too early");
	t->values = palloc_extended(sizeof(double) * t->nleaves * nout, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < (int64) t->nleaves * nout; i++)
		t->values[i] = MlReadFiniteFloat8(r);
	if ((int64) t->nsets * 32 > r->len - r->pos)
		MlPayloadInvalid(r, "it ends too early");
	t->sets = palloc0(sizeof(uint64) * 4 * Max(t->nsets, 1));
	for (int i = 0; i < t->nsets * 4; i++)
		t->sets[i] = (uint64) MlReadInt64(r, PG_INT64_MIN, PG_INT64_MAX);
	pfree(seen);
	pfree(leaf_seen);
	return t;
}

/* Every target finite (and a class index), every weight finite and at least 0. */
void
MlTreesCheckTarget(const MlDesign *d)
{
	for (int64 i = 0; i < d->nrows; i++)
	{
		double		y = d->y[i];

		if (!isfinite(y))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the target of row " INT64_FORMAT " is not a finite number", i + 1)));
		if (d->task != ML_TASK_REGRESSION && (y < 0 || y >= d->nclass || y != floor(y)))
			elog(ERROR, "class index %g out of range for %d classes", y, d->nclass);
		if (d->w && !(d->w[i] >= 0 && isfinite(d->w[i])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the weight of row " INT64_FORMAT " is not a finite number at least 0", i + 1)));
	}
}

/*
 * The head both tree learners' payloads start with: magic, format, task,
 * class count and feature count, each checked against the version the
 * payload belongs to.
 */
void
MlTreesWriteHead(StringInfo buf, int32 magic, int32 format, MlTask task, int nclass, int nfeat)
{
	MlWriteInt32(buf, magic);
	MlWriteInt32(buf, format);
	MlWriteInt32(buf, (int32) task);
	MlWriteInt32(buf, nclass);
	MlWriteInt32(buf, nfeat);
}

void
MlTreesReadHead(MlReader *r, const MlDesign *shape, int32 magic, int32 format, const char *name,
				MlTask *task, int *nclass, int *nfeat)
{
	if (MlReadInt32(r, PG_INT32_MIN, PG_INT32_MAX) != magic)
		MlPayloadInvalid(r, psprintf("it is not a %s model", name));
	(void) MlReadInt32(r, format, format);
	*task = (MlTask) MlReadInt32(r, ML_TASK_REGRESSION, ML_TASK_MULTICLASS);
	if (*task != shape->task)
		MlPayloadInvalid(r, "its task is not the version's");
	*nclass = MlReadInt32(r, 0, 255);
	if (*task == ML_TASK_REGRESSION ? *nclass != 0 :
		(*nclass != shape->nclass || *nclass < 2 ||
		 (*task == ML_TASK_BINARY) != (*nclass == 2)))
		MlPayloadInvalid(r, "its class count is not the version's");
	*nfeat = MlReadInt32(r, shape->nfeat, shape->nfeat);
}

/* Gain importance per feature: finite and at least 0. */
double *
MlTreesReadGain(MlReader *r, int nfeat)
{
	double	   *gain = palloc(sizeof(double) * Max(nfeat, 1));

	for (int j = 0; j < nfeat; j++)
	{
		gain[j] = MlReadFiniteFloat8(r);
		if (gain[j] < 0)
			MlPayloadInvalid(r, "a feature's gain is negative");
	}
	return gain;
}
