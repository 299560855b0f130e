/*
 * jobs_api.c
 *	  ml_schedule, ml_run_now, ml_cancel, ml_unschedule, ml_alter_job.
 *
 * Engineers own schedules: a job belongs to the role that scheduled it,
 * and only that role (or an admin) sees, changes, runs or cancels it.
 * Analysts may run their own projects' train and clean jobs on demand.
 * Every check reads the catalog as the extension owner but decides for the
 * caller; a job the caller may not see is reported as missing.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "core/log_text.h"
#include "core/catalog.h"
#include "jobs/jobs.h"
#include "jobs/workflow.h"

/* What ml_schedule / ml_alter_job options say, checked and normalised. */
typedef struct JobOptions
{
	char	   *name;
	int			retries;
	char	   *backoff;
	char	   *timeout;
	char	   *statement_timeout;
	char	   *algorithm;
	char	   *hyperparams;
	char	   *train_options;
	char	   *relation;		/* quoted, schema-qualified */
	char	   *into;			/* quoted, schema-qualified */
	char	   *mode;
	char	   *recipe;			/* id, or name until resolved */
	bool		recipe_by_name;
	char	   *report_kind;	/* report: model, cleaning, drift, jobs */
	int			publish;		/* report: -1 not given, 0, 1 */
	char	   *schedule;		/* ml_alter_job only */
	int			active;			/* ml_alter_job only; -1: not given */
	char	   *workflow;		/* workflow: its name in the project */
} JobOptions;

/* A job as the catalog has it (read as the extension owner). */
typedef struct JobRow
{
	int64		id;
	int64		project_id;
	char	   *name;
	char	   *kind;
	char	   *schedule;
	char	   *owner;
	Oid			owner_oid;		/* the role that scheduled it; InvalidOid before 0.3.0 */
	char	   *options;
	bool		active;
} JobRow;

static pid_t wake_pid = 0;
static bool wake_registered = false;

static void
bad_option(const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid job option \"%s\"", key),
			 errdetail("%s", detail)));
}

static void
check_kind(const char *kind)
{
	if (strcmp(kind, "train") == 0 || strcmp(kind, "score") == 0 || strcmp(kind, "clean") == 0 ||
		strcmp(kind, "report") == 0 || strcmp(kind, "workflow") == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown job kind \"%s\"", kind),
			 errhint("Kinds are train, score, clean, report and workflow.")));
}

static char *
string_value(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		bad_option(key, "It must be a string.");
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * An interval option, checked now so the launcher never meets a bad one.
 * At most max_secs: a backoff beyond a day, or a timeout beyond what the
 * timer counts (INT_MAX ms, about 24 days), would not be honoured.
 */
static char *
interval_value(const char *key, JsonbValue *v, bool positive, int64 max_secs)
{
	char	   *s = string_value(key, v);
	MemoryContext cxt = CurrentMemoryContext;
	Interval   *volatile iv = NULL;

	PG_TRY();
	{
		iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(s),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
	}
	PG_END_TRY();
	if (iv == NULL)
		bad_option(key, psprintf("\"%s\" is not an interval (such as '30 seconds' or '10 minutes').", s));
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(positive && iv->month == 0 && iv->day == 0 && iv->time < 1000))
		bad_option(key, positive ? "It must be at least one millisecond, with no negative part."
				   : "It must not be negative.");
	/* months as 30 days, as interval comparison does */
	if ((int64) iv->month * 30 + iv->day > max_secs / SECS_PER_DAY + 1 ||
		((int64) iv->month * 30 + iv->day) * SECS_PER_DAY + iv->time / USECS_PER_SEC > max_secs)
		bad_option(key, psprintf("It must be at most %s.", max_secs == SECS_PER_DAY ? "1 day" : "24 days"));
	return s;
}

static char *
object_value(const char *key, JsonbValue *v)
{
	Jsonb	   *j;

	if (v->type != jbvBinary)
		bad_option(key, "It must be a JSON object.");
	j = JsonbValueToJsonb(v);
	if (!JB_ROOT_IS_OBJECT(j))
		bad_option(key, "It must be a JSON object.");
	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

static char *
relation_value(const char *key, JsonbValue *v)
{
	char	   *s = string_value(key, v);
	Oid			relid = DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(s)));

	/* regclassin takes a number (or "-") as an OID without looking it up */
	if (!OidIsValid(relid) || get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s\" does not exist", s),
				 errdetail("Job option \"%s\" names the relation the step reads.", key)));
	return MlRelName(relid);
}

