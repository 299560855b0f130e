/*
 * logistic.c
 *	  L2-regularised logistic regression, binary and multinomial.
 *
 * scikit-learn's LogisticRegression(C, penalty="l2", solver="lbfgs"): the
 * mean of the weighted log loss plus ||W||^2 / (2 C sum(w)), intercepts
 * unpenalised, minimised by L-BFGS. Two classes use one weight vector (the
 * binary loss, as scikit-learn does); more use one per class (softmax). The
 * logits and the gradient are BLAS products over a row-major copy of the
 * design (core/linalg.c). The penalty keeps the weights finite on separable
 * data; the fit checks that they are.
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>
#include <math.h>

#include "miscadmin.h"

#include "core/linalg.h"
#include "core/options.h"
#include "model/model.h"

#define LBFGS_M 10

typedef struct LogisticParams
{
	double		C;
	int			max_iter;
	double		tol;
	bool		fit_intercept;
} LogisticParams;

typedef struct LogisticModel
{
	int			nfeat;
	int			nclass;
	int			nsets;			/* 1 for two classes, else nclass */
	double	   *W;				/* nsets x nfeat */
	double	   *b;				/* nsets */
} LogisticModel;

/* What the objective needs: the data and scratch space. */
typedef struct LogisticProblem
{
	int64		n;
	int			p;
	int			nsets;
	bool		fit_intercept;
	const double *X;			/* n x p row-major */
	const int  *y;				/* class per row */
	const double *w;			/* weight per row, or NULL */
	double		sw;				/* sum of the weights */
	double		l2;				/* 1 / (C sw) */
	double	   *Z;				/* n x nsets logits, then residuals */
} LogisticProblem;

static bool
logistic_supports(MlTask task)
{
	return task == ML_TASK_BINARY || task == ML_TASK_MULTICLASS;
}

static void *
logistic_read_params(JsonbContainer *hp, MlTask task)
{
	static const char *const valid[] = {"C", "fit_intercept", "max_iter", "tol", NULL};
	LogisticParams *p = palloc0(sizeof(LogisticParams));

	(void) task;
	MlOptCheckKeys(hp, "logistic hyperparameters", valid);
	p->C = MlOptRange(hp, "C", 1.0, 1e-12, 1e12);
	p->max_iter = MlOptInt(hp, "max_iter", 100, 1, 1000000);
	p->tol = MlOptRange(hp, "tol", 1e-4, 0.0, 1.0);
	p->fit_intercept = MlOptBool(hp, "fit_intercept", true);
	return p;
}

static void
logistic_params_json(void *params, StringInfo out)
{
	LogisticParams *p = params;

	appendStringInfoString(out, "{\"C\": ");
	MlJsonNumber(out, p->C);
	appendStringInfo(out, ", \"max_iter\": %d, \"tol\": ", p->max_iter);
	MlJsonNumber(out, p->tol);
	appendStringInfo(out, ", \"fit_intercept\": %s}", p->fit_intercept ? "true" : "false");
}

