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
/* LAPACK's least squares by divide-and-conquer SVD (minimum-norm solution). */
extern void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda,
					double *b, const int *ldb, double *s, const double *rcond, int *rank,
					double *work, const int *lwork, int *iwork, int *info);
/* LAPACK's symmetric eigensolver, divide and conquer */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
					double *w, double *work, const int *lwork, int *iwork,
					const int *liwork, int *info);

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

/*
 * Solve the symmetric positive definite system a x = b in place (a: p x p,
 * upper triangle read, overwritten by its Cholesky factor; b: overwritten by
 * x). Allocates nothing and never raises an error, so compute-only threads
 * may call it: returns LAPACK's info (0 on success, > 0 when a is not
 * positive definite).
 */
int
MlLinalgCholeskySolve(double *a, double *b, int p)
{
	int			nrhs = 1;
	int			info = 0;

	/* row-major upper triangle = column-major lower triangle */
	dposv_("L", &p, &nrhs, a, &p, b, &p, &info);
	return info;
}

/* x'y: allocation-free, safe on compute-only threads. */
double
MlLinalgDot(const double *x, const double *y, int n)
{
	return cblas_ddot(n, x, 1, y, 1);
}

/*
 * x'Ax for a symmetric A (p x p, upper triangle read, row-major); tmp holds
 * p doubles. Allocation-free, safe on compute-only threads.
 */
double
MlLinalgQuadForm(const double *A, int p, const double *x, double *tmp)
{
	cblas_dsymv(CblasRowMajor, CblasUpper, p, 1.0, A, p, x, 1, 0.0, tmp, 1);
	return cblas_ddot(p, x, 1, tmp, 1);
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

/* C (p x p, upper triangle) += alpha X'X for a row-major block X (n x p). */
void
MlLinalgSyrk(const double *X, int n, int p, double alpha, double *C)
{
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, n, alpha, X, p, 1.0, C, p);
}

/* C (p x p, upper triangle) += alpha x x'. */
void
MlLinalgSyr(const double *x, int p, double alpha, double *C)
{
	cblas_dsyr(CblasRowMajor, CblasUpper, p, alpha, x, 1, C, p);
}

/* y = alpha op(A) x + beta y, A row-major m x n. */
void
MlLinalgGemv(bool trans, int m, int n, double alpha, const double *A, int lda,
			 const double *x, double beta, double *y)
{
	cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, A, lda, x, 1,
				beta, y, 1);
}

/*
 * Minimum-norm solution of the square system A x = b (A p x p, overwritten;
 * b overwritten by x) by LAPACK's SVD least squares (dgelsd): singular values
 * below rcond times the largest count as zero, so a singular system (a
 * collinear design) has the solution of least norm instead of none. Returns
 * the rank found.
 */
int
MlLinalgMinNormSolve(double *A, int p, double *b, double rcond)
{
	int			nrhs = 1;
	int			rank = 0;
	int			info = 0;
	int			lwork = -1;
	double		wq = 0;
	int			iwq = 0;
	double	   *s;
	double	   *work;
	int		   *iwork;

	if (p == 0)
		return 0;
	s = palloc(sizeof(double) * p);
	/* workspace query */
	dgelsd_(&p, &p, &nrhs, A, &p, b, &p, s, &rcond, &rank, &wq, &lwork, &iwq, &info);
	if (info != 0)
		elog(ERROR, "LAPACK dgelsd workspace query failed (info %d)", info);
	lwork = (int) wq + 1;
	work = palloc(sizeof(double) * lwork);
	iwork = palloc(sizeof(int) * Max(iwq, 1));
	/* the matrix is symmetric, so row- or column-major is the same */
	dgelsd_(&p, &p, &nrhs, A, &p, b, &p, s, &rcond, &rank, work, &lwork, iwork, &info);
	if (info != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not solve the regression system (LAPACK dgelsd info %d)", info)));
	pfree(s);
	pfree(work);
	pfree(iwork);
	return rank;
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
	int			liwork = -1;
	double		query;
	int			iquery;
	double	   *work;
	int		   *iwork;

	/*
	 * dsyevd, not dsyev: a chain's Bayesian ridge decomposes a matrix of a
	 * few hundred inputs per member and round, where dsyev's QR iteration
	 * on the eigenvectors (dlasr) took most of the time. Row-major upper
	 * triangle = column-major lower triangle.
	 */
	dsyevd_("V", "L", &p, a, &p, w, &query, &lwork, &iquery, &liwork, &info);
	if (info != 0)
		return false;
	lwork = Max((int) query, 1 + 6 * p + 2 * p * p);
	liwork = Max(iquery, 3 + 5 * p);
	work = palloc(sizeof(double) * lwork);
	iwork = palloc(sizeof(int) * liwork);
	dsyevd_("V", "L", &p, a, &p, w, work, &lwork, iwork, &liwork, &info);
	pfree(work);
	pfree(iwork);
	return info == 0;
}
