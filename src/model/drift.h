/*
 * drift.h
 *	  Drift of a deployed version: its training profile against the rows
 *	  logged in a window (PSI, missing rates) in drift.c; per project
 *	  thresholds in drift_policy.c; alerts and the retrain job in
 *	  drift_alerts.c.
 */
#ifndef ML_DRIFT_H
#define ML_DRIFT_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "core/catalog.h"
#include "model/profile.h"

#define ML_DRIFT_EPSILON 1e-4	/* share given to an empty bin in the PSI */
#define ML_DRIFT_MIN_ROWS 100	/* default: fewer scored rows never drift */

extern int	ml_drift_window_s;
extern int	ml_drift_log_retention_s;
extern double ml_drift_psi_threshold;
extern double ml_drift_missing_threshold;
extern bool ml_drift_check_on_score;
extern bool ml_drift_log_scoring;

/* A project's thresholds: its policy where set, else the settings. */
typedef struct MlDriftPolicy
{
	double		psi;
	double		missing_rate;
	int64		min_rows;
	char	   *retrain_job;	/* NULL: none */
} MlDriftPolicy;

typedef struct MlDriftWindow
{
	TimestampTz start;
	TimestampTz end;
} MlDriftWindow;

/* One feature (or the prediction) over a window. */
typedef struct MlDriftResult
{
	MlProfileFeature *f;
	int64		rows;			/* scored rows in the window that carry this feature */
	int64		missing;
	int64	   *count;			/* per bin */
	bool		has_psi;		/* some non-missing scored rows */
	double		psi;
	double		missing_rate_scored;	/* NaN: no rows */
	bool		drifted;
} MlDriftResult;

extern void MlDriftInit(void);
extern MlProfile *MlDriftLoadProfile(MlScope *scope, int64 model_id, const char *what);
extern MlDriftResult *MlDriftCompute(MlScope *scope, int64 project_id, int64 model_id,
									 MlProfile *profile, const MlDriftPolicy *pol,
									 const MlDriftWindow *w, const char *what, int *nres);
extern void MlDriftAfterScore(MlScope *scope, int64 project_id, int64 model_id, int32 version,
							  MlProfile *profile, const char *what);

extern void MlDriftPolicyLoad(MlScope *scope, int64 project_id, MlDriftPolicy *pol);

extern int64 *MlDriftRaiseAlerts(MlScope *scope, int64 project_id, int64 model_id, int32 version,
								 MlDriftResult *res, int nres, const MlDriftPolicy *pol,
								 const MlDriftWindow *w);

#endif							/* ML_DRIFT_H */
