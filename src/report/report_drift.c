/*
 * report_drift.c
 *	  The drift report: for the project's deployed model, per feature (and
 *	  the prediction distribution) the population stability index between
 *	  the training data and the rows scored in the window, with the alert
 *	  threshold, the missing-rate change, and paired bars of the training
 *	  and scored shares per bin.
 *
 * The figures come from the ml_drift view (src/drift/), read as the
 * caller; its arrays are validated (equal lengths, finite shares) before
 * they are drawn. Without drift data the report is an error that says how
 * to get some.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "core/options.h"
#include "report/report.h"

#define MAX_DRIFT_BINS 200

typedef struct Feature
{
	char	   *name;
	int32		version;
	double		psi,
				miss_train,
				miss_scored,
				rows;
	bool		drifted;
	char	   *window_start;
	char	   *window_end;
	int			nbins;
	char	  **labels;
	double	   *train;
	double	   *scored;
	bool		valid;
} Feature;

static double
num(HeapTuple t, TupleDesc d, int att)
{
	bool		isnull;
	Datum		v = SPI_getbinval(t, d, att, &isnull);

	return isnull ? NAN : DatumGetFloat8(v);
}

static int
float_array(HeapTuple t, TupleDesc d, int att, double **out)
{
	bool		isnull;
	Datum		a = SPI_getbinval(t, d, att, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (isnull)
		return -1;
	deconstruct_array(DatumGetArrayTypeP(a), FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &nulls, &n);
	*out = palloc(sizeof(double) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*out)[i] = nulls[i] ? NAN : DatumGetFloat8(elems[i]);
	return n;
}

/* The view's rows of the project, the prediction first; the view must exist. */
static int
read_drift(MlReport *r, int32 version, Feature **out)
{
	char	   *schema = MlReportQueryValue("SELECT n.nspname FROM pg_catalog.pg_extension e "
											"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
											"WHERE e.extname OPERATOR(pg_catalog.=) 'pg_mlops'", 0, NULL, NULL);
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(r->project->name), Int32GetDatum(version)};
	Feature    *f;
	int			n;

	if (schema == NULL || !OidIsValid(get_relname_relid("ml_drift", get_namespace_oid(schema, false))))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no drift data: view \"%s.ml_drift\" does not exist", schema ? schema : "?"),
				 errhint("Drift monitoring comes with pg_mlops' drift feature; build model, cleaning or jobs reports meanwhile.")));
	MlSpiExec(psprintf("SELECT feature::pg_catalog.text, version::pg_catalog.int4, psi::pg_catalog.float8, "
					   "  missing_rate_train::pg_catalog.float8, missing_rate_scored::pg_catalog.float8, "
					   "  rows_scored::pg_catalog.float8, drifted, "
					   "  pg_catalog.to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
					   "  pg_catalog.to_char(window_end AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
					   "  bin_labels::pg_catalog.text[], train_share::pg_catalog.float8[], scored_share::pg_catalog.float8[] "
					   "FROM %s.ml_drift WHERE project OPERATOR(pg_catalog.=) $1 "
					   "  AND ($2 OPERATOR(pg_catalog.=) 0 OR version OPERATOR(pg_catalog.=) $2) "
					   "ORDER BY version DESC, (feature::pg_catalog.text OPERATOR(pg_catalog.~~) '(%%') DESC, feature LIMIT 500",
					   quote_identifier(schema)),
			  2, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no drift data for project \"%s\"", r->project->name),
				 errhint("Drift is measured for a deployed model on the rows it scored: deploy a version and score rows first.")));
	f = palloc0(sizeof(Feature) * n);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		v;
		int			nt,
					ns;

		f[i].name = SPI_getvalue(t, d, 1);
		if (f[i].name == NULL)
			f[i].name = "(null)";
		v = SPI_getbinval(t, d, 2, &isnull);
		f[i].version = isnull ? 0 : DatumGetInt32(v);
		f[i].psi = num(t, d, 3);
		f[i].miss_train = num(t, d, 4);
		f[i].miss_scored = num(t, d, 5);
		f[i].rows = num(t, d, 6);
		v = SPI_getbinval(t, d, 7, &isnull);
		f[i].drifted = !isnull && DatumGetBool(v);
		f[i].window_start = SPI_getvalue(t, d, 8);
		f[i].window_end = SPI_getvalue(t, d, 9);
		v = SPI_getbinval(t, d, 10, &isnull);
		f[i].nbins = -1;
		if (!isnull)
		{
			Datum	   *elems;
			bool	   *nulls;

			deconstruct_array(DatumGetArrayTypeP(v), TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &nulls, &f[i].nbins);
			f[i].labels = palloc(sizeof(char *) * Max(f[i].nbins, 1));
			for (int k = 0; k < f[i].nbins; k++)
				f[i].labels[k] = nulls[k] ? "(null)" : TextDatumGetCString(elems[k]);
		}
		nt = float_array(t, d, 11, &f[i].train);
		ns = float_array(t, d, 12, &f[i].scored);
		f[i].valid = f[i].nbins > 0 && f[i].nbins <= MAX_DRIFT_BINS && nt == f[i].nbins && ns == f[i].nbins;
		for (int k = 0; f[i].valid && k < f[i].nbins; k++)
			f[i].valid = isfinite(f[i].train[k]) && isfinite(f[i].scored[k]);
	}
	*out = f;
	/* one version: the newest the view has for the project */
	for (int i = 1; i < n; i++)
		if (f[i].version != f[0].version)
			return i;
	return n;
}

