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
	"roles", "methods", "hidden", "epochs", "round", NULL
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

/* options.roles: {"column": "identifier" | "categorical" | ...} */
void
MlApplyRoles(MlFrame *frame, JsonbContainer *roles, const char *target)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	if (target)
	{
		int			c = MlFrameColumn(frame, target);

		if (c >= 0)
			frame->cols[c].role = ML_ROLE_TARGET;
	}
	if (roles == NULL)
		return;
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
				MlColumnConvert(&frame->cols[c], frame->nrows, ML_KIND_DATETIME, MlTextToEpoch);
		}
	}
}
