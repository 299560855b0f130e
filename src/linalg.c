/*
 * linalg.c
 *	  Linear algebra on OpenBLAS: the only file that calls BLAS/LAPACK.
 */
#include "postgres.h"

#include <cblas.h>

#include "linalg.h"

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
