/*
 * select.c
 *	  Order statistics of an array of doubles without sorting it all: the
 *	  values a sort would put at a few given ranks (deciles for profiles,
 *	  bin thresholds for the tree learners).
 *
 * Compute-only: no palloc, no ereport, so the tree learners' threads may
 * call it.
 */
#include "postgres.h"

#include "core/select.h"

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

#define SELECT_SMALL 16			/* ranges this short are sorted */

/* Insertion sort of v[lo, hi). */
static void
sort_small(double *v, int64 lo, int64 hi)
{
	for (int64 i = lo + 1; i < hi; i++)
	{
		double		x = v[i];
		int64		k = i;

		while (k > lo && v[k - 1] > x)
		{
			v[k] = v[k - 1];
			k--;
		}
		v[k] = x;
	}
}

/*
 * Hoare partition of v[lo, hi) (more than SELECT_SMALL values, no NaN)
 * around the median of its first, middle and last values: returns j with
 * v[lo, j] <= pivot <= v[j + 1, hi).
 */
static int64
partition(double *v, int64 lo, int64 hi)
{
	double		a = v[lo],
				b = v[lo + (hi - lo) / 2],
				c = v[hi - 1];
	double		pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
	int64		i = lo,
				j = hi - 1;

	for (;;)
	{
		while (v[i] < pivot)
			i++;
		while (v[j] > pivot)
			j--;
		if (i >= j)
			return j;
		{
			double		t = v[i];

			v[i] = v[j];
			v[j] = t;
		}
		i++;
		j--;
	}
}

/*
 * Reorder v[lo, hi) (no NaN) so that v[r] is the value a full sort would
 * put there, for each of the ascending ranks[0 .. nr) inside the range:
 * quickselect recursing only into the sides that hold a wanted rank, so
 * the deciles cost a few passes, not a sort. A range that partitions
 * badly too often is sorted instead (the bound on the work).
 */
static void
select_ranks(double *v, int64 lo, int64 hi, const int64 *ranks, int nr, int budget)
{
	while (nr > 0 && hi - lo > SELECT_SMALL)
	{
		int64		j;
		int			nleft = 0;

		if (budget-- <= 0)
		{
			qsort(v + lo, hi - lo, sizeof(double), cmp_double);
			return;
		}
		j = partition(v, lo, hi);
		while (nleft < nr && ranks[nleft] <= j)
			nleft++;
		/* recurse into the side with fewer ranks, loop on the other */
		if (nleft <= nr - nleft)
		{
			select_ranks(v, lo, j + 1, ranks, nleft, budget);
			lo = j + 1;
			ranks += nleft;
			nr -= nleft;
		}
		else
		{
			select_ranks(v, j + 1, hi, ranks + nleft, nr - nleft, budget);
			hi = j + 1;
			nr = nleft;
		}
	}
	if (nr > 0)
		sort_small(v, lo, hi);
}

/*
 * Reorder v[0, n) (no NaN) so that v[ranks[k]] holds the value a sort
 * would put there, for the nr ascending ranks (repeats allowed, each < n).
 */
void
MlSelectRanks(double *v, int64 n, const int64 *ranks, int nr)
{
	select_ranks(v, 0, n, ranks, nr, 64);
}

/* Sort v[0, n) (no NaN) in place: quicksort, the smaller side first. */
void
MlSortDoubles(double *v, int64 n)
{
	int64		lo = 0,
				hi = n;

	while (hi - lo > SELECT_SMALL)
	{
		int64		j = partition(v, lo, hi);

		if (j + 1 - lo < hi - j - 1)
		{
			MlSortDoubles(v + lo, j + 1 - lo);
			lo = j + 1;
		}
		else
		{
			MlSortDoubles(v + j + 1, hi - j - 1);
			hi = j + 1;
		}
	}
	sort_small(v, lo, hi);
}
