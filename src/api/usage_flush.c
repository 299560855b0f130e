/*
 * usage_flush.c
 *	  The shared usage counters out of shared memory: written into
 *	  mlops.api_usage by the scheduler's dispatch pass of each database,
 *	  and read live by mlops.api_usage_live() (the ml_api_usage view adds
 *	  them to the catalog's rows).
 *
 * The catalog receives absolute counts (an entry starts from its catalog
 * row, usage.c), so a write that is lost or repeated does no harm: the
 * next one carries everything.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"

#include "api/api.h"
#include "api/usage.h"
#include "core/catalog.h"

/*
 * An entry's key, counts and latency percentiles as the ten columns of
 * mlops.api_usage_live() (percentiles NULL when no call; the role's OID
 * last).
 */
static void
usage_datums(const MlUsageCopy *u, Datum *values, bool *nulls)
{
	static const double q[3] = {0.50, 0.95, 0.99};

	memset(nulls, 0, sizeof(bool) * 10);
	values[0] = Int64GetDatum(u->key.project_id);
	values[1] = NameGetDatum(&u->key.consumer);
	values[2] = DateADTGetDatum(u->key.day);
	values[3] = Int64GetDatum(u->counts.calls);
	values[4] = Int64GetDatum(u->counts.rows);
	values[5] = Int64GetDatum(u->counts.errors);
	for (int k = 0; k < 3; k++)
	{
		double		p = MlUsagePercentile(u->counts.hist, q[k]);

		values[6 + k] = Float8GetDatum(p);
		nulls[6 + k] = isnan(p);
	}
	values[9] = ObjectIdGetDatum(u->key.consumer_oid);
}

/*
 * Write this database's changed entries into mlops.api_usage (inside the
 * caller's transaction, SPI connected, as a superuser: the dispatch
 * worker). A row is replaced only by as many calls or more (the rows of a
 * running statement may include rows it reserved and gives back). Returns
 * what was written, for MlApiUsageFlushed once committed.
 */
void *
MlApiUsageFlush(int *nflushed)
{
	int			n;
	MlUsageCopy *all;
	int			out = 0;
	Oid			types[11] = {INT8OID, NAMEOID, DATEOID, INT8OID, INT8OID, INT8OID,
		FLOAT8OID, FLOAT8OID, FLOAT8OID, OIDOID, INT8ARRAYOID};

	*nflushed = 0;
	MlSpiExec("SELECT 1 WHERE pg_catalog.to_regclass('mlops.api_usage') IS NOT NULL",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	/* kept past the commit, for MlApiUsageFlushed */
	all = MlUsageCopyAll(TopMemoryContext, &n);
	for (int i = 0; i < n; i++)
	{
		MlUsageCopy *u = &all[i];
		Datum		values[11];
		bool		isnull[10];
		char		nulls[11] = "           ";
		Datum		hist[ML_LATENCY_BUCKETS];

		if (!MlUsageDirty(&u->key, u->changes))
			continue;
		usage_datums(u, values, isnull);
		for (int k = 0; k < 10; k++)
			nulls[k] = isnull[k] ? 'n' : ' ';
		for (int b = 0; b < ML_LATENCY_BUCKETS; b++)
			hist[b] = Int64GetDatum(u->counts.hist[b]);
		values[10] = PointerGetDatum(construct_array(hist, ML_LATENCY_BUCKETS, INT8OID, 8,
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		/* a project dropped since: its usage goes with it */
		MlSpiExec("INSERT INTO mlops.api_usage AS u (project_id, consumer, day, calls, rows, errors, "
				  "  latency_p50_ms, latency_p95_ms, latency_p99_ms, consumer_oid, latency_histogram) "
				  "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 "
				  "WHERE EXISTS (SELECT 1 FROM mlops.projects p WHERE p.id OPERATOR(pg_catalog.=) $1) "
				  "ON CONFLICT (project_id, consumer_oid, day) DO UPDATE SET "
				  "  calls = excluded.calls, rows = excluded.rows, errors = excluded.errors, "
				  "  latency_histogram = excluded.latency_histogram, "
				  "  latency_p50_ms = excluded.latency_p50_ms, latency_p95_ms = excluded.latency_p95_ms, "
				  "  latency_p99_ms = excluded.latency_p99_ms, flushed_at = pg_catalog.now() "
				  "WHERE excluded.calls OPERATOR(pg_catalog.>=) u.calls",
				  11, types, values, nulls, SPI_OK_INSERT);
		all[out++] = *u;
	}
	*nflushed = out;
	return all;
}

/* After the flush's commit: the entries written are clean (unless changed since). */
void
MlApiUsageFlushed(void *flushed, int n)
{
	MlUsageCopy *all = flushed;

	for (int i = 0; i < n; i++)
		MlUsageMarkFlushed(&all[i].key, all[i].changes);
	if (all != NULL)
		pfree(all);
}

/*
 * mlops.api_usage_live(): this database's entries the caller may see
 * (mlops.exposure_visible), with their percentiles; nothing without
 * shared memory.
 */
PG_FUNCTION_INFO_V1(ml_api_usage_live);

Datum
ml_api_usage_live(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			n;
	MlUsageCopy *all;

	InitMaterializedSRF(fcinfo, 0);
	all = MlUsageCopyAll(CurrentMemoryContext, &n);
	for (int i = 0; i < n; i++)
	{
		MlUsageCopy *u = &all[i];
		Datum		values[10];
		bool		nulls[10];

		if (!MlApiExposureVisible(u->key.project_id, u->key.consumer_oid))
			continue;
		usage_datums(u, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
