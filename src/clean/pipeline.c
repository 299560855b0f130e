/*
 * pipeline.c
 *	  The cleaning pipeline's shared machinery: output columns and
 *	  parameters, recipe step JSON, the report, and writing the result
 *	  (a new table, or the source table changed in place).
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
#include "utils/syscache.h"
#include "access/htup_details.h"
#include "utils/numeric.h"
#include "parser/parse_coerce.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/options.h"
#include "core/progress.h"
#include "clean/pipeline.h"

int
MlCleanParam(Clean *c, Oid type, Datum value)
{
	if (c->nparams == c->pcap)
	{
		c->pcap = c->pcap ? c->pcap * 2 : 16;
		c->ptypes = c->ptypes ? repalloc(c->ptypes, sizeof(Oid) * c->pcap) : palloc(sizeof(Oid) * c->pcap);
		c->pvalues = c->pvalues ? repalloc(c->pvalues, sizeof(Datum) * c->pcap) : palloc(sizeof(Datum) * c->pcap);
	}
	c->ptypes[c->nparams] = type;
	c->pvalues[c->nparams] = value;
	return ++c->nparams;
}

int
MlCleanParamFloat(Clean *c, double v)
{
	return MlCleanParam(c, FLOAT8OID, Float8GetDatum(v));
}

int
MlCleanParamTextArray(Clean *c, char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return MlCleanParam(c, TEXTARRAYOID,
					 PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT)));
}

int
MlCleanParamFloatArray(Clean *c, double *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(items[i]);
	return MlCleanParam(c, FLOAT8ARRAYOID,
					 PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
}

/*
 * A new output column name: base + suffix, clipped to NAMEDATALEN - 1 bytes
 * on a character boundary, made unique with a number if needed.
 */
char *
MlCleanNewName(Clean *c, const char *base, const char *suffix)
{
	char	   *name = psprintf("%s_%s", base, suffix);
	int			n = 1;

	for (;;)
	{
		ListCell   *lc;
		bool		taken = false;
		int			len = pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1);

		name[len] = '\0';
		foreach(lc, c->taken_names)
			if (strcmp(lfirst(lc), name) == 0)
				taken = true;
		for (int i = 0; i < c->frame->ncols && !taken; i++)
			if (strcmp(c->frame->cols[i].name, name) == 0)
				taken = true;
		if (!taken)
			break;
		{
			/* clipped on a character boundary, room left for the number */
			char	   *full = psprintf("%s_%s", base, suffix);

			full[pg_mbcliplen(full, strlen(full), NAMEDATALEN - 8)] = '\0';
			name = psprintf("%s_%d", full, ++n);
		}
	}
	c->taken_names = lappend(c->taken_names, name);
	return name;
}

void
MlCleanAddOutput(Clean *c, int src, const char *name, char *expr)
{
	c->out_names = lappend(c->out_names, (void *) name);
	c->out_exprs = lappend(c->out_exprs, expr);
	if (src >= 0)
	{
		ColReport  *r = &c->rep[src];

		if (r->new_columns.data == NULL)
			initStringInfo(&r->new_columns);
		if (r->new_columns.len)
			appendStringInfoString(&r->new_columns, ", ");
		appendStringInfoString(&r->new_columns, name);
	}
}

void
MlCleanStepOpen(Clean *c, const char *step, MlColumn *col)
{
	if (c->steps.len > 1)
		appendStringInfoString(&c->steps, ", ");
	appendStringInfo(&c->steps, "{\"step\": \"%s\"", step);
	if (col)
	{
		appendStringInfoString(&c->steps, ", \"column\": ");
		escape_json(&c->steps, col->name);
		MlRecipeWriteType(&c->steps, col);
	}
}

void
MlJsonTextList(StringInfo s, char **items, int n)
{
	appendStringInfoChar(s, '[');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(s, ", ");
		escape_json(s, items[i]);
	}
	appendStringInfoChar(s, ']');
}

