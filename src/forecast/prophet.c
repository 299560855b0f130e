/*
 * prophet.c
 *	  One series' Prophet-style model, fitted by ridge regression.
 *
 * The model is Prophet's additive one: y(t) = trend(t) + weekly(t) +
 * yearly(t) + holidays(t) + noise, with time scaled to 0..1 over the
 * history and y scaled by its largest magnitude, as Prophet does. The trend
 * is k t + m + sum_j delta_j (t - s_j)+ over changepoints s_j spread evenly
 * over the first changepoint_range of the points; seasonalities are Fourier
 * series in days since 1970-01-01 (periods 7 and 365.25).
 *
 * Prophet's MAP estimate uses a Laplace prior on the deltas and Gaussian
 * priors elsewhere; we put Gaussian priors everywhere (sd 5 on k and m,
 * changepoint_prior on deltas, seasonality_prior and holiday_prior on the
 * rest), which makes the estimate a ridge regression with penalty
 * sigma^2 / prior^2 per column. sigma (the noise sd) is not known before the
 * fit, so it is estimated from the residuals and the system solved again: a
 * few rounds of this fixed point converge.
 *
 * Compute-only (see prophet.h): the linear algebra is OpenBLAS through
 * core/linalg.c's allocation-free calls.
 */
#include "postgres.h"

#include <math.h>

#include "core/linalg.h"
#include "forecast/prophet.h"

#define PRIOR_TREND 5.0			/* sd of the prior on k and m (Prophet's) */
#define SIGMA2_FLOOR 1e-12		/* scaled noise variance: keeps the system definite */
#define SIGMA_ROUNDS 4
#define YEARLY_MIN_DAYS 548		/* 1.5 years of history before yearly is automatic */
#define WEEKLY_MIN_DAYS 14

int
FcMaxParams(const FcConfig *cfg)
{
	return 2 + cfg->n_changepoints + 2 * cfg->weekly_order + 2 * cfg->yearly_order +
		cfg->nholidays;
}

Size
FcWorkspaceDoubles(int max_p)
{
	return (Size) FC_BLOCK_ROWS * max_p + 2 * (Size) max_p * max_p + max_p + FC_BLOCK_ROWS;
}

void
FcWorkspaceInit(FcWorkspace *ws, double *mem, int max_p)
{
	ws->max_p = max_p;
	ws->X = mem;
	ws->xtx = ws->X + (Size) FC_BLOCK_ROWS * max_p;
	ws->a = ws->xtx + (Size) max_p * max_p;
	ws->xty = ws->a + (Size) max_p * max_p;
	ws->fit = ws->xty + max_p;
}

static bool
is_holiday(const double *days, int ndays, double day)
{
	int			lo = 0,
				hi = ndays - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (days[mid] == day)
			return true;
		if (days[mid] < day)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return false;
}

/* sin and cos of k x for k = 1..order, by the angle-addition recurrence */
static void
fourier(double x, int order, double *out)
{
	double		s1 = sin(x),
				c1 = cos(x),
				s = s1,
				c = c1;

	for (int k = 0; k < order; k++)
	{
		double		sn = s * c1 + c * s1;

		out[2 * k] = s;
		out[2 * k + 1] = c;
		c = c * c1 - s * s1;
		s = sn;
	}
}

/* The model's p regressors at time ts (epoch seconds). */
void
FcDesignRow(const FcConfig *cfg, const FcModel *m, double ts, double *row)
{
	double		t = (ts - m->t0) / m->tspan;
	double		days = ts / FC_SECS_PER_DAY;
	int			c = 0;

	row[c++] = 1.0;
	row[c++] = t;
	for (int j = 0; j < m->ncp; j++)
		row[c++] = t > m->cp[j] ? t - m->cp[j] : 0.0;
	if (m->weekly > 0)
	{
		fourier(2.0 * M_PI * days / 7.0, m->weekly, &row[c]);
		c += 2 * m->weekly;
	}
	if (m->yearly > 0)
	{
		fourier(2.0 * M_PI * days / 365.25, m->yearly, &row[c]);
		c += 2 * m->yearly;
	}
	for (int g = 0; g < m->nhol; g++)
		row[c++] = is_holiday(cfg->holiday_days[g], cfg->holiday_ndays[g], floor(days)) ? 1.0 : 0.0;
}

double
FcPredict(const FcConfig *cfg, const FcModel *m, double ts, double *row)
{
	double		out = 0;

	FcDesignRow(cfg, m, ts, row);
	MlLinalgGemv(false, 1, m->p, m->yscale, row, m->p, m->beta, 0.0, &out);
	return out;
}

