/*
 * tree_predict.c
 *	  Batch scoring of tree ensembles (gbdt.c, forest.c): the fitted trees
 *	  repacked for walking many rows at once, and the threaded block driver.
 *
 * A walk down a tree is a chain of dependent loads (node, then the row's
 * value of its feature, then the child). One walk at a time leaves the CPU
 * waiting on each; here a block of rows goes down a tree a level at a time,
 * so the walks of the block are independent work the CPU overlaps. To keep
 * each step short and branch-free the trees are repacked:
 *
 * - 16-byte nodes renumbered breadth-first, so the right child is always
 *	 left + 1 and a node needs one child index;
 * - a leaf is a node that sends every row to itself (threshold +inf, NaN
 *	 left), so every row of a block takes exactly the tree's depth in steps,
 *	 with no test for having arrived;
 * - the block's rows transposed row-major, so a step reads its value with
 *	 one load;
 * - a split of missing values from the rest (threshold +inf, missing
 *	 right) becomes one on a virtual 0/1 missing flag of its feature;
 * - a categorical split becomes a numeric one on a virtual feature: for
 *	 each distinct (feature, set of bins) pair, up to PACK_VIRTUAL of them,
 *	 the block gets a column holding 0 where the row's bin is in the set, 1
 *	 where it is not and NaN where the value is missing, and the node sends
 *	 it left at <= 0.5 (missing to its side), which is the categorical rule;
 *	 the set is looked up once per row instead of once per row and node
 *	 reached, and the walk has one kind of step;
 * - the categorical splits left over (more distinct sets than that) stay
 *	 bit sets, walked by a slower step only in the trees that have one;
 * - when no such split is left and no threshold is NaN (the usual case),
 *	 each value of a block is held twice, its NaN made +inf in one copy and
 *	 -inf in the other, and each split reads the copy of its side for
 *	 missing values: x <= threshold is then the whole rule (a finite or
 *	 -inf threshold sends +inf right and -inf left, +inf with missing left
 *	 sends everything left; the one case it cannot tell, +inf with missing
 *	 right, is the missing flag above), and a step is a load, a compare and
 *	 an add.
 *
 * The comparisons, the leaf values and the order of the sums are those of
 * MlTreeLeafValues, so the predictions are bit-identical to a walk of the
 * stored trees. The pack is derived, never stored: the payload is unchanged.
 */
#include "postgres.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "model/trees.h"

#define PACK_BLOCK 64			/* rows walked together */
#define PACK_CHUNK 8192			/* rows per task on threads */
#define JOB_CHUNK 1024			/* rows per task of a background job (the waiter helps) */
#define PACK_RUN 16				/* tasks between interrupt checks */
#define PACK_VIRTUAL 64			/* most categorical splits made numeric (distinct sets) */

#define META_MISSING_LEFT 1
#define META_CATEGORICAL 2
#define META_SHIFT 2

typedef struct PackNode
{
	union
	{
		double		threshold;	/* numeric: x <= threshold goes left */
		int64		set;		/* categorical: the tree's set index */
	}			u;
	int32		left;			/* right child = left + 1; a leaf: itself */
	uint32		meta;			/* feature << 2 | categorical | missing_left */
} PackNode;

StaticAssertDecl(sizeof(PackNode) == 16, "a packed node takes 16 bytes");

struct MlTreePack
{
	int			ntrees;
	int			nfeat;
	int			width;			/* values per row of a block: nfeat + nvirtual */
	int			nvirtual;		/* virtual features: categorical splits made numeric */
	int32	   *virtual_feature;	/* the feature a virtual one tests */
	const uint64 **virtual_set; /* and its set of bins going left (4 words) */
	bool		no_virtual;		/* too many distinct sets: categorical splits stay sets */
	bool		sided;			/* values held twice, per side of missing values */
	bool		unsided;		/* while packing: a split that rules sided out */
	int			rowwidth;		/* doubles per row of a block: width, or 2 * width if sided */
	int			per_round;		/* tree t adds to output slot t % per_round */
	int			nout;			/* values per leaf */
	const MlTree **trees;		/* leaf values and category sets */
	int64	   *first;			/* tree t's nodes start at nodes + first[t] */
	int32	   *depth;			/* steps from the root to the deepest leaf */
	bool	   *has_cat;
	PackNode   *nodes;
	int32	   *leaf;			/* per node: its value block (leaves) */
};

