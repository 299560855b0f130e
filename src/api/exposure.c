/*
 * exposure.c
 *	  Exposures: an engineer lets a consumer role score a project's deployed
 *	  model (ml_expose, ml_revoke_exposure), with optional limits; and the
 *	  scoring path's project lookup for roles that reach a project only so.
 *
 * An exposure is a row of mlops.exposures, by project and role OID (the
 * name is kept for display): a role dropped and re-created under the same
 * name is another role and has no exposure. A role has an exposure when it
 * has the privileges of the role in one (pg_has_role ... USAGE). An exposure opens exactly
 * one door: scoring the project's deployed version with ml_predict*,
 * ml_score. It is not a project access level (MlAccess): every other
 * function still sees no such project. Revocation deletes the row (the
 * audit trail keeps the history) and invalidates every backend's scoring
 * cache, so it takes effect at the next statement everywhere.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "api/api.h"
#include "core/catalog.h"
#include "core/options.h"

PG_FUNCTION_INFO_V1(ml_expose);
PG_FUNCTION_INFO_V1(ml_revoke_exposure);
PG_FUNCTION_INFO_V1(ml_project_exposed);
PG_FUNCTION_INFO_V1(ml_exposure_visible);

static const char *const exposure_keys[] = {"rows_per_day", "calls_per_second", NULL};

/* A limit: a positive whole number, or absent / null for none (0). */
static int64
limit_option(JsonbContainer *opts, const char *key, double max)
{
	JsonbValue *v = MlOptGet(opts, key);
	double		d;

	if (v == NULL || v->type == jbvNull)
		return 0;
	if (!MlJsonToNumber(v, &d) || v->type != jbvNumeric || !(d >= 1 && d <= max) || d != floor(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number between 1 and %.0f", key, max),
				 errhint("Leave the key out (or give null) for no limit.")));
	return (int64) d;
}

static Datum
name_datum(const char *s)
{
	return DirectFunctionCall1(namein, CStringGetDatum(s));
}

/*
 * The project (arguments project, consumer), for an engineer or admin, and
 * the consumer role's name.
 */
static MlProject *
managed_project(MlScope *scope, FunctionCallInfo fcinfo, char **consumer)
{
	MlProject  *p = MlProjectLookup(scope, MlTextArg(fcinfo, 0, "project"));
	Oid			role;

	MlRequireArg(fcinfo, 1, "consumer");
	if (!MlCallerHasRole(scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to manage the exposures of project \"%s\"", p->name),
				 errdetail("Only engineers and admins expose projects to consumers.")));
	role = PG_GETARG_OID(1);
	*consumer = GetUserNameFromId(role, true);
	if (*consumer == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role)));
	return p;
}

/* As managed_project, and the consumer must have ml_consumer's privileges. */
static MlProject *
exposure_target(MlScope *scope, FunctionCallInfo fcinfo, char **consumer)
{
	MlProject  *p = managed_project(scope, fcinfo, consumer);
	Oid			role = PG_GETARG_OID(1);
	Oid			group = get_role_oid("ml_consumer", true);

	if (!OidIsValid(group) || !has_privs_of_role(role, group))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" is not a member of ml_consumer", *consumer),
				 errhint("GRANT ml_consumer TO %s; then expose the project to it.",
						 quote_identifier(*consumer))));
	return p;
}

