/*
 * frame.c
 *	  Load a relation into a column-major in-memory frame.
 *
 * Rows are read through an SPI cursor as the caller (so the caller's
 * privileges and row-level security apply) in batches, each batch freed
 * before the next. Memory for the frame is counted against
 * maintenance_work_mem and refused early, with the numbers, if it would
 * not fit.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
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
#include "core/frame.h"
#include "core/run_progress.h"

#define FETCH_BATCH 10000
#define DICT_DIRECT 4096		/* whole numbers 0 .. 4095 looked up without hashing */

/*
 * Open-addressing map from a level (text or number) to its code. Numeric
 * columns are mostly small whole numbers (counts, prices, ids): those are
 * also found in a direct table, filled as their levels are added, so the
 * codes are the same as the hash table's.
 */
struct MlDict
{
	uint32		mask;
	int32	   *slots;			/* code + 1, 0 when empty */
	uint32	   *hashes;			/* hash of each level, by code */
	int			capacity;		/* allocated levels */
	int32	   *direct;			/* numeric: code + 1 of whole number k, 0 if not seen
								 * (a cache of the slots: NULL until a whole
								 * number is added, and once the codes are
								 * dropped) */
};

/* A number's slot in the direct table, or -1 (-0 is a level of its own there) */
static inline int
dict_direct_slot(double value)
{
	if (value >= 0 && value < DICT_DIRECT && !signbit(value))
	{
		int			k = (int) value;

		if ((double) k == value)
			return k;
	}
	return -1;
}

/* a level's hash: its bytes (text), or its bits mixed (a number) */
static inline uint32
hash_level(const char *text, int len, double value)
{
	uint64		bits;

	if (text)
		return hash_bytes((const unsigned char *) text, len);
	memcpy(&bits, &value, sizeof(bits));
	bits ^= bits >> 33;
	bits *= UINT64CONST(0xff51afd7ed558ccd);
	bits ^= bits >> 33;
	return (uint32) bits;
}

static void
dict_grow_slots(MlColumn *col)
{
	MlDict	   *d = col->dict;
	uint32		newsize = (d->mask + 1) * 2;

	pfree(d->slots);
	d->slots = MemoryContextAllocZero(GetMemoryChunkContext(d->hashes), sizeof(int32) * newsize);
	d->mask = newsize - 1;
	for (int c = 0; c < col->nlevels; c++)
	{
		uint32		i = d->hashes[c] & d->mask;

		while (d->slots[i])
			i = (i + 1) & d->mask;
		d->slots[i] = c + 1;
	}
}

/*
 * Code of a level, adding it if new (text of len bytes, not necessarily
 * terminated, for categorical columns; value for numeric ones). Returns -1
 * when the column may hold no more levels.
 */
static int32
dict_code_len(MlColumn *col, const char *text, int len, double value, bool add)
{
	MlDict	   *d = col->dict;
	int			k = text ? -1 : dict_direct_slot(value);
	uint32		h;
	uint32		i;

	if (k >= 0 && d->direct && d->direct[k] > 0)
		return d->direct[k] - 1;
	h = hash_level(text, len, value);
	i = h & d->mask;
	while (d->slots[i])
	{
		int32		c = d->slots[i] - 1;

		if (d->hashes[c] == h &&
			(text ? (memcmp(col->level_text[c], text, len) == 0 && col->level_text[c][len] == '\0') :
			 col->level_value[c] == value))
			return c;
		i = (i + 1) & d->mask;
	}
	if (!add)
		return -1;
	if (col->nlevels >= d->capacity)
	{
		d->capacity *= 2;
		d->hashes = repalloc(d->hashes, sizeof(uint32) * d->capacity);
		if (text)
			col->level_text = repalloc(col->level_text, sizeof(char *) * d->capacity);
		else
			col->level_value = repalloc(col->level_value, sizeof(double) * d->capacity);
	}
	d->hashes[col->nlevels] = h;
	/* levels live as long as the column, whatever context adds them */
	if (text)
	{
		char	   *copy = MemoryContextAlloc(GetMemoryChunkContext(d->hashes), len + 1);

		memcpy(copy, text, len);
		copy[len] = '\0';
		col->level_text[col->nlevels] = copy;
	}
	else
		col->level_value[col->nlevels] = value;
	d->slots[i] = col->nlevels + 1;
	if (k >= 0)
	{
		if (d->direct == NULL)
			d->direct = MemoryContextAllocZero(GetMemoryChunkContext(d->hashes),
											   sizeof(int32) * DICT_DIRECT);
		d->direct[k] = col->nlevels + 1;
	}
	col->nlevels++;
	if ((uint32) col->nlevels * 2 > d->mask)
		dict_grow_slots(col);
	return col->nlevels - 1;
}

