/*
 * impute_forest_recipe.c
 *	  MissForest's recipe steps: the lead step carries every member (its
 *	  column, start, classes, inputs with their levels, and its forest as
 *	  base64 of the learner's bounds-checked payload); the other members'
 *	  steps name the lead. Read back validated (impute_forest.c fits).
 */
#include "postgres.h"

#include <math.h>

#include "common/base64.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "clean/cleaning.h"
#include "clean/impute.h"
#include "clean/impute_forest.h"
#include "core/options.h"
#include "model/model.h"

static void
json_texts(StringInfo out, char **t, int n)
{
	appendStringInfoChar(out, '[');
	for (int i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(out, ", ");
		escape_json(out, t[i]);
	}
	appendStringInfoChar(out, ']');
}

/*
 * The lead's step carries every member: its column, start, classes,
 * inputs (categorical ones with their levels) and forest; the others'
 * steps name the lead.
 */
void
MlForestToJson(MlFrame *frame, MlModel *m, StringInfo out)
{
	MlForest   *fo = m->forest;

	if (fo->mb[0].col != m->target)
	{
		appendStringInfoString(out, ", \"lead\": ");
		escape_json(out, frame->cols[fo->mb[0].col].name);
		return;
	}
	appendStringInfo(out, ", \"rounds\": %d, \"trees\": %d, \"members\": [", fo->rounds, fo->trees);
	for (int i = 0; i < fo->n; i++)
	{
		ForestMember *mb = &fo->mb[i];

		appendStringInfoString(out, i ? ", {\"column\": " : "{\"column\": ");
		escape_json(out, frame->cols[mb->col].name);
		MlRecipeWriteType(out, &frame->cols[mb->col]);
		appendStringInfo(out, ", \"discrete\": %s, \"fill\": ", mb->discrete ? "true" : "false");
		if (mb->discrete)
		{
			escape_json(out, mb->classes[(int) mb->fill]);
			appendStringInfoString(out, ", \"classes\": ");
			json_texts(out, mb->classes, mb->nclass);
		}
		else
		{
			MlJsonNumber(out, mb->fill);
			appendStringInfoString(out, ", \"mean\": ");
			MlJsonNumber(out, mb->mean);
			appendStringInfoString(out, ", \"sd\": ");
			MlJsonNumber(out, mb->sd);
		}
		appendStringInfoString(out, ", \"inputs\": [");
		for (int j = 0; j < mb->ninput; j++)
		{
			appendStringInfoString(out, j ? ", {\"column\": " : "{\"column\": ");
			escape_json(out, frame->cols[mb->inputs[j].col].name);
			if (mb->inputs[j].categorical)
			{
				appendStringInfoString(out, ", \"levels\": ");
				json_texts(out, mb->inputs[j].levels, mb->inputs[j].ncat);
			}
			appendStringInfoChar(out, '}');
		}
		appendStringInfoString(out, "], \"forest\": ");
		if (mb->forest == NULL)
			appendStringInfoString(out, "null");
		else
		{
			StringInfoData buf;
			char	   *b64;
			int			len;

			initStringInfo(&buf);
			MlForestLearner.save(mb->forest, &buf);
			b64 = palloc(pg_b64_enc_len(buf.len) + 1);
			len = pg_b64_encode(buf.data, buf.len, b64, pg_b64_enc_len(buf.len));
			if (len < 0)
				elog(ERROR, "could not encode a forest");
			b64[len] = '\0';
			appendStringInfo(out, "\"%s\"", b64);
			pfree(b64);
			pfree(buf.data);
		}
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

/* A stored list of level texts: 1..max distinct strings. */
static char **
read_texts(JsonbContainer *obj, const char *key, int max, int *n, const char *what)
{
	JsonbValue *a = MlRecipeArray(obj, key, n);
	char	  **t;

	if (*n < 1 || *n > max)
		MlRecipeBad(psprintf("%s must have 1 to %d levels", what, max));
	t = palloc(sizeof(char *) * *n);
	for (int i = 0; i < *n; i++)
	{
		if (a[i].type != jbvString)
			MlRecipeBad(psprintf("%s has a level that is not text", what));
		t[i] = pnstrdup(a[i].val.string.val, a[i].val.string.len);
		for (int k = 0; k < i; k++)
			if (strcmp(t[k], t[i]) == 0)
				MlRecipeBad(psprintf("%s has a level twice", what));
	}
	return t;
}

static JsonbContainer *
element_object(JsonbValue *v, const char *what)
{
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		MlRecipeBad(what);
	return v->val.binary.data;
}

static void
read_inputs(MlFrame *frame, ForestMember *mb, JsonbContainer *obj)
{
	int			n;
	JsonbValue *a = MlRecipeArray(obj, "inputs", &n);

	if (n > FOREST_MAX_INPUTS)
		MlRecipeBad("a forest member has too many inputs");
	mb->ninput = n;
	mb->inputs = palloc0(sizeof(ForestInput) * Max(n, 1));
	for (int j = 0; j < n; j++)
	{
		JsonbContainer *io = element_object(&a[j], "a forest input is not an object");
		char	   *name = MlOptString(io, "column", NULL);
		ForestInput *in = &mb->inputs[j];
		MlColumn   *col;

		if (name == NULL)
			MlRecipeBad("a forest input has no column");
		in->col = MlRecipeColumn(frame, name);
		col = &frame->cols[in->col];
		if (in->col == mb->col)
			MlRecipeBad("a forest member is its own input");
		in->categorical = MlOptGet(io, "levels") != NULL;
		if (in->categorical)
		{
			in->levels = read_texts(io, "levels", ML_FOREST_MAX_LEVELS, &in->ncat,
									"a categorical forest input");
			if (col->code == NULL || col->level_text == NULL || col->kind == ML_KIND_NUMERIC)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of type %s cannot be a categorical input of the recipe's forest",
								col->name, format_type_be(col->typid))));
		}
		else if (col->kind != ML_KIND_NUMERIC && col->kind != ML_KIND_DATETIME)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot be a numeric input of the recipe's forest",
							col->name, format_type_be(col->typid))));
	}
}

