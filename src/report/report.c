/*
 * report.c
 *	  ml_report(project, kind, options): one report of a project built by
 *	  its kind's builder (report_model.c, report_cleaning.c, report_jobs.c,
 *	  report_drift.c) and stored as the next version of that kind in
 *	  mlops.reports, with what it was built from and the numbers it shows.
 *
 * Analysts and engineers who can see the project may build its reports.
 * Everything a report shows is read as the caller, so privileges and
 * row-level security decide what goes in it; only the new row and its
 * audit entry are written as the extension owner. The libxml2 documents
 * are malloc'ed: they are freed on success and on every error path.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "core/options.h"
#include "report/report.h"

PG_FUNCTION_INFO_V1(ml_report);

typedef void (*ReportBuilder) (MlReport *r);

static const struct
{
	const char *kind;
	const char *label;
	ReportBuilder build;
}			kinds[] =
{
	{"model", "Model", MlReportModel},
	{"cleaning", "Cleaning", MlReportCleaning},
	{"drift", "Drift", MlReportDrift},
	{"jobs", "Jobs", MlReportJobs},
};

void
MlJsonKey(StringInfo s, const char *key)
{
	if (s->len > 0)
		appendStringInfoString(s, ", ");
	escape_json(s, key);
	appendStringInfoString(s, ": ");
}

void
MlJsonKeyNumber(StringInfo s, const char *key, double v)
{
	MlJsonKey(s, key);
	MlJsonNumber(s, v);
}

void
MlJsonKeyString(StringInfo s, const char *key, const char *v)
{
	MlJsonKey(s, key);
	if (v)
		escape_json(s, v);
	else
		appendStringInfoString(s, "null");
}

/* The first column of the first row of a query (NULL: no row or a NULL), as the current user. */
char *
MlReportQueryValue(const char *sql, int nargs, Oid *types, Datum *values)
{
	MlSpiExec(sql, nargs, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Rows of (label text, value float8) from a query, copied out into
 * arrays; a NULL label reads "(null)", a NULL value NaN. Returns the count.
 */
int
MlReportPairs(const char *sql, int nargs, Oid *types, Datum *values, char ***labels, double **vals)
{
	int			n;

	MlSpiExec(sql, nargs, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	*labels = palloc(sizeof(char *) * Max(n, 1));
	*vals = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		d;
		char	   *l = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);

		(*labels)[i] = l ? l : pstrdup("(null)");
		d = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull);
		(*vals)[i] = isnull ? NAN : DatumGetFloat8(d);
	}
	return n;
}

/* A table of the last query's rows, its first ncols columns as text. */
void
MlReportSpiTable(xmlNodePtr parent, int ncols, const char *const *heads)
{
	xmlNodePtr	tab = MlHtmlTable(parent, ncols, heads);
	const char **cells = palloc(sizeof(char *) * ncols);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		for (int c = 0; c < ncols; c++)
			cells[c] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1);
		MlHtmlRow(tab, ncols, cells);
	}
}

static int
kind_index(const char *kind)
{
	for (int i = 0; i < (int) lengthof(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown report kind \"%s\"", kind),
			 errhint("Report kinds are model, cleaning, drift and jobs.")));
	return -1;					/* keep the compiler quiet */
}

static Datum
jsonb_of(const char *members)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(psprintf("{%s}", members)));
}

/*
 * The row, as the extension owner: the next version of the kind for the
 * project, numbered under the project's row lock (concurrent builders
 * wait for each other), and its id.
 */
