/*
 * usage.h
 *	  The shared-memory usage table (usage.c), shared by metering.c,
 *	  quota.c and usage_flush.c: one entry per database, catalog, project,
 *	  consumer and UTC day.
 */
#ifndef ML_USAGE_H
#define ML_USAGE_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/spin.h"

/* latency buckets: bucket i holds latencies below 0.01 ms * 2^((i+1)/4) */
#define ML_LATENCY_BUCKETS	96

typedef struct MlUsageKey
{
	Oid			dbid;
	Oid			catalog;		/* mlops.projects' OID: project ids restart with a new extension */
	int32		day;			/* UTC day, as a date (days since 2000-01-01) */
	Oid			consumer_oid;	/* the consumer role (a re-created name is another) */
	int64		project_id;
	NameData	consumer;		/* its name, for display */
} MlUsageKey;

/* What is counted; absolute for the day (the catalog row's values included). */
typedef struct MlUsageCounts
{
	int64		calls;
	int64		rows;
	int64		errors;
	int64		hist[ML_LATENCY_BUCKETS];
} MlUsageCounts;

typedef struct MlUsageEntry
{
	MlUsageKey	key;
	/* the day's rows handed out: the quota counter, added to without a lock */
	pg_atomic_uint64 rows;
	/* open calls holding a pointer to the entry: it is not evicted while any */
	pg_atomic_uint32 users;
	slock_t		mutex;			/* protects what follows */
	MlUsageCounts counts;		/* counts.rows unused: see rows */
	int64		rate_second;	/* the second rate_calls counts */
	int32		rate_calls;
	uint64		changes;		/* bumped by every update */
	uint64		flushed;		/* changes when last written to the catalog */
} MlUsageEntry;

/* a copy of an entry, out of shared memory */
typedef struct MlUsageCopy
{
	MlUsageKey	key;
	MlUsageCounts counts;		/* rows from the atomic counter */
	uint64		changes;
} MlUsageCopy;

extern int	ml_api_usage_entries;

/*
 * How the 53000 error of a full table begins (the endpoint answers it 503
 * with a Retry-After until the next UTC midnight, when entries free up).
 */
#define ML_USAGE_FULL_MESSAGE "too many consumers and projects metered today"

extern bool MlUsageReady(void);
extern MlUsageEntry *MlUsageGet(int64 project_id, Oid consumer_oid, const char *consumer,
								int32 day);
extern void MlUsageRelease(MlUsageEntry *e);
extern double MlUsagePercentile(const int64 *hist, double q);
extern int	MlUsageBucket(int64 usecs);
extern void MlUsageShmemInit(void);
extern MlUsageCopy *MlUsageCopyAll(MemoryContext cxt, int *n);
extern bool MlUsageDirty(const MlUsageKey *key, uint64 changes);
extern void MlUsageMarkFlushed(const MlUsageKey *key, uint64 changes);

#endif							/* ML_USAGE_H */
