/*
 * impute_chain.c
 *	  Chained regressions: every numeric column with gaps is regressed on
 *	  the current values of all the others, round-robin, starting from mean
 *	  fills, until the fills stop changing (as scikit-learn's
 *	  IterativeImputer does). Where every column has gaps, this uses what
 *	  each row does have, where a single regression sees only means.
 *
 * 'auto' scores the chain on the same holdout cells as its other
 * candidates (all members' holdouts masked at once) and takes it for the
 * columns where it wins. The fitted chain is each member's last-round
 * regression plus the number of rounds: replaying it means mean starts,
 * then that many rounds of the regressions, which ml_impute itself does
 * to produce its fills, so a recipe gives the same values on the same rows.
 *
 * A categorical column with gaps (at most ML_CHAIN_MAX_LEVELS levels) that
 * a member reads is a member too, through its levels' indicators: each is
 * regressed like a numeric column, its gaps start at the level's share and
 * carry continuous values during the rounds, and the members read them
 * in place of the column's one-hot levels. That is what IterativeImputer
 * does with the levels one-hot (a hidden category missing in all its
 * indicators), and a gap then weighs as the levels' predicted shares, not
 * as the one level the column's own fill picked. The indicators fill
 * nothing: the column keeps its own fill.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "clean/impute.h"
#include "core/linalg.h"

#define CHAIN_MAX_ROUNDS	10
#define CHAIN_TOL			1e-3	/* largest change of a fill, in sds, that still counts */
#define CHAIN_SEARCH_ROWS	10000	/* rows a member is fitted on while scoring */
#define CHAIN_FIT_ROWS		50000	/* ... in the final fit */
#define CHAIN_LAMBDA		1e-2	/* penalty with many rows per input (else Bayesian) */
#define CHAIN_SCORE_ROWS	5000	/* rows of a larger frame the chain is scored on */
#define CHAIN_FOLD_ROWS		1000	/* smaller frames: several folds */
#define CHAIN_FOLDS			5
#define CHAIN_BLOCK			1024
#define CHAIN_CHANCE_GAPS	20		/* fewer gaps: shared gaps are chance */

typedef struct Member
{
	int			col;
	int			level;			/* an indicator member's level, -1 for a number */
	MlFeatures *feat;
	double	   *y;				/* current values: the column's, or the indicator's */
	int64	   *train;			/* rows the regression learns from */
	int64		ntrain;
	int64	   *cells;			/* rows whose value the chain iterates */
	int64		ncells;
	double		mean;
	double		sd;				/* scale of a change of a value */
	double	   *beta;
	double	   *rbeta;			/* when kept: the coefficients of every round */
} Member;

/*
 * A categorical member column: every row's value of each level's
 * indicator, 0 or 1 where the column is observed, iterated on its gaps.
 * The numeric members read them through their one-hot inputs of the column
 * (MlKey.soft), as IterativeImputer, fed the levels one-hot with a hidden
 * category missing in all its indicators, regresses on them: a gap then
 * counts as the levels' current predicted shares, not as the one level
 * the column's own fill chose.
 */
typedef struct CatGroup
{
	MlKey		key;			/* the column's codes in the group's levels */
	double	  **ind;			/* [level][row] */
} CatGroup;

/* The members in the order they run, and the categorical columns among them. */
typedef struct ChainPlan
{
	int			n;
	Member	   *mb;				/* col, level, feat, y of each member */
	int			ncat;
	CatGroup   *cat;
	int		   *numidx;			/* member index of each numeric column asked */
} ChainPlan;

/*
 * A member's inputs: those of a regression, with numeric columns as
 * numbers only (the chain has their current values; their one-hot levels
 * would swamp the rows of a small table), categorical levels and datetime
 * parts one-hot. A column mostly missing where the target is missing is
 * left out, as for a regression (where columns go missing together, the
 * chain's holdout, which hides one cell of a row, would see it there and
 * flatter itself: the reference table's partner columns scored 0.78
 * instead of 0.29 with them), except where the target has fewer than
 * CHAIN_CHANCE_GAPS gaps: there, two gaps of three in the same rows
 * happen by chance, and the column is an input (as IterativeImputer's;
 * longley and linnerud then match it).
 */
