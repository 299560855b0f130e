/*
 * importance.h
 *	  Permutation feature importance of a fitted model on labelled rows.
 */
#ifndef ML_IMPORTANCE_H
#define ML_IMPORTANCE_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "core/frame.h"
#include "model/stored.h"
#include "model/train.h"

#define ML_PERMUTATION_REPEATS 5

extern void MlPermutationImportance(MlTrained *t, double **raw, int64 n, const double *y,
									int repeats, uint64 seed, StringInfo out);
extern void MlTrainPermutationImportance(MlTrained *t, MlFrame *frame, MlTrainData *td,
										 MlTrainOptions *o, StringInfo out);

#endif							/* ML_IMPORTANCE_H */
