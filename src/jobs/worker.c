/*
 * worker.c
 *	  One run of a job, in its own background worker connected to the
 *	  job's database as the job's owner (never as a superuser: the dispatch
 *	  pass refuses such owners). The step goes through the SQL API
 *	  (ml_train, ml_score, ml_apply_recipe) with bound parameters, so it has
 *	  exactly the owner's rights: a privilege the owner lost fails the run
 *	  with that privilege's error. Catalog writes switch to the extension
 *	  owner (MlScope), as every API function does.
 *
 * A run takes a session advisory lock on its job before it starts, so two
 * runs of one job never overlap. The timeout is our own timer, which
 * cancels the step like statement_timeout would (a background worker has
 * no statement_timeout of its own); ml_cancel sends SIGINT.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "core/log_text.h"
#include "core/catalog.h"
#include "core/options.h"
#include "core/run_progress.h"
#include "jobs/jobs.h"
#include "jobs/workflow.h"

/* the advisory lock class of job runs ('MLJB') */
#define ML_JOB_LOCK_CLASS 1296845378

typedef struct Run
{
	int64		run;
	int64		job;
	int64		project_id;
	char	   *kind;
	char	   *project;
	char	   *ext;			/* the extension's schema, quoted */
	int64		timeout_ms;		/* 0: none */
	Jsonb	   *command;		/* mlops.jobs.command as stored */
	/* from the command, checked (read_command) */
	char	   *algorithm;
	char	   *hyperparams;
	char	   *train_options;
	char	   *relation;
	char	   *into;
	char	   *mode;
	char	   *recipe;
	char	   *report_kind;
	char	   *publish;		/* "true" / "false" / NULL */
	/* the result of the step */
	int64		rows;
	bool		has_rows;
	char	   *detail;
	TimestampTz step_start;
} Run;

static volatile sig_atomic_t timed_out = false;
static TimeoutId run_timeout;

/* a workflow run's state (workflow_run.c); NULL for other kinds */
static MlWorkflowRun *workflow = NULL;
static bool workflow_more = false;

/* Cancel the step the way statement_timeout does, remembering why. */
static void
run_timeout_handler(void)
{
	timed_out = true;
	kill(MyProcPid, SIGINT);
}

static char *
field(HeapTuple t, TupleDesc d, int n)
{
	return SPI_getvalue(t, d, n);
}

/*
 * The job's stored command is catalog data that a superuser may have
 * altered (or a bad restore damaged): every value is checked again, so a
 * wrong one fails the run with XX001 and names the job, instead of
 * reaching SQL built here as a cast that fails.
 */
static void
bad_command(const Run *r, const char *key, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 key ? errmsg("the stored command of job %lld has an invalid \"%s\"", (long long) r->job, key)
			 : errmsg("the stored command of job %lld is not a JSON object", (long long) r->job),
			 errdetail("%s", detail),
			 errhint("Set the job's options again with ml_alter_job(%lld, ...), or unschedule it and schedule it again.",
					 (long long) r->job)));
}

static JsonbValue *
command_value(const Run *r, const char *key, enum jbvType type, const char *detail)
{
	JsonbValue *v = MlOptGet(&r->command->root, key);

	if (v != NULL && v->type != type)
		bad_command(r, key, detail);
	return v;
}

static char *
command_string(const Run *r, const char *key)
{
	JsonbValue *v = command_value(r, key, jbvString, "It must be a string.");

	return v ? pnstrdup(v->val.string.val, v->val.string.len) : NULL;
}

/* An object (hyperparameters, options), as jsonb text for the SQL API. */
static char *
command_object(const Run *r, const char *key)
{
	JsonbValue *v = command_value(r, key, jbvBinary, "It must be a JSON object.");

	if (v == NULL)
		return NULL;
	if (!JsonContainerIsObject(v->val.binary.data))
		bad_command(r, key, "It must be a JSON object.");
	return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
}

/* A relation name, parsed and quoted again: [schema.]name, nothing else. */
static char *
command_relation(const Run *r, const char *key)
{
	char	   *name = command_string(r, key);
	MemoryContext cxt = CurrentMemoryContext;
	List	   *volatile names = NIL;

	if (name == NULL)
		return NULL;
	/* only palloc and the syntax error happen in there: safe to catch */
	PG_TRY();
	{
		names = stringToQualifiedNameList(name);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		names = NIL;
	}
	PG_END_TRY();
	if (list_length(names) == 2)
		return quote_qualified_identifier(strVal(linitial(names)), strVal(lsecond(names)));
	if (list_length(names) == 1)
		return pstrdup(quote_identifier(strVal(linitial(names))));
	bad_command(r, key, psprintf("\"%s\" is not a relation name.", name));
	return NULL;
}

