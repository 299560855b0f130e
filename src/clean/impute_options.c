/*
 * impute_options.c
 *	  ml_impute's options and column roles, read and checked once for
 *	  every path that imputes (ml_impute, ml_clean's missing step).
 */
#include "postgres.h"

#include <math.h>

#include <math.h>
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "parser/parse_coerce.h"
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

const char *const MlImputeOptionKeys[] = {
	"k", "value", "by", "time_column", "exclude_features", "target", "holdout", "seed",
	"roles", "methods", "hidden", "epochs", "round", "max_rounds", "trees", "distance", NULL
};

/* What a method needs from the options, checked for the main method and every override. */
static void
check_method(const MlImputeOptions *o, MlMethod m, const char *name)
{
	if (m == ML_METHOD_CONSTANT && o->constant_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"constant\" needs option \"value\"")));
	if ((m == ML_METHOD_LOCF || m == ML_METHOD_INTERPOLATE) && o->time_column == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method \"%s\" needs option \"time_column\"", name)));
}

/*
 * A whole-number option within [lo, hi]; anything else (a fraction, NaN,
 * an out-of-range value) is an error, never a cast of an out-of-range double.
 */
static int
int_option(JsonbContainer *opts, const char *key, int dflt, int lo, int hi)
{
	return MlOptInt(opts, key, dflt, lo, hi);
}

/* Option "distance": how KNN counts an input either row lacks. */
static MlKnnDistance
knn_distance(JsonbContainer *opts)
{
	char	   *d = MlOptString(opts, "distance", NULL);

	if (d == NULL)
		return ML_KNN_ANY;
	if (strcmp(d, "euclidean") == 0)
		return ML_KNN_EUCLIDEAN;
	if (strcmp(d, "nan_euclidean") == 0)
		return ML_KNN_NAN_EUCLIDEAN;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("option \"distance\" must be \"euclidean\" or \"nan_euclidean\", not \"%s\"", d)));
	return ML_KNN_ANY;			/* keep the compiler quiet */
}

/* Read ml_impute's options (also used by ml_clean's "missing" step). */
void
MlImputeReadOptions(JsonbContainer *opts, const char *method, MlImputeOptions *o,
					const char *const *valid)
{
	MlOptCheckKeys(opts, "imputation options", valid);
	memset(o, 0, sizeof(*o));
	o->method = MlMethodFromName(method);
	o->k = int_option(opts, "k", 5, 1, 1000);
	o->constant_text = MlOptString(opts, "value", NULL);
	o->by = MlOptStringList(opts, "by");
	o->time_column = MlOptString(opts, "time_column", NULL);
	o->exclude_features = MlOptStringList(opts, "exclude_features");
	o->target = MlOptString(opts, "target", NULL);
	o->holdout = MlOptNumber(opts, "holdout", 0.2);
	if (!(o->holdout > 0 && o->holdout < 1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"holdout\" must be between 0 and 1")));
	o->seed = int_option(opts, "seed", 42, PG_INT32_MIN, PG_INT32_MAX);
	o->hidden = int_option(opts, "hidden", 32, 1, 1024);
	o->epochs = int_option(opts, "epochs", 20, 1, 1000);
	o->forest_rounds = int_option(opts, "max_rounds", 10, 1, 100);
	o->forest_trees = int_option(opts, "trees", 30, 1, 1000);
	o->knn_distance = knn_distance(opts);
	check_method(o, o->method, method);
	/* per-column overrides pass the same checks as the main method */
	{
		JsonbContainer *methods = MlOptObject(opts, "methods");

		if (methods != NULL)
		{
			JsonbIterator *it = JsonbIteratorInit(methods);
			JsonbValue	v;
			JsonbIteratorToken tok;

			while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
			{
				char	   *name;

				if (tok != WJB_VALUE)
					continue;
				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"methods\" must map column names to method names")));
				name = pnstrdup(v.val.string.val, v.val.string.len);
				check_method(o, MlMethodFromName(name), name);
			}
		}
	}
}

static const struct
{
	const char *name;
	MlRole		role;
}			role_names[] =
{
	{"identifier", ML_ROLE_IDENTIFIER}, {"categorical", ML_ROLE_CATEGORICAL},
	{"numeric", ML_ROLE_NUMERIC}, {"datetime", ML_ROLE_DATETIME}, {"text", ML_ROLE_TEXT},
	{"target", ML_ROLE_TARGET}, {"skip", ML_ROLE_SKIP}
};

static bool
parse_number(const char *s, double *v)
{
	return MlTextIsNumber(s, v);
}

static void apply_declared_roles(MlFrame *frame, JsonbContainer *roles, List *zoned, List *unzoned);

