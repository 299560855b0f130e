/*
 * features.c
 *	  The feature encoder: fitted on the training rows of a frame, stored in
 *	  the model's payload, replayed on one row at scoring time.
 *
 * Training and scoring share one layout function, so the features a model
 * was fitted on and the features a scored row produces cannot drift apart.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "core/options.h"
#include "model/features.h"

/* Open-addressing table from level text to code, for scoring. */
typedef struct MlLevelHash
{
	int			size;			/* a power of two, over twice the levels */
	int32	   *slot;			/* code, or -1 for an empty slot */
} MlLevelHash;

static const char *const part_names[] = {
	"year", "month", "day", "hour", "minute", "second", "dow", "doy", "week", "weekend"
};

static uint32
level_hash(const char *s, int len)
{
	return hash_bytes((const unsigned char *) s, len);
}

static void
build_level_hash(MlInput *in)
{
	MlLevelHash *h = palloc(sizeof(MlLevelHash));

	h->size = 16;
	while (h->size < in->nlevels * 2 + 1)
		h->size <<= 1;
	h->slot = palloc(sizeof(int32) * h->size);
	memset(h->slot, 0xff, sizeof(int32) * h->size);
	for (int k = 0; k < in->nlevels; k++)
	{
		uint32		i = level_hash(in->levels[k], strlen(in->levels[k])) & (h->size - 1);

		while (h->slot[i] >= 0)
			i = (i + 1) & (h->size - 1);
		h->slot[i] = k;
	}
	in->hash = h;
}

/* Code of a level, -1 when the model never saw it. */
int32
MlLevelCode(MlInput *in, const char *s, int len)
{
	MlLevelHash *h = in->hash;
	uint32		i = level_hash(s, len) & (h->size - 1);

	while (h->slot[i] >= 0)
	{
		const char *l = in->levels[h->slot[i]];

		if ((int) strlen(l) == len && memcmp(l, s, len) == 0)
			return h->slot[i];
		i = (i + 1) & (h->size - 1);
	}
	return -1;
}

/* Raw and learner features of every input; names for both. */
static void
layout(MlEncoder *enc)
{
	int			r = 0;

	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		in->first_raw = r;
		in->nraw = in->kind == ML_INPUT_DATETIME ? 1 + in->nparts : 1;
		r += in->nraw;
	}
	enc->nraw = r;
	enc->raw_name = palloc(sizeof(char *) * Max(r, 1));
	enc->raw_categorical = palloc0(sizeof(bool) * Max(r, 1));
	enc->raw_ncat = palloc0(sizeof(int) * Max(r, 1));
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		enc->raw_name[in->first_raw] = in->name;
		if (in->kind == ML_INPUT_CATEGORY)
		{
			enc->raw_categorical[in->first_raw] = true;
			enc->raw_ncat[in->first_raw] = in->nlevels;
		}
		for (int p = 0; p < in->nparts; p++)
			enc->raw_name[in->first_raw + 1 + p] = psprintf("%s_%s", in->name,
															part_names[in->parts[p]]);
	}
}

/* Learner features once the dense maps are known (or the raw ones). */
static void
layout_features(MlEncoder *enc)
{
	int			f = 0;
	int			n;

	if (!enc->dense)
	{
		enc->nfeat = enc->nraw;
		enc->feat_name = enc->raw_name;
		enc->feat_categorical = enc->raw_categorical;
		enc->feat_ncat = enc->raw_ncat;
		enc->feat_input = palloc(sizeof(int) * Max(enc->nraw, 1));
		for (int i = 0; i < enc->ninputs; i++)
			for (int j = 0; j < enc->inputs[i].nraw; j++)
				enc->feat_input[enc->inputs[i].first_raw + j] = i;
		return;
	}
	for (int j = 0; j < enc->nraw; j++)
	{
		MlDenseMap *m = &enc->map[j];

		m->first = f;
		m->n = enc->raw_categorical[j] ? m->nonehot : 1 + (m->indicator ? 1 : 0);
		f += m->n;
	}
	n = f;
	enc->nfeat = n;
	enc->feat_name = palloc(sizeof(char *) * Max(n, 1));
	enc->feat_categorical = palloc0(sizeof(bool) * Max(n, 1));
	enc->feat_ncat = palloc0(sizeof(int) * Max(n, 1));
	enc->feat_input = palloc(sizeof(int) * Max(n, 1));
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		for (int j = in->first_raw; j < in->first_raw + in->nraw; j++)
		{
			MlDenseMap *m = &enc->map[j];

			for (int k = 0; k < m->n; k++)
				enc->feat_input[m->first + k] = i;
			if (enc->raw_categorical[j])
				for (int k = 0; k < m->nonehot; k++)
					enc->feat_name[m->first + k] = psprintf("%s=%s", in->name,
															in->levels[m->onehot[k]]);
			else
			{
				enc->feat_name[m->first] = enc->raw_name[j];
				if (m->indicator)
					enc->feat_name[m->first + 1] = psprintf("%s_missing", enc->raw_name[j]);
			}
		}
	}
}

