/*
 * step_outliers.c
 *	  The outliers step: IQR, z-score and MAD (Hampel) bounds, globally or
 *	  per group; winsorize, delete or flag.
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
#include "utils/float.h"
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

/* Bounds of the usual range of v[0..n) (reordered). */
bool
MlOutlierBounds(double *v, int64 n, const char *method, double k, double *lo, double *hi)
{
	if (n < 4)
		return false;
	if (strcmp(method, "iqr") == 0)
	{
		double		q1 = MlQuantile(v, n, 0.25),
					q3 = MlQuantile(v, n, 0.75);

		*lo = q1 - k * (q3 - q1);
		*hi = q3 + k * (q3 - q1);
	}
	else if (strcmp(method, "zscore") == 0)
	{
		double		mean,
					sd;

		/* without overflow near the double range (MlMeanSd) */
		MlMeanSd(v, n, &mean, &sd);
		*lo = mean - k * sd;
		*hi = mean + k * sd;
	}
	else
	{
		/* Hampel: median +- k * 1.4826 * MAD */
		double		med = MlQuantile(v, n, 0.5);
		double	   *d = palloc(sizeof(double) * n);
		double		mad;

		for (int64 i = 0; i < n; i++)
			d[i] = fabs(v[i] - med);
		mad = MlQuantile(d, n, 0.5) * 1.4826;
		pfree(d);
		*lo = med - k * mad;
		*hi = med + k * mad;
	}
	return *hi > *lo;
}

/* The SQL type a source column has in the output so far (after a cast). */
static const char *
column_sql_type(Clean *c, int ci)
{
	const char *cast = c->rep[ci].cast;

	if (cast == NULL)
		return format_type_with_typemod(c->frame->cols[ci].typid, c->frame->cols[ci].typmod);
	if (strcmp(cast, "integer") == 0)
		return "int4";
	if (strcmp(cast, "bigint") == 0)
		return "int8";
	return cast;
}

/*
 * A bound as winsorizing writes it, cast to the column's type in the
 * output (column_sql_type): the bound itself when that type holds it,
 * none otherwise. A recipe replayed on another table may hold a bound
 * its column cannot (39918.97 fitted on a float8 column, a smallint
 * here): every value below it was cast from the bound, and the statement
 * failed with 22003; such a bound clamps none of the column's values, as
 * the model reads it (MlBindRow, train_recipe.c's replay_bounds). On the
 * table the bounds were fitted on, a bound the column's type cannot hold
 * lies beyond all of its values: nothing changes there. A domain's CHECK
 * may refuse a bound with values beyond it (CHECK (VALUE % 2 = 0)): the
 * bound is then the nearest value inside it takes (MlBoundAsHeld).
 */
static double
bound_written(Clean *c, int ci, double bound, double other, double none)
{
	const char *cast = c->rep[ci].cast;
	double		v = bound;
	bool		held;

	if (!isfinite(bound))
		return bound;
	if (cast == NULL)
	{
		MlColumn   *col = &c->frame->cols[ci];
		Oid			base;
		int32		typmod = MlHeldTypmod(col, &base);
		double		as_type = bound;

		/* a domain's CHECK may move it inside (MlBoundAsHeld) */
		held = MlBoundAsHeld(col->typid, base, typmod, &v, other);
		if (held && MlNumberAsHeld(base, typmod, &as_type) && as_type != v)
			return v;
		if (!held && MlNumberAsHeld(base, typmod, &as_type))
		{
			/*
			 * the type holds it, the domain's CHECK refuses it and nothing
			 * inside it was found (a recipe replayed on another column; on
			 * the table it is fitted on, fit_bound_observed moved it to an
			 * observed value): it clamps nothing, said where values lie
			 * beyond it, never silently
			 */
			int64		beyond = 0;

			for (int64 r = 0; r < c->frame->nrows; r++)
				if (!col->isnull[r] && isfinite(col->x[r]) &&
					(other > bound ? col->x[r] < bound : col->x[r] > bound))
					beyond++;
			if (beyond > 0)
				ereport(NOTICE,
						(errmsg("column \"%s\": the winsorizing bound %s is refused by domain %s and clamps nothing; "
								INT64_FORMAT " values beyond it are kept",
								col->name, float8out_internal(bound), format_type_be(col->typid), beyond)));
		}
	}
	else if (strcmp(cast, "integer") == 0)
		held = MlNumberAsHeld(INT4OID, -1, &v);
	else if (strcmp(cast, "bigint") == 0)
		held = MlNumberAsHeld(INT8OID, -1, &v);
	else
		held = true;
	return held ? bound : none;
}

