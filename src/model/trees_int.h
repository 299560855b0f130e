/*
 * trees_int.h
 *	  What the files of the binned tree builder share, and nothing else
 *	  includes: the builder's state, the compute-only thread pool and the
 *	  passes of a tree's growth.
 *
 *	  trees.c		 the builder's lifetime and a tree's growth (MlTreeGrow)
 *	  tree_pool.c	 the thread pool
 *	  tree_bins.c	 feature binning (MlTreesBin)
 *	  tree_hist.c	 histogram buffers and the histogram pass
 *	  tree_partition.c  the partition pass
 *	  tree_split.c	 split search
 *	  tree_io.c		 save and validated load of trees and payload heads
 *
 * The threads run only the static functions marked "thread" in these files:
 * plain arithmetic on buffers the main thread allocated; they never call
 * PostgreSQL, and all signals are blocked in them.
 */
#ifndef ML_TREES_INT_H
#define ML_TREES_INT_H

#include "model/trees.h"

#define POOL_MIN_CELLS 40000	/* fewer cells than this: no threads */

/* run stmt, its wall time added to MlTreesTime.field */
#define TIMED(field, stmt) \
	do { \
		double		t0_ = MlTreesNow(); \
		stmt; \
		MlTreesTime.field += MlTreesNow() - t0_; \
	} while (0)

/* ----------------------------------------------------------- thread pool */

typedef void (*PoolFn) (void *ctx, int task, int worker);
typedef struct Pool Pool;

/* tree_pool.c: the main thread is worker 0 of nthreads (at least 1) */
extern Pool *MlTreePoolCreate(int nthreads);
extern void MlTreePoolRun(Pool *p, PoolFn fn, void *ctx, int ntasks);
extern void MlTreePoolDestroy(Pool *p);
extern int	MlTreePoolThreads(const Pool *p);

/* ----------------------------------------------------------- the builder */

/* A node of the tree being grown: a candidate for a split. */
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

/* tree_hist.c: histogram buffers, and the histograms of b->jobs */
extern int	MlTreeHistAlloc(MlTreeBuilder *b);
extern void MlTreeHistFree(MlTreeBuilder *b, int h);
extern void MlTreeHistPass(MlTreeBuilder *b);

/* tree_partition.c: partition every cand of b->batch; sets each one's mid */
extern void MlTreePartitionPass(MlTreeBuilder *b);

/* tree_split.c: the best splits of b->finds */
extern void MlTreeFindPass(MlTreeBuilder *b, uint64 *rng);

#endif							/* ML_TREES_INT_H */
