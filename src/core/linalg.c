/*
 * linalg.c
 *	  Linear algebra on OpenBLAS: the only file that calls BLAS/LAPACK.
 */
#include "postgres.h"

#include <cblas.h>

#include "miscadmin.h"

#include "core/linalg.h"

/* LAPACK's Cholesky solver, from OpenBLAS (Fortran calling convention). */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info);
/* LAPACK's symmetric eigensolver */
extern void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
				   double *w, double *work, const int *lwork, int *info);

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
 * Accumulate X'X (upper triangle) and X'y over a block of rows, so a
 * regression over many rows never needs the whole design matrix at once.
 */
void
MlLinalgGramAdd(const double *X, int n, int p, const double *y, double *xtx, double *xty)
{
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, n, 1.0, X, p, 1.0, xtx, p);
	cblas_dgemv(CblasRowMajor, CblasTrans, n, p, 1.0, X, p, y, 1, 1.0, xty, 1);
}

/*
 * Ridge regression from the normal equations: (X'X + lambda n I) beta = X'y,
 * column 0 being the unpenalised intercept, solved by Cholesky (dposv). If
 * rounding leaves the system not positive definite, the penalty grows
 * tenfold and we try again.
 */
void
MlLinalgRidgeSolve(const double *xtx, const double *xty, int p, int64 n, double lambda, double *beta)
{
	double	   *a = palloc(sizeof(double) * p * p);
	int			nrhs = 1;
	int			info = 0;

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
		CHECK_FOR_INTERRUPTS();
	}
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not solve the regression system (LAPACK dposv info %d)", info)));
	pfree(a);
}

/* C (m x n) = A (m x k) * B' (B is n x k): dot products for distances. */
void
MlLinalgCrossProduct(const double *A, int m, const double *B, int n, int k, double *C)
{
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, A, k, B, k, 0.0, C, n);
}

/* C = alpha op(A) op(B) + beta C, row-major: the network's forward and backward passes. */
void
MlLinalgGemm(bool transa, bool transb, int m, int n, int k, double alpha,
			 const double *A, int lda, const double *B, int ldb, double beta,
			 double *C, int ldc)
{
	cblas_dgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans, transb ? CblasTrans : CblasNoTrans,
				m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

/*
 * Eigenvalues (ascending, into w) and eigenvectors of the symmetric p x p
 * matrix a (upper triangle read, row-major); on return row j of a is the
 * eigenvector of w[j]. Returns false when LAPACK does not converge.
 */
bool
MlLinalgSymEigen(double *a, int p, double *w)
{
	int			info = 0;
	int			lwork = -1;
	double		query;
	double	   *work;

	/* row-major upper triangle = column-major lower triangle */
	dsyev_("V", "L", &p, a, &p, w, &query, &lwork, &info);
	if (info != 0)
		return false;
	lwork = Max((int) query, 3 * p);
	work = palloc(sizeof(double) * lwork);
	dsyev_("V", "L", &p, a, &p, w, work, &lwork, &info);
	pfree(work);
	return info == 0;
}
