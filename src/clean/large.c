/*
 * large.c
 *	  Tables larger than the memory budget: sample and chunk sizes from
 *	  maintenance_work_mem, and fitted models applied chunk by chunk.
 */
#include "postgres.h"

#include <math.h>

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
#include "core/run_progress.h"

/*
 * Tables larger than maintenance_work_mem: the models, fitted on a sample,
 * are applied chunk by chunk to the rows that miss one of their columns,
 * each chunk loaded, filled and written in place (by ctid) before the
 * next, in a memory context reset between chunks. A cursor's snapshot
 * never sees the rows the chunks rewrite. Returns cells filled per model.
 */
int64 *
MlApplyModelsChunked(Oid relid, Jsonb *models, JsonbContainer *roles, List *numeric_text,
					 List *zoned, List *unzoned, int64 chunk_rows)
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
	int64		done = 0;		/* rows with a gap filled so far */
	ListCell   *lc;

	MlRecipeReading(0);			/* models fitted by this call */
	it = JsonbIteratorInit(&models->root);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		if (tok == WJB_ELEM && e.type == jbvBinary &&
			strcmp(MlOptString(e.val.binary.data, "step", "model"), "model") == 0)
			objs = lappend(objs, e.val.binary.data);
	filled = palloc0(sizeof(int64) * (list_length(objs) + 1));
	if (objs == NIL)
		return filled;

	initStringInfo(&where);
	foreach(lc, objs)
	{
		char	   *col = MlOptString(lfirst(lc), "column", NULL);
		char	   *method = MlOptString(lfirst(lc), "method", "none");
		ListCell   *ln;

		if (strcmp(method, "locf") == 0 || strcmp(method, "interpolate") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("method \"%s\" needs the whole table in memory, more than maintenance_work_mem", method),
					 errhint("Raise maintenance_work_mem for this session.")));
		appendStringInfo(&where, "%s%s IS NULL", where.len ? " OR " : " WHERE ", quote_identifier(col));
		/* text read as numbers: a cell that is not one is a gap too */
		foreach(ln, numeric_text)
			if (strcmp(lfirst(ln), col) == 0)
				appendStringInfo(&where, " OR mlops.try_cast_numeric(%s::text) IS NULL",
								 quote_identifier(col));
		/* and text read as times, as the sample read them ("unknown" was left) */
		foreach(ln, zoned)
			if (strcmp(lfirst(ln), col) == 0)
				appendStringInfo(&where, " OR mlops.try_cast_timestamptz(%s::text) IS NULL",
								 quote_identifier(col));
		foreach(ln, unzoned)
			if (strcmp(lfirst(ln), col) == 0)
				appendStringInfo(&where, " OR mlops.try_cast_timestamp(%s::text) IS NULL",
								 quote_identifier(col));
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
		/* each chunk reads its columns the way the sample was read */
		MlApplyRoles(frame, roles, NULL, false, numeric_text, zoned, unzoned);
		fills = MlFillsCreate(frame);
		foreach(lc, objs)
		{
			MlModel    *m = MlModelFromJson(frame, lfirst(lc));

			filled[foreach_current_index(lc)] += MlImputeApplyModel(frame, fills, m, lfirst(lc));
		}
		MlFillsWrite(frame, fills, NULL);
		MlProgress("filled a chunk of %lld rows", (long long) frame->nrows);
		done += frame->nrows;
		MlRunProgress(ML_PROGRESS_SAME_FRACTION, done);
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunkcxt);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(chunkcxt);
	return filled;
}

/*
 * The SQL condition under which a non-null cell (qc, quoted) of a text
 * column the frame read as numbers or times is not one, as the frame's
 * parsers read it; NULL for any other column. Text declared numeric or
 * datetime by options.roles is read so as much as text inferred to hold
 * numbers: the large path once counted and filled only the latter's.
 */
char *
MlUnparsedCondition(MlColumn *col, const char *qc)
{
	if (!col->converted)
		return NULL;
	if (col->kind == ML_KIND_NUMERIC)
		return psprintf("mlops.try_cast_numeric(%s::text) IS NULL", qc);
	if (col->kind == ML_KIND_DATETIME)
		return psprintf("mlops.try_cast_%s(%s::text) IS NULL", col->zoned ? "timestamptz" : "timestamp", qc);
	return NULL;
}

/*
 * The unparsed cells of the text columns a sample read as numbers or
 * times, counted over the whole relation (the sample saw only some).
 */
void
MlCountUnparsed(Oid relid, MlFrame *frame)
{
	StringInfoData q;
	int			k = 0;

	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (int c = 0; c < frame->ncols; c++)
	{
		const char *qc = quote_identifier(frame->cols[c].name);
		char	   *cond = MlUnparsedCondition(&frame->cols[c], qc);

		if (cond)
			appendStringInfo(&q, "%spg_catalog.count(*) FILTER (WHERE %s IS NOT NULL AND %s)",
							 k++ ? ", " : "", qc, cond);
	}
	if (k == 0)
		return;
	appendStringInfo(&q, " FROM %s", MlRelName(relid));
	MlSpiExec(q.data, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	k = 1;
	for (int c = 0; c < frame->ncols; c++)
		if (MlUnparsedCondition(&frame->cols[c], "x") != NULL)
		{
			bool		isnull;

			frame->cols[c].nunparsed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																   SPI_tuptable->tupdesc, k++, &isnull));
		}
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
