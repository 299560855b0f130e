/*
 * importance.c
 *	  Permutation importance: how much a fitted model's primary metric
 *	  worsens when one source column's values are shuffled across the
 *	  scored rows, averaged over a few seeded shuffles.
 *
 * The primary metric is RMSE for regression (importance: its increase)
 * and accuracy for classification (importance: its decrease), so a
 * positive value means the model needs the column and a value near zero
 * that it does not. A source column is shuffled as a whole: all the raw
 * features it gives (a date's epoch and parts) move together, so the
 * importance is reported per column, like the gain importance. ml_train
 * measures it on its test split, ml_evaluate on the relation it scores;
 * both come here with raw feature columns and targets.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "core/options.h"
#include "model/importance.h"
#include "model/metrics.h"

/* The primary metric of t on n rows; what the prediction allocates dies with cxt. */
static double
score(MlTrained *t, double **raw, int64 n, const double *y, double *pred, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	double		m;

	MlTrainedPredictRaw(t, raw, n, pred);
	m = MlPrimaryMetric(t->task, y, pred, n, t->nclass);
	MemoryContextSwitchTo(old);
	MemoryContextReset(cxt);
	return m;
}

/* A uniform random permutation of 0..n-1 (Fisher-Yates). */
static void
shuffle(int64 *perm, int64 n, pg_prng_state *rng)
{
	for (int64 i = 0; i < n; i++)
		perm[i] = i;
	for (int64 i = n - 1; i > 0; i--)
	{
		int64		j = (int64) pg_prng_uint64_range(rng, 0, (uint64) i);
		int64		x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
}

/*
 * Append ", "permutation_importance": {column: mean worsening}, ..." to
 * out. raw: the model's raw feature columns of n rows (shuffled in place
 * and restored); y: targets (class indexes for classifiers).
 */
void
MlPermutationImportance(MlTrained *t, double **raw, int64 n, const double *y,
						int repeats, uint64 seed, StringInfo out)
{
	MlEncoder  *enc = t->enc;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "ml permutation importance",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext scorecxt = AllocSetContextCreate(cxt, "ml permutation score",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	bool		lower_better = (t->task == ML_TASK_REGRESSION);
	double	   *pred = palloc_extended(sizeof(double) * Max(n, 1) * MlTrainedOutputs(t),
									   MCXT_ALLOC_HUGE);
	int64	   *perm = palloc_extended(sizeof(int64) * Max(n, 1), MCXT_ALLOC_HUGE);
	double	   *saved[1 + ML_MAX_PARTS];
	double	   *drop = palloc0(sizeof(double) * Max(enc->ninputs, 1));
	double		base;
	pg_prng_state rng;

	Assert(t->task != ML_TASK_CLUSTERING);
	for (int k = 0; k < 1 + ML_MAX_PARTS; k++)
		saved[k] = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	pg_prng_seed(&rng, seed);
	base = score(t, raw, n, y, pred, scorecxt);
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];
		double		sum = 0;

		if (in->nraw > 1 + ML_MAX_PARTS)	/* the payload reader bounds it */
			elog(ERROR, "input \"%s\" has %d raw features", in->name, in->nraw);
		for (int k = 0; k < in->nraw; k++)
			memcpy(saved[k], raw[in->first_raw + k], sizeof(double) * n);
		for (int r = 0; r < repeats; r++)
		{
			double		m;

			shuffle(perm, n, &rng);
			for (int k = 0; k < in->nraw; k++)
			{
				double	   *col = raw[in->first_raw + k];

				for (int64 row = 0; row < n; row++)
					col[row] = saved[k][perm[row]];
			}
			m = score(t, raw, n, y, pred, scorecxt);
			sum += lower_better ? m - base : base - m;
			CHECK_FOR_INTERRUPTS();
		}
		for (int k = 0; k < in->nraw; k++)
			memcpy(raw[in->first_raw + k], saved[k], sizeof(double) * n);
		drop[i] = sum / repeats;
	}
	MemoryContextSwitchTo(old);

	appendStringInfoString(out, ", \"permutation_importance\": {");
	for (int i = 0; i < enc->ninputs; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, enc->inputs[i].name);
		appendStringInfoString(out, ": ");
		if (isfinite(drop[i]))
			MlJsonNumber(out, drop[i]);
		else
			appendStringInfoString(out, "null");
	}
	appendStringInfo(out, "}, \"permutation_metric\": \"%s\", \"permutation_repeats\": %d",
					 lower_better ? "rmse" : "accuracy", repeats);
	MemoryContextDelete(cxt);
}

/* ml_train's option: the importance on the test split of the fitted model. */
void
MlTrainPermutationImportance(MlTrained *t, MlFrame *frame, MlTrainData *td,
							 MlTrainOptions *o, StringInfo out)
{
	int64	   *frows = palloc(sizeof(int64) * Max(td->nrows, 1));
	double	   *y = palloc(sizeof(double) * Max(td->nrows, 1));
	double	  **raw = palloc(sizeof(double *) * Max(t->enc->nraw, 1));
	int64		n = 0;

	if (td->task == ML_TASK_CLUSTERING)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"permutation_importance\" needs labelled test rows, which a clustering model has not"),
				 errhint("Leave \"permutation_importance\" out for clustering.")));
	/* the test side of the holdout split (folds > 1 was refused with the options) */
	for (int64 i = 0; i < td->nrows; i++)
		if (td->fold[i] == 1)
		{
			frows[n] = td->rows[i];
			y[n++] = td->y[i];
		}
	for (int j = 0; j < t->enc->nraw; j++)
		raw[j] = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	MlEncoderRaw(t->enc, frame, frows, n, raw);
	MlPermutationImportance(t, raw, n, y, o->permutation_repeats, (uint64) o->seed, out);
	for (int j = 0; j < t->enc->nraw; j++)
		pfree(raw[j]);
	pfree(raw);
	pfree(frows);
	pfree(y);
}