bool
MlNameInList(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* A step applies to a column unless excluded by its columns/skip options. */
bool
MlCleanStepWants(JsonbContainer *step, MlColumn *col)
{
	List	   *only = MlOptStringList(step, "columns");
	List	   *skip = MlOptStringList(step, "skip");

	if (col->role == ML_ROLE_SKIP || col->role == ML_ROLE_TARGET || col->identifier)
		return only != NIL && MlNameInList(only, col->name) && col->role != ML_ROLE_TARGET;
	if (only != NIL && !MlNameInList(only, col->name))
		return false;
	return !MlNameInList(skip, col->name);
}

/*
 * A step's options: false switches it off (NULL returned with *on false),
 * true or absent keeps the defaults, an object configures it.
 */
JsonbContainer *
MlCleanStepOptions(JsonbContainer *opts, const char *key, bool dflt, bool *on,
			 const char *const *valid)
{
	JsonbValue *v = MlOptGet(opts, key);

	*on = dflt;
	if (v == NULL)
		return NULL;
	if (v->type == jbvBool)
	{
		*on = v->val.boolean;
		return NULL;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be true, false or a JSON object", key)));
	*on = true;
	MlOptCheckKeys(v->val.binary.data, psprintf("option \"%s\"", key), valid);
	return v->val.binary.data;
}

/* A report figure: six digits when finite, else "NaN"/"Infinity"/"-Infinity". */
static void
report_number(StringInfo out, const char *key, double v)
{
	appendStringInfo(out, ", \"%s\": ", key);
	if (isfinite(v))
		appendStringInfo(out, "%.6g", v);
	else
		MlJsonNumber(out, v);
}

void
MlCleanReportJson(Clean *c, StringInfo out)
{
	MlFrame    *frame = c->frame;

	appendStringInfoChar(out, '[');
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		ColReport  *r = &c->rep[ci];
		static const char *const kinds[] = {"numeric", "categorical", "datetime", "text"};

		appendStringInfo(out, "%s{\"column\": ", ci ? ", " : "");
		escape_json(out, col->name);
		appendStringInfo(out, ", \"kind\": \"%s\", \"role\": \"%s\", \"nulls_before\": " INT64_FORMAT
						 ", \"filled\": " INT64_FORMAT,
						 col->identifier ? "identifier" :
						 col->role == ML_ROLE_CATEGORICAL ? "categorical" : kinds[col->kind],
						 col->role == ML_ROLE_TARGET ? "target" : col->role == ML_ROLE_SKIP ? "skip" : "auto",
						 r->nulls_before, r->filled);
		if (r->fill_method)
		{
			appendStringInfoString(out, ", \"fill_method\": ");
			escape_json(out, r->fill_method);
			if (isfinite(r->fill_error))
				appendStringInfo(out, ", \"fill_error\": %.6g", r->fill_error);
		}
		if (r->outlier_action)
			appendStringInfo(out, ", \"outliers\": " INT64_FORMAT ", \"outlier_action\": \"%s\"",
							 r->outliers, r->outlier_action);
		if (r->encoding)
			appendStringInfo(out, ", \"encoding\": \"%s\"", r->encoding);
		if (r->cast)
			appendStringInfo(out, ", \"cast\": \"%s\"", r->cast);
		MlUnparsedJson(out, col);
		if (col->kind == ML_KIND_NUMERIC && isfinite(r->min_before))
		{
			report_number(out, "mean_before", r->mean_before);
			report_number(out, "min_before", r->min_before);
			report_number(out, "max_before", r->max_before);
		}
		if (r->nulls_after >= 0)
			appendStringInfo(out, ", \"nulls_after\": " INT64_FORMAT, r->nulls_after);
		if (isfinite(r->min_after))
		{
			report_number(out, "mean_after", r->mean_after);
			report_number(out, "min_after", r->min_after);
			report_number(out, "max_after", r->max_after);
		}
		appendStringInfo(out, ", \"dropped\": %s, \"new_columns\": ", r->dropped ? "true" : "false");
		escape_json(out, r->new_columns.data ? r->new_columns.data : "");
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

static char *
actions_text(Clean *c, int ci)
{
	ColReport  *r = &c->rep[ci];
	StringInfoData s;

	initStringInfo(&s);
	if (c->frame->cols[ci].numeric_text)
	{
		MlUnparsedText(&s, &c->frame->cols[ci]);
		appendStringInfoString(&s, "; ");
	}
	if (r->filled > 0)
		appendStringInfo(&s, "filled " INT64_FORMAT " by %s; ", r->filled, r->fill_method);
	else if (c->frame->cols[ci].generated && r->nulls_before > 0)
		appendStringInfoString(&s, "not imputed: generated; ");
	if (r->outliers > 0)
		appendStringInfo(&s, INT64_FORMAT " outliers: %s; ", r->outliers, r->outlier_action);
	else if (r->outliers < 0)
		appendStringInfo(&s, "outlier bounds: %s; ", r->outlier_action);
	if (r->cast)
		appendStringInfo(&s, "cast to %s; ", r->cast);
	if (r->encoding)
		appendStringInfo(&s, "encoded %s; ", r->encoding);
	if (r->dropped)
		appendStringInfoString(&s, "replaced; ");
	if (s.len >= 2)
		s.data[s.len -= 2] = '\0';
	return s.len ? s.data : pstrdup("kept");
}

/* Whether a column is generated (stored) or an identity: never written. */
static bool
column_untouchable(Oid relid, const char *name)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, name);
	bool		r = false;

	if (HeapTupleIsValid(tup))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		r = att->attgenerated != '\0' || att->attidentity != '\0';
		ReleaseSysCache(tup);
	}
	return r;
}

