/*
 * evaluate.c
 *	  ml_evaluate: a stored model version (deployed or not) scored on any
 *	  labelled relation, with the task's metrics and row counts.
 *
 * The relation is read as the caller (privileges and row-level security
 * apply) through one cursor over the target and the model's source
 * columns. Each row is bound by column name exactly as ml_predict binds
 * one (MlBindRow, MlEncodeRow) and kept as raw feature columns; the rows
 * are then scored in one batch and measured by metrics.c, the code that
 * measures ml_train's test split, so both report the same metrics the same
 * way. Rows without a target are skipped and counted; rows whose label the
 * version never saw are counted and listed, not scored (the model has no
 * probability for them). The audit row is written as the extension owner.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/pg_prng.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "core/frame.h"
#include "core/options.h"
#include "model/evaluate.h"
#include "model/importance.h"
#include "model/metrics.h"
#include "model/stored.h"

PG_FUNCTION_INFO_V1(ml_evaluate);

#define FETCH_ROWS 1000
#define UNSEEN_SHOWN 10			/* distinct unseen labels listed */

typedef struct EvalOptions
{
	bool		permutation;
	int			repeats;
	int			seed;
} EvalOptions;

/* What the version is and what it needs. */
typedef struct EvalModel
{
	int32		version;
	char	   *what;			/* "model version 3 of project "x"" */
	MlTrained  *t;
	bool		classifier;
	int		   *class_order;	/* class indexes sorted by label, for lookups */
} EvalModel;

/* The rows read, as raw feature columns and targets. */
typedef struct EvalRows
{
	int64		n;				/* rows scored */
	int64		cap;
	double	  **raw;
	double	   *y;
	int64		read;			/* every row the cursor returned */
	int64		without_target;
	int64		nonfinite;
	int64		unseen;
	List	   *unseen_labels;
	int64		limit;			/* > 0: keep a uniform sample of this many rows */
	int64		eligible;		/* rows that could be scored (sampled among) */
	pg_prng_state rng;
} EvalRows;

static void
read_options(JsonbContainer *opts, EvalOptions *o)
{
	static const char *const valid[] = {"permutation_importance", "permutation_repeats", "seed", NULL};

	MlOptCheckKeys(opts, "evaluation options", valid);
	o->permutation = MlOptBool(opts, "permutation_importance", false);
	o->repeats = MlOptInt(opts, "permutation_repeats", ML_PERMUTATION_REPEATS, 1, 100);
	o->seed = MlOptInt(opts, "seed", 42, 0, PG_INT32_MAX);
}

static const char *
task_name(MlTask task)
{
	return task == ML_TASK_REGRESSION ? "regression" :
		task == ML_TASK_BINARY ? "binary" : task == ML_TASK_MULTICLASS ? "multiclass" : "clustering";
}

static int
cmp_class(const void *a, const void *b, void *arg)
{
	char	  **classes = arg;

	return strcmp(classes[*(const int *) a], classes[*(const int *) b]);
}

/* The version's model, loaded in the current context (read as the owner, after the access check). */
static void
load_version(MlScope *scope, MlProject *p, int32 version, EvalModel *m)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(p->id), Int32GetDatum(version)};
	MemoryContext cxt = CurrentMemoryContext;
	bool		isnull;
	Datum		d;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT payload FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_SELECT);
	MlScopeAsCaller(scope);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model version %d of project \"%s\" does not exist", version, p->name),
				 errhint("The project's versions are listed in the ml_models view.")));
	m->version = version;
	m->what = psprintf("model version %d of project \"%s\"", version, p->name);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s has no payload", m->what)));
	MemoryContextSwitchTo(cxt);
	m->t = MlTrainedLoad(DatumGetByteaPCopy(d), m->what);
	if (m->t->task == ML_TASK_CLUSTERING)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("%s is a clustering model: there are no labels to evaluate it against", m->what)));
	m->classifier = m->t->task != ML_TASK_REGRESSION;
	if (m->classifier)
	{
		m->class_order = palloc(sizeof(int) * m->t->nclass);
		for (int c = 0; c < m->t->nclass; c++)
			m->class_order[c] = c;
		qsort_arg(m->class_order, m->t->nclass, sizeof(int), cmp_class, m->t->classes);
	}
}

/*
 * The relation's target column, checked against the task, and the model's
 * features bound to its columns: every missing or mistyped column is an
 * error naming it before a row is read.
 */