static MlFeatures *
chain_features(MlFrame *frame, int target, MlImputeOptions *opts)
{
	MlColumn   *col = &frame->cols[target];
	bool	   *gap = col->wasnull ? col->wasnull : col->isnull;
	int64		ngaps = 0;

	for (int64 r = 0; r < frame->nrows; r++)
		ngaps += gap[r];
	return MlImputeFeatures(frame, target, opts, false, ngaps < CHAIN_CHANCE_GAPS);
}

static bool *
gaps_of(MlColumn *col)
{
	return col->wasnull ? col->wasnull : col->isnull;
}

static int64
count_gaps(MlFrame *frame, int c)
{
	MlColumn   *col = &frame->cols[c];
	bool	   *gap = gaps_of(col);
	int64		n = 0;

	for (int64 r = 0; r < frame->nrows; r++)
		n += gap[r] || col->isnull[r];
	return n;
}

/*
 * Whether a one-hot input of a numeric member joins the chain: a coded
 * column's own levels (not a datetime part), 2 to ML_CHAIN_MAX_LEVELS of
 * them, with gaps, and not a numeric member itself.
 */
static bool
categorical_member(MlFrame *frame, MlKey *key, const int *cols, int n)
{
	MlColumn   *col = &frame->cols[key->col];

	if (key->part >= 0 || col->code == NULL || key->nlevels < 2 ||
		key->nlevels > ML_CHAIN_MAX_LEVELS || key->nlevels != col->nlevels)
		return false;
	for (int i = 0; i < n; i++)
		if (cols[i] == key->col)
			return false;
	return count_gaps(frame, key->col) > 0;
}

/*
 * The categorical members kept, fewest gaps first, while their indicators
 * number at most ML_CHAIN_MAX_INDICATORS (a column that would pass it is
 * left out, a later one with fewer levels may still fit); returns how many.
 */
static int
cap_indicators(MlFrame *frame, int *catcol, int64 *catgaps, int ncat)
{
	int			kept = 0;
	int			total = 0;

	for (int g = 0; g < ncat; g++)
	{
		int			nlevels = frame->cols[catcol[g]].nlevels;

		if (total + nlevels > ML_CHAIN_MAX_INDICATORS)
			continue;
		total += nlevels;
		catcol[kept] = catcol[g];
		catgaps[kept] = catgaps[g];
		kept++;
	}
	return kept;
}

/*
 * The chain over the numeric columns cols[0..n): them, and the categorical
 * columns with gaps their regressions read (categorical_member), one
 * member per level; in order of gaps, fewest first, a categorical column
 * before the first numeric one with more gaps (numeric ones keep their
 * order, so a chain without categories runs as before).
 */
