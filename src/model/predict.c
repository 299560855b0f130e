/*
 * predict.c
 *	  Scoring: ml_predict, ml_predict_label and ml_predict_proba on a row of
 *	  any table or composite type (columns bound by name) or on jsonb.
 *
 * The model comes from the per-backend cache (deployed.c); the binding of
 * the row type and the work buffers live in fn_extra, so a call per row
 * costs a deform, one pass over the inputs and the learner's prediction.
 * The functions are STABLE (they read the deployment, which a statement
 * sees as of its snapshot) and PARALLEL RESTRICTED (their catalog reads pin
 * search_path, which parallel workers may not change).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "core/catalog.h"
#include "core/options.h"
#include "model/deployed.h"
#include "model/scoring_log.h"

PG_FUNCTION_INFO_V1(ml_predict_row);
PG_FUNCTION_INFO_V1(ml_predict_json);
PG_FUNCTION_INFO_V1(ml_predict_label_row);
PG_FUNCTION_INFO_V1(ml_predict_label_json);
PG_FUNCTION_INFO_V1(ml_predict_proba_row);
PG_FUNCTION_INFO_V1(ml_predict_proba_json);
PG_FUNCTION_INFO_V1(ml_score_value);
PG_FUNCTION_INFO_V1(ml_score_label);
PG_FUNCTION_INFO_V1(ml_score_proba);

typedef struct CallState
{
	uint64		generation;		/* of the cache when e was fetched */
	char	   *project;
	int64		model_id;
	MlDeployed *e;
	MlRowBinding *binding;
	Oid			rowtype;
	int32		rowtypmod;
	double	   *raw;
	double	   *feat;
	double	   *out;
	Datum	   *values;
	bool	   *nulls;
	int			natts;
	TupleDesc	desc;			/* copy of the bound row type's descriptor */
	MemoryContext cxt;			/* the above, per fetched model: reset on refetch */
} CallState;

static CallState *
call_state(FunctionCallInfo fcinfo, const char *project, int64 model_id)
{
	CallState  *st = fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (st == NULL)
	{
		st = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallState));
		st->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "pg_mlops scoring call",
										ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = st;
	}
	if (st->e != NULL && st->generation == MlDeployedGeneration &&
		st->model_id == model_id && strcmp(st->project, project) == 0 &&
		st->e->role == GetUserId())
		return st;
	/* (re)fetch: a new project, or the cache was flushed */
	st->e = NULL;
	MemoryContextReset(st->cxt);
	st->e = MlDeployedGet(project, model_id);
	st->generation = MlDeployedGeneration;
	old = MemoryContextSwitchTo(st->cxt);
	st->project = pstrdup(project);
	st->model_id = model_id;
	st->binding = NULL;
	st->raw = palloc(sizeof(double) * st->e->trained->enc->nraw);
	st->feat = palloc(sizeof(double) * Max(st->e->trained->enc->nfeat, 1));
	st->out = palloc(sizeof(double) * MlTrainedOutputs(st->e->trained));
	MemoryContextSwitchTo(old);
	return st;
}

/* Features of a composite argument, bound by column name. */
static void
encode_row(FunctionCallInfo fcinfo, CallState *st, int argno)
{
	HeapTupleHeader th;
	HeapTupleData tuple;
	Oid			typid;
	int32		typmod;

	if (!type_is_rowtype(get_fn_expr_argtype(fcinfo->flinfo, argno)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the row to score must be a row of a table or a composite value"),
				 errhint("Pass the table alias, as in ml_predict('project', t) FROM t, or a jsonb object.")));
	th = PG_GETARG_HEAPTUPLEHEADER(argno);
	typid = HeapTupleHeaderGetTypeId(th);
	typmod = HeapTupleHeaderGetTypMod(th);
	if (st->binding == NULL || st->rowtype != typid || st->rowtypmod != typmod)
	{
		TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);
		MemoryContext old = MemoryContextSwitchTo(st->cxt);

		st->binding = MlBindRow(st->e->trained->enc, desc, st->e->what);
		st->desc = CreateTupleDescCopy(desc);
		st->natts = desc->natts;
		st->values = palloc(sizeof(Datum) * Max(desc->natts, 1));
		st->nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
		MemoryContextSwitchTo(old);
		st->rowtype = typid;
		st->rowtypmod = typmod;
		ReleaseTupleDesc(desc);
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	heap_deform_tuple(&tuple, st->desc, st->values, st->nulls);
	MlEncodeRow(st->e->trained->enc, st->binding, st->values, st->nulls, st->raw, st->feat);
}

