/*
 * clean.c
 *	  ml_clean(): the whole cleaning pipeline, and ml_apply_recipe().
 *
 * Steps, each switchable in options: duplicates, missing (the imputation
 * engine), outliers, encode, datetime, polish, indicators. Fitting happens
 * in C on the in-memory frame; the result is one CREATE TABLE AS whose
 * select list is built from the fitted steps, with every fitted value (a
 * bound, a level list, a frequency) passed as a parameter. The same select
 * list, rebuilt from the stored recipe, applies the recipe to new data.
 */
#include "postgres.h"

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
#include "clean/cleaning.h"
#include "core/options.h"
#include "core/progress.h"

PG_FUNCTION_INFO_V1(ml_clean);
PG_FUNCTION_INFO_V1(ml_apply_recipe);

/* What happened to one source column, for the report. */
typedef struct ColReport
{
	int64		nulls_before;
	int64		filled;
	char	   *fill_method;
	double		fill_error;
	int64		outliers;
	char	   *outlier_action;
	char	   *encoding;
	char	   *cast;
	StringInfoData new_columns;
	bool		dropped;
	double		mean_before,
				min_before,
				max_before;
	int64		nulls_after;	/* -1 until measured on the output */
	double		mean_after,
				min_after,
				max_after;
} ColReport;

typedef struct Clean
{
	MlFrame    *frame;
	MlFills    *fills;
	List	   *out_names;		/* output column names */
	List	   *out_exprs;		/* their expressions over t.* (fills applied) */
	List	   *filters;		/* row conditions to keep */
	List	   *inner_extra;	/* extra expressions computed before fills (indicators) */
	int			nparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	int			pcap;
	StringInfoData steps;		/* recipe steps, JSON */
	ColReport  *rep;
	bool	   *keep_source;	/* [col] source column kept in output */
	char	  **source_expr;	/* [col] expression of the (polished) source column */
	int64		duplicates;
	char	   *ctid_expr;		/* the source row's ctid in the final select */
	char	   *scratch;		/* a working copy to drop once written */
	int			target;			/* frame column of the target, -1 if none */
	List	   *taken_names;
	char	   *models;			/* JSON array of the fitted imputation models */
} Clean;

static const char *const clean_keys[] = {
	"duplicates", "missing", "outliers", "encode", "datetime", "polish", "indicators",
	"roles", "target", NULL
};

/* ---------- small helpers ---------- */

static int
add_param(Clean *c, Oid type, Datum value)
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

static int
param_float(Clean *c, double v)
{
	return add_param(c, FLOAT8OID, Float8GetDatum(v));
}

static int
param_text_array(Clean *c, char **items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(items[i]);
	return add_param(c, TEXTARRAYOID,
					 PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT)));
}

