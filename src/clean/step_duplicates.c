/*
 * step_duplicates.c
 *	  The duplicates step: exact rows or rows equal on key columns.
 */
#include "postgres.h"

#include <math.h>

#include <math.h>
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/numeric.h"
#include "parser/parse_coerce.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/options.h"
#include "core/progress.h"
#include "clean/pipeline.h"

static uint32
row_hash(MlFrame *frame, int64 r, int *cols, int ncols)
{
	uint32		h = 0x9e3779b9;

	for (int i = 0; i < ncols; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];
		uint64		v;

		if (col->isnull[r])
			v = 0x5bd1e995;
		else if (col->code)
			v = (uint64) col->code[r] + 1;
		else
			memcpy(&v, &col->x[r], sizeof(v));
		h = hash_combine(h, (uint32) (v ^ (v >> 32)));
	}
	return h;
}

static bool
rows_equal(MlFrame *frame, int64 a, int64 b, int *cols, int ncols)
{
	for (int i = 0; i < ncols; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		if (col->isnull[a] != col->isnull[b])
			return false;
		if (col->isnull[a])
			continue;
		if (col->code ? col->code[a] != col->code[b] :
			!(col->x[a] == col->x[b] || (isnan(col->x[a]) && isnan(col->x[b]))))
			return false;
	}
	return true;
}

/*
 * Exact duplicates (all columns, or the key columns), keeping the first
 * row of each set in table order. Values are compared as loaded: numbers
 * as float8, everything else by its text.
 */
void
MlStepDuplicates(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	List	   *keys = MlOptStringList(st, "keys");
	int		   *cols = palloc(sizeof(int) * Max(frame->ncols, 1));
	int			ncols = 0;
	uint32		size = 1024;
	int64	   *slots;
	ListCell   *lc;

	foreach(lc, keys)
	{
		int			k = MlFrameColumn(frame, lfirst(lc));

		if (k < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" in option \"duplicates\" does not exist", (char *) lfirst(lc))));
		cols[ncols++] = k;
	}
	if (keys == NIL)
		for (int i = 0; i < frame->ncols; i++)
			cols[ncols++] = i;
	while (size < frame->nrows * 2)
		size *= 2;
	slots = palloc(sizeof(int64) * size);
	memset(slots, -1, sizeof(int64) * size);
	for (int64 r = 0; r < frame->nrows; r++)
	{
		uint32		i = row_hash(frame, r, cols, ncols) & (size - 1);

		while (slots[i] >= 0 && !rows_equal(frame, slots[i], r, cols, ncols))
			i = (i + 1) & (size - 1);
		if (slots[i] < 0)
			slots[i] = r;
		else if (!c->fills->deleted[r])
		{
			c->fills->deleted[r] = true;
			c->fills->ndeleted++;
			c->duplicates++;
		}
		if ((r & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	MlCleanStepOpen(c, "duplicates", NULL);
	appendStringInfoString(&c->steps, ", \"keys\": ");
	if (keys == NIL)
		appendStringInfoString(&c->steps, "null");
	else
	{
		char	  **k = palloc(sizeof(char *) * list_length(keys));
		int			i = 0;

		foreach(lc, keys)
			k[i++] = lfirst(lc);
		MlJsonTextList(&c->steps, k, i);
	}
	appendStringInfo(&c->steps, ", \"removed\": " INT64_FORMAT "}", c->duplicates);
	pfree(slots);
}
