/*
 * naive_bayes.c
 *	  Naive Bayes: Gaussian likelihoods for numeric features, categorical
 *	  (Laplace-smoothed) likelihoods for categorical ones.
 *
 * Numeric features follow scikit-learn's GaussianNB: per-class mean and
 * variance, each variance plus var_smoothing times the largest feature
 * variance. Categorical features follow CategoricalNB: P(v | c) =
 * (count(c, v) + alpha) / (count(c) + alpha ncat). The design is raw
 * (needs_dense = false): a NaN cell is skipped, in fitting and in scoring,
 * and so is a category code outside 0..ncat-1 at scoring (a level the model
 * never saw). A numeric feature with no observed value in a class uses
 * the feature's mean and variance over all classes.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "miscadmin.h"

#include "core/options.h"
#include "model/model.h"

typedef struct NbParams
{
	double		var_smoothing;
	double		alpha;
} NbParams;

typedef struct NbModel
{
	int			nfeat;
	int			nclass;
	double	   *class_w;		/* training weight per class (prior) */
	bool	   *cat;			/* feature j is categorical */
	int		   *ncat;
	double	  **mean;			/* [j][c], numeric features */
	double	  **var;			/* [j][c] */
	double	  **logp;			/* [j][c * ncat + v], categorical */
} NbModel;

static bool
nb_supports(MlTask task)
{
	return task == ML_TASK_BINARY || task == ML_TASK_MULTICLASS;
}

static void *
nb_read_params(JsonbContainer *hp, MlTask task)
{
	static const char *const valid[] = {"alpha", "var_smoothing", NULL};
	NbParams   *p = palloc0(sizeof(NbParams));

	(void) task;
	MlOptCheckKeys(hp, "naive_bayes hyperparameters", valid);
	p->var_smoothing = MlOptRange(hp, "var_smoothing", 1e-9, 1e-300, 1.0);
	p->alpha = MlOptRange(hp, "alpha", 1.0, 1e-10, 1e6);
	return p;
}

static void
nb_params_json(void *params, StringInfo out)
{
	NbParams   *p = params;

	appendStringInfoString(out, "{\"var_smoothing\": ");
	MlJsonNumber(out, p->var_smoothing);
	appendStringInfoString(out, ", \"alpha\": ");
	MlJsonNumber(out, p->alpha);
	appendStringInfoChar(out, '}');
}

static NbModel *
nb_alloc(int nfeat, int nclass, const bool *cat, const int *ncat)
{
	NbModel    *m = palloc0(sizeof(NbModel));

	m->nfeat = nfeat;
	m->nclass = nclass;
	m->class_w = palloc0(sizeof(double) * nclass);
	m->cat = palloc0(sizeof(bool) * Max(nfeat, 1));
	m->ncat = palloc0(sizeof(int) * Max(nfeat, 1));
	m->mean = palloc0(sizeof(double *) * Max(nfeat, 1));
	m->var = palloc0(sizeof(double *) * Max(nfeat, 1));
	m->logp = palloc0(sizeof(double *) * Max(nfeat, 1));
	for (int j = 0; j < nfeat; j++)
	{
		m->cat[j] = cat && cat[j];
		if (m->cat[j])
		{
			m->ncat[j] = ncat[j];
			m->logp[j] = palloc0(sizeof(double) * nclass * Max(ncat[j], 1));
		}
		else
		{
			m->mean[j] = palloc0(sizeof(double) * nclass);
			m->var[j] = palloc0(sizeof(double) * nclass);
		}
	}
	return m;
}

