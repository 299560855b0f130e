/*
 * impute_forest.c
 *	  MissForest (Stekhoven and Bühlmann, 2012): every column with gaps is
 *	  predicted by a random forest on all the other columns, numbers by
 *	  regression and categories by classification, round-robin from mean
 *	  and mode starts, fewest gaps first, until the change of the fills
 *	  stops decreasing from one round to the next (their stopping rule; the
 *	  round that changed more is dropped) or max_rounds is reached.
 *
 * The forests are forest.c's learner, through the contract of model.h.
 * Inputs are the columns a regression would use (impute_fit.c), numbers
 * and datetimes as values, categories as codes; a cell missing in an
 * input that is not a member reaches the trees as NaN and goes where the
 * trees learned NaN goes.
 *
 * The fitted model is each member's last forest, its start (mean or
 * mode) and the number of rounds. Applying it means the starts, then that
 * many rounds of the forests; ml_impute produces its own fills that way,
 * so a recipe replayed on the same rows gives the same values. (Keeping
 * every round's forests, as the linear chain keeps every round's
 * coefficients, would multiply a recipe's size by the rounds.)
 *
 * Only the first member's recipe step (the lead) carries the forests,
 * base64 of the learner's bounds-checked payload; it fills every member.
 * The other members' steps name the lead.
 */
#include "postgres.h"

#include <math.h>

#include "common/base64.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "clean/cleaning.h"
#include "clean/impute.h"
#include "clean/impute_forest.h"
#include "core/options.h"
#include "model/model.h"

#define FOREST_SCORE_ROWS	2000	/* rows of a larger frame the forest is scored on */
#define FOREST_FOLD_ROWS	1000	/* smaller frames: several folds */
#define FOREST_FOLDS		5
#define FOREST_FIT_ROWS		5000	/* rows a member's forest learns from */
#define FOREST_MAX_LEAVES	256		/* per tree: bounds a recipe's size */
#define FOREST_SCORE_TREES	10		/* trees per member while scoring */
#define FOREST_SCORE_ROUNDS 5		/* most rounds while scoring */
#define FOREST_SCORE_BUDGET 4e6		/* rows x inputs x trees x rounds x folds, scoring */

/* A run over some of the frame's rows: values in the model's space. */
typedef struct Work
{
	int64		nrows;
	double	  **cur;			/* per member: value per work row (NaN unknown) */
	int64	  **cells;			/* per member: work rows it fills */
	int64	   *ncells;
	int64	  **train;			/* per member: work rows it learns from */
	int64	   *ntrain;
	double	 ***in;				/* per member, per input: value per work row */
} Work;

/* A numeric column, or a category of few enough levels to be coded. */
bool
MlForestCanFill(MlColumn *col)
{
	if (col->kind == ML_KIND_NUMERIC)
		return col->role != ML_ROLE_CATEGORICAL || col->code == NULL;
	return col->kind != ML_KIND_DATETIME && col->code != NULL && col->level_text != NULL &&
		col->nlevels >= 1 && col->nlevels <= ML_FOREST_MAX_LEVELS;
}

static bool
member_discrete(MlColumn *col)
{
	return col->kind != ML_KIND_NUMERIC;
}

/*
 * Can the forest learn a numeric column's values? Its trees sum them (and
 * their distances from the start) in a leaf: values whose magnitudes add
 * up past a quarter of the double range (values near +-1.7e308) would
 * overflow a leaf, so such a column is left to a method that needs no
 * sum (column_method in impute_columns.c says so and picks 'auto').
 */
bool
MlForestCanSum(MlColumn *col, int64 nrows)
{
	double		s = 0;

	if (col->kind != ML_KIND_NUMERIC || member_discrete(col))
		return true;
	for (int64 r = 0; r < nrows; r++)
		if (!col->isnull[r] && isfinite(col->x[r]))
			s += fabs(col->x[r]);
	return isfinite(s * 4);
}

/* ---------- members and their inputs ---------- */

