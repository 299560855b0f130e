/*
 * step_encode.c
 *	  The encoding step: one-hot, ordinal, frequency, hashing and
 *	  out-of-fold target encoding of categorical columns.
 */
#include "postgres.h"

#include <math.h>

#include <math.h>
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/numeric.h"
#include "parser/parse_coerce.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "core/options.h"
#include "core/progress.h"
#include "clean/pipeline.h"

const char *const MlEncodeKeys[] = {
	"method", "max_levels", "buckets", "columns", "skip", "keep_original", "smoothing", NULL
};

typedef struct LevelCount
{
	int32		level;
	int64		count;
	const char *text;
} LevelCount;

static int
cmp_count_desc(const void *a, const void *b)
{
	const LevelCount *x = a,
			   *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->text, y->text);
}

static int
cmp_text(const void *a, const void *b)
{
	return strcmp(((const LevelCount *) a)->text, ((const LevelCount *) b)->text);
}

/*
 * Encode categorical columns (text, boolean, enum...; not numeric codes,
 * free text, identifiers or the target): one-hot (most frequent levels up
 * to max_levels, the rest in "_other"), ordinal, frequency or hashing;
 * "auto" is one-hot up to max_levels and frequency above. Unseen levels on
 * new data: all zeros (one-hot), -1 (ordinal), 0 (frequency).
 */
/* Start an encode step's JSON and drop the source column unless kept. */
static void
encode_open(Clean *c, int ci, const char *method, bool keep)
{
	MlCleanStepOpen(c, "encode", &c->frame->cols[ci]);
	appendStringInfo(&c->steps, ", \"method\": \"%s\", \"keep_original\": %s", method,
					 keep ? "true" : "false");
	c->rep[ci].encoding = pstrdup(method);
	if (!keep)
	{
		c->keep_source[ci] = false;
		c->rep[ci].dropped = true;
	}
}

static char *
encode_value(Clean *c, int ci)
{
	return psprintf("(%s)::text", c->source_expr[ci]);
}

/* One-hot: a 0/1 column per kept level, plus "_other" when levels were cut. */
void
MlEmitOnehot(Clean *c, int ci, char **levels, int n, bool other, char **names, bool keep)
{
	char	   *cur = encode_value(c, ci);
	char	  **outs = palloc(sizeof(char *) * (n + 1));
	MlColumn   *col = &c->frame->cols[ci];

	encode_open(c, ci, "onehot", keep);
	for (int i = 0; i < n; i++)
	{
		outs[i] = names ? names[i] : MlCleanNewName(c, col->name, levels[i]);
		MlCleanAddOutput(c, ci, outs[i], psprintf("COALESCE((%s = $%d)::int4::int2, 0::int2)", cur,
											MlCleanParam(c, TEXTOID, CStringGetTextDatum(levels[i]))));
	}
	if (other)
	{
		outs[n] = names ? names[n] : MlCleanNewName(c, col->name, "other");
		MlCleanAddOutput(c, ci, outs[n], psprintf("COALESCE((%s <> ALL ($%d))::int4::int2, 0::int2)", cur,
											MlCleanParamTextArray(c, levels, n)));
	}
	appendStringInfoString(&c->steps, ", \"levels\": ");
	MlJsonTextList(&c->steps, levels, n);
	appendStringInfoString(&c->steps, ", \"names\": ");
	MlJsonTextList(&c->steps, outs, n + (other ? 1 : 0));
	appendStringInfoChar(&c->steps, '}');
}

/* Ordinal (position in the sorted levels, -1 if unseen) or frequency (0 if unseen). */
void
MlEmitOrdinalFreq(Clean *c, int ci, bool ordinal, char **levels, double *freq, int n,
				  const char *name, bool keep)
{
	char	   *cur = encode_value(c, ci);
	int			pl;
	char	   *out = name ? pstrdup(name) :
		MlCleanNewName(c, c->frame->cols[ci].name, ordinal ? "ordinal" : "frequency");

	encode_open(c, ci, ordinal ? "ordinal" : "frequency", keep);
	pl = MlCleanParamTextArray(c, levels, n);
	if (ordinal)
		MlCleanAddOutput(c, ci, out, psprintf("COALESCE(array_position($%d, %s) - 1, -1)", pl, cur));
	else
	{
		MlCleanAddOutput(c, ci, out, psprintf("COALESCE($%d[array_position($%d, %s)], 0::float8)",
										MlCleanParamFloatArray(c, freq, n), pl, cur));
		appendStringInfoString(&c->steps, ", \"frequencies\": [");
		for (int i = 0; i < n; i++)
		{
			appendStringInfoString(&c->steps, i ? ", " : "");
			MlJsonNumber(&c->steps, freq[i]);
		}
		appendStringInfoChar(&c->steps, ']');
	}
	appendStringInfoString(&c->steps, ", \"levels\": ");
	MlJsonTextList(&c->steps, levels, n);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, out);
	appendStringInfoChar(&c->steps, '}');
}

