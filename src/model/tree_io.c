/*
 * tree_io.c
 *	  Fitted trees saved into and loaded from model payloads, with the head
 *	  and the gain importances both tree learners' payloads share.
 *
 * A payload is read trusting nothing: every count, index and flag is
 * checked against the bytes left and the version's shape, so a damaged
 * payload is an error, never a crash or a walk that does not end.
 */
#include "postgres.h"

#include <math.h>

#include "model/trees.h"

#define NODE_BYTES 28			/* feature, left, right, aux, flags, threshold */

void
MlTreeWrite(const MlTree *t, int nout, StringInfo buf)
{
	MlWriteInt32(buf, t->nnodes);
	MlWriteInt32(buf, t->nleaves);
	MlWriteInt32(buf, t->nsets);
	for (int i = 0; i < t->nnodes; i++)
	{
		const MlTreeNode *n = &t->nodes[i];

		MlWriteInt32(buf, n->feature);
		MlWriteInt32(buf, n->left);
		MlWriteInt32(buf, n->right);
		MlWriteInt32(buf, n->aux);
		MlWriteInt32(buf, (n->missing_left ? 1 : 0) | (n->categorical ? 2 : 0));
		MlWriteFloat8(buf, n->threshold);
	}
	MlWriteFloat8s(buf, t->values, (int64) t->nleaves * nout);
	for (int i = 0; i < t->nsets * 4; i++)
		MlWriteInt64(buf, (int64) t->sets[i]);
}

/*
 * Read a tree written by MlTreeWrite, trusting nothing: counts bounded by
 * the bytes left, features inside the shape, categorical flags matching it,
 * children after their parent and each node the child of one parent only
 * (so scoring always ends at a leaf), leaves numbered once, values finite.
 */
MlTree *
MlTreeRead(MlReader *r, int nout, const MlDesign *shape)
{
	MlTree	   *t = palloc0(sizeof(MlTree));
	int			left = r->len - r->pos;
	bool	   *seen;
	bool	   *leaf_seen;

	t->nnodes = MlReadInt32(r, 1, Max(1, left / NODE_BYTES));
	t->nleaves = MlReadInt32(r, 1, t->nnodes);
	t->nsets = MlReadInt32(r, 0, t->nnodes);
	t->nodes = palloc_extended(sizeof(MlTreeNode) * t->nnodes, MCXT_ALLOC_HUGE);
	seen = palloc0(sizeof(bool) * t->nnodes);
	leaf_seen = palloc0(sizeof(bool) * t->nleaves);
	for (int i = 0; i < t->nnodes; i++)
	{
		MlTreeNode *n = &t->nodes[i];
		int32		flags;

		n->feature = MlReadInt32(r, -1, shape->nfeat - 1);
		n->left = MlReadInt32(r, -1, t->nnodes - 1);
		n->right = MlReadInt32(r, -1, t->nnodes - 1);
		n->aux = MlReadInt32(r, 0, t->nnodes);
		flags = MlReadInt32(r, 0, 3);
		n->missing_left = (flags & 1) != 0;
		n->categorical = (flags & 2) != 0;
		n->threshold = MlReadFloat8(r);
		if (n->feature < 0)
		{
			if (n->left != -1 || n->right != -1 || flags != 0 || n->aux >= t->nleaves)
				MlPayloadInvalid(r, psprintf("leaf %d of a tree is malformed", i));
			if (leaf_seen[n->aux])
				MlPayloadInvalid(r, psprintf("leaf value %d is used twice", n->aux));
			leaf_seen[n->aux] = true;
			continue;
		}
		if (n->left <= i || n->right <= i || n->left == n->right)
			MlPayloadInvalid(r, psprintf("node %d of a tree has children that are not after it", i));
		if (seen[n->left] || seen[n->right])
			MlPayloadInvalid(r, psprintf("a node below node %d has two parents", i));
		seen[n->left] = seen[n->right] = true;
		if (n->categorical != (shape->categorical && shape->categorical[n->feature]))
			MlPayloadInvalid(r, psprintf("node %d splits feature %d of the wrong kind", i, n->feature));
		if (n->categorical ? n->aux >= t->nsets : (isnan(n->threshold) || n->aux != 0))
			MlPayloadInvalid(r, psprintf("node %d of a tree has an invalid split", i));
	}
	for (int i = 1; i < t->nnodes; i++)
		if (!seen[i])
			MlPayloadInvalid(r, psprintf("node %d of a tree is not reached", i));
	for (int l = 0; l < t->nleaves; l++)
		if (!leaf_seen[l])
			MlPayloadInvalid(r, psprintf("leaf value %d is not used", l));
	if ((int64) t->nleaves * nout > (r->len - r->pos) / 8)
		MlPayloadInvalid(r, "it ends too early");
	t->values = palloc_extended(sizeof(double) * t->nleaves * nout, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < (int64) t->nleaves * nout; i++)
		t->values[i] = MlReadFiniteFloat8(r);
	if ((int64) t->nsets * 32 > r->len - r->pos)
		MlPayloadInvalid(r, "it ends too early");
	t->sets = palloc0(sizeof(uint64) * 4 * Max(t->nsets, 1));
	for (int i = 0; i < t->nsets * 4; i++)
		t->sets[i] = (uint64) MlReadInt64(r, PG_INT64_MIN, PG_INT64_MAX);
	pfree(seen);
	pfree(leaf_seen);
	return t;
}

