/*
 * trees.c
 *	  The binned tree builder shared by gbdt.c and forest.c: its lifetime,
 *	  and the growth of one tree (MlTreeGrow).
 *
 * A tree grows on histograms of gradient sums per bin (tree_hist.c) of
 * features binned once (tree_bins.c): each pass partitions the rows of a
 * batch of nodes (tree_partition.c), builds the children's histograms and
 * finds their splits (tree_split.c), on a pool of compute-only threads
 * (tree_pool.c). Without max_leaf_nodes a tree grows depth-first up to
 * max_depth; with it, best-first. Fitted trees are saved and loaded in
 * tree_io.c, scored in batches in tree_predict.c.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "miscadmin.h"

#include "model/trees_int.h"

#define TREES_MAX_NODES (PG_INT32_MAX / 2)

MlTreesTimes MlTreesTime;

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

/* ----------------------------------------------------------- the builder */

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
	b->pool = MlTreePoolCreate(nthreads);
	return b;
}

void
MlTreeBuilderDestroy(MlTreeBuilder *b)
{
	if (b)
		MlTreePoolDestroy(b->pool);
}

/* Run fn(ctx, task, worker) for every task on the builder's threads. */
void
MlTreesParallel(MlTreeBuilder *b, void (*fn) (void *ctx, int task, int worker),
				void *ctx, int ntasks)
{
	MlTreePoolRun(b->pool, fn, ctx, ntasks);
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
		MlTreeHistFree(b, b->cands[k].hist);
		b->cands[k].hist = -1;
		b->cands[k].gain = -1;
		b->leaves[b->nleaves++] = k;
	}
}

/* Empty the builder for a new tree; the features it may split on. */
static void
grow_reset(MlTreeBuilder *b, const bool *allowed)
{
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
}

/* The root's rows and totals, in fixed chunks; whether every hessian is 1. */
static void
grow_gather(MlTreeBuilder *b, int32 *rows, int64 nrows, const double *g, const double *h)
{
	int			S = b->S;
	int			nout = b->nout;
	double	   *T = b->tot;

	b->src_rows = rows;
	b->src_g = g;
	b->src_h = h;
	b->src_n = nrows;
	TIMED(gather, MlTreePoolRun(b->pool, gather_task, b, nrows >= POOL_MIN_CELLS ? GATHER_CHUNKS : 1));
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

/* The root: its histogram and its split, then open or a leaf. */
static void
grow_root(MlTreeBuilder *b, int root, uint64 *rng)
{
	if (can_split(b, root))
	{
		b->cands[root].hist = MlTreeHistAlloc(b);
		b->jobs[0].cand = root;
		b->jobs[0].hist = b->cands[root].hist;
		b->jobs[0].sub = -1;
		b->njobs = 1;
		TIMED(hist, MlTreeHistPass(b));
	}
	b->nfinds = 0;
	if (can_split(b, root))
		b->finds[b->nfinds++] = root;
	TIMED(find, MlTreeFindPass(b, rng));
	settle(b, root, can_split(b, root));
}

/*
 * The open nodes to split next, into b->batch: the best one with
 * max_leaf_nodes (false when the tree has that many leaves already), else
 * the newest ones, oldest of them first.
 */
static bool
grow_pick_batch(MlTreeBuilder *b)
{
	int			max_leaves = b->p.max_leaf_nodes;

	b->nbatch = 0;
	if (max_leaves > 0)
	{
		int			pick = 0;

		if (b->nleaves + b->nopen >= max_leaves)
			return false;
		for (int i = 1; i < b->nopen; i++)
			if (b->cands[b->open[i]].gain > b->cands[b->open[pick]].gain)
				pick = i;
		b->batch[b->nbatch++] = b->open[pick];
		memmove(b->open + pick, b->open + pick + 1, sizeof(int) * (b->nopen - pick - 1));
		b->nopen--;
	}
	else
	{
		int			take = Min(b->nopen, b->max_batch);

		memcpy(b->batch, b->open + b->nopen - take, sizeof(int) * take);
		b->nbatch = take;
		b->nopen -= take;
	}
	return true;
}

/*
 * The children of split cand ci (after partitioning), with their totals;
 * a histogram job for the smaller one when either can split (the larger
 * one's histogram is the parent's minus it, in the parent's buffer).
 */
static void
grow_children(MlTreeBuilder *b, int ci, double *gain)
{
	int			S = b->S;
	int			nout = b->nout;
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
		b->cands[small].hist = MlTreeHistAlloc(b);
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
	MlTreeHistFree(b, b->cands[ci].hist);
	b->cands[ci].hist = -2 - li;	/* a split; children li, li + 1 */
}

/* Split the nodes of b->batch: partitions, children, histograms, splits. */
static void
grow_batch(MlTreeBuilder *b, uint64 *rng, double *gain)
{
	TIMED(partition, MlTreePartitionPass(b));

	/* children; the smaller of each pair gets a histogram built */
	b->njobs = 0;
	for (int k = 0; k < b->nbatch; k++)
		grow_children(b, b->batch[k], gain);
	if (b->njobs > 0)
		TIMED(hist, MlTreeHistPass(b));

	/* the children's splits */
	b->nfinds = 0;
	for (int k = b->ncands - 2 * b->nbatch; k < b->ncands; k++)
		if (can_split(b, k) && b->cands[k].hist >= 0)
			b->finds[b->nfinds++] = k;
	TIMED(find, MlTreeFindPass(b, rng));
	for (int k = b->ncands - 2 * b->nbatch; k < b->ncands; k++)
		settle(b, k, can_split(b, k) && b->cands[k].hist >= 0);
}

/* The fitted tree's nodes; node ids are cand ids, children after parents. */
static MlTree *
grow_nodes(MlTreeBuilder *b)
{
	MlTree	   *t = palloc0(sizeof(MlTree));
	int			nsets = 0;

	t->nnodes = b->ncands;
	t->nleaves = b->nleaves;
	t->nodes = palloc_extended(sizeof(MlTreeNode) * t->nnodes, MCXT_ALLOC_HUGE);
	t->values = palloc_extended(sizeof(double) * t->nleaves * b->nout, MCXT_ALLOC_HUGE);
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
	return t;
}

/* The leaves' values into t, and their row ranges kept for MlTreeLeafRows. */
static void
grow_leaves(MlTreeBuilder *b, MlTree *t)
{
	int			S = b->S;
	int			nout = b->nout;

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
	int			root;
	MlTree	   *t;

	Assert(nrows <= b->cap_rows && nrows > 0);
	grow_reset(b, allowed);
	root = cand_new(b, 0, nrows, 0);
	grow_gather(b, rows, nrows, g, h);
	grow_root(b, root, rng);
	while (b->nopen > 0)
	{
		CHECK_FOR_INTERRUPTS();
		if (!grow_pick_batch(b))
			break;
		grow_batch(b, rng, gain);
	}
	/* whatever is still open becomes a leaf */
	for (int i = 0; i < b->nopen; i++)
	{
		MlTreeHistFree(b, b->cands[b->open[i]].hist);
		b->cands[b->open[i]].hist = -1;
		b->cands[b->open[i]].gain = -1;
		b->leaves[b->nleaves++] = b->open[i];
	}
	b->nopen = 0;

	t = grow_nodes(b);
	grow_leaves(b, t);
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