/*
 * Whether a generated column (its pg_attrdef expression), a view or a rule
 * depends on a column (defaults cannot name columns): it can
 * be neither dropped nor retyped then, and keeps its type.
 */
static bool
column_pinned(Oid relid, const char *name)
{
	Oid			types[2] = {OIDOID, INT4OID};
	Datum		values[2] = {ObjectIdGetDatum(relid), Int32GetDatum(get_attnum(relid, name))};

	MlSpiExec("SELECT 1 FROM pg_catalog.pg_depend WHERE refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
			  "AND refobjid OPERATOR(pg_catalog.=) $1 AND refobjsubid OPERATOR(pg_catalog.=) $2 AND "
			  "classid OPERATOR(pg_catalog.=) ANY (ARRAY['pg_catalog.pg_attrdef'::pg_catalog.regclass, "
			  "'pg_catalog.pg_rewrite'::pg_catalog.regclass]::pg_catalog.oid[]) LIMIT 1",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return false;
	ereport(NOTICE,
			(errmsg("column \"%s\" keeps its type and place: a generated column, view or rule depends on it", name)));
	return true;
}

/*
 * In place, without deleting and re-inserting rows (foreign keys, row
 * triggers, identity and generated columns all see an ordinary change):
 * the rows the pipeline removed are deleted (refused when another table's
 * foreign key references this one), new columns are added, one UPDATE
 * joined on the source ctid writes the cleaned values of the rows that
 * change, then dropped columns are dropped and retyped columns retyped
 * (their cleaned values were written as text of the old type, read back
 * exactly by the new one). Generated and identity columns are left as
 * they are. All in the caller's transaction.
 */

/* A float (or numeric) column that the cleaning narrowed to an integer type. */
static bool
is_float_to_integer(Oid from, Oid to)
{
	from = getBaseType(from);
	to = getBaseType(to);
	return (from == FLOAT4OID || from == FLOAT8OID || from == NUMERICOID) &&
		(to == INT2OID || to == INT4OID || to == INT8OID);
}

static void
replace_contents(Oid relid, Oid tmpid, Clean *c)
{
	char	   *rel = MlRelName(relid);
	char	   *tmp = MlRelName(tmpid);
	StringInfoData alter,
				add,
				set,
				olds,
				news;
	ListCell   *lc;
	bool		any = false;
	bool		isnull;
	int64		removed;

	/* the rows the pipeline removed (duplicates, deleted outliers, gaps) */
	MlSpiExec(psprintf("SELECT (SELECT pg_catalog.count(*) FROM %s) OPERATOR(pg_catalog.-) "
					   "(SELECT pg_catalog.count(*) FROM %s)", rel, tmp),
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (removed > 0)
	{
		Oid			types[1] = {OIDOID};
		Datum		values[1] = {ObjectIdGetDatum(relid)};

		MlSpiExec("SELECT conname::text, conrelid::regclass::text FROM pg_catalog.pg_constraint "
				  "WHERE confrelid OPERATOR(pg_catalog.=) $1 AND contype OPERATOR(pg_catalog.=) 'f' LIMIT 1",
				  1, types, values, NULL, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot clean \"%s\" in place: " INT64_FORMAT " rows would be deleted and the table is referenced by foreign key \"%s\" of \"%s\"",
							get_rel_name(relid), removed, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
					 errhint("Pass into_table => 'name' to write the result into a new table, or switch off the steps that remove rows.")));
		MlSpiExec(psprintf("DELETE FROM %s WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						   "SELECT ctid FROM %s EXCEPT ALL SELECT __ml_src_ctid FROM %s))",
						   rel, rel, tmp),
				  0, NULL, NULL, NULL, SPI_OK_DELETE);
	}

	/* new columns first (no rewrite: the ctids stay) */
	initStringInfo(&add);
	initStringInfo(&set);
	initStringInfo(&olds);
	initStringInfo(&news);
	foreach(lc, c->out_names)
	{
		const char *name = lfirst(lc);
		const char *q = quote_identifier(name);
		int			ci = MlFrameColumn(c->frame, name);
		Oid			t;
		int32		m;
		Oid			coll;
		char	   *val;

		if (strcmp(name, "__ml_src_ctid") == 0)
			continue;
		get_atttypetypmodcoll(tmpid, get_attnum(tmpid, name), &t, &m, &coll);
		if (ci < 0)
		{
			appendStringInfo(&add, "%sADD COLUMN %s %s", add.len ? ", " : "", q,
							 format_type_with_typemod(t, m));
			val = psprintf("t.%s", q);
		}
		else
		{
			MlColumn   *col = &c->frame->cols[ci];

			if (column_untouchable(relid, name))
				continue;
			if (t != col->typid || m != col->typmod)
				val = psprintf("t.%s::text::%s", q, format_type_with_typemod(col->typid, col->typmod));
			else
				val = psprintf("t.%s", q);
		}
		appendStringInfo(&set, "%s%s = %s", set.len ? ", " : "", q, val);
		appendStringInfo(&olds, "%sr.%s::text", olds.len ? ", " : "", q);
		appendStringInfo(&news, "%s%s::text", news.len ? ", " : "", val);
	}
	if (add.len)
		MlSpiExec(psprintf("ALTER TABLE %s %s", rel, add.data), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	if (set.len)
		MlSpiExec(psprintf("UPDATE %s AS r SET %s FROM %s AS t WHERE r.ctid OPERATOR(pg_catalog.=) t.__ml_src_ctid "
						   "AND ROW(%s, NULL) IS DISTINCT FROM ROW(%s, NULL)",
						   rel, set.data, tmp, olds.data, news.data),
				  0, NULL, NULL, NULL, SPI_OK_UPDATE);

	/* then the shape: dropped and retyped source columns */
	initStringInfo(&alter);
	appendStringInfo(&alter, "ALTER TABLE %s ", rel);
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];
		const char *q = quote_identifier(col->name);
		Oid			t;
		int32		m;
		Oid			coll;

		if (column_untouchable(relid, col->name))
		{
			c->rep[ci].cast = NULL; /* the report says only what was done */
			continue;
		}
		t = col->typid, m = col->typmod;
		if (c->keep_source[ci])
			get_atttypetypmodcoll(tmpid, get_attnum(tmpid, col->name), &t, &m, &coll);
		if ((!c->keep_source[ci] || t != col->typid || m != col->typmod) &&
			column_pinned(relid, col->name))
		{
			c->rep[ci].cast = NULL;
			continue;
		}
		if (!c->keep_source[ci])
		{
			appendStringInfo(&alter, "%sDROP COLUMN %s", any ? ", " : "", q);
			any = true;
			continue;
		}
		if (t != col->typid || m != col->typmod)
		{
			/*
			 * Through text, any type reaches any other; but a float's text
			 * of a large whole number ('1e+16') is no integer's input, and
			 * the direct cast of a whole float is exact.
			 */
			bool		direct = is_float_to_integer(col->typid, t);

			appendStringInfo(&alter, "%sALTER COLUMN %s TYPE %s USING %s%s::%s", any ? ", " : "",
							 q, format_type_with_typemod(t, m), q, direct ? "" : "::text",
							 format_type_with_typemod(t, m));
			any = true;
		}
	}
	if (any)
		MlSpiExec(alter.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	MlSpiExec(psprintf("DROP TABLE %s", tmp), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

static char *
build_select(Clean *c, const char *from)
{
	StringInfoData sql;
	ListCell   *ln,
			   *le;
	bool		first = true;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	forboth(ln, c->out_names, le, c->out_exprs)
	{
		appendStringInfo(&sql, "%s%s AS %s", first ? "" : ", ", (char *) lfirst(le),
						 quote_identifier(lfirst(ln)));
		first = false;
	}
	appendStringInfo(&sql, " FROM %s AS t", from);
	first = true;
	foreach(ln, c->filters)
	{
		appendStringInfo(&sql, " %s %s", first ? "WHERE" : "AND", (char *) lfirst(ln));
		first = false;
	}
	return sql.data;
}

/*
 * Read the relation (a temporary copy when its rows have no ctid) and set
 * up an empty pipeline over it. Returns the relation actually read.
 */
Oid
MlCleanBegin(Clean *c, Oid relid, JsonbContainer *roles, const char *target, List *colnames,
			int64 sample, bool infer, List *numeric_text, List *zoned, List *unzoned)
{
	char		relkind = get_rel_relkind(relid);
	MlFrame    *frame;
	char	   *scratch = NULL;

	if (sample == 0 && relkind != RELKIND_RELATION && relkind != RELKIND_MATVIEW)
	{
		/* rows of views and foreign tables have no ctid: read a copy */
		scratch = psprintf("pg_temp.%s", quote_identifier(psprintf("ml_clean_src_%u", relid)));
		relid = MlCopyRelation(relid, scratch, true);
	}
	frame = MlFrameLoadSample(relid, colnames, true, sample);
	MlApplyRoles(frame, roles, target, infer, numeric_text, zoned, unzoned);

	memset(c, 0, sizeof(*c));
	c->frame = frame;
	c->scratch = scratch;
	c->fills = MlFillsCreate(frame);
	c->rep = palloc0(sizeof(ColReport) * Max(frame->ncols, 1));
	c->target = -1;
	for (int ci = 0; ci < frame->ncols; ci++)
		if (frame->cols[ci].role == ML_ROLE_TARGET)
			c->target = ci;
	c->keep_source = palloc(sizeof(bool) * Max(frame->ncols, 1));
	c->source_expr = palloc(sizeof(char *) * Max(frame->ncols, 1));
	c->na_expr = palloc0(sizeof(char *) * Max(frame->ncols, 1));
	initStringInfo(&c->steps);
	appendStringInfoChar(&c->steps, '[');
	MlNumericTextStep(&c->steps, frame);
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];

		c->keep_source[ci] = true;
		c->source_expr[ci] = psprintf("t.%s", quote_identifier(col->name));
		c->rep[ci].nulls_before = col->nnull;
		c->rep[ci].mean_before = col->mean;
		c->rep[ci].min_before = col->min;
		c->rep[ci].max_before = col->max;
	}
	return relid;
}

