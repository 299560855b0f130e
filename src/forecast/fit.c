/*
 * fit.c
 *	  ml_forecast_train: read a forecast project's relation as time series,
 *	  fit one Prophet-style model per series on worker threads, store them
 *	  as one model version.
 *
 * workers is the number of CPUs the call uses, the backend included. The
 * backend reads and groups the rows (series.c); with workers > 1, each
 * series whose rows have all been read is queued for workers - 1
 * compute-only threads (workers.c) that fit it (prophet.c) while the
 * backend goes on reading, so reading and fitting overlap. When the read is
 * done the backend fits queued series too, then whatever could not be
 * queued (a series whose rows came in several runs, refitted on all its
 * points). The backend allocates every buffer a fit writes before queueing
 * it. The version row, its payload and an audit row are written as the
 * extension owner after the caller's rights were checked, as ml_train does.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "parser/parse_coerce.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/catalog.h"
#include "core/frame.h"
#include "core/options.h"
#include "core/run_progress.h"
#include "forecast/forecast.h"
#include "model/versions.h"

PG_FUNCTION_INFO_V1(ml_forecast_train);

#define MAX_SERIES_BY 32
#define SKIPPED_LISTED 20		/* skipped series named in the metrics */

/* queued fits: blocks that never move, so threads read them while more are added */
#define QUEUE_BLOCK 1024
#define QUEUE_BLOCKS 1024
#define SLAB_MODELS 256

/* One fit: copies of what the thread reads, so later rows never race with it. */
typedef struct FitTask
{
	const double *ts;
	const double *y;
	int			n;
	FcModel    *out;
	uint64	   *hash;
} FitTask;

typedef struct FitCtx
{
	const FcConfig *cfg;
	int			model_doubles;	/* beta and changepoints of one model */
	double	   *slab;			/* model buffers not yet given out */
	int			slab_left;
	FcPool	   *pool;			/* NULL: nothing is fitted while reading */
	int64		queued;
	FitTask    *queue[QUEUE_BLOCKS];
	FitTask    *left;			/* fitted after the read */
	FcWorkspace ws[FC_MAX_WORKERS];
} FitCtx;

/* thread: compute-only */
static void
run_task(FitCtx *c, const FitTask *t, int worker)
{
	FcFit(c->cfg, t->ts, t->y, t->n, &c->ws[worker], t->out);
	*t->hash = t->n == 0 ? 0 :
		hash_combine64(hash_bytes_extended((const unsigned char *) t->ts, sizeof(double) * t->n, 0),
					   hash_bytes_extended((const unsigned char *) t->y, sizeof(double) * t->n, 0));
}

/* thread: compute-only */
static void
fit_queued(void *arg, int64 task, int worker)
{
	FitCtx	   *c = arg;

	run_task(c, &c->queue[task / QUEUE_BLOCK][task % QUEUE_BLOCK], worker);
}

/* thread: compute-only */
static void
fit_left(void *arg, int64 task, int worker)
{
	FitCtx	   *c = arg;

	run_task(c, &c->left[task], worker);
}

/* A fit's task, its model's buffers taken from the slab. */
static void
make_task(FitCtx *c, FcSeries *fs, FitTask *t)
{
	if (c->slab_left == 0)
	{
		c->slab = palloc_extended(sizeof(double) * SLAB_MODELS * c->model_doubles, MCXT_ALLOC_HUGE);
		c->slab_left = SLAB_MODELS;
	}
	memset(&fs->model, 0, sizeof(FcModel));
	fs->model.beta = c->slab;
	fs->model.cp = c->slab + FcMaxParams(c->cfg);
	c->slab += c->model_doubles;
	c->slab_left--;
	t->ts = fs->ts;
	t->y = fs->y;
	t->n = fs->len;
	t->out = &fs->model;
	t->hash = &fs->hash;
}

/* series.c: a series' rows were read; queue its fit for the threads. */
static void
series_ready(void *arg, FcSeries *fs)
{
	FitCtx	   *c = arg;
	int64		b = c->queued / QUEUE_BLOCK;

	if (c->pool == NULL || b >= QUEUE_BLOCKS)
		return;
	if (c->queue[b] == NULL)
		c->queue[b] = palloc(sizeof(FitTask) * QUEUE_BLOCK);
	make_task(c, fs, &c->queue[b][c->queued % QUEUE_BLOCK]);
	fs->queued = true;
	FcPoolPublish(c->pool, ++c->queued);
}

