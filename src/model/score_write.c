/*
 * score_write.c
 *	  Writing ml_score's rows into the table it created in this transaction.
 *
 * The table comes from a CREATE TABLE AS ... WITH NO DATA run as the
 * caller a moment ago, so it is the caller's and nothing else has touched
 * it -- unless an event trigger did (an index, a trigger, a rule, a policy,
 * a constraint, a column changed). A pristine table gets its rows the way
 * COPY FROM writes them: table_multi_insert with a BulkInsertState, a
 * thousand rows at a time, no executor per row (no index, trigger, rule,
 * policy or constraint exists that the executor would have applied). Any
 * other table gets an ordinary INSERT per row, planned once, so whatever
 * was added sees every row exactly as it would from SQL.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "model/score.h"

#define WRITE_BATCH 1000		/* rows per table_multi_insert, as COPY's buffer */
#define FLUSH_KEEP (512 * 1024) /* bytes of formed rows a batch allocates without malloc */

struct MlScoreWriter
{
	int			natts;
	bool		bulk;
	/* bulk: COPY's way */
	Relation	rel;
	TupleTableSlot **slots;
	int			nused;
	BulkInsertState bistate;
	CommandId	cid;
	MemoryContext flushcxt;		/* what table_multi_insert allocates, reset per batch */
	/* otherwise: an INSERT per row */
	SPIPlanPtr	plan;
	char	   *nullchars;
};

/*
 * Nothing but the columns we expect: no index, trigger, rule, policy,
 * constraint, default, identity or generated column, not a partition.
 */
static bool
pristine(Relation rel, TupleDesc expected)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_class form = rel->rd_rel;

	if (form->relkind != RELKIND_RELATION || form->relispartition || form->relhasindex ||
		form->relhastriggers || form->relhasrules || form->relrowsecurity || form->relchecks > 0 ||
		rel->trigdesc != NULL || rel->rd_rules != NULL || desc->constr != NULL ||
		RelationGetIndexList(rel) != NIL)
		return false;
	if (desc->natts != expected->natts)
		return false;
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		Form_pg_attribute want = TupleDescAttr(expected, a);

		if (att->attisdropped || att->attgenerated != '\0' || att->attidentity != '\0' ||
			att->atthasdef || att->atttypid != want->atttypid || att->atttypmod != want->atttypmod)
			return false;
	}
	return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* INSERT INTO dest (columns) VALUES ($1, ...), planned once. */
static void
prepare_insert(MlScoreWriter *w, const char *dest, TupleDesc expected)
{
	StringInfoData sql;
	Oid		   *types = palloc(sizeof(Oid) * w->natts);

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (", dest);
	for (int a = 0; a < w->natts; a++)
	{
		types[a] = TupleDescAttr(expected, a)->atttypid;
		appendStringInfo(&sql, "%s%s", a > 0 ? ", " : "",
						 quote_identifier(NameStr(TupleDescAttr(expected, a)->attname)));
	}
	appendStringInfoString(&sql, ") VALUES (");
	for (int a = 0; a < w->natts; a++)
		appendStringInfo(&sql, "%s$%d", a > 0 ? ", " : "", a + 1);
	appendStringInfoChar(&sql, ')');
	w->nullchars = palloc(w->natts);
	w->plan = SPI_prepare(sql.data, w->natts, types);
	if (w->plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s (%s)", SPI_result_code_string(SPI_result), sql.data);
}

/*
 * A writer into relid (dest is its quoted name), for rows shaped like
 * expected. Runs inside the caller's SPI connection.
 */
MlScoreWriter *
MlScoreWriterOpen(Oid relid, const char *dest, TupleDesc expected)
{
	MemoryContext cxt = CurrentMemoryContext;
	MlScoreWriter *w = palloc0(sizeof(MlScoreWriter));
	Relation	rel = table_open(relid, RowExclusiveLock);

	w->natts = expected->natts;
	if (!pristine(rel, expected))
	{
		table_close(rel, NoLock);
		prepare_insert(w, dest, expected);
		MemoryContextSwitchTo(cxt);
		return w;
	}
	w->bulk = true;
	w->rel = rel;
	w->slots = palloc(sizeof(TupleTableSlot *) * WRITE_BATCH);
	for (int i = 0; i < WRITE_BATCH; i++)
		w->slots[i] = table_slot_create(rel, NULL);
	w->bistate = GetBulkInsertState();
	w->cid = GetCurrentCommandId(true);
	/*
	 * A first block that a batch of ordinary rows fits in, kept by every
	 * reset: blocks of more than glibc's mmap threshold would otherwise be
	 * mapped and unmapped, and their pages faulted in, once per batch.
	 */
	w->flushcxt = AllocSetContextCreate(cxt, "pg_mlops ml_score write",
										FLUSH_KEEP, FLUSH_KEEP, ALLOCSET_DEFAULT_MAXSIZE);
	return w;
}

/* Write the rows put so far (their values may be freed afterwards). */
void
MlScoreWriterFlush(MlScoreWriter *w)
{
	MemoryContext old;

	if (!w->bulk || w->nused == 0)
		return;
	old = MemoryContextSwitchTo(w->flushcxt);
	/* the table is new in this transaction: no free space to look for, like CREATE TABLE AS */
	table_multi_insert(w->rel, w->slots, w->nused, w->cid, TABLE_INSERT_SKIP_FSM, w->bistate);
	MemoryContextSwitchTo(old);
	for (int i = 0; i < w->nused; i++)
		ExecClearTuple(w->slots[i]);
	w->nused = 0;
	MemoryContextReset(w->flushcxt);
}

/*
 * One row of natts values. They are referenced, not copied, until the
 * next flush: the caller keeps them alive until it has called
 * MlScoreWriterFlush.
 */
void
MlScoreWriterPut(MlScoreWriter *w, const Datum *values, const bool *nulls)
{
	if (w->bulk)
	{
		TupleTableSlot *slot = w->slots[w->nused];

		ExecClearTuple(slot);
		memcpy(slot->tts_values, values, sizeof(Datum) * w->natts);
		memcpy(slot->tts_isnull, nulls, sizeof(bool) * w->natts);
		ExecStoreVirtualTuple(slot);
		if (++w->nused == WRITE_BATCH)
			MlScoreWriterFlush(w);
		return;
	}
	{
		MemoryContext cxt = CurrentMemoryContext;
		int			rc;

		for (int a = 0; a < w->natts; a++)
			w->nullchars[a] = nulls[a] ? 'n' : ' ';
		rc = SPI_execute_plan(w->plan, (Datum *) values, w->nullchars, false, 0);
		/* SPI leaves us in its procedure context: go back to the caller's */
		MemoryContextSwitchTo(cxt);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "ml_score could not insert a row into its output table: %s",
				 SPI_result_code_string(rc));
	}
}

void
MlScoreWriterClose(MlScoreWriter *w)
{
	if (!w->bulk)
	{
		SPI_freeplan(w->plan);
		return;
	}
	MlScoreWriterFlush(w);
	FreeBulkInsertState(w->bistate);
	table_finish_bulk_insert(w->rel, TABLE_INSERT_SKIP_FSM);
	for (int i = 0; i < WRITE_BATCH; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	table_close(w->rel, NoLock);
	MemoryContextDelete(w->flushcxt);
}