/*
 * The head both tree learners' payloads start with: magic, format, task,
 * class count and feature count, each checked against the version the
 * payload belongs to.
 */
void
MlTreesWriteHead(StringInfo buf, int32 magic, int32 format, MlTask task, int nclass, int nfeat)
{
	MlWriteInt32(buf, magic);
	MlWriteInt32(buf, format);
	MlWriteInt32(buf, (int32) task);
	MlWriteInt32(buf, nclass);
	MlWriteInt32(buf, nfeat);
}

void
MlTreesReadHead(MlReader *r, const MlDesign *shape, int32 magic, int32 format, const char *name,
				MlTask *task, int *nclass, int *nfeat)
{
	if (MlReadInt32(r, PG_INT32_MIN, PG_INT32_MAX) != magic)
		MlPayloadInvalid(r, psprintf("it is not a %s model", name));
	(void) MlReadInt32(r, format, format);
	*task = (MlTask) MlReadInt32(r, ML_TASK_REGRESSION, ML_TASK_MULTICLASS);
	if (*task != shape->task)
		MlPayloadInvalid(r, "its task is not the version's");
	*nclass = MlReadInt32(r, 0, 255);
	if (*task == ML_TASK_REGRESSION ? *nclass != 0 :
		(*nclass != shape->nclass || *nclass < 2 ||
		 (*task == ML_TASK_BINARY) != (*nclass == 2)))
		MlPayloadInvalid(r, "its class count is not the version's");
	*nfeat = MlReadInt32(r, shape->nfeat, shape->nfeat);
}

/* Gain importance per feature: finite and at least 0. */
double *
MlTreesReadGain(MlReader *r, int nfeat)
{
	double	   *gain = palloc(sizeof(double) * Max(nfeat, 1));

	for (int j = 0; j < nfeat; j++)
	{
		gain[j] = MlReadFiniteFloat8(r);
		if (gain[j] < 0)
			MlPayloadInvalid(r, "a feature's gain is negative");
	}
	return gain;
}

/*
 * Split gains normalized to sum 1, always finite (the payload stores only
 * finite numbers): a gain that overflowed on extreme targets counts as an
 * equal share of the whole among the features whose gain did.
 */
void
MlTreesNormalizeGain(double *gain, int n)
{
	double		total = 0;
	int			ninf = 0;

	for (int j = 0; j < n; j++)
	{
		if (!(gain[j] >= 0))
			gain[j] = 0;		/* NaN */
		if (isinf(gain[j]))
			ninf++;
		total += gain[j];
	}
	if (ninf > 0)
	{
		for (int j = 0; j < n; j++)
			gain[j] = isinf(gain[j]) ? 1.0 / ninf : 0;
		return;
	}
	if (isinf(total))
	{
		/* finite gains whose sum overflows: scale by the largest first */
		double		mx = 0;

		for (int j = 0; j < n; j++)
			mx = Max(mx, gain[j]);
		total = 0;
		for (int j = 0; j < n; j++)
			total += (gain[j] /= mx);
	}
	if (total > 0)
		for (int j = 0; j < n; j++)
			gain[j] /= total;
}