/* "auto" (-1), true (1) or false (0) */
static int
tri_state(JsonbContainer *opts, const char *key)
{
	JsonbValue *v = MlOptGet(opts, key);

	if (v == NULL)
		return -1;
	if (v->type == jbvBool)
		return v->val.boolean ? 1 : 0;
	if (v->type == jbvString && v->val.string.len == 4 &&
		strncmp(v->val.string.val, "auto", 4) == 0)
		return -1;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"%s\" must be true, false or \"auto\"", key)));
	return -1;					/* keep compiler quiet */
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/* Dates (JSON strings) as sorted, distinct epoch days. */
static void
holiday_group(FcConfig *cfg, const char *name, JsonbValue *v)
{
	int			g = cfg->nholidays;
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;
	int			n = 0;
	double	   *days;

	if (g >= FC_MAX_HOLIDAY_GROUPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"holidays\" names more than %d holidays", FC_MAX_HOLIDAY_GROUPS)));
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerSize(v->val.binary.data) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holiday \"%s\" must be a non-empty array of dates", name),
				 errhint("Write holidays as [\"2024-12-25\", ...] or {\"name\": [\"2024-12-25\", ...]}.")));
	days = palloc(sizeof(double) * JsonContainerSize(v->val.binary.data));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		DateADT		d;

		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("holiday \"%s\" must be an array of dates written as strings", name)));
		d = DatumGetDateADT(DirectFunctionCall1(date_in,
												CStringGetDatum(pnstrdup(elem.val.string.val,
																		 elem.val.string.len))));
		if (DATE_NOT_FINITE(d))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("holiday \"%s\" holds an infinite date", name)));
		days[n++] = (double) d + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE);
	}
	qsort(days, n, sizeof(double), cmp_double);
	{
		int			m = 0;

		for (int i = 0; i < n; i++)
			if (m == 0 || days[i] != days[m - 1])
				days[m++] = days[i];
		n = m;
	}
	cfg->holiday_name = repalloc(cfg->holiday_name, sizeof(char *) * (g + 1));
	cfg->holiday_ndays = repalloc(cfg->holiday_ndays, sizeof(int) * (g + 1));
	cfg->holiday_days = repalloc(cfg->holiday_days, sizeof(double *) * (g + 1));
	cfg->holiday_name[g] = pstrdup(name);
	cfg->holiday_ndays[g] = n;
	cfg->holiday_days[g] = days;
	cfg->nholidays = g + 1;
}

/* holidays: an array of dates (one effect) or {"name": [dates], ...} (one each) */
static void
read_holidays(JsonbContainer *opts, FcConfig *cfg)
{
	JsonbValue *v = MlOptGet(opts, "holidays");

	cfg->nholidays = 0;
	cfg->holiday_name = palloc(sizeof(char *));
	cfg->holiday_ndays = palloc(sizeof(int));
	cfg->holiday_days = palloc(sizeof(double *));
	if (v == NULL)
		return;
	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	k,
					val;
		JsonbIteratorToken tok;
		char	   *name = NULL;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				name = pnstrdup(k.val.string.val, k.val.string.len);
			else if (tok == WJB_VALUE)
			{
				val = k;
				holiday_group(cfg, name, &val);
			}
		}
		if (cfg->nholidays == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"holidays\" names no holiday")));
	}
	else
		holiday_group(cfg, "holidays", v);
}

static int
default_workers(void)
{
	return Max(1, Min(max_parallel_workers_per_gather, FC_MAX_WORKERS));
}

