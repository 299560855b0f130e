/*
 * gram.c
 *	  Centred moments of (x, y) and the least-squares / ridge solve on them.
 *
 * Rows arrive one at a time (the aggregate) or a block at a time (the
 * learners) and are merged in blocks: a block's own mean, its centred cross
 * products by BLAS (dsyrk), then the pairwise update of Chan, Golub and
 * LeVeque, M = Ma + Mb + na nb / n (mb - ma)(mb - ma)'. Merging two partial
 * states (parallel workers) is the same update, so a fit does not depend,
 * beyond rounding, on how the rows were split, and centring per block keeps
 * the sums well conditioned where raw sums of squares would not be.
 */
#include "postgres.h"

#include <math.h>

#include "libpq/pqformat.h"
#include "miscadmin.h"

#include "core/linalg.h"
#include "model/gram.h"

#define GRAM_MAGIC 0x4d4c4752	/* "MLGR" */
#define GRAM_FORMAT 1

/* singular values of the correlation matrix below this count as zero */
#define GRAM_RCOND 1e-12

MlGram *
MlGramCreate(int p)
{
	MlGram	   *g = palloc0(sizeof(MlGram));

	if (p < 0 || p > ML_GRAM_MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a linear fit takes at most %d features, not %d",
						ML_GRAM_MAX_FEATURES, p)));
	g->k = p + 1;
	g->mean = palloc0(sizeof(double) * g->k);
	g->m = palloc0(sizeof(double) * g->k * g->k);
	/* about 1 MB of buffered rows: large enough for dsyrk to be efficient */
	g->cap = Max(64, 131072 / g->k);
	g->buf = palloc(sizeof(double) * g->cap * g->k);
	return g;
}

/* Where the caller writes the next row's k values (flushing a full buffer). */
double *
MlGramRowSlot(MlGram *g)
{
	if (g->nbuf == g->cap)
		MlGramFlush(g);
	return g->buf + (size_t) g->nbuf++ * g->k;
}

/* C += s d d' where d = b - a (upper triangle), the merge's cross term. */
static void
merge_moments(int k, int64 na, double *mean_a, double *m_a,
			  int64 nb, const double *mean_b, double *delta)
{
	double		n = (double) na + (double) nb;

	for (int j = 0; j < k; j++)
		delta[j] = mean_b[j] - mean_a[j];
	if (na > 0)
		MlLinalgSyr(delta, k, (double) na * (double) nb / n, m_a);
	for (int j = 0; j < k; j++)
		mean_a[j] += delta[j] * ((double) nb / n);
}

/*
 * Finite inputs can still overflow their squares (1e200^2): refuse rather
 * than carry an infinity into the state and its bytes.
 */
static void
check_finite(const MlGram *g)
{
	for (int j = 0; j < g->k; j++)
		if (!isfinite(g->mean[j]) || !isfinite(g->m[j * g->k + j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the values of a linear fit are too large: their sums of squares overflow"),
					 errhint("Rescale %s before fitting.", j == g->k - 1 ? "y" : "x")));
}

static void
system_too_large(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the values of a linear fit are too large: their sums of squares overflow"),
			 errhint("Rescale the features or the target, or fit an intercept.")));
}

void
MlGramFlush(MlGram *g)
{
	int			k = g->k;
	int			nb = g->nbuf;
	double	   *bmean;
	double	   *delta;

	if (nb == 0)
		return;
	bmean = palloc0(sizeof(double) * k);
	delta = palloc(sizeof(double) * k);
	for (int i = 0; i < nb; i++)
	{
		const double *row = g->buf + (size_t) i * k;

		for (int j = 0; j < k; j++)
			bmean[j] += row[j];
	}
	for (int j = 0; j < k; j++)
		bmean[j] /= nb;
	for (int i = 0; i < nb; i++)
	{
		double	   *row = g->buf + (size_t) i * k;

		for (int j = 0; j < k; j++)
			row[j] -= bmean[j];
	}
	/* the block's centred cross products add straight onto the state */
	MlLinalgSyrk(g->buf, nb, k, 1.0, g->m);
	merge_moments(k, g->n, g->mean, g->m, nb, bmean, delta);
	g->n += nb;
	g->nbuf = 0;
	check_finite(g);
	pfree(bmean);
	pfree(delta);
	CHECK_FOR_INTERRUPTS();
}