static ChainPlan *
chain_plan(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts)
{
	ChainPlan	   *p = palloc0(sizeof(ChainPlan));
	MlFeatures **feat = palloc(sizeof(MlFeatures *) * Max(n, 1));
	int		   *catcol = palloc(sizeof(int) * Max(frame->ncols, 1));
	int64	   *catgaps = palloc(sizeof(int64) * Max(frame->ncols, 1));
	MlFeatures **catfeat = palloc(sizeof(MlFeatures *) * Max(frame->ncols, 1));
	bool	   *emitted;
	int			ncat = 0;
	int			cap = n;

	for (int i = 0; i < n; i++)
	{
		feat[i] = chain_features(frame, cols[i], opts);
		for (int j = 0; j < feat[i]->nkey; j++)
		{
			MlKey	   *key = &feat[i]->keys[j];
			int64		gaps;
			int			g;

			for (g = 0; g < ncat; g++)
				if (catcol[g] == key->col)
					break;
			if (g < ncat || !categorical_member(frame, key, cols, n))
				continue;
			/* sorted by gaps as found (stable): fewest first */
			gaps = count_gaps(frame, key->col);
			for (g = ncat; g > 0 && catgaps[g - 1] > gaps; g--)
				;
			memmove(catcol + g + 1, catcol + g, sizeof(int) * (ncat - g));
			memmove(catgaps + g + 1, catgaps + g, sizeof(int64) * (ncat - g));
			catcol[g] = key->col;
			catgaps[g] = gaps;
			ncat++;
		}
	}
	ncat = cap_indicators(frame, catcol, catgaps, ncat);
	for (int g = 0; g < ncat; g++)
		cap += frame->cols[catcol[g]].nlevels;
	p->ncat = ncat;
	p->cat = palloc0(sizeof(CatGroup) * Max(ncat, 1));
	p->mb = palloc0(sizeof(Member) * Max(cap, 1));
	p->numidx = palloc(sizeof(int) * Max(n, 1));
	emitted = palloc0(sizeof(bool) * Max(ncat, 1));
	for (int g = 0; g < ncat; g++)
	{
		MlColumn   *col = &frame->cols[catcol[g]];

		p->cat[g].key = (MlKey) {catcol[g], -1, col->nlevels, NULL, NULL, NULL};
		p->cat[g].ind = palloc(sizeof(double *) * col->nlevels);
		for (int l = 0; l < col->nlevels; l++)
			p->cat[g].ind[l] = palloc(sizeof(double) * Max(frame->nrows, 1));
		catfeat[g] = chain_features(frame, catcol[g], opts);
	}
	for (int i = 0; i <= n; i++)
	{
		int64		gi = i < n ? count_gaps(frame, cols[i]) : PG_INT64_MAX;

		for (int g = 0; g < ncat; g++)
		{
			if (emitted[g] || (catgaps[g] >= gi && i < n))
				continue;
			emitted[g] = true;
			for (int l = 0; l < p->cat[g].key.nlevels; l++)
			{
				Member	   *m = &p->mb[p->n++];

				m->col = catcol[g];
				m->level = l;
				m->feat = catfeat[g];
				m->y = p->cat[g].ind[l];
			}
		}
		if (i == n)
			break;
		p->numidx[i] = p->n;
		p->mb[p->n].col = cols[i];
		p->mb[p->n].level = -1;
		p->mb[p->n].feat = feat[i];
		p->mb[p->n].y = frame->cols[cols[i]].x;
		p->n++;
	}
	return p;
}

/*
 * Point the members' one-hot inputs of the categorical members' columns at
 * their indicators (or, with on false, back at their codes).
 */
static void
set_soft(Member *mb, int n, CatGroup *cat, int ncat, bool on)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < mb[i].feat->nkey; j++)
		{
			MlKey	   *key = &mb[i].feat->keys[j];

			key->soft = NULL;
			for (int g = 0; on && g < ncat; g++)
				if (key->part < 0 && key->col == cat[g].key.col && key->nlevels == cat[g].key.nlevels)
					key->soft = cat[g].ind;
		}
}

/* Up to max of the rows, evenly spread (deterministic). */
static void
thin_rows(Member *mb, int64 max)
{
	if (mb->ntrain <= max)
		return;
	for (int64 i = 0; i < max; i++)
		mb->train[i] = mb->train[(int64) ((double) i * mb->ntrain / max)];
	mb->ntrain = max;
}

/*
 * Round-robin until the largest change is below the tolerance; the
 * members' values (the frame's cells, the indicators) hold the current
 * fills. Returns the rounds run.
 */
