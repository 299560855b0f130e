/*
 * workflow.c
 *	  ml_create_workflow, ml_allow_auto_deploy, ml_drop_workflow: the
 *	  definition of workflows, which workflow jobs run (workflow_run.c).
 *
 * Whoever may see a project (its owner and members, engineers, admins) may
 * define and drop its workflows; only engineers allow a workflow's deploy
 * step to deploy. The steps are checked here once (workflow_steps.c),
 * with the caller's search_path, and stored normalised.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/jsonb.h"

#include "core/catalog.h"
#include "jobs/workflow.h"

PG_FUNCTION_INFO_V1(ml_create_workflow);
PG_FUNCTION_INFO_V1(ml_allow_auto_deploy);
PG_FUNCTION_INFO_V1(ml_drop_workflow);

/* The workflow's id, or -1; read as the extension owner. */
static int64
find_workflow(MlScope *scope, int64 project_id, const char *name)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(project_id), CStringGetTextDatum(name)};
	bool		isnull;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT id FROM mlops.workflows WHERE project_id OPERATOR(pg_catalog.=) $1 "
			  "AND name OPERATOR(pg_catalog.=) $2 FOR UPDATE",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return -1;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static int64
require_workflow(MlScope *scope, MlProject *p, const char *name)
{
	int64		id = find_workflow(scope, p->id, name);

	if (id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("workflow \"%s\" of project \"%s\" does not exist", name, p->name),
				 errhint("Workflows are listed in the ml_workflows view.")));
	return id;
}

/*
 * The select list MlWorkflowCheckCreator reads (w: the workflow, j: the
 * job): creator and owner by name and by OID. The creator's OID is there
 * since 0.4.0 (NULL on a catalog not yet updated: then by name), the
 * owner's since 0.3.0 (command.owner_oid).
 */
const char *
MlWorkflowRolesColumns(void)
{
	return MlCatalogHasColumn("workflows", "created_by_oid") ?
		"w.created_by::pg_catalog.text, w.created_by_oid::pg_catalog.text, true, "
		"j.owner::pg_catalog.text, j.command OPERATOR(pg_catalog.->>) 'owner_oid'" :
		"w.created_by::pg_catalog.text, NULL::pg_catalog.text, false, "
		"j.owner::pg_catalog.text, j.command OPERATOR(pg_catalog.->>) 'owner_oid'";
}

/*
 * A role by the OID a row recorded (one dropped since: none; a role
 * re-created under its name is another role), by name where the row has
 * no OID column.
 */
static Oid
recorded_role(const char *name, const char *oid, bool has_oid)
{
	Oid			role;

	if (!has_oid)
		return name ? get_role_oid(name, true) : InvalidOid;
	if (oid == NULL)
		return InvalidOid;
	role = (Oid) strtoul(oid, NULL, 10);
	return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)) ? role : InvalidOid;
}

/*
 * A workflow's steps run with the rights of the job's owner, so a job may
 * run only a workflow whose creator could do everything the owner can
 * (the owner itself, or a role that has the owner's privileges). Otherwise an analyst could define
 * steps (an import of a server file, a score into the engineer's table, a
 * published report) that an engineer's job then runs with the engineer's
 * rights, which the analyst could not do himself. Both roles by OID: a
 * role re-created under the creator's name did not write the steps.
 */
void
MlWorkflowCheckCreator(const char *workflow, HeapTuple tup, TupleDesc desc, int first)
{
	char	   *created_by = SPI_getvalue(tup, desc, first);
	char	   *creator_oid = SPI_getvalue(tup, desc, first + 1);
	char	   *by_oid = SPI_getvalue(tup, desc, first + 2);
	char	   *owner = SPI_getvalue(tup, desc, first + 3);
	char	   *owner_oid = SPI_getvalue(tup, desc, first + 4);
	Oid			creator = recorded_role(created_by, creator_oid, by_oid && strcmp(by_oid, "t") == 0);
	Oid			runner = recorded_role(owner, owner_oid, owner_oid != NULL);

	if (!OidIsValid(creator) || !OidIsValid(runner) || !has_privs_of_role(creator, runner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("workflow \"%s\" was created by role \"%s\", not by the job's owner \"%s\"",
						workflow, created_by ? created_by : "?", owner ? owner : "?"),
				 errdetail("A workflow's steps run with the rights of the job's owner; only a workflow its owner (or a role with the owner's privileges) created may run in its job."),
				 errhint("Create the workflow as the job's owner with ml_create_workflow() (copy the steps from the ml_workflows view).")));
}

/*
 * Point a workflow job at its workflow: the name (a job option) resolved
 * in the job's project, its id kept in the job's command. Called by
 * ml_schedule and ml_alter_job after they wrote the job.
 */
void
MlWorkflowBindJob(MlScope *scope, int64 job, int64 project_id, const char *name)
{
	int64		id = find_workflow(scope, project_id, name);
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(job), Int64GetDatum(id)};

	if (id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("workflow \"%s\" does not exist in the job's project", name),
				 errhint("Create it with ml_create_workflow(); workflows are listed in the ml_workflows view.")));
	MlSpiExec(psprintf("SELECT %s FROM mlops.jobs j, mlops.workflows w "
					   "WHERE j.id OPERATOR(pg_catalog.=) $1 AND w.id OPERATOR(pg_catalog.=) $2",
					   MlWorkflowRolesColumns()),
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "job %lld or workflow %lld vanished", (long long) job, (long long) id);
	MlWorkflowCheckCreator(name, SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	MlSpiExec("UPDATE mlops.jobs SET command = command OPERATOR(pg_catalog.||) "
			  "pg_catalog.jsonb_build_object('workflow', $2) WHERE id OPERATOR(pg_catalog.=) $1",
			  2, types, values, NULL, SPI_OK_UPDATE);
}