static void
members_setup(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, MlForest *fo)
{
	fo->n = n;
	fo->mb = palloc0(sizeof(ForestMember) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		ForestMember *mb = &fo->mb[i];
		MlColumn   *col = &frame->cols[cols[i]];
		MlFeatures *f = MlImputeFeatures(frame, cols[i], opts, false, false);

		mb->col = cols[i];
		mb->discrete = member_discrete(col);
		mb->error = NAN;
		if (mb->discrete)
		{
			mb->nclass = col->nlevels;
			mb->classes = col->level_text;
		}
		mb->inputs = palloc0(sizeof(ForestInput) * (f->nnum + f->nkey + 1));
		for (int j = 0; j < f->nnum; j++)
			mb->inputs[mb->ninput++] = (ForestInput) {f->numcol[j], false, 0, NULL};
		for (int j = 0; j < f->nkey; j++)
		{
			MlColumn   *kc = &frame->cols[f->keys[j].col];

			/* the column's own levels; datetime parts are in its value already */
			if (f->keys[j].part >= 0 || kc->kind == ML_KIND_NUMERIC || kc->level_text == NULL ||
				kc->nlevels < 1 || kc->nlevels > ML_FOREST_MAX_LEVELS)
				continue;
			mb->inputs[mb->ninput++] = (ForestInput) {f->keys[j].col, true, kc->nlevels,
			kc->level_text};
		}
	}
}

int
MlForestMemberOf(MlForest *fo, int col)
{
	for (int i = 0; i < fo->n; i++)
		if (fo->mb[i].col == col)
			return i;
	return -1;
}

/* Frame level -> model level, by text; -1 where the model has no such level. */
static int32 *
level_map(MlColumn *col, char **levels, int nlevels)
{
	int32	   *map = palloc(sizeof(int32) * Max(col->nlevels, 1));

	for (int l = 0; l < col->nlevels; l++)
	{
		map[l] = -1;
		if (col->level_text && levels == col->level_text)
			map[l] = l < nlevels ? l : -1;
		else if (col->level_text)
			for (int k = 0; k < nlevels; k++)
				if (strcmp(levels[k], col->level_text[l]) == 0)
				{
					map[l] = k;
					break;
				}
	}
	return map;
}

/* A column's values on the work rows, in the model's space. */
static double *
column_values(MlFrame *frame, const int64 *rows, int64 nrows, int c, bool categorical,
			  char **levels, int nlevels)
{
	MlColumn   *col = &frame->cols[c];
	double	   *v = palloc(sizeof(double) * Max(nrows, 1));
	int32	   *map = categorical ? level_map(col, levels, nlevels) : NULL;

	for (int64 i = 0; i < nrows; i++)
	{
		int64		r = rows[i];

		if (col->isnull[r])
			v[i] = NAN;
		else if (!categorical)
			v[i] = isfinite(col->x[r]) ? col->x[r] : NAN;
		else
		{
			int32		code = col->code[r];

			v[i] = code >= 0 && code < col->nlevels && map[code] >= 0 ? map[code] : NAN;
		}
	}
	if (map)
		pfree(map);
	return v;
}

/*
 * The work over the frame rows `rows`: each member's current values (the
 * observed ones; hidden cells, hold[i] when given, count as gaps), its
 * cells and learning rows, and each input's values (a member's input is
 * its current values, shared).
 */
