/*
 * frame_column.c
 *	  A frame column once loaded: its statistics, quantiles of values, and
 *	  text columns converted to the numeric or datetime kind declared for
 *	  them (or recognised as mostly numbers).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "core/casts.h"
#include "core/frame_int.h"

void
MlColumnComputeStats(MlColumn *col, int64 nrows)
{
	double		sum = 0,
				sumsq = 0;
	int64		n = 0;

	col->nnull = 0;
	col->ninfinite = 0;
	col->min = INFINITY;
	col->max = -INFINITY;
	col->integral = (col->kind == ML_KIND_NUMERIC);
	for (int64 i = 0; i < nrows; i++)
	{
		double		v = col->x[i];

		if (col->isnull[i])
		{
			col->nnull++;
			continue;
		}
		if (col->kind == ML_KIND_CATEGORICAL || col->kind == ML_KIND_TEXT)
			continue;
		if (!isfinite(v))
		{
			col->ninfinite++;
			continue;
		}
		n++;
		sum += v;
		sumsq += v * v;
		if (v < col->min)
			col->min = v;
		if (v > col->max)
			col->max = v;
		if (col->integral && v != floor(v))
			col->integral = false;
	}
	col->decimals = col->integral ? 0 : -1;
	if (col->kind == ML_KIND_NUMERIC && !col->integral && n > 0)
	{
		/* the fewest decimal places that write every value exactly */
		col->decimals = 0;
		for (int64 i = 0; i < nrows && col->decimals >= 0; i++)
		{
			double		v = col->x[i];

			if (col->isnull[i] || !isfinite(v))
				continue;
			while (col->decimals <= 6)
			{
				double		s = v * pow(10, col->decimals);

				if (fabs(s - rint(s)) <= 1e-9 * Max(1.0, fabs(s)))
					break;
				col->decimals++;
			}
			if (col->decimals > 6)
				col->decimals = -1;
		}
	}
	col->mean = n > 0 ? sum / n : 0;
	col->sd = n > 1 ? sqrt(fmax(0, (sumsq - n * col->mean * col->mean) / (n - 1))) : 0;
	if (n > 0 && (isinf(sum) || isinf(sumsq)))
	{
		/*
		 * finite values near the double range (1e307): the sums overflowed,
		 * the mean was infinite and the sd 0, so the column was no input of
		 * any model and its regressions gave NaN. Taken again in units of
		 * the largest magnitude (two passes: shares of the mean, then the
		 * squared deviations); columns whose sums stay finite, as almost
		 * all do, keep exactly what they had.
		 */
		double		scale = Max(fabs(col->min), fabs(col->max));
		double		m = 0,
					ss = 0;

		for (int64 i = 0; i < nrows; i++)
			if (!col->isnull[i] && isfinite(col->x[i]))
				m += col->x[i] / n;
		for (int64 i = 0; i < nrows; i++)
			if (!col->isnull[i] && isfinite(col->x[i]))
			{
				double		d = col->x[i] / scale - m / scale;

				ss += d * d;
			}
		col->mean = m;
		col->sd = n > 1 ? scale * sqrt(ss / (n - 1)) : 0;
	}
}

/*
 * The power of two a regression's targets are multiplied by before their
 * sums are taken (the coefficients divided by it after the solve): values
 * near the double range (1e307) overflowed y'y and X'y, the solve gave
 * NaN, and every fill was left missing. 1 for targets below 2^400, whose
 * squares' sums cannot overflow, so those fits are exactly what they were;
 * otherwise the largest target is brought to [1, 2). A power of two scales
 * exactly, and the solve is linear in the target (the Bayesian penalty is
 * taken in units of its sd): the coefficients are those of the unscaled
 * target, without the overflow.
 */
double
MlTargetUnit(double maxabs)
{
	if (!(maxabs > 0x1p400) || !isfinite(maxabs))
		return 1;
	return ldexp(1, -ilogb(maxabs));
}

