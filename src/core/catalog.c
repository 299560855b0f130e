/*
 * catalog.c
 *	  Catalog scopes, caller checks, SPI helpers and the audit trail.
 *
 * API functions are SECURITY INVOKER: they read the catalog as the caller,
 * so row-level security decides what the caller can see, then switch to
 * the extension owner only for the writes they have already authorised
 * (the pg_cron pattern). search_path is pinned for the whole call so no
 * function or operator planted by the caller can capture our queries.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "core/catalog.h"

static Oid
extension_owner(void)
{
	bool		isnull;
	Datum		d;

	MlSpiExec("SELECT extowner FROM pg_catalog.pg_extension "
			  "WHERE extname OPERATOR(pg_catalog.=) 'pg_mlops'",
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_mlops\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_mlops.")));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetObjectId(d);
}

void
MlScopeEnter(MlScope *scope)
{
	memset(scope, 0, sizeof(*scope));
	scope->caller = GetUserId();
	scope->caller_name = GetUserNameFromId(scope->caller, false);
	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);

	scope->guc_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scope->owner = extension_owner();
}

void
MlScopeExit(MlScope *scope)
{
	MlScopeAsCaller(scope);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	AtEOXact_GUC(true, scope->guc_nestlevel);
}

/*
 * Become the extension owner for catalog writes. The caller's rights must
 * have been checked before this point. SECURITY_LOCAL_USERID_CHANGE keeps
 * anything we run from doing SET ROLE back out of it. On error, transaction
 * abort restores the user id for us.
 */
void
MlScopeAsOwner(MlScope *scope)
{
	if (scope->as_owner)
		return;
	SetUserIdAndSecContext(scope->owner,
						   scope->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	scope->as_owner = true;
}

void
MlScopeAsCaller(MlScope *scope)
{
	if (!scope->as_owner)
		return;
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
	scope->as_owner = false;
}

bool
MlCallerHasRole(MlScope *scope, const char *rolname)
{
	Oid			roleid = get_role_oid(rolname, true);

	return OidIsValid(roleid) && has_privs_of_role(scope->caller, roleid);
}

int
MlSpiExec(const char *sql, int nargs, Oid *argtypes, Datum *values,
		  const char *nulls, int expected_rc)
{
	int			rc;
	MemoryContext cxt = CurrentMemoryContext;

	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	/* SPI leaves us in its procedure context: go back to the caller's */
	MemoryContextSwitchTo(cxt);
	if (rc != expected_rc)
		elog(ERROR, "catalog query failed: %s (%s)", SPI_result_code_string(rc), sql);
	return rc;
}

/*
 * MlSpiExec for a statement run again and again by one backend (the HTTP
 * worker): planned once, kept in *plan (the plan cache replans it when
 * what it depends on changes; privileges are checked at every execution).
 */
int
MlSpiExecCached(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
				Datum *values, const char *nulls, int expected_rc)
{
	int			rc;
	MemoryContext cxt = CurrentMemoryContext;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(sql, nargs, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare a catalog query: %s (%s)",
				 SPI_result_code_string(SPI_result), sql);
		*plan = p;
	}
	rc = SPI_execute_plan(*plan, values, nulls, false, 0);
	MemoryContextSwitchTo(cxt);
	if (rc != expected_rc)
		elog(ERROR, "catalog query failed: %s (%s)", SPI_result_code_string(rc), sql);
	return rc;
}

static MlAccess
parse_access(const char *s)
{
	if (s == NULL)
		return ML_ACCESS_NONE;
	if (strcmp(s, "owner") == 0)
		return ML_ACCESS_OWNER;
	if (strcmp(s, "member") == 0)
		return ML_ACCESS_MEMBER;
	if (strcmp(s, "admin") == 0)
		return ML_ACCESS_ADMIN;
	if (strcmp(s, "engineer") == 0)
		return ML_ACCESS_ENGINEER;
	return ML_ACCESS_NONE;
}

