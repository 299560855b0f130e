/*
 * workers.c
 *	  Compute-only threads that fit the series of one ml_forecast_train call.
 *
 * The leader (the backend) allocates everything before the threads start;
 * the threads claim series by an atomic counter, call only compute-only
 * code (forecast/prophet.c) and never touch PostgreSQL. Every signal is
 * blocked in them, so the backend's handlers run only in the leader, which
 * waits on its latch and honours CHECK_FOR_INTERRUPTS: a cancel tells the
 * threads to stop after their current series and joins them before the
 * error propagates.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "forecast/forecast.h"

typedef struct Pool
{
	FcTaskFn	fn;
	void	   *ctx;
	int64		ntasks;
	int64		next;			/* atomic: next task to claim */
	int			finished;		/* atomic: threads that returned */
	int			stop;			/* atomic: leader asks threads to stop */
} Pool;

typedef struct ThreadArg
{
	Pool	   *pool;
	int			worker;
} ThreadArg;

/* thread */
static void *
thread_main(void *arg)
{
	ThreadArg  *a = arg;
	Pool	   *p = a->pool;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
	{
		int64		t = __atomic_fetch_add(&p->next, 1, __ATOMIC_ACQ_REL);

		if (t >= p->ntasks)
			break;
		p->fn(p->ctx, t, a->worker);
	}
	__atomic_fetch_add(&p->finished, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static void
join_all(pthread_t *th, int n)
{
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

int
FcRunWorkers(int nworkers, FcTaskFn fn, void *ctx, int64 ntasks)
{
	Pool		pool;
	pthread_t	th[FC_MAX_WORKERS];
	ThreadArg	args[FC_MAX_WORKERS];
	sigset_t	all,
				old;
	volatile int started = 0;

	memset(&pool, 0, sizeof(pool));
	pool.fn = fn;
	pool.ctx = ctx;
	pool.ntasks = ntasks;
	nworkers = Max(1, Min(nworkers, FC_MAX_WORKERS));

	/* threads inherit the mask: no signal handler ever runs in them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < nworkers; i++)
	{
		args[i].pool = &pool;
		args[i].worker = i;
		if (pthread_create(&th[i], NULL, thread_main, &args[i]) != 0)
			break;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (started == 0)
	{
		/* no thread could start: fit in the leader, checking between series */
		for (int64 t = 0; t < ntasks; t++)
		{
			CHECK_FOR_INTERRUPTS();
			fn(ctx, t, 0);
		}
		return 1;
	}

	PG_TRY();
	{
		while (__atomic_load_n(&pool.finished, __ATOMIC_ACQUIRE) < started)
		{
			CHECK_FOR_INTERRUPTS();
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 1L, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	PG_CATCH();
	{
		__atomic_store_n(&pool.stop, 1, __ATOMIC_RELEASE);
		join_all(th, started);
		PG_RE_THROW();
	}
	PG_END_TRY();
	join_all(th, started);
	return started;
}
