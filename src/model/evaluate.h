/*
 * evaluate.h
 *	  A stored version scored on (a sample of) a labelled relation, the
 *	  rows and predictions kept: ml_evaluate's reading, for reports.
 */
#ifndef ML_EVALUATE_H
#define ML_EVALUATE_H

#include "postgres.h"

#include "core/catalog.h"
#include "model/stored.h"

typedef struct MlEvalSample
{
	MlTrained  *t;
	int32		version;
	bool		classifier;
	int64		n;				/* rows kept and scored */
	int64		read;			/* rows the relation returned */
	int64		eligible;		/* rows with a usable target (sampled among) */
	int64		without_target;
	int64		unseen;
	double	  **raw;			/* raw feature columns, n rows */
	double	   *y;				/* targets (class indexes for classifiers) */
	double	   *pred;			/* MlTrainedOutputs(t) values a row */
} MlEvalSample;

extern MlEvalSample *MlEvaluateSample(MlScope *scope, MlProject *p, int32 version, Oid relid,
									  int64 max_rows, uint64 seed);

#endif							/* ML_EVALUATE_H */
