/*
 * impute_nn.c
 *	  The learned imputer (in the spirit of Datawig) and the multinomial
 *	  classifier: a small neural network trained with BLAS.
 *
 * Inputs are the same features as regression and KNN (standardised numbers,
 * one-hot keys) plus free-text columns as hashed character trigrams (each
 * row's trigram counts in a fixed number of buckets, L2-normalised). One
 * ReLU hidden layer ("learned"), or none ("classifier": multinomial
 * logistic regression). Numeric targets are fitted standardised with
 * squared error, categorical ones with softmax cross-entropy; Adam on
 * mini-batches, every matrix product a dgemm.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/json.h"

#include "clean/impute.h"
#include "core/linalg.h"
#include "core/options.h"

#define BATCH		128
#define TEXT_BUCKETS 64
#define LR			0.01
#define L2			1e-4

static int
input_width(MlModel *m)
{
	return m->feat->width + m->ntext * m->buckets;
}

/* Hashed character trigrams of a text, L2-normalised, into out[0..buckets). */
static void
trigrams(const char *s, int buckets, double *out)
{
	int			len = strlen(s);
	double		norm = 0;

	memset(out, 0, sizeof(double) * buckets);
	for (int i = 0; i + 3 <= len; i++)
		out[hash_bytes((const unsigned char *) s + i, 3) % buckets] += 1;
	for (int b = 0; b < buckets; b++)
		norm += out[b] * out[b];
	if (norm > 0)
		for (int b = 0; b < buckets; b++)
			out[b] /= sqrt(norm);
}

static void
net_input(MlFrame *frame, MlModel *m, int64 row, double *x)
{
	MlFeatureRow(frame, m->feat, row, 1.0, x);
	for (int t = 0; t < m->ntext; t++)
	{
		MlColumn   *col = &frame->cols[m->textcols[t]];
		double	   *out = x + m->feat->width + t * m->buckets;

		if (col->isnull[row] || col->code == NULL || col->code[row] < 0 || col->level_text == NULL)
			memset(out, 0, sizeof(double) * m->buckets);
		else
			trigrams(col->level_text[col->code[row]], m->buckets, out);
	}
}

/* O (n x nout) = relu(X W1 + b1) W2 + b2, keeping H when asked. */
static void
forward(MlModel *m, const double *X, int n, double *H, double *O)
{
	int			D = input_width(m);
	const double *in = X;
	int			inw = D;

	if (m->hidden > 0)
	{
		for (int i = 0; i < n; i++)
			memcpy(H + (int64) i * m->hidden, m->b1, sizeof(double) * m->hidden);
		MlLinalgGemm(false, false, n, m->hidden, D, 1.0, X, D, m->w1, m->hidden, 1.0, H, m->hidden);
		for (int64 i = 0; i < (int64) n * m->hidden; i++)
			H[i] = H[i] > 0 ? H[i] : 0;
		in = H;
		inw = m->hidden;
	}
	for (int i = 0; i < n; i++)
		memcpy(O + (int64) i * m->nout, m->b2, sizeof(double) * m->nout);
	MlLinalgGemm(false, false, n, m->nout, inw, 1.0, in, inw, m->w2, m->nout, 1.0, O, m->nout);
}

static void
softmax_row(double *o, int k)
{
	double		mx = o[0],
				s = 0;

	for (int j = 1; j < k; j++)
		mx = Max(mx, o[j]);
	for (int j = 0; j < k; j++)
		s += (o[j] = exp(o[j] - mx));
	for (int j = 0; j < k; j++)
		o[j] /= s;
}

typedef struct Adam
{
	double	   *m;
	double	   *v;
} Adam;

static void
adam_step(double *w, const double *g, Adam *a, int64 len, int t, bool decay)
{
	double		c1 = 1 - pow(0.9, t),
				c2 = 1 - pow(0.999, t);

	for (int64 i = 0; i < len; i++)
	{
		double		gi = g[i] + (decay ? L2 * w[i] : 0);

		a->m[i] = 0.9 * a->m[i] + 0.1 * gi;
		a->v[i] = 0.999 * a->v[i] + 0.001 * gi * gi;
		w[i] -= LR * (a->m[i] / c1) / (sqrt(a->v[i] / c2) + 1e-8);
	}
}

static Adam
adam_new(int64 len)
{
	Adam		a;

	a.m = palloc0(sizeof(double) * Max(len, 1));
	a.v = palloc0(sizeof(double) * Max(len, 1));
	return a;
}

