/*
 * train_recipe.c
 *	  ml_train's cleaning recipe: which one (options.recipe), its row-local
 *	  steps read into the encoder (fills, bounds, date parts), and the
 *	  recipe of kind 'train' stored for a project that has none.
 *
 * A recipe made by ml_clean or ml_impute is read with the reader
 * ml_apply_recipe uses (clean/recipe.c, MlModelFromJson), checked against
 * the relation, and kept as per-input steps of the model's encoder
 * (model/features.c): nothing is written, and a scored row takes the same
 * fill and bounds as a training row (features_row.c). Only steps that
 * depend on nothing but the cell itself can be replayed on one scored
 * row; others are refused (a recipe the caller named) or make ml_train
 * fall back to its own preparation (the project's latest recipe), saying
 * why in training.recipe.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "clean/cleaning.h"
#include "core/catalog.h"
#include "core/options.h"
#include "core/subxact.h"
#include "model/features.h"
#include "model/stored.h"
#include "model/train.h"

static const char *const part_names[] = {
	"year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "weekend"
};

/* options.recipe: absent (the project's), "none", or a recipe id. */
void
MlTrainRecipeOption(JsonbContainer *opts, MlTrainRecipe *r)
{
	JsonbValue *v = MlOptGet(opts, "recipe");
	double		d;

	memset(r, 0, sizeof(*r));
	r->mode = ML_RECIPE_DEFAULT;
	if (v == NULL)
		return;
	if (v->type == jbvString && v->val.string.len == 4 && memcmp(v->val.string.val, "none", 4) == 0)
	{
		r->mode = ML_RECIPE_NONE;
		return;
	}
	if (v->type != jbvNumeric || !MlJsonToNumber(v, &d) || !(d >= 1 && d <= (double) PG_INT64_MAX / 2) ||
		d != floor(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"recipe\" must be a recipe id (a positive whole number) or \"none\""),
				 errhint("Leave it out to apply the project's latest cleaning recipe; "
						 "recipes are listed in mlops.recipes.")));
	r->mode = ML_RECIPE_GIVEN;
	r->id = (int64) d;
}

/*
 * A recipe row as the caller sees it (row-level security): false if hidden
 * or absent. *round: whether its fills are rounded to the places of the
 * relation's values, read as ml_apply_recipe reads it.
 */
static bool
read_recipe(int64 id, char **kind, Jsonb **steps, bool *round)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		isnull;
	Datum		opts;

	MlSpiExec("SELECT kind, steps, options FROM mlops.recipes WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	*kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*steps = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	opts = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	*round = false;
	if (!isnull && JB_ROOT_IS_OBJECT(DatumGetJsonbP(opts)))
	{
		JsonbContainer *o = &DatumGetJsonbPCopy(opts)->root;
		JsonbContainer *inner = MlOptObject(o, "options");
		JsonbValue *missing = MlOptGet(o, "missing");

		*round = inner ? MlOptBool(inner, "round", false) :
			missing && missing->type == jbvBinary && JsonContainerIsObject(missing->val.binary.data) ?
			MlOptBool(missing->val.binary.data, "round", false) : false;
	}
	return true;
}

/*
 * The latest cleaning recipe of the project the caller may see, 0 if none:
 * linked to it, or fitted on its relation (by OID, 0.3.0: a recipe made
 * before the project was).
 */
