/*
 * metrics.h
 *	  Evaluation metrics appended as JSON members to an open object
 *	  (the caller writes the braces).
 */
#ifndef ML_METRICS_H
#define ML_METRICS_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "model/model.h"

extern double MlRegressionMetrics(const double *y, const double *pred, int64 n, StringInfo out);
extern double MlClassificationMetrics(const double *y, const double *prob, int64 n, int nclass,
									  StringInfo out);
extern double MlPrimaryMetric(MlTask task, const double *y, const double *pred, int64 n,
							  int nclass);
extern int	MlCmpIndexByDouble(const void *a, const void *b, void *arg);

#endif							/* ML_METRICS_H */
