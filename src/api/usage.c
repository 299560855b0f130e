/*
 * usage.c
 *	  The shared-memory usage table: counters per database, project,
 *	  consumer and UTC day, in a fixed-size hash (pg_mlops.api_usage_entries)
 *	  created at server start (pg_mlops must be in shared_preload_libraries).
 *
 * An entry holds the day's absolute counts: when it is created, the
 * catalog's row for its key (mlops.api_usage) is read into it, so the
 * catalog only ever receives larger values (usage_flush.c). At a clean
 * shutdown the postmaster writes every entry to a file under pg_stat/
 * (as pg_stat_statements does), read back at the next start; after a crash
 * the entries come back from the catalog, as of the last flush.
 *
 * Locking: the hash's LWLock, shared to find an entry, exclusive to add or
 * evict one; an entry's spinlock for its counts; its rows counter is an
 * atomic so quotas are charged row by row without a lock.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/log_text.h"
#include "api/api.h"
#include "api/usage.h"
#include "core/catalog.h"

#define USAGE_FILE			"pg_stat/pg_mlops_api_usage.stat"
#define USAGE_FILE_MAGIC	0x4d4c4155	/* "MLAU" */
#define USAGE_FILE_VERSION	3	/* 2: record size in the header, CRC-32C at the end; 3: role OIDs */

int			ml_api_usage_entries = 1000;

static LWLock *usage_lock = NULL;
static HTAB *usage_hash = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

bool
MlUsageReady(void)
{
	return usage_hash != NULL;
}

static void
usage_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(hash_estimate_size(ml_api_usage_entries, sizeof(MlUsageEntry)));
	RequestNamedLWLockTranche("pg_mlops api usage", 1);
}

/* One entry of the file, as usage_shmem_shutdown writes it. */
typedef struct UsageRecord
{
	MlUsageKey	key;
	uint64		rows;
	MlUsageCounts counts;
	uint64		flushed;		/* 1: in the catalog as of the shutdown */
} UsageRecord;

/* Counts a shutdown could have written: none negative, no key unterminated. */
static bool
record_valid(const UsageRecord *r)
{
	if (r->rows > (uint64) PG_INT64_MAX || r->counts.calls < 0 || r->counts.errors < 0 ||
		r->counts.rows < 0 || r->flushed > 1 || !OidIsValid(r->key.dbid) ||
		!OidIsValid(r->key.consumer_oid) ||
		memchr(r->key.consumer.data, '\0', NAMEDATALEN) == NULL)
		return false;
	for (int i = 0; i < ML_LATENCY_BUCKETS; i++)
		if (r->counts.hist[i] < 0)
			return false;
	return true;
}

/*
 * Read the n records after the header; with insert false, only check them
 * and their CRC (which follows them, then the end of the file), so that a
 * damaged file puts nothing into the table.
 */
static bool
usage_read_records(FILE *f, int32 n, bool insert)
{
	pg_crc32c	crc;
	pg_crc32c	stored;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &n, sizeof(n));
	for (int32 i = 0; i < n; i++)
	{
		UsageRecord r;
		MlUsageEntry *e;
		bool		found;

		if (fread(&r, sizeof(r), 1, f) != 1)
			return false;
		COMP_CRC32C(crc, &r, sizeof(r));
		if (!record_valid(&r))
			return false;
		if (!insert)
			continue;
		/* a smaller table than before: the catalog has the rest */
		if (hash_get_num_entries(usage_hash) >= ml_api_usage_entries &&
			hash_search(usage_hash, &r.key, HASH_FIND, NULL) == NULL)
			break;
		e = hash_search(usage_hash, &r.key, HASH_ENTER_NULL, &found);
		if (e == NULL)
			break;
		pg_atomic_init_u64(&e->rows, r.rows);
		pg_atomic_init_u32(&e->users, 0);
		SpinLockInit(&e->mutex);
		e->counts = r.counts;
		e->rate_second = 0;
		e->rate_calls = 0;
		/* unflushed entries stay unflushed */
		e->changes = r.flushed == 0 ? 1 : 2;
		e->flushed = r.flushed == 0 ? 0 : 2;
	}
	if (insert)
		return true;
	FIN_CRC32C(crc);
	return fread(&stored, sizeof(stored), 1, f) == 1 && EQ_CRC32C(crc, stored) &&
		fgetc(f) == EOF;
}

/*
 * The file written at the last clean shutdown, if any, into the new table:
 * only if its magic, version, sizes, values and CRC all check out.
 */