/* Step, gaps and duplicates of the sorted times. */
static void
time_axis(const double *ts, int n, FcModel *m)
{
	double		step = 0;

	for (int i = 1; i < n; i++)
	{
		double		gap = ts[i] - ts[i - 1];

		if (gap > 0 && (step == 0 || gap < step))
			step = gap;
	}
	m->step = step;
	m->missing = 0;
	m->duplicates = 0;
	for (int i = 1; i < n; i++)
	{
		double		gap = ts[i] - ts[i - 1];

		if (gap <= 0)
			m->duplicates++;
		else if (gap / step > 1.5)
			m->missing += (int64) llround(gap / step) - 1;
	}
}

/* Which components the history supports; Prophet's changepoint placement. */
static void
structure(const FcConfig *cfg, const double *ts, int n, FcModel *m)
{
	bool		fine = m->step <= FC_SECS_PER_DAY * 1.0001;
	double		span_days = m->tspan / FC_SECS_PER_DAY;
	int			hist = (int) floor(n * cfg->changepoint_range);

	m->reduced = false;
	m->ncp = Min(cfg->n_changepoints, hist - 1);
	if (m->ncp < 0)
		m->ncp = 0;
	if (m->ncp < cfg->n_changepoints)
		m->reduced = true;
	for (int j = 1; j <= m->ncp; j++)
	{
		int			idx = (int) rint((double) j * (hist - 1) / m->ncp);

		m->cp[j - 1] = (ts[idx] - m->t0) / m->tspan;
	}
	m->weekly = 0;
	if (cfg->weekly == 1 || (cfg->weekly < 0 && fine && span_days >= WEEKLY_MIN_DAYS))
		m->weekly = cfg->weekly_order;
	else if (cfg->weekly < 0 && fine)
		m->reduced = true;
	m->yearly = 0;
	if (cfg->yearly == 1 || (cfg->yearly < 0 && fine && span_days >= YEARLY_MIN_DAYS))
		m->yearly = cfg->yearly_order;
	m->nhol = cfg->nholidays;
	m->p = 2 + m->ncp + 2 * m->weekly + 2 * m->yearly + m->nhol;
}

static double
prior_of(const FcConfig *cfg, const FcModel *m, int j)
{
	int			season_end = 2 + m->ncp + 2 * m->weekly + 2 * m->yearly;

	if (j < 2)
		return PRIOR_TREND;
	if (j < 2 + m->ncp)
		return cfg->changepoint_prior;
	if (j < season_end)
		return cfg->seasonality_prior;
	return cfg->holiday_prior;
}

/*
 * Rows [from, from + n) of the design into ws->X; returns the block's rows.
 */
static int
design_block(const FcConfig *cfg, const FcModel *m, const double *ts, int from, int total,
			 FcWorkspace *ws)
{
	int			n = Min(FC_BLOCK_ROWS, total - from);

	for (int i = 0; i < n; i++)
		FcDesignRow(cfg, m, ts[from + i], &ws->X[(Size) i * m->p]);
	return n;
}

/*
 * Penalized solve; the scaled residual sum of squares from the normal
 * equations (yy - 2 b'X'y + b'X'Xb), enough for the noise estimate between
 * rounds (the final metrics are computed from the residuals themselves).
 * false if the system cannot be solved.
 */
static bool
solve_round(const FcConfig *cfg, FcModel *m, FcWorkspace *ws, double yy, double sigma2,
			double *rss)
{
	int			p = m->p;
	int			info = 1;

	for (int attempt = 0; attempt < 8 && info != 0; attempt++)
	{
		memcpy(ws->a, ws->xtx, sizeof(double) * p * p);
		memcpy(m->beta, ws->xty, sizeof(double) * p);
		for (int j = 0; j < p; j++)
		{
			double		prior = prior_of(cfg, m, j);

			ws->a[j * p + j] += sigma2 / (prior * prior);
		}
		info = MlLinalgCholeskySolve(ws->a, m->beta, p);
		sigma2 *= 10;
	}
	if (info != 0)
		return false;
	*rss = yy - 2 * MlLinalgDot(m->beta, ws->xty, p) +
		MlLinalgQuadForm(ws->xtx, p, m->beta, ws->a);
	if (!(*rss > 0))
		*rss = 0;
	return true;
}

/*
 * In-sample rmse, mae, smape and the residual sd, from the fitted values,
 * summed in scaled units (a series near the largest double cannot
 * overflow the sums); false if a figure is not finite in the target's units.
 */