/* log(1 + exp(z)) without overflow. */
static double
softplus(double z)
{
	return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/*
 * Objective and gradient at theta = (W row by row, then b). The gradient
 * of the mean loss is R'X / sw with R the weighted residuals (p - y).
 */
static double
objective(LogisticProblem *pr, const double *theta, double *grad)
{
	int64		n = pr->n;
	int			p = pr->p;
	int			K = pr->nsets;
	const double *W = theta;
	const double *b = theta + (size_t) K * p;
	double	   *Z = pr->Z;
	double		loss = 0;
	double		pen = 0;

	if (p > 0)
		MlLinalgGemm(false, true, (int) n, K, p, 1.0, pr->X, p, W, p, 0.0, Z, K);
	else
		memset(Z, 0, sizeof(double) * n * K);
	for (int c = 0; c < K; c++)
		grad[(size_t) K * p + c] = 0;
	for (int64 i = 0; i < n; i++)
	{
		double	   *z = Z + i * K;
		double		wi = pr->w ? pr->w[i] : 1.0;
		int			yi = pr->y[i];

		for (int c = 0; c < K; c++)
			z[c] += b[c];
		if (K == 1)
		{
			double		pr1;

			loss += wi * (softplus(z[0]) - (yi == 1 ? z[0] : 0));
			pr1 = z[0] >= 0 ? 1.0 / (1.0 + exp(-z[0])) : exp(z[0]) / (1.0 + exp(z[0]));
			z[0] = wi * (pr1 - (yi == 1 ? 1.0 : 0.0));
		}
		else
		{
			double		mx = z[0];
			double		se = 0;

			for (int c = 1; c < K; c++)
				mx = Max(mx, z[c]);
			for (int c = 0; c < K; c++)
				se += exp(z[c] - mx);
			loss += wi * (mx + log(se) - z[yi]);
			for (int c = 0; c < K; c++)
				z[c] = wi * (exp(z[c] - mx) / se - (c == yi ? 1.0 : 0.0));
		}
		for (int c = 0; c < K; c++)
			grad[(size_t) K * p + c] += z[c];
	}
	/* gradient of the weights: Z' X (K x p) */
	if (p > 0)
		MlLinalgGemm(true, false, K, p, (int) n, 1.0 / pr->sw, Z, K, pr->X, p, 0.0, grad, p);
	for (int c = 0; c < K; c++)
		grad[(size_t) K * p + c] = pr->fit_intercept ? grad[(size_t) K * p + c] / pr->sw : 0;
	for (size_t j = 0; j < (size_t) K * p; j++)
	{
		pen += W[j] * W[j];
		grad[j] += pr->l2 * W[j];
	}
	return loss / pr->sw + 0.5 * pr->l2 * pen;
}

static double
dot(const double *a, const double *b, int n)
{
	double		s = 0;

	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/*
 * L-BFGS (two-loop recursion, LBFGS_M pairs) with a backtracking Armijo line
 * search. Stops when the largest gradient component is at most tol (as
 * scipy's gtol in scikit-learn) or the objective stops decreasing relative
 * to its size (64 machine epsilons, scikit-learn's ftol). Returns the
 * iterations used, max_iter + 1 if it did not converge.
 */
static int
lbfgs(LogisticProblem *pr, double *x, int dim, int max_iter, double tol)
{
	double	   *g = palloc(sizeof(double) * dim);
	double	   *gn = palloc(sizeof(double) * dim);
	double	   *xn = palloc(sizeof(double) * dim);
	double	   *d = palloc(sizeof(double) * dim);
	double	   *S = palloc(sizeof(double) * dim * LBFGS_M);
	double	   *Y = palloc(sizeof(double) * dim * LBFGS_M);
	double		rho[LBFGS_M];
	double		alph[LBFGS_M];
	int			mem = 0;
	int			head = 0;
	double		f = objective(pr, x, g);
	int			iter;

	for (iter = 1; iter <= max_iter; iter++)
	{
		double		gmax = 0;
		double		gd;
		double		t;
		double		fn = f;
		int			ls;

		for (int j = 0; j < dim; j++)
			gmax = Max(gmax, fabs(g[j]));
		if (gmax <= tol)
			break;
		/* d = -H g */
		for (int j = 0; j < dim; j++)
			d[j] = -g[j];
		for (int k = 0; k < mem; k++)
		{
			int			s = (head - 1 - k + LBFGS_M) % LBFGS_M;

			alph[s] = rho[s] * dot(S + (size_t) s * dim, d, dim);
			for (int j = 0; j < dim; j++)
				d[j] -= alph[s] * Y[(size_t) s * dim + j];
		}
		if (mem > 0)
		{
			int			s = (head - 1 + LBFGS_M) % LBFGS_M;
			double		gamma = dot(S + (size_t) s * dim, Y + (size_t) s * dim, dim) /
				dot(Y + (size_t) s * dim, Y + (size_t) s * dim, dim);

			for (int j = 0; j < dim; j++)
				d[j] *= gamma;
		}
		for (int k = mem - 1; k >= 0; k--)
		{
			int			s = (head - 1 - k + LBFGS_M) % LBFGS_M;
			double		beta = rho[s] * dot(Y + (size_t) s * dim, d, dim);

			for (int j = 0; j < dim; j++)
				d[j] += (alph[s] - beta) * S[(size_t) s * dim + j];
		}
		gd = dot(g, d, dim);
		if (!(gd < 0))
		{
			/* not a descent direction: forget the curvature pairs */
			mem = 0;
			for (int j = 0; j < dim; j++)
				d[j] = -g[j];
			gd = -dot(g, g, dim);
		}
		t = mem == 0 ? Min(1.0, 1.0 / sqrt(-gd)) : 1.0;
		for (ls = 0; ls < 60; ls++)
		{
			for (int j = 0; j < dim; j++)
				xn[j] = x[j] + t * d[j];
			fn = objective(pr, xn, gn);
			if (fn <= f + 1e-4 * t * gd)
				break;
			t *= 0.5;
			CHECK_FOR_INTERRUPTS();
		}
		if (ls == 60)
			break;				/* no progress possible at this precision */
		{
			double	   *s = S + (size_t) head * dim;
			double	   *yv = Y + (size_t) head * dim;
			double		sy;

			for (int j = 0; j < dim; j++)
			{
				s[j] = xn[j] - x[j];
				yv[j] = gn[j] - g[j];
			}
			sy = dot(s, yv, dim);
			if (sy > 1e-12 * dot(yv, yv, dim))
			{
				rho[head] = 1.0 / sy;
				head = (head + 1) % LBFGS_M;
				mem = Min(mem + 1, LBFGS_M);
			}
		}
		memcpy(x, xn, sizeof(double) * dim);
		memcpy(g, gn, sizeof(double) * dim);
		if ((f - fn) <= 64 * DBL_EPSILON * Max(Max(fabs(f), fabs(fn)), 1.0))
		{
			f = fn;
			break;
		}
		f = fn;
		CHECK_FOR_INTERRUPTS();
	}
	pfree(g);
	pfree(gn);
	pfree(xn);
	pfree(d);
	pfree(S);
	pfree(Y);
	return iter;
}

static void *
logistic_fit(const MlDesign *d, void *params)
{
	LogisticParams *prm = params;
	LogisticModel *m = palloc0(sizeof(LogisticModel));
	LogisticProblem pr;
	int64		n = d->nrows;
	int			p = d->nfeat;
	int			K = d->nclass == 2 ? 1 : d->nclass;
	int			dim;
	double	   *X;
	int		   *y;
	double	   *theta;
	int			iters;

	if (d->nclass < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression needs at least two classes")));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression needs at least one row")));
	if (n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("logistic regression takes at most %d rows", INT_MAX)));
	X = palloc_extended(mul_size(mul_size((Size) n, (Size) Max(p, 1)), sizeof(double)), MCXT_ALLOC_HUGE);
	y = palloc(sizeof(int) * n);
	for (int j = 0; j < p; j++)
		for (int64 i = 0; i < n; i++)
			X[i * p + j] = d->col[j][i];
	pr.sw = 0;
	for (int64 i = 0; i < n; i++)
	{
		double		yi = d->y[i];

		if (!(yi >= 0 && yi < d->nclass) || yi != floor(yi))
			elog(ERROR, "class index %g outside 0..%d", yi, d->nclass - 1);
		y[i] = (int) yi;
		pr.sw += d->w ? d->w[i] : 1.0;
	}
	if (!(pr.sw > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("logistic regression needs a positive total row weight")));
	pr.n = n;
	pr.p = p;
	pr.nsets = K;
	pr.fit_intercept = prm->fit_intercept;
	pr.X = X;
	pr.y = y;
	pr.w = d->w;
	pr.l2 = 1.0 / (prm->C * pr.sw);
	pr.Z = palloc_extended(mul_size(mul_size((Size) n, (Size) K), sizeof(double)), MCXT_ALLOC_HUGE);
	dim = K * p + K;
	theta = palloc0(sizeof(double) * dim);
	iters = lbfgs(&pr, theta, dim, prm->max_iter, prm->tol);
	if (iters > prm->max_iter)
		ereport(NOTICE,
				(errmsg("logistic regression did not converge in %d iterations", prm->max_iter),
				 errhint("Raise max_iter or tol.")));
	for (int j = 0; j < dim; j++)
		if (!isfinite(theta[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("logistic regression diverged"),
					 errhint("Lower C (more regularisation).")));
	m->nfeat = p;
	m->nclass = d->nclass;
	m->nsets = K;
	m->W = theta;
	m->b = theta + (size_t) K * p;
	pfree(X);
	pfree(y);
	pfree(pr.Z);
	return m;
}