static void
usage_load_file(void)
{
	FILE	   *f = AllocateFile(USAGE_FILE, PG_BINARY_R);
	uint32		header[3];
	int32		n;

	if (f == NULL)
		return;
	if (fread(header, sizeof(header), 1, f) != 1 || header[0] != USAGE_FILE_MAGIC ||
		header[1] != USAGE_FILE_VERSION || header[2] != (uint32) sizeof(UsageRecord) ||
		fread(&n, sizeof(n), 1, f) != 1 || n < 0 || !usage_read_records(f, n, false) ||
		fseek(f, (long) (sizeof(header) + sizeof(n)), SEEK_SET) != 0 ||
		!usage_read_records(f, n, true))
		goto bad;
	FreeFile(f);
	unlink(USAGE_FILE);
	return;
bad:
	ereport(LOG,
			(errmsg("pg_mlops: the API usage file \"%s\" is damaged or of another version; the usage since the last flush is lost",
					USAGE_FILE)));
	FreeFile(f);
	unlink(USAGE_FILE);
}

/* At a clean postmaster shutdown: every entry into the file, with a CRC. */
static void
usage_shmem_shutdown(int code, Datum arg)
{
	FILE	   *f;
	HASH_SEQ_STATUS seq;
	MlUsageEntry *e;
	uint32		header[3] = {USAGE_FILE_MAGIC, USAGE_FILE_VERSION, (uint32) sizeof(UsageRecord)};
	int32		n;
	pg_crc32c	crc;

	(void) arg;
	if (code != 0 || usage_hash == NULL)
		return;					/* not after a crash: the shared state is not trusted */
	f = AllocateFile(USAGE_FILE ".tmp", PG_BINARY_W);
	if (f == NULL)
		goto bad;
	n = (int32) hash_get_num_entries(usage_hash);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &n, sizeof(n));
	if (fwrite(header, sizeof(header), 1, f) != 1 || fwrite(&n, sizeof(n), 1, f) != 1)
		goto bad;
	hash_seq_init(&seq, usage_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		UsageRecord r;

		memset(&r, 0, sizeof(r));
		r.key = e->key;
		r.rows = pg_atomic_read_u64(&e->rows);
		r.counts = e->counts;
		r.flushed = e->changes == e->flushed ? 1 : 0;
		COMP_CRC32C(crc, &r, sizeof(r));
		if (fwrite(&r, sizeof(r), 1, f) != 1)
		{
			hash_seq_term(&seq);
			goto bad;
		}
	}
	FIN_CRC32C(crc);
	if (fwrite(&crc, sizeof(crc), 1, f) != 1)
		goto bad;
	if (FreeFile(f) != 0)
	{
		f = NULL;
		goto bad;
	}
	(void) durable_rename(USAGE_FILE ".tmp", USAGE_FILE, LOG);
	return;
bad:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("pg_mlops: could not write the API usage file \"%s\": %m", USAGE_FILE ".tmp")));
	if (f)
		FreeFile(f);
	unlink(USAGE_FILE ".tmp");
}

