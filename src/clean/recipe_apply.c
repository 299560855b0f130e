/*
 * recipe_apply.c
 *	  ml_apply_recipe(): a stored recipe's steps rebound to a relation by
 *	  column and level names and replayed through the same select-list
 *	  builders the steps use, without refitting.
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

PG_FUNCTION_INFO_V1(ml_apply_recipe);

/* The recipe being applied, for errors about its steps. */
static int64 applying_recipe = 0;

static List *
json_text_items(JsonbContainer *obj, const char *key)
{
	return MlOptStringList(obj, key);
}

static char **
list_to_array(List *l)
{
	char	  **a = palloc(sizeof(char *) * (list_length(l) + 1));
	ListCell   *lc;

	foreach(lc, l)
		a[foreach_current_index(lc)] = lfirst(lc);
	return a;
}

static void
bad_step(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("recipe " INT64_FORMAT " is invalid: %s", applying_recipe, what)));
}

static int
step_column(Clean *c, JsonbContainer *step, const char *key)
{
	char	   *name = MlOptString(step, key, NULL);
	int			ci = name ? MlFrameColumn(c->frame, name) : -1;

	if (ci < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" needed by the recipe does not exist in the relation",
						name ? name : "?")));
	if (strcmp(key, "column") == 0)
		MlRecipeCheckType(&c->frame->cols[ci], step);
	return ci;
}

