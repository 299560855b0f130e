/*
 * impute.c
 *	  ml_impute(): fill the missing cells of a table, in place or into a
 *	  new table, and keep what was learned as a recipe.
 *
 * The whole call is one statement's worth of work in the caller's
 * transaction: data is read and written as the caller, all fills land in
 * one UPDATE, and any error leaves the table and the catalog as they were.
 */
#include "postgres.h"

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

PG_FUNCTION_INFO_V1(ml_impute);

const char *const MlImputeOptionKeys[] = {
	"k", "value", "by", "time_column", "exclude_features", "target", "holdout", "seed",
	"roles", "methods", "hidden", "epochs", NULL
};

/* Read ml_impute's options (also used by ml_clean's "missing" step). */
void
MlImputeReadOptions(JsonbContainer *opts, const char *method, MlImputeOptions *o,
					const char *const *valid)
{
	MlOptCheckKeys(opts, "imputation options", valid);
	memset(o, 0, sizeof(*o));
	o->method = MlMethodFromName(method);
	o->k = (int) MlOptNumber(opts, "k", 5);
	if (o->k < 1 || o->k > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"k\" must be between 1 and 1000")));
	o->constant_text = MlOptString(opts, "value", NULL);
	o->by = MlOptStringList(opts, "by");
	o->time_column = MlOptString(opts, "time_column", NULL);
	o->exclude_features = MlOptStringList(opts, "exclude_features");
	o->target = MlOptString(opts, "target", NULL);
	o->holdout = MlOptNumber(opts, "holdout", 0.2);
	if (!(o->holdout > 0 && o->holdout < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"holdout\" must be between 0 and 1")));
	o->seed = (int) MlOptNumber(opts, "seed", 42);
	o->hidden = (int) MlOptNumber(opts, "hidden", 32);
	o->epochs = (int) MlOptNumber(opts, "epochs", 20);
	if (o->hidden < 1 || o->hidden > 1024 || o->epochs < 1 || o->epochs > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"hidden\" must be 1..1024 and \"epochs\" 1..1000")));
	if (o->method == ML_METHOD_CONSTANT && o->constant_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"constant\" needs option \"value\"")));
	if ((o->method == ML_METHOD_LOCF || o->method == ML_METHOD_INTERPOLATE) && o->time_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"%s\" needs option \"time_column\"", method)));
}

static const struct
{
	const char *name;
	MlRole		role;
}			role_names[] =
{
	{"identifier", ML_ROLE_IDENTIFIER}, {"categorical", ML_ROLE_CATEGORICAL},
	{"numeric", ML_ROLE_NUMERIC}, {"datetime", ML_ROLE_DATETIME}, {"text", ML_ROLE_TEXT},
	{"target", ML_ROLE_TARGET}, {"skip", ML_ROLE_SKIP}
};

static bool
parse_number(const char *s, double *v)
{
	return MlTextIsNumber(s, v);
}

/* options.roles: {"column": "identifier" | "categorical" | ...} */
void
MlApplyRoles(MlFrame *frame, JsonbContainer *roles, const char *target)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (target)
	{
		int			c = MlFrameColumn(frame, target);

		if (c >= 0)
			frame->cols[c].role = ML_ROLE_TARGET;
	}
	if (roles == NULL)
		return;
	it = JsonbIteratorInit(roles);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			c;
		char	   *role;
		int			i;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		c = MlFrameColumn(frame, key);
		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" in option \"roles\" does not exist", key)));
		role = MlJsonValueText(&v);
		for (i = 0; i < (int) lengthof(role_names); i++)
			if (role && strcmp(role, role_names[i].name) == 0)
				break;
		if (i == (int) lengthof(role_names))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown column role \"%s\"", role ? role : "?"),
					 errhint("Valid roles are: identifier, categorical, numeric, datetime, text, target, skip.")));
		frame->cols[c].role = role_names[i].role;
		/* a declared role replaces what inference said the column was */
		frame->cols[c].identifier = role_names[i].role == ML_ROLE_IDENTIFIER;
		if (role_names[i].role == ML_ROLE_TEXT)
			frame->cols[c].kind = ML_KIND_TEXT;
		/* text declared numeric or datetime: its values become numbers or times */
		if ((frame->cols[c].kind == ML_KIND_CATEGORICAL || frame->cols[c].kind == ML_KIND_TEXT) &&
			frame->cols[c].level_text != NULL)
		{
			if (role_names[i].role == ML_ROLE_NUMERIC)
				MlColumnConvert(&frame->cols[c], frame->nrows, ML_KIND_NUMERIC, parse_number);
			else if (role_names[i].role == ML_ROLE_DATETIME)
				MlColumnConvert(&frame->cols[c], frame->nrows, ML_KIND_DATETIME, MlTextToEpoch);
		}
	}
}

/* Epoch seconds back to the text of a date/timestamp/timestamptz value. */
static char *
epoch_to_text(double epoch, Oid typid)
{
	double		pg = epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	switch (getBaseType(typid))
	{
		case DATEOID:
			return DatumGetCString(DirectFunctionCall1(date_out,
													   DateADTGetDatum((DateADT) floor(pg / SECS_PER_DAY + 0.5))));
		case TIMESTAMPTZOID:
			return DatumGetCString(DirectFunctionCall1(timestamptz_out,
													   TimestampTzGetDatum((TimestampTz) rint(pg * USECS_PER_SEC))));
		default:
			return DatumGetCString(DirectFunctionCall1(timestamp_out,
													   TimestampGetDatum((Timestamp) rint(pg * USECS_PER_SEC))));
	}
}