/* A recipe id: a whole number within bigint. */
static char *
command_recipe(const Run *r)
{
	JsonbValue *v = command_value(r, "recipe", jbvNumeric, "It must be a recipe id (a whole number).");
	char	   *text;
	int64		id;

	if (v == NULL)
		return NULL;
	text = MlJsonValueText(v);
	if (strspn(text, "0123456789") != strlen(text) || strlen(text) > 18 ||
		(id = pg_strtoint64(text)) <= 0)
		bad_command(r, "recipe", psprintf("%s is not a recipe id (a whole number).", text));
	return text;
}

static void
read_command(Run *r)
{
	bool		train = strcmp(r->kind, "train") == 0;
	bool		report = strcmp(r->kind, "report") == 0;
	bool		rows = strcmp(r->kind, "score") == 0 || strcmp(r->kind, "clean") == 0;

	if (r->command == NULL)
		bad_command(r, NULL, "It is NULL.");
	if (!JB_ROOT_IS_OBJECT(r->command) || JB_ROOT_IS_SCALAR(r->command))
		bad_command(r, NULL, psprintf("It is %s.", JsonbToCString(NULL, &r->command->root, 64)));
	if (train)
	{
		r->algorithm = command_string(r, "algorithm");
		r->hyperparams = command_object(r, "hyperparams");
	}
	if (train || report)
		r->train_options = command_object(r, "options");
	if (rows)
	{
		r->relation = command_relation(r, "relation");
		r->into = command_relation(r, "into_table");
		r->mode = command_string(r, "mode");
		if (r->mode && strcmp(r->mode, "append") != 0 && strcmp(r->mode, "replace") != 0)
			bad_command(r, "mode", "It is \"append\" or \"replace\".");
		r->recipe = command_recipe(r);
	}
	if (report)
	{
		JsonbValue *v;

		r->report_kind = command_string(r, "kind");
		if (r->report_kind && strcmp(r->report_kind, "model") != 0 && strcmp(r->report_kind, "cleaning") != 0 &&
			strcmp(r->report_kind, "drift") != 0 && strcmp(r->report_kind, "jobs") != 0)
			bad_command(r, "kind", "Report kinds are model, cleaning, drift and jobs.");
		v = command_value(r, "publish", jbvBool, "It must be true or false.");
		r->publish = v ? pstrdup(v->val.boolean ? "true" : "false") : NULL;
	}
	if (strcmp(r->kind, "workflow") == 0)
	{
		JsonbValue *v = MlOptGet(&r->command->root, "workflow");

		/* the workflow's id (workflow_run.c looks it up) */
		if (v != NULL && v->type != jbvString && v->type != jbvNumeric)
			bad_command(r, "workflow", "It must be the id of one of the project's workflows.");
	}
}

/*
 * Load the run and claim it (pid = ours) while it is still queued. False:
 * it was cancelled or removed before this worker came up.
 */
static bool
load_and_claim(Run *r, MemoryContext cxt)
{
	MlScope		scope;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(r->run), Int32GetDatum(MyProcPid)};
	HeapTuple	t;
	TupleDesc	d;
	bool		isnull;
	bool		claimed;
	MemoryContext old;

	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlSpiExec("SELECT j.id, j.project_id, j.kind, p.name, pg_catalog.quote_ident(n.nspname), "
			  "  COALESCE((EXTRACT(epoch FROM LEAST(j.timeout, j.statement_timeout)) "
			  "            OPERATOR(pg_catalog.*) 1000)::bigint, 0), "
			  "  j.command "
			  "FROM mlops.job_runs r JOIN mlops.jobs j ON j.id OPERATOR(pg_catalog.=) r.job_id "
			  "LEFT JOIN mlops.projects p ON p.id OPERATOR(pg_catalog.=) j.project_id, "
			  "pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace "
			  "WHERE r.id OPERATOR(pg_catalog.=) $1 AND e.extname OPERATOR(pg_catalog.=) 'pg_mlops'",
			  1, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
	{
		MlScopeExit(&scope);
		return false;
	}
	t = SPI_tuptable->vals[0];
	d = SPI_tuptable->tupdesc;
	old = MemoryContextSwitchTo(cxt);
	r->job = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
	r->project_id = DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
	r->kind = field(t, d, 3);
	r->project = field(t, d, 4);
	r->ext = field(t, d, 5);
	r->timeout_ms = DatumGetInt64(SPI_getbinval(t, d, 6, &isnull));
	/*
	 * read back in check_run, where a damaged value fails the run; NULL
	 * only where the column's NOT NULL was dropped, never detoasted
	 */
	{
		Datum		command = SPI_getbinval(t, d, 7, &isnull);

		r->command = isnull ? NULL : DatumGetJsonbPCopy(command);
	}
	MemoryContextSwitchTo(old);

	MlSpiExec("UPDATE mlops.job_runs SET pid = $2 WHERE id OPERATOR(pg_catalog.=) $1 "
			  "AND status OPERATOR(pg_catalog.=) 'queued'",
			  2, types, values, NULL, SPI_OK_UPDATE);
	claimed = SPI_processed == 1;
	MlScopeExit(&scope);
	return claimed;
}