/*
 * The virtual feature testing feature f against the 4-word set (NULL: the
 * feature's missing flag), added if new; -1 when PACK_VIRTUAL distinct
 * ones exist already.
 */
static int
virtual_of(MlTreePack *p, int32 f, const uint64 *set)
{
	for (int v = 0; v < p->nvirtual; v++)
		if (p->virtual_feature[v] == f &&
			(set == NULL ? p->virtual_set[v] == NULL :
			 p->virtual_set[v] != NULL && memcmp(p->virtual_set[v], set, sizeof(uint64) * 4) == 0))
			return v;
	if (p->nvirtual == PACK_VIRTUAL || p->no_virtual)
		return -1;
	p->virtual_feature[p->nvirtual] = f;
	p->virtual_set[p->nvirtual] = set;
	return p->nvirtual++;
}

/* Repack tree t (nodes in breadth-first order) into p at offset base. */
static void
pack_tree(MlTreePack *p, int t, const MlTree *tree, int64 base, int32 *queue, int32 *level)
{
	PackNode   *out = p->nodes + base;
	int32	   *leaf = p->leaf + base;
	int			head = 0,
				tail = 1;
	int32		depth = 0;

	queue[0] = 0;				/* queue[k]: the stored node that gets index k */
	level[0] = 0;
	p->has_cat[t] = false;
	while (head < tail)
	{
		const MlTreeNode *n = &tree->nodes[queue[head]];
		PackNode   *o = &out[head];

		depth = Max(depth, level[head]);
		if (n->feature < 0)
		{
			o->u.threshold = INFINITY;
			o->left = head;
			o->meta = META_MISSING_LEFT;
			leaf[head] = n->aux;
		}
		else
		{
			if (tail + 2 > tree->nnodes)	/* load validated it: one parent each */
				elog(ERROR, "a tree has more children than nodes");
			o->left = tail;
			o->meta = ((uint32) n->feature << META_SHIFT) |
				(n->missing_left ? META_MISSING_LEFT : 0) |
				(n->categorical ? META_CATEGORICAL : 0);
			if (n->categorical)
			{
				int			v = virtual_of(p, n->feature, tree->sets + (size_t) n->aux * 4);

				if (v >= 0)
				{
					/* the set test as a numeric one: 0 in the set, 1 not */
					o->meta = ((uint32) (p->nfeat + v) << META_SHIFT) |
						(n->missing_left ? META_MISSING_LEFT : 0);
					o->u.threshold = 0.5;
				}
				else
				{
					o->u.set = n->aux;
					p->has_cat[t] = true;
				}
			}
			else if (n->threshold == INFINITY && !n->missing_left)
			{
				/* "missing or not": a virtual 0/1 missing flag, which has no NaN to hold twice */
				int			v = virtual_of(p, n->feature, NULL);

				if (v >= 0)
				{
					o->meta = (uint32) (p->nfeat + v) << META_SHIFT;
					o->u.threshold = 0.5;
				}
				else
				{
					o->u.threshold = n->threshold;
					p->unsided = true;
				}
			}
			else
			{
				/* -inf and +inf (missing left) hold twice as they are; NaN does not */
				o->u.threshold = n->threshold;
				if (isnan(n->threshold))
					p->unsided = true;
			}
			leaf[head] = 0;
			queue[tail] = n->left;
			level[tail++] = level[head] + 1;
			queue[tail] = n->right;
			level[tail++] = level[head] + 1;
		}
		head++;
	}
	p->depth[t] = depth;
}

/*
 * The pack of trees[0..ntrees), allocated in the context of owner (the
 * model it belongs to, so it lives and dies with it). The trees were
 * validated on load (each node reached once, children after their parent).
 */
