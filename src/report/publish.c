/*
 * publish.c
 *	  ml_publish_report(report, published): a stored report made readable
 *	  by consumers through ml_published_reports, or withdrawn.
 *
 * Who may publish: engineers who can see the report's project (every
 * engineer and admin). Publishing hands data to consumers, as an exposure
 * does, and engineers manage exposures; analysts who own a project build
 * its reports but ask an engineer (or schedule nothing: a report job is an
 * engineer's) to publish them. A report the caller may not see is
 * reported as missing.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "core/catalog.h"

PG_FUNCTION_INFO_V1(ml_publish_report);

/* ml_publish_report(report bigint, published boolean DEFAULT true) RETURNS void */
Datum
ml_publish_report(PG_FUNCTION_ARGS)
{
	int64		id;
	bool		publish;
	MlScope		scope;
	Oid			types[3] = {INT8OID, BOOLOID, NAMEOID};
	Datum		values[3];
	int64		project_id;
	char	   *project;
	char	   *kind;
	char	   *version;
	bool		isnull;

	MlRequireArg(fcinfo, 0, "report");
	MlRequireArg(fcinfo, 1, "published");
	id = PG_GETARG_INT64(0);
	publish = PG_GETARG_BOOL(1);

	MlScopeEnter(&scope);
	values[0] = Int64GetDatum(id);
	/* as the caller: row-level security hides the reports of projects it cannot see */
	MlSpiExec("SELECT r.project_id, p.name, r.kind, r.version::pg_catalog.text, "
			  "  mlops.project_access(r.project_id) "
			  "FROM mlops.reports r JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) r.project_id "
			  "WHERE r.id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0 ||
		SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("report %lld does not exist", (long long) id),
				 errhint("Reports you can see are listed in the ml_reports view.")));
	project_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	project = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	if (!MlCallerHasRole(&scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to publish reports of project \"%s\"", project),
				 errdetail("Engineers publish reports to consumers, as they manage exposures.")));

	values[1] = BoolGetDatum(publish);
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name));
	MlScopeAsOwner(&scope);
	MlSpiExec("UPDATE mlops.reports SET published = $2, "
			  "  published_at = CASE WHEN $2 THEN pg_catalog.now() END, "
			  "  published_by = CASE WHEN $2 THEN $3 END "
			  "WHERE id OPERATOR(pg_catalog.=) $1",
			  3, types, values, NULL, SPI_OK_UPDATE);
	{
		const char *keys[4] = {"report", "kind", "version", "published"};
		const char *vals[4] = {psprintf("%lld", (long long) id), kind, version, publish ? "true" : "false"};

		MlAudit(&scope, publish ? "publish" : "unpublish", "report", project, project_id, 4, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}