static MlInput
input_of_column(MlColumn *col, const MlColumnPrep *prep)
{
	MlInput		in;
	Oid			base = getBaseType(col->typid);

	memset(&in, 0, sizeof(in));
	in.name = col->name;
	in.typid = base;
	if (col->kind == ML_KIND_NUMERIC)
		in.kind = ML_INPUT_NUMERIC;
	else if (col->kind == ML_KIND_DATETIME)
	{
		in.kind = ML_INPUT_DATETIME;
		in.with_tz = (base == TIMESTAMPTZOID);
		in.parts[in.nparts++] = ML_PART_YEAR;
		in.parts[in.nparts++] = ML_PART_MONTH;
		in.parts[in.nparts++] = ML_PART_DAY;
		in.parts[in.nparts++] = ML_PART_DOW;
		if (base != DATEOID)
			in.parts[in.nparts++] = ML_PART_HOUR;
		if (prep && prep->nparts > 0)
		{
			/* the recipe's parts, in its order */
			in.nparts = prep->nparts;
			memcpy(in.parts, prep->parts, sizeof(MlDatePart) * prep->nparts);
		}
	}
	else
	{
		in.kind = ML_INPUT_CATEGORY;
		in.nlevels = col->nlevels;
		in.levels = col->level_text;
	}
	if (prep)
	{
		in.has_fill = prep->has_fill;
		in.fill = prep->fill;
		in.raw_fill = prep->has_fill && in.kind != ML_INPUT_CATEGORY ? prep->raw_fill : prep->fill;
		in.has_clamp = prep->has_clamp && in.kind == ML_INPUT_NUMERIC;
		in.lo = prep->lo;
		in.hi = prep->hi;
		in.raw_lo = in.has_clamp ? prep->raw_lo : prep->lo;
		in.raw_hi = in.has_clamp ? prep->raw_hi : prep->hi;
	}
	return in;
}

/* Raw input i of frame rows (all rows when rows is NULL) into dst. */
static void
input_raw(MlEncoder *enc, int i, MlFrame *frame, const int64 *rows, int64 nrows, double *dst)
{
	MlInput    *in = &enc->inputs[i];
	MlColumn   *col = &frame->cols[MlFrameColumn(frame, in->name)];

	if (in->has_fill || in->has_clamp)
	{
		/* a recipe's fill and bounds: NULL cells only take the fill */
		for (int64 r = 0; r < nrows; r++)
		{
			int64		row = rows ? rows[r] : r;
			double		v;

			if (in->kind == ML_INPUT_CATEGORY)
				v = MlInputPrep(in, col->code[row] < 0 ? NAN : (double) col->code[row],
								col->code[row] < 0);
			else if (col->wasnull && col->wasnull[row] && !col->isnull[row])
				v = col->x[row];	/* filled by the recipe (train_recipe.c): never bounded */
			else
				v = MlInputPrep(in, col->x[row], col->isnull[row]);
			dst[r] = isfinite(v) ? v : NAN;
		}
		return;
	}
	for (int64 r = 0; r < nrows; r++)
	{
		int64		row = rows ? rows[r] : r;

		if (in->kind == ML_INPUT_CATEGORY)
			dst[r] = col->code[row] < 0 ? NAN : (double) col->code[row];
		else
			dst[r] = isfinite(col->x[row]) ? col->x[row] : NAN;
	}
}

/*
 * The first raw feature of each input only (a date's epoch without its
 * parts), into raw[enc->inputs[i].first_raw].
 */
void
MlEncoderInputs(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows, double **raw)
{
	for (int i = 0; i < enc->ninputs; i++)
		input_raw(enc, i, frame, rows, nrows, raw[enc->inputs[i].first_raw]);
}