/*
 * How a role reaches a project: 'owner' or 'member' (it may change it),
 * 'admin' or 'engineer' (it may see it), or no row (it may not see it, or
 * the project does not exist). The catalog is read as the extension owner,
 * whom row-level security does not apply to, so the policies that ask this
 * question do not recurse into themselves. Every name is qualified. Owners
 * and members are roles by OID (the names are for display): a role dropped
 * and re-created under the same name reaches none of the old one's
 * projects.
 */
#define ACCESS_QUERY(owner_is, member_is) \
"SELECT CASE " \
"    WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_roles r " \
"                 WHERE " owner_is " " \
"                   AND pg_catalog.pg_has_role($2, r.oid, 'USAGE')) " \
"        THEN 'owner' " \
"    WHEN EXISTS (SELECT 1 FROM mlops.project_members m " \
"                 JOIN pg_catalog.pg_roles r ON " member_is " " \
"                 WHERE m.project_id OPERATOR(pg_catalog.=) p.id " \
"                   AND pg_catalog.pg_has_role($2, r.oid, 'USAGE')) " \
"        THEN 'member' " \
"    WHEN pg_catalog.pg_has_role($2, 'ml_admin', 'USAGE') THEN 'admin' " \
"    WHEN pg_catalog.pg_has_role($2, 'ml_engineer', 'USAGE') THEN 'engineer' " \
"    END " \
"FROM mlops.projects p WHERE p.id OPERATOR(pg_catalog.=) $1"

static const char *const access_query =
	ACCESS_QUERY("r.oid OPERATOR(pg_catalog.=) p.owner_oid",
				 "r.oid OPERATOR(pg_catalog.=) m.member_oid");

/* The same against a catalog older than 0.3.0 (no OIDs yet: by name). */
static const char *const access_query_by_name =
	ACCESS_QUERY("r.rolname OPERATOR(pg_catalog.=) p.owner",
				 "r.rolname OPERATOR(pg_catalog.=) m.member");

/*
 * Whether the catalog records projects' owners and members by OID (0.3.0):
 * this library also serves a catalog not yet updated (ALTER EXTENSION
 * pg_mlops UPDATE), which has only their names.
 */
bool
MlCatalogHasRoleOids(void)
{
	return MlCatalogHasColumn("projects", "owner_oid");
}

/* Whether the catalog table mlops.<table> has a column (older catalogs lack some). */
bool
MlCatalogHasColumn(const char *table, const char *column)
{
	Oid			nsp = get_namespace_oid("mlops", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, column) != InvalidAttrNumber;
}

/*
 * The caller's access to a project, as text (NULL: none). Asked only ever
 * for scope->caller, never for another role: knowing how others reach a
 * project, or whether a hidden one exists, is not the caller's business.
 */
static char *
project_access_text(MlScope *scope, int64 project_id)
{
	Oid			types[2] = {INT8OID, OIDOID};
	Datum		values[2];
	bool		was_owner = scope->as_owner;
	char	   *access = NULL;

	values[0] = Int64GetDatum(project_id);
	values[1] = ObjectIdGetDatum(scope->caller);
	MlScopeAsOwner(scope);
	MlSpiExec(MlCatalogHasRoleOids() ? access_query : access_query_by_name,
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 1)
		access = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (!was_owner)
		MlScopeAsCaller(scope);
	return access;
}

/* The caller's access to a project by id (ML_ACCESS_NONE: hidden or none). */
MlAccess
MlProjectAccess(MlScope *scope, int64 project_id)
{
	return parse_access(project_access_text(scope, project_id));
}

/*
 * mlops.project_access(project bigint) -> text: how the calling role (the
 * current user, as in the row-level security policies) reaches a project.
 * SECURITY INVOKER: there is no argument naming another role.
 */
PG_FUNCTION_INFO_V1(ml_project_access);

Datum
ml_project_access(PG_FUNCTION_ARGS)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MlScope		scope;
	char	   *access;
	text	   *result = NULL;

	MlScopeEnter(&scope);
	access = project_access_text(&scope, PG_GETARG_INT64(0));
	/* SPI_finish frees what was allocated under SPI: copy out first */
	if (access != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(callercxt);

		result = cstring_to_text(access);
		MemoryContextSwitchTo(old);
	}
	MlScopeExit(&scope);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}

