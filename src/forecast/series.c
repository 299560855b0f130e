/*
 * series.c
 *	  A relation read as time series: the target and the time of every row,
 *	  grouped by the values of the series_by columns and sorted by time.
 *
 * One query reads the relation as the caller (privileges and row-level
 * security apply): SELECT time, target, keys... FROM rel. Its rows go to a
 * DestReceiver of ours, which appends two doubles per row to its series'
 * own buffers, so nothing else is materialized. A row whose key equals the
 * previous row's (the common case: rows stored series by series) goes to the
 * same series; another key is looked up by its JSON text. A NULL in a key
 * column is a key value of its own (as in GROUP BY); rows without a value or
 * a time are counted and left out, never guessed.
 *
 * When a run of consecutive rows of one series ends, the series is sorted by
 * time (only when it is not already in order) and handed to the caller's
 * callback, which may start fitting it on a thread while the rest is read.
 * Should rows of a handed series come later, they go to new buffers (the
 * handed ones stay untouched for the thread) and the series is marked
 * reopened: the caller fits it again. At the end the series are ordered by
 * their key's text.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "common/hashfn.h"
#include "core/catalog.h"
#include "core/frame.h"
#include "core/run_progress.h"
#include "forecast/forecast.h"

#define MAX_SERIES_POINTS (PG_INT32_MAX / 2)
#define MAX_SERIES (PG_INT32_MAX / 2)

typedef struct KeyEntry
{
	char	   *text;			/* hash key: the key's JSON text */
	FcSeries   *series;
} KeyEntry;

typedef struct Receiver
{
	DestReceiver pub;
	FcSeriesSet *set;
	MemoryContext cxt;			/* owns the series */
	FcSeriesReady ready;
	void	   *ready_arg;
	int			nkeys;
	Oid			ttype;
	Oid			vtype;
	Oid		   *ktype;
	bool	   *kbyval;
	int16	   *klen;
	FmgrInfo   *kout;
	List	   *knames;
	HTAB	   *keys;
	int64		nseries;
	int64		seriescap;
	FcSeries  **series;			/* in the order first seen */
	Datum	   *last;			/* the previous kept row's key, to reuse its series */
	bool	   *lastnull;
	FcSeries   *cur;			/* the previous kept row's series */
} Receiver;

static uint32
key_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	(void) keysize;
	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