static int64
project_recipe(MlProject *p, Oid relid)
{
	Oid			types[2] = {INT8OID, OIDOID};
	Datum		values[2] = {Int64GetDatum(p->id), ObjectIdGetDatum(relid)};
	bool		isnull;

	MlSpiExec(MlCatalogHasRoleOids()
			  ? "SELECT id FROM mlops.recipes WHERE (project_id OPERATOR(pg_catalog.=) $1 "
			  "OR source_relid OPERATOR(pg_catalog.=) $2) "
			  "AND kind OPERATOR(pg_catalog.=) ANY ('{clean,impute}'::pg_catalog.text[]) "
			  "ORDER BY id DESC LIMIT 1"
			  : "SELECT id FROM mlops.recipes WHERE project_id OPERATOR(pg_catalog.=) $1 "
			  "AND kind OPERATOR(pg_catalog.=) ANY ('{clean,impute}'::pg_catalog.text[]) "
			  "ORDER BY id DESC LIMIT 1", 2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* What replaying one recipe needs to know. */
typedef struct Replay
{
	MlTrainRecipe *r;
	MlFrame    *frame;
	Oid			relid;
	bool	   *feature;		/* [frame column] is one of the model's inputs */
	int			sqlstate;		/* the first problem: 0 none */
	char	   *problem;
	List	   *steps;			/* fill steps on features, in order (JsonbContainer *) */
	bool		model_steps;	/* some of them fill from other cells of the row */
	bool		round;			/* the recipe rounds its fills (options.round) */
} Replay;

static void
problem(Replay *rp, int sqlstate, char *msg)
{
	if (rp->sqlstate == 0)
	{
		rp->sqlstate = sqlstate;
		rp->problem = msg;
	}
}

static void
note(List **list, const char *column, const char *what)
{
	*list = lappend(*list, column ? psprintf("%s: %s", column, what) : pstrdup(what));
}

/*
 * The frame column a step is about, -1 when it is no input of the model
 * (the target, a split column, a column left out) or a problem was noted.
 */
static int
step_feature(Replay *rp, JsonbContainer *step, const char *what)
{
	char	   *name = MlOptString(step, "column", NULL);
	int			ci;

	if (name == NULL)
	{
		problem(rp, ERRCODE_DATA_CORRUPTED, psprintf("recipe " INT64_FORMAT " is invalid: a %s step names no column",
													 rp->r->id, what));
		return -1;
	}
	if (get_attnum(rp->relid, name) == InvalidAttrNumber)
	{
		problem(rp, ERRCODE_UNDEFINED_COLUMN,
				psprintf("column \"%s\" needed by recipe " INT64_FORMAT " does not exist in relation %s",
						 name, rp->r->id, MlRelName(rp->relid)));
		return -1;
	}
	ci = MlFrameColumn(rp->frame, name);
	if (ci < 0 || !rp->feature[ci])
	{
		note(&rp->r->not_applied, name, psprintf("%s (not a feature)", what));
		return -1;
	}
	{
		/* MlRecipeCheckType's test, noted instead of raised (a project's recipe falls back) */
		MlColumn   *col = &rp->frame->cols[ci];
		char	   *kind = MlOptString(step, "kind", NULL);
		const char *have = col->kind == ML_KIND_NUMERIC ? "numeric" :
			col->kind == ML_KIND_DATETIME ? "datetime" : "text";

		if (kind && strcmp(kind, have) != 0)
		{
			char	   *type = MlOptString(step, "type", NULL);

			problem(rp, ERRCODE_DATATYPE_MISMATCH,
					psprintf("column \"%s\" is of type %s in relation %s, but recipe " INT64_FORMAT
							 " was fitted on type %s", name, format_type_be(col->typid),
							 MlRelName(rp->relid), rp->r->id, type ? type : kind));
			return -1;
		}
	}
	return ci;
}

static void
unsupported(Replay *rp, const char *column, const char *what)
{
	problem(rp, ERRCODE_FEATURE_NOT_SUPPORTED,
			psprintf("recipe " INT64_FORMAT " cannot be replayed on a scored row: %s%s%s %s",
					 rp->r->id, column ? "column \"" : "", column ? column : "",
					 column ? "\"" : "a step", what));
}

/* The frame's code of a category level, added when no training row has it. */
static double
category_code(MlColumn *col, const char *text)
{
	for (int k = 0; k < col->nlevels; k++)
		if (strcmp(col->level_text[k], text) == 0)
			return k;
	return MlColumnAddLevel(col, text);
}

/*
 * A fill from a model over the row's other cells (groupwise keys,
 * regression inputs, a chain's or a blend's members): kept as the step's
 * JSON and replayed on every row with a NULL there (features_replay.c),
 * when every column it reads is an input of the model and every model in
 * it reads only the row (KNN's reference rows are source rows: a payload
 * never holds them).
 */
static void
replay_model(Replay *rp, JsonbContainer *step, const char *column, const char *method)
{
	char	   *bad;
	ListCell   *lc;

	if (!MlReplayMethodOk(step, &bad))
	{
		unsupported(rp, column, psprintf("is imputed with a %s that uses method \"%s\", whose fills "
										 "depend on other rows", method, bad));
		return;
	}
	foreach(lc, MlReplayColumns(step))
	{
		char	   *name = lfirst(lc);
		int			ci = MlFrameColumn(rp->frame, name);

		if (ci < 0 && get_attnum(rp->relid, name) == InvalidAttrNumber)
		{
			problem(rp, ERRCODE_UNDEFINED_COLUMN,
					psprintf("column \"%s\" needed by recipe " INT64_FORMAT " does not exist in relation %s",
							 name, rp->r->id, MlRelName(rp->relid)));
			return;
		}
		if (ci < 0 || !rp->feature[ci])
		{
			unsupported(rp, column, psprintf("is imputed with a %s that reads column \"%s\", which is not "
											 "an input of the model", method, name));
			return;
		}
	}
	rp->steps = lappend(rp->steps, step);
	rp->model_steps = true;
	note(&rp->r->applied, column, psprintf("fill (%s)", method));
}

/* A fill the encoder can hold: a number, an epoch, or a frame level code. */
static void
replay_fill(Replay *rp, JsonbContainer *step)
{
	int			ci = step_feature(rp, step, "fill");
	MlColumn   *col;
	MlModel    *m;
	MlColumnPrep *prep;
	char	   *method;
	double		v;
	double		raw;

	if (ci < 0)
		return;
	col = &rp->frame->cols[ci];
	/* by name first: a model of other columns is bound to the frame later */
	method = MlOptString(step, "method", "none");
	if (MlReplayIsModelFill(method))
	{
		replay_model(rp, step, col->name, method);
		return;
	}
	if (strcmp(method, "mean") != 0 && strcmp(method, "median") != 0 && strcmp(method, "mode") != 0 &&
		strcmp(method, "constant") != 0 && strcmp(method, "none") != 0)
	{
		bool		rows = strcmp(method, "knn") == 0 || strcmp(method, "locf") == 0 ||
			strcmp(method, "interpolate") == 0;

		unsupported(rp, col->name, psprintf("is imputed with method \"%s\", %s", method,
											rows ? "whose fills depend on other rows" :
											"whose fills depend on other cells"));
		return;
	}
	/* replayed with the models too: a model after it reads the row as filled */
	rp->steps = lappend(rp->steps, step);
	m = MlModelFromJson(rp->frame, step);
	if (m->method == ML_METHOD_NONE)
		return;
	if (col->kind == ML_KIND_CATEGORICAL)
	{
		/*
		 * A category's fill is one of its levels, by text: a bare number
		 * (a tampered or hand-made step) would be taken for a level code.
		 */
		const char *text = m->discrete && m->fill_level >= 0 ? m->tlevel_text[m->fill_level] :
			m->constant_text;

		if (text == NULL)
		{
			if (!m->discrete && !isnan(m->fill))
				problem(rp, ERRCODE_DATATYPE_MISMATCH,
						psprintf("recipe " INT64_FORMAT " is invalid: the fill of column \"%s\" is a number, "
								 "not one of its categories", rp->r->id, col->name));
			else
				note(&rp->r->not_applied, col->name, "fill (none fitted)");
			return;
		}
		v = category_code(col, text);
	}
	else if (m->discrete && m->fill_level >= 0)
	{
		/* a number written as a level: all of its text, as float8in would read it */
		const char *text = m->tlevel_text[m->fill_level];
		char	   *end;

		v = strtod(text, &end);
		if (end == text || *end != '\0')
		{
			problem(rp, ERRCODE_DATATYPE_MISMATCH,
					psprintf("recipe " INT64_FORMAT " is invalid: the fill \"%s\" of column \"%s\" is not a number",
							 rp->r->id, text, col->name));
			return;
		}
	}
	else
		v = m->fill;
	if (!isfinite(v))
	{
		note(&rp->r->not_applied, col->name, "fill (none fitted)");
		return;
	}
	/*
	 * what ml_apply_recipe writes: whole in an integer column, real's
	 * precision, numeric(p,s)'s places, so a scored row's NULL reads the
	 * value the filled table holds; none where the column cannot hold it
	 */
	raw = v;
	if (col->kind == ML_KIND_NUMERIC && !MlFillAsHeld(col, &v))
	{
		note(&rp->r->not_applied, col->name,
			 psprintf("fill (out of the range of type %s)",
					  format_type_with_typemod(col->typid, col->typmod)));
		return;
	}
	/* a date or time: its type's range and a date domain's CHECK, as the write; held so */
	if (col->kind == ML_KIND_DATETIME && !MlEpochFillAsHeld(col, &v))
	{
		note(&rp->r->not_applied, col->name,
			 psprintf("fill (refused by type %s)", format_type_be(col->typid)));
		return;
	}
	prep = &rp->r->prep[ci];
	prep->has_fill = true;
	prep->fill = v;
	prep->raw_fill = raw;
	note(&rp->r->applied, col->name, psprintf("fill (%s)", MlMethodName(m->method)));
}

static void
replay_bounds(Replay *rp, JsonbContainer *step)
{
	int			ci = step_feature(rp, step, "outliers");
	char	   *action = MlOptString(step, "action", "winsorize");
	double		lo,
				hi;

	if (ci < 0)
		return;
	if (strcmp(action, "winsorize") != 0 || MlOptGet(step, "by") != NULL ||
		rp->frame->cols[ci].kind != ML_KIND_NUMERIC)
	{
		unsupported(rp, rp->frame->cols[ci].name,
					psprintf("has outliers handled with action \"%s\"%s", action,
							 MlOptGet(step, "by") ? " per group" : ""));
		return;
	}
	lo = MlRecipeNumber(step, "lo", -INFINITY);
	hi = MlRecipeNumber(step, "hi", INFINITY);
	if (isnan(lo) || isnan(hi) || lo > hi)
	{
		problem(rp, ERRCODE_DATA_CORRUPTED,
				psprintf("recipe " INT64_FORMAT " is invalid: outlier bounds of \"%s\" out of order",
						 rp->r->id, rp->frame->cols[ci].name));
		return;
	}
	/* one-sided bounds: the payload holds finite numbers only */
	rp->r->prep[ci].has_clamp = true;
	rp->r->prep[ci].raw_lo = rp->r->prep[ci].lo = Max(lo, -DBL_MAX);
	rp->r->prep[ci].raw_hi = rp->r->prep[ci].hi = Min(hi, DBL_MAX);
	/*
	 * ml_clean writes a winsorized value cast to the column's type: the
	 * bound as the column holds it (numeric(p,s)'s places, real's
	 * precision). A column's own values clamped to the held bound are the
	 * held clamp of them (none lies between a bound and its held value);
	 * a bound the column cannot hold clamps none of them, as ml_apply_recipe
	 * writes them (step_outliers.c's bound_written): on the table it was
	 * fitted on it lies beyond all the values, on another (a recipe of a
	 * float8 column, a smallint here) it may lie above them all.
	 */
	{
		MlColumnPrep *prep = &rp->r->prep[ci];
		MlColumn   *col = &rp->frame->cols[ci];
		Oid			base;
		int32		typmod = MlHeldTypmod(col, &base);

		MlBoundsAsHeld(col->typid, base, typmod, prep->raw_lo, prep->raw_hi, &prep->lo, &prep->hi);
	}
	note(&rp->r->applied, rp->frame->cols[ci].name, "outlier bounds (winsorize)");
}

static void
replay_parts(Replay *rp, JsonbContainer *step)
{
	int			ci = step_feature(rp, step, "datetime");
	List	   *parts = MlOptStringList(step, "parts");
	ListCell   *lc;
	MlColumnPrep *prep;

	if (ci < 0)
		return;
	prep = &rp->r->prep[ci];
	prep->nparts = 0;
	foreach(lc, parts)
	{
		int			k;

		for (k = 0; k < (int) lengthof(part_names); k++)
			if (strcmp(part_names[k], lfirst(lc)) == 0)
				break;
		if (k == (int) lengthof(part_names) || prep->nparts == ML_MAX_PARTS)
		{
			prep->nparts = 0;
			unsupported(rp, rp->frame->cols[ci].name,
						k == (int) lengthof(part_names) ?
						psprintf("is encoded with date part \"%s\"", (char *) lfirst(lc)) :
						psprintf("is encoded with more than %d date parts", ML_MAX_PARTS));
			return;
		}
		prep->parts[prep->nparts++] = (MlDatePart) k;
	}
	if (prep->nparts > 0)
		note(&rp->r->applied, rp->frame->cols[ci].name, "date parts");
}

static void replay_steps(Replay *rp, JsonbContainer *steps);

static void
replay_step(Replay *rp, JsonbContainer *step)
{
	char	   *kind = MlOptString(step, "step", "model");

	if (strcmp(kind, "model") == 0)
		replay_fill(rp, step);
	else if (strcmp(kind, "impute") == 0)
	{
		JsonbValue *models = MlOptGet(step, "models");

		if (models && models->type == jbvBinary)
			replay_steps(rp, models->val.binary.data);
	}
	else if (strcmp(kind, "outliers") == 0)
		replay_bounds(rp, step);
	else if (strcmp(kind, "datetime") == 0)
		replay_parts(rp, step);
	else if (strcmp(kind, "encode") == 0 || strcmp(kind, "scale") == 0)
	{
		char	   *method = MlOptString(step, "method", strcmp(kind, "scale") == 0 ? "standardize" : "onehot");
		int			ci;

		if (strcmp(method, "onehot") != 0 && strcmp(method, "ordinal") != 0 &&
			strcmp(method, "codes") != 0 && strcmp(method, "standardize") != 0)
		{
			if ((ci = step_feature(rp, step, "encode")) >= 0)
				unsupported(rp, rp->frame->cols[ci].name, psprintf("is encoded with method \"%s\"", method));
			return;
		}
		/* the same information: the learner encodes (codes, or one-hot and scaling) */
		if ((ci = step_feature(rp, step, kind)) >= 0)
			note(&rp->r->by_learner, rp->frame->cols[ci].name, psprintf("%s (%s)", kind, method));
	}
	else if (strcmp(kind, "numeric_text") == 0 && MlNumericTextStepColumns(step) == NIL)
	{
		/*
		 * Only how text columns of times were read ("zoned", "unzoned"):
		 * nothing to replay; a fill of such a column is judged by its own
		 * step (its kind), as before the recipe recorded it.
		 */
	}
	else if (strcmp(kind, "duplicates") == 0 || strcmp(kind, "sample") == 0)
		note(&rp->r->not_applied, NULL, psprintf("%s (ml_train learns from the rows as read)", kind));
	else if (strcmp(kind, "cast") == 0 && !MlOptBool(step, "from_text", false))
	{
		/* whole-number floats to an integer type: the same values */
		int			ci = step_feature(rp, step, "cast");

		if (ci >= 0)
			note(&rp->r->by_learner, rp->frame->cols[ci].name, "cast (the same numbers)");
	}
	else
	{
		char	   *column = MlOptString(step, "column", NULL);

		if (column == NULL || step_feature(rp, step, kind) >= 0)
			unsupported(rp, column, psprintf("%s\"%s\"", column ? "has a step " : "", kind));
	}
}

static void
replay_steps(Replay *rp, JsonbContainer *steps)
{
	JsonbIterator *it = JsonbIteratorInit(steps);
	JsonbValue	e;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM && e.type == jbvBinary)
			replay_step(rp, e.val.binary.data);
		CHECK_FOR_INTERRUPTS();
	}
}

