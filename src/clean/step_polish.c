/*
 * step_polish.c
 *	  The polish step: text holding numbers, booleans or timestamps cast
 *	  with never-failing casts; whole-number floats to integers.
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

/* Whether column ci is a float8 column selected as it is (t.column). */
static bool
whole_float_column(Clean *c, int ci)
{
	MlColumn   *col = &c->frame->cols[ci];

	return getBaseType(col->typid) == FLOAT8OID &&
		strcmp(c->source_expr[ci], psprintf("t.%s", quote_identifier(col->name))) == 0;
}

/*
 * The integer cast of a float8 column: a whole value of at most 2^31 - 1
 * (int4) or below 1e15 (int8) is its own float8 to integer cast; its
 * numeric would be the same integer (at most 15 digits), which
 * try_round_int4/8 return unchanged. Every other value (fractions, NaN,
 * infinities, large ones) takes the numeric path as before: the same
 * results without a printf per row.
 */
static char *
whole_float_cast(const char *e, bool int4)
{
	return psprintf("CASE WHEN %s OPERATOR(pg_catalog.=) pg_catalog.trunc(%s) AND "
					"pg_catalog.abs(%s) OPERATOR(pg_catalog.%s) %s::pg_catalog.float8 "
					"THEN %s::pg_catalog.%s ELSE mlops.try_round_%s((%s)::numeric) END",
					e, e, e, int4 ? "<=" : "<", int4 ? "2147483647" : "1e15",
					e, int4 ? "int4" : "int8", int4 ? "int4" : "int8", e);
}

/*
 * A cast of the polish step (also used to replay a recipe): from text with
 * casts that give NULL instead of failing, or whole-number floats to
 * integers.
 */
void
MlEmitCast(Clean *c, int ci, const char *to, bool from_text)
{
	const char *fmt;

	if (from_text)
		fmt = strcmp(to, "bigint") == 0 ? "mlops.try_cast_bigint(%s::text)" :
			strcmp(to, "numeric") == 0 ? "mlops.try_cast_numeric(%s::text)" :
			strcmp(to, "boolean") == 0 ? "mlops.try_cast_bool(%s::text)" :
			strcmp(to, "timestamptz") == 0 ? "mlops.try_cast_timestamptz(%s::text)" :
			"mlops.try_cast_timestamp(%s::text)";
	else
		fmt = strcmp(to, "integer") == 0 ? "mlops.try_round_int4((%s)::numeric)" :
			"mlops.try_round_int8((%s)::numeric)";
	if (!from_text && whole_float_column(c, ci))
		c->source_expr[ci] = whole_float_cast(c->source_expr[ci], strcmp(to, "integer") == 0);
	else
		c->source_expr[ci] = psprintf(fmt, c->source_expr[ci]);
	c->rep[ci].cast = pstrdup(to);
	MlCleanStepOpen(c, "cast", &c->frame->cols[ci]);
	appendStringInfo(&c->steps, ", \"to\": \"%s\", \"from_text\": %s}", to,
					 from_text ? "true" : "false");
}

/*
 * Text columns declared numeric or datetime (options.roles), or mostly
 * numbers (MlColumnMostlyNumbers), were read as numbers or times; the
 * output casts them so, before any other step uses
 * them, with casts that give NULL for a value that does not parse.
 */
void
MlCastDeclared(Clean *c)
{
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];

		if (TypeCategory(getBaseType(col->typid)) != TYPCATEGORY_STRING || c->rep[ci].cast)
			continue;
		if ((col->role == ML_ROLE_NUMERIC || col->numeric_text) && col->kind == ML_KIND_NUMERIC)
			/* whole numbers beyond bigint stay numeric: the cast would lose them */
			MlEmitCast(c, ci, col->integral && col->min > -9.2e18 && col->max < 9.2e18 ?
					   "bigint" : "numeric", true);
		else if (col->role == ML_ROLE_DATETIME && col->kind == ML_KIND_DATETIME)
			MlEmitCast(c, ci, col->zoned ? "timestamptz" : "timestamp", true);
	}
}

const char *const MlPolishKeys[] = {"integers", "text_types", "columns", "skip", NULL};

/*
 * Text columns whose every value is a number, a boolean or a timestamp are
 * cast (with casts that give NULL rather than fail, for new data); float
 * and numeric columns holding only whole numbers become integers. Runs
 * before encoding, so a cast column is not encoded as a category.
 */
void
MlStepPolishText(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;

	if (!MlOptBool(st, "text_types", true))
		return;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		bool		num = true,
					boo = true,
					ts = true,
					whole = true;

		if ((col->kind != ML_KIND_CATEGORICAL && col->kind != ML_KIND_TEXT) ||
			getBaseType(col->typid) == BOOLOID || col->level_text == NULL ||
			col->nlevels == 0 || !MlCleanStepWants(st, col))
			continue;
		for (int l = 0; l < col->nlevels && (num || boo || ts); l++)
		{
			double		v;

			/* "007": a code with leading zeros, which a cast would lose */
			if (num && (!MlTextIsNumber(col->level_text[l], &v) ||
						MlTextHasLeadingZero(col->level_text[l])))
				num = false;
			else if (num && (v != floor(v) || fabs(v) >= 9.2e18))
				whole = false;	/* fractions, or beyond bigint: numeric */
			if (boo && !MlTextIsBool(col->level_text[l]))
				boo = false;
			/* a zone ("...T10:00:00+05:00") the cast to timestamp would drop */
			if (ts && (!MlTextIsTimestamp(col->level_text[l]) ||
					   MlTextTimestampHasZone(col->level_text[l])))
				ts = false;
		}
		if (num || boo || ts)
			MlEmitCast(c, ci, num ? (whole ? "bigint" : "numeric") : boo ? "boolean" : "timestamp", true);
	}
}

void
MlStepPolishIntegers(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;

	if (!MlOptBool(st, "integers", true))
		return;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		Oid			base = getBaseType(col->typid);
		bool		int4 = col->min >= PG_INT32_MIN && col->max <= PG_INT32_MAX;

		bool		whole = col->integral;

		/* the fills too: a fractional estimate keeps the column a float */
		for (int64 r = 0; r < frame->nrows && whole; r++)
			if (!col->isnull[r] && isfinite(col->x[r]) && col->x[r] != floor(col->x[r]))
				whole = false;
		if (col->kind != ML_KIND_NUMERIC || !whole || col->nnull == frame->nrows ||
			col->ninfinite > 0 || !c->keep_source[ci] || c->rep[ci].cast ||
			/* whole numbers beyond bigint stay floats: a cast would lose them */
			col->min < -9.2e18 || col->max > 9.2e18 ||
			(base != FLOAT4OID && base != FLOAT8OID && base != NUMERICOID) || !MlCleanStepWants(st, col))
			continue;
		MlEmitCast(c, ci, int4 ? "integer" : "bigint", false);
	}
}
