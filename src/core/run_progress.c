/*
 * run_progress.c
 *	  Live progress of job runs.
 *
 * A run's step is one transaction, so what it would write to
 * mlops.job_runs is seen only once it ends. Its progress goes to shared
 * memory instead: one slot per backend, written only by that backend (the
 * run's worker, bound to its run with MlRunProgressBind) and read by anyone
 * through mlops.job_run_live(run), which the ml_job_runs view calls for its
 * running runs. The ml_* calls report a fraction of their own work and the
 * rows they have processed (MlRunProgress); a workflow maps each step's
 * fraction into the step's share of the run (MlRunProgressSpan). Outside a
 * run, or without shared_preload_libraries, reporting does nothing.
 *
 * A slot is written without a lock: the run id last, and a reader takes a
 * slot's values only if the run id is the same before and after reading
 * them, so it never mixes two runs. Progress is advisory: two values of one
 * run read a moment apart are fine.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

#include "core/run_progress.h"

typedef struct Slot
{
	pg_atomic_uint64 run;		/* 0: no run */
	pg_atomic_uint64 fraction;	/* the bits of a double in 0..1 */
	pg_atomic_uint64 rows;		/* PG_UINT64_MAX: none reported */
} Slot;

static Slot *slots = NULL;
static int	nslots = 0;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's binding */
static int64 bound_run = 0;
static double span_lo = 0;
static double span_hi = 1;

static void
progress_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(mul_size(sizeof(Slot), MaxBackends));
}

static void
progress_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	slots = ShmemInitStruct("pg_mlops run progress", mul_size(sizeof(Slot), MaxBackends), &found);
	nslots = MaxBackends;
	if (!found)
		for (int i = 0; i < nslots; i++)
		{
			pg_atomic_init_u64(&slots[i].run, 0);
			pg_atomic_init_u64(&slots[i].fraction, 0);
			pg_atomic_init_u64(&slots[i].rows, PG_UINT64_MAX);
		}
	LWLockRelease(AddinShmemInitLock);
}

void
MlRunProgressShmemInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = progress_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = progress_shmem_startup;
}

static Slot *
my_slot(void)
{
	if (slots == NULL || MyBackendId < 1 || MyBackendId > nslots)
		return NULL;
	return &slots[MyBackendId - 1];
}

static uint64
double_bits(double v)
{
	uint64		b;

	memcpy(&b, &v, sizeof(b));
	return b;
}

static double
bits_double(uint64 b)
{
	double		v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

static void
unbind(int code, Datum arg)
{
	Slot	   *s = my_slot();

	(void) code;
	(void) arg;
	if (s)
		pg_atomic_write_u64(&s->run, 0);
}

/* This backend runs job run `run` from now on (0: none). */
void
MlRunProgressBind(int64 run)
{
	static bool exit_hook = false;
	Slot	   *s = my_slot();

	bound_run = run;
	span_lo = 0;
	span_hi = 1;
	if (s == NULL)
		return;
	if (!exit_hook)
		on_shmem_exit(unbind, (Datum) 0);
	exit_hook = true;
	pg_atomic_write_u64(&s->run, 0);
	pg_write_barrier();
	pg_atomic_write_u64(&s->fraction, double_bits(0));
	pg_atomic_write_u64(&s->rows, PG_UINT64_MAX);
	pg_write_barrier();
	pg_atomic_write_u64(&s->run, (uint64) run);
}

/* The reports that follow are the share lo..hi of the run (a workflow's step). */
void
MlRunProgressSpan(double lo, double hi)
{
	span_lo = Max(0, Min(lo, 1));
	span_hi = Max(span_lo, Min(hi, 1));
	MlRunProgress(0, ML_PROGRESS_SAME_ROWS);
}

/*
 * The current call has done `fraction` (0..1) of its work and processed
 * `rows` rows (ML_PROGRESS_SAME_FRACTION, ML_PROGRESS_SAME_ROWS: unchanged).
 * Cheap: at most two atomic writes.
 */
void
MlRunProgress(double fraction, int64 rows)
{
	Slot	   *s;

	if (bound_run == 0 || (s = my_slot()) == NULL)
		return;
	if (fraction >= 0)
		pg_atomic_write_u64(&s->fraction,
							double_bits(span_lo + (span_hi - span_lo) * Min(fraction, 1)));
	if (rows >= 0)
		pg_atomic_write_u64(&s->rows, (uint64) rows);
}

/* May the caller see the run? Its row in mlops.job_runs, read as the caller. */
static bool
run_visible(int64 run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(run)};
	bool		visible;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM mlops.job_runs WHERE id OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read mlops.job_runs");
	visible = SPI_processed == 1;
	SPI_finish();
	return visible;
}

PG_FUNCTION_INFO_V1(ml_job_run_live);

/*
 * mlops.job_run_live(run): (progress, rows_processed) of a run being
 * executed now, NULLs when no worker runs it or the caller may not see it.
 */
Datum
ml_job_run_live(PG_FUNCTION_ARGS)
{
	int64		run = PG_GETARG_INT64(0);
	TupleDesc	desc;
	Datum		values[2] = {0, 0};
	bool		nulls[2] = {true, true};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "mlops.job_run_live must return a row");
	for (int i = 0; slots != NULL && run > 0 && i < nslots; i++)
	{
		uint64		f,
					rows;

		if (pg_atomic_read_u64(&slots[i].run) != (uint64) run)
			continue;
		pg_read_barrier();
		f = pg_atomic_read_u64(&slots[i].fraction);
		rows = pg_atomic_read_u64(&slots[i].rows);
		pg_read_barrier();
		if (pg_atomic_read_u64(&slots[i].run) != (uint64) run || !run_visible(run))
			break;
		values[0] = Float8GetDatum(bits_double(f));
		nulls[0] = false;
		if (rows != PG_UINT64_MAX)
		{
			values[1] = Int64GetDatum((int64) rows);
			nulls[1] = false;
		}
		break;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