static Work *
work_create(MlFrame *frame, MlForest *fo, const int64 *rows, int64 nrows, bool **hold)
{
	Work	   *w = palloc0(sizeof(Work));
	double	  **colval = palloc0(sizeof(double *) * Max(frame->ncols, 1));

	w->nrows = nrows;
	w->cur = palloc(sizeof(double *) * Max(fo->n, 1));
	w->cells = palloc(sizeof(int64 *) * Max(fo->n, 1));
	w->ncells = palloc0(sizeof(int64) * Max(fo->n, 1));
	w->train = palloc(sizeof(int64 *) * Max(fo->n, 1));
	w->ntrain = palloc0(sizeof(int64) * Max(fo->n, 1));
	w->in = palloc(sizeof(double **) * Max(fo->n, 1));
	for (int i = 0; i < fo->n; i++)
	{
		ForestMember *mb = &fo->mb[i];
		MlColumn   *col = &frame->cols[mb->col];

		w->cur[i] = column_values(frame, rows, nrows, mb->col, mb->discrete, mb->classes,
								  mb->nclass);
		w->cells[i] = palloc(sizeof(int64) * Max(nrows, 1));
		w->train[i] = palloc(sizeof(int64) * Max(nrows, 1));
		for (int64 k = 0; k < nrows; k++)
		{
			if (col->isnull[rows[k]] || (hold && hold[i][k]))
			{
				w->cells[i][w->ncells[i]++] = k;
				w->cur[i][k] = NAN;
			}
			else if (!isnan(w->cur[i][k]))
				w->train[i][w->ntrain[i]++] = k;
		}
	}
	for (int i = 0; i < fo->n; i++)
	{
		ForestMember *mb = &fo->mb[i];

		w->in[i] = palloc(sizeof(double *) * Max(mb->ninput, 1));
		for (int j = 0; j < mb->ninput; j++)
		{
			ForestInput *in = &mb->inputs[j];
			int			m = MlForestMemberOf(fo, in->col);

			if (m >= 0)
				w->in[i][j] = w->cur[m];
			else if (in->categorical)
				w->in[i][j] = column_values(frame, rows, nrows, in->col, true, in->levels,
											in->ncat);
			else
			{
				if (colval[in->col] == NULL)
					colval[in->col] = column_values(frame, rows, nrows, in->col, false, NULL, 0);
				w->in[i][j] = colval[in->col];
			}
		}
	}
	return w;
}

/* Every member's gaps back to its start. */
static void
work_start(Work *w, MlForest *fo)
{
	for (int i = 0; i < fo->n; i++)
		for (int64 k = 0; k < w->ncells[i]; k++)
			w->cur[i][w->cells[i][k]] = fo->mb[i].fill;
}

/* Starts from the learning rows: the mean, or the most frequent class. */
static void
member_starts(Work *w, MlForest *fo)
{
	for (int i = 0; i < fo->n; i++)
	{
		ForestMember *mb = &fo->mb[i];
		double		sum = 0,
					sq = 0;
		int64		n = w->ntrain[i];

		if (mb->discrete)
		{
			int64	   *cnt = palloc0(sizeof(int64) * Max(mb->nclass, 1));
			int64		best = -1;

			for (int64 k = 0; k < n; k++)
				cnt[(int) w->cur[i][w->train[i][k]]]++;
			mb->fill = 0;
			for (int c = 0; c < mb->nclass; c++)
				if (cnt[c] > best)
					best = cnt[c], mb->fill = c;
			pfree(cnt);
			continue;
		}
		for (int64 k = 0; k < n; k++)
			sum += w->cur[i][w->train[i][k]];
		mb->mean = mb->fill = n ? sum / n : 0;
		for (int64 k = 0; k < n; k++)
			sq += (w->cur[i][w->train[i][k]] - mb->mean) * (w->cur[i][w->train[i][k]] - mb->mean);
		mb->sd = n > 1 ? sqrt(sq / (n - 1)) : 0;
		if (!(mb->sd > 0) || !isfinite(mb->sd))
			mb->sd = 1;
	}
}

/* ---------- one member: learn, predict ---------- */

MlTask
MlForestMemberTask(ForestMember *mb)
{
	return !mb->discrete ? ML_TASK_REGRESSION : mb->nclass == 2 ? ML_TASK_BINARY :
		ML_TASK_MULTICLASS;
}

/* The design of the member over some work rows (y when learning). */
static void
member_design(ForestMember *mb, Work *w, int i, const int64 *rows, int64 n, bool with_y,
			  MlDesign *d)
{
	memset(d, 0, sizeof(*d));
	d->nrows = n;
	d->nfeat = mb->ninput;
	d->col = palloc(sizeof(double *) * Max(mb->ninput, 1));
	d->categorical = palloc0(sizeof(bool) * Max(mb->ninput, 1));
	d->ncat = palloc0(sizeof(int) * Max(mb->ninput, 1));
	for (int j = 0; j < mb->ninput; j++)
	{
		double	   *src = w->in[i][j];

		d->col[j] = palloc(sizeof(double) * Max(n, 1));
		for (int64 k = 0; k < n; k++)
			d->col[j][k] = src[rows[k]];
		d->categorical[j] = mb->inputs[j].categorical;
		d->ncat[j] = mb->inputs[j].ncat;
	}
	if (with_y)
	{
		d->y = palloc(sizeof(double) * Max(n, 1));
		for (int64 k = 0; k < n; k++)
			d->y[k] = w->cur[i][rows[k]];
	}
	d->task = MlForestMemberTask(mb);
	d->nclass = mb->discrete ? mb->nclass : 0;
}

