/*
 * workflow_steps.c
 *	  A workflow's steps, parsed and checked: every kind known, every key
 *	  known and typed, the order sound (a gate after a train, a deploy after
 *	  a gate), names resolved once at creation and stored quoted and
 *	  schema-qualified, defaults filled (the gate's metric is the task's
 *	  primary one). The same parser reads stored steps back at run time, so
 *	  stored data is never trusted more than user input.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "clean/cleaning.h"
#include "core/catalog.h"
#include "core/options.h"
#include "jobs/workflow.h"
#include "model/model.h"

typedef struct KindInfo
{
	const char *name;
	MlWorkflowKind kind;
	const char *const *keys;
} KindInfo;

static const char *const import_keys[] = {"kind", "path", "relation", "into_table", "mode", "options", NULL};
static const char *const clean_keys[] = {"kind", "relation", "recipe", "options", "into_table", "mode", NULL};
static const char *const train_keys[] = {"kind", "algorithm", "hyperparams", "options", NULL};
static const char *const evaluate_keys[] = {"kind", "relation", "options", NULL};
static const char *const gate_keys[] = {"kind", "metric", "margin", "direction", NULL};
static const char *const deploy_keys[] = {"kind", NULL};
static const char *const score_keys[] = {"kind", "relation", "into_table", "mode", NULL};
static const char *const report_keys[] = {"kind", "report", "options", "publish", NULL};

static const KindInfo kinds[] = {
	{"import", ML_WF_IMPORT, import_keys},
	{"clean", ML_WF_CLEAN, clean_keys},
	{"train", ML_WF_TRAIN, train_keys},
	{"evaluate", ML_WF_EVALUATE, evaluate_keys},
	{"gate", ML_WF_GATE, gate_keys},
	{"deploy", ML_WF_DEPLOY, deploy_keys},
	{"score", ML_WF_SCORE, score_keys},
	{"report", ML_WF_REPORT, report_keys},
};

/* The metrics a gate compares, per task; lower_better says the direction. */
typedef struct MetricInfo
{
	const char *task;
	const char *name;
	bool		lower_better;
} MetricInfo;

static const MetricInfo metrics[] = {
	{"regression", "rmse", true},	/* the first of a task is its primary metric */
	{"regression", "mae", true},
	{"regression", "mape", true},
	{"regression", "r2", false},
	{"classification", "accuracy", false},
	{"classification", "balanced_accuracy", false},
	{"classification", "f1", false},
	{"classification", "precision", false},
	{"classification", "recall", false},
	{"classification", "roc_auc", false},
	{"classification", "log_loss", true},
};

/* Where an error arose: "workflow step 3 (gate)". */
typedef struct StepContext
{
	int			no;
	const char *kind;
} StepContext;

static void
step_context(void *arg)
{
	StepContext *c = (StepContext *) arg;

	if (c->kind)
		errcontext("workflow step %d (%s)", c->no, c->kind);
	else
		errcontext("workflow step %d", c->no);
}

/* "an import step", "a gate step" */
static char *
a_step(const char *kind)
{
	return psprintf("%s %s step", strchr("aeiou", kind[0]) ? "an" : "a", kind);
}