/* The output table, resolved now with the caller's search_path. */
static char *
into_value(const char *key, JsonbValue *v)
{
	char	   *s = string_value(key, v);
	RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(s));
	Oid			nspid = RangeVarGetCreationNamespace(rv);

	if (isAnyTempNamespace(nspid))
		bad_option(key, "A job's output cannot be a temporary table: it would vanish with the run.");
	return quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
}

static void
one_option(const char *kind, const char *key, JsonbValue *v, JobOptions *o, bool alter)
{
	bool		train = strcmp(kind, "train") == 0;
	bool		score = strcmp(kind, "score") == 0;
	bool		clean = strcmp(kind, "clean") == 0;
	bool		report = strcmp(kind, "report") == 0;

	if (strcmp(key, "name") == 0)
		o->name = string_value(key, v);
	else if (strcmp(key, "retries") == 0)
	{
		char	   *n;

		if (v->type != jbvNumeric)
			bad_option(key, "It must be a whole number from 0 to 100.");
		n = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		if (strspn(n, "0123456789") != strlen(n) || strlen(n) > 3 || atoi(n) > 100)
			bad_option(key, "It must be a whole number from 0 to 100.");
		o->retries = atoi(n);
	}
	else if (strcmp(key, "backoff") == 0)
		o->backoff = interval_value(key, v, false, SECS_PER_DAY);
	else if (strcmp(key, "timeout") == 0)
		o->timeout = interval_value(key, v, true, 24 * SECS_PER_DAY);
	else if (strcmp(key, "statement_timeout") == 0)
		o->statement_timeout = interval_value(key, v, true, 24 * SECS_PER_DAY);
	else if (train && strcmp(key, "algorithm") == 0)
		o->algorithm = string_value(key, v);
	else if (train && strcmp(key, "hyperparams") == 0)
		o->hyperparams = object_value(key, v);
	else if ((train || report) && strcmp(key, "options") == 0)
		o->train_options = object_value(key, v);
	else if (report && strcmp(key, "kind") == 0)
	{
		o->report_kind = string_value(key, v);
		if (strcmp(o->report_kind, "model") != 0 && strcmp(o->report_kind, "cleaning") != 0 &&
			strcmp(o->report_kind, "drift") != 0 && strcmp(o->report_kind, "jobs") != 0)
			bad_option(key, "Report kinds are model, cleaning, drift and jobs.");
	}
	else if (report && strcmp(key, "publish") == 0)
	{
		if (v->type != jbvBool)
			bad_option(key, "It must be true or false.");
		o->publish = v->val.boolean;
	}
	else if ((score || clean) && strcmp(key, "relation") == 0)
		o->relation = relation_value(key, v);
	else if ((score || clean) && strcmp(key, "into_table") == 0)
		o->into = into_value(key, v);
	else if ((score || clean) && strcmp(key, "mode") == 0)
	{
		o->mode = string_value(key, v);
		if (strcmp(o->mode, "append") != 0 && strcmp(o->mode, "replace") != 0)
			bad_option(key, "It is \"append\" or \"replace\".");
	}
	else if (clean && strcmp(key, "recipe") == 0)
	{
		if (v->type == jbvNumeric)
			o->recipe = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		else
		{
			o->recipe = string_value(key, v);
			o->recipe_by_name = true;
		}
	}
	else if (strcmp(kind, "workflow") == 0 && strcmp(key, "workflow") == 0)
		o->workflow = string_value(key, v);
	else if (alter && strcmp(key, "schedule") == 0)
		o->schedule = string_value(key, v);
	else if (alter && strcmp(key, "active") == 0)
	{
		if (v->type != jbvBool)
			bad_option(key, "It must be true or false.");
		o->active = v->val.boolean;
	}
	else
		bad_option(key, psprintf("Jobs of kind %s take %s.", kind,
								 strcmp(kind, "workflow") == 0 ? "name, retries, backoff, timeout, statement_timeout, workflow" :
								 train ? "name, retries, backoff, timeout, statement_timeout, algorithm, hyperparams, options"
								 : score ? "name, retries, backoff, timeout, statement_timeout, relation, into_table, mode"
								 : report ? "name, retries, backoff, timeout, statement_timeout, kind, options, publish"
								 : "name, retries, backoff, timeout, statement_timeout, relation, recipe, into_table, mode"));
}

