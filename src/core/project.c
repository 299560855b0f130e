/*
 * project.c
 *	  Project management: create, update, drop, membership.
 *
 * A project names a source relation, a target column and a task. It is
 * owned by the role that created it; members share it. Every change is
 * audited. See catalog.c for how calls switch between caller and owner.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/catalog.h"

PG_FUNCTION_INFO_V1(ml_create_project);
PG_FUNCTION_INFO_V1(ml_update_project);
PG_FUNCTION_INFO_V1(ml_drop_project);
PG_FUNCTION_INFO_V1(ml_add_member);
PG_FUNCTION_INFO_V1(ml_remove_member);

static const char *const valid_tasks[] = {"regression", "classification", "forecast", NULL};

static void
check_task(const char *task)
{
	for (int i = 0; valid_tasks[i]; i++)
		if (strcmp(task, valid_tasks[i]) == 0)
			return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown task \"%s\"", task),
			 errhint("Valid tasks are: regression, classification, forecast.")));
}

static void
check_project_name(const char *name)
{
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("project name must not be empty")));
}

/*
 * The source relation must be readable by the caller (we never let a
 * project become a way to read a table one cannot read), and the target
 * must be a user column whose type fits the task.
 */
static void
check_source(MlScope *scope, Oid relid, const char *target, const char *task)
{
	char		relkind = get_rel_relkind(relid);
	AttrNumber	attnum;
	Oid			atttype;

	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view or materialized view",
						get_rel_name(relid))));
	if (pg_class_aclcheck(relid, scope->caller, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for relation %s", get_rel_name(relid)),
				 errdetail("A project's owner must be able to read its source relation.")));

	attnum = get_attnum(relid, target);
	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						target, get_rel_name(relid)),
				 errhint("Column names are case-sensitive here: pass the name exactly as stored.")));

	atttype = get_atttype(relid, attnum);
	if ((strcmp(task, "regression") == 0 || strcmp(task, "forecast") == 0) &&
		TypeCategory(getBaseType(atttype)) != TYPCATEGORY_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but task \"%s\" needs a numeric column",
						target, format_type_be(atttype), task),
				 errhint("Use task => 'classification' for a categorical target.")));
}

static Datum
name_datum(const char *s)
{
	return DirectFunctionCall1(namein, CStringGetDatum(s));
}

Datum
ml_create_project(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *name = MlTextArg(fcinfo, 0, "name");
	Oid			relid;
	char	   *target = MlTextArg(fcinfo, 2, "target");
	char	   *task = MlTextArg(fcinfo, 3, "task");
	Oid			types[8] = {TEXTOID, TEXTOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, OIDOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	bool		isnull;
	int64		id;

	MlRequireArg(fcinfo, 1, "relation");
	relid = PG_GETARG_OID(1);
	check_project_name(name);
	check_task(task);

	MlScopeEnter(&scope);
	check_source(&scope, relid, target, task);

	values[0] = CStringGetTextDatum(name);
	if (PG_ARGISNULL(4))
		nulls[1] = 'n';
	else
		values[1] = PointerGetDatum(PG_GETARG_TEXT_PP(4));
	values[2] = name_datum(scope.caller_name);
	values[3] = name_datum(get_namespace_name(get_rel_namespace(relid)));
	values[4] = name_datum(get_rel_name(relid));
	values[5] = name_datum(target);
	values[6] = CStringGetTextDatum(task);
	values[7] = ObjectIdGetDatum(scope.caller);
	MlScopeAsOwner(&scope);
	/* a catalog before 0.3.0 has no owner_oid (the update fills it from the name) */
	MlSpiExec(MlCatalogHasRoleOids() ?
			  "INSERT INTO mlops.projects "
			  "(name, description, owner, relation_schema, relation_name, target, task, owner_oid) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
			  "ON CONFLICT (name) DO NOTHING RETURNING id" :
			  "INSERT INTO mlops.projects "
			  "(name, description, owner, relation_schema, relation_name, target, task) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7) "
			  "ON CONFLICT (name) DO NOTHING RETURNING id",
			  MlCatalogHasRoleOids() ? 8 : 7, types, values, nulls, SPI_OK_INSERT_RETURNING);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("project \"%s\" already exists", name),
				 errhint("Choose another name, or drop the existing project with ml_drop_project().")));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	{
		const char *keys[3] = {"relation", "target", "task"};
		const char *vals[3] = {
			quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									   get_rel_name(relid)),
			target, task};

		MlAudit(&scope, "create_project", "project", name, id, 3, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_INT64(id);
}