/* into += from (from is flushed first and left merged into nothing else). */
void
MlGramMerge(MlGram *into, MlGram *from)
{
	int			k = into->k;
	double	   *delta;

	if (from->k != k)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x arrays of %d and %d elements cannot be combined", into->k - 1, from->k - 1),
				 errhint("Every row of a linear fit needs the same number of features.")));
	MlGramFlush(into);
	MlGramFlush(from);
	if (from->n == 0)
		return;
	delta = palloc(sizeof(double) * k);
	for (int i = 0; i < k; i++)
		for (int j = i; j < k; j++)
			into->m[i * k + j] += from->m[i * k + j];
	merge_moments(k, into->n, into->mean, into->m, from->n, from->mean, delta);
	into->n += from->n;
	check_finite(into);
	pfree(delta);
}

/*
 * Bytes: magic, format, k, n, mean[k], the upper triangle of m row by row.
 * The aggregate's partial states and its final value both use this form.
 */
void
MlGramSerialize(MlGram *g, StringInfo buf)
{
	int			k = g->k;

	MlGramFlush(g);
	pq_sendint32(buf, GRAM_MAGIC);
	pq_sendint32(buf, GRAM_FORMAT);
	pq_sendint32(buf, k);
	pq_sendint64(buf, g->n);
	for (int j = 0; j < k; j++)
		pq_sendfloat8(buf, g->mean[j]);
	for (int i = 0; i < k; i++)
		for (int j = i; j < k; j++)
			pq_sendfloat8(buf, g->m[i * k + j]);
}

static void
gram_invalid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid linear fit state"),
			 errdetail("%s", detail),
			 errhint("Pass the value of mlops.ml_gram_agg unchanged.")));
}

/* Read bytes written by MlGramSerialize, trusting nothing. */
MlGram *
MlGramDeserialize(const char *data, int len)
{
	StringInfoData s;
	int32		magic;
	int32		format;
	int32		k;
	int64		n;
	MlGram	   *g;

	if (len < 20)
		gram_invalid("It is too short.");
	s.data = (char *) data;
	s.len = len;
	s.maxlen = len;
	s.cursor = 0;
	magic = (int32) pq_getmsgint(&s, 4);
	format = (int32) pq_getmsgint(&s, 4);
	k = (int32) pq_getmsgint(&s, 4);
	if (magic != (int32) GRAM_MAGIC)
		gram_invalid("It does not start with the state's magic number.");
	if (format != GRAM_FORMAT)
		gram_invalid(psprintf("Format %d is not known (this library writes %d).", format, GRAM_FORMAT));
	if (k < 1 || k > ML_GRAM_MAX_FEATURES + 1)
		gram_invalid(psprintf("It claims %d columns.", k));
	if ((int64) len != 20 + 8 * ((int64) k + (int64) k * (k + 1) / 2))
		gram_invalid(psprintf("It has %d bytes; %d columns take " INT64_FORMAT ".", len, k,
							  20 + 8 * ((int64) k + (int64) k * (k + 1) / 2)));
	n = pq_getmsgint64(&s);
	if (n < 0)
		gram_invalid("Its row count is negative.");
	g = MlGramCreate(k - 1);
	g->n = n;
	for (int j = 0; j < k; j++)
	{
		g->mean[j] = pq_getmsgfloat8(&s);
		if (!isfinite(g->mean[j]))
			gram_invalid("A mean is not finite.");
	}
	for (int i = 0; i < k; i++)
		for (int j = i; j < k; j++)
		{
			double		v = pq_getmsgfloat8(&s);

			if (!isfinite(v) || (i == j && v < 0))
				gram_invalid("A cross product is not finite or a sum of squares is negative.");
			g->m[i * k + j] = v;
		}
	if (n == 0)
		for (int j = 0; j < k; j++)
			if (g->mean[j] != 0 || g->m[j * k + j] != 0)
				gram_invalid("A state of no rows holds values.");
	return g;
}

/*
 * The normal equations of the state: a (p x p, both triangles) = X'X and
 * c = X'y, centred when fit_intercept (the intercept then follows from the
 * means), raw otherwise; *yy = y'y on the same footing.
 */