/*
 * The SQL of one fitted outlier step (also used to replay a recipe): the
 * bounds as parameters (per group: arrays indexed by the group's text,
 * unseen groups taking the column's bounds), then winsorize the column,
 * filter the rows out, or add a flag column named flag_name (or a new name).
 */
void
MlEmitOutlier(Clean *c, int ci, const char *method, double k, const char *action,
			 double lo, double hi, const char *by, char **groups, double *glo, double *ghi,
			 int ngroups, const char *flag_name)
{
	MlColumn   *col = &c->frame->cols[ci];
	char	   *cur = c->source_expr[ci];
	bool		winsorize = strcmp(action, "winsorize") == 0;
	double		wlo = winsorize ? bound_written(c, ci, lo, hi, -INFINITY) : lo;
	double		whi = winsorize ? bound_written(c, ci, hi, lo, INFINITY) : hi;
	char	   *lexpr,
			   *hexpr,
			   *keep,
			   *test;

	MlCleanStepOpen(c, "outliers", col);
	appendStringInfo(&c->steps, ", \"method\": \"%s\", \"k\": ", method);
	MlJsonNumber(&c->steps, k);
	appendStringInfo(&c->steps, ", \"action\": \"%s\", \"lo\": ", action);
	MlJsonNumber(&c->steps, lo);
	appendStringInfoString(&c->steps, ", \"hi\": ");
	MlJsonNumber(&c->steps, hi);
	if (ngroups > 0)
	{
		int			plevels = MlCleanParamTextArray(c, groups, ngroups);
		double	   *wglo = palloc(sizeof(double) * ngroups);
		double	   *wghi = palloc(sizeof(double) * ngroups);
		int			plo,
					phi;

		for (int l = 0; l < ngroups; l++)
		{
			wglo[l] = winsorize ? bound_written(c, ci, glo[l], ghi[l], -INFINITY) : glo[l];
			wghi[l] = winsorize ? bound_written(c, ci, ghi[l], glo[l], INFINITY) : ghi[l];
		}
		plo = MlCleanParamFloatArray(c, wglo, ngroups);
		phi = MlCleanParamFloatArray(c, wghi, ngroups);

		lexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", plo, plevels,
						 quote_identifier(by), MlCleanParamFloat(c, wlo));
		hexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", phi, plevels,
						 quote_identifier(by), MlCleanParamFloat(c, whi));
		appendStringInfoString(&c->steps, ", \"by\": ");
		escape_json(&c->steps, by);
		appendStringInfoString(&c->steps, ", \"groups\": ");
		MlJsonTextList(&c->steps, groups, ngroups);
		appendStringInfoString(&c->steps, ", \"group_lo\": [");
		for (int l = 0; l < ngroups; l++)
		{
			appendStringInfoString(&c->steps, l ? ", " : "");
			MlJsonNumber(&c->steps, glo[l]);
		}
		appendStringInfoString(&c->steps, "], \"group_hi\": [");
		for (int l = 0; l < ngroups; l++)
		{
			appendStringInfoString(&c->steps, l ? ", " : "");
			MlJsonNumber(&c->steps, ghi[l]);
		}
		appendStringInfoChar(&c->steps, ']');
	}
	else
	{
		lexpr = psprintf("$%d", MlCleanParamFloat(c, wlo));
		hexpr = psprintf("$%d", MlCleanParamFloat(c, whi));
	}
	/*
	 * Filled cells are never outliers (the fills are the imputation's), and
	 * NaN and +-Infinity are values kept as they are.
	 */
	keep = psprintf("(%s%s::float8 = ANY ('{NaN,Infinity,-Infinity}'::float8[]))",
					c->na_expr && c->na_expr[ci] ? psprintf("%s OR ", c->na_expr[ci]) : "", cur);
	test = psprintf("(NOT %s AND (%s::float8 < %s OR %s::float8 > %s))", keep, cur, lexpr, cur, hexpr);
	if (winsorize)
		c->source_expr[ci] = psprintf("(CASE WHEN %s THEN %s ELSE (LEAST(GREATEST(%s::float8, %s), %s))::%s END)",
									  keep, cur, cur, lexpr, hexpr, column_sql_type(c, ci));
	else if (strcmp(action, "delete") == 0)
		c->filters = lappend(c->filters, psprintf("NOT COALESCE(%s, false)", test));
	else
	{
		char	   *name = flag_name ? pstrdup(flag_name) : MlCleanNewName(c, col->name, "outlier");

		MlCleanAddOutput(c, ci, name, psprintf("COALESCE(%s, false)", test));
		appendStringInfoString(&c->steps, ", \"name\": ");
		escape_json(&c->steps, name);
	}
	appendStringInfoChar(&c->steps, '}');
	c->rep[ci].outlier_action = psprintf("%s (%s, k=%g)", action, method, k);
}

