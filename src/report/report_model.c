/*
 * report_model.c
 *	  The model report: a version's metrics (as stored at training and on a
 *	  sample of the project's relation scored now), a residual plot
 *	  (regression) or a confusion matrix and a reliability diagram
 *	  (classification), and the feature importance.
 *
 * The sample is scored by the code ml_evaluate scores with
 * (model/evaluate.c: MlEvaluateSample), reading the relation as the
 * caller; the metrics come from model/metrics.c and, when the version
 * stored no importance, the permutation importance from
 * model/importance.c on the same sample.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "core/options.h"
#include "model/evaluate.h"
#include "model/importance.h"
#include "model/metrics.h"
#include "report/report.h"

#define MAX_CLASSES_SHOWN 20
#define MAX_FEATURES_SHOWN 25

/* The numeric members of an importance object, largest first (not numbers, or beyond double precision: left out). */
#define IMPORTANCE_PAIRS \
	"SELECT e.key, v FROM pg_catalog.jsonb_each($1::pg_catalog.jsonb OPERATOR(pg_catalog.->) $2) e, " \
	"  mlops.metric_value($1::pg_catalog.jsonb OPERATOR(pg_catalog.->) $2, e.key) v " \
	"WHERE v IS NOT NULL ORDER BY 2 DESC, 1 LIMIT " CppAsString2(MAX_FEATURES_SHOWN)

typedef struct ModelRow
{
	int64		id;
	int32		version;
	char	   *algorithm;
	char	   *status;
	char	   *metrics;		/* jsonb as text */
	char	   *created_at;
	char	   *row_count;
	char	   *training_relation;
} ModelRow;

/* The version asked for, or the deployed one, or the latest: read as the caller (row-level security). */
static ModelRow *
pick_version(MlReport *r, int32 version)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(r->project->id), Int32GetDatum(version)};
	ModelRow   *m = palloc0(sizeof(ModelRow));
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;

	MlSpiExec("SELECT id, version, algorithm, status, metrics::pg_catalog.text, "
			  "  pg_catalog.to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"'), "
			  "  row_count::pg_catalog.text, training_relation, "
			  "  pg_catalog.jsonb_typeof(metrics) OPERATOR(pg_catalog.=) 'object' "
			  "  AND COALESCE(pg_catalog.jsonb_typeof(metrics OPERATOR(pg_catalog.->) 'importance'), 'object') "
			  "      OPERATOR(pg_catalog.=) 'object' "
			  "  AND COALESCE(pg_catalog.jsonb_typeof(metrics OPERATOR(pg_catalog.->) 'permutation_importance'), "
			  "      'object') OPERATOR(pg_catalog.=) 'object' "
			  "FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) $1 "
			  "  AND ($2 OPERATOR(pg_catalog.=) 0 OR version OPERATOR(pg_catalog.=) $2) "
			  "ORDER BY (status OPERATOR(pg_catalog.=) 'deployed') DESC, version DESC LIMIT 1",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0 && version > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model version %d of project \"%s\" does not exist", version, r->project->name),
				 errhint("The project's versions are listed in the ml_models view.")));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("project \"%s\" has no model versions to report on", r->project->name),
				 errhint("Train one with ml_train().")));
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	m->id = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	m->version = DatumGetInt32(SPI_getbinval(t, d, 2, &isnull));
	m->algorithm = SPI_getvalue(t, d, 3);
	m->status = SPI_getvalue(t, d, 4);
	m->metrics = SPI_getvalue(t, d, 5);
	m->created_at = SPI_getvalue(t, d, 6);
	m->row_count = SPI_getvalue(t, d, 7);
	m->training_relation = SPI_getvalue(t, d, 8);
	/* the metrics are read back as objects below: a damaged row is refused here */
	if (!DatumGetBool(SPI_getbinval(t, d, 9, &isnull)) || isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the stored metrics of model version %d of project \"%s\" are malformed",
						m->version, r->project->name),
				 errdetail("They must be a JSON object, and their importance members objects."),
				 errhint("Its row in mlops.models was altered: train a new version.")));
	return m;
}

static void
version_section(MlReport *r, ModelRow *m, MlEvalSample *s)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Version");
	static const char *const heads[2] = {"", "value"};
	xmlNodePtr	tab = MlHtmlTable(sec, 2, heads);
	const char *rows[][2] = {
		{"version", psprintf("%d", m->version)},
		{"algorithm", m->algorithm},
		{"status", m->status},
		{"trained", m->created_at ? m->created_at : ""},
		{"training rows", m->row_count ? m->row_count : ""},
		{"training relation", m->training_relation ? m->training_relation : ""},
		{"task", r->project->task},
		{"target", r->project->target},
		{"sampled now", psprintf(INT64_FORMAT " of " INT64_FORMAT " rows of %s.%s", s->n, s->read,
								 r->project->relation_schema, r->project->relation_name)},
	};

	for (int i = 0; i < (int) lengthof(rows); i++)
		MlHtmlRow(tab, 2, rows[i]);
}

