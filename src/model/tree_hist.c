/*
 * tree_hist.c
 *	  Histograms of the tree builder: gradient and hessian sums per bin of
 *	  every allowed feature over a node's rows.
 *
 * The smaller child's histogram is built from its rows, the larger one's
 * is the parent's minus it. Histograms are built feature by feature,
 * groups of features shared among the pool's threads; each feature's sums
 * are added in row order whatever the thread count, so the model does not
 * depend on it.
 */
#include "postgres.h"

#include "model/trees_int.h"

/* A free histogram buffer (a new one if none is free). */
int
MlTreeHistAlloc(MlTreeBuilder *b)
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

/* Histogram buffer h back to the free list (h < 0: none). */
void
MlTreeHistFree(MlTreeBuilder *b, int h)
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
 * thread: one output (S == 3): the histograms of features jfeat[first ..
 * first + nf) over cand c's rows, summed in the worker's aligned scratch
 * and then spread into the (g, h, count) slots hist[q] of span[q] bins and
 * NaN's.
 */
static void
hist_group_one(MlTreeBuilder *b, int worker, const Cand *c, int first, int nf,
			   double *const *hist, const int *span)
{
	int64		begin = c->begin;
	int64		end = c->end;
	const int32 *r = b->rows;
	const double *G = b->G;
	const double *H = b->H;
	size_t		stride = b->B->nfeat;
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

/* thread: several outputs: as hist_group_one, a feature at a time */
static void
hist_group_many(MlTreeBuilder *b, const Cand *c, int first, int nf,
				double *const *hist, const int *span)
{
	int			S = b->S;
	int			nout = b->nout;
	int64		begin = c->begin;
	int64		end = c->end;
	const int32 *r = b->rows;
	const double *G = b->G;
	const double *H = b->H;
	size_t		stride = b->B->nfeat;

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

/*
 * thread: task = (job, group of up to HIST_GROUP allowed features): the
 * histograms of those features over the job's rows. Updating several
 * features per row keeps independent additions in flight where one
 * feature's run of equal bins would chain them. Each feature's bins are
 * summed in row order, so the grouping does not change the sums.
 */
static void
hist_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;
	const HistJob *job = &b->jobs[task / b->ngroups];
	const Cand *c = &b->cands[job->cand];
	int			S = b->S;
	int			g = task % b->ngroups;
	int			first = g * b->jnfeat / b->ngroups;
	int			nf = (g + 1) * b->jnfeat / b->ngroups - first;
	double	   *base = b->hists[job->hist];
	double	   *hist[HIST_GROUP];
	int			span[HIST_GROUP];

	Assert(nf >= 1 && nf <= HIST_GROUP);
	for (int q = 0; q < nf; q++)
	{
		int			j = b->jfeat[first + q];

		hist[q] = base + b->hoff[j] * S;
		span[q] = b->B->span[j];
	}
	if (S == 3)
		hist_group_one(b, worker, c, first, nf, hist, span);
	else
		hist_group_many(b, c, first, nf, hist, span);
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

/* Build the histograms of b->jobs, on the pool when there is enough work. */
void
MlTreeHistPass(MlTreeBuilder *b)
{
	int64		cells = 0;
	int			ntasks;
	int			nth = MlTreePoolThreads(b->pool);

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
		MlTreePoolRun(b->pool, hist_task, b, ntasks);
}