/* A member's stored forest, decoded and validated against its inputs and classes. */
static void *
read_member_forest(ForestMember *mb, JsonbValue *v, const char *name)
{
	MlDesign	shape;
	MlReader	r;
	int			len;
	char	   *bytes;
	void	   *model;

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		MlRecipeBad("a forest member's forest is not base64 text");
	if (mb->ninput == 0)
		MlRecipeBad("a forest member without inputs has a forest");
	bytes = palloc(pg_b64_dec_len(v->val.string.len) + 1);
	len = pg_b64_decode(v->val.string.val, v->val.string.len, bytes,
						pg_b64_dec_len(v->val.string.len));
	if (len < 0)
		MlRecipeBad("a forest member's forest is not base64 text");
	memset(&shape, 0, sizeof(shape));
	shape.nfeat = mb->ninput;
	shape.categorical = palloc0(sizeof(bool) * mb->ninput);
	shape.ncat = palloc0(sizeof(int) * mb->ninput);
	for (int j = 0; j < mb->ninput; j++)
	{
		shape.categorical[j] = mb->inputs[j].categorical;
		shape.ncat[j] = mb->inputs[j].ncat;
	}
	shape.task = MlForestMemberTask(mb);
	shape.nclass = mb->discrete ? mb->nclass : 0;
	r.data = bytes;
	r.len = len;
	r.pos = 0;
	r.what = psprintf("the forest of column \"%s\" in the recipe", name);
	model = MlForestLearner.load(&r, &shape);
	MlReadEnd(&r);
	return model;
}