static void
read_options(JsonbContainer *opts, FcConfig *cfg, int *workers)
{
	static const char *const valid[] = {
		"n_changepoints", "changepoint_range", "changepoint_prior_scale",
		"seasonality_prior_scale", "holidays_prior_scale", "weekly", "weekly_order",
		"yearly", "yearly_order", "holidays", "interval_width", "min_points", "workers",
		"seasonality_mode", NULL
	};
	char	   *mode;

	if (MlOptGet(opts, "regressors") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("option \"regressors\" is not supported"),
				 errdetail("A regressor's future values would be needed to forecast, and ml_forecast takes none."),
				 errhint("Model known future effects as holidays, or train a regression project on the regressors.")));
	MlOptCheckKeys(opts, "forecasting options", valid);
	cfg->n_changepoints = MlOptInt(opts, "n_changepoints", 25, 0, FC_MAX_CHANGEPOINTS);
	cfg->changepoint_range = MlOptRange(opts, "changepoint_range", 0.8, 0.05, 1.0);
	cfg->changepoint_prior = MlOptRange(opts, "changepoint_prior_scale", 0.05, 1e-6, 1e6);
	cfg->seasonality_prior = MlOptRange(opts, "seasonality_prior_scale", 10, 1e-6, 1e6);
	cfg->holiday_prior = MlOptRange(opts, "holidays_prior_scale", 10, 1e-6, 1e6);
	cfg->weekly = tri_state(opts, "weekly");
	cfg->weekly_order = MlOptInt(opts, "weekly_order", 3, 1, FC_MAX_WEEKLY_ORDER);
	cfg->yearly = tri_state(opts, "yearly");
	cfg->yearly_order = MlOptInt(opts, "yearly_order", 10, 1, FC_MAX_YEARLY_ORDER);
	cfg->interval_width = MlOptRange(opts, "interval_width", 0.8, 0.01, 0.99);
	cfg->min_points = MlOptInt(opts, "min_points", 10, 3, PG_INT32_MAX);
	*workers = MlOptInt(opts, "workers", default_workers(), 1, FC_MAX_WORKERS);
	mode = MlOptString(opts, "seasonality_mode", "additive");
	if (strcmp(mode, "additive") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("seasonality mode \"%s\" is not supported", mode),
				 errhint("Only \"additive\" is; for multiplicative effects forecast the logarithm of the target.")));
	read_holidays(opts, cfg);
}

static Oid
column_type(Oid relid, const char *name, const char *what)
{
	AttrNumber	att = get_attnum(relid, name);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("%s column \"%s\" of relation \"%s\" does not exist",
						what, name, get_rel_name(relid)),
				 errhint("Column names are case-sensitive here: pass the name exactly as stored.")));
	return getBaseType(get_atttype(relid, att));
}

/* The columns' existence and types, before anything is read. */
static void
check_columns(Oid relid, MlProject *p, const char *time_column, List *series_by)
{
	Oid			ttype = column_type(relid, time_column, "time");
	Oid			vtype = column_type(relid, p->target, "target");
	ListCell   *lc;

	if (ttype != DATEOID && ttype != TIMESTAMPOID && ttype != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" has type %s, but it must be a date or a timestamp",
						time_column, format_type_be(ttype))));
	if (vtype != INT2OID && vtype != INT4OID && vtype != INT8OID && vtype != FLOAT4OID &&
		vtype != FLOAT8OID && vtype != NUMERICOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" has type %s, but a forecast needs a numeric column",
						p->target, format_type_be(vtype))));
	if (strcmp(time_column, p->target) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the time column cannot be the target \"%s\"", p->target)));
	foreach(lc, series_by)
	{
		(void) column_type(relid, lfirst(lc), "series_by");
		if (strcmp(lfirst(lc), p->target) == 0 || strcmp(lfirst(lc), time_column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("series_by column \"%s\" cannot be the target or the time column",
							(char *) lfirst(lc))));
	}
}

