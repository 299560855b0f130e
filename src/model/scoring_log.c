/*
 * scoring_log.c
 *	  The scoring log: every ml_score batch writes one mlops.scoring_log row
 *	  with, per input feature, how many of its rows fell in each bin of the
 *	  training profile and how many were missing, and the same for its
 *	  predictions.
 *
 * The counts are taken from the raw feature columns ml_score has just
 * encoded for each block (score.c), so the relation is read once: per row
 * and feature a branch and a binary search over at most nine edges.
 * Categories map the encoder's level codes to profile bins once per call;
 * a value the model never saw (no code, but not NULL) counts in "other".
 * The row is written as the extension owner, then the drift of the window
 * is checked (drift.c).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "model/drift.h"
#include "model/scoring_log.h"

/* One profile feature's counts during a call. */
typedef struct LogFeature
{
	MlProfileFeature *f;
	int			input;			/* encoder input, its raw feature and level codes */
	int			raw;
	int32	   *code_bin;		/* category: level code -> bin */
	int			ncodes;
	int64	   *count;
	int64		missing;
} LogFeature;

struct MlScoringLog
{
	int64		project_id;
	int64		model_id;
	int32		version;
	MlProfile  *profile;		/* NULL: the version has none; only rows are logged */
	int			nfeat;
	LogFeature *feat;
	LogFeature	pred;
	int			nout;			/* the model's outputs per row */
	int32	   *class_bin;		/* classifier: class -> prediction bin (nout classes) */
	int64		rows;			/* counted so far */
	char	   *what;			/* "model version 3 of project "x"" */
};

static void
not_an_input(const char *what, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the training profile of %s is malformed", what),
			 errdetail("Feature \"%s\" is not an input of the model, or not of the profiled kind.", name),
			 errhint("Retrain the version (ml_train) to record a new profile.")));
}

/* Bind a profile feature to the encoder input of the same name and kind. */
static void
bind_feature(LogFeature *lf, MlProfileFeature *f, MlEncoder *enc, const char *what)
{
	lf->f = f;
	lf->count = palloc0(sizeof(int64) * f->nbins);
	lf->input = -1;
	for (int i = 0; i < enc->ninputs; i++)
		if (strcmp(enc->inputs[i].name, f->name) == 0)
			lf->input = i;
	if (lf->input < 0 ||
		(f->kind == ML_PROFILE_CATEGORY) != (enc->inputs[lf->input].kind == ML_INPUT_CATEGORY))
		not_an_input(what, f->name);
	lf->raw = enc->inputs[lf->input].first_raw;
	if (f->kind == ML_PROFILE_CATEGORY)
	{
		MlInput    *in = &enc->inputs[lf->input];

		lf->ncodes = in->nlevels;
		lf->code_bin = palloc(sizeof(int32) * Max(in->nlevels, 1));
		for (int c = 0; c < in->nlevels; c++)
			lf->code_bin[c] = MlProfileLevelBin(f, in->levels[c]);
	}
}

/*
 * The log of a version, with its profile bound to the model's inputs;
 * memory in the current context. Nothing in it points into the model.
 */
MlScoringLog *
MlScoringLogNew(MlScope *scope, MlDeployed *e)
{
	MlScoringLog *log;
	MlTrained  *t = e->trained;

	log = palloc0(sizeof(MlScoringLog));
	log->project_id = e->project_id;
	log->model_id = e->model_id;
	log->version = e->version;
	log->nout = MlTrainedOutputs(t);
	log->what = pstrdup(e->what);
	log->profile = MlDriftLoadProfile(scope, e->model_id, e->what);
	if (log->profile == NULL)
		return log;
	log->nfeat = log->profile->nfeat;
	log->feat = palloc0(sizeof(LogFeature) * Max(log->nfeat, 1));
	for (int i = 0; i < log->nfeat; i++)
		bind_feature(&log->feat[i], &log->profile->feat[i], t->enc, e->what);
	if (log->profile->prediction)
	{
		MlProfileFeature *pf = log->profile->prediction;
		bool		classifier = t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS;

		if (classifier != (pf->kind == ML_PROFILE_CLASS))
			not_an_input(e->what, pf->name);
		log->pred.f = pf;
		log->pred.count = palloc0(sizeof(int64) * pf->nbins);
		if (classifier)
		{
			log->class_bin = palloc(sizeof(int32) * t->nclass);
			for (int c = 0; c < t->nclass; c++)
				log->class_bin[c] = MlProfileLevelBin(pf, t->classes[c]);
		}
	}
	return log;
}