/* Every model of the fill steps bound to the frame: what the engine refuses, raised. */
static void
bind_steps(void *arg)
{
	Replay	   *rp = arg;
	ListCell   *lc;

	foreach(lc, rp->steps)
		(void) MlModelFromJson(rp->frame, lfirst(lc));
}

/*
 * The fill steps applied to the training frame in the recipe's order, as
 * ml_apply_recipe applies them (each bound after the ones before it, so a
 * key or an input they filled is read filled), and kept as JSON texts for
 * the encoder to replay on scored rows. The frame's cells take the fills;
 * wasnull still marks them (bounds never apply to a filled cell).
 */
static void
replay_models(MlTrainRecipe *r, Replay *rp)
{
	MlFills    *fills;
	ListCell   *lc;
	char	   *message = NULL;

	if (rp->round)
	{
		unsupported(rp, NULL, "rounds its fills to the decimal places of the relation's values "
					"(option \"round\")");
		return;
	}
	/* a project's recipe the engine refuses falls back; a named one raises as it would */
	if (r->mode == ML_RECIPE_GIVEN)
		bind_steps(rp);
	else if (!MlSubxactTry(bind_steps, rp, &message))
	{
		problem(rp, ERRCODE_DATA_CORRUPTED, message);
		return;
	}
	fills = MlFillsCreate(rp->frame);
	foreach(lc, rp->steps)
	{
		MlModel    *m = MlModelFromJson(rp->frame, lfirst(lc));

		(void) MlImputeApplyModel(rp->frame, fills, m, lfirst(lc));
		r->replay = lappend(r->replay, JsonbToCString(NULL, lfirst(lc), 256));
		CHECK_FOR_INTERRUPTS();
	}
}

