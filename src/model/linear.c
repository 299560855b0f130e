/*
 * linear.c
 *	  Least squares and ridge regression on a dense design.
 *
 * The design reaching these learners is imputed, one-hot and standardized
 * by training (needs_dense), so every cell is finite. The fit accumulates
 * centred moments in blocks through BLAS and solves the normal equations in
 * standardized units, minimum-norm (model/gram.c); lasso and elastic net
 * run coordinate descent on the same moments.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "core/linalg.h"
#include "core/options.h"
#include "model/gram.h"
#include "model/model.h"

typedef enum LinearKind
{
	LINEAR_OLS,
	LINEAR_RIDGE,
	LINEAR_LASSO,
	LINEAR_ELASTIC_NET
} LinearKind;

typedef struct LinearParams
{
	LinearKind	kind;
	double		alpha;			/* penalty: Ridge / Lasso / ElasticNet(alpha) */
	double		l1_ratio;		/* share of L1 in the penalty (elastic net) */
	int			max_iter;		/* coordinate descent sweeps */
	double		tol;
	bool		fit_intercept;
} LinearParams;

typedef struct LinearModel
{
	int			nfeat;
	double		intercept;
	double	   *coef;
} LinearModel;

static bool
linear_supports(MlTask task)
{
	return task == ML_TASK_REGRESSION;
}

static void *
read_params(JsonbContainer *hp, LinearKind kind)
{
	static const char *const valid_linear[] = {"fit_intercept", NULL};
	static const char *const valid_ridge[] = {"alpha", "fit_intercept", NULL};
	static const char *const valid_lasso[] = {"alpha", "fit_intercept", "max_iter", "tol", NULL};
	static const char *const valid_enet[] = {"alpha", "fit_intercept", "l1_ratio", "max_iter",
	"tol", NULL};
	static const char *const what[] = {"linear hyperparameters", "ridge hyperparameters",
	"lasso hyperparameters", "elastic_net hyperparameters"};
	const char *const *valid[] = {valid_linear, valid_ridge, valid_lasso, valid_enet};
	LinearParams *p = palloc0(sizeof(LinearParams));

	MlOptCheckKeys(hp, what[kind], valid[kind]);
	p->kind = kind;
	p->alpha = kind == LINEAR_OLS ? 0.0 : MlOptRange(hp, "alpha", 1.0, 0.0, 1e12);
	p->l1_ratio = kind == LINEAR_ELASTIC_NET ? MlOptRange(hp, "l1_ratio", 0.5, 0.0, 1.0)
		: kind == LINEAR_LASSO ? 1.0 : 0.0;
	p->max_iter = kind >= LINEAR_LASSO ? MlOptInt(hp, "max_iter", 1000, 1, 1000000) : 0;
	p->tol = kind >= LINEAR_LASSO ? MlOptRange(hp, "tol", 1e-4, 0.0, 1.0) : 0.0;
	p->fit_intercept = MlOptBool(hp, "fit_intercept", true);
	return p;
}

static void *
linear_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, LINEAR_OLS);
}

static void *
ridge_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, LINEAR_RIDGE);
}

static void *
lasso_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, LINEAR_LASSO);
}

static void *
enet_read_params(JsonbContainer *hp, MlTask task)
{
	(void) task;
	return read_params(hp, LINEAR_ELASTIC_NET);
}

static void
linear_params_json(void *params, StringInfo out)
{
	LinearParams *p = params;

	appendStringInfoString(out, "{\"alpha\": ");
	MlJsonNumber(out, p->alpha);
	if (p->kind >= LINEAR_LASSO)
	{
		appendStringInfoString(out, ", \"l1_ratio\": ");
		MlJsonNumber(out, p->l1_ratio);
		appendStringInfo(out, ", \"max_iter\": %d, \"tol\": ", p->max_iter);
		MlJsonNumber(out, p->tol);
	}
	appendStringInfo(out, ", \"fit_intercept\": %s}", p->fit_intercept ? "true" : "false");
}

/*
 * Coordinate descent for scikit-learn's elastic net objective
 *	 (1/(2n)) ||y - Xw||^2 + alpha l1_ratio ||w||_1 + alpha (1 - l1_ratio) / 2 ||w||^2
 * on the Gram matrix G = X'X and q = X'y (scikit-learn's
 * enet_coordinate_descent_gram): h = G w is kept up to date, a sweep ends
 * with the largest step, and when that is below tol relative to the largest
 * weight the duality gap decides, against tol ||y||^2. Returns the sweeps
 * made (max_iter + 1 when it did not converge).
 */