/* options.target names a column of the relation: a misspelt one is an error. */
void
MlCheckTargetOption(Oid relid, const char *target)
{
	AttrNumber	a;

	if (target == NULL)
		return;
	a = get_attnum(relid, target);
	if (a == InvalidAttrNumber || a < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" in option \"target\" does not exist in relation \"%s\"",
						target, get_rel_name(relid))));
}

static bool
name_listed(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* Names of the columns read as numbers by inference, for recipes and chunks. */
List *
MlNumericTextColumns(MlFrame *frame)
{
	List	   *names = NIL;

	for (int c = 0; c < frame->ncols; c++)
		if (frame->cols[c].numeric_text)
			names = lappend(names, frame->cols[c].name);
	return names;
}

/*
 * Names of the text columns read as numbers, by inference or by a declared
 * role: the chunks of a sampled table fill their unparsed cells too (the
 * rows they are in are read), as the whole table in memory does.
 */
List *
MlTextNumberColumns(MlFrame *frame)
{
	List	   *names = NIL;

	for (int c = 0; c < frame->ncols; c++)
		if (frame->cols[c].converted && frame->cols[c].kind == ML_KIND_NUMERIC)
			names = lappend(names, frame->cols[c].name);
	return names;
}

/*
 * The text columns read as times (a role) with their zones (zoned) or as
 * wall times: chunks of a sampled table are read the way the sample was.
 */
List *
MlZonedColumns(MlFrame *frame, bool zoned)
{
	List	   *names = NIL;

	for (int c = 0; c < frame->ncols; c++)
		if (frame->cols[c].converted && frame->cols[c].kind == ML_KIND_DATETIME &&
			frame->cols[c].zoned == zoned)
			names = lappend(names, frame->cols[c].name);
	return names;
}

/*
 * The column names that pick() takes from each step object of a recipe's
 * steps (an array; anything else has none), in order.
 */
static List *
names_from_steps(JsonbContainer *steps, List *(*pick) (JsonbContainer *step, bool arg), bool arg)
{
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	List	   *names = NIL;

	if (steps == NULL || !JsonContainerIsArray(steps))
		return NIL;
	it = JsonbIteratorInit(steps);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		if (tok == WJB_ELEM && e.type == jbvBinary && JsonContainerIsObject(e.val.binary.data))
			names = list_concat(names, pick(e.val.binary.data, arg));
	return names;
}

/*
 * A numeric_text step's list of column names: stored data, so anything
 * but an array of strings is a damaged recipe (XX001 naming the key), not
 * a bad option. A step lists columns of one relation: more names than a
 * relation can have columns is damage too (each name is looked up once
 * per text column of the frame, without a check for interrupts).
 */
static List *
step_names(JsonbContainer *step, const char *key)
{
	JsonbValue *v = MlOptGet(step, key);
	bool		ok = v == NULL || (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data));
	int			n = 0;

	if (ok && v != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
			if (tok == WJB_ELEM && (e.type != jbvString || ++n > MaxHeapAttributeNumber))
				ok = false;
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the recipe is invalid: \"%s\" of its numeric_text step must be an array of column names",
						key),
				 n > MaxHeapAttributeNumber ?
				 errdetail("It lists more than %d names.", MaxHeapAttributeNumber) : 0));
	return MlOptStringList(step, key);
}

/*
 * A numeric_text step's "zoned" or "unzoned" list, checked against the
 * other: a column read both with its zones and as wall times is a damaged
 * recipe, never one reading silently preferred.
 */
static List *
step_reading(JsonbContainer *step, bool zoned)
{
	List	   *names = step_names(step, zoned ? "zoned" : "unzoned");
	List	   *other = step_names(step, zoned ? "unzoned" : "zoned");
	ListCell   *lc;

	foreach(lc, names)
		if (name_listed(other, lfirst(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the recipe is invalid: column \"%s\" is in both \"zoned\" and \"unzoned\" of its numeric_text step",
							(char *) lfirst(lc))));
	return names;
}

/*
 * A numeric_text step's columns read as numbers, its "zoned" and
 * "unzoned" lists checked as ml_apply_recipe checks them: ml_train's
 * replay reads only the former but refuses a damaged step as well.
 */
List *
MlNumericTextStepColumns(JsonbContainer *step)
{
	(void) step_reading(step, true);
	return step_names(step, "columns");
}

/*
 * A cast step from text to timestamptz (zoned) or timestamp: its column;
 * a numeric_text step: the text columns of times it says the run read
 * with their zones (zoned) or as wall times (MlNumericTextStep).
 */