/* Replay a recipe into r->prep; false (and *rp's problem) when it cannot be. */
static bool
replay_recipe(MlTrainRecipe *r, Replay *rp, Jsonb *steps)
{
	MlRecipeReading(r->id);
	r->prep = palloc0(sizeof(MlColumnPrep) * Max(rp->frame->ncols, 1));
	if (!JB_ROOT_IS_ARRAY(steps) || JB_ROOT_IS_SCALAR(steps))
		problem(rp, ERRCODE_DATA_CORRUPTED, psprintf("recipe " INT64_FORMAT " is invalid: its steps are not a list", r->id));
	else
		replay_steps(rp, &steps->root);
	if (rp->sqlstate == 0 && rp->model_steps)
		replay_models(r, rp);
	MlRecipeReading(0);
	return rp->sqlstate == 0;
}

/*
 * Which recipe applies and what it asks of each input (after the features
 * are known: a step on any other column, the target included, is noted
 * and not applied, so a fill of the target cannot leak into the features).
 */
void
MlTrainRecipeResolve(MlTrainRecipe *r, MlProject *p, Oid relid, MlFrame *frame, MlTrainData *td)
{
	Replay		rp;
	ListCell   *lc;
	char	   *kind = NULL;
	Jsonb	   *steps = NULL;

	if (r->mode == ML_RECIPE_NONE)
	{
		r->source = "none";
		return;
	}
	memset(&rp, 0, sizeof(rp));
	rp.r = r;
	rp.frame = frame;
	rp.relid = relid;
	rp.feature = palloc0(sizeof(bool) * Max(frame->ncols, 1));
	foreach(lc, td->features)
		rp.feature[lfirst_int(lc)] = true;
	if (r->mode == ML_RECIPE_GIVEN)
	{
		if (!read_recipe(r->id, &kind, &steps, &rp.round))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("recipe " INT64_FORMAT " does not exist", r->id),
					 errhint("Recipes you can use are listed in mlops.recipes.")));
		r->kind = kind;
		r->source = "given";
		if (!replay_recipe(r, &rp, steps))
			ereport(ERROR,
					(errcode(rp.sqlstate),
					 errmsg("%s", rp.problem),
					 rp.sqlstate == ERRCODE_FEATURE_NOT_SUPPORTED ?
					 errhint("Apply it with ml_apply_recipe(recipe, relation, into_table) and train a project "
							 "on that table, or train with {\"recipe\": \"none\"}.") :
					 errhint("Use a recipe fitted on relation %s, or {\"recipe\": \"none\"}.",
							 MlRelName(relid))));
		return;
	}
	r->id = project_recipe(p, relid);
	if (r->id > 0 && read_recipe(r->id, &kind, &steps, &rp.round))
	{
		r->kind = kind;
		r->source = "project";
		if (replay_recipe(r, &rp, steps))
			return;
		/* the project's recipe does not fit: ml_train's own preparation, and why */
		ereport(NOTICE,
				(errmsg("the project's cleaning recipe " INT64_FORMAT " is not applied: %s", r->id, rp.problem),
				 errhint("ml_train prepares the features itself; pass {\"recipe\": \"none\"} to silence this.")));
		r->fallback = psprintf(INT64_FORMAT ": %s", r->id, rp.problem);
		r->applied = r->by_learner = r->not_applied = r->replay = NIL;
	}
	r->prep = NULL;
	r->id = 0;
	r->kind = "train";
	r->source = "fitted";
}

