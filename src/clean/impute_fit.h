/*
 * impute_fit.h
 *	  What the fitters (impute_fit.c) and auto's search (impute_search.c)
 *	  share; nothing else includes it.
 */
#ifndef ML_IMPUTE_FIT_H
#define ML_IMPUTE_FIT_H

#include "common/pg_prng.h"

#include "clean/impute.h"

#define MAX_LOWCARD_LEVELS	64
#define FOLDS				5

typedef struct Rows
{
	int64	   *idx;
	int64		n;
} Rows;

/*
 * A fold's rows gathered into consecutive arrays (target value, level, and
 * each key's codes on first use), in the rows' order: the thirty or so
 * candidates of a column then read them in sequence instead of at random
 * rows of the frame, and sum them in the same order (the same results).
 */
typedef struct Gathered
{
	Rows	   *rows;
	double	   *y;				/* the target's values */
	int32	   *t;				/* its level codes, or NULL */
	int32	  **k;				/* [key of the cache] codes, or NULL until used */
} Gathered;

extern int MlFitCollectKeys(MlFrame *frame, int target, Rows *missing, MlImputeOptions *opts,
							MlKey *keys);
extern void MlFitGlobal(MlFrame *frame, MlModel *m, Rows *train, MlMethod method);
extern void MlFitGroupwise(MlFrame *frame, MlModel *m, Rows *train, const int32 *c1,
						   const int32 *c2, Gathered *g);
extern Rows MlFitSubsample(Rows *rows, int64 max, pg_prng_state *rng);
extern void MlFitRegression(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
							MlImputeOptions *opts, pg_prng_state *rng, int64 maxrows);
extern void MlFitKnn(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
					 MlImputeOptions *opts, pg_prng_state *rng, int64 maxrefs);
extern MlModel *MlFitNewModel(MlModel *proto, MlMethod method);
extern void MlFitMethod(MlFrame *frame, MlModel *m, Rows *train, Rows *missing,
						MlImputeOptions *opts, pg_prng_state *rng);
extern double MlFitScoreModel(MlFrame *frame, MlModel *m, Rows *test, const int32 *c1,
							  const int32 *c2);
extern void MlFitFoldRows(Rows *obs, int nfolds, int64 ntest, int f, Rows *train, Rows *test);
extern MlModel *MlFitChooseAuto(MlFrame *frame, MlModel *proto, Rows *obs, int nfolds,
								int64 ntest, Rows *missing, MlImputeOptions *opts,
								pg_prng_state *rng, bool both);

#endif							/* ML_IMPUTE_FIT_H */