/* Stored (test split) and sampled metrics side by side, every numeric member of either. */
static void
metrics_section(MlReport *r, ModelRow *m, const char *sampled)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(m->metrics ? m->metrics : "{}"), CStringGetTextDatum(sampled)};
	xmlNodePtr	sec = MlHtmlSection(r, "Metrics");
	static const char *const heads[3] = {"metric", "at training (test split)", "on the sample now"};
	xmlNodePtr	tab;
	int			n;

	MlSpiExec("WITH a AS (SELECT $1::pg_catalog.jsonb AS j), b AS (SELECT $2::pg_catalog.jsonb AS j), "
			  "k AS (SELECT pg_catalog.jsonb_object_keys(j) AS k FROM a "
			  "      UNION SELECT pg_catalog.jsonb_object_keys(j) FROM b) "
			  "SELECT k.k, mlops.metric_value(a.j, k.k), mlops.metric_value(b.j, k.k) "
			  "FROM k, a, b ORDER BY 1",
			  2, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	tab = MlHtmlTable(sec, 3, heads);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		const char *cells[3];
		bool		n1,
					n2;
		Datum		d1 = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &n1);
		Datum		d2 = SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &n2);

		if (n1 && n2)
			continue;
		cells[0] = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);
		cells[1] = n1 ? "" : MlFormatNumber(DatumGetFloat8(d1));
		cells[2] = n2 ? "" : MlFormatNumber(DatumGetFloat8(d2));
		MlHtmlRow(tab, 3, cells);
	}
	MlJsonKey(&r->content, "metrics_sample");
	appendStringInfoString(&r->content, sampled);
}

static void
residuals_section(MlReport *r, MlEvalSample *s)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Residuals");
	double	   *res = palloc(sizeof(double) * Max(s->n, 1));
	double		sum = 0,
				sq = 0,
				lo = INFINITY,
				hi = -INFINITY;

	for (int64 i = 0; i < s->n; i++)
	{
		res[i] = s->y[i] - s->pred[i];
		sum += res[i];
		sq += res[i] * res[i];
		lo = Min(lo, res[i]);
		hi = Max(hi, res[i]);
	}
	MlSvgScatter(r, "Residuals against predictions", "predicted", "actual - predicted",
				 s->n, s->pred, res, true);
	MlHtmlChart(r, sec);
	MlHtmlElem(sec, "p", psprintf("%s rows (at most 2,000 drawn); mean residual %s, residual standard deviation %s, from %s to %s.",
								  MlFormatNumber((double) s->n), MlFormatNumber(sum / s->n),
								  MlFormatNumber(sqrt(Max(sq / s->n - (sum / s->n) * (sum / s->n), 0))),
								  MlFormatNumber(lo), MlFormatNumber(hi)));
	MlJsonKey(&r->content, "residuals");
	appendStringInfoString(&r->content, "{");
	{
		StringInfoData o;

		initStringInfo(&o);
		MlJsonKeyNumber(&o, "points", (double) s->n);
		MlJsonKeyNumber(&o, "mean", sum / s->n);
		MlJsonKeyNumber(&o, "min", lo);
		MlJsonKeyNumber(&o, "max", hi);
		appendStringInfoString(&r->content, o.data);
	}
	appendStringInfoString(&r->content, "}");
}

static int
best_class(const double *p, int nclass)
{
	int			b = 0;

	for (int c = 1; c < nclass; c++)
		if (p[c] > p[b])
			b = c;
	return b;
}