static int
chain_rounds(MlFrame *frame, Member *mb, int n)
{
	int			wmax = 1;
	double	   *X,
			   *y,
			   *xtx,
			   *xty;
	int			round;

	for (int i = 0; i < n; i++)
		wmax = Max(wmax, mb[i].feat->width);
	X = palloc(sizeof(double) * CHAIN_BLOCK * wmax);
	y = palloc(sizeof(double) * CHAIN_BLOCK);
	xtx = palloc(sizeof(double) * wmax * wmax);
	xty = palloc(sizeof(double) * wmax);
	for (round = 1; round <= CHAIN_MAX_ROUNDS; round++)
	{
		double		delta = 0;

		for (int i = 0; i < n; i++)
		{
			double	   *val = mb[i].y;
			int			w = mb[i].feat->width;
			double		sd = mb[i].sd;

			double		yy = 0;
			double		maxabs = 0;
			double		unit;

			for (int64 k = 0; k < mb[i].ntrain; k++)
				maxabs = Max(maxabs, fabs(val[mb[i].train[k]]));
			unit = MlTargetUnit(maxabs);
			memset(xtx, 0, sizeof(double) * w * w);
			memset(xty, 0, sizeof(double) * w);
			for (int64 b = 0; b < mb[i].ntrain; b += CHAIN_BLOCK)
			{
				int			nb = (int) Min(CHAIN_BLOCK, mb[i].ntrain - b);

				MlFeatureBlock(frame, mb[i].feat, mb[i].train + b, nb, 1.0, X);
				for (int k = 0; k < nb; k++)
				{
					y[k] = val[mb[i].train[b + k]] * unit;
					yy += y[k] * y[k];
				}
				MlLinalgGramAdd(X, nb, w, y, xtx, xty);
				CHECK_FOR_INTERRUPTS();
			}
			if (mb[i].ntrain < 2)
			{
				/* every learning row held out: the member predicts its mean */
				memset(mb[i].beta, 0, sizeof(double) * w);
				mb[i].beta[0] = mb[i].mean;
			}
			else if (mb[i].ntrain > RIDGE_RICH_ROWS * (int64) w)
				MlLinalgRidgeSolve(xtx, xty, w, mb[i].ntrain, CHAIN_LAMBDA, mb[i].beta);
			else
				(void) MlRidgeFitBayes(xtx, xty, yy, w, mb[i].ntrain, mb[i].beta);
			if (mb[i].ntrain >= 2 && unit != 1)
				MlUnscaleCoefficients(xtx, xty, w, mb[i].ntrain, unit, mb[i].beta);
			if (mb[i].rbeta)
				memcpy(mb[i].rbeta + (int64) (round - 1) * w, mb[i].beta, sizeof(double) * w);
			for (int64 k = 0; k < mb[i].ncells; k++)
			{
				int64		r = mb[i].cells[k];
				double		v = 0;

				MlFeatureRow(frame, mb[i].feat, r, 1.0, X);
				for (int j = 0; j < w; j++)
					v += X[j] * mb[i].beta[j];
				delta = Max(delta, fabs(v - val[r]) / sd);
				val[r] = v;
				if ((k & 4095) == 0)
					CHECK_FOR_INTERRUPTS();
			}
		}
		if (delta < CHAIN_TOL)
			break;
	}
	return Min(round, CHAIN_MAX_ROUNDS);
}

/*
 * Members' rows and starts. hold[i], when given and not NULL, marks cells
 * of member i that are hidden (scored) as well as its gaps; inrow, when
 * given, the rows the chain runs on (the others are left alone). Sets the
 * cells to the mean of the learning rows (a level's share for its
 * indicator) and marks a numeric member's cells present; an indicator is
 * 0 or 1 on every other row (0 where the column is missing).
 */
