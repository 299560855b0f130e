/*
 * workflow_run.c
 *	  One run of a workflow job: its steps in order, each in its own
 *	  transaction (worker.c drives them), each a row of mlops.job_run_steps.
 *
 * The step log is the run's state: the version a train step trained, the
 * metrics an evaluate step measured and the version a gate passed are read
 * back from it by the later steps. So a run that resumes a failed one
 * (ml_run_now, or a retry) copies the failed run's completed steps as
 * 'carried' rows and starts at the step that failed, with nothing redone.
 *
 * Steps do their work through the SQL API as the job's owner (ml_train,
 * ml_evaluate, ml_mark_ready, ml_deploy, ml_score, ml_apply_recipe,
 * ml_clean, ml_import_csv, ml_report), so a workflow can do exactly what
 * its owner can; the log is written as the extension owner.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "core/catalog.h"
#include "core/run_progress.h"
#include "jobs/jobs.h"
#include "jobs/workflow.h"

struct MlWorkflowRun
{
	int64		run;
	int64		job;
	int64		project_id;
	int64		workflow_id;
	char	   *project;
	char	   *ext;
	char	   *name;
	MlWorkflowStep *steps;
	int			nsteps;
	int			next;			/* 0-based: the step that runs next */
	int			counts[4];		/* succeeded, carried, refused, skipped */
	char	   *rejected;		/* the gate's message when it rejected */
	int64		rows;
	bool		has_rows;
	MemoryContext cxt;
};

/* What a step did. */
typedef struct StepResult
{
	const char *status;
	char	   *message;
	StringInfoData details;		/* a JSON object's members, without braces */
	int64		rows;
	bool		has_rows;
} StepResult;

static void
detail_text(StepResult *res, const char *key, const char *value)
{
	appendStringInfoString(&res->details, res->details.len ? ", " : "");
	escape_json(&res->details, key);
	appendStringInfoString(&res->details, ": ");
	if (value)
		escape_json(&res->details, value);
	else
		appendStringInfoString(&res->details, "null");
}

/* value: JSON already (a number, or a document our functions returned) */
static void
detail_json(StepResult *res, const char *key, const char *value)
{
	appendStringInfoString(&res->details, res->details.len ? ", " : "");
	escape_json(&res->details, key);
	appendStringInfo(&res->details, ": %s", value ? value : "null");
}

static void
detail_number(StepResult *res, const char *key, double v)
{
	StringInfoData n;

	initStringInfo(&n);
	if (isfinite(v))
		appendStringInfo(&n, "%.17g", v);
	else
		escape_json(&n, isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"));
	detail_json(res, key, n.data);
}

/* A stored version number, checked (it is read back from the catalog). */
static int32
version_value(const char *s)
{
	if (s == NULL)
		return -1;
	if (strspn(s, "0123456789") != strlen(s) || strlen(s) == 0 || strlen(s) > 9)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the step log holds an invalid model version \"%s\"", s)));
	return (int32) atoi(s);
}

static char *
first_value(void)
{
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * A value a step before this one logged: key of the latest row of kind
 * that succeeded (or was carried), optionally with details.version =
 * version. As the extension owner.
 */
static char *
logged(MlWorkflowRun *w, const char *kind, const char *key, int32 version)
{
	MlScope		scope;
	Oid			types[5] = {INT8OID, TEXTOID, INT4OID, TEXTOID, INT4OID};
	Datum		values[5] = {Int64GetDatum(w->run), CStringGetTextDatum(kind),
		Int32GetDatum(w->next + 1), CStringGetTextDatum(key), Int32GetDatum(version)};
	char	   *v;

	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT details OPERATOR(pg_catalog.->>) $4 FROM mlops.job_run_steps "
			  "WHERE run_id OPERATOR(pg_catalog.=) $1 AND kind OPERATOR(pg_catalog.=) $2 "
			  "AND status OPERATOR(pg_catalog.=) ANY (ARRAY['succeeded', 'carried']) "
			  "AND step_no OPERATOR(pg_catalog.<) $3 "
			  "AND ($5 OPERATOR(pg_catalog.<) 0 OR details OPERATOR(pg_catalog.->>) 'version' "
			  "     OPERATOR(pg_catalog.=) $5::pg_catalog.text) "
			  "ORDER BY step_no DESC LIMIT 1",
			  5, types, values, NULL, SPI_OK_SELECT);
	v = first_value();
	v = v ? MemoryContextStrdup(w->cxt, v) : NULL;
	MlScopeExit(&scope);
	return v;
}

