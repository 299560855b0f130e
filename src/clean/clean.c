/*
 * clean.c
 *	  ml_clean(): the pipeline's entry point. Steps, each switchable in
 *	  options: duplicates, missing (the imputation engine), outliers, encode,
 *	  datetime, polish, indicators. Fitting happens in C on the in-memory
 *	  frame (or a sample of it for large tables); the result is one CREATE
 *	  TABLE AS whose select list is built from the fitted steps, with every
 *	  fitted value passed as a parameter (pipeline.c).
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

PG_FUNCTION_INFO_V1(ml_clean);

/*
 * DEBUG1 step timings (client_min_messages = debug1): where a call's time
 * goes, step by step, without a profiler. *since is reset for the next step.
 */
static void
step_timing(const char *step, TimestampTz *since)
{
	TimestampTz now = GetCurrentTimestamp();

	elog(DEBUG1, "clean timing: %s %.3f s", step, (double) (now - *since) / 1e6);
	*since = now;
}

static const char *const clean_keys[] = {
	"duplicates", "missing", "outliers", "encode", "datetime", "polish", "indicators",
	"roles", "target", "keep_unparsed", NULL
};

static const char *const missing_keys[] = {
	"method", "k", "value", "by", "time_column", "exclude_features", "holdout", "seed",
	"methods", "columns", "skip", "hidden", "epochs", "round", "max_rounds", "trees", "distance",
	NULL
};

static const char *const simple_keys[] = {"keys", NULL};

/* Fill missing cells with the imputation engine (ml_impute's methods). */
static void
step_missing(Clean *c, JsonbContainer *st, const char *target)
{
	MlFrame    *frame = c->frame;
	MlImputeOptions o;
	List	   *targets = NIL;
	List	   *all = MlDefaultTargets(frame);
	MlImputeReport *report = palloc0(sizeof(MlImputeReport) * (frame->ncols + 1));
	ListCell   *lc;
	int			n;
	StringInfoData models;

	MlImputeReadOptions(st, MlOptString(st, "method", "auto"), &o, missing_keys);
	o.target = (char *) target;
	MlFrameRoundFills(frame, MlOptBool(st, "round", false));
	foreach(lc, all)
		if (MlCleanStepWants(st, &frame->cols[lfirst_int(lc)]))
			targets = lappend_int(targets, lfirst_int(lc));
	initStringInfo(&models);
	appendStringInfoChar(&models, '[');
	n = MlImputeColumns(frame, c->fills, targets, false, &o, MlOptObject(st, "methods"), &models,
						report);
	appendStringInfoChar(&models, ']');
	for (int i = 0; i < n; i++)
	{
		int			ci = MlFrameColumn(frame, report[i].column);

		c->rep[ci].filled = report[i].filled;
		c->rep[ci].fill_method = report[i].method;
		c->rep[ci].fill_error = report[i].error;
	}
	MlCleanStepOpen(c, "impute", NULL);
	appendStringInfo(&c->steps, ", \"models\": %s}", models.data);
	c->models = models.data;
}

/* Boolean columns that say which cells were missing before filling. */
static void
step_indicators(Clean *c, List **names, List **exprs)
{
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];
		char	   *out;

		if (c->rep[ci].filled == 0)
			continue;
		out = MlCleanNewName(c, col->name, "was_missing");
		MlCleanAddOutput(c, ci, out, MlCleanMissingFlag(c, ci, names, exprs));
		MlCleanStepOpen(c, "indicator", col);
		appendStringInfoString(&c->steps, ", \"name\": ");
		escape_json(&c->steps, out);
		appendStringInfoChar(&c->steps, '}');
	}
}

/*
 * Whether text columns that are mostly numbers are read as numbers: the
 * polish step's text_types (on by default) says whether text is retyped.
 */
static bool
reads_text_numbers(JsonbContainer *opts)
{
	bool		on;
	JsonbContainer *st = MlCleanStepOptions(opts, "polish", true, &on, MlPolishKeys);

	return on && MlOptBool(st, "text_types", true);
}

/* The text a cell of column ci holds when it is not a number, else NULL. */
static char *
unparsed_expr(MlColumn *col)
{
	const char *q = quote_identifier(col->name);

	return psprintf("CASE WHEN mlops.try_cast_numeric(t.%s::text) IS NULL THEN t.%s::text END", q, q);
}

/*
 * keep_unparsed: a text column <col>_unparsed beside every text column read
 * as numbers, holding the cells that were not numbers as they were
 * (computed over the unfilled rows: inner names or, on the large path, the
 * working copy's __ml_raw columns).
 */
