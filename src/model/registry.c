/*
 * registry.c
 *	  Model registry: the hand-over from analysts to engineers.
 *
 * Analysts mark a trained version ready; engineers deploy ready versions
 * and roll back. Every transition leaves a row in mlops.deployments (for
 * deploys) and in the audit trail. At most one version per project is
 * deployed, which a partial unique index also enforces.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "core/catalog.h"

PG_FUNCTION_INFO_V1(ml_mark_ready);
PG_FUNCTION_INFO_V1(ml_deploy);
PG_FUNCTION_INFO_V1(ml_rollback);
PG_FUNCTION_INFO_V1(ml_deploy_strategy);

/* Status of one model version, or NULL if it does not exist. */
static char *
model_status(int64 project_id, int32 version, int64 *model_id)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(project_id), Int32GetDatum(version)};
	bool		isnull;

	MlSpiExec("SELECT id, status FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	if (model_id)
		*model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
}

static void
no_such_version(MlProject *p, int32 version)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("model version %d of project \"%s\" does not exist", version, p->name)));
}

/* -1 when nothing is deployed. */
static int32
deployed_version(int64 project_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(project_id)};
	bool		isnull;

	MlSpiExec("SELECT version FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1 "
			  "AND status OPERATOR(pg_catalog.=) 'deployed'",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return -1;
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static void
require_engineer(MlScope *scope, MlProject *p)
{
	if (!MlCallerHasRole(scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to deploy models of project \"%s\"", p->name),
				 errdetail("Only engineers and admins deploy and roll back models.")));
}

Datum
ml_mark_ready(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	int32		version;
	char	   *status;
	int64		model_id;
	char	   *comment;

	MlRequireArg(fcinfo, 1, "version");
	version = PG_GETARG_INT32(1);
	/* 0.1.0 and 0.2.0 scripts declare two arguments */
	comment = (PG_NARGS() > 2 && !PG_ARGISNULL(2)) ? text_to_cstring(PG_GETARG_TEXT_PP(2)) : NULL;

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	MlProjectRequireChange(p);
	MlScopeAsOwner(&scope);
	status = model_status(p->id, version, &model_id);
	if (status == NULL)
		no_such_version(p, version);
	if (strcmp(status, "trained") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model version %d of project \"%s\" is %s, not trained",
						version, p->name, status)));
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(model_id)};
		const char *keys[2] = {"version", "comment"};
		const char *vals[2] = {psprintf("%d", version), comment};

		MlSpiExec("UPDATE mlops.models SET status = 'ready' WHERE id OPERATOR(pg_catalog.=) $1",
				  1, types, values, NULL, SPI_OK_UPDATE);
		/* the comment column exists once the catalog is at 0.3.0 */
		if (comment != NULL &&
			get_attnum(get_relname_relid("models", get_namespace_oid("mlops", false)),
					   "ready_comment") != InvalidAttrNumber)
		{
			Oid			t2[2] = {INT8OID, TEXTOID};
			Datum		v2[2] = {Int64GetDatum(model_id), CStringGetTextDatum(comment)};

			MlSpiExec("UPDATE mlops.models SET ready_comment = $2 WHERE id OPERATOR(pg_catalog.=) $1",
					  2, t2, v2, NULL, SPI_OK_UPDATE);
		}
		MlAudit(&scope, "mark_ready", "model", p->name, p->id, 2, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

/* Retire the live version (if any), make `version` live, record history. */
static void
switch_deployment(MlScope *scope, MlProject *p, int32 version, int64 model_id,
				  const char *action, const char *reason)
{
	int32		from = deployed_version(p->id);
	Oid			types[7] = {INT8OID, INT8OID, INT4OID, INT4OID, TEXTOID, NAMEOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = "       ";

	values[0] = Int64GetDatum(p->id);
	values[1] = Int64GetDatum(model_id);
	MlSpiExec("UPDATE mlops.models SET status = 'retired' "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'deployed'",
			  1, types, values, NULL, SPI_OK_UPDATE);
	MlSpiExec("UPDATE mlops.models SET status = 'deployed' WHERE id OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_UPDATE);

	values[2] = Int32GetDatum(version);
	values[3] = Int32GetDatum(from);
	if (from < 0)
		nulls[3] = 'n';
	values[4] = CStringGetTextDatum(action);
	values[5] = DirectFunctionCall1(namein, CStringGetDatum(scope->caller_name));
	if (reason)
		values[6] = CStringGetTextDatum(reason);
	else
		nulls[6] = 'n';
	/*
	 * The metrics the version had when it went live, copied from its row;
	 * a catalog still at an older script version (before ALTER EXTENSION
	 * UPDATE) has no column for them.
	 */
	if (get_attnum(get_relname_relid("deployments", get_namespace_oid("mlops", false)),
				   "metrics") != InvalidAttrNumber)
		MlSpiExec("INSERT INTO mlops.deployments "
				  "(project_id, model_id, version, from_version, action, deployed_by, reason, metrics) "
				  "SELECT $1, $2, $3, $4, $5, $6, $7, m.metrics FROM mlops.models m "
				  "WHERE m.id OPERATOR(pg_catalog.=) $2",
				  7, types, values, nulls, SPI_OK_INSERT);
	else
		MlSpiExec("INSERT INTO mlops.deployments "
				  "(project_id, model_id, version, from_version, action, deployed_by, reason) "
				  "VALUES ($1, $2, $3, $4, $5, $6, $7)",
				  7, types, values, nulls, SPI_OK_INSERT);
	{
		const char *keys[3] = {"version", "from_version", "reason"};
		const char *vals[3] = {psprintf("%d", version),
			from < 0 ? NULL : psprintf("%d", from), reason};

		MlAudit(scope, action, "model", p->name, p->id, 3, keys, vals);
	}
	/* every backend's scoring cache drops the old version at its next command */
	MlCatalogInvalidate();
}

Datum
ml_deploy(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	int32		version;
	char	   *status;
	int64		model_id = 0;
	char	   *reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	require_engineer(&scope, p);
	MlScopeAsOwner(&scope);

	if (PG_ARGISNULL(1))
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(p->id)};
		bool		isnull;

		MlSpiExec("SELECT pg_catalog.max(version) FROM mlops.models "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'ready'",
				  1, types, values, NULL, SPI_OK_SELECT);
		version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("project \"%s\" has no model version ready for deployment", p->name),
					 errhint("An analyst marks a trained version ready with ml_mark_ready().")));
	}
	else
		version = PG_GETARG_INT32(1);

	status = model_status(p->id, version, &model_id);
	if (status == NULL)
		no_such_version(p, version);
	if (strcmp(status, "deployed") == 0)
		ereport(NOTICE,
				(errmsg("model version %d of project \"%s\" is already deployed, skipping",
						version, p->name)));
	else if (strcmp(status, "trained") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("model version %d of project \"%s\" is not ready for deployment",
						version, p->name),
				 errhint("An analyst marks a trained version ready with ml_mark_ready().")));
	else
		switch_deployment(&scope, p, version, model_id, "deploy", reason);

	MlScopeExit(&scope);
	PG_RETURN_INT32(version);
}