static void
design_free(MlDesign *d)
{
	for (int j = 0; j < d->nfeat; j++)
		pfree(d->col[j]);
	pfree(d->col);
	pfree(d->categorical);
	pfree(d->ncat);
	if (d->y)
		pfree(d->y);
}

static void *
forest_params(MlForest *fo, ForestMember *mb)
{
	/* MissForest's mtry: the square root of the inputs at each node */
	char	   *json = psprintf("{\"n_estimators\": %d, \"max_leaf_nodes\": %d, "
								"\"max_features\": %s, \"n_threads\": 1}",
								fo->trees, FOREST_MAX_LEAVES,
								"\"sqrt\"");
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));

	return MlForestLearner.read_params(&jb->root, MlForestMemberTask(mb));
}

/* Learn member i's forest on its learning rows (up to FOREST_FIT_ROWS, spread). */
static void
member_fit(MlForest *fo, Work *w, int i, uint64 seed)
{
	ForestMember *mb = &fo->mb[i];
	int64		n = w->ntrain[i];
	int64	   *rows = w->train[i];
	MlDesign	d;

	mb->forest = NULL;
	if (mb->ninput == 0 || n < 2 || (mb->discrete && mb->nclass < 2))
		return;
	if (n > FOREST_FIT_ROWS)
	{
		rows = palloc(sizeof(int64) * FOREST_FIT_ROWS);
		for (int64 k = 0; k < FOREST_FIT_ROWS; k++)
			rows[k] = w->train[i][(int64) ((double) k * n / FOREST_FIT_ROWS)];
		n = FOREST_FIT_ROWS;
	}
	member_design(mb, w, i, rows, n, true, &d);
	d.seed = seed * 1000003 + (uint64) i;
	mb->forest = MlForestLearner.fit(&d, forest_params(fo, mb));
	design_free(&d);
	if (rows != w->train[i])
		pfree(rows);
}

/* Member i's predictions for its cells, into the work; returns the change. */
static void
member_predict(MlForest *fo, Work *w, int i, double *sq, double *norm, int64 *changed)
{
	ForestMember *mb = &fo->mb[i];
	int64		n = w->ncells[i];
	int			nout = mb->discrete ? mb->nclass : 1;
	double	   *out;
	MlDesign	d;

	if (n == 0)
		return;
	if (mb->forest == NULL)
	{
		for (int64 k = 0; k < n; k++)
			w->cur[i][w->cells[i][k]] = mb->fill;
		return;
	}
	member_design(mb, w, i, w->cells[i], n, false, &d);
	out = palloc(sizeof(double) * n * nout);
	MlForestLearner.predict(mb->forest, &d, out);
	for (int64 k = 0; k < n; k++)
	{
		double	   *cell = &w->cur[i][w->cells[i][k]];
		double		v = out[k * nout];

		if (mb->discrete)
		{
			int			best = 0;

			for (int c = 1; c < nout; c++)
				if (out[k * nout + c] > out[k * nout + best])
					best = c;
			v = best;
			*changed += (v != *cell);
		}
		else if (isfinite(v))
		{
			double		a = (v - mb->mean) / mb->sd,
						b = (*cell - mb->mean) / mb->sd;

			*sq += (a - b) * (a - b);
			*norm += a * a;
		}
		else
			v = mb->fill;
		*cell = v;
	}
	pfree(out);
	design_free(&d);
}

/* ---------- rounds ---------- */

/*
 * MissForest on the work: rounds of learning and predicting every member,
 * until neither the numeric change (sum of squared changes over the sum
 * of squares, in sds) nor the share of changed classes decreases. The
 * members keep the forests of the last round kept; returns its number.
 */