key_match(const void *a, const void *b, Size keysize)
{
	(void) keysize;
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* One key value as JSON: numbers as numbers, booleans as booleans, the rest as strings. */
static void
value_json(StringInfo out, Receiver *r, int k, Datum d)
{
	char	   *text = OutputFunctionCall(&r->kout[k], d);

	switch (r->ktype[k])
	{
		case BOOLOID:
			appendStringInfoString(out, DatumGetBool(d) ? "true" : "false");
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			appendStringInfoString(out, text);
			break;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			/* NaN and the infinities have no JSON number */
			if (strpbrk(text, "aAiI") != NULL)
				escape_json(out, text);
			else
				appendStringInfoString(out, text);
			break;
		default:
			escape_json(out, text);
	}
	pfree(text);
}

static char *
key_text(Receiver *r, TupleTableSlot *slot)
{
	StringInfoData out;
	ListCell   *lc;

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	foreach(lc, r->knames)
	{
		int			k = foreach_current_index(lc);

		if (k > 0)
			appendStringInfoString(&out, ", ");
		escape_json(&out, lfirst(lc));
		appendStringInfoString(&out, ": ");
		if (slot->tts_isnull[k + 2])
			appendStringInfoString(&out, "null");
		else
			value_json(&out, r, k, slot->tts_values[k + 2]);
	}
	appendStringInfoChar(&out, '}');
	return out.data;
}

static bool
same_key_as_last(Receiver *r, TupleTableSlot *slot)
{
	if (r->cur == NULL)
		return false;
	for (int k = 0; k < r->nkeys; k++)
	{
		bool		isnull = slot->tts_isnull[k + 2];

		if (isnull != r->lastnull[k])
			return false;
		if (!isnull && !datumIsEqual(slot->tts_values[k + 2], r->last[k], r->kbyval[k], r->klen[k]))
			return false;
	}
	return true;
}

static void
remember_key(Receiver *r, TupleTableSlot *slot)
{
	for (int k = 0; k < r->nkeys; k++)
	{
		if (!r->kbyval[k] && !r->lastnull[k])
			pfree(DatumGetPointer(r->last[k]));
		r->lastnull[k] = slot->tts_isnull[k + 2];
		r->last[k] = r->lastnull[k] ? (Datum) 0 :
			datumCopy(slot->tts_values[k + 2], r->kbyval[k], r->klen[k]);
	}
}

static FcSeries *
new_series(Receiver *r, const char *text)
{
	FcSeries   *fs;

	if (r->nseries >= MAX_SERIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the relation holds more than %d series", MAX_SERIES)));
	if (r->nseries == r->seriescap)
	{
		r->seriescap *= 2;
		r->series = repalloc_huge(r->series, sizeof(FcSeries *) * r->seriescap);
	}
	fs = palloc0(sizeof(FcSeries));
	fs->key = pstrdup(text);
	r->series[r->nseries++] = fs;
	return fs;
}

static void sort_series(double *ts, double *y, int n);

/* The run of the previous row's series ended: hand it over once. */
static void
end_run(Receiver *r)
{
	FcSeries   *fs = r->cur;

	if (fs == NULL || fs->handed || r->ready == NULL)
		return;
	sort_series(fs->ts, fs->y, fs->len);
	fs->handed = true;
	r->ready(r->ready_arg, fs);
}

static FcSeries *
series_of(Receiver *r, TupleTableSlot *slot)
{
	char	   *text;
	KeyEntry   *e;
	bool		found;

	if (r->cur != NULL && (r->nkeys == 0 || same_key_as_last(r, slot)))
		return r->cur;
	end_run(r);
	text = r->nkeys == 0 ? "{}" : key_text(r, slot);
	e = hash_search(r->keys, &text, HASH_ENTER, &found);
	if (!found)
	{
		e->series = new_series(r, text);
		e->text = e->series->key;
	}
	if (r->nkeys > 0)
	{
		pfree(text);
		remember_key(r, slot);
	}
	r->cur = e->series;
	return r->cur;
}

/*
 * Append a point. A handed series' buffers may be read by a fit thread: its
 * later points go to copies, the handed buffers are left as they are.
 */
static void
append_point(FcSeries *fs, double t, double v)
{
	if (fs->len >= MAX_SERIES_POINTS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("series %s has more than %d points", fs->key, MAX_SERIES_POINTS)));
	if (fs->handed && !fs->reopened)
	{
		double	   *ts = fs->ts,
				   *y = fs->y;

		fs->reopened = true;
		fs->cap = Max(fs->cap, 16);
		fs->ts = palloc_extended(sizeof(double) * fs->cap, MCXT_ALLOC_HUGE);
		fs->y = palloc_extended(sizeof(double) * fs->cap, MCXT_ALLOC_HUGE);
		memcpy(fs->ts, ts, sizeof(double) * fs->len);
		memcpy(fs->y, y, sizeof(double) * fs->len);
	}
	if (fs->len == fs->cap)
	{
		fs->cap = fs->cap == 0 ? 16 : (int) Min((int64) fs->cap * 2, MAX_SERIES_POINTS);
		if (fs->ts == NULL)
		{
			fs->ts = palloc(sizeof(double) * fs->cap);
			fs->y = palloc(sizeof(double) * fs->cap);
		}
		else
		{
			fs->ts = repalloc_huge(fs->ts, sizeof(double) * fs->cap);
			fs->y = repalloc_huge(fs->y, sizeof(double) * fs->cap);
		}
	}
	fs->ts[fs->len] = t;
	fs->y[fs->len] = v;
	fs->len++;
}

static bool
receive_slot(TupleTableSlot *slot, DestReceiver *self)
{
	Receiver   *r = (Receiver *) self;
	FcSeriesSet *s = r->set;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);
	double		t,
				v;

	slot_getallattrs(slot);
	if ((++s->nrows & 0xFFFF) == 0)
		MlRunProgress(ML_PROGRESS_SAME_FRACTION, s->nrows);
	t = slot->tts_isnull[0] ? NAN : MlBaseDatumToDouble(slot->tts_values[0], r->ttype);
	v = slot->tts_isnull[1] ? NAN : MlBaseDatumToDouble(slot->tts_values[1], r->vtype);
	if (!isfinite(t))
		s->rows_without_time++;
	else if (!isfinite(v))
		s->rows_without_value++;
	else
	{
		append_point(series_of(r, slot), t, v);
		s->npoints++;
		s->tmin = Min(s->tmin, t);
		s->tmax = Max(s->tmax, t);
	}
	MemoryContextSwitchTo(old);
	return true;
}

static void
receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	(void) self;
	(void) operation;
	(void) typeinfo;
}

static void
receiver_noop(DestReceiver *self)
{
	(void) self;
}

