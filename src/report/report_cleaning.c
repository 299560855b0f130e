/*
 * report_cleaning.c
 *	  The cleaning report: what the latest cleaning recipe of the project's
 *	  relation did (its steps, and per column the counts of its report in
 *	  mlops.recipes), missing values per column before and after, and each
 *	  column's histogram before and after cleaning from
 *	  mlops.column_profiles (written by ml_clean / ml_impute).
 *
 * Everything is read as the caller: recipes and profiles it may not see
 * (row-level security: a profile needs the right to read its column) are
 * left out. Stored figures are validated before they are drawn: arrays of
 * the wrong length or with non-numbers are reported, not plotted.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "core/options.h"
#include "report/report.h"

#define MAX_BINS 1000

typedef struct Recipe
{
	int64		id;
	char	   *kind;
	char	   *created_by;
	char	   *created_at;
	char	   *steps;
	char	   *report;
	char	   *relation;
} Recipe;

/* One profile row: a column in one phase. */
typedef struct Profile
{
	char	   *column;
	char	   *phase;
	char	   *kind;
	double		rows,
				missing,
				distinct,
				outliers,
				min,
				max,
				mean;
	int			nedges,
				ncounts,
				nlevels;
	double	   *edges;
	double	   *counts;
	char	  **levels;
} Profile;

static Recipe *
pick_recipe(MlReport *r, int64 recipe)
{
	Oid			types[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4] = {Int64GetDatum(r->project->id), Int64GetDatum(recipe),
		CStringGetTextDatum(r->project->relation_schema), CStringGetTextDatum(r->project->relation_name)};
	Recipe	   *rc = palloc0(sizeof(Recipe));
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	MlSpiExec("SELECT id, kind, created_by, "
			  "  pg_catalog.to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), "
			  "  steps::pg_catalog.text, COALESCE(report, '[]')::pg_catalog.text, "
			  "  pg_catalog.format('%I.%I', source_schema, source_name) "
			  "FROM mlops.recipes "
			  "WHERE (project_id OPERATOR(pg_catalog.=) $1 "
			  "       OR (source_schema OPERATOR(pg_catalog.=) $3 AND source_name OPERATOR(pg_catalog.=) $4)) "
			  "  AND kind OPERATOR(pg_catalog.<>) 'train' "	/* ml_train's own: no cleaning */
			  "  AND ($2 OPERATOR(pg_catalog.=) 0 OR id OPERATOR(pg_catalog.=) $2) "
			  "ORDER BY id DESC LIMIT 1",
			  4, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0 && recipe > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("recipe %lld is not a recipe of project \"%s\" or of its relation",
						(long long) recipe, r->project->name),
				 errhint("The recipes you can see are listed in mlops.recipes.")));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no cleaning recipe to report on", r->project->name),
				 errhint("Clean its relation with ml_clean() or ml_impute() first.")));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	rc->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	rc->kind = SPI_getvalue(t, d, 2);
	rc->created_by = SPI_getvalue(t, d, 3);
	rc->created_at = SPI_getvalue(t, d, 4);
	rc->steps = SPI_getvalue(t, d, 5);
	rc->report = SPI_getvalue(t, d, 6);
	rc->relation = SPI_getvalue(t, d, 7);
	return rc;
}

static void
recipe_section(MlReport *r, Recipe *rc)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(rc->steps)};
	xmlNodePtr	sec = MlHtmlSection(r, "Recipe");
	static const char *const heads[2] = {"", "value"};
	static const char *const sheads[3] = {"#", "step", "columns"};
	xmlNodePtr	tab = MlHtmlTable(sec, 2, heads);
	const char *rows[][2] = {
		{"recipe", psprintf("%lld", (long long) rc->id)},
		{"kind", rc->kind},
		{"relation", rc->relation},
		{"created by", rc->created_by},
		{"created", rc->created_at},
	};

	for (int i = 0; i < (int) lengthof(rows); i++)
		MlHtmlRow(tab, 2, rows[i]);
	MlSpiExec("SELECT o::pg_catalog.text, COALESCE(e OPERATOR(pg_catalog.->>) 'step', e OPERATOR(pg_catalog.->>) 'method', '?'), "
			  "  COALESCE(e OPERATOR(pg_catalog.->>) 'column', "
			  "           (e OPERATOR(pg_catalog.->) 'columns')::pg_catalog.text, '') "
			  "FROM pg_catalog.jsonb_array_elements("
			  "  CASE WHEN pg_catalog.jsonb_typeof($1::pg_catalog.jsonb) OPERATOR(pg_catalog.=) 'array' "
			  "       THEN $1::pg_catalog.jsonb ELSE '[]' END) WITH ORDINALITY AS s(e, o) "
			  "ORDER BY o LIMIT 200",
			  1, types, values, NULL, SPI_OK_SELECT);
	MlJsonKeyNumber(&r->content, "steps", (double) SPI_processed);
	if (SPI_processed == 0)
		return;
	MlHtmlElem(sec, "h3", "Steps");
	MlReportSpiTable(sec, 3, sheads);
}