/* Raw features of frame rows (all rows when rows is NULL). */
void
MlEncoderRaw(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows, double **raw)
{
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];
		double	   *dst = raw[in->first_raw];

		input_raw(enc, i, frame, rows, nrows, dst);
		if (in->nparts > 0)
		{
			/* every part of a row from one broken-down time */
			double		v[ML_MAX_PARTS];

			for (int64 r = 0; r < nrows; r++)
			{
				MlDatePartsOf(dst[r], in->parts, in->nparts, in->with_tz, v);
				for (int p = 0; p < in->nparts; p++)
					raw[in->first_raw + 1 + p][r] = v[p];
				if ((r & 65535) == 65535)
					CHECK_FOR_INTERRUPTS();
			}
		}
	}
}

/* Most frequent codes first (ties: the smaller code). */
static int
cmp_count_desc(const void *a, const void *b, void *arg)
{
	const int64 *count = arg;
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	if (count[x] != count[y])
		return count[x] > count[y] ? -1 : 1;
	return x < y ? -1 : (x > y);
}

static void
fit_dense_map(MlEncoder *enc, int j, const double *v, int64 n)
{
	MlDenseMap *m = &enc->map[j];

	if (enc->raw_categorical[j])
	{
		int			ncat = enc->raw_ncat[j];
		int64	   *count = palloc0(sizeof(int64) * Max(ncat, 1));
		int32	   *order = palloc(sizeof(int32) * Max(ncat, 1));
		int			seen = 0;

		for (int64 r = 0; r < n; r++)
			if (!isnan(v[r]))
				count[(int) v[r]]++;
		for (int k = 0; k < ncat; k++)
			if (count[k] > 0)
				order[seen++] = k;
		qsort_arg(order, seen, sizeof(int32), cmp_count_desc, count);
		m->nonehot = Min(seen, ML_MAX_ONEHOT);
		m->onehot = order;
		m->scale = 1;
		return;
	}
	{
		double		sum = 0,
					sumsq = 0;
		int64		k = 0;

		for (int64 r = 0; r < n; r++)
			if (!isnan(v[r]))
			{
				sum += v[r];
				sumsq += v[r] * v[r];
				k++;
			}
			else
				m->indicator = true;
		m->center = k > 0 ? sum / k : 0;
		m->scale = k > 1 ? sqrt(fmax(0, (sumsq - k * m->center * m->center) / (k - 1))) : 0;
		if (!isfinite(m->center) || !isfinite(sumsq))
		{
			/*
			 * Values near the float8 limit overflow the sums: take the
			 * moments of v / max|v| (the center must be finite: the payload
			 * stores only finite numbers, and a NaN center would silently
			 * turn every value into a missing one).
			 */
			double		mx = 0,
						c;

			for (int64 r = 0; r < n; r++)
				if (!isnan(v[r]))
					mx = Max(mx, fabs(v[r]));
			sum = sumsq = 0;
			for (int64 r = 0; r < n; r++)
				if (!isnan(v[r]))
				{
					sum += v[r] / mx;
					sumsq += (v[r] / mx) * (v[r] / mx);
				}
			c = sum / k;
			m->center = mx * c;
			m->scale = k > 1 ? mx * sqrt(fmax(0, (sumsq - k * c * c) / (k - 1))) : 0;
		}
		if (!(m->scale > 1e-12 * Max(1.0, fabs(m->center))) || !isfinite(m->scale))
			m->scale = 1;
	}
}

/*
 * Fit an encoder on the training rows of a frame, over the frame columns
 * listed (an integer list of column indexes).
 */
MlEncoder *
MlEncoderFit(MlFrame *frame, List *columns, const int64 *rows, int64 nrows, bool dense)
{
	return MlEncoderFitPrep(frame, columns, rows, nrows, dense, NULL);
}

/*
 * The same, with a recipe's fills, bounds and date parts per frame column
 * (prep: one per frame column, or NULL).
 */