/* Replay the steps that change cells before anything else is computed. */
static void
replay_fills(Clean *c, JsonbContainer *step, const char *kind, List **xnames, List **xexprs)
{
	if (strcmp(kind, "duplicates") == 0)
		MlStepDuplicates(c, step);
	else if (strcmp(kind, "impute") == 0 || strcmp(kind, "model") == 0)
	{
		JsonbValue *models = MlOptGet(step, "models");
		JsonbIterator *it;
		JsonbValue	e;
		JsonbIteratorToken tok;

		if (strcmp(kind, "model") == 0)
		{
			MlModel    *m = MlModelFromJson(c->frame, step);

			c->rep[m->target].filled = MlImputeApplyModel(c->frame, c->fills, m, step);
			c->rep[m->target].fill_method = pstrdup(MlMethodName(m->method));
			c->rep[m->target].fill_error = NAN;
			return;
		}
		if (models == NULL || models->type != jbvBinary)
			return;
		it = JsonbIteratorInit(models->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			if (tok == WJB_ELEM && e.type == jbvBinary)
				replay_fills(c, e.val.binary.data, "model", xnames, xexprs);
	}
	else if (strcmp(kind, "outliers") == 0)
	{
		/* bounds never apply to filled cells */
		(void) MlCleanMissingFlag(c, step_column(c, step, "column"), xnames, xexprs);
	}
	else if (strcmp(kind, "unparsed") == 0)
	{
		int			ci = step_column(c, step, "column");
		MlColumn   *col = &c->frame->cols[ci];
		const char *q = quote_identifier(col->name);
		char	   *inner = MlCleanNewName(c, "__ml", psprintf("raw%d", ci));

		if (!col->numeric_text || MlOptString(step, "name", NULL) == NULL)
			bad_step(psprintf("column \"%s\" keeps unparsed text but is not read as numbers", col->name));
		*xnames = lappend(*xnames, inner);
		*xexprs = lappend(*xexprs,
						  psprintf("CASE WHEN mlops.try_cast_numeric(t.%s::text) IS NULL THEN t.%s::text END", q, q));
		MlCleanAddOutput(c, ci, MlOptString(step, "name", NULL), psprintf("t.%s", quote_identifier(inner)));
	}
	else if (strcmp(kind, "indicator") == 0)
	{
		int			ci = step_column(c, step, "column");
		char	   *inner = MlCleanNewName(c, "__ml", psprintf("na%d", ci));

		*xnames = lappend(*xnames, inner);
		*xexprs = lappend(*xexprs, psprintf("(t.%s IS NULL)", quote_identifier(c->frame->cols[ci].name)));
		MlCleanAddOutput(c, ci, MlOptString(step, "name", NULL), psprintf("t.%s", quote_identifier(inner)));
	}
}

/* Replay the steps that are expressions over the filled rows. */
static void
replay_exprs(Clean *c, JsonbContainer *step, const char *kind)
{
	if (strcmp(kind, "outliers") == 0)
	{
		int			ci = step_column(c, step, "column");
		int			ng = 0;
		int64		nlo,
					nhi;
		List	   *groups = json_text_items(step, "groups");
		double	   *glo = MlOptNumbers(step, "group_lo", &nlo);
		double	   *ghi = MlOptNumbers(step, "group_hi", &nhi);
		char	   *by = MlOptString(step, "by", NULL);

		if (by)
		{
			(void) step_column(c, step, "by");
			ng = list_length(groups);
		}
		MlEmitOutlier(c, ci, MlOptString(step, "method", "iqr"), MlRecipeNumber(step, "k", 1.5),
					 MlOptString(step, "action", "winsorize"), MlRecipeNumber(step, "lo", -INFINITY),
					 MlRecipeNumber(step, "hi", INFINITY), by, list_to_array(groups), glo, ghi,
					 (int) Min(ng, Min(nlo, nhi)), MlOptString(step, "name", NULL));
		c->rep[ci].outliers = -1;	/* bounds applied; not counted */
	}
	else if (strcmp(kind, "cast") == 0)
	{
		static const char *const casts[] = {"bigint", "integer", "numeric", "boolean", "timestamp",
		"timestamptz"};
		char	   *to = MlOptString(step, "to", "bigint");
		bool		from_text = MlOptBool(step, "from_text", false);
		int			i;

		for (i = 0; i < (int) lengthof(casts); i++)
			if (strcmp(casts[i], to) == 0)
				break;
		if (i == (int) lengthof(casts) || (!from_text && i > 1))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("recipe " INT64_FORMAT " is invalid: unknown cast \"%s\"", applying_recipe, to)));
		MlEmitCast(c, step_column(c, step, "column"), to, from_text);
	}
	else if (strcmp(kind, "encode") == 0)
	{
		int			ci = step_column(c, step, "column");
		char	   *method = MlOptString(step, "method", "onehot");
		bool		keep = MlOptBool(step, "keep_original", false);
		List	   *levels = json_text_items(step, "levels");
		List	   *names = json_text_items(step, "names");

		if (strcmp(method, "target") == 0)
		{
			int64		ne;
			double	   *enc = MlOptNumbers(step, "encodings", &ne);

			MlEmitTarget(c, ci, list_to_array(levels), (int) Min(ne, list_length(levels)), enc, NULL,
						MlRecipeNumber(step, "prior", 0), MlRecipeNumber(step, "smoothing", 10),
						MlOptString(step, "name", NULL), keep);
		}
		else if (strcmp(method, "onehot") == 0)
		{
			if (list_length(names) != list_length(levels) &&
				list_length(names) != list_length(levels) + 1)
				bad_step("one-hot names do not match its levels");
			MlEmitOnehot(c, ci, list_to_array(levels), list_length(levels),
						list_length(names) > list_length(levels), list_to_array(names), keep);
		}
		else if (strcmp(method, "hashing") == 0)
		{
			double		buckets = MlRecipeNumber(step, "buckets", 16);

			if (!(buckets >= 2 && buckets <= 1024) || buckets != floor(buckets) ||
				list_length(names) != (int) buckets)
				bad_step("hashing needs 2..1024 buckets, one name each");
			MlEmitHashing(c, ci, (int) buckets, list_to_array(names), keep);
		}
		else if (strcmp(method, "ordinal") != 0 && strcmp(method, "frequency") != 0)
			bad_step(psprintf("unknown encoding \"%s\"", method));
		else
		{
			int64		nf;
			double	   *freq = MlOptNumbers(step, "frequencies", &nf);

			if (strcmp(method, "frequency") == 0 && nf != list_length(levels))
				bad_step("frequencies do not match the levels");

			MlEmitOrdinalFreq(c, ci, strcmp(method, "ordinal") == 0, list_to_array(levels), freq,
							  list_length(levels), MlOptString(step, "name", NULL), keep);
		}
	}
	else if (strcmp(kind, "datetime") == 0)
	{
		int			ci = step_column(c, step, "column");
		List	   *parts = json_text_items(step, "parts");
		List	   *names = json_text_items(step, "names");

		if (list_length(parts) != list_length(names))
			bad_step("datetime parts do not match their names");
		MlEmitDatetime(c, ci, parts, names);
		appendStringInfoChar(&c->steps, '}');
		if (!MlOptBool(step, "keep_original", true))
		{
			c->keep_source[ci] = false;
			c->rep[ci].dropped = true;
		}
	}
	else if (strcmp(kind, "elapsed") == 0)
		MlEmitElapsed(c, step_column(c, step, "from"), step_column(c, step, "column"),
					 MlOptString(step, "name", NULL));
}