static int
param_float_array(Clean *c, double *items, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = Float8GetDatum(items[i]);
	return add_param(c, FLOAT8ARRAYOID,
					 PointerGetDatum(construct_array(d, n, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
}

/*
 * A new output column name: base + suffix, clipped to NAMEDATALEN - 1 bytes
 * on a character boundary, made unique with a number if needed.
 */
static char *
new_name(Clean *c, const char *base, const char *suffix)
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
		name = psprintf("%.*s_%d", NAMEDATALEN - 8, psprintf("%s_%s", base, suffix), ++n);
	}
	c->taken_names = lappend(c->taken_names, name);
	return name;
}

static void
add_output(Clean *c, int src, const char *name, char *expr)
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

static void
step_open(Clean *c, const char *step, MlColumn *col)
{
	if (c->steps.len > 1)
		appendStringInfoString(&c->steps, ", ");
	appendStringInfo(&c->steps, "{\"step\": \"%s\"", step);
	if (col)
	{
		appendStringInfoString(&c->steps, ", \"column\": ");
		escape_json(&c->steps, col->name);
	}
}

static void
json_text_list(StringInfo s, char **items, int n)
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

static bool
in_list(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* A step applies to a column unless excluded by its columns/skip options. */
static bool
step_wants(JsonbContainer *step, MlColumn *col)
{
	List	   *only = MlOptStringList(step, "columns");
	List	   *skip = MlOptStringList(step, "skip");

	if (col->role == ML_ROLE_SKIP || col->role == ML_ROLE_TARGET || col->identifier)
		return only != NIL && in_list(only, col->name) && col->role != ML_ROLE_TARGET;
	if (only != NIL && !in_list(only, col->name))
		return false;
	return !in_list(skip, col->name);
}

/*
 * A step's options: false switches it off (NULL returned with *on false),
 * true or absent keeps the defaults, an object configures it.
 */
static JsonbContainer *
step_options(JsonbContainer *opts, const char *key, bool dflt, bool *on,
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

/* ---------- duplicates ---------- */

static uint32
row_hash(MlFrame *frame, int64 r, int *cols, int ncols)
{
	uint32		h = 0x9e3779b9;

	for (int i = 0; i < ncols; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];
		uint64		v;

		if (col->isnull[r])
			v = 0x5bd1e995;
		else if (col->code)
			v = (uint64) col->code[r] + 1;
		else
			memcpy(&v, &col->x[r], sizeof(v));
		h = hash_combine(h, (uint32) (v ^ (v >> 32)));
	}
	return h;
}

static bool
rows_equal(MlFrame *frame, int64 a, int64 b, int *cols, int ncols)
{
	for (int i = 0; i < ncols; i++)
	{
		MlColumn   *col = &frame->cols[cols[i]];

		if (col->isnull[a] != col->isnull[b])
			return false;
		if (col->isnull[a])
			continue;
		if (col->code ? col->code[a] != col->code[b] :
			!(col->x[a] == col->x[b] || (isnan(col->x[a]) && isnan(col->x[b]))))
			return false;
	}
	return true;
}

/*
 * Exact duplicates (all columns, or the key columns), keeping the first
 * row of each set in table order. Values are compared as loaded: numbers
 * as float8, everything else by its text.
 */
static void
step_duplicates(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	List	   *keys = MlOptStringList(st, "keys");
	int		   *cols = palloc(sizeof(int) * Max(frame->ncols, 1));
	int			ncols = 0;
	uint32		size = 1024;
	int64	   *slots;
	ListCell   *lc;

	foreach(lc, keys)
	{
		int			k = MlFrameColumn(frame, lfirst(lc));

		if (k < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" in option \"duplicates\" does not exist", (char *) lfirst(lc))));
		cols[ncols++] = k;
	}
	if (keys == NIL)
		for (int i = 0; i < frame->ncols; i++)
			cols[ncols++] = i;
	while (size < frame->nrows * 2)
		size *= 2;
	slots = palloc(sizeof(int64) * size);
	memset(slots, -1, sizeof(int64) * size);
	for (int64 r = 0; r < frame->nrows; r++)
	{
		uint32		i = row_hash(frame, r, cols, ncols) & (size - 1);

		while (slots[i] >= 0 && !rows_equal(frame, slots[i], r, cols, ncols))
			i = (i + 1) & (size - 1);
		if (slots[i] < 0)
			slots[i] = r;
		else if (!c->fills->deleted[r])
		{
			c->fills->deleted[r] = true;
			c->fills->ndeleted++;
			c->duplicates++;
		}
		if ((r & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	step_open(c, "duplicates", NULL);
	appendStringInfoString(&c->steps, ", \"keys\": ");
	if (keys == NIL)
		appendStringInfoString(&c->steps, "null");
	else
	{
		char	  **k = palloc(sizeof(char *) * list_length(keys));
		int			i = 0;

		foreach(lc, keys)
			k[i++] = lfirst(lc);
		json_text_list(&c->steps, k, i);
	}
	appendStringInfo(&c->steps, ", \"removed\": " INT64_FORMAT "}", c->duplicates);
	pfree(slots);
}

/* ---------- outliers ---------- */

/* Bounds of the usual range of v[0..n) (reordered). */
static bool
bounds(double *v, int64 n, const char *method, double k, double *lo, double *hi)
{
	if (n < 4)
		return false;
	if (strcmp(method, "iqr") == 0)
	{
		double		q1 = MlQuantile(v, n, 0.25),
					q3 = MlQuantile(v, n, 0.75);

		*lo = q1 - k * (q3 - q1);
		*hi = q3 + k * (q3 - q1);
	}
	else if (strcmp(method, "zscore") == 0)
	{
		double		s = 0,
					ss = 0,
					mean,
					sd;

		for (int64 i = 0; i < n; i++)
			s += v[i], ss += v[i] * v[i];
		mean = s / n;
		sd = sqrt(fmax(0, (ss - n * mean * mean) / (n - 1)));
		*lo = mean - k * sd;
		*hi = mean + k * sd;
	}
	else
	{
		/* Hampel: median +- k * 1.4826 * MAD */
		double		med = MlQuantile(v, n, 0.5);
		double	   *d = palloc(sizeof(double) * n);
		double		mad;

		for (int64 i = 0; i < n; i++)
			d[i] = fabs(v[i] - med);
		mad = MlQuantile(d, n, 0.5) * 1.4826;
		pfree(d);
		*lo = med - k * mad;
		*hi = med + k * mad;
	}
	return *hi > *lo;
}

/* The SQL type a source column has in the output so far (after a cast). */
static const char *
column_sql_type(Clean *c, int ci)
{
	const char *cast = c->rep[ci].cast;

	if (cast == NULL)
		return format_type_with_typemod(c->frame->cols[ci].typid, c->frame->cols[ci].typmod);
	if (strcmp(cast, "integer") == 0)
		return "int4";
	if (strcmp(cast, "bigint") == 0)
		return "int8";
	return cast;
}

/*
 * The SQL of one fitted outlier step (also used to replay a recipe): the
 * bounds as parameters (per group: arrays indexed by the group's text,
 * unseen groups taking the column's bounds), then winsorize the column,
 * filter the rows out, or add a flag column named flag_name (or a new name).
 */
static void
emit_outlier(Clean *c, int ci, const char *method, double k, const char *action,
			 double lo, double hi, const char *by, char **groups, double *glo, double *ghi,
			 int ngroups, const char *flag_name)
{
	MlColumn   *col = &c->frame->cols[ci];
	char	   *cur = c->source_expr[ci];
	char	   *lexpr,
			   *hexpr,
			   *test;

	step_open(c, "outliers", col);
	appendStringInfo(&c->steps, ", \"method\": \"%s\", \"k\": %.17g, \"action\": \"%s\", "
					 "\"lo\": %.17g, \"hi\": %.17g", method, k, action, lo, hi);
	if (ngroups > 0)
	{
		int			plevels = param_text_array(c, groups, ngroups);
		int			plo = param_float_array(c, glo, ngroups);
		int			phi = param_float_array(c, ghi, ngroups);

		lexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", plo, plevels,
						 quote_identifier(by), param_float(c, lo));
		hexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", phi, plevels,
						 quote_identifier(by), param_float(c, hi));
		appendStringInfoString(&c->steps, ", \"by\": ");
		escape_json(&c->steps, by);
		appendStringInfoString(&c->steps, ", \"groups\": ");
		json_text_list(&c->steps, groups, ngroups);
		appendStringInfoString(&c->steps, ", \"group_lo\": [");
		for (int l = 0; l < ngroups; l++)
			appendStringInfo(&c->steps, "%s%.17g", l ? ", " : "", glo[l]);
		appendStringInfoString(&c->steps, "], \"group_hi\": [");
		for (int l = 0; l < ngroups; l++)
			appendStringInfo(&c->steps, "%s%.17g", l ? ", " : "", ghi[l]);
		appendStringInfoChar(&c->steps, ']');
	}
	else
	{
		lexpr = psprintf("$%d", param_float(c, lo));
		hexpr = psprintf("$%d", param_float(c, hi));
	}
	test = psprintf("(%s::float8 < %s OR %s::float8 > %s)", cur, lexpr, cur, hexpr);
	if (strcmp(action, "winsorize") == 0)
		c->source_expr[ci] = psprintf("(LEAST(GREATEST(%s::float8, %s), %s))::%s", cur, lexpr, hexpr,
									  column_sql_type(c, ci));
	else if (strcmp(action, "delete") == 0)
		c->filters = lappend(c->filters, psprintf("NOT COALESCE(%s, false)", test));
	else
	{
		char	   *name = flag_name ? pstrdup(flag_name) : new_name(c, col->name, "outlier");

		add_output(c, ci, name, psprintf("COALESCE(%s, false)", test));
		appendStringInfoString(&c->steps, ", \"name\": ");
		escape_json(&c->steps, name);
	}
	appendStringInfoChar(&c->steps, '}');
	c->rep[ci].outlier_action = psprintf("%s (%s, k=%g)", action, method, k);
}

static const char *const outlier_keys[] = {"method", "k", "action", "columns", "skip", "by", NULL};

/*
 * Outliers in continuous numeric columns (never identifiers, codes,
 * discrete columns or the target): bounds by IQR, z-score or MAD, over the
 * whole column or per group; winsorize, delete the row, or flag it.
 */
static void
step_outliers(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	char	   *method = MlOptString(st, "method", "iqr");
	char	   *action = MlOptString(st, "action", "winsorize");
	double		k;
	char	   *by = MlOptString(st, "by", NULL);
	int			g = by ? MlFrameColumn(frame, by) : -1;
	double	   *v = palloc(sizeof(double) * Max(frame->nrows, 1));

	if (strcmp(method, "iqr") != 0 && strcmp(method, "zscore") != 0 && strcmp(method, "mad") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier method \"%s\"", method),
				 errhint("Valid methods are: iqr, zscore, mad.")));
	if (strcmp(action, "winsorize") != 0 && strcmp(action, "delete") != 0 && strcmp(action, "flag") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier action \"%s\"", action),
				 errhint("Valid actions are: winsorize, delete, flag.")));
	if (by && (g < 0 || frame->cols[g].code == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" in option \"by\" does not exist or cannot group rows", by)));
	k = MlOptNumber(st, "k", strcmp(method, "iqr") == 0 ? 1.5 : strcmp(method, "zscore") == 0 ? 3 : 3.5);
	if (!(k > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"k\" must be positive")));

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		double		lo,
					hi;
		int			ngroups = g >= 0 ? frame->cols[g].nlevels : 0;
		double	   *glo = NULL,
				   *ghi = NULL;
		int64		n = 0,
					count = 0;

		/* codes (few whole-number levels) only when named explicitly */
		if (col->kind != ML_KIND_NUMERIC || ci == g || !step_wants(st, col) ||
			(MlColumnIsDiscrete(col) && !in_list(MlOptStringList(st, "columns"), col->name)))
			continue;
		for (int64 r = 0; r < frame->nrows; r++)
			if (!c->fills->deleted[r] && !col->isnull[r] && isfinite(col->x[r]))
				v[n++] = col->x[r];
		if (!bounds(v, n, method, k, &lo, &hi))
			continue;
		if (ngroups > 0)
		{
			/* per-group bounds; groups too small keep the column's bounds */
			glo = palloc(sizeof(double) * ngroups);
			ghi = palloc(sizeof(double) * ngroups);
			for (int l = 0; l < ngroups; l++)
			{
				n = 0;
				for (int64 r = 0; r < frame->nrows; r++)
					if (frame->cols[g].code[r] == l && !c->fills->deleted[r] &&
						!col->isnull[r] && isfinite(col->x[r]))
						v[n++] = col->x[r];
				if (!bounds(v, n, method, k, &glo[l], &ghi[l]))
					glo[l] = lo, ghi[l] = hi;
				CHECK_FOR_INTERRUPTS();
			}
		}
		for (int64 r = 0; r < frame->nrows; r++)
		{
			double		l = lo,
						h = hi;
			int32		gc = g >= 0 ? frame->cols[g].code[r] : -1;

			if (c->fills->deleted[r] || col->isnull[r] || !isfinite(col->x[r]))
				continue;
			if (gc >= 0)
				l = glo[gc], h = ghi[gc];
			if (col->x[r] < l || col->x[r] > h)
				count++;
		}
		if (count == 0)
			continue;

		{
			char	  **names = NULL;

			if (ngroups > 0)
			{
				names = frame->cols[g].level_text;
				if (names == NULL)
				{
					names = palloc(sizeof(char *) * ngroups);
					for (int l = 0; l < ngroups; l++)
						names[l] = psprintf("%.17g", frame->cols[g].level_value[l]);
				}
			}
			emit_outlier(c, ci, method, k, action, lo, hi, g >= 0 ? frame->cols[g].name : NULL,
						 names, glo, ghi, ngroups, NULL);
		}
		c->rep[ci].outliers = count;
	}
}