MlTreePack *
MlTreePackBuild(void *owner, MlTree **trees, int ntrees, int nfeat, int per_round, int nout)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(owner));
	MlTreePack *p = palloc0(sizeof(MlTreePack));
	int64		total = 0;
	int32		maxnodes = 1;
	int32	   *queue;
	int32	   *level;

	if ((uint32) nfeat > (PG_UINT32_MAX >> (META_SHIFT + 1)) - PACK_VIRTUAL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a tree model of %d features is too wide to score", nfeat)));
	p->ntrees = ntrees;
	p->nfeat = nfeat;
	p->per_round = per_round;
	p->nout = nout;
	p->trees = (const MlTree **) trees;
	p->first = palloc(sizeof(int64) * ntrees);
	p->depth = palloc(sizeof(int32) * ntrees);
	p->has_cat = palloc(sizeof(bool) * ntrees);
	p->virtual_feature = palloc(sizeof(int32) * PACK_VIRTUAL);
	p->virtual_set = palloc(sizeof(uint64 *) * PACK_VIRTUAL);
	for (int t = 0; t < ntrees; t++)
	{
		p->first[t] = total;
		total += trees[t]->nnodes;
		maxnodes = Max(maxnodes, trees[t]->nnodes);
	}
	p->nodes = palloc_extended(sizeof(PackNode) * Max(total, 1), MCXT_ALLOC_HUGE);
	p->leaf = palloc_extended(sizeof(int32) * Max(total, 1), MCXT_ALLOC_HUGE);
	MemoryContextSwitchTo(old);

	queue = palloc(sizeof(int32) * maxnodes);
	level = palloc(sizeof(int32) * maxnodes);
	for (int t = 0; t < ntrees; t++)
		pack_tree(p, t, trees[t], p->first[t], queue, level);
	for (int t = 0; t < ntrees && !p->no_virtual; t++)
		if (p->has_cat[t])
		{
			/*
			 * Sets left over: virtual columns would only widen the block
			 * (and cost a lookup per row each) for walks still mixed.
			 */
			p->no_virtual = true;
			p->nvirtual = 0;
			p->unsided = false;
			for (int u = 0; u < ntrees; u++)
				pack_tree(p, u, trees[u], p->first[u], queue, level);
		}
	p->width = nfeat + p->nvirtual;
	p->sided = !p->unsided;
	for (int t = 0; t < ntrees; t++)
		if (p->has_cat[t])
			p->sided = false;
	p->rowwidth = p->sided ? 2 * p->width : p->width;
	if (p->sided)
	{
		/* each split reads the copy of its side: value j at 2j (NaN as +inf) or 2j + 1 (-inf) */
		for (int64 k = 0; k < total; k++)
		{
			uint32		m = p->nodes[k].meta;

			p->nodes[k].meta = ((2 * (m >> META_SHIFT) + (m & META_MISSING_LEFT)) << META_SHIFT) |
				(m & ((1 << META_SHIFT) - 1));
		}
	}
	pfree(queue);
	pfree(level);
	return p;
}

/* Whether value v is in a 4-word set of bins (MlTreeGoesLeft's rule for a category). */
static pg_attribute_always_inline int
in_set(const uint64 *set, double v)
{
	int			b = (v >= 0 && v < ML_TREES_MAX_BINS - 1) ? (int) v : ML_TREES_MAX_BINS - 1;

	return (int) ((set[b >> 6] >> (b & 63)) & 1);
}

/*
 * One step of a walk: the child of node n for value v (MlTreeGoesLeft's
 * rule), without a branch. With cat false the node is known numeric; else
 * both rules are computed and the node's kind picks one. sets is the
 * tree's category sets; a numeric node reads the first word of set 0,
 * which every tree has.
 */
static pg_attribute_always_inline int32
step(const PackNode *n, double v, const uint64 *sets, bool cat)
{
	int			ml = n->meta & META_MISSING_LEFT;
	int			nan = v != v;
	int			left = (v <= n->u.threshold) | (ml & nan);

	if (cat && (n->meta & META_CATEGORICAL))
		left = nan ? ml : in_set(sets + (size_t) n->u.set * 4, v);
	return n->left + 1 - left;
}

/*
 * thread: at[i] = the leaf that row i of the block x (row-major, width a
 * row) reaches in a packed tree, each row taking exactly depth steps
 * (leaves loop on themselves). A block goes down a level at a time, so
 * the steps of its rows are independent; a row or two (ml_predict) walks
 * alone, its position in a register.
 */
