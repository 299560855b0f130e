/*
 * groups.h
 *	  ml_train_groups' fits spread over background workers (groups_workers.c).
 */
#ifndef ML_GROUPS_H
#define ML_GROUPS_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "model/model.h"

#define ML_GROUPS_MAX_WORKERS 8

extern int	MlGroupsFit(const MlLearner *l, Jsonb *hp, void *params, MlDesign **designs,
						void **models, int nfits, int nworkers);

#endif							/* ML_GROUPS_H */