static inline int32
dict_code(MlColumn *col, const char *text, double value, bool add)
{
	return dict_code_len(col, text, text ? (int) strlen(text) : 0, value, add);
}

static void
dict_init(MlColumn *col, bool text)
{
	col->dict = palloc0(sizeof(MlDict));
	col->dict->mask = 1023;
	col->dict->slots = palloc0(sizeof(int32) * 1024);
	col->dict->capacity = 256;
	col->dict->hashes = palloc(sizeof(uint32) * 256);
	if (text)
		col->level_text = palloc(sizeof(char *) * 256);
	else
		col->level_value = palloc(sizeof(double) * 256);
}

/* A column's codes are dropped: its direct table is no longer worth its memory. */
static void
dict_drop_direct(MlColumn *col)
{
	if (col->dict && col->dict->direct)
	{
		pfree(col->dict->direct);
		col->dict->direct = NULL;
	}
}

/* Code of a text level, added to the column's levels if new. */
int32
MlColumnAddLevel(MlColumn *col, const char *text)
{
	return dict_code(col, text, 0, true);
}

/* An empty level dictionary for a text column built outside a load (one scored row). */
void
MlColumnInitLevels(MlColumn *col)
{
	dict_init(col, true);
	col->nlevels = 0;
}

/* Code of an existing level, or -1 (used to map new data onto a recipe). */
int32
MlColumnLevel(MlColumn *col, const char *text, double value)
{
	if (col->dict == NULL)
		return -1;
	return dict_code(col, text, value, false);
}

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
				return (double) ts / USECS_PER_SEC +
					(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
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
	dict_init(col, col->kind != ML_KIND_NUMERIC);
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

			col->code[row] = dict_code_len(col, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), 0, true);
			if ((Pointer) v != DatumGetPointer(d))
				pfree(v);
		}
		else if (base == BOOLOID)
			col->code[row] = dict_code_len(col, DatumGetBool(d) ? "t" : "f", 1, 0, true);
		else
		{
			char	   *s = OutputFunctionCall(out, d);

			col->code[row] = dict_code(col, s, 0, true);
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
		col->code[row] = dict_code(col, NULL, col->x[row], true);
	else
	{
		pfree(col->code);
		col->code = NULL;
		col->nlevels = 0;
		dict_drop_direct(col);
	}
}

