/*
 * pmml.c
 *	  ml_export_pmml(project, version): a stored model version as a PMML 4.4
 *	  document (http://www.dmg.org/PMML-4_4), for scoring outside the
 *	  database with any PMML evaluator.
 *
 * The document reproduces ml_predict exactly: the DataDictionary lists the
 * inputs (categories with their levels, so a level the model never saw is
 * invalid and, as at scoring, treated as missing); dense learners get the
 * encoder's second stage as DerivedFields (standardization, missing
 * indicators, one-hot levels); the model element comes from
 * pmml_models.c. The tree is built with libxml2 (malloc'ed, so it is freed
 * on every error path) and serialized once.
 */
#include "postgres.h"

#include <math.h>

#include <libxml/xmlsave.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/xml.h"

#include "core/catalog.h"
#include "model/pmml.h"

PG_FUNCTION_INFO_V1(ml_export_pmml);

#define PMML_NS "http://www.dmg.org/PMML-4_4"

static void
xml_oom(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory while building a PMML document")));
}

/* libxml2 wants UTF-8; the catalog's text is in the server encoding. */
static const xmlChar *
utf8(const char *s)
{
	return (const xmlChar *) pg_server_to_any(s, strlen(s), PG_UTF8);
}

xmlNodePtr
MlPmmlChild(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n = xmlNewChild(parent, NULL, (const xmlChar *) name, NULL);

	if (n == NULL)
		xml_oom();
	return n;
}

void
MlPmmlAttr(xmlNodePtr node, const char *name, const char *value)
{
	if (xmlNewProp(node, (const xmlChar *) name, utf8(value)) == NULL)
		xml_oom();
}

/* xs:double, round-tripping (17 significant digits). */
void
MlPmmlAttrNum(xmlNodePtr node, const char *name, double v)
{
	char		buf[64];

	if (isnan(v))
		strlcpy(buf, "NaN", sizeof(buf));
	else if (isinf(v))
		strlcpy(buf, v > 0 ? "INF" : "-INF", sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "%.17g", v);
	MlPmmlAttr(node, name, buf);
}

void
MlPmmlAttrInt(xmlNodePtr node, const char *name, int64 v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), INT64_FORMAT, v);
	MlPmmlAttr(node, name, buf);
}

void
MlPmmlText(xmlNodePtr node, const char *text)
{
	xmlNodePtr	t = xmlNewText(utf8(text));

	if (t == NULL)
		xml_oom();
	xmlAddChild(node, t);
}

static bool
is_classifier(MlTrained *t)
{
	return t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS;
}

char *
MlPmmlPredictedName(MlPmml *x)
{
	return psprintf("predicted(%s)", x->target);
}

char *
MlPmmlProbabilityName(MlPmml *x, int c)
{
	return psprintf("probability(%s)", x->t->classes[c]);
}

/* gbdt's raw score of round tree k (two classes: the second class's) */
char *
MlPmmlScoreName(MlPmml *x, int k, int per_round)
{
	return psprintf("gbdt_score(%s)", x->t->classes[per_round == 1 ? 1 : k]);
}

/*
 * Every input field, active; a value outside the DataDictionary (a level
 * the model never saw) is missing, as MlLevelCode makes it at scoring.
 */
void
MlPmmlMiningSchema(MlPmml *x, xmlNodePtr model, bool with_target)
{
	xmlNodePtr	ms = MlPmmlChild(model, "MiningSchema");
	MlEncoder  *enc = x->t->enc;

	if (with_target)
	{
		xmlNodePtr	f = MlPmmlChild(ms, "MiningField");

		MlPmmlAttr(f, "name", x->target);
		MlPmmlAttr(f, "usageType", "target");
	}
	for (int i = 0; i < enc->ninputs; i++)
	{
		xmlNodePtr	f = MlPmmlChild(ms, "MiningField");

		MlPmmlAttr(f, "name", enc->inputs[i].name);
		MlPmmlAttr(f, "invalidValueTreatment", "asMissing");
	}
}

