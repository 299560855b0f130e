/*
 * profile.c
 *	  Column profiles: what each column of a cleaned relation looked like
 *	  before and after ml_clean / ml_impute (rows, missing, distinct values,
 *	  outliers, range, mean, a histogram), computed from the frame already
 *	  in memory and stored in mlops.column_profiles in the transaction that
 *	  stores the recipe, as the extension owner.
 *
 *	  Both phases are computed once the run is over: fills only ever write
 *	  cells that were missing when the frame was loaded (MlColumn.wasnull),
 *	  so the other cells still hold the loaded values, and the 'before'
 *	  phase reads them with wasnull as its missing cells. No extra scan of
 *	  the relation is made.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "core/catalog.h"
#include "clean/pipeline.h"

#define PROFILE_BINS 20
#define PROFILE_LEVELS 20
/* a level's text in a histogram is clipped to this many bytes */
#define PROFILE_LEVEL_BYTES 200

/* One phase of one column, as read from the frame. */
typedef struct PhaseCells
{
	const double *x;			/* values (numeric, datetime) */
	const int32 *code;			/* level codes (categorical, text) */
	const bool *missing;
	const bool *deleted;		/* rows not in this phase, or NULL */
} PhaseCells;

/* What one phase of one column looks like. */
typedef struct PhaseStats
{
	int64		rows;
	int64		missing;
	int64		distinct;
	int64		outliers;		/* -1: not applicable */
	int64		non_finite;
	double		min,
				max,
				mean;			/* over finite values; NaN when none */
	char	   *histogram;		/* JSON, or NULL */
} PhaseStats;

static const char *
profile_kind(MlColumn *col)
{
	static const char *const kinds[] = {"numeric", "categorical", "datetime", "text"};

	return col->identifier ? "identifier" : kinds[col->kind];
}

static bool
uses_values(MlColumn *col)
{
	return col->kind == ML_KIND_NUMERIC || col->kind == ML_KIND_DATETIME;
}

/* A finite number as JSON: the shortest text that reads back exactly. */
static void
json_number(StringInfo out, double v)
{
	char		buf[DOUBLE_SHORTEST_DECIMAL_LEN];

	Assert(isfinite(v));
	(void) double_to_shortest_decimal_buf(v == 0 ? 0 : v, buf);
	appendStringInfoString(out, buf);
}

