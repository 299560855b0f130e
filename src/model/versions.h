/*
 * versions.h
 *	  Storing a new model version: the row in mlops.models, its number, the
 *	  audit entry and the scoring caches' invalidation, shared by ml_train
 *	  and ml_forecast_train.
 */
#ifndef ML_VERSIONS_H
#define ML_VERSIONS_H

#include "postgres.h"

#include "fmgr.h"

#include "core/catalog.h"

typedef struct MlVersionRow
{
	const char *algorithm;
	const char *hyperparameters;	/* jsonb, as text */
	const char *metrics;		/* jsonb */
	bytea	   *payload;
	int			payload_format;
	int64		row_count;
	const char *fingerprint;
	const char *features;		/* jsonb */
	const char *training;		/* jsonb */
	const char *profile;		/* jsonb (model/profile.h), or NULL */
	int64		recipe_id;		/* the cleaning recipe applied, 0: none */
	const char *audit_action;	/* "train", "forecast_train" */
	const char *audit_key;		/* one more audit detail, or NULL */
	const char *audit_value;
} MlVersionRow;

extern int32 MlStoreVersion(MlScope *scope, MlProject *p, const MlVersionRow *row);
extern Datum MlVersionResult(FunctionCallInfo fcinfo, int32 version, Datum second,
							 const char *metrics);

#endif							/* ML_VERSIONS_H */