/*
 * The stored report is read below with typed columns (bigint counts): an
 * element that is not an object, or a count that is not a whole number,
 * is a damaged row, refused before that read fails on it.
 */
static void
check_report(Recipe *rc)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(rc->report)};
	bool		isnull;

	MlSpiExec("SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements("
			  "  CASE WHEN pg_catalog.jsonb_typeof($1::pg_catalog.jsonb) OPERATOR(pg_catalog.=) 'array' "
			  "       THEN $1::pg_catalog.jsonb ELSE '[]' END) e "
			  "WHERE CASE WHEN pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.<>) 'object' THEN true "
			  "  ELSE EXISTS (SELECT 1 FROM pg_catalog.unnest('{nulls_before,filled,outliers,nulls_after}'::pg_catalog.text[]) k "
			  "    WHERE COALESCE(pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) k), 'null') OPERATOR(pg_catalog.<>) 'null' "
			  "      AND COALESCE(e OPERATOR(pg_catalog.->>) k, '') OPERATOR(pg_catalog.!~) '^-?[0-9]{1,18}$') END",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the stored report of recipe " INT64_FORMAT " is malformed", rc->id),
				 errdetail("Its elements must be objects, and their counts whole numbers."),
				 errhint("Its row in mlops.recipes was altered: run the cleaning again.")));
}

/* The recipe's report per column, and missing values before and after as paired bars. */
static void
columns_section(MlReport *r, Recipe *rc)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(rc->report)};
	xmlNodePtr	sec = MlHtmlSection(r, "What was done per column");
	static const char *const heads[9] = {"column", "kind", "missing before", "filled", "fill method",
	"outliers", "outlier action", "missing after", "encoding"};
	static const char *const series[2] = {"missing before", "missing after"};
	xmlNodePtr	tab;
	int			n;
	const char **labels;
	double	   *bars;
	StringInfoData o;

	check_report(rc);
	MlSpiExec("SELECT x.\"column\", x.kind, x.nulls_before::pg_catalog.text, x.filled::pg_catalog.text, "
			  "  x.fill_method, x.outliers::pg_catalog.text, x.outlier_action, x.nulls_after::pg_catalog.text, "
			  "  x.encoding, COALESCE(x.nulls_before, 0)::pg_catalog.float8, "
			  "  COALESCE(x.nulls_after, x.nulls_before OPERATOR(pg_catalog.-) COALESCE(x.filled, 0), 0)::pg_catalog.float8 "
			  "FROM pg_catalog.jsonb_to_recordset("
			  "  CASE WHEN pg_catalog.jsonb_typeof($1::pg_catalog.jsonb) OPERATOR(pg_catalog.=) 'array' "
			  "       THEN $1::pg_catalog.jsonb ELSE '[]' END) "
			  "  AS x(\"column\" text, kind text, nulls_before bigint, filled bigint, fill_method text, "
			  "       outliers bigint, outlier_action text, nulls_after bigint, encoding text) "
			  "LIMIT 500",
			  1, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	labels = palloc(sizeof(char *) * Max(n, 1));
	bars = palloc(sizeof(double) * 2 * Max(n, 1));
	tab = MlHtmlTable(sec, 9, heads);
	initStringInfo(&o);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		const char *cells[9];
		bool		isnull;

		for (int c = 0; c < 9; c++)
			cells[c] = SPI_getvalue(t, d, c + 1);
		if (cells[0] == NULL)
			cells[0] = "?";
		MlHtmlRow(tab, 9, cells);
		labels[i] = cells[0];
		bars[i] = DatumGetFloat8(SPI_getbinval(t, d, 10, &isnull));
		bars[n + i] = DatumGetFloat8(SPI_getbinval(t, d, 11, &isnull));
		MlJsonKey(&o, cells[0]);
		appendStringInfoString(&o, "{\"missing_before\": ");
		MlJsonNumber(&o, bars[i]);
		appendStringInfoString(&o, ", \"missing_after\": ");
		MlJsonNumber(&o, bars[n + i]);
		appendStringInfo(&o, ", \"filled\": %s, \"outliers\": %s}",
						 cells[3] ? cells[3] : "null", cells[5] ? cells[5] : "null");
	}
	MlJsonKey(&r->content, "columns");
	appendStringInfo(&r->content, "{%s}", o.data);
	if (n > 0)
	{
		MlSvgGroupedBars(r, "Missing values before and after cleaning", "rows", n, labels, 2, series, bars);
		MlHtmlChart(r, sec);
	}
}

