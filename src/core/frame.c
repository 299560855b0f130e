/*
 * frame.c
 *	  Load a relation into a column-major in-memory frame.
 *
 * Rows are read through an SPI cursor as the caller (so the caller's
 * privileges and row-level security apply) in batches, each batch freed
 * before the next. Memory for the frame is counted against
 * maintenance_work_mem and refused early, with the numbers, if it would
 * not fit.
 *
 * Categorical cells are coded by the column's level dictionary
 * (frame_dict.c); statistics and conversions of loaded columns are in
 * frame_column.c, datetime parts in frame_dates.c.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/portal.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "catalog/pg_class.h"
#include "catalog/namespace.h"
#include "access/attnum.h"
#include "optimizer/plancat.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"

#include "core/casts.h"
#include "core/frame_int.h"
#include "core/run_progress.h"

#define FETCH_BATCH 10000

static MlKind
kind_of_type(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			return ML_KIND_NUMERIC;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			return ML_KIND_DATETIME;
		default:
			return ML_KIND_CATEGORICAL;
	}
}

static double
datum_to_double(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		case NUMERICOID:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
		case DATEOID:
			{
				DateADT		date = DatumGetDateADT(d);

				if (DATE_NOT_FINITE(date))
					return date < 0 ? -INFINITY : INFINITY;
				return ((double) date + (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE)) * SECS_PER_DAY;
			}
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			{
				Timestamp	ts = DatumGetTimestamp(d);

				if (TIMESTAMP_NOT_FINITE(ts))
					return TIMESTAMP_IS_NOBEGIN(ts) ? -INFINITY : INFINITY;
				return MlTimestampEpoch(ts);
			}
		default:
			elog(ERROR, "unexpected type %u", typid);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * Rows of a relation: the planner's count (pg_class.reltuples) or, for a
 * table never vacuumed or analyzed (reltuples -1), its size in pages times
 * the rows a page holds at the columns' estimated width.
 */
double
MlRelTuples(Oid relid)
{
	double		reltuples = 0;
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	char		relkind = 0;

	if (HeapTupleIsValid(tup))
	{
		reltuples = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
		relkind = ((Form_pg_class) GETSTRUCT(tup))->relkind;
		ReleaseSysCache(tup);
	}
	if (reltuples < 0 && (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW))
	{
		Relation	rel = RelationIdGetRelation(relid);
		BlockNumber pages = RelationGetNumberOfBlocks(rel);
		int32		width = get_relation_data_width(relid, NULL) +
			MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);

		RelationClose(rel);
		reltuples = (double) pages * ((BLCKSZ - SizeOfPageHeaderData) / Max(width, 1));
	}
	return Max(reltuples, 0);
}

/*
 * Bytes a frame of the relation would take, from its row count (0 when
 * unknown, MlRelTuples): per cell a value, a code and a null flag, per row a
 * ctid.
 */
Size
MlFrameEstimate(Oid relid, int ncols)
{
	double		reltuples = MlRelTuples(relid);

	if (reltuples <= 0)
		return 0;
	return mul_size((Size) reltuples, add_size(mul_size(ncols, ML_CELL_BYTES), 6));
}

static void
column_init(MlColumn *col, Oid relid, const char *name, int64 capacity)
{
	Oid			collation;

	col->name = pstrdup(name);
	col->attnum = get_attnum(relid, name);
	if (col->attnum == InvalidAttrNumber || col->attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, get_rel_name(relid))));
	get_atttypetypmodcoll(relid, col->attnum, &col->typid, &col->typmod, &collation);
	col->basetype = getBaseType(col->typid);
	col->kind = kind_of_type(col->typid);
	col->isnull = palloc(sizeof(bool) * capacity);
	col->x = palloc(sizeof(double) * capacity);
	col->code = palloc(sizeof(int32) * capacity);
	col->integral = (col->kind == ML_KIND_NUMERIC);
	MlDictInit(col, col->kind != ML_KIND_NUMERIC);
}