/* Cell values are written as float8 for numbers, text for everything else. */
static bool
written_as_number(MlColumn *col)
{
	return col->kind == ML_KIND_NUMERIC;
}

/*
 * Put predictions into the frame (so later columns can use them) and into
 * the per-row fill arrays that the final UPDATE reads.
 */
void
MlFillStore(MlFrame *frame, MlFills *fills, int target, const int64 *rows, int64 n,
			const double *values, const int32 *levels, bool discrete)
{
	MlColumn   *col = &frame->cols[target];
	int			slot = fills->ntargets++;
	MemoryContext old = MemoryContextSwitchTo(fills->cxt);

	fills->targets[slot] = target;
	fills->value[slot] = palloc0(sizeof(Datum) * Max(frame->nrows, 1));
	fills->isset[slot] = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	for (int64 i = 0; i < n; i++)
	{
		int64		r = rows[i];
		double		v = values[i];
		char	   *text = NULL;

		if (discrete)
		{
			if (levels[i] < 0)
				continue;
			col->code[r] = levels[i];
			if (col->level_text)
				text = col->level_text[levels[i]];
			else
				v = col->level_value[levels[i]];
		}
		else if (!isfinite(v))
			continue;
		else if (col->kind == ML_KIND_NUMERIC && col->decimals >= 0)
		{
			/* integers stay integers; decimals keep the source's precision */
			double		scale = pow(10, col->decimals);

			v = rint(v * scale) / scale;
		}
		if (col->kind == ML_KIND_DATETIME)
			text = epoch_to_text(v, col->typid);
		col->isnull[r] = false;
		if (!discrete || !col->level_text)
			col->x[r] = v;
		if (col->kind == ML_KIND_DATETIME)
			for (int p = 0; p < (int) lengthof(col->parts); p++)
				if (col->parts[p])
					col->parts[p][r] = isfinite(v) ?
						(int32) MlDatePartOf(v, (MlDatePart) p, col->typid == TIMESTAMPTZOID) : -1;
		fills->isset[slot][r] = true;
		if (!fills->rowset[r])
		{
			fills->rowset[r] = true;
			fills->nrows++;
		}
		fills->value[slot][r] = written_as_number(col) ? Float8GetDatum(v) : CStringGetTextDatum(text);
		fills->filled[slot]++;
	}
	MemoryContextSwitchTo(old);
}

MlFills *
MlFillsCreate(MlFrame *frame)
{
	MlFills    *f = palloc0(sizeof(MlFills));

	f->cxt = CurrentMemoryContext;

	f->targets = palloc(sizeof(int) * Max(frame->ncols, 1));
	f->value = palloc0(sizeof(Datum *) * Max(frame->ncols, 1));
	f->isset = palloc0(sizeof(bool *) * Max(frame->ncols, 1));
	f->filled = palloc0(sizeof(int64) * Max(frame->ncols, 1));
	f->rowset = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	f->deleted = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	return f;
}

static int
fill_slot(MlFills *fills, int target)
{
	for (int s = 0; s < fills->ntargets; s++)
		if (fills->targets[s] == target)
			return s;
	return -1;
}

/*
 * Time-ordered filling: rows sorted by (group, time); a missing cell takes
 * the last observed value before it (locf) or the straight line between
 * its observed neighbours in time (interpolate). Cells before the first or
 * after the last observation take the nearest one.
 */
typedef struct TimeSortCtx
{
	const double *t;
	const int32 *g;
} TimeSortCtx;

static int
cmp_time(const void *a, const void *b, void *arg)
{
	TimeSortCtx *ctx = arg;
	int64		i = *(const int64 *) a,
				j = *(const int64 *) b;
	int32		gi = ctx->g ? ctx->g[i] : 0,
				gj = ctx->g ? ctx->g[j] : 0;

	if (gi != gj)
		return gi < gj ? -1 : 1;
	if (ctx->t[i] != ctx->t[j] && !(isnan(ctx->t[i]) && isnan(ctx->t[j])))
		return isnan(ctx->t[i]) ? 1 : isnan(ctx->t[j]) ? -1 : (ctx->t[i] < ctx->t[j] ? -1 : 1);
	return (i > j) - (i < j);
}

