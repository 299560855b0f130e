/*
 * tree_split.c
 *	  Split search of the tree builder: the best split of a node from its
 *	  histogram.
 *
 * Each numeric split tries NaN on both sides and keeps the better;
 * categorical splits order the categories present by gradient over
 * hessian and cut that order (LightGBM's method). A node's split depends
 * on its histogram only, so nodes are searched in parallel when no
 * feature sampling needs the random state.
 */
#include "postgres.h"

#include <math.h>

#include "model/trees_int.h"

#define CAT_SMOOTH 10.0			/* hessian added when ordering categories */

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

/* Whether both sides of a split are large enough to be leaves. */
static inline bool
split_ok(MlTreeBuilder *b, const double *L, const double *R, int nout)
{
	return L[nout + 1] >= b->p.min_samples_leaf && R[nout + 1] >= b->p.min_samples_leaf &&
		L[nout] >= b->p.min_hessian && R[nout] >= b->p.min_hessian &&
		L[nout] > 0 && R[nout] > 0;
}

/* One node's search: its totals, the feature searched, the best split so far. */
typedef struct SplitSearch
{
	MlTreeBuilder *b;
	Cand	   *c;				/* gain, feature, bin, sides of the best */
	const double *P;			/* the node's totals */
	double		parent;			/* their score */
	double	   *Lb;				/* scratch: a split's left totals */
	double	   *Rb;				/* and its right ones */
	double	   *best_l;			/* the best split's left totals */
	int			best_cat_n;		/* categorical best: categories ordered */
	CatOrder	best_order[ML_TREES_NBIN];	/* in this order */
	/* the feature searched */
	int			j;
	const double *hj;			/* its histogram */
	const double *M;			/* its NaN slot */
	int			nb;				/* its value bins */
	bool		has_missing;	/* rows with NaN reach this node */
} SplitSearch;

/*
 * Main thread only: max_features (maxf) of the nf allowed features at
 * random into b->feats, in feature order for ties.
 */