static void
bad_step(const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* A name as text: stored names are re-quoted, new ones parsed the same way. */
static List *
name_list(const char *s, const char *key)
{
	if (s == NULL || s[0] == '\0')
		bad_step(psprintf("option \"%s\" must be a relation name", key), NULL);
	return stringToQualifiedNameList(s);
}

static char *
requote(List *names)
{
	if (list_length(names) == 2)
		return quote_qualified_identifier(strVal(linitial(names)), strVal(lsecond(names)));
	if (list_length(names) == 1)
		return pstrdup(quote_identifier(strVal(linitial(names))));
	bad_step("a relation name has at most a schema and a name", NULL);
	return NULL;
}

/* A relation a step writes: resolved now (its schema must exist), never temporary. */
static char *
written_relation(const char *s, bool stored)
{
	List	   *names = name_list(s, "into_table");
	RangeVar   *rv;
	Oid			nspid;

	if (stored)
		return requote(names);
	rv = makeRangeVarFromNameList(names);
	nspid = RangeVarGetCreationNamespace(rv);
	if (isAnyTempNamespace(nspid))
		bad_step("a workflow's into_table cannot be a temporary table",
				 "A run works in its own session: a temporary table would vanish with it.");
	return quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
}

/*
 * A relation a step reads: it exists now, or an earlier step of the
 * workflow writes it (its into_table), so an import can feed a score.
 */
static char *
read_relation(const char *s, bool stored, List *written)
{
	List	   *names = name_list(s, "relation");
	RangeVar   *rv;
	Oid			relid;
	char	   *q;

	if (stored)
		return requote(names);
	rv = makeRangeVarFromNameList(names);
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
	{
		if (isAnyTempNamespace(get_rel_namespace(relid)))
			bad_step("a workflow cannot read a temporary table",
					 "A run works in its own session, where the table does not exist.");
		return MlRelName(relid);
	}
	if (list_length(written) > 0)
	{
		ListCell   *lc;

		/* the name an earlier step's into_table got, resolved the same way */
		q = quote_qualified_identifier(get_namespace_name(RangeVarGetCreationNamespace(rv)), rv->relname);
		foreach(lc, written)
		{
			if (strcmp(q, (char *) lfirst(lc)) == 0)
				return q;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation \"%s\" does not exist", s),
			 errhint("A step reads a relation that exists, or one that an earlier step of the workflow writes (its into_table).")));
	return NULL;
}

/* A recipe by id or by name, as the caller sees recipes (row-level security). */
static char *
recipe_value(JsonbValue *v, bool stored)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		by_name = v->type == jbvString;
	char	   *text = MlJsonValueText(v);
	char	   *id;
	uint64		n;
	MemoryContext caller_cxt = CurrentMemoryContext;

	if (text == NULL || (v->type != jbvString && v->type != jbvNumeric))
		bad_step("option \"recipe\" must be a recipe id or name", NULL);
	if (stored)
	{
		if (strspn(text, "0123456789") != strlen(text) || strlen(text) == 0 || strlen(text) > 18)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the stored recipe id \"%s\" is not valid", text)));
		return text;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = CStringGetTextDatum(text);
	MlSpiExec(by_name
			  ? "SELECT id FROM mlops.recipes WHERE name OPERATOR(pg_catalog.=) $1"
			  : "SELECT id FROM mlops.recipes WHERE id::pg_catalog.text OPERATOR(pg_catalog.=) $1",
			  1, types, values, NULL, SPI_OK_SELECT);
	n = SPI_processed;
	/* copied out of SPI's memory, which SPI_finish frees */
	id = n == 1 ? MemoryContextStrdup(caller_cxt,
									  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) : NULL;
	SPI_finish();
	if (n > 1)
		bad_step(psprintf("recipe name \"%s\" is ambiguous", text), "Give the recipe's id.");
	if (id == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("recipe \"%s\" does not exist", text)));
	return id;
}

static char *
object_text(JsonbContainer *obj, const char *key)
{
	JsonbContainer *o = MlOptObject(obj, key);

	return o ? JsonbToCString(NULL, o, -1) : pstrdup("{}");
}

static char *
mode_value(JsonbContainer *obj)
{
	char	   *mode = MlOptString(obj, "mode", "append");

	if (strcmp(mode, "append") != 0 && strcmp(mode, "replace") != 0)
		bad_step(psprintf("option \"mode\" is \"append\" or \"replace\", not \"%s\"", mode), NULL);
	return mode;
}

