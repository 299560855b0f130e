/*
 * options.c
 *	  Reading jsonb option objects.
 *
 * Options arrive as jsonb; every function checks the keys it was given
 * against the keys it knows, so a typo is an error with a hint listing the
 * valid ones instead of a silently ignored setting.
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "core/options.h"

void
MlOptCheckKeys(JsonbContainer *obj, const char *what, const char *const *valid)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (obj == NULL)
		return;
	if (!JsonContainerIsObject(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", what)));
	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_KEY)
			continue;
		{
			char	   *key = pnstrdup(v.val.string.val, v.val.string.len);
			StringInfoData list;
			int			i;

			for (i = 0; valid[i]; i++)
				if (strcmp(valid[i], key) == 0)
					break;
			if (valid[i])
				continue;
			initStringInfo(&list);
			for (i = 0; valid[i]; i++)
				appendStringInfo(&list, "%s%s", i ? ", " : "", valid[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown key \"%s\" in %s", key, what),
					 errhint("Valid keys are: %s.", list.data)));
		}
	}
}

JsonbValue *
MlOptGet(JsonbContainer *obj, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(obj, JB_FOBJECT, &k);
	if (v && v->type == jbvNull)
		return NULL;
	return v;
}

/* Text of a scalar (strings unquoted, numbers and booleans as printed). */
char *
MlJsonValueText(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			return NULL;
	}
}

char *
MlOptString(JsonbContainer *obj, const char *key, const char *dflt)
{
	JsonbValue *v = MlOptGet(obj, key);
	char	   *s;

	if (v == NULL)
		return dflt ? pstrdup(dflt) : NULL;
	s = MlJsonValueText(v);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a string, number or boolean", key)));
	return s;
}

/*
 * A double as JSON: a number when finite, else the string "NaN",
 * "Infinity" or "-Infinity" (JSON has no token for them); MlJsonToNumber
 * reads both forms back.
 */
void
MlJsonNumber(StringInfo out, double v)
{
	if (isnan(v))
		appendStringInfoString(out, "\"NaN\"");
	else if (isinf(v))
		appendStringInfoString(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	else
		appendStringInfo(out, "%.17g", v);
}

bool
MlJsonToNumber(JsonbValue *v, double *out)
{
	if (v->type == jbvNumeric)
	{
		/*
		 * A number beyond double precision is infinite, as its text would
		 * be: the caller's range check names the option (numeric_float8's
		 * error would quote every digit).
		 */
		*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
												  NumericGetDatum(v->val.numeric)));
		return true;
	}
	if (v->type == jbvString)
	{
		static const char *const names[] = {"NaN", "Infinity", "-Infinity"};
		const double vals[] = {NAN, INFINITY, -INFINITY};

		for (int i = 0; i < 3; i++)
			if (v->val.string.len == (int) strlen(names[i]) &&
				memcmp(v->val.string.val, names[i], v->val.string.len) == 0)
			{
				*out = vals[i];
				return true;
			}
	}
	return false;
}

/*
 * A number a user passes as an option: a finite JSON number. The strings
 * "NaN" and "Infinity" are only read back from stored recipes
 * (MlRecipeNumber); a number beyond float8's range is an error too.
 */
double
MlOptNumber(JsonbContainer *obj, const char *key, double dflt)
{
	JsonbValue *v = MlOptGet(obj, key);
	double		d;

	if (v == NULL)
		return dflt;
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number", key)));
	d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
										   NumericGetDatum(v->val.numeric)));
	if (!isfinite(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a finite number", key)));
	return d;
}

/* A number stored in a recipe: also "NaN", "Infinity", "-Infinity". */
double
MlRecipeNumber(JsonbContainer *obj, const char *key, double dflt)
{
	JsonbValue *v = MlOptGet(obj, key);
	double		d;

	if (v == NULL)
		return dflt;
	if (!MlJsonToNumber(v, &d))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("recipe field \"%s\" must be a number", key)));
	return d;
}

/* A whole number in lo..hi (checked before any cast, so 2^40 is an error). */
int
MlOptInt(JsonbContainer *obj, const char *key, int dflt, int lo, int hi)
{
	double		d = MlOptNumber(obj, key, dflt);

	if (!(d >= lo && d <= hi) || d != floor(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number between %d and %d", key, lo, hi)));
	return (int) d;
}

/* A finite number in lo..hi; NaN and the infinities are never in range. */
double
MlOptRange(JsonbContainer *obj, const char *key, double dflt, double lo, double hi)
{
	double		d = MlOptNumber(obj, key, dflt);

	if (!(d >= lo && d <= hi))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number between %g and %g", key, lo, hi)));
	return d;
}

bool
MlOptBool(JsonbContainer *obj, const char *key, bool dflt)
{
	JsonbValue *v = MlOptGet(obj, key);

	if (v == NULL)
		return dflt;
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be true or false", key)));
	return v->val.boolean;
}

/* A list of strings: a JSON array of strings, or one string. */
List *
MlOptStringList(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = MlOptGet(obj, key);
	List	   *result = NIL;
	JsonbIterator *it;
	JsonbValue	elem;
	JsonbIteratorToken tok;

	if (v == NULL)
		return NIL;
	if (v->type == jbvString)
		return list_make1(pnstrdup(v->val.string.val, v->val.string.len));
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an array of column names", key)));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (elem.type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" must be an array of strings", key)));
		result = lappend(result, pnstrdup(elem.val.string.val, elem.val.string.len));
	}
	return result;
}

JsonbContainer *
MlOptObject(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = MlOptGet(obj, key);

	if (v == NULL)
		return NULL;
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a JSON object", key)));
	return v->val.binary.data;
}

/* The numbers of a JSON array (NaN for anything else), read as they stream by. */
double *
MlOptNumbers(JsonbContainer *obj, const char *key, int64 *n)
{
	JsonbValue *v = MlOptGet(obj, key);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int64		cap = 64;
	double	   *out = palloc(sizeof(double) * cap);

	*n = 0;
	if (v == NULL || v->type != jbvBinary)
		return out;
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (*n == cap)
			out = repalloc_huge(out, sizeof(double) * (cap *= 2));
		if (!MlJsonToNumber(&e, &out[*n]))
			out[*n] = NAN;
		(*n)++;
	}
	return out;
}
