/*
 * score.c
 *	  ml_score: a relation's rows plus the deployed model's predictions,
 *	  written into a new table, block by block, as the caller.
 *
 * The output table is created by a CREATE TABLE AS ... WITH NO DATA run as
 * the caller (so it is the caller's, with the columns and types a CREATE
 * TABLE AS of the rows and the predictions would give). The relation is
 * then read as the caller through a cursor (privileges and row-level
 * security apply), pg_mlops.score_block_rows rows at a time and about
 * work_mem of them at most: each block is encoded column-wise, scored by
 * one call of the learner's predict (the tree learners run a large design
 * on their compute-only threads) and written (score_write.c). Memory is a
 * block's worth, reset every block.
 *
 * The version is pinned when the call starts, and its loaded model is held
 * for the whole call (a cache flush keeps it alive to the end of the
 * transaction), so a deployment that changes during the call cannot mix
 * two models in one output. An error anywhere rolls the table back with
 * the caller's transaction.
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "core/catalog.h"
#include "core/progress.h"
#include "model/deployed.h"
#include "model/score.h"
#include "model/scoring_log.h"

PG_FUNCTION_INFO_V1(ml_score);

int			ml_score_block_rows = 16384;

void
MlScoreInit(void)
{
	DefineCustomIntVariable("pg_mlops.score_block_rows",
							"Rows ml_score reads, encodes and scores at a time.",
							"Memory per block is about the rows themselves plus 8 bytes per "
							"feature and row.",
							&ml_score_block_rows,
							16384, 1, 1000000,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);
}

/* What one call carries from block to block. */
typedef struct ScoreCall
{
	MlTrained  *t;
	int32		version;
	bool		classifier;
	TupleDesc	indesc;			/* the cursor's rows */
	MlRowBinding *binding;
	int			stride;			/* output columns: input + prediction (+ probabilities) + version */
	Datum	   *labels;			/* text of class c, made on first use */
	MemoryContext cxt;			/* the call's: owns the above */
	MlScoreWriter *writer;
	MlScoringLog *log;			/* drift: rows counted on the training bins */
} ScoreCall;

static void
check_free_name(Oid relid, const char *col)
{
	if (get_attnum(relid, col) != InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("relation \"%s\" already has a column \"%s\"", get_rel_name(relid), col),
				 errhint("ml_score adds columns prediction, probabilities and model_version; "
						 "score a view that renames yours.")));
}

/*
 * The output table, empty: the relation's columns, then prediction (text
 * for a classifier's label, else float8), probabilities (jsonb,
 * classifiers) and model_version (int4).
 */
