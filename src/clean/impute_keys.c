/*
 * impute_keys.c
 *	  The bottom layer of the imputation models, shared by fitting
 *	  (impute_fit.c), prediction and serialisation (impute_model.c) and the
 *	  network (impute_nn.c): method names, grouping-key codes, feature rows
 *	  and the group-wise lookup with backoff. It depends on nothing else in
 *	  src/clean/, so the model files form a chain without cycles:
 *	  keys <- nn <- model <- fit.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "clean/impute.h"
#include "core/linalg.h"

static const struct
{
	const char *name;
	MlMethod	method;
}			method_names[] =
{
	{"auto", ML_METHOD_AUTO}, {"mean", ML_METHOD_MEAN}, {"median", ML_METHOD_MEDIAN},
	{"mode", ML_METHOD_MODE}, {"constant", ML_METHOD_CONSTANT}, {"delete", ML_METHOD_DELETE},
	{"groupwise", ML_METHOD_GROUPWISE}, {"regression", ML_METHOD_REGRESSION},
	{"knn", ML_METHOD_KNN}, {"mice", ML_METHOD_MICE}, {"learned", ML_METHOD_LEARNED},
	{"classifier", ML_METHOD_CLASSIFIER}, {"locf", ML_METHOD_LOCF},
	{"interpolate", ML_METHOD_INTERPOLATE}, {"chain", ML_METHOD_CHAIN}, {"none", ML_METHOD_NONE}
};

MlMethod
MlMethodFromName(const char *name)
{
	for (int i = 0; i < (int) lengthof(method_names); i++)
		if (strcmp(method_names[i].name, name) == 0 && method_names[i].method != ML_METHOD_NONE)
			return method_names[i].method;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown imputation method \"%s\"", name),
			 errhint("Valid methods are: auto, mean, median, mode, constant, delete, groupwise, "
					 "regression, knn, mice, chain, learned, classifier, locf, interpolate.")));
	return ML_METHOD_AUTO;		/* keep compiler quiet */
}

const char *
MlMethodName(MlMethod m)
{
	for (int i = 0; i < (int) lengthof(method_names); i++)
		if (method_names[i].method == m)
			return method_names[i].name;
	return "?";
}

int
MlKeyCode(MlFrame *frame, MlKey *key, int64 row)
{
	MlColumn   *col = &frame->cols[key->col];

	if (key->rowcodes)
		return key->rowcodes[row];
	if (key->part < 0)
		return col->code[row];
	/* datetime parts are computed once per column and kept */
	if (col->parts[key->part] == NULL)
	{
		int32	   *p = MemoryContextAlloc(GetMemoryChunkContext(col->x),
										   sizeof(int32) * Max(frame->nrows, 1));
		bool		tz = col->typid == TIMESTAMPTZOID;

		for (int64 r = 0; r < frame->nrows; r++)
		{
			double		v = col->isnull[r] ? NAN :
				MlDatePartOf(col->x[r], (MlDatePart) key->part, tz);

			p[r] = isnan(v) ? -1 : (int32) v;
		}
		col->parts[key->part] = p;
	}
	return col->parts[key->part][row];
}

/* One row's feature vector; categorical indicators are scaled by catw. */
void
MlFeatureRow(MlFrame *frame, MlFeatures *f, int64 row, double catw, double *out)
{
	int			o = 1 + f->nnum;

	out[0] = 1;
	for (int j = 0; j < f->nnum; j++)
	{
		double		v = frame->cols[f->numcol[j]].x[row];

		out[1 + j] = (frame->cols[f->numcol[j]].isnull[row] || !isfinite(v)) ? 0 :
			(v - f->mean[j]) / f->sd[j];
	}
	memset(out + o, 0, sizeof(double) * (f->width - o));
	for (int j = 0; j < f->nkey; j++)
	{
		int			k = MlKeyCode(frame, &f->keys[j], row);

		if (k >= 0 && k < f->keys[j].nlevels)
			out[o + k] = catw;
		o += f->keys[j].nlevels;
	}
}

/* Group-wise estimate for key codes k1, k2 (-1 when missing), with backoff. */
void
MlGroupLookup(MlModel *m, int k1, int k2, double *value, int32 *level)
{
	int			L2 = m->nkeys == 2 ? m->keys[1].nlevels : 1;

	*value = m->fill;
	*level = m->fill_level;
	if (k1 < 0 || k1 >= m->keys[0].nlevels)
		return;
	if (m->nkeys == 2 && k2 >= 0 && k2 < L2)
	{
		int64		g = (int64) k1 * L2 + k2;

		if (m->discrete ? m->glvl[g] >= 0 : !isnan(m->gval[g]))
		{
			*value = m->gval[g];
			*level = m->glvl[g];
			return;
		}
	}
	if (m->discrete ? m->plvl[k1] >= 0 : !isnan(m->pval[k1]))
	{
		*value = m->pval[k1];
		*level = m->plvl[k1];
	}
}