/* ml_expose(project text, consumer regrole, options jsonb DEFAULT '{}') */
Datum
ml_expose(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	char	   *consumer;
	JsonbContainer *opts = NULL;
	int64		rows_per_day;
	int64		calls_per_second;
	Oid			types[6] = {INT8OID, NAMEOID, INT8OID, INT4OID, NAMEOID, OIDOID};
	Datum		values[6];
	char		nulls[6] = "      ";
	bool		updated;

	if (!PG_ARGISNULL(2))
		opts = &PG_GETARG_JSONB_P(2)->root;
	MlOptCheckKeys(opts, "exposure options", exposure_keys);
	rows_per_day = limit_option(opts, "rows_per_day", 1e15);
	calls_per_second = limit_option(opts, "calls_per_second", 1000000);

	MlScopeEnter(&scope);
	p = exposure_target(&scope, fcinfo, &consumer);
	values[0] = Int64GetDatum(p->id);
	values[1] = name_datum(consumer);
	values[2] = Int64GetDatum(rows_per_day);
	values[3] = Int32GetDatum((int32) calls_per_second);
	values[4] = name_datum(scope.caller_name);
	values[5] = PG_GETARG_DATUM(1);
	if (rows_per_day == 0)
		nulls[2] = 'n';
	if (calls_per_second == 0)
		nulls[3] = 'n';

	MlScopeAsOwner(&scope);
	/* the exposure of a dropped role of that name is dead: this one replaces it */
	MlSpiExec("DELETE FROM mlops.exposures e "
			  "WHERE e.project_id OPERATOR(pg_catalog.=) $1 AND e.consumer OPERATOR(pg_catalog.=) $2 "
			  "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r "
			  "                  WHERE r.oid OPERATOR(pg_catalog.=) e.consumer_oid)",
			  2, types, values, nulls, SPI_OK_DELETE);
	MlSpiExec("INSERT INTO mlops.exposures AS e "
			  "(project_id, consumer, rows_per_day, calls_per_second, created_by, consumer_oid) "
			  "VALUES ($1, $2, $3, $4, $5, $6) "
			  "ON CONFLICT (project_id, consumer_oid) DO UPDATE "
			  "SET consumer = excluded.consumer, "
			  "    rows_per_day = excluded.rows_per_day, "
			  "    calls_per_second = excluded.calls_per_second, "
			  "    updated_at = pg_catalog.now() "
			  "RETURNING e.xmax OPERATOR(pg_catalog.<>) '0'::pg_catalog.xid",
			  6, types, values, nulls, SPI_OK_INSERT_RETURNING);
	{
		bool		isnull;

		updated = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	{
		const char *keys[3] = {"consumer", "rows_per_day", "calls_per_second"};
		const char *vals[3] = {consumer,
			rows_per_day ? psprintf(INT64_FORMAT, rows_per_day) : NULL,
		calls_per_second ? psprintf(INT64_FORMAT, calls_per_second) : NULL};

		MlAudit(&scope, updated ? "update_exposure" : "expose", "project", p->name, p->id,
				3, keys, vals);
	}
	MlCatalogInvalidate();
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

/* ml_revoke_exposure(project text, consumer regrole) */
Datum
ml_revoke_exposure(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	char	   *consumer;
	Oid			types[2] = {INT8OID, OIDOID};
	Datum		values[2];

	MlScopeEnter(&scope);
	/* a role that lost ml_consumer since can still be revoked */
	p = managed_project(&scope, fcinfo, &consumer);
	values[0] = Int64GetDatum(p->id);
	values[1] = PG_GETARG_DATUM(1);
	MlScopeAsOwner(&scope);
	MlSpiExec("DELETE FROM mlops.exposures "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND consumer_oid OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_DELETE);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("project \"%s\" is not exposed to role \"%s\"", p->name, consumer),
				 errhint("The ml_exposures view lists the exposures.")));
	{
		const char *keys[1] = {"consumer"};
		const char *vals[1] = {consumer};

		MlAudit(&scope, "revoke_exposure", "project", p->name, p->id, 1, keys, vals);
	}
	MlCatalogInvalidate();
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

/*
 * The caller's exposure to a project, read as the extension owner: the
 * caller's own exposure first, then the one of the lowest consumer name
 * among the roles it has the privileges of, by role OID (the role of that
 * OID, whatever its name now). Leaves the row (consumer's current name,
 * rows_per_day, calls_per_second, then the project's columns, then the
 * consumer's OID) in SPI_tuptable; false if there is none. By project id
 * or by name.
 */
static bool
find_exposure(MlScope *scope, int64 project_id, const char *name)
{
	Oid			types[2] = {OIDOID, name ? TEXTOID : INT8OID};
	Datum		values[2];
	bool		was_owner = scope->as_owner;

	values[0] = ObjectIdGetDatum(scope->caller);
	values[1] = name ? CStringGetTextDatum(name) : Int64GetDatum(project_id);
	MlScopeAsOwner(scope);
	MlSpiExec(psprintf("SELECT r.rolname, e.rows_per_day, e.calls_per_second, "
					   "  p.id, p.name, p.owner, p.relation_schema, p.relation_name, p.target, p.task, "
					   "  r.oid "
					   "FROM mlops.exposures e "
					   "JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) e.project_id "
					   "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) e.consumer_oid "
					   "WHERE %s OPERATOR(pg_catalog.=) $2 "
					   "  AND pg_catalog.pg_has_role($1, r.oid, 'USAGE') "
					   "ORDER BY r.oid OPERATOR(pg_catalog.=) $1 DESC, r.rolname LIMIT 1",
					   name ? "p.name" : "p.id"),
			  2, types, values, NULL, SPI_OK_SELECT);
	if (!was_owner)
		MlScopeAsCaller(scope);
	return SPI_processed == 1;
}

/* mlops.project_exposed(project_id bigint): has the caller an exposure to it? */
Datum
ml_project_exposed(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	bool		found;

	MlScopeEnter(&scope);
	found = find_exposure(&scope, PG_GETARG_INT64(0), NULL);
	MlScopeExit(&scope);
	PG_RETURN_BOOL(found);
}

/*
 * mlops.exposure_visible(project_id bigint, consumer_oid oid): may the caller
 * see this exposure (or its usage)? Engineers and admins see all; a
 * project's owner and members see their project's; a consumer sees its
 * own (roles it has the privileges of, by OID: a role re-created under the
 * name of a dropped one sees nothing of it). The views ml_exposures and
 * ml_api_usage filter with it; it answers for the caller only and tells
 * nothing a role could not see anyway.
 */
bool
MlApiExposureVisible(int64 project_id, Oid role)
{
	Oid			engineer = get_role_oid("ml_engineer", true);
	MlScope		scope;
	bool		visible;

	if (OidIsValid(role) && SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)) &&
		has_privs_of_role(GetUserId(), role))
		return true;
	if (OidIsValid(engineer) && has_privs_of_role(GetUserId(), engineer))
		return true;
	/* a project's owner or member (analysts): the catalog's access rule */
	MlScopeEnter(&scope);
	visible = MlProjectAccess(&scope, project_id) != ML_ACCESS_NONE;
	MlScopeExit(&scope);
	return visible;
}

