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

#endif							/* ML_SUBXACT_H */
