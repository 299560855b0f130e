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

struct MlGrouped;

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
	struct MlGrouped *groups;	/* many-models (grouped.c): model is NULL, enc is raw */
	double	   *fitted;			/* ml_train: predictions of its rows, or NULL; never stored */
} MlTrained;

/*
 * A grouped version (ml_train_groups): one model per group of the key
 * columns. The top-level encoder is raw (never dense) over the feature
 * inputs followed by the ngk key inputs; every group model's own encoder
 * reads the same feature inputs, so its raw features are the first
 * nraw_feat raw columns of the top-level ones.
 */
typedef struct MlGrouped
{
	int			ngk;			/* key columns: the last ngk inputs */
	int			nraw_feat;		/* raw features the group models read */
	int			ngroups;
	double	   *keys;			/* ngroups x ngk raw key values, ascending; NaN = NULL */
	MlTrained **models;
	MlTrained  *global;			/* fallback for unseen groups; NULL: an error */
	const char *what;
} MlGrouped;

#define ML_PAYLOAD_MAGIC "PGMLMODL"
#define ML_PAYLOAD_FORMAT 1
#define ML_GROUPED_MAGIC "PGMLGRPD"
#define ML_GROUPED_FORMAT 1

extern bytea *MlTrainedSave(MlTrained *t);
extern MlTrained *MlTrainedLoad(bytea *payload, const char *what);
extern int	MlTrainedOutputs(MlTrained *t);
extern void MlTrainedPredictRow(MlTrained *t, double *feat, double *out);
extern void MlTrainedPredict(MlTrained *t, double **col, int64 n, double *out);
typedef struct MlPredictJob MlPredictJob;

extern MlPredictJob *MlTrainedPredictStart(MlTrained *t, double **col, int64 n, double *out);
extern void MlTrainedPredictFinish(MlPredictJob *j);
extern void MlTrainedPredictCancel(MlPredictJob *j);
extern int	MlTrainedBestClass(MlTrained *t, const double *out);
extern Datum MlTrainedProbaJsonb(MlTrained *t, const double *out);
extern void MlTrainedPredictRaw(MlTrained *t, double **raw, int64 n, double *out);

/* grouped.c */
extern int	MlGroupedKeyCmp(const double *a, const double *b, int n);
extern bytea *MlGroupedSave(MlTrained *t);
extern MlTrained *MlGroupedLoad(MlReader *r);
extern void MlGroupedPredict(MlTrained *t, double **col, int64 n, double *out);

#endif							/* ML_STORED_H */