static void *
nb_fit(const MlDesign *d, void *params)
{
	NbParams   *prm = params;
	int			K = d->nclass;
	int			p = d->nfeat;
	int64		n = d->nrows;
	NbModel    *m;
	double		maxvar = 0;
	double		eps;
	double	   *cw = palloc(sizeof(double) * K);
	double	   *s1 = palloc(sizeof(double) * K);
	int		   *cls = palloc(sizeof(int) * Max(n, 1));

	if (K < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("naive Bayes needs at least two classes")));
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("naive Bayes needs at least one row")));
	for (int j = 0; j < p; j++)
		if (d->categorical[j] && (d->ncat[j] < 1 || d->ncat[j] > 1000000))
			elog(ERROR, "feature %d has %d categories", j, d->ncat[j]);
	m = nb_alloc(p, K, d->categorical, d->ncat);
	for (int64 i = 0; i < n; i++)
	{
		double		yi = d->y[i];

		if (!(yi >= 0 && yi < K) || yi != floor(yi))
			elog(ERROR, "class index %g outside 0..%d", yi, K - 1);
		cls[i] = (int) yi;
		m->class_w[cls[i]] += d->w ? d->w[i] : 1.0;
	}
	/* numeric: weighted per-class moments over observed cells */
	for (int j = 0; j < p; j++)
	{
		const double *x = d->col[j];
		double		tw = 0;
		double		tm = 0;
		double		tv = 0;

		if (m->cat[j])
			continue;
		memset(cw, 0, sizeof(double) * K);
		memset(s1, 0, sizeof(double) * K);
		for (int64 i = 0; i < n; i++)
			if (!isnan(x[i]))
			{
				double		wi = d->w ? d->w[i] : 1.0;

				cw[cls[i]] += wi;
				s1[cls[i]] += wi * x[i];
				tw += wi;
				tm += wi * x[i];
			}
		if (tw > 0)
			tm /= tw;
		for (int c = 0; c < K; c++)
			m->mean[j][c] = cw[c] > 0 ? s1[c] / cw[c] : tm;
		for (int64 i = 0; i < n; i++)
			if (!isnan(x[i]))
			{
				double		wi = d->w ? d->w[i] : 1.0;
				double		dc = x[i] - m->mean[j][cls[i]];
				double		dt = x[i] - tm;

				m->var[j][cls[i]] += wi * dc * dc;
				tv += wi * dt * dt;
			}
		tv = tw > 0 ? tv / tw : 0;
		/* this feature's own moments: the smoothing below adds the largest to every one */
		if (!isfinite(tv) || !isfinite(tm))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the variance of feature \"%s\" overflowed", d->name[j]),
					 errhint("Rescale the feature.")));
		for (int c = 0; c < K; c++)
			m->var[j][c] = cw[c] > 0 ? m->var[j][c] / cw[c] : tv;
		maxvar = Max(maxvar, tv);
		CHECK_FOR_INTERRUPTS();
	}
	eps = prm->var_smoothing * maxvar;
	if (!(eps > 0))
		eps = prm->var_smoothing;	/* every numeric feature is constant */
	for (int j = 0; j < p; j++)
		if (!m->cat[j])
			for (int c = 0; c < K; c++)
			{
				m->var[j][c] += eps;
				if (!isfinite(m->var[j][c]) || !isfinite(m->mean[j][c]))
					ereport(ERROR,
							(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							 errmsg("the variance of feature \"%s\" overflowed", d->name[j]),
							 errhint("Rescale the feature.")));
			}
	/* categorical: smoothed log frequencies */
	for (int j = 0; j < p; j++)
	{
		int			nc;
		double	   *cnt;

		if (!m->cat[j])
			continue;
		nc = m->ncat[j];
		cnt = m->logp[j];
		memset(cw, 0, sizeof(double) * K);
		for (int64 i = 0; i < n; i++)
		{
			double		v = d->col[j][i];

			if (isnan(v) || v < 0 || v >= nc)
				continue;
			cnt[(size_t) cls[i] * nc + (int) v] += d->w ? d->w[i] : 1.0;
			cw[cls[i]] += d->w ? d->w[i] : 1.0;
		}
		for (int c = 0; c < K; c++)
			for (int v = 0; v < nc; v++)
				cnt[(size_t) c * nc + v] = log((cnt[(size_t) c * nc + v] + prm->alpha) /
											   (cw[c] + prm->alpha * nc));
		CHECK_FOR_INTERRUPTS();
	}
	pfree(cw);
	pfree(s1);
	pfree(cls);
	return m;
}