static int32
trained_version(MlWorkflowRun *w)
{
	int32		v = version_value(logged(w, "train", "version", -1));

	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no version was trained by this run before step %d", w->next + 1)));
	return v;
}

/* The deployed version as the job's owner sees it; -1: none. */
static int32
deployed_version(MlWorkflowRun *w)
{
	const char *args[1] = {psprintf("%lld", (long long) w->project_id)};

	MlRunExec("SELECT version::pg_catalog.text FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1::pg_catalog.int8 "
			  "AND status OPERATOR(pg_catalog.=) 'deployed'", 1, args, SPI_OK_SELECT);
	return version_value(first_value());
}

static void
step_train(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	const char *args[4] = {w->project, s->algorithm, s->hyperparams, s->options};

	MlRunExec(psprintf("SELECT t.version::pg_catalog.text, t.algorithm, t.metrics::pg_catalog.text "
					   "FROM %s.ml_train($1, $2, $3::pg_catalog.jsonb, $4::pg_catalog.jsonb) t", w->ext),
			  4, args, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "ml_train returned %llu rows", (unsigned long long) SPI_processed);
	detail_json(res, "version", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	detail_text(res, "algorithm", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	detail_json(res, "metrics", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
	res->message = psprintf("trained version %s (%s)",
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
}

static char *
evaluate_one(MlWorkflowRun *w, const MlWorkflowStep *s, int32 version)
{
	const char *args[4] = {w->project, psprintf("%d", version), s->relation, s->options};

	MlRunExec(psprintf("SELECT %s.ml_evaluate($1, $2::pg_catalog.int4, $3::pg_catalog.regclass, "
					   "$4::pg_catalog.jsonb)::pg_catalog.text", w->ext),
			  4, args, SPI_OK_SELECT);
	return first_value();
}

/* The new version and the deployed one, on the same labelled rows. */
static void
step_evaluate(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	int32		version = trained_version(w);
	int32		deployed = deployed_version(w);

	detail_json(res, "version", psprintf("%d", version));
	detail_text(res, "relation", s->relation);
	detail_json(res, "metrics", evaluate_one(w, s, version));
	detail_json(res, "deployed_version", deployed < 0 ? NULL : psprintf("%d", deployed));
	detail_json(res, "deployed_metrics", deployed < 0 ? NULL : evaluate_one(w, s, deployed));
	res->message = deployed < 0
		? psprintf("evaluated version %d on %s (nothing is deployed)", version, s->relation)
		: psprintf("evaluated version %d and deployed version %d on %s", version, deployed, s->relation);
}

/*
 * The metric of a metrics document (stored or measured): the test split's
 * figure, else the cross-validated one, as ml_deploy(strategy) reads them.
 * NaN when it is missing or not a number.
 */
static double
metric_of(const char *metrics_json, const char *metric, bool *present)
{
	const char *args[2] = {metrics_json, metric};
	char	   *v;

	*present = false;
	if (metrics_json == NULL)
		return NAN;
	MlRunExec("SELECT mlops.try_cast_numeric(COALESCE($1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) $2, "
			  "  $1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) ('cv_' OPERATOR(pg_catalog.||) $2)))::pg_catalog.text",
			  2, args, SPI_OK_SELECT);
	v = first_value();
	if (v == NULL)
		return NAN;
	*present = true;
	return DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(v)));
}

static char *
stored_metrics(MlWorkflowRun *w, int32 version)
{
	const char *args[2] = {psprintf("%lld", (long long) w->project_id), psprintf("%d", version)};

	MlRunExec("SELECT metrics::pg_catalog.text FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1::pg_catalog.int8 "
			  "AND version OPERATOR(pg_catalog.=) $2::pg_catalog.int4", 2, args, SPI_OK_SELECT);
	return first_value();
}

static void
missing_metric(const MlWorkflowStep *s, const char *which, int32 version)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s version %d has no metric \"%s\" to compare", which, version, s->metric),
			 errhint("Add an evaluate step before the gate: both versions are then measured on the same rows.")));
}