static void
logistic_predict(void *model, const MlDesign *d, double *out)
{
	LogisticModel *m = model;
	int			K = m->nsets;
	double	   *z = palloc(sizeof(double) * K);

	for (int64 i = 0; i < d->nrows; i++)
	{
		double	   *o = out + i * m->nclass;

		for (int c = 0; c < K; c++)
		{
			double		s = m->b[c];

			for (int j = 0; j < m->nfeat; j++)
				s += m->W[(size_t) c * m->nfeat + j] * d->col[j][i];
			if (!isfinite(s))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cannot score a row whose features are not finite numbers")));
			z[c] = s;
		}
		if (K == 1)
		{
			double		p1 = z[0] >= 0 ? 1.0 / (1.0 + exp(-z[0])) : exp(z[0]) / (1.0 + exp(z[0]));

			o[0] = 1.0 - p1;
			o[1] = p1;
		}
		else
		{
			double		mx = z[0];
			double		se = 0;

			for (int c = 1; c < K; c++)
				mx = Max(mx, z[c]);
			for (int c = 0; c < K; c++)
				se += (o[c] = exp(z[c] - mx));
			for (int c = 0; c < K; c++)
				o[c] /= se;
		}
	}
	pfree(z);
}

static void
logistic_save(void *model, StringInfo buf)
{
	LogisticModel *m = model;

	MlWriteInt32(buf, m->nfeat);
	MlWriteInt32(buf, m->nclass);
	MlWriteInt32(buf, m->nsets);
	MlWriteFloat8s(buf, m->W, (int64) m->nsets * m->nfeat);
	MlWriteFloat8s(buf, m->b, m->nsets);
}