static void
nb_predict(void *model, const MlDesign *d, double *out)
{
	NbModel    *m = model;
	int			K = m->nclass;
	double		tw = 0;
	double	   *lp = palloc(sizeof(double) * K);

	for (int c = 0; c < K; c++)
		tw += m->class_w[c];
	for (int c = 0; c < K; c++)
		lp[c] = m->class_w[c] > 0 ? log(m->class_w[c] / tw) : -INFINITY;
	for (int64 i = 0; i < d->nrows; i++)
	{
		double	   *o = out + i * K;
		double		mx = -INFINITY;
		double		se = 0;

		for (int c = 0; c < K; c++)
			o[c] = lp[c];
		for (int j = 0; j < m->nfeat; j++)
		{
			double		x = d->col[j][i];

			if (isnan(x))
				continue;
			if (m->cat[j])
			{
				if (x < 0 || x >= m->ncat[j] || x != floor(x))
					continue;
				for (int c = 0; c < K; c++)
					o[c] += m->logp[j][(size_t) c * m->ncat[j] + (int) x];
			}
			else
				for (int c = 0; c < K; c++)
				{
					double		v = m->var[j][c];
					double		dx = x - m->mean[j][c];

					o[c] += -0.5 * log(2 * M_PI * v) - dx * dx / (2 * v);
				}
		}
		for (int c = 0; c < K; c++)
			mx = Max(mx, o[c]);
		if (!isfinite(mx))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("cannot score a row whose features are this far from every class")));
		for (int c = 0; c < K; c++)
			se += (o[c] = exp(o[c] - mx));
		for (int c = 0; c < K; c++)
			o[c] /= se;
	}
	pfree(lp);
}

static void
nb_save(void *model, StringInfo buf)
{
	NbModel    *m = model;

	MlWriteInt32(buf, m->nfeat);
	MlWriteInt32(buf, m->nclass);
	MlWriteFloat8s(buf, m->class_w, m->nclass);
	for (int j = 0; j < m->nfeat; j++)
	{
		MlWriteInt32(buf, m->cat[j] ? 1 : 0);
		if (m->cat[j])
		{
			MlWriteInt32(buf, m->ncat[j]);
			MlWriteFloat8s(buf, m->logp[j], (int64) m->nclass * m->ncat[j]);
		}
		else
		{
			MlWriteFloat8s(buf, m->mean[j], m->nclass);
			MlWriteFloat8s(buf, m->var[j], m->nclass);
		}
	}
}

static void *
nb_load(MlReader *r, const MlDesign *shape)
{
	int			nfeat = MlReadInt32(r, shape->nfeat, shape->nfeat);
	int			K = MlReadInt32(r, Max(shape->nclass, 2), Max(shape->nclass, 2));
	NbModel    *m;
	double		tw = 0;

	for (int j = 0; j < nfeat; j++)
		if (shape->categorical[j] && (shape->ncat[j] < 1 || shape->ncat[j] > 1000000))
			MlPayloadInvalid(r, "a categorical feature has no levels");
	m = nb_alloc(nfeat, K, shape->categorical, shape->ncat);
	for (int c = 0; c < K; c++)
	{
		m->class_w[c] = MlReadFiniteFloat8(r);
		if (m->class_w[c] < 0)
			MlPayloadInvalid(r, "a class weight is negative");
		tw += m->class_w[c];
	}
	if (!(tw > 0))
		MlPayloadInvalid(r, "no class has training weight");
	for (int j = 0; j < nfeat; j++)
	{
		int			kind = MlReadInt32(r, 0, 1);

		if (kind != (m->cat[j] ? 1 : 0))
			MlPayloadInvalid(r, "a feature's kind differs from the model's features");
		if (m->cat[j])
		{
			MlReadInt32(r, m->ncat[j], m->ncat[j]);
			if ((int64) K * m->ncat[j] > (r->len - r->pos) / 8)
				MlPayloadInvalid(r, "it ends too early");
			for (int64 v = 0; v < (int64) K * m->ncat[j]; v++)
			{
				m->logp[j][v] = MlReadFiniteFloat8(r);
				if (m->logp[j][v] > 0)
					MlPayloadInvalid(r, "a log probability is positive");
			}
		}
		else
		{
			for (int c = 0; c < K; c++)
				m->mean[j][c] = MlReadFiniteFloat8(r);
			for (int c = 0; c < K; c++)
			{
				m->var[j][c] = MlReadFiniteFloat8(r);
				if (!(m->var[j][c] > 0))
					MlPayloadInvalid(r, "a variance is not positive");
			}
		}
	}
	return m;
}

const MlLearner MlNaiveBayesLearner = {
	.name = "naive_bayes",
	.supports = nb_supports,
	.read_params = nb_read_params,
	.params_json = nb_params_json,
	.fit = nb_fit,
	.predict = nb_predict,
	.save = nb_save,
	.load = nb_load,
	.importance = NULL,
	.needs_dense = false,
};