/* Mark the version ready as the job's owner, with ml_mark_ready itself. */
static void
mark_ready(MlWorkflowRun *w, int32 version, const char *why)
{
	const char *args[3] = {w->project, psprintf("%d", version), why};

	MlRunExec("SELECT status FROM mlops.models WHERE project_id OPERATOR(pg_catalog.=) "
			  "(SELECT id FROM mlops.projects WHERE name OPERATOR(pg_catalog.=) $1) "
			  "AND version OPERATOR(pg_catalog.=) $2::pg_catalog.int4", 2, args, SPI_OK_SELECT);
	if (first_value() != NULL && strcmp(first_value(), "trained") != 0)
		return;					/* already ready (or deployed) */
	MlRunExec(psprintf("SELECT %s.ml_mark_ready($1, $2::pg_catalog.int4, $3)", w->ext),
			  3, args, SPI_OK_SELECT);
}

/*
 * The gate: the trained version against the deployed one on the metric,
 * from this run's evaluate step when it measured both on the same rows
 * against the version deployed now, else from the versions' stored
 * metrics. Better by more than the margin (a margin of 0: strictly
 * better), or nothing deployed: ready. Otherwise: rejected.
 */
static void
step_gate(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	int32		version = trained_version(w);
	int32		deployed = deployed_version(w);
	char	   *ev_deployed = logged(w, "evaluate", "deployed_version", version);
	bool		from_eval = ev_deployed ? version_value(ev_deployed) == deployed
		: (deployed < 0 && logged(w, "evaluate", "version", version) != NULL);
	char	   *new_m = from_eval ? logged(w, "evaluate", "metrics", version) : stored_metrics(w, version);
	bool		present;
	double		value = metric_of(new_m, s->metric, &present);
	double		dvalue = NAN;
	double		required = 0;
	double		gain = 0;
	bool		pass;

	if (!present)
		missing_metric(s, "the new", version);
	if (deployed >= 0)
	{
		char	   *dm = from_eval ? logged(w, "evaluate", "deployed_metrics", version) : stored_metrics(w, deployed);

		dvalue = metric_of(dm, s->metric, &present);
		if (!present)
			missing_metric(s, "the deployed", deployed);
		required = s->relative ? s->margin * fabs(dvalue) : s->margin;
		gain = s->lower_better ? dvalue - value : value - dvalue;
	}
	/* NaN compares false: a version without a figure never passes */
	pass = !isnan(value) && (deployed < 0 || (gain > 0 && gain >= required));
	detail_json(res, "version", psprintf("%d", version));
	detail_text(res, "metric", s->metric);
	detail_text(res, "direction", s->lower_better ? "lower is better" : "higher is better");
	detail_number(res, "value", value);
	detail_json(res, "deployed_version", deployed < 0 ? NULL : psprintf("%d", deployed));
	if (deployed >= 0)
		detail_number(res, "deployed_value", dvalue);
	detail_number(res, "margin", s->margin);
	detail_json(res, "relative", s->relative ? "true" : "false");
	detail_number(res, "required_gain", required);
	detail_text(res, "source", from_eval ? "evaluate" : "training");
	if (deployed < 0)
		res->message = pass
			? psprintf("version %d is ready: nothing is deployed to compare with (%s %.6g)",
					   version, s->metric, value)
			: psprintf("version %d rejected: its %s is not a number", version, s->metric);
	else
		res->message = psprintf("version %d %s: %s %.6g against deployed version %d's %.6g (required gain %.6g)",
								version, pass ? "is ready" : "rejected", s->metric, value, deployed,
								dvalue, required);
	if (!pass)
	{
		res->status = "rejected";
		return;
	}
	mark_ready(w, version, psprintf("workflow \"%s\", run %lld: %s", w->name, (long long) w->run, res->message));
}