const char *const MlOutlierKeys[] = {"method", "k", "action", "columns", "skip", "by", NULL};

/* One column's fitted bounds, and the observed cells hidden from imputation. */
typedef struct OutlierFit
{
	int			ci;
	double		lo,
				hi;
	double	   *glo,
			   *ghi;
	int64		count;
	int64	   *rows;			/* outlier cells, masked as NaN while imputing */
	double	   *values;			/* their values */
	double		mean,
				sd;				/* the column's statistics, restored after */
} OutlierFit;

typedef struct OutlierStep
{
	char	   *method;
	char	   *action;
	double		k;
	int			g;				/* grouping column, -1 if none */
	List	   *fits;			/* OutlierFit per column with outliers */
	double	   *col_lo,
			   *col_hi;			/* [col] the column's fences, NaN if not bounded */
} OutlierStep;

/*
 * A winsorizing bound the column's domain refuses (a CHECK on a real,
 * float8 or numeric domain, or an integer one with no value it takes
 * near the bound: MlBoundAsHeld) was dropped, so the outliers beyond it
 * were kept, silently. The bound becomes the most extreme observed value
 * inside it (v[0..n), the values it was fitted on): the domain took that
 * value when it was written, no observed value lies between the two, so
 * the same cells are outliers and each is clamped to a value the column
 * holds, as the step's recipe, training and scoring then read it. A type
 * that cannot hold the bound at all (numeric(5,1)) is left as it is: every
 * value lies inside it there. Says so in a notice.
 */
static double
fit_bound_observed(MlColumn *col, const double *v, int64 n, double bound, double other)
{
	Oid			base;
	int32		typmod = MlHeldTypmod(col, &base);
	double		held = bound;
	double		as_type = bound;
	bool		upper = other < bound;
	double		best = upper ? -INFINITY : INFINITY;
	int64		beyond = 0;

	if (!isfinite(bound) || get_typtype(col->typid) != TYPTYPE_DOMAIN ||
		MlBoundAsHeld(col->typid, base, typmod, &held, other) ||
		!MlNumberAsHeld(base, typmod, &as_type))
		return bound;
	for (int64 i = 0; i < n; i++)
		if (upper ? (v[i] <= bound && v[i] > best) : (v[i] >= bound && v[i] < best))
			best = v[i];
	if (!isfinite(best))
		return bound;			/* nothing inside: nothing beyond either */
	for (int64 i = 0; i < n; i++)
		if (upper ? v[i] > bound : v[i] < bound)
			beyond++;
	/* moved either way (so a recipe clamps new rows), said where it clamps */
	if (beyond > 0)
		ereport(NOTICE,
			(errmsg("column \"%s\": the %s winsorizing bound %s is refused by domain %s; the bound is the %s observed value inside it, %s",
					col->name, upper ? "upper" : "lower", float8out_internal(bound),
					format_type_be(col->typid), upper ? "largest" : "smallest", float8out_internal(best))));
	return best;
}

/*
 * Outliers in continuous numeric columns (never identifiers, codes,
 * discrete columns or the target): bounds by IQR, z-score or MAD, over the
 * whole column or per group, fitted on the observed values before any
 * imputation. The outlier cells are hidden from the imputation (masked as
 * NaN, which no imputer learns from, until MlOutliersUnmask), and the
 * step's SQL is emitted later by MlOutliersEmit, once casts are known.
 */