/* Wait for the job's other run to end, then mark this one running. */
static bool
lock_and_start(Run *r)
{
	MlScope		scope;
	Oid			types[2] = {INT4OID, INT4OID};
	Datum		values[2] = {Int32GetDatum(ML_JOB_LOCK_CLASS), Int32GetDatum((int32) (r->job % PG_INT32_MAX))};
	Oid			rtypes[1] = {INT8OID};
	Datum		rvalues[1] = {Int64GetDatum(r->run)};
	bool		started;

	MlScopeEnter(&scope);
	pgstat_report_activity(STATE_RUNNING, "pg_mlops job run: waiting for the job's previous run");
	MlSpiExec("SELECT pg_catalog.pg_advisory_lock($1, $2)", 2, types, values, NULL, SPI_OK_SELECT);
	MlScopeAsOwner(&scope);
	MlSpiExec("UPDATE mlops.job_runs SET status = 'running', started_at = pg_catalog.clock_timestamp(), "
			  "progress = 0 WHERE id OPERATOR(pg_catalog.=) $1 AND status OPERATOR(pg_catalog.=) 'queued'",
			  1, rtypes, rvalues, NULL, SPI_OK_UPDATE);
	started = SPI_processed == 1;
	MlScopeExit(&scope);
	return started;
}

/* SPI as the owner, with bound parameters (all text here). */
static void
owner_exec(const char *sql, int nargs, const char **args, int expected)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = "    ";

	for (int i = 0; i < nargs; i++)
	{
		if (args[i])
			values[i] = CStringGetTextDatum(args[i]);
		else
			nulls[i] = 'n';
	}
	MlSpiExec(sql, nargs, types, values, nulls, expected);
}

static void
require_arg(const Run *r, const char *value, const char *name)
{
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job %lld has no %s", (long long) r->job, name),
				 errhint("Set it with ml_alter_job(%lld, '{\"%s\": ...}').", (long long) r->job, name)));
}

static void run_from_args(Run *r, const MlRunStepArgs *a);

/*
 * Whether a value of type from goes into a column of type to unchanged:
 * the same type, a whole number into a wider number or text (an int4 or
 * a real into double precision), any value
 * into text, a timestamp into timestamptz (read in the session's zone,
 * as the CSV import reads a cell without one). Never a fraction into an
 * integer (the assignment cast rounds), a zone dropped, or text parsed.
 */
static bool
lossless_into(Oid from, Oid to)
{
	if (from == to)
		return true;
	/*
	 * A column of a domain takes only values of that domain, whose
	 * constraints were checked (an import declares the domain, and its
	 * constraints reject lines); the cast of any other value could fail
	 * the step half way. A value of a domain is one of its base type.
	 */
	if (get_typtype(to) == TYPTYPE_DOMAIN)
		return false;
	from = getBaseType(from);
	if (from == to || to == TEXTOID)
		return true;
	switch (from)
	{
		case INT2OID:
		case INT4OID:
			/* double precision holds every int4 exactly */
			if (to == FLOAT8OID)
				return true;
			/* FALLTHROUGH */
		case INT8OID:
			/* a narrower integer: out of range is an error, not a change */
			return to == INT2OID || to == INT4OID || to == INT8OID || to == NUMERICOID;
		case FLOAT4OID:
			return to == FLOAT8OID;
		case TIMESTAMPOID:
			return to == TIMESTAMPTZOID;
		case DATEOID:
			return to == TIMESTAMPOID || to == TIMESTAMPTZOID;
		default:
			return false;
	}
}