void
MlColumnComputeStats(MlColumn *col, int64 nrows)
{
	double		sum = 0,
				sumsq = 0;
	int64		n = 0;

	col->nnull = 0;
	col->ninfinite = 0;
	col->min = INFINITY;
	col->max = -INFINITY;
	col->integral = (col->kind == ML_KIND_NUMERIC);
	for (int64 i = 0; i < nrows; i++)
	{
		double		v = col->x[i];

		if (col->isnull[i])
		{
			col->nnull++;
			continue;
		}
		if (col->kind == ML_KIND_CATEGORICAL || col->kind == ML_KIND_TEXT)
			continue;
		if (!isfinite(v))
		{
			col->ninfinite++;
			continue;
		}
		n++;
		sum += v;
		sumsq += v * v;
		if (v < col->min)
			col->min = v;
		if (v > col->max)
			col->max = v;
		if (col->integral && v != floor(v))
			col->integral = false;
	}
	col->decimals = col->integral ? 0 : -1;
	if (col->kind == ML_KIND_NUMERIC && !col->integral && n > 0)
	{
		/* the fewest decimal places that write every value exactly */
		col->decimals = 0;
		for (int64 i = 0; i < nrows && col->decimals >= 0; i++)
		{
			double		v = col->x[i];

			if (col->isnull[i] || !isfinite(v))
				continue;
			while (col->decimals <= 6)
			{
				double		s = v * pow(10, col->decimals);

				if (fabs(s - rint(s)) <= 1e-9 * Max(1.0, fabs(s)))
					break;
				col->decimals++;
			}
			if (col->decimals > 6)
				col->decimals = -1;
		}
	}
	col->mean = n > 0 ? sum / n : 0;
	col->sd = n > 1 ? sqrt(fmax(0, (sumsq - n * col->mean * col->mean) / (n - 1))) : 0;
}

/*
 * A discrete column is imputed as a classifier would: its values are a
 * small set of levels (booleans, text categories, small integer codes).
 */
