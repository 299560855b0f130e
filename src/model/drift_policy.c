/*
 * drift_policy.c
 *	  A project's drift policy: thresholds that override the settings, the
 *	  fewest scored rows that may drift, and the job to run on an alert
 *	  (ml_set_drift_policy, mlops.drift_policies).
 *
 * The stored options are read back checked like any stored data. A retrain
 * job is named by its name and must be a job of the project that the
 * setter could run with ml_run_now (its owner, an admin, or a member for
 * the project's train and clean jobs); when an alert starts it, ml_run_now
 * decides again for the role that scored (drift_alerts.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

#include "core/options.h"
#include "model/drift.h"

PG_FUNCTION_INFO_V1(ml_set_drift_policy);

/* The options a policy sets (unset ones fall back to the settings). */
typedef struct PolicyOptions
{
	bool		has_psi;
	double		psi;
	bool		has_missing;
	double		missing_rate;
	bool		has_min_rows;
	int64		min_rows;
	char	   *retrain_job;
} PolicyOptions;

static const char *const policy_keys[] = {"psi", "missing_rate", "min_rows", "retrain_job", NULL};

#define MAX_MIN_ROWS 1000000000

static void
bad_stored(int64 project_id, const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the stored drift policy of project %lld is malformed", (long long) project_id),
			 errdetail("Option \"%s\" is not valid.", key),
			 errhint("Set it again with ml_set_drift_policy().")));
}

/* A stored number in lo..hi (NULL member: unset). */
static bool
stored_number(JsonbContainer *obj, const char *key, double lo, double hi, double *out,
			  int64 project_id)
{
	JsonbValue *v = MlOptGet(obj, key);

	if (v == NULL)
		return false;
	if (v->type != jbvNumeric || !MlJsonToNumber(v, out) || !(*out >= lo && *out <= hi))
		bad_stored(project_id, key);
	return true;
}

static void
read_stored(JsonbContainer *obj, PolicyOptions *o, int64 project_id)
{
	JsonbValue *job;
	double		rows;

	memset(o, 0, sizeof(*o));
	if (!JsonContainerIsObject(obj))
		bad_stored(project_id, "(the whole policy)");
	o->has_psi = stored_number(obj, "psi", 0.0001, 100, &o->psi, project_id);
	o->has_missing = stored_number(obj, "missing_rate", 0.0001, 1, &o->missing_rate, project_id);
	o->has_min_rows = stored_number(obj, "min_rows", 0, MAX_MIN_ROWS, &rows, project_id);
	if (o->has_min_rows)
	{
		if (rows != floor(rows))
			bad_stored(project_id, "min_rows");
		o->min_rows = (int64) rows;
	}
	job = MlOptGet(obj, "retrain_job");
	if (job != NULL)
	{
		if (job->type != jbvString || job->val.string.len == 0)
			bad_stored(project_id, "retrain_job");
		o->retrain_job = pnstrdup(job->val.string.val, job->val.string.len);
	}
}

/* The stored options of a project (all unset when it has no policy row). */
static void
load_options(MlScope *scope, int64 project_id, PolicyOptions *o)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(project_id)};
	bool		was_owner = scope->as_owner;

	memset(o, 0, sizeof(*o));
	MlScopeAsOwner(scope);
	MlSpiExec("SELECT options FROM mlops.drift_policies WHERE project_id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			read_stored(&DatumGetJsonbP(d)->root, o, project_id);
	}
	if (!was_owner)
		MlScopeAsCaller(scope);
}

void
MlDriftPolicyLoad(MlScope *scope, int64 project_id, MlDriftPolicy *pol)
{
	PolicyOptions o;

	load_options(scope, project_id, &o);
	pol->psi = o.has_psi ? o.psi : ml_drift_psi_threshold;
	pol->missing_rate = o.has_missing ? o.missing_rate : ml_drift_missing_threshold;
	pol->min_rows = o.has_min_rows ? o.min_rows : ML_DRIFT_MIN_ROWS;
	pol->retrain_job = o.retrain_job;
}

/* Is key given (possibly as null)? */
static bool
given(JsonbContainer *opts, const char *key, bool *is_null)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(opts, JB_FOBJECT, &k);
	*is_null = v != NULL && v->type == jbvNull;
	return v != NULL;
}

/*
 * Whether the caller has the privileges of a job's owner, as ml_run_now
 * decides it (src/jobs/jobs_api.c): the owner by the OID the job was
 * scheduled with (command.owner_oid; a role dropped and re-created under
 * its name owns nothing), by name for a job scheduled before 0.3.0.
 */
static bool
caller_owns(MlScope *scope, const char *owner, const char *owner_oid)
{
	Oid			role;

	if (owner_oid != NULL)
	{
		role = (Oid) strtoul(owner_oid, NULL, 10);
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
			role = InvalidOid;
	}
	else
		role = get_role_oid(owner, true);
	return OidIsValid(role) && has_privs_of_role(scope->caller, role);
}

/*
 * A job the caller may name: one of the project's, that it could run with
 * ml_run_now. A job it may not see is reported as missing.
 */
