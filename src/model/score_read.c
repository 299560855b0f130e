/*
 * score_read.c
 *	  Reading ml_score's relation as the caller, a block of rows at a time.
 *
 * The general way is a cursor over SELECT s.* FROM relation s run as the
 * caller through SPI: the executor applies privileges, row-level security,
 * views, inheritance, partitions and foreign tables. Its price is the
 * executor's per-row work and a copy of every row into SPI's tuple tables
 * (a memory context per fetch).
 *
 * A plain heap table the caller may read whole needs none of that, so it
 * is scanned directly (table_beginscan, as the executor's SeqScan does),
 * each row copied once into an arena kept from block to block -- but only
 * when nothing the executor would have applied exists: the caller has
 * SELECT on the table itself (not only on columns), row-level security is
 * not in force for the caller (check_enable_rls says RLS_NONE, not merely
 * "not now"), no executor permission hook is installed (sepgsql), the
 * relation is an ordinary heap table without inheritance children and
 * without dropped columns. Anything else takes the cursor, which also
 * reports a missing privilege exactly as before.
 *
 * Both ways see the rows of a fresh snapshot taken after the command
 * counter moves on, as SPI_cursor_open does for a read-write cursor.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "core/catalog.h"
#include "model/score.h"

/*
 * The rows of one block. A reader keeps two (the block just read and the
 * one before, which ml_score is still writing), alternately.
 */
typedef struct ReadBlock
{
	HeapTuple  *tuples;			/* the block's rows (cap of them) */
	int			cap;
	List	   *parts;			/* cursor: the block's SPI tuple tables */
	HeapTupleData *heads;		/* direct: per row its header, data in the arena */
	char	   *arena;			/* direct: the rows' data, kept from block to block */
	Size		arena_size;
} ReadBlock;

struct MlScoreReader
{
	bool		direct;
	TupleDesc	desc;			/* the rows' columns, as SELECT s.* gives them */
	int64		budget;			/* bytes of rows per block: work_mem */
	ReadBlock	blk[2];
	int			turn;			/* blk[turn] holds the latest block */
	/* cursor */
	Portal		portal;
	double		row_bytes;		/* average row size seen so far */
	/* direct */
	Relation	rel;
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		done;
	MemoryContext cxt;			/* the reader's: the caller's context at open */
};

/* Whether rel can be read without the executor: see the file header. */
static bool
direct_ok(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relhassubclass ||
		rel->rd_tableam != GetHeapamTableAmRoutine() || ExecutorCheckPerms_hook != NULL)
		return false;
	for (int a = 0; a < desc->natts; a++)
		if (TupleDescAttr(desc, a)->attisdropped)
			return false;
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	return check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_NONE;
}

/*
 * A reader of relid's rows as the current user (the caller), inside the
 * caller's SPI connection; memory in the current context.
 */
MlScoreReader *
MlScoreReaderOpen(Oid relid)
{
	MemoryContext cxt = CurrentMemoryContext;
	MlScoreReader *r = palloc0(sizeof(MlScoreReader));
	Relation	rel = table_open(relid, AccessShareLock);

	r->cxt = cxt;
	r->budget = (int64) work_mem * 1024;
	if (direct_ok(rel))
	{
		r->direct = true;
		r->rel = rel;
		r->desc = CreateTupleDescCopy(RelationGetDescr(rel));
		/* a fresh snapshot, as a read-write SPI cursor would take */
		CommandCounterIncrement();
		r->snapshot = RegisterSnapshot(GetTransactionSnapshot());
		r->scan = table_beginscan(rel, r->snapshot, 0, NULL);
		r->slot = table_slot_create(rel, NULL);
		elog(DEBUG1, "ml_score reads \"%s\" by a table scan", RelationGetRelationName(rel));
		return r;
	}
	elog(DEBUG1, "ml_score reads \"%s\" through a cursor", RelationGetRelationName(rel));
	/* the lock taken stays to the end of the transaction, as the cursor's would */
	table_close(rel, NoLock);
	r->portal = SPI_cursor_open_with_args(NULL, psprintf("SELECT s.* FROM %s s", MlRelName(relid)),
										  0, NULL, NULL, NULL, false, CURSOR_OPT_NO_SCROLL);
	MemoryContextSwitchTo(cxt);
	r->desc = CreateTupleDescCopy(r->portal->tupDesc);
	return r;
}

/* The columns of the rows read (those of SELECT s.*, in order). */
TupleDesc
MlScoreReaderDesc(MlScoreReader *r)
{
	return r->desc;
}

/*
 * The descriptor to deform the rows with: the table's own when scanned
 * directly (it knows the values of columns added since a row was written).
 */
TupleDesc
MlScoreReaderDeformDesc(MlScoreReader *r)
{
	return r->direct ? RelationGetDescr(r->rel) : r->desc;
}

bool
MlScoreReaderIsDirect(MlScoreReader *r)
{
	return r->direct;
}