static void
summary_section(MlReport *r, Feature *f, int n, double threshold)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Population stability per feature");
	static const char *const heads[6] = {"feature", "PSI", "drifted", "missing (training)", "missing (scored)", "rows scored"};
	xmlNodePtr	tab = MlHtmlTable(sec, 6, heads);
	const char **labels = palloc(sizeof(char *) * n);
	double	   *psi = palloc(sizeof(double) * n);
	StringInfoData o;

	initStringInfo(&o);
	for (int i = 0; i < n; i++)
	{
		const char *cells[6] = {f[i].name, MlFormatNumber(f[i].psi), f[i].drifted ? "yes" : "no",
			MlFormatNumber(f[i].miss_train), MlFormatNumber(f[i].miss_scored), MlFormatNumber(f[i].rows)};

		MlHtmlRow(tab, 6, cells);
		labels[i] = f[i].name;
		psi[i] = f[i].psi;
		MlJsonKey(&o, f[i].name);
		appendStringInfoString(&o, "{\"psi\": ");
		MlJsonNumber(&o, f[i].psi);
		appendStringInfo(&o, ", \"drifted\": %s, \"missing_rate_train\": ", f[i].drifted ? "true" : "false");
		MlJsonNumber(&o, f[i].miss_train);
		appendStringInfoString(&o, ", \"missing_rate_scored\": ");
		MlJsonNumber(&o, f[i].miss_scored);
		appendStringInfoChar(&o, '}');
	}
	MlSvgBars(r, "Population stability index per feature", "PSI (training vs scored)", n, labels, psi,
			  threshold, psprintf("alert at %s", MlFormatNumber(threshold)));
	MlHtmlChart(r, sec);
	MlJsonKey(&r->content, "features");
	appendStringInfo(&r->content, "{%s}", o.data);
}

