/*
 * tree_pool.c
 *	  The compute-only thread pool of the binned tree builder (and of
 *	  MlTreesRun's callers).
 *
 * The threads run only the functions marked "thread": they never call
 * PostgreSQL, and all signals are blocked in them. Idle threads poll for a
 * short while before they sleep on a condition variable.
 */
#include "postgres.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "model/trees_int.h"

/*
 * How long an idle thread polls for the next job before it sleeps. The
 * main thread's work between two passes takes tens of microseconds; a
 * sleeping thread's wake-up can cost as much again (more on a virtual
 * machine, where the idle core may be halted), and a tree has some 25
 * passes, so the threads poll through a fit's gaps and sleep between fits.
 */
#define POOL_SPIN_SECONDS 0.002
#define POOL_SPIN_CHECK 64		/* polls between looks at the clock */

/*
 * A job is fn(ctx, task, worker) for tasks 0..ntasks-1. The job word packs
 * the job's generation, its task count and the next task to claim, so a
 * thread can only claim a task of the job it read fn and ctx for: a claim
 * is a compare-and-swap of the whole word, and the main thread changes fn
 * and ctx only after every task of the previous job has finished.
 */
#define JOB_GEN(w)		((uint32) ((w) >> 40))
#define JOB_NTASKS(w)	((int) (((w) >> 20) & 0xFFFFF))
#define JOB_NEXT(w)		((int) ((w) & 0xFFFFF))
#define POOL_MAX_TASKS	0xFFFFF

struct Pool
{
	int			nthreads;		/* the main thread is worker 0 */
	int			started;
	pthread_t	th[ML_TREES_MAX_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64		word;
	int			sleeping;
	int			stop;
	PoolFn		fn;
	void	   *ctx;
	int			done;
};

typedef struct PoolArg
{
	Pool	   *pool;
	int			worker;
} PoolArg;

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* thread: claim and run tasks of generation gen until none is left */
static void
pool_drain(Pool *p, uint32 gen, int worker)
{
	for (;;)
	{
		uint64		w = __atomic_load_n(&p->word, __ATOMIC_ACQUIRE);

		if (JOB_GEN(w) != (gen & 0xFFFFFF) || JOB_NEXT(w) >= JOB_NTASKS(w))
			return;
		if (__atomic_compare_exchange_n(&p->word, &w, w + 1, false,
										__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		{
			p->fn(p->ctx, JOB_NEXT(w), worker);
			__atomic_fetch_add(&p->done, 1, __ATOMIC_ACQ_REL);
		}
	}
}

/* thread */
static void *
pool_main(void *arg)
{
	PoolArg    *a = arg;
	Pool	   *p = a->pool;
	uint32		seen = 0;

	for (;;)
	{
		uint32		g = seen;
		double		spin_end = MlTreesNow() + POOL_SPIN_SECONDS;

		for (int spin = 1;; spin++)
		{
			g = JOB_GEN(__atomic_load_n(&p->word, __ATOMIC_ACQUIRE));
			if (g != seen || __atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
				break;
			if (spin % POOL_SPIN_CHECK == 0 && MlTreesNow() > spin_end)
				break;
			cpu_relax();
		}
		if (g == seen && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
		{
			pthread_mutex_lock(&p->mu);
			__atomic_fetch_add(&p->sleeping, 1, __ATOMIC_SEQ_CST);
			while ((g = JOB_GEN(__atomic_load_n(&p->word, __ATOMIC_SEQ_CST))) == seen &&
				   !__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
				pthread_cond_wait(&p->cv, &p->mu);
			__atomic_fetch_sub(&p->sleeping, 1, __ATOMIC_SEQ_CST);
			pthread_mutex_unlock(&p->mu);
		}
		if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
			return NULL;
		seen = g;
		pool_drain(p, g, a->worker);
	}
}

Pool *
MlTreePoolCreate(int nthreads)
{
	Pool	   *p = palloc0(sizeof(Pool));
	PoolArg    *args = palloc0(sizeof(PoolArg) * ML_TREES_MAX_THREADS);
	sigset_t	all,
				old;

	p->nthreads = 1;
	if (nthreads <= 1)
		return p;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	/* threads inherit the mask: no signal handler ever runs in them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 1; i < nthreads && i < ML_TREES_MAX_THREADS; i++)
	{
		args[i].pool = p;
		args[i].worker = i;
		if (pthread_create(&p->th[i], NULL, pool_main, &args[i]) != 0)
			break;
		p->started = i;
		p->nthreads = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return p;
}

/* Run fn(ctx, task) for every task, on all threads; returns when done. */
void
MlTreePoolRun(Pool *p, PoolFn fn, void *ctx, int ntasks)
{
	uint32		gen;
	int			waits = 0;

	if (p->nthreads == 1 || ntasks <= 1)
	{
		for (int t = 0; t < ntasks; t++)
			fn(ctx, t, 0);
		return;
	}
	Assert(ntasks <= POOL_MAX_TASKS);
	p->fn = fn;
	p->ctx = ctx;
	__atomic_store_n(&p->done, 0, __ATOMIC_RELEASE);
	gen = (JOB_GEN(p->word) + 1) & 0xFFFFFF;
	__atomic_store_n(&p->word, ((uint64) gen << 40) | ((uint64) ntasks << 20), __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&p->sleeping, __ATOMIC_SEQ_CST) > 0)
	{
		pthread_mutex_lock(&p->mu);
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	pool_drain(p, gen, 0);
	while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) < ntasks)
	{
		/* a thread is still on a task; let it have this core if it shares it */
		if (++waits % 1024 == 0)
			sched_yield();
		cpu_relax();
	}
}

void
MlTreePoolDestroy(Pool *p)
{
	if (p == NULL || p->started == 0)
		return;
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 1; i <= p->started; i++)
		pthread_join(p->th[i], NULL);
	p->started = 0;
	p->nthreads = 1;
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}

int
MlTreePoolThreads(const Pool *p)
{
	return p->nthreads;
}

/*
 * Run fn(ctx, task, worker) for every task on a pool of nthreads started
 * for this call (scoring large batches); fn must be compute-only.
 */
void
MlTreesRun(int nthreads, void (*fn) (void *ctx, int task, int worker), void *ctx, int ntasks)
{
	Pool	   *pool = MlTreePoolCreate(nthreads);

	PG_TRY();
	{
		MlTreePoolRun(pool, fn, ctx, ntasks);
	}
	PG_FINALLY();
	{
		MlTreePoolDestroy(pool);
	}
	PG_END_TRY();
}

int
MlTreesThreads(int requested)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (requested > 0)
		return Min(requested, ML_TREES_MAX_THREADS);
	return (int) Max(1, Min(cores, 2));
}