static void
usage_shmem_startup(void)
{
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	usage_lock = &(GetNamedLWLockTranche("pg_mlops api usage"))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(MlUsageKey);
	info.entrysize = sizeof(MlUsageEntry);
	usage_hash = ShmemInitHash("pg_mlops api usage", ml_api_usage_entries, ml_api_usage_entries,
							   &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
	/* the postmaster: read what the last shutdown wrote, write it at the next */
	if (!IsUnderPostmaster)
	{
		usage_load_file();
		on_shmem_exit(usage_shmem_shutdown, (Datum) 0);
	}
}

void
MlUsageShmemInit(void)
{
	/* a PGC_POSTMASTER setting can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("pg_mlops.api_usage_entries",
							"Most API usage counters (database, project, consumer, UTC day) kept in shared memory.",
							"Entries of past days are dropped once written to mlops.api_usage.",
							&ml_api_usage_entries, 1000, 100, 1000000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = usage_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = usage_shmem_startup;
}

/* The OID of this database's mlops.projects (InvalidOid: no catalog). */
static Oid
projects_relid(void)
{
	Oid			nsp = get_namespace_oid("mlops", true);

	return OidIsValid(nsp) ? get_relname_relid("projects", nsp) : InvalidOid;
}

static void
make_key(MlUsageKey *key, int64 project_id, Oid consumer_oid, const char *consumer, int32 day)
{
	memset(key, 0, sizeof(*key));
	key->dbid = MyDatabaseId;
	key->catalog = projects_relid();
	key->day = day;
	key->project_id = project_id;
	key->consumer_oid = consumer_oid;
	strlcpy(key->consumer.data, consumer, NAMEDATALEN);
}

/*
 * The catalog's counts of a key (zero if none), for a new entry. A stored
 * histogram that is not ML_LATENCY_BUCKETS non-negative numbers is left
 * out (counts zero) rather than trusted.
 */
static void
catalog_counts(const MlUsageKey *key, MlUsageCounts *c)
{
	MlScope		scope;
	Oid			types[3] = {INT8OID, OIDOID, DATEOID};
	Datum		values[3];

	memset(c, 0, sizeof(*c));
	MlScopeEnter(&scope);
	values[0] = Int64GetDatum(key->project_id);
	values[1] = ObjectIdGetDatum(key->consumer_oid);
	values[2] = DateADTGetDatum(key->day);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT calls, rows, errors, latency_histogram FROM mlops.api_usage "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND consumer_oid OPERATOR(pg_catalog.=) $2 "
			  "  AND day OPERATOR(pg_catalog.=) $3",
			  3, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		h;

		c->calls = Max(0, DatumGetInt64(SPI_getbinval(t, d, 1, &isnull)));
		c->rows = Max(0, DatumGetInt64(SPI_getbinval(t, d, 2, &isnull)));
		c->errors = Max(0, DatumGetInt64(SPI_getbinval(t, d, 3, &isnull)));
		h = SPI_getbinval(t, d, 4, &isnull);
		if (!isnull)
		{
			ArrayType  *a = DatumGetArrayTypeP(h);
			Datum	   *elems;
			bool	   *nulls;
			int			n;
			bool		ok = true;

			deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
			ok = n == ML_LATENCY_BUCKETS;
			for (int i = 0; ok && i < n; i++)
				ok = !nulls[i] && DatumGetInt64(elems[i]) >= 0;
			for (int i = 0; ok && i < n; i++)
				c->hist[i] = DatumGetInt64(elems[i]);
		}
	}
	MlScopeExit(&scope);
}

/*
 * Make room for one entry (the hash is full; exclusive lock held): drop an
 * entry of a past day already written to the catalog, the oldest first;
 * failing that, the oldest entry of a past day (its unwritten usage is
 * lost, and the log says so). Entries of today are never dropped: they
 * hold the quotas; but entries of a dropped extension of this database
 * (another mlops.projects OID) are dropped first. False if every entry is
 * of today. No catalog access here: the lock is held.
 */
static bool
evict_one(int32 today, Oid catalog)
{
	HASH_SEQ_STATUS seq;
	MlUsageEntry *e;
	MlUsageEntry *best = NULL;
	bool		best_flushed = false;

	hash_seq_init(&seq, usage_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		/* counted for a dropped extension of this database: nothing will read it */
		bool		stale = e->key.dbid == MyDatabaseId && e->key.catalog != catalog;
		bool		flushed = stale || e->changes == e->flushed;

		if (e->key.day >= today && !stale)
			continue;
		/* a call still running holds a pointer to it (a statement begun before midnight) */
		if (pg_atomic_read_u32(&e->users) > 0)
			continue;
		if (best == NULL || (flushed && !best_flushed) ||
			(flushed == best_flushed && e->key.day < best->key.day))
		{
			best = e;
			best_flushed = flushed;
		}
	}
	if (best == NULL)
		return false;
	if (!best_flushed)
		ereport(LOG,
				(errmsg("pg_mlops: API usage of role %s on project %lld for a past day dropped from shared memory before it was written to the catalog",
						MlLogQuote(NameStr(best->key.consumer)), (long long) best->key.project_id),
				 errhint("List the database in pg_mlops.job_databases so its usage is written regularly, or raise pg_mlops.api_usage_entries.")));
	hash_search(usage_hash, &best->key, HASH_REMOVE, NULL);
	return true;
}

/*
 * The entry of a project, consumer and day in this database, created from
 * the catalog's row if it is not in shared memory yet.
 */
MlUsageEntry *
MlUsageGet(int64 project_id, Oid consumer_oid, const char *consumer, int32 day)
{
	MlUsageKey	key;
	MlUsageEntry *e;
	MlUsageCounts c;
	bool		found;

	if (usage_hash == NULL)
		MlApiRequireShmem(NULL);
	make_key(&key, project_id, consumer_oid, consumer, day);
	LWLockAcquire(usage_lock, LW_SHARED);
	e = hash_search(usage_hash, &key, HASH_FIND, NULL);
	if (e != NULL)
		pg_atomic_fetch_add_u32(&e->users, 1);	/* eviction needs the exclusive lock */
	LWLockRelease(usage_lock);
	if (e != NULL)
		return e;

	/* read the catalog without the lock; a concurrent creator read the same row */
	catalog_counts(&key, &c);
	LWLockAcquire(usage_lock, LW_EXCLUSIVE);
	e = hash_search(usage_hash, &key, HASH_FIND, NULL);

	/*
	 * The limit is ours to keep: a shared hash that is full takes more
	 * elements from the shared memory's slack (which the lock table needs)
	 * rather than failing.
	 */
	found = e != NULL;
	if (e == NULL && (hash_get_num_entries(usage_hash) < ml_api_usage_entries ||
					  evict_one(day, key.catalog)))
		e = hash_search(usage_hash, &key, HASH_ENTER_NULL, &found);
	if (e == NULL)
	{
		LWLockRelease(usage_lock);
		/* the server's capacity, not the consumer's limit (53400): 503 over HTTP */
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg(ML_USAGE_FULL_MESSAGE ": all %d API usage entries are in use",
						ml_api_usage_entries),
				 errdetail("Entries of today are kept until the next UTC midnight: they hold the quotas."),
				 errhint("Raise pg_mlops.api_usage_entries (needs a restart).")));
	}
	if (!found)
	{
		pg_atomic_init_u64(&e->rows, (uint64) c.rows);
		pg_atomic_init_u32(&e->users, 0);
		SpinLockInit(&e->mutex);
		e->counts = c;
		e->rate_second = 0;
		e->rate_calls = 0;
		e->changes = 0;
		e->flushed = 0;
	}
	pg_atomic_fetch_add_u32(&e->users, 1);
	LWLockRelease(usage_lock);
	return e;
}

