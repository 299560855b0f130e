/*
 * pmml_models.c
 *	  The model element of a PMML export: RegressionModel for the linear
 *	  learners and logistic regression, TreeModel segments in a MiningModel
 *	  for gradient boosting and random forests.
 *
 * Each element computes what the learner's predict computes, in the same
 * order where PMML lets us choose: a tree node sends a missing value (and
 * a level the model never saw, made missing by the MiningSchema) to the
 * child the fitted tree sends NaN to, through PMML's defaultChild; leaf
 * values and coefficients are written with 17 significant digits, so they
 * read back as the same doubles.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "model/pmml.h"
#include "model/trees.h"

static bool
is_classifier(MlPmml *x)
{
	return x->t->task == ML_TASK_BINARY || x->t->task == ML_TASK_MULTICLASS;
}

/* The predicted class and one probability per class. */
static void
probability_output(MlPmml *x, xmlNodePtr model)
{
	xmlNodePtr	out = MlPmmlChild(model, "Output");
	xmlNodePtr	f = MlPmmlChild(out, "OutputField");

	MlPmmlAttr(f, "name", MlPmmlPredictedName(x));
	MlPmmlAttr(f, "optype", "categorical");
	MlPmmlAttr(f, "dataType", "string");
	MlPmmlAttr(f, "feature", "predictedValue");
	for (int c = 0; c < x->t->nclass; c++)
	{
		f = MlPmmlChild(out, "OutputField");
		MlPmmlAttr(f, "name", MlPmmlProbabilityName(x, c));
		MlPmmlAttr(f, "optype", "continuous");
		MlPmmlAttr(f, "dataType", "double");
		MlPmmlAttr(f, "feature", "probability");
		MlPmmlAttr(f, "value", x->t->classes[c]);
	}
}

static xmlNodePtr
regression_table(xmlNodePtr model, double intercept, const char *category)
{
	xmlNodePtr	rt = MlPmmlChild(model, "RegressionTable");

	MlPmmlAttrNum(rt, "intercept", intercept);
	if (category)
		MlPmmlAttr(rt, "targetCategory", category);
	return rt;
}

static void
numeric_predictor(xmlNodePtr table, const char *field, double coef)
{
	xmlNodePtr	np = MlPmmlChild(table, "NumericPredictor");

	MlPmmlAttr(np, "name", field);
	MlPmmlAttrNum(np, "coefficient", coef);
}

/*
 * Regression: intercept + coef . x. Two classes: the logit of the second
 * class's table, the first class's table empty (PMML's binary logit gives
 * it one minus the other). More classes: softmax over one table each.
 */
void
MlPmmlLinear(MlPmml *x, const MlModelView *v, xmlNodePtr parent)
{
	xmlNodePtr	rm = MlPmmlChild(parent, "RegressionModel");
	bool		classify = is_classifier(x);
	char	  **classes = x->t->classes;

	MlPmmlAttr(rm, "functionName", classify ? "classification" : "regression");
	MlPmmlAttr(rm, "algorithmName", x->t->learner->name);
	MlPmmlAttr(rm, "modelType", classify ? "logisticRegression" : "linearRegression");
	MlPmmlAttr(rm, "normalizationMethod",
			   !classify ? "none" : v->nsets == 1 ? "logit" : "softmax");
	MlPmmlMiningSchema(x, rm, true);
	if (classify)
		probability_output(x, rm);
	for (int s = 0; s < v->nsets; s++)
	{
		const char *category = !classify ? NULL : v->nsets == 1 ? classes[1] : classes[s];
		xmlNodePtr	rt = regression_table(rm, v->intercept[s], category);

		for (int j = 0; j < v->nfeat; j++)
			numeric_predictor(rt, x->field[j], v->coef[(size_t) s * v->nfeat + j]);
	}
	if (classify && v->nsets == 1)
		regression_table(rm, 0, classes[0]);
}

/* One tree being written. */
typedef struct TreeCtx
{
	MlPmml	   *x;
	const MlTree *tree;
	int			nout;
	bool		classify;		/* leaves hold class proportions */
} TreeCtx;