/* Deploy the gated version, only if an engineer allowed it for this workflow. */
static void
step_deploy(MlWorkflowRun *w, StepResult *res)
{
	int32		version = version_value(logged(w, "gate", "version", -1));
	MlScope		scope;
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(w->workflow_id)};
	bool		allowed;

	if (version < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no gate of this run passed a version to deploy")));
	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT auto_deploy::pg_catalog.text FROM mlops.workflows WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	allowed = first_value() != NULL && strcmp(first_value(), "true") == 0;
	MlScopeExit(&scope);
	detail_json(res, "version", psprintf("%d", version));
	if (!allowed)
	{
		res->status = "refused";
		res->message = psprintf("automatic deployment is not allowed for workflow \"%s\": version %d stays ready "
								"(an engineer deploys it with ml_deploy, or allows it with ml_allow_auto_deploy)",
								w->name, version);
		return;
	}
	{
		const char *args[3] = {w->project, psprintf("%d", version),
		psprintf("workflow \"%s\", run %lld", w->name, (long long) w->run)};

		detail_json(res, "from_version", deployed_version(w) < 0 ? NULL : psprintf("%d", deployed_version(w)));
		MlRunExec(psprintf("SELECT %s.ml_deploy($1, $2::pg_catalog.int4, $3)", w->ext),
				  3, args, SPI_OK_SELECT);
		res->message = psprintf("deployed version %d", version);
	}
}

static MlRunStepArgs
step_args(MlWorkflowRun *w, const MlWorkflowStep *s)
{
	MlRunStepArgs a = {0};

	a.run = w->run;
	a.job = w->job;
	a.project_id = w->project_id;
	a.project = w->project;
	a.ext = w->ext;
	a.kind = s->kind_name;
	a.relation = s->relation;
	a.into = s->into;
	a.mode = s->mode;
	a.recipe = s->recipe;
	return a;
}

static void
output_details(StepResult *res, const MlWorkflowStep *s, int64 rows)
{
	detail_text(res, "relation", s->relation ? s->relation : s->path);
	detail_text(res, "into_table", s->into);
	detail_text(res, "mode", s->into ? s->mode : NULL);
	detail_json(res, "rows", psprintf("%lld", (long long) rows));
	res->rows = rows;
	res->has_rows = true;
}

static char *
temp_name(MlWorkflowRun *w)
{
	return psprintf("pg_temp.%s", quote_identifier(psprintf("mlops_job_run_%lld", (long long) w->run)));
}

