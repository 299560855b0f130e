/*
 * drift_alerts.c
 *	  Drift alerts: a row in mlops.drift_alerts for every feature that has
 *	  drifted and has no alert for its version within the window, a NOTIFY
 *	  on channel ml_drift_alerts (the payload is the alert id only, so a
 *	  listener learns nothing of projects it cannot see), an audit entry,
 *	  and the policy's retrain job started.
 *
 * The job is started exactly as its owner or a member would: ml_run_now
 * called through SPI as the role whose scoring or check raised the alert,
 * in a subtransaction, so its privilege and ownership checks decide. When
 * it refuses (a consumer may not run jobs) or fails, the alerts say that
 * the retrain was not started and why; the alerts themselves stay.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/subxact.h"
#include "model/drift.h"

/* An open alert for this version and feature within the window? */
static bool
already_open(int64 model_id, const char *feature, const MlDriftWindow *w)
{
	Oid			types[3] = {INT8OID, TEXTOID, TIMESTAMPTZOID};
	Datum		values[3] = {Int64GetDatum(model_id), CStringGetTextDatum(feature),
	TimestampTzGetDatum(w->start)};

	MlSpiExec("SELECT 1 FROM mlops.drift_alerts WHERE model_id OPERATOR(pg_catalog.=) $1 "
			  "AND feature OPERATOR(pg_catalog.=) $2 AND raised_at OPERATOR(pg_catalog.>) $3",
			  3, types, values, NULL, SPI_OK_SELECT);
	return SPI_processed > 0;
}