static void
check_relation(Oid relid, MlProject *p, EvalModel *m)
{
	TupleDesc	desc;
	AttrNumber	att;
	Oid			typid;
	char		relkind;
	MlKind		kind;

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" has no rows to evaluate on", get_rel_name(relid)),
				 errhint("Evaluate on a table, a view or a materialized view.")));
	att = get_attnum(relid, p->target);
	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("relation \"%s\" has no column \"%s\", the target of project \"%s\"",
						get_rel_name(relid), p->target, p->name),
				 errhint("Evaluate on rows that carry the true value in a column of that name.")));
	typid = get_atttype(relid, att);
	kind = MlKindOfType(typid);
	if (!m->classifier && kind != ML_KIND_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" is of type %s, but %s is a regression model: the target must be numeric",
						p->target, format_type_be(typid), m->what)));
	if (m->classifier && kind == ML_KIND_DATETIME)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target column \"%s\" of type %s cannot hold class labels",
						p->target, format_type_be(typid))));
	/* the row type, as ml_score binds it: no lock before the scan checks the caller's rights */
	desc = lookup_rowtype_tupdesc(get_rel_type_id(relid), -1);
	(void) MlBindRow(m->t->enc, desc, m->what);
	ReleaseTupleDesc(desc);
}

/* SELECT target, features FROM relation: only the columns the caller needs to read. */
static char *
rows_query(Oid relid, MlProject *p, MlEncoder *enc)
{
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s", quote_identifier(p->target));
	for (int i = 0; i < enc->ninputs; i++)
		appendStringInfo(&sql, ", %s", quote_identifier(enc->inputs[i].name));
	appendStringInfo(&sql, " FROM %s", MlRelName(relid));
	return sql.data;
}

static void
rows_grow(EvalRows *er, int nraw, int64 need, Size row_bytes)
{
	Size		budget = (Size) maintenance_work_mem * 1024;

	if (need <= er->cap)
		return;
	if ((Size) need * row_bytes > budget)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the rows to evaluate do not fit in maintenance_work_mem (%zu MB) at " INT64_FORMAT " rows",
						budget / (1024 * 1024), er->n),
				 errhint("Raise maintenance_work_mem for this session, or evaluate on a sample "
						 "(a view with TABLESAMPLE).")));
	er->cap = Max(need, er->cap * 2);
	er->cap = Min(er->cap, (int64) (budget / row_bytes));
	for (int j = 0; j < nraw; j++)
		er->raw[j] = repalloc_huge(er->raw[j], sizeof(double) * er->cap);
	er->y = repalloc_huge(er->y, sizeof(double) * er->cap);
}

