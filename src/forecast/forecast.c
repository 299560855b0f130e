/*
 * forecast.c
 *	  ml_forecast: the next horizon steps of every fitted series of a
 *	  forecast version, with an interval.
 *
 * Which version: the deployed one, or (with a version number) any version
 * of the project for its owner and members and for engineers and admins,
 * the same roles that may read the project's versions in ml_models.
 * Series skipped at training have no rows; a NOTICE says how many.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "forecast/forecast.h"

PG_FUNCTION_INFO_V1(ml_forecast);

/* The version's payload, read as the extension owner; NULL version: the deployed one. */
static FcStored *
load_version(MlScope *scope, MlProject *p, bool pinned, int32 version, int32 *found)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(p->id), Int32GetDatum(version)};
	bool		isnull;
	char	   *algorithm;
	bytea	   *payload;
	Datum		stored;
	char	   *what;

	MlScopeAsOwner(scope);
	if (!pinned)
		MlSpiExec("SELECT version, algorithm, payload FROM mlops.models "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'deployed'",
				  1, types, values, NULL, SPI_OK_SELECT);
	else
		MlSpiExec("SELECT version, algorithm, payload FROM mlops.models "
				  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
				  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
	{
		if (pinned)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model version %d of project \"%s\" does not exist", version, p->name)));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no deployed model", p->name),
				 errhint("An engineer deploys a ready version with ml_deploy(), or pass a version number.")));
	}
	*found = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	algorithm = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	what = psprintf("model version %d of project \"%s\"", *found, p->name);
	if (algorithm == NULL || strcmp(algorithm, FC_ALGORITHM) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a forecast model", what),
				 errhint("Train forecast versions with ml_forecast_train().")));
	/* a NULL payload (a damaged row) is refused before it is detoasted */
	stored = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s has no payload", what),
				 errhint("Its row in mlops.models was altered: train a new version.")));
	payload = DatumGetByteaPCopy(stored);
	return FcStoredLoad(payload, what);
}

/* Epoch seconds as a timestamptz: wall-clock times (date, timestamp) in the session zone. */
static Datum
epoch_to_timestamptz(double epoch, bool local_time, int horizon)
{
	double		pg = epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	double		us = rint(pg * USECS_PER_SEC);
	Timestamp	ts;

	/* two days inside the range: the zone shift of a wall-clock time cannot overflow */
	if (!(us > (double) MIN_TIMESTAMP + 2 * USECS_PER_DAY &&
		  us < (double) END_TIMESTAMP - 2 * USECS_PER_DAY))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon %d reaches past the last time a timestamp can hold", horizon),
				 errhint("Ask for a shorter horizon.")));
	ts = (Timestamp) us;
	if (!local_time)
		return TimestampTzGetDatum((TimestampTz) ts);
	return DirectFunctionCall1(timestamp_timestamptz, TimestampGetDatum(ts));
}

static void
emit_series(Tuplestorestate *store, TupleDesc desc, FcStored *st, int64 i, int horizon,
			double z, double *row)
{
	FcModel    *m = &st->models[i];
	Datum		key = DirectFunctionCall1(jsonb_in, CStringGetDatum(st->key[i]));
	double		last = m->t0 + m->tspan;

	for (int h = 1; h <= horizon; h++)
	{
		double		t = last + h * m->step;
		double		f = FcPredict(&st->cfg, m, t, row);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = key;
		values[1] = epoch_to_timestamptz(t, st->local_time, horizon);
		values[2] = Float8GetDatum(f);
		values[3] = Float8GetDatum(f - z * m->sigma);
		values[4] = Float8GetDatum(f + z * m->sigma);
		tuplestore_putvalues(store, desc, values, nulls);
	}
}

Datum
ml_forecast(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	MlProject  *p;
	int32		horizon;
	bool		pinned = PG_NARGS() > 2 && !PG_ARGISNULL(2);
	int32		version = pinned ? PG_GETARG_INT32(2) : 0;
	int32		found;
	FcStored   *st;
	MemoryContext cxt,
				old;
	double		z;
	double	   *row;
	int64		skipped = 0;

	MlRequireArg(fcinfo, 1, "horizon");
	horizon = PG_GETARG_INT32(1);
	if (horizon < 1 || horizon > FC_MAX_HORIZON)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be between 1 and %d steps, not %d", FC_MAX_HORIZON, horizon)));
	InitMaterializedSRF(fcinfo, 0);

	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	if (p->access == ML_ACCESS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to forecast project \"%s\"", p->name)));
	if (strcmp(p->task, "forecast") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("project \"%s\" has task \"%s\", not \"forecast\"", p->name, p->task),
				 errhint("Score it with ml_predict() or ml_score().")));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_forecast", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	st = load_version(&scope, p, pinned, version, &found);
	z = FcNormalQuantile(0.5 + st->cfg.interval_width / 2);
	row = palloc(sizeof(double) * FcMaxParams(&st->cfg));
	for (int64 i = 0; i < st->nseries; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (st->models[i].status != FC_FITTED)
		{
			skipped++;
			continue;
		}
		/* the tuplestore copies each tuple into its own context */
		emit_series(rsinfo->setResult, rsinfo->setDesc, st, i, horizon, z, row);
	}
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg(INT64_FORMAT " series of model version %d of project \"%s\" were skipped at training and have no forecast",
						skipped, found, p->name),
				 errhint("Their keys and reasons are in the version's metrics (ml_models).")));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	return (Datum) 0;
}