static void
drop_temp(const char *tmp)
{
	MlSpiExec(psprintf("DROP TABLE %s", tmp), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

/* Score and clean: the job kinds' own steps; clean with options: ml_clean. */
static void
step_write(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	MlRunStepArgs a = step_args(w, s);

	if (s->kind == ML_WF_SCORE || s->recipe)
	{
		MlRunStep(&a);
		res->message = a.detail;
		output_details(res, s, a.rows);
		return;
	}
	{
		char	   *tmp = s->into ? temp_name(w) : NULL;
		const char *args[3] = {s->relation, s->options, tmp};
		int64		rows;

		MlRunExec(psprintf("SELECT pg_catalog.max(recipe_id)::pg_catalog.text FROM %s.ml_clean("
						   "$1::pg_catalog.regclass, $2::pg_catalog.jsonb, $3)", w->ext),
				  3, args, SPI_OK_SELECT);
		detail_json(res, "recipe", first_value());
		if (tmp)
		{
			rows = MlRunWriteOutput(&a, tmp, false);
			drop_temp(tmp);
		}
		else
		{
			MlSpiExec(psprintf("SELECT pg_catalog.count(*) FROM %s", s->relation), 0, NULL, NULL, NULL, SPI_OK_SELECT);
			rows = pg_strtoint64(first_value());
		}
		res->message = psprintf("cleaned %s %s", s->relation, s->into ? psprintf("into %s", s->into) : "in place");
		output_details(res, s, rows);
	}
}

/*
 * The columns of an existing into_table of a domain that the staged
 * import's column of the same name is not of, as option "types" of the
 * import ({"pct": "public.pct"}), or NULL. Imported again with those
 * types, the file's values the domain refuses are rejected lines, where
 * the append refused the step (a value of the base type may break the
 * domain's constraints, which the INSERT's cast would raise half way).
 */
static char *
import_domains(const char *staged, const char *into)
{
	const char *args[2] = {staged, into};

	MlRunExec("SELECT pg_catalog.jsonb_object_agg(s.attname, pg_catalog.quote_ident(n.nspname) "
			  "  OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.typname))::pg_catalog.text "
			  "FROM pg_catalog.pg_attribute s JOIN pg_catalog.pg_attribute d "
			  "  ON d.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2) "
			  "  AND d.attname OPERATOR(pg_catalog.=) s.attname AND d.attnum OPERATOR(pg_catalog.>) 0 "
			  "  AND NOT d.attisdropped "
			  "JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) d.atttypid "
			  "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace "
			  "WHERE s.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) "
			  "  AND s.attnum OPERATOR(pg_catalog.>) 0 AND NOT s.attisdropped "
			  "  AND t.typtype OPERATOR(pg_catalog.=) 'd' AND s.atttypid OPERATOR(pg_catalog.<>) d.atttypid",
			  2, args, SPI_OK_SELECT);
	return first_value();
}

/* A server CSV file (ml_import_csv) or a relation, into into_table. */
static void
step_import(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	MlRunStepArgs a = step_args(w, s);
	int64		rows;

	if (s->path)
	{
		char	   *tmp = temp_name(w);
		const char *args[3] = {tmp, s->path, s->options};

		char	   *domains;

		MlRunExec(psprintf("SELECT pg_catalog.count(*)::pg_catalog.text FROM %s.ml_import_csv($1, $2, NULL, "
						   "$3::pg_catalog.jsonb)", w->ext), 3, args, SPI_OK_SELECT);
		domains = import_domains(tmp, s->into);
		if (domains)
		{
			const char *args2[4] = {tmp, s->path, s->options, domains};

			drop_temp(tmp);
			MlRunExec(psprintf("SELECT pg_catalog.count(*)::pg_catalog.text FROM %s.ml_import_csv($1, $2, NULL, "
							   "pg_catalog.jsonb_set(coalesce($3::pg_catalog.jsonb, '{}'), '{types}', "
							   "  coalesce($3::pg_catalog.jsonb OPERATOR(pg_catalog.->) 'types', '{}') "
							   "  OPERATOR(pg_catalog.||) $4::pg_catalog.jsonb))", w->ext),
					  4, args2, SPI_OK_SELECT);
		}
		detail_json(res, "rejected_lines", first_value());
		rows = MlRunWriteImport(&a, tmp);
		drop_temp(tmp);
	}
	else
		rows = MlRunWriteImport(&a, s->relation);
	res->message = psprintf("imported %lld rows into %s (%s)", (long long) rows, s->into, s->mode);
	output_details(res, s, rows);
}

/* An ml_* function of the extension, if this build has it (reports come separately). */
static bool
has_function(MlWorkflowRun *w, const char *signature)
{
	const char *args[1] = {psprintf("%s.%s", w->ext, signature)};

	MlRunExec("SELECT pg_catalog.to_regprocedure($1)::pg_catalog.text", 1, args, SPI_OK_SELECT);
	return first_value() != NULL;
}

static void
step_report(MlWorkflowRun *w, const MlWorkflowStep *s, StepResult *res)
{
	const char *args[3] = {w->project, s->report_kind, s->options};
	char	   *id;

	if (!has_function(w, "ml_report(text, text, jsonb)"))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("reports are not available in this installation of pg_mlops"),
				 errhint("A report step needs ml_report(project, kind, options); update the extension.")));
	MlRunExec(psprintf("SELECT %s.ml_report($1, $2, $3::pg_catalog.jsonb)::pg_catalog.text", w->ext),
			  3, args, SPI_OK_SELECT);
	id = first_value() ? pstrdup(first_value()) : NULL;
	detail_text(res, "report_kind", s->report_kind);
	detail_json(res, "report", id);
	if (s->publish && id)
	{
		const char *pargs[1] = {id};

		/* the signature as created: to_regprocedure ignores defaults */
		if (!has_function(w, "ml_publish_report(bigint, boolean)"))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("publishing reports is not available in this installation of pg_mlops")));
		MlRunExec(psprintf("SELECT %s.ml_publish_report($1::pg_catalog.int8, true)", w->ext),
				  1, pargs, SPI_OK_SELECT);
	}
	detail_json(res, "published", s->publish && id ? "true" : "false");
	res->message = psprintf("%s report %s%s", s->report_kind, id ? id : "(none)",
							s->publish && id ? ", published" : "");
}

/* ------------------------------------------------------------------ */
/* the step log, as the extension owner								  */