/*
 * Rows appended to (or replacing those of) the existing into_table by
 * column name, never by position: a source whose columns came in another
 * order (a CSV file, a relation altered between runs) went into the wrong
 * columns, and one whose column now reads as another type was cast on
 * assignment (2.7 into a bigint column: 3), without a word. Every column
 * of the source must be a column of the table, of a type it takes as it
 * is, and so must the run's stamp (run_id) when there is one; otherwise
 * the step fails saying which, before writing. Columns of the table the
 * source lacks get their defaults.
 */
static int64
append_by_name(Run *r, const char *source, bool stamp, bool import)
{
	const char *args[2] = {source, r->into};
	StringInfoData cols;
	StringInfoData sel;
	uint64		n;

	owner_exec("SELECT s.attname::pg_catalog.text, s.atttypid::pg_catalog.text, d.atttypid::pg_catalog.text, "
			   "  pg_catalog.format_type(s.atttypid, s.atttypmod), pg_catalog.format_type(d.atttypid, d.atttypmod), "
			   "  d.attgenerated OPERATOR(pg_catalog.<>) '' OR d.attidentity OPERATOR(pg_catalog.=) 'a' "
			   "FROM pg_catalog.pg_attribute s LEFT JOIN pg_catalog.pg_attribute d "
			   "  ON d.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2) "
			   "  AND d.attname OPERATOR(pg_catalog.=) s.attname AND d.attnum OPERATOR(pg_catalog.>) 0 "
			   "  AND NOT d.attisdropped "
			   "WHERE s.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) "
			   "  AND s.attnum OPERATOR(pg_catalog.>) 0 AND NOT s.attisdropped ORDER BY s.attnum",
			   2, args, SPI_OK_SELECT);
	n = SPI_processed;
	initStringInfo(&cols);
	initStringInfo(&sel);
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(tup, desc, 1);
		char	   *to = SPI_getvalue(tup, desc, 3);

		if (to == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of the %s is not a column of table %s", name,
							import ? "import" : "step's output", r->into),
					 errhint("Add the column to the table, or write into another table.")));
		/* a generated column takes no value: 428C9 from our INSERT */
		if (strcmp(SPI_getvalue(tup, desc, 6), "t") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("column \"%s\" of the %s is a generated column of table %s, which takes no value", name,
							import ? "import" : "step's output", r->into),
					 errhint("Write into another table, or drop the column's generation expression or identity.")));
		if (!lossless_into((Oid) pg_strtoint64(SPI_getvalue(tup, desc, 2)), (Oid) pg_strtoint64(to)))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of the %s reads as %s, which column \"%s\" of table %s (%s) would not hold unchanged",
							name, import ? "import" : "step's output", SPI_getvalue(tup, desc, 4), name, r->into,
							SPI_getvalue(tup, desc, 5)),
					 import ?
					 errhint("Declare the column's type in the import's CSV options: {\"types\": {\"%s\": \"%s\"}}.",
							 name, SPI_getvalue(tup, desc, 5)) :
					 errhint("Write into another table, or change the type of column \"%s\".", name)));
		appendStringInfo(&cols, "%s%s", i ? ", " : "", quote_identifier(name));
		appendStringInfo(&sel, "%st.%s", i ? ", " : "", quote_identifier(name));
	}
	if (stamp)
	{
		args[0] = r->into;
		owner_exec("SELECT d.atttypid::pg_catalog.text, pg_catalog.format_type(d.atttypid, d.atttypmod), "
				   "  d.attgenerated OPERATOR(pg_catalog.<>) '' OR d.attidentity OPERATOR(pg_catalog.=) 'a' "
				   "FROM pg_catalog.pg_attribute d WHERE d.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) "
				   "  AND d.attname OPERATOR(pg_catalog.=) 'run_id' AND d.attnum OPERATOR(pg_catalog.>) 0 "
				   "  AND NOT d.attisdropped",
				   1, args, SPI_OK_SELECT);
		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table %s has no column \"run_id\" for the run's stamp", r->into),
					 errhint("Add the column (bigint), or write into another table.")));
		if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3), "t") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("column \"run_id\" of table %s is a generated column, which cannot hold the run's stamp",
							r->into),
					 errhint("Write into another table, or drop the column's generation expression or identity.")));
		if (!lossless_into(INT8OID, (Oid) pg_strtoint64(SPI_getvalue(SPI_tuptable->vals[0],
																  SPI_tuptable->tupdesc, 1))))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"run_id\" of table %s (%s) would not hold the run's id (bigint) unchanged",
							r->into, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2))));
		appendStringInfo(&cols, "%srun_id", n ? ", " : "");
		appendStringInfo(&sel, "%s%lld::pg_catalog.int8", n ? ", " : "", (long long) r->run);
	}
	if (r->mode && strcmp(r->mode, "replace") == 0)
		MlSpiExec(psprintf("TRUNCATE %s", r->into), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	/*
	 * a source of no columns (CREATE TABLE t ()) without a stamp gives rows
	 * of defaults: "INSERT INTO t () ..." was a syntax error (42601) from
	 * our own SQL
	 */
	if (cols.len == 0)
		MlSpiExec(psprintf("INSERT INTO %s SELECT FROM %s t", r->into, source),
				  0, NULL, NULL, NULL, SPI_OK_INSERT);
	else
		MlSpiExec(psprintf("INSERT INTO %s (%s) SELECT %s FROM %s t", r->into, cols.data, sel.data, source),
				  0, NULL, NULL, NULL, SPI_OK_INSERT);
	return (int64) SPI_processed;
}