static void
check_job(MlScope *scope, MlProject *p, const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		visible = false;
	bool		isnull;
	int64		project_id = 0;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT project_id, owner, kind, command OPERATOR(pg_catalog.->>) 'owner_oid' "
			  "FROM mlops.jobs WHERE name OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	MlScopeAsCaller(scope);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *owner = SPI_getvalue(tup, desc, 2);
		char	   *kind = SPI_getvalue(tup, desc, 3);
		char	   *owner_oid = SPI_getvalue(tup, desc, 4);
		Datum		d = SPI_getbinval(tup, desc, 1, &isnull);

		project_id = isnull ? 0 : DatumGetInt64(d);
		visible = caller_owns(scope, owner, owner_oid) || MlCallerHasRole(scope, "ml_admin") ||
			(p->access >= ML_ACCESS_MEMBER && project_id == p->id &&
			 (strcmp(kind, "train") == 0 || strcmp(kind, "clean") == 0));
	}
	if (!visible)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job \"%s\" does not exist", name),
				 errhint("Name a job of the project that you may run with ml_run_now (the ml_jobs view lists yours).")));
	if (project_id != p->id)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job \"%s\" is not a job of project \"%s\"", name, p->name),
				 errhint("A drift alert retrains the project it belongs to.")));
}

/* The user's options applied over the stored ones, each checked. */
static void
apply_options(MlScope *scope, MlProject *p, JsonbContainer *opts, PolicyOptions *o)
{
	bool		is_null;

	MlOptCheckKeys(opts, "drift policy options", policy_keys);
	if (given(opts, "psi", &is_null))
	{
		o->has_psi = !is_null;
		if (!is_null)
			o->psi = MlOptRange(opts, "psi", 0, 0.0001, 100);
	}
	if (given(opts, "missing_rate", &is_null))
	{
		o->has_missing = !is_null;
		if (!is_null)
			o->missing_rate = MlOptRange(opts, "missing_rate", 0, 0.0001, 1);
	}
	if (given(opts, "min_rows", &is_null))
	{
		o->has_min_rows = !is_null;
		if (!is_null)
			o->min_rows = MlOptInt(opts, "min_rows", 0, 0, MAX_MIN_ROWS);
	}
	if (given(opts, "retrain_job", &is_null))
	{
		o->retrain_job = NULL;
		if (!is_null)
		{
			JsonbValue *v = MlOptGet(opts, "retrain_job");

			if (v->type != jbvString || v->val.string.len == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"retrain_job\" must be the name of a job"),
						 errhint("Job names are listed in the ml_jobs view; null removes the retrain job.")));
			o->retrain_job = pnstrdup(v->val.string.val, v->val.string.len);
			check_job(scope, p, o->retrain_job);
		}
	}
}

static void
options_json(StringInfo s, const PolicyOptions *o)
{
	appendStringInfoChar(s, '{');
	if (o->has_psi)
	{
		appendStringInfoString(s, "\"psi\": ");
		MlJsonNumber(s, o->psi);
	}
	if (o->has_missing)
	{
		appendStringInfo(s, "%s\"missing_rate\": ", s->len > 1 ? ", " : "");
		MlJsonNumber(s, o->missing_rate);
	}
	if (o->has_min_rows)
		appendStringInfo(s, "%s\"min_rows\": " INT64_FORMAT, s->len > 1 ? ", " : "", o->min_rows);
	if (o->retrain_job)
	{
		appendStringInfo(s, "%s\"retrain_job\": ", s->len > 1 ? ", " : "");
		escape_json(s, o->retrain_job);
	}
	appendStringInfoChar(s, '}');
}

/*
 * ml_set_drift_policy(project, options): merge options into the project's
 * policy (a null value resets that option to the setting); returns the
 * policy in effect, defaults included.
 */
Datum
ml_set_drift_policy(PG_FUNCTION_ARGS)
{
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *project = MlTextArg(fcinfo, 0, "project");
	Jsonb	   *opts;
	MlScope		scope;
	MlProject  *p;
	PolicyOptions o;
	MlDriftPolicy pol;
	StringInfoData stored,
				result;

	MlRequireArg(fcinfo, 1, "options");
	opts = PG_GETARG_JSONB_P(1);
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	load_options(&scope, p->id, &o);
	apply_options(&scope, p, &opts->root, &o);
	initStringInfo(&stored);
	options_json(&stored, &o);
	{
		Oid			types[3] = {INT8OID, JSONBOID, NAMEOID};
		Datum		values[3] = {Int64GetDatum(p->id),
			DirectFunctionCall1(jsonb_in, CStringGetDatum(stored.data)),
		DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name))};
		const char *keys[1] = {"options"};
		const char *vals[1] = {stored.data};

		MlScopeAsOwner(&scope);
		MlSpiExec("INSERT INTO mlops.drift_policies (project_id, options, updated_by) "
				  "VALUES ($1, $2, $3) ON CONFLICT (project_id) DO UPDATE "
				  "SET options = EXCLUDED.options, updated_by = EXCLUDED.updated_by, "
				  "updated_at = pg_catalog.now()", 3, types, values, NULL, SPI_OK_INSERT);
		MlAudit(&scope, "set_drift_policy", "project", p->name, p->id, 1, keys, vals);
	}
	MlDriftPolicyLoad(&scope, p->id, &pol);
	MemoryContextSwitchTo(callercxt);
	initStringInfo(&result);
	/* thresholds as a person reads them (they were checked finite) */
	appendStringInfo(&result, "{\"psi\": %.15g, \"missing_rate\": %.15g, \"min_rows\": " INT64_FORMAT
					 ", \"retrain_job\": ", pol.psi, pol.missing_rate, pol.min_rows);
	if (pol.retrain_job)
		escape_json(&result, pol.retrain_job);
	else
		appendStringInfoString(&result, "null");
	appendStringInfoChar(&result, '}');
	MlScopeExit(&scope);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(result.data)));
}