/*
 * The OID of a project's relation, by the schema and name the catalog
 * stores (a relation dropped or renamed since is an error that says how to
 * repoint the project). Privileges are checked by the scan that reads it.
 */
Oid
MlProjectRelation(MlProject *p)
{
	Oid			nsp = get_namespace_oid(p->relation_schema, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(p->relation_name, nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" of project \"%s\" does not exist",
						p->relation_schema, p->relation_name, p->name),
				 errhint("Point the project at a relation with ml_update_project().")));
	return relid;
}

/* The error for a project the caller cannot see: the same as for none at all. */
void
MlProjectNotFound(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("project \"%s\" does not exist", name),
			 errhint("Projects you own or belong to are listed in the ml_projects view.")));
}

/*
 * Find a project by name, as the caller, or NULL: a project hidden by
 * row-level security, or a caller that may not read the catalog at all
 * (a consumer), finds nothing, exactly as for a project that does not
 * exist.
 */
MlProject *
MlProjectFind(MlScope *scope, const char *name)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	MlProject  *p;
	HeapTuple	tup;
	TupleDesc	desc;
	Oid			projects = get_relname_relid("projects", get_namespace_oid("mlops", false));

	MlScopeAsCaller(scope);
	if (pg_class_aclcheck(projects, scope->caller, ACL_SELECT) != ACLCHECK_OK)
		return NULL;
	values[0] = CStringGetTextDatum(name);
	MlSpiExec("SELECT id, name, owner, relation_schema, relation_name, target, task "
			  "FROM mlops.projects WHERE name OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	p = palloc0(sizeof(MlProject));
	{
		bool		isnull;

		p->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	}
	p->name = SPI_getvalue(tup, desc, 2);
	p->owner = SPI_getvalue(tup, desc, 3);
	p->relation_schema = SPI_getvalue(tup, desc, 4);
	p->relation_name = SPI_getvalue(tup, desc, 5);
	p->target = SPI_getvalue(tup, desc, 6);
	p->task = SPI_getvalue(tup, desc, 7);
	p->access = parse_access(project_access_text(scope, p->id));
	return p;
}

/* Find a project by name, as the caller; hidden or missing: an error. */
MlProject *
MlProjectLookup(MlScope *scope, const char *name)
{
	MlProject  *p = MlProjectFind(scope, name);

	if (p == NULL)
		MlProjectNotFound(name);
	return p;
}

/*
 * New versions (ml_train): the project's owner and members, and engineers
 * and admins, who own retraining (a train job runs ml_train as its owner).
 * The rows are read as the caller, so what a trainer may not read fails.
 */
void
MlProjectRequireTrain(MlProject *project)
{
	if (project->access == ML_ACCESS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for project \"%s\"", project->name),
				 errdetail("The project's owner and members, engineers and admins train its versions.")));
}

void
MlProjectRequireChange(MlProject *project)
{
	if (project->access < ML_ACCESS_MEMBER)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for project \"%s\"", project->name),
				 errdetail("Only the project's owner and members can change its data or training definition.")));
}

/*
 * Append one row to the audit trail, as the extension owner. Details are
 * the call's arguments as key/value pairs turned into jsonb by jsonb_object(), so no text of ours
 * is ever parsed as JSON or SQL.
 */
