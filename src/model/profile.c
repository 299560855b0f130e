/*
 * profile.c
 *	  The training profile of a model version: what its inputs and its
 *	  predictions looked like on the rows it learned from, the reference
 *	  drift is measured against (model/drift.c).
 *
 * Built once by ml_train from the frame it already holds, on at most
 * ML_PROFILE_SAMPLE rows (every k-th used row, so deterministic): numeric
 * and date/time inputs (their epoch) get bins between the training
 * deciles, deduplicated; categories their ML_PROFILE_TOP_LEVELS most
 * frequent levels and an "other" bin (where unseen levels land when
 * scoring); every input its missing rate. The predictions on the same rows
 * give deciles (regression, clustering) or class shares (classifiers).
 *
 * Read back, a profile is stored data like any other: every field is
 * checked and a malformed one is an error naming the version, never a
 * wrong read.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "core/options.h"
#include "core/select.h"
#include "model/profile.h"
#include "model/trees.h"

#define ML_PROFILE_SAMPLE 200000

/* ---------- building ---------- */

/*
 * Inner edges at the deciles of the finite values, deduplicated: the
 * values at ranks (m - 1) * q / ML_PROFILE_BINS of the sorted values.
 */
static int
decile_edges(const double *v, int64 n, double *edges, double *sorted)
{
	int64		m = 0;
	int			k = 0;
	double		mx = -INFINITY;
	int64		ranks[ML_PROFILE_BINS - 1];

	for (int64 r = 0; r < n; r++)
		if (isfinite(v[r]))
		{
			sorted[m++] = v[r];
			mx = Max(mx, v[r]);
		}
	if (m == 0)
		return 0;
	for (int q = 1; q < ML_PROFILE_BINS; q++)
		ranks[q - 1] = ((m - 1) * q) / ML_PROFILE_BINS;
	MlSelectRanks(sorted, m, ranks, ML_PROFILE_BINS - 1);
	for (int q = 1; q < ML_PROFILE_BINS; q++)
	{
		double		e = sorted[ranks[q - 1]];

		if (k == 0 || e > edges[k - 1])
			edges[k++] = e;
	}
	/* a top edge at the maximum would leave an always-empty last bin */
	if (k > 1 && edges[k - 1] >= mx)
		k--;
	return k;
}