/*
 * Write the step's output (a temporary table, or an import's staging
 * table) into the job's table: a new table owned by the job's owner, or
 * appended to / replacing the rows of the existing one by column name.
 * Score output is stamped with the run.
 */
static int64
write_output(Run *r, const char *tmp, bool stamp, bool import)
{
	const char *args[1] = {r->into};
	bool		exists;
	char	   *runid = psprintf("%lld", (long long) r->run);
	const char *cols = stamp ? psprintf("t.*, %s::pg_catalog.int8 AS run_id", runid) : "t.*";

	if (stamp)
	{
		/* the stamp's name taken by a column of the scored relation */
		args[0] = tmp;
		owner_exec("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) "
				   "pg_catalog.to_regclass($1) AND attname OPERATOR(pg_catalog.=) 'run_id' "
				   "AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped", 1, args, SPI_OK_SELECT);
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("the step's output has a column \"run_id\", the name of the run's stamp"),
					 errhint("Rename the column of relation %s.", r->relation ? r->relation : tmp)));
		args[0] = r->into;
	}
	owner_exec("SELECT c.relkind::pg_catalog.text FROM pg_catalog.pg_class c "
			   "WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)", 1, args, SPI_OK_SELECT);
	exists = SPI_processed == 1;
	if (exists)
	{
		char	   *relkind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		/* a view, a materialized view, a sequence: 42809 from our TRUNCATE or INSERT */
		if (relkind[0] != RELKIND_RELATION && relkind[0] != RELKIND_PARTITIONED_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("into_table %s is not a table", r->into),
					 errhint("Write into a table, or into a new name (the first run creates it).")));
		return append_by_name(r, tmp, stamp, import);
	}
	MlSpiExec(psprintf("CREATE TABLE %s AS SELECT %s FROM %s t", r->into, cols, tmp),
			  0, NULL, NULL, NULL, SPI_OK_UTILITY);
	return (int64) SPI_processed;
}

/* An import's rows into the step's table (write_output, by column name). */
int64
MlRunWriteImport(MlRunStepArgs *a, const char *source)
{
	Run			r;

	run_from_args(&r, a);
	return write_output(&r, source, false, true);
}


static void
step_train(Run *r)
{
	const char *args[4] = {r->project, r->algorithm ? r->algorithm : "auto",
	r->hyperparams ? r->hyperparams : "{}", r->train_options ? r->train_options : "{}"};
	char	   *version;

	owner_exec(psprintf("SELECT t.version::pg_catalog.text, m.row_count::pg_catalog.text "
						"FROM %s.ml_train($1, $2, $3::pg_catalog.jsonb, $4::pg_catalog.jsonb) t "
						"LEFT JOIN mlops.models m ON m.version OPERATOR(pg_catalog.=) t.version "
						" AND m.project_id OPERATOR(pg_catalog.=) %lld",
						r->ext, (long long) r->project_id),
			   4, args, SPI_OK_SELECT);
	version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2) != NULL)
	{
		r->rows = pg_strtoint64(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		r->has_rows = true;
	}
	r->detail = MemoryContextStrdup(TopMemoryContext, psprintf("trained version %s", version));
}