static void
parse_options(const char *kind, Jsonb *j, JobOptions *o, bool alter)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	memset(o, 0, sizeof(*o));
	o->retries = -1;
	o->active = -1;
	o->publish = -1;
	if (!JB_ROOT_IS_OBJECT(j) || JB_ROOT_IS_SCALAR(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job options must be a JSON object")));
	it = JsonbIteratorInit(&j->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *key = pnstrdup(v.val.string.val, v.val.string.len);

			tok = JsonbIteratorNext(&it, &v, true);
			if (v.type == jbvNull)
				continue;		/* null: not given */
			one_option(kind, key, &v, o, alter);
		}
	}
	if (alter)
		return;					/* the changes alone; the merged whole is checked next */
	if (strcmp(kind, "score") == 0 && (o->relation == NULL || o->into == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a score job needs options \"relation\" and \"into_table\"")));
	if (strcmp(kind, "clean") == 0 && (o->relation == NULL || o->recipe == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a clean job needs options \"relation\" and \"recipe\"")));
	if (strcmp(kind, "workflow") == 0 && o->workflow == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a workflow job needs option \"workflow\" (the name of one of the project's workflows)")));
}

/* A recipe the caller can see (row-level security), by id or by name. */
static void
resolve_recipe(MlScope *scope, JobOptions *o)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	if (o->recipe == NULL)
		return;
	MlScopeAsCaller(scope);
	values[0] = CStringGetTextDatum(o->recipe);
	MlSpiExec(o->recipe_by_name
			  ? "SELECT id FROM mlops.recipes WHERE name OPERATOR(pg_catalog.=) $1"
			  : "SELECT id FROM mlops.recipes WHERE id::pg_catalog.text OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("recipe \"%s\" does not exist", o->recipe)));
	o->recipe = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	o->recipe_by_name = false;
}

static Datum
text_or_null(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

/* Insert (job->id new) or rewrite a job row, as the extension owner. */
static void
write_job(MlScope *scope, JobRow *job, const JobOptions *o, const char *raw_options,
		  bool insert, bool active)
{
	Oid			types[22] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, NAMEOID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID,
	TEXTOID, BOOLOID};
	Datum		values[22];
	char		nulls[23] = "                      ";
	MlSchedule	s;

	MlScheduleParse(job->schedule, &s);
	values[0] = Int64GetDatum(job->id);
	values[1] = Int64GetDatum(job->project_id);
	values[2] = text_or_null(o->name ? o->name : job->name, &nulls[2]);
	values[3] = CStringGetTextDatum(job->kind);
	values[4] = CStringGetTextDatum(job->schedule);
	values[5] = text_or_null(o->algorithm, &nulls[5]);
	values[6] = text_or_null(o->hyperparams, &nulls[6]);
	values[7] = text_or_null(o->train_options, &nulls[7]);
	values[8] = text_or_null(o->relation, &nulls[8]);
	values[9] = text_or_null(o->into, &nulls[9]);
	values[10] = text_or_null(o->mode, &nulls[10]);
	values[11] = text_or_null(o->recipe, &nulls[11]);
	values[12] = CStringGetTextDatum(raw_options);
	values[13] = DirectFunctionCall1(namein, CStringGetDatum(job->owner));
	values[14] = Int32GetDatum(o->retries < 0 ? 0 : o->retries);
	values[15] = text_or_null(o->timeout, &nulls[15]);
	values[16] = text_or_null(o->backoff ? o->backoff : "30 seconds", &nulls[16]);
	values[17] = text_or_null(o->statement_timeout, &nulls[17]);
	values[18] = TimestampTzGetDatum(MlScheduleNext(&s, GetCurrentTransactionStartTimestamp()));
	if (!active)
		nulls[18] = 'n';
	values[19] = Int64GetDatum((int64) get_role_oid(job->owner, false));
	/* a report job: which report (model by default) and whether to publish it */
	values[20] = text_or_null(strcmp(job->kind, "report") == 0 ?
							  (o->report_kind ? o->report_kind : "model") : NULL, &nulls[20]);
	values[21] = BoolGetDatum(o->publish == 1);
	if (o->publish < 0 || strcmp(job->kind, "report") != 0)
		nulls[21] = 'n';

	MlScopeAsOwner(scope);
	if (o->name && (insert || strcmp(o->name, job->name) != 0))
	{
		MlSpiExec("SELECT 1 FROM mlops.jobs WHERE name OPERATOR(pg_catalog.=) $3",
				  3, types, values, nulls, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("a job named \"%s\" already exists", o->name),
					 errhint("Choose another \"name\" option, or leave it out for a generated one.")));
	}
	MlSpiExec(psprintf("%s mlops.jobs SET (project_id, name, kind, schedule, command, options, owner, "
					   "  max_retries, timeout, backoff, statement_timeout, next_run_at, active) = "
					   "(SELECT $2, $3, $4, $5, c.command, "
					   "  ($13::pg_catalog.jsonb OPERATOR(pg_catalog.||) c.command) OPERATOR(pg_catalog.-) 'owner_oid', $14, $15, "
					   "  $16::pg_catalog.interval, $17::pg_catalog.interval, $18::pg_catalog.interval, $19, %s "
					   " FROM (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
					   "   'algorithm', $6, 'hyperparams', $7::pg_catalog.jsonb, 'options', $8::pg_catalog.jsonb, "
					   "   'relation', $9, 'into_table', $10, 'mode', $11, 'recipe', $12::pg_catalog.int8, "
					   "   'kind', $21, 'publish', $22, "
					   /* the owner's OID, kept from the first write: runs check it (dispatch.c) */
					   "   'owner_oid', COALESCE(jobs.command OPERATOR(pg_catalog.->) 'owner_oid', "
					   "                         pg_catalog.to_jsonb($20)))) AS command) c) "
					   "WHERE id OPERATOR(pg_catalog.=) $1",
					   "UPDATE", active ? "true" : "false"),
			  22, types, values, nulls, SPI_OK_UPDATE);
	if (SPI_processed != 1)
		elog(ERROR, "job %lld vanished while it was written", (long long) job->id);
}