MlEncoder *
MlEncoderFitPrep(MlFrame *frame, List *columns, const int64 *rows, int64 nrows, bool dense,
				 const MlColumnPrep *prep)
{
	MlEncoder  *enc = palloc0(sizeof(MlEncoder));
	ListCell   *lc;
	int			i = 0;

	enc->ninputs = list_length(columns);
	enc->inputs = palloc0(sizeof(MlInput) * Max(enc->ninputs, 1));
	foreach(lc, columns)
	{
		MlInput    *in = &enc->inputs[i++];

		*in = input_of_column(&frame->cols[lfirst_int(lc)], prep ? &prep[lfirst_int(lc)] : NULL);
		enc->prep |= in->has_fill || in->has_clamp;
	}
	layout(enc);
	enc->dense = dense;
	if (dense)
	{
		double	  **raw = palloc(sizeof(double *) * Max(enc->nraw, 1));

		for (int j = 0; j < enc->nraw; j++)
			raw[j] = palloc(sizeof(double) * Max(nrows, 1));
		MlEncoderRaw(enc, frame, rows, nrows, raw);
		enc->map = palloc0(sizeof(MlDenseMap) * Max(enc->nraw, 1));
		for (int j = 0; j < enc->nraw; j++)
		{
			fit_dense_map(enc, j, raw[j], nrows);
			pfree(raw[j]);
		}
		pfree(raw);
	}
	layout_features(enc);
	return enc;
}

/* Stage two: standardize, indicate missing, one-hot. */
void
MlEncoderDensify(MlEncoder *enc, double **raw, int64 nrows, double **out)
{
	for (int j = 0; j < enc->nraw; j++)
	{
		MlDenseMap *m = &enc->map[j];
		const double *v = raw[j];

		if (enc->raw_categorical[j])
		{
			/* code -> position among the one-hot codes, -1 for the rest */
			int			ncat = enc->raw_ncat[j];
			int		   *pos = palloc(sizeof(int) * Max(ncat, 1));

			for (int k = 0; k < ncat; k++)
				pos[k] = -1;
			for (int k = 0; k < m->nonehot; k++)
				pos[m->onehot[k]] = k;
			for (int k = 0; k < m->nonehot; k++)
				memset(out[m->first + k], 0, sizeof(double) * nrows);
			for (int64 r = 0; r < nrows; r++)
				if (!isnan(v[r]) && pos[(int) v[r]] >= 0)
					out[m->first + pos[(int) v[r]]][r] = 1.0;
			pfree(pos);
			continue;
		}
		for (int64 r = 0; r < nrows; r++)
		{
			bool		miss = isnan(v[r]);

			double		z = miss ? 0.0 : (v[r] - m->center) / m->scale;

			/*
			 * a value and the center near the float8 limit on opposite
			 * sides: their difference overflows, their quotients do not
			 */
			if (unlikely(!isfinite(z)))
				z = v[r] / m->scale - m->center / m->scale;
			out[m->first][r] = z;
			if (m->indicator)
				out[m->first + 1][r] = miss ? 1.0 : 0.0;
		}
	}
}

/* The shape of the design a model expects (no rows). */
void
MlEncoderShape(MlEncoder *enc, MlDesign *shape)
{
	memset(shape, 0, sizeof(*shape));
	shape->nfeat = enc->nfeat;
	shape->categorical = enc->feat_categorical;
	shape->ncat = enc->feat_ncat;
	shape->name = enc->feat_name;
}