/*
 * The log of one ml_score call of the deployed version e. NULL when
 * pg_mlops.drift_log_scoring is off: nothing is counted or written.
 */
MlScoringLog *
MlScoringLogStart(MlScope *scope, MlDeployed *e)
{
	if (!ml_drift_log_scoring)
		return NULL;
	return MlScoringLogNew(scope, e);
}

bool
MlScoringLogHasProfile(MlScoringLog *log)
{
	return log->profile != NULL;
}

/* The most probable class (the first of equals), as MlTrainedBestClass. */
static int
best_class(const double *o, int nclass)
{
	int			best = 0;

	for (int c = 1; c < nclass; c++)
		if (o[c] > o[best])
			best = c;
	return best;
}

/*
 * Count one block: raw feature columns, the rows' cells (NULLs tell a
 * missing category from an unseen level; without a binding, as for jsonb
 * rows, a category without a code counts as missing), predictions.
 */
void
MlScoringLogBlock(MlScoringLog *log, MlRowBinding *b, double **raw, const Datum *values,
				  const bool *nulls, int stride, int n, const double *out)
{
	int			nout;

	(void) values;
	if (log == NULL)
		return;
	log->rows += n;
	if (log->profile == NULL)
		return;
	nout = log->nout;
	for (int i = 0; i < log->nfeat; i++)
	{
		LogFeature *lf = &log->feat[i];
		const double *x = raw[lf->raw];

		if (lf->f->kind == ML_PROFILE_NUMERIC)
		{
			const double *edge = lf->f->edges;
			int			ne = lf->f->nbins - 1;

			/*
			 * The bin is the number of edges below the value (as
			 * MlProfileNumericBin finds it): at most nine comparisons
			 * without branches beat a binary search's mispredictions.
			 */
			for (int r = 0; r < n; r++)
			{
				double		v = x[r];
				int			b = 0;

				if (isnan(v))
				{
					lf->missing++;
					continue;
				}
				for (int k = 0; k < ne; k++)
					b += v > edge[k];
				lf->count[b]++;
			}
			continue;
		}
		for (int r = 0; r < n; r++)
		{
			int			attno = b ? b->attno[lf->input] : -1;

			if (!isnan(x[r]) && x[r] >= 0 && x[r] < lf->ncodes)
				lf->count[lf->code_bin[(int) x[r]]]++;
			else if (attno < 0 || nulls[(size_t) r * stride + attno])
				lf->missing++;
			else
				lf->count[lf->f->nbins - 1]++;	/* a level the model never saw */
		}
	}
	if (log->pred.f == NULL)
		return;
	for (int r = 0; r < n; r++)
	{
		const double *o = out + (size_t) r * nout;
		int			bin;

		if (log->class_bin)
			bin = log->class_bin[best_class(o, nout)];
		else
			bin = isnan(o[0]) ? -1 : MlProfileNumericBin(log->pred.f, o[0]);
		if (bin < 0)
			log->pred.missing++;
		else
			log->pred.count[bin]++;
	}
}

static void
counts_json(StringInfo s, LogFeature *lf)
{
	appendStringInfoString(s, "{\"counts\": [");
	for (int b = 0; b < lf->f->nbins; b++)
		appendStringInfo(s, "%s" INT64_FORMAT, b > 0 ? ", " : "", lf->count[b]);
	appendStringInfo(s, "], \"missing\": " INT64_FORMAT "}", lf->missing);
}