Datum
ml_rollback(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	int32		current;
	int32		version;
	int64		model_id;
	bool		isnull;
	char	   *reason = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	require_engineer(&scope, p);
	MlScopeAsOwner(&scope);

	current = deployed_version(p->id);
	if (current < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no deployed model to roll back", p->name)));
	{
		Oid			types[2] = {INT8OID, INT4OID};
		Datum		values[2] = {Int64GetDatum(p->id), Int32GetDatum(current)};

		/* The most recent other version that was live and still exists. */
		MlSpiExec("SELECT d.version, m.id FROM mlops.deployments d "
				  "JOIN mlops.models m ON m.id OPERATOR(pg_catalog.=) d.model_id "
				  "WHERE d.project_id OPERATOR(pg_catalog.=) $1 "
				  "  AND d.version OPERATOR(pg_catalog.<>) $2 "
				  "  AND m.status OPERATOR(pg_catalog.=) ANY ('{retired,ready}') "
				  "ORDER BY d.id DESC LIMIT 1",
				  2, types, values, NULL, SPI_OK_SELECT);
	}
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no earlier deployed version to roll back to", p->name)));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	switch_deployment(&scope, p, version, model_id, "rollback", reason);
	MlScopeExit(&scope);
	PG_RETURN_INT32(version);
}

/*
 * ml_deploy(project, strategy text, reason): deploy the ready version a
 * strategy picks. "most_recent": the highest ready version number.
 * "best_score": the ready version with the best primary metric of the
 * project's task on its held-out rows (lowest rmse, or highest accuracy;
 * cross-validated figures when the version was trained with folds); ties
 * go to the newer version, versions without the metric (or with one that
 * is not a number: stored data is not trusted) come last.
 */
Datum
ml_deploy_strategy(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	char	   *strategy = MlTextArg(fcinfo, 1, "strategy");
	char	   *reason = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	bool		isnull;
	int32		version;
	int64		model_id;
	const char *order;

	if (strcmp(strategy, "most_recent") == 0)
		order = "version DESC";
	else if (strcmp(strategy, "best_score") == 0)
		order = NULL;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown deployment strategy \"%s\"", strategy),
				 errhint("Valid strategies: best_score, most_recent; or pass a version number.")));

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	require_engineer(&scope, p);
	MlScopeAsOwner(&scope);
	if (order == NULL)
		order = strcmp(p->task, "classification") == 0 ?
			"mlops.try_cast_numeric(COALESCE(metrics->>'accuracy', metrics->>'cv_accuracy')) "
			"DESC NULLS LAST, version DESC" :
			"mlops.try_cast_numeric(COALESCE(metrics->>'rmse', metrics->>'cv_rmse')) "
			"ASC NULLS LAST, version DESC";
	values[0] = Int64GetDatum(p->id);
	MlSpiExec(psprintf("SELECT version, id FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1 "
					   "AND status OPERATOR(pg_catalog.=) 'ready' ORDER BY %s LIMIT 1", order),
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no model version ready for deployment", p->name),
				 errhint("An analyst marks a trained version ready with ml_mark_ready().")));
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	switch_deployment(&scope, p, version, model_id, "deploy", reason);
	MlScopeExit(&scope);
	PG_RETURN_INT32(version);
}