static void
ensure_rows(MlScoreReader *r, ReadBlock *b, int want)
{
	if (want <= b->cap)
		return;
	if (b->cap > 0)
	{
		pfree(b->tuples);
		if (b->heads)
			pfree(b->heads);
	}
	b->tuples = MemoryContextAlloc(r->cxt, sizeof(HeapTuple) * want);
	b->heads = r->direct ? MemoryContextAlloc(r->cxt, sizeof(HeapTupleData) * want) : NULL;
	b->cap = want;
}

static void
free_parts(ReadBlock *b)
{
	ListCell   *lc;

	foreach(lc, b->parts)
		SPI_freetuptable(lfirst(lc));
	list_free(b->parts);
	b->parts = NIL;
}

/* Cursor: fetched in parts sized from the rows seen so far (see MlScoreReaderNext). */
static int
cursor_block(MlScoreReader *r, ReadBlock *b, int want)
{
	int			n = 0;
	int64		bytes = 0;

	free_parts(b);
	while (n < want && bytes < r->budget)
	{
		MemoryContext cxt = CurrentMemoryContext;
		int			ask = want - n;
		SPITupleTable *tt;
		int			got;

		/* the first part of the first block is small: nothing is known of the rows yet */
		if (r->row_bytes > 0)
			ask = (int) Max(1, Min(ask, (r->budget - bytes) / r->row_bytes));
		else
			ask = Min(ask, 64);
		SPI_cursor_fetch(r->portal, true, ask);
		MemoryContextSwitchTo(cxt);
		tt = SPI_tuptable;
		got = (int) SPI_processed;
		/* the list lives with the reader: the caller's context may be reset between blocks */
		MemoryContextSwitchTo(r->cxt);
		b->parts = lappend(b->parts, tt);
		MemoryContextSwitchTo(cxt);
		for (int i = 0; i < got; i++)
		{
			b->tuples[n + i] = tt->vals[i];
			bytes += tt->vals[i]->t_len;
		}
		n += got;
		if (n > 0)
			r->row_bytes = (double) bytes / n;
		if (got < ask)
			break;
	}
	return n;
}

/* Direct: rows copied into the arena, which grows to the largest block's bytes. */
static int
direct_block(MlScoreReader *r, ReadBlock *b, int want)
{
	Size		used = 0;
	int			n = 0;

	while (!r->done && n < want && (int64) used < r->budget)
	{
		HeapTuple	tup;
		bool		should_free;
		HeapTupleData *h = &b->heads[n];

		if (!table_scan_getnextslot(r->scan, ForwardScanDirection, r->slot))
		{
			r->done = true;
			break;
		}
		tup = ExecFetchSlotHeapTuple(r->slot, false, &should_free);
		if (used + MAXALIGN(tup->t_len) > b->arena_size)
		{
			Size		size = Max(Max(b->arena_size * 2, used + MAXALIGN(tup->t_len)), 65536);

			b->arena = b->arena == NULL ? MemoryContextAllocHuge(r->cxt, size)
				: repalloc_huge(b->arena, size);
			b->arena_size = size;
		}
		memcpy(b->arena + used, tup->t_data, tup->t_len);
		h->t_len = tup->t_len;
		h->t_self = tup->t_self;
		h->t_tableOid = tup->t_tableOid;
		h->t_data = (HeapTupleHeader) (uintptr_t) used;	/* an offset until the block is read */
		used += MAXALIGN(tup->t_len);
		if (should_free)
			heap_freetuple(tup);
		n++;
	}
	ExecClearTuple(r->slot);	/* no buffer pin held between blocks */
	for (int i = 0; i < n; i++)
	{
		b->heads[i].t_data = (HeapTupleHeader) (b->arena + (uintptr_t) b->heads[i].t_data);
		b->tuples[i] = &b->heads[i];
	}
	return n;
}

/*
 * The next block: up to want rows and about work_mem of them at most
 * (wide rows make shorter blocks); 0 at the end. *tuples stays valid
 * through the next call too (the caller writes one block while it reads
 * the next), until the one after or MlScoreReaderClose.
 */
int
MlScoreReaderNext(MlScoreReader *r, int want, HeapTuple **tuples)
{
	ReadBlock  *b;
	int			n;

	r->turn = 1 - r->turn;
	b = &r->blk[r->turn];
	ensure_rows(r, b, want);
	n = r->direct ? direct_block(r, b, want) : cursor_block(r, b, want);
	*tuples = b->tuples;
	return n;
}

void
MlScoreReaderClose(MlScoreReader *r)
{
	if (r->direct)
	{
		ExecDropSingleTupleTableSlot(r->slot);
		table_endscan(r->scan);
		UnregisterSnapshot(r->snapshot);
		table_close(r->rel, NoLock);
		return;
	}
	free_parts(&r->blk[0]);
	free_parts(&r->blk[1]);
	SPI_cursor_close(r->portal);
}
