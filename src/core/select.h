/*
 * select.h
 *	  Order statistics without a full sort (compute-only, thread-safe).
 */
#ifndef ML_SELECT_H
#define ML_SELECT_H

#include "postgres.h"

extern void MlSelectRanks(double *v, int64 n, const int64 *ranks, int nr);
extern void MlSortDoubles(double *v, int64 n);

#endif							/* ML_SELECT_H */
