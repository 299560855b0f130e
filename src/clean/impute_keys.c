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
	{"interpolate", ML_METHOD_INTERPOLATE}, {"chain", ML_METHOD_CHAIN}, {"forest", ML_METHOD_FOREST},
	{"missforest", ML_METHOD_FOREST}, {"blend", ML_METHOD_BLEND}, {"none", ML_METHOD_NONE}
};

MlMethod
MlMethodFromName(const char *name)
{
	for (int i = 0; i < (int) lengthof(method_names); i++)
		/* a blend is auto's choice, never asked for: it needs auto's scores */
		if (strcmp(method_names[i].name, name) == 0 && method_names[i].method != ML_METHOD_NONE &&
			method_names[i].method != ML_METHOD_BLEND)
			return method_names[i].method;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown imputation method \"%s\"", name),
			 errhint("Valid methods are: auto, mean, median, mode, constant, delete, groupwise, "
					 "regression, knn, mice, chain, forest (or missforest), learned, classifier, locf, interpolate.")));
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

/*
 * A number in its column's standard deviations. (v - mean) overflows when v
 * and the mean lie near the double range on either side of zero (1.6e308
 * in a column of mostly -1.6e308); the input was then infinite, a KNN
 * recipe held "Infinity" and was refused when read back, and regressions
 * on it filled nothing. The quotients' difference is finite there (and 0,
 * not Inf / Inf, for an sd that overflowed); other values are standardized
 * exactly as before.
 */
static inline double
standardize(double v, double mean, double sd)
{
	double		z = (v - mean) / sd;

	if (unlikely(!isfinite(z)))
		z = v / sd - mean / sd;
	return z;
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
			standardize(v, f->mean[j], f->sd[j]);
	}
	memset(out + o, 0, sizeof(double) * (f->width - o));
	for (int j = 0; j < f->nkey; j++)
	{
		int			k;

		if (f->keys[j].soft)
		{
			/* a chain's categorical member: its levels' current indicators */
			for (int l = 0; l < f->keys[j].nlevels; l++)
				out[o + l] = catw * f->keys[j].soft[l][row];
			o += f->keys[j].nlevels;
			continue;
		}
		k = MlKeyCode(frame, &f->keys[j], row);
		if (k >= 0 && k < f->keys[j].nlevels)
			out[o + k] = catw;
		o += f->keys[j].nlevels;
	}
}

/*
 * The feature rows of rows[0..n), row after row in out (n x width), as
 * MlFeatureRow makes them one at a time, but a feature at a time: each
 * column's arrays and each key's codes are looked up once per block, not
 * once per cell.
 */
void
MlFeatureBlock(MlFrame *frame, MlFeatures *f, const int64 *rows, int n, double catw, double *out)
{
	int			w = f->width;
	int			o = 1 + f->nnum;

	if (n <= 0)
		return;
	memset(out, 0, sizeof(double) * (int64) n * w);
	for (int i = 0; i < n; i++)
		out[(int64) i * w] = 1;
	for (int j = 0; j < f->nnum; j++)
	{
		const double *x = frame->cols[f->numcol[j]].x;
		const bool *isnull = frame->cols[f->numcol[j]].isnull;
		double		mean = f->mean[j];
		double		sd = f->sd[j];
		double	   *dst = out + 1 + j;

		for (int i = 0; i < n; i++)
		{
			double		v;

			/* rows are a random sample: ask for a later row's cell early */
			if (i + ML_PREFETCH_AHEAD < n)
			{
				__builtin_prefetch(&x[rows[i + ML_PREFETCH_AHEAD]]);
				__builtin_prefetch(&isnull[rows[i + ML_PREFETCH_AHEAD]]);
			}
			v = x[rows[i]];
			dst[(int64) i * w] = (isnull[rows[i]] || !isfinite(v)) ? 0 : standardize(v, mean, sd);
		}
	}
	for (int j = 0; j < f->nkey; j++)
	{
		MlKey	   *key = &f->keys[j];
		MlColumn   *col = &frame->cols[key->col];
		const int32 *codes;
		int			L = key->nlevels;

		if (key->soft)
		{
			/* a chain's categorical member: its levels' current indicators */
			for (int l = 0; l < L; l++)
			{
				const double *v = key->soft[l];

				for (int i = 0; i < n; i++)
					out[(int64) i * w + o + l] = catw * v[rows[i]];
			}
			o += L;
			continue;
		}
		(void) MlKeyCode(frame, key, rows[0]);	/* builds a datetime part's cache */
		codes = key->rowcodes ? key->rowcodes : key->part < 0 ? col->code : col->parts[key->part];
		for (int i = 0; i < n; i++)
		{
			int			k;

			if (i + ML_PREFETCH_AHEAD < n)
				__builtin_prefetch(&codes[rows[i + ML_PREFETCH_AHEAD]]);
			k = codes[rows[i]];
			if (k >= 0 && k < L)
				out[(int64) i * w + o + k] = catw;
		}
		o += L;
	}
}