static void
fill_time_ordered(MlFrame *frame, MlFills *fills, int target, MlImputeOptions *o, bool discrete)
{
	MlColumn   *col = &frame->cols[target];
	int			tc = MlFrameColumn(frame, o->time_column);
	int			gc = o->by ? MlFrameColumn(frame, linitial(o->by)) : -1;
	int64	   *order = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	double	   *vals = palloc(sizeof(double) * Max(frame->nrows, 1));
	int32	   *lvls = palloc(sizeof(int32) * Max(frame->nrows, 1));
	TimeSortCtx ctx;
	int64		n = 0;

	if (tc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" in option \"time_column\" does not exist", o->time_column)));
	if (gc >= 0 && frame->cols[gc].code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" has too many distinct values to group by", frame->cols[gc].name)));
	ctx.t = frame->cols[tc].x;
	ctx.g = gc >= 0 ? frame->cols[gc].code : NULL;
	for (int64 r = 0; r < frame->nrows; r++)
		order[r] = r;
	qsort_arg(order, frame->nrows, sizeof(int64), cmp_time, &ctx);

	for (int64 start = 0; start < frame->nrows;)
	{
		int64		end = start;
		int64		prev = -1;

		while (end < frame->nrows && (ctx.g == NULL || ctx.g[order[end]] == ctx.g[order[start]]))
			end++;
		for (int64 i = start; i < end; i++)
		{
			int64		r = order[i];
			int64		next = -1;

			if (!col->isnull[r])
			{
				prev = r;
				continue;
			}
			for (int64 j = i + 1; j < end && next < 0; j++)
				if (!col->isnull[order[j]])
					next = order[j];
			if (prev < 0 && next < 0)
				continue;
			rows[n] = r;
			lvls[n] = -1;
			if (discrete || o->method == ML_METHOD_LOCF || prev < 0 || next < 0 ||
				ctx.t[next] == ctx.t[prev] || isnan(ctx.t[r]))
			{
				int64		src = prev >= 0 ? prev : next;

				vals[n] = col->x[src];
				lvls[n] = col->code ? col->code[src] : -1;
			}
			else
				vals[n] = col->x[prev] + (col->x[next] - col->x[prev]) *
					(ctx.t[r] - ctx.t[prev]) / (ctx.t[next] - ctx.t[prev]);
			n++;
		}
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	MlFillStore(frame, fills, target, rows, n, vals, lvls, discrete);
}

/*
 * Tables larger than maintenance_work_mem: the models, fitted on a sample,
 * are applied chunk by chunk to the rows that miss one of their columns,
 * each chunk loaded, filled and written in place (by ctid) before the
 * next, in a memory context reset between chunks. A cursor's snapshot
 * never sees the rows the chunks rewrite. Returns cells filled per model.
 */
int64 *
MlApplyModelsChunked(Oid relid, Jsonb *models, int64 chunk_rows)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	List	   *objs = NIL;
	StringInfoData where;
	MlFrame    *proto;
	Portal		portal;
	MemoryContext chunkcxt,
				old;
	int64	   *filled;
	ListCell   *lc;

	it = JsonbIteratorInit(&models->root);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		if (tok == WJB_ELEM && e.type == jbvBinary)
			objs = lappend(objs, e.val.binary.data);
	filled = palloc0(sizeof(int64) * (list_length(objs) + 1));
	if (objs == NIL)
		return filled;

	initStringInfo(&where);
	foreach(lc, objs)
	{
		char	   *col = MlOptString(lfirst(lc), "column", NULL);
		char	   *method = MlOptString(lfirst(lc), "method", "none");

		if (strcmp(method, "locf") == 0 || strcmp(method, "interpolate") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("method \"%s\" needs the whole table in memory, more than maintenance_work_mem", method),
					 errhint("Raise maintenance_work_mem for this session.")));
		appendStringInfo(&where, "%s%s IS NULL", where.len ? " OR " : " WHERE ", quote_identifier(col));
	}
	proto = MlFrameCreate(relid, NIL, true);
	portal = SPI_cursor_open_with_args(NULL, MlFrameQuery(proto, where.data), 0, NULL, NULL, NULL,
									   false, 0);
	chunkcxt = AllocSetContextCreate(CurrentMemoryContext, "ml_impute chunk", ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MlFrame    *frame;
		MlFills    *fills;

		old = MemoryContextSwitchTo(chunkcxt);
		frame = MlFrameCreate(relid, NIL, true);
		if (MlFrameFetch(frame, portal, chunk_rows) == 0)
		{
			MemoryContextSwitchTo(old);
			break;
		}
		MlFrameFinish(frame);
		fills = MlFillsCreate(frame);
		foreach(lc, objs)
		{
			MlModel    *m = MlModelFromJson(frame, lfirst(lc));

			filled[foreach_current_index(lc)] += MlImputeApplyModel(frame, fills, m, lfirst(lc));
		}
		MlFillsWrite(frame, fills, NULL);
		MlProgress("filled a chunk of %lld rows", (long long) frame->nrows);
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunkcxt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(chunkcxt);
	return filled;
}

/*
 * Whether a relation's frame would take more than three quarters of
 * maintenance_work_mem (the last quarter is for fitting): such a relation
 * is fitted on a sample and filled chunk by chunk.
 */
bool
MlFrameTooLarge(Oid relid, int ncols)
{
	return MlFrameEstimate(relid, ncols) > (Size) maintenance_work_mem * 1024 / 4 * 3;
}

/*
 * Rows of a sample frame: a quarter of maintenance_work_mem, the rest being
 * for fitting, the chunks, and what PostgreSQL itself uses around the call.
 */
int64
MlSampleRows(int ncols)
{
	Size		budget = (Size) maintenance_work_mem * 1024 / 4;

	return (int64) (budget / (ncols * ML_CELL_BYTES + 6 + 64));
}

/*
 * Rows of one chunk when filling a large table: a sixteenth of the budget,
 * counting the frame, the fills and the arrays the UPDATE is sent with.
 */
int64
MlChunkRows(int ncols)
{
	Size		budget = (Size) maintenance_work_mem * 1024 / 16;

	return Max(1000, (int64) (budget / (ncols * (ML_CELL_BYTES + 18) + 64)));
}