static void
confusion_section(MlReport *r, MlEvalSample *s)
{
	int			nclass = s->t->nclass;
	int			shown = Min(nclass, MAX_CLASSES_SHOWN);
	double	   *cm = palloc0(sizeof(double) * shown * shown);
	xmlNodePtr	sec = MlHtmlSection(r, "Confusion matrix");
	StringInfoData o;

	for (int64 i = 0; i < s->n; i++)
	{
		int			a = (int) s->y[i];
		int			b = best_class(&s->pred[i * nclass], nclass);

		if (a < shown && b < shown)
			cm[a * shown + b]++;
	}
	MlSvgHeatmap(r, "Confusion matrix (rows: actual, columns: predicted)", shown,
				 (const char *const *) s->t->classes, cm);
	MlHtmlChart(r, sec);
	if (shown < nclass)
		MlHtmlElem(sec, "p", psprintf("The first %d of %d classes are shown.", shown, nclass));
	initStringInfo(&o);
	appendStringInfoString(&o, "{\"labels\": [");
	for (int c = 0; c < shown; c++)
	{
		if (c > 0)
			appendStringInfoString(&o, ", ");
		escape_json(&o, s->t->classes[c]);
	}
	appendStringInfoString(&o, "], \"counts\": [");
	for (int a = 0; a < shown; a++)
	{
		appendStringInfoString(&o, a > 0 ? ", [" : "[");
		for (int b = 0; b < shown; b++)
			appendStringInfo(&o, "%s%.0f", b > 0 ? ", " : "", cm[a * shown + b]);
		appendStringInfoChar(&o, ']');
	}
	appendStringInfoString(&o, "]}");
	MlJsonKey(&r->content, "confusion");
	appendStringInfoString(&r->content, o.data);
}

/*
 * Reliability diagram: the rows binned by predicted probability (binary:
 * of the second class; multiclass: of the predicted class), each bin's
 * mean probability against how often it came true.
 */
static void
calibration_section(MlReport *r, MlEvalSample *s, int bins)
{
	int			nclass = s->t->nclass;
	double	   *sum_p = palloc0(sizeof(double) * bins);
	double	   *hits = palloc0(sizeof(double) * bins);
	double	   *count = palloc0(sizeof(double) * bins);
	double	   *xs = palloc(sizeof(double) * bins);
	double	   *ys = palloc(sizeof(double) * bins);
	int			k = 0;
	xmlNodePtr	sec = MlHtmlSection(r, "Calibration");
	static const char *const heads[4] = {"bin", "rows", "mean predicted", "observed"};
	xmlNodePtr	tab;
	StringInfoData o;
	bool		binary = nclass == 2;

	for (int64 i = 0; i < s->n; i++)
	{
		const double *pr = &s->pred[i * nclass];
		int			c = binary ? 1 : best_class(pr, nclass);
		double		p = pr[c];
		int			b;

		if (!isfinite(p))
			continue;
		b = Min(bins - 1, Max(0, (int) floor(p * bins)));
		sum_p[b] += p;
		hits[b] += ((int) s->y[i] == c);
		count[b]++;
	}
	tab = MlHtmlTable(sec, 4, heads);
	initStringInfo(&o);
	appendStringInfoChar(&o, '[');
	for (int b = 0; b < bins; b++)
	{
		const char *cells[4];

		if (count[b] == 0)
			continue;
		xs[k] = sum_p[b] / count[b];
		ys[k] = hits[b] / count[b];
		cells[0] = psprintf("%s - %s", MlFormatNumber((double) b / bins), MlFormatNumber((double) (b + 1) / bins));
		cells[1] = MlFormatNumber(count[b]);
		cells[2] = MlFormatNumber(xs[k]);
		cells[3] = MlFormatNumber(ys[k]);
		MlHtmlRow(tab, 4, cells);
		appendStringInfo(&o, "%s{\"bin\": %d, \"rows\": %.0f, \"mean_predicted\": ", k > 0 ? ", " : "", b, count[b]);
		MlJsonNumber(&o, xs[k]);
		appendStringInfoString(&o, ", \"observed\": ");
		MlJsonNumber(&o, ys[k]);
		appendStringInfoChar(&o, '}');
		k++;
	}
	appendStringInfoChar(&o, ']');
	MlSvgLine(r, binary ? psprintf("Reliability diagram (class %s)", s->t->classes[1])
			  : "Reliability diagram (predicted class)",
			  "mean predicted probability", "observed frequency", k, xs, ys, true);
	MlHtmlChart(r, sec);
	MlJsonKey(&r->content, "calibration");
	appendStringInfoString(&r->content, o.data);
}

/*
 * Importance per source column: the version's stored gain importance, or
 * its stored permutation importance, or (neither, or asked for) the
 * permutation importance measured now on the sample.
 */