static void
log_step(MlWorkflowRun *w, int step_no, const char *status, const char *message,
		 const char *details, bool insert)
{
	MlScope		scope;
	Oid			types[7] = {INT8OID, INT4OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = "       ";

	values[0] = Int64GetDatum(w->run);
	values[1] = Int32GetDatum(step_no);
	values[2] = Int64GetDatum(w->workflow_id);
	values[3] = CStringGetTextDatum(w->steps[step_no - 1].kind_name);
	values[4] = CStringGetTextDatum(status);
	values[5] = message ? CStringGetTextDatum(message) : (Datum) 0;
	nulls[5] = message ? ' ' : 'n';
	values[6] = CStringGetTextDatum(details ? details : "{}");
	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	/* the job before the run and its steps, as every writer of runs (runs.c) */
	MlRunLockJob(w->run);
	if (insert)
		MlSpiExec("INSERT INTO mlops.job_run_steps (run_id, step_no, workflow_id, kind, status, started_at, "
				  "  finished_at, message, details) "
				  "VALUES ($1, $2, $3, $4, $5, pg_catalog.clock_timestamp(), "
				  "  CASE WHEN $5 OPERATOR(pg_catalog.<>) 'running' THEN pg_catalog.clock_timestamp() END, "
				  "  $6, $7::pg_catalog.jsonb)",
				  7, types, values, nulls, SPI_OK_INSERT);
	else
		MlSpiExec("UPDATE mlops.job_run_steps SET status = $5, finished_at = pg_catalog.clock_timestamp(), "
				  "message = $6, details = $7::pg_catalog.jsonb "
				  "WHERE run_id OPERATOR(pg_catalog.=) $1 AND step_no OPERATOR(pg_catalog.=) $2",
				  7, types, values, nulls, SPI_OK_UPDATE);
	/* the run's own log and progress follow the steps */
	if (strcmp(status, "running") != 0)
		MlSpiExec("UPDATE mlops.job_runs SET progress = $2::pg_catalog.float8 OPERATOR(pg_catalog./) "
				  "  (SELECT pg_catalog.jsonb_array_length(w.steps) FROM mlops.workflows w "
				  "   WHERE w.id OPERATOR(pg_catalog.=) $3), "
				  "log = log OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object("
				  "  'step', $2, 'kind', $4, 'status', $5, 'finished_at', pg_catalog.clock_timestamp(), "
				  "  'detail', $6)) "
				  "WHERE id OPERATOR(pg_catalog.=) $1",
				  6, types, values, nulls, SPI_OK_UPDATE);
	MlScopeExit(&scope);
}

/* Read the job's workflow, its project's task and the run's trigger. */
static void
load(MlWorkflowRun *w, bool *resume)
{
	MlScope		scope;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(w->job), Int64GetDatum(w->run)};
	HeapTuple	t;
	TupleDesc	d;
	char	   *steps;
	char	   *task;
	char	   *id;
	MemoryContext old;

	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlSpiExec(psprintf("SELECT j.command OPERATOR(pg_catalog.->>) 'workflow', w.id::pg_catalog.text, w.name, "
					   "  w.steps::pg_catalog.text, p.task, "
					   "  (r.trigger OPERATOR(pg_catalog.<>) 'schedule' AND NOT r.from_start)::pg_catalog.text, "
					   "  %s "
					   "FROM mlops.jobs j JOIN mlops.job_runs r ON r.id OPERATOR(pg_catalog.=) $2 "
					   "JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id "
					   "LEFT JOIN mlops.workflows w ON w.id::pg_catalog.text OPERATOR(pg_catalog.=) "
					   "  (j.command OPERATOR(pg_catalog.->>) 'workflow') "
					   "  AND w.project_id OPERATOR(pg_catalog.=) j.project_id "
					   "WHERE j.id OPERATOR(pg_catalog.=) $1", MlWorkflowRolesColumns()),
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "run %lld of job %lld vanished", (long long) w->run, (long long) w->job);
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	id = SPI_getvalue(t, d, 2);
	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the workflow of job %lld no longer exists in its project", (long long) w->job),
				 errhint("Point the job at a workflow with ml_alter_job(%lld, '{\"workflow\": \"...\"}').",
						 (long long) w->job)));
	/* checked when the job was bound; again, the roles may have changed since */
	MlWorkflowCheckCreator(SPI_getvalue(t, d, 3), t, d, 7);
	old = MemoryContextSwitchTo(w->cxt);
	w->workflow_id = pg_strtoint64(id);
	w->name = SPI_getvalue(t, d, 3);
	steps = SPI_getvalue(t, d, 4);
	task = SPI_getvalue(t, d, 5);
	*resume = strcmp(SPI_getvalue(t, d, 6), "true") == 0;
	MemoryContextSwitchTo(old);
	MlScopeExit(&scope);
	old = MemoryContextSwitchTo(w->cxt);
	/* stored steps are checked again, their names re-quoted */
	w->steps = MlWorkflowParse(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(steps))),
							   task, true, &w->nsteps, NULL);
	MemoryContextSwitchTo(old);
}

