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
	MlFeatures *feat;
	int64	   *train;			/* rows the regression learns from */
	int64		ntrain;
	int64	   *cells;			/* rows whose value the chain iterates */
	int64		ncells;
	double		mean;
	double	   *beta;
	double	   *rbeta;			/* when kept: the coefficients of every round */
} Member;

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
 * frame's cells hold the current fills. Returns the rounds run.
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
			MlColumn   *col = &frame->cols[mb[i].col];
			int			w = mb[i].feat->width;
			double		sd = col->sd > 0 ? col->sd : 1;

			double		yy = 0;

			memset(xtx, 0, sizeof(double) * w * w);
			memset(xty, 0, sizeof(double) * w);
			for (int64 b = 0; b < mb[i].ntrain; b += CHAIN_BLOCK)
			{
				int			nb = (int) Min(CHAIN_BLOCK, mb[i].ntrain - b);

				MlFeatureBlock(frame, mb[i].feat, mb[i].train + b, nb, 1.0, X);
				for (int k = 0; k < nb; k++)
				{
					y[k] = col->x[mb[i].train[b + k]];
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
			if (mb[i].rbeta)
				memcpy(mb[i].rbeta + (int64) (round - 1) * w, mb[i].beta, sizeof(double) * w);
			for (int64 k = 0; k < mb[i].ncells; k++)
			{
				int64		r = mb[i].cells[k];
				double		v = 0;

				MlFeatureRow(frame, mb[i].feat, r, 1.0, X);
				for (int j = 0; j < w; j++)
					v += X[j] * mb[i].beta[j];
				delta = Max(delta, fabs(v - col->x[r]) / sd);
				col->x[r] = v;
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
 * Members' rows and starts. hold[i], when given, marks cells of member i
 * that are hidden (scored) as well as its gaps; inrow, when given, the
 * rows the chain runs on (the others are left alone). Sets the cells to the
 * mean of the learning rows and marks them present.
 */
static void
chain_setup(MlFrame *frame, Member *mb, int n, bool **hold, const bool *inrow, int64 maxrows)
{
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[mb[i].col];
		bool	   *gap = col->isnull;
		double		sum = 0;

		mb[i].train = palloc(sizeof(int64) * Max(frame->nrows, 1));
		mb[i].cells = palloc(sizeof(int64) * Max(frame->nrows, 1));
		mb[i].ntrain = mb[i].ncells = 0;
		for (int64 r = 0; r < frame->nrows; r++)
		{
			if (inrow && !inrow[r])
				continue;
			if (gap[r] || (hold && hold[i][r]))
				mb[i].cells[mb[i].ncells++] = r;
			else if (isfinite(col->x[r]))
			{
				mb[i].train[mb[i].ntrain++] = r;
				sum += col->x[r];
			}
		}
		mb[i].mean = mb[i].ntrain ? sum / mb[i].ntrain : 0;
		thin_rows(&mb[i], maxrows);
		mb[i].beta = palloc0(sizeof(double) * mb[i].feat->width);
	}
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[mb[i].col];

		for (int64 k = 0; k < mb[i].ncells; k++)
		{
			col->x[mb[i].cells[k]] = mb[i].mean;
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
	MlFeatures **feat = palloc(sizeof(MlFeatures *) * Max(n, 1));
	bool	   *inrow = NULL;
	int			groups = frame->nrows < CHAIN_FOLD_ROWS && n < CHAIN_FOLDS ?
		(CHAIN_FOLDS + n - 1) / n : 1;
	int			folds = frame->nrows < CHAIN_FOLD_ROWS ? Min(n, CHAIN_FOLDS) * groups : 1;
	Saved	   *saved = save_columns(frame, cols, n);

	if (frame->nrows > CHAIN_SCORE_ROWS)
	{
		inrow = palloc0(sizeof(bool) * frame->nrows);
		for (int64 k = 0; k < CHAIN_SCORE_ROWS; k++)
			inrow[(int64) ((double) k * frame->nrows / CHAIN_SCORE_ROWS)] = true;
	}
	for (int i = 0; i < n; i++)
	{
		feat[i] = chain_features(frame, cols[i], opts);
		hold[i] = palloc0(sizeof(bool) * Max(frame->nrows, 1));
		for (int64 r = 0; oof && r < frame->nrows; r++)
			oof[i][r] = NAN;
	}
	for (int f = 0; f < folds; f++)
	{
		Member	   *mb = palloc0(sizeof(Member) * Max(n, 1));

		for (int i = 0; i < n; i++)
		{
			MlColumn   *col = &frame->cols[cols[i]];

			mb[i].col = cols[i];
			mb[i].feat = feat[i];
			for (int64 r = 0; r < frame->nrows; r++)
			{
				uint64		h = ((uint64) r * UINT64CONST(0x9E3779B97F4A7C15)) >> 33;
				uint64		g = ((uint64) (r + opts->seed) * UINT64CONST(0xC2B2AE3D27D4EB4F)) >> 40;

				hold[i][r] = (inrow == NULL || inrow[r]) && !col->isnull[r] &&
					isfinite(col->x[r]) && (int) (g % groups) == f / n &&
					(int) ((h + (uint64) opts->seed + i) % n) == f % n;
			}
		}
		chain_setup(frame, mb, n, hold, inrow, CHAIN_SEARCH_ROWS);
		(void) chain_rounds(frame, mb, n);
		for (int i = 0; i < n; i++)
		{
			MlColumn   *col = &frame->cols[cols[i]];

			for (int64 r = 0; r < frame->nrows; r++)
				if (hold[i][r])
				{
					double		d = col->x[r] - saved[i].x[r];

					sse[i] += d * d;
					cnt[i]++;
					if (oof)
						oof[i][r] = col->x[r];
				}
		}
		restore_columns(frame, cols, n, saved);
		CHECK_FOR_INTERRUPTS();
	}
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		err[i] = cnt[i] == 0 ? NAN : sqrt(sse[i] / cnt[i]) / (col->sd > 0 ? col->sd : 1);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/*
 * Fit the chain over the columns on every observed cell. Returns one
 * model per column (method chain, sharing the members' regressions),
 * allocated in the caller's context; err[i] is the column's holdout error.
 * The frame is left as it was.
 */
MlModel **
MlChainFit(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, const double *err)
{
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(outer, "ml_impute chain fit", ALLOCSET_DEFAULT_SIZES);
	Member	   *mb = palloc0(sizeof(Member) * Max(n, 1));
	MlModel   **members = palloc(sizeof(MlModel *) * Max(n, 1));
	MlModel   **chain = palloc(sizeof(MlModel *) * Max(n, 1));
	Saved	   *saved;
	int			rounds;

	for (int i = 0; i < n; i++)
	{
		mb[i].col = cols[i];
		mb[i].feat = chain_features(frame, cols[i], opts);
	}
	for (int i = 0; i < n; i++)
		mb[i].rbeta = palloc(sizeof(double) * CHAIN_MAX_ROUNDS * mb[i].feat->width);
	MemoryContextSwitchTo(cxt);
	saved = save_columns(frame, cols, n);
	chain_setup(frame, mb, n, NULL, NULL, CHAIN_FIT_ROWS);
	rounds = chain_rounds(frame, mb, n);
	restore_columns(frame, cols, n, saved);
	MemoryContextSwitchTo(outer);

	for (int i = 0; i < n; i++)
	{
		MlModel    *m = palloc0(sizeof(MlModel));

		m->method = ML_METHOD_REGRESSION;
		m->target = cols[i];
		m->fill = mb[i].mean;
		m->fill_level = -1;
		m->feat = mb[i].feat;
		m->beta = palloc(sizeof(double) * mb[i].feat->width);
		memcpy(m->beta, mb[i].beta, sizeof(double) * mb[i].feat->width);
		m->round_beta = mb[i].rbeta;
		m->nround_beta = rounds;
		m->metric = "nrmse";
		m->error = err[i];
		members[i] = m;
	}
	for (int i = 0; i < n; i++)
	{
		MlModel    *m = palloc0(sizeof(MlModel));

		m->method = ML_METHOD_CHAIN;
		m->target = cols[i];
		m->fill = mb[i].mean;
		m->fill_level = -1;
		m->nchain = n;
		m->chain = members;
		m->rounds = rounds;
		m->metric = "nrmse";
		m->error = err[i];
		chain[i] = m;
	}
	MemoryContextDelete(cxt);
	return chain;
}

/*
 * Apply a fitted chain to the frame: the members' gaps (as loaded) start
 * at their means, then the rounds run. Returns, per member, a value for
 * every row (meaningful on its gaps). The frame is left as it was.
 */
double **
MlChainRun(MlFrame *frame, MlModel *chain)
{
	int			n = chain->nchain;
	int		   *cols = palloc(sizeof(int) * Max(n, 1));
	int64	  **cells = palloc(sizeof(int64 *) * Max(n, 1));
	int64	   *ncells = palloc0(sizeof(int64) * Max(n, 1));
	double	  **values = palloc(sizeof(double *) * Max(n, 1));
	int32	   *lvls = palloc(sizeof(int32) * Max(frame->nrows, 1));
	double	   *v = palloc(sizeof(double) * Max(frame->nrows, 1));
	Saved	   *saved;

	for (int i = 0; i < n; i++)
		cols[i] = chain->chain[i]->target;
	saved = save_columns(frame, cols, n);
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];
		bool	   *gap = gaps_of(col);

		cells[i] = palloc(sizeof(int64) * Max(frame->nrows, 1));
		for (int64 r = 0; r < frame->nrows; r++)
			if (gap[r] || col->isnull[r])
				cells[i][ncells[i]++] = r;
		for (int64 k = 0; k < ncells[i]; k++)
		{
			col->x[cells[i][k]] = chain->chain[i]->fill;
			col->isnull[cells[i][k]] = false;
		}
	}
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
			MlColumn   *col = &frame->cols[cols[i]];
			MlModel		step = *chain->chain[i];

			if (step.round_beta && round < step.nround_beta)
				step.beta = step.round_beta + (int64) round * step.feat->width;
			MlModelPredictRows(frame, &step, cells[i], ncells[i], v, lvls);
			for (int64 k = 0; k < ncells[i]; k++)
				col->x[cells[i][k]] = v[k];
			CHECK_FOR_INTERRUPTS();
		}
	}
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		values[i] = palloc(sizeof(double) * Max(frame->nrows, 1));
		for (int64 r = 0; r < frame->nrows; r++)
			values[i][r] = NAN;
		for (int64 k = 0; k < ncells[i]; k++)
			values[i][cells[i][k]] = col->x[cells[i][k]];
		pfree(cells[i]);
	}
	restore_columns(frame, cols, n, saved);
	for (int i = 0; i < n; i++)
	{
		pfree(saved[i].x);
		pfree(saved[i].isnull);
	}
	pfree(saved);
	pfree(cells);
	pfree(ncells);
	pfree(cols);
	pfree(lvls);
	pfree(v);
	return values;
}
