/*
 * metrics.c
 *	  Evaluation metrics, with scikit-learn's definitions.
 *
 * Regression: RMSE, MAE, R², MAPE (over rows whose target is not zero).
 * Classification: accuracy, balanced accuracy, macro precision, recall and
 * F1, ROC AUC (binary; macro one-vs-rest for several classes), log loss
 * (probabilities clipped at 1e-15) and the confusion matrix (rows: true
 * class, columns: predicted).
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"

#include "core/options.h"
#include "model/metrics.h"

static void
key_number(StringInfo out, const char *key, double v)
{
	if (out->len > 1)
		appendStringInfoString(out, ", ");
	appendStringInfo(out, "\"%s\": ", key);
	if (isfinite(v))
		MlJsonNumber(out, v);
	else
		appendStringInfoString(out, "null");
}

double
MlRegressionMetrics(const double *y, const double *pred, int64 n, StringInfo out)
{
	double		sse = 0,
				sae = 0,
				mean = 0,
				sst = 0,
				sape = 0;
	int64		nape = 0;

	for (int64 i = 0; i < n; i++)
		mean += y[i];
	mean /= Max(n, 1);
	for (int64 i = 0; i < n; i++)
	{
		double		e = pred[i] - y[i];

		sse += e * e;
		sae += fabs(e);
		sst += (y[i] - mean) * (y[i] - mean);
		if (y[i] != 0)
		{
			sape += fabs(e / y[i]);
			nape++;
		}
	}
	key_number(out, "rmse", sqrt(sse / Max(n, 1)));
	key_number(out, "mae", sae / Max(n, 1));
	key_number(out, "r2", sst > 0 ? 1 - sse / sst : NAN);
	key_number(out, "mape", nape > 0 ? sape / nape : NAN);
	return sqrt(sse / Max(n, 1));
}

/* Area under the ROC curve of scores s for the positive rows (ties: half). */
static double
roc_auc(const double *score, const bool *pos, int64 n)
{
	int64	   *idx = palloc(sizeof(int64) * Max(n, 1));
	double		rank_sum = 0;
	int64		npos = 0;
	int64		i = 0;

	for (int64 k = 0; k < n; k++)
		idx[k] = k;
	/* sort indexes by score */
	{
		double	   *key = palloc(sizeof(double) * Max(n, 1));

		for (int64 k = 0; k < n; k++)
			key[k] = score[k];
		qsort_arg(idx, n, sizeof(int64), MlCmpIndexByDouble, key);
		pfree(key);
	}
	while (i < n)
	{
		int64		j = i;
		double		avg;

		while (j + 1 < n && score[idx[j + 1]] == score[idx[i]])
			j++;
		avg = (i + j) / 2.0 + 1;
		for (int64 k = i; k <= j; k++)
			if (pos[idx[k]])
			{
				rank_sum += avg;
				npos++;
			}
		i = j + 1;
	}
	pfree(idx);
	if (npos == 0 || npos == n)
		return NAN;
	return (rank_sum - npos * (npos + 1) / 2.0) / ((double) npos * (n - npos));
}

int
MlCmpIndexByDouble(const void *a, const void *b, void *arg)
{
	const double *key = arg;
	double		x = key[*(const int64 *) a];
	double		y = key[*(const int64 *) b];

	return x < y ? -1 : (x > y);
}

/* y: class indexes; prob: nclass probabilities per row. Returns accuracy. */
double
MlClassificationMetrics(const double *y, const double *prob, int64 n, int nclass, StringInfo out)
{
	int64	   *cm = palloc0(sizeof(int64) * nclass * nclass);
	double		logloss = 0,
				bal = 0,
				prec = 0,
				rec = 0,
				f1 = 0,
				auc = 0;
	int64		correct = 0;
	int			present = 0,
				nauc = 0;
	double	   *score = palloc(sizeof(double) * Max(n, 1));
	bool	   *pos = palloc(sizeof(bool) * Max(n, 1));

	for (int64 i = 0; i < n; i++)
	{
		int			t = (int) y[i];
		int			best = 0;

		for (int c = 1; c < nclass; c++)
			if (prob[i * nclass + c] > prob[i * nclass + best])
				best = c;
		cm[t * nclass + best]++;
		correct += (best == t);
		logloss -= log(fmin(1 - 1e-15, fmax(1e-15, prob[i * nclass + t])));
	}
	for (int c = 0; c < nclass; c++)
	{
		int64		tp = cm[c * nclass + c],
					actual = 0,
					predicted = 0;
		double		p,
					r;

		for (int k = 0; k < nclass; k++)
		{
			actual += cm[c * nclass + k];
			predicted += cm[k * nclass + c];
		}
		if (actual == 0)
			continue;
		present++;
		p = predicted > 0 ? (double) tp / predicted : 0;
		r = (double) tp / actual;
		prec += p;
		rec += r;
		f1 += (p + r) > 0 ? 2 * p * r / (p + r) : 0;
		bal += r;
		if (nclass > 2 || c == 1)
		{
			double		a;

			for (int64 i = 0; i < n; i++)
			{
				score[i] = prob[i * nclass + c];
				pos[i] = ((int) y[i] == c);
			}
			a = roc_auc(score, pos, n);
			if (!isnan(a))
			{
				auc += a;
				nauc++;
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	key_number(out, "accuracy", (double) correct / Max(n, 1));
	key_number(out, "balanced_accuracy", present ? bal / present : NAN);
	key_number(out, "precision", present ? prec / present : NAN);
	key_number(out, "recall", present ? rec / present : NAN);
	key_number(out, "f1", present ? f1 / present : NAN);
	key_number(out, "roc_auc", nauc ? auc / nauc : NAN);
	key_number(out, "log_loss", logloss / Max(n, 1));
	appendStringInfoString(out, ", \"confusion_matrix\": [");
	for (int t = 0; t < nclass; t++)
	{
		appendStringInfo(out, "%s[", t ? ", " : "");
		for (int c = 0; c < nclass; c++)
			appendStringInfo(out, "%s" INT64_FORMAT, c ? ", " : "", cm[t * nclass + c]);
		appendStringInfoChar(out, ']');
	}
	appendStringInfoChar(out, ']');
	pfree(cm);
	pfree(score);
	pfree(pos);
	return (double) correct / Max(n, 1);
}