static void
column_grow(MlColumn *col, int64 capacity)
{
	col->isnull = repalloc_huge(col->isnull, sizeof(bool) * capacity);
	col->x = repalloc_huge(col->x, sizeof(double) * capacity);
	if (col->code)
		col->code = repalloc_huge(col->code, sizeof(int32) * capacity);
}

/*
 * Store one cell. Output functions are only used for non-numeric kinds;
 * text types and booleans print as their bytes and "t"/"f", read directly.
 */
static void
column_put(MlColumn *col, int64 row, Datum d, bool isnull, FmgrInfo *out)
{
	Oid			base = col->basetype;

	col->isnull[row] = isnull;
	if (isnull)
	{
		col->x[row] = NAN;
		if (col->code)
			col->code[row] = -1;
		return;
	}
	if (col->kind == ML_KIND_CATEGORICAL)
	{
		col->x[row] = NAN;
		if (base == TEXTOID || base == VARCHAROID || base == BPCHAROID)
		{
			struct varlena *v = PG_DETOAST_DATUM_PACKED(d);

			col->code[row] = MlDictCodeLen(col, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), 0, true);
			if ((Pointer) v != DatumGetPointer(d))
				pfree(v);
		}
		else if (base == BOOLOID)
			col->code[row] = MlDictCodeLen(col, DatumGetBool(d) ? "t" : "f", 1, 0, true);
		else
		{
			char	   *s = OutputFunctionCall(out, d);

			col->code[row] = MlDictCode(col, s, 0, true);
			pfree(s);
		}
		return;
	}
	col->x[row] = datum_to_double(d, base);
	if (col->code == NULL)
		return;
	/* Numeric and datetime columns stay coded while they look discrete. */
	if (isfinite(col->x[row]) && col->x[row] == floor(col->x[row]) &&
		col->kind == ML_KIND_NUMERIC && col->nlevels < ML_MAX_NUMERIC_LEVELS)
		col->code[row] = MlDictCode(col, NULL, col->x[row], true);
	else
	{
		pfree(col->code);
		col->code = NULL;
		col->nlevels = 0;
		MlDictDropDirect(col);
	}
}

/* Epoch seconds (the frame's datetime values) of a finite timestamp or timestamptz. */
double
MlTimestampEpoch(int64 ts)
{
	return (double) ts / USECS_PER_SEC +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
}

/* Decide what each column is, now that all values are in. */
static void
classify_column(MlColumn *col, int64 nrows)
{
	int64		nonnull;

	MlColumnComputeStats(col, nrows);
	nonnull = nrows - col->nnull;
	col->nlevels_seen = nonnull;
	/* distinct whole numbers can be a key; floats are measurements, never */
	if (col->code && col->nlevels >= 20 && col->nlevels == nonnull && nonnull >= 20 &&
		col->typid != FLOAT4OID && col->typid != FLOAT8OID)
		col->identifier = true;
	if (col->kind == ML_KIND_CATEGORICAL && nonnull >= 20 && col->nlevels > nonnull / 2)
		col->kind = ML_KIND_TEXT;
	/* High-cardinality numerics are measures, not keys: drop their codes. */
	if (col->kind == ML_KIND_NUMERIC && col->code && col->nlevels > Max(64, nrows / 4))
	{
		pfree(col->code);
		col->code = NULL;
		MlDictDropDirect(col);
	}
}

/*
 * Mark the columns that are generated in relid (the source, when the frame
 * reads a working copy): their values come from their expression, so they
 * are never imputed (in place they cannot be written; into a new table a
 * fill would contradict the expression).
 */
void
MlFrameMarkGenerated(MlFrame *frame, Oid relid)
{
	for (int c = 0; c < frame->ncols; c++)
	{
		HeapTuple	tup = SearchSysCacheAttName(relid, frame->cols[c].name);

		if (HeapTupleIsValid(tup))
		{
			if (((Form_pg_attribute) GETSTRUCT(tup))->attgenerated != '\0')
				frame->cols[c].generated = true;
			ReleaseSysCache(tup);
		}
	}
}