static void
step_unparsed(Clean *c, List **names, List **exprs, bool large)
{
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];
		char	   *expr;
		char	   *out;

		if (!col->numeric_text)
			continue;
		if (large)
			expr = psprintf("t.%s", quote_identifier(psprintf("__ml_raw%d", ci)));
		else
		{
			char	   *inner = MlCleanNewName(c, "__ml", psprintf("raw%d", ci));

			*names = lappend(*names, inner);
			*exprs = lappend(*exprs, unparsed_expr(col));
			expr = psprintf("t.%s", quote_identifier(inner));
		}
		out = MlCleanNewName(c, col->name, "unparsed");
		MlCleanAddOutput(c, ci, out, expr);
		MlCleanStepOpen(c, "unparsed", col);
		appendStringInfoString(&c->steps, ", \"name\": ");
		escape_json(&c->steps, out);
		appendStringInfoChar(&c->steps, '}');
	}
}

/*
 * Every column a step names in columns, skip or keys must exist: a
 * misspelt name would otherwise make the step silently do nothing.
 */
static void
check_step_columns(Oid relid, JsonbContainer *opts)
{
	static const char *const steps[] = {
		"duplicates", "missing", "outliers", "encode", "datetime", "polish", NULL
	};
	static const char *const lists[] = {"columns", "skip", "keys", NULL};

	for (int s = 0; steps[s]; s++)
	{
		JsonbValue *v = MlOptGet(opts, steps[s]);
		JsonbContainer *st;

		if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			continue;
		st = v->val.binary.data;
		for (int l = 0; lists[l]; l++)
		{
			ListCell   *lc;

			foreach(lc, MlOptStringList(st, lists[l]))
				if (get_attnum(relid, lfirst(lc)) == InvalidAttrNumber)
					ereport(ERROR,
							(errcode(ERRCODE_UNDEFINED_COLUMN),
							 errmsg("column \"%s\" in option \"%s\" of step \"%s\" does not exist in relation \"%s\"",
									(char *) lfirst(lc), lists[l], steps[s], get_rel_name(relid))));
		}
	}
}

/* Whether a relation is too large to hold in memory: fit on a sample then. */
static bool
large_table(Oid relid)
{
	Relation	rel = RelationIdGetRelation(relid);
	int			ncols = RelationGetNumberOfAttributes(rel);

	RelationClose(rel);
	return MlFrameTooLarge(relid, ncols);
}

/*
 * ml_clean on a table larger than maintenance_work_mem. Duplicates go in
 * SQL while a working copy is made (PostgreSQL sorts or hashes within
 * work_mem, spilling to disk), with a "was missing" flag per column; every
 * step is fitted on a uniform sample of the copy; the imputation models
 * fill the copy chunk by chunk. Returns the copy, for the final select.
 */