static int64
store(MlReport *r, const char *html, int32 *version)
{
	Oid			types[11] = {INT8OID, TEXTOID, INT8OID, INT8OID, TEXTOID, JSONBOID, JSONBOID,
	TEXTOID, NAMEOID, OIDOID, INT4OID};
	Datum		values[11];
	char		nulls[11] = "           ";
	int32		last;
	Oid			ltypes[1] = {INT8OID};
	bool		isnull;
	int64		id;

	values[0] = Int64GetDatum(r->project->id);
	values[1] = CStringGetTextDatum(r->kind);
	values[2] = Int64GetDatum(r->model_id);
	nulls[2] = r->model_id > 0 ? ' ' : 'n';
	values[3] = Int64GetDatum(r->recipe_id);
	nulls[3] = r->recipe_id > 0 ? ' ' : 'n';
	values[4] = CStringGetTextDatum(r->title);
	values[5] = jsonb_of(r->content.data);
	values[6] = jsonb_of(r->built_from.data);
	values[7] = CStringGetTextDatum(html);
	values[8] = DirectFunctionCall1(namein, CStringGetDatum(r->scope->caller_name));
	values[9] = ObjectIdGetDatum(r->scope->caller);

	MlScopeAsOwner(r->scope);
	MlSpiExec("SELECT 1 FROM mlops.projects WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, ltypes, values, NULL, SPI_OK_SELECT);
	/* counted here, not in SQL: the last number (an altered row) is an error of ours */
	MlSpiExec("SELECT COALESCE(pg_catalog.max(version), 0) "
			  "FROM mlops.reports WHERE project_id OPERATOR(pg_catalog.=) $1 AND kind OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_SELECT);
	last = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (last == PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("project \"%s\" has no %s report number left", r->project->name, r->kind),
				 errhint("Delete its old %s reports from mlops.reports.", r->kind)));
	values[10] = Int32GetDatum(last + 1);
	MlSpiExec("INSERT INTO mlops.reports (project_id, kind, version, model_id, recipe_id, name, title, "
			  "  content, built_from, html, created_by, created_by_oid) "
			  "VALUES ($1, $2, $11, $3, $4, $5, $5, $6, $7, $8, $9, $10) RETURNING id",
			  11, types, values, nulls, SPI_OK_INSERT_RETURNING);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*version = last + 1;
	MlScopeAsCaller(r->scope);
	return id;
}

/* The build, with the libxml2 documents freed whatever happens. */
static char *
build(MlReport *r, ReportBuilder fn)
{
	char	   *html = NULL;

	PG_TRY();
	{
		fn(r);
		{
			xmlNodePtr	footer = MlHtmlElem(xmlGetLastChild(xmlDocGetRootElement(r->doc)), "div", NULL);

			MlHtmlAttr(footer, "class", "footer");
			MlHtmlElem(footer, "p", psprintf("Built by pg_mlops for %s. Numbers shown are stored with the report (mlops.reports.content).",
											 r->scope->caller_name));
		}
		html = MlHtmlSerialize(r);
	}
	PG_CATCH();
	{
		MlHtmlFree(r);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MlHtmlFree(r);
	return html;
}

/* ml_report(project text, kind text DEFAULT 'model', options jsonb DEFAULT '{}') RETURNS bigint */
Datum
ml_report(PG_FUNCTION_ARGS)
{
	char	   *project = MlTextArg(fcinfo, 0, "project");
	char	   *kind = MlTextArg(fcinfo, 1, "kind");
	Jsonb	   *options = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	int			k = kind_index(kind);
	MlScope		scope;
	MlReport	r;
	MemoryContext cxt,
				old;
	char	   *html;
	int64		id;
	int32		version;

	if (options && !JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("report options must be a JSON object")));
	MlScopeEnter(&scope);
	if (!MlCallerHasRole(&scope, "ml_analyst") && !MlCallerHasRole(&scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to build reports"),
				 errdetail("Analysts and engineers build reports; consumers read published ones in ml_published_reports.")));
	memset(&r, 0, sizeof(r));
	r.scope = &scope;
	r.project = MlProjectLookup(&scope, project);
	if (r.project->access == ML_ACCESS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to build reports of project \"%s\"", r.project->name)));
	r.kind = kinds[k].kind;
	r.options = options ? &options->root : NULL;
	r.inline_svg = MlOptBool(r.options, "inline_svg", false);
	r.title = MlOptString(r.options, "title", NULL);
	if (r.title == NULL)
		r.title = psprintf("%s report: %s", kinds[k].label, r.project->name);
	else if (strlen(r.title) == 0 || strlen(r.title) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("report option \"title\" must have 1 to 200 characters")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_report", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	initStringInfo(&r.content);
	initStringInfo(&r.built_from);
	MlJsonKeyString(&r.built_from, "project", r.project->name);
	MlJsonKeyNumber(&r.built_from, "project_id", (double) r.project->id);
	MlJsonKey(&r.built_from, "options");
	appendStringInfoString(&r.built_from, options ? JsonbToCString(NULL, &options->root, VARSIZE(options)) : "{}");
	MlScopeAsCaller(&scope);
	html = build(&r, kinds[k].build);
	id = store(&r, html, &version);
	{
		const char *keys[4] = {"kind", "version", "report", "options"};
		const char *vals[4] = {r.kind, psprintf("%d", version), psprintf("%lld", (long long) id),
			options ? JsonbToCString(NULL, &options->root, VARSIZE(options)) : NULL};

		MlAudit(&scope, "report", "report", r.project->name, r.project->id, 4, keys, vals);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	PG_RETURN_INT64(id);
}