static int64
insert_alert(MlScope *scope, int64 project_id, int64 model_id, int32 version,
			 const MlDriftResult *r, const MlDriftPolicy *pol, const MlDriftWindow *w)
{
	Oid			types[14] = {INT8OID, INT8OID, INT4OID, TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
	FLOAT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID, NAMEOID};
	Datum		values[14];
	char		nulls[15] = "              ";
	bool		isnull;

	values[0] = Int64GetDatum(project_id);
	values[1] = Int64GetDatum(model_id);
	values[2] = Int32GetDatum(version);
	values[3] = CStringGetTextDatum(r->f->name);
	values[4] = Float8GetDatum(r->psi);
	if (!r->has_psi)
		nulls[4] = 'n';
	values[5] = Float8GetDatum(r->f->missing_rate);
	values[6] = Float8GetDatum(r->missing_rate_scored);
	values[7] = Float8GetDatum(r->missing_rate_scored - r->f->missing_rate);
	values[8] = Int64GetDatum(r->rows);
	values[9] = TimestampTzGetDatum(w->start);
	values[10] = TimestampTzGetDatum(w->end);
	values[11] = Float8GetDatum(pol->psi);
	values[12] = Float8GetDatum(pol->missing_rate);
	values[13] = DirectFunctionCall1(namein, CStringGetDatum(scope->caller_name));
	MlSpiExec("INSERT INTO mlops.drift_alerts (project_id, model_id, version, feature, psi, "
			  "missing_rate_train, missing_rate_scored, missing_change, rows, window_start, "
			  "window_end, psi_threshold, missing_threshold, raised_by) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
			  14, types, values, nulls, SPI_OK_INSERT_RETURNING);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The job's id by name within the project, read as the owner (0: none). */
static int64
job_id(int64 project_id, const char *name)
{
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2] = {CStringGetTextDatum(name), Int64GetDatum(project_id)};
	bool		isnull;

	MlSpiExec("SELECT id FROM mlops.jobs WHERE name OPERATOR(pg_catalog.=) $1 "
			  "AND project_id OPERATOR(pg_catalog.=) $2", 2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* ml_run_now(job) as the caller: the query and what it returned. */
typedef struct RunNow
{
	const char *sql;
	int64		job;
	int64		run;
} RunNow;

static void
run_now(void *arg)
{
	RunNow	   *r = arg;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(r->job)};
	bool		isnull;

	MlSpiExec(r->sql, 1, types, values, NULL, SPI_OK_SELECT);
	r->run = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * ml_run_now(job) as the caller, in a subtransaction: the run id, or 0 and
 * *note saying why not.
 */
static int64
run_now_as_caller(MlScope *scope, int64 job, char **note)
{
	RunNow		r = {NULL, job, 0};
	char	   *why;

	/* the API lives in the extension's schema (not relocatable) */
	MlSpiExec("SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n "
			  "ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
			  "WHERE e.extname OPERATOR(pg_catalog.=) 'pg_mlops'", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	r.sql = psprintf("SELECT %s.ml_run_now($1)",
					 quote_identifier(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)));
	MlScopeAsCaller(scope);
	if (!MlSubxactTry(run_now, &r, &why))
	{
		*note = psprintf("retrain not started: %s", why);
		r.run = 0;
	}
	MlScopeAsOwner(scope);
	return r.run;
}

/* Start the policy's job for the alerts just raised; record how it went. */
static void
start_retrain(MlScope *scope, int64 project_id, const MlDriftPolicy *pol, int64 *ids, int n)
{
	int64		job = job_id(project_id, pol->retrain_job);
	int64		run = 0;
	char	   *note = NULL;
	Oid			types[4] = {INT8ARRAYOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[4];
	char		nulls[5] = "    ";
	Datum	   *elems = palloc(sizeof(Datum) * n);

	if (job == 0)
		note = psprintf("retrain not started: job \"%s\" no longer exists in the project",
						pol->retrain_job);
	else
		run = run_now_as_caller(scope, job, &note);
	if (run > 0)
		note = psprintf("run %lld queued", (long long) run);
	for (int i = 0; i < n; i++)
		elems[i] = Int64GetDatum(ids[i]);
	values[0] = PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	values[1] = CStringGetTextDatum(pol->retrain_job);
	values[2] = Int64GetDatum(run);
	if (run == 0)
		nulls[2] = 'n';
	values[3] = CStringGetTextDatum(note);
	MlSpiExec("UPDATE mlops.drift_alerts SET retrain_job = $2, retrain_run = $3, retrain_note = $4 "
			  "WHERE id OPERATOR(pg_catalog.=) ANY ($1)", 4, types, values, nulls, SPI_OK_UPDATE);
}

/*
 * Alerts for the drifted results not already alerted within the window;
 * returns per result the new alert's id (0: none). Leaves the scope as it
 * found it.
 */
int64 *
MlDriftRaiseAlerts(MlScope *scope, int64 project_id, int64 model_id, int32 version,
				   MlDriftResult *res, int nres, const MlDriftPolicy *pol, const MlDriftWindow *w)
{
	int64	   *ids = palloc0(sizeof(int64) * Max(nres, 1));
	int64	   *raised = palloc(sizeof(int64) * Max(nres, 1));
	int			nraised = 0;
	bool		was_owner = scope->as_owner;
	bool		any = false;
	StringInfoData features;

	initStringInfo(&features);
	MlScopeAsOwner(scope);
	for (int i = 0; i < nres && !any; i++)
		any = res[i].drifted;
	if (any)
	{
		/*
		 * Two scorers of the version must not both raise the same alert:
		 * the second waits here, then sees the first's rows (a fresh
		 * snapshot per statement). Only taken when something drifted.
		 */
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(model_id)};

		MlSpiExec("SELECT 1 FROM mlops.models WHERE id OPERATOR(pg_catalog.=) $1 FOR NO KEY UPDATE",
				  1, types, values, NULL, SPI_OK_SELECT);
	}
	for (int i = 0; i < nres; i++)
	{
		if (!res[i].drifted || already_open(model_id, res[i].f->name, w))
			continue;
		ids[i] = insert_alert(scope, project_id, model_id, version, &res[i], pol, w);
		raised[nraised++] = ids[i];
		appendStringInfo(&features, "%s%s", features.len > 0 ? ", " : "", res[i].f->name);
		{
			Oid			types[1] = {TEXTOID};
			Datum		values[1] = {CStringGetTextDatum(psprintf("%lld", (long long) ids[i]))};

			MlSpiExec("SELECT pg_catalog.pg_notify('ml_drift_alerts', $1)", 1, types, values, NULL,
					  SPI_OK_SELECT);
		}
	}
	if (nraised > 0)
	{
		const char *keys[3] = {"version", "features", "retrain_job"};
		const char *vals[3] = {psprintf("%d", version), features.data, pol->retrain_job};

		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(project_id)};
		char	   *project;

		if (pol->retrain_job)
			start_retrain(scope, project_id, pol, raised, nraised);
		MlSpiExec("SELECT name FROM mlops.projects WHERE id OPERATOR(pg_catalog.=) $1",
				  1, types, values, NULL, SPI_OK_SELECT);
		project = SPI_processed == 1 ?
			SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
		MlAudit(scope, "drift_alert", "project", project, project_id, 3, keys, vals);
	}
	if (!was_owner)
		MlScopeAsCaller(scope);
	return ids;
}