static char *
clean_large(Clean *c, Oid relid, JsonbContainer *opts, const char *target)
{
	Relation	rel = RelationIdGetRelation(relid);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *colnames = NIL;
	StringInfoData sql,
				flags,
				all;
	char	   *copy = psprintf("pg_temp.%s", quote_identifier(psprintf("ml_clean_src_%u", relid)));
	bool		on;
	JsonbContainer *st;
	Oid			copyid;
	int64		before,
				after;
	bool		isnull;

	initStringInfo(&flags);
	initStringInfo(&all);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (att->attisdropped)
			continue;
		colnames = lappend(colnames, pstrdup(NameStr(att->attname)));
		appendStringInfo(&all, "%s%s", all.len ? ", " : "", quote_identifier(NameStr(att->attname)));
		appendStringInfo(&flags, ", (%s IS NULL) AS %s", quote_identifier(NameStr(att->attname)),
						 quote_identifier(psprintf("__ml_na%d", list_length(colnames) - 1)));
		/* the text of cells that are not numbers, before the fills replace them */
		if (MlOptBool(opts, "keep_unparsed", false) &&
			TypeCategory(getBaseType(att->atttypid)) == TYPCATEGORY_STRING)
			appendStringInfo(&flags, ", CASE WHEN mlops.try_cast_numeric(%s::text) IS NULL THEN %s::text END AS %s",
							 quote_identifier(NameStr(att->attname)),
							 quote_identifier(NameStr(att->attname)),
							 quote_identifier(psprintf("__ml_raw%d", list_length(colnames) - 1)));
	}
	RelationClose(rel);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT ", copy);
	st = MlCleanStepOptions(opts, "duplicates", true, &on, simple_keys);
	if (on)
	{
		List	   *keys = MlOptStringList(st, "keys");
		ListCell   *lc;

		/* DISTINCT ON: the source ctid rides along for an in-place write */
		if (keys == NIL)
			appendStringInfo(&sql, "DISTINCT ON (%s) ", all.data);
		else
		{
			appendStringInfoString(&sql, "DISTINCT ON (");
			foreach(lc, keys)
				appendStringInfo(&sql, "%s%s", foreach_current_index(lc) ? ", " : "",
								 quote_identifier(lfirst(lc)));
			appendStringInfoString(&sql, ") ");
		}
	}
	appendStringInfo(&sql, "*%s, ctid AS __ml_src_ctid FROM %s", flags.data,
					 MlRelName(relid));
	MlSpiExec(sql.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	copyid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(copy)), NoLock, false);
	MlSpiExec(psprintf("SELECT (SELECT pg_catalog.count(*) FROM %s), pg_catalog.count(*) FROM %s",
					   MlRelName(relid), copy),
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	after = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	MlSpiExec(psprintf("ANALYZE %s", copy), 0, NULL, NULL, NULL, SPI_OK_UTILITY);

	(void) MlCleanBegin(c, copyid, MlOptObject(opts, "roles"), target, colnames,
					   MlSampleRows(list_length(colnames)), reads_text_numbers(opts), NIL, NIL, NIL);
	MlFrameMarkGenerated(c->frame, relid);
	c->duplicates = before - after;
	c->source_rows = before;
	c->src_ctid_expr = "t.__ml_src_ctid";
	for (int ci = 0; ci < c->frame->ncols; ci++)
		c->na_expr[ci] = psprintf("t.%s", quote_identifier(psprintf("__ml_na%d", ci)));
	/* the recipe says it was fitted on a sample, and of how many rows */
	MlCleanStepOpen(c, "sample", NULL);
	appendStringInfo(&c->steps, ", \"rows\": " INT64_FORMAT ", \"of\": " INT64_FORMAT "}",
					 (int64) c->frame->nrows, after);
	{
		/* the report counts the whole table's gaps, not the sample's */
		StringInfoData q;

		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT ");
		for (int ci = 0; ci < c->frame->ncols; ci++)
			appendStringInfo(&q, "%spg_catalog.count(*) FILTER (WHERE %s)", ci ? ", " : "",
							 quote_identifier(psprintf("__ml_na%d", ci)));
		/*
		 * and of the cells of text read as numbers (inferred or declared)
		 * or as times that are not ones
		 */
		for (int ci = 0; ci < c->frame->ncols; ci++)
		{
			const char *qc = quote_identifier(c->frame->cols[ci].name);
			char	   *cond = MlUnparsedCondition(&c->frame->cols[ci], qc);

			if (cond)
				appendStringInfo(&q, ", pg_catalog.count(*) FILTER (WHERE %s IS NOT NULL AND %s)",
								 qc, cond);
		}
		appendStringInfo(&q, " FROM %s", copy);
		MlSpiExec(q.data, 0, NULL, NULL, NULL, SPI_OK_SELECT);
		for (int ci = 0; ci < c->frame->ncols; ci++)
			c->rep[ci].nulls_before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																  SPI_tuptable->tupdesc, ci + 1, &isnull));
		for (int ci = 0, k = c->frame->ncols + 1; ci < c->frame->ncols; ci++)
			if (MlUnparsedCondition(&c->frame->cols[ci], "x") != NULL)
			{
				MlColumn   *col = &c->frame->cols[ci];

				col->nunparsed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, k++, &isnull));
				/* an unparsed cell is a gap: counted with the NULLs */
				c->rep[ci].nulls_before += col->nunparsed;
			}
	}
	if (on)
	{
		MlCleanStepOpen(c, "duplicates", NULL);
		appendStringInfo(&c->steps, ", \"keys\": null, \"removed\": " INT64_FORMAT "}", c->duplicates);
	}
	st = MlCleanStepOptions(opts, "outliers", true, &on, MlOutlierKeys);
	if (on)
		MlStepOutliers(c, st);
	st = MlCleanStepOptions(opts, "missing", true, &on, missing_keys);
	if (on)
	{
		int64	   *filled;
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;
		Jsonb	   *models;
		int			i = 0;

		step_missing(c, st, target);
		models = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(c->models)));
		filled = MlApplyModelsChunked(copyid, models, MlOptObject(opts, "roles"),
									  MlTextNumberColumns(c->frame),
									  MlZonedColumns(c->frame, true), MlZonedColumns(c->frame, false),
									  MlChunkRows(list_length(colnames)));
		for (int ci = 0; ci < c->frame->ncols; ci++)
			c->rep[ci].filled = 0;
		it = JsonbIteratorInit(&models->root);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			if (tok == WJB_ELEM && e.type == jbvBinary)
			{
				int			ci = MlFrameColumn(c->frame, MlOptString(e.val.binary.data, "column", ""));

				if (ci >= 0)
					c->rep[ci].filled = filled[i];
				i++;
			}
	}
	MlOutliersUnmask(c);
	if (MlOptBool(opts, "keep_unparsed", false))
		step_unparsed(c, NULL, NULL, true);
	if (MlOptBool(opts, "indicators", false))
	{
		for (int ci = 0; ci < c->frame->ncols; ci++)
		{
			char	   *out;

			if (c->rep[ci].filled == 0)
				continue;
			out = MlCleanNewName(c, c->frame->cols[ci].name, "was_missing");
			MlCleanAddOutput(c, ci, out, psprintf("t.%s", quote_identifier(psprintf("__ml_na%d", ci))));
			MlCleanStepOpen(c, "indicator", &c->frame->cols[ci]);
			appendStringInfoString(&c->steps, ", \"name\": ");
			escape_json(&c->steps, out);
			appendStringInfoChar(&c->steps, '}');
		}
	}
	/* the copy, now filled, is what the remaining steps select from */
	c->frame->relid = copyid;
	c->scratch = copy;
	c->ctid_expr = "t.ctid";
	return copy;
}