static void
warn_if_not_served(void)
{
	char	   *db = get_database_name(MyDatabaseId);

	if (!MlJobsServesDatabase(db))
		ereport(WARNING,
				(errmsg("database %s is not served by the pg_mlops launcher: the job will not run", MlLogQuote(db)),
				 errhint("Add it to pg_mlops.job_databases (then reload the configuration).")));
}

static void
require_engineer(MlScope *scope)
{
	if (superuser_arg(scope->caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("a superuser cannot own a job"),
				 errdetail("Jobs run as the role that owns them, and never as a superuser."),
				 errhint("SET ROLE to an engineer's role first.")));
	if (!MlCallerHasRole(scope, "ml_engineer"))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to schedule jobs"),
				 errdetail("Engineers own schedules; analysts run their projects' train and clean jobs with ml_run_now.")));
}

PG_FUNCTION_INFO_V1(ml_schedule);

Datum
ml_schedule(PG_FUNCTION_ARGS)
{
	char	   *project = MlTextArg(fcinfo, 0, "project");
	char	   *kind = MlTextArg(fcinfo, 1, "kind");
	char	   *schedule = MlTextArg(fcinfo, 2, "schedule");
	Jsonb	   *options;
	JobOptions	o;
	MlSchedule	s;
	MlScope		scope;
	MlProject  *p;
	JobRow		job = {0};
	bool		isnull;
	const char *keys[3] = {"kind", "schedule", "options"};
	const char *vals[3];

	MlJobsRequireLauncher();
	MlRequireArg(fcinfo, 3, "options");
	options = PG_GETARG_JSONB_P(3);
	check_kind(kind);
	MlScheduleParse(schedule, &s);
	/* names resolve with the caller's search_path, before the scope pins it */
	parse_options(kind, options, &o, false);

	MlScopeEnter(&scope);
	require_engineer(&scope);
	p = MlProjectLookup(&scope, project);
	resolve_recipe(&scope, &o);

	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT pg_catalog.nextval('mlops.jobs_id_seq')", 0, NULL, NULL, NULL, SPI_OK_SELECT);
	job.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	job.project_id = p->id;
	job.name = psprintf("%s %s %lld", p->name, kind, (long long) job.id);
	job.kind = kind;
	job.schedule = schedule;
	job.owner = scope.caller_name;
	{
		Oid			types[6] = {INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, NAMEOID};
		Datum		values[6] = {Int64GetDatum(job.id), Int64GetDatum(p->id),
			CStringGetTextDatum(o.name ? o.name : job.name), CStringGetTextDatum(kind),
		CStringGetTextDatum(schedule), DirectFunctionCall1(namein, CStringGetDatum(job.owner))};

		if (o.name)
		{
			MlSpiExec("SELECT 1 FROM mlops.jobs WHERE name OPERATOR(pg_catalog.=) $3",
					  3, types, values, NULL, SPI_OK_SELECT);
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("a job named \"%s\" already exists", o.name),
						 errhint("Choose another \"name\" option, or leave it out for a generated one.")));
		}
		/* the row first, then every column through the one writer */
		MlSpiExec("INSERT INTO mlops.jobs (id, project_id, name, kind, schedule, owner) "
				  "VALUES ($1, $2, $3, $4, $5, $6)", 6, types, values, NULL, SPI_OK_INSERT);
		job.name = o.name ? o.name : job.name;
	}
	{
		char	   *raw = JsonbToCString(NULL, &options->root, VARSIZE(options));
		char	   *name = o.name;

		o.name = NULL;			/* already checked and written */
		write_job(&scope, &job, &o, raw, true, true);
		if (o.workflow)
			MlWorkflowBindJob(&scope, job.id, p->id, o.workflow);
		o.name = name;
		vals[0] = kind;
		vals[1] = schedule;
		vals[2] = raw;
	}
	MlAudit(&scope, "schedule", "job", job.name, p->id, 3, keys, vals);
	MlScopeExit(&scope);
	warn_if_not_served();
	PG_RETURN_INT64(job.id);
}

