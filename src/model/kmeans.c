/*
 * kmeans.c
 *	  k-means clustering: k-means++ seeding, Lloyd iterations.
 *
 * scikit-learn's KMeans(n_clusters, n_init, max_iter, tol): greedy
 * k-means++ (2 + log k candidates per centre, seeded by the design's seed),
 * then Lloyd steps until the centres move less than tol times the mean
 * feature variance (squared shift) or no row changes cluster. Squared
 * distances come from BLAS products, ||x||^2 - 2 x'c + ||c||^2, a block of
 * rows at a time. An empty cluster takes the row farthest from its centre.
 * The best of n_init runs (lowest inertia) is kept. The design is dense and
 * standardized (needs_dense); prediction is the nearest centre's index.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"

#include "core/linalg.h"
#include "core/options.h"
#include "model/model.h"

#define KMEANS_BLOCK 2048

typedef struct KmeansParams
{
	int			n_clusters;
	int			n_init;
	int			max_iter;
	double		tol;
} KmeansParams;

typedef struct KmeansModel
{
	int			nfeat;
	int			k;
	double	   *centers;		/* k x nfeat */
} KmeansModel;

static bool
kmeans_supports(MlTask task)
{
	return task == ML_TASK_CLUSTERING;
}

static void *
kmeans_read_params(JsonbContainer *hp, MlTask task)
{
	static const char *const valid[] = {"max_iter", "n_clusters", "n_init", "tol", NULL};
	KmeansParams *p = palloc0(sizeof(KmeansParams));

	(void) task;
	MlOptCheckKeys(hp, "kmeans hyperparameters", valid);
	p->n_clusters = MlOptInt(hp, "n_clusters", 8, 1, 10000);
	p->n_init = MlOptInt(hp, "n_init", 1, 1, 100);
	p->max_iter = MlOptInt(hp, "max_iter", 300, 1, 100000);
	p->tol = MlOptRange(hp, "tol", 1e-4, 0.0, 1.0);
	return p;
}

static void
kmeans_params_json(void *params, StringInfo out)
{
	KmeansParams *p = params;

	appendStringInfo(out, "{\"n_clusters\": %d, \"n_init\": %d, \"max_iter\": %d, \"tol\": ",
					 p->n_clusters, p->n_init, p->max_iter);
	MlJsonNumber(out, p->tol);
	appendStringInfoChar(out, '}');
}

/*
 * For rows [0, n) of X (row-major, norms xx): the nearest of the k centres
 * C (norms cc) into label (if not NULL) and the squared distance into dist.
 */
