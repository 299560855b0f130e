/*
 * impute.c
 *	  ml_impute(): fill the missing cells of a table, in place or into a
 *	  new table, and keep what was learned as a recipe.
 *
 * The whole call is one statement's worth of work in the caller's
 * transaction: data is read and written as the caller, all fills land in
 * one UPDATE, and any error leaves the table and the catalog as they were.
 */
#include "postgres.h"

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

PG_FUNCTION_INFO_V1(ml_impute);

/* Columns ml_impute fills by default: any with NULLs that is not free text or a key. */
List *
MlDefaultTargets(MlFrame *frame)
{
	List	   *targets = NIL;

	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (col->nnull == 0 || col->identifier || col->kind == ML_KIND_TEXT ||
			col->role == ML_ROLE_SKIP || col->role == ML_ROLE_TARGET || col->generated)
			continue;
		targets = lappend_int(targets, c);
	}
	return targets;
}

/*
 * A constant given as text, read by the column type's own input function
 * (a date column reads "2024-02-15" as that day; an integer column refuses
 * "2.5"), or as the declared role reads text. Returns the value as the type
 * prints it; *value gets it in the frame's units (a number, or epoch
 * seconds for a datetime), NaN for categories.
 */
char *
MlConstantParse(MlColumn *col, const char *text, double *value)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			infunc,
				ioparam,
				outfunc;
	bool		varlena;
	Datum		d = (Datum) 0;
	char	   *canon;

	getTypeInputInfo(col->typid, &infunc, &ioparam);
	PG_TRY();
	{
		d = OidInputFunctionCall(infunc, (char *) text, ioparam, col->typmod);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(cxt);
		e = CopyErrorData();
		/*
		 * Only the input function's verdict on the text (a data exception,
		 * or a domain's constraint) is about the constant; a cancel, out of
		 * memory or anything else goes on as it was raised.
		 */
		if (ERRCODE_TO_CATEGORY(e->sqlerrcode) != ERRCODE_DATA_EXCEPTION &&
			ERRCODE_TO_CATEGORY(e->sqlerrcode) != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
		{
			FreeErrorData(e);
			PG_RE_THROW();
		}
		FlushErrorState();
		ereport(ERROR,
				(errcode(e->sqlerrcode),
				 errmsg("constant \"%s\" is not a valid value for column \"%s\" of type %s",
						text, col->name, format_type_be(col->typid)),
				 errdetail("%s", e->message)));
	}
	PG_END_TRY();
	getTypeOutputInfo(col->typid, &outfunc, &varlena);
	{
		/* printed in ISO, so a recipe reads it back under any DateStyle */
		int			save = NewGUCNestLevel();

		(void) set_config_option("datestyle", "ISO, YMD", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		canon = OidOutputFunctionCall(outfunc, d);
		AtEOXact_GUC(true, save);
	}
	*value = NAN;
	if (col->converted)
	{
		/* text declared numeric or datetime: read as the role reads it */
		if (col->kind == ML_KIND_NUMERIC && !MlTextIsNumber(canon, value))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("constant \"%s\" is not a number, but column \"%s\" is numeric",
							text, col->name)));
		if (col->kind == ML_KIND_DATETIME &&
			!(col->zoned ? MlTextToEpochTz(canon, value) : MlTextToEpoch(canon, value)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("constant \"%s\" is not a date or time, but column \"%s\" is a datetime",
							text, col->name)));
	}
	else if (col->kind == ML_KIND_DATETIME)
	{
		double		offset = (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

		switch (getBaseType(col->typid))
		{
			case DATEOID:
				if (!DATE_NOT_FINITE(DatumGetDateADT(d)))
					*value = (double) DatumGetDateADT(d) * SECS_PER_DAY + offset;
				break;
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
				if (!TIMESTAMP_NOT_FINITE(DatumGetTimestamp(d)))
					*value = (double) DatumGetTimestamp(d) / USECS_PER_SEC + offset;
				break;
			default:
				break;
		}
	}
	else if (col->kind == ML_KIND_NUMERIC)
		*value = strtod(canon, NULL);
	if ((col->kind == ML_KIND_NUMERIC || col->kind == ML_KIND_DATETIME) && !isfinite(*value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("constant \"%s\" for column \"%s\" must be finite", text, col->name)));
	return canon;
}
static List *
text_array_to_list(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column names must not be null")));
		result = lappend(result, TextDatumGetCString(elems[i]));
	}
	return result;
}