/* A design over frame rows (no target: the caller sets y and the task). */
MlDesign *
MlEncoderDesign(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows)
{
	MlDesign   *d = palloc0(sizeof(MlDesign));
	double	  **raw = palloc(sizeof(double *) * Max(enc->nraw, 1));

	MlEncoderShape(enc, d);
	d->nrows = nrows;
	for (int j = 0; j < enc->nraw; j++)
		raw[j] = palloc_extended(sizeof(double) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	MlEncoderRaw(enc, frame, rows, nrows, raw);
	if (!enc->dense)
	{
		d->col = raw;
		return d;
	}
	d->col = palloc(sizeof(double *) * Max(enc->nfeat, 1));
	for (int f = 0; f < enc->nfeat; f++)
		d->col[f] = palloc_extended(sizeof(double) * Max(nrows, 1), MCXT_ALLOC_HUGE);
	MlEncoderDensify(enc, raw, nrows, d->col);
	for (int j = 0; j < enc->nraw; j++)
		pfree(raw[j]);
	pfree(raw);
	return d;
}

void
MlEncoderSave(MlEncoder *enc, StringInfo buf)
{
	MlWriteInt32(buf, enc->ninputs);
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		MlWriteString(buf, in->name);
		MlWriteInt32(buf, in->kind);
		MlWriteInt32(buf, in->kind == ML_INPUT_DATETIME ? (int32) in->typid : 0);
		MlWriteInt32(buf, in->nparts);
		for (int p = 0; p < in->nparts; p++)
			MlWriteInt32(buf, in->parts[p]);
		MlWriteInt32(buf, in->nlevels);
		for (int k = 0; k < in->nlevels; k++)
			MlWriteString(buf, in->levels[k]);
	}
	/*
	 * bit 1: the inputs' recipe steps follow (never set before 0.3.0); bit
	 * 2: the recipe's fill steps over a row (never set before 0.4.0)
	 */
	MlWriteInt32(buf, (enc->dense ? 1 : 0) | (enc->prep ? 2 : 0) | (enc->replay ? 4 : 0));
	if (enc->prep)
		for (int i = 0; i < enc->ninputs; i++)
		{
			MlInput    *in = &enc->inputs[i];

			bool		raw = in->has_fill && in->kind != ML_INPUT_CATEGORY;

			/*
			 * 4: a number's or a date/time's fill as fitted follows (never
			 * set before 0.4.0's fills.c; for a date/time, before its fill
			 * was held as the training column holds it)
			 */
			/* 8: the bounds as fitted follow the held ones (the same release) */
			MlWriteInt32(buf, (in->has_fill ? 1 : 0) | (in->has_clamp ? 2 : 0) | (raw ? 4 : 0) |
						 (in->has_clamp ? 8 : 0));
			if (in->has_fill)
				MlWriteFloat8(buf, in->fill);
			if (raw)
				MlWriteFloat8(buf, in->raw_fill);
			if (in->has_clamp)
			{
				MlWriteFloat8(buf, in->lo);
				MlWriteFloat8(buf, in->hi);
				MlWriteFloat8(buf, in->raw_lo);
				MlWriteFloat8(buf, in->raw_hi);
			}
		}
	if (enc->replay)
		MlReplaySave(enc, buf);
	if (enc->dense)
		for (int j = 0; j < enc->nraw; j++)
		{
			MlDenseMap *m = &enc->map[j];

			MlWriteFloat8(buf, m->center);
			MlWriteFloat8(buf, m->scale);
			MlWriteInt32(buf, m->indicator ? 1 : 0);
			MlWriteInt32(buf, m->nonehot);
			for (int k = 0; k < m->nonehot; k++)
				MlWriteInt32(buf, m->onehot[k]);
		}
}

static void
load_input(MlReader *r, MlInput *in)
{
	in->name = MlReadString(r);
	in->kind = (MlInputKind) MlReadInt32(r, ML_INPUT_NUMERIC, ML_INPUT_DATETIME);
	in->typid = (Oid) MlReadInt32(r, 0, PG_INT32_MAX);
	if (in->kind == ML_INPUT_DATETIME &&
		in->typid != DATEOID && in->typid != TIMESTAMPOID && in->typid != TIMESTAMPTZOID)
		MlPayloadInvalid(r, "a date/time input has no date/time type");
	in->with_tz = (in->typid == TIMESTAMPTZOID);
	in->nparts = MlReadInt32(r, 0, in->kind == ML_INPUT_DATETIME ? ML_MAX_PARTS : 0);
	for (int p = 0; p < in->nparts; p++)
		in->parts[p] = (MlDatePart) MlReadInt32(r, ML_PART_YEAR, ML_PART_WEEKEND);
	in->nlevels = MlReadInt32(r, 0, in->kind == ML_INPUT_CATEGORY ? ML_MAX_NUMERIC_LEVELS * 16 : 0);
	if (in->nlevels > (r->len - r->pos) / 4)
		MlPayloadInvalid(r, "it ends too early");
	in->levels = palloc(sizeof(char *) * Max(in->nlevels, 1));
	for (int k = 0; k < in->nlevels; k++)
		in->levels[k] = MlReadString(r);
	if (in->kind == ML_INPUT_CATEGORY)
		build_level_hash(in);
}

