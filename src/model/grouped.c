/*
 * grouped.c
 *	  A many-models version (ml_train_groups): its payload and the routing
 *	  of every scored row to its group's model.
 *
 * The payload: magic, format, task, classes, the raw top-level encoder,
 * the key count, the groups' keys, then each group's model as a whole
 * ordinary payload (stored.c reads and validates it), and the global
 * fallback model if there is one. Reading checks that every group model
 * has the task, the classes and the feature inputs of the top level, and
 * that the keys ascend, so routing by binary search is sound.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "utils/memutils.h"

#include "model/stored.h"

/* Keys in ascending order; NULL (NaN) after every value, equal to itself. */
int
MlGroupedKeyCmp(const double *a, const double *b, int n)
{
	for (int k = 0; k < n; k++)
	{
		bool		na = isnan(a[k]),
					nb = isnan(b[k]);

		if (na != nb)
			return na ? 1 : -1;
		if (!na && a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	}
	return 0;
}

static void
write_model(StringInfo buf, MlTrained *m)
{
	bytea	   *b = MlTrainedSave(m);

	MlWriteInt32(buf, (int32) VARSIZE_ANY_EXHDR(b));
	appendBinaryStringInfo(buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	pfree(b);
}

bytea *
MlGroupedSave(MlTrained *t)
{
	MlGrouped  *g = t->groups;
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, ML_GROUPED_MAGIC, 8);
	MlWriteInt32(&buf, ML_GROUPED_FORMAT);
	MlWriteInt32(&buf, t->task);
	MlWriteInt32(&buf, t->nclass);
	for (int c = 0; c < t->nclass; c++)
		MlWriteString(&buf, t->classes[c]);
	MlEncoderSave(t->enc, &buf);
	MlWriteInt32(&buf, g->ngk);
	MlWriteInt32(&buf, g->ngroups);
	MlWriteFloat8s(&buf, g->keys, (int64) g->ngroups * g->ngk);
	for (int i = 0; i < g->ngroups; i++)
		write_model(&buf, g->models[i]);
	MlWriteInt32(&buf, g->global != NULL);
	if (g->global)
		write_model(&buf, g->global);
	return MlPayloadBytea(&buf);
}

/* A group model must read the top level's feature inputs, as they are. */
static void
check_model(MlReader *r, MlTrained *t, MlTrained *m)
{
	MlEncoder  *top = t->enc;
	MlEncoder  *e = m->enc;

	if (m->groups != NULL || m->task != t->task || m->nclass != t->nclass)
		MlPayloadInvalid(r, "a group model does not predict what the version predicts");
	for (int c = 0; c < t->nclass; c++)
		if (strcmp(m->classes[c], t->classes[c]) != 0)
			MlPayloadInvalid(r, "a group model has other classes");
	if (e->ninputs != top->ninputs - t->groups->ngk)
		MlPayloadInvalid(r, "a group model reads other columns");
	for (int i = 0; i < e->ninputs; i++)
	{
		MlInput    *a = &e->inputs[i],
				   *b = &top->inputs[i];

		if (strcmp(a->name, b->name) != 0 || a->kind != b->kind ||
			a->nlevels != b->nlevels || a->nraw != b->nraw || a->first_raw != b->first_raw)
			MlPayloadInvalid(r, "a group model reads other columns");
	}
}

static MlTrained *
read_model(MlReader *r, MlTrained *t)
{
	int32		len = MlReadInt32(r, 8, r->len - r->pos);
	bytea	   *b = palloc(VARHDRSZ + len);
	MlTrained  *m;

	memcpy(VARDATA(b), r->data + r->pos, len);
	SET_VARSIZE(b, VARHDRSZ + len);
	/* a group model is an ordinary one: never a nested grouped payload */
	if (memcmp(VARDATA(b), ML_PAYLOAD_MAGIC, 8) != 0)
		MlPayloadInvalid(r, "a group model does not start with the pg_mlops model header");
	r->pos += len;
	m = MlTrainedLoad(b, r->what);
	check_model(r, t, m);
	return m;
}

/* The key inputs: one raw feature each, a number or a level code. */
static void
check_keys(MlReader *r, MlTrained *t)
{
	MlGrouped  *g = t->groups;
	MlEncoder  *top = t->enc;

	for (int k = 0; k < g->ngk; k++)
	{
		MlInput    *in = &top->inputs[top->ninputs - g->ngk + k];

		if (in->kind == ML_INPUT_DATETIME || in->nraw != 1)
			MlPayloadInvalid(r, "a group key is not a number or a level");
		for (int i = 0; i < g->ngroups; i++)
		{
			double		v = g->keys[i * g->ngk + k];

			if (in->kind == ML_INPUT_CATEGORY && !isnan(v) &&
				(v < 0 || v >= in->nlevels || v != floor(v)))
				MlPayloadInvalid(r, "a group key is not one of its column's levels");
		}
	}
	for (int i = 1; i < g->ngroups; i++)
		if (MlGroupedKeyCmp(&g->keys[(i - 1) * g->ngk], &g->keys[i * g->ngk], g->ngk) >= 0)
			MlPayloadInvalid(r, "its group keys are not in ascending order");
}

/* After the magic: the rest of a grouped payload. */
MlTrained *
MlGroupedLoad(MlReader *r)
{
	MlTrained  *t = palloc0(sizeof(MlTrained));
	MlGrouped  *g = palloc0(sizeof(MlGrouped));
	int			max_class;

	t->groups = g;
	g->what = r->what;
	if (MlReadInt32(r, 0, PG_INT32_MAX) != ML_GROUPED_FORMAT)
		MlPayloadInvalid(r, psprintf("its grouped format is not %d, the one this library reads",
									 ML_GROUPED_FORMAT));
	t->task = (MlTask) MlReadInt32(r, ML_TASK_REGRESSION, ML_TASK_MULTICLASS);
	max_class = t->task == ML_TASK_REGRESSION ? 0 : t->task == ML_TASK_BINARY ? 2 : 100000;
	t->nclass = MlReadInt32(r, t->task == ML_TASK_REGRESSION ? 0 : 2, max_class);
	if (t->nclass > (r->len - r->pos) / 4)
		MlPayloadInvalid(r, "it ends too early");
	t->classes = palloc(sizeof(char *) * Max(t->nclass, 1));
	for (int c = 0; c < t->nclass; c++)
		t->classes[c] = MlReadString(r);
	t->enc = MlEncoderLoad(r);
	if (t->enc->dense)
		MlPayloadInvalid(r, "its top-level encoder is dense");
	g->ngk = MlReadInt32(r, 1, Min(t->enc->ninputs - 1, 32));
	g->nraw_feat = t->enc->inputs[t->enc->ninputs - g->ngk].first_raw;
	g->ngroups = MlReadInt32(r, 0, (r->len - r->pos) / (8 * g->ngk + 12));
	g->keys = palloc(sizeof(double) * Max(g->ngroups * g->ngk, 1));
	MlReadFloat8s(r, g->keys, (int64) g->ngroups * g->ngk);
	check_keys(r, t);
	g->models = palloc(sizeof(MlTrained *) * Max(g->ngroups, 1));
	for (int i = 0; i < g->ngroups; i++)
	{
		g->models[i] = read_model(r, t);
		CHECK_FOR_INTERRUPTS();
	}
	if (MlReadInt32(r, 0, 1))
		g->global = read_model(r, t);
	if (g->ngroups == 0 && g->global == NULL)
		MlPayloadInvalid(r, "it holds no model");
	t->learner = g->ngroups > 0 ? g->models[0]->learner : g->global->learner;
	t->numeric_classes = (g->ngroups > 0 ? g->models[0] : g->global)->numeric_classes;
	MlReadEnd(r);
	return t;
}

/* The group of row r of col, or -1 when the version has no model for it. */
static int
group_of(MlGrouped *g, double **col, int64 r)
{
	double		key[32];
	int			lo = 0,
				hi = g->ngroups - 1;

	for (int k = 0; k < g->ngk; k++)
	{
		key[k] = col[g->nraw_feat + k][r];
		if (MlIsUnseenLevel(key[k]))
			return -1;
	}
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = MlGroupedKeyCmp(key, &g->keys[mid * g->ngk], g->ngk);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

static void pg_attribute_noreturn()
unseen_group(MlTrained *t, double **col, int64 r)
{
	MlGrouped  *g = t->groups;
	StringInfoData names,
				vals;

	initStringInfo(&names);
	initStringInfo(&vals);
	for (int k = 0; k < g->ngk; k++)
	{
		MlInput    *in = &t->enc->inputs[t->enc->ninputs - g->ngk + k];
		double		v = col[g->nraw_feat + k][r];

		appendStringInfo(&names, "%s%s", k ? ", " : "", in->name);
		if (MlIsUnseenLevel(v))
			appendStringInfo(&vals, "%sa value never seen in training", k ? ", " : "");
		else if (isnan(v))
			appendStringInfo(&vals, "%sNULL", k ? ", " : "");
		else if (in->kind == ML_INPUT_CATEGORY)
			appendStringInfo(&vals, "%s%s", k ? ", " : "", in->levels[(int) v]);
		else
			appendStringInfo(&vals, "%s%.15g", k ? ", " : "", v);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s has no model for group (%s) = (%s)", g->what, names.data, vals.data),
			 errhint("Train with option \"fallback\" set to \"global\" to score unseen groups with a model of every row.")));
}

static MlTrained *
model_of(MlTrained *t, int gi, double **col, int64 r)
{
	if (gi >= 0)
		return t->groups->models[gi];
	if (t->groups->global == NULL)
		unseen_group(t, col, r);
	return t->groups->global;
}

/*
 * Score n rows of raw top-level features: each group's rows gathered into
 * one batch for its model (a single row, or rows of one group, go as they
 * are), the outputs scattered back.
 */
void
MlGroupedPredict(MlTrained *t, double **col, int64 n, double *out)
{
	MlGrouped  *g = t->groups;
	int			nout = MlTrainedOutputs(t);
	int		   *gid;
	bool		one = true;
	int			nmodels = g->ngroups + 1;	/* slot ngroups: the fallback */
	int64	   *count;

	if (n <= 0)
		return;
	gid = palloc(sizeof(int) * n);
	for (int64 r = 0; r < n; r++)
	{
		int			gi = group_of(g, col, r);

		(void) model_of(t, gi, col, r);	/* an unseen group without fallback: error */
		gid[r] = gi < 0 ? g->ngroups : gi;
		one &= gid[r] == gid[0];
	}
	if (one)
	{
		MlTrainedPredictRaw(gid[0] == g->ngroups ? g->global : g->models[gid[0]], col, n, out);
		pfree(gid);
		return;
	}
	count = palloc0(sizeof(int64) * nmodels);
	for (int64 r = 0; r < n; r++)
		count[gid[r]]++;
	for (int m = 0; m < nmodels; m++)
	{
		double	  **sub;
		double	   *subout;
		int64		k = 0;

		if (count[m] == 0)
			continue;
		sub = palloc(sizeof(double *) * Max(g->nraw_feat, 1));
		for (int f = 0; f < g->nraw_feat; f++)
			sub[f] = palloc(sizeof(double) * count[m]);
		subout = palloc(sizeof(double) * count[m] * nout);
		for (int64 r = 0; r < n; r++)
			if (gid[r] == m)
			{
				for (int f = 0; f < g->nraw_feat; f++)
					sub[f][k] = col[f][r];
				k++;
			}
		MlTrainedPredictRaw(m == g->ngroups ? g->global : g->models[m], sub, count[m], subout);
		k = 0;
		for (int64 r = 0; r < n; r++)
			if (gid[r] == m)
			{
				memcpy(&out[r * nout], &subout[k * nout], sizeof(double) * nout);
				k++;
			}
		for (int f = 0; f < g->nraw_feat; f++)
			pfree(sub[f]);
		pfree(sub);
		pfree(subout);
	}
	pfree(count);
	pfree(gid);
}