void
MlStepOutliers(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	OutlierStep *os = palloc0(sizeof(OutlierStep));
	char	   *by = MlOptString(st, "by", NULL);
	int			g = by ? MlFrameColumn(frame, by) : -1;
	double	   *v = palloc(sizeof(double) * Max(frame->nrows, 1));
	int			ngroups = 0;
	int64	   *start = NULL;
	int64	   *order = NULL;
	int64	   *hits = palloc(sizeof(int64) * Max(frame->nrows, 1));

	os->method = MlOptString(st, "method", "iqr");
	os->action = MlOptString(st, "action", "winsorize");
	os->g = g;
	if (strcmp(os->method, "iqr") != 0 && strcmp(os->method, "zscore") != 0 && strcmp(os->method, "mad") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier method \"%s\"", os->method),
				 errhint("Valid methods are: iqr, zscore, mad.")));
	if (strcmp(os->action, "winsorize") != 0 && strcmp(os->action, "delete") != 0 && strcmp(os->action, "flag") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier action \"%s\"", os->action),
				 errhint("Valid actions are: winsorize, delete, flag.")));
	if (by && (g < 0 || frame->cols[g].code == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" in option \"by\" does not exist or cannot group rows", by)));
	os->k = MlOptNumber(st, "k", strcmp(os->method, "iqr") == 0 ? 1.5 : strcmp(os->method, "zscore") == 0 ? 3 : 3.5);
	if (!(os->k > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"k\" must be positive")));
	c->outliers = os;
	os->col_lo = palloc(sizeof(double) * Max(frame->ncols, 1));
	os->col_hi = palloc(sizeof(double) * Max(frame->ncols, 1));
	for (int ci = 0; ci < frame->ncols; ci++)
		os->col_lo[ci] = os->col_hi[ci] = NAN;

	if (g >= 0)
	{
		/* bucket the rows by group once: start[l]..start[l+1] in order[] */
		int32	   *code = frame->cols[g].code;
		int64	   *fill;

		ngroups = frame->cols[g].nlevels;
		start = palloc0(sizeof(int64) * (ngroups + 1));
		fill = palloc(sizeof(int64) * (ngroups + 1));
		order = palloc(sizeof(int64) * Max(frame->nrows, 1));
		for (int64 r = 0; r < frame->nrows; r++)
			if (code[r] >= 0)
				start[code[r] + 1]++;
		for (int l = 0; l < ngroups; l++)
			start[l + 1] += start[l];
		memcpy(fill, start, sizeof(int64) * (ngroups + 1));
		for (int64 r = 0; r < frame->nrows; r++)
			if (code[r] >= 0)
				order[fill[code[r]]++] = r;
		pfree(fill);
	}

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		OutlierFit *f;
		int64		n = 0;

		/* codes (few whole-number levels) only when named explicitly */
		if (col->kind != ML_KIND_NUMERIC || ci == g || !MlCleanStepWants(st, col) ||
			(MlColumnIsDiscrete(col) && !MlNameInList(MlOptStringList(st, "columns"), col->name)))
			continue;
		f = palloc0(sizeof(OutlierFit));
		f->ci = ci;
		for (int64 r = 0; r < frame->nrows; r++)
			if (!c->fills->deleted[r] && !col->isnull[r] && isfinite(col->x[r]))
				v[n++] = col->x[r];
		if (!MlOutlierBounds(v, n, os->method, os->k, &f->lo, &f->hi))
			continue;
		if (strcmp(os->action, "winsorize") == 0)
		{
			double		lo = f->lo;

			f->lo = fit_bound_observed(col, v, n, f->lo, f->hi);
			f->hi = fit_bound_observed(col, v, n, f->hi, lo);
		}
		os->col_lo[ci] = f->lo;
		os->col_hi[ci] = f->hi;
		if (ngroups > 0)
		{
			/* per-group bounds; groups too small keep the column's bounds */
			f->glo = palloc(sizeof(double) * ngroups);
			f->ghi = palloc(sizeof(double) * ngroups);
			for (int l = 0; l < ngroups; l++)
			{
				n = 0;
				for (int64 i = start[l]; i < start[l + 1]; i++)
				{
					int64		r = order[i];

					if (!c->fills->deleted[r] && !col->isnull[r] && isfinite(col->x[r]))
						v[n++] = col->x[r];
				}
				if (!MlOutlierBounds(v, n, os->method, os->k, &f->glo[l], &f->ghi[l]))
					f->glo[l] = f->lo, f->ghi[l] = f->hi;
				else if (strcmp(os->action, "winsorize") == 0)
				{
					double		lo = f->glo[l];

					f->glo[l] = fit_bound_observed(col, v, n, f->glo[l], f->ghi[l]);
					f->ghi[l] = fit_bound_observed(col, v, n, f->ghi[l], lo);
				}
			}
			CHECK_FOR_INTERRUPTS();
		}
		for (int64 r = 0; r < frame->nrows; r++)
		{
			double		l = f->lo,
						h = f->hi;
			int32		gc = g >= 0 ? frame->cols[g].code[r] : -1;

			if (c->fills->deleted[r] || col->isnull[r] || !isfinite(col->x[r]))
				continue;
			if (gc >= 0)
				l = f->glo[gc], h = f->ghi[gc];
			if (col->x[r] < l || col->x[r] > h)
				hits[f->count++] = r;
		}
		if (f->count == 0)
			continue;

		/* hide the outlier cells from the imputation */
		f->rows = palloc(sizeof(int64) * f->count);
		f->values = palloc(sizeof(double) * f->count);
		f->mean = col->mean;
		f->sd = col->sd;
		for (int64 i = 0; i < f->count; i++)
		{
			int64		r = hits[i];

			f->rows[i] = r;
			f->values[i] = col->x[r];
			col->x[r] = NAN;
		}
		{
			/* the statistics of the values left, without overflow (MlMeanSd) */
			double	   *left = palloc(sizeof(double) * Max(frame->nrows, 1));
			int64		m = 0;

			for (int64 r = 0; r < frame->nrows; r++)
				if (!col->isnull[r] && isfinite(col->x[r]))
					left[m++] = col->x[r];
			if (m > 1)
				MlMeanSd(left, m, &col->mean, &col->sd);
			pfree(left);
		}
		c->rep[ci].outliers = f->count;
		os->fits = lappend(os->fits, f);
	}
}