static double
elapsed_s(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

static const char *
skip_reason(FcModel *m, const FcConfig *cfg)
{
	switch (m->status)
	{
		case FC_SKIP_SHORT:
			return psprintf("fewer than %d points (min_points)", cfg->min_points);
		case FC_SKIP_ONE_TIME:
			return "every point has the same time";
		case FC_SKIP_FAILED:
			return "the regression could not be solved (or its values overflow)";
		default:
			return "fitted";
	}
}

/* The call's metrics: series fitted and skipped, gaps, in-sample errors. */
static char *
metrics_json(FcStored *st, FcSeriesSet *set, int workers, double load_s, double fit_s)
{
	StringInfoData out;
	int64		fitted = 0,
				gaps = 0,
				missing = 0,
				dups = 0,
				reduced = 0,
				weekly = 0,
				yearly = 0,
				listed = 0;
	double		rmse = 0,
				mae = 0,
				smape = 0;

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"skipped_series\": [");
	for (int64 i = 0; i < st->nseries; i++)
	{
		FcModel    *m = &st->models[i];

		missing += m->missing;
		dups += m->duplicates;
		gaps += m->missing > 0;
		if (m->status != FC_FITTED)
		{
			if (listed++ < SKIPPED_LISTED)
			{
				appendStringInfo(&out, "%s{\"series\": %s, \"points\": %d, \"reason\": ",
								 listed > 1 ? ", " : "", st->key[i], m->npoints);
				escape_json(&out, skip_reason(m, &st->cfg));
				appendStringInfoChar(&out, '}');
			}
			continue;
		}
		fitted++;
		rmse += m->rmse;
		mae += m->mae;
		smape += m->smape;
		reduced += m->reduced;
		weekly += m->weekly > 0;
		yearly += m->yearly > 0;
	}
	appendStringInfo(&out, "], \"series\": " INT64_FORMAT ", \"fitted\": " INT64_FORMAT
					 ", \"skipped\": " INT64_FORMAT ", \"points\": " INT64_FORMAT
					 ", \"rows_without_value\": " INT64_FORMAT ", \"rows_without_time\": " INT64_FORMAT
					 ", \"missing_points\": " INT64_FORMAT ", \"series_with_gaps\": " INT64_FORMAT
					 ", \"duplicate_times\": " INT64_FORMAT ", \"simpler_models\": " INT64_FORMAT
					 ", \"with_weekly\": " INT64_FORMAT ", \"with_yearly\": " INT64_FORMAT,
					 st->nseries, fitted, st->nseries - fitted, set->npoints,
					 set->rows_without_value, set->rows_without_time, missing, gaps, dups,
					 reduced, weekly, yearly);
	if (fitted > 0)
	{
		appendStringInfoString(&out, ", \"rmse\": ");
		MlJsonNumber(&out, rmse / fitted);
		appendStringInfoString(&out, ", \"mae\": ");
		MlJsonNumber(&out, mae / fitted);
		appendStringInfoString(&out, ", \"smape\": ");
		MlJsonNumber(&out, smape / fitted);
	}
	appendStringInfo(&out, ", \"workers\": %d, \"load_seconds\": ", workers);
	MlJsonNumber(&out, load_s);
	appendStringInfoString(&out, ", \"fit_seconds\": ");
	MlJsonNumber(&out, fit_s);
	appendStringInfoChar(&out, '}');
	return out.data;
}

static void
string_array(StringInfo out, List *names)
{
	ListCell   *lc;

	appendStringInfoChar(out, '[');
	foreach(lc, names)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, lfirst(lc));
	}
	appendStringInfoChar(out, ']');
}

static void
tri_json(StringInfo out, int v)
{
	appendStringInfoString(out, v < 0 ? "\"auto\"" : v ? "true" : "false");
}

/* The settings, as stored in hyperparameters. */
static char *
params_json(const FcConfig *c)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfo(&out, "{\"n_changepoints\": %d, \"changepoint_range\": ", c->n_changepoints);
	MlJsonNumber(&out, c->changepoint_range);
	appendStringInfoString(&out, ", \"changepoint_prior_scale\": ");
	MlJsonNumber(&out, c->changepoint_prior);
	appendStringInfoString(&out, ", \"seasonality_prior_scale\": ");
	MlJsonNumber(&out, c->seasonality_prior);
	appendStringInfoString(&out, ", \"holidays_prior_scale\": ");
	MlJsonNumber(&out, c->holiday_prior);
	appendStringInfoString(&out, ", \"weekly\": ");
	tri_json(&out, c->weekly);
	appendStringInfo(&out, ", \"weekly_order\": %d, \"yearly\": ", c->weekly_order);
	tri_json(&out, c->yearly);
	appendStringInfo(&out, ", \"yearly_order\": %d, \"min_points\": %d, \"interval_width\": ",
					 c->yearly_order, c->min_points);
	MlJsonNumber(&out, c->interval_width);
	appendStringInfoString(&out, ", \"seasonality_mode\": \"additive\", \"holidays\": {");
	for (int g = 0; g < c->nholidays; g++)
	{
		if (g > 0)
			appendStringInfoString(&out, ", ");
		escape_json(&out, c->holiday_name[g]);
		appendStringInfo(&out, ": %d", c->holiday_ndays[g]);
	}
	appendStringInfoString(&out, "}}");
	return out.data;
}