/* The gate's metric for the project's task, and its direction. */
static void
gate_metric(MlWorkflowStep *s, JsonbContainer *obj, const char *task)
{
	char	   *given = MlOptString(obj, "metric", NULL);
	StringInfoData list;

	initStringInfo(&list);
	for (size_t i = 0; i < lengthof(metrics); i++)
	{
		if (strcmp(metrics[i].task, task) != 0)
			continue;
		if (given == NULL || strcmp(given, metrics[i].name) == 0)
		{
			s->metric = pstrdup(metrics[i].name);
			s->lower_better = metrics[i].lower_better;
			return;
		}
		appendStringInfo(&list, "%s%s", list.len ? ", " : "", metrics[i].name);
	}
	if (list.len == 0)
		bad_step(psprintf("a gate cannot compare versions of a %s project", task), NULL);
	bad_step(psprintf("unknown gate metric \"%s\"", given),
			 psprintf("Metrics of %s projects are: %s.", task, list.data));
}

/* margin: a number (in the metric's units) or "N%" (of the deployed version's value). */
static void
gate_margin(MlWorkflowStep *s, JsonbContainer *obj)
{
	JsonbValue *v = MlOptGet(obj, "margin");
	const char *hint = "A margin is a number of at least 0 in the metric's units, or a percentage of the deployed version's value such as \"2%\".";

	s->margin = 0;
	s->relative = false;
	if (v == NULL)
		return;
	if (v->type == jbvNumeric)
		s->margin = MlOptNumber(obj, "margin", 0);
	else if (v->type == jbvString)
	{
		char	   *text = pnstrdup(v->val.string.val, v->val.string.len);
		char	   *end;
		size_t		len = strlen(text);

		if (len < 2 || text[len - 1] != '%')
			bad_step(psprintf("invalid gate margin \"%s\"", text), hint);
		text[len - 1] = '\0';
		errno = 0;
		s->margin = strtod(text, &end) / 100.0;
		if (*end != '\0' || errno != 0 || end == text || !(s->margin <= 1.0))
			bad_step(psprintf("invalid gate margin \"%s%%\"", text), hint);
		s->relative = true;
	}
	else
		bad_step("invalid gate margin", hint);
	if (!(s->margin >= 0) || !isfinite(s->margin))
		bad_step("invalid gate margin", hint);
}

static void
parse_train(MlWorkflowStep *s, JsonbContainer *obj)
{
	s->algorithm = MlOptString(obj, "algorithm", "auto");
	if (strcmp(s->algorithm, "auto") != 0 && MlLearnerByName(s->algorithm) == NULL)
		bad_step(psprintf("unknown algorithm \"%s\"", s->algorithm),
				 psprintf("Algorithms are auto, %s.", MlLearnerNames()));
	s->hyperparams = object_text(obj, "hyperparams");
	s->options = object_text(obj, "options");
}