/* The class index of a label, -1 when the version never saw it. */
static int
class_of(EvalModel *m, const char *label)
{
	int			lo = 0,
				hi = m->t->nclass - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(label, m->t->classes[m->class_order[mid]]);

		if (c == 0)
			return m->class_order[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static void
note_unseen(EvalRows *er, const char *label, MemoryContext keep)
{
	ListCell   *lc;

	er->unseen++;
	if (list_length(er->unseen_labels) >= UNSEEN_SHOWN)
		return;
	foreach(lc, er->unseen_labels)
		if (strcmp(lfirst(lc), label) == 0)
			return;
	{
		MemoryContext old = MemoryContextSwitchTo(keep);

		er->unseen_labels = lappend(er->unseen_labels, pstrdup(label));
		MemoryContextSwitchTo(old);
	}
}

/*
 * The target of one row as y (a value, or a class index), or false when
 * the row is not scored (counted in er). A numeric label is matched by its
 * value printed as ml_train prints numeric classes, so 1, 1.0 and 1::int
 * name the same class.
 */
static bool
row_target(EvalModel *m, EvalRows *er, Datum v, Oid typid, FmgrInfo *out, double *y,
		   MemoryContext keep)
{
	char	   *label;
	int			c;

	if (MlKindOfType(typid) == ML_KIND_NUMERIC)
	{
		double		x = MlDatumToDouble(v, getBaseType(typid));

		if (!isfinite(x))
		{
			er->nonfinite++;
			return false;
		}
		if (!m->classifier)
		{
			*y = x;
			return true;
		}
		label = float8out_internal(x);
		c = class_of(m, label);
		if (c < 0)
		{
			/* a numeric column scoring a version trained on text labels */
			char	   *text = OutputFunctionCall(out, v);

			c = class_of(m, text);
			if (c < 0)
				label = text;
		}
	}
	else
	{
		label = OutputFunctionCall(out, v);
		c = class_of(m, label);
	}
	if (c < 0)
	{
		note_unseen(er, label, keep);
		return false;
	}
	*y = (double) c;
	return true;
}

/* Every row of the relation, as the caller, bound and encoded like ml_predict's. */
static void
read_rows(Oid relid, MlProject *p, EvalModel *m, EvalRows *er)
{
	MlEncoder  *enc = m->t->enc;
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext batch = AllocSetContextCreate(cxt, "ml_evaluate batch", ALLOCSET_DEFAULT_SIZES);
	Size		row_bytes = sizeof(double) * (enc->nraw + 1);
	double	   *rawrow = palloc(sizeof(double) * Max(enc->nraw, 1));
	double	   *featrow = palloc(sizeof(double) * Max(Max(enc->nfeat, enc->nraw), 1));
	MlRowBinding *b = NULL;
	Datum	   *values = NULL;
	bool	   *nulls = NULL;
	Oid			ttype = InvalidOid;
	FmgrInfo	tout;
	Portal		portal;

	{
		int64		limit = er->limit;
		pg_prng_state rng = er->rng;

		memset(er, 0, sizeof(*er));
		er->limit = limit;
		er->rng = rng;
	}
	er->cap = er->limit > 0 ? Min(er->limit, FETCH_ROWS) : FETCH_ROWS;
	er->raw = palloc(sizeof(double *) * Max(enc->nraw, 1));
	for (int j = 0; j < enc->nraw; j++)
		er->raw[j] = palloc_extended(sizeof(double) * er->cap, MCXT_ALLOC_HUGE);
	er->y = palloc_extended(sizeof(double) * er->cap, MCXT_ALLOC_HUGE);

	portal = SPI_cursor_open_with_args(NULL, rows_query(relid, p, enc), 0, NULL, NULL, NULL, true, 0);
	MemoryContextSwitchTo(cxt);
	{
		TupleDesc	desc = portal->tupDesc;
		Oid			outfn;
		bool		varlena;

		b = MlBindRow(enc, desc, m->what);
		values = palloc(sizeof(Datum) * desc->natts);
		nulls = palloc(sizeof(bool) * desc->natts);
		ttype = TupleDescAttr(desc, 0)->atttypid;
		getTypeOutputInfo(ttype, &outfn, &varlena);
		fmgr_info(outfn, &tout);
	}
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		MemoryContextSwitchTo(cxt);
		if (SPI_processed == 0)
			break;
		rows_grow(er, enc->nraw, er->limit > 0 ? Min(er->limit, er->n + (int64) SPI_processed)
				  : er->n + (int64) SPI_processed, row_bytes);
		/* texts of labels and categories die with the batch */
		MemoryContextSwitchTo(batch);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			double		y;
			int64		slot;

			heap_deform_tuple(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, values, nulls);
			er->read++;
			if (nulls[0])
			{
				er->without_target++;
				continue;
			}
			if (!row_target(m, er, values[0], ttype, &tout, &y, cxt))
				continue;
			/* a bounded sample: reservoir sampling (Algorithm R) over the scorable rows */
			slot = er->n;
			er->eligible++;
			if (er->limit > 0 && er->n >= er->limit)
			{
				slot = (int64) pg_prng_uint64_range(&er->rng, 0, (uint64) (er->eligible - 1));
				if (slot >= er->limit)
					continue;
			}
			MlEncodeRow(enc, b, values, nulls, rawrow, featrow);
			for (int j = 0; j < enc->nraw; j++)
				er->raw[j][slot] = rawrow[j];
			er->y[slot] = y;
			if (slot == er->n)
				er->n++;
		}
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(batch);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch);
}

static void
check_rows(EvalRows *er, Oid relid, MlProject *p)
{
	if (er->nonfinite > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\" holds NaN or infinite values in " INT64_FORMAT " rows of \"%s\"",
						p->target, er->nonfinite, get_rel_name(relid)),
				 errhint("Exclude those rows with a view, or clean the column first.")));
	if (er->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relation \"%s\" has no rows to evaluate on", get_rel_name(relid)),
				 errdetail(INT64_FORMAT " rows read: " INT64_FORMAT " without a target, "
						   INT64_FORMAT " with a label the version never saw.",
						   er->read, er->without_target, er->unseen),
				 errhint("Evaluate on rows whose target \"%s\" is set.", p->target)));
}

static void
json_strings(StringInfo out, const char *key, char **s, int n)
{
	appendStringInfo(out, ", \"%s\": [", key);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, s[i]);
	}
	appendStringInfoChar(out, ']');
}