static void
step_score(Run *r)
{
	char	   *tmp_name = psprintf("mlops_job_run_%lld", (long long) r->run);
	char	   *tmp = psprintf("pg_temp.%s", quote_identifier(tmp_name));
	const char *args[3] = {r->project, r->relation, tmp};

	require_arg(r, r->relation, "relation");
	require_arg(r, r->into, "into_table");
	owner_exec(psprintf("SELECT %s.ml_score($1, $2::pg_catalog.regclass, $3)", r->ext),
			   3, args, SPI_OK_SELECT);
	r->rows = write_output(r, tmp, true, false);
	r->has_rows = true;
	MlSpiExec(psprintf("DROP TABLE %s", tmp), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
	r->detail = MemoryContextStrdup(TopMemoryContext,
									psprintf("scored %s into %s (%s)", r->relation, r->into,
											 r->mode ? r->mode : "append"));
}

static void
step_clean(Run *r)
{
	char	   *tmp_name = psprintf("mlops_job_run_%lld", (long long) r->run);
	char	   *tmp = psprintf("pg_temp.%s", quote_identifier(tmp_name));
	const char *args[3] = {r->recipe, r->relation, r->into ? tmp : NULL};

	require_arg(r, r->relation, "relation");
	require_arg(r, r->recipe, "recipe");
	owner_exec(psprintf("SELECT pg_catalog.count(*) FROM %s.ml_apply_recipe($1::pg_catalog.int8, "
						"$2::pg_catalog.regclass, $3)", r->ext),
			   3, args, SPI_OK_SELECT);
	if (r->into)
	{
		r->rows = write_output(r, tmp, false, false);
		MlSpiExec(psprintf("DROP TABLE %s", tmp), 0, NULL, NULL, NULL, SPI_OK_UTILITY);
		r->detail = MemoryContextStrdup(TopMemoryContext,
										psprintf("applied recipe %s to %s into %s", r->recipe, r->relation, r->into));
	}
	else
	{
		MlSpiExec(psprintf("SELECT pg_catalog.count(*) FROM %s", r->relation),
				  0, NULL, NULL, NULL, SPI_OK_SELECT);
		r->rows = pg_strtoint64(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
		r->detail = MemoryContextStrdup(TopMemoryContext,
										psprintf("applied recipe %s to %s in place", r->recipe, r->relation));
	}
	r->has_rows = true;
}

/* A report built (and published) as the owner, through the SQL API. */
static void
step_report(Run *r)
{
	const char *args[3] = {r->project, r->report_kind ? r->report_kind : "model",
	r->train_options ? r->train_options : "{}"};
	bool		publish = r->publish && strcmp(r->publish, "true") == 0;
	char	   *id;

	owner_exec(psprintf("SELECT %s.ml_report($1, $2, $3::pg_catalog.jsonb)::pg_catalog.text", r->ext),
			   3, args, SPI_OK_SELECT);
	id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (publish)
	{
		const char *pargs[1] = {id};

		owner_exec(psprintf("SELECT %s.ml_publish_report($1::pg_catalog.int8)", r->ext),
				   1, pargs, SPI_OK_SELECT);
	}
	r->detail = MemoryContextStrdup(TopMemoryContext,
									psprintf("%s report %s%s", args[1], id, publish ? " published" : ""));
}

/* One row of the run's log, and how the run ended; as the extension owner. */
static void
record(Run *r, const char *status, const char *sqlstate, const char *message, bool allow_retry)
{
	MlScope		scope;
	Oid			types[6] = {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = "      ";

	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	/* the job before the run: two writes of the run recheck its job (runs.c) */
	MlRunLockJob(r->run);
	values[0] = Int64GetDatum(r->run);
	values[1] = CStringGetTextDatum(r->kind);
	values[2] = CStringGetTextDatum(status);
	values[3] = TimestampTzGetDatum(r->step_start);
	values[4] = Int64GetDatum(r->rows);
	if (!r->has_rows)
		nulls[4] = 'n';
	values[5] = CStringGetTextDatum(message ? message : (r->detail ? r->detail : ""));
	MlSpiExec("UPDATE mlops.job_runs SET rows_processed = $5, log = log OPERATOR(pg_catalog.||) "
			  "pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('step', $2, 'status', $3, "
			  "  'started_at', $4, 'finished_at', pg_catalog.clock_timestamp(), 'rows', $5, 'detail', $6)) "
			  "WHERE id OPERATOR(pg_catalog.=) $1",
			  6, types, values, nulls, SPI_OK_UPDATE);
	MlRunFinish(r->run, status, sqlstate, message, allow_retry);
	MlScopeExit(&scope);
}

/* What every run checks before its first step. */
static void
check_run(Run *r)
{
	if (r->project == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the project of job %lld no longer exists", (long long) r->job)));
	read_command(r);
	/* the dispatch pass checked the owner; it may have changed since */
	if (superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" that owns job %lld is a superuser; jobs never run as a superuser",
						GetUserNameFromId(GetUserId(), false), (long long) r->job)));
}

/* The step and its success, in one transaction: both or neither. */
static void
execute_step(Run *r)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	pgstat_report_activity(STATE_RUNNING, psprintf("pg_mlops job run %lld: %s", (long long) r->run, r->kind));
	if (r->timeout_ms > 0)
		enable_timeout_after(run_timeout, (int) Min(r->timeout_ms, INT_MAX));
	check_run(r);
	MlRunProgressBind(r->run);
	if (strcmp(r->kind, "train") == 0)
		step_train(r);
	else if (strcmp(r->kind, "score") == 0)
		step_score(r);
	else if (strcmp(r->kind, "clean") == 0)
		step_clean(r);
	else if (strcmp(r->kind, "report") == 0)
		step_report(r);
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("job kind \"%s\" is not yet available", r->kind)));
	disable_timeout(run_timeout, false);
	record(r, "succeeded", NULL, NULL, false);
	SPI_finish();
}