static void
simple_predicate(xmlNodePtr node, const char *field, const char *op, const char *value)
{
	xmlNodePtr	p = MlPmmlChild(node, "SimplePredicate");

	MlPmmlAttr(p, "field", field);
	MlPmmlAttr(p, "operator", op);
	if (value)
		MlPmmlAttr(p, "value", value);
}

/*
 * field in (or not in) levels. An Array quotes each value, a quote inside
 * escaped by a backslash; a level with a backslash of its own would be
 * ambiguous there, so such sets are written as equal / notEqual terms.
 */
static void
set_predicate(xmlNodePtr node, const char *field, char **levels, int n, bool in)
{
	bool		plain = true;
	StringInfoData s;
	xmlNodePtr	p,
				a;

	for (int k = 0; k < n; k++)
		plain &= strchr(levels[k], '\\') == NULL;
	if (n == 1 || !plain)
	{
		xmlNodePtr	c = node;

		if (n > 1)
		{
			c = MlPmmlChild(node, "CompoundPredicate");
			MlPmmlAttr(c, "booleanOperator", in ? "or" : "and");
		}
		for (int k = 0; k < n; k++)
			simple_predicate(c, field, in ? "equal" : "notEqual", levels[k]);
		return;
	}
	p = MlPmmlChild(node, "SimpleSetPredicate");
	MlPmmlAttr(p, "field", field);
	MlPmmlAttr(p, "booleanOperator", in ? "isIn" : "isNotIn");
	a = MlPmmlChild(p, "Array");
	MlPmmlAttr(a, "type", "string");
	MlPmmlAttrInt(a, "n", n);
	initStringInfo(&s);
	for (int k = 0; k < n; k++)
	{
		if (k > 0)
			appendStringInfoChar(&s, ' ');
		appendStringInfoChar(&s, '"');
		for (const char *c = levels[k]; *c; c++)
		{
			if (*c == '"')
				appendStringInfoChar(&s, '\\');
			appendStringInfoChar(&s, *c);
		}
		appendStringInfoChar(&s, '"');
	}
	MlPmmlText(a, s.data);
	pfree(s.data);
}

/*
 * The predicates of a split's two children. Numbers: x <= threshold goes
 * left. Categories: the levels whose bin is in the node's set go left
 * (codes from ML_TREES_MAX_BINS - 1 on share the last bin), the others
 * right. A missing value satisfies neither: it takes the defaultChild.
 */
static void
split_predicates(TreeCtx *c, const MlTreeNode *n, xmlNodePtr left, xmlNodePtr right)
{
	MlEncoder  *enc = c->x->t->enc;
	const char *field = c->x->field[n->feature];
	MlInput    *in;
	const uint64 *set;
	char	  **l,
			  **r;
	int			nl = 0,
				nr = 0;

	if (!n->categorical)
	{
		char		buf[64];

		snprintf(buf, sizeof(buf), "%.17g", n->threshold);
		simple_predicate(left, field, "lessOrEqual", buf);
		simple_predicate(right, field, "greaterThan", buf);
		return;
	}
	in = &enc->inputs[enc->feat_input[n->feature]];
	set = c->tree->sets + (size_t) n->aux * 4;
	l = palloc(sizeof(char *) * Max(in->nlevels, 1));
	r = palloc(sizeof(char *) * Max(in->nlevels, 1));
	for (int k = 0; k < in->nlevels; k++)
	{
		int			b = Min(k, ML_TREES_MAX_BINS - 1);

		if ((set[b >> 6] >> (b & 63)) & 1)
			l[nl++] = in->levels[k];
		else
			r[nr++] = in->levels[k];
	}
	if (nl == 0 || nr == 0)
	{
		/* every level on one side: only a missing value takes the other */
		MlPmmlChild(left, nl ? "True" : "False");
		MlPmmlChild(right, nr ? "True" : "False");
	}
	else
	{
		set_predicate(left, field, l, nl, true);
		set_predicate(right, field, l, nl, false);
	}
	pfree(l);
	pfree(r);
}