static void
sample_features(MlTreeBuilder *b, int nf, int maxf, uint64 *rng)
{
	memcpy(b->feats, b->jfeat, sizeof(int) * nf);
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

/*
 * The next split of a pass: the rows of histogram slot e move left (Lb),
 * the right side is the rest of the node's totals P. The callers hold the
 * arrays in locals: through the SplitSearch every store would reload them.
 */
static pg_attribute_always_inline void
split_add(double *Lb, double *Rb, const double *P, const double *e, int nout)
{
	for (int k = 0; k < nout + 2; k++)
	{
		Lb[k] += e[k];
		Rb[k] = P[k] - Lb[k];
	}
}

/*
 * Whether the split at s->Lb, s->Rb (bin: its cut) is allowed and better
 * than the best so far; if so it becomes the best.
 */
static pg_attribute_always_inline bool
split_keep(SplitSearch *s, int bin, bool categorical, bool mleft, int nout)
{
	MlTreeBuilder *b = s->b;
	Cand	   *c = s->c;
	const double *Lb = s->Lb;
	const double *Rb = s->Rb;
	double		gain;

	if (!split_ok(b, Lb, Rb, nout))
		return false;
	gain = score_of(Lb, nout, b->p.l2) + score_of(Rb, nout, b->p.l2) - s->parent;
	if (!(gain > c->gain && gain > b->p.min_gain_to_split && gain > 0))
		return false;
	c->gain = gain;
	c->feature = s->j;
	c->bin = bin;
	c->categorical = categorical;
	/* no NaN seen here: NaN follows the larger side */
	c->missing_left = s->has_missing ? mleft : Lb[nout + 1] >= Rb[nout + 1];
	memcpy(s->best_l, Lb, sizeof(double) * (nout + 2));
	return true;
}

/*
 * The splits of numeric feature s->j: bins up to a cut go left, NaN tried
 * on each side when there is any; the best kept in s.
 */
static pg_attribute_always_inline void
find_numeric(SplitSearch *s, int nout)
{
	int			S = nout + 2;
	const double *hj = s->hj;
	double	   *Lb = s->Lb;
	double	   *Rb = s->Rb;
	bool		has_missing = s->has_missing;

	for (int pass = 0; pass < (has_missing ? 2 : 1); pass++)
	{
		bool		mleft = pass == 1;
		int			last = (has_missing && !mleft) ? s->nb - 1 : s->nb - 2;

		for (int k = 0; k < S; k++)
			Lb[k] = mleft ? s->M[k] : 0;
		for (int bin = 0; bin <= last; bin++)
		{
			const double *e = hj + (size_t) bin * S;

			if (e[nout + 1] == 0 && bin < last)
				continue;		/* same split as the previous bin */
			split_add(Lb, Rb, s->P, e, nout);
			if (Rb[nout + 1] < s->b->p.min_samples_leaf)
				break;
			(void) split_keep(s, bin, false, mleft, nout);
		}
	}
}

/*
 * The splits of categorical feature s->j: its categories present ordered
 * by gradient over hessian, the first ones of that order going left, NaN
 * tried on each side when there is any; the best kept in s.
 */
static pg_attribute_always_inline void
find_categorical(SplitSearch *s, int nout)
{
	int			S = nout + 2;
	CatOrder	order[ML_TREES_NBIN];
	int			m = 0;
	int			kk = 0;

	if (nout > 1)
	{
		/* order by the output with the largest total (a class) */
		for (int k = 1; k < nout; k++)
			if (fabs(s->P[k]) > fabs(s->P[kk]))
				kk = k;
	}
	for (int bin = 0; bin < s->nb; bin++)
	{
		const double *e = s->hj + (size_t) bin * S;

		if (e[nout + 1] > 0)
		{
			order[m].key = e[kk] / (e[nout] + CAT_SMOOTH);
			order[m].bin = bin;
			m++;
		}
	}
	if (m + (s->has_missing ? 1 : 0) < 2)
		return;
	qsort(order, m, sizeof(CatOrder), cmp_cat);
	for (int pass = 0; pass < (s->has_missing ? 2 : 1); pass++)
	{
		bool		mleft = pass == 1;
		int			last = (s->has_missing && !mleft) ? m : m - 1;
		double	   *Lb = s->Lb;

		for (int k = 0; k < S; k++)
			Lb[k] = mleft ? s->M[k] : 0;
		for (int t = 0; t < last; t++)
		{
			split_add(Lb, s->Rb, s->P, s->hj + (size_t) order[t].bin * S, nout);
			/* bin: the categories in the left set */
			if (split_keep(s, t + 1, true, mleft, nout))
			{
				s->best_cat_n = m;
				memcpy(s->best_order, order, sizeof(CatOrder) * m);
			}
		}
	}
}

/* The bins going left under cand c's split, into gl (256 flags). */
static void
set_goleft(const SplitSearch *s, const Cand *c, uint8 *gl)
{
	if (c->categorical)
	{
		memset(gl, 0, ML_TREES_NBIN);
		for (int t = 0; t < c->bin && t < s->best_cat_n; t++)
			gl[s->best_order[t].bin] = 1;
	}
	else
	{
		for (int bin = 0; bin < ML_TREES_NBIN; bin++)
			gl[bin] = bin <= c->bin;
	}
	gl[ML_TREES_MISSING_BIN] = c->missing_left;
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
	double		L[64];
	double		R[64];
	const double *hist = b->hists[c->hist];
	int			nf;
	const int  *feats;
	int			maxf;
	SplitSearch s;

	s.b = b;
	s.c = c;
	s.P = b->tot + (size_t) ci * S;
	s.best_l = b->ltot + (size_t) ci * S;
	s.parent = score_of(s.P, nout, b->p.l2);
	s.best_cat_n = 0;
	c->gain = -1;
	s.Lb = S <= 64 ? L : palloc(sizeof(double) * S);
	s.Rb = S <= 64 ? R : palloc(sizeof(double) * S);
	nf = b->jnfeat;
	feats = b->jfeat;
	maxf = (b->p.max_features > 0 && b->p.max_features < nf) ? b->p.max_features : nf;
	if (maxf < nf)
	{
		/* main thread only: a random subset */
		sample_features(b, nf, maxf, rng);
		feats = b->feats;
	}
	for (int fi = 0; fi < maxf; fi++)
	{
		s.j = feats[fi];
		s.hj = hist + b->hoff[s.j] * S;
		s.M = s.hj + (size_t) b->B->span[s.j] * S;
		s.nb = b->B->nbins[s.j];
		s.has_missing = s.M[nout + 1] > 0;
		if (!b->B->categorical[s.j])
			find_numeric(&s, nout);
		else
			find_categorical(&s, nout);
	}
	if (c->gain > 0)
		set_goleft(&s, c, b->goleft + (size_t) ci * ML_TREES_NBIN);
	if (s.Lb != L)
	{
		pfree(s.Lb);
		pfree(s.Rb);
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

/* thread: task = a cand of b->finds: its best split */
static void
find_task(void *ctx, int task, int worker)
{
	MlTreeBuilder *b = ctx;

	(void) worker;
	find_split(b, b->finds[task], NULL);
}

/* Find the splits of b->finds, in parallel when that is safe. */
void
MlTreeFindPass(MlTreeBuilder *b, uint64 *rng)
{
	if (b->p.max_features == 0 && b->S <= 64 && b->nfinds > 1)
		MlTreePoolRun(b->pool, find_task, b, b->nfinds);
	else
		for (int k = 0; k < b->nfinds; k++)
			find_split(b, b->finds[k], rng);
}