static void
check_name(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a workflow name has from 1 to 200 characters")));
}

Datum
ml_create_workflow(PG_FUNCTION_ARGS)
{
	char	   *project = MlTextArg(fcinfo, 0, "project");
	char	   *name = MlTextArg(fcinfo, 1, "name");
	Jsonb	   *steps;
	MlScope		scope;
	MlProject  *p;
	char	   *task;
	char	   *normalised;
	int			nsteps;
	int64		id;
	bool		isnull;

	MlRequireArg(fcinfo, 2, "steps");
	steps = PG_GETARG_JSONB_P(2);
	check_name(name);
	/* the project's task decides the gate's metrics */
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	task = MemoryContextStrdup(TopTransactionContext, p->task);
	MlScopeExit(&scope);
	/* names resolve with the caller's search_path, before the scope pins it */
	(void) MlWorkflowParse(steps, task, false, &nsteps, &normalised);

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	if (find_workflow(&scope, p->id, name) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("workflow \"%s\" of project \"%s\" already exists", name, p->name),
				 errhint("Choose another name, or drop it first with ml_drop_workflow().")));
	{
		Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, NAMEOID, OIDOID};
		Datum		values[5] = {Int64GetDatum(p->id), CStringGetTextDatum(name),
			CStringGetTextDatum(normalised), DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name)),
		ObjectIdGetDatum(scope.caller)};
		const char *keys[2] = {"workflow", "steps"};
		const char *vals[2] = {name, normalised};

		MlScopeAsOwner(&scope);
		/* its creator by OID too (0.4.0): who may run it in a job (MlWorkflowCheckCreator) */
		if (MlCatalogHasColumn("workflows", "created_by_oid"))
			MlSpiExec("INSERT INTO mlops.workflows (project_id, name, steps, created_by, created_by_oid) "
					  "VALUES ($1, $2, $3::pg_catalog.jsonb, $4, $5) RETURNING id",
					  5, types, values, NULL, SPI_OK_INSERT_RETURNING);
		else
			MlSpiExec("INSERT INTO mlops.workflows (project_id, name, steps, created_by) "
					  "VALUES ($1, $2, $3::pg_catalog.jsonb, $4) RETURNING id",
					  4, types, values, NULL, SPI_OK_INSERT_RETURNING);
		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		MlAudit(&scope, "create_workflow", "workflow", name, p->id, 2, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_INT64(id);
}

Datum
ml_allow_auto_deploy(PG_FUNCTION_ARGS)
{
	char	   *project = MlTextArg(fcinfo, 0, "project");
	char	   *name = MlTextArg(fcinfo, 1, "workflow");
	bool		allowed;
	MlScope		scope;
	MlProject  *p;
	int64		id;

	MlRequireArg(fcinfo, 2, "allowed");
	allowed = PG_GETARG_BOOL(2);
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	if (!MlCallerHasRole(&scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to allow automatic deployment for project \"%s\"", p->name),
				 errdetail("Only engineers and admins decide that a workflow may deploy the versions its gate passes.")));
	id = require_workflow(&scope, p, name);
	{
		Oid			types[3] = {INT8OID, BOOLOID, NAMEOID};
		Datum		values[3] = {Int64GetDatum(id), BoolGetDatum(allowed),
		DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name))};
		const char *keys[2] = {"workflow", "allowed"};
		const char *vals[2] = {name, allowed ? "true" : "false"};

		MlScopeAsOwner(&scope);
		MlSpiExec("UPDATE mlops.workflows SET auto_deploy = $2, "
				  "auto_deploy_allowed_by = CASE WHEN $2 THEN $3 END, "
				  "auto_deploy_allowed_at = CASE WHEN $2 THEN pg_catalog.now() END "
				  "WHERE id OPERATOR(pg_catalog.=) $1",
				  3, types, values, NULL, SPI_OK_UPDATE);
		MlAudit(&scope, "allow_auto_deploy", "workflow", name, p->id, 2, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

Datum
ml_drop_workflow(PG_FUNCTION_ARGS)
{
	char	   *project = MlTextArg(fcinfo, 0, "project");
	char	   *name = MlTextArg(fcinfo, 1, "name");
	MlScope		scope;
	MlProject  *p;
	int64		id;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, project);
	id = require_workflow(&scope, p, name);
	values[0] = CStringGetTextDatum(psprintf("%lld", (long long) id));
	MlScopeAsOwner(&scope);
	/* jobs keep the id they run (ml_schedule resolved the name) */
	MlSpiExec("SELECT 1 FROM mlops.jobs WHERE kind OPERATOR(pg_catalog.=) 'workflow' "
			  "AND command OPERATOR(pg_catalog.->>) 'workflow' OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("workflow \"%s\" of project \"%s\" is run by %llu job(s)", name, p->name,
						(unsigned long long) SPI_processed),
				 errhint("Remove them first with ml_unschedule().")));
	MlSpiExec("DELETE FROM mlops.workflows WHERE id::pg_catalog.text OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_DELETE);
	MlAudit(&scope, "drop_workflow", "workflow", name, p->id, 0, NULL, NULL);
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}