/* Columns ml_impute fills by default: any with NULLs that is not free text or a key. */
List *
MlDefaultTargets(MlFrame *frame)
{
	List	   *targets = NIL;

	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (col->nnull == 0 || col->identifier || col->kind == ML_KIND_TEXT ||
			col->role == ML_ROLE_SKIP || col->role == ML_ROLE_TARGET)
			continue;
		targets = lappend_int(targets, c);
	}
	return targets;
}

static int
cmp_by_nulls(const void *a, const void *b, void *arg)
{
	MlFrame    *frame = arg;
	int			ca = *(const int *) a,
				cb = *(const int *) b;
	int64		na = frame->cols[ca].nnull,
				nb = frame->cols[cb].nnull;

	if (na != nb)
		return na < nb ? -1 : 1;
	return ca - cb;
}

/* Fewest missing cells first. */
static List *
sort_targets(MlFrame *frame, List *targets)
{
	int			n = list_length(targets);
	int		   *a = palloc(sizeof(int) * (n + 1));
	List	   *sorted = NIL;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, targets)
		a[i++] = lfirst_int(lc);
	qsort_arg(a, n, sizeof(int), cmp_by_nulls, frame);
	for (i = 0; i < n; i++)
		sorted = lappend_int(sorted, a[i]);
	return sorted;
}

static int64
missing_rows(MlColumn *col, int64 nrows, int64 *rows)
{
	int64		n = 0;

	for (int64 r = 0; r < nrows; r++)
		if (col->isnull[r])
			rows[n++] = r;
	return n;
}

/* Impute one column with an already chosen method; returns the model. */
static MlModel *
impute_one(MlFrame *frame, MlFills *fills, int target, MlImputeOptions *o)
{
	MlColumn   *col = &frame->cols[target];
	MlModel    *m;
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64		n = missing_rows(col, frame->nrows, rows);
	double	   *vals;
	int32	   *lvls;

	if (o->method == ML_METHOD_LOCF || o->method == ML_METHOD_INTERPOLATE)
	{
		m = palloc0(sizeof(MlModel));
		m->method = o->method;
		m->target = target;
		m->error = NAN;
		m->discrete = col->code != NULL && MlColumnIsDiscrete(col);
		fill_time_ordered(frame, fills, target, o, m->discrete);
		return m;
	}
	if (o->method == ML_METHOD_DELETE)
	{
		m = palloc0(sizeof(MlModel));
		m->method = ML_METHOD_DELETE;
		m->target = target;
		m->error = NAN;
		for (int64 i = 0; i < n; i++)
			if (!fills->deleted[rows[i]])
			{
				fills->deleted[rows[i]] = true;
				fills->ndeleted++;
			}
		return m;
	}
	m = MlImputeFit(frame, target, o);
	if (m->method == ML_METHOD_NONE)
		return m;
	vals = palloc(sizeof(double) * Max(n, 1));
	lvls = palloc(sizeof(int32) * Max(n, 1));
	if (m->method == ML_METHOD_CONSTANT)
	{
		bool		numeric = !m->discrete && col->kind == ML_KIND_NUMERIC;
		char	   *end;
		double		v = strtod(o->constant_text, &end);

		if (numeric && (*end != '\0' || end == o->constant_text))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("constant \"%s\" is not a number, but column \"%s\" is numeric",
							o->constant_text, col->name)));
		if (!numeric && col->kind != ML_KIND_DATETIME)
		{
			/* a new level, or an existing one: the text as given */
			if (col->code == NULL || col->level_text == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("method \"constant\" cannot fill column \"%s\"", col->name)));
			m->discrete = true;
			m->fill_level = MlColumnLevel(col, o->constant_text, 0);
			if (m->fill_level < 0)
			{
				/* add the level so the fill can be written and reported */
				col->level_text = repalloc(col->level_text, sizeof(char *) * (col->nlevels + 1));
				col->level_text[col->nlevels] = MemoryContextStrdup(GetMemoryChunkContext(col->level_text),
																	o->constant_text);
				m->fill_level = col->nlevels++;
			}
			m->tlevel_text = col->level_text;
			m->ntlevels = col->nlevels;
		}
		m->fill = v;
		for (int64 i = 0; i < n; i++)
		{
			vals[i] = v;
			lvls[i] = m->fill_level;
		}
	}
	else
		MlModelPredictRows(frame, m, rows, n, vals, lvls);
	MlFillStore(frame, fills, target, rows, n, vals, lvls, m->discrete);
	return m;
}

/*
 * Apply a model read back from a recipe to this frame's missing cells.
 * Discrete models predict levels of their own list; they are matched to
 * the frame's levels by text (and added when the frame has not seen them).
 */