/*
 * Run fn in its own transaction. On error: roll it back and return the
 * error (the caller records it in a new transaction).
 */
static ErrorData *
in_transaction(bool (*fn) (Run *), void (*vfn) (Run *), Run *r, bool *result, MemoryContext cxt)
{
	ErrorData  *volatile edata = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		if (fn)
			*result = fn(r);
		else
			vfn(r);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		disable_timeout(run_timeout, false);
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return edata;
}

/*
 * A workflow: its start (checks, the steps carried from a failed run it
 * resumes), then one transaction per step, so a failed step leaves the
 * earlier steps' results committed; the timeout covers the whole run.
 */
static void
workflow_begin(Run *r)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (r->timeout_ms > 0)
		enable_timeout_after(run_timeout, (int) Min(r->timeout_ms, INT_MAX));
	check_run(r);
	MlRunProgressBind(r->run);
	workflow = MlWorkflowBegin(r->run, r->job, r->project_id, r->project, r->ext, TopMemoryContext);
	SPI_finish();
}

static void
workflow_step(Run *r)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	workflow_more = MlWorkflowNextStep(workflow);
	SPI_finish();
	(void) r;
}

static void
workflow_end(Run *r)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	disable_timeout(run_timeout, false);
	r->detail = pstrdup(MlWorkflowSummary(workflow, &r->rows, &r->has_rows));
	record(r, "succeeded", NULL, NULL, false);
	SPI_finish();
}

static ErrorData *
run_workflow(Run *r, MemoryContext cxt)
{
	bool		ok;
	ErrorData  *e = in_transaction(NULL, workflow_begin, r, &ok, cxt);

	workflow_more = true;
	while (e == NULL && workflow_more)
		e = in_transaction(NULL, workflow_step, r, &ok, cxt);
	if (e == NULL)
		e = in_transaction(NULL, workflow_end, r, &ok, cxt);
	return e;
}

/* Record how an error ended the run: timed out, cancelled, or failed. */
static void
record_error(Run *r, ErrorData *e)
{
	const char *status = "failed";
	const char *message = e->message;

	if (timed_out)
	{
		status = "timed_out";
		message = psprintf("the run exceeded its timeout of %lld ms", (long long) r->timeout_ms);
	}
	else if (e->sqlerrcode == ERRCODE_QUERY_CANCELED)
	{
		status = "cancelled";
		message = "cancelled";
	}
	ereport(LOG,
			(errmsg("pg_mlops: run %lld of job %lld %s: %s", (long long) r->run, (long long) r->job,
					status, MlLogText(message))));
	timed_out = false;
	{
		char	   *sqlstate = pstrdup(unpack_sql_state(e->sqlerrcode));
		bool		retry = strcmp(status, "cancelled") != 0;

		/* a cancel that arrives while recording must not lose the record */
		HOLD_INTERRUPTS();
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (workflow)
			MlWorkflowStepFailed(workflow, status, message);
		record(r, status, sqlstate, message, retry);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
		RESUME_INTERRUPTS();
	}
}

