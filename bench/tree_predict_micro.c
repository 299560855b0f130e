/*
 * bench/tree_predict_micro.c
 *	  Micro-benchmark of src/model/tree_predict.c outside PostgreSQL: random
 *	  trees (some categorical splits, NULLs in 5 % of the cells) scored by
 *	  MlTreePackScore and by the stored-tree walk MlTreeLeafValues (one row
 *	  at a time, as forest.c did); prints both times, the per-row cost and
 *	  how many outputs differ in any bit (must be 0). The few PostgreSQL
 *	  functions the scorer calls are stubbed below; the tree threads are
 *	  plain pthreads. For callgrind or perf where the machine is noisy.
 *
 *   I=$(pg_config --includedir-server)
 *   gcc -O2 -g -Isrc -I$I -o /tmp/tpm bench/tree_predict_micro.c src/model/tree_predict.c -lm -lpthread
 *   /tmp/tpm [trees=100] [depth=6] [rows=200000] [nout=1] [threads=1] [categorical features=3]
 *            [levels=0: codes -10..289 and random sets; else codes 0..levels-1, sets within them]
 */
#include "postgres.h"

#include <stdio.h>
#include <time.h>
#include <pthread.h>
#include "miscadmin.h"
#include "utils/memutils.h"
#include "model/trees.h"

volatile sig_atomic_t InterruptPending = 0;
MemoryContext CurrentMemoryContext = (MemoryContext) 0x1000;
void ProcessInterrupts(void) {}
bool errstart(int elevel, const char *domain) { (void) domain; if (elevel >= ERROR) abort(); return false; }
bool errstart_cold(int elevel, const char *domain) { return errstart(elevel, domain); }
void errfinish(const char *f, int l, const char *fn) { (void) f; (void) l; (void) fn; }
int errmsg_internal(const char *fmt, ...) { (void) fmt; return 0; }
int errmsg(const char *fmt, ...) { (void) fmt; return 0; }
int errcode(int c) { (void) c; return 0; }
static void *xalloc(Size n) { char *p = aligned_alloc(16, n + 16); *(MemoryContext *) (p + 8) = CurrentMemoryContext; return p + 16; }
void *palloc(Size n) { return xalloc(n); }
void *palloc0(Size n) { void *p = xalloc(n); memset(p, 0, n); return p; }
void *palloc_extended(Size n, int f) { (void) f; return palloc0(n); }
void pfree(void *p) { free((char *) p - 16); }
void MemoryContextRegisterResetCallback(MemoryContext c, MemoryContextCallback *cb) { (void) c; (void) cb; }
static int nthr = 1;
int MlTreesThreads(int r) { (void) r; return nthr; }
typedef struct { void (*fn)(void *, int, int); void *ctx; int n; int w; int nw; } Job;
static void *runner(void *a) { Job *j = a; for (int t = j->w; t < j->n; t += j->nw) j->fn(j->ctx, t, j->w); return NULL; }
void MlTreesRun(int nt, void (*fn) (void *ctx, int task, int worker), void *ctx, int ntasks)
{
	pthread_t th[8]; Job j[8];
	for (int w = 0; w < nt; w++) { j[w] = (Job){fn, ctx, ntasks, w, nt}; pthread_create(&th[w], NULL, runner, &j[w]); }
	for (int w = 0; w < nt; w++) pthread_join(th[w], NULL);
}
#undef printf
#define my_printf(...) (printf)(__VA_ARGS__)
static uint64 rs = 88172645463325252ULL;
static uint64 rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static double urand(void) { return (rnd() >> 11) * (1.0 / 9007199254740992.0); }