/*
 * The mean and sample sd of n finite values v. Values near the double
 * range (1.7e308, -1.7e308, 0) overflowed the sum of squares: the sd was
 * infinite, a z-score's bounds infinite (no outlier found), a network's
 * standardised target 0 and every fill NaN. Those are taken in a power of
 * two of their largest magnitude (exact), deviations from the scaled mean
 * squared; an sd beyond the double range itself is DBL_MAX. Values whose
 * magnitudes stay below 2^400 (whose squares' sums cannot overflow) get
 * exactly the one-pass sums they always had.
 */
void
MlMeanSd(const double *v, int64 n, double *mean, double *sd)
{
	double		maxabs = 0,
				unit,
				s = 0,
				ss = 0,
				m;

	for (int64 i = 0; i < n; i++)
		maxabs = Max(maxabs, fabs(v[i]));
	unit = MlTargetUnit(maxabs);
	if (unit == 1)
	{
		for (int64 i = 0; i < n; i++)
			s += v[i], ss += v[i] * v[i];
		*mean = n > 0 ? s / n : 0;
		*sd = n > 1 ? sqrt(fmax(0, (ss - n * *mean * *mean) / (n - 1))) : 0;
		return;
	}
	for (int64 i = 0; i < n; i++)
		s += v[i] * unit;
	m = s / n;
	for (int64 i = 0; i < n; i++)
	{
		double		d = v[i] * unit - m;

		ss += d * d;
	}
	*mean = m / unit;
	*sd = n > 1 ? sqrt(ss / (n - 1)) / unit : 0;
	if (!isfinite(*sd))
		*sd = DBL_MAX;
}

/*
 * A discrete column is imputed as a classifier would: its values are a
 * small set of levels (booleans, text categories, small integer codes).
 */
bool
MlColumnIsDiscrete(MlColumn *col)
{
	if (col->role == ML_ROLE_CATEGORICAL)
		return true;
	if (col->role == ML_ROLE_NUMERIC || col->role == ML_ROLE_DATETIME)
		return false;
	if (col->kind == ML_KIND_CATEGORICAL)
		return true;
	/* few whole-number levels, each seen several times: codes, not amounts */
	return col->kind == ML_KIND_NUMERIC && col->code != NULL && col->integral &&
		col->nlevels <= 32 && (int64) col->nlevels * 5 <= col->nlevels_seen;
}