/* Date/time parts (year, month, ...) have no PMML built-in function. */
static void
check_inputs(MlPmml *x)
{
	MlEncoder  *enc = x->t->enc;

	for (int i = 0; i < enc->ninputs; i++)
		if (enc->inputs[i].kind == ML_INPUT_DATETIME)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s cannot be exported to PMML: feature \"%s\" is a date/time",
							x->what, enc->inputs[i].name),
					 errdetail("PMML 4.4 has no built-in function for the date parts (year, month, day, day of week, hour) the model reads from \"%s\".",
							   enc->inputs[i].name),
					 errhint("Derive numeric columns from it first (ml_clean's datetime step, keep_original false) and train on those.")));
		else if (enc->inputs[i].has_fill || enc->inputs[i].has_clamp || enc->inputs[i].replay)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s cannot be exported to PMML: feature \"%s\" takes a cleaning recipe's %s",
							x->what, enc->inputs[i].name,
							enc->inputs[i].has_fill || enc->inputs[i].replay ? "fill" : "outlier bounds"),
					 errdetail("This export writes no missing-value replacement or outlier treatment."),
					 errhint("Train with {\"recipe\": \"none\"}, or on a table the recipe was applied to (ml_apply_recipe).")));
}

static void
data_dictionary(MlPmml *x, xmlNodePtr root)
{
	MlEncoder  *enc = x->t->enc;
	xmlNodePtr	dd = MlPmmlChild(root, "DataDictionary");
	xmlNodePtr	f;

	MlPmmlAttrInt(dd, "numberOfFields", enc->ninputs + 1);
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		f = MlPmmlChild(dd, "DataField");
		MlPmmlAttr(f, "name", in->name);
		if (in->kind == ML_INPUT_CATEGORY)
		{
			MlPmmlAttr(f, "optype", "categorical");
			MlPmmlAttr(f, "dataType", "string");
			for (int k = 0; k < in->nlevels; k++)
				MlPmmlAttr(MlPmmlChild(f, "Value"), "value", in->levels[k]);
		}
		else
		{
			MlPmmlAttr(f, "optype", "continuous");
			MlPmmlAttr(f, "dataType", "double");
		}
	}
	f = MlPmmlChild(dd, "DataField");
	MlPmmlAttr(f, "name", x->target);
	if (is_classifier(x->t))
	{
		MlPmmlAttr(f, "optype", "categorical");
		MlPmmlAttr(f, "dataType", "string");
		for (int c = 0; c < x->t->nclass; c++)
			MlPmmlAttr(MlPmmlChild(f, "Value"), "value", x->t->classes[c]);
	}
	else
	{
		MlPmmlAttr(f, "optype", "continuous");
		MlPmmlAttr(f, "dataType", "double");
	}
}

static xmlNodePtr
derived_field(xmlNodePtr td, const char *name)
{
	xmlNodePtr	df = MlPmmlChild(td, "DerivedField");

	MlPmmlAttr(df, "name", name);
	MlPmmlAttr(df, "optype", "continuous");
	MlPmmlAttr(df, "dataType", "double");
	return df;
}

static xmlNodePtr
apply(xmlNodePtr parent, const char *function)
{
	xmlNodePtr	a = MlPmmlChild(parent, "Apply");

	MlPmmlAttr(a, "function", function);
	return a;
}

static void
field_ref(xmlNodePtr parent, const char *field)
{
	MlPmmlAttr(MlPmmlChild(parent, "FieldRef"), "field", field);
}

static void
constant(xmlNodePtr parent, double v)
{
	xmlNodePtr	c = MlPmmlChild(parent, "Constant");
	char		buf[64];

	MlPmmlAttr(c, "dataType", "double");
	snprintf(buf, sizeof(buf), "%.17g", v);
	MlPmmlText(c, buf);
}

/*
 * Stage two of the encoder, feature by feature as finish_row computes it:
 * (x - center) / scale with NULL at 0, a 0/1 missing indicator, and a 0/1
 * field per one-hot level (NULL and the other levels: 0).
 */