static void
leaf(TreeCtx *c, const MlTreeNode *n, xmlNodePtr node)
{
	const double *v = c->tree->values + (size_t) n->aux * c->nout;
	int			best = 0;

	if (!c->classify)
	{
		MlPmmlAttrNum(node, "score", v[0]);
		return;
	}
	for (int k = 1; k < c->nout; k++)
		if (v[k] > v[best])
			best = k;
	MlPmmlAttr(node, "score", c->x->t->classes[best]);
	/* the leaf's class proportions (its row counts are not kept) */
	for (int k = 0; k < c->nout; k++)
	{
		xmlNodePtr	sd = MlPmmlChild(node, "ScoreDistribution");

		MlPmmlAttr(sd, "value", c->x->t->classes[k]);
		MlPmmlAttrNum(sd, "recordCount", v[k]);
		MlPmmlAttrNum(sd, "probability", v[k]);
	}
}

static xmlNodePtr
new_node(xmlNodePtr parent, int id)
{
	xmlNodePtr	n = MlPmmlChild(parent, "Node");

	MlPmmlAttrInt(n, "id", id);
	return n;
}

/* Node i (its predicate written) and its subtree. */
static void
subtree(TreeCtx *c, int i, xmlNodePtr node)
{
	const MlTreeNode *n = &c->tree->nodes[i];
	xmlNodePtr	left,
				right;

	check_stack_depth();
	if (n->feature < 0)
	{
		leaf(c, n, node);
		return;
	}
	MlPmmlAttrInt(node, "defaultChild", n->missing_left ? n->left : n->right);
	left = new_node(node, n->left);
	right = new_node(node, n->right);
	split_predicates(c, n, left, right);
	subtree(c, n->left, left);
	subtree(c, n->right, right);
}

static xmlNodePtr
segment(xmlNodePtr segmentation, int id)
{
	xmlNodePtr	s = MlPmmlChild(segmentation, "Segment");

	MlPmmlAttrInt(s, "id", id);
	MlPmmlChild(s, "True");
	return s;
}

static void
tree_model(MlPmml *x, const MlTree *t, int nout, bool classify, bool with_target,
		   xmlNodePtr parent)
{
	xmlNodePtr	tm = MlPmmlChild(parent, "TreeModel");
	TreeCtx		c = {x, t, nout, classify};
	xmlNodePtr	root;

	MlPmmlAttr(tm, "functionName", classify ? "classification" : "regression");
	MlPmmlAttr(tm, "missingValueStrategy", "defaultChild");
	MlPmmlAttr(tm, "noTrueChildStrategy", "returnNullPrediction");
	MlPmmlAttr(tm, "splitCharacteristic", "binarySplit");
	MlPmmlMiningSchema(x, tm, with_target);
	root = new_node(tm, 0);
	MlPmmlChild(root, "True");
	subtree(&c, 0, root);
}

static xmlNodePtr
mining_model(MlPmml *x, xmlNodePtr parent, bool classify, bool with_target)
{
	xmlNodePtr	mm = MlPmmlChild(parent, "MiningModel");

	MlPmmlAttr(mm, "functionName", classify ? "classification" : "regression");
	MlPmmlAttr(mm, "algorithmName", x->t->learner->name);
	MlPmmlMiningSchema(x, mm, with_target);
	return mm;
}

static xmlNodePtr
segmentation(xmlNodePtr model, const char *method)
{
	xmlNodePtr	s = MlPmmlChild(model, "Segmentation");

	MlPmmlAttr(s, "multipleModelMethod", method);
	return s;
}

/* A forest: the average of its trees (values or class proportions). */
static void
forest(MlPmml *x, const MlModelView *v, xmlNodePtr parent)
{
	bool		classify = is_classifier(x);
	xmlNodePtr	mm = mining_model(x, parent, classify, true);
	xmlNodePtr	seg;

	if (classify)
		probability_output(x, mm);
	seg = segmentation(mm, "average");
	for (int t = 0; t < v->ntrees; t++)
	{
		CHECK_FOR_INTERRUPTS();
		tree_model(x, v->trees[t], v->nout, classify, true, segment(seg, t + 1));
	}
}

