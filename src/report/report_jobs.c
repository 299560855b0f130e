/*
 * report_jobs.c
 *	  The jobs report: a project's job runs in a window, as the caller sees
 *	  them (row-level security on mlops.jobs and mlops.job_runs: the jobs
 *	  it owns, every job for admins): a run timeline, counts by status,
 *	  durations per job and the last failures.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "core/options.h"
#include "report/report.h"

#define MAX_LANES 20
#define FAILURES_SHOWN 10

static const char *const statuses[] = {"succeeded", "failed", "timed_out", "cancelled", "running", "queued"};

/* The runs, newest first, at most limit, in the window: one timeline bar each. */
static void
timeline_section(MlReport *r, int days, int limit, double *status_count)
{
	Oid			types[3] = {INT8OID, INT4OID, INT4OID};
	Datum		values[3] = {Int64GetDatum(r->project->id), Int32GetDatum(days), Int32GetDatum(limit)};
	xmlNodePtr	sec = MlHtmlSection(r, "Run timeline");
	int			n;
	int			nlanes = 0;
	const char **lanes = palloc(sizeof(char *) * MAX_LANES);
	int		   *lane;
	double	   *start,
			   *end;
	const char **status;
	StringInfoData ids;

	MlSpiExec("SELECT r.id, j.name, r.status, "
			  "  EXTRACT(epoch FROM COALESCE(r.started_at, r.due_at))::pg_catalog.float8, "
			  "  EXTRACT(epoch FROM COALESCE(r.finished_at, r.started_at, r.due_at))::pg_catalog.float8 "
			  "FROM mlops.job_runs r JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id "
			  "WHERE j.project_id OPERATOR(pg_catalog.=) $1 "
			  "  AND COALESCE(r.started_at, r.due_at) OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => $2)) "
			  /* an infinite time (an altered row) has no place on the time axis */
			  "  AND pg_catalog.isfinite(COALESCE(r.started_at, r.due_at)) "
			  "  AND pg_catalog.isfinite(COALESCE(r.finished_at, r.started_at, r.due_at)) "
			  "ORDER BY r.id DESC LIMIT $3",
			  3, types, values, NULL, SPI_OK_SELECT);
	n = (int) SPI_processed;
	lane = palloc(sizeof(int) * Max(n, 1));
	start = palloc(sizeof(double) * Max(n, 1));
	end = palloc(sizeof(double) * Max(n, 1));
	status = palloc(sizeof(char *) * Max(n, 1));
	initStringInfo(&ids);
	for (int i = 0; i < n; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *job = SPI_getvalue(t, d, 2);
		bool		isnull;
		int			l;

		appendStringInfo(&ids, "%s%s", i > 0 ? ", " : "", SPI_getvalue(t, d, 1));
		status[i] = SPI_getvalue(t, d, 3);
		start[i] = DatumGetFloat8(SPI_getbinval(t, d, 4, &isnull));
		end[i] = DatumGetFloat8(SPI_getbinval(t, d, 5, &isnull));
		for (l = 0; l < nlanes; l++)
			if (strcmp(lanes[l], job) == 0)
				break;
		if (l == nlanes && nlanes < MAX_LANES)
			lanes[nlanes++] = job;
		lane[i] = l < nlanes ? l : -1;
		for (int k = 0; k < (int) lengthof(statuses); k++)
			if (strcmp(status[i], statuses[k]) == 0)
				status_count[k]++;
	}
	MlJsonKey(&r->built_from, "job_runs");
	appendStringInfo(&r->built_from, "[%s]", ids.data);
	MlJsonKeyNumber(&r->content, "runs", n);
	if (n == 0)
	{
		MlHtmlElem(sec, "p", psprintf("No runs of this project's jobs that you may see in the last %d days.", days));
		return;
	}
	MlSvgTimeline(r, psprintf("Job runs, last %d days", days), nlanes, lanes, n, lane, start, end, status);
	MlHtmlChart(r, sec);
	if (n == limit)
		MlHtmlElem(sec, "p", psprintf("The newest %d runs are shown.", limit));
}

static void
status_section(MlReport *r, const double *status_count)
{
	xmlNodePtr	sec = MlHtmlSection(r, "Runs by status");
	static const char *const series[1] = {"runs"};
	StringInfoData o;

	MlSvgGroupedBars(r, "Runs by status", "runs", lengthof(statuses), statuses, 1, series, status_count);
	MlHtmlChart(r, sec);
	initStringInfo(&o);
	for (int k = 0; k < (int) lengthof(statuses); k++)
		MlJsonKeyNumber(&o, statuses[k], status_count[k]);
	MlJsonKey(&r->content, "status_counts");
	appendStringInfo(&r->content, "{%s}", o.data);
}