/* Give the outlier cells their values back once the imputation is fitted. */
void
MlOutliersUnmask(Clean *c)
{
	OutlierStep *os = c->outliers;
	ListCell   *lc;

	if (os == NULL)
		return;
	foreach(lc, os->fits)
	{
		OutlierFit *f = lfirst(lc);
		MlColumn   *col = &c->frame->cols[f->ci];

		for (int64 i = 0; i < f->count; i++)
			col->x[f->rows[i]] = f->values[i];
		col->mean = f->mean;
		col->sd = f->sd;
	}
}

/* Where the columns with outliers had gaps, so that fills are never bounded. */
void
MlOutliersMissingFlags(Clean *c, List **names, List **exprs)
{
	ListCell   *lc;

	if (c->outliers == NULL)
		return;
	foreach(lc, c->outliers->fits)
	{
		OutlierFit *f = lfirst(lc);

		if (c->rep[f->ci].nulls_before > 0)
			(void) MlCleanMissingFlag(c, f->ci, names, exprs);
	}
}

/* The fitted outlier steps as SQL, after the casts they apply on top of. */
void
MlOutliersEmit(Clean *c)
{
	OutlierStep *os = c->outliers;
	MlFrame    *frame = c->frame;
	ListCell   *lc;

	if (os == NULL)
		return;
	foreach(lc, os->fits)
	{
		OutlierFit *f = lfirst(lc);
		int			ngroups = os->g >= 0 ? frame->cols[os->g].nlevels : 0;
		char	  **names = NULL;
		int64		count = f->count;

		if (ngroups > 0)
		{
			names = frame->cols[os->g].level_text;
			if (names == NULL)
			{
				names = palloc(sizeof(char *) * ngroups);
				for (int l = 0; l < ngroups; l++)
					names[l] = psprintf("%.17g", frame->cols[os->g].level_value[l]);
			}
		}
		MlEmitOutlier(c, f->ci, os->method, os->k, os->action, f->lo, f->hi,
					  os->g >= 0 ? frame->cols[os->g].name : NULL, names, f->glo, f->ghi,
					  ngroups, NULL);
		c->rep[f->ci].outliers = count;
	}
}

/*
 * The step's effect on the frame in memory, for the 'after' column profiles
 * (profile.c): each column's fences (the overall ones, also with "by"),
 * winsorized values as copies in after_x[col], deleted rows marked.
 */
void
MlOutliersAfter(Clean *c, double *lo, double *hi, double **after_x, bool *deleted)
{
	OutlierStep *os = c->outliers;
	MlFrame    *frame = c->frame;
	ListCell   *lc;

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		lo[ci] = os ? os->col_lo[ci] : NAN;
		hi[ci] = os ? os->col_hi[ci] : NAN;
	}
	if (os == NULL)
		return;
	foreach(lc, os->fits)
	{
		OutlierFit *f = lfirst(lc);
		MlColumn   *col = &frame->cols[f->ci];
		double	   *x = NULL;

		if (strcmp(os->action, "winsorize") == 0)
		{
			x = palloc(sizeof(double) * Max(frame->nrows, 1));
			memcpy(x, col->x, sizeof(double) * frame->nrows);
			after_x[f->ci] = x;
		}
		for (int64 i = 0; i < f->count; i++)
		{
			int64		r = f->rows[i];
			int32		gc = os->g >= 0 ? frame->cols[os->g].code[r] : -1;
			double		l = gc >= 0 ? f->glo[gc] : f->lo,
						h = gc >= 0 ? f->ghi[gc] : f->hi;

			if (x)
				x[r] = Min(Max(f->values[i], l), h);
			else if (strcmp(os->action, "delete") == 0)
				deleted[r] = true;
		}
	}
}
