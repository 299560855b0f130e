/*
 * profile.h
 *	  A model version's training profile: per input feature the reference
 *	  distribution (bins and shares, missing rate) and the distribution of
 *	  the model's predictions on its training rows. Stored as jsonb in
 *	  mlops.models.profile; read back validated (docs/drift.md).
 */
#ifndef ML_PROFILE_H
#define ML_PROFILE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "core/frame.h"
#include "model/stored.h"

#define ML_PROFILE_FORMAT 1
#define ML_PROFILE_BINS 10			/* numeric: deciles, before deduplication */
#define ML_PROFILE_TOP_LEVELS 20	/* categories: the most frequent, then "other" */
#define ML_PROFILE_MAX_BINS 1001	/* read back: classes up to ML_MAX_CLASSES + other */
#define ML_PREDICTION_FEATURE "(prediction)"

typedef enum MlProfileKind
{
	ML_PROFILE_NUMERIC = 0,		/* bins between ascending edges */
	ML_PROFILE_CATEGORY,		/* top levels, the last bin "other" */
	ML_PROFILE_CLASS			/* predicted classes, no "other" */
} MlProfileKind;

typedef struct MlProfileFeature
{
	char	   *name;
	MlProfileKind kind;
	int			nbins;
	double	   *edges;			/* numeric: nbins - 1 inner edges, strictly ascending */
	char	  **levels;			/* category: nbins - 1 levels; class: nbins classes */
	double	   *share;			/* per bin, of the non-missing training rows */
	double		missing_rate;
} MlProfileFeature;

typedef struct MlProfile
{
	int64		rows;			/* training rows the profile was taken on */
	int			nfeat;
	MlProfileFeature *feat;
	MlProfileFeature *prediction;	/* NULL: none (clustering) */
} MlProfile;

extern char *MlProfileBuild(MlTrained *t, MlFrame *frame, const int64 *rows, int64 nrows,
							 const double *pred);
extern MlProfile *MlProfileRead(Jsonb *j, const char *what);
extern int	MlProfileNumericBin(const MlProfileFeature *f, double v);
extern int	MlProfileLevelBin(const MlProfileFeature *f, const char *level);
extern char *MlProfileBinLabel(const MlProfileFeature *f, int bin);

#endif							/* ML_PROFILE_H */