static void
importance_section(MlReport *r, ModelRow *m, MlEvalSample *s, bool permute, int seed)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char	  **labels;
	double	   *vals;
	int			n = 0;
	const char *source = NULL;
	xmlNodePtr	sec = MlHtmlSection(r, "Feature importance");
	static const char *const keys[2] = {"importance", "permutation_importance"};
	StringInfoData o;

	values[0] = CStringGetTextDatum(m->metrics ? m->metrics : "{}");
	for (int k = 0; k < 2 && !permute && n == 0; k++)
	{
		values[1] = CStringGetTextDatum(keys[k]);
		n = MlReportPairs(IMPORTANCE_PAIRS,
						  2, types, values, &labels, &vals);
		source = k == 0 ? "gain importance stored at training (normalized to sum 1)"
			: "permutation importance stored at training";
	}
	if (n == 0)
	{
		StringInfoData pi;

		initStringInfo(&pi);
		appendStringInfoString(&pi, "{\"x\": 0");
		MlPermutationImportance(s->t, s->raw, s->n, s->y, 3, (uint64) seed, &pi);
		appendStringInfoChar(&pi, '}');
		values[0] = CStringGetTextDatum(pi.data);
		values[1] = CStringGetTextDatum("permutation_importance");
		n = MlReportPairs(IMPORTANCE_PAIRS,
						  2, types, values, &labels, &vals);
		source = psprintf("permutation importance on the sample now (%s worsening, 3 shuffles)",
						  s->classifier ? "accuracy" : "RMSE");
	}
	if (n == 0)
	{
		MlHtmlElem(sec, "p", "The version has no input columns to rank.");
		return;
	}
	MlSvgBars(r, "Feature importance", source, n, (const char *const *) labels, vals, NAN, NULL);
	MlHtmlChart(r, sec);
	MlHtmlElem(sec, "p", psprintf("Source: %s.", source));
	initStringInfo(&o);
	for (int i = 0; i < n; i++)
		MlJsonKeyNumber(&o, labels[i], vals[i]);
	MlJsonKey(&r->content, "importance");
	appendStringInfo(&r->content, "{%s}", o.data);
	MlJsonKeyString(&r->content, "importance_source", source);
}

void
MlReportModel(MlReport *r)
{
	static const char *const valid[] = {"title", "inline_svg", "version", "sample_rows", "seed",
	"permutation_importance", "calibration_bins", NULL};
	int			version;
	int			sample_rows;
	int			seed;
	int			bins;
	bool		permute;
	ModelRow   *m;
	MlEvalSample *s;
	StringInfoData sampled;

	MlOptCheckKeys(r->options, "model report options", valid);
	version = MlOptGet(r->options, "version") ? MlOptInt(r->options, "version", 1, 1, PG_INT32_MAX) : 0;
	sample_rows = MlOptInt(r->options, "sample_rows", 1000, 10, 100000);
	seed = MlOptInt(r->options, "seed", 42, 0, PG_INT32_MAX);
	bins = MlOptInt(r->options, "calibration_bins", 10, 2, 50);
	permute = MlOptBool(r->options, "permutation_importance", false);

	m = pick_version(r, version);
	s = MlEvaluateSample(r->scope, r->project, m->version, MlProjectRelation(r->project),
						 sample_rows, (uint64) seed);
	r->model_id = m->id;
	MlJsonKeyNumber(&r->built_from, "model_id", (double) m->id);
	MlJsonKeyNumber(&r->built_from, "version", m->version);
	MlJsonKeyString(&r->built_from, "relation", psprintf("%s.%s", quote_identifier(r->project->relation_schema),
														 quote_identifier(r->project->relation_name)));
	MlJsonKeyNumber(&r->built_from, "rows_read", (double) s->read);
	MlJsonKeyNumber(&r->built_from, "rows_eligible", (double) s->eligible);
	MlJsonKeyNumber(&r->built_from, "rows_sampled", (double) s->n);
	MlJsonKeyNumber(&r->built_from, "sample_rows", sample_rows);
	MlJsonKeyNumber(&r->built_from, "seed", seed);

	MlHtmlBegin(r, r->title, psprintf("Project %s, model version %d (%s, %s)", r->project->name,
									  m->version, m->algorithm, m->status));
	version_section(r, m, s);
	initStringInfo(&sampled);
	appendStringInfoChar(&sampled, '{');
	if (s->classifier)
		(void) MlClassificationMetrics(s->y, s->pred, s->n, s->t->nclass, &sampled);
	else
		(void) MlRegressionMetrics(s->y, s->pred, s->n, &sampled);
	appendStringInfoChar(&sampled, '}');
	metrics_section(r, m, sampled.data);
	MlJsonKeyNumber(&r->content, "version", m->version);
	MlJsonKeyNumber(&r->content, "rows_sampled", (double) s->n);
	if (s->classifier)
	{
		confusion_section(r, s);
		calibration_section(r, s, bins);
	}
	else
		residuals_section(r, s);
	importance_section(r, m, s, permute, seed);
}