void
MlGramSystem(MlGram *g, bool fit_intercept, double *a, double *c, double *yy)
{
	int			k = g->k;
	int			p = k - 1;
	double		n;

	MlGramFlush(g);
	n = (double) g->n;
	for (int i = 0; i < p; i++)
	{
		for (int j = i; j < p; j++)
		{
			double		s = g->m[i * k + j];

			if (!fit_intercept)
				s += n * g->mean[i] * g->mean[j];
			a[i * p + j] = a[j * p + i] = s;
		}
		c[i] = g->m[i * k + p] + (fit_intercept ? 0 : n * g->mean[i] * g->mean[p]);
	}
	*yy = g->m[p * k + p] + (fit_intercept ? 0 : n * g->mean[p] * g->mean[p]);
	if (!isfinite(*yy))
		system_too_large();
	for (int i = 0; i < p; i++)
	{
		if (!isfinite(c[i]))
			system_too_large();
		for (int j = 0; j < p; j++)
			if (!isfinite(a[i * p + j]))
				system_too_large();
	}
}

/*
 * Minimise ||y - b0 - X b||^2 + alpha ||b||^2 (b0 unpenalised and fitted when
 * fit_intercept, else 0): scikit-learn's LinearRegression (alpha 0) and
 * Ridge(alpha). The normal equations are solved in standardized units (the
 * correlation matrix), minimum-norm by SVD: a constant feature gets 0, and
 * collinear features share their weight (the minimum-norm solution in
 * standardized units) instead of exploding.
 */
void
MlGramSolve(MlGram *g, double alpha, bool fit_intercept, double *intercept, double *coef)
{
	int			k = g->k;
	int			p = k - 1;
	double		n;
	int		   *act = palloc(sizeof(int) * Max(p, 1));
	int			na = 0;
	double	   *a;
	double	   *c;
	double	   *d;

	MlGramFlush(g);
	if (g->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a linear fit needs at least one row")));
	n = (double) g->n;
	for (int j = 0; j < p; j++)
	{
		double		sjj = g->m[j * k + j];
		double		mj = g->mean[j];

		coef[j] = 0;
		/*
		 * A column that does not vary (centred) or is all zeros (not
		 * centred) carries nothing: rounding of its mean must not turn into
		 * a coefficient.
		 */
		if (fit_intercept ? sjj <= n * (1e-10 * mj) * (1e-10 * mj)
			: sjj + n * mj * mj <= 0)
			continue;
		act[na++] = j;
	}
	a = palloc(sizeof(double) * Max(na * na, 1));
	c = palloc(sizeof(double) * Max(na, 1));
	d = palloc(sizeof(double) * Max(na, 1));
	for (int u = 0; u < na; u++)
	{
		int			i = act[u];

		for (int v = u; v < na; v++)
		{
			int			j = act[v];
			double		s = g->m[i * k + j];

			if (!fit_intercept)
				s += n * g->mean[i] * g->mean[j];
			a[u * na + v] = a[v * na + u] = s;
		}
		c[u] = g->m[i * k + p] + (fit_intercept ? 0 : n * g->mean[i] * g->mean[p]);
		a[u * na + u] += alpha;
		d[u] = sqrt(a[u * na + u]);
	}
	for (int u = 0; u < na; u++)
	{
		if (!isfinite(d[u]) || !isfinite(c[u]))
			system_too_large();
		for (int v = 0; v < na; v++)
			if (!isfinite(a[u * na + v]))
				system_too_large();
	}
	for (int u = 0; u < na; u++)
	{
		c[u] /= d[u];
		for (int v = 0; v < na; v++)
			a[u * na + v] /= d[u] * d[v];
	}
	MlLinalgMinNormSolve(a, na, c, GRAM_RCOND);
	for (int u = 0; u < na; u++)
		coef[act[u]] = c[u] / d[u];
	*intercept = 0;
	if (fit_intercept)
	{
		*intercept = g->mean[p];
		for (int j = 0; j < p; j++)
			*intercept -= coef[j] * g->mean[j];
	}
	for (int j = -1; j < p; j++)
		if (!isfinite(j < 0 ? *intercept : coef[j]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the coefficients of a linear fit overflow"),
					 errhint("Rescale the features or the target.")));
	pfree(a);
	pfree(c);
	pfree(d);
	pfree(act);
}