static void
chain_setup(MlFrame *frame, Member *mb, int n, bool **hold, const bool *inrow, int64 maxrows,
			CatGroup *cat, int ncat)
{
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[mb[i].col];
		bool	   *gap = col->isnull;
		bool	   *wgap = gaps_of(col);
		bool	   *hidden = hold ? hold[i] : NULL;
		MlKey	   *key = NULL;
		double		sum = 0,
					var;

		for (int g = 0; mb[i].level >= 0 && g < ncat; g++)
			if (cat[g].key.col == mb[i].col)
				key = &cat[g].key;
		mb[i].train = palloc(sizeof(int64) * Max(frame->nrows, 1));
		mb[i].cells = palloc(sizeof(int64) * Max(frame->nrows, 1));
		mb[i].ntrain = mb[i].ncells = 0;
		for (int64 r = 0; r < frame->nrows; r++)
		{
			if (key)
			{
				/* an indicator: the column's gaps as loaded are its cells */
				int			code = MlKeyCode(frame, key, r);

				mb[i].y[r] = code == mb[i].level ? 1 : 0;
				if (inrow && !inrow[r])
					continue;
				if (wgap[r] || gap[r])
					mb[i].cells[mb[i].ncells++] = r;
				else if (code >= 0)
				{
					mb[i].train[mb[i].ntrain++] = r;
					sum += mb[i].y[r];
				}
				continue;
			}
			if (inrow && !inrow[r])
				continue;
			if (gap[r] || (hidden && hidden[r]))
				mb[i].cells[mb[i].ncells++] = r;
			else if (isfinite(col->x[r]))
			{
				mb[i].train[mb[i].ntrain++] = r;
				sum += col->x[r];
			}
		}
		mb[i].mean = mb[i].ntrain ? sum / mb[i].ntrain : 0;
		if (isinf(sum) && !key)
		{
			/* values near the double range (1e307): shares of the mean stay finite */
			mb[i].mean = 0;
			for (int64 k = 0; k < mb[i].ntrain; k++)
				mb[i].mean += col->x[mb[i].train[k]] / mb[i].ntrain;
		}
		var = mb[i].mean * (1 - mb[i].mean);
		if (key)
			mb[i].sd = var > 0 ? sqrt(var) : 1;
		else
			mb[i].sd = col->sd > 0 ? col->sd : 1;
		thin_rows(&mb[i], maxrows);
		mb[i].beta = palloc0(sizeof(double) * mb[i].feat->width);
	}
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[mb[i].col];

		for (int64 k = 0; k < mb[i].ncells; k++)
		{
			mb[i].y[mb[i].cells[k]] = mb[i].mean;
			if (mb[i].level < 0)
				col->isnull[mb[i].cells[k]] = false;
		}
	}
}

typedef struct Saved
{
	double	   *x;
	bool	   *isnull;
} Saved;

static Saved *
save_columns(MlFrame *frame, const int *cols, int n)
{
	Saved	   *s = palloc(sizeof(Saved) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		s[i].x = palloc(sizeof(double) * Max(frame->nrows, 1));
		s[i].isnull = palloc(sizeof(bool) * Max(frame->nrows, 1));
		memcpy(s[i].x, col->x, sizeof(double) * frame->nrows);
		memcpy(s[i].isnull, col->isnull, sizeof(bool) * frame->nrows);
	}
	return s;
}

static void
restore_columns(MlFrame *frame, const int *cols, int n, Saved *s)
{
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		memcpy(col->x, s[i].x, sizeof(double) * frame->nrows);
		memcpy(col->isnull, s[i].isnull, sizeof(bool) * frame->nrows);
	}
}

/*
 * Holdout error of the chain for each of the columns: normalised RMSE on
 * held-out observed cells (NaN when none). A fold hides, in each row, at
 * most one observed cell (the member (h(row) + fold) mod n, h a hash), so
 * every hidden cell is predicted from a row that has what it really has:
 * hiding a share of every column at once would score the chain on rows
 * far emptier than the table's. A frame with fewer than CHAIN_FOLD_ROWS
 * rows has min(n, CHAIN_FOLDS) folds (with n <= CHAIN_FOLDS every observed
 * cell is scored once), a larger one a single fold on CHAIN_SCORE_ROWS rows
 * spread over it. With fewer than CHAIN_FOLDS members, a fold hiding one
 * cell in every row would hide 1 / n of each column (half of it with two),
 * and score the chain on columns far emptier than the table's: the rows
 * are then also split into ceil(CHAIN_FOLDS / n) groups, a fold hiding
 * cells in one group only (every observed cell still scored once). oof,
 * when given (n arrays of a value per row), gets the chain's prediction of
 * every scored cell, NaN elsewhere. The frame is left as it was.
 */