static char *
training_json(FcStored *st, FcSeriesSet *set, const char *time_column, List *series_by,
			  int workers, double fit_s)
{
	StringInfoData out;
	int64		listed = 0;

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"task\": \"forecast\", \"time_column\": ");
	escape_json(&out, time_column);
	appendStringInfoString(&out, ", \"series_by\": ");
	string_array(&out, series_by);
	appendStringInfo(&out, ", \"rows\": " INT64_FORMAT ", \"points\": " INT64_FORMAT
					 ", \"series\": " INT64_FORMAT ", \"time_range\": ",
					 set->nrows, set->npoints, st->nseries);
	if (set->npoints > 0)
	{
		appendStringInfoString(&out, "{\"from\": ");
		escape_json(&out, MlEpochText(set->tmin, set->time_type));
		appendStringInfoString(&out, ", \"to\": ");
		escape_json(&out, MlEpochText(set->tmax, set->time_type));
		appendStringInfoChar(&out, '}');
	}
	else
		appendStringInfoString(&out, "null");
	appendStringInfoString(&out, ", \"skipped\": [");
	for (int64 i = 0; i < st->nseries && listed < 1000; i++)
		if (st->models[i].status != FC_FITTED)
			appendStringInfo(&out, "%s%s", listed++ > 0 ? ", " : "", st->key[i]);
	appendStringInfo(&out, "], \"workers\": %d, \"fit_seconds\": ", workers);
	MlJsonNumber(&out, fit_s);
	appendStringInfoChar(&out, '}');
	return out.data;
}

static char *
features_json(MlProject *p, const char *time_column, List *series_by, const FcConfig *c)
{
	StringInfoData out;

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"target\": ");
	escape_json(&out, p->target);
	appendStringInfoString(&out, ", \"time_column\": ");
	escape_json(&out, time_column);
	appendStringInfoString(&out, ", \"series_by\": ");
	string_array(&out, series_by);
	appendStringInfo(&out, ", \"components\": [\"trend\", \"weekly\", \"yearly\"%s]}",
					 c->nholidays > 0 ? ", \"holidays\"" : "");
	return out.data;
}

/* A hash of every point and key (each series' points hashed by its fit). */
static char *
fingerprint(FcSeriesSet *s)
{
	uint64		h = hash_bytes_uint32_extended((uint32) s->npoints, 0);

	for (int64 i = 0; i < s->nseries; i++)
	{
		h = hash_combine64(h, s->series[i]->hash);
		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) s->series[i]->key,
												  strlen(s->series[i]->key), 0));
	}
	return psprintf("%016llx", (unsigned long long) h);
}

/* Insert the version row and its audit entry; returns the version number. */
static int32
store_version(MlScope *scope, MlProject *p, FcStored *st, FcSeriesSet *set,
			  const char *params, const char *metrics, const char *features,
			  const char *training)
{
	MlVersionRow row = {
		.algorithm = FC_ALGORITHM,
		.hyperparameters = params,
		.metrics = metrics,
		.payload = FcStoredSave(st),
		.payload_format = FC_PAYLOAD_FORMAT,
		.row_count = set->nrows,
		.fingerprint = fingerprint(set),
		.features = features,
		.training = training,
		.audit_action = "forecast_train",
		.audit_key = "series",
		.audit_value = psprintf(INT64_FORMAT, st->nseries),
	};

	return MlStoreVersion(scope, p, &row);
}

static void
require_forecast_project(MlProject *p)
{
	if (strcmp(p->task, "forecast") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("project \"%s\" has task \"%s\", not \"forecast\"", p->name, p->task),
				 errhint("Create a project with task => 'forecast' to forecast; ml_train fits %s projects.",
						 p->task)));
}

static Datum
result_tuple(FunctionCallInfo fcinfo, int32 version, int64 nseries, const char *metrics)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "ml_forecast_train must return a row");
	values[0] = Int32GetDatum(version);
	values[1] = Int64GetDatum(nseries);
	values[2] = DirectFunctionCall1(jsonb_in, CStringGetDatum(metrics));
	return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
}

static FitCtx *
fit_context(const FcConfig *cfg, int workers)
{
	FitCtx	   *c = palloc0(sizeof(FitCtx));
	int			maxp = FcMaxParams(cfg);

	c->cfg = cfg;
	c->model_doubles = maxp + Max(cfg->n_changepoints, 1);
	for (int w = 0; w < workers; w++)
		FcWorkspaceInit(&c->ws[w], palloc(sizeof(double) * FcWorkspaceDoubles(maxp)), maxp);
	return c;
}

