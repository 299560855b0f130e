/*
 * run_progress.h
 *	  Live progress of a job run (rows processed, fraction done), kept in
 *	  shared memory by the run's worker while its step's transaction is
 *	  still open, read by the ml_job_runs view.
 */
#ifndef ML_RUN_PROGRESS_H
#define ML_RUN_PROGRESS_H

#include "postgres.h"

extern void MlRunProgressShmemInit(void);
extern void MlRunProgressBind(int64 run);
extern void MlRunProgressSpan(double lo, double hi);
extern void MlRunProgress(double fraction, int64 rows);

/* leave the fraction / the row count as it is */
#define ML_PROGRESS_SAME_FRACTION (-1.0)
#define ML_PROGRESS_SAME_ROWS (-1)

#endif							/* ML_RUN_PROGRESS_H */