/* A float8[] of a profile row, NULL elements as NaN; *n its length. */
static double *
float_array(HeapTuple t, TupleDesc d, int att, int *n)
{
	bool		isnull;
	Datum		a = SPI_getbinval(t, d, att, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	double	   *out;

	*n = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(a), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, n);
	out = palloc(sizeof(double) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
	return out;
}

static double
number_or_nan(HeapTuple t, TupleDesc d, int att)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, att, &isnull);

	return isnull ? NAN : DatumGetFloat8(v);
}

/* The recipe's profiles the caller may see, before then after per column. */
static int
read_profiles(int64 recipe, Profile **out)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(recipe)};
	Profile    *p;
	int			n;

	MlSpiExec("WITH p AS (SELECT *, "
			  "  CASE WHEN pg_catalog.jsonb_typeof(histogram) OPERATOR(pg_catalog.=) 'object' THEN histogram ELSE '{}' END AS h "
			  "  FROM mlops.column_profiles WHERE recipe_id OPERATOR(pg_catalog.=) $1) "
			  "SELECT column_name::pg_catalog.text, phase, kind, rows::pg_catalog.float8, missing::pg_catalog.float8, "
			  "  distinct_values::pg_catalog.float8, outliers::pg_catalog.float8, min, max, mean, "
			  "  ARRAY(SELECT CASE WHEN pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.=) 'number' "
			  "                    THEN e::pg_catalog.text::pg_catalog.float8 END "
			  "        FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(h OPERATOR(pg_catalog.->) 'edges') "
			  "             OPERATOR(pg_catalog.=) 'array' THEN h OPERATOR(pg_catalog.->) 'edges' ELSE '[]' END) "
			  "             WITH ORDINALITY AS a(e, o) ORDER BY o), "
			  "  ARRAY(SELECT CASE WHEN pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.=) 'number' "
			  "                    THEN e::pg_catalog.text::pg_catalog.float8 END "
			  "        FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(h OPERATOR(pg_catalog.->) 'counts') "
			  "             OPERATOR(pg_catalog.=) 'array' THEN h OPERATOR(pg_catalog.->) 'counts' ELSE '[]' END) "
			  "             WITH ORDINALITY AS a(e, o) ORDER BY o), "
			  "  ARRAY(SELECT e OPERATOR(pg_catalog.#>>) '{}' "
			  "        FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(h OPERATOR(pg_catalog.->) 'levels') "
			  "             OPERATOR(pg_catalog.=) 'array' THEN h OPERATOR(pg_catalog.->) 'levels' ELSE '[]' END) "
			  "             WITH ORDINALITY AS a(e, o) ORDER BY o) "
			  "FROM p ORDER BY column_name, phase DESC LIMIT 1000",
			  1, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	p = palloc0(sizeof(Profile) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		lv;

		p[i].column = SPI_getvalue(t, d, 1);
		p[i].phase = SPI_getvalue(t, d, 2);
		p[i].kind = SPI_getvalue(t, d, 3);
		p[i].rows = number_or_nan(t, d, 4);
		p[i].missing = number_or_nan(t, d, 5);
		p[i].distinct = number_or_nan(t, d, 6);
		p[i].outliers = number_or_nan(t, d, 7);
		p[i].min = number_or_nan(t, d, 8);
		p[i].max = number_or_nan(t, d, 9);
		p[i].mean = number_or_nan(t, d, 10);
		p[i].edges = float_array(t, d, 11, &p[i].nedges);
		p[i].counts = float_array(t, d, 12, &p[i].ncounts);
		lv = SPI_getbinval(t, d, 13, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;

			deconstruct_array(DatumGetArrayTypeP(lv), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &p[i].nlevels);
			p[i].levels = palloc(sizeof(char *) * Max(p[i].nlevels, 1));
			for (int k = 0; k < p[i].nlevels; k++)
				p[i].levels[k] = nulls[k] ? "(null)" : TextDatumGetCString(elems[k]);
		}
	}
	*out = p;
	return n;
}