/* Swap-based selection: after it, v[k] is the k-th smallest of v[0..n). */
static void
select_kth(double *v, int64 n, int64 k)
{
	int64		lo = 0,
				hi = n - 1;

	while (hi > lo)
	{
		double		pivot = v[lo + (hi - lo) / 2];
		int64		i = lo,
					j = hi;

		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
}

/*
 * The q-quantile of v[0..n) with linear interpolation (as pandas and
 * numpy's default), in linear time; v is reordered.
 */
double
MlQuantile(double *v, int64 n, double q)
{
	double		pos = q * (n - 1);
	int64		k = (int64) floor(pos);
	double		a,
				b;

	if (n <= 0)
		return NAN;
	select_kth(v, n, k);
	a = v[k];
	if (k + 1 >= n || pos == k)
		return a;
	/* the next order statistic is the smallest of the upper part */
	b = v[k + 1];
	for (int64 i = k + 2; i < n; i++)
		if (v[i] < b)
			b = v[i];
	/* b - a overflows for values of both signs near the double range */
	return isinf(b - a) ? a * (1 - (pos - k)) + b * (pos - k) : a + (b - a) * (pos - k);
}

/*
 * A text column declared numeric or datetime: parse its levels (a value
 * that does not parse becomes a gap) and make it a column of that kind,
 * numeric codes rebuilt from the values.
 */
void
MlColumnConvert(MlColumn *col, int64 nrows, MlKind kind,
				bool (*parse) (const char *text, double *value))
{
	double	   *vals = palloc(sizeof(double) * Max(col->nlevels, 1));
	bool	   *ok = palloc(sizeof(bool) * Max(col->nlevels, 1));
	int32	   *oldcode = col->code;

	int			nex = 0;

	for (int l = 0; l < col->nlevels; l++)
	{
		ok[l] = parse(col->level_text[l], &vals[l]);
		/* a few of the texts that do not parse, for the report */
		if (!ok[l] && nex < (int) lengthof(col->unparsed_examples))
			col->unparsed_examples[nex++] = col->level_text[l];
	}
	col->nunparsed = 0;
	col->kind = kind;
	col->converted = true;
	col->level_text = NULL;
	col->nlevels = 0;
	col->code = kind == ML_KIND_NUMERIC ? palloc(sizeof(int32) * Max(nrows, 1)) : NULL;
	if (col->code)
		MlDictInit(col, false);
	for (int64 r = 0; r < nrows; r++)
	{
		int32		l = col->isnull[r] ? -1 : oldcode[r];

		if (l < 0 || !ok[l])
		{
			if (l >= 0)
				col->nunparsed++;
			col->isnull[r] = true;
			col->x[r] = NAN;
			if (col->code)
				col->code[r] = -1;
			continue;
		}
		col->x[r] = vals[l];
		if (col->code == NULL)
			continue;
		if (col->x[r] == floor(col->x[r]) && col->nlevels < ML_MAX_NUMERIC_LEVELS)
			col->code[r] = MlDictCode(col, NULL, col->x[r], true);
		else
		{
			col->code = NULL;	/* not a small set of whole numbers: no codes */
			col->nlevels = 0;
		}
	}
	MlColumnComputeStats(col, nrows);
	col->nlevels_seen = nrows - col->nnull;
	if (col->wasnull)
		memcpy(col->wasnull, col->isnull, sizeof(bool) * nrows);
}

/*
 * Whether a text column (inferred categorical or free text, no declared
 * role) is mostly numbers: at least ML_NUMERIC_TEXT_SHARE of its non-null
 * cells parse as plain decimal numbers. Not when a number has leading
 * zeros (codes such as "007"), nor for a key of distinct whole numbers.
 */
bool
MlColumnMostlyNumbers(MlColumn *col, int64 nrows)
{
	int64	   *count;
	int64		nonnull = 0,
				parsed = 0;
	bool		whole = true;
	bool		result;

	if ((col->kind != ML_KIND_CATEGORICAL && col->kind != ML_KIND_TEXT) ||
		col->level_text == NULL || col->code == NULL || col->nlevels == 0 ||
		col->role != ML_ROLE_AUTO)
		return false;
	count = palloc0(sizeof(int64) * col->nlevels);
	for (int64 r = 0; r < nrows; r++)
		if (!col->isnull[r] && col->code[r] >= 0)
			count[col->code[r]]++;
	for (int l = 0; l < col->nlevels; l++)
	{
		double		v;

		nonnull += count[l];
		if (!MlTextIsNumber(col->level_text[l], &v))
			continue;
		if (MlTextHasLeadingZero(col->level_text[l]))
		{
			pfree(count);
			return false;
		}
		parsed += count[l];
		if (v != floor(v))
			whole = false;
	}
	pfree(count);
	result = nonnull > 0 && (double) parsed >= ML_NUMERIC_TEXT_SHARE * (double) nonnull;
	/* distinct whole numbers stay a key; distinct fractions are measurements */
	if (result && col->identifier && whole)
		result = false;
	return result;
}

/* qsort_arg comparator: int indices ordered by the doubles they index (arg). */
int
MlCmpIndexByValue(const void *a, const void *b, void *arg)
{
	const double *v = arg;
	double		x = v[*(const int *) a],
				y = v[*(const int *) b];

	return (x > y) - (x < y);
}