/* ---------- categorical encoding ---------- */

static const char *const encode_keys[] = {
	"method", "max_levels", "buckets", "columns", "skip", "keep_original", "smoothing", NULL
};

typedef struct LevelCount
{
	int32		level;
	int64		count;
	const char *text;
} LevelCount;

static int
cmp_count_desc(const void *a, const void *b)
{
	const LevelCount *x = a,
			   *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

static int
cmp_text(const void *a, const void *b)
{
	return strcmp(((const LevelCount *) a)->text, ((const LevelCount *) b)->text);
}

/*
 * Encode categorical columns (text, boolean, enum...; not numeric codes,
 * free text, identifiers or the target): one-hot (most frequent levels up
 * to max_levels, the rest in "_other"), ordinal, frequency or hashing;
 * "auto" is one-hot up to max_levels and frequency above. Unseen levels on
 * new data: all zeros (one-hot), -1 (ordinal), 0 (frequency).
 */
/* Start an encode step's JSON and drop the source column unless kept. */
static void
encode_open(Clean *c, int ci, const char *method, bool keep)
{
	step_open(c, "encode", &c->frame->cols[ci]);
	appendStringInfo(&c->steps, ", \"method\": \"%s\", \"keep_original\": %s", method,
					 keep ? "true" : "false");
	c->rep[ci].encoding = pstrdup(method);
	if (!keep)
	{
		c->keep_source[ci] = false;
		c->rep[ci].dropped = true;
	}
}

static char *
encode_value(Clean *c, int ci)
{
	return psprintf("(%s)::text", c->source_expr[ci]);
}

/* One-hot: a 0/1 column per kept level, plus "_other" when levels were cut. */
static void
emit_onehot(Clean *c, int ci, char **levels, int n, bool other, char **names, bool keep)
{
	char	   *cur = encode_value(c, ci);
	char	  **outs = palloc(sizeof(char *) * (n + 1));
	MlColumn   *col = &c->frame->cols[ci];

	encode_open(c, ci, "onehot", keep);
	for (int i = 0; i < n; i++)
	{
		outs[i] = names ? names[i] : new_name(c, col->name, levels[i]);
		add_output(c, ci, outs[i], psprintf("COALESCE((%s = $%d)::int4::int2, 0::int2)", cur,
											add_param(c, TEXTOID, CStringGetTextDatum(levels[i]))));
	}
	if (other)
	{
		outs[n] = names ? names[n] : new_name(c, col->name, "other");
		add_output(c, ci, outs[n], psprintf("COALESCE((%s <> ALL ($%d))::int4::int2, 0::int2)", cur,
											param_text_array(c, levels, n)));
	}
	appendStringInfoString(&c->steps, ", \"levels\": ");
	json_text_list(&c->steps, levels, n);
	appendStringInfoString(&c->steps, ", \"names\": ");
	json_text_list(&c->steps, outs, n + (other ? 1 : 0));
	appendStringInfoChar(&c->steps, '}');
}

/* Ordinal (position in the sorted levels, -1 if unseen) or frequency (0 if unseen). */
static void
emit_ordinal_freq(Clean *c, int ci, bool ordinal, char **levels, double *freq, int n,
				  const char *name, bool keep)
{
	char	   *cur = encode_value(c, ci);
	int			pl;
	char	   *out = name ? pstrdup(name) :
		new_name(c, c->frame->cols[ci].name, ordinal ? "ordinal" : "frequency");

	encode_open(c, ci, ordinal ? "ordinal" : "frequency", keep);
	pl = param_text_array(c, levels, n);
	if (ordinal)
		add_output(c, ci, out, psprintf("COALESCE(array_position($%d, %s) - 1, -1)", pl, cur));
	else
	{
		add_output(c, ci, out, psprintf("COALESCE($%d[array_position($%d, %s)], 0::float8)",
										param_float_array(c, freq, n), pl, cur));
		appendStringInfoString(&c->steps, ", \"frequencies\": [");
		for (int i = 0; i < n; i++)
			appendStringInfo(&c->steps, "%s%.17g", i ? ", " : "", freq[i]);
		appendStringInfoChar(&c->steps, ']');
	}
	appendStringInfoString(&c->steps, ", \"levels\": ");
	json_text_list(&c->steps, levels, n);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, out);
	appendStringInfoChar(&c->steps, '}');
}

/* Hashing: one 0/1 column per bucket of a stable hash of the text. */
static void
emit_hashing(Clean *c, int ci, int buckets, char **names, bool keep)
{
	char	   *cur = encode_value(c, ci);

	encode_open(c, ci, "hashing", keep);
	appendStringInfo(&c->steps, ", \"buckets\": %d, \"names\": [", buckets);
	for (int b = 0; b < buckets; b++)
	{
		char	   *out = names ? names[b] : new_name(c, c->frame->cols[ci].name, psprintf("hash%d", b));

		add_output(c, ci, out,
				   psprintf("COALESCE(((hashtext(%s)::int8 & 2147483647) %% %d = %d)::int4::int2, 0::int2)",
							cur, buckets, b));
		if (b)
			appendStringInfoString(&c->steps, ", ");
		escape_json(&c->steps, out);
	}
	appendStringInfoString(&c->steps, "]}");
}