/* Distinct values among n doubles (-0 as 0, every NaN as one): a hash set. */
static int64
distinct_doubles(const double *v, int64 n)
{
	uint64		size = 16;
	uint64	   *slot;
	bool	   *used;
	int64		count = 0;

	while (size < (uint64) n * 2)
		size *= 2;
	/* transient, and may pass 1 GB for a frame of tens of millions of rows */
	slot = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * size);
	used = MemoryContextAllocExtended(CurrentMemoryContext, sizeof(bool) * size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (int64 i = 0; i < n; i++)
	{
		double		d = v[i] == 0 ? 0 : (isnan(v[i]) ? NAN : v[i]);
		uint64		bits;
		uint64		h;

		memcpy(&bits, &d, sizeof(bits));
		h = (bits ^ (bits >> 29)) * UINT64CONST(0xbf58476d1ce4e5b9);
		h = (h ^ (h >> 32)) & (size - 1);
		while (used[h] && slot[h] != bits)
			h = (h + 1) & (size - 1);
		if (!used[h])
		{
			used[h] = true;
			slot[h] = bits;
			count++;
		}
		if ((i & 65535) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(slot);
	pfree(used);
	return count;
}

/*
 * Distinct values of a coded column (few levels) by its codes, when every
 * present cell of the phase has one (a fill by a continuous model has
 * none); -1 when some cell has none.
 */
static int64
distinct_codes(MlColumn *col, const PhaseCells *p, int64 nrows)
{
	bool	   *seen = palloc0(sizeof(bool) * Max(col->nlevels, 1));
	int64		count = 0;

	for (int64 r = 0; r < nrows; r++)
	{
		int32		k = col->code[r];

		if (p->missing[r] || (p->deleted && p->deleted[r]))
			continue;
		if (k < 0 || k >= col->nlevels)
			return -1;
		if (!seen[k])
		{
			seen[k] = true;
			count++;
		}
	}
	return count;
}

/*
 * Equal-width bins over [lo, hi], in steps computed from hi/BINS - lo/BINS
 * so that a range near float8's limits does not overflow; finite values
 * outside the range are counted in "below" and "above".
 */
static void
histogram_values(StringInfo out, const double *v, int64 n, double lo, double hi, int64 non_finite)
{
	int			bins = hi > lo ? PROFILE_BINS : 1;
	double		width = hi > lo ? hi / bins - lo / bins : 0;
	int64		counts[PROFILE_BINS] = {0};
	int64		below = 0,
				above = 0;
	/* the direct scale unless hi - lo overflows */
	double		scale = width > 0 && isfinite(hi - lo) ? bins / (hi - lo) : 0;

	appendStringInfoString(out, "{\"edges\": [");
	if (isfinite(lo) && isfinite(hi))
	{
		for (int b = 0; b <= bins; b++)
		{
			appendStringInfoString(out, b ? ", " : "");
			/* weights of both ends: lo + b * width may overflow */
			json_number(out, b == bins ? hi : (lo / bins) * (bins - b) + (hi / bins) * b);
		}
		for (int64 i = 0; i < n; i++)
		{
			int			b;
			double		pos;

			if (!isfinite(v[i]))
				continue;
			if (v[i] < lo)
			{
				below++;
				continue;
			}
			if (v[i] > hi)
			{
				above++;
				continue;
			}
			if (width == 0)
				pos = 0;
			else if (scale > 0)
				pos = (v[i] - lo) * scale;
			else
				pos = floor(bins * ((v[i] / bins - lo / bins) / width));
			/* clamped as a double: near float8's limits pos may be NaN or infinite */
			b = !(pos >= 0) ? 0 : pos >= bins - 1 ? bins - 1 : (int) pos;
			counts[b]++;
		}
	}
	appendStringInfoString(out, "], \"counts\": [");
	for (int b = 0; isfinite(lo) && isfinite(hi) && b < bins; b++)
		appendStringInfo(out, "%s" INT64_FORMAT, b ? ", " : "", counts[b]);
	appendStringInfo(out, "], \"below\": " INT64_FORMAT ", \"above\": " INT64_FORMAT
					 ", \"non_finite\": " INT64_FORMAT "}", below, above, non_finite);
}

/* A level's text: as the type prints it, clipped. */
static char *
level_text(MlColumn *col, int32 code)
{
	char	   *s;

	if (col->level_text)
		s = col->level_text[code];
	else
		return psprintf("%.17g", col->level_value[code]);
	if (strlen(s) > PROFILE_LEVEL_BYTES)
		s = pnstrdup(s, pg_mbcliplen(s, strlen(s), PROFILE_LEVEL_BYTES));
	return s;
}

/* Level counts of a coded column: distinct levels, and the top ones as JSON. */
static void
profile_levels(MlColumn *col, const PhaseCells *p, int64 nrows, PhaseStats *s, bool histogram)
{
	int64	   *counts = palloc0(sizeof(int64) * Max(col->nlevels, 1));
	int			top[PROFILE_LEVELS];
	int			ntop = 0;
	int64		other = 0;
	StringInfoData out;

	for (int64 r = 0; r < nrows; r++)
		if (!p->missing[r] && !(p->deleted && p->deleted[r]) && p->code[r] >= 0 &&
			p->code[r] < col->nlevels)
			counts[p->code[r]]++;
	s->distinct = 0;
	for (int l = 0; l < col->nlevels; l++)
	{
		int			i;

		if (counts[l] == 0)
			continue;
		s->distinct++;
		other += counts[l];
		/* insertion into the top list: most frequent first, then level order */
		if (ntop < PROFILE_LEVELS)
			ntop++;
		else if (counts[l] <= counts[top[ntop - 1]])
			continue;
		for (i = ntop - 1; i > 0 && counts[top[i - 1]] < counts[l]; i--)
			top[i] = top[i - 1];
		top[i] = l;
	}
	if (!histogram)
		return;
	initStringInfo(&out);
	appendStringInfoString(&out, "{\"levels\": [");
	for (int i = 0; i < ntop; i++)
	{
		appendStringInfoString(&out, i ? ", " : "");
		escape_json(&out, level_text(col, top[i]));
		other -= counts[top[i]];
	}
	appendStringInfoString(&out, "], \"counts\": [");
	for (int i = 0; i < ntop; i++)
		appendStringInfo(&out, "%s" INT64_FORMAT, i ? ", " : "", counts[top[i]]);
	appendStringInfo(&out, "], \"other\": " INT64_FORMAT "}", other);
	s->histogram = out.data;
}

/*
 * Rows, missing cells, and for values (numeric, datetime): the phase's
 * present values (*values, *nvalues), range, mean, non-finite, distinct.
 * One pass over the rows.
 */
static void
profile_phase(MlColumn *col, const PhaseCells *p, int64 nrows, PhaseStats *s,
			  double **values, int64 *nvalues)
{
	double	   *v = uses_values(col) ? palloc(sizeof(double) * Max(nrows, 1)) : NULL;
	double		sum = 0,
				lo = INFINITY,
				hi = -INFINITY;
	int64		n = 0,
				finite = 0;

	memset(s, 0, sizeof(*s));
	s->outliers = -1;
	s->min = s->max = s->mean = NAN;
	for (int64 r = 0; r < nrows; r++)
	{
		double		x;

		if (p->deleted && p->deleted[r])
			continue;
		s->rows++;
		if (p->missing[r])
		{
			s->missing++;
			continue;
		}
		if (v == NULL)
			continue;
		x = p->x[r];
		v[n++] = x;
		if (!isfinite(x))
		{
			s->non_finite++;
			continue;
		}
		finite++;
		sum += x;
		lo = Min(lo, x);
		hi = Max(hi, x);
	}
	*values = v;
	*nvalues = n;
	if (v == NULL)
		return;
	if (finite > 0)
	{
		s->min = lo;
		s->max = hi;
		s->mean = sum / finite;
		/* an overflowing sum: the mean of the values scaled down */
		if (!isfinite(s->mean))
		{
			sum = 0;
			for (int64 i = 0; i < n; i++)
				if (isfinite(v[i]))
					sum += v[i] / finite;
			s->mean = sum;
		}
	}
	/* codes name the loaded values: not those the outlier step clamped */
	s->distinct = col->code && p->x == col->x ? distinct_codes(col, p, nrows) : -1;
	if (s->distinct < 0)
		s->distinct = distinct_doubles(v, n);
}

/* Cells of a value column beyond [lo, hi] (non-finite values never are). */
static int64
count_outliers(const double *v, int64 n, double lo, double hi)
{
	int64		k = 0;

	for (int64 i = 0; i < n; i++)
		if (isfinite(v[i]) && (v[i] < lo || v[i] > hi))
			k++;
	return k;
}

/*
 * Fences for the outlier counts: the outlier step's for the column, else
 * IQR with k = 1.5 over the 'before' values. NaN when there are none (fewer
 * than four values, or no spread).
 */
static void
profile_fences(MlColumn *col, const double *v, int64 n, double step_lo, double step_hi,
			   double *lo, double *hi)
{
	double	   *finite;
	int64		m = 0;

	*lo = *hi = NAN;
	if (col->kind != ML_KIND_NUMERIC || col->identifier)
		return;
	if (!isnan(step_lo) && !isnan(step_hi))
	{
		*lo = step_lo;
		*hi = step_hi;
		return;
	}
	finite = palloc(sizeof(double) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
		if (isfinite(v[i]))
			finite[m++] = v[i];
	if (!MlOutlierBounds(finite, m, "iqr", 1.5, lo, hi))
		*lo = *hi = NAN;
	pfree(finite);
}

/*
 * Whether the run left a column as it was: no row removed, no cell filled
 * or changed. Its 'after' phase is then its 'before' one, not computed
 * twice (most columns of a wide table).
 */
static bool
after_is_before(MlProfileSpec *spec, int ci)
{
	MlColumn   *col = &spec->frame->cols[ci];

	if (spec->after_x && spec->after_x[ci])
		return false;
	if (col->wasnull && memcmp(col->wasnull, col->isnull, sizeof(bool) * spec->frame->nrows) != 0)
		return false;
	if (spec->deleted)
		for (int64 r = 0; r < spec->frame->nrows; r++)
			if (spec->deleted[r])
				return false;
	return true;
}

/* Both phases of one column. */
static void
profile_column(MlProfileSpec *spec, int ci, PhaseStats *before, PhaseStats *after)
{
	MlFrame    *frame = spec->frame;
	MlColumn   *col = &frame->cols[ci];
	PhaseCells	pb = {col->x, col->code, col->wasnull ? col->wasnull : col->isnull, NULL};
	PhaseCells	pa = {col->x, col->code, col->isnull, spec->deleted};
	double	   *vb = NULL,
			   *va = NULL;
	int64		nb = 0,
				na = 0;

	bool		same = after_is_before(spec, ci);

	if (spec->after_x && spec->after_x[ci])
		pa.x = spec->after_x[ci];
	profile_phase(col, &pb, frame->nrows, before, &vb, &nb);
	if (same)
	{
		*after = *before;
		va = vb;
		na = nb;
	}
	else
		profile_phase(col, &pa, frame->nrows, after, &va, &na);
	if (uses_values(col))
	{
		/* one set of bins for both phases, over both ranges */
		double		lo = isnan(before->min) ? after->min : before->min,
					hi = isnan(before->max) ? after->max : before->max;
		double		flo,
					fhi;
		StringInfoData h;

		if (!isnan(after->min))
		{
			lo = Min(lo, after->min);
			hi = Max(hi, after->max);
		}
		profile_fences(col, vb, nb, spec->lo ? spec->lo[ci] : NAN, spec->hi ? spec->hi[ci] : NAN,
					   &flo, &fhi);
		/* the bins cover the usual range: cells beyond the fences are "below", "above" */
		if (!isnan(flo))
		{
			lo = Max(lo, flo);
			hi = Min(hi, fhi);
		}
		if (!col->identifier)
		{
			initStringInfo(&h);
			histogram_values(&h, vb, nb, lo, hi, before->non_finite);
			before->histogram = h.data;
			if (same)
				after->histogram = before->histogram;
			else
			{
				initStringInfo(&h);
				histogram_values(&h, va, na, lo, hi, after->non_finite);
				after->histogram = h.data;
			}
		}
		if (col->kind == ML_KIND_NUMERIC && !col->identifier)
		{
			before->outliers = isnan(flo) ? 0 : count_outliers(vb, nb, flo, fhi);
			after->outliers = same ? before->outliers :
				isnan(flo) ? 0 : count_outliers(va, na, flo, fhi);
		}
	}
	else if (col->code)
	{
		profile_levels(col, &pb, frame->nrows, before, !col->identifier);
		if (same)
			*after = *before;
		else
			profile_levels(col, &pa, frame->nrows, after, !col->identifier);
	}
	CHECK_FOR_INTERRUPTS();
}

static Datum
name_datum(const char *s)
{
	return DirectFunctionCall1(namein, CStringGetDatum(s));
}

/* One row of mlops.column_profiles through the prepared plan. */
static void
insert_phase(SPIPlanPtr plan, MlProfileSpec *spec, int64 recipe_id, int ci, const char *phase,
			 PhaseStats *s, int64 rows, int64 missing)
{
	MlColumn   *col = &spec->frame->cols[ci];
	Oid			outid = OidIsValid(spec->outid) ? spec->outid : spec->relid;
	Datum		v[22];
	char		n[23];
	int			rc;

	memset(n, ' ', sizeof(n) - 1);
	n[sizeof(n) - 1] = '\0';
	v[0] = Int64GetDatum(recipe_id);
	v[1] = Int64GetDatum(spec->project_id);
	n[1] = spec->project_id > 0 ? ' ' : 'n';
	v[2] = name_datum(get_namespace_name(get_rel_namespace(spec->relid)));
	v[3] = name_datum(get_rel_name(spec->relid));
	v[4] = ObjectIdGetDatum(spec->relid);
	v[5] = name_datum(col->name);
	v[6] = CStringGetTextDatum(phase);
	v[7] = CStringGetTextDatum(profile_kind(col));
	v[8] = CStringGetTextDatum(format_type_be(col->typid));
	v[9] = Int64GetDatum(rows >= 0 ? rows : s->rows);
	v[10] = Int64GetDatum(missing >= 0 ? missing : s->missing);
	v[11] = Int64GetDatum(s->distinct);
	v[12] = Int64GetDatum(s->outliers);
	n[12] = s->outliers >= 0 ? ' ' : 'n';
	v[13] = Int64GetDatum(s->non_finite);
	v[14] = Float8GetDatum(s->min);
	n[14] = isfinite(s->min) ? ' ' : 'n';
	v[15] = Float8GetDatum(s->max);
	n[15] = isfinite(s->max) ? ' ' : 'n';
	v[16] = Float8GetDatum(s->mean);
	n[16] = isfinite(s->mean) ? ' ' : 'n';
	v[17] = s->histogram ? CStringGetTextDatum(s->histogram) : (Datum) 0;
	n[17] = s->histogram ? ' ' : 'n';
	v[18] = Int64GetDatum(spec->sample_rows);
	n[18] = spec->sample_rows > 0 ? ' ' : 'n';
	v[19] = name_datum(get_namespace_name(get_rel_namespace(outid)));
	v[20] = name_datum(get_rel_name(outid));
	v[21] = BoolGetDatum(spec->kept == NULL || spec->kept[ci]);
	n[21] = strcmp(phase, "after") == 0 ? ' ' : 'n';
	rc = SPI_execute_plan(plan, v, n, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not store a column profile: %s", SPI_result_code_string(rc));
}

/* A catalog older than 0.3.0 has no mlops.column_profiles: no profiles then. */
static bool
profiles_table_exists(void)
{
	return OidIsValid(get_relname_relid("column_profiles", get_namespace_oid("mlops", false)));
}

/*
 * Profile every column of spec->frame before and after the run and store
 * the profiles under recipe_id, as the extension owner.
 */
void
MlProfileStore(void *scopep, int64 recipe_id, MlProfileSpec *spec)
{
	static const Oid types[22] = {
		INT8OID, INT8OID, NAMEOID, NAMEOID, OIDOID, NAMEOID, TEXTOID, TEXTOID, TEXTOID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
		TEXTOID, INT8OID, NAMEOID, NAMEOID, BOOLOID
	};
	MlScope    *scope = scopep;
	MemoryContext cxt,
				old;
	SPIPlanPtr	plan;
	MlFrame    *frame = spec->frame;

	TimestampTz t0 = GetCurrentTimestamp();

	if (!profiles_table_exists())
		return;
	old = CurrentMemoryContext;
	/* one column at a time: its values, hash set and histograms, then reset */
	cxt = AllocSetContextCreate(old, "column profiles", ALLOCSET_DEFAULT_SIZES);
	plan = SPI_prepare("INSERT INTO mlops.column_profiles (recipe_id, project_id, relation_schema, "
					   "relation_name, relation_oid, column_name, phase, kind, type, rows, missing, "
					   "distinct_values, outliers, non_finite, min, max, mean, histogram, "
					   "sample_rows, output_schema, output_name, in_output) VALUES ($1, $2, $3, $4, "
					   "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::pg_catalog.jsonb, "
					   "$19, $20, $21, $22)", 22, (Oid *) types);
	if (plan == NULL)
		elog(ERROR, "could not prepare the column profile insert: %s",
			 SPI_result_code_string(SPI_result));
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		PhaseStats	before,
					after;

		/* SPI_execute_plan leaves us in SPI's context: back to the column's */
		MemoryContextSwitchTo(cxt);
		profile_column(spec, ci, &before, &after);
		MlScopeAsOwner(scope);
		insert_phase(plan, spec, recipe_id, ci, "before", &before, spec->rows_before,
					 spec->missing_before ? spec->missing_before[ci] : -1);
		insert_phase(plan, spec, recipe_id, ci, "after", &after, spec->rows_after,
					 spec->missing_after ? spec->missing_after[ci] : -1);
		MlScopeAsCaller(scope);
		MemoryContextReset(cxt);
	}
	SPI_freeplan(plan);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	elog(DEBUG1, "profiled %d columns of %lld rows in %.3f s", frame->ncols, (long long) frame->nrows,
		 (double) (GetCurrentTimestamp() - t0) / 1e6);
}

/* A run's spec: the frame, the relation profiled and where its rows went. */
static void
spec_init(MlProfileSpec *spec, MlFrame *frame, Oid relid, const char *into, int64 project_id,
		  bool sampled)
{
	memset(spec, 0, sizeof(*spec));
	spec->frame = frame;
	spec->relid = relid;
	spec->outid = into ? RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(into)),
										  NoLock, false) : relid;
	spec->project_id = project_id;
	spec->sample_rows = sampled ? frame->nrows : 0;
	spec->rows_before = spec->rows_after = -1;
}

/*
 * ml_clean's profiles: 'before' is the frame as loaded, 'after' the frame
 * with the fills, without the rows the run removed (duplicates, outliers
 * deleted), winsorized cells clamped; a column the output does not keep
 * under its name is marked so (in_output). Row and missing counts are the
 * exact ones the run measured (the whole relation, also when the frame is
 * a sample).
 */
void
MlCleanProfile(Clean *c, void *scope, Oid relid, const char *into, int64 recipe_id,
			   int64 project_id)
{
	MlFrame    *frame = c->frame;
	MlProfileSpec spec;
	int64	   *mb = palloc(sizeof(int64) * Max(frame->ncols, 1));
	int64	   *ma = palloc(sizeof(int64) * Max(frame->ncols, 1));
	bool	   *deleted = palloc(sizeof(bool) * Max(frame->nrows, 1));
	double	   *lo = palloc(sizeof(double) * Max(frame->ncols, 1));
	double	   *hi = palloc(sizeof(double) * Max(frame->ncols, 1));

	if (!profiles_table_exists())
		return;
	spec_init(&spec, frame, relid, into, project_id, c->source_rows > 0);
	memcpy(deleted, c->fills->deleted, sizeof(bool) * frame->nrows);
	spec.after_x = palloc0(sizeof(double *) * Max(frame->ncols, 1));
	MlOutliersAfter(c, lo, hi, spec.after_x, deleted);
	spec.deleted = deleted;
	spec.lo = lo;
	spec.hi = hi;
	spec.kept = c->keep_source;
	if (c->source_rows > 0)
		spec.rows_before = c->source_rows;
	spec.rows_after = c->rows_after;
	for (int ci = 0; ci < frame->ncols; ci++)
	{
		mb[ci] = c->rep[ci].nulls_before;
		ma[ci] = c->rep[ci].nulls_after;
	}
	spec.missing_before = mb;
	spec.missing_after = ma;
	MlProfileStore(scope, recipe_id, &spec);
}

/*
 * ml_impute's profiles: 'before' the frame as loaded, 'after' with its
 * fills (and without deleted rows). On the large-table path the frame is a
 * sample and every figure is the sample's (sample_rows says so).
 */
void
MlImputeProfile(void *scope, MlFrame *frame, MlFills *fills, Oid source_relid, const char *into,
				bool sampled, int64 recipe_id, int64 project_id)
{
	MlProfileSpec spec;

	spec_init(&spec, frame, source_relid, into, project_id, sampled);
	spec.deleted = fills->deleted;
	MlProfileStore(scope, recipe_id, &spec);
}