static pg_attribute_always_inline void
walk_rows(const PackNode *nodes, const uint64 *sets, int depth, const double *x, int width,
		  int nb, int32 *at, bool cat)
{
	if (nb >= 8)
	{
		/* the first step leaves one node, the root, for every row */
		const PackNode *root = &nodes[0];
		const double *xr = x + (root->meta >> META_SHIFT);

		for (int i = 0; i < nb; i++)
			at[i] = step(root, xr[(size_t) i * width], sets, cat);
		for (int s = 1; s < depth; s++)
			for (int i = 0; i < nb; i++)
			{
				const PackNode *n = &nodes[at[i]];

				at[i] = step(n, x[(size_t) i * width + (n->meta >> META_SHIFT)], sets, cat);
			}
		return;
	}
	for (int i = 0; i < nb; i++)
	{
		int32		pos = 0;
		const double *xi = x + (size_t) i * width;

		for (int s = 0; s < depth; s++)
			pos = step(&nodes[pos], xi[nodes[pos].meta >> META_SHIFT], sets, cat);
		at[i] = pos;
	}
}

/* thread: walk_rows for a sided pack (see the file header): x <= threshold is the rule */
static void
walk_sided(const PackNode *nodes, int depth, const double *x, int width, int nb, int32 *at)
{
	if (nb >= 8)
	{
		const PackNode *root = &nodes[0];
		const double *xr = x + (root->meta >> META_SHIFT);

		for (int i = 0; i < nb; i++)
			at[i] = root->left + 1 - (xr[(size_t) i * width] <= root->u.threshold);
		for (int s = 1; s < depth; s++)
			for (int i = 0; i < nb; i++)
			{
				const PackNode *n = &nodes[at[i]];

				at[i] = n->left + 1 - (x[(size_t) i * width + (n->meta >> META_SHIFT)] <= n->u.threshold);
			}
		return;
	}
	for (int i = 0; i < nb; i++)
	{
		int32		pos = 0;
		const double *xi = x + (size_t) i * width;

		for (int s = 0; s < depth; s++)
			pos = nodes[pos].left + 1 - (xi[nodes[pos].meta >> META_SHIFT] <= nodes[pos].u.threshold);
		at[i] = pos;
	}
}

/* thread: walk_rows for a tree without categorical splits, or with */
static void
walk_numeric(const PackNode *nodes, int depth, const double *x, int width, int nb, int32 *at)
{
	walk_rows(nodes, NULL, depth, x, width, nb, at, false);
}

static void
walk_mixed(const PackNode *nodes, const MlTree *tree, int depth, const double *x, int width,
		   int nb, int32 *at)
{
	walk_rows(nodes, tree->sets, depth, x, width, nb, at, true);
}

typedef struct PackCtx
{
	const MlTreePack *p;
	const MlDesign *d;
	const double *init;			/* per output slot, or NULL for 0 */
	double	   *out;			/* nrows * per_round * nout */
	double	   *x;				/* PACK_BLOCK * width per worker */
	int			first;			/* task 0 of this run is chunk first */
	int			chunk;			/* rows per task */
} PackCtx;