#define TE_FOLDS 5

/* Fold of a row for out-of-fold target encoding: the same formula in C and SQL. */
static int
row_fold(ItemPointer tid)
{
	return (int) (((int64) ItemPointerGetBlockNumber(tid) * 65537 +
				   ItemPointerGetOffsetNumber(tid)) % TE_FOLDS);
}

/*
 * Target encoding (also used to replay a recipe, with fold == NULL): each
 * level's target mean smoothed towards the overall mean by `smoothing`
 * pseudo-rows. On the rows it is fitted on, each row gets the encoding
 * computed without its own fold (out of fold, so the column does not leak
 * the row's own target); new rows get the encoding over all rows.
 */
static void
emit_target(Clean *c, int ci, char **levels, int nl, double *enc, double *fold, double prior,
			double smoothing, const char *name, bool keep)
{
	char	   *cur = encode_value(c, ci);
	char	   *out = name ? pstrdup(name) : new_name(c, c->frame->cols[ci].name, "target");
	int			pl = param_text_array(c, levels, nl);
	int			pp = param_float(c, prior);

	encode_open(c, ci, "target", keep);
	if (fold)
		add_output(c, ci, out,
				   psprintf("COALESCE($%d[((%s::text::point)[0]::int8 * 65537 + (%s::text::point)[1]::int8) %% %d * %d "
							"+ array_position($%d, %s)], $%d)",
							param_float_array(c, fold, TE_FOLDS * nl), c->ctid_expr, c->ctid_expr,
							TE_FOLDS, nl, pl, cur, pp));
	else
		add_output(c, ci, out, psprintf("COALESCE($%d[array_position($%d, %s)], $%d)",
										param_float_array(c, enc, nl), pl, cur, pp));
	appendStringInfo(&c->steps, ", \"smoothing\": %.17g, \"prior\": %.17g, \"encodings\": [",
					 smoothing, prior);
	for (int i = 0; i < nl; i++)
		appendStringInfo(&c->steps, "%s%.17g", i ? ", " : "", enc[i]);
	appendStringInfoString(&c->steps, "], \"levels\": ");
	json_text_list(&c->steps, levels, nl);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, out);
	appendStringInfoChar(&c->steps, '}');
}

/* Fit a target encoding on the frame: per level and per fold sums of the target. */
static void
fit_target_encoding(Clean *c, int ci, char **names, LevelCount *lc, int nl, double smoothing,
					bool keep)
{
	MlFrame    *frame = c->frame;
	MlColumn   *col = &frame->cols[ci];
	MlColumn   *tcol = &frame->cols[c->target];
	double	   *sum = palloc0(sizeof(double) * nl * TE_FOLDS);
	double	   *cnt = palloc0(sizeof(double) * nl * TE_FOLDS);
	double	   *enc = palloc(sizeof(double) * nl);
	double	   *fold = palloc(sizeof(double) * nl * TE_FOLDS);
	int32	   *pos = palloc(sizeof(int32) * Max(col->nlevels, 1));
	double		tsum = 0,
				tcnt = 0,
				prior;

	if (tcol->kind != ML_KIND_NUMERIC && !(tcol->code && tcol->nlevels == 2))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target encoding needs a numeric or two-level target, but \"%s\" has %d levels",
						tcol->name, tcol->nlevels)));
	/* levels are sorted by text in names[]; map the column's codes to them */
	for (int i = 0; i < nl; i++)
		pos[lc[i].level] = i;
	for (int64 r = 0; r < frame->nrows; r++)
	{
		double		y;
		int			f;

		if (c->fills->deleted[r] || tcol->isnull[r] || col->isnull[r] || col->code[r] < 0)
			continue;
		y = tcol->kind == ML_KIND_NUMERIC ? tcol->x[r] : (double) tcol->code[r];
		if (!isfinite(y))
			continue;
		f = row_fold(&frame->tids[r]);
		sum[f * nl + pos[col->code[r]]] += y;
		cnt[f * nl + pos[col->code[r]]] += 1;
		tsum += y;
		tcnt += 1;
	}
	prior = tcnt > 0 ? tsum / tcnt : 0;
	for (int i = 0; i < nl; i++)
	{
		double		s = 0,
					n = 0;

		for (int f = 0; f < TE_FOLDS; f++)
			s += sum[f * nl + i], n += cnt[f * nl + i];
		enc[i] = (s + smoothing * prior) / (n + smoothing);
		for (int f = 0; f < TE_FOLDS; f++)
			fold[f * nl + i] = (s - sum[f * nl + i] + smoothing * prior) /
				(n - cnt[f * nl + i] + smoothing);
	}
	emit_target(c, ci, names, nl, enc, fold, prior, smoothing, NULL, keep);
}

static void
step_encode(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	char	   *method = MlOptString(st, "method", "auto");
	int			max_levels = (int) MlOptNumber(st, "max_levels", 10);
	int			buckets = (int) MlOptNumber(st, "buckets", 16);
	bool		keep = MlOptBool(st, "keep_original", false);

	if (strcmp(method, "auto") && strcmp(method, "onehot") && strcmp(method, "ordinal") &&
		strcmp(method, "frequency") && strcmp(method, "hashing") && strcmp(method, "target"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown encoding \"%s\"", method),
				 errhint("Valid encodings are: auto, onehot, ordinal, frequency, hashing, target.")));
	if (strcmp(method, "target") == 0 && c->target < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target encoding needs a target column"),
				 errhint("Pass options => '{\"target\": \"column\"}', or clean the relation of a project.")));
	if (max_levels < 1 || max_levels > 1000 || buckets < 2 || buckets > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"max_levels\" must be 1..1000 and \"buckets\" 2..1024")));

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		LevelCount *lc;
		int64		total = 0;
		const char *m = method;
		int			nl = col->nlevels;
		char	  **names;
		double	   *freq;

		if (col->kind != ML_KIND_CATEGORICAL || col->level_text == NULL || nl == 0 ||
			!step_wants(st, col) || c->rep[ci].cast != NULL)
			continue;
		lc = palloc(sizeof(LevelCount) * nl);
		for (int l = 0; l < nl; l++)
			lc[l] = (LevelCount) {l, 0, col->level_text[l]};
		for (int64 r = 0; r < frame->nrows; r++)
			if (!c->fills->deleted[r] && !col->isnull[r] && col->code[r] >= 0)
				lc[col->code[r]].count++, total++;
		if (strcmp(m, "auto") == 0)
			m = nl <= max_levels ? "onehot" : "frequency";
		names = palloc(sizeof(char *) * nl);
		freq = palloc(sizeof(double) * nl);
		/* one-hot keeps the most frequent levels; the others sort by text */
		qsort(lc, nl, sizeof(LevelCount), strcmp(m, "onehot") == 0 ? cmp_count_desc : cmp_text);
		for (int i = 0; i < nl; i++)
		{
			names[i] = (char *) lc[i].text;
			freq[i] = total ? (double) lc[i].count / total : 0;
		}
		if (strcmp(m, "target") == 0)
			fit_target_encoding(c, ci, names, lc, nl, MlOptNumber(st, "smoothing", 10), keep);
		else if (strcmp(m, "onehot") == 0)
			emit_onehot(c, ci, names, Min(nl, max_levels), nl > max_levels, NULL, keep);
		else if (strcmp(m, "hashing") == 0)
			emit_hashing(c, ci, buckets, NULL, keep);
		else
			emit_ordinal_freq(c, ci, m[0] == 'o', names, freq, nl, NULL, keep);
	}
}

