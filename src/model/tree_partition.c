/*
 * tree_partition.c
 *	  The partition pass of the tree builder: the row ids of every node of a
 *	  batch, split by the node's chosen split, each side kept in row order.
 *
 * A node's rows stay ascending, so the histogram pass reads the gradient
 * arrays forward. A large node is cut into chunks partitioned on the
 * pool's threads and then scattered to their places.
 */
#include "postgres.h"

#include "model/trees_int.h"

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
void
MlTreePartitionPass(MlTreeBuilder *b)
{
	int64		cells = 0;
	int			nparts = 0;
	int			nscatter = 0;
	bool		threads;

	for (int k = 0; k < b->nbatch; k++)
		cells += b->cands[b->batch[k]].end - b->cands[b->batch[k]].begin;
	threads = MlTreePoolThreads(b->pool) > 1 && cells * 4 >= POOL_MIN_CELLS;
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
		MlTreePoolRun(b->pool, partition_task, b, nparts);
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
		MlTreePoolRun(b->pool, scatter_task, b, nscatter);
}