static void
replay(Clean *c, JsonbContainer *steps, bool fills, List **xnames, List **xexprs)
{
	JsonbIterator *it = JsonbIteratorInit(steps);
	JsonbValue	e;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		char	   *kind;

		if (tok != WJB_ELEM || e.type != jbvBinary)
			continue;
		kind = MlOptString(e.val.binary.data, "step", "model");
		if (fills)
			replay_fills(c, e.val.binary.data, kind, xnames, xexprs);
		else
			replay_exprs(c, e.val.binary.data, kind);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * ml_apply_recipe(recipe, relation, into_table): re-apply what a run of
 * ml_impute or ml_clean learned, to new rows, without refitting anything.
 */
Datum
ml_apply_recipe(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	int64		recipe_id;
	char	   *into;
	Oid			relid;
	Oid			readid;
	Clean		c;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	char	   *kind;
	Jsonb	   *steps;
	Jsonb	   *ropts;
	List	   *xnames = NIL,
			   *xexprs = NIL;
	char	   *from;
	bool		isnull;

	MlRequireArg(fcinfo, 0, "recipe");
	recipe_id = PG_GETARG_INT64(0);
	into = MlResolveInto(fcinfo, 2);
	relid = MlCheckRelation(fcinfo, 1, into);

	InitMaterializedSRF(fcinfo, 0);
	MlProgressStart();
	MlScopeEnter(&scope);
	MlPreferTidJoins();
	/* as the caller: a recipe hidden by row-level security does not exist */
	values[0] = Int64GetDatum(recipe_id);
	MlSpiExec("SELECT kind, steps, options FROM mlops.recipes WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("recipe " INT64_FORMAT " does not exist", recipe_id),
				 errhint("Recipes you can use are listed in mlops.recipes.")));
	kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (strcmp(kind, "train") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("recipe " INT64_FORMAT " is ml_train's preparation of a model's features, not a cleaning recipe",
						recipe_id),
				 errhint("Reuse it with ml_train(project, algorithm, options => '{\"recipe\": " INT64_FORMAT "}').",
						 recipe_id)));
	MlRecipeReading(recipe_id);
	applying_recipe = recipe_id;
	steps = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	ropts = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	/* the roles the run declared read the new rows the same way */
	{
		JsonbContainer *o = &ropts->root;
		JsonbContainer *inner = MlOptObject(o, "options");

		JsonbValue *missing = MlOptGet(o, "missing");

		/* and the text columns the run read as numbers, exactly those */
		readid = MlCleanBegin(&c, relid, MlOptObject(inner ? inner : o, "roles"),
							 MlOptString(inner ? inner : o, "target", NULL), NIL, 0,
							 false, MlNumericTextFromSteps(&steps->root),
							 MlZonedFromSteps(&steps->root, true), MlZonedFromSteps(&steps->root, false));
		/* fills rounded as the run rounded them */
		MlFrameRoundFills(c.frame,
						  inner ? MlOptBool(inner, "round", false) :
						  missing && missing->type == jbvBinary ?
						  MlOptBool(missing->val.binary.data, "round", false) : false);
	}
	replay(&c, &steps->root, true, &xnames, &xexprs);
	if (strcmp(kind, "impute") == 0)
	{
		/* imputation recipes change cells only, as ml_impute does */
		MlFillsWrite(c.frame, c.fills, into);

		/*
		 * the gaps left, counted on the frame (the whole relation here): a
		 * fill its type or domain refused stays a gap, and nulls_after
		 * said 0 for every column (nothing measured the output)
		 */
		for (int ci = 0; ci < c.frame->ncols; ci++)
		{
			MlColumn   *col = &c.frame->cols[ci];
			int64		left = 0;

			for (int64 r = 0; r < c.frame->nrows; r++)
				if (col->isnull[r] && !c.fills->deleted[r])
					left++;
			c.rep[ci].nulls_after = left;
		}
	}
	else
	{
		from = MlCleanFills(&c, xnames, xexprs);
		replay(&c, &steps->root, false, NULL, NULL);
		MlCleanWrite(&c, readid, into, from);
	}
	{
		const char *keys[2] = {"recipe_id", "into_table"};
		const char *vals[2] = {psprintf(INT64_FORMAT, recipe_id), into};

		MlAudit(&scope, "apply_recipe", "relation",
				MlRelName(relid), 0, 2, keys, vals);
	}
	MlCleanResult(&c, rsinfo, recipe_id);
	MlScopeExit(&scope);
	return (Datum) 0;
}