/* An empty frame over the named columns (all user columns when NIL). */
MlFrame *
MlFrameCreate(Oid relid, List *colnames, bool with_tids)
{
	MlFrame    *frame = palloc0(sizeof(MlFrame));
	ListCell   *lc;
	int			c = 0;

	if (colnames == NIL)
	{
		Relation	rel = RelationIdGetRelation(relid);

		for (int a = 0; a < RelationGetDescr(rel)->natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), a);

			if (!att->attisdropped)
				colnames = lappend(colnames, pstrdup(NameStr(att->attname)));
		}
		RelationClose(rel);
	}
	frame->relid = relid;
	frame->ncols = list_length(colnames);
	frame->cols = palloc0(sizeof(MlColumn) * Max(frame->ncols, 1));
	frame->capacity = 1024;
	frame->out = palloc(sizeof(FmgrInfo) * Max(frame->ncols, 1));
	foreach(lc, colnames)
	{
		Oid			outfn;
		bool		varlena;

		column_init(&frame->cols[c], relid, lfirst(lc), frame->capacity);
		getTypeOutputInfo(frame->cols[c].typid, &outfn, &varlena);
		fmgr_info(outfn, &frame->out[c]);
		c++;
	}
	if (with_tids)
		frame->tids = palloc(sizeof(ItemPointerData) * frame->capacity);
	MlFrameMarkGenerated(frame, relid);
	return frame;
}

/* "SELECT [ctid,] columns FROM relation" for a frame, plus a suffix. */
char *
MlFrameQuery(MlFrame *frame, const char *suffix)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, frame->tids ? "SELECT ctid" : "SELECT ");
	for (int c = 0; c < frame->ncols; c++)
		appendStringInfo(&sql, "%s%s", (c > 0 || frame->tids) ? ", " : "",
						 quote_identifier(frame->cols[c].name));
	if (frame->ncols == 0 && !frame->tids)
		appendStringInfoString(&sql, "1");
	appendStringInfo(&sql, " FROM %s%s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(frame->relid)),
												get_rel_name(frame->relid)),
					 suffix ? suffix : "");
	return sql.data;
}

/*
 * Append up to max_rows rows from an open cursor (of MlFrameQuery's shape);
 * returns how many came. Stops with an error, with the numbers, when the
 * frame would outgrow maintenance_work_mem.
 */
int64
MlFrameFetch(MlFrame *frame, Portal portal, int64 max_rows)
{
	Size		budget = (Size) maintenance_work_mem * 1024;
	int			first = frame->tids ? 1 : 0;
	int64		got = 0;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext batch = AllocSetContextCreate(cxt, "ml frame batch", ALLOCSET_DEFAULT_SIZES);
	Datum	   *values;
	bool	   *nulls;

	while (got < max_rows)
	{
		SPI_cursor_fetch(portal, true, (long) Min(FETCH_BATCH, max_rows - got));
		/* SPI leaves us in its procedure context: the frame grows in ours */
		MemoryContextSwitchTo(cxt);
		if (SPI_processed == 0)
			break;
		if (frame->nrows + (int64) SPI_processed > frame->capacity)
		{
			int64		need = frame->nrows + (int64) SPI_processed;
			Size		row_bytes = (Size) frame->ncols * ML_CELL_BYTES + 6;
			int64		fits = (int64) (budget / row_bytes);

			/* the rows held decide, not the doubled capacity: clamp it */
			while (need > frame->capacity)
				frame->capacity *= 2;
			if (frame->capacity > fits)
				frame->capacity = Max(fits, need);
			if ((Size) need * row_bytes > budget)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("relation \"%s\" does not fit in maintenance_work_mem (%zu MB) at %lld rows",
								get_rel_name(frame->relid), budget / (1024 * 1024),
								(long long) frame->nrows),
						 errhint("Raise maintenance_work_mem for this session, or process fewer columns.")));
			for (int c = 0; c < frame->ncols; c++)
				column_grow(&frame->cols[c], frame->capacity);
			if (frame->tids)
				frame->tids = repalloc_huge(frame->tids, sizeof(ItemPointerData) * frame->capacity);
		}
		/* what converting a cell allocates (detoasted values, text) dies with the batch */
		MemoryContextSwitchTo(batch);
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;

			values = palloc(sizeof(Datum) * Max(desc->natts, 1));
			nulls = palloc(sizeof(bool) * Max(desc->natts, 1));
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;

			heap_deform_tuple(tup, desc, values, nulls);
			if (frame->tids)
				frame->tids[frame->nrows] = *((ItemPointer) DatumGetPointer(values[0]));
			for (int c = 0; c < frame->ncols; c++)
				column_put(&frame->cols[c], frame->nrows, values[c + first],
						   nulls[c + first], &frame->out[c]);
			frame->nrows++;
		}
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(batch);
		got += SPI_processed;
		SPI_freetuptable(SPI_tuptable);
		/* a whole relation read: the rows so far are a job run's progress (chunks count their own) */
		if (max_rows == PG_INT64_MAX)
			MlRunProgress(ML_PROGRESS_SAME_FRACTION, frame->nrows);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(batch);
	return got;
}