static bool
all_finite(const double *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}

/* Numeric bins: the same edges in both phases (one run bins both), increasing. */
static bool
numeric_pair(Profile *b, Profile *a, double **pair, StringInfo o)
{
	double	   *counts;
	int			nb = b->ncounts;

	if (nb < 1 || nb > MAX_BINS || b->nedges != nb + 1 || a->nedges != nb + 1 || a->ncounts != nb ||
		!all_finite(b->edges, nb + 1) || !all_finite(a->edges, nb + 1) ||
		!all_finite(b->counts, nb) || !all_finite(a->counts, nb))
		return false;
	for (int i = 0; i <= nb; i++)
		if (b->edges[i] != a->edges[i] || (i > 0 && b->edges[i] < b->edges[i - 1]))
			return false;
	counts = palloc(sizeof(double) * 2 * nb);
	memcpy(counts, b->counts, sizeof(double) * nb);
	memcpy(counts + nb, a->counts, sizeof(double) * nb);
	*pair = counts;
	appendStringInfoString(o, "{\"edges\": [");
	for (int i = 0; i <= nb; i++)
	{
		if (i > 0)
			appendStringInfoString(o, ", ");
		MlJsonNumber(o, b->edges[i]);
	}
	appendStringInfoString(o, "], \"before\": [");
	for (int i = 0; i < nb; i++)
		appendStringInfo(o, "%s%.0f", i ? ", " : "", b->counts[i]);
	appendStringInfoString(o, "], \"after\": [");
	for (int i = 0; i < nb; i++)
		appendStringInfo(o, "%s%.0f", i ? ", " : "", a->counts[i]);
	appendStringInfoString(o, "]}");
	return true;
}

/* Category levels: those of either phase (before's first), counts per phase. */
static int
level_pair(Profile *b, Profile *a, const char ***labels, double **counts)
{
	int			cap = b->nlevels + a->nlevels;
	const char **l = palloc(sizeof(char *) * Max(cap, 1));
	double	   *c;
	int			n = 0;

	if (b->nlevels != b->ncounts || a->nlevels != a->ncounts || cap > 2 * MAX_BINS ||
		!all_finite(b->counts, b->ncounts) || !all_finite(a->counts, a->ncounts))
		return -1;
	for (int ph = 0; ph < 2; ph++)
	{
		Profile    *p = ph == 0 ? b : a;

		for (int k = 0; k < p->nlevels; k++)
		{
			int			j;

			for (j = 0; j < n; j++)
				if (strcmp(l[j], p->levels[k]) == 0)
					break;
			if (j == n)
				l[n++] = p->levels[k];
		}
	}
	c = palloc0(sizeof(double) * 2 * Max(n, 1));
	for (int ph = 0; ph < 2; ph++)
	{
		Profile    *p = ph == 0 ? b : a;

		for (int k = 0; k < p->nlevels; k++)
			for (int j = 0; j < n; j++)
				if (strcmp(l[j], p->levels[k]) == 0)
					c[ph * n + j] = p->counts[k];
	}
	*labels = l;
	*counts = c;
	return n;
}