int64
MlImputeApplyModel(MlFrame *frame, MlFills *fills, MlModel *m, JsonbContainer *obj)
{
	MlColumn   *col = &frame->cols[m->target];
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64		n = missing_rows(col, frame->nrows, rows);
	double	   *vals = palloc(sizeof(double) * Max(n, 1));
	int32	   *lvls = palloc(sizeof(int32) * Max(n, 1));
	int			slot;

	switch (m->method)
	{
		case ML_METHOD_NONE:
			return 0;
		case ML_METHOD_DELETE:
			for (int64 i = 0; i < n; i++)
				if (!fills->deleted[rows[i]])
					fills->deleted[rows[i]] = true, fills->ndeleted++;
			return 0;
		case ML_METHOD_LOCF:
		case ML_METHOD_INTERPOLATE:
			{
				MlImputeOptions o;
				char	   *by = MlOptString(obj, "by", NULL);

				memset(&o, 0, sizeof(o));
				o.method = m->method;
				o.time_column = MlOptString(obj, "time_column", NULL);
				o.by = by ? list_make1(by) : NIL;
				fill_time_ordered(frame, fills, m->target, &o,
								  col->code != NULL && MlColumnIsDiscrete(col));
				slot = fill_slot(fills, m->target);
				return slot >= 0 ? fills->filled[slot] : 0;
			}
		case ML_METHOD_MEAN:
		case ML_METHOD_MEDIAN:
		case ML_METHOD_MODE:
		case ML_METHOD_CONSTANT:
			for (int64 i = 0; i < n; i++)
				vals[i] = m->fill, lvls[i] = m->fill_level;
			break;
		default:
			MlModelPredictRows(frame, m, rows, n, vals, lvls);
			break;
	}
	if (m->discrete && col->kind == ML_KIND_NUMERIC)
	{
		/* numeric codes: the level's text is its value */
		for (int64 i = 0; i < n; i++)
			vals[i] = lvls[i] >= 0 ? strtod(m->tlevel_text[lvls[i]], NULL) : NAN;
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, false);
	}
	else if (m->discrete && col->level_text)
	{
		for (int64 i = 0; i < n; i++)
			lvls[i] = lvls[i] >= 0 ? MlColumnAddLevel(col, m->tlevel_text[lvls[i]]) : -1;
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, true);
	}
	else if (!m->discrete)
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, false);
	slot = fill_slot(fills, m->target);
	return slot >= 0 ? fills->filled[slot] : 0;
}

/* MICE: more rounds, each refitting a column with the others' latest fills. */
static void
mice_rounds(MlFrame *frame, MlFills *fills, List *targets, MlImputeOptions *o, MlModel **models)
{
	for (int round = 1; round < 3; round++)
	{
		ListCell   *lc;
		int			i = 0;

		foreach(lc, targets)
		{
			int			t = lfirst_int(lc);
			int			slot = fill_slot(fills, t);
			MlColumn   *col = &frame->cols[t];

			if (slot < 0 || models[i] == NULL || models[i]->method != ML_METHOD_MICE)
			{
				i++;
				continue;
			}
			/* forget this column's fills, refit, refill */
			for (int64 r = 0; r < frame->nrows; r++)
				if (fills->isset[slot][r])
				{
					col->isnull[r] = true;
					col->x[r] = NAN;
				}
			fills->targets[slot] = -1;
			models[i] = impute_one(frame, fills, t, o);
			i++;
		}
	}
}

/*
 * Impute the target columns in order of how many cells they miss, fewest
 * first, so each later column can use the ones filled before it.
 * Returns how many report lines were written.
 */
/* Report one fitted column and append its model to the recipe steps. */
static void
report_model(MlFrame *frame, MlFills *fills, MlModel *m, MlImputeOptions *o,
			 StringInfo steps, MlImputeReport *report)
{
	int			t = m->target;
	int			slot = fill_slot(fills, t);

	report->column = frame->cols[t].name;
	report->filled = slot >= 0 ? fills->filled[slot] : 0;
	report->method = MlModelDescribe(frame, m);
	report->metric = m->metric ? m->metric : "none";
	report->error = m->error;
	if (m->method == ML_METHOD_DELETE)
	{
		report->filled = 0;
		report->method = psprintf("delete (%lld rows)", (long long) frame->cols[t].nnull);
	}
	if (steps->len > 1)
		appendStringInfoString(steps, ", ");
	MlModelToJson(frame, m, steps);
	if (m->method == ML_METHOD_LOCF || m->method == ML_METHOD_INTERPOLATE)
	{
		/* keep the options the method needs on new data */
		steps->len--;
		appendStringInfoString(steps, ", \"time_column\": ");
		escape_json(steps, o->time_column);
		if (o->by)
		{
			appendStringInfoString(steps, ", \"by\": ");
			escape_json(steps, linitial(o->by));
		}
		appendStringInfoChar(steps, '}');
	}
}

/*
 * Impute the target columns in order of how many cells they miss, fewest
 * first, so each later column can use the ones filled before it. Each
 * column is fitted in a memory context of its own, deleted once its fills,
 * report line and recipe step are kept (MICE keeps its models for the
 * later rounds). Returns how many report lines were written.
 */
