/*
 * linalg.h
 *	  The one place pg_mlops talks to BLAS/LAPACK (OpenBLAS).
 */
#ifndef ML_LINALG_H
#define ML_LINALG_H

extern void MlLinalgInit(void);

#endif							/* ML_LINALG_H */