/* Bin of v among nedges ascending edges: the first edge >= v, else the last bin. */
static int
bin_of(const double *edges, int nedges, double v)
{
	int			lo = 0,
				hi = nedges;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (v <= edges[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void
append_shares(StringInfo out, const int64 *count, int nbins, int64 present)
{
	appendStringInfoString(out, ", \"shares\": [");
	for (int b = 0; b < nbins; b++)
	{
		if (b > 0)
			appendStringInfoString(out, ", ");
		MlJsonNumber(out, present > 0 ? (double) count[b] / present : 0);
	}
	appendStringInfoChar(out, ']');
}

/* A numeric column's bins: inner edges and the count of finite values in each. */
typedef struct NumericStats
{
	int			nedges;
	double		edges[ML_PROFILE_BINS];
	int64		count[ML_PROFILE_BINS];
	int64		present;		/* finite values */
} NumericStats;

#define FEW_VALUES 4096			/* distinct values counted instead of selected */
#define FEW_SLOTS (2 * FEW_VALUES)

/* A distinct value and how often it occurs. */
typedef struct ValueCount
{
	double		value;
	int64		count;
} ValueCount;

static int
cmp_value_count(const void *a, const void *b)
{
	double		x = ((const ValueCount *) a)->value;
	double		y = ((const ValueCount *) b)->value;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * thread-safe: the bins of v[0 .. n) when it holds at most FEW_VALUES
 * distinct finite values (false otherwise), from their counts: the value
 * at rank r of the sorted values is the one whose run of ranks holds r,
 * so the edges are those decile_edges finds, found in one pass. slots:
 * FEW_SLOTS entries.
 */
static bool
few_values_stats(const double *v, int64 n, ValueCount *slots, NumericStats *st)
{
	int			nd = 0;
	int64		m = 0;
	int64		cum = 0;
	int			q = 1;
	int			k = 0;

	memset(slots, 0, sizeof(ValueCount) * FEW_SLOTS);
	for (int64 r = 0; r < n; r++)
	{
		double		x = v[r] == 0 ? 0 : v[r];	/* -0 and 0 are one value */
		uint64		bits;
		uint32		h;

		if (!isfinite(x))
			continue;
		memcpy(&bits, &x, sizeof(bits));
		h = (uint32) ((bits * UINT64CONST(0x9E3779B97F4A7C15)) >> 40) & (FEW_SLOTS - 1);
		while (slots[h].count > 0 && slots[h].value != x)
			h = (h + 1) & (FEW_SLOTS - 1);
		if (slots[h].count == 0)
		{
			if (nd == FEW_VALUES)
				return false;
			slots[h].value = x;
			nd++;
		}
		slots[h].count++;
		m++;
	}
	/* the distinct values, ascending, at the front */
	for (int s = 0, w = 0; s < FEW_SLOTS; s++)
		if (slots[s].count > 0)
			slots[w++] = slots[s];
	qsort(slots, nd, sizeof(ValueCount), cmp_value_count);
	memset(st->count, 0, sizeof(st->count));
	st->present = m;
	for (int d = 0; d < nd && m > 0; d++)
	{
		cum += slots[d].count;
		/* ranks (m - 1) * q / bins below cum fall on this value */
		for (; q < ML_PROFILE_BINS && ((m - 1) * q) / ML_PROFILE_BINS < cum; q++)
			if (k == 0 || slots[d].value > st->edges[k - 1])
				st->edges[k++] = slots[d].value;
	}
	if (k > 1 && nd > 0 && st->edges[k - 1] >= slots[nd - 1].value)
		k--;
	st->nedges = k;
	for (int d = 0; d < nd; d++)
	{
		int			b = 0;

		for (int e = 0; e < k; e++)
			b += st->edges[e] < slots[d].value;
		st->count[b] += slots[d].count;
	}
	return true;
}

/* thread-safe (no palloc, no ereport): the bins of v[0 .. n) */
static void
numeric_stats(const double *v, int64 n, double *scratch, ValueCount *slots, NumericStats *st)
{
	int			nedges;

	if (few_values_stats(v, n, slots, st))
		return;
	nedges = decile_edges(v, n, st->edges, scratch);

	memset(st->count, 0, sizeof(st->count));
	st->nedges = nedges;
	st->present = 0;
	for (int64 r = 0; r < n; r++)
		if (isfinite(v[r]))
		{
			int			b = 0;

			/* bin_of without branches: the edges below v */
			for (int e = 0; e < nedges; e++)
				b += st->edges[e] < v[r];
			st->count[b]++;
			st->present++;
		}
}

/* One numeric column's entry: edges, shares, missing rate. */
static void
numeric_json(StringInfo out, const char *name, const NumericStats *st, int64 n)
{
	appendStringInfoString(out, "{\"name\": ");
	escape_json(out, name);
	appendStringInfoString(out, ", \"kind\": \"numeric\", \"edges\": [");
	for (int e = 0; e < st->nedges; e++)
	{
		if (e > 0)
			appendStringInfoString(out, ", ");
		MlJsonNumber(out, st->edges[e]);
	}
	appendStringInfoChar(out, ']');
	append_shares(out, st->count, st->nedges + 1, st->present);
	appendStringInfoString(out, ", \"missing_rate\": ");
	MlJsonNumber(out, n > 0 ? (double) (n - st->present) / n : 0);
	appendStringInfoChar(out, '}');
}

/* The numeric columns of a profile, their bins found on the tree threads. */
typedef struct StatsJob
{
	int			ncols;
	const double **col;
	NumericStats *stats;
	int64		n;
	double	   *scratch[ML_TREES_MAX_THREADS];
	ValueCount *slots[ML_TREES_MAX_THREADS];	/* FEW_SLOTS each */
} StatsJob;

/* thread: task = a numeric column */
static void
stats_task(void *ctx, int task, int worker)
{
	StatsJob   *job = ctx;

	numeric_stats(job->col[task], job->n, job->scratch[worker], job->slots[worker],
				  &job->stats[task]);
}

static int
cmp_count_desc(const void *a, const void *b, void *arg)
{
	const int64 *count = arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	if (count[x] != count[y])
		return count[x] > count[y] ? -1 : 1;
	return x - y;
}

/*
 * Codes 0 .. nlevels - 1 (NaN: missing) to the top levels by count and an
 * "other" bin (class kind: every level, no "other").
 */
static void
levels_json(StringInfo out, const char *name, bool classes, char **levels, int nlevels,
			const double *v, int64 n)
{
	int64	   *count = palloc0(sizeof(int64) * (nlevels + 1));
	int		   *order = palloc(sizeof(int) * Max(nlevels, 1));
	int			ntop = classes ? nlevels : Min(nlevels, ML_PROFILE_TOP_LEVELS);
	int64		present = 0;
	int64		top = 0;
	int64	   *bins = palloc0(sizeof(int64) * (ntop + 1));

	for (int64 r = 0; r < n; r++)
		if (!isnan(v[r]) && v[r] >= 0 && v[r] < nlevels)
		{
			count[(int) v[r]]++;
			present++;
		}
	for (int l = 0; l < nlevels; l++)
		order[l] = l;
	if (!classes)
		qsort_arg(order, nlevels, sizeof(int), cmp_count_desc, count);
	appendStringInfoString(out, "{\"name\": ");
	escape_json(out, name);
	appendStringInfo(out, ", \"kind\": \"%s\", \"levels\": [", classes ? "class" : "category");
	for (int l = 0; l < ntop; l++)
	{
		if (l > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, levels[order[l]]);
		bins[l] = count[order[l]];
		top += count[order[l]];
	}
	appendStringInfoChar(out, ']');
	bins[ntop] = present - top;
	append_shares(out, bins, classes ? ntop : ntop + 1, present);
	appendStringInfoString(out, ", \"missing_rate\": ");
	MlJsonNumber(out, n > 0 ? (double) (n - present) / n : 0);
	appendStringInfoChar(out, '}');
}

/*
 * The predictions on the sampled rows as one value per row (the class for
 * classifiers): from those given (of every step-th row, nout each), else
 * scored from raw.
 */
static double *
prediction_values(MlTrained *t, double **raw, int64 n, const double *given, int64 step)
{
	int			nout = MlTrainedOutputs(t);
	double	   *pred = NULL;
	double	   *v = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	bool		classifier = t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS;

	if (given == NULL)
	{
		pred = palloc_extended(sizeof(double) * Max(n, 1) * nout, MCXT_ALLOC_HUGE);
		MlTrainedPredictRaw(t, raw, n, pred);
		given = pred;
		step = 1;
	}
	for (int64 r = 0; r < n; r++)
	{
		const double *p = given + r * step * nout;

		v[r] = classifier ? (double) MlTrainedBestClass(t, p) : p[0];
	}
	if (pred)
		pfree(pred);
	return v;
}

/*
 * The profile of a fitted model as jsonb text, from the frame rows it
 * learned from (rows[0 .. nrows - 1]) and, when the caller has them, the
 * model's predictions of those rows (pred, MlTrainedOutputs values per
 * row; NULL: scored here); memory is the caller's context. The numeric
 * columns' deciles and counts are found in parallel, the JSON written
 * after, in input order.
 */
char *
MlProfileBuild(MlTrained *t, MlFrame *frame, const int64 *rows, int64 nrows, const double *pred)
{
	MlEncoder  *enc = t->enc;
	int64		step = nrows > ML_PROFILE_SAMPLE ? (nrows + ML_PROFILE_SAMPLE - 1) / ML_PROFILE_SAMPLE : 1;
	int64		n = (nrows + step - 1) / step;
	int64	   *sample = palloc(sizeof(int64) * Max(n, 1));
	double	  **raw = palloc(sizeof(double *) * Max(enc->nraw, 1));
	double	   *predv = NULL;
	bool		classifier = t->task == ML_TASK_BINARY || t->task == ML_TASK_MULTICLASS;
	int		   *slot = palloc(sizeof(int) * (enc->ninputs + 1));
	int			nthreads = MlTreesThreads(0);
	StatsJob	job;
	StringInfoData out;

	for (int64 i = 0; i < n; i++)
		sample[i] = rows[i * step];
	for (int j = 0; j < enc->nraw; j++)
		raw[j] = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
	/* the date parts only to score the rows here */
	if (pred != NULL || n == 0)
		MlEncoderInputs(enc, frame, sample, n, raw);
	else
		MlEncoderRaw(enc, frame, sample, n, raw);
	if (n > 0)
		predv = prediction_values(t, raw, n, pred, step);

	/* numeric inputs and a numeric prediction: their stats slot, else -1 */
	memset(&job, 0, sizeof(job));
	job.n = n;
	job.col = palloc(sizeof(double *) * (enc->ninputs + 1));
	job.stats = palloc(sizeof(NumericStats) * (enc->ninputs + 1));
	for (int i = 0; i <= enc->ninputs; i++)
	{
		bool		numeric = i < enc->ninputs ? enc->inputs[i].kind != ML_INPUT_CATEGORY :
			(predv != NULL && !classifier);

		slot[i] = numeric ? job.ncols : -1;
		if (numeric)
			job.col[job.ncols++] = i < enc->ninputs ? raw[enc->inputs[i].first_raw] : predv;
	}
	nthreads = n * job.ncols >= 100000 ? Min(nthreads, job.ncols) : 1;
	for (int w = 0; w < nthreads; w++)
	{
		job.scratch[w] = palloc_extended(sizeof(double) * Max(n, 1), MCXT_ALLOC_HUGE);
		job.slots[w] = palloc(sizeof(ValueCount) * FEW_SLOTS);
	}
	MlTreesRun(nthreads, stats_task, &job, job.ncols);
	CHECK_FOR_INTERRUPTS();

	initStringInfo(&out);
	appendStringInfo(&out, "{\"format\": %d, \"rows\": " INT64_FORMAT ", \"features\": [",
					 ML_PROFILE_FORMAT, n);
	for (int i = 0; i < enc->ninputs; i++)
	{
		MlInput    *in = &enc->inputs[i];

		if (i > 0)
			appendStringInfoString(&out, ", ");
		if (in->kind == ML_INPUT_CATEGORY)
			levels_json(&out, in->name, false, in->levels, in->nlevels, raw[in->first_raw], n);
		else
			numeric_json(&out, in->name, &job.stats[slot[i]], n);
	}
	appendStringInfoChar(&out, ']');
	if (predv != NULL)
	{
		appendStringInfoString(&out, ", \"prediction\": ");
		if (classifier)
			levels_json(&out, ML_PREDICTION_FEATURE, true, t->classes, t->nclass, predv, n);
		else
			numeric_json(&out, ML_PREDICTION_FEATURE, &job.stats[slot[enc->ninputs]], n);
	}
	appendStringInfoChar(&out, '}');
	for (int j = 0; j < enc->nraw; j++)
		pfree(raw[j]);
	for (int w = 0; w < nthreads; w++)
	{
		pfree(job.scratch[w]);
		pfree(job.slots[w]);
	}
	if (predv)
		pfree(predv);
	pfree(raw);
	pfree(sample);
	return out.data;
}

/* ---------- reading back ---------- */

static void
malformed(const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the training profile of %s is malformed", what),
			 errdetail("%s", detail),
			 errhint("Retrain the version (ml_train) to record a new profile.")));
}

/* The elements of an array member: numbers (finite) or strings. */
static int
read_array(JsonbContainer *obj, const char *key, bool strings, double **nums, char ***strs,
		   const char *what)
{
	JsonbValue *v = MlOptGet(obj, key);
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			n = 0;
	int			cap;

	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		malformed(what, psprintf("Member \"%s\" is not an array.", key));
	cap = Max((int) JsonContainerSize(v->val.binary.data), 1);
	if (cap > ML_PROFILE_MAX_BINS)
		malformed(what, psprintf("Member \"%s\" has more than %d elements.", key, ML_PROFILE_MAX_BINS));
	if (strings)
		*strs = palloc(sizeof(char *) * cap);
	else
		*nums = palloc(sizeof(double) * cap);
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (strings && e.type == jbvString)
			(*strs)[n++] = pnstrdup(e.val.string.val, e.val.string.len);
		else if (!strings && e.type == jbvNumeric && MlJsonToNumber(&e, &(*nums)[n]) &&
				 isfinite((*nums)[n]))
			n++;
		else
			malformed(what, psprintf("Member \"%s\" holds an element that is not a %s.",
									 key, strings ? "string" : "finite number"));
	}
	return n;
}

static char *
read_string(JsonbContainer *obj, const char *key, const char *what)
{
	JsonbValue *v = MlOptGet(obj, key);

	if (v == NULL || v->type != jbvString)
		malformed(what, psprintf("Member \"%s\" is not a string.", key));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static double
read_number(JsonbContainer *obj, const char *key, double lo, double hi, const char *what)
{
	JsonbValue *v = MlOptGet(obj, key);
	double		x;

	if (v == NULL || v->type != jbvNumeric || !MlJsonToNumber(v, &x) || !(x >= lo && x <= hi))
		malformed(what, psprintf("Member \"%s\" is not a number between %g and %g.", key, lo, hi));
	return x;
}

/* One feature (or the prediction) entry, every field checked. */
static void
read_feature(JsonbContainer *obj, MlProfileFeature *f, bool prediction, const char *what)
{
	char	   *kind;
	int			nshare;
	int			nlev;
	double		sum = 0;

	f->name = read_string(obj, "name", what);
	kind = read_string(obj, "kind", what);
	if (strcmp(kind, "numeric") == 0)
	{
		int			nedges = read_array(obj, "edges", false, &f->edges, NULL, what);

		f->kind = ML_PROFILE_NUMERIC;
		for (int e = 1; e < nedges; e++)
			if (!(f->edges[e] > f->edges[e - 1]))
				malformed(what, psprintf("The edges of \"%s\" are not strictly ascending.", f->name));
		f->nbins = nedges + 1;
	}
	else if (strcmp(kind, "category") == 0 || (prediction && strcmp(kind, "class") == 0))
	{
		f->kind = strcmp(kind, "category") == 0 ? ML_PROFILE_CATEGORY : ML_PROFILE_CLASS;
		nlev = read_array(obj, "levels", true, NULL, &f->levels, what);
		f->nbins = f->kind == ML_PROFILE_CATEGORY ? nlev + 1 : nlev;
		if (f->nbins < 1)
			malformed(what, psprintf("\"%s\" has no classes.", f->name));
	}
	else
		malformed(what, psprintf("\"%s\" has an unknown kind.", f->name));
	nshare = read_array(obj, "shares", false, &f->share, NULL, what);
	if (nshare != f->nbins)
		malformed(what, psprintf("\"%s\" has %d shares for %d bins.", f->name, nshare, f->nbins));
	for (int b = 0; b < nshare; b++)
	{
		if (f->share[b] < 0 || f->share[b] > 1)
			malformed(what, psprintf("A share of \"%s\" is not between 0 and 1.", f->name));
		sum += f->share[b];
	}
	if (sum > 1 + 1e-6 || (sum < 1 - 1e-6 && sum != 0))
		malformed(what, psprintf("The shares of \"%s\" do not add up to 1.", f->name));
	f->missing_rate = read_number(obj, "missing_rate", 0, 1, what);
}

static JsonbContainer *
object_of(JsonbValue *v, const char *member, const char *what)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		malformed(what, psprintf("%s is not a JSON object.", member));
	return v->val.binary.data;
}

/* A stored profile, validated ("what" names the version in errors). */
MlProfile *
MlProfileRead(Jsonb *j, const char *what)
{
	JsonbContainer *root;
	MlProfile  *p = palloc0(sizeof(MlProfile));
	JsonbValue *feats;
	JsonbIterator *it;
	JsonbValue	e;
	JsonbIteratorToken tok;
	int			cap;

	if (!JB_ROOT_IS_OBJECT(j))
		malformed(what, "The profile is not a JSON object.");
	root = &j->root;
	if (read_number(root, "format", 1, 1000, what) != ML_PROFILE_FORMAT)
		malformed(what, psprintf("Only profile format %d is known.", ML_PROFILE_FORMAT));
	p->rows = (int64) read_number(root, "rows", 0, 1e15, what);
	feats = MlOptGet(root, "features");
	if (feats == NULL || feats->type != jbvBinary || !JsonContainerIsArray(feats->val.binary.data))
		malformed(what, "Member \"features\" is not an array.");
	cap = Max((int) JsonContainerSize(feats->val.binary.data), 1);
	p->feat = palloc0(sizeof(MlProfileFeature) * cap);
	it = JsonbIteratorInit(feats->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		read_feature(object_of(&e, "A feature", what), &p->feat[p->nfeat], false, what);
		for (int i = 0; i < p->nfeat; i++)
			if (strcmp(p->feat[i].name, p->feat[p->nfeat].name) == 0)
				malformed(what, psprintf("Feature \"%s\" appears twice.", p->feat[i].name));
		p->nfeat++;
	}
	if (MlOptGet(root, "prediction") != NULL)
	{
		p->prediction = palloc0(sizeof(MlProfileFeature));
		read_feature(object_of(MlOptGet(root, "prediction"), "Member \"prediction\"", what),
					 p->prediction, true, what);
		p->prediction->name = pstrdup(ML_PREDICTION_FEATURE);
	}
	return p;
}

/* ---------- bins ---------- */

int
MlProfileNumericBin(const MlProfileFeature *f, double v)
{
	return bin_of(f->edges, f->nbins - 1, v);
}

/* A level's bin: its own among the top levels, else "other" (classes: -1). */
int
MlProfileLevelBin(const MlProfileFeature *f, const char *level)
{
	int			nlev = f->kind == ML_PROFILE_CATEGORY ? f->nbins - 1 : f->nbins;

	for (int l = 0; l < nlev; l++)
		if (strcmp(f->levels[l], level) == 0)
			return l;
	return f->kind == ML_PROFILE_CATEGORY ? f->nbins - 1 : -1;
}

/*
 * Digits that tell every two neighbouring edges apart: 6, more when they
 * are close (epoch seconds of dates a day apart need 10).
 */
static int
label_digits(const MlProfileFeature *f)
{
	char		a[64],
				b[64];

	for (int digits = 6; digits < 17; digits++)
	{
		bool		distinct = true;

		for (int e = 1; e < f->nbins - 1 && distinct; e++)
		{
			snprintf(a, sizeof(a), "%.*g", digits, f->edges[e - 1]);
			snprintf(b, sizeof(b), "%.*g", digits, f->edges[e]);
			distinct = strcmp(a, b) != 0;
		}
		if (distinct)
			return digits;
	}
	return 17;
}

/* "<= 1.5", "(1.5, 3]", "> 3"; a level's name; "(other)". */
char *
MlProfileBinLabel(const MlProfileFeature *f, int bin)
{
	int			ne = f->nbins - 1;
	int			d;

	if (f->kind != ML_PROFILE_NUMERIC)
		return pstrdup(bin < (f->kind == ML_PROFILE_CATEGORY ? ne : f->nbins) ? f->levels[bin] : "(other)");
	if (ne == 0)
		return pstrdup("(all)");
	d = label_digits(f);
	if (bin == 0)
		return psprintf("<= %.*g", d, f->edges[0]);
	if (bin == ne)
		return psprintf("> %.*g", d, f->edges[ne - 1]);
	return psprintf("(%.*g, %.*g]", d, f->edges[bin - 1], d, f->edges[bin]);
}
