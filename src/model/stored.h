/*
 * stored.h
 *	  A trained model as stored in mlops.models.payload: the learner, the
 *	  task and classes, the feature encoder and the learner's own bytes.
 */
#ifndef ML_STORED_H
#define ML_STORED_H

#include "postgres.h"

#include "model/features.h"
#include "model/model.h"

typedef struct MlTrained
{
	const MlLearner *learner;
	MlTask		task;
	int			nclass;
	char	  **classes;		/* class labels as the target's type prints them */
	bool		numeric_classes;	/* every label is a number */
	MlEncoder  *enc;
	void	   *model;
	double	  **rowcol;			/* scratch for scoring one row (allocated on first use) */
} MlTrained;

#define ML_PAYLOAD_MAGIC "PGMLMODL"
#define ML_PAYLOAD_FORMAT 1

extern bytea *MlTrainedSave(MlTrained *t);
extern MlTrained *MlTrainedLoad(bytea *payload, const char *what);
extern int	MlTrainedOutputs(MlTrained *t);
extern void MlTrainedPredictRow(MlTrained *t, double *feat, double *out);
extern void MlTrainedPredict(MlTrained *t, double **col, int64 n, double *out);
extern int	MlTrainedBestClass(MlTrained *t, const double *out);
extern Datum MlTrainedProbaJsonb(MlTrained *t, const double *out);
extern void MlTrainedPredictRaw(MlTrained *t, double **raw, int64 n, double *out);

#endif							/* ML_STORED_H */
