/*
 * stored.c
 *	  The payload of a model version: magic, format version, learner name,
 *	  task, classes, encoder, learner bytes, in that order.
 *
 * Reading checks each part against the others (the learner validates its
 * bytes against the encoder's feature count and the number of classes), so
 * a payload from a dump or an edited row is an error, never a crash.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/options.h"

#include "model/stored.h"

bytea *
MlTrainedSave(MlTrained *t)
{
	StringInfoData buf;

	if (t->groups)
		return MlGroupedSave(t);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, ML_PAYLOAD_MAGIC, 8);
	MlWriteInt32(&buf, ML_PAYLOAD_FORMAT);
	MlWriteString(&buf, t->learner->name);
	MlWriteInt32(&buf, t->task);
	MlWriteInt32(&buf, t->nclass);
	for (int c = 0; c < t->nclass; c++)
		MlWriteString(&buf, t->classes[c]);
	MlEncoderSave(t->enc, &buf);
	t->learner->save(t->model, &buf);
	return MlPayloadBytea(&buf);
}

static bool
is_number(const char *s)
{
	char	   *end;

	if (*s == '\0')
		return false;
	(void) strtod(s, &end);
	return *end == '\0';
}

MlTrained *
MlTrainedLoad(bytea *payload, const char *what)
{
	MlReader	r;
	MlTrained  *t = palloc0(sizeof(MlTrained));
	MlDesign	shape;
	char	   *name;

	r.data = VARDATA_ANY(payload);
	r.len = VARSIZE_ANY_EXHDR(payload);
	r.pos = 0;
	r.what = what;
	/* a forecast version (forecast/stored.c) is forecast, not scored row by row */
	if (r.len >= 8 && memcmp(r.data, "PGMLFCST", 8) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is a forecast model", what),
				 errhint("Forecast with ml_forecast(project, horizon).")));
	if (r.len >= 8 && memcmp(r.data, ML_GROUPED_MAGIC, 8) == 0)
	{
		r.pos = 8;
		return MlGroupedLoad(&r);
	}
	if (r.len < 8 || memcmp(r.data, ML_PAYLOAD_MAGIC, 8) != 0)
		MlPayloadInvalid(&r, "it does not start with the pg_mlops model header");
	r.pos = 8;
	if (MlReadInt32(&r, 0, PG_INT32_MAX) != ML_PAYLOAD_FORMAT)
		MlPayloadInvalid(&r, psprintf("its format is not %d, the one this library reads",
									  ML_PAYLOAD_FORMAT));
	name = MlReadString(&r);
	t->learner = MlLearnerByName(name);
	if (t->learner == NULL)
		MlPayloadInvalid(&r, psprintf("algorithm \"%s\" is unknown to this library", name));
	t->task = (MlTask) MlReadInt32(&r, ML_TASK_REGRESSION, ML_TASK_CLUSTERING);
	if (!t->learner->supports(t->task))
		MlPayloadInvalid(&r, "its algorithm does not support its task");
	t->nclass = MlReadInt32(&r, t->task == ML_TASK_BINARY ? 2 : t->task == ML_TASK_MULTICLASS ? 3 : 0,
							t->task == ML_TASK_BINARY ? 2 : t->task == ML_TASK_MULTICLASS ? 100000 :
							t->task == ML_TASK_CLUSTERING ? 100000 : 0);
	if (t->nclass > (r.len - r.pos) / 4)
		MlPayloadInvalid(&r, "it ends too early");
	t->classes = palloc(sizeof(char *) * Max(t->nclass, 1));
	t->numeric_classes = true;
	for (int c = 0; c < t->nclass; c++)
	{
		t->classes[c] = MlReadString(&r);
		t->numeric_classes &= is_number(t->classes[c]);
	}
	t->enc = MlEncoderLoad(&r);
	MlEncoderShape(t->enc, &shape);
	shape.task = t->task;
	shape.nclass = t->nclass;
	t->model = t->learner->load(&r, &shape);
	MlReadEnd(&r);
	return t;
}

/* Values predict writes per row. */
int
MlTrainedOutputs(MlTrained *t)
{
	return (t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS) ? t->nclass : 1;
}

void
MlTrainedPredictRow(MlTrained *t, double *feat, double *out)
{
	MlDesign	d;
	double	  **col;

	/* the pointer array lives as long as the model (its cache entry), not per row */
	if (t->rowcol == NULL)
		t->rowcol = MemoryContextAlloc(GetMemoryChunkContext(t->enc),
									   sizeof(double *) * Max(t->enc->nfeat, 1));
	col = t->rowcol;
	MlEncoderShape(t->enc, &d);
	d.task = t->task;
	d.nclass = t->nclass;
	d.nrows = 1;
	for (int f = 0; f < t->enc->nfeat; f++)
		col[f] = &feat[f];
	if (t->groups)
	{
		MlGroupedPredict(t, col, 1, out);
		return;
	}
	d.col = col;
	t->learner->predict(t->model, &d, out);
}

