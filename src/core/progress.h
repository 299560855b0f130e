/*
 * progress.h
 *	  NOTICEs about long calls, at most every pg_mlops.progress_interval.
 */
#ifndef ML_PROGRESS_H
#define ML_PROGRESS_H

#include "postgres.h"

extern int	ml_progress_interval;

extern void MlProgressInit(void);
extern void MlProgressStart(void);
extern void MlProgress(const char *fmt,...) pg_attribute_printf(1, 2);

#endif							/* ML_PROGRESS_H */
