/*
 * linalg.c
 *	  Linear algebra on OpenBLAS: the only file that calls BLAS/LAPACK.
 */
#include "postgres.h"

#include <cblas.h>

#include "miscadmin.h"

#include "linalg.h"

/* LAPACK's Cholesky solver, from OpenBLAS (Fortran calling convention). */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info);

/*
 * A backend is one process among many: parallelism comes from PostgreSQL's
 * own workers, so OpenBLAS must not start a thread per core inside each of
 * them and oversubscribe the machine.
 */
void
MlLinalgInit(void)
{
	openblas_set_num_threads(1);
}

/*
 * Ridge regression by the normal equations: (X'X + lambda n I) beta = X'y,
 * column 0 of X being the unpenalised intercept. X'X comes from dsyrk and
 * the system is solved by Cholesky (dposv); if rounding leaves it not
 * positive definite, the penalty grows tenfold and we try again.
 */
void
MlLinalgRidge(const double *X, int n, int p, const double *y, double lambda, double *beta)
{
	double	   *xtx = palloc(sizeof(double) * p * p);
	double	   *a = palloc(sizeof(double) * p * p);
	double	   *xty = palloc(sizeof(double) * p);
	int			nrhs = 1;
	int			info = 0;

	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, n, 1.0, X, p, 0.0, xtx, p);
	cblas_dgemv(CblasRowMajor, CblasTrans, n, p, 1.0, X, p, y, 1, 0.0, xty, 1);
	CHECK_FOR_INTERRUPTS();

	for (int attempt = 0; attempt < 8; attempt++)
	{
		memcpy(a, xtx, sizeof(double) * p * p);
		memcpy(beta, xty, sizeof(double) * p);
		for (int j = 1; j < p; j++)
			a[j * p + j] += lambda * n;
		a[0] += 1e-9 * n;
		/* row-major upper triangle = column-major lower triangle */
		dposv_("L", &p, &nrhs, a, &p, beta, &p, &info);
		if (info == 0)
			break;
		lambda = lambda > 0 ? lambda * 10 : 1e-6;
	}
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not solve the regression system (LAPACK dposv info %d)", info)));
	pfree(xtx);
	pfree(a);
	pfree(xty);
}

/* C (m x n) = A (m x k) * B' (B is n x k): dot products for distances. */
void
MlLinalgCrossProduct(const double *A, int m, const double *B, int n, int k, double *C)
{
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, A, k, B, k, 0.0, C, n);
}