/* Score the argument into st->out. */
static CallState *
score(FunctionCallInfo fcinfo, const char *project, int64 model_id, int argno, bool json)
{
	CallState  *st = call_state(fcinfo, project, model_id);

	MlApiRowStart(st->e->exposure);
	if (json)
		MlEncodeJson(st->e->trained->enc, PG_GETARG_JSONB_P(argno), st->raw, st->feat, st->e->what);
	else
		encode_row(fcinfo, st, argno);
	MlTrainedPredictRow(st->e->trained, st->feat, st->out);
	MlApiRow(st->e->exposure);	/* metered, and charged to a quota, through an exposure */
	if (ml_drift_sample_rows > 0)	/* drift: 1 row in N counted (predict_log.c) */
		MlScoringLogSample(st->e, json ? NULL : st->binding, st->raw, st->values, st->nulls, st->out);
	return st;
}

static bool
is_classifier(MlTrained *t)
{
	return t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS;
}

static Datum
value_of(CallState *st)
{
	MlTrained  *t = st->e->trained;

	if (!is_classifier(t))
		return Float8GetDatum(st->out[0]);
	if (!t->numeric_classes)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s predicts text labels, not numbers", st->e->what),
				 errhint("Use ml_predict_label() for the label or ml_predict_proba() for probabilities.")));
	return Float8GetDatum(strtod(t->classes[MlTrainedBestClass(t, st->out)], NULL));
}

static Datum
label_of(CallState *st)
{
	MlTrained  *t = st->e->trained;

	if (!is_classifier(t))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a classifier", st->e->what),
				 errhint("Use ml_predict() for its predictions.")));
	return CStringGetTextDatum(t->classes[MlTrainedBestClass(t, st->out)]);
}

static Datum
proba_of(CallState *st)
{
	MlTrained  *t = st->e->trained;

	if (!is_classifier(t))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is not a classifier", st->e->what),
				 errhint("Use ml_predict() for its predictions.")));
	return MlTrainedProbaJsonb(t, st->out);
}

static char *
project_arg(FunctionCallInfo fcinfo)
{
	return text_to_cstring(PG_GETARG_TEXT_PP(0));
}

/* ml_predict(project text, row anyelement) and the jsonb form: STRICT. */
Datum
ml_predict_row(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(value_of(score(fcinfo, project_arg(fcinfo), 0, 1, false)));
}

Datum
ml_predict_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(value_of(score(fcinfo, project_arg(fcinfo), 0, 1, true)));
}

Datum
ml_predict_label_row(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(label_of(score(fcinfo, project_arg(fcinfo), 0, 1, false)));
}

Datum
ml_predict_label_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(label_of(score(fcinfo, project_arg(fcinfo), 0, 1, true)));
}

Datum
ml_predict_proba_row(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(proba_of(score(fcinfo, project_arg(fcinfo), 0, 1, false)));
}

Datum
ml_predict_proba_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(proba_of(score(fcinfo, project_arg(fcinfo), 0, 1, true)));
}

/*
 * mlops.score_*(project text, model bigint, row anyelement): a pinned version
 * scored per row. ml_score called these before it scored in blocks; they stay
 * in the installed SQL.
 */
static int64
model_arg(FunctionCallInfo fcinfo)
{
	int64		id = PG_GETARG_INT64(1);

	if (id <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model id must be positive")));
	return id;
}

Datum
ml_score_value(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(value_of(score(fcinfo, project_arg(fcinfo), model_arg(fcinfo), 2, false)));
}

Datum
ml_score_label(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(label_of(score(fcinfo, project_arg(fcinfo), model_arg(fcinfo), 2, false)));
}

Datum
ml_score_proba(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(proba_of(score(fcinfo, project_arg(fcinfo), model_arg(fcinfo), 2, false)));
}