/* The job, as the catalog has it; NULL if there is none. */
static JobRow *
load_job(MlScope *scope, int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	JobRow	   *j;
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	MemoryContext old;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT id, COALESCE(project_id, 0), name, kind, schedule, owner, options::pg_catalog.text, active, "
			  "  command OPERATOR(pg_catalog.->>) 'owner_oid' "
			  "FROM mlops.jobs WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, types, values, NULL, SPI_OK_SELECT);
	MlScopeAsCaller(scope);
	if (SPI_processed != 1)
		return NULL;
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	/* kept past the scope: ml_alter_job reads the job in one scope, writes in another */
	old = MemoryContextSwitchTo(TopTransactionContext);
	j = palloc0(sizeof(JobRow));
	j->id = id;
	j->project_id = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
	j->name = SPI_getvalue(t, d, 3);
	j->kind = SPI_getvalue(t, d, 4);
	j->schedule = SPI_getvalue(t, d, 5);
	j->owner = SPI_getvalue(t, d, 6);
	j->options = SPI_getvalue(t, d, 7);
	j->active = DatumGetBool(SPI_getbinval(t, d, 8, &isnull));
	{
		/* stored by write_job as a number; anything else: no OID */
		char	   *oid_text = SPI_getvalue(t, d, 9);
		char	   *end = NULL;
		unsigned long v = oid_text ? strtoul(oid_text, &end, 10) : 0;

		j->owner_oid = oid_text && *oid_text && *end == '\0' && v <= PG_UINT32_MAX ? (Oid) v : InvalidOid;
	}
	MemoryContextSwitchTo(old);
	return j;
}

/*
 * The role that owns a job: by the OID it was scheduled by (a role dropped
 * and re-created under its name is another role and owns nothing), by name
 * for a job scheduled before 0.3.0. InvalidOid when that role is gone.
 */
static Oid
job_owner(const JobRow *j)
{
	if (OidIsValid(j->owner_oid))
		return SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(j->owner_oid)) ? j->owner_oid : InvalidOid;
	return get_role_oid(j->owner, true);
}

static bool
owns_job(MlScope *scope, const JobRow *j)
{
	Oid			owner = job_owner(j);

	return (OidIsValid(owner) && has_privs_of_role(scope->caller, owner)) ||
		MlCallerHasRole(scope, "ml_admin");
}

static void
no_such_job(int64 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("job %lld does not exist", (long long) id),
			 errhint("Jobs you own are listed in the ml_jobs view.")));
}

static void
no_such_run(int64 run)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("run %lld does not exist", (long long) run),
			 errhint("Runs of the jobs you own are listed in the ml_job_runs view.")));
}

/* A job the caller owns (or administers); others do not exist for it. */
static JobRow *
owned_job(MlScope *scope, int64 id)
{
	JobRow	   *j = load_job(scope, id);

	if (j == NULL || !owns_job(scope, j))
		no_such_job(id);
	return j;
}