/* An input's recipe steps, checked: a fill the input can hold, ordered bounds. */
static void
load_prep(MlReader *r, MlInput *in)
{
	int32		flags = MlReadInt32(r, 0, in->kind == ML_INPUT_NUMERIC ? 15 :
									 in->kind == ML_INPUT_DATETIME ? 5 : 1);

	in->has_fill = (flags & 1) != 0;
	in->has_clamp = (flags & 2) != 0;
	if ((flags & 4) && !in->has_fill)
		MlPayloadInvalid(r, "an input has a fitted fill but no fill");
	if ((flags & 8) && !in->has_clamp)
		MlPayloadInvalid(r, "an input has fitted bounds but no bounds");
	if (in->has_fill)
	{
		in->fill = MlReadFiniteFloat8(r);
		if (in->kind == ML_INPUT_CATEGORY &&
			!(in->fill >= 0 && in->fill < in->nlevels && in->fill == floor(in->fill)))
			MlPayloadInvalid(r, "a category's fill is not one of its levels");
	}
	/* a payload before the fitted fill was kept: its fill is the fitted one */
	in->raw_fill = (flags & 4) ? MlReadFiniteFloat8(r) : in->fill;
	if (in->has_clamp)
	{
		in->lo = MlReadFiniteFloat8(r);
		in->hi = MlReadFiniteFloat8(r);
		if (!(in->lo <= in->hi))
			MlPayloadInvalid(r, "an input's bounds are out of order");
		/* a payload before the fitted bounds were kept: its bounds are the fitted ones */
		in->raw_lo = (flags & 8) ? MlReadFiniteFloat8(r) : in->lo;
		in->raw_hi = (flags & 8) ? MlReadFiniteFloat8(r) : in->hi;
		if (!(in->raw_lo <= in->raw_hi))
			MlPayloadInvalid(r, "an input's bounds are out of order");
	}
}

MlEncoder *
MlEncoderLoad(MlReader *r)
{
	MlEncoder  *enc = palloc0(sizeof(MlEncoder));

	enc->ninputs = MlReadInt32(r, 1, MaxTupleAttributeNumber);
	enc->inputs = palloc0(sizeof(MlInput) * enc->ninputs);
	for (int i = 0; i < enc->ninputs; i++)
		load_input(r, &enc->inputs[i]);
	layout(enc);
	{
		int32		flags = MlReadInt32(r, 0, 7);

		enc->dense = (flags & 1) != 0;
		enc->prep = (flags & 2) != 0;
		if (enc->prep)
			for (int i = 0; i < enc->ninputs; i++)
				load_prep(r, &enc->inputs[i]);
		if (flags & 4)
			MlReplayLoad(enc, r);
	}
	if (enc->dense)
	{
		enc->map = palloc0(sizeof(MlDenseMap) * enc->nraw);
		for (int j = 0; j < enc->nraw; j++)
		{
			MlDenseMap *m = &enc->map[j];

			m->center = MlReadFiniteFloat8(r);
			m->scale = MlReadFiniteFloat8(r);
			if (!(m->scale > 0))
				MlPayloadInvalid(r, "a feature scale is not positive");
			m->indicator = MlReadInt32(r, 0, 1) == 1;
			m->nonehot = MlReadInt32(r, 0, enc->raw_categorical[j] ? ML_MAX_ONEHOT : 0);
			m->onehot = palloc(sizeof(int32) * Max(m->nonehot, 1));
			for (int k = 0; k < m->nonehot; k++)
				m->onehot[k] = MlReadInt32(r, 0, enc->raw_ncat[j] - 1);
			if (m->indicator && enc->raw_categorical[j])
				MlPayloadInvalid(r, "a category has a missing indicator");
		}
	}
	layout_features(enc);
	return enc;
}

/* [{"name": ..., "column": ..., "kind": ...}, ...] for the version row. */
void
MlEncoderFeaturesJson(MlEncoder *enc, StringInfo out)
{
	static const char *const kinds[] = {"numeric", "category", "datetime"};

	appendStringInfoChar(out, '[');
	for (int f = 0; f < enc->nfeat; f++)
	{
		MlInput    *in = &enc->inputs[enc->feat_input[f]];

		if (f > 0)
			appendStringInfoString(out, ", ");
		appendStringInfoString(out, "{\"name\": ");
		escape_json(out, enc->feat_name[f]);
		appendStringInfoString(out, ", \"column\": ");
		escape_json(out, in->name);
		appendStringInfo(out, ", \"kind\": \"%s\"}", kinds[in->kind]);
	}
	appendStringInfoChar(out, ']');
}
