/*
 * impute_model.c
 *	  Predicting with a fitted imputation model, describing it, and writing
 *	  it out as JSON for the recipe catalog.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/json.h"

#include "clean/impute.h"
#include "core/options.h"
#include "core/linalg.h"

#define KNN_BLOCK 256
/*
 * Cells of each work array of predict_knn at most: a block of 256 query
 * rows took 256 x 3 x width doubles (600 MB on 100,000 one-hot inputs), and
 * 256 x reference rows (a recipe's, any number) beyond palloc's 1 GB; such
 * models take fewer rows a block.
 */
#define KNN_WORK_CELLS 4000000
#define PREDICT_BLOCK 256

static void
predict_group(MlFrame *frame, MlModel *m, int64 row, double *value, int32 *level)
{
	MlGroupLookup(m, MlKeyCode(frame, &m->keys[0], row),
				  m->nkeys == 2 ? MlKeyCode(frame, &m->keys[1], row) : -1, value, level);
}

/*
 * A regression's predictions: the features built a block of rows at a
 * time, each prediction the sum over them in order.
 */
static void
predict_regression_rows(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
						double *values, int32 *levels)
{
	int			w = m->feat->width;
	/* no more than the rows asked: a replayed row's chain predicts one row per round */
	double	   *X = palloc(sizeof(double) * Min(PREDICT_BLOCK, Max(n, 1)) * w);

	for (int64 b = 0; b < n; b += PREDICT_BLOCK)
	{
		int			nb = (int) Min(PREDICT_BLOCK, n - b);

		MlFeatureBlock(frame, m->feat, rows + b, nb, 1.0, X);
		for (int i = 0; i < nb; i++)
		{
			const double *x = X + (int64) i * w;
			double		s = 0;

			for (int j = 0; j < w; j++)
				s += x[j] * m->beta[j];
			values[b + i] = s;
			levels[b + i] = m->fill_level;
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(X);
}

/*
 * Indices of the k smallest of d[0..n) (k is small: insertion); a NaN
 * distance (no cell in common) is no neighbour.
 */
static int
k_nearest(const double *d, int n, int k, int *best)
{
	int			nb = 0;

	for (int i = 0; i < n; i++)
	{
		int			j;

		if (isnan(d[i]) || (nb == k && d[i] >= d[best[nb - 1]]))
			continue;
		j = nb < k ? nb++ : nb - 1;
		while (j > 0 && d[best[j - 1]] > d[i])
		{
			best[j] = best[j - 1];
			j--;
		}
		best[j] = i;
	}
	return nb;
}

/*
 * The reference rows as the distances need them. Without a missing cell,
 * the squared distance is |q|^2 + |r|^2 - 2 q.r, and |q|^2 is the same for
 * every reference row, so one dgemm (q.r) ranks them. With missing cells
 * (NaN) the distance is nan-Euclidean, as scikit-learn's KNNImputer
 * measures it: the squared differences over the cells both rows have,
 * scaled by all cells over those, i.e. for presence masks P and the rows
 * with NaN as 0,
 *	 S = q^2.Pr + Pq.r^2 - 2 q.r,  C = Pq.Pr,  d = S * width / C,
 * which is one dgemm of [q | q^2 | Pq] against [-2r | Pr | r^2] and one
 * of Pq against Pr.
 */
typedef struct KnnRefs
{
	int			w;
	bool		masked;			/* some reference cell is missing */
	double	   *rnorm;			/* unmasked: |r|^2 */
	double	   *B;				/* masked form, nref x 3w (knn_masked_refs) */
} KnnRefs;

static void
knn_refs(MlModel *m, KnnRefs *kr)
{
	int			w = m->feat->width;
	int64		cells = (int64) m->nref * w;

	kr->w = w;
	kr->masked = false;
	for (int64 i = 0; i < cells && !kr->masked; i++)
		kr->masked = isnan(m->ref[i]);
	kr->rnorm = palloc(sizeof(double) * m->nref);
	kr->B = NULL;
	for (int r = 0; r < m->nref; r++)
	{
		const double *x = m->ref + (int64) r * w;
		double		s = 0;

		for (int j = 0; j < w; j++)
			s += isnan(x[j]) ? 0 : x[j] * x[j];
		kr->rnorm[r] = s;
	}
}

/*
 * The reference rows in the masked form, [-2r | Pr | r^2], built the first
 * time a block needs it (reference or query cells missing).
 */
static void
knn_masked_refs(MlModel *m, KnnRefs *kr)
{
	int			w = kr->w;

	kr->B = palloc(sizeof(double) * m->nref * 3 * (int64) w);
	for (int r = 0; r < m->nref; r++)
	{
		const double *x = m->ref + (int64) r * w;
		double	   *b = kr->B + (int64) r * 3 * w;

		for (int j = 0; j < w; j++)
		{
			double		v = isnan(x[j]) ? 0 : x[j];

			b[j] = -2 * v;
			b[w + j] = (isnan(x[j]) || j == 0) ? 0 : 1;
			b[2 * w + j] = v * v;
		}
	}
}

/*
 * Squared distances of the nb query rows q (NaN where missing) to every
 * reference row, by row in d (nb x nref); A and C are work space of nb x 3w
 * and nb x nref.
 */
static void
knn_distances(MlModel *m, KnnRefs *kr, double *q, int nb, double *A, double *C, double *d)
{
	int			w = kr->w;
	int			nref = m->nref;
	bool		masked = kr->masked;

	for (int64 i = 0; i < (int64) nb * w && !masked; i++)
		masked = isnan(q[i]);
	if (!masked)
	{
		MlLinalgCrossProduct(q, nb, m->ref, nref, w, d);
		for (int i = 0; i < nb; i++)
			for (int r = 0; r < nref; r++)
				d[(int64) i * nref + r] = kr->rnorm[r] - 2 * d[(int64) i * nref + r];
		return;
	}
	if (kr->B == NULL)
		knn_masked_refs(m, kr);
	for (int i = 0; i < nb; i++)
		for (int j = 0; j < w; j++)
		{
			double		v = q[(int64) i * w + j];
			double	   *a = A + (int64) i * 3 * w;

			a[j] = isnan(v) ? 0 : v;
			a[w + j] = isnan(v) ? 0 : v * v;
			a[2 * w + j] = (isnan(v) || j == 0) ? 0 : 1;
		}
	MlLinalgCrossProduct(A, nb, kr->B, nref, 3 * w, d);
	MlLinalgGemm(false, true, nb, nref, w, 1.0, A + 2 * w, 3 * w, kr->B + w, 3 * w, 0.0, C, nref);
	for (int64 i = 0; i < (int64) nb * nref; i++)
	{
		/*
		 * NaN only where no cell is shared: Max() would take a NaN sum for 0,
		 * the nearest of all (inputs are kept finite for that: MlKnnInput)
		 */
		if (!(C[i] > 0.5))
			d[i] = NAN;
		else if (isnan(d[i]))
			d[i] = INFINITY;
		else
			d[i] = Max(d[i], 0) * (w - 1) / C[i];
	}
}

/* KNN in blocks of query rows, their distances from knn_distances. */
static void
predict_knn(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
			double *values, int32 *levels)
{
	int			w = m->feat->width;
	int			block = (int) Max(1, Min(KNN_BLOCK, KNN_WORK_CELLS / Max(3 * (int64) w, m->nref)));
	double	   *q = palloc(sizeof(double) * block * w);
	double	   *A = palloc(sizeof(double) * block * 3 * w);
	double	   *C = palloc(sizeof(double) * block * m->nref);
	double	   *dist = palloc(sizeof(double) * block * m->nref);
	int		   *best = palloc(sizeof(int) * m->k);
	int			T = m->discrete ? m->ntlevels : 1;
	double	   *votes = palloc0(sizeof(double) * Max(T, 1));
	KnnRefs		kr;

	knn_refs(m, &kr);
	for (int64 b = 0; b < n; b += block)
	{
		int			nb = (int) Min(block, n - b);

		MlFeatureBlock(frame, m->feat, rows + b, nb, M_SQRT1_2, q);
		if (m->knn_nan)
			MlFeatureMarkMissing(frame, m->feat, rows + b, nb, q);
		for (int i = 0; i < nb; i++)
		{
			q[(int64) i * w] = 0;
			for (int j = 1; j < w; j++)
				q[(int64) i * w + j] = MlKnnInput(q[(int64) i * w + j]);
		}
		knn_distances(m, &kr, q, nb, A, C, dist);
		for (int i = 0; i < nb; i++)
		{
			int			found;
			double		s = 0;

			found = k_nearest(dist + (int64) i * m->nref, m->nref, m->k, best);
			if (found == 0)
			{
				values[b + i] = m->fill;
				levels[b + i] = m->fill_level;
				continue;
			}
			if (!m->discrete)
			{
				for (int j = 0; j < found; j++)
					s += m->refy[best[j]];
				/* donors near the double range: their sum overflowed, the fill was lost */
				if (!isfinite(s))
				{
					s = 0;
					for (int j = 0; j < found; j++)
						s += m->refy[best[j]] / found;
					found = 1;
				}
				values[b + i] = s / found;
				levels[b + i] = -1;
				continue;
			}
			memset(votes, 0, sizeof(double) * T);
			levels[b + i] = (int32) m->refy[best[0]];
			for (int j = 0; j < found; j++)
			{
				int			t = (int) m->refy[best[j]];

				votes[t] += 1;
				if (votes[t] > votes[levels[b + i]])
					levels[b + i] = t;
			}
			values[b + i] = NAN;
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(q);
	pfree(A);
	pfree(C);
	pfree(dist);
	pfree(best);
	pfree(votes);
	pfree(kr.rnorm);
	if (kr.B)
		pfree(kr.B);
}

/*
 * Predict the target for the given rows: values[] for numeric targets,
 * levels[] (codes of the target column) for discrete ones.
 */
void
MlModelPredictRows(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
				   double *values, int32 *levels)
{

	if (m->method == ML_METHOD_KNN)
	{
		predict_knn(frame, m, rows, n, values, levels);
		return;
	}
	if (m->method == ML_METHOD_LEARNED || m->method == ML_METHOD_CLASSIFIER)
	{
		MlNetPredict(frame, m, rows, n, values, levels);
		return;
	}
	if (m->method == ML_METHOD_REGRESSION || m->method == ML_METHOD_MICE)
	{
		predict_regression_rows(frame, m, rows, n, values, levels);
		return;
	}
	for (int64 i = 0; i < n; i++)
	{
		values[i] = m->fill;
		levels[i] = m->fill_level;
		switch (m->method)
		{
			case ML_METHOD_GROUPWISE:
				predict_group(frame, m, rows[i], &values[i], &levels[i]);
				break;
			default:
				break;
		}
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

static const char *const part_names[] = {
	"year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "weekend"
};

static char *
key_name(MlFrame *frame, MlKey *key)
{
	if (key->part < 0)
		return frame->cols[key->col].name;
	return psprintf("%s:%s", frame->cols[key->col].name, part_names[key->part]);
}

/* A short human description: "groupwise by market_id, created_at:hour". */
char *
MlModelDescribe(MlFrame *frame, MlModel *m)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, MlMethodName(m->method));
	if (m->method == ML_METHOD_GROUPWISE)
	{
		appendStringInfo(&s, " by %s", key_name(frame, &m->keys[0]));
		if (m->nkeys == 2)
			appendStringInfo(&s, ", %s", key_name(frame, &m->keys[1]));
	}
	else if (m->method == ML_METHOD_KNN)
		appendStringInfo(&s, " (k=%d,%s %d reference rows)", m->k,
						 m->knn_nan ? " nan-Euclidean," : "", m->nref);
	else if (m->method == ML_METHOD_LEARNED)
		appendStringInfo(&s, " (%d hidden units, %d inputs, %d text columns)", m->hidden,
						 m->feat->width - 1, m->ntext);
	else if (m->method == ML_METHOD_CHAIN || m->method == ML_METHOD_BLEND)
	{
		int			ncat;
		int			nnum = MlChainColumns(m, &ncat);

		appendStringInfoString(&s, m->method == ML_METHOD_BLEND ? " of chain (" : " (");
		appendStringInfo(&s, "%d columns", nnum);
		if (ncat > 0)
			appendStringInfo(&s, " and %d %s", ncat, ncat == 1 ? "category" : "categories");
		appendStringInfo(&s, ", %d rounds)", m->rounds);
		if (m->method == ML_METHOD_BLEND)
			appendStringInfo(&s, " and %s", MlModelDescribe(frame, m->member));
	}
	else if (m->method == ML_METHOD_FOREST)
		return MlForestDescribe(m);
	else if (m->method == ML_METHOD_CLASSIFIER)
		appendStringInfo(&s, " (multinomial, %d classes, %d inputs)", m->nout, m->feat->width - 1);
	else if (m->feat)
		appendStringInfo(&s, " on %d inputs", m->feat->width - 1);
	return s.data;
}

static void
json_number(StringInfo out, double v)
{
	MlJsonNumber(out, v);
}

/* Text of a level of a coded column, as stored in the recipe. */
static void
json_level(StringInfo out, MlColumn *col, int32 level)
{
	if (level < 0)
		appendStringInfoString(out, "null");
	else if (col->level_text)
		escape_json(out, col->level_text[level]);
	else
		json_number(out, col->level_value[level]);
}

static void
json_key(StringInfo out, MlFrame *frame, MlKey *key)
{
	MlColumn   *col = &frame->cols[key->col];

	appendStringInfoString(out, "{\"column\": ");
	escape_json(out, col->name);
	if (key->part >= 0)
		appendStringInfo(out, ", \"part\": \"%s\"", part_names[key->part]);
	else
	{
		appendStringInfoString(out, ", \"levels\": [");
		for (int l = 0; l < col->nlevels; l++)
		{
			if (l)
				appendStringInfoString(out, ", ");
			json_level(out, col, l);
		}
		appendStringInfoChar(out, ']');
	}
	appendStringInfoChar(out, '}');
}

/* A level of the model's target, as text or number. */
static void
json_tlevel(StringInfo out, MlModel *m, int32 level)
{
	if (level < 0 || level >= m->ntlevels)
		appendStringInfoString(out, "null");
	else if (m->tlevel_text)
		escape_json(out, m->tlevel_text[level]);
	else
		json_number(out, m->tlevel_value[level]);
}

static void
json_values(StringInfo out, MlModel *m, const double *v, const int32 *l, int64 n)
{
	appendStringInfoChar(out, '[');
	for (int64 i = 0; i < n; i++)
	{
		if (i)
			appendStringInfoString(out, ", ");
		if (m->discrete)
			json_tlevel(out, m, l[i]);
		else
			json_number(out, v[i]);
	}
	appendStringInfoChar(out, ']');
}

/* The fitted model as a JSON object: everything needed to apply it again. */
void
MlModelToJson(MlFrame *frame, MlModel *m, StringInfo out)
{
	MlColumn   *target = &frame->cols[m->target];

	appendStringInfoString(out, "{\"column\": ");
	escape_json(out, target->name);
	MlRecipeWriteType(out, target);
	appendStringInfo(out, ", \"method\": \"%s\", \"discrete\": %s, \"fill\": ",
					 MlMethodName(m->method), m->discrete ? "true" : "false");
	if (m->discrete)
		json_tlevel(out, m, m->fill_level);
	else
		json_number(out, m->fill);
	if (m->constant_text)
	{
		/* the constant as its type reads it, replayed the same way */
		appendStringInfoString(out, ", \"value\": ");
		escape_json(out, m->constant_text);
	}
	appendStringInfo(out, ", \"metric\": \"%s\", \"error\": ", m->metric ? m->metric : "none");
	json_number(out, m->error);
	if (m->method == ML_METHOD_GROUPWISE)
	{
		int			L2 = m->nkeys == 2 ? m->keys[1].nlevels : 1;

		appendStringInfoString(out, ", \"keys\": [");
		for (int i = 0; i < m->nkeys; i++)
		{
			if (i)
				appendStringInfoString(out, ", ");
			json_key(out, frame, &m->keys[i]);
		}
		appendStringInfoString(out, "], \"parent\": ");
		json_values(out, m, m->pval, m->plvl, m->keys[0].nlevels);
		if (m->nkeys == 2)
		{
			appendStringInfoString(out, ", \"groups\": ");
			json_values(out, m, m->gval, m->glvl, (int64) m->keys[0].nlevels * L2);
		}
	}
	if (m->feat)
	{
		MlFeatures *f = m->feat;

		appendStringInfoString(out, ", \"numeric\": [");
		for (int j = 0; j < f->nnum; j++)
		{
			appendStringInfo(out, "%s{\"column\": ", j ? ", " : "");
			escape_json(out, frame->cols[f->numcol[j]].name);
			appendStringInfoString(out, ", \"mean\": ");
			MlJsonNumber(out, f->mean[j]);
			appendStringInfoString(out, ", \"sd\": ");
			MlJsonNumber(out, f->sd[j]);
			appendStringInfoChar(out, '}');
		}
		appendStringInfoString(out, "], \"onehot\": [");
		for (int j = 0; j < f->nkey; j++)
		{
			if (j)
				appendStringInfoString(out, ", ");
			json_key(out, frame, &f->keys[j]);
		}
		appendStringInfoChar(out, ']');
	}
	if (m->beta)
	{
		appendStringInfoString(out, ", \"coefficients\": [");
		for (int j = 0; j < m->feat->width; j++)
		{
			if (j)
				appendStringInfoString(out, ", ");
			json_number(out, m->beta[j]);
		}
		appendStringInfoChar(out, ']');
	}
	if (m->round_beta)
	{
		/* a chain member: its coefficients of every round, replayed in turn */
		appendStringInfoString(out, ", \"round_coefficients\": [");
		for (int64 j = 0; j < (int64) m->nround_beta * m->feat->width; j++)
		{
			if (j)
				appendStringInfoString(out, ", ");
			json_number(out, m->round_beta[j]);
		}
		appendStringInfoChar(out, ']');
	}
	if (m->indicator)
	{
		/*
		 * a chain member of a categorical column: the indicator of one of its
		 * levels, by position in the level list it was fitted with (that of
		 * the column's one-hot inputs of the other members)
		 */
		MlColumn   *col = &frame->cols[m->ind_key.col];

		appendStringInfo(out, ", \"level\": %d, \"levels\": [", m->ind_level);
		for (int l = 0; l < m->ind_key.nlevels; l++)
		{
			if (l)
				appendStringInfoString(out, ", ");
			json_level(out, col, l);
		}
		appendStringInfoChar(out, ']');
	}
	if (m->method == ML_METHOD_LEARNED || m->method == ML_METHOD_CLASSIFIER)
		MlNetToJson(frame, m, out);
	if (m->method == ML_METHOD_FOREST)
		MlForestToJson(frame, m, out);
	if (m->method == ML_METHOD_CHAIN || m->method == ML_METHOD_BLEND)
	{
		/* every member travels with each column: a step replays on its own */
		appendStringInfo(out, ", \"rounds\": %d, \"chain\": [", m->rounds);
		for (int i = 0; i < m->nchain; i++)
		{
			if (i)
				appendStringInfoString(out, ", ");
			MlModelToJson(frame, m->chain[i], out);
		}
		appendStringInfoChar(out, ']');
	}
	if (m->method == ML_METHOD_BLEND)
	{
		/* the column's own model, whose fills are averaged with the chain's */
		appendStringInfoString(out, ", \"weight\": ");
		MlJsonNumber(out, m->blend_weight);
		appendStringInfoString(out, ", \"member\": ");
		MlModelToJson(frame, m->member, out);
	}
	if (m->method == ML_METHOD_KNN)
	{
		/* the reference rows travel with the recipe: KNN has no other state */
		if (m->knn_nan)
			appendStringInfoString(out, ", \"nan_distance\": true");
		appendStringInfo(out, ", \"k\": %d, \"reference_rows\": %d, \"reference\": [", m->k, m->nref);
		for (int64 i = 0; i < (int64) m->nref * m->feat->width; i++)
		{
			if (i)
				appendStringInfoString(out, ", ");
			json_number(out, m->ref[i]);
		}
		appendStringInfoString(out, "], \"reference_y\": [");
		for (int i = 0; i < m->nref; i++)
		{
			if (i)
				appendStringInfoString(out, ", ");
			if (m->discrete)
				json_tlevel(out, m, (int32) m->refy[i]);
			else
				json_number(out, m->refy[i]);
		}
		appendStringInfoChar(out, ']');
	}
	appendStringInfoChar(out, '}');
}