void
MlChainScore(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, double *err,
			 double **oof)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_impute chain score",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool	  **hold = palloc(sizeof(bool *) * Max(n, 1));
	double	   *sse = palloc0(sizeof(double) * Max(n, 1));
	int64	   *cnt = palloc0(sizeof(int64) * Max(n, 1));
	bool	   *inrow = NULL;
	int			groups = frame->nrows < CHAIN_FOLD_ROWS && n < CHAIN_FOLDS ?
		(CHAIN_FOLDS + n - 1) / n : 1;
	int			folds = frame->nrows < CHAIN_FOLD_ROWS ? Min(n, CHAIN_FOLDS) * groups : 1;
	Saved	   *saved = save_columns(frame, cols, n);
	ChainPlan	   *plan = chain_plan(frame, cols, n, opts);
	bool	  **mhold = palloc0(sizeof(bool *) * Max(plan->n, 1));

	if (frame->nrows > CHAIN_SCORE_ROWS)
	{
		inrow = palloc0(sizeof(bool) * frame->nrows);
		for (int64 k = 0; k < CHAIN_SCORE_ROWS; k++)
			inrow[(int64) ((double) k * frame->nrows / CHAIN_SCORE_ROWS)] = true;
	}
	for (int i = 0; i < n; i++)
	{
		hold[i] = palloc0(sizeof(bool) * Max(frame->nrows, 1));
		mhold[plan->numidx[i]] = hold[i];	/* indicators hide nothing: they are not scored */
		for (int64 r = 0; oof && r < frame->nrows; r++)
			oof[i][r] = NAN;
	}
	set_soft(plan->mb, plan->n, plan->cat, plan->ncat, true);
	for (int f = 0; f < folds; f++)
	{
		Member	   *mb = palloc(sizeof(Member) * Max(plan->n, 1));

		memcpy(mb, plan->mb, sizeof(Member) * plan->n);
		for (int i = 0; i < n; i++)
		{
			MlColumn   *col = &frame->cols[cols[i]];

			for (int64 r = 0; r < frame->nrows; r++)
			{
				uint64		h = ((uint64) r * UINT64CONST(0x9E3779B97F4A7C15)) >> 33;
				uint64		g = ((uint64) (r + opts->seed) * UINT64CONST(0xC2B2AE3D27D4EB4F)) >> 40;

				hold[i][r] = (inrow == NULL || inrow[r]) && !col->isnull[r] &&
					isfinite(col->x[r]) && (int) (g % groups) == f / n &&
					(int) ((h + (uint64) opts->seed + i) % n) == f % n;
			}
		}
		chain_setup(frame, mb, plan->n, mhold, inrow, CHAIN_SEARCH_ROWS, plan->cat, plan->ncat);
		(void) chain_rounds(frame, mb, plan->n);
		for (int i = 0; i < n; i++)
		{
			MlColumn   *col = &frame->cols[cols[i]];

			for (int64 r = 0; r < frame->nrows; r++)
				if (hold[i][r])
				{
					double		d = (col->x[r] - saved[i].x[r]) * MlLossUnit(col);

					sse[i] += d * d;
					cnt[i]++;
					if (oof)
						oof[i][r] = col->x[r];
				}
		}
		restore_columns(frame, cols, n, saved);
		for (int i = 0; i < plan->n; i++)
		{
			pfree(mb[i].train);
			pfree(mb[i].cells);
			pfree(mb[i].beta);
		}
		pfree(mb);
		CHECK_FOR_INTERRUPTS();
	}
	set_soft(plan->mb, plan->n, plan->cat, plan->ncat, false);
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		err[i] = cnt[i] == 0 ? NAN :
			sqrt(sse[i] / cnt[i]) / MlLossUnit(col) / (col->sd > 0 ? col->sd : 1);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * Fit the chain over the columns on every observed cell. Returns one
 * model per column (method chain, sharing the members' regressions: the
 * columns', and those of the indicators of the categorical columns with
 * gaps they read), allocated in the caller's context; err[i] is the
 * column's holdout error. The frame is left as it was.
 */