/* May an analyst run this job? Its kind is train or clean, the project theirs. */
static bool
analyst_may_run(MlScope *scope, const JobRow *j)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(j->project_id)};
	char	   *access;

	if (!MlCallerHasRole(scope, "ml_analyst"))
		return false;
	MlScopeAsCaller(scope);
	MlSpiExec("SELECT mlops.project_access($1)", 1, types, values, NULL, SPI_OK_SELECT);
	access = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (access == NULL || (strcmp(access, "owner") != 0 && strcmp(access, "member") != 0))
		return false;
	if (strcmp(j->kind, "train") != 0 && strcmp(j->kind, "clean") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to run job %lld", (long long) j->id),
				 errdetail("Analysts may run their projects' train and clean jobs; this one is a %s job.", j->kind)));
	return true;
}

/* At commit, wake the launcher so a queued run starts without waiting a poll. */
static void
wake_at_commit(XactEvent event, void *arg)
{
	(void) arg;
	if (event == XACT_EVENT_COMMIT && wake_pid > 0)
		(void) kill(wake_pid, SIGUSR1);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_pid = 0;
}

static void
wake_launcher(void)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(ML_LAUNCHER_TYPE)};

	MlSpiExec("SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_type OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		return;
	wake_pid = (pid_t) atoi(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	if (!wake_registered)
		RegisterXactCallback(wake_at_commit, NULL);
	wake_registered = true;
}

/*
 * At most pg_mlops.job_max_queued_runs runs of a job wait to start: runs of
 * one job never overlap, so more would only pile up. The job's row lock
 * makes concurrent callers count one after the other, each on the latest
 * committed runs. As the extension owner.
 */
static void
require_queue_room(const JobRow *j)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(j->id)};
	int64		queued;
	bool		isnull;

	MlSpiExec("SELECT 1 FROM mlops.jobs WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, types, values, NULL, SPI_OK_SELECT);
	/*
	 * Counted on the latest committed rows, not the transaction's snapshot:
	 * under REPEATABLE READ that may predate the runs queued by callers
	 * that held the lock before us, and the cap would not hold.
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_execute_with_args("SELECT pg_catalog.count(*) FROM mlops.job_runs "
							  "WHERE job_id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'queued'",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the queued runs of job %lld", (long long) j->id);
	PopActiveSnapshot();
	queued = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (queued >= ml_job_max_queued_runs)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("job %lld already has %lld runs waiting to start", (long long) j->id,
						(long long) queued),
				 errdetail("Runs of one job never overlap, so at most %d wait (pg_mlops.job_max_queued_runs).",
						   ml_job_max_queued_runs),
				 errhint("Wait for a queued run to start, or cancel one with ml_cancel().")));
}

PG_FUNCTION_INFO_V1(ml_run_now);

Datum
ml_run_now(PG_FUNCTION_ARGS)
{
	int64		id;
	MlScope		scope;
	JobRow	   *j;
	int64		run;
	bool		isnull;
	Oid			types[4] = {INT8OID, NAMEOID, BOOLOID, OIDOID};
	Datum		values[4];
	/* ml_run_now(job, restart): a workflow run that does not resume */
	bool		restart = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	/* the requester by OID too (0.4.0), for ml_cancel */
	bool		by_oid = MlCatalogHasColumn("job_runs", "requested_by_oid");

	MlJobsRequireLauncher();
	MlRequireArg(fcinfo, 0, "job");
	id = PG_GETARG_INT64(0);
	MlScopeEnter(&scope);
	j = load_job(&scope, id);
	if (j == NULL || (!owns_job(&scope, j) && !analyst_may_run(&scope, j)))
		no_such_job(id);
	values[0] = Int64GetDatum(id);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(scope.caller_name));
	values[2] = BoolGetDatum(restart);
	values[3] = ObjectIdGetDatum(scope.caller);
	MlScopeAsOwner(&scope);
	require_queue_room(j);
	if (by_oid)
		MlSpiExec("INSERT INTO mlops.job_runs (job_id, trigger, requested_by, from_start, requested_by_oid) "
				  "VALUES ($1, 'manual', $2, $3, $4) RETURNING id", 4, types, values, NULL, SPI_OK_INSERT_RETURNING);
	else if (restart)
		MlSpiExec("INSERT INTO mlops.job_runs (job_id, trigger, requested_by, from_start) "
				  "VALUES ($1, 'manual', $2, $3) RETURNING id", 3, types, values, NULL, SPI_OK_INSERT_RETURNING);
	else
		MlSpiExec("INSERT INTO mlops.job_runs (job_id, trigger, requested_by) VALUES ($1, 'manual', $2) "
				  "RETURNING id", 2, types, values, NULL, SPI_OK_INSERT_RETURNING);
	run = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	wake_launcher();
	{
		const char *keys[1] = {"run"};
		const char *vals[1] = {psprintf("%lld", (long long) run)};

		MlAudit(&scope, "run_now", "job", j->name, j->project_id, 1, keys, vals);
	}
	MlScopeExit(&scope);
	warn_if_not_served();
	PG_RETURN_INT64(run);
}