/* One step object; written collects the into_table of the steps before. */
static void
parse_step(MlWorkflowStep *s, JsonbContainer *obj, const char *task, bool stored, List **written)
{
	char	   *rel = MlOptString(obj, "relation", NULL);

	switch (s->kind)
	{
		case ML_WF_IMPORT:
			s->path = MlOptString(obj, "path", NULL);
			if ((s->path == NULL) == (rel == NULL))
				bad_step("an import step reads either a server file (\"path\") or a relation (\"relation\")", NULL);
			if (rel && MlOptGet(obj, "options"))
				bad_step("option \"options\" (CSV options) goes with \"path\"", NULL);
			/* domains in "types" resolved now, as the step's relations are */
			s->options = !s->path ? NULL : stored ? object_text(obj, "options") :
				MlCsvQualifyTypes(MlOptObject(obj, "options"));
			if (rel)
				s->relation = read_relation(rel, stored, *written);
			break;
		case ML_WF_CLEAN:
			if (rel == NULL)
				bad_step("a clean step needs option \"relation\"", NULL);
			s->relation = read_relation(rel, stored, *written);
			if (MlOptGet(obj, "recipe") && MlOptGet(obj, "options"))
				bad_step("a clean step re-applies a recipe or cleans with options, not both", NULL);
			if (MlOptGet(obj, "recipe"))
				s->recipe = recipe_value(MlOptGet(obj, "recipe"), stored);
			else
				s->options = object_text(obj, "options");
			break;
		case ML_WF_TRAIN:
			parse_train(s, obj);
			break;
		case ML_WF_EVALUATE:
			if (rel == NULL)
				bad_step("an evaluate step needs option \"relation\" (labelled rows)", NULL);
			s->relation = read_relation(rel, stored, *written);
			s->options = object_text(obj, "options");
			break;
		case ML_WF_GATE:
			gate_metric(s, obj, task);
			gate_margin(s, obj);
			/* shown in the stored steps; given, it must agree with the metric */
			if (MlOptGet(obj, "direction") &&
				strcmp(MlOptString(obj, "direction", NULL), s->lower_better ? "lower is better" : "higher is better") != 0)
				bad_step(psprintf("option \"direction\" of metric \"%s\" is \"%s\"", s->metric,
								  s->lower_better ? "lower is better" : "higher is better"),
						 "The direction follows from the metric; leave it out.");
			break;
		case ML_WF_DEPLOY:
			break;
		case ML_WF_SCORE:
			if (rel == NULL || MlOptGet(obj, "into_table") == NULL)
				bad_step("a score step needs options \"relation\" and \"into_table\"", NULL);
			s->relation = read_relation(rel, stored, *written);
			break;
		case ML_WF_REPORT:
			s->report_kind = MlOptString(obj, "report", "model");
			s->options = object_text(obj, "options");
			s->publish = MlOptBool(obj, "publish", false);
			break;
	}
	if (s->kind == ML_WF_IMPORT || s->kind == ML_WF_CLEAN || s->kind == ML_WF_SCORE)
	{
		char	   *into = MlOptString(obj, "into_table", NULL);

		if (s->kind == ML_WF_IMPORT && into == NULL)
			bad_step("an import step needs option \"into_table\"", NULL);
		if (into)
		{
			s->into = written_relation(into, stored);
			*written = lappend(*written, s->into);
		}
		else if (MlOptGet(obj, "mode"))
			bad_step("option \"mode\" goes with \"into_table\"", NULL);
		s->mode = mode_value(obj);
	}
}

static void
json_key(StringInfo out, const char *key, const char *value)
{
	if (value == NULL)
		return;
	appendStringInfoString(out, ", ");
	escape_json(out, key);
	appendStringInfoString(out, ": ");
	escape_json(out, value);
}

static void
json_raw(StringInfo out, const char *key, const char *json)
{
	if (json == NULL)
		return;
	appendStringInfo(out, ", \"%s\": %s", key, json);
}

/* The step as stored: every default filled, names quoted. */
static void
write_step(StringInfo out, const MlWorkflowStep *s)
{
	appendStringInfo(out, "{\"kind\": \"%s\"", s->kind_name);
	json_key(out, "algorithm", s->algorithm);
	json_raw(out, "hyperparams", s->hyperparams);
	json_key(out, "path", s->path);
	json_key(out, "relation", s->relation);
	json_raw(out, "recipe", s->recipe);
	json_key(out, "into_table", s->into);
	json_key(out, "mode", s->into ? s->mode : NULL);
	json_key(out, "report", s->report_kind);
	json_raw(out, "options", s->options);
	if (s->kind == ML_WF_REPORT)
		appendStringInfo(out, ", \"publish\": %s", s->publish ? "true" : "false");
	if (s->kind == ML_WF_GATE)
	{
		json_key(out, "metric", s->metric);
		if (s->relative)
			appendStringInfo(out, ", \"margin\": \"%.15g%%\"", s->margin * 100);
		else
		{
			appendStringInfoString(out, ", \"margin\": ");
			MlJsonNumber(out, s->margin);
		}
		appendStringInfo(out, ", \"direction\": \"%s\"", s->lower_better ? "lower is better" : "higher is better");
	}
	appendStringInfoChar(out, '}');
}