/* The raw score of class k: the sum of its trees, as an output field. */
static void
boosted_sum(MlPmml *x, const MlModelView *v, int k, const char *score, xmlNodePtr parent)
{
	xmlNodePtr	mm = mining_model(x, parent, false, false);
	xmlNodePtr	f = MlPmmlChild(MlPmmlChild(mm, "Output"), "OutputField");
	xmlNodePtr	seg;

	MlPmmlAttr(f, "name", score);
	MlPmmlAttr(f, "optype", "continuous");
	MlPmmlAttr(f, "dataType", "double");
	MlPmmlAttr(f, "feature", "predictedValue");
	MlPmmlAttr(f, "isFinalResult", "false");
	seg = segmentation(mm, "sum");
	for (int t = k; t < v->ntrees; t += v->per_round)
	{
		CHECK_FOR_INTERRUPTS();
		tree_model(x, v->trees[t], 1, false, false, segment(seg, t / v->per_round + 1));
	}
}

/*
 * Boosting. Regression: init + the sum of the trees (Target
 * rescaleConstant). Classification: a model chain of one sum per class,
 * then a RegressionModel adding init and applying the logit (two classes:
 * the score is the second class's) or the softmax.
 */
static void
boosted(MlPmml *x, const MlModelView *v, xmlNodePtr parent)
{
	bool		classify = is_classifier(x);
	xmlNodePtr	mm = mining_model(x, parent, classify, true);
	xmlNodePtr	seg,
				rm,
				ms;
	char	  **score;
	char	  **classes = x->t->classes;

	if (!classify)
	{
		xmlNodePtr	target = MlPmmlChild(MlPmmlChild(mm, "Targets"), "Target");

		MlPmmlAttr(target, "field", x->target);
		MlPmmlAttrNum(target, "rescaleConstant", v->init[0]);
		seg = segmentation(mm, "sum");
		for (int t = 0; t < v->ntrees; t++)
		{
			CHECK_FOR_INTERRUPTS();
			tree_model(x, v->trees[t], 1, false, true, segment(seg, t + 1));
		}
		return;
	}
	probability_output(x, mm);
	seg = segmentation(mm, "modelChain");
	score = palloc(sizeof(char *) * v->per_round);
	for (int k = 0; k < v->per_round; k++)
	{
		score[k] = MlPmmlScoreName(x, k, v->per_round);
		boosted_sum(x, v, k, score[k], segment(seg, k + 1));
	}
	rm = MlPmmlChild(segment(seg, v->per_round + 1), "RegressionModel");
	MlPmmlAttr(rm, "functionName", "classification");
	MlPmmlAttr(rm, "normalizationMethod", v->per_round == 1 ? "logit" : "softmax");
	ms = MlPmmlChild(rm, "MiningSchema");
	{
		xmlNodePtr	f = MlPmmlChild(ms, "MiningField");

		MlPmmlAttr(f, "name", x->target);
		MlPmmlAttr(f, "usageType", "target");
	}
	for (int k = 0; k < v->per_round; k++)
		MlPmmlAttr(MlPmmlChild(ms, "MiningField"), "name", score[k]);
	for (int k = 0; k < v->per_round; k++)
	{
		xmlNodePtr	rt = regression_table(rm, v->init[k],
										  v->per_round == 1 ? classes[1] : classes[k]);

		numeric_predictor(rt, score[k], 1.0);
	}
	if (v->per_round == 1)
		regression_table(rm, 0, classes[0]);
}

void
MlPmmlTrees(MlPmml *x, const MlModelView *v, xmlNodePtr parent)
{
	if (v->form == ML_FORM_FOREST)
		forest(x, v, parent);
	else
		boosted(x, v, parent);
}
