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
#include <time.h>

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "core/catalog.h"
#include "core/progress.h"
#include "core/run_progress.h"
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

/* ml_score's stages, timed for pg_mlops's DEBUG1 "ml_score timing" line */
enum
{
	STAGE_READ, STAGE_ENCODE, STAGE_PREDICT, STAGE_LOG, STAGE_WRITE, NSTAGES
};

/*
 * One block of rows in flight. Its arrays are kept (in the call's
 * context) from block to block, for cap rows.
 */
typedef struct ScoreBlock
{
	int			n;
	int			cap;
	Datum	   *values;			/* row r's columns at r * stride */
	bool	   *nulls;
	double	  **raw;			/* encoder's raw features, column-wise */
	double	  **feat;			/* learner's features: raw, or the dense stage's */
	double	   *out;			/* outputs, row-major */
	MlPredictJob *job;			/* its predictions, under way */
	MemoryContext jobcxt;		/* the job's memory: reset when the block is reused */
} ScoreBlock;

/* What one call carries from block to block. */
typedef struct ScoreCall
{
	MlTrained  *t;
	int32		version;
	bool		classifier;
	TupleDesc	indesc;			/* the rows read: the relation's columns */
	TupleDesc	deformdesc;		/* the descriptor to deform them with */
	MlRowBinding *binding;
	int			stride;			/* output columns: input + prediction (+ probabilities) + version */
	Datum	   *labels;			/* text of class c, made on first use */
	MemoryContext cxt;			/* the call's: owns the above */
	MlScoreWriter *writer;
	MlScoringLog *log;			/* drift: rows counted on the training bins */
	double		est_rows;		/* the relation's estimated rows (<= 0: unknown), for a run's progress */
	ScoreBlock	blk[2];			/* the block being read, the one being written */
	double		secs[NSTAGES];		/* time per stage, for the DEBUG1 line at the end */
} ScoreCall;

static const char *const stage_names[NSTAGES] = {"read", "encode", "predict", "log", "write"};

static double
now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* charge the time since *t0 to a stage; *t0 moves on */
static inline void
lap(ScoreCall *c, int stage, double *t0)
{
	double		t = now_secs();

	c->secs[stage] += t - *t0;
	*t0 = t;
}

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

/*
 * The block arrays for n rows, grown when a block is longer than any
 * before: allocated once per call in the common case, not once per block
 * (large allocations go back to the system when freed, and their pages
 * fault in again).
 */
static void
block_arrays(ScoreCall *c, ScoreBlock *b, int n)
{
	MlEncoder  *enc = c->t->enc;
	MemoryContext old;

	if (n <= b->cap)
		return;
	old = MemoryContextSwitchTo(c->cxt);
	if (b->cap > 0)
	{
		pfree(b->values);
		pfree(b->nulls);
		pfree(b->out);
		for (int j = 0; j < enc->nraw; j++)
			pfree(b->raw[j]);
		for (int f = 0; enc->dense && f < enc->nfeat; f++)
			pfree(b->feat[f]);
	}
	else
	{
		b->raw = palloc(sizeof(double *) * Max(enc->nraw, 1));
		b->feat = enc->dense ? palloc(sizeof(double *) * Max(enc->nfeat, 1)) : b->raw;
	}
	b->values = palloc(sizeof(Datum) * (size_t) n * c->stride);
	b->nulls = palloc(sizeof(bool) * (size_t) n * c->stride);
	b->out = palloc(sizeof(double) * (size_t) n * MlTrainedOutputs(c->t));
	for (int j = 0; j < enc->nraw; j++)
		b->raw[j] = palloc(sizeof(double) * n);
	for (int f = 0; enc->dense && f < enc->nfeat; f++)
		b->feat[f] = palloc(sizeof(double) * n);
	b->cap = n;
	MemoryContextSwitchTo(old);
}