static int nfeat = 21, ncatf = 3, nlevels = 0;
static int grow(MlTree *t, int depth, int maxd)
{
	int i = t->nnodes++;
	MlTreeNode *n = &t->nodes[i];
	if (depth == maxd || (depth >= 3 && urand() < 0.15)) {
		n->feature = -1; n->aux = t->nleaves++; n->left = n->right = -1; return i;
	}
	n->feature = rnd() % nfeat;
	n->categorical = n->feature < ncatf;
	n->missing_left = rnd() & 1;
	if (n->categorical) { n->aux = t->nsets++; for (int w = 0; w < 4; w++) t->sets[n->aux * 4 + w] = nlevels == 0 ? rnd() : w == 0 ? rnd() & ((UINT64CONST(1) << nlevels) - 1) : 0; }
	else { n->threshold = urand() * 100; n->aux = 0; }
	int l = grow(t, depth + 1, maxd); t->nodes[i].left = l;
	int r = grow(t, depth + 1, maxd); t->nodes[i].right = r;
	return i;
}
static double now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9; }

int main(int argc, char **argv)
{
	int ntrees = argc > 1 ? atoi(argv[1]) : 100, maxd = argc > 2 ? atoi(argv[2]) : 6;
	int64 nrows = argc > 3 ? atoll(argv[3]) : 200000; int nout = argc > 4 ? atoi(argv[4]) : 1;
	nthr = argc > 5 ? atoi(argv[5]) : 1; ncatf = argc > 6 ? atoi(argv[6]) : 3;
	nlevels = argc > 7 ? atoi(argv[7]) : 0;
	MlTree **trees = palloc(sizeof(MlTree *) * ntrees);
	for (int t = 0; t < ntrees; t++) {
		MlTree *tr = palloc0(sizeof(MlTree));
		tr->nodes = palloc0(sizeof(MlTreeNode) * (2 << maxd)); tr->sets = palloc0(8 * 4 * (2 << maxd));
		grow(tr, 0, maxd);
		tr->values = palloc(sizeof(double) * tr->nleaves * nout);
		for (int k = 0; k < tr->nleaves * nout; k++) tr->values[k] = urand() - 0.5;
		trees[t] = tr;
	}
	MlDesign d = {0}; d.nrows = nrows; d.nfeat = nfeat; d.col = palloc(sizeof(double *) * nfeat);
	for (int j = 0; j < nfeat; j++) {
		d.col[j] = palloc(sizeof(double) * nrows);
		for (int64 i = 0; i < nrows; i++)
			d.col[j][i] = urand() < 0.05 ? NAN : j < ncatf ? (nlevels ? (double) (rnd() % nlevels) : (double) (rnd() % 300) - 10) : urand() * 100;
	}
	int stride = nout;
	double *ref = palloc(sizeof(double) * nrows * stride), *out = palloc(sizeof(double) * nrows * stride);
	double t0 = now();
	for (int64 i = 0; i < nrows; i++) {
		for (int k = 0; k < nout; k++) ref[i * nout + k] = 0;
		for (int t = 0; t < ntrees; t++) { const double *v = MlTreeLeafValues(trees[t], &d, i, nout); for (int k = 0; k < nout; k++) ref[i * nout + k] += v[k]; }
	}
	double t1 = now();
	MlTreePack *p = MlTreePackBuild(trees, trees, ntrees, nfeat, 1, nout);
	double best = 1e9;
	for (int rep = 0; rep < 5; rep++) { double a = now(); MlTreePackScore(p, &d, NULL, out); best = Min(best, now() - a); }
	int64 diff = 0; for (int64 i = 0; i < nrows * stride; i++) if (memcmp(&ref[i], &out[i], 8)) diff++;
	/* per-row: score one row at a time */
	MlDesign d1 = d; d1.nrows = 1; double *c1[64]; d1.col = c1;
	double a = now();
	for (int64 i = 0; i < 20000; i++) { for (int j = 0; j < nfeat; j++) c1[j] = d.col[j] + i; MlTreePackScore(p, &d1, NULL, out + i * stride); }
	double per = (now() - a) / 20000;
	for (int64 i = 0; i < 20000 * stride; i++) if (memcmp(&ref[i], &out[i], 8)) diff++;
	my_printf( "trees %d depth %d rows %lld nout %d thr %d: ref walk %.1f ms, packed best %.1f ms (%.2f ns/walk), per-row %.2f us, differ %lld\n",
		   ntrees, maxd, (long long) nrows, nout, nthr, (t1 - t0) * 1e3, best * 1e3, best * 1e9 / (nrows * ntrees), per * 1e6, (long long) diff);
	return diff != 0;
}