/* Counts back to zero. */
void
MlScoringLogReset(MlScoringLog *log)
{
	log->rows = 0;
	for (int i = 0; i < log->nfeat; i++)
	{
		memset(log->feat[i].count, 0, sizeof(int64) * log->feat[i].f->nbins);
		log->feat[i].missing = 0;
	}
	if (log->pred.f)
	{
		memset(log->pred.count, 0, sizeof(int64) * log->pred.f->nbins);
		log->pred.missing = 0;
	}
}

int64
MlScoringLogRows(MlScoringLog *log)
{
	return log->rows;
}

/*
 * The log's row (as the extension owner), then the project's rows older
 * than pg_mlops.drift_log_retention dropped; the counts start again.
 */
void
MlScoringLogWrite(MlScoringLog *log, MlScope *scope, const char *relation, const char *role,
				  const char *source)
{
	Oid			types[9] = {INT8OID, INT8OID, INT4OID, TEXTOID, INT8OID, NAMEOID, JSONBOID, JSONBOID,
	TEXTOID};
	Datum		values[9];
	char		nulls[10] = "         ";
	bool		was_owner = scope->as_owner;

	values[0] = Int64GetDatum(log->project_id);
	values[1] = Int64GetDatum(log->model_id);
	values[2] = Int32GetDatum(log->version);
	if (relation)
		values[3] = CStringGetTextDatum(relation);
	else
		nulls[3] = 'n';
	values[4] = Int64GetDatum(log->rows);
	values[5] = DirectFunctionCall1(namein, CStringGetDatum(role));
	values[8] = CStringGetTextDatum(source);
	nulls[6] = nulls[7] = 'n';
	if (log->profile)
	{
		StringInfoData s;

		initStringInfo(&s);
		appendStringInfoChar(&s, '{');
		for (int i = 0; i < log->nfeat; i++)
		{
			if (i > 0)
				appendStringInfoString(&s, ", ");
			escape_json(&s, log->feat[i].f->name);
			appendStringInfoString(&s, ": ");
			counts_json(&s, &log->feat[i]);
		}
		appendStringInfoChar(&s, '}');
		values[6] = DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
		nulls[6] = ' ';
		if (log->pred.f)
		{
			resetStringInfo(&s);
			counts_json(&s, &log->pred);
			values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data));
			nulls[7] = ' ';
		}
	}
	MlScopeAsOwner(scope);
	MlSpiExec("INSERT INTO mlops.scoring_log (project_id, model_id, version, relation, rows, role, "
			  "features, prediction, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			  9, types, values, nulls, SPI_OK_INSERT);
	if (ml_drift_log_retention_s > 0)
	{
		Oid			rtypes[2] = {INT8OID, TIMESTAMPTZOID};
		Datum		rvalues[2] = {Int64GetDatum(log->project_id),
			TimestampTzGetDatum(GetCurrentTransactionStartTimestamp() -
								(TimestampTz) ml_drift_log_retention_s * USECS_PER_SEC)};

		MlSpiExec("DELETE FROM mlops.scoring_log WHERE project_id OPERATOR(pg_catalog.=) $1 "
				  "AND scored_at OPERATOR(pg_catalog.<) $2",
				  2, rtypes, rvalues, NULL, SPI_OK_DELETE);
	}
	MlScoringLogReset(log);
	if (!was_owner)
		MlScopeAsCaller(scope);
}

/*
 * ml_score's end: the call's log row, then the window's drift checked
 * (alerts). Runs inside ml_score's scope; leaves it as the caller.
 */
void
MlScoringLogFinish(MlScoringLog *log, MlScope *scope, Oid relid, int64 rows)
{
	MlProfile  *profile;
	int64		project_id,
				model_id;
	int32		version;

	if (log == NULL)
		return;
	Assert(log->rows == rows);
	log->rows = rows;
	profile = log->profile;
	project_id = log->project_id;
	model_id = log->model_id;
	version = log->version;
	MlScoringLogWrite(log, scope, MlRelName(relid), scope->caller_name, "ml_score");
	if (profile)
		MlDriftAfterScore(scope, project_id, model_id, version, profile, log->what);
	MlScopeAsCaller(scope);
}