static int
enet_descent(const double *G, const double *q, double yy, int p, double n,
			 const LinearParams *prm, double *w)
{
	double		l1 = prm->alpha * prm->l1_ratio * n;
	double		l2 = prm->alpha * (1.0 - prm->l1_ratio) * n;
	double		tol = prm->tol * yy;
	double	   *h = palloc0(sizeof(double) * Max(p, 1));
	int			iter;

	for (int j = 0; j < p; j++)
		w[j] = 0;
	for (iter = 1; iter <= prm->max_iter; iter++)
	{
		double		w_max = 0;
		double		dw_max = 0;

		for (int j = 0; j < p; j++)
		{
			double		gjj = G[j * p + j];
			double		old = w[j];
			double		rho;
			double		nw;

			if (gjj <= 0)
				continue;
			rho = q[j] - h[j] + gjj * old;
			nw = (rho > l1 ? rho - l1 : rho < -l1 ? rho + l1 : 0.0) / (gjj + l2);
			if (nw != old)
			{
				double		delta = nw - old;

				for (int i = 0; i < p; i++)
					h[i] += G[i * p + j] * delta;
				w[j] = nw;
			}
			dw_max = Max(dw_max, fabs(nw - old));
			w_max = Max(w_max, fabs(nw));
		}
		CHECK_FOR_INTERRUPTS();
		if (w_max == 0 || dw_max / w_max < prm->tol || iter == prm->max_iter)
		{
			double		qw = 0;
			double		wh = 0;
			double		ww = 0;
			double		w1 = 0;
			double		dual = 0;
			double		r2;
			double		cst;
			double		gap;

			for (int j = 0; j < p; j++)
			{
				qw += q[j] * w[j];
				wh += w[j] * h[j];
				ww += w[j] * w[j];
				w1 += fabs(w[j]);
				dual = Max(dual, fabs(q[j] - h[j] - l2 * w[j]));
			}
			r2 = yy + wh - 2 * qw;
			if (dual > l1)
			{
				cst = l1 / dual;
				gap = 0.5 * (r2 + r2 * cst * cst);
			}
			else
			{
				cst = 1.0;
				gap = r2;
			}
			gap += l1 * w1 - cst * yy + cst * qw + 0.5 * l2 * (1 + cst * cst) * ww;
			if (gap < tol)
				break;
		}
	}
	pfree(h);
	return iter;
}

/*
 * Accumulate the centred moments of (x, y) a block of rows at a time and
 * solve them (model/gram.c): the same code as the aggregate
 * mlops.ml_gram_agg + mlops.ml_linear_solve, so a fit in SQL and a fit by
 * ml_train give the same coefficients.
 */
static void *
linear_fit(const MlDesign *d, void *params)
{
	LinearParams *p = params;
	int			nfeat = d->nfeat;
	MlGram	   *g = MlGramCreate(nfeat);
	LinearModel *m = palloc0(sizeof(LinearModel));

	for (int64 i = 0; i < d->nrows; i++)
	{
		double	   *z = MlGramRowSlot(g);

		for (int j = 0; j < nfeat; j++)
			z[j] = d->col[j][i];
		z[nfeat] = d->y[i];
	}
	m->nfeat = nfeat;
	m->coef = palloc(sizeof(double) * Max(nfeat, 1));
	if (d->nrows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a linear fit needs at least one row")));
	if (p->kind <= LINEAR_RIDGE)
		MlGramSolve(g, p->alpha, p->fit_intercept, &m->intercept, m->coef);
	else
	{
		double	   *G = palloc(sizeof(double) * Max(nfeat * nfeat, 1));
		double	   *q = palloc(sizeof(double) * Max(nfeat, 1));
		double		yy;
		int			iters;

		MlGramSystem(g, p->fit_intercept, G, q, &yy);
		iters = enet_descent(G, q, yy, nfeat, (double) g->n, p, m->coef);
		if (iters > p->max_iter)
			ereport(NOTICE,
					(errmsg("coordinate descent did not converge in %d iterations", p->max_iter),
					 errhint("Raise max_iter or tol, or raise alpha.")));
		m->intercept = 0;
		if (p->fit_intercept)
		{
			m->intercept = g->mean[nfeat];
			for (int j = 0; j < nfeat; j++)
				m->intercept -= m->coef[j] * g->mean[j];
		}
		for (int j = 0; j < nfeat; j++)
			if (!isfinite(m->coef[j]))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("the linear fit overflowed")));
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

static void
linear_view(void *model, MlModelView *v)
{
	LinearModel *m = model;

	v->form = ML_FORM_LINEAR;
	v->nfeat = m->nfeat;
	v->nsets = 1;
	v->coef = m->coef;
	v->intercept = &m->intercept;
}

/* The four share everything but the name and how their penalty is read. */
#define LINEAR_LEARNER(name_, read_params_) { \
	.name = (name_), \
	.supports = linear_supports, \
	.read_params = (read_params_), \
	.params_json = linear_params_json, \
	.fit = linear_fit, \
	.predict = linear_predict, \
	.save = linear_save, \
	.load = linear_load, \
	.importance = linear_importance, \
	.view = linear_view, \
	.needs_dense = true, \
}

const MlLearner MlLinearLearner = LINEAR_LEARNER("linear", linear_read_params);
const MlLearner MlRidgeLearner = LINEAR_LEARNER("ridge", ridge_read_params);
const MlLearner MlLassoLearner = LINEAR_LEARNER("lasso", lasso_read_params);
const MlLearner MlElasticNetLearner = LINEAR_LEARNER("elastic_net", enet_read_params);