/* Hashing: one 0/1 column per bucket of a stable hash of the text. */
void
MlEmitHashing(Clean *c, int ci, int buckets, char **names, bool keep)
{
	char	   *cur = encode_value(c, ci);

	encode_open(c, ci, "hashing", keep);
	appendStringInfo(&c->steps, ", \"buckets\": %d, \"names\": [", buckets);
	for (int b = 0; b < buckets; b++)
	{
		char	   *out = names ? names[b] : MlCleanNewName(c, c->frame->cols[ci].name, psprintf("hash%d", b));

		MlCleanAddOutput(c, ci, out,
				   psprintf("COALESCE(((hashtext(%s)::int8 & 2147483647) %% %d = %d)::int4::int2, 0::int2)",
							cur, buckets, b));
		if (b)
			appendStringInfoString(&c->steps, ", ");
		escape_json(&c->steps, out);
	}
	appendStringInfoString(&c->steps, "]}");
}

#define TE_FOLDS 5

/* Fold of a row for out-of-fold target encoding: the same formula in C and SQL. */
static int
row_fold(ItemPointer tid)
{
	return (int) (((int64) ItemPointerGetBlockNumber(tid) * 65537 +
				   ItemPointerGetOffsetNumber(tid)) % TE_FOLDS);
}

/*
 * Target encoding (also used to replay a recipe, with fold == NULL): each
 * level's target mean smoothed towards the overall mean by `smoothing`
 * pseudo-rows. On the rows it is fitted on, each row gets the encoding
 * computed without its own fold (out of fold, so the column does not leak
 * the row's own target); new rows get the encoding over all rows.
 */
void
MlEmitTarget(Clean *c, int ci, char **levels, int nl, double *enc, double *fold, double prior,
			double smoothing, const char *name, bool keep)
{
	char	   *cur = encode_value(c, ci);
	char	   *out = name ? pstrdup(name) : MlCleanNewName(c, c->frame->cols[ci].name, "target");
	int			pl = MlCleanParamTextArray(c, levels, nl);
	int			pp = MlCleanParamFloat(c, prior);

	encode_open(c, ci, "target", keep);
	if (fold)
		MlCleanAddOutput(c, ci, out,
				   psprintf("COALESCE($%d[((%s::text::point)[0]::int8 * 65537 + (%s::text::point)[1]::int8) %% %d * %d "
							"+ array_position($%d, %s)], $%d)",
							MlCleanParamFloatArray(c, fold, TE_FOLDS * nl), c->ctid_expr, c->ctid_expr,
							TE_FOLDS, nl, pl, cur, pp));
	else
		MlCleanAddOutput(c, ci, out, psprintf("COALESCE($%d[array_position($%d, %s)], $%d)",
										MlCleanParamFloatArray(c, enc, nl), pl, cur, pp));
	appendStringInfoString(&c->steps, ", \"smoothing\": ");
	MlJsonNumber(&c->steps, smoothing);
	appendStringInfoString(&c->steps, ", \"prior\": ");
	MlJsonNumber(&c->steps, prior);
	appendStringInfoString(&c->steps, ", \"encodings\": [");
	for (int i = 0; i < nl; i++)
	{
		appendStringInfoString(&c->steps, i ? ", " : "");
		MlJsonNumber(&c->steps, enc[i]);
	}
	appendStringInfoString(&c->steps, "], \"levels\": ");
	MlJsonTextList(&c->steps, levels, nl);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, out);
	appendStringInfoChar(&c->steps, '}');
}

/* Fit a target encoding on the frame: per level and per fold sums of the target. */

/*
 * The mean of a level's n target values (sum s) shrunk toward the prior by
 * smoothing pseudo-rows. A level with no rows (in or out of a fold) and no
 * smoothing has no mean (0 / 0): the prior, as for a level never seen.
 */
static double
smoothed_mean(double s, double n, double smoothing, double prior)
{
	double		den = n + smoothing;
	double		r;
	double		w;

	if (!(den > 0))
		return prior;
	r = (s + smoothing * prior) / den;
	if (isfinite(r) || !isfinite(s))
		return r;

	/*
	 * A huge smoothing times a large prior overflows (the encoding was inf):
	 * the same weighted mean of the level's mean and the prior, in a form
	 * that cannot overflow (the level's weight n / den is at most 1).
	 */
	w = n / den;
	return n > 0 ? w * (s / n) + (1 - w) * prior : prior;
}

