/*
 * subxact.h
 *	  Running a step in an internal subtransaction and keeping its error.
 */
#ifndef ML_SUBXACT_H
#define ML_SUBXACT_H

#include "postgres.h"

/*
 * Run fn(arg) in a subtransaction: true when it succeeded; else the
 * subtransaction is rolled back and *message (in the caller's memory
 * context) holds the error's message and SQLSTATE.
 */
extern bool MlSubxactTry(void (*fn) (void *arg), void *arg, char **message);

/*
 * The same, for a caller that decides by the error: NULL when fn(arg)
 * succeeded, else the error (in the caller's memory context), the
 * subtransaction rolled back; the caller frees or re-throws it.
 */
extern ErrorData *MlSubxactRun(void (*fn) (void *arg), void *arg);

#endif							/* ML_SUBXACT_H */