static void *
logistic_load(MlReader *r, const MlDesign *shape)
{
	LogisticModel *m = palloc0(sizeof(LogisticModel));
	int			nsets;

	if (shape->nclass < 2)
		MlPayloadInvalid(r, "a logistic model needs at least two classes");
	m->nfeat = MlReadInt32(r, shape->nfeat, shape->nfeat);
	m->nclass = MlReadInt32(r, shape->nclass, shape->nclass);
	nsets = m->nclass == 2 ? 1 : m->nclass;
	m->nsets = MlReadInt32(r, nsets, nsets);
	m->W = palloc(sizeof(double) * Max((int64) nsets * m->nfeat, 1));
	m->b = palloc(sizeof(double) * nsets);
	for (int64 j = 0; j < (int64) nsets * m->nfeat; j++)
		m->W[j] = MlReadFiniteFloat8(r);
	for (int c = 0; c < nsets; c++)
		m->b[c] = MlReadFiniteFloat8(r);
	return m;
}

/* Sum over classes of |weight| on standardized features. */
static void
logistic_importance(void *model, double *gain)
{
	LogisticModel *m = model;

	for (int j = 0; j < m->nfeat; j++)
	{
		gain[j] = 0;
		for (int c = 0; c < m->nsets; c++)
			gain[j] += fabs(m->W[(size_t) c * m->nfeat + j]);
	}
}

static void
logistic_view(void *model, MlModelView *v)
{
	LogisticModel *m = model;

	v->form = ML_FORM_LINEAR;
	v->nfeat = m->nfeat;
	v->nsets = m->nsets;
	v->coef = m->W;
	v->intercept = m->b;
}

const MlLearner MlLogisticLearner = {
	.name = "logistic",
	.supports = logistic_supports,
	.read_params = logistic_read_params,
	.params_json = logistic_params_json,
	.fit = logistic_fit,
	.predict = logistic_predict,
	.save = logistic_save,
	.load = logistic_load,
	.importance = logistic_importance,
	.view = logistic_view,
	.needs_dense = true,
};