/*
 * An inner column, computed before the fills, that says where column ci
 * was missing; its expression over the filled rows (made once per column).
 */
char *
MlCleanMissingFlag(Clean *c, int ci, List **names, List **exprs)
{
	char	   *inner;

	if (c->na_expr[ci])
		return c->na_expr[ci];
	inner = MlCleanNewName(c, "__ml", psprintf("na%d", ci));
	*names = lappend(*names, inner);
	*exprs = lappend(*exprs, psprintf("(t.%s IS NULL)", quote_identifier(c->frame->cols[ci].name)));
	c->na_expr[ci] = psprintf("t.%s", quote_identifier(inner));
	return c->na_expr[ci];
}

/* Everything after the fills is an expression over the filled rows. */
char *
MlCleanFills(Clean *c, List *xnames, List *xexprs)
{
	int			nargs;
	Oid		   *types;
	Datum	   *args;
	char	   *from;

	/* the source ctid rides along: target encoding folds rows by it */
	xnames = lappend(list_copy(xnames), "__ml_ctid");
	xexprs = lappend(list_copy(xexprs), "t.ctid");
	c->ctid_expr = "t.__ml_ctid";
	c->src_ctid_expr = c->ctid_expr;
	MlFillsNotice(c->frame, c->fills);
	from = MlFillsSubquery(c->frame, c->fills, xnames, xexprs, &nargs, &types, &args);

	for (int i = 0; i < nargs; i++)
		MlCleanParam(c, types[i], args[i]);
	return from;
}