MlModel **
MlChainFit(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, const double *err)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(outer, "ml_impute chain fit", ALLOCSET_DEFAULT_SIZES);
	ChainPlan	   *plan = chain_plan(frame, cols, n, opts);
	Member	   *mb = plan->mb;
	MlModel   **members = palloc(sizeof(MlModel *) * Max(plan->n, 1));
	MlModel   **chain = palloc(sizeof(MlModel *) * Max(n, 1));
	Saved	   *saved;
	int			rounds;

	for (int i = 0; i < plan->n; i++)
		mb[i].rbeta = palloc(sizeof(double) * CHAIN_MAX_ROUNDS * mb[i].feat->width);
	MemoryContextSwitchTo(cxt);
	saved = save_columns(frame, cols, n);
	set_soft(mb, plan->n, plan->cat, plan->ncat, true);
	chain_setup(frame, mb, plan->n, NULL, NULL, CHAIN_FIT_ROWS, plan->cat, plan->ncat);
	rounds = chain_rounds(frame, mb, plan->n);
	set_soft(mb, plan->n, plan->cat, plan->ncat, false);
	restore_columns(frame, cols, n, saved);
	MemoryContextSwitchTo(outer);

	for (int i = 0; i < plan->n; i++)
	{
		MlModel    *m = palloc0(sizeof(MlModel));

		m->method = ML_METHOD_REGRESSION;
		m->target = mb[i].col;
		m->fill = mb[i].mean;
		m->fill_level = -1;
		m->feat = mb[i].feat;
		m->beta = palloc(sizeof(double) * mb[i].feat->width);
		memcpy(m->beta, mb[i].beta, sizeof(double) * mb[i].feat->width);
		m->round_beta = mb[i].rbeta;
		m->nround_beta = rounds;
		m->metric = "nrmse";
		m->error = NAN;
		if (mb[i].level >= 0)
		{
			m->indicator = true;
			m->ind_level = mb[i].level;
			m->ind_key = (MlKey) {mb[i].col, -1, frame->cols[mb[i].col].nlevels, NULL, NULL, NULL};
		}
		members[i] = m;
	}
	for (int i = 0; i < n; i++)
	{
		MlModel    *m = palloc0(sizeof(MlModel));

		members[plan->numidx[i]]->error = err[i];
		m->method = ML_METHOD_CHAIN;
		m->target = cols[i];
		m->fill = mb[plan->numidx[i]].mean;
		m->fill_level = -1;
		m->nchain = plan->n;
		m->chain = members;
		m->rounds = rounds;
		m->metric = "nrmse";
		m->error = err[i];
		chain[i] = m;
	}
	MemoryContextDelete(cxt);
	return chain;
}

/* The member of a chain that fills a numeric column, -1 if none does. */
int
MlChainMemberOf(MlModel *chain, int target)
{
	for (int i = 0; i < chain->nchain; i++)
		if (chain->chain[i]->target == target && !chain->chain[i]->indicator)
			return i;
	return -1;
}

/* A chain's numeric columns; *ncategories: its categorical ones. */
int
MlChainColumns(MlModel *chain, int *ncategories)
{
	int			n = 0;

	*ncategories = 0;
	for (int i = 0; i < chain->nchain; i++)
	{
		MlModel    *m = chain->chain[i];

		if (!m->indicator)
			n++;
		else if (m->ind_level == 0 || i == 0 || chain->chain[i - 1]->target != m->target)
			(*ncategories)++;
	}
	return n;
}

/*
 * Apply a fitted chain to the frame: the members' gaps (as loaded) start
 * at their means (an indicator at its level's share), then the rounds run.
 * Returns, per member, a value for every row (meaningful on its gaps;
 * NULL for an indicator). The frame is left as it was.
 */