static double
gauss(pg_prng_state *rng)
{
	double		u = Max(pg_prng_double(rng), 1e-12),
				v = pg_prng_double(rng);

	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/*
 * Train on the given rows (observed target). For a discrete model the
 * target's level codes are the classes (m->ntlevels of them).
 */
void
MlNetFit(MlFrame *frame, MlModel *m, const int64 *rows, int64 n, MlFeatures *feat,
		 int *textcols, int ntext, int hidden, int epochs, uint64 seed)
{
	MlColumn   *col = &frame->cols[m->target];
	pg_prng_state rng;
	int			D,
				T,
				inw;
	double	   *X,
			   *Y,
			   *H,
			   *O,
			   *dO,
			   *dH,
			   *gw1,
			   *gb1,
			   *gw2,
			   *gb2,
			   *Xb;
	int64	   *order;
	Adam		aw1,
				ab1,
				aw2,
				ab2;
	int			step = 0;
	double		yunit = 1,		/* MlTargetUnit of a number target */
				ymean_unit = 0,
				ysd_unit = 1;

	pg_prng_seed(&rng, seed);
	m->feat = feat;
	m->textcols = textcols;
	m->ntext = ntext;
	m->buckets = TEXT_BUCKETS;
	m->hidden = hidden;
	m->nout = T = m->discrete ? Max(m->ntlevels, 1) : 1;
	D = input_width(m);
	inw = hidden > 0 ? hidden : D;

	/* targets: classes, or numbers standardised */
	m->ymean = 0;
	m->ysd = 1;
	if (!m->discrete && n > 1)
	{
		double		s = 0,
					ss = 0,
					maxabs = 0;

		for (int64 i = 0; i < n; i++)
			maxabs = Max(maxabs, fabs(col->x[rows[i]]));
		yunit = MlTargetUnit(maxabs);
		if (yunit == 1)
		{
			for (int64 i = 0; i < n; i++)
				s += col->x[rows[i]], ss += col->x[rows[i]] * col->x[rows[i]];
			m->ymean = s / n;
			m->ysd = sqrt(fmax((ss - n * m->ymean * m->ymean) / (n - 1), 1e-12));
		}
		else
		{
			/*
			 * values near the double range (1.7e308, -1.7e308, 0): the
			 * squares overflowed, the sd was infinite, every standardised
			 * target 0 and every fill NaN. In a power of two of the largest
			 * magnitude (exact), the deviations squared; the targets are
			 * standardised in that unit too (x - mean may overflow).
			 */
			double		ms;

			for (int64 i = 0; i < n; i++)
				s += col->x[rows[i]] * yunit;
			ms = s / n;
			for (int64 i = 0; i < n; i++)
			{
				double		d = col->x[rows[i]] * yunit - ms;

				ss += d * d;
			}
			ysd_unit = sqrt(fmax(ss / (n - 1), 1e-12));
			m->ymean = ms / yunit;
			m->ysd = Min(ysd_unit / yunit, DBL_MAX);
			ymean_unit = ms;
		}
	}
	X = palloc(sizeof(double) * Max(n, 1) * D);
	Y = palloc(sizeof(double) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
	{
		net_input(frame, m, rows[i], X + i * D);
		Y[i] = m->discrete ? col->code[rows[i]] :
			yunit == 1 ? (col->x[rows[i]] - m->ymean) / m->ysd :
			(col->x[rows[i]] * yunit - ymean_unit) / ysd_unit;
	}

	/* He initialisation for the hidden layer, small weights for the output */
	if (hidden > 0)
	{
		m->w1 = palloc(sizeof(double) * D * hidden);
		m->b1 = palloc0(sizeof(double) * hidden);
		for (int64 i = 0; i < (int64) D * hidden; i++)
			m->w1[i] = gauss(&rng) * sqrt(2.0 / D);
	}
	m->w2 = palloc(sizeof(double) * inw * T);
	m->b2 = palloc0(sizeof(double) * T);
	for (int64 i = 0; i < (int64) inw * T; i++)
		m->w2[i] = gauss(&rng) * sqrt(1.0 / inw);

	H = palloc(sizeof(double) * BATCH * Max(hidden, 1));
	dH = palloc(sizeof(double) * BATCH * Max(hidden, 1));
	O = palloc(sizeof(double) * BATCH * T);
	dO = palloc(sizeof(double) * BATCH * T);
	Xb = palloc(sizeof(double) * BATCH * D);
	gw1 = palloc(sizeof(double) * Max(D * hidden, 1));
	gb1 = palloc(sizeof(double) * Max(hidden, 1));
	gw2 = palloc(sizeof(double) * inw * T);
	gb2 = palloc(sizeof(double) * T);
	aw1 = adam_new((int64) D * hidden);
	ab1 = adam_new(hidden);
	aw2 = adam_new((int64) inw * T);
	ab2 = adam_new(T);
	order = palloc(sizeof(int64) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
		order[i] = i;

	for (int e = 0; e < epochs; e++)
	{
		for (int64 i = n - 1; i > 0; i--)
		{
			int64		j = (int64) pg_prng_uint64_range(&rng, 0, i),
						t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int64 b = 0; b < n; b += BATCH)
		{
			int			nb = (int) Min(BATCH, n - b);
			const double *in;

			for (int i = 0; i < nb; i++)
				memcpy(Xb + (int64) i * D, X + order[b + i] * D, sizeof(double) * D);
			forward(m, Xb, nb, H, O);
			/* output gradient, averaged over the batch */
			for (int i = 0; i < nb; i++)
			{
				double	   *o = O + (int64) i * T,
						   *d = dO + (int64) i * T;
				double		y = Y[order[b + i]];

				if (m->discrete)
				{
					softmax_row(o, T);
					for (int k = 0; k < T; k++)
						d[k] = (o[k] - (k == (int) y ? 1 : 0)) / nb;
				}
				else
					d[0] = (o[0] - y) / nb;
			}
			in = hidden > 0 ? H : Xb;
			MlLinalgGemm(true, false, inw, T, nb, 1.0, in, inw, dO, T, 0.0, gw2, T);
			memset(gb2, 0, sizeof(double) * T);
			for (int i = 0; i < nb; i++)
				for (int k = 0; k < T; k++)
					gb2[k] += dO[(int64) i * T + k];
			if (hidden > 0)
			{
				MlLinalgGemm(false, true, nb, hidden, T, 1.0, dO, T, m->w2, T, 0.0, dH, hidden);
				for (int64 i = 0; i < (int64) nb * hidden; i++)
					if (H[i] <= 0)
						dH[i] = 0;
				MlLinalgGemm(true, false, D, hidden, nb, 1.0, Xb, D, dH, hidden, 0.0, gw1, hidden);
				memset(gb1, 0, sizeof(double) * hidden);
				for (int i = 0; i < nb; i++)
					for (int k = 0; k < hidden; k++)
						gb1[k] += dH[(int64) i * hidden + k];
			}
			step++;
			adam_step(m->w2, gw2, &aw2, (int64) inw * T, step, true);
			adam_step(m->b2, gb2, &ab2, T, step, false);
			if (hidden > 0)
			{
				adam_step(m->w1, gw1, &aw1, (int64) D * hidden, step, true);
				adam_step(m->b1, gb1, &ab1, hidden, step, false);
			}
			CHECK_FOR_INTERRUPTS();
		}
	}
	pfree(X);
	pfree(Y);
}

void
MlNetPredict(MlFrame *frame, MlModel *m, const int64 *rows, int64 n, double *values, int32 *levels)
{
	int			D = input_width(m);
	double	   *X = palloc(sizeof(double) * BATCH * D);
	double	   *H = palloc(sizeof(double) * BATCH * Max(m->hidden, 1));
	double	   *O = palloc(sizeof(double) * BATCH * m->nout);

	for (int64 b = 0; b < n; b += BATCH)
	{
		int			nb = (int) Min(BATCH, n - b);

		for (int i = 0; i < nb; i++)
			net_input(frame, m, rows[b + i], X + (int64) i * D);
		forward(m, X, nb, H, O);
		for (int i = 0; i < nb; i++)
		{
			double	   *o = O + (int64) i * m->nout;

			levels[b + i] = -1;
			values[b + i] = NAN;
			if (m->discrete)
			{
				int			best = 0;

				for (int k = 1; k < m->nout; k++)
					if (o[k] > o[best])
						best = k;
				levels[b + i] = best;
			}
			else
			{
				values[b + i] = o[0] * m->ysd + m->ymean;
				/* an sd near the double range: o * sd alone may overflow */
				if (!isfinite(values[b + i]) && isfinite(o[0]))
					values[b + i] = 2 * (o[0] * (m->ysd / 2) + m->ymean / 2);
			}
		}
		CHECK_FOR_INTERRUPTS();
	}
	pfree(X);
	pfree(H);
	pfree(O);
}

static void
json_array(StringInfo out, const char *key, const double *v, int64 n)
{
	appendStringInfo(out, ", \"%s\": [", key);
	for (int64 i = 0; i < n; i++)
	{
		appendStringInfoString(out, i ? ", " : "");
		MlJsonNumber(out, v[i]);
	}
	appendStringInfoChar(out, ']');
}

/* The network's part of a model's JSON (weights, scaling, text inputs). */
void
MlNetToJson(MlFrame *frame, MlModel *m, StringInfo out)
{
	int			D = input_width(m);
	int			inw = m->hidden > 0 ? m->hidden : D;

	appendStringInfo(out, ", \"hidden\": %d, \"outputs\": %d, \"ymean\": ", m->hidden, m->nout);
	MlJsonNumber(out, m->ymean);
	appendStringInfoString(out, ", \"ysd\": ");
	MlJsonNumber(out, m->ysd);
	appendStringInfo(out, ", \"buckets\": %d, \"text\": [", m->buckets);
	for (int t = 0; t < m->ntext; t++)
	{
		if (t)
			appendStringInfoString(out, ", ");
		escape_json(out, frame->cols[m->textcols[t]].name);
	}
	appendStringInfoChar(out, ']');
	if (m->hidden > 0)
	{
		json_array(out, "w1", m->w1, (int64) D * m->hidden);
		json_array(out, "b1", m->b1, m->hidden);
	}
	json_array(out, "w2", m->w2, (int64) inw * m->nout);
	json_array(out, "b2", m->b2, m->nout);
	if (m->discrete)
	{
		appendStringInfoString(out, ", \"classes\": [");
		for (int k = 0; k < m->ntlevels; k++)
		{
			if (k)
				appendStringInfoString(out, ", ");
			if (m->tlevel_text)
				escape_json(out, m->tlevel_text[k]);
			else
				MlJsonNumber(out, m->tlevel_value[k]);
		}
		appendStringInfoChar(out, ']');
	}
}