static int
forest_rounds(MlForest *fo, Work *w, int max_rounds, uint64 seed)
{
	double		prev_num = INFINITY,
				prev_cat = INFINITY;
	void	  **last = palloc0(sizeof(void *) * Max(fo->n, 1));
	double	  **saved = palloc(sizeof(double *) * Max(fo->n, 1));
	int64		ncat = 0;
	bool		hasnum = false;
	int			kept = 0;

	for (int i = 0; i < fo->n; i++)
	{
		saved[i] = palloc(sizeof(double) * Max(w->ncells[i], 1));
		if (fo->mb[i].discrete)
			ncat += w->ncells[i];
		else if (w->ncells[i] > 0)
			hasnum = true;
	}
	work_start(w, fo);
	for (int round = 1; round <= max_rounds; round++)
	{
		double		sq = 0,
					norm = 0,
					dnum,
					dcat;
		int64		changed = 0;

		for (int i = 0; i < fo->n; i++)
		{
			for (int64 k = 0; k < w->ncells[i]; k++)
				saved[i][k] = w->cur[i][w->cells[i][k]];
			last[i] = fo->mb[i].forest;
		}
		for (int i = 0; i < fo->n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			member_fit(fo, w, i, seed + (uint64) round * 7919);
			member_predict(fo, w, i, &sq, &norm, &changed);
		}
		dnum = norm > 0 ? sq / norm : 0;
		dcat = ncat > 0 ? (double) changed / ncat : 0;
		if (round > 1 && !((hasnum && dnum < prev_num) || (ncat > 0 && dcat < prev_cat)))
		{
			/* this round changed the fills more than the last: keep the last */
			for (int i = 0; i < fo->n; i++)
			{
				for (int64 k = 0; k < w->ncells[i]; k++)
					w->cur[i][w->cells[i][k]] = saved[i][k];
				fo->mb[i].forest = last[i];
			}
			break;
		}
		kept = round;
		if (dnum == 0 && dcat == 0)
			break;
		prev_num = dnum;
		prev_cat = dcat;
	}
	return Max(kept, 1);
}

/* Apply the fitted forests: starts, then the rounds. */
static void
forest_replay(MlForest *fo, Work *w)
{
	double		sq = 0,
				norm = 0;
	int64		changed = 0;

	work_start(w, fo);
	for (int round = 0; round < fo->rounds; round++)
		for (int i = 0; i < fo->n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			member_predict(fo, w, i, &sq, &norm, &changed);
		}
}

static int
max_rounds(MlImputeOptions *opts)
{
	return opts->forest_rounds > 0 ? opts->forest_rounds : 10;
}

static void
forest_init(MlForest *fo, MlImputeOptions *opts)
{
	fo->trees = opts->forest_trees > 0 ? opts->forest_trees : 30;
}

/*
 * Holdout error of the forest for each column: normalised RMSE for
 * numbers, the error rate for categories (NaN when nothing was scored).
 * As the chain's (MlChainScore): a fold hides at most one observed cell
 * per row (member (h(row) + fold) mod max(n, 2), h a hash), frames under
 * FOREST_FOLD_ROWS rows have min(max(n, 2), FOREST_FOLDS) folds, larger
 * ones one fold on FOREST_SCORE_ROWS rows spread over them; with at most
 * FOREST_SCORE_TREES trees and FOREST_SCORE_ROUNDS rounds, fewer folds
 * and trees where that is over FOREST_SCORE_BUDGET. Returns false (every
 * error NaN) when even that is over twice the budget: too large a frame to
 * score the forest in auto's time. The frame is not changed.
 */
/*
 * Scoring settings within FOREST_SCORE_BUDGET: fewer folds, then fewer
 * trees (no fewer than 3). Returns false when even that is over it.
 */
