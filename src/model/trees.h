/*
 * trees.h
 *	  The binned tree builder shared by gbdt.c and forest.c: feature binning,
 *	  histograms, split finding, tree growth, a compute-only thread pool, and
 *	  the fitted trees (scoring on raw values, save and validated load).
 *
 * Training works on bins (uint8 per cell, row-major); a fitted tree stores
 * thresholds as values, so scoring needs no bins. Everything the threads
 * touch is allocated by the main thread before they run; the threads call
 * nothing of PostgreSQL.
 */
#ifndef ML_TREES_H
#define ML_TREES_H

#include "postgres.h"

#include <math.h>

#include "model/model.h"

#define ML_TREES_MAX_BINS 255	/* value bins per feature; bin 255 = missing */
#define ML_TREES_MISSING_BIN 255
#define ML_TREES_NBIN 256		/* histogram slots per feature */
#define ML_TREES_MAX_THREADS 4
#define ML_TREES_NCHUNK 4		/* fixed row chunks: same sums for any thread count */

/* Binned rows, row-major: bins[i * nfeat + j]; NaN in bin 255. */
typedef struct MlBins
{
	int64		nrows;
	int			nfeat;
	uint8	   *bins;
	int		   *nbins;			/* value bins of feature j (1..255) */
	double	  **upper;			/* numeric: bin b holds x <= upper[j][b] */
	bool	   *categorical;
	int		   *ncat;
	bool	   *splittable;		/* false: one value, no NaN in the sample */
	int		   *span;			/* value bins any row is in: 0 .. span - 1 (>= nbins) */
} MlBins;

/* A node of a fitted tree. */
typedef struct MlTreeNode
{
	double		threshold;		/* numeric split: x <= threshold goes left */
	int32		feature;		/* -1 for a leaf */
	int32		left;			/* child indexes, always after this node */
	int32		right;
	int32		aux;			/* leaf: value block; categorical split: set */
	bool		missing_left;	/* where NaN (and unseen codes: never) go */
	bool		categorical;	/* split on a set of category bins */
} MlTreeNode;

typedef struct MlTree
{
	int32		nnodes;
	int32		nleaves;
	int32		nsets;
	MlTreeNode *nodes;
	double	   *values;			/* nleaves * nout */
	uint64	   *sets;			/* nsets * 4 words: bins going left */
} MlTree;

/* How to grow one tree. */
typedef struct MlTreeParams
{
	int			max_depth;		/* 0 = unlimited */
	int			max_leaf_nodes; /* 0 = unlimited (depth-first), else best-first */
	int			min_samples_leaf;
	double		min_gain_to_split;
	double		l2;				/* lambda in G^2 / (H + lambda) */
	double		min_hessian;	/* each child's hessian sum at least this */
	int			max_features;	/* features tried per node; 0 = all allowed */
	double		leaf_scale;		/* leaf value = -G / (H + l2) * leaf_scale */
} MlTreeParams;

typedef struct MlTreeBuilder MlTreeBuilder;

extern MlBins *MlTreesBin(const MlDesign *d, const int32 *rows, int64 nrows,
						  int max_bins, uint64 seed, int nthreads);
extern int	MlTreesThreads(int requested);
extern void MlTreesNormalizeGain(double *gain, int n);
extern void MlTreesCheckTarget(const MlDesign *d);
extern void MlTreesWriteHead(StringInfo buf, int32 magic, int32 format, MlTask task, int nclass,
							 int nfeat);
extern void MlTreesReadHead(MlReader *r, const MlDesign *shape, int32 magic, int32 format,
							const char *name, MlTask *task, int *nclass, int *nfeat);
extern double *MlTreesReadGain(MlReader *r, int nfeat);
extern void MlTreesRun(int nthreads, void (*fn) (void *ctx, int task, int worker),
					   void *ctx, int ntasks);
extern MlTreeBuilder *MlTreeBuilderCreate(const MlBins *bins, int nout,
										  const MlTreeParams *p, int nthreads);
extern void MlTreeBuilderDestroy(MlTreeBuilder *b);
extern MlTree *MlTreeGrow(MlTreeBuilder *b, int32 *rows, int64 nrows,
						  const double *g, const double *h, const bool *allowed,
						  uint64 *rng, double *gain);
extern void MlTreeLeafRows(MlTreeBuilder *b, int leaf, int64 *begin, int64 *end);
extern int32 *MlTreeBuilderRows(MlTreeBuilder *b);

/* fn must be compute-only: it runs in the builder's threads */
extern void MlTreesParallel(MlTreeBuilder *b, void (*fn) (void *ctx, int task, int worker),
							void *ctx, int ntasks);

/* Whether a row with value x at node n goes left (NaN: the node's side). */
static inline int
MlTreeGoesLeft(const MlTree *t, const MlTreeNode *n, double x)
{
	if (likely(!n->categorical))
	{
		/* branch-free: NaN compares false, then takes its side */
		return (x <= n->threshold) | (n->missing_left & (x != x));
	}
	else if (x != x)
		return n->missing_left;
	else
	{
		int			b = (x >= 0 && x < ML_TREES_MAX_BINS - 1) ? (int) x : ML_TREES_MAX_BINS - 1;
		const uint64 *set = t->sets + (size_t) n->aux * 4;

		return (int) ((set[b >> 6] >> (b & 63)) & 1);
	}
}

static inline const double *
MlTreeLeafValues(const MlTree *t, const MlDesign *d, int64 i, int nout)
{
	const MlTreeNode *nodes = t->nodes;
	const MlTreeNode *n = nodes;

	while (n->feature >= 0)
	{
		int			left = MlTreeGoesLeft(t, n, d->col[n->feature][i]);

		/* arithmetic, not a branch: a walk's turns are unpredictable */
		n = nodes + (n->right + ((n->left - n->right) & -left));
	}
	return t->values + (size_t) n->aux * nout;
}

/*
 * Batch scoring (tree_predict.c): trees repacked for walking blocks of rows
 * in lockstep, bit-identical to MlTreeLeafValues. Tree t adds its nout leaf
 * values to output slot t % per_round of each row.
 */
typedef struct MlTreePack MlTreePack;

extern MlTreePack *MlTreePackBuild(void *owner, MlTree **trees, int ntrees, int nfeat,
								   int per_round, int nout);
extern void MlTreePackScore(const MlTreePack *p, const MlDesign *d, const double *init,
							double *out);

typedef struct MlTreeJob MlTreeJob;

extern MlTreeJob *MlTreeJobStart(const MlTreePack *p, const MlDesign *d, const double *init,
								 double *out);
extern void MlTreeJobWait(MlTreeJob *j);
extern void MlTreeJobCancel(MlTreeJob *j);

extern void MlTreeWrite(const MlTree *t, int nout, StringInfo buf);
extern MlTree *MlTreeRead(MlReader *r, int nout, const MlDesign *shape);
extern uint64 MlTreesRandom(uint64 *state);

/*
 * Seconds the main thread spent in each phase since the learner reset
 * them, for the debug log (client_min_messages = debug1).
 */
typedef struct MlTreesTimes
{
	double		bin;
	double		gather;
	double		hist;
	double		partition;
	double		find;
	double		rows;			/* the learner's own row passes */
} MlTreesTimes;

extern MlTreesTimes MlTreesTime;
extern double MlTreesNow(void);

#endif							/* ML_TREES_H */
