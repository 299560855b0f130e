/*
 * linalg.h
 *	  The one place pg_mlops talks to BLAS/LAPACK (OpenBLAS).
 *	  Matrices are dense, row-major, float8.
 */
#ifndef ML_LINALG_H
#define ML_LINALG_H

extern void MlLinalgInit(void);
extern void MlLinalgGramAdd(const double *X, int n, int p, const double *y,
							double *xtx, double *xty);
extern void MlLinalgRidgeSolve(const double *xtx, const double *xty, int p, int64 n,
							   double lambda, double *beta);
extern void MlLinalgCrossProduct(const double *A, int m, const double *B, int n,
								 int k, double *C);

#endif							/* ML_LINALG_H */