Datum
ml_clean(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	Jsonb	   *optsj = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	JsonbContainer *opts = optsj ? &optsj->root : NULL;
	char	   *into;
	Oid			relid;
	Clean		c;
	bool		on;
	JsonbContainer *st;
	char	   *target;
	int64		project_id;
	int64		recipe_id;
	List	   *xnames = NIL,
			   *xexprs = NIL;
	char	   *from;
	StringInfoData rep;
	TimestampTz since = GetCurrentTimestamp();

	MlOptCheckKeys(opts, "cleaning options", clean_keys);
	into = MlResolveInto(fcinfo, 2);
	relid = MlCheckRelation(fcinfo, 0, into);
	check_step_columns(relid, opts);

	InitMaterializedSRF(fcinfo, 0);
	MlProgressStart();
	MlScopeEnter(&scope);
	MlPreferTidJoins();
	target = MlOptString(opts, "target", NULL);
	MlCheckTargetOption(relid, target);
	{
		char	   *ptarget = MlProjectTarget(relid, &project_id);

		if (target == NULL)
			target = ptarget;
	}
	if (large_table(relid))
		from = clean_large(&c, relid, opts, target);
	else
	{
		(void) MlCleanBegin(&c, relid, MlOptObject(opts, "roles"), target, NIL, 0,
							reads_text_numbers(opts), NIL, NIL, NIL);
		step_timing("load", &since);
		st = MlCleanStepOptions(opts, "duplicates", true, &on, simple_keys);
		if (on)
			MlStepDuplicates(&c, st);
		step_timing("duplicates", &since);
		/* outliers first: bounds on observed values, hidden from imputation */
		st = MlCleanStepOptions(opts, "outliers", true, &on, MlOutlierKeys);
		if (on)
			MlStepOutliers(&c, st);
		step_timing("outliers", &since);
		st = MlCleanStepOptions(opts, "missing", true, &on, missing_keys);
		if (on)
			step_missing(&c, st, target);
		step_timing("missing", &since);
		MlOutliersUnmask(&c);
		if (MlOptBool(opts, "keep_unparsed", false))
			step_unparsed(&c, &xnames, &xexprs, false);
		if (MlOptBool(opts, "indicators", false))
			step_indicators(&c, &xnames, &xexprs);
		MlOutliersMissingFlags(&c, &xnames, &xexprs);
		from = MlCleanFills(&c, xnames, xexprs);
	}
	step_timing("fills", &since);
	MlCastDeclared(&c);
	MlOutliersEmit(&c);
	st = MlCleanStepOptions(opts, "polish", true, &on, MlPolishKeys);
	if (on)
		MlStepPolishText(&c, st);
	st = MlCleanStepOptions(opts, "encode", true, &on, MlEncodeKeys);
	if (on)
		MlStepEncode(&c, st);
	st = MlCleanStepOptions(opts, "datetime", true, &on, MlDatetimeKeys);
	if (on)
		MlStepDatetime(&c, st);
	st = MlCleanStepOptions(opts, "polish", true, &on, MlPolishKeys);
	if (on)
		MlStepPolishIntegers(&c, st);
	step_timing("polish, encode, datetime", &since);
	MlCleanWrite(&c, relid, into, from);
	step_timing("write", &since);

	initStringInfo(&rep);
	MlCleanReportJson(&c, &rep);
	recipe_id = MlStoreRecipe(&scope, relid, "clean",
							  optsj ? JsonbToCString(NULL, &optsj->root, VARSIZE(optsj)) : "{}",
							  c.steps.data, rep.data, project_id);
	step_timing("recipe", &since);
	MlCleanProfile(&c, &scope, relid, into, recipe_id, project_id);
	step_timing("profiles", &since);
	MlCleanResult(&c, rsinfo, recipe_id);
	MlScopeExit(&scope);
	return (Datum) 0;
}