double **
MlChainRun(MlFrame *frame, MlModel *chain)
{
	int			n = chain->nchain;
	int		   *cols = palloc(sizeof(int) * Max(n, 1));
	int			ncols = 0;
	int64	  **cells = palloc(sizeof(int64 *) * Max(n, 1));
	int64	   *ncells = palloc0(sizeof(int64) * Max(n, 1));
	double	  **values = palloc0(sizeof(double *) * Max(n, 1));
	double	  **y = palloc(sizeof(double *) * Max(n, 1));
	int32	   *lvls = palloc(sizeof(int32) * Max(frame->nrows, 1));
	double	   *v = palloc(sizeof(double) * Max(frame->nrows, 1));
	CatGroup   *cat = palloc0(sizeof(CatGroup) * Max(n, 1));
	int			ncat = 0;
	Member	   *mb = palloc0(sizeof(Member) * Max(n, 1));
	Saved	   *saved;

	for (int i = 0; i < n; i++)
	{
		MlModel    *m = chain->chain[i];
		int			g;

		mb[i].feat = m->feat;
		if (!m->indicator)
		{
			cols[ncols++] = m->target;
			y[i] = frame->cols[m->target].x;
			continue;
		}
		for (g = 0; g < ncat; g++)
			if (cat[g].key.col == m->target)
				break;
		if (g == ncat)
		{
			/* every level's indicator, 0 where none of its members is (read-back refuses that) */
			cat[g].key = m->ind_key;
			cat[g].ind = palloc(sizeof(double *) * Max(m->ind_key.nlevels, 1));
			for (int l = 0; l < m->ind_key.nlevels; l++)
				cat[g].ind[l] = palloc0(sizeof(double) * Max(frame->nrows, 1));
			ncat++;
		}
		if (m->ind_level < 0 || m->ind_level >= cat[g].key.nlevels)
			elog(ERROR, "chain member level %d out of range", m->ind_level);
		y[i] = cat[g].ind[m->ind_level];
	}
	saved = save_columns(frame, cols, ncols);
	for (int i = 0; i < n; i++)
	{
		MlModel    *m = chain->chain[i];
		MlColumn   *col = &frame->cols[m->target];
		bool	   *gap = gaps_of(col);
		MlKey	   *key = &m->ind_key;

		cells[i] = palloc(sizeof(int64) * Max(frame->nrows, 1));
		for (int64 r = 0; r < frame->nrows; r++)
		{
			if (gap[r] || col->isnull[r])
				cells[i][ncells[i]++] = r;
			else if (m->indicator)
				y[i][r] = MlKeyCode(frame, key, r) == m->ind_level ? 1 : 0;
		}
		for (int64 k = 0; k < ncells[i]; k++)
		{
			y[i][cells[i][k]] = m->fill;
			if (!m->indicator)
				col->isnull[cells[i][k]] = false;
		}
	}
	set_soft(mb, n, cat, ncat, true);
	/*
	 * the fit's rounds, each with that round's coefficients: on the rows it
	 * was fitted on this gives the fit's own fills (a chain that has not
	 * settled in CHAIN_MAX_ROUNDS, as collinear columns may not, depends on
	 * its path, not only on its last regressions)
	 */
	for (int round = 0; round < chain->rounds; round++)
	{
		for (int i = 0; i < n; i++)
		{
			MlModel		step = *chain->chain[i];

			if (step.round_beta && round < step.nround_beta)
				step.beta = step.round_beta + (int64) round * step.feat->width;
			MlModelPredictRows(frame, &step, cells[i], ncells[i], v, lvls);
			for (int64 k = 0; k < ncells[i]; k++)
				y[i][cells[i][k]] = v[k];
			CHECK_FOR_INTERRUPTS();
		}
	}
	set_soft(mb, n, cat, ncat, false);
	for (int i = 0; i < n; i++)
	{
		if (!chain->chain[i]->indicator)
		{
			values[i] = palloc(sizeof(double) * Max(frame->nrows, 1));
			for (int64 r = 0; r < frame->nrows; r++)
				values[i][r] = NAN;
			for (int64 k = 0; k < ncells[i]; k++)
				values[i][cells[i][k]] = y[i][cells[i][k]];
		}
		pfree(cells[i]);
	}
	restore_columns(frame, cols, ncols, saved);
	for (int i = 0; i < ncols; i++)
	{
		pfree(saved[i].x);
		pfree(saved[i].isnull);
	}
	for (int g = 0; g < ncat; g++)
	{
		for (int l = 0; l < cat[g].key.nlevels; l++)
			pfree(cat[g].ind[l]);
		pfree(cat[g].ind);
	}
	pfree(saved);
	pfree(cells);
	pfree(ncells);
	pfree(cols);
	pfree(lvls);
	pfree(v);
	pfree(y);
	pfree(cat);
	pfree(mb);
	return values;
}