/*
 * Resume: the job's latest run with steps, if it did not succeed and ran
 * this workflow, gives its completed steps to this run ('carried'), and
 * this run starts at the step that failed.
 */
static void
carry(MlWorkflowRun *w)
{
	MlScope		scope;
	Oid			types[3] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3] = {Int64GetDatum(w->job), Int64GetDatum(w->run), Int64GetDatum(w->workflow_id)};
	char	   *prev;
	char	   *from;

	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlRunLockJob(w->run);		/* before the run's writes below (runs.c) */
	MlSpiExec("SELECT r.id, "
			  "  (SELECT pg_catalog.min(s.step_no) FROM mlops.job_run_steps s WHERE s.run_id OPERATOR(pg_catalog.=) r.id "
			  "   AND s.status OPERATOR(pg_catalog.<>) ALL (ARRAY['succeeded', 'carried'])) "
			  "FROM mlops.job_runs r WHERE r.job_id OPERATOR(pg_catalog.=) $1 AND r.id OPERATOR(pg_catalog.<>) $2 "
			  "AND r.status OPERATOR(pg_catalog.=) ANY (ARRAY['failed', 'timed_out', 'cancelled']) "
			  "AND r.id OPERATOR(pg_catalog.=) (SELECT pg_catalog.max(x.id) FROM mlops.job_runs x "
			  "  WHERE x.job_id OPERATOR(pg_catalog.=) $1 AND x.id OPERATOR(pg_catalog.<>) $2 "
			  "  AND x.status OPERATOR(pg_catalog.<>) ALL (ARRAY['queued', 'running']) "
			  "  AND EXISTS (SELECT 1 FROM mlops.job_run_steps s WHERE s.run_id OPERATOR(pg_catalog.=) x.id)) "
			  "AND NOT EXISTS (SELECT 1 FROM mlops.job_run_steps s WHERE s.run_id OPERATOR(pg_catalog.=) r.id "
			  "  AND s.workflow_id IS DISTINCT FROM $3)",
			  3, types, values, NULL, SPI_OK_SELECT);
	prev = first_value();
	from = SPI_processed == 1 ? SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2) : NULL;
	if (prev != NULL && from != NULL)
	{
		Oid			t2[3] = {INT8OID, INT8OID, INT4OID};
		Datum		v2[3] = {Int64GetDatum(w->run), Int64GetDatum(pg_strtoint64(prev)),
		Int32GetDatum(pg_strtoint32(from))};

		MlSpiExec("INSERT INTO mlops.job_run_steps (run_id, step_no, workflow_id, kind, status, started_at, "
				  "  finished_at, message, details) "
				  "SELECT $1, s.step_no, s.workflow_id, s.kind, 'carried', s.started_at, s.finished_at, s.message, "
				  "  s.details OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('from_run', "
				  "    COALESCE(s.details OPERATOR(pg_catalog.->) 'from_run', pg_catalog.to_jsonb($2))) "
				  "FROM mlops.job_run_steps s WHERE s.run_id OPERATOR(pg_catalog.=) $2 "
				  "AND s.step_no OPERATOR(pg_catalog.<) $3",
				  3, t2, v2, NULL, SPI_OK_INSERT);
		w->counts[1] = (int) SPI_processed;
		w->next = Min(pg_strtoint32(from) - 1, w->nsteps);
		MlSpiExec("UPDATE mlops.job_runs SET resumed_from = $2 WHERE id OPERATOR(pg_catalog.=) $1",
				  2, t2, v2, NULL, SPI_OK_UPDATE);
		ereport(LOG,
				(errmsg("pg_mlops: run %lld of job %lld resumes run %s at step %d",
						(long long) w->run, (long long) w->job, prev, w->next + 1)));
	}
	MlScopeExit(&scope);
}