/* ---------- datetime parts ---------- */

static const char *const datetime_keys[] = {
	"parts", "cyclical", "elapsed", "columns", "skip", "keep_original", NULL
};

static const struct
{
	const char *name;
	const char *expr;			/* %s: the value */
	double		period;			/* for cyclical encodings, 0 if none */
}			dt_parts[] =
{
	{"year", "date_part('year', %s)::int4", 0},
	{"month", "date_part('month', %s)::int4", 12},
	{"day", "date_part('day', %s)::int4", 0},
	{"hour", "date_part('hour', %s)::int4", 24},
	{"minute", "date_part('minute', %s)::int4", 0},
	{"second", "date_part('second', %s)", 0},
	{"dow", "date_part('dow', %s)::int4", 7},
	{"doy", "date_part('doy', %s)::int4", 0},
	{"week", "date_part('week', %s)::int4", 0},
	{"weekend", "(date_part('isodow', %s) >= 6)", 0}
};

/*
 * Datetime parts of one column (also used to replay a recipe): parts are
 * names from dt_parts, optionally with a "_sin" or "_cos" suffix for the
 * cyclical encodings. Leaves the step's JSON open for the caller.
 */
static void
emit_datetime(Clean *c, int ci, List *parts, List *names)
{
	char	   *cur = c->source_expr[ci];
	ListCell   *lp,
			   *ln;

	step_open(c, "datetime", &c->frame->cols[ci]);
	forboth(lp, parts, ln, names)
	{
		char	   *p = lfirst(lp);
		int			len = strlen(p);
		int			variant = len > 4 && strcmp(p + len - 4, "_sin") == 0 ? 1 :
			len > 4 && strcmp(p + len - 4, "_cos") == 0 ? 2 : 0;
		int			i;

		for (i = 0; i < (int) lengthof(dt_parts); i++)
			if (strncmp(dt_parts[i].name, p, variant ? len - 4 : len) == 0 &&
				(int) strlen(dt_parts[i].name) == (variant ? len - 4 : len))
				break;
		if (i == (int) lengthof(dt_parts) || (variant && dt_parts[i].period == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown datetime part \"%s\"", p)));
		if (variant == 0)
			add_output(c, ci, lfirst(ln), psprintf(dt_parts[i].expr, cur));
		else
			add_output(c, ci, lfirst(ln),
					   psprintf("%s(%.17g * %s)", variant == 1 ? "sin" : "cos",
								2 * M_PI / dt_parts[i].period, psprintf(dt_parts[i].expr, cur)));
	}
	appendStringInfoString(&c->steps, ", \"parts\": [");
	foreach(lp, parts)
	{
		appendStringInfoString(&c->steps, foreach_current_index(lp) ? ", " : "");
		escape_json(&c->steps, lfirst(lp));
	}
	appendStringInfoString(&c->steps, "], \"names\": [");
	foreach(ln, names)
	{
		appendStringInfoString(&c->steps, foreach_current_index(ln) ? ", " : "");
		escape_json(&c->steps, lfirst(ln));
	}
	appendStringInfoChar(&c->steps, ']');
}

/* Seconds from column a to column b (also used to replay a recipe). */
static void
emit_elapsed(Clean *c, int a, int b, char *name)
{
	add_output(c, b, name, psprintf("date_part('epoch', %s) - date_part('epoch', %s)",
									c->source_expr[b], c->source_expr[a]));
	step_open(c, "elapsed", &c->frame->cols[b]);
	appendStringInfoString(&c->steps, ", \"from\": ");
	escape_json(&c->steps, c->frame->cols[a].name);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, name);
	appendStringInfoChar(&c->steps, '}');
}

static void
step_datetime(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	List	   *parts = MlOptStringList(st, "parts");
	bool		cyclical = MlOptBool(st, "cyclical", false);
	bool		elapsed = MlOptBool(st, "elapsed", true);
	bool		keep = MlOptBool(st, "keep_original", true);
	ListCell   *lc;
	int		   *dts = palloc(sizeof(int) * Max(frame->ncols, 1));
	int			ndt = 0;

	if (parts == NIL)
		parts = list_make5("year", "month", "day", "hour", "dow");
	if (MlOptGet(st, "parts") == NULL)
		parts = lappend(parts, "weekend");
	foreach(lc, parts)
	{
		int			i;

		for (i = 0; i < (int) lengthof(dt_parts); i++)
			if (strcmp(dt_parts[i].name, lfirst(lc)) == 0)
				break;
		if (i == (int) lengthof(dt_parts))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown datetime part \"%s\"", (char *) lfirst(lc)),
					 errhint("Valid parts are: year, month, day, hour, minute, second, dow, doy, week, weekend.")));
	}

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];

		if (col->kind != ML_KIND_DATETIME || !step_wants(st, col))
			continue;
		dts[ndt++] = ci;
		{
			List	   *names = NIL,
					   *pnames = NIL;

			foreach(lc, parts)
			{
				names = lappend(names, new_name(c, col->name, lfirst(lc)));
				pnames = lappend(pnames, lfirst(lc));
				for (int i = 0; cyclical && i < (int) lengthof(dt_parts); i++)
					if (strcmp(dt_parts[i].name, lfirst(lc)) == 0 && dt_parts[i].period > 0)
					{
						/* sin/cos so that 23h sits next to 0h */
						names = lappend(names, new_name(c, col->name, psprintf("%s_sin", dt_parts[i].name)));
						pnames = lappend(pnames, psprintf("%s_sin", dt_parts[i].name));
						names = lappend(names, new_name(c, col->name, psprintf("%s_cos", dt_parts[i].name)));
						pnames = lappend(pnames, psprintf("%s_cos", dt_parts[i].name));
					}
			}
			emit_datetime(c, ci, pnames, names);
		}
		appendStringInfo(&c->steps, ", \"keep_original\": %s}", keep ? "true" : "false");
		if (!keep)
		{
			c->keep_source[ci] = false;
			c->rep[ci].dropped = true;
		}
	}
	/* elapsed seconds between datetime columns (the first four) */
	for (int i = 0; elapsed && i < Min(ndt, 4); i++)
		for (int j = i + 1; j < Min(ndt, 4); j++)
		{
			MlColumn   *a = &frame->cols[dts[i]],
					   *b = &frame->cols[dts[j]];

			emit_elapsed(c, dts[i], dts[j], new_name(c, b->name, psprintf("minus_%s", a->name)));
		}
}

/*
 * A cast of the polish step (also used to replay a recipe): from text with
 * casts that give NULL instead of failing, or whole-number floats to
 * integers.
 */