/*
 * A run whose job's row could not be read: failed with the reason, not
 * left for the dispatch pass to find without one. No retry: the next
 * attempt would read the same row.
 */
static ErrorData *claim_error = NULL;

static void
record_claim_error(Run *r)
{
	MlScope		scope;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MlScopeEnter(&scope);
	MlScopeAsOwner(&scope);
	MlRunFinish(r->run, "failed", unpack_sql_state(claim_error->sqlerrcode), claim_error->message, false);
	MlScopeExit(&scope);
	SPI_finish();
}

static bool
claim_fn(Run *r)
{
	return load_and_claim(r, TopMemoryContext);
}

void
ml_jobs_run_main(Datum main_arg)
{
	MlRunArg	arg;
	Run			r = {0};
	MemoryContext cxt;
	ErrorData  *e;
	bool		ok = false;

	(void) main_arg;
	memcpy(&arg, MyBgworkerEntry->bgw_extra, sizeof(arg));
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(arg.database, arg.role, 0);
	run_timeout = RegisterTimeout(USER_TIMEOUT, run_timeout_handler);
	cxt = AllocSetContextCreate(TopMemoryContext, "pg_mlops job run", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	r.run = arg.run;
	pgstat_report_appname(psprintf("pg_mlops job run %lld", (long long) r.run));

	e = in_transaction(claim_fn, NULL, &r, &ok, cxt);
	if (e != NULL)
	{
		ereport(LOG, (errmsg("pg_mlops: run %lld could not start: %s", (long long) r.run, MlLogText(e->message))));
		claim_error = e;
		e = in_transaction(NULL, record_claim_error, &r, &ok, cxt);
		if (e != NULL)
			ereport(LOG, (errmsg("pg_mlops: run %lld: could not record why it did not start: %s",
								 (long long) r.run, MlLogText(e->message))));
		proc_exit(0);
	}
	if (!ok)
		proc_exit(0);
	r.step_start = GetCurrentTimestamp();
	e = in_transaction(lock_and_start, NULL, &r, &ok, cxt);
	if (e == NULL && !ok)
		proc_exit(0);			/* cancelled while it waited */
	if (e == NULL && strcmp(r.kind, "workflow") == 0)
		e = run_workflow(&r, cxt);
	else if (e == NULL)
		e = in_transaction(NULL, execute_step, &r, &ok, cxt);
	if (e != NULL)
		record_error(&r, e);
	else
		ereport(LOG,
				(errmsg("pg_mlops: run %lld of job %lld succeeded: %s", (long long) r.run,
						(long long) r.job, MlLogText(r.detail ? r.detail : r.kind))));
	proc_exit(0);
}

/*
 * The score and clean steps, and their writer, for a workflow's steps
 * (workflow_run.c): the same code as jobs of those kinds, as the run's
 * owner, SPI connected.
 */
static void
run_from_args(Run *r, const MlRunStepArgs *a)
{
	memset(r, 0, sizeof(*r));
	r->run = a->run;
	r->job = a->job;
	r->project_id = a->project_id;
	r->kind = (char *) a->kind;
	r->project = (char *) a->project;
	r->ext = (char *) a->ext;
	r->relation = (char *) a->relation;
	r->into = (char *) a->into;
	r->mode = (char *) a->mode;
	r->recipe = (char *) a->recipe;
}

void
MlRunStep(MlRunStepArgs *a)
{
	Run			r;

	run_from_args(&r, a);
	if (strcmp(a->kind, "score") == 0)
		step_score(&r);
	else
		step_clean(&r);
	a->rows = r.rows;
	a->detail = r.detail;
}

int64
MlRunWriteOutput(MlRunStepArgs *a, const char *source, bool stamp)
{
	Run			r;

	run_from_args(&r, a);
	return write_output(&r, source, stamp, false);
}

void
MlRunExec(const char *sql, int nargs, const char **args, int expected)
{
	owner_exec(sql, nargs, args, expected);
}