/* ---------- ridge with a penalty chosen by leave-one-out error ---------- */

#define RIDGE_LOO_MAX_WIDTH	400		/* wider systems keep the default penalty */

static const double ridge_grid[] = {1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0};

/*
 * Cholesky factor of xtx + lambda n I (the intercept, column 0, not
 * penalised) in l (lower triangle, row-major). Returns false when the
 * system is not positive definite.
 */
static bool
ridge_factor(const double *xtx, int p, int64 n, double lambda, double *l)
{
	memcpy(l, xtx, sizeof(double) * p * p);
	for (int j = 1; j < p; j++)
		l[j * p + j] += lambda * n;
	l[0] += 1e-9 * n;
	for (int j = 0; j < p; j++)
	{
		double		d = l[j * p + j];

		/* xtx holds the upper triangle: read a[i][j] (i > j) as xtx[j][i] */
		for (int k = 0; k < j; k++)
			d -= l[j * p + k] * l[j * p + k];
		if (!(d > 1e-12 * (1 + fabs(l[j * p + j]))))
			return false;
		d = sqrt(d);
		l[j * p + j] = d;
		for (int i = j + 1; i < p; i++)
		{
			double		s = l[j * p + i];

			for (int k = 0; k < j; k++)
				s -= l[i * p + k] * l[j * p + k];
			l[i * p + j] = s / d;
		}
	}
	return true;
}

/* Solve L z = b in place (forward), then L' x = z (backward) when full. */
static void
ridge_forward(const double *l, int p, double *b)
{
	for (int i = 0; i < p; i++)
	{
		double		s = b[i];

		for (int k = 0; k < i; k++)
			s -= l[i * p + k] * b[k];
		b[i] = s / l[i * p + i];
	}
}

static void
ridge_backward(const double *l, int p, double *b)
{
	for (int i = p - 1; i >= 0; i--)
	{
		double		s = b[i];

		for (int k = i + 1; k < p; k++)
			s -= l[k * p + i] * b[k];
		b[i] = s / l[i * p + i];
	}
}

/*
 * Ridge regression whose penalty is the one with the smallest exact
 * leave-one-out error over the rows X (ns x p, rows the Gram matrix
 * xtx/xty of n rows was built from, or a sample of them): for ridge the
 * left-out residual is the residual divided by 1 - h, h the row's
 * leverage. On a table of twenty rows and ten inputs this picks a strong
 * penalty; on a large one, almost none. Returns the chosen penalty.
 */
double
MlRidgeFitLoo(const double *xtx, const double *xty, int p, int64 n,
			  const double *X, const double *y, int ns, double *beta)
{
	double	   *l;
	double	   *b;
	double	   *z;
	double		best_lambda = 1e-2,
				best_err = INFINITY;

	if (p > RIDGE_LOO_MAX_WIDTH || ns < 3)
	{
		MlLinalgRidgeSolve(xtx, xty, p, n, p > RIDGE_LOO_MAX_WIDTH ? 1e-4 : 1e-2, beta);
		return p > RIDGE_LOO_MAX_WIDTH ? 1e-4 : 1e-2;
	}
	l = palloc(sizeof(double) * p * p);
	b = palloc(sizeof(double) * p);
	z = palloc(sizeof(double) * p);
	for (int g = 0; g < (int) lengthof(ridge_grid); g++)
	{
		double		err = 0;

		if (!ridge_factor(xtx, p, n, ridge_grid[g], l))
			continue;
		memcpy(b, xty, sizeof(double) * p);
		ridge_forward(l, p, b);
		ridge_backward(l, p, b);
		for (int i = 0; i < ns; i++)
		{
			const double *x = X + (int64) i * p;
			double		fit = 0,
						h = 0,
						r;

			for (int j = 0; j < p; j++)
				fit += x[j] * b[j];
			memcpy(z, x, sizeof(double) * p);
			ridge_forward(l, p, z);
			for (int j = 0; j < p; j++)
				h += z[j] * z[j];
			r = (y[i] - fit) / Max(1 - h, 1e-3);
			err += r * r;
		}
		if (err < best_err)
		{
			best_err = err;
			best_lambda = ridge_grid[g];
			memcpy(beta, b, sizeof(double) * p);
		}
		CHECK_FOR_INTERRUPTS();
	}
	if (!isfinite(best_err))
		MlLinalgRidgeSolve(xtx, xty, p, n, best_lambda, beta);
	pfree(l);
	pfree(b);
	pfree(z);
	return best_lambda;
}

/*
 * A numeric column whose few levels are coded (not declared categorical):
 * its codes are amounts as much as categories. As an input it is a number,
 * one-hot only where 'auto' finds that helps; as a target, 'auto' scores
 * level predictions and numeric ones alike, by normalised RMSE.
 */
bool
MlColumnNumericCodes(MlColumn *col)
{
	return col->kind == ML_KIND_NUMERIC && col->code != NULL &&
		col->role != ML_ROLE_CATEGORICAL;
}