/* The relation a project currently points at, or InvalidOid if it is gone. */
static Oid
project_relid(MlProject *p)
{
	Oid			nsp = get_namespace_oid(p->relation_schema, true);

	return OidIsValid(nsp) ? get_relname_relid(p->relation_name, nsp) : InvalidOid;
}

Datum
ml_update_project(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *name = MlTextArg(fcinfo, 0, "name");
	MlProject  *p;
	char	   *new_name;
	Oid			relid;
	char	   *target;
	char	   *task;
	Oid			types[8] = {INT8OID, TEXTOID, NAMEOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		values[8];

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, name);
	MlProjectRequireChange(p);

	new_name = PG_ARGISNULL(1) ? p->name : text_to_cstring(PG_GETARG_TEXT_PP(1));
	target = PG_ARGISNULL(3) ? p->target : text_to_cstring(PG_GETARG_TEXT_PP(3));
	task = PG_ARGISNULL(4) ? p->task : text_to_cstring(PG_GETARG_TEXT_PP(4));
	check_project_name(new_name);
	check_task(task);

	if (!PG_ARGISNULL(2))
		relid = PG_GETARG_OID(2);
	else if (!OidIsValid(relid = project_relid(p)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation %s of project \"%s\" no longer exists",
						quote_qualified_identifier(p->relation_schema, p->relation_name),
						p->name),
				 errhint("Pass relation => to point the project at another relation.")));
	check_source(&scope, relid, target, task);

	MlScopeAsOwner(&scope);
	if (strcmp(new_name, p->name) != 0)
	{
		Oid			t[1] = {TEXTOID};
		Datum		v[1] = {CStringGetTextDatum(new_name)};

		MlSpiExec("SELECT 1 FROM mlops.projects WHERE name OPERATOR(pg_catalog.=) $1",
				  1, t, v, NULL, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("project \"%s\" already exists", new_name)));
	}

	values[0] = Int64GetDatum(p->id);
	values[1] = CStringGetTextDatum(new_name);
	values[2] = name_datum(get_namespace_name(get_rel_namespace(relid)));
	values[3] = name_datum(get_rel_name(relid));
	values[4] = name_datum(target);
	values[5] = CStringGetTextDatum(task);
	values[6] = PG_ARGISNULL(5) ? (Datum) 0 : PointerGetDatum(PG_GETARG_TEXT_PP(5));
	values[7] = BoolGetDatum(!PG_ARGISNULL(5));
	MlSpiExec("UPDATE mlops.projects SET name = $2, relation_schema = $3, relation_name = $4, "
			  "  target = $5, task = $6, "
			  "  description = CASE WHEN $8 THEN $7 ELSE description END, "
			  "  updated_at = pg_catalog.now() "
			  "WHERE id OPERATOR(pg_catalog.=) $1",
			  8, types, values, PG_ARGISNULL(5) ? "      n " : NULL, SPI_OK_UPDATE);

	{
		/* Audit the arguments the caller passed, not the unchanged fields. */
		const char *keys[5] = {"new_name", "relation", "target", "task", "description"};
		const char *vals[5];

		for (int i = 0; i < 5; i++)
		{
			if (PG_ARGISNULL(i + 1))
				vals[i] = NULL;
			else if (i == 1)	/* relation is a regclass */
				vals[i] = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													 get_rel_name(relid));
			else
				vals[i] = text_to_cstring(PG_GETARG_TEXT_PP(i + 1));
		}

		MlAudit(&scope, "update_project", "project", p->name, p->id, 5, keys, vals);
		MlCatalogInvalidate();
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