/*
 * Read the series, fitting those complete on workers - 1 threads meanwhile;
 * then every queued fit is finished (the backend helping). *load_s: the
 * seconds from start to the end of the read.
 */
static FcSeriesSet *
read_and_fit(FitCtx *c, Oid relid, const char *target, const char *time_column,
			 List *series_by, int workers, instr_time start, double *load_s)
{
	FcSeriesSet *set;

	c->pool = FcPoolStart(workers - 1, fit_queued, c);
	PG_TRY();
	{
		set = FcLoadSeries(relid, target, time_column, series_by, series_ready, c);
		*load_s = elapsed_s(start);
	}
	PG_CATCH();
	{
		FcPoolAbort(c->pool);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (c->pool != NULL)
		(void) FcPoolFinish(c->pool);
	return set;
}

/* Fit what was not queued, or got more rows after it was: every queued fit has ended. */
static void
fit_rest(FitCtx *c, FcSeriesSet *set, int workers)
{
	int64		n = 0;

	for (int64 i = 0; i < set->nseries; i++)
		n += !set->series[i]->queued || set->series[i]->reopened;
	if (n == 0)
		return;
	c->left = palloc_extended(sizeof(FitTask) * n, MCXT_ALLOC_HUGE);
	n = 0;
	for (int64 i = 0; i < set->nseries; i++)
	{
		FcSeries   *fs = set->series[i];

		if (!fs->queued || fs->reopened)
			make_task(c, fs, &c->left[n++]);
	}
	(void) FcRunWorkers(workers, fit_left, c, n);
}

/* The stored version's series: keys and models in key order. */
static void
collect(FcStored *st, FcSeriesSet *set)
{
	st->nseries = set->nseries;
	st->key = palloc(sizeof(char *) * Max(set->nseries, 1));
	st->models = palloc_extended(sizeof(FcModel) * Max(set->nseries, 1), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < set->nseries; i++)
	{
		st->key[i] = set->series[i]->key;
		st->models[i] = set->series[i]->model;
	}
}

Datum
ml_forecast_train(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	char	   *time_column = MlTextArg(fcinfo, 1, "time_column");
	List	   *series_by = MlColumnListArg(fcinfo, 2, "series_by", MAX_SERIES_BY);
	JsonbContainer *opts = PG_ARGISNULL(3) ? NULL : &PG_GETARG_JSONB_P(3)->root;
	FcConfig	cfg;
	FcStored	st;
	FcSeriesSet *set;
	FitCtx	   *fc;
	int			workers;
	MemoryContext cxt,
				old,
				callercxt;
	instr_time	start;
	double		load_s,
				fit_s;
	char	   *metrics;
	char	   *metrics_out;
	int32		version;
	int64		nseries;

	memset(&cfg, 0, sizeof(cfg));
	read_options(opts, &cfg, &workers);

	callercxt = CurrentMemoryContext;	/* SPI_finish frees what SPI allocated */
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	MlProjectRequireChange(p);
	require_forecast_project(p);
	MlScopeAsCaller(&scope);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_forecast_train", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	INSTR_TIME_SET_CURRENT(start);
	fc = fit_context(&cfg, workers);
	{
		Oid			relid = MlProjectRelation(p);

		check_columns(relid, p, time_column, series_by);
		set = read_and_fit(fc, relid, p->target, time_column, series_by, workers, start, &load_s);
	}
	if (set->nseries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the relation of project \"%s\" has no row with both a value and a time",
						p->name),
				 errdetail(INT64_FORMAT " rows were read.", set->nrows)));
	fit_s = elapsed_s(start) - load_s;
	MlRunProgress(0.5, set->nrows);

	INSTR_TIME_SET_CURRENT(start);
	fit_rest(fc, set, workers);
	fit_s += elapsed_s(start);
	workers = (int) Min((int64) workers, set->nseries);
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.local_time = getBaseType(set->time_type) != TIMESTAMPTZOID;
	collect(&st, set);

	metrics = metrics_json(&st, set, workers, load_s, fit_s);
	version = store_version(&scope, p, &st, set, params_json(&cfg), metrics,
							features_json(p, time_column, series_by, &cfg),
							training_json(&st, set, time_column, series_by, workers, fit_s));
	nseries = st.nseries;
	MemoryContextSwitchTo(old);
	metrics_out = MemoryContextStrdup(callercxt, metrics);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	PG_RETURN_DATUM(result_tuple(fcinfo, version, nseries, metrics_out));
}