bool
MlColumnIsDiscrete(MlColumn *col)
{
	if (col->role == ML_ROLE_CATEGORICAL)
		return true;
	if (col->role == ML_ROLE_NUMERIC || col->role == ML_ROLE_DATETIME)
		return false;
	if (col->kind == ML_KIND_CATEGORICAL)
		return true;
	/* few whole-number levels, each seen several times: codes, not amounts */
	return col->kind == ML_KIND_NUMERIC && col->code != NULL && col->integral &&
		col->nlevels <= 32 && (int64) col->nlevels * 5 <= col->nlevels_seen;
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
		dict_drop_direct(col);
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

/* The broken-down time of an epoch: false when it has none (NaN, out of range). */
static bool
epoch_tm(double epoch, bool with_tz, struct pg_tm *tm, fsec_t *fsec, int *jd)
{
	int			tz;
	Timestamp	ts;

	if (!isfinite(epoch))
		return false;
	/* beyond the timestamp range (far dates): no parts, never an overflowing cast */
	if (fabs(epoch) > 9.0e12)
		return false;
	ts = (Timestamp) ((epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
					  * USECS_PER_SEC);
	if (timestamp2tm(ts, with_tz ? &tz : NULL, tm, fsec, NULL, NULL) != 0)
		return false;
	*jd = date2j(tm->tm_year, tm->tm_mon, tm->tm_mday);
	return true;
}

static double
part_of_tm(const struct pg_tm *tm, fsec_t fsec, int jd, MlDatePart part)
{
	switch (part)
	{
		case ML_PART_YEAR:
			return tm->tm_year;
		case ML_PART_MONTH:
			return tm->tm_mon;
		case ML_PART_DAY:
			return tm->tm_mday;
		case ML_PART_HOUR:
			return tm->tm_hour;
		case ML_PART_MINUTE:
			return tm->tm_min;
		case ML_PART_SECOND:
			return tm->tm_sec + fsec / 1e6;
		case ML_PART_DOW:
			return j2day(jd);
		case ML_PART_DOY:
			return jd - date2j(tm->tm_year, 1, 1) + 1;
		case ML_PART_WEEK:
			return date2isoweek(tm->tm_year, tm->tm_mon, tm->tm_mday);
		case ML_PART_WEEKEND:
			return (j2day(jd) == 0 || j2day(jd) == 6) ? 1 : 0;
	}
	return NAN;
}

/*
 * A datetime part of epoch seconds. Timestamps without time zone are
 * taken as they are; timestamptz values in the session time zone.
 */
double
MlDatePartOf(double epoch, MlDatePart part, bool with_tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;

	if (!epoch_tm(epoch, with_tz, &tm, &fsec, &jd))
		return NAN;
	return part_of_tm(&tm, fsec, jd, part);
}

/* Several parts of one epoch, broken down once: out[p] = MlDatePartOf(epoch, parts[p]). */
void
MlDatePartsOf(double epoch, const MlDatePart *parts, int nparts, bool with_tz, double *out)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;
	bool		ok = epoch_tm(epoch, with_tz, &tm, &fsec, &jd);

	for (int p = 0; p < nparts; p++)
		out[p] = ok ? part_of_tm(&tm, fsec, jd, parts[p]) : NAN;
}

/*
 * MlDatePartsOf through a memo of the last day broken down, for
 * timestamps without time zone (their date parts depend on the day alone,
 * their time parts on the time of day alone, exactly as timestamp2tm
 * splits them): rows of the same day skip the calendar arithmetic. With a
 * time zone, every value takes the full path.
 */
void
MlDatePartsOfMemo(double epoch, const MlDatePart *parts, int nparts, bool with_tz, double *out,
				  MlDayMemo *memo)
{
	Timestamp	ts,
				date,
				time;
	struct pg_tm tm;
	fsec_t		fsec;
	int			jd;

	if (with_tz || !isfinite(epoch) || fabs(epoch) > 9.0e12)
	{
		MlDatePartsOf(epoch, parts, nparts, with_tz, out);
		return;
	}
	/* epoch_tm's timestamp, then timestamp2tm's split of it */
	ts = (Timestamp) ((epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)
					  * USECS_PER_SEC);
	time = ts;
	TMODULO(time, date, USECS_PER_DAY);
	if (time < INT64CONST(0))
	{
		time += USECS_PER_DAY;
		date -= 1;
	}
	if (!memo->valid || memo->date != date)
	{
		bool		ok = epoch_tm(epoch, false, &tm, &fsec, &jd);

		for (int p = 0; p < nparts; p++)
			out[p] = ok ? part_of_tm(&tm, fsec, jd, parts[p]) : NAN;
		memo->valid = ok;
		memo->date = date;
		memo->year = tm.tm_year;
		memo->mon = tm.tm_mon;
		memo->mday = tm.tm_mday;
		memo->jd = jd;
		return;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = memo->year;
	tm.tm_mon = memo->mon;
	tm.tm_mday = memo->mday;
	dt2time(time, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &fsec);
	for (int p = 0; p < nparts; p++)
		out[p] = part_of_tm(&tm, fsec, memo->jd, parts[p]);
}

/* Swap-based selection: after it, v[k] is the k-th smallest of v[0..n). */
static void
select_kth(double *v, int64 n, int64 k)
{
	int64		lo = 0,
				hi = n - 1;

	while (hi > lo)
	{
		double		pivot = v[lo + (hi - lo) / 2];
		int64		i = lo,
					j = hi;

		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		t = v[i];

				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
}

/*
 * The q-quantile of v[0..n) with linear interpolation (as pandas and
 * numpy's default), in linear time; v is reordered.
 */
double
MlQuantile(double *v, int64 n, double q)
{
	double		pos = q * (n - 1);
	int64		k = (int64) floor(pos);
	double		a,
				b;

	if (n <= 0)
		return NAN;
	select_kth(v, n, k);
	a = v[k];
	if (k + 1 >= n || pos == k)
		return a;
	/* the next order statistic is the smallest of the upper part */
	b = v[k + 1];
	for (int64 i = k + 2; i < n; i++)
		if (v[i] < b)
			b = v[i];
	return a + (b - a) * (pos - k);
}

/*
 * A text column declared numeric or datetime: parse its levels (a value
 * that does not parse becomes a gap) and make it a column of that kind,
 * numeric codes rebuilt from the values.
 */
void
MlColumnConvert(MlColumn *col, int64 nrows, MlKind kind,
				bool (*parse) (const char *text, double *value))
{
	double	   *vals = palloc(sizeof(double) * Max(col->nlevels, 1));
	bool	   *ok = palloc(sizeof(bool) * Max(col->nlevels, 1));
	int32	   *oldcode = col->code;

	int			nex = 0;

	for (int l = 0; l < col->nlevels; l++)
	{
		ok[l] = parse(col->level_text[l], &vals[l]);
		/* a few of the texts that do not parse, for the report */
		if (!ok[l] && nex < (int) lengthof(col->unparsed_examples))
			col->unparsed_examples[nex++] = col->level_text[l];
	}
	col->nunparsed = 0;
	col->kind = kind;
	col->converted = true;
	col->level_text = NULL;
	col->nlevels = 0;
	col->code = kind == ML_KIND_NUMERIC ? palloc(sizeof(int32) * Max(nrows, 1)) : NULL;
	if (col->code)
		dict_init(col, false);
	for (int64 r = 0; r < nrows; r++)
	{
		int32		l = col->isnull[r] ? -1 : oldcode[r];

		if (l < 0 || !ok[l])
		{
			if (l >= 0)
				col->nunparsed++;
			col->isnull[r] = true;
			col->x[r] = NAN;
			if (col->code)
				col->code[r] = -1;
			continue;
		}
		col->x[r] = vals[l];
		if (col->code == NULL)
			continue;
		if (col->x[r] == floor(col->x[r]) && col->nlevels < ML_MAX_NUMERIC_LEVELS)
			col->code[r] = dict_code(col, NULL, col->x[r], true);
		else
		{
			col->code = NULL;	/* not a small set of whole numbers: no codes */
			col->nlevels = 0;
		}
	}
	MlColumnComputeStats(col, nrows);
	col->nlevels_seen = nrows - col->nnull;
	if (col->wasnull)
		memcpy(col->wasnull, col->isnull, sizeof(bool) * nrows);
}

/*
 * Whether a text column (inferred categorical or free text, no declared
 * role) is mostly numbers: at least ML_NUMERIC_TEXT_SHARE of its non-null
 * cells parse as plain decimal numbers. Not when a number has leading
 * zeros (codes such as "007"), nor for a key of distinct whole numbers.
 */
bool
MlColumnMostlyNumbers(MlColumn *col, int64 nrows)
{
	int64	   *count;
	int64		nonnull = 0,
				parsed = 0;
	bool		whole = true;
	bool		result;

	if ((col->kind != ML_KIND_CATEGORICAL && col->kind != ML_KIND_TEXT) ||
		col->level_text == NULL || col->code == NULL || col->nlevels == 0 ||
		col->role != ML_ROLE_AUTO)
		return false;
	count = palloc0(sizeof(int64) * col->nlevels);
	for (int64 r = 0; r < nrows; r++)
		if (!col->isnull[r] && col->code[r] >= 0)
			count[col->code[r]]++;
	for (int l = 0; l < col->nlevels; l++)
	{
		double		v;

		nonnull += count[l];
		if (!MlTextIsNumber(col->level_text[l], &v))
			continue;
		if (MlTextHasLeadingZero(col->level_text[l]))
		{
			pfree(count);
			return false;
		}
		parsed += count[l];
		if (v != floor(v))
			whole = false;
	}
	pfree(count);
	result = nonnull > 0 && (double) parsed >= ML_NUMERIC_TEXT_SHARE * (double) nonnull;
	/* distinct whole numbers stay a key; distinct fractions are measurements */
	if (result && col->identifier && whole)
		result = false;
	return result;
}

/* qsort_arg comparator: int indices ordered by the doubles they index (arg). */
int
MlCmpIndexByValue(const void *a, const void *b, void *arg)
{
	const double *v = arg;
	double		x = v[*(const int *) a],
				y = v[*(const int *) b];

	return (x > y) - (x < y);
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

/*
 * Epoch seconds (as the frame holds date/time cells) back to the text of a
 * date, timestamp or timestamptz value of type typid.
 */
char *
MlEpochText(double epoch, Oid typid)
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