/* A block of fetched rows deformed and encoded column-wise, its predictions started. */
static void
start_block(ScoreCall *c, ScoreBlock *b, HeapTuple *tuples, int n)
{
	double		t0 = now_secs();
	MemoryContext old;

	block_arrays(c, b, n);
	b->n = n;
	for (int r = 0; r < n; r++)
		heap_deform_tuple(tuples[r], c->deformdesc, b->values + (size_t) r * c->stride,
						  b->nulls + (size_t) r * c->stride);
	MlEncodeBlock(c->t->enc, c->binding, n, b->values, b->nulls, c->stride, b->raw, b->feat);
	lap(c, STAGE_ENCODE, &t0);
	/*
	 * The job lives in the block's own context, under the call's (a reset of
	 * either stops it): the block's previous job finished before the block
	 * was read again, so its memory goes now, not once per block at the
	 * end of the call (a block of one row would keep a job per row).
	 */
	if (b->jobcxt == NULL)
		b->jobcxt = AllocSetContextCreate(c->cxt, "pg_mlops ml_score job", ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(b->jobcxt);
	old = MemoryContextSwitchTo(b->jobcxt);
	b->job = MlTrainedPredictStart(c->t, b->feat, n, b->out);
	MemoryContextSwitchTo(old);
	lap(c, STAGE_PREDICT, &t0);
}

/* The block's predictions awaited, counted for drift, and the rows written. */
static void
finish_block(ScoreCall *c, ScoreBlock *b)
{
	double		t0 = now_secs();

	if (b->job)
	{
		MlTrainedPredictFinish(b->job);
		b->job = NULL;
	}
	lap(c, STAGE_PREDICT, &t0);
	MlScoringLogBlock(c->log, c->binding, b->raw, b->values, b->nulls, c->stride, b->n, b->out);
	lap(c, STAGE_LOG, &t0);
	write_block(c, b->n, b->values, b->nulls, b->out);
	lap(c, STAGE_WRITE, &t0);
}

/*
 * The blocks, pipelined: while a tree model scores block k on its threads
 * (MlTrainedPredictStart), this backend reads and encodes block k + 1 and
 * writes block k - 1; other learners score at the start, in order.
 */
static int64
pipeline(ScoreCall *c, MlDeployed *e, MlScoreReader *reader, int max_rows,
		 MemoryContext blockcxt)
{
	int64		rows = 0;
	ScoreBlock *prev = NULL;

	for (int k = 0;; k++)
	{
		ScoreBlock *b = &c->blk[k % 2];
		HeapTuple  *tuples;
		int			n;
		double		t0 = now_secs();

		CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(blockcxt);
		/* the previous block's rows stay valid: the reader keeps two */
		n = MlScoreReaderNext(reader, max_rows, &tuples);
		lap(c, STAGE_READ, &t0);
		if (n > 0)
		{
			MlApiRows(e->exposure, n);	/* metered, and charged to a quota, before it is written */
			/* block k's trees wait for block k - 1's: one job at a time */
			if (prev)
			{
				t0 = now_secs();
				MlTrainedPredictFinish(prev->job);
				prev->job = NULL;
				lap(c, STAGE_PREDICT, &t0);
			}
			start_block(c, b, tuples, n);
		}
		if (prev)
		{
			finish_block(c, prev);
			rows += prev->n;
			MlProgress("ml_score: " INT64_FORMAT " rows scored", rows);
			/* an estimate: short of 1 until the last block is written */
			MlRunProgress(c->est_rows > 0 ? Min(0.99, rows / Max(c->est_rows, (double) rows + 1)) :
						  ML_PROGRESS_SAME_FRACTION, rows);
		}
		MemoryContextSwitchTo(c->cxt);
		MemoryContextReset(blockcxt);
		if (n == 0)
			break;
		prev = b;
	}
	return rows;
}

/* pipeline, with the job under way stopped on an error before its arrays can go */
static int64
score_blocks(ScoreCall *c, MlDeployed *e, MlScoreReader *reader, int max_rows,
			 MemoryContext blockcxt)
{
	int64		rows = 0;

	PG_TRY();
	{
		rows = pipeline(c, e, reader, max_rows, blockcxt);
	}
	PG_CATCH();
	{
		for (int k = 0; k < 2; k++)
			if (c->blk[k].job)
				MlTrainedPredictCancel(c->blk[k].job);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rows;
}

/* pg_class.reltuples of a table (<= 0: never counted, or a view) */
static double
estimated_rows(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	double		n = 0;

	if (HeapTupleIsValid(tup))
	{
		n = ((Form_pg_class) GETSTRUCT(tup))->reltuples;
		ReleaseSysCache(tup);
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
	MlScoreReader *reader;
	int64		rows;
	int			max_rows;

	memset(&c, 0, sizeof(c));
	c.t = e->trained;
	c.version = e->version;
	c.classifier = classifier;
	c.cxt = callcxt;
	c.log = log;
	c.est_rows = estimated_rows(relid);
	/* a fresh snapshot, as the CREATE TABLE AS it replaces had */
	reader = MlScoreReaderOpen(relid);
	c.indesc = MlScoreReaderDesc(reader);
	c.deformdesc = MlScoreReaderDeformDesc(reader);
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
	rows = score_blocks(&c, e, reader, max_rows, blockcxt);
	MlScoreReaderClose(reader);
	MemoryContextSwitchTo(callcxt);
	MlScoreWriterClose(c.writer);
	MemoryContextDelete(blockcxt);
	if (rows >= 8192)
	{
		StringInfoData s;

		initStringInfo(&s);
		for (int k = 0; k < NSTAGES; k++)
			appendStringInfo(&s, "%s%s %.3f s", k > 0 ? ", " : "", stage_names[k], c.secs[k]);
		elog(DEBUG1, "ml_score timing: %s (" INT64_FORMAT " rows, %s)", s.data, rows,
			 MlScoreReaderIsDirect(reader) ? "table scan" : "cursor");
	}
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
	/*
	 * locked first, as a name lookup would: a concurrent DROP can then no
	 * longer remove it between this check and the statements that name it
	 */
	if (OidIsValid(relid))
		LockRelationOid(relid, AccessShareLock);
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