static List *
cast_column(JsonbContainer *step, bool zoned)
{
	char	   *column = MlOptString(step, "column", NULL);
	char	   *kind = MlOptString(step, "step", "model");

	if (strcmp(kind, "cast") == 0 &&
		MlOptBool(step, "from_text", false) &&
		strcmp(MlOptString(step, "to", ""), zoned ? "timestamptz" : "timestamp") == 0 && column != NULL)
		return list_make1(column);
	if (strcmp(kind, "numeric_text") == 0)
		return step_reading(step, zoned);
	return NIL;
}

/*
 * The columns a recipe reads from text as timestamptz (zoned) or as
 * timestamp: those its polish step casts so, and those its numeric_text
 * step names (a recipe of ml_impute has no cast). The new rows are read
 * as the run read them, whether or not they name zones. A text column of
 * times in neither list (a recipe written before 0.4.0 recorded them) is
 * decided by the new rows' texts, as it always was.
 */
List *
MlZonedFromSteps(JsonbContainer *steps, bool zoned)
{
	return names_from_steps(steps, cast_column, zoned);
}

/* A text column read as numbers without a declared role (numeric_text). */
static void
read_numeric_text(MlFrame *frame, int c)
{
	MlColumn   *col = &frame->cols[c];

	col->identifier = false;
	MlColumnConvert(col, frame->nrows, ML_KIND_NUMERIC, parse_number);
	col->numeric_text = true;
}

/*
 * options.roles: {"column": "identifier" | "categorical" | ...}; then text
 * columns without a declared role that are mostly numbers are read as
 * numbers: inferred (infer), or, replaying a recipe or filling the chunks
 * of a sampled table, exactly the columns named in numeric_text (so new
 * rows are read the way the fitted run read them). Likewise zoned and
 * unzoned name the text columns of times to read with their zones or as
 * wall times; a column in neither is decided by its texts.
 */
void
MlApplyRoles(MlFrame *frame, JsonbContainer *roles, const char *target, bool infer,
			 List *numeric_text, List *zoned, List *unzoned)
{
	if (target)
	{
		int			c = MlFrameColumn(frame, target);

		if (c >= 0)
			frame->cols[c].role = ML_ROLE_TARGET;
	}
	if (roles != NULL)
		apply_declared_roles(frame, roles, zoned, unzoned);
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (col->role != ML_ROLE_AUTO ||
			TypeCategory(getBaseType(col->typid)) != TYPCATEGORY_STRING)
			continue;
		if (infer ? MlColumnMostlyNumbers(col, frame->nrows) :
			(name_listed(numeric_text, col->name) && col->level_text != NULL &&
			 (col->kind == ML_KIND_CATEGORICAL || col->kind == ML_KIND_TEXT)))
			read_numeric_text(frame, c);
	}
}

static void
apply_declared_roles(MlFrame *frame, JsonbContainer *roles, List *zoned, List *unzoned)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	it = JsonbIteratorInit(roles);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		int			c;
		char	   *role;
		int			i;

		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;
		c = MlFrameColumn(frame, key);
		if (c < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" in option \"roles\" does not exist", key)));
		role = MlJsonValueText(&v);
		for (i = 0; i < (int) lengthof(role_names); i++)
			if (role && strcmp(role, role_names[i].name) == 0)
				break;
		if (i == (int) lengthof(role_names))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown column role \"%s\"", role ? role : "?"),
					 errhint("Valid roles are: identifier, categorical, numeric, datetime, text, target, skip.")));
		if (role_names[i].role == ML_ROLE_TEXT && frame->cols[c].level_text == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot have role \"text\"", key,
							format_type_be(frame->cols[c].typid)),
					 errhint("Role \"text\" is for free-text columns; use \"skip\" to leave a column out.")));
		/* numbers and times are read from text only; other types keep their kind */
		if ((role_names[i].role == ML_ROLE_NUMERIC && frame->cols[c].kind != ML_KIND_NUMERIC) ||
			(role_names[i].role == ML_ROLE_DATETIME && frame->cols[c].kind != ML_KIND_DATETIME))
		{
			if (TypeCategory(getBaseType(frame->cols[c].typid)) != TYPCATEGORY_STRING)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of type %s cannot have role \"%s\"", key,
								format_type_be(frame->cols[c].typid), role),
						 errhint("Roles \"numeric\" and \"datetime\" apply to columns of that kind or to text holding such values.")));
		}
		frame->cols[c].role = role_names[i].role;
		/* a declared role replaces what inference said the column was */
		frame->cols[c].identifier = role_names[i].role == ML_ROLE_IDENTIFIER;
		if (role_names[i].role == ML_ROLE_TEXT)
			frame->cols[c].kind = ML_KIND_TEXT;
		/* text declared numeric or datetime: its values become numbers or times */
		if ((frame->cols[c].kind == ML_KIND_CATEGORICAL || frame->cols[c].kind == ML_KIND_TEXT) &&
			frame->cols[c].level_text != NULL)
		{
			if (role_names[i].role == ML_ROLE_NUMERIC)
				MlColumnConvert(&frame->cols[c], frame->nrows, ML_KIND_NUMERIC, parse_number);
			else if (role_names[i].role == ML_ROLE_DATETIME)
			{
				/*
				 * zones named: instants, as timestamp with time zone reads
				 * them. Replaying a recipe, or filling a sampled table's
				 * chunks, the run's reading holds whatever these rows name:
				 * decided by them, a fill (an instant) was written without
				 * its offset into rows without zones and read in the
				 * session's zone by the recipe's cast to timestamptz, or
				 * with one into rows with zones and cut to another wall
				 * time by its cast to timestamp.
				 */
				bool		tz = name_listed(zoned, key) ? true :
					name_listed(unzoned, key) ? false :
					MlTextsNameZones(frame->cols[c].level_text, frame->cols[c].nlevels);

				MlColumnConvert(&frame->cols[c], frame->nrows, ML_KIND_DATETIME,
								tz ? MlTextToEpochTz : MlTextToEpoch);
				frame->cols[c].zoned = tz;
			}
		}
	}
}