/* A call is done with the entry MlUsageGet gave it. */
void
MlUsageRelease(MlUsageEntry *e)
{
	pg_atomic_fetch_sub_u32(&e->users, 1);
}

/* The bucket of a latency: 4 per octave from 0.01 ms. */
int
MlUsageBucket(int64 usecs)
{
	double		x = (double) usecs / 10.0;
	int			b;

	if (x < 1.0)
		return 0;
	b = (int) floor(4.0 * log2(x));
	return Min(Max(b, 0), ML_LATENCY_BUCKETS - 1);
}

/*
 * The q-quantile of a histogram in ms (NULL-like NaN when empty): the
 * geometric middle of the bucket that holds it, so within about 9 %.
 */
double
MlUsagePercentile(const int64 *hist, double q)
{
	int64		total = 0;
	int64		rank;
	int64		seen = 0;

	for (int i = 0; i < ML_LATENCY_BUCKETS; i++)
		total += hist[i];
	if (total == 0)
		return NAN;
	rank = (int64) ceil(q * (double) total);
	rank = Max(rank, 1);
	for (int i = 0; i < ML_LATENCY_BUCKETS; i++)
	{
		seen += hist[i];
		if (seen >= rank)
			return round(0.01 * pow(2.0, (i + 0.5) / 4.0) * 1000.0) / 1000.0;
	}
	return NAN;
}

/*
 * Every entry of this database's current catalog as (key, counts,
 * changes), allocated in cxt, for the flush and the live view (NULL
 * without shared memory). The shared lock is held only while copying.
 */
MlUsageCopy *
MlUsageCopyAll(MemoryContext cxt, int *n)
{
	HASH_SEQ_STATUS seq;
	MlUsageEntry *e;
	MlUsageCopy *out;
	int			max;
	Oid			catalog = projects_relid();

	*n = 0;
	if (usage_hash == NULL)
		return NULL;
	LWLockAcquire(usage_lock, LW_SHARED);
	max = (int) hash_get_num_entries(usage_hash);
	out = MemoryContextAlloc(cxt, sizeof(MlUsageCopy) * Max(max, 1));
	hash_seq_init(&seq, usage_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		/* of this database, and of its current catalog (not a dropped extension's) */
		if (e->key.dbid != MyDatabaseId || e->key.catalog != catalog || *n >= max)
			continue;
		out[*n].key = e->key;
		SpinLockAcquire(&e->mutex);
		out[*n].counts = e->counts;
		out[*n].changes = e->changes;
		SpinLockRelease(&e->mutex);
		out[*n].counts.rows = (int64) pg_atomic_read_u64(&e->rows);
		(*n)++;
	}
	LWLockRelease(usage_lock);
	return out;
}

/* Has the entry of a key changed since a copy of it was taken with these changes? */
bool
MlUsageDirty(const MlUsageKey *key, uint64 changes)
{
	MlUsageEntry *e;
	bool		dirty;

	LWLockAcquire(usage_lock, LW_SHARED);
	e = hash_search(usage_hash, key, HASH_FIND, NULL);
	dirty = e != NULL && e->flushed != changes;
	LWLockRelease(usage_lock);
	return dirty;
}

/* The entry of a key is in the catalog as of these changes. */
void
MlUsageMarkFlushed(const MlUsageKey *key, uint64 changes)
{
	MlUsageEntry *e;

	LWLockAcquire(usage_lock, LW_SHARED);
	e = hash_search(usage_hash, key, HASH_FIND, NULL);
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		e->flushed = changes;
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(usage_lock);
}