/*
 * A result row for every column with gaps that the default column list
 * leaves out, saying why: nothing is silently not imputed.
 */
static int
report_skipped(MlFrame *frame, List *targets, MlImputeReport *report, int n)
{
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];
		const char *why;

		if (col->nnull == 0 || list_member_int(targets, c))
			continue;
		why = col->generated ? "generated" :
			col->role == ML_ROLE_TARGET ? "target" :
			col->role == ML_ROLE_SKIP ? "role skip" :
			col->identifier ? "identifier" :
			col->kind == ML_KIND_TEXT ? "free text" : "not imputable";
		report[n].column = col->name;
		report[n].filled = 0;
		report[n].method = psprintf("skipped: %s", why);
		report[n].metric = "none";
		report[n].error = NAN;
		n++;
	}
	return n;
}

/*
 * A notice for every text column read as numbers: how many cells did not
 * parse (they were gaps, filled like the others) and a few of them.
 */
static void
report_unparsed(MlFrame *frame)
{
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];
		StringInfoData s;

		/* cells that are not numbers became gaps: say so (the report always does) */
		if (!col->converted || col->kind != ML_KIND_NUMERIC || col->nunparsed == 0)
			continue;
		initStringInfo(&s);
		MlUnparsedText(&s, col);
		ereport(NOTICE,
				(errmsg("column \"%s\" is %s", col->name, s.data),
				 col->nunparsed > 0 ?
				 errdetail("Cells that are not numbers were treated as missing; the column keeps its type %s, fills are written as the text of the number.",
						   format_type_be(col->typid)) : 0));
	}
}