/* thread: out of the rows of one chunk, in blocks, tree by tree */
static void
pack_task(void *arg, int task, int worker)
{
	PackCtx    *c = arg;
	const MlTreePack *p = c->p;
	const MlDesign *d = c->d;
	int			nfeat = p->nfeat,
				width = p->rowwidth,
				nout = p->nout,
				stride = p->per_round * nout;
	double	   *x = c->x + (size_t) worker * PACK_BLOCK * width;
	int64		lo = (int64) (c->first + task) * c->chunk,
				hi = Min(d->nrows, lo + c->chunk);
	int32		at[PACK_BLOCK];

	for (int64 start = lo; start < hi; start += PACK_BLOCK)
	{
		int			nb = (int) Min(PACK_BLOCK, hi - start);
		double	   *f = c->out + (size_t) start * stride;

		for (int j = 0; j < nfeat; j++)
		{
			const double *col = d->col[j] + start;

			if (p->sided)
				for (int i = 0; i < nb; i++)
				{
					double		val = col[i];

					x[(size_t) i * width + 2 * j] = val != val ? INFINITY : val;
					x[(size_t) i * width + 2 * j + 1] = val != val ? -INFINITY : val;
				}
			else
				for (int i = 0; i < nb; i++)
					x[(size_t) i * width + j] = col[i];
		}
		for (int v = 0; v < p->nvirtual; v++)
		{
			const double *col = d->col[p->virtual_feature[v]] + start;
			const uint64 *set = p->virtual_set[v];
			int			j = nfeat + v;

			if (set == NULL)
			{
				/* the missing flag: 1 for NaN, else 0 (left at <= 0.5: not missing) */
				for (int i = 0; i < nb; i++)
				{
					double		miss = col[i] != col[i] ? 1.0 : 0.0;

					if (p->sided)
					{
						x[(size_t) i * width + 2 * j] = miss;
						x[(size_t) i * width + 2 * j + 1] = miss;
					}
					else
						x[(size_t) i * width + j] = miss;
				}
				continue;
			}
			for (int i = 0; i < nb; i++)
			{
				double		val = col[i];
				double		in = in_set(set, val) ? 0.0 : 1.0;

				if (p->sided)
				{
					x[(size_t) i * width + 2 * j] = val != val ? INFINITY : in;
					x[(size_t) i * width + 2 * j + 1] = val != val ? -INFINITY : in;
				}
				else
					x[(size_t) i * width + j] = val != val ? NAN : in;
			}
		}
		for (int i = 0; i < nb; i++)
			for (int k = 0; k < stride; k++)
				f[(size_t) i * stride + k] = c->init ? c->init[k] : 0;
		for (int t = 0; t < p->ntrees; t++)
		{
			const MlTree *tree = p->trees[t];
			const PackNode *nodes = p->nodes + p->first[t];
			const int32 *leaf = p->leaf + p->first[t];
			double	   *ft = f + (t % p->per_round) * nout;

			if (p->sided)
				walk_sided(nodes, p->depth[t], x, width, nb, at);
			else if (p->has_cat[t])
				walk_mixed(nodes, tree, p->depth[t], x, width, nb, at);
			else
				walk_numeric(nodes, p->depth[t], x, width, nb, at);
			if (nout == 1)
				for (int i = 0; i < nb; i++)
					ft[(size_t) i * stride] += tree->values[leaf[at[i]]];
			else
				for (int i = 0; i < nb; i++)
				{
					const double *v = tree->values + (size_t) leaf[at[i]] * nout;

					for (int k = 0; k < nout; k++)
						ft[(size_t) i * stride + k] += v[k];
				}
		}
	}
}

/*
 * out[i * per_round * nout + (t % per_round) * nout + k] = init[...] (or 0)
 * + the leaf values of row i in trees t, in tree order. Batches of more
 * than a chunk run on the tree threads; interrupts are checked between
 * runs of chunks.
 */
void
MlTreePackScore(const MlTreePack *p, const MlDesign *d, const double *init, double *out)
{
	PackCtx		c;
	int64		ntasks = (d->nrows + PACK_CHUNK - 1) / PACK_CHUNK;

	c.p = p;
	c.d = d;
	c.chunk = PACK_CHUNK;
	c.init = init;
	c.out = out;
	c.x = palloc(sizeof(double) * PACK_BLOCK * Max(p->rowwidth, 1) * ML_TREES_MAX_THREADS);
	for (int64 first = 0; first < ntasks; first += PACK_RUN)
	{
		int			n = (int) Min(PACK_RUN, ntasks - first);

		CHECK_FOR_INTERRUPTS();
		c.first = (int) first;
		if (n > 1)
			MlTreesRun(MlTreesThreads(0), pack_task, &c, n);
		else
			pack_task(&c, 0, 0);
	}
	pfree(c.x);
}

/* ------------------------------------------------- scoring in the background */

/*
 * MlTreePackScore's work on threads of its own while the caller goes on
 * (ml_score writes one block while the trees score the next). The threads
 * only compute; the caller's thread helps once it waits. A job must be
 * waited for or cancelled before the memory it reads or writes goes: the
 * caller cancels it on error (PG_CATCH), and a reset callback on the
 * context the job was started in cancels it too.
 */