Datum
ml_drop_project(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *name = MlTextArg(fcinfo, 0, "name");
	bool		force = PG_ARGISNULL(1) ? false : PG_GETARG_BOOL(1);
	MlProject  *p;
	bool		is_admin;
	bool		is_engineer;
	char	   *deployed = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, name);
	is_admin = MlCallerHasRole(&scope, "ml_admin");
	is_engineer = MlCallerHasRole(&scope, "ml_engineer");

	values[0] = Int64GetDatum(p->id);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT version FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'deployed'",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
		deployed = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

	if (deployed && !force)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("project \"%s\" has a deployed model", p->name),
				 errdetail("Version %s is deployed.", deployed),
				 errhint("An engineer or admin can drop it anyway with force => true.")));
	if (deployed && !is_engineer)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to force dropping project \"%s\"", p->name),
				 errdetail("Only engineers and admins can drop a project whose model is deployed.")));
	if (!deployed && !(p->access == ML_ACCESS_OWNER || is_admin || (force && is_engineer)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to drop project \"%s\"", p->name),
				 errdetail("Only the project's owner or an admin can drop it.")));

	MlSpiExec("DELETE FROM mlops.projects WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_DELETE);
	{
		const char *keys[2] = {"force", "deployed_version"};
		const char *vals[2] = {force ? "true" : "false", deployed};

		MlAudit(&scope, "drop_project", "project", p->name, p->id, 2, keys, vals);
		MlCatalogInvalidate();
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

/* Membership changes: the project's owner or an admin. */
static MlProject *
membership_target(MlScope *scope, FunctionCallInfo fcinfo, char **member)
{
	MlProject  *p = MlProjectLookup(scope, MlTextArg(fcinfo, 0, "project"));

	MlRequireArg(fcinfo, 1, "member");
	if (p->access != ML_ACCESS_OWNER && !MlCallerHasRole(scope, "ml_admin"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to change the members of project \"%s\"", p->name),
				 errdetail("Only the project's owner or an admin can change its members.")));
	*member = GetUserNameFromId(PG_GETARG_OID(1), false);
	return p;
}

/* A membership change in a catalog before 0.3.0: names only (see below). */
static void
change_membership_by_name(bool add, Oid *types, Datum *values)
{
	if (add)
		MlSpiExec("INSERT INTO mlops.project_members (project_id, member, added_by) "
				  "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				  3, types, values, NULL, SPI_OK_INSERT);
	else
		MlSpiExec("DELETE FROM mlops.project_members "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND member OPERATOR(pg_catalog.=) $2",
				  2, types, values, NULL, SPI_OK_DELETE);
}

static void
change_membership(FunctionCallInfo fcinfo, bool add)
{
	MlScope		scope;
	MlProject  *p;
	char	   *member;
	Oid			types[4] = {INT8OID, NAMEOID, NAMEOID, OIDOID};
	Datum		values[4];

	MlScopeEnter(&scope);
	p = membership_target(&scope, fcinfo, &member);
	values[0] = Int64GetDatum(p->id);
	values[1] = name_datum(member);
	values[2] = name_datum(scope.caller_name);
	values[3] = PG_GETARG_DATUM(1);

	MlScopeAsOwner(&scope);
	if (!MlCatalogHasRoleOids())
		change_membership_by_name(add, types, values);
	else if (add)
	{
		/*
		 * The membership of a dropped role of that name is dead: this role
		 * takes its place. One of a living role (renamed since) stays.
		 */
		MlSpiExec("INSERT INTO mlops.project_members AS m (project_id, member, added_by, member_oid) "
				  "VALUES ($1, $2, $3, $4) "
				  "ON CONFLICT (project_id, member) DO UPDATE "
				  "SET member_oid = excluded.member_oid, added_by = excluded.added_by, "
				  "    added_at = pg_catalog.now() "
				  "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r "
				  "                  WHERE r.oid OPERATOR(pg_catalog.=) m.member_oid)",
				  4, types, values, NULL, SPI_OK_INSERT);
	}
	else
	{
		/* by OID (a renamed member), or a dead membership under its name */
		MlSpiExec("DELETE FROM mlops.project_members m "
				  "WHERE m.project_id OPERATOR(pg_catalog.=) $1 "
				  "  AND (m.member_oid OPERATOR(pg_catalog.=) $4 "
				  "       OR (m.member OPERATOR(pg_catalog.=) $2 "
				  "           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r "
				  "                           WHERE r.oid OPERATOR(pg_catalog.=) m.member_oid)))",
				  4, types, values, NULL, SPI_OK_DELETE);
	}
	if (SPI_processed == 0 && add)
	{
		/* Nothing changed, so there is nothing to audit. */
		ereport(NOTICE,
				(errmsg("role \"%s\" is already a member of project \"%s\", skipping",
						member, p->name)));
		MlScopeExit(&scope);
		return;
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" is not a member of project \"%s\"", member, p->name)));
	{
		const char *keys[1] = {"member"};
		const char *vals[1] = {member};

		MlAudit(&scope, add ? "add_member" : "remove_member", "project",
				p->name, p->id, 1, keys, vals);
	}
	MlCatalogInvalidate();
	MlScopeExit(&scope);
}

Datum
ml_add_member(PG_FUNCTION_ARGS)
{
	change_membership(fcinfo, true);
	PG_RETURN_VOID();
}

Datum
ml_remove_member(PG_FUNCTION_ARGS)
{
	change_membership(fcinfo, false);
	PG_RETURN_VOID();
}