/* Decide what each column is, now that all values are in. */
void
MlFrameFinish(MlFrame *frame)
{
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		classify_column(col, frame->nrows);
		col->wasnull = palloc(sizeof(bool) * Max(frame->nrows, 1));
		memcpy(col->wasnull, col->isnull, sizeof(bool) * frame->nrows);
	}
}

/*
 * Load the named columns of a relation, every row, or with sample_rows > 0
 * a uniform random sample of about that many rows (Bernoulli sampling, a
 * fixed seed). Must be called inside SPI; memory lives in the current
 * context.
 */
MlFrame *
MlFrameLoad(Oid relid, List *colnames, bool with_tids)
{
	return MlFrameLoadSample(relid, colnames, with_tids, 0);
}

MlFrame *
MlFrameLoadSample(Oid relid, List *colnames, bool with_tids, int64 sample_rows)
{
	MlFrame    *frame = MlFrameCreate(relid, colnames, with_tids);
	char	   *suffix = NULL;
	Portal		portal;
	instr_time	start,
				now;

	INSTR_TIME_SET_CURRENT(start);
	if (sample_rows > 0)
	{
		double		reltuples = Max(1, MlRelTuples(relid));

		suffix = psprintf(" TABLESAMPLE BERNOULLI (%.6f) REPEATABLE (42)",
						  Min(100.0, 100.0 * sample_rows / reltuples));
	}
	portal = SPI_cursor_open_with_args(NULL, MlFrameQuery(frame, suffix), 0, NULL, NULL, NULL, false, 0);
	(void) MlFrameFetch(frame, portal, PG_INT64_MAX);
	SPI_cursor_close(portal);
	MlFrameFinish(frame);
	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	elog(DEBUG1, "frame timing: load %.3f s (" INT64_FORMAT " rows, %d columns)",
		 INSTR_TIME_GET_DOUBLE(now), frame->nrows, frame->ncols);
	return frame;
}

int
MlFrameColumn(MlFrame *frame, const char *name)
{
	for (int c = 0; c < frame->ncols; c++)
		if (strcmp(frame->cols[c].name, name) == 0)
			return c;
	return -1;
}

/* For scoring: a cell as the frame would hold it (base type of typid). */
double
MlDatumToDouble(Datum d, Oid typid)
{
	return datum_to_double(d, getBaseType(typid));
}

/* The same for a value whose type is already a base type (no catalog lookup). */
double
MlBaseDatumToDouble(Datum d, Oid basetype)
{
	return datum_to_double(d, basetype);
}

MlKind
MlKindOfType(Oid typid)
{
	return kind_of_type(typid);
}