int
MlImputeColumns(MlFrame *frame, MlFills *fills, List *targets, bool explicit,
				MlImputeOptions *o, JsonbContainer *methods, StringInfo steps,
				MlImputeReport *report)
{
	ListCell   *lc;
	int			n = 0;
	MlModel   **models = palloc0(sizeof(MlModel *) * (list_length(targets) + 1));
	MlMethod	base = o->method;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext fitcxt = AllocSetContextCreate(outer, "ml_impute column", ALLOCSET_DEFAULT_SIZES);

	targets = sort_targets(frame, targets);
	foreach(lc, targets)
	{
		int			t = lfirst_int(lc);
		char	   *override = MlOptString(methods, frame->cols[t].name, NULL);
		TimestampTz start = GetCurrentTimestamp();

		o->method = override ? MlMethodFromName(override) : base;
		if (!explicit && !override && frame->cols[t].kind != ML_KIND_NUMERIC &&
			(base == ML_METHOD_MEAN || base == ML_METHOD_MEDIAN ||
			 base == ML_METHOD_REGRESSION || base == ML_METHOD_MICE))
		{
			/* a numbers-only method over all columns: categories get the mode */
			ereport(NOTICE,
					(errmsg("column \"%s\" is not numeric: filled with method \"mode\" instead of \"%s\"",
							frame->cols[t].name, MlMethodName(base))));
			o->method = ML_METHOD_MODE;
		}
		if (base != ML_METHOD_MICE)
			MemoryContextSwitchTo(fitcxt);
		models[n] = impute_one(frame, fills, t, o);
		MlProgress("imputed column \"%s\" (%d of %d)", frame->cols[t].name, n + 1,
				   list_length(targets));
		elog(DEBUG1, "imputed \"%s\" in %.3f s", frame->cols[t].name,
			 (double) (GetCurrentTimestamp() - start) / 1e6);
		if (models[n]->method == ML_METHOD_NONE)
		{
			if (o->method != ML_METHOD_AUTO)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" has no observed values to impute from",
								frame->cols[t].name),
						 errhint("Use method => 'constant' with options => '{\"value\": ...}', or leave the column out.")));
			ereport(NOTICE,
					(errmsg("column \"%s\" has no observed values, left as it is",
							frame->cols[t].name)));
		}
		if (base != ML_METHOD_MICE)
		{
			MlImputeReport r;

			report_model(frame, fills, models[n], o, steps, &r);
			MemoryContextSwitchTo(outer);
			report[n].column = r.column;
			report[n].filled = r.filled;
			report[n].method = pstrdup(r.method);
			report[n].metric = r.metric;
			report[n].error = r.error;
			MemoryContextReset(fitcxt);
			models[n] = NULL;
		}
		n++;
		CHECK_FOR_INTERRUPTS();
	}
	if (base == ML_METHOD_MICE)
	{
		mice_rounds(frame, fills, targets, o, models);
		for (int i = 0; i < n; i++)
			report_model(frame, fills, models[i], o, steps, &report[i]);
	}
	o->method = base;
	MemoryContextDelete(fitcxt);
	return n;
}

/*
 * The fills as arrays for one ROWS FROM (unnest(...)) clause: $1 the
 * ctids, $2 whether the row is deleted, then one array per filled column.
 * Returns the clause; *select gets "COALESCE(t.col, u.cN::type)" per
 * filled column (NULL for others) in frame order.
 */
static char *
fills_unnest(MlFrame *frame, MlFills *fills, int *nargs, Oid **types, Datum **args,
			 char ***exprs)
{
	StringInfoData from;
	int64		n = 0;
	Datum	   *tids = palloc(sizeof(Datum) * Max(frame->nrows, 1));
	Datum	   *dels = palloc(sizeof(Datum) * Max(frame->nrows, 1));
	int			a;

	*types = palloc(sizeof(Oid) * (fills->ntargets + 2));
	*args = palloc(sizeof(Datum) * (fills->ntargets + 2));
	*exprs = palloc0(sizeof(char *) * Max(frame->ncols, 1));
	for (int64 r = 0; r < frame->nrows; r++)
		if (fills->rowset[r] || fills->deleted[r])
		{
			tids[n] = PointerGetDatum(&frame->tids[r]);
			dels[n++] = BoolGetDatum(fills->deleted[r]);
		}
	(*types)[0] = TIDARRAYOID;
	(*args)[0] = PointerGetDatum(construct_array(tids, (int) n, TIDOID, sizeof(ItemPointerData),
												 false, TYPALIGN_SHORT));
	(*types)[1] = BOOLARRAYOID;
	(*args)[1] = PointerGetDatum(construct_array(dels, (int) n, BOOLOID, 1, true, TYPALIGN_CHAR));
	initStringInfo(&from);
	appendStringInfoString(&from, "ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)");
	a = 2;
	for (int s = 0; s < fills->ntargets; s++)
	{
		MlColumn   *col;
		bool		num;
		Datum	   *elems;
		bool	   *nulls;
		int			dims[1];
		int			lbs[1] = {1};
		int64		k = 0;

		if (fills->targets[s] < 0)
			continue;
		col = &frame->cols[fills->targets[s]];
		num = written_as_number(col);
		elems = palloc(sizeof(Datum) * Max(n, 1));
		nulls = palloc(sizeof(bool) * Max(n, 1));
		for (int64 r = 0; r < frame->nrows; r++)
		{
			if (!fills->rowset[r] && !fills->deleted[r])
				continue;
			nulls[k] = !fills->isset[s][r];
			elems[k] = nulls[k] ? (Datum) 0 : fills->value[s][r];
			k++;
		}
		dims[0] = (int) k;
		(*types)[a] = num ? FLOAT8ARRAYOID : TEXTARRAYOID;
		(*args)[a] = PointerGetDatum(num ?
									 construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE) :
									 construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1,
														false, TYPALIGN_INT));
		a++;
		appendStringInfo(&from, ", pg_catalog.unnest($%d)", a);
		{
			const char *q = quote_identifier(col->name);
			/* a converted text column is missing where its text does not parse */
			char	   *cur = col->converted ?
				psprintf("CASE WHEN mlops.try_cast_%s(t.%s::text) IS NULL THEN NULL ELSE t.%s END",
						 col->kind == ML_KIND_NUMERIC ? "numeric" : "timestamp", q, q) :
				psprintf("t.%s", q);

			(*exprs)[fills->targets[s]] = psprintf("COALESCE(%s, u.c%d::%s)", cur, a,
												   format_type_with_typemod(col->typid, col->typmod));
		}
	}
	*nargs = a;
	appendStringInfoString(&from, ") AS u(tid, del");
	for (int i = 3; i <= a; i++)
		appendStringInfo(&from, ", c%d", i);
	appendStringInfoChar(&from, ')');
	return from.data;
}

