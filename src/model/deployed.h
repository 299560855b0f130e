/*
 * deployed.h
 *	  Loaded models for scoring, cached per backend until invalidated.
 */
#ifndef ML_DEPLOYED_H
#define ML_DEPLOYED_H

#include "postgres.h"

#include "model/stored.h"

typedef struct MlDeployed
{
	char	   *project;
	int64		project_id;
	int64		model_id;
	int32		version;
	bool		pinned;			/* a given version, not "whatever is deployed" */
	Oid			role;			/* the role whose access was checked */
	char	   *what;			/* "model version 3 of project "x"" */
	struct MlExposure *exposure;	/* NULL: the role reaches the project (not metered) */
	MlTrained  *trained;
	MemoryContext cxt;			/* owns the entry */
} MlDeployed;

/* Bumped on every flush: callers holding an MlDeployed * re-fetch when it moved. */
extern uint64 MlDeployedGeneration;

extern MlDeployed *MlDeployedGet(const char *project, int64 model_id);

#endif							/* ML_DEPLOYED_H */