void
MlAudit(MlScope *scope, const char *action, const char *object_type,
		const char *object_name, int64 project_id,
		int nkeys, const char **keys, const char **vals)
{
	Oid			types[7] = {NAMEOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTARRAYOID, OIDOID};
	Datum		values[7];
	char		nulls[7] = "       ";
	Datum	   *elems = palloc(sizeof(Datum) * (2 * nkeys + 1));
	int			dims[1];
	int			lbs[1] = {1};
	bool		was_owner = scope->as_owner;
	int			n = 0;

	/* Pairs whose value is NULL are left out: they were not given. */
	for (int i = 0; i < nkeys; i++)
	{
		if (vals[i] == NULL)
			continue;
		elems[n++] = CStringGetTextDatum(keys[i]);
		elems[n++] = CStringGetTextDatum(vals[i]);
	}
	dims[0] = n;
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(scope->caller_name));
	values[1] = CStringGetTextDatum(action);
	values[2] = CStringGetTextDatum(object_type);
	if (object_name)
		values[3] = CStringGetTextDatum(object_name);
	else
		nulls[3] = 'n';
	values[4] = Int64GetDatum(project_id);
	if (project_id <= 0)
		nulls[4] = 'n';
	if (n == 0)
		values[5] = PointerGetDatum(construct_empty_array(TEXTOID));
	else
		values[5] = PointerGetDatum(construct_md_array(elems, NULL, 1, dims, lbs,
													   TEXTOID, -1, false, TYPALIGN_INT));

	/* the actor by OID too: a role re-created under its name is not the actor */
	values[6] = ObjectIdGetDatum(scope->caller);

	MlScopeAsOwner(scope);
	if (MlCatalogHasColumn("audit_log", "actor_oid"))
		MlSpiExec("INSERT INTO mlops.audit_log "
				  "(actor, action, object_type, object_name, project_id, details, actor_oid) "
				  "VALUES ($1, $2, $3, $4, $5, pg_catalog.jsonb_object($6), $7)",
				  7, types, values, nulls, SPI_OK_INSERT);
	else
		MlSpiExec("INSERT INTO mlops.audit_log "
				  "(actor, action, object_type, object_name, project_id, details) "
				  "VALUES ($1, $2, $3, $4, $5, pg_catalog.jsonb_object($6))",
				  6, types, values, nulls, SPI_OK_INSERT);
	if (!was_owner)
		MlScopeAsCaller(scope);
}

/* A required argument: NULL gets a clear error naming the argument. */
void
MlRequireArg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", argname)));
}

/* A required text argument. */
char *
MlTextArg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	MlRequireArg(fcinfo, argno, argname);
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * A text[] argument of column names (series_by, group_by) as a list of
 * distinct names; NIL when the argument is NULL.
 */
List *
MlColumnListArg(FunctionCallInfo fcinfo, int argno, const char *argname, int max)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *out = NIL;

	if (PG_ARGISNULL(argno))
		return NIL;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array of column names", argname)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s names %d columns; at most %d are allowed", argname, n, max)));
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		ListCell   *lc;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname)));
		name = TextDatumGetCString(elems[i]);
		foreach(lc, out)
			if (strcmp(lfirst(lc), name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s names column \"%s\" twice", argname, name)));
		out = lappend(out, name);
	}
	return out;
}

/* The relation's name, schema-qualified and quoted for SQL. */
char *
MlRelName(Oid relid)
{
	char	   *name = get_rel_name(relid);
	char	   *nsp = name ? get_namespace_name(get_rel_namespace(relid)) : NULL;

	/* a relation dropped since its OID was taken, or an OID of nothing */
	if (name == NULL || nsp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return quote_qualified_identifier(nsp, name);
}

/* Parse into_table ("name" or "schema.name") and resolve its schema. */
RangeVar *
MlParseInto(const char *into_table, Oid *nspid)
{
	List	   *names = stringToQualifiedNameList(into_table);
	RangeVar   *rv = makeRangeVarFromNameList(names);

	*nspid = RangeVarGetCreationNamespace(rv);
	if (OidIsValid(get_relname_relid(rv->relname, *nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", rv->relname),
				 errhint("Choose another into_table, or drop the existing table first.")));
	return rv;
}

/*
 * Tell every backend that a project, its members or its deployed model
 * changed: a relcache invalidation of mlops.models, sent at commit, which
 * the scoring cache (model/deployed.c) listens for.
 */
void
MlCatalogInvalidate(void)
{
	CacheInvalidateRelcacheByRelid(get_relname_relid("models", get_namespace_oid("mlops", false)));
}
