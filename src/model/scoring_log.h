/*
 * scoring_log.h
 *	  One mlops.scoring_log row per ml_score batch: the rows it scored
 *	  counted on the training profile's bins while they are scored.
 */
#ifndef ML_SCORING_LOG_H
#define ML_SCORING_LOG_H

#include "postgres.h"

#include "fmgr.h"

#include "core/catalog.h"
#include "model/deployed.h"

typedef struct MlScoringLog MlScoringLog;

extern int	ml_drift_sample_rows;

extern MlScoringLog *MlScoringLogNew(MlScope *scope, MlDeployed *e);
extern bool MlScoringLogHasProfile(MlScoringLog *log);
extern int64 MlScoringLogRows(MlScoringLog *log);
extern void MlScoringLogReset(MlScoringLog *log);
extern void MlScoringLogWrite(MlScoringLog *log, MlScope *scope, const char *relation,
							  const char *role, const char *source);
extern MlScoringLog *MlScoringLogStart(MlScope *scope, MlDeployed *e);
extern void MlScoringLogBlock(MlScoringLog *log, MlRowBinding *b, double **raw,
							  const Datum *values, const bool *nulls, int stride, int n,
							  const double *out);
extern void MlScoringLogFinish(MlScoringLog *log, MlScope *scope, Oid relid, int64 rows);

/* ml_predict: 1 in pg_mlops.drift_sample_rows rows, flushed at commit (predict_log.c) */
extern void MlScoringLogSample(MlDeployed *e, MlRowBinding *b, double *raw, const Datum *values,
							   const bool *nulls, const double *out);

#endif							/* ML_SCORING_LOG_H */
