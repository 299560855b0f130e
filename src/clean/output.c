/*
 * output.c
 *	  Where results go: relation names, working copies, the output
 *	  table's name, the project's target, and the recipe row.
 */
#include "postgres.h"

#include <math.h>

#include <math.h>
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/regproc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "core/catalog.h"
#include "clean/cleaning.h"
#include "clean/impute.h"
#include "core/options.h"
#include "core/progress.h"

/*
 * Copy a relation into a new table, as the caller: "CREATE [TEMP] TABLE
 * dest AS SELECT * FROM relid" (dest quoted and qualified already),
 * analyzed so that sample sizes can be planned. Returns its OID.
 */
Oid
MlCopyRelation(Oid relid, const char *dest, bool temp)
{
	Oid			copyid;

	MlSpiExec(psprintf("CREATE %sTABLE %s%s AS SELECT * FROM %s", temp ? "TEMP " : "", dest,
					   temp ? " ON COMMIT DROP" : "", MlRelName(relid)),
			  0, NULL, NULL, NULL, SPI_OK_UTILITY);
	copyid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(dest)), NoLock, false);
	MlSpiExec(psprintf("ANALYZE %s", dest), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	return copyid;
}

/*
 * The relation to read: the source itself when it is a plain table or a
 * materialized view (rows addressed by ctid). Other relations (views,
 * foreign and partitioned tables) cannot be changed in place, and are
 * first copied into into_table, which is then changed in place;
 * *copied tells the caller which happened.
 */
Oid
MlPrepareOutput(Oid relid, const char *into, bool *copied)
{
	char		relkind = get_rel_relkind(relid);

	*copied = false;
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (into == NULL)
	{
		if (relkind != RELKIND_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot change \"%s\" in place: it is not a plain table", get_rel_name(relid)),
					 errhint("Pass into_table => 'name' to write the result into a new table.")));
		return relid;
	}
	if (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW)
		return relid;
	*copied = true;
	return MlCopyRelation(relid, into, false);
}

/* The target of a project built on this relation, if the caller sees one. */
char *
MlProjectTarget(Oid relid, int64 *project_id)
{
	Oid			types[2] = {NAMEOID, NAMEOID};
	Datum		values[2];
	bool		isnull;

	*project_id = 0;
	if (!OidIsValid(get_relname_relid("projects", get_namespace_oid("mlops", false))))
		return NULL;
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(get_rel_name(relid)));
	MlSpiExec("SELECT id, target::text FROM mlops.projects "
			  "WHERE relation_schema OPERATOR(pg_catalog.=) $1 AND relation_name OPERATOR(pg_catalog.=) $2 "
			  "ORDER BY id LIMIT 1", 2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	*project_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
}

/* Keep a run's fitted steps in mlops.recipes, as the extension owner. */
int64
MlStoreRecipe(void *scopep, Oid relid, const char *kind, const char *options,
			  const char *steps, const char *report, int64 project_id)
{
	MlScope    *scope = scopep;
	Oid			types[10] = {TEXTOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, INT8OID, OIDOID, OIDOID};
	Datum		values[10];
	char		nulls[10] = "          ";
	bool		isnull;
	int64		id;

	values[0] = CStringGetTextDatum(kind);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(get_namespace_name(get_rel_namespace(relid))));
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(get_rel_name(relid)));
	values[3] = CStringGetTextDatum(options);
	values[4] = CStringGetTextDatum(steps);
	values[5] = CStringGetTextDatum(report);
	values[6] = DirectFunctionCall1(namein, CStringGetDatum(scope->caller_name));
	values[7] = Int64GetDatum(project_id);
	if (project_id <= 0)
		nulls[7] = 'n';
	values[8] = ObjectIdGetDatum(relid);
	values[9] = ObjectIdGetDatum(scope->caller);
	MlScopeAsOwner(scope);
	/* the extension's SQL may be older than this library (before 0.3.0: no source_relid) */
	if (MlCatalogHasRoleOids())
		MlSpiExec("INSERT INTO mlops.recipes (kind, source_schema, source_name, options, steps, report, "
				  "created_by, project_id, source_relid, created_by_oid) "
				  "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9, $10) "
				  "RETURNING id", 10, types, values, nulls, SPI_OK_INSERT_RETURNING);
	else if (get_attnum(get_relname_relid("recipes", get_namespace_oid("mlops", false)),
				   "source_relid") != InvalidAttrNumber)
		MlSpiExec("INSERT INTO mlops.recipes (kind, source_schema, source_name, options, steps, report, "
				  "created_by, project_id, source_relid) "
				  "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8, $9) "
				  "RETURNING id", 9, types, values, nulls, SPI_OK_INSERT_RETURNING);
	else
		MlSpiExec("INSERT INTO mlops.recipes (kind, source_schema, source_name, options, steps, report, "
				  "created_by, project_id) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8) "
				  "RETURNING id", 8, types, values, nulls, SPI_OK_INSERT_RETURNING);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	{
		const char *keys[2] = {"kind", "recipe_id"};
		const char *vals[2] = {kind, psprintf(INT64_FORMAT, id)};

		/* ml_train's own audit action is "train": its recipe's is another */
		MlAudit(scope, strcmp(kind, "train") == 0 ? "train_recipe" : kind, "relation",
				quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid)),
				project_id, 2, keys, vals);
	}
	MlScopeAsCaller(scope);
	return id;
}