/* A statistic read back as text: beyond float8's range it is +-Infinity. */
static double
stat_value(HeapTuple tup, TupleDesc desc, int k)
{
	char	   *s = SPI_getvalue(tup, desc, k);

	if (s == NULL)
		return NAN;
	if (strcmp(s, "NaN") == 0)
		return NAN;
	return strtod(s, NULL);		/* "Infinity", and overflow, give +-HUGE_VAL */
}

/*
 * The mean, minimum and maximum of output column q as numeric text, as
 * avg/min/max over q::numeric give them (a float8 average overflows near
 * 1e300, and a numeric beyond float8's range cannot be cast to it), with
 * fewer conversions to numeric (each a printf for a float): the cast is
 * monotonic, so min and max are taken in the column's type and cast once;
 * integers average exactly in their own avg; a float8 column's sum is the
 * exact sum of its whole values below 1e15 (as bigint: their numeric is
 * the same integer, scale 0) plus the numeric sum of the others, divided
 * by the count as numeric avg divides, after its NaN and infinity rules.
 */
static void
after_stat_exprs(StringInfo sql, Oid type, const char *q)
{
	switch (getBaseType(type))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			appendStringInfo(sql, ", pg_catalog.avg(%s)::pg_catalog.text", q);
			break;
		case FLOAT8OID:
			{
				const char *whole = psprintf("%s OPERATOR(pg_catalog.=) pg_catalog.trunc(%s) AND "
											 "pg_catalog.abs(%s) OPERATOR(pg_catalog.<) 1e15::pg_catalog.float8",
											 q, q, q);
				const char *finite = psprintf("%s OPERATOR(pg_catalog.>) '-Infinity'::pg_catalog.float8 AND "
											  "%s OPERATOR(pg_catalog.<) 'Infinity'::pg_catalog.float8", q, q);
				const char *pinf = psprintf("pg_catalog.count(*) FILTER (WHERE %s OPERATOR(pg_catalog.=) "
											"'Infinity'::pg_catalog.float8) OPERATOR(pg_catalog.>) 0", q);
				const char *ninf = psprintf("pg_catalog.count(*) FILTER (WHERE %s OPERATOR(pg_catalog.=) "
											"'-Infinity'::pg_catalog.float8) OPERATOR(pg_catalog.>) 0", q);

				appendStringInfo(sql, ", CASE WHEN pg_catalog.count(*) FILTER (WHERE %s OPERATOR(pg_catalog.=) "
								 "'NaN'::pg_catalog.float8) OPERATOR(pg_catalog.>) 0 OR (%s AND %s) THEN 'NaN' "
								 "WHEN %s THEN 'Infinity' WHEN %s THEN '-Infinity' "
								 "ELSE ((COALESCE(pg_catalog.sum(%s::pg_catalog.int8) FILTER (WHERE %s), 0::pg_catalog.numeric) "
								 "OPERATOR(pg_catalog.+) COALESCE(pg_catalog.sum(%s::pg_catalog.numeric) "
								 "FILTER (WHERE %s AND NOT (%s)), 0::pg_catalog.numeric)) OPERATOR(pg_catalog./) "
								 "NULLIF(pg_catalog.count(*) FILTER (WHERE %s), 0)::pg_catalog.numeric)::pg_catalog.text END",
								 q, pinf, ninf, pinf, ninf, q, whole, q, finite, whole, finite);
				break;
			}
		default:
			appendStringInfo(sql, ", pg_catalog.avg(%s::pg_catalog.numeric)::pg_catalog.text", q);
	}
	switch (getBaseType(type))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			appendStringInfo(sql, ", pg_catalog.min(%s)::pg_catalog.numeric::pg_catalog.text, "
							 "pg_catalog.max(%s)::pg_catalog.numeric::pg_catalog.text", q, q);
			break;
		default:
			appendStringInfo(sql, ", pg_catalog.min(%s::pg_catalog.numeric)::pg_catalog.text, "
							 "pg_catalog.max(%s::pg_catalog.numeric)::pg_catalog.text", q, q);
	}
}