static bool
in_sample_metrics(const FcConfig *cfg, FcModel *m, FcWorkspace *ws, const double *ts,
				  const double *y, int n)
{
	double		abs_sum = 0,
				smape_sum = 0,
				rss = 0;
	int			smape_n = 0;

	for (int from = 0; from < n; from += FC_BLOCK_ROWS)
	{
		int			b = design_block(cfg, m, ts, from, n, ws);

		MlLinalgGemv(false, b, m->p, 1.0, ws->X, m->p, m->beta, 0.0, ws->fit);
		for (int i = 0; i < b; i++)
		{
			double		f = ws->fit[i];
			double		v = y[from + i] / m->yscale;
			double		d = fabs(f - v);
			double		denom = fabs(f) + fabs(v);

			rss += d * d;
			abs_sum += d;
			if (denom > 0)
			{
				smape_sum += 2 * d / denom;
				smape_n++;
			}
		}
	}
	m->rmse = m->yscale * sqrt(rss / n);
	m->sigma = m->yscale * sqrt(rss / Max(n - 1, 1));
	m->mae = m->yscale * (abs_sum / n);
	m->smape = smape_n > 0 ? 100.0 * smape_sum / smape_n : 0;
	return isfinite(m->rmse) && isfinite(m->sigma) && isfinite(m->mae) && isfinite(m->smape);
}

static bool
all_finite(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/*
 * Fit one series: ts sorted ascending (epoch seconds), y finite, n points.
 * m->cp and m->beta must hold FcMaxParams(cfg) doubles; the workspace was
 * sized for FcMaxParams(cfg). The design is built FC_BLOCK_ROWS rows at a
 * time, so a long series needs no n x p matrix.
 */
void
FcFit(const FcConfig *cfg, const double *ts, const double *y, int n, FcWorkspace *ws,
	  FcModel *m)
{
	double		sigma2,
				rss = 0,
				mean = 0,
				yy;

	m->npoints = n;
	m->p = 0;
	m->t0 = n > 0 ? ts[0] : 0;
	m->tspan = n > 0 ? ts[n - 1] - ts[0] : 0;
	time_axis(ts, n, m);
	if (n < cfg->min_points)
	{
		m->status = FC_SKIP_SHORT;
		return;
	}
	if (m->tspan <= 0)
	{
		m->status = FC_SKIP_ONE_TIME;
		return;
	}
	m->yscale = 0;
	for (int i = 0; i < n; i++)
	{
		m->yscale = Max(m->yscale, fabs(y[i]));
		mean += y[i];
	}
	if (m->yscale == 0)
		m->yscale = 1;
	mean /= n * m->yscale;
	structure(cfg, ts, n, m);

	memset(ws->xtx, 0, sizeof(double) * m->p * m->p);
	memset(ws->xty, 0, sizeof(double) * m->p);
	for (int from = 0; from < n; from += FC_BLOCK_ROWS)
	{
		int			b = design_block(cfg, m, ts, from, n, ws);

		MlLinalgSyrk(ws->X, b, m->p, 1.0, ws->xtx);
		MlLinalgGemv(true, b, m->p, 1.0 / m->yscale, ws->X, m->p, &y[from], 1.0, ws->xty);
	}
	yy = 0;
	for (int i = 0; i < n; i++)
		yy += (y[i] / m->yscale) * (y[i] / m->yscale);

	/* first guess of the noise: the variance of the scaled series */
	sigma2 = Max(yy / n - mean * mean, SIGMA2_FLOOR);
	for (int round = 0; round < SIGMA_ROUNDS; round++)
	{
		if (!solve_round(cfg, m, ws, yy, sigma2, &rss))
		{
			m->status = FC_SKIP_FAILED;
			return;
		}
		sigma2 = Max(rss / n, SIGMA2_FLOOR);
	}
	if (!all_finite(m->beta, m->p) || !in_sample_metrics(cfg, m, ws, ts, y, n))
	{
		m->status = FC_SKIP_FAILED;
		return;
	}
	m->status = FC_FITTED;
}

/*
 * The standard normal quantile (Acklam's rational approximation, relative
 * error below 1.2e-9), for the interval's half-width in residual sds.
 */
double
FcNormalQuantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
	2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
	2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
	2.445134137142996e+00, 3.754408661907416e+00};
	double		q,
				r;

	if (p < 0.02425)
	{
		q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
			((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > 1 - 0.02425)
		return -FcNormalQuantile(1 - p);
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		(((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