MlWorkflowRun *
MlWorkflowBegin(int64 run, int64 job, int64 project_id, const char *project, const char *ext,
				MemoryContext cxt)
{
	MlWorkflowRun *w = MemoryContextAllocZero(cxt, sizeof(MlWorkflowRun));
	bool		resume;

	w->cxt = cxt;
	w->run = run;
	w->job = job;
	w->project_id = project_id;
	w->project = MemoryContextStrdup(cxt, project);
	w->ext = MemoryContextStrdup(cxt, ext);
	load(w, &resume);
	if (resume)
		carry(w);
	if (w->next < w->nsteps)
		log_step(w, w->next + 1, "running", NULL, NULL, true);
	return w;
}

/* Run the next step; false when no step is left. */
bool
MlWorkflowNextStep(MlWorkflowRun *w)
{
	const MlWorkflowStep *s;
	StepResult	res = {"succeeded", NULL, {0}, 0, false};
	char	   *details;
	int			no = w->next;	/* 0-based; w->next moves once the step is logged */

	if (no >= w->nsteps)
		return false;
	s = &w->steps[no];
	MlRunProgressSpan((double) no / w->nsteps, (double) (no + 1) / w->nsteps);
	initStringInfo(&res.details);
	pgstat_report_activity(STATE_RUNNING, psprintf("pg_mlops job run %lld: step %d (%s)",
												   (long long) w->run, no + 1, s->kind_name));
	switch (s->kind)
	{
		case ML_WF_IMPORT:
			step_import(w, s, &res);
			break;
		case ML_WF_CLEAN:
		case ML_WF_SCORE:
			step_write(w, s, &res);
			break;
		case ML_WF_TRAIN:
			step_train(w, s, &res);
			break;
		case ML_WF_EVALUATE:
			step_evaluate(w, s, &res);
			break;
		case ML_WF_GATE:
			step_gate(w, s, &res);
			break;
		case ML_WF_DEPLOY:
			step_deploy(w, &res);
			break;
		case ML_WF_REPORT:
			step_report(w, s, &res);
			break;
	}
	details = psprintf("{%s}", res.details.data);
	log_step(w, no + 1, res.status, res.message, details, false);
	if (strcmp(res.status, "rejected") == 0)
	{
		int			skipped = 0;

		for (int i = no + 1; i < w->nsteps; i++, skipped++)
			log_step(w, i + 1, "skipped", "the gate rejected the version", NULL, true);
		/* the transaction commits next: now the run's state may move */
		w->rejected = MemoryContextStrdup(w->cxt, res.message);
		w->counts[3] += skipped;
		w->next = w->nsteps;
		return false;
	}
	if (no + 1 < w->nsteps)
		log_step(w, no + 2, "running", NULL, NULL, true);
	if (res.has_rows)
	{
		w->rows = res.rows;
		w->has_rows = true;
	}
	w->counts[strcmp(res.status, "refused") == 0 ? 2 : 0]++;
	w->next = no + 1;
	return w->next < w->nsteps;
}

/* In the transaction that records the run's failure. */
void
MlWorkflowStepFailed(MlWorkflowRun *w, const char *status, const char *message)
{
	if (w->next >= w->nsteps)
		return;
	log_step(w, w->next + 1, "failed", psprintf("%s: %s", status, message), NULL, false);
}

const char *
MlWorkflowSummary(MlWorkflowRun *w, int64 *rows, bool *has_rows)
{
	StringInfoData s;
	static const char *const names[4] = {"succeeded", "carried", "refused", "skipped"};

	const char *sep = " (";

	initStringInfo(&s);
	appendStringInfo(&s, "workflow \"%s\": %d steps", w->name, w->nsteps);
	for (int i = 0; i < 4; i++)
	{
		if (w->counts[i] == 0)
			continue;
		appendStringInfo(&s, "%s%d %s", sep, w->counts[i], names[i]);
		sep = ", ";
	}
	if (sep[0] == ',')
		appendStringInfoChar(&s, ')');
	if (w->rejected)
		appendStringInfo(&s, "; gate: %s", w->rejected);
	*rows = w->rows;
	*has_rows = w->has_rows;
	return s.data;
}