static void
report_json(StringInfo out, MlFrame *frame, MlImputeReport *report, int n)
{
	appendStringInfoChar(out, '[');
	for (int i = 0; i < n; i++)
	{
		appendStringInfo(out, "%s{\"column\": ", i ? ", " : "");
		escape_json(out, report[i].column);
		appendStringInfo(out, ", \"filled\": " INT64_FORMAT ", \"method\": ", report[i].filled);
		escape_json(out, report[i].method);
		appendStringInfo(out, ", \"metric\": \"%s\", \"error\": ", report[i].metric);
		if (isfinite(report[i].error))
			appendStringInfo(out, "%.6g", report[i].error);
		else
			appendStringInfoString(out, "null");
		{
			int			c = MlFrameColumn(frame, report[i].column);

			if (c >= 0)
				MlUnparsedJson(out, &frame->cols[c]);
		}
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

Datum
ml_impute(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	Oid			relid;
	List	   *colnames = NIL;
	char	   *method = PG_ARGISNULL(2) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *optsj = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	JsonbContainer *opts = optsj ? &optsj->root : NULL;
	char	   *into = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	MlImputeOptions o;
	MlFrame    *frame;
	MlFills    *fills;
	List	   *targets = NIL;
	MlImputeReport *report;
	StringInfoData steps,
				rep,
				optstr;
	int			n;
	int64		project_id;
	int64		recipe_id;
	char	   *ptarget;
	ListCell   *lc;
	bool		copied;
	bool		large;
	TimestampTz t0;
	Oid			source_relid;

	MlRequireArg(fcinfo, 0, "relation");
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1))
		colnames = text_array_to_list(PG_GETARG_ARRAYTYPE_P(1));
	MlImputeReadOptions(opts, method, &o, MlImputeOptionKeys);
	if (into)
	{
		/* resolve the schema now, while the caller's search_path applies */
		Oid			nspid;
		RangeVar   *rv = MlParseInto(into, &nspid);

		into = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	}

	InitMaterializedSRF(fcinfo, 0);
	MlProgressStart();
	MlScopeEnter(&scope);
	source_relid = relid;
	relid = MlPrepareOutput(relid, into, &copied);
	MlCheckTargetOption(relid, o.target);
	ptarget = MlProjectTarget(relid, &project_id);
	if (o.target == NULL)
		o.target = ptarget;
	t0 = GetCurrentTimestamp();
	{
		/*
		 * A table too large for maintenance_work_mem is fitted on a uniform
		 * sample and filled chunk by chunk (in place on the source, or on a
		 * copy for into_table).
		 */
		Relation	rel = RelationIdGetRelation(relid);
		int			ncols = RelationGetNumberOfAttributes(rel);
		int64		sample = MlSampleRows(ncols);

		RelationClose(rel);
		large = MlFrameTooLarge(relid, ncols);
		if (large && into && !copied)
		{
			relid = MlCopyRelation(relid, into, false);
			copied = true;
		}
		frame = MlFrameLoadSample(relid, NIL, true, large ? sample : 0);
		/* a copy has plain columns: generated ones are the source's */
		MlFrameMarkGenerated(frame, source_relid);
	}
	elog(DEBUG1, "loaded %lld rows in %.3f s", (long long) frame->nrows,
		 (double) (GetCurrentTimestamp() - t0) / 1e6);
	MlApplyRoles(frame, MlOptObject(opts, "roles"), o.target, true, NIL, NIL, NIL);
	MlFrameRoundFills(frame, MlOptBool(opts, "round", false));

	foreach(lc, colnames)
	{
		int			c = MlFrameColumn(frame, lfirst(lc));

		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							(char *) lfirst(lc), get_rel_name(relid))));
		if (frame->cols[c].generated)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" is a generated column and cannot be imputed",
							frame->cols[c].name),
					 errdetail("Its values come from its generation expression; impute the columns it is computed from.")));
		targets = list_append_unique_int(targets, c);
	}
	if (colnames == NIL)
		targets = MlDefaultTargets(frame);

	fills = MlFillsCreate(frame);
	report = palloc0(sizeof(MlImputeReport) * (frame->ncols + 1));
	initStringInfo(&steps);
	appendStringInfoChar(&steps, '[');
	n = MlImputeColumns(frame, fills, targets, colnames != NIL, &o, MlOptObject(opts, "methods"),
						&steps, report);
	appendStringInfoChar(&steps, ']');
	t0 = GetCurrentTimestamp();
	if (large)
	{
		int64	   *filled;
		Jsonb	   *models = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(steps.data)));
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;
		int			s = 0;

		MlCountUnparsed(relid, frame);
		filled = MlApplyModelsChunked(relid, models, MlOptObject(opts, "roles"),
									  MlTextNumberColumns(frame),
									  MlZonedColumns(frame, true), MlZonedColumns(frame, false),
									  MlChunkRows(frame->ncols));

		/*
		 * by column, the last step's count (a MICE column has a step per
		 * round, the last one holding its fills), as ml_clean's large path
		 */
		it = JsonbIteratorInit(&models->root);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			if (tok == WJB_ELEM && e.type == jbvBinary &&
				strcmp(MlOptString(e.val.binary.data, "step", "model"), "model") == 0)
			{
				char	   *column = MlOptString(e.val.binary.data, "column", "");

				for (int i = 0; i < n; i++)
					if (strcmp(report[i].column, column) == 0)
						report[i].filled = filled[s];
				s++;
			}
	}
	else
		MlFillsWrite(frame, fills, copied ? NULL : into);
	if (colnames == NIL)
		n = report_skipped(frame, targets, report, n);
	report_unparsed(frame);
	{
		/* the recipe says which text columns were read as numbers */
		StringInfoData lead;

		initStringInfo(&lead);
		appendStringInfoChar(&lead, '[');
		MlNumericTextStep(&lead, frame);
		if (lead.len > 1 && steps.len > 2)
			appendStringInfoString(&lead, ", ");
		appendStringInfoString(&lead, steps.data + 1);
		steps = lead;
	}
	elog(DEBUG1, "wrote %lld rows in %.3f s", (long long) fills->nrows,
		 (double) (GetCurrentTimestamp() - t0) / 1e6);

	initStringInfo(&rep);
	report_json(&rep, frame, report, n);
	initStringInfo(&optstr);
	appendStringInfoString(&optstr, "{\"method\": ");
	escape_json(&optstr, method);
	appendStringInfo(&optstr, ", \"options\": %s}",
					 optsj ? JsonbToCString(NULL, &optsj->root, VARSIZE(optsj)) : "{}");
	recipe_id = MlStoreRecipe(&scope, relid, "impute", optstr.data, steps.data, rep.data, project_id);
	MlImputeProfile(&scope, frame, fills, source_relid, into, large, recipe_id, project_id);

	for (int i = 0; i < n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(report[i].column);
		values[1] = Int64GetDatum(report[i].filled);
		values[2] = CStringGetTextDatum(report[i].method);
		values[3] = CStringGetTextDatum(report[i].metric);
		values[4] = Float8GetDatum(report[i].error);
		nulls[4] = !isfinite(report[i].error);
		values[5] = Int64GetDatum(recipe_id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MlScopeExit(&scope);
	return (Datum) 0;
}
