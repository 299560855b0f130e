/*
 * scoring_log.h
 *	  One mlops.scoring_log row per ml_score batch: the rows it scored
 *	  counted on the training profile's bins while they are scored.
 */
#ifndef ML_SCORING_LOG_H
#define ML_SCORING_LOG_H

#include "postgres.h"

#include "core/catalog.h"
#include "model/deployed.h"

typedef struct MlScoringLog MlScoringLog;

extern MlScoringLog *MlScoringLogStart(MlScope *scope, MlDeployed *e);
extern void MlScoringLogBlock(MlScoringLog *log, MlRowBinding *b, double **raw,
							  const Datum *values, const bool *nulls, int stride, int n,
							  const double *out);
extern void MlScoringLogFinish(MlScoringLog *log, MlScope *scope, Oid relid, int64 rows);

#endif							/* ML_SCORING_LOG_H */