static void
emit_cast(Clean *c, int ci, const char *to, bool from_text)
{
	const char *fmt;

	if (from_text)
		fmt = strcmp(to, "bigint") == 0 ? "(mlops.try_cast_numeric(%s::text))::int8" :
			strcmp(to, "numeric") == 0 ? "mlops.try_cast_numeric(%s::text)" :
			strcmp(to, "boolean") == 0 ? "mlops.try_cast_bool(%s::text)" :
			"mlops.try_cast_timestamp(%s::text)";
	else
		fmt = strcmp(to, "integer") == 0 ? "(round(%s))::int4" : "(round(%s))::int8";
	c->source_expr[ci] = psprintf(fmt, c->source_expr[ci]);
	c->rep[ci].cast = pstrdup(to);
	step_open(c, "cast", &c->frame->cols[ci]);
	appendStringInfo(&c->steps, ", \"to\": \"%s\", \"from_text\": %s}", to,
					 from_text ? "true" : "false");
}

/*
 * Text columns declared numeric or datetime (options.roles) were read as
 * numbers or times; the output casts them so, before any other step uses
 * them, with casts that give NULL for a value that does not parse.
 */
static void
cast_declared(Clean *c)
{
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];

		if (TypeCategory(getBaseType(col->typid)) != TYPCATEGORY_STRING || c->rep[ci].cast)
			continue;
		if (col->role == ML_ROLE_NUMERIC && col->kind == ML_KIND_NUMERIC)
			emit_cast(c, ci, col->integral ? "bigint" : "numeric", true);
		else if (col->role == ML_ROLE_DATETIME && col->kind == ML_KIND_DATETIME)
			emit_cast(c, ci, "timestamp", true);
	}
}

/* ---------- polish ---------- */

static const char *const polish_keys[] = {"integers", "text_types", "columns", "skip", NULL};

/*
 * Text columns whose every value is a number, a boolean or a timestamp are
 * cast (with casts that give NULL rather than fail, for new data); float
 * and numeric columns holding only whole numbers become integers. Runs
 * before encoding, so a cast column is not encoded as a category.
 */
static void
step_polish_text(Clean *c, JsonbContainer *st)
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
			col->nlevels == 0 || !step_wants(st, col))
			continue;
		for (int l = 0; l < col->nlevels && (num || boo || ts); l++)
		{
			double		v;

			if (num && !MlTextIsNumber(col->level_text[l], &v))
				num = false;
			else if (num && v != floor(v))
				whole = false;
			if (boo && !MlTextIsBool(col->level_text[l]))
				boo = false;
			if (ts && !MlTextIsTimestamp(col->level_text[l]))
				ts = false;
		}
		if (num || boo || ts)
			emit_cast(c, ci, num ? (whole ? "bigint" : "numeric") : boo ? "boolean" : "timestamp", true);
	}
}

static void
step_polish_integers(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;

	if (!MlOptBool(st, "integers", true))
		return;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		Oid			base = getBaseType(col->typid);
		bool		int4 = col->min >= PG_INT32_MIN && col->max <= PG_INT32_MAX;

		if (col->kind != ML_KIND_NUMERIC || !col->integral || col->nnull == frame->nrows ||
			col->ninfinite > 0 || !c->keep_source[ci] || c->rep[ci].cast ||
			(base != FLOAT4OID && base != FLOAT8OID && base != NUMERICOID) || !step_wants(st, col))
			continue;
		emit_cast(c, ci, int4 ? "integer" : "bigint", false);
	}
}

/* ---------- report and output ---------- */

static void
report_json(Clean *c, StringInfo out)
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
		if (col->kind == ML_KIND_NUMERIC && isfinite(r->min_before))
			appendStringInfo(out, ", \"mean_before\": %.6g, \"min_before\": %.6g, \"max_before\": %.6g",
							 r->mean_before, r->min_before, r->max_before);
		if (r->nulls_after >= 0)
			appendStringInfo(out, ", \"nulls_after\": " INT64_FORMAT, r->nulls_after);
		if (isfinite(r->min_after))
			appendStringInfo(out, ", \"mean_after\": %.6g, \"min_after\": %.6g, \"max_after\": %.6g",
							 r->mean_after, r->min_after, r->max_after);
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
	if (r->filled > 0)
		appendStringInfo(&s, "filled " INT64_FORMAT " by %s; ", r->filled, r->fill_method);
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

/*
 * In place: the cleaned rows replace the old ones and the table takes the
 * cleaned shape (dropped, retyped and added columns), all in the caller's
 * transaction; the table keeps its identity, grants and dependents.
 */
static void
replace_contents(Oid relid, Oid tmpid, Clean *c)
{
	char	   *rel = MlRelName(relid);
	char	   *tmp = MlRelName(tmpid);
	StringInfoData alter,
				cols;
	ListCell   *lc;
	bool		any = false;

	MlSpiExec(psprintf("DELETE FROM %s", rel), 0, NULL, NULL, NULL, SPI_OK_DELETE);
	initStringInfo(&alter);
	appendStringInfo(&alter, "ALTER TABLE %s ", rel);
	for (int ci = 0; ci < c->frame->ncols; ci++)
	{
		MlColumn   *col = &c->frame->cols[ci];
		Oid			t;
		int32		m;
		Oid			coll;

		if (!c->keep_source[ci])
		{
			appendStringInfo(&alter, "%sDROP COLUMN %s", any ? ", " : "", quote_identifier(col->name));
			any = true;
			continue;
		}
		get_atttypetypmodcoll(tmpid, get_attnum(tmpid, col->name), &t, &m, &coll);
		if (t != col->typid || m != col->typmod)
		{
			appendStringInfo(&alter, "%sALTER COLUMN %s TYPE %s USING NULL", any ? ", " : "",
							 quote_identifier(col->name), format_type_with_typemod(t, m));
			any = true;
		}
	}
	initStringInfo(&cols);
	foreach(lc, c->out_names)
	{
		const char *name = lfirst(lc);
		Oid			t;
		int32		m;
		Oid			coll;

		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", quote_identifier(name));
		if (MlFrameColumn(c->frame, name) >= 0)
			continue;
		get_atttypetypmodcoll(tmpid, get_attnum(tmpid, name), &t, &m, &coll);
		appendStringInfo(&alter, "%sADD COLUMN %s %s", any ? ", " : "", quote_identifier(name),
						 format_type_with_typemod(t, m));
		any = true;
	}
	if (any)
		MlSpiExec(alter.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	MlSpiExec(psprintf("INSERT INTO %s (%s) SELECT %s FROM %s", rel, cols.data, cols.data, tmp),
			  0, NULL, NULL, NULL, SPI_OK_INSERT);
	MlSpiExec(psprintf("DROP TABLE %s", tmp), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

static const char *const missing_keys[] = {
	"method", "k", "value", "by", "time_column", "exclude_features", "holdout", "seed",
	"methods", "columns", "skip", "hidden", "epochs", NULL
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
	foreach(lc, all)
		if (step_wants(st, &frame->cols[lfirst_int(lc)]))
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
	step_open(c, "impute", NULL);
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
		char	   *inner;
		char	   *out;

		if (c->rep[ci].filled == 0)
			continue;
		out = new_name(c, col->name, "was_missing");
		inner = new_name(c, "__ml", psprintf("na%d", ci));
		*names = lappend(*names, inner);
		*exprs = lappend(*exprs, psprintf("(t.%s IS NULL)", quote_identifier(col->name)));
		add_output(c, ci, out, psprintf("t.%s", quote_identifier(inner)));
		step_open(c, "indicator", col);
		appendStringInfoString(&c->steps, ", \"name\": ");
		escape_json(&c->steps, out);
		appendStringInfoChar(&c->steps, '}');
	}
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
static Oid
clean_begin(Clean *c, Oid relid, JsonbContainer *roles, const char *target, List *colnames,
			int64 sample)
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
	MlApplyRoles(frame, roles, target);

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
	initStringInfo(&c->steps);
	appendStringInfoChar(&c->steps, '[');
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

/* Everything after the fills is an expression over the filled rows. */
static char *
clean_fills(Clean *c, List *xnames, List *xexprs)
{
	int			nargs;
	Oid		   *types;
	Datum	   *args;
	char	   *from;

	/* the source ctid rides along: target encoding folds rows by it */
	xnames = lappend(list_copy(xnames), "__ml_ctid");
	xexprs = lappend(list_copy(xexprs), "t.ctid");
	c->ctid_expr = "t.__ml_ctid";
	from = MlFillsSubquery(c->frame, c->fills, xnames, xexprs, &nargs, &types, &args);

	for (int i = 0; i < nargs; i++)
		add_param(c, types[i], args[i]);
	return from;
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

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		const char *q = quote_identifier(frame->cols[ci].name);

		c->rep[ci].nulls_after = -1;
		c->rep[ci].mean_after = c->rep[ci].min_after = c->rep[ci].max_after = NAN;
		if (!c->keep_source[ci])
			continue;
		appendStringInfo(&sql, "%spg_catalog.count(*) FILTER (WHERE %s IS NULL)", k++ ? ", " : "", q);
		if (frame->cols[ci].kind == ML_KIND_NUMERIC)
			appendStringInfo(&sql, ", pg_catalog.avg(%s::float8), pg_catalog.min(%s::float8), "
							 "pg_catalog.max(%s::float8)", q, q, q);
	}
	if (k == 0)
		return;
	appendStringInfo(&sql, " FROM %s", table);
	MlSpiExec(sql.data, 0, NULL, NULL, NULL, SPI_OK_SELECT);
	k = 1;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		d;

		if (!c->keep_source[ci])
			continue;
		c->rep[ci].nulls_after = DatumGetInt64(SPI_getbinval(tup, desc, k++, &isnull));
		if (frame->cols[ci].kind != ML_KIND_NUMERIC)
			continue;
		d = SPI_getbinval(tup, desc, k++, &isnull);
		c->rep[ci].mean_after = isnull ? NAN : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, k++, &isnull);
		c->rep[ci].min_after = isnull ? NAN : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, k++, &isnull);
		c->rep[ci].max_after = isnull ? NAN : DatumGetFloat8(d);
	}
}