static void
read_member(MlFrame *frame, ForestMember *mb, JsonbContainer *obj)
{
	char	   *name = MlOptString(obj, "column", NULL);
	MlColumn   *col;

	if (name == NULL)
		MlRecipeBad("a forest member has no column");
	mb->col = MlRecipeColumn(frame, name);
	col = &frame->cols[mb->col];
	MlRecipeCheckType(col, obj);
	mb->discrete = MlOptBool(obj, "discrete", false);
	mb->error = NAN;
	if (mb->discrete)
	{
		char	   *fill = MlOptString(obj, "fill", NULL);

		if (col->kind == ML_KIND_NUMERIC || col->code == NULL || col->level_text == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot take the recipe's categories",
							col->name, format_type_be(col->typid))));
		mb->classes = read_texts(obj, "classes", ML_FOREST_MAX_LEVELS, &mb->nclass,
								 "a forest member's classes");
		mb->fill = -1;
		for (int c = 0; fill && c < mb->nclass; c++)
			if (strcmp(mb->classes[c], fill) == 0)
				mb->fill = c;
		if (mb->fill < 0)
			MlRecipeBad("a forest member's start is not one of its classes");
	}
	else
	{
		if (col->kind != ML_KIND_NUMERIC)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s is not numeric, but the recipe's forest predicts numbers for it",
							col->name, format_type_be(col->typid))));
		mb->fill = MlRecipeNumber(obj, "fill", NAN);
		mb->mean = MlRecipeNumber(obj, "mean", mb->fill);
		mb->sd = MlRecipeNumber(obj, "sd", 1);
		if (!isfinite(mb->fill) || !isfinite(mb->mean) || !(mb->sd > 0) || !isfinite(mb->sd))
			MlRecipeBad("a forest member's start, mean and sd must be finite numbers (sd above 0)");
	}
	read_inputs(frame, mb, obj);
	mb->forest = read_member_forest(mb, MlOptGet(obj, "forest"), name);
}

/*
 * The forest of a lead step, or the lead's name for the other members.
 * A member that is another's input must be read the same way by both (a
 * category with the same levels, in the same order, or a number).
 */
void
MlForestFromJson(MlFrame *frame, MlModel *m, JsonbContainer *obj)
{
	MlForest   *fo;
	int			n;
	JsonbValue *a;
	double		rounds,
				trees;
	bool		self = false;

	if (MlOptGet(obj, "lead") != NULL)
	{
		m->forest_lead = MlOptString(obj, "lead", NULL);
		if (m->forest_lead == NULL)
			MlRecipeBad("a forest step's \"lead\" is not a column name");
		(void) MlRecipeColumn(frame, m->forest_lead);
		return;
	}
	rounds = MlRecipeNumber(obj, "rounds", 0);
	trees = MlRecipeNumber(obj, "trees", 1);
	if (!(rounds >= 1 && rounds <= 100) || rounds != floor(rounds) ||
		!(trees >= 1 && trees <= 100000) || trees != floor(trees))
		MlRecipeBad("a forest needs 1 to 100 rounds and 1 to 100000 trees");
	a = MlRecipeArray(obj, "members", &n);
	if (n < 1 || n > FOREST_MAX_MEMBERS)
		MlRecipeBad("a forest needs 1 to 1600 members");
	fo = palloc0(sizeof(MlForest));
	fo->n = n;
	fo->rounds = (int) rounds;
	fo->trees = (int) trees;
	fo->mb = palloc0(sizeof(ForestMember) * n);
	for (int i = 0; i < n; i++)
	{
		read_member(frame, &fo->mb[i], element_object(&a[i], "a forest member is not an object"));
		for (int k = 0; k < i; k++)
			if (fo->mb[k].col == fo->mb[i].col)
				MlRecipeBad("a column is twice in a forest");
		self |= fo->mb[i].col == m->target;
	}
	if (!self || fo->mb[0].col != m->target)
		MlRecipeBad("a forest's first member is not its step's column");
	for (int i = 0; i < n; i++)
		for (int j = 0; j < fo->mb[i].ninput; j++)
		{
			ForestInput *in = &fo->mb[i].inputs[j];
			int			k = MlForestMemberOf(fo, in->col);
			ForestMember *src = k >= 0 ? &fo->mb[k] : NULL;

			if (src == NULL)
				continue;
			if (in->categorical != src->discrete ||
				(src->discrete && in->ncat != src->nclass))
				MlRecipeBad("a forest member is read differently as another's input");
			for (int l = 0; src->discrete && l < src->nclass; l++)
				if (strcmp(in->levels[l], src->classes[l]) != 0)
					MlRecipeBad("a forest member is read differently as another's input");
		}
	m->forest = fo;
	m->rounds = fo->rounds;
	m->nchain = n;
	if (m->discrete != fo->mb[0].discrete)
		MlRecipeBad("a forest step and its member disagree on \"discrete\"");
}

/* "forest (3 columns, 4 rounds, 30 trees each)" */
char *
MlForestDescribe(MlModel *m)
{
	if (m->forest == NULL)
		return psprintf("forest (with column \"%s\")", m->forest_lead ? m->forest_lead : "?");
	return psprintf("forest (%d columns, %d rounds, %d trees each)", m->forest->n,
					m->forest->rounds, m->forest->trees);
}