/* The result object: what was scored, the metrics, the optional importance. */
static char *
result_json(EvalModel *m, EvalRows *er, Oid relid, EvalOptions *o)
{
	MlTrained  *t = m->t;
	double	   *pred = palloc_extended(sizeof(double) * er->n * MlTrainedOutputs(t), MCXT_ALLOC_HUGE);
	StringInfoData out;

	MlTrainedPredictRaw(t, er->raw, er->n, pred);
	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	if (m->classifier)
		(void) MlClassificationMetrics(er->y, pred, er->n, t->nclass, &out);
	else
		(void) MlRegressionMetrics(er->y, pred, er->n, &out);
	appendStringInfo(&out, ", \"version\": %d, \"algorithm\": ", m->version);
	escape_json(&out, t->learner->name);
	appendStringInfo(&out, ", \"task\": \"%s\", \"relation\": ", task_name(t->task));
	escape_json(&out, MlRelName(relid));
	appendStringInfo(&out, ", \"rows\": " INT64_FORMAT ", \"rows_scored\": " INT64_FORMAT
					 ", \"rows_without_target\": " INT64_FORMAT,
					 er->read, er->n, er->without_target);
	if (m->classifier)
	{
		char	  **unseen = palloc(sizeof(char *) * Max(list_length(er->unseen_labels), 1));
		ListCell   *lc;

		foreach(lc, er->unseen_labels)
			unseen[foreach_current_index(lc)] = lfirst(lc);
		appendStringInfo(&out, ", \"rows_unseen_label\": " INT64_FORMAT, er->unseen);
		json_strings(&out, "unseen_labels", unseen, list_length(er->unseen_labels));
		json_strings(&out, "classes", t->classes, t->nclass);
	}
	if (o->permutation)
		MlPermutationImportance(t, er->raw, er->n, er->y, o->repeats, (uint64) o->seed, &out);
	appendStringInfoChar(&out, '}');
	return out.data;
}

/* ml_evaluate(project text, version integer, relation regclass, options jsonb DEFAULT '{}') */
Datum
ml_evaluate(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	MlProject  *p;
	EvalOptions o;
	EvalModel	m;
	EvalRows	er;
	int32		version;
	Oid			relid;
	MemoryContext callercxt,
				cxt,
				old;
	char	   *json;
	Datum		result;

	MlRequireArg(fcinfo, 1, "version");
	MlRequireArg(fcinfo, 2, "relation");
	version = PG_GETARG_INT32(1);
	relid = PG_GETARG_OID(2);
	read_options(PG_NARGS() > 3 && !PG_ARGISNULL(3) ? &PG_GETARG_JSONB_P(3)->root : NULL, &o);

	callercxt = CurrentMemoryContext;	/* SPI_finish frees what SPI allocated */
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	if (p->access == ML_ACCESS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to evaluate models of project \"%s\"", p->name)));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "ml_evaluate", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	memset(&m, 0, sizeof(m));
	memset(&er, 0, sizeof(er));
	load_version(&scope, p, version, &m);
	/* the relation is read as the caller: its privileges and policies apply */
	check_relation(relid, p, &m);
	read_rows(relid, p, &m, &er);
	check_rows(&er, relid, p);
	json = result_json(&m, &er, relid, &o);
	{
		const char *keys[4] = {"version", "relation", "rows_scored", "permutation_importance"};
		const char *vals[4] = {psprintf("%d", version), MlRelName(relid),
			psprintf(INT64_FORMAT, er.n), o.permutation ? "true" : NULL};

		MlAudit(&scope, "evaluate", "model", p->name, p->id, 4, keys, vals);
	}
	MemoryContextSwitchTo(callercxt);
	result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	MlScopeExit(&scope);
	PG_RETURN_DATUM(result);
}

/*
 * A version scored on a uniform sample of at most max_rows rows of a
 * relation, read as the caller (for reports): the same binding, reading
 * and checks as ml_evaluate, the predictions kept. Allocated in the
 * current memory context; the caller checked its access to the project.
 */
MlEvalSample *
MlEvaluateSample(MlScope *scope, MlProject *p, int32 version, Oid relid,
				 int64 max_rows, uint64 seed)
{
	EvalModel	m;
	EvalRows	er;
	MlEvalSample *s = palloc0(sizeof(MlEvalSample));

	memset(&m, 0, sizeof(m));
	memset(&er, 0, sizeof(er));
	er.limit = max_rows;
	pg_prng_seed(&er.rng, seed);
	load_version(scope, p, version, &m);
	check_relation(relid, p, &m);
	read_rows(relid, p, &m, &er);
	check_rows(&er, relid, p);
	s->t = m.t;
	s->version = version;
	s->classifier = m.classifier;
	s->n = er.n;
	s->read = er.read;
	s->eligible = er.eligible;
	s->without_target = er.without_target;
	s->unseen = er.unseen;
	s->raw = er.raw;
	s->y = er.y;
	s->pred = palloc_extended(sizeof(double) * er.n * MlTrainedOutputs(m.t), MCXT_ALLOC_HUGE);
	MlTrainedPredictRaw(m.t, er.raw, er.n, s->pred);
	return s;
}