/* The relation's name, schema-qualified and quoted for SQL. */
char *
MlRelName(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

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
 * The source with every fill applied and deleted rows left out, as a
 * parenthesised subquery with the source's columns (plus extra named
 * expressions over the unfilled source row t). Untouched rows stream from
 * the source (a hashed NOT IN over the touched ctids); touched rows are
 * fetched by ctid and filled: nothing hashes or sorts the whole source.
 */
char *
MlFillsSubquery(MlFrame *frame, MlFills *fills, List *extra_names, List *extra_exprs,
				int *nargs, Oid **types, Datum **args)
{
	StringInfoData sql;
	char	  **exprs;
	char	   *from = fills_unnest(frame, fills, nargs, types, args, &exprs);
	char	   *rel = MlRelName(frame->relid);
	StringInfoData extra;
	ListCell   *ln,
			   *le;

	initStringInfo(&extra);
	forboth(ln, extra_names, le, extra_exprs)
		appendStringInfo(&extra, ", %s AS %s", (char *) lfirst(le), quote_identifier(lfirst(ln)));
	initStringInfo(&sql);
	appendStringInfo(&sql, "(SELECT t.*%s FROM %s AS t WHERE t.ctid OPERATOR(pg_catalog.<>) ALL ($1) "
					 "UNION ALL SELECT ", extra.data, rel);
	for (int c = 0; c < frame->ncols; c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "",
						 exprs[c] ? exprs[c] : psprintf("t.%s", quote_identifier(frame->cols[c].name)));
	appendStringInfo(&sql, "%s FROM %s JOIN %s AS t ON t.ctid OPERATOR(pg_catalog.=) u.tid "
					 "WHERE NOT u.del)", extra.data, from, rel);
	return sql.data;
}

/*
 * Rows are joined to their fills by ctid: make that a nested loop over the
 * fills with a TID scan, never a hash of the whole table. The caller's GUC
 * nest level (MlScopeEnter) restores both settings.
 */
void
MlPreferTidJoins(void)
{
	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Write every fill and deletion as the caller, in the caller's transaction:
 * in place with one DELETE and one UPDATE joined on ctid to the arrays, or,
 * with into (a quoted, qualified name), by one CREATE TABLE AS that joins
 * the source to them, so the source is read once and never rewritten.
 */
void
MlFillsWrite(MlFrame *frame, MlFills *fills, const char *into)
{
	StringInfoData sql;
	int			nargs;
	Oid		   *types;
	Datum	   *args;
	char	  **exprs;
	char	   *from;
	char	   *rel = MlRelName(frame->relid);

	MlPreferTidJoins();
	initStringInfo(&sql);
	if (into)
	{
		appendStringInfo(&sql, "CREATE TABLE %s AS SELECT * FROM %s AS t", into,
						 MlFillsSubquery(frame, fills, NIL, NIL, &nargs, &types, &args));
		MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_UTILITY);
		return;
	}
	from = fills_unnest(frame, fills, &nargs, &types, &args, &exprs);
	if (fills->ndeleted > 0)
	{
		appendStringInfo(&sql, "DELETE FROM %s AS t USING %s "
						 "WHERE t.ctid OPERATOR(pg_catalog.=) u.tid AND u.del", rel, from);
		MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_DELETE);
		resetStringInfo(&sql);
	}
	if (fills->nrows == 0)
		return;
	appendStringInfo(&sql, "UPDATE %s AS t SET ", rel);
	{
		bool		first = true;

		for (int c = 0; c < frame->ncols; c++)
			if (exprs[c])
			{
				appendStringInfo(&sql, "%s%s = %s", first ? "" : ", ",
								 quote_identifier(frame->cols[c].name), exprs[c]);
				first = false;
			}
	}
	if (nargs == 2)
		return;					/* only deletions */
	appendStringInfo(&sql, " FROM %s WHERE t.ctid OPERATOR(pg_catalog.=) u.tid AND NOT u.del", from);
	MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_UPDATE);
}

/* Parse into_table ("name" or "schema.name") and resolve its schema. */
RangeVar *
MlParseInto(const char *into_table, Oid *nspid)
{
	List	   *names = stringToQualifiedNameList(into_table);
	RangeVar   *rv = makeRangeVarFromNameList(names);

	*nspid = RangeVarGetCreationNamespace(rv);
	if (OidIsValid(get_relname_relid(rv->relname, *nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", rv->relname),
				 errhint("Choose another into_table, or drop the existing table first.")));
	return rv;
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
	Oid			types[8] = {TEXTOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, INT8OID};
	Datum		values[8];
	char		nulls[8] = "        ";
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
	MlScopeAsOwner(scope);
	MlSpiExec("INSERT INTO mlops.recipes (kind, source_schema, source_name, options, steps, report, "
			  "created_by, project_id) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8) "
			  "RETURNING id", 8, types, values, nulls, SPI_OK_INSERT_RETURNING);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	{
		const char *keys[2] = {"kind", "recipe_id"};
		const char *vals[2] = {kind, psprintf(INT64_FORMAT, id)};

		MlAudit(scope, kind, "relation",
				quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
										   get_rel_name(relid)),
				project_id, 2, keys, vals);
	}
	MlScopeAsCaller(scope);
	return id;
}