static bool
score_budget(MlForest *fo, MlFrame *frame, int64 nrows, int *folds, int *rounds)
{
	double		units = 0;

	for (int i = 0; i < fo->n; i++)
	{
		MlColumn   *col = &frame->cols[fo->mb[i].col];
		double		obs = (double) nrows * (frame->nrows - col->nnull) / Max(frame->nrows, 1);

		units += Min(obs, FOREST_FIT_ROWS) * (fo->mb[i].ninput + 1);
	}
	fo->trees = Min(fo->trees, FOREST_SCORE_TREES);
	*rounds = Min(*rounds, FOREST_SCORE_ROUNDS);
	while (*folds > 2 && *folds * units * fo->trees * *rounds > FOREST_SCORE_BUDGET)
		(*folds)--;
	if (*folds * units * fo->trees * *rounds > FOREST_SCORE_BUDGET)
		fo->trees = (int) Max(3, FOREST_SCORE_BUDGET / (*folds * units * *rounds));
	return *folds * units * fo->trees * *rounds <= 2 * FOREST_SCORE_BUDGET;
}

bool
MlForestScore(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, double *err)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_impute forest score",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	int64		nrows = Min(frame->nrows, FOREST_SCORE_ROWS);
	int64	   *rows = palloc(sizeof(int64) * Max(nrows, 1));
	int			parts = Max(n, 2);	/* a lone member has half its cells hidden */
	int			folds = frame->nrows < FOREST_FOLD_ROWS ? Min(parts, FOREST_FOLDS) : 1;
	double	   *loss = palloc0(sizeof(double) * Max(n, 1));
	int64	   *cnt = palloc0(sizeof(int64) * Max(n, 1));
	bool	  **hold = palloc(sizeof(bool *) * Max(n, 1));
	MlForest	fo;
	int			rounds = max_rounds(opts);

	forest_init(&fo, opts);
	members_setup(frame, cols, n, opts, &fo);
	if (!score_budget(&fo, frame, nrows, &folds, &rounds))
	{
		for (int i = 0; i < n; i++)
			err[i] = NAN;
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		return false;
	}
	for (int64 k = 0; k < nrows; k++)
		rows[k] = frame->nrows <= FOREST_SCORE_ROWS ? k :
			(int64) ((double) k * frame->nrows / FOREST_SCORE_ROWS);
	for (int i = 0; i < n; i++)
		hold[i] = palloc0(sizeof(bool) * Max(nrows, 1));
	for (int f = 0; f < folds; f++)
	{
		MemoryContext fcxt = AllocSetContextCreate(cxt, "fold", ALLOCSET_DEFAULT_SIZES);
		Work	   *w;
		Work	   *truth;

		MemoryContextSwitchTo(fcxt);
		for (int i = 0; i < n; i++)
			for (int64 k = 0; k < nrows; k++)
			{
				uint64		h = ((uint64) rows[k] * UINT64CONST(0x9E3779B97F4A7C15)) >> 33;

				hold[i][k] = (int) ((h + (uint64) opts->seed + i) % parts) == f;
			}
		truth = work_create(frame, &fo, rows, nrows, NULL);
		w = work_create(frame, &fo, rows, nrows, hold);
		member_starts(w, &fo);
		fo.rounds = forest_rounds(&fo, w, rounds, (uint64) opts->seed + f);
		forest_replay(&fo, w);
		for (int i = 0; i < n; i++)
			for (int64 k = 0; k < nrows; k++)
			{
				double		t = truth->cur[i][k],
							p = w->cur[i][k];

				if (!hold[i][k] || isnan(t))
					continue;
				if (fo.mb[i].discrete)
					loss[i] += (p != t);
				else
					loss[i] += (p - t) * (p - t);
				cnt[i]++;
			}
		MemoryContextSwitchTo(cxt);
		MemoryContextDelete(fcxt);
	}
	for (int i = 0; i < n; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		if (cnt[i] == 0)
			err[i] = NAN;
		else if (fo.mb[i].discrete)
			err[i] = loss[i] / cnt[i];
		else
			err[i] = sqrt(loss[i] / cnt[i]) / (col->sd > 0 ? col->sd : 1);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return true;
}

/*
 * Fit the forest over the columns on every observed cell. Returns one
 * model per column (method forest, sharing the forests), in the caller's
 * context; err[i] is the column's holdout error. The frame is not changed.
 */