static void
append_list(StringInfo out, const char *key, List *items)
{
	ListCell   *lc;

	appendStringInfo(out, ", \"%s\": [", key);
	foreach(lc, items)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, lfirst(lc));
	}
	appendStringInfoChar(out, ']');
}

/* ml_train's own preparation of one input, as recipe steps (see the docs). */
static void
input_steps(StringInfo s, MlEncoder *enc, int i, MlFrame *frame)
{
	MlInput    *in = &enc->inputs[i];
	MlColumn   *col = &frame->cols[MlFrameColumn(frame, in->name)];
	MlDenseMap *m = enc->dense ? &enc->map[in->first_raw] : NULL;

	if (s->len > 1)
		appendStringInfoString(s, ", ");
	if (in->kind == ML_INPUT_DATETIME)
	{
		appendStringInfoString(s, "{\"step\": \"datetime\", \"column\": ");
		escape_json(s, in->name);
		MlRecipeWriteType(s, col);
		appendStringInfoString(s, ", \"parts\": [");
		for (int p = 0; p < in->nparts; p++)
			appendStringInfo(s, "%s\"%s\"", p ? ", " : "", part_names[in->parts[p]]);
		appendStringInfoString(s, "]}");
	}
	else if (in->kind == ML_INPUT_CATEGORY)
	{
		appendStringInfoString(s, "{\"step\": \"encode\", \"column\": ");
		escape_json(s, in->name);
		MlRecipeWriteType(s, col);
		appendStringInfo(s, ", \"method\": \"%s\", \"levels\": [", m ? "onehot" : "codes");
		for (int k = 0; k < (m ? m->nonehot : in->nlevels); k++)
		{
			if (k > 0)
				appendStringInfoString(s, ", ");
			escape_json(s, in->levels[m ? m->onehot[k] : k]);
		}
		appendStringInfoString(s, "]}");
	}
	else if (m)
	{
		/* a missing number is the training rows' mean, then standardized */
		appendStringInfoString(s, "{\"step\": \"model\", \"column\": ");
		escape_json(s, in->name);
		MlRecipeWriteType(s, col);
		appendStringInfoString(s, ", \"method\": \"mean\", \"discrete\": false, \"fill\": ");
		MlJsonNumber(s, m->center);
		appendStringInfoString(s, "}, {\"step\": \"scale\", \"column\": ");
		escape_json(s, in->name);
		MlRecipeWriteType(s, col);
		appendStringInfoString(s, ", \"method\": \"standardize\", \"center\": ");
		MlJsonNumber(s, m->center);
		appendStringInfoString(s, ", \"scale\": ");
		MlJsonNumber(s, m->scale);
		appendStringInfo(s, ", \"missing_indicator\": %s}", m->indicator ? "true" : "false");
	}
	else
		s->len -= (s->len > 1) ? 2 : 0;	/* trees: a number as it is, NULL routed */
}

