/*
 * series.c
 *	  A relation read as time series: the target and the time of every row,
 *	  grouped by the values of the series_by columns and sorted by time.
 *
 * The relation is read into a frame (core/frame.c) through a cursor as the
 * caller, so privileges and row-level security apply. A NULL in a key
 * column is a key value of its own (as in GROUP BY); rows without a value
 * or a time are counted and left out, never guessed.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/frame.h"
#include "forecast/forecast.h"

#define MAX_SERIES_POINTS (PG_INT32_MAX / 2)

typedef struct SortCtx
{
	MlFrame    *frame;
	int			nkeys;
	int		   *keycol;
	int			tcol;
} SortCtx;

/* the value a key column sorts and groups by: its level code or its number */
static inline double
key_value(MlColumn *col, int64 row)
{
	if (col->kind == ML_KIND_NUMERIC || col->kind == ML_KIND_DATETIME)
		return col->x[row];
	return (double) col->code[row];
}

static int
cmp_key(SortCtx *c, int64 a, int64 b)
{
	for (int k = 0; k < c->nkeys; k++)
	{
		MlColumn   *col = &c->frame->cols[c->keycol[k]];
		bool		na = col->isnull[a],
					nb = col->isnull[b];
		double		va,
					vb;

		if (na != nb)
			return na ? 1 : -1;
		if (na)
			continue;
		va = key_value(col, a);
		vb = key_value(col, b);
		/* NaN (a numeric key's NaN) sorts after every number, equal to itself */
		if (isnan(va) || isnan(vb))
		{
			if (isnan(va) != isnan(vb))
				return isnan(va) ? 1 : -1;
			continue;
		}
		if (va != vb)
			return va < vb ? -1 : 1;
	}
	return 0;
}

static int
cmp_rows(const void *pa, const void *pb, void *arg)
{
	SortCtx    *c = arg;
	int64		a = *(const int64 *) pa,
				b = *(const int64 *) pb;
	int			r = cmp_key(c, a, b);
	double		ta,
				tb;

	if (r != 0)
		return r;
	ta = c->frame->cols[c->tcol].x[a];
	tb = c->frame->cols[c->tcol].x[b];
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Epoch seconds as the text of a date / timestamp / timestamptz. */
char *
FcEpochText(double epoch, Oid typid)
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

/* One key column's value of a row as JSON. */
static void
key_json(StringInfo out, MlColumn *col, int64 row)
{
	double		v;

	if (col->isnull[row])
	{
		appendStringInfoString(out, "null");
		return;
	}
	if (col->kind == ML_KIND_DATETIME)
	{
		escape_json(out, FcEpochText(col->x[row], col->typid));
		return;
	}
	if (col->kind != ML_KIND_NUMERIC)
	{
		const char *text = col->level_text[col->code[row]];

		if (getBaseType(col->typid) == BOOLOID)
			appendStringInfoString(out, strcmp(text, "t") == 0 || strcmp(text, "true") == 0 ?
								   "true" : "false");
		else
			escape_json(out, text);
		return;
	}
	v = col->x[row];
	if (!isfinite(v))
		escape_json(out, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		appendStringInfo(out, "%.0f", v);
	else
		appendStringInfo(out, "%.17g", v);
}

static char *
series_key(MlFrame *frame, SortCtx *c, List *series_by, int64 row)
{
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	foreach(lc, series_by)
	{
		int			k = foreach_current_index(lc);

		if (k > 0)
			appendStringInfoString(&out, ", ");
		escape_json(&out, lfirst(lc));
		appendStringInfoString(&out, ": ");
		key_json(&out, &frame->cols[c->keycol[k]], row);
	}
	appendStringInfoChar(&out, '}');
	return out.data;
}

/* The frame's rows with a finite value and a finite time, sorted. */
static int64 *
usable_rows(FcSeriesSet *s, MlFrame *frame, SortCtx *c, int vcol, int64 *n)
{
	int64	   *rows = palloc_extended(sizeof(int64) * Max(frame->nrows, 1), MCXT_ALLOC_HUGE);
	MlColumn   *v = &frame->cols[vcol];
	MlColumn   *t = &frame->cols[c->tcol];

	*n = 0;
	for (int64 i = 0; i < frame->nrows; i++)
	{
		if (t->isnull[i] || !isfinite(t->x[i]))
			s->rows_without_time++;
		else if (v->isnull[i] || !isfinite(v->x[i]))
			s->rows_without_value++;
		else
			rows[(*n)++] = i;
	}
	CHECK_FOR_INTERRUPTS();
	qsort_arg(rows, *n, sizeof(int64), cmp_rows, c);
	CHECK_FOR_INTERRUPTS();
	return rows;
}

FcSeriesSet *
FcLoadSeries(Oid relid, const char *target, const char *time_column, List *series_by)
{
	FcSeriesSet *s = palloc0(sizeof(FcSeriesSet));
	List	   *cols = list_make2(pstrdup(target), pstrdup(time_column));
	MlFrame    *frame;
	SortCtx		c;
	int			vcol;
	int64	   *rows;
	int64		n;
	ListCell   *lc;

	cols = list_concat(cols, series_by);
	frame = MlFrameLoad(relid, cols, false);
	vcol = MlFrameColumn(frame, target);
	c.frame = frame;
	c.tcol = MlFrameColumn(frame, time_column);
	c.nkeys = list_length(series_by);
	c.keycol = palloc(sizeof(int) * Max(c.nkeys, 1));
	foreach(lc, series_by)
	{
		MlColumn   *col;

		c.keycol[foreach_current_index(lc)] = MlFrameColumn(frame, lfirst(lc));
		col = &frame->cols[c.keycol[foreach_current_index(lc)]];
		if (col->kind != ML_KIND_NUMERIC && col->kind != ML_KIND_DATETIME && col->code == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" cannot be a series key", col->name),
					 errdetail("Its values were not read as a set of levels.")));
	}
	s->time_type = frame->cols[c.tcol].typid;
	s->nrows = frame->nrows;
	rows = usable_rows(s, frame, &c, vcol, &n);
	s->npoints = n;

	/* series boundaries */
	s->nseries = 0;
	for (int64 i = 0; i < n; i++)
		if (i == 0 || cmp_key(&c, rows[i - 1], rows[i]) != 0)
			s->nseries++;
	s->start = palloc_extended(sizeof(int64) * Max(s->nseries, 1), MCXT_ALLOC_HUGE);
	s->len = palloc_extended(sizeof(int) * Max(s->nseries, 1), MCXT_ALLOC_HUGE);
	s->key = palloc_extended(sizeof(char *) * Max(s->nseries, 1), MCXT_ALLOC_HUGE);
	s->ts = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	s->y = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	s->tmin = INFINITY;
	s->tmax = -INFINITY;
	{
		int64		k = -1;

		for (int64 i = 0; i < n; i++)
		{
			int64		r = rows[i];

			if (i == 0 || cmp_key(&c, rows[i - 1], r) != 0)
			{
				k++;
				s->start[k] = i;
				s->len[k] = 0;
				s->key[k] = series_key(frame, &c, series_by, r);
				if (k % 1024 == 0)
					CHECK_FOR_INTERRUPTS();
			}
			if (s->len[k] >= MAX_SERIES_POINTS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("series %s has more than %d points", s->key[k], MAX_SERIES_POINTS)));
			s->len[k]++;
			s->ts[i] = frame->cols[c.tcol].x[r];
			s->y[i] = frame->cols[vcol].x[r];
			s->tmin = Min(s->tmin, s->ts[i]);
			s->tmax = Max(s->tmax, s->ts[i]);
		}
	}
	return s;
}