struct MlTreeJob
{
	PackCtx		c;
	MlDesign	d;
	int			ntasks;
	int			next;			/* the next task to claim (atomic) */
	int			done;			/* tasks finished (atomic) */
	int			stop;			/* set: claim no more (atomic) */
	int			nthreads;		/* threads started */
	bool		joined;
	pthread_t	th[ML_TREES_MAX_THREADS];
	struct JobArg
	{
		struct MlTreeJob *job;
		int			worker;
	}			args[ML_TREES_MAX_THREADS];
	MemoryContextCallback cb;
};

/* thread (or the caller's): claim and run tasks until none is left */
static void
job_drain(MlTreeJob *j, int worker)
{
	for (;;)
	{
		int			task;

		if (__atomic_load_n(&j->stop, __ATOMIC_ACQUIRE))
			return;
		task = __atomic_fetch_add(&j->next, 1, __ATOMIC_ACQ_REL);
		if (task >= j->ntasks)
			return;
		pack_task(&j->c, task, worker);
		__atomic_fetch_add(&j->done, 1, __ATOMIC_ACQ_REL);
	}
}

/* thread */
static void *
job_main(void *arg)
{
	struct JobArg *a = arg;

	job_drain(a->job, a->worker);
	return NULL;
}

static void
job_join(MlTreeJob *j)
{
	if (j->joined)
		return;
	for (int i = 0; i < j->nthreads; i++)
		pthread_join(j->th[i], NULL);
	j->joined = true;
}

/* reset callback: the job's memory is about to go; no thread may touch it after */
static void
job_release(void *arg)
{
	MlTreeJob  *j = arg;

	__atomic_store_n(&j->stop, 1, __ATOMIC_RELEASE);
	job_join(j);
}

/*
 * Start scoring d into out (as MlTreePackScore) on threads; returns at
 * once. d's columns, init and out must stay until MlTreeJobWait or
 * MlTreeJobCancel; the job's memory is in the current context.
 */
MlTreeJob *
MlTreeJobStart(const MlTreePack *p, const MlDesign *d, const double *init, double *out)
{
	MlTreeJob  *j = palloc0(sizeof(MlTreeJob));

	/* the caller is busy meanwhile, and helps when it waits: one thread fewer */
	int			nthreads = Max(1, MlTreesThreads(0) - 1);
	sigset_t	all,
				old;

	j->d = *d;
	j->c.p = p;
	j->c.d = &j->d;
	j->c.init = init;
	j->c.out = out;
	j->c.first = 0;
	/* one scratch block per thread, and one for the caller's, which helps when it waits */
	j->c.x = palloc(sizeof(double) * PACK_BLOCK * Max(p->rowwidth, 1) * (nthreads + 1));
	j->c.chunk = JOB_CHUNK;
	j->ntasks = (int) ((d->nrows + JOB_CHUNK - 1) / JOB_CHUNK);
	j->cb.func = job_release;
	j->cb.arg = j;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &j->cb);
	if (j->ntasks <= 2)
		return j;				/* not worth a thread: the waiter does it */
	/* threads inherit the mask: no signal handler ever runs in them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < nthreads && i < ML_TREES_MAX_THREADS; i++)
	{
		j->args[i].job = j;
		j->args[i].worker = i;
		if (pthread_create(&j->th[i], NULL, job_main, &j->args[i]) != 0)
			break;				/* fewer threads: the waiter does the rest */
		j->nthreads = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return j;
}

/*
 * Finish the job: help with what is left, then wait for the threads,
 * blocked rather than spinning (they may share this core), each on its
 * last task of JOB_CHUNK rows.
 */
void
MlTreeJobWait(MlTreeJob *j)
{
	int			self = j->nthreads;	/* the caller's scratch block */

	for (;;)
	{
		int			task;

		CHECK_FOR_INTERRUPTS();
		task = __atomic_fetch_add(&j->next, 1, __ATOMIC_ACQ_REL);
		if (task >= j->ntasks)
			break;
		pack_task(&j->c, task, self);
		__atomic_fetch_add(&j->done, 1, __ATOMIC_ACQ_REL);
	}
	job_join(j);
	Assert(__atomic_load_n(&j->done, __ATOMIC_ACQUIRE) == j->ntasks);
	pfree(j->c.x);
	j->c.x = NULL;
}

/* Stop the job's threads (after their current task) and wait for them: the output is void. */
void
MlTreeJobCancel(MlTreeJob *j)
{
	job_release(j);
}