static void
transformations(MlPmml *x, xmlNodePtr root)
{
	MlEncoder  *enc = x->t->enc;
	xmlNodePtr	td = MlPmmlChild(root, "TransformationDictionary");

	for (int j = 0; j < enc->nraw; j++)
	{
		MlDenseMap *m = &enc->map[j];
		const char *in = enc->raw_name[j];

		if (enc->raw_categorical[j])
		{
			MlInput    *input = &enc->inputs[enc->feat_input[m->first]];

			for (int k = 0; k < m->nonehot; k++)
			{
				int			f = m->first + k;
				xmlNodePtr	nd;

				x->field[f] = psprintf("onehot(%s)", enc->feat_name[f]);
				nd = MlPmmlChild(derived_field(td, x->field[f]), "NormDiscrete");
				MlPmmlAttr(nd, "field", in);
				MlPmmlAttr(nd, "value", input->levels[m->onehot[k]]);
				MlPmmlAttr(nd, "mapMissingTo", "0");
			}
			continue;
		}
		{
			xmlNodePtr	div,
						sub;

			x->field[m->first] = psprintf("standardized(%s)", in);
			div = apply(derived_field(td, x->field[m->first]), "/");
			MlPmmlAttr(div, "mapMissingTo", "0");
			sub = apply(div, "-");
			field_ref(sub, in);
			constant(sub, m->center);
			constant(div, m->scale);
		}
		if (m->indicator)
		{
			xmlNodePtr	cond;

			x->field[m->first + 1] = psprintf("missing(%s)", in);
			cond = apply(derived_field(td, x->field[m->first + 1]), "if");
			field_ref(apply(cond, "isMissing"), in);
			constant(cond, 1);
			constant(cond, 0);
		}
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Derived and output fields must not take the name of a column (or of each
 * other): an evaluator would read one for the other.
 */
static void
check_field_names(MlPmml *x, const MlModelView *v)
{
	MlTrained  *t = x->t;
	MlEncoder  *enc = t->enc;
	int			n = 0;
	char	  **all = palloc(sizeof(char *) * (enc->ninputs + enc->nfeat + 2 * t->nclass + 2));

	for (int i = 0; i < enc->ninputs; i++)
		all[n++] = enc->inputs[i].name;
	all[n++] = (char *) x->target;
	if (enc->dense)
		for (int f = 0; f < enc->nfeat; f++)
			all[n++] = x->field[f];
	if (is_classifier(t))
	{
		all[n++] = MlPmmlPredictedName(x);
		for (int c = 0; c < t->nclass; c++)
			all[n++] = MlPmmlProbabilityName(x, c);
		if (v->form == ML_FORM_BOOSTED)
			for (int k = 0; k < v->per_round; k++)
				all[n++] = MlPmmlScoreName(x, k, v->per_round);
	}
	qsort(all, n, sizeof(char *), cmp_str);
	for (int i = 1; i < n; i++)
		if (strcmp(all[i - 1], all[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s cannot be exported to PMML: two of its fields would be named \"%s\"",
							x->what, all[i]),
					 errhint("Rename the column of that name (or the class label) and train again.")));
	pfree(all);
}

static void
header(MlPmml *x, xmlNodePtr root)
{
	xmlNodePtr	h = MlPmmlChild(root, "Header");
	xmlNodePtr	app;

	MlPmmlAttr(h, "description", psprintf("%s (%s)", x->what, x->t->learner->name));
	app = MlPmmlChild(h, "Application");
	MlPmmlAttr(app, "name", "pg_mlops");
	MlPmmlAttr(app, "version", PG_MLOPS_VERSION);
}

/* The whole document under root. */
static void
build(MlPmml *x, xmlDocPtr doc)
{
	MlTrained  *t = x->t;
	xmlNodePtr	root = xmlNewDocNode(doc, NULL, (const xmlChar *) "PMML", NULL);
	xmlNsPtr	ns;
	MlModelView v;

	if (root == NULL)
		xml_oom();
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, (const xmlChar *) PMML_NS, NULL);
	if (ns == NULL)
		xml_oom();
	xmlSetNs(root, ns);
	MlPmmlAttr(root, "version", "4.4");
	check_inputs(x);
	header(x, root);
	data_dictionary(x, root);
	x->field = palloc0(sizeof(char *) * Max(t->enc->nfeat, 1));
	if (t->enc->dense)
		transformations(x, root);
	else
		for (int f = 0; f < t->enc->nfeat; f++)
			x->field[f] = t->enc->feat_name[f];
	memset(&v, 0, sizeof(v));
	t->learner->view(t->model, &v);
	if (v.nfeat != t->enc->nfeat)
		elog(ERROR, "%s: the model's features do not match its encoder", x->what);
	check_field_names(x, &v);
	if (v.form == ML_FORM_LINEAR)
		MlPmmlLinear(x, &v, root);
	else
		MlPmmlTrees(x, &v, root);
}

/* The document as text in the server encoding, without a declaration. */
static char *
serialize(xmlDocPtr doc)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlSaveCtxtPtr ctxt;
	long		rc = -1;
	char	   *out;

	if (buf == NULL)
		xml_oom();
	ctxt = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
	if (ctxt != NULL)
	{
		rc = xmlSaveDoc(ctxt, doc);
		if (xmlSaveClose(ctxt) < 0)
			rc = -1;
	}
	if (ctxt == NULL || rc < 0)
	{
		xmlBufferFree(buf);
		xml_oom();
	}
	/* a palloc'ed copy first: the conversion may raise an error */
	out = pnstrdup((const char *) xmlBufferContent(buf), xmlBufferLength(buf));
	xmlBufferFree(buf);
	out = pg_any_to_server(out, strlen(out), PG_UTF8);
	return out;
}