static void
nearest(const double *X, const double *xx, int64 n, int p, const double *C,
		const double *cc, int k, int *label, double *dist, double *scratch)
{
	for (int64 start = 0; start < n; start += KMEANS_BLOCK)
	{
		int			rows = (int) Min(KMEANS_BLOCK, n - start);

		/* scratch (rows x k) = X_block C' */
		MlLinalgCrossProduct(X + start * p, rows, C, k, p, scratch);
		for (int r = 0; r < rows; r++)
		{
			const double *s = scratch + (size_t) r * k;
			double		best = DBL_MAX;
			int			bi = 0;

			for (int c = 0; c < k; c++)
			{
				double		dd = cc[c] - 2 * s[c];

				if (dd < best)
				{
					best = dd;
					bi = c;
				}
			}
			if (label)
				label[start + r] = bi;
			dist[start + r] = Max(best + xx[start + r], 0.0);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

static void
norms(const double *A, int64 n, int p, double *out)
{
	for (int64 i = 0; i < n; i++)
	{
		double		s = 0;

		for (int j = 0; j < p; j++)
			s += A[i * p + j] * A[i * p + j];
		out[i] = s;
	}
}

/* A row drawn with probability proportional to weight (sum total). */
static int64
draw(pg_prng_state *rng, const double *weight, int64 n, double total)
{
	double		u = pg_prng_double(rng) * total;
	double		acc = 0;

	for (int64 i = 0; i < n; i++)
	{
		acc += weight[i];
		if (acc > u)
			return i;
	}
	return n - 1;
}

/* Greedy k-means++ seeding into C (k x p). */
static void
seed_centres(const double *X, const double *xx, const double *w, int64 n, int p, int k,
			 pg_prng_state *rng, double *C, double *mind, double *scratch)
{
	int			trials = 2 + (int) log((double) k);
	double	   *cand = palloc(sizeof(double) * trials * p);
	double	   *candn = palloc(sizeof(double) * trials);
	double	   *cd = palloc(sizeof(double) * n);
	double	   *wd = palloc(sizeof(double) * n);
	double	   *bestd = palloc(sizeof(double) * n);
	int64		first;
	double		total = 0;

	for (int64 i = 0; i < n; i++)
		total += w ? w[i] : 1.0;
	if (w)
		first = draw(rng, w, n, total);
	else
		first = (int64) pg_prng_uint64_range(rng, 0, n - 1);
	memcpy(C, X + first * p, sizeof(double) * p);
	norms(C, 1, p, candn);
	nearest(X, xx, n, p, C, candn, 1, NULL, mind, scratch);
	for (int c = 1; c < k; c++)
	{
		double		pot = 0;
		double		best_pot = DBL_MAX;
		int64		best_row = 0;

		for (int64 i = 0; i < n; i++)
			pot += (wd[i] = mind[i] * (w ? w[i] : 1.0));
		for (int t = 0; t < trials; t++)
		{
			int64		row = pot > 0 ? draw(rng, wd, n, pot)
				: (int64) pg_prng_uint64_range(rng, 0, n - 1);
			double		tp = 0;

			memcpy(cand, X + row * p, sizeof(double) * p);
			norms(cand, 1, p, candn);
			nearest(X, xx, n, p, cand, candn, 1, NULL, cd, scratch);
			for (int64 i = 0; i < n; i++)
			{
				cd[i] = Min(cd[i], mind[i]);
				tp += cd[i] * (w ? w[i] : 1.0);
			}
			if (tp < best_pot)
			{
				best_pot = tp;
				best_row = row;
				memcpy(bestd, cd, sizeof(double) * n);
			}
		}
		memcpy(C + (size_t) c * p, X + best_row * p, sizeof(double) * p);
		memcpy(mind, bestd, sizeof(double) * n);
	}
	pfree(cand);
	pfree(candn);
	pfree(cd);
	pfree(wd);
	pfree(bestd);
}

/* One k-means run from a seeding; returns the inertia, centres in C. */
static double
lloyd(const double *X, const double *xx, const double *w, int64 n, int p, int k,
	  int max_iter, double tol, double *C, int *label, double *dist, double *scratch)
{
	double	   *cc = palloc(sizeof(double) * k);
	double	   *sum = palloc(sizeof(double) * k * p);
	double	   *cnt = palloc(sizeof(double) * k);
	int		   *old = palloc(sizeof(int) * n);
	double		inertia = 0;

	for (int64 i = 0; i < n; i++)
		old[i] = -1;
	for (int iter = 0; iter < max_iter; iter++)
	{
		double		shift = 0;
		bool		changed = false;

		norms(C, k, p, cc);
		nearest(X, xx, n, p, C, cc, k, label, dist, scratch);
		for (int64 i = 0; i < n; i++)
			if (label[i] != old[i])
			{
				changed = true;
				old[i] = label[i];
			}
		if (!changed)
			break;
		memset(sum, 0, sizeof(double) * k * p);
		memset(cnt, 0, sizeof(double) * k);
		for (int64 i = 0; i < n; i++)
		{
			double		wi = w ? w[i] : 1.0;
			double	   *s = sum + (size_t) label[i] * p;

			cnt[label[i]] += wi;
			for (int j = 0; j < p; j++)
				s[j] += wi * X[i * p + j];
		}
		for (int c = 0; c < k; c++)
		{
			double	   *cen = C + (size_t) c * p;

			if (cnt[c] <= 0)
			{
				/* empty: the row farthest from its centre starts it again */
				int64		far = 0;

				for (int64 i = 1; i < n; i++)
					if (dist[i] > dist[far])
						far = i;
				for (int j = 0; j < p; j++)
				{
					shift += (X[far * p + j] - cen[j]) * (X[far * p + j] - cen[j]);
					cen[j] = X[far * p + j];
				}
				dist[far] = 0;
				continue;
			}
			for (int j = 0; j < p; j++)
			{
				double		nc = sum[(size_t) c * p + j] / cnt[c];

				shift += (nc - cen[j]) * (nc - cen[j]);
				cen[j] = nc;
			}
		}
		if (shift <= tol)
		{
			norms(C, k, p, cc);
			nearest(X, xx, n, p, C, cc, k, label, dist, scratch);
			break;
		}
	}
	for (int64 i = 0; i < n; i++)
		inertia += dist[i] * (w ? w[i] : 1.0);
	pfree(cc);
	pfree(sum);
	pfree(cnt);
	pfree(old);
	return inertia;
}

static void *
kmeans_fit(const MlDesign *d, void *params)
{
	KmeansParams *prm = params;
	KmeansModel *m = palloc0(sizeof(KmeansModel));
	int64		n = d->nrows;
	int			p = d->nfeat;
	int			k = prm->n_clusters;
	double	   *X;
	double	   *xx;
	double	   *C;
	double	   *bestC;
	int		   *label;
	double	   *dist;
	double	   *scratch;
	double		best = DBL_MAX;
	double		tol = 0;
	pg_prng_state rng;

	if (n < k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans with %d clusters needs at least %d rows, not " INT64_FORMAT, k, k, n)));
	if (p == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kmeans needs at least one feature")));
	X = palloc_extended(mul_size(mul_size((Size) n, (Size) p), sizeof(double)), MCXT_ALLOC_HUGE);
	for (int j = 0; j < p; j++)
	{
		double		mean = 0;
		double		var = 0;

		for (int64 i = 0; i < n; i++)
		{
			X[i * p + j] = d->col[j][i];
			mean += d->col[j][i];
		}
		mean /= n;
		for (int64 i = 0; i < n; i++)
			var += (d->col[j][i] - mean) * (d->col[j][i] - mean);
		tol += var / n;
	}
	/* scikit-learn: tol times the mean variance of the features */
	tol = prm->tol * tol / p;
	xx = palloc(sizeof(double) * n);
	norms(X, n, p, xx);
	C = palloc(sizeof(double) * k * p);
	bestC = palloc(sizeof(double) * k * p);
	label = palloc(sizeof(int) * n);
	dist = palloc(sizeof(double) * n);
	scratch = palloc(sizeof(double) * KMEANS_BLOCK * k);
	pg_prng_seed(&rng, d->seed);
	for (int run = 0; run < prm->n_init; run++)
	{
		double		inertia;

		seed_centres(X, xx, d->w, n, p, k, &rng, C, dist, scratch);
		inertia = lloyd(X, xx, d->w, n, p, k, prm->max_iter, tol, C, label, dist, scratch);
		if (inertia < best)
		{
			best = inertia;
			memcpy(bestC, C, sizeof(double) * k * p);
		}
	}
	for (int i = 0; i < k * p; i++)
		if (!isfinite(bestC[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("kmeans centres overflowed")));
	m->nfeat = p;
	m->k = k;
	m->centers = bestC;
	pfree(X);
	pfree(xx);
	pfree(C);
	pfree(label);
	pfree(dist);
	pfree(scratch);
	return m;
}

static void
kmeans_predict(void *model, const MlDesign *d, double *out)
{
	KmeansModel *m = model;

	for (int64 i = 0; i < d->nrows; i++)
	{
		double		best = DBL_MAX;
		int			bi = 0;

		for (int c = 0; c < m->k; c++)
		{
			double		s = 0;

			for (int j = 0; j < m->nfeat; j++)
			{
				double		diff = d->col[j][i] - m->centers[(size_t) c * m->nfeat + j];

				s += diff * diff;
			}
			if (s < best)
			{
				best = s;
				bi = c;
			}
		}
		if (!isfinite(best))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot assign a cluster to a row whose features are not finite numbers")));
		out[i] = bi;
	}
}

static void
kmeans_save(void *model, StringInfo buf)
{
	KmeansModel *m = model;

	MlWriteInt32(buf, m->nfeat);
	MlWriteInt32(buf, m->k);
	MlWriteFloat8s(buf, m->centers, (int64) m->k * m->nfeat);
}

static void *
kmeans_load(MlReader *r, const MlDesign *shape)
{
	KmeansModel *m = palloc0(sizeof(KmeansModel));

	m->nfeat = MlReadInt32(r, Max(shape->nfeat, 1), Max(shape->nfeat, 1));
	m->k = MlReadInt32(r, 1, 10000);
	if ((int64) m->k * m->nfeat > (r->len - r->pos) / 8)
		MlPayloadInvalid(r, "it ends too early");
	m->centers = palloc(sizeof(double) * m->k * m->nfeat);
	for (int i = 0; i < m->k * m->nfeat; i++)
		m->centers[i] = MlReadFiniteFloat8(r);
	return m;
}

const MlLearner MlKmeansLearner = {
	.name = "kmeans",
	.supports = kmeans_supports,
	.read_params = kmeans_read_params,
	.params_json = kmeans_params_json,
	.fit = kmeans_fit,
	.predict = kmeans_predict,
	.save = kmeans_save,
	.load = kmeans_load,
	.importance = NULL,
	.needs_dense = true,
};