/*
 * A project without a cleaning recipe: ml_train's own preparation of the
 * fitted version is stored as a recipe of kind 'train' (reusable with
 * options.recipe, audited, dumped with the catalog).
 */
void
MlTrainRecipeStore(MlTrainRecipe *r, MlScope *scope, MlProject *p, Oid relid, MlFrame *frame,
				   MlTrained *t)
{
	StringInfoData steps,
				opts;

	if (r->mode != ML_RECIPE_DEFAULT || r->id > 0)
		return;
	/* a catalog not yet updated to 0.3.0 has no recipe kind 'train': nothing stored */
	if (!MlCatalogHasRoleOids())
		return;
	initStringInfo(&steps);
	appendStringInfoChar(&steps, '[');
	for (int i = 0; i < t->enc->ninputs; i++)
		input_steps(&steps, t->enc, i, frame);
	appendStringInfoChar(&steps, ']');
	initStringInfo(&opts);
	appendStringInfoString(&opts, "{\"algorithm\": ");
	escape_json(&opts, t->learner->name);
	appendStringInfo(&opts, ", \"dense\": %s, \"inputs\": %d, \"features\": %d",
					 t->enc->dense ? "true" : "false", t->enc->ninputs, t->enc->nfeat);
	if (r->fallback)
	{
		appendStringInfoString(&opts, ", \"not_applied_recipe\": ");
		escape_json(&opts, r->fallback);
	}
	appendStringInfoChar(&opts, '}');
	/* no per-column report: nothing was cleaned (ml_cleaning_report reads kind clean) */
	r->id = MlStoreRecipe(scope, relid, "train", opts.data, steps.data, "[]", p->id);
}

/* The version's training.recipe member: , "recipe": {...} */
void
MlTrainRecipeJson(MlTrainRecipe *r, StringInfo out)
{
	appendStringInfoString(out, ", \"recipe\": {\"id\": ");
	if (r->id > 0)
		appendStringInfo(out, INT64_FORMAT, r->id);
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, ", \"kind\": ");
	if (r->kind)
		escape_json(out, r->kind);
	else
		appendStringInfoString(out, "null");
	appendStringInfo(out, ", \"source\": \"%s\"", r->source ? r->source : "none");
	if (r->source && strcmp(r->source, "given") != 0 && strcmp(r->source, "project") != 0)
	{
		if (r->fallback)
		{
			appendStringInfoString(out, ", \"not_applied_recipe\": ");
			escape_json(out, r->fallback);
		}
		appendStringInfoChar(out, '}');
		return;
	}
	append_list(out, "applied", r->applied);
	append_list(out, "by_learner", r->by_learner);
	append_list(out, "not_applied", r->not_applied);
	appendStringInfoChar(out, '}');
}
