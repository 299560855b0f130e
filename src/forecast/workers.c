/*
 * workers.c
 *	  Compute-only threads that fit the series of one ml_forecast_train call,
 *	  with the backend (the leader) as one more worker.
 *
 * A pool's tasks are numbered 0, 1, ...; the leader publishes them as they
 * become known (FcPoolPublish: series completed while the relation is still
 * being read) and the threads claim them by an atomic compare-and-swap, so a
 * task runs exactly once. The leader allocates everything a task touches
 * before publishing it; the threads call only compute-only code
 * (forecast/prophet.c) and never touch PostgreSQL. Every signal is blocked
 * in them, so the backend's handlers run only in the leader. When it has no
 * more tasks to publish, the leader claims tasks itself, honouring
 * CHECK_FOR_INTERRUPTS between them, then waits on its latch for the
 * threads; on an error (a cancel) it tells them to stop after their current
 * task and joins them before the error propagates.
 */
#include "postgres.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "forecast/forecast.h"

/* an idle thread sleeps this long at first, doubling up to the maximum */
#define IDLE_SLEEP_MIN_NS 20000L
#define IDLE_SLEEP_MAX_NS 1000000L
/* the leader waiting for the threads' last tasks: 50 us polls for 5 ms, then the latch */
#define FINE_POLL_US 50L
#define FINE_POLLS 100

typedef struct ThreadArg
{
	FcPool	   *pool;
	int			worker;
} ThreadArg;

struct FcPool
{
	FcTaskFn	fn;
	void	   *ctx;
	int64		published;		/* atomic: tasks 0 .. published - 1 exist */
	int64		next;			/* atomic: next task to claim */
	int			closed;			/* atomic: no task will be published */
	int			stop;			/* atomic: the leader asks threads to stop */
	int			finished;		/* atomic: threads that returned */
	int			started;
	pthread_t	th[FC_MAX_WORKERS];
	ThreadArg	arg[FC_MAX_WORKERS];
};

/* Claim the next published task; -1 when none is published now. */
static int64
claim(FcPool *p)
{
	int64		t = __atomic_load_n(&p->next, __ATOMIC_ACQUIRE);

	while (t < __atomic_load_n(&p->published, __ATOMIC_ACQUIRE))
	{
		if (__atomic_compare_exchange_n(&p->next, &t, t + 1, false,
										__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return t;
	}
	return -1;
}

/* thread */
static void *
thread_main(void *arg)
{
	ThreadArg  *a = arg;
	FcPool	   *p = a->pool;
	long		idle_ns = IDLE_SLEEP_MIN_NS;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
	{
		/* read closed before claiming: a task published before closing is seen */
		bool		closed = __atomic_load_n(&p->closed, __ATOMIC_ACQUIRE);
		int64		t = claim(p);

		if (t >= 0)
		{
			p->fn(p->ctx, t, a->worker);
			idle_ns = IDLE_SLEEP_MIN_NS;
		}
		else if (closed)
			break;
		else
		{
			struct timespec ts = {0, idle_ns};

			nanosleep(&ts, NULL);
			idle_ns = Min(idle_ns * 2, IDLE_SLEEP_MAX_NS);
		}
	}
	__atomic_fetch_add(&p->finished, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

static void
join_all(FcPool *p)
{
	for (int i = 0; i < p->started; i++)
		pthread_join(p->th[i], NULL);
	p->started = 0;
}

/*
 * Start nthreads threads (workers 1 .. nthreads) waiting for tasks; NULL
 * when nthreads is 0 or no thread could start (the leader then does every
 * task itself).
 */
FcPool *
FcPoolStart(int nthreads, FcTaskFn fn, void *ctx)
{
	FcPool	   *p;
	sigset_t	all,
				old;

	nthreads = Min(nthreads, FC_MAX_WORKERS - 1);
	if (nthreads <= 0)
		return NULL;
	p = palloc0(sizeof(FcPool));
	p->fn = fn;
	p->ctx = ctx;
	/* threads inherit the mask: no signal handler ever runs in them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < nthreads; i++)
	{
		p->arg[i].pool = p;
		p->arg[i].worker = i + 1;
		if (pthread_create(&p->th[i], NULL, thread_main, &p->arg[i]) != 0)
			break;
		p->started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (p->started == 0)
	{
		pfree(p);
		return NULL;
	}
	return p;
}

/* Tasks 0 .. ntasks - 1 may run: everything they touch is in place. */
void
FcPoolPublish(FcPool *p, int64 ntasks)
{
	__atomic_store_n(&p->published, ntasks, __ATOMIC_RELEASE);
}

/* Stop the threads after their current task and join them (error paths). */
void
FcPoolAbort(FcPool *p)
{
	if (p == NULL)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	join_all(p);
}

/*
 * No more tasks: the leader (worker 0) runs unclaimed ones too, then waits
 * for the threads. Returns the threads that ran.
 */
int
FcPoolFinish(FcPool *p)
{
	int			threads = p->started;

	__atomic_store_n(&p->closed, 1, __ATOMIC_RELEASE);
	PG_TRY();
	{
		int64		t;

		while ((t = claim(p)) >= 0)
		{
			p->fn(p->ctx, t, 0);
			CHECK_FOR_INTERRUPTS();
		}
		/*
		 * Each thread has at most its current task left: poll finely at
		 * first (a latch timeout is whole milliseconds), then on the latch.
		 */
		for (int polls = 0; __atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < p->started; polls++)
		{
			CHECK_FOR_INTERRUPTS();
			if (polls < FINE_POLLS)
				pg_usleep(FINE_POLL_US);
			else
			{
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 1L, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
			}
		}
	}
	PG_CATCH();
	{
		FcPoolAbort(p);
		PG_RE_THROW();
	}
	PG_END_TRY();
	join_all(p);
	return threads;
}

/*
 * Run fn(ctx, task, worker) for tasks 0 .. ntasks - 1 on nworkers workers:
 * the leader and nworkers - 1 threads. Returns the workers used.
 */
int
FcRunWorkers(int nworkers, FcTaskFn fn, void *ctx, int64 ntasks)
{
	FcPool	   *p;
	int			threads;

	nworkers = Max(1, Min(nworkers, FC_MAX_WORKERS));
	p = FcPoolStart((int) Min((int64) nworkers - 1, ntasks - 1), fn, ctx);
	if (p == NULL)
	{
		for (int64 t = 0; t < ntasks; t++)
		{
			CHECK_FOR_INTERRUPTS();
			fn(ctx, t, 0);
		}
		return 1;
	}
	FcPoolPublish(p, ntasks);
	threads = FcPoolFinish(p);
	return threads + 1;
}