static void
histograms_section(MlReport *r, Recipe *rc, int max_columns)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Distributions before and after cleaning");
	xmlNodePtr	charts;
	static const char *const heads[8] = {"column", "phase", "rows", "missing", "distinct", "outliers", "min - max", "mean"};
	static const char *const series[2] = {"before", "after"};
	xmlNodePtr	tab;
	Profile    *p;
	int			n = read_profiles(rc->id, &p);
	int			shown = 0;
	StringInfoData o;

	MlJsonKeyNumber(&r->built_from, "profiles", n);
	if (n == 0)
	{
		MlHtmlElem(sec, "p", "No column profiles of this recipe that you may see (profiles are written by "
				   "ml_clean and ml_impute since version 0.3.0, and shown for the columns you may read).");
		return;
	}
	tab = MlHtmlTable(sec, 8, heads);
	for (int i = 0; i < n; i++)
	{
		const char *cells[8] = {p[i].column, p[i].phase, MlFormatNumber(p[i].rows), MlFormatNumber(p[i].missing),
			isnan(p[i].distinct) ? "" : MlFormatNumber(p[i].distinct),
			isnan(p[i].outliers) ? "" : MlFormatNumber(p[i].outliers),
			isnan(p[i].min) ? "" : psprintf("%s - %s", MlFormatNumber(p[i].min), MlFormatNumber(p[i].max)),
		isnan(p[i].mean) ? "" : MlFormatNumber(p[i].mean)};

		MlHtmlRow(tab, 8, cells);
	}
	charts = MlHtmlElem(sec, "div", NULL);
	MlHtmlAttr(charts, "class", "charts");
	initStringInfo(&o);
	for (int i = 0; i + 1 < n && shown < max_columns; i++)
	{
		Profile    *b = &p[i],
				   *a = &p[i + 1];
		const char *title;

		if (strcmp(b->column, a->column) != 0 || strcmp(b->phase, "before") != 0 ||
			strcmp(a->phase, "after") != 0)
			continue;
		i++;
		title = psprintf("%s: before and after", b->column);
		if (strcmp(b->kind, "numeric") == 0 || strcmp(b->kind, "datetime") == 0)
		{
			StringInfoData h;
			double	   *counts;

			initStringInfo(&h);
			if (!numeric_pair(b, a, &counts, &h))
				continue;
			MlSvgHistogram(r, title, strcmp(b->kind, "datetime") == 0 ? psprintf("%s (epoch seconds)", b->column)
						   : b->column, b->ncounts, b->edges, 2, series, counts);
			MlJsonKey(&o, b->column);
			appendStringInfoString(&o, h.data);
		}
		else if (b->nlevels > 0 || a->nlevels > 0)
		{
			const char **labels;
			double	   *counts;
			int			nl = level_pair(b, a, &labels, &counts);

			if (nl <= 0)
				continue;
			MlSvgGroupedBars(r, title, "rows", nl, labels, 2, series, counts);
			MlJsonKey(&o, b->column);
			appendStringInfoString(&o, "{\"levels\": [");
			for (int k = 0; k < nl; k++)
			{
				if (k > 0)
					appendStringInfoString(&o, ", ");
				escape_json(&o, labels[k]);
			}
			appendStringInfoString(&o, "], \"before\": [");
			for (int k = 0; k < nl; k++)
				appendStringInfo(&o, "%s%.0f", k ? ", " : "", counts[k]);
			appendStringInfoString(&o, "], \"after\": [");
			for (int k = 0; k < nl; k++)
				appendStringInfo(&o, "%s%.0f", k ? ", " : "", counts[nl + k]);
			appendStringInfoString(&o, "]}");
		}
		else
			continue;
		MlHtmlChart(r, charts);
		shown++;
		CHECK_FOR_INTERRUPTS();
	}
	MlJsonKey(&r->content, "histograms");
	appendStringInfo(&r->content, "{%s}", o.data);
	MlJsonKeyNumber(&r->built_from, "histograms", shown);
}

void
MlReportCleaning(MlReport *r)
{
	static const char *const valid[] = {"title", "inline_svg", "recipe", "columns", NULL};
	int64		recipe;
	int			max_columns;
	Recipe	   *rc;

	MlOptCheckKeys(r->options, "cleaning report options", valid);
	recipe = MlOptGet(r->options, "recipe") ? MlOptInt(r->options, "recipe", 1, 1, PG_INT32_MAX) : 0;
	max_columns = MlOptInt(r->options, "columns", 24, 1, 200);
	rc = pick_recipe(r, recipe);
	r->recipe_id = rc->id;
	MlJsonKeyNumber(&r->built_from, "recipe_id", (double) rc->id);
	MlJsonKeyString(&r->built_from, "relation", rc->relation);
	MlJsonKeyNumber(&r->content, "recipe_id", (double) rc->id);
	MlHtmlBegin(r, r->title, psprintf("Project %s: recipe %lld (%s) of %s", r->project->name,
									  (long long) rc->id, rc->kind, rc->relation));
	recipe_section(r, rc);
	columns_section(r, rc);
	histograms_section(r, rc, max_columns);
}