/*
 * Write the result: kept source columns in place, new columns after them,
 * into a new table or, in place, into the relation itself.
 */
static void
clean_write(Clean *c, Oid relid, const char *into, const char *from)
{
	MlFrame    *frame = c->frame;
	List	   *names = NIL,
			   *exprs = NIL;
	char	   *dest;

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
	dest = into ? pstrdup(into) : pstrdup(quote_identifier(psprintf("ml_clean_%u", relid)));
	MlSpiExec(psprintf("CREATE %sTABLE %s AS %s", into ? "" : "TEMP ", dest, build_select(c, from)),
			  c->nparams, c->ptypes, c->pvalues, NULL, SPI_OK_UTILITY);
	measure_after(c, into ? dest : psprintf("pg_temp.%s", dest));
	if (into == NULL)
		replace_contents(relid,
						 RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(psprintf("pg_temp.%s", dest))),
										  NoLock, false), c);
	/* so that the same call can run again in this transaction */
	if (c->scratch)
		MlSpiExec(psprintf("DROP TABLE %s", c->scratch), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

/* One result row per source column. */
static void
clean_result(Clean *c, ReturnSetInfo *rsinfo, int64 recipe_id)
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
static char *
resolve_into(FunctionCallInfo fcinfo, int argno)
{
	Oid			nspid;
	RangeVar   *rv;

	if (PG_ARGISNULL(argno))
		return NULL;
	rv = MlParseInto(text_to_cstring(PG_GETARG_TEXT_PP(argno)), &nspid);
	return quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
}

static Oid
check_relation(FunctionCallInfo fcinfo, int argno, const char *into)
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
				flags;
	char	   *copy = psprintf("pg_temp.%s", quote_identifier(psprintf("ml_clean_src_%u", relid)));
	bool		on;
	JsonbContainer *st;
	Oid			copyid;
	int64		before,
				after;
	bool		isnull;

	initStringInfo(&flags);
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);

		if (att->attisdropped)
			continue;
		colnames = lappend(colnames, pstrdup(NameStr(att->attname)));
		appendStringInfo(&flags, ", (%s IS NULL) AS %s", quote_identifier(NameStr(att->attname)),
						 quote_identifier(psprintf("__ml_na%d", list_length(colnames) - 1)));
	}
	RelationClose(rel);

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT ", copy);
	st = step_options(opts, "duplicates", true, &on, simple_keys);
	if (on)
	{
		List	   *keys = MlOptStringList(st, "keys");
		ListCell   *lc;

		if (keys == NIL)
			appendStringInfoString(&sql, "DISTINCT ");
		else
		{
			appendStringInfoString(&sql, "DISTINCT ON (");
			foreach(lc, keys)
				appendStringInfo(&sql, "%s%s", foreach_current_index(lc) ? ", " : "",
								 quote_identifier(lfirst(lc)));
			appendStringInfoString(&sql, ") ");
		}
	}
	appendStringInfo(&sql, "*%s FROM %s", flags.data,
					 MlRelName(relid));
	MlSpiExec(sql.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	copyid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(copy)), NoLock, false);
	MlSpiExec(psprintf("SELECT (SELECT pg_catalog.count(*) FROM %s), pg_catalog.count(*) FROM %s",
					   MlRelName(relid), copy),
			  0, NULL, NULL, NULL, SPI_OK_SELECT);
	before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	after = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	MlSpiExec(psprintf("ANALYZE %s", copy), 0, NULL, NULL, NULL, SPI_OK_UTILITY);

	(void) clean_begin(c, copyid, MlOptObject(opts, "roles"), target, colnames,
					   MlSampleRows(list_length(colnames)));
	c->duplicates = before - after;
	{
		/* the report counts the whole table's gaps, not the sample's */
		StringInfoData q;

		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT ");
		for (int ci = 0; ci < c->frame->ncols; ci++)
			appendStringInfo(&q, "%spg_catalog.count(*) FILTER (WHERE %s)", ci ? ", " : "",
							 quote_identifier(psprintf("__ml_na%d", ci)));
		appendStringInfo(&q, " FROM %s", copy);
		MlSpiExec(q.data, 0, NULL, NULL, NULL, SPI_OK_SELECT);
		for (int ci = 0; ci < c->frame->ncols; ci++)
			c->rep[ci].nulls_before = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
																  SPI_tuptable->tupdesc, ci + 1, &isnull));
	}
	if (on)
	{
		step_open(c, "duplicates", NULL);
		appendStringInfo(&c->steps, ", \"keys\": null, \"removed\": " INT64_FORMAT "}", c->duplicates);
	}
	st = step_options(opts, "missing", true, &on, missing_keys);
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
		filled = MlApplyModelsChunked(copyid, models, MlChunkRows(list_length(colnames)));
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
	if (MlOptBool(opts, "indicators", false))
	{
		for (int ci = 0; ci < c->frame->ncols; ci++)
		{
			char	   *out;

			if (c->rep[ci].filled == 0)
				continue;
			out = new_name(c, c->frame->cols[ci].name, "was_missing");
			add_output(c, ci, out, psprintf("t.%s", quote_identifier(psprintf("__ml_na%d", ci))));
			step_open(c, "indicator", &c->frame->cols[ci]);
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
	List	   *xnames = NIL,
			   *xexprs = NIL;
	char	   *from;
	StringInfoData rep;

	MlOptCheckKeys(opts, "cleaning options", clean_keys);
	into = resolve_into(fcinfo, 2);
	relid = check_relation(fcinfo, 0, into);

	InitMaterializedSRF(fcinfo, 0);
	MlProgressStart();
	MlScopeEnter(&scope);
	MlPreferTidJoins();
	target = MlOptString(opts, "target", NULL);
	{
		char	   *ptarget = MlProjectTarget(relid, &project_id);

		if (target == NULL)
			target = ptarget;
	}
	if (large_table(relid))
		from = clean_large(&c, relid, opts, target);
	else
	{
		(void) clean_begin(&c, relid, MlOptObject(opts, "roles"), target, NIL, 0);
		st = step_options(opts, "duplicates", true, &on, simple_keys);
		if (on)
			step_duplicates(&c, st);
		st = step_options(opts, "missing", true, &on, missing_keys);
		if (on)
			step_missing(&c, st, target);
		if (MlOptBool(opts, "indicators", false))
			step_indicators(&c, &xnames, &xexprs);
		from = clean_fills(&c, xnames, xexprs);
	}
	cast_declared(&c);
	st = step_options(opts, "outliers", true, &on, outlier_keys);
	if (on)
		step_outliers(&c, st);
	st = step_options(opts, "polish", true, &on, polish_keys);
	if (on)
		step_polish_text(&c, st);
	st = step_options(opts, "encode", true, &on, encode_keys);
	if (on)
		step_encode(&c, st);
	st = step_options(opts, "datetime", true, &on, datetime_keys);
	if (on)
		step_datetime(&c, st);
	st = step_options(opts, "polish", true, &on, polish_keys);
	if (on)
		step_polish_integers(&c, st);
	clean_write(&c, relid, into, from);

	initStringInfo(&rep);
	report_json(&c, &rep);
	clean_result(&c, rsinfo,
				 MlStoreRecipe(&scope, relid, "clean",
							   optsj ? JsonbToCString(NULL, &optsj->root, VARSIZE(optsj)) : "{}",
							   c.steps.data, rep.data, project_id));
	MlScopeExit(&scope);
	return (Datum) 0;
}

/* ---------- ml_apply_recipe ---------- */

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
	return ci;
}