/*
 * Whether the caller is the role that asked for a run (ml_run_now): by the
 * OID it asked with, so a role re-created under the name of a dropped
 * requester is not it (a run whose requester was gone at the upgrade to
 * 0.4.0 has no OID: nobody). By name on a catalog not yet updated to 0.4.0.
 */
static bool
requested_run(MlScope *scope, HeapTuple tup, TupleDesc desc)
{
	int			col = SPI_fnumber(desc, "requested_by_oid");
	bool		isnull;
	char	   *name;

	if (col > 0)
	{
		Datum		d = SPI_getbinval(tup, desc, col, &isnull);

		return !isnull && DatumGetObjectId(d) == scope->caller;
	}
	name = SPI_getvalue(tup, desc, SPI_fnumber(desc, "requested_by"));
	return name != NULL && strcmp(name, scope->caller_name) == 0;
}

/* SIGINT to a run's worker (ml_cancel), if it is one of ours. */
static void
signal_worker(int pid)
{
	if (MlRunWorkerAlive(pid))
		(void) kill((pid_t) pid, SIGINT);
}

PG_FUNCTION_INFO_V1(ml_cancel);

Datum
ml_cancel(PG_FUNCTION_ARGS)
{
	int64		run;
	MlScope		scope;
	JobRow	   *j;
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char	   *status;
	char	   *pid;
	bool		requester;
	int64		job;
	bool		isnull;
	bool		result = false;

	MlJobsRequireLauncher();
	MlRequireArg(fcinfo, 0, "run");
	run = PG_GETARG_INT64(0);
	MlScopeEnter(&scope);
	values[0] = Int64GetDatum(run);
	MlScopeAsOwner(&scope);
	/*
	 * The job's row is locked before the run's, the order of ml_unschedule
	 * and of every writer of runs (runs.c): the run names its job (a run
	 * never changes jobs), load_job locks it, then the run is locked and
	 * read again, as it is once the job is ours.
	 */
	MlSpiExec("SELECT job_id FROM mlops.job_runs WHERE id OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		no_such_run(run);
	job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	j = load_job(&scope, job);
	MlScopeAsOwner(&scope);
	MlSpiExec(MlCatalogHasColumn("job_runs", "requested_by_oid") ?
			  "SELECT job_id, status, pid, requested_by, requested_by_oid FROM mlops.job_runs "
			  "WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE" :
			  "SELECT job_id, status, pid, requested_by FROM mlops.job_runs "
			  "WHERE id OPERATOR(pg_catalog.=) $1 FOR UPDATE",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		no_such_run(run);
	status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	pid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	requester = requested_run(&scope, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	/* the job's owner, or the analyst who asked for this run and still may */
	if (j == NULL || (!owns_job(&scope, j) && !(requester && analyst_may_run(&scope, j))))
		no_such_run(run);
	values[1] = CStringGetTextDatum(psprintf("cancelled by %s", scope.caller_name));
	MlScopeAsOwner(&scope);
	if (strcmp(status, "queued") == 0)
	{
		/* not started (or waiting for the job's previous run): ends here */
		MlSpiExec("UPDATE mlops.job_runs SET status = 'cancelled', sqlstate = '57014', message = $2, "
				  "finished_at = pg_catalog.clock_timestamp(), cancel_requested = true "
				  "WHERE id OPERATOR(pg_catalog.=) $1", 2, types, values, NULL, SPI_OK_UPDATE);
		MlRunNotify(run, "cancelled");
		result = true;
	}
	else if (strcmp(status, "running") == 0)
	{
		/* the worker records the cancel when its step stops */
		MlSpiExec("UPDATE mlops.job_runs SET cancel_requested = true WHERE id OPERATOR(pg_catalog.=) $1",
				  1, types, values, NULL, SPI_OK_UPDATE);
		result = true;
	}
	if (result)
	{
		const char *keys[1] = {"run"};
		const char *vals[1] = {psprintf("%lld", (long long) run)};

		MlAudit(&scope, "cancel", "job", j->name, j->project_id, 1, keys, vals);
		if (pid != NULL)
			signal_worker(atoi(pid));
	}
	MlScopeExit(&scope);
	PG_RETURN_BOOL(result);
}

PG_FUNCTION_INFO_V1(ml_unschedule);

Datum
ml_unschedule(PG_FUNCTION_ARGS)
{
	int64		id;
	MlScope		scope;
	JobRow	   *j;
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	MlJobsRequireLauncher();
	MlRequireArg(fcinfo, 0, "job");
	id = PG_GETARG_INT64(0);
	MlScopeEnter(&scope);
	j = owned_job(&scope, id);
	values[0] = Int64GetDatum(id);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT pid FROM mlops.job_runs WHERE job_id OPERATOR(pg_catalog.=) $1 "
			  "AND status IN ('queued', 'running') AND pid IS NOT NULL",
			  1, types, values, NULL, SPI_OK_SELECT);
	for (uint64 i = 0; i < SPI_processed; i++)
		signal_worker(atoi(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
	MlSpiExec("DELETE FROM mlops.jobs WHERE id OPERATOR(pg_catalog.=) $1", 1, types, values, NULL, SPI_OK_DELETE);
	MlAudit(&scope, "unschedule", "job", j->name, j->project_id, 0, NULL, NULL);
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(ml_alter_job);

Datum
ml_alter_job(PG_FUNCTION_ARGS)
{
	int64		id;
	Jsonb	   *changes;
	MlScope		scope;
	JobRow	   *j;
	JobOptions	o;
	JobOptions	check;
	char	   *merged;
	bool		active;
	MlSchedule	s;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];

	MlJobsRequireLauncher();
	MlRequireArg(fcinfo, 0, "job");
	MlRequireArg(fcinfo, 1, "options");
	id = PG_GETARG_INT64(0);
	changes = PG_GETARG_JSONB_P(1);

	/* the caller's search_path resolves the new names, as in ml_schedule */
	MlScopeEnter(&scope);
	j = owned_job(&scope, id);
	MlScopeExit(&scope);
	parse_options(j->kind, changes, &check, true);
	if (check.schedule)
		MlScheduleParse(check.schedule, &s);
	/*
	 * The step runs with its owner's rights: what it reads and writes is the
	 * owner's to say. An admin who is not the owner would otherwise point
	 * it at tables only the owner may read or write.
	 */
	if ((check.algorithm || check.hyperparams || check.train_options || check.relation ||
		 check.into || check.mode || check.recipe || check.workflow || check.report_kind ||
		 check.publish >= 0) &&
		!(OidIsValid(job_owner(j)) && has_privs_of_role(GetUserId(), job_owner(j))))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the owner of job %lld can change what its step reads and writes", (long long) id),
				 errdetail("The job runs as role \"%s\"; its relation, into_table, mode, recipe, algorithm, hyperparams, options, report kind and publish are that role's to set.",
						   j->owner),
				 errhint("Admins may pause or resume it, change its schedule, retries and timeouts, or remove it.")));

	MlScopeEnter(&scope);
	j = owned_job(&scope, id);
	/* the stored options (normalised names) with the changes over them */
	values[0] = CStringGetTextDatum(j->options);
	values[1] = CStringGetTextDatum(JsonbToCString(NULL, &changes->root, VARSIZE(changes)));
	MlSpiExec("SELECT ($1::pg_catalog.jsonb OPERATOR(pg_catalog.||) $2::pg_catalog.jsonb) "
			  "OPERATOR(pg_catalog.-) ARRAY['schedule', 'active']::pg_catalog.text[]",
			  2, types, values, NULL, SPI_OK_SELECT);
	merged = MemoryContextStrdup(TopTransactionContext,
								 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	MlScopeExit(&scope);
	parse_options(j->kind, DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(merged))), &o, false);

	MlScopeEnter(&scope);
	j = owned_job(&scope, id);
	resolve_recipe(&scope, &o);
	if (check.schedule)
		j->schedule = check.schedule;
	active = check.active < 0 ? j->active : check.active == 1;
	write_job(&scope, j, &o, merged, false, active);
	if (o.workflow)
		MlWorkflowBindJob(&scope, j->id, j->project_id, o.workflow);
	{
		const char *keys[1] = {"options"};
		const char *vals[1] = {JsonbToCString(NULL, &changes->root, VARSIZE(changes))};

		MlAudit(&scope, "alter", "job", o.name ? o.name : j->name, j->project_id, 1, keys, vals);
	}
	MlScopeExit(&scope);
	PG_RETURN_VOID();
}