static Receiver *
make_receiver(FcSeriesSet *s, Oid relid, const char *target, const char *time_column,
			  List *series_by, FcSeriesReady ready, void *ready_arg)
{
	Receiver   *r = palloc0(sizeof(Receiver));
	HASHCTL		ctl;
	ListCell   *lc;

	r->pub.receiveSlot = receive_slot;
	r->pub.rStartup = receiver_startup;
	r->pub.rShutdown = receiver_noop;
	r->pub.rDestroy = receiver_noop;
	r->pub.mydest = DestNone;
	r->set = s;
	r->cxt = CurrentMemoryContext;
	r->ready = ready;
	r->ready_arg = ready_arg;
	r->ttype = getBaseType(get_atttype(relid, get_attnum(relid, time_column)));
	r->vtype = getBaseType(get_atttype(relid, get_attnum(relid, target)));
	r->nkeys = list_length(series_by);
	r->knames = series_by;
	r->ktype = palloc(sizeof(Oid) * Max(r->nkeys, 1));
	r->kbyval = palloc(sizeof(bool) * Max(r->nkeys, 1));
	r->klen = palloc(sizeof(int16) * Max(r->nkeys, 1));
	r->kout = palloc(sizeof(FmgrInfo) * Max(r->nkeys, 1));
	r->last = palloc0(sizeof(Datum) * Max(r->nkeys, 1));
	r->lastnull = palloc(sizeof(bool) * Max(r->nkeys, 1));
	foreach(lc, series_by)
	{
		int			k = foreach_current_index(lc);
		Oid			typid = get_atttype(relid, get_attnum(relid, lfirst(lc)));
		Oid			outfn;
		bool		varlena;

		r->ktype[k] = getBaseType(typid);
		get_typlenbyval(typid, &r->klen[k], &r->kbyval[k]);
		getTypeOutputInfo(typid, &outfn, &varlena);
		fmgr_info(outfn, &r->kout[k]);
		r->lastnull[k] = true;
	}
	r->seriescap = 64;
	r->series = palloc(sizeof(FcSeries *) * r->seriescap);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(KeyEntry);
	ctl.hash = key_hash;
	ctl.match = key_match;
	ctl.hcxt = CurrentMemoryContext;
	r->keys = hash_create("forecast series keys", 1024, &ctl,
						  HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	return r;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp((*(FcSeries *const *) a)->key, (*(FcSeries *const *) b)->key);
}

typedef struct Point
{
	double		t;
	double		y;
} Point;

static int
cmp_point(const void *a, const void *b)
{
	const Point *p = a,
			   *q = b;

	if (p->t != q->t)
		return p->t < q->t ? -1 : 1;
	return p->y < q->y ? -1 : p->y > q->y;
}

/* Sort one series' points by time (then value), unless they already are. */
static void
sort_series(double *ts, double *y, int n)
{
	Point	   *pts;
	bool		sorted = true;

	for (int i = 1; i < n && sorted; i++)
		sorted = ts[i - 1] < ts[i] || (ts[i - 1] == ts[i] && y[i - 1] <= y[i]);
	if (sorted)
		return;
	pts = palloc(sizeof(Point) * n);
	for (int i = 0; i < n; i++)
	{
		pts[i].t = ts[i];
		pts[i].y = y[i];
	}
	qsort(pts, n, sizeof(Point), cmp_point);
	for (int i = 0; i < n; i++)
	{
		ts[i] = pts[i].t;
		y[i] = pts[i].y;
	}
	pfree(pts);
}

/* Series in key order, each in time order. */
static void
arrange(FcSeriesSet *s, Receiver *r)
{
	s->nseries = r->nseries;
	s->series = r->series;
	qsort(s->series, s->nseries, sizeof(FcSeries *), cmp_key);
	for (int64 i = 0; i < s->nseries; i++)
	{
		FcSeries   *fs = s->series[i];

		if (!fs->handed || fs->reopened)
			sort_series(fs->ts, fs->y, fs->len);
		if (i % 1024 == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Read the series; ready (may be NULL) is called for each series as its run
 * of rows ends (see above).
 */
FcSeriesSet *
FcLoadSeries(Oid relid, const char *target, const char *time_column, List *series_by,
			 FcSeriesReady ready, void *ready_arg)
{
	FcSeriesSet *s = palloc0(sizeof(FcSeriesSet));
	Receiver   *r;
	StringInfoData sql;
	SPIExecuteOptions opts;
	ListCell   *lc;

	s->tmin = INFINITY;
	s->tmax = -INFINITY;
	s->time_type = get_atttype(relid, get_attnum(relid, time_column));
	r = make_receiver(s, relid, target, time_column, series_by, ready, ready_arg);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s, %s", quote_identifier(time_column), quote_identifier(target));
	foreach(lc, series_by)
		appendStringInfo(&sql, ", %s", quote_identifier(lfirst(lc)));
	appendStringInfo(&sql, " FROM %s", MlRelName(relid));

	memset(&opts, 0, sizeof(opts));
	opts.dest = (DestReceiver *) r;
	/* our receiver is DestNone to the executor, so SPI reports SPI_OK_UTILITY */
	if (SPI_execute_extended(sql.data, &opts) < 0)
		elog(ERROR, "could not read the relation of the series: %s", sql.data);
	/* SPI leaves us in its procedure context: go back to ours */
	MemoryContextSwitchTo(r->cxt);
	end_run(r);
	arrange(s, r);
	return s;
}