/* Replay the steps that change cells before anything else is computed. */
static void
replay_fills(Clean *c, JsonbContainer *step, const char *kind, List **xnames, List **xexprs)
{
	if (strcmp(kind, "duplicates") == 0)
		step_duplicates(c, step);
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
	else if (strcmp(kind, "indicator") == 0)
	{
		int			ci = step_column(c, step, "column");
		char	   *inner = new_name(c, "__ml", psprintf("na%d", ci));

		*xnames = lappend(*xnames, inner);
		*xexprs = lappend(*xexprs, psprintf("(t.%s IS NULL)", quote_identifier(c->frame->cols[ci].name)));
		add_output(c, ci, MlOptString(step, "name", NULL), psprintf("t.%s", quote_identifier(inner)));
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
		emit_outlier(c, ci, MlOptString(step, "method", "iqr"), MlOptNumber(step, "k", 1.5),
					 MlOptString(step, "action", "winsorize"), MlOptNumber(step, "lo", -INFINITY),
					 MlOptNumber(step, "hi", INFINITY), by, list_to_array(groups), glo, ghi,
					 (int) Min(ng, Min(nlo, nhi)), MlOptString(step, "name", NULL));
		c->rep[ci].outliers = -1;	/* bounds applied; not counted */
	}
	else if (strcmp(kind, "cast") == 0)
		emit_cast(c, step_column(c, step, "column"), MlOptString(step, "to", "bigint"),
				  MlOptBool(step, "from_text", false));
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

			emit_target(c, ci, list_to_array(levels), (int) Min(ne, list_length(levels)), enc, NULL,
						MlOptNumber(step, "prior", 0), MlOptNumber(step, "smoothing", 10),
						MlOptString(step, "name", NULL), keep);
		}
		else if (strcmp(method, "onehot") == 0)
			emit_onehot(c, ci, list_to_array(levels), list_length(levels),
						list_length(names) > list_length(levels), list_to_array(names), keep);
		else if (strcmp(method, "hashing") == 0)
			emit_hashing(c, ci, (int) MlOptNumber(step, "buckets", 16), list_to_array(names), keep);
		else
		{
			int64		nf;
			double	   *freq = MlOptNumbers(step, "frequencies", &nf);

			emit_ordinal_freq(c, ci, strcmp(method, "ordinal") == 0, list_to_array(levels), freq,
							  list_length(levels), MlOptString(step, "name", NULL), keep);
		}
	}
	else if (strcmp(kind, "datetime") == 0)
	{
		int			ci = step_column(c, step, "column");

		emit_datetime(c, ci, json_text_items(step, "parts"), json_text_items(step, "names"));
		appendStringInfoChar(&c->steps, '}');
		if (!MlOptBool(step, "keep_original", true))
		{
			c->keep_source[ci] = false;
			c->rep[ci].dropped = true;
		}
	}
	else if (strcmp(kind, "elapsed") == 0)
		emit_elapsed(c, step_column(c, step, "from"), step_column(c, step, "column"),
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
	into = resolve_into(fcinfo, 2);
	relid = check_relation(fcinfo, 1, into);

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
	steps = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	ropts = DatumGetJsonbPCopy(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));

	/* the roles the run declared read the new rows the same way */
	{
		JsonbContainer *o = &ropts->root;
		JsonbContainer *inner = MlOptObject(o, "options");

		readid = clean_begin(&c, relid, MlOptObject(inner ? inner : o, "roles"),
							 MlOptString(inner ? inner : o, "target", NULL), NIL, 0);
	}
	replay(&c, &steps->root, true, &xnames, &xexprs);
	if (strcmp(kind, "impute") == 0)
	{
		/* imputation recipes change cells only, as ml_impute does */
		MlFillsWrite(c.frame, c.fills, into);
	}
	else
	{
		from = clean_fills(&c, xnames, xexprs);
		replay(&c, &steps->root, false, NULL, NULL);
		clean_write(&c, readid, into, from);
	}
	{
		const char *keys[2] = {"recipe_id", "into_table"};
		const char *vals[2] = {psprintf(INT64_FORMAT, recipe_id), into};

		MlAudit(&scope, "apply_recipe", "relation",
				MlRelName(relid), 0, 2, keys, vals);
	}
	clean_result(&c, rsinfo, recipe_id);
	MlScopeExit(&scope);
	return (Datum) 0;
}