static List *
text_array_to_list(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column names must not be null")));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

static void
report_json(StringInfo out, MlImputeReport *report, int n)
{
	appendStringInfoChar(out, '[');
	for (int i = 0; i < n; i++)
	{
		appendStringInfo(out, "%s{\"column\": ", i ? ", " : "");
		escape_json(out, report[i].column);
		appendStringInfo(out, ", \"filled\": " INT64_FORMAT ", \"method\": ", report[i].filled);
		escape_json(out, report[i].method);
		appendStringInfo(out, ", \"metric\": \"%s\", \"error\": ", report[i].metric);
		if (isfinite(report[i].error))
			appendStringInfo(out, "%.6g}", report[i].error);
		else
			appendStringInfoString(out, "null}");
	}
	appendStringInfoChar(out, ']');
}

Datum
ml_impute(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	Oid			relid;
	List	   *colnames = NIL;
	char	   *method = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *optsj = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	JsonbContainer *opts = optsj ? &optsj->root : NULL;
	char	   *into = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	MlImputeOptions o;
	MlFrame    *frame;
	MlFills    *fills;
	List	   *targets = NIL;
	MlImputeReport *report;
	StringInfoData steps,
				rep,
				optstr;
	int			n;
	int64		project_id;
	int64		recipe_id;
	char	   *ptarget;
	ListCell   *lc;
	bool		copied;
	bool		large;
	TimestampTz t0;

	MlRequireArg(fcinfo, 0, "relation");
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1))
		colnames = text_array_to_list(PG_GETARG_ARRAYTYPE_P(1));
	MlImputeReadOptions(opts, method, &o, MlImputeOptionKeys);
	if (into)
	{
		/* resolve the schema now, while the caller's search_path applies */
		Oid			nspid;
		RangeVar   *rv = MlParseInto(into, &nspid);

		into = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	}

	InitMaterializedSRF(fcinfo, 0);
	MlProgressStart();
	MlScopeEnter(&scope);
	relid = MlPrepareOutput(relid, into, &copied);
	ptarget = MlProjectTarget(relid, &project_id);
	if (o.target == NULL)
		o.target = ptarget;
	t0 = GetCurrentTimestamp();
	{
		/*
		 * A table too large for maintenance_work_mem is fitted on a uniform
		 * sample and filled chunk by chunk (in place on the source, or on a
		 * copy for into_table).
		 */
		Relation	rel = RelationIdGetRelation(relid);
		int			ncols = RelationGetNumberOfAttributes(rel);
		int64		sample = MlSampleRows(ncols);

		RelationClose(rel);
		large = MlFrameTooLarge(relid, ncols);
		if (large && into && !copied)
		{
			relid = MlCopyRelation(relid, into, false);
			copied = true;
		}
		frame = MlFrameLoadSample(relid, NIL, true, large ? sample : 0);
	}
	elog(DEBUG1, "loaded %lld rows in %.3f s", (long long) frame->nrows,
		 (double) (GetCurrentTimestamp() - t0) / 1e6);
	MlApplyRoles(frame, MlOptObject(opts, "roles"), o.target);

	foreach(lc, colnames)
	{
		int			c = MlFrameColumn(frame, lfirst(lc));

		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							(char *) lfirst(lc), get_rel_name(relid))));
		targets = list_append_unique_int(targets, c);
	}
	if (colnames == NIL)
		targets = MlDefaultTargets(frame);

	fills = MlFillsCreate(frame);
	report = palloc0(sizeof(MlImputeReport) * (list_length(targets) + 1));
	initStringInfo(&steps);
	appendStringInfoChar(&steps, '[');
	n = MlImputeColumns(frame, fills, targets, colnames != NIL, &o, MlOptObject(opts, "methods"),
						&steps, report);
	appendStringInfoChar(&steps, ']');
	t0 = GetCurrentTimestamp();
	if (large)
	{
		int64	   *filled = MlApplyModelsChunked(relid,
												  DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(steps.data))),
												  MlChunkRows(frame->ncols));

		for (int i = 0; i < n; i++)
			report[i].filled = filled[i];
	}
	else
		MlFillsWrite(frame, fills, copied ? NULL : into);
	elog(DEBUG1, "wrote %lld rows in %.3f s", (long long) fills->nrows,
		 (double) (GetCurrentTimestamp() - t0) / 1e6);

	initStringInfo(&rep);
	report_json(&rep, report, n);
	initStringInfo(&optstr);
	appendStringInfoString(&optstr, "{\"method\": ");
	escape_json(&optstr, method);
	appendStringInfo(&optstr, ", \"options\": %s}",
					 optsj ? JsonbToCString(NULL, &optsj->root, VARSIZE(optsj)) : "{}");
	recipe_id = MlStoreRecipe(&scope, relid, "impute", optstr.data, steps.data, rep.data, project_id);

	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(report[i].column);
		values[1] = Int64GetDatum(report[i].filled);
		values[2] = CStringGetTextDatum(report[i].method);
		values[3] = CStringGetTextDatum(report[i].metric);
		values[4] = Float8GetDatum(report[i].error);
		nulls[4] = !isfinite(report[i].error);
		values[5] = Int64GetDatum(recipe_id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MlScopeExit(&scope);
	return (Datum) 0;
}