static void
create_output(const char *dest, Oid relid, bool classifier)
{
	MlSpiExec(psprintf("CREATE TABLE %s AS SELECT s.*, NULL::pg_catalog.%s AS prediction, %s"
					   "NULL::pg_catalog.int4 AS model_version FROM %s s WITH NO DATA",
					   dest, classifier ? "text" : "float8",
					   classifier ? "NULL::pg_catalog.jsonb AS probabilities, " : "",
					   MlRelName(relid)),
			  0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

/* The rows the writer must be handed: the cursor's columns, then ours. */
static TupleDesc
output_desc(TupleDesc indesc, bool classifier)
{
	int			n = indesc->natts;
	TupleDesc	desc = CreateTemplateTupleDesc(n + (classifier ? 3 : 2));

	for (int a = 0; a < n; a++)
		TupleDescCopyEntry(desc, a + 1, indesc, a + 1);
	TupleDescInitEntry(desc, n + 1, "prediction", classifier ? TEXTOID : FLOAT8OID, -1, 0);
	if (classifier)
		TupleDescInitEntry(desc, n + 2, "probabilities", JSONBOID, -1, 0);
	TupleDescInitEntry(desc, desc->natts, "model_version", INT4OID, -1, 0);
	return desc;
}

/* Predictions of one block into the last columns of its rows, then the rows out. */
static void
write_block(ScoreCall *c, int n, Datum *values, bool *nulls, const double *out)
{
	int			nout = MlTrainedOutputs(c->t);
	int			pred = c->indesc->natts;

	for (int r = 0; r < n; r++)
	{
		Datum	   *v = values + (size_t) r * c->stride;
		bool	   *isnull = nulls + (size_t) r * c->stride;
		const double *o = out + (size_t) r * nout;

		if (c->classifier)
		{
			int			best = MlTrainedBestClass(c->t, o);

			if (c->labels[best] == (Datum) 0)
			{
				MemoryContext old = MemoryContextSwitchTo(c->cxt);

				c->labels[best] = CStringGetTextDatum(c->t->classes[best]);
				MemoryContextSwitchTo(old);
			}
			v[pred] = c->labels[best];
			v[pred + 1] = MlTrainedProbaJsonb(c->t, o);
			isnull[pred + 1] = false;
		}
		else
			v[pred] = Float8GetDatum(o[0]);
		isnull[pred] = false;
		v[c->stride - 1] = Int32GetDatum(c->version);
		isnull[c->stride - 1] = false;
		MlScoreWriterPut(c->writer, v, isnull);
	}
	MlScoreWriterFlush(c->writer);
}

/* One block of fetched rows: deform, encode column-wise, predict once, write. */
static void
score_block(ScoreCall *c, HeapTuple *tuples, int n)
{
	MlEncoder  *enc = c->t->enc;
	Datum	   *values = palloc(sizeof(Datum) * (size_t) n * c->stride);
	bool	   *nulls = palloc(sizeof(bool) * (size_t) n * c->stride);
	double	  **raw = palloc(sizeof(double *) * Max(enc->nraw, 1));
	double	  **feat = raw;
	double	   *out = palloc(sizeof(double) * (size_t) n * MlTrainedOutputs(c->t));

	for (int r = 0; r < n; r++)
		heap_deform_tuple(tuples[r], c->indesc, values + (size_t) r * c->stride,
						  nulls + (size_t) r * c->stride);
	for (int j = 0; j < enc->nraw; j++)
		raw[j] = palloc(sizeof(double) * n);
	if (enc->dense)
	{
		feat = palloc(sizeof(double *) * Max(enc->nfeat, 1));
		for (int f = 0; f < enc->nfeat; f++)
			feat[f] = palloc(sizeof(double) * n);
	}
	MlEncodeBlock(enc, c->binding, n, values, nulls, c->stride, raw, feat);
	MlTrainedPredict(c->t, feat, n, out);
	MlScoringLogBlock(c->log, c->binding, raw, values, nulls, c->stride, n, out);
	write_block(c, n, values, nulls, out);
}

/*
 * The next block: up to want rows, and about work_mem of them at most
 * (wide rows make shorter blocks). Fetched in parts sized from the rows
 * seen so far, so one fetch never takes far more than the budget. Returns
 * the row count (0 at the end); the parts' tuple tables are appended to
 * *parts for the caller to free.
 */
static int
fetch_block(Portal portal, int want, List **parts, HeapTuple **tuples, double *row_bytes)
{
	int64		budget = (int64) work_mem * 1024;
	int			n = 0;
	int64		bytes = 0;

	*tuples = palloc(sizeof(HeapTuple) * want);
	while (n < want && bytes < budget)
	{
		MemoryContext cxt = CurrentMemoryContext;
		int			ask = want - n;
		SPITupleTable *tt;
		int			got;

		/* the first part of the first block is small: nothing is known of the rows yet */
		if (*row_bytes > 0)
			ask = (int) Max(1, Min(ask, (budget - bytes) / *row_bytes));
		else
			ask = Min(ask, 64);
		SPI_cursor_fetch(portal, true, ask);
		MemoryContextSwitchTo(cxt);
		tt = SPI_tuptable;
		got = (int) SPI_processed;
		*parts = lappend(*parts, tt);
		for (int r = 0; r < got; r++)
		{
			(*tuples)[n + r] = tt->vals[r];
			bytes += tt->vals[r]->t_len;
		}
		n += got;
		if (n > 0)
			*row_bytes = (double) bytes / n;
		if (got < ask)
			break;
	}
	return n;
}

static int64
score_rows(MlDeployed *e, Oid relid, Oid destrelid, const char *dest, bool classifier,
		   MlScoringLog *log)
{
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext blockcxt;
	ScoreCall	c;
	Portal		portal;
	int64		rows = 0;
	double		row_bytes = 0;
	int			max_rows;

	memset(&c, 0, sizeof(c));
	c.t = e->trained;
	c.version = e->version;
	c.classifier = classifier;
	c.cxt = callcxt;
	c.log = log;
	/* a fresh snapshot, as the CREATE TABLE AS it replaces had */
	portal = SPI_cursor_open_with_args(NULL, psprintf("SELECT s.* FROM %s s", MlRelName(relid)),
									   0, NULL, NULL, NULL, false, CURSOR_OPT_NO_SCROLL);
	MemoryContextSwitchTo(callcxt);
	c.indesc = CreateTupleDescCopy(portal->tupDesc);
	c.binding = MlBindRow(c.t->enc, c.indesc, e->what);
	c.stride = c.indesc->natts + (classifier ? 3 : 2);
	if (classifier)
		c.labels = palloc0(sizeof(Datum) * c.t->nclass);
	c.writer = MlScoreWriterOpen(destrelid, dest, output_desc(c.indesc, classifier));
	/* a block's arrays stay within one allocation each (very wide rows, many classes) */
	max_rows = (int) Max(1, Min(ml_score_block_rows,
								MaxAllocSize / Max(sizeof(Datum) * c.stride,
												   sizeof(double) * MlTrainedOutputs(c.t))));
	blockcxt = AllocSetContextCreate(callcxt, "pg_mlops ml_score block", ALLOCSET_DEFAULT_SIZES);
	MlProgressStart();
	for (;;)
	{
		List	   *parts = NIL;
		HeapTuple  *tuples;
		int			n;
		ListCell   *lc;

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(blockcxt);
		n = fetch_block(portal, max_rows, &parts, &tuples, &row_bytes);
		if (n > 0)
		{
			MlApiRows(e->exposure, n);	/* metered, and charged to a quota, before it is written */
			score_block(&c, tuples, n);
		}
		foreach(lc, parts)
			SPI_freetuptable(lfirst(lc));
		MemoryContextSwitchTo(callcxt);
		MemoryContextReset(blockcxt);
		if (n == 0)
			break;
		rows += n;
		MlProgress("ml_score: " INT64_FORMAT " rows scored", rows);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(callcxt);
	MlScoreWriterClose(c.writer);
	MemoryContextDelete(blockcxt);
	return rows;
}

Datum
ml_score(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *project;
	Oid			relid;
	RangeVar   *rv;
	Oid			nspid;
	char	   *dest;
	MlDeployed *e;
	bool		classifier;
	int64		rows;
	MlScoringLog *log;

	MlRequireArg(fcinfo, 1, "relation");
	project = MlTextArg(fcinfo, 0, "project");
	relid = PG_GETARG_OID(1);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	/* the output's schema resolves with the caller's search_path */
	rv = MlParseInto(MlTextArg(fcinfo, 2, "into_table"), &nspid);
	dest = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	if (!OidIsValid(get_rel_type_id(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" has no row type to score", get_rel_name(relid))));
	check_free_name(relid, "prediction");
	check_free_name(relid, "model_version");

	e = MlDeployedGet(project, 0);
	MlApiRows(e->exposure, 0);	/* the call begins: metered through an exposure */
	classifier = e->trained->task == ML_TASK_BINARY || e->trained->task == ML_TASK_MULTICLASS;
	if (classifier)
		check_free_name(relid, "probabilities");
	/* a missing or mistyped feature is reported before any row is read */
	{
		TupleDesc	desc = lookup_rowtype_tupdesc(get_rel_type_id(relid), -1);

		(void) MlBindRow(e->trained->enc, desc, e->what);
		ReleaseTupleDesc(desc);
	}

	MlScopeEnter(&scope);
	log = MlScoringLogStart(&scope, e);
	create_output(dest, relid, classifier);
	rows = score_rows(e, relid, get_relname_relid(rv->relname, nspid), dest, classifier, log);
	MlScoringLogFinish(log, &scope, relid, rows);
	MlScopeExit(&scope);
	PG_RETURN_INT64(rows);
}