/*
 * A PMML document is the version's payload written out (coefficients,
 * thresholds, leaf values: aggregates of the training rows), so it is
 * refused to a caller mlops.models' policy hides the version from (row-level
 * security on the training relation filters rows for it), as its metrics
 * and profile are. Read as the caller, before anything is read as the owner.
 */
static void
require_visible(MlProject *p, int32 version, const char *what)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(p->id), Int32GetDatum(version)};

	MlSpiExec("SELECT 1 FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to export %s", what),
				 errdetail("Its payload is an aggregate of training rows that row-level security on the training relation hides from you."),
				 errhint("Its trainer, or a role that row-level security does not filter, can export it.")));
}

/* The version's payload (read as the owner: the caller's access is checked). */
static bytea *
read_payload(MlScope *scope, MlProject *p, int32 version, const char *what)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(p->id), Int32GetDatum(version)};
	bool		isnull;
	char	   *algorithm;
	const MlLearner *l;
	Datum		d;

	MlScopeAsOwner(scope);
	MlSpiExec("SELECT algorithm, payload FROM mlops.models "
			  "WHERE project_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2",
			  2, types, values, NULL, SPI_OK_SELECT);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s does not exist", what),
				 errhint("The project's versions are listed in the ml_models view.")));
	algorithm = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	l = algorithm ? MlLearnerByName(algorithm) : NULL;
	if (l != NULL && l->view == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be exported to PMML: algorithm \"%s\" has no PMML form here",
						what, algorithm),
				 errhint("Exportable algorithms: %s.", MlLearnerExportNames())));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s has no payload", what)));
	return DatumGetByteaPCopy(d);
}

Datum
ml_export_pmml(PG_FUNCTION_ARGS)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MlScope		scope;
	MlProject  *p;
	MlPmml		x;
	int32		version;
	char	   *text;
	xmltype    *result;
	xmlDocPtr	doc;

	MlRequireArg(fcinfo, 1, "version");
	version = PG_GETARG_INT32(1);
	MlScopeEnter(&scope);
	p = MlProjectLookup(&scope, MlTextArg(fcinfo, 0, "project"));
	if (p->access == ML_ACCESS_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read the models of project \"%s\"", p->name)));
	memset(&x, 0, sizeof(x));
	x.what = psprintf("model version %d of project \"%s\"", version, p->name);
	x.target = p->target;
	{
		bytea	   *payload = read_payload(&scope, p, version, x.what);	/* 42704 when absent */

		MlScopeAsCaller(&scope);
		require_visible(p, version, x.what);
		x.t = MlTrainedLoad(payload, x.what);
	}
	if (x.t->groups)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s is a grouped model and cannot be exported to PMML", x.what),
				 errhint("Export a version trained with ml_train().")));
	if (x.t->task == ML_TASK_CLUSTERING || x.t->learner->view == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot be exported to PMML: algorithm \"%s\" has no PMML form here",
						x.what, x.t->learner->name),
				 errhint("Exportable algorithms: %s.", MlLearnerExportNames())));
	pg_xml_init_library();
	doc = xmlNewDoc((const xmlChar *) "1.0");
	if (doc == NULL)
		xml_oom();
	PG_TRY();
	{
		build(&x, doc);
		text = serialize(doc);
	}
	PG_CATCH();
	{
		xmlFreeDoc(doc);
		PG_RE_THROW();
	}
	PG_END_TRY();
	xmlFreeDoc(doc);
	/* SPI_finish frees what was allocated under SPI: copy out first */
	{
		MemoryContext old = MemoryContextSwitchTo(callercxt);

		result = (xmltype *) cstring_to_text(text);
		MemoryContextSwitchTo(old);
	}
	MlScopeExit(&scope);
	PG_RETURN_XML_P(result);
}