/*
 * After-statistics of the kept source columns, measured on the output in
 * one scan: NULLs left, and mean/min/max of numeric columns.
 */
static void
measure_after(Clean *c, const char *table)
{
	MlFrame    *frame = c->frame;
	StringInfoData sql;
	int			k = 0;
	bool		isnull;
	Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
										 NoLock, false);

	c->rows_after = -1;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.count(*)");
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		const char *q = quote_identifier(frame->cols[ci].name);

		c->rep[ci].nulls_after = -1;
		c->rep[ci].mean_after = c->rep[ci].min_after = c->rep[ci].max_after = NAN;
		if (!c->keep_source[ci])
			continue;
		k++;
		appendStringInfo(&sql, ", pg_catalog.count(*) FILTER (WHERE %s IS NULL)", q);
		if (frame->cols[ci].kind == ML_KIND_NUMERIC)
			after_stat_exprs(&sql, get_atttype(relid, get_attnum(relid, frame->cols[ci].name)), q);
	}
	if (k == 0)
		return;
	appendStringInfo(&sql, " FROM %s", table);
	MlSpiExec(sql.data, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	c->rows_after = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	k = 2;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		if (!c->keep_source[ci])
			continue;
		c->rep[ci].nulls_after = DatumGetInt64(SPI_getbinval(tup, desc, k++, &isnull));
		if (frame->cols[ci].kind != ML_KIND_NUMERIC)
			continue;
		c->rep[ci].mean_after = stat_value(tup, desc, k++);
		c->rep[ci].min_after = stat_value(tup, desc, k++);
		c->rep[ci].max_after = stat_value(tup, desc, k++);
	}
}