static const KindInfo *
kind_info(JsonbContainer *obj)
{
	JsonbValue *v = MlOptGet(obj, "kind");
	char	   *name;

	if (v == NULL || v->type != jbvString)
		bad_step("every step needs a \"kind\"",
				 "Kinds are import, clean, train, evaluate, gate, deploy, score and report.");
	name = pnstrdup(v->val.string.val, v->val.string.len);
	for (size_t i = 0; i < lengthof(kinds); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	bad_step(psprintf("unknown step kind \"%s\"", name),
			 "Kinds are import, clean, train, evaluate, gate, deploy, score and report.");
	return NULL;
}

/* The order: evaluate and gate after a train, deploy after a gate. */
static void
check_order(const MlWorkflowStep *s, bool trained, bool gated, const char *task)
{
	if ((s->kind == ML_WF_TRAIN || s->kind == ML_WF_EVALUATE || s->kind == ML_WF_GATE) &&
		strcmp(task, "forecast") == 0)
		bad_step(psprintf("%s cannot be used in a forecast project", a_step(s->kind_name)),
				 "Forecast projects train with ml_forecast_train, which workflows do not run yet.");
	if ((s->kind == ML_WF_EVALUATE || s->kind == ML_WF_GATE) && !trained)
		bad_step(psprintf("%s needs a train step before it", a_step(s->kind_name)),
				 "It compares the version the workflow trained with the deployed one.");
	if (s->kind == ML_WF_DEPLOY && !gated)
		bad_step("a deploy step needs a gate step after the last train step",
				 "A workflow deploys only a version its gate found better than the deployed one.");
}

MlWorkflowStep *
MlWorkflowParse(Jsonb *steps, const char *task, bool stored, int *nsteps, char **normalised)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	MlWorkflowStep *out;
	StringInfoData json;
	List	   *written = NIL;
	bool		trained = false;
	bool		gated = false;
	int			n;
	StepContext ctx = {0, NULL};
	ErrorContextCallback cb;

	if (!JB_ROOT_IS_ARRAY(steps) || JB_ROOT_IS_SCALAR(steps))
		bad_step("workflow steps must be a JSON array of step objects",
				 "For example '[{\"kind\": \"train\"}, {\"kind\": \"gate\"}, {\"kind\": \"deploy\"}]'.");
	n = JB_ROOT_COUNT(steps);
	if (n < 1 || n > ML_WORKFLOW_MAX_STEPS)
		bad_step(psprintf("a workflow has from 1 to %d steps, not %d", ML_WORKFLOW_MAX_STEPS, n), NULL);
	out = palloc0(sizeof(MlWorkflowStep) * n);
	initStringInfo(&json);
	appendStringInfoChar(&json, '[');
	cb.callback = step_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	it = JsonbIteratorInit(&steps->root);
	n = 0;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		const KindInfo *k;
		MlWorkflowStep *s;

		if (tok != WJB_ELEM)
			continue;
		ctx.no = n + 1;
		ctx.kind = NULL;
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			bad_step("every workflow step must be a JSON object", NULL);
		k = kind_info(v.val.binary.data);
		ctx.kind = k->name;
		s = &out[n];
		s->kind = k->kind;
		s->kind_name = k->name;
		MlOptCheckKeys(v.val.binary.data, a_step(k->name), k->keys);
		check_order(s, trained, gated, task);
		parse_step(s, v.val.binary.data, task, stored, &written);
		if (s->kind == ML_WF_TRAIN)
			trained = true, gated = false;
		if (s->kind == ML_WF_GATE)
			gated = true;
		appendStringInfoString(&json, n ? ", " : "");
		write_step(&json, s);
		n++;
	}
	error_context_stack = cb.previous;
	appendStringInfoChar(&json, ']');
	*nsteps = n;
	if (normalised)
		*normalised = json.data;
	return out;
}