Datum
ml_exposure_visible(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(MlApiExposureVisible(PG_GETARG_INT64(0), PG_GETARG_OID(1)));
}

/*
 * The project to score, for the caller. A role that reaches the project
 * (owner, member, engineer, admin) scores any version, unmetered. Any
 * other role scores only through an exposure, and only the deployed
 * version: *exposure is set (allocated in the caller's context). Without
 * either, the project does not exist for the caller.
 */
MlProject *
MlApiScoringProject(MlScope *scope, const char *name, bool pinned, MlExposure **exposure)
{
	MlProject  *p = MlProjectFind(scope, name);
	MemoryContext cxt = CurrentMemoryContext;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	MlExposure *x;
	static uint64 next_id = 1;

	*exposure = NULL;
	if (p != NULL && p->access != ML_ACCESS_NONE)
		return p;
	if (!find_exposure(scope, 0, name))
		MlProjectNotFound(name);
	MemoryContextSwitchTo(cxt);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (pinned)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to score a given version of project \"%s\"", name),
				 errdetail("An exposure serves only the project's deployed version.")));
	MlApiRequireShmem(name);
	x = palloc0(sizeof(MlExposure));
	x->id = next_id++;
	namestrcpy(&x->consumer, SPI_getvalue(tup, desc, 1));
	x->rows_per_day = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	if (isnull)
		x->rows_per_day = 0;
	x->calls_per_second = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	if (isnull)
		x->calls_per_second = 0;
	p = palloc0(sizeof(MlProject));
	p->id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
	x->project_id = p->id;
	p->name = SPI_getvalue(tup, desc, 5);
	x->project_name = p->name;
	p->owner = SPI_getvalue(tup, desc, 6);
	p->relation_schema = SPI_getvalue(tup, desc, 7);
	p->relation_name = SPI_getvalue(tup, desc, 8);
	p->target = SPI_getvalue(tup, desc, 9);
	p->task = SPI_getvalue(tup, desc, 10);
	x->consumer_oid = DatumGetObjectId(SPI_getbinval(tup, desc, 11, &isnull));
	p->access = ML_ACCESS_NONE;
	*exposure = x;
	return p;
}

/* A copy of an exposure in the current memory context (a cached model's). */
MlExposure *
MlApiExposureCopy(const MlExposure *x)
{
	MlExposure *c = palloc(sizeof(MlExposure));

	*c = *x;
	c->project_name = pstrdup(x->project_name);
	c->meter = NULL;
	return c;
}