/*
 * Write the result: kept source columns in place, new columns after them,
 * into a new table or, in place, into the relation itself.
 */
void
MlCleanWrite(Clean *c, Oid relid, const char *into, const char *from)
{
	MlFrame    *frame = c->frame;
	List	   *names = NIL,
			   *exprs = NIL;
	char	   *dest;
	TimestampTz start = GetCurrentTimestamp();

	appendStringInfoChar(&c->steps, ']');
	for (int ci = 0; ci < frame->ncols; ci++)
		if (c->keep_source[ci])
		{
			names = lappend(names, frame->cols[ci].name);
			exprs = lappend(exprs, c->source_expr[ci]);
		}
	c->out_names = list_concat(names, c->out_names);
	c->out_exprs = list_concat(exprs, c->out_exprs);
	if (c->out_names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cleaning would leave no columns")));
	if (into == NULL)
	{
		/* in place: each cleaned row says which source row it comes from */
		c->out_names = lappend(c->out_names, "__ml_src_ctid");
		c->out_exprs = lappend(c->out_exprs, c->src_ctid_expr);
	}
	dest = into ? pstrdup(into) : pstrdup(quote_identifier(psprintf("ml_clean_%u", relid)));
	MlSpiExec(psprintf("CREATE %sTABLE %s AS %s", into ? "" : "TEMP ", dest, build_select(c, from)),
			  c->nparams, c->ptypes, c->pvalues, NULL, SPI_OK_UTILITY);
	elog(DEBUG1, "clean timing: create table %.3f s", (double) (GetCurrentTimestamp() - start) / 1e6);
	measure_after(c, into ? dest : psprintf("pg_temp.%s", dest));
	elog(DEBUG1, "clean timing: after statistics %.3f s", (double) (GetCurrentTimestamp() - start) / 1e6);
	if (into == NULL)
		replace_contents(relid,
						 RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(psprintf("pg_temp.%s", dest))),
										  NoLock, false), c);
	/* so that the same call can run again in this transaction */
	if (c->scratch)
		MlSpiExec(psprintf("DROP TABLE %s", c->scratch), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

/* One result row per source column. */
void
MlCleanResult(Clean *c, ReturnSetInfo *rsinfo, int64 recipe_id)
{
	static const char *const kinds[] = {"numeric", "categorical", "datetime", "text"};

	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		MlColumn   *col = &c->frame->cols[ci];

		values[0] = CStringGetTextDatum(col->name);
		values[1] = CStringGetTextDatum(col->identifier ? "identifier" :
										col->role == ML_ROLE_TARGET ? "target" :
										col->role == ML_ROLE_CATEGORICAL ? "categorical" : kinds[col->kind]);
		values[2] = Int64GetDatum(c->rep[ci].nulls_before);
		values[3] = Int64GetDatum(c->rep[ci].nulls_after >= 0 ? c->rep[ci].nulls_after :
								  c->rep[ci].nulls_before - c->rep[ci].filled);
		values[4] = CStringGetTextDatum(actions_text(c, ci));
		values[5] = CStringGetTextDatum(c->rep[ci].new_columns.data ? c->rep[ci].new_columns.data : "");
		values[6] = Int64GetDatum(recipe_id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (c->duplicates > 0)
		ereport(NOTICE,
				(errmsg("removed " INT64_FORMAT " duplicate rows", c->duplicates)));
}

/* into_table resolved now, while the caller's search_path applies. */
char *
MlResolveInto(FunctionCallInfo fcinfo, int argno)
{
	Oid			nspid;
	RangeVar   *rv;

	if (PG_ARGISNULL(argno))
		return NULL;
	rv = MlParseInto(text_to_cstring(PG_GETARG_TEXT_PP(argno)), &nspid);
	return quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
}

Oid
MlCheckRelation(FunctionCallInfo fcinfo, int argno, const char *into)
{
	Oid			relid;
	char		relkind;

	MlRequireArg(fcinfo, argno, "relation");
	relid = PG_GETARG_OID(argno);
	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (into == NULL && relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot clean \"%s\" in place: it is not a plain table", get_rel_name(relid)),
				 errhint("Pass into_table => 'name' to write the result into a new table.")));
	return relid;
}
