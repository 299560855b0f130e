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
extern bool MlLinalgSymEigen(double *a, int p, double *w);
extern void MlLinalgCrossProduct(const double *A, int m, const double *B, int n,
								 int k, double *C);

extern void MlLinalgGemm(bool transa, bool transb, int m, int n, int k, double alpha,
						 const double *A, int lda, const double *B, int ldb, double beta,
						 double *C, int ldc);

extern void MlLinalgSyrk(const double *X, int n, int p, double alpha, double *C);
extern void MlLinalgSyr(const double *x, int p, double alpha, double *C);
extern void MlLinalgGemv(bool trans, int m, int n, double alpha, const double *A, int lda,
						 const double *x, double beta, double *y);
extern int	MlLinalgCholeskySolve(double *a, double *b, int p);
extern double MlLinalgDot(const double *x, const double *y, int n);
extern double MlLinalgQuadForm(const double *A, int p, const double *x, double *tmp);
extern int	MlLinalgMinNormSolve(double *A, int p, double *b, double rcond);

#endif							/* ML_LINALG_H */
