/*
 * impute_blend.c
 *	  A blend: a column's fills are the average of the chain's and of the
 *	  column's own model ('auto''s pick among the per-column candidates).
 *
 * The two make different mistakes: the chain regresses on every other
 * column's current value, the own model is often a neighbour vote or a
 * group table. Where their errors are weakly correlated, their average is
 * closer than either. 'auto' takes the blend only where it scored better
 * than both on the same cells: every observed cell that both predicted out
 * of fold (each by a model that did not see it), so the three errors are
 * measured alike.
 *
 * Fitted, a blend is the chain (every member's regressions and rounds, as
 * a chain step stores them) plus the own model; it fills after the chain
 * has run, with the own model predicting from the frame as it is then
 * (every other column filled that comes before it in the steps), which is
 * what a recipe replays, so the same rows get the same fills.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "clean/impute.h"

#define BLEND_MIN_CELLS 10		/* fewer common cells: too noisy to choose by */

/*
 * The chain's share of a blended fill. Measured over the corpus
 * (BENCHMARKS.md, "Real tables, the blend's weight"), the out-of-fold
 * errors flatter the own pick (the best of many candidates) and understate
 * the chain's (its folds hide extra cells): on the hidden cells the chain
 * is the better half more often than the scores say, so it gets two
 * thirds. Blends stored without a weight (by 0.3.0) averaged, and replay so.
 */
#define BLEND_CHAIN_WEIGHT (2.0 / 3.0)

/*
 * Normalised RMSE of the blend over the observed cells that both own and
 * chain predicted out of fold; own_err and chain_err get theirs on the same
 * cells. NaN (all three) when fewer than BLEND_MIN_CELLS cells are common.
 */
double
MlBlendScore(MlColumn *col, int64 nrows, const double *own, const double *chain,
			 double *own_err, double *chain_err)
{
	double		so = 0,
				sc = 0,
				sb = 0,
				sd = col->sd > 0 ? col->sd : 1;
	double		u = MlLossUnit(col);	/* squared without overflow */
	int64		n = 0;

	*own_err = *chain_err = NAN;
	if (own == NULL || chain == NULL)
		return NAN;
	for (int64 r = 0; r < nrows; r++)
	{
		double		y = col->x[r];
		double		b;

		if (col->isnull[r] || !isfinite(y) || !isfinite(own[r]) || !isfinite(chain[r]))
			continue;
		so += ((own[r] - y) * u) * ((own[r] - y) * u);
		sc += ((chain[r] - y) * u) * ((chain[r] - y) * u);
		b = BLEND_CHAIN_WEIGHT * chain[r] + (1 - BLEND_CHAIN_WEIGHT) * own[r];
		sb += ((b - y) * u) * ((b - y) * u);
		n++;
	}
	if (n < BLEND_MIN_CELLS || !isfinite(so) || !isfinite(sc) || !isfinite(sb))
		return NAN;
	*own_err = sqrt(so / n) / u / sd;
	*chain_err = sqrt(sc / n) / u / sd;
	return sqrt(sb / n) / u / sd;
}

/* The blend of a fitted chain's model for a column and the column's own model. */
MlModel *
MlBlendModel(MlModel *chain, MlModel *own, double err)
{
	MlModel    *m = palloc0(sizeof(MlModel));

	m->method = ML_METHOD_BLEND;
	m->target = chain->target;
	m->fill = chain->fill;
	m->fill_level = -1;
	m->nchain = chain->nchain;
	m->chain = chain->chain;
	m->rounds = chain->rounds;
	m->member = own;
	m->blend_weight = BLEND_CHAIN_WEIGHT;
	m->metric = "nrmse";
	m->error = err;
	return m;
}

/*
 * Fills of the rows: the weighted average of the chain's value (chain_values, by
 * row, from MlChainRun) and the own model's prediction from the frame as it
 * is; the chain's alone where the own model has none.
 */
void
MlBlendValues(MlFrame *frame, MlModel *blend, const double *chain_values,
			  const int64 *rows, int64 n, double *values)
{
	MlModel    *own = blend->member;
	double	   *v = palloc(sizeof(double) * Max(n, 1));
	int32	   *l = palloc(sizeof(int32) * Max(n, 1));

	MlModelPredictRows(frame, own, rows, n, v, l);
	for (int64 k = 0; k < n; k++)
	{
		double		o = v[k];
		double		c = chain_values[rows[k]];

		if (own->discrete)
		{
			/* a numeric column's coded levels: the level's value */
			if (l[k] < 0 || l[k] >= own->ntlevels ||
				(own->tlevel_value == NULL && own->tlevel_text == NULL))
				o = NAN;
			else
				o = own->tlevel_value ? own->tlevel_value[l[k]] :
					strtod(own->tlevel_text[l[k]], NULL);
		}
		values[k] = isfinite(o) ? blend->blend_weight * c + (1 - blend->blend_weight) * o : c;
	}
	pfree(v);
	pfree(l);
}

/*
 * A blend read back from a recipe: its own model must be one 'auto' can
 * pick for a numeric column, for the same column; a level model's levels
 * must be numbers (they are averaged as such).
 */
void
MlBlendCheck(MlFrame *frame, MlModel *blend)
{
	MlModel    *own = blend->member;
	MlColumn   *col = &frame->cols[blend->target];

	if (own == NULL || own->target != blend->target)
		MlRecipeBad("a blend's own model is not for its column");
	if (own->method != ML_METHOD_MEAN && own->method != ML_METHOD_MEDIAN &&
		own->method != ML_METHOD_MODE && own->method != ML_METHOD_GROUPWISE &&
		own->method != ML_METHOD_REGRESSION && own->method != ML_METHOD_KNN)
		MlRecipeBad(psprintf("a blend's own model has method \"%s\"", MlMethodName(own->method)));
	if (col->kind != ML_KIND_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of type %s cannot take the recipe's blended numbers",
						col->name, format_type_be(col->typid))));
	if (own->discrete)
		for (int j = 0; j < own->ntlevels; j++)
		{
			char	   *end;
			double		v = strtod(own->tlevel_text[j], &end);

			if (end == own->tlevel_text[j] || *end != '\0' || !isfinite(v))
				MlRecipeBad("a blend's own model has a level that is not a number");
		}
	if (!own->discrete && !isfinite(own->fill))
		MlRecipeBad("a blend's own model has no finite fill");
}
