/*
 * score.c
 *	  ml_score: a relation's rows plus the deployed model's predictions,
 *	  written into a new table in one CREATE TABLE AS, as the caller.
 *
 * The version is pinned when the call starts (the per-row functions get
 * its model id), so a deployment that changes during the statement cannot
 * mix two models in one output.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "model/deployed.h"

PG_FUNCTION_INFO_V1(ml_score);

static void
check_free_name(Oid relid, const char *col)
{
	if (get_attnum(relid, col) != InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("relation \"%s\" already has a column \"%s\"", get_rel_name(relid), col),
				 errhint("ml_score adds columns prediction, probabilities and model_version; "
						 "score a view that renames yours.")));
}

Datum
ml_score(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *project;
	Oid			relid;
	RangeVar   *rv;
	Oid			nspid;
	char	   *dest;
	MlDeployed *e;
	bool		classifier;
	Oid			types[3] = {TEXTOID, INT8OID, INT4OID};
	Datum		values[3];
	int64		rows;

	MlRequireArg(fcinfo, 1, "relation");
	project = MlTextArg(fcinfo, 0, "project");
	relid = PG_GETARG_OID(1);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* the output's schema resolves with the caller's search_path */
	rv = MlParseInto(MlTextArg(fcinfo, 2, "into_table"), &nspid);
	dest = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	if (!OidIsValid(get_rel_type_id(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" has no row type to score", get_rel_name(relid))));
	check_free_name(relid, "prediction");
	check_free_name(relid, "model_version");

	e = MlDeployedGet(project, 0);
	classifier = e->trained->task == ML_TASK_BINARY || e->trained->task == ML_TASK_MULTICLASS;
	if (classifier)
		check_free_name(relid, "probabilities");
	/* a missing or mistyped feature is reported before any row is read */
	{
		TupleDesc	desc = lookup_rowtype_tupdesc(get_rel_type_id(relid), -1);

		(void) MlBindRow(e->trained->enc, desc, e->what);
		ReleaseTupleDesc(desc);
	}

	MlScopeEnter(&scope);
	values[0] = CStringGetTextDatum(project);
	values[1] = Int64GetDatum(e->model_id);
	values[2] = Int32GetDatum(e->version);
	MlSpiExec(psprintf("CREATE TABLE %s AS SELECT s.*, %s AS prediction, %s$3 AS model_version FROM %s s",
					   dest,
					   classifier ? "mlops.score_label($1, $2, s)" : "mlops.score_value($1, $2, s)",
					   classifier ? "mlops.score_proba($1, $2, s) AS probabilities, " : "",
					   MlRelName(relid)),
			  3, types, values, NULL, SPI_OK_UTILITY);
	rows = (int64) SPI_processed;
	MlScopeExit(&scope);
	PG_RETURN_INT64(rows);
}