/* "read as numbers, 3 unparsed (e.g. "n/a", "abc")", for ml_clean's actions. */
void
MlUnparsedText(StringInfo out, MlColumn *col)
{
	appendStringInfoString(out, "read as numbers");
	if (col->nunparsed == 0)
		return;
	appendStringInfo(out, ", " INT64_FORMAT " unparsed (e.g. ", col->nunparsed);
	for (int i = 0; i < (int) lengthof(col->unparsed_examples) && col->unparsed_examples[i]; i++)
	{
		if (i)
			appendStringInfoString(out, ", ");
		escape_json(out, col->unparsed_examples[i]);
	}
	appendStringInfoChar(out, ')');
}

/* The unparsed cells of a column read from text, as report JSON fields. */
void
MlUnparsedJson(StringInfo out, MlColumn *col)
{
	if (!col->converted)
		return;
	appendStringInfo(out, ", \"read_as\": \"%s\", \"unparsed\": " INT64_FORMAT
					 ", \"unparsed_examples\": [",
					 col->kind == ML_KIND_DATETIME ? "datetime" : "numeric", col->nunparsed);
	for (int i = 0; i < (int) lengthof(col->unparsed_examples) && col->unparsed_examples[i]; i++)
	{
		if (i)
			appendStringInfoString(out, ", ");
		escape_json(out, col->unparsed_examples[i]);
	}
	appendStringInfoChar(out, ']');
}

static void
append_names(StringInfo out, const char *key, List *names)
{
	ListCell   *lc;

	appendStringInfo(out, "\"%s\": [", key);
	foreach(lc, names)
	{
		if (foreach_current_index(lc))
			appendStringInfoString(out, ", ");
		escape_json(out, lfirst(lc));
	}
	appendStringInfoChar(out, ']');
}

/*
 * The recipe step that says how the run read text columns: those read as
 * numbers by inference ("columns": a recipe replays exactly those,
 * MlNumericTextFromSteps), and those read as times with their zones
 * ("zoned") or as wall times ("unzoned"). Without the latter a recipe
 * without a cast step (ml_impute's) decided it from the new rows: a mean
 * instant fitted on "10:00+00" texts was written as the wall time
 * "11:00:00" into rows without zones, and a wall time fitted on such rows
 * as the instant "11:00:00+00" into rows with zones (MlZonedFromSteps).
 */
void
MlNumericTextStep(StringInfo steps, MlFrame *frame)
{
	List	   *names = MlNumericTextColumns(frame);
	List	   *zoned = MlZonedColumns(frame, true);
	List	   *unzoned = MlZonedColumns(frame, false);

	if (names == NIL && zoned == NIL && unzoned == NIL)
		return;
	if (steps->len > 1)
		appendStringInfoString(steps, ", ");
	appendStringInfoString(steps, "{\"step\": \"numeric_text\", ");
	append_names(steps, "columns", names);
	if (zoned != NIL || unzoned != NIL)
	{
		appendStringInfoString(steps, ", ");
		append_names(steps, "zoned", zoned);
		appendStringInfoString(steps, ", ");
		append_names(steps, "unzoned", unzoned);
	}
	appendStringInfoChar(steps, '}');
}

/* A numeric_text step: the columns it read as numbers. */
static List *
numeric_text_columns(JsonbContainer *step, bool arg)
{
	(void) arg;
	if (strcmp(MlOptString(step, "step", "model"), "numeric_text") == 0)
		return step_names(step, "columns");
	return NIL;
}

List *
MlNumericTextFromSteps(JsonbContainer *steps)
{
	return names_from_steps(steps, numeric_text_columns, false);
}