/*
 * In feature rows made by MlFeatureBlock, the cells whose source is
 * missing set to NaN: a missing number, and every indicator of a key whose
 * code is missing. KNN measures distances over the cells two rows both
 * have (nan-Euclidean) instead of taking a missing number for the mean.
 */
void
MlFeatureMarkMissing(MlFrame *frame, MlFeatures *f, const int64 *rows, int n, double *out)
{
	int			w = f->width;
	int			o = 1 + f->nnum;

	for (int j = 0; j < f->nnum; j++)
	{
		const double *x = frame->cols[f->numcol[j]].x;
		const bool *isnull = frame->cols[f->numcol[j]].isnull;

		for (int i = 0; i < n; i++)
			if (isnull[rows[i]] || !isfinite(x[rows[i]]))
				out[(int64) i * w + 1 + j] = NAN;
	}
	for (int j = 0; j < f->nkey; j++)
	{
		MlKey	   *key = &f->keys[j];
		int			L = key->nlevels;

		if (!key->soft)
			for (int i = 0; i < n; i++)
				if (MlKeyCode(frame, key, rows[i]) < 0)
					for (int l = 0; l < L; l++)
						out[(int64) i * w + o + l] = NAN;
		o += L;
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

/* ---------- Bayesian ridge: the penalty chosen by the evidence ---------- */

#define BAYES_MAX_WIDTH		400		/* wider systems keep a fixed penalty */
#define BAYES_MAX_ITER		300
#define BAYES_PRIOR			1e-6	/* gamma hyperpriors of both precisions */

static bool
coefficients_finite(const double *beta, int w, double unit)
{
	for (int j = 0; j < w; j++)
		if (!isfinite(beta[j] / unit))
			return false;
	return true;
}

/*
 * A regression's coefficients beta, fitted on targets times unit (from
 * xtx, xty, n rows), divided by unit. Values near the double range: a
 * slope in the column's units may lie beyond it (1.7e308, -1.7e308, 0 over
 * eight one-hot levels gave -Infinity: every fill NaN, "-Infinity" in the
 * recipe). Such a fit is taken again with a ridge penalty ten times larger
 * each time until every coefficient is finite once unscaled; a penalty
 * large enough leaves the intercept, the scaled mean, which is (else the
 * mean alone). Fits whose coefficients are finite keep exactly what they
 * had.
 */
void
MlUnscaleCoefficients(const double *xtx, const double *xty, int w, int64 n, double unit, double *beta)
{
	double		lambda = 1e-2;

	while (!coefficients_finite(beta, w, unit) && lambda < 1e300)
	{
		MlLinalgRidgeSolve(xtx, xty, w, n, lambda, beta);
		lambda *= 10;
		CHECK_FOR_INTERRUPTS();
	}
	if (!coefficients_finite(beta, w, unit))
	{
		memset(beta, 0, sizeof(double) * w);
		beta[0] = n > 0 ? xty[0] / n : 0;
	}
	for (int j = 0; j < w; j++)
		beta[j] /= unit;
}

/*
 * The unit a numeric column's holdout errors are squared in (MlTargetUnit
 * of its largest magnitude): on values near the double range the squared
 * errors overflowed, every candidate scored infinite, and auto kept the
 * mean with no error to report. 1 for any other column: its scores are
 * exactly what they were.
 */
double
MlLossUnit(MlColumn *col)
{
	return MlTargetUnit(Max(fabs(col->min), fabs(col->max)));
}

/*
 * Ridge regression whose penalty is estimated from the data by maximising
 * the marginal likelihood, as scikit-learn's BayesianRidge does (the
 * estimator its IterativeImputer uses): the noise precision alpha and the
 * weight precision lambda are updated in turn, with the centred Gram
 * matrix diagonalised once, the target in units of its standard deviation.
 * xtx (upper triangle) and xty come from rows whose column 0 is the
 * intercept, yy is the sum of squared targets. On a
 * table of twenty rows this shrinks hard; on a large one hardly at all.
 * Returns the penalty lambda / alpha, or -1 when the system is too wide (a
 * fixed small penalty is used then).
 */
double
MlRidgeFitBayes(const double *xtx, const double *xty, double yy, int p, int64 n, double *beta)
{
	int			q = p - 1;
	double	   *C,
			   *e,
			   *c,
			   *ct;
	double		ybar,
				yyc,
				sdy,
				alpha,
				lambda = 1,
				r = 0;

	if (n < 2)
	{
		/* nothing to learn a slope from: the mean of what there is */
		memset(beta, 0, sizeof(double) * p);
		beta[0] = n > 0 ? xty[0] / n : 0;
		return -1;
	}
	if (q < 1 || q > BAYES_MAX_WIDTH)
	{
		MlLinalgRidgeSolve(xtx, xty, p, n, 1e-4, beta);
		return -1;
	}
	C = palloc(sizeof(double) * q * q);
	e = palloc(sizeof(double) * q);
	c = palloc(sizeof(double) * q);
	ct = palloc0(sizeof(double) * q);
	ybar = xty[0] / n;
	yyc = Max(yy - n * ybar * ybar, 0);
	for (int a = 0; a < q; a++)
	{
		double		sa = xtx[a + 1];	/* row 0: sums of the features */

		c[a] = xty[a + 1] - sa * ybar;
		for (int b = a; b < q; b++)
		{
			double		v = xtx[(a + 1) * p + b + 1] - sa * xtx[b + 1] / n;

			C[a * q + b] = C[b * q + a] = v;
		}
	}
	if (!MlLinalgSymEigen(C, q, e))
	{
		pfree(C);
		pfree(e);
		pfree(c);
		pfree(ct);
		MlLinalgRidgeSolve(xtx, xty, p, n, 1e-2, beta);
		return -1;
	}
	/* in units of the target's sd, so the hyperpriors mean what they do there */
	sdy = sqrt(yyc / n);
	if (!(sdy > 0))
		sdy = 1;
	yyc /= sdy * sdy;
	for (int j = 0; j < q; j++)
	{
		e[j] = Max(e[j], 0);
		for (int a = 0; a < q; a++)
			ct[j] += C[j * q + a] * c[a];
		ct[j] /= sdy;
	}
	alpha = 1.0 / (yyc / n + 1e-12);
	for (int iter = 0; iter < BAYES_MAX_ITER; iter++)
	{
		double		gamma = 0,
					w2 = 0,
					rss = yyc,
					rold = r;

		r = lambda / alpha;
		for (int j = 0; j < q; j++)
		{
			/* a direction with no variance and no penalty carries no weight */
			double		u = (e[j] + r) > 0 ? ct[j] / (e[j] + r) : 0;

			w2 += u * u;
			rss += -2 * ct[j] * u + e[j] * u * u;
			if (lambda + alpha * e[j] > 0)
				gamma += alpha * e[j] / (lambda + alpha * e[j]);
		}
		rss = Max(rss, 1e-12 * (yyc + 1e-12));
		lambda = (gamma + 2 * BAYES_PRIOR) / (w2 + 2 * BAYES_PRIOR);
		alpha = (n - gamma + 2 * BAYES_PRIOR) / (rss + 2 * BAYES_PRIOR);
		if (!(alpha > 0) || !isfinite(lambda) || !isfinite(alpha))
			break;
		if (iter > 0 && fabs(lambda / alpha - rold) <= 1e-6 * (rold + 1e-12))
			break;
	}
	/*
	 * Values whose squares overflow leave no usable evidence: a penalty so
	 * large that the fit is the mean.
	 */
	r = (alpha > 0 && isfinite(lambda) && isfinite(alpha)) ? lambda / alpha : 1e12;
	if (!isfinite(r))
		r = 1e12;
	beta[0] = ybar;
	for (int a = 0; a < q; a++)
	{
		double		w = 0;

		for (int j = 0; j < q; j++)
			if (e[j] + r > 0)
				w += C[j * q + a] * ct[j] / (e[j] + r);
		w *= sdy;
		beta[a + 1] = w;
		beta[0] -= w * xtx[a + 1] / n;
	}
	pfree(C);
	pfree(e);
	pfree(c);
	pfree(ct);
	return r;
}
