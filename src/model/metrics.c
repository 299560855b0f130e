/*
 * metrics.c
 *	  Evaluation metrics, with scikit-learn's definitions.
 *
 * Regression: RMSE, MAE, R², MAPE (over rows whose target is not zero;
 * those rows are counted in mape_zero_targets, since scikit-learn's
 * division by machine epsilon would make the mean meaningless).
 * Classification: accuracy, balanced accuracy (recall averaged over the
 * classes that occur), macro precision, recall and F1 (over the classes
 * that occur or are predicted, zero where undefined: scikit-learn's
 * zero_division=0), ROC AUC (binary; macro one-vs-rest for several
 * classes, over the classes that occur), log loss (probabilities clipped
 * at 1e-15) and the confusion matrix (rows: true class, columns:
 * predicted). ml_train (its test split) and ml_evaluate both use these.
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
	appendStringInfo(out, ", \"mape_zero_targets\": " INT64_FORMAT, n - nape);
	return sqrt(sse / Max(n, 1));
}

/* Index of the largest of nclass probabilities (ties: the first). */
static int
best_of(const double *prob, int nclass)
{
	int			best = 0;

	for (int c = 1; c < nclass; c++)
		if (prob[c] > prob[best])
			best = c;
	return best;
}

/*
 * The primary metric alone: RMSE (regression) or accuracy (classes), as
 * the JSON functions below compute it. pred: one value per row, or nclass
 * probabilities per row.
 */
double
MlPrimaryMetric(MlTask task, const double *y, const double *pred, int64 n, int nclass)
{
	double		acc = 0;

	if (task == ML_TASK_REGRESSION)
	{
		for (int64 i = 0; i < n; i++)
			acc += (pred[i] - y[i]) * (pred[i] - y[i]);
		return sqrt(acc / Max(n, 1));
	}
	for (int64 i = 0; i < n; i++)
		acc += (best_of(&pred[i * nclass], nclass) == (int) y[i]);
	return acc / Max(n, 1);
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
				labels = 0,
				nauc = 0;
	double	   *score = palloc(sizeof(double) * Max(n, 1));
	bool	   *pos = palloc(sizeof(bool) * Max(n, 1));

	for (int64 i = 0; i < n; i++)
	{
		int			t = (int) y[i];
		int			best = best_of(&prob[i * nclass], nclass);

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
		if (actual == 0 && predicted == 0)
			continue;
		/* a class predicted but absent counts in the macro means, at 0 */
		labels++;
		p = predicted > 0 ? (double) tp / predicted : 0;
		r = actual > 0 ? (double) tp / actual : 0;
		prec += p;
		rec += r;
		f1 += (p + r) > 0 ? 2 * p * r / (p + r) : 0;
		if (actual == 0)
			continue;
		present++;
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
	key_number(out, "precision", labels ? prec / labels : NAN);
	key_number(out, "recall", labels ? rec / labels : NAN);
	key_number(out, "f1", labels ? f1 / labels : NAN);
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