static void
fit_target_encoding(Clean *c, int ci, char **names, LevelCount *lc, int nl, double smoothing,
					bool keep)
{
	MlFrame    *frame = c->frame;
	MlColumn   *col = &frame->cols[ci];
	MlColumn   *tcol = &frame->cols[c->target];
	double	   *sum = palloc0(sizeof(double) * nl * TE_FOLDS);
	double	   *cnt = palloc0(sizeof(double) * nl * TE_FOLDS);
	double	   *enc = palloc(sizeof(double) * nl);
	double	   *fold = palloc(sizeof(double) * nl * TE_FOLDS);
	int32	   *pos = palloc(sizeof(int32) * Max(col->nlevels, 1));
	double		tsum = 0,
				tcnt = 0,
				prior;

	if (tcol->kind != ML_KIND_NUMERIC && !(tcol->code && tcol->nlevels == 2))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target encoding needs a numeric or two-level target, but \"%s\" has %d levels",
						tcol->name, tcol->nlevels)));
	/* levels are sorted by text in names[]; map the column's codes to them */
	for (int i = 0; i < nl; i++)
		pos[lc[i].level] = i;
	for (int64 r = 0; r < frame->nrows; r++)
	{
		double		y;
		int			f;

		if (c->fills->deleted[r] || tcol->isnull[r] || col->isnull[r] || col->code[r] < 0)
			continue;
		y = tcol->kind == ML_KIND_NUMERIC ? tcol->x[r] : (double) tcol->code[r];
		if (!isfinite(y))
			continue;
		f = row_fold(&frame->tids[r]);
		sum[f * nl + pos[col->code[r]]] += y;
		cnt[f * nl + pos[col->code[r]]] += 1;
		tsum += y;
		tcnt += 1;
	}
	prior = tcnt > 0 ? tsum / tcnt : 0;
	for (int i = 0; i < nl; i++)
	{
		double		s = 0,
					n = 0;

		for (int f = 0; f < TE_FOLDS; f++)
			s += sum[f * nl + i], n += cnt[f * nl + i];
		enc[i] = smoothed_mean(s, n, smoothing, prior);
		for (int f = 0; f < TE_FOLDS; f++)
			fold[f * nl + i] = smoothed_mean(s - sum[f * nl + i], n - cnt[f * nl + i], smoothing, prior);
	}
	MlEmitTarget(c, ci, names, nl, enc, fold, prior, smoothing, NULL, keep);
}

void
MlStepEncode(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	char	   *method = MlOptString(st, "method", "auto");
	double		max_levels_d = MlOptNumber(st, "max_levels", 10);
	double		buckets_d = MlOptNumber(st, "buckets", 16);
	/* range-checked before the cast: (int) of 1e300 is undefined */
	int			max_levels = max_levels_d >= 1 && max_levels_d <= 1000 ? (int) max_levels_d : 0;
	int			buckets = buckets_d >= 2 && buckets_d <= 1024 ? (int) buckets_d : 0;
	double		smoothing = MlOptNumber(st, "smoothing", 10);
	bool		keep = MlOptBool(st, "keep_original", false);

	if (strcmp(method, "auto") && strcmp(method, "onehot") && strcmp(method, "ordinal") &&
		strcmp(method, "frequency") && strcmp(method, "hashing") && strcmp(method, "target"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown encoding \"%s\"", method),
				 errhint("Valid encodings are: auto, onehot, ordinal, frequency, hashing, target.")));
	if (strcmp(method, "target") == 0 && c->target < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target encoding needs a target column"),
				 errhint("Pass options => '{\"target\": \"column\"}', or clean the relation of a project.")));
	if (max_levels < 1 || max_levels > 1000 || buckets < 2 || buckets > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"max_levels\" must be 1..1000 and \"buckets\" 2..1024")));
	/* pseudo-rows: a negative count would move a level's mean away from the prior */
	if (!(smoothing >= 0) || isinf(smoothing))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"smoothing\" must be a finite number of 0 or more, not %g", smoothing),
				 errhint("It counts the pseudo-rows of the overall mean added to each level; 0 is no smoothing.")));

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		LevelCount *lc;
		int64		total = 0;
		const char *m = method;
		int			nl = col->nlevels;
		char	  **names;
		double	   *freq;

		if (col->kind != ML_KIND_CATEGORICAL || col->level_text == NULL || nl == 0 ||
			!MlCleanStepWants(st, col) || c->rep[ci].cast != NULL)
			continue;
		lc = palloc(sizeof(LevelCount) * nl);
		for (int l = 0; l < nl; l++)
			lc[l] = (LevelCount) {l, 0, col->level_text[l]};
		for (int64 r = 0; r < frame->nrows; r++)
			if (!c->fills->deleted[r] && !col->isnull[r] && col->code[r] >= 0)
				lc[col->code[r]].count++, total++;
		if (strcmp(m, "auto") == 0)
			m = nl <= max_levels ? "onehot" : "frequency";
		names = palloc(sizeof(char *) * nl);
		freq = palloc(sizeof(double) * nl);
		/* one-hot keeps the most frequent levels; the others sort by text */
		qsort(lc, nl, sizeof(LevelCount), strcmp(m, "onehot") == 0 ? cmp_count_desc : cmp_text);
		for (int i = 0; i < nl; i++)
		{
			names[i] = (char *) lc[i].text;
			freq[i] = total ? (double) lc[i].count / total : 0;
		}
		if (strcmp(m, "target") == 0)
			fit_target_encoding(c, ci, names, lc, nl, smoothing, keep);
		else if (strcmp(m, "onehot") == 0)
			MlEmitOnehot(c, ci, names, Min(nl, max_levels), nl > max_levels, NULL, keep);
		else if (strcmp(m, "hashing") == 0)
			MlEmitHashing(c, ci, buckets, NULL, keep);
		else
			MlEmitOrdinalFreq(c, ci, m[0] == 'o', names, freq, nl, NULL, keep);
	}
}