/*
 * Score n rows of features, column-major (col[f][r]), into out: the
 * learner's predict on one design of n rows, MlTrainedOutputs values a row.
 */
void
MlTrainedPredict(MlTrained *t, double **col, int64 n, double *out)
{
	MlDesign	d;

	if (t->groups)
	{
		MlGroupedPredict(t, col, n, out);
		return;
	}
	MlEncoderShape(t->enc, &d);
	d.task = t->task;
	d.nclass = t->nclass;
	d.nrows = n;
	d.col = col;
	t->learner->predict(t->model, &d, out);
}

/* MlTrainedPredict begun in the background where the learner can (trees). */
struct MlPredictJob
{
	MlTrained  *t;
	MlDesign	d;
	double	   *out;
	void	   *job;			/* the learner's; NULL: the rows were scored at the start */
};

/*
 * Start MlTrainedPredict(t, col, n, out), to be finished by
 * MlTrainedPredictFinish (out is filled then) or dropped by
 * MlTrainedPredictCancel; col and out must stay until then. A learner
 * without a background predict scores here and now.
 */
MlPredictJob *
MlTrainedPredictStart(MlTrained *t, double **col, int64 n, double *out)
{
	MlPredictJob *j = palloc0(sizeof(MlPredictJob));

	j->t = t;
	j->out = out;
	if (t->groups || t->learner->predict_start == NULL)
	{
		MlTrainedPredict(t, col, n, out);
		return j;
	}
	MlEncoderShape(t->enc, &j->d);
	j->d.task = t->task;
	j->d.nclass = t->nclass;
	j->d.nrows = n;
	j->d.col = col;
	j->job = t->learner->predict_start(t->model, &j->d, out);
	return j;
}

void
MlTrainedPredictFinish(MlPredictJob *j)
{
	if (j == NULL)
		return;
	if (j->job)
		j->t->learner->predict_finish(j->t->model, j->job, &j->d, j->out);
	j->job = NULL;
}

void
MlTrainedPredictCancel(MlPredictJob *j)
{
	if (j == NULL)
		return;
	if (j->job)
		j->t->learner->predict_cancel(j->job);
	j->job = NULL;
}

/* A classifier's most probable class (the first of equals). */
int
MlTrainedBestClass(MlTrained *t, const double *out)
{
	int			best = 0;

	for (int c = 1; c < t->nclass; c++)
		if (out[c] > out[best])
			best = c;
	return best;
}

/*
 * A classifier's probabilities as jsonb: {"label": p, ...}. Built as
 * jsonb_in would parse the text MlJsonNumber writes (numbers through
 * numeric_in, non-finite ones as strings), without the text and its
 * parse: ml_score writes one per row.
 */
Datum
MlTrainedProbaJsonb(MlTrained *t, const double *out)
{
	JsonbParseState *st = NULL;
	JsonbValue	k,
				v;
	StringInfoData num;

	initStringInfo(&num);
	(void) pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (int c = 0; c < t->nclass; c++)
	{
		k.type = jbvString;
		k.val.string.val = t->classes[c];
		k.val.string.len = strlen(t->classes[c]);
		(void) pushJsonbValue(&st, WJB_KEY, &k);
		resetStringInfo(&num);
		MlJsonNumber(&num, out[c]);
		if (num.data[0] == '"')
		{
			v.type = jbvString;
			v.val.string.val = pnstrdup(num.data + 1, num.len - 2);
			v.val.string.len = num.len - 2;
		}
		else
		{
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(num.data),
																ObjectIdGetDatum(InvalidOid),
																Int32GetDatum(-1)));
		}
		(void) pushJsonbValue(&st, WJB_VALUE, &v);
	}
	pfree(num.data);
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL)));
}

/*
 * Score n rows given as raw feature columns (what MlEncodeRow or
 * MlEncoderRaw produce): the dense stage when the model needs it, then one
 * batch prediction into out (MlTrainedOutputs values per row).
 */
void
MlTrainedPredictRaw(MlTrained *t, double **raw, int64 n, double *out)
{
	MlEncoder  *enc = t->enc;
	double	  **feat = raw;

	if (enc->dense)
	{
		feat = palloc(sizeof(double *) * Max(enc->nfeat, 1));
		for (int f = 0; f < enc->nfeat; f++)
			feat[f] = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
		MlEncoderDensify(enc, raw, n, feat);
	}
	MlTrainedPredict(t, feat, n, out);
	if (feat != raw)
	{
		for (int f = 0; f < enc->nfeat; f++)
			pfree(feat[f]);
		pfree(feat);
	}
}