MlModel **
MlForestFit(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts, const double *err,
			bool asked)
{
	MlForest   *fo = palloc0(sizeof(MlForest));
	MlModel   **models = palloc(sizeof(MlModel *) * Max(n, 1));
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int			rounds = max_rounds(opts);
	Work	   *w;

	for (int64 k = 0; k < frame->nrows; k++)
		rows[k] = k;
	forest_init(fo, opts);
	members_setup(frame, cols, n, opts, fo);
	w = work_create(frame, fo, rows, frame->nrows, NULL);
	if (!asked)
	{
		/* auto's pick: within the scoring budget, but at least FOREST_SCORE_TREES trees */
		double		units = 0;

		for (int i = 0; i < n; i++)
			units += Min(w->ntrain[i], FOREST_FIT_ROWS) * (fo->mb[i].ninput + 1);
		rounds = Min(rounds, FOREST_SCORE_ROUNDS);
		fo->trees = (int) Max(FOREST_SCORE_TREES,
							  Min(fo->trees, FOREST_SCORE_BUDGET / Max(units * rounds, 1)));
	}
	member_starts(w, fo);
	fo->rounds = forest_rounds(fo, w, rounds, (uint64) opts->seed);
	for (int i = 0; i < n; i++)
	{
		MlModel    *m = palloc0(sizeof(MlModel));
		MlColumn   *col = &frame->cols[cols[i]];

		fo->mb[i].error = err ? err[i] : NAN;
		m->method = ML_METHOD_FOREST;
		m->target = cols[i];
		m->discrete = fo->mb[i].discrete;
		m->fill = m->discrete ? NAN : fo->mb[i].fill;
		m->fill_level = m->discrete ? (int32) fo->mb[i].fill : -1;
		m->ntlevels = m->discrete ? col->nlevels : 0;
		m->tlevel_text = m->discrete ? col->level_text : NULL;
		m->metric = m->discrete ? "error_rate" : "nrmse";
		m->error = fo->mb[i].error;
		m->forest = fo;
		m->rounds = fo->rounds;
		m->nchain = n;
		models[i] = m;
	}
	return models;
}

/*
 * Fill every member's gaps (the lead's step): the frame's cells missing
 * now. Categories are added to the frame by text where it lacks them.
 * Returns the cells filled in m's own column; a member's step that names
 * the lead fills nothing itself.
 */
int64
MlForestApply(MlFrame *frame, MlFills *fills, MlModel *m)
{
	MlForest   *fo = m->forest;
	int64	   *rows;
	Work	   *w;
	int			slot;

	if (fo == NULL)
	{
		MlColumn   *col = &frame->cols[m->target];

		slot = MlFillSlot(fills, m->target);
		for (int64 r = 0; r < frame->nrows && slot < 0; r++)
			if (col->isnull[r])
				MlRecipeBad(psprintf("column \"%s\" is filled by the forest of column \"%s\", whose step does not come before it",
									 col->name, m->forest_lead));
		return slot >= 0 ? fills->filled[slot] : 0;
	}
	rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	for (int64 k = 0; k < frame->nrows; k++)
		rows[k] = k;
	w = work_create(frame, fo, rows, frame->nrows, NULL);
	forest_replay(fo, w);
	for (int i = 0; i < fo->n; i++)
	{
		ForestMember *mb = &fo->mb[i];
		MlColumn   *col = &frame->cols[mb->col];
		int64		n = w->ncells[i];
		int64	   *cells = palloc(sizeof(int64) * Max(n, 1));
		double	   *vals = palloc(sizeof(double) * Max(n, 1));
		int32	   *lvls = palloc(sizeof(int32) * Max(n, 1));

		for (int64 k = 0; k < n; k++)
		{
			double		v = w->cur[i][w->cells[i][k]];

			cells[k] = w->cells[i][k];
			vals[k] = mb->discrete ? NAN : v;
			lvls[k] = -1;
			if (mb->discrete && v >= 0 && v < mb->nclass)
				lvls[k] = MlColumnAddLevel(col, mb->classes[(int) v]);
		}
		MlFillStore(frame, fills, mb->col, cells, n, vals, lvls, mb->discrete);
		pfree(cells);
		pfree(vals);
		pfree(lvls);
	}
	slot = MlFillSlot(fills, m->target);
	return slot >= 0 ? fills->filled[slot] : 0;
}
