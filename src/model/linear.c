/*
 * linear.c
 *	  Least squares and ridge regression on a dense design.
 *
 * The design reaching these learners is imputed, one-hot and standardized
 * by training (needs_dense), so every cell is finite. The fit centres the
 * columns, accumulates X'X and X'y in blocks through BLAS and solves the
 * normal equations by Cholesky (core/linalg.c).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "core/linalg.h"
#include "core/options.h"
#include "model/model.h"

typedef struct LinearParams
{
	double		alpha;			/* L2 penalty, scikit-learn's Ridge(alpha) */
	bool		fit_intercept;
} LinearParams;

typedef struct LinearModel
{
	int			nfeat;
	double		intercept;
	double	   *coef;
} LinearModel;

#define LINEAR_BLOCK 1024

static bool
linear_supports(MlTask task)
{
	return task == ML_TASK_REGRESSION;
}

static void *
read_params(JsonbContainer *hp, bool ridge)
{
	static const char *const valid_linear[] = {"fit_intercept", NULL};
	static const char *const valid_ridge[] = {"alpha", "fit_intercept", NULL};
	LinearParams *p = palloc0(sizeof(LinearParams));

	MlOptCheckKeys(hp, ridge ? "ridge hyperparameters" : "linear hyperparameters",
				   ridge ? valid_ridge : valid_linear);
	p->alpha = ridge ? MlOptRange(hp, "alpha", 1.0, 0.0, 1e12) : 0.0;
	p->fit_intercept = MlOptBool(hp, "fit_intercept", true);
	return p;
}

static void *
linear_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, false);
}

static void *
ridge_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, true);
}

static void
linear_params_json(void *params, StringInfo out)
{
	LinearParams *p = params;

	appendStringInfoString(out, "{\"alpha\": ");
	MlJsonNumber(out, p->alpha);
	appendStringInfo(out, ", \"fit_intercept\": %s}", p->fit_intercept ? "true" : "false");
}

/*
 * Solve (Xc'Xc + alpha I) b = Xc'yc on centred columns; the intercept is
 * then mean(y) - mean(x)'b. Column 0 of the system is a constant that the
 * solver leaves unpenalised, kept so the shared solver's layout holds.
 */
static void *
linear_fit(const MlDesign *d, void *params)
{
	LinearParams *p = params;
	int			k = d->nfeat + 1;
	int64		n = d->nrows;
	double	   *mean = palloc0(sizeof(double) * k);
	double	   *xtx = palloc0(sizeof(double) * k * k);
	double	   *xty = palloc0(sizeof(double) * k);
	double	   *block = palloc(sizeof(double) * LINEAR_BLOCK * k);
	double	   *yb = palloc(sizeof(double) * LINEAR_BLOCK);
	double	   *beta = palloc(sizeof(double) * k);
	double		ymean = 0;
	LinearModel *m = palloc0(sizeof(LinearModel));

	if (p->fit_intercept)
	{
		for (int64 i = 0; i < n; i++)
			ymean += d->y[i];
		ymean /= n;
		for (int j = 0; j < d->nfeat; j++)
		{
			double		s = 0;

			for (int64 i = 0; i < n; i++)
				s += d->col[j][i];
			mean[j + 1] = s / n;
		}
	}
	for (int64 start = 0; start < n; start += LINEAR_BLOCK)
	{
		int			rows = (int) Min(LINEAR_BLOCK, n - start);

		for (int r = 0; r < rows; r++)
		{
			block[r * k] = 0;	/* centred constant */
			for (int j = 0; j < d->nfeat; j++)
				block[r * k + j + 1] = d->col[j][start + r] - mean[j + 1];
			yb[r] = d->y[start + r] - ymean;
		}
		MlLinalgGramAdd(block, rows, k, yb, xtx, xty);
		CHECK_FOR_INTERRUPTS();
	}
	/* the shared solver scales its penalty by n; alpha is scikit-learn's */
	MlLinalgRidgeSolve(xtx, xty, k, n, p->alpha / (double) n, beta);
	m->nfeat = d->nfeat;
	m->coef = palloc(sizeof(double) * d->nfeat);
	m->intercept = ymean;
	for (int j = 0; j < d->nfeat; j++)
	{
		m->coef[j] = beta[j + 1];
		m->intercept -= beta[j + 1] * mean[j + 1];
	}
	return m;
}

static void
linear_predict(void *model, const MlDesign *d, double *out)
{
	LinearModel *m = model;

	for (int64 i = 0; i < d->nrows; i++)
	{
		double		s = m->intercept;

		for (int j = 0; j < m->nfeat; j++)
			s += m->coef[j] * d->col[j][i];
		out[i] = s;
	}
}

static void
linear_save(void *model, StringInfo buf)
{
	LinearModel *m = model;

	MlWriteInt32(buf, m->nfeat);
	MlWriteFloat8(buf, m->intercept);
	MlWriteFloat8s(buf, m->coef, m->nfeat);
}

static void *
linear_load(MlReader *r, const MlDesign *shape)
{
	LinearModel *m = palloc0(sizeof(LinearModel));

	m->nfeat = MlReadInt32(r, shape->nfeat, shape->nfeat);
	m->intercept = MlReadFiniteFloat8(r);
	m->coef = palloc(sizeof(double) * Max(m->nfeat, 1));
	for (int j = 0; j < m->nfeat; j++)
		m->coef[j] = MlReadFiniteFloat8(r);
	return m;
}

/* |coefficient| on standardized features: what a linear model's gain is. */
static void
linear_importance(void *model, double *gain)
{
	LinearModel *m = model;

	for (int j = 0; j < m->nfeat; j++)
		gain[j] = fabs(m->coef[j]);
}

const MlLearner MlLinearLearner = {
	.name = "linear",
	.supports = linear_supports,
	.read_params = linear_read_params,
	.params_json = linear_params_json,
	.fit = linear_fit,
	.predict = linear_predict,
	.save = linear_save,
	.load = linear_load,
	.importance = linear_importance,
	.needs_dense = true,
};

const MlLearner MlRidgeLearner = {
	.name = "ridge",
	.supports = linear_supports,
	.read_params = ridge_read_params,
	.params_json = linear_params_json,
	.fit = linear_fit,
	.predict = linear_predict,
	.save = linear_save,
	.load = linear_load,
	.importance = linear_importance,
	.needs_dense = true,
};