static void
bins_section(MlReport *r, Feature *f, int n, int max_features)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Training and scored distributions");
	xmlNodePtr	charts = MlHtmlElem(sec, "div", NULL);
	static const char *const series[2] = {"training", "scored"};
	int			shown = 0;

	MlHtmlAttr(charts, "class", "charts");
	for (int i = 0; i < n && shown < max_features; i++)
	{
		double	   *v;

		if (!f[i].valid)
		{
			MlHtmlElem(sec, "p", psprintf("The bins of \"%s\" are malformed (lengths or shares) and are not drawn.", f[i].name));
			continue;
		}
		v = palloc(sizeof(double) * 2 * f[i].nbins);
		memcpy(v, f[i].train, sizeof(double) * f[i].nbins);
		memcpy(v + f[i].nbins, f[i].scored, sizeof(double) * f[i].nbins);
		MlSvgGroupedBars(r, psprintf("%s (PSI %s)", f[i].name, MlFormatNumber(f[i].psi)), "share of rows",
						 f[i].nbins, (const char *const *) f[i].labels, 2, series, v);
		MlHtmlChart(r, charts);
		shown++;
		CHECK_FOR_INTERRUPTS();
	}
	MlJsonKeyNumber(&r->built_from, "features_drawn", shown);
}

/* The project's drift policy threshold (ml_set_drift_policy), else the setting, else 0.2. */
static double
policy_threshold(MlReport *r)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(r->project->id)};
	char	   *v = MlReportQueryValue("SELECT COALESCE((SELECT CASE WHEN pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'psi') "
									   "  OPERATOR(pg_catalog.=) 'number' THEN (options OPERATOR(pg_catalog.->>) 'psi')::pg_catalog.float8 END "
									   "  FROM mlops.drift_policies WHERE project_id OPERATOR(pg_catalog.=) $1), "
									   "  pg_catalog.current_setting('pg_mlops.drift_psi_threshold', true)::pg_catalog.float8, 0.2)",
									   1, types, values);
	double		d = v ? strtod(v, NULL) : 0.2;

	return isfinite(d) && d >= 0 && d <= 100 ? d : 0.2;
}

/*
 * The model version the report describes (mlops.reports.model_id), so the
 * report is shown with that version only (mlops.models' policy, through
 * mlops.model_visible). Read as the caller: ml_drift showed it the version.
 */
static int64
drift_model_id(MlReport *r, int32 version)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(r->project->id), Int32GetDatum(version)};
	char	   *id = MlReportQueryValue("SELECT id FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1 "
										"AND version OPERATOR(pg_catalog.=) $2",
										2, types, values);

	return id ? strtoll(id, NULL, 10) : 0;
}

void
MlReportDrift(MlReport *r)
{
	static const char *const valid[] = {"title", "inline_svg", "version", "psi_threshold", "features", NULL};
	int			version;
	double		threshold;
	int			max_features;
	Feature    *f = NULL;
	int			n;

	MlOptCheckKeys(r->options, "drift report options", valid);
	version = MlOptGet(r->options, "version") ? MlOptInt(r->options, "version", 1, 1, PG_INT32_MAX) : 0;
	threshold = MlOptRange(r->options, "psi_threshold", policy_threshold(r), 0, 100);
	max_features = MlOptInt(r->options, "features", 24, 1, 200);
	n = read_drift(r, version, &f);
	r->model_id = drift_model_id(r, f[0].version);
	MlJsonKeyNumber(&r->built_from, "version", f[0].version);
	MlJsonKeyString(&r->built_from, "window_start", f[0].window_start);
	MlJsonKeyString(&r->built_from, "window_end", f[0].window_end);
	MlJsonKeyNumber(&r->built_from, "rows_scored", f[0].rows);
	MlJsonKeyNumber(&r->built_from, "psi_threshold", threshold);
	MlJsonKeyNumber(&r->built_from, "features", n);
	MlJsonKeyNumber(&r->content, "version", f[0].version);
	{
		int			drifted = 0;

		for (int i = 0; i < n; i++)
			drifted += f[i].drifted;
		MlJsonKeyNumber(&r->content, "drifted", drifted);
	}
	MlHtmlBegin(r, r->title, psprintf("Project %s, model version %d: training data against rows scored from %s to %s (UTC)",
									  r->project->name, f[0].version,
									  f[0].window_start ? f[0].window_start : "?",
									  f[0].window_end ? f[0].window_end : "?"));
	summary_section(r, f, n, threshold);
	bins_section(r, f, n, max_features);
}