/* Per job: runs, how they ended, durations of the finished ones. */
static void
durations_section(MlReport *r, int days)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(r->project->id), Int32GetDatum(days)};
	xmlNodePtr	sec = MlHtmlSection(r, "Durations per job");
	static const char *const heads[7] = {"job", "kind", "runs", "succeeded", "failed", "median seconds", "max seconds"};
	xmlNodePtr	tab;
	StringInfoData o;

	MlSpiExec("SELECT j.name, j.kind, pg_catalog.count(r.id), "
			  "  pg_catalog.count(r.id) FILTER (WHERE r.status OPERATOR(pg_catalog.=) 'succeeded'), "
			  "  pg_catalog.count(r.id) FILTER (WHERE r.status IN ('failed', 'timed_out')), "
			  "  pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY d.seconds), pg_catalog.max(d.seconds) "
			  "FROM mlops.jobs j JOIN mlops.job_runs r ON r.job_id OPERATOR(pg_catalog.=) j.id "
			  "  AND COALESCE(r.started_at, r.due_at) OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => $2)) "
			  /*
			   * seconds between two finite times: an infinite one (an altered
			   * row) has no duration, and the difference of epochs cannot fail
			   * where subtracting far timestamps would
			   */
			  "  CROSS JOIN LATERAL (SELECT CASE WHEN pg_catalog.isfinite(r.started_at) AND pg_catalog.isfinite(r.finished_at) "
			  "    THEN (EXTRACT(epoch FROM r.finished_at) OPERATOR(pg_catalog.-) EXTRACT(epoch FROM r.started_at))::pg_catalog.float8 "
			  "    END AS seconds) d "
			  "WHERE j.project_id OPERATOR(pg_catalog.=) $1 GROUP BY j.name, j.kind ORDER BY j.name LIMIT 100",
			  2, types, values, NULL, SPI_OK_SELECT);
	tab = MlHtmlTable(sec, 7, heads);
	initStringInfo(&o);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		const char *cells[7];
		bool		isnull;
		Datum		med = SPI_getbinval(t, d, 6, &isnull);
		bool		med_null = isnull;
		Datum		max = SPI_getbinval(t, d, 7, &isnull);

		for (int c = 0; c < 5; c++)
			cells[c] = SPI_getvalue(t, d, c + 1);
		cells[5] = med_null ? "" : MlFormatNumber(DatumGetFloat8(med));
		cells[6] = isnull ? "" : MlFormatNumber(DatumGetFloat8(max));
		MlHtmlRow(tab, 7, cells);
		MlJsonKey(&o, cells[0]);
		appendStringInfo(&o, "{\"runs\": %s, \"succeeded\": %s, \"failed\": %s, \"median_seconds\": ",
						 cells[2], cells[3], cells[4]);
		if (med_null)
			appendStringInfoString(&o, "null");
		else
			MlJsonNumber(&o, DatumGetFloat8(med));
		appendStringInfoChar(&o, '}');
	}
	MlJsonKey(&r->content, "jobs");
	appendStringInfo(&r->content, "{%s}", o.data);
}

static void
failures_section(MlReport *r, int days)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(r->project->id), Int32GetDatum(days)};
	xmlNodePtr	sec = MlHtmlSection(r, "Last failures");
	static const char *const heads[6] = {"run", "job", "status", "finished (UTC)", "SQLSTATE", "message"};

	MlSpiExec("SELECT r.id::pg_catalog.text, j.name, r.status, "
			  "  pg_catalog.to_char(r.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
			  "  r.sqlstate, pg_catalog.left(r.message, 300) "
			  "FROM mlops.job_runs r JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id "
			  "WHERE j.project_id OPERATOR(pg_catalog.=) $1 AND r.status IN ('failed', 'timed_out') "
			  "  AND COALESCE(r.started_at, r.due_at) OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => $2)) "
			  "ORDER BY r.id DESC LIMIT " CppAsString2(FAILURES_SHOWN),
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
	{
		MlHtmlElem(sec, "p", "No failed runs in the window.");
		return;
	}
	MlReportSpiTable(sec, 6, heads);
}

void
MlReportJobs(MlReport *r)
{
	static const char *const valid[] = {"title", "inline_svg", "days", "runs", NULL};
	int			days;
	int			limit;
	double		status_count[lengthof(statuses)] = {0};
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum("mlops.job_runs")};
	char	   *may;

	MlOptCheckKeys(r->options, "jobs report options", valid);
	days = MlOptInt(r->options, "days", 30, 1, 3660);
	limit = MlOptInt(r->options, "runs", 200, 1, 5000);
	may = MlReportQueryValue("SELECT pg_catalog.has_table_privilege($1, 'SELECT') "
							 "AND pg_catalog.has_table_privilege('mlops.jobs', 'SELECT')",
							 1, types, values);
	if (may == NULL || strcmp(may, "t") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read job runs"),
				 errdetail("Engineers own jobs and see their runs; a jobs report shows the runs its builder may see."),
				 errhint("Build the jobs report as the engineer who owns the project's jobs.")));
	MlJsonKeyNumber(&r->built_from, "days", days);
	MlJsonKeyNumber(&r->built_from, "runs", limit);
	MlHtmlBegin(r, r->title, psprintf("Project %s: job runs in the last %d days that %s may see",
									  r->project->name, days, r->scope->caller_name));
	timeline_section(r, days, limit, status_count);
	status_section(r, status_count);
	durations_section(r, days);
	failures_section(r, days);
}
