/*
 * versions.c
 *	  A new model version row, numbered under a lock on its project.
 *
 * Trainers of one project take the project row FOR UPDATE, so they number
 * versions one at a time; the INSERT still guards against a trainer whose
 * snapshot predates another's commit (repeatable read), which would number
 * the same version: that is a serialization failure to retry, never a
 * duplicate key.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"

#include "model/versions.h"

/*
 * The OID of the relation the version was just trained on: the project's,
 * under the name the trainer's reading resolved in this transaction
 * (InvalidOid if it is gone already).
 */
static Oid
training_relid(const MlProject *p)
{
	Oid			nsp = get_namespace_oid(p->relation_schema, true);

	return OidIsValid(nsp) ? get_relname_relid(p->relation_name, nsp) : InvalidOid;
}

int32
MlStoreVersion(MlScope *scope, MlProject *p, const MlVersionRow *row)
{
	Oid			types[17] = {INT8OID, TEXTOID, JSONBOID, JSONBOID, BYTEAOID, INT4OID, TEXTOID,
	INT8OID, TEXTOID, NAMEOID, JSONBOID, JSONBOID, INT4OID, JSONBOID, INT8OID, OIDOID, OIDOID};
	Datum		values[17];
	char		nulls[18] = "                 ";
	bool		by_oid = MlCatalogHasColumn("models", "created_by_oid");
	bool		by_relid = by_oid && MlCatalogHasColumn("models", "training_relid");
	int32		version;
	bool		isnull;

	MlScopeAsOwner(scope);
	values[0] = Int64GetDatum(p->id);
	MlSpiExec("SELECT 1 FROM mlops.projects WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, types, values, NULL, SPI_OK_SELECT);
	MlSpiExec("SELECT COALESCE(pg_catalog.max(version), 0) "
			  "FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	/* counted here, not in SQL: the last number (an altered row) is an error of ours */
	if (version == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("project \"%s\" has no model version number left", p->name),
				 errdetail("Its highest version is %d.", version),
				 errhint("Train into a new project.")));
	version++;

	values[1] = CStringGetTextDatum(row->algorithm);
	values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->hyperparameters));
	values[3] = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->metrics));
	values[4] = PointerGetDatum(row->payload);
	values[5] = Int32GetDatum(row->payload_format);
	values[6] = CStringGetTextDatum(quote_qualified_identifier(p->relation_schema, p->relation_name));
	values[7] = Int64GetDatum(row->row_count);
	values[8] = CStringGetTextDatum(row->fingerprint);
	values[9] = DirectFunctionCall1(namein, CStringGetDatum(scope->caller_name));
	values[10] = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->features));
	values[11] = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->training));
	values[12] = Int32GetDatum(version);
	/* the training profile drift is measured against (model/profile.c) */
	if (row->profile)
		values[13] = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->profile));
	else
		nulls[13] = 'n';
	/* lineage: the cleaning recipe the features were prepared with */
	values[14] = Int64GetDatum(row->recipe_id);
	if (row->recipe_id <= 0)
		nulls[14] = 'n';
	/* its trainer by OID: who sees it whatever the relation's row-level security */
	values[15] = ObjectIdGetDatum(scope->caller);
	/* the training relation by OID: visibility follows it through renames */
	values[16] = ObjectIdGetDatum(training_relid(p));
	nulls[16] = OidIsValid(DatumGetObjectId(values[16])) ? ' ' : 'n';
	MlSpiExec(by_relid ?
			  "INSERT INTO mlops.models (project_id, algorithm, hyperparameters, metrics, payload, "
			  "payload_format, training_relation, row_count, data_fingerprint, created_by, "
			  "features, training, version, profile, recipe_id, created_by_oid, training_relid) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
			  "ON CONFLICT (project_id, version) DO NOTHING" :
			  by_oid ?
			  "INSERT INTO mlops.models (project_id, algorithm, hyperparameters, metrics, payload, "
			  "payload_format, training_relation, row_count, data_fingerprint, created_by, "
			  "features, training, version, profile, recipe_id, created_by_oid) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
			  "ON CONFLICT (project_id, version) DO NOTHING" :
			  "INSERT INTO mlops.models (project_id, algorithm, hyperparameters, metrics, payload, "
			  "payload_format, training_relation, row_count, data_fingerprint, created_by, "
			  "features, training, version, profile, recipe_id) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
			  "ON CONFLICT (project_id, version) DO NOTHING",
			  by_relid ? 17 : by_oid ? 16 : 15, types, values, nulls, SPI_OK_INSERT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not number the new version of project \"%s\": another trainer stored version %d first",
						p->name, version),
				 errhint("Retry the transaction.")));
	{
		const char *keys[3] = {"version", "algorithm", row->audit_key};
		const char *vals[3] = {psprintf("%d", version), row->algorithm, row->audit_value};

		MlAudit(scope, row->audit_action, "model", p->name, p->id,
				row->audit_key ? 3 : 2, keys, vals);
	}
	/* scoring caches in every backend drop what they hold for the project */
	MlCatalogInvalidate();
	return version;
}

/* The (version, second, metrics jsonb) row ml_train and ml_train_groups return. */
Datum
MlVersionResult(FunctionCallInfo fcinfo, int32 version, Datum second, const char *metrics)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "a training function must return a row");
	values[0] = Int32GetDatum(version);
	values[1] = second;
	values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}
