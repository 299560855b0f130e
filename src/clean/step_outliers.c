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
		double		s = 0,
					ss = 0,
					mean,
					sd;

		for (int64 i = 0; i < n; i++)
			s += v[i], ss += v[i] * v[i];
		mean = s / n;
		sd = sqrt(fmax(0, (ss - n * mean * mean) / (n - 1)));
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
	char	   *lexpr,
			   *hexpr,
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
		int			plo = MlCleanParamFloatArray(c, glo, ngroups);
		int			phi = MlCleanParamFloatArray(c, ghi, ngroups);

		lexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", plo, plevels,
						 quote_identifier(by), MlCleanParamFloat(c, lo));
		hexpr = psprintf("COALESCE($%d[array_position($%d, t.%s::text)], $%d)", phi, plevels,
						 quote_identifier(by), MlCleanParamFloat(c, hi));
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
		lexpr = psprintf("$%d", MlCleanParamFloat(c, lo));
		hexpr = psprintf("$%d", MlCleanParamFloat(c, hi));
	}
	test = psprintf("(%s::float8 < %s OR %s::float8 > %s)", cur, lexpr, cur, hexpr);
	if (strcmp(action, "winsorize") == 0)
		c->source_expr[ci] = psprintf("(LEAST(GREATEST(%s::float8, %s), %s))::%s", cur, lexpr, hexpr,
									  column_sql_type(c, ci));
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

/*
 * Outliers in continuous numeric columns (never identifiers, codes,
 * discrete columns or the target): bounds by IQR, z-score or MAD, over the
 * whole column or per group; winsorize, delete the row, or flag it.
 */
void
MlStepOutliers(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	char	   *method = MlOptString(st, "method", "iqr");
	char	   *action = MlOptString(st, "action", "winsorize");
	double		k;
	char	   *by = MlOptString(st, "by", NULL);
	int			g = by ? MlFrameColumn(frame, by) : -1;
	double	   *v = palloc(sizeof(double) * Max(frame->nrows, 1));

	if (strcmp(method, "iqr") != 0 && strcmp(method, "zscore") != 0 && strcmp(method, "mad") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier method \"%s\"", method),
				 errhint("Valid methods are: iqr, zscore, mad.")));
	if (strcmp(action, "winsorize") != 0 && strcmp(action, "delete") != 0 && strcmp(action, "flag") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown outlier action \"%s\"", action),
				 errhint("Valid actions are: winsorize, delete, flag.")));
	if (by && (g < 0 || frame->cols[g].code == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" in option \"by\" does not exist or cannot group rows", by)));
	k = MlOptNumber(st, "k", strcmp(method, "iqr") == 0 ? 1.5 : strcmp(method, "zscore") == 0 ? 3 : 3.5);
	if (!(k > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"k\" must be positive")));

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];
		double		lo,
					hi;
		int			ngroups = g >= 0 ? frame->cols[g].nlevels : 0;
		double	   *glo = NULL,
				   *ghi = NULL;
		int64		n = 0,
					count = 0;

		/* codes (few whole-number levels) only when named explicitly */
		if (col->kind != ML_KIND_NUMERIC || ci == g || !MlCleanStepWants(st, col) ||
			(MlColumnIsDiscrete(col) && !MlNameInList(MlOptStringList(st, "columns"), col->name)))
			continue;
		for (int64 r = 0; r < frame->nrows; r++)
			if (!c->fills->deleted[r] && !col->isnull[r] && isfinite(col->x[r]))
				v[n++] = col->x[r];
		if (!MlOutlierBounds(v, n, method, k, &lo, &hi))
			continue;
		if (ngroups > 0)
		{
			/* per-group bounds; groups too small keep the column's bounds */
			glo = palloc(sizeof(double) * ngroups);
			ghi = palloc(sizeof(double) * ngroups);
			for (int l = 0; l < ngroups; l++)
			{
				n = 0;
				for (int64 r = 0; r < frame->nrows; r++)
					if (frame->cols[g].code[r] == l && !c->fills->deleted[r] &&
						!col->isnull[r] && isfinite(col->x[r]))
						v[n++] = col->x[r];
				if (!MlOutlierBounds(v, n, method, k, &glo[l], &ghi[l]))
					glo[l] = lo, ghi[l] = hi;
				CHECK_FOR_INTERRUPTS();
			}
		}
		for (int64 r = 0; r < frame->nrows; r++)
		{
			double		l = lo,
						h = hi;
			int32		gc = g >= 0 ? frame->cols[g].code[r] : -1;

			if (c->fills->deleted[r] || col->isnull[r] || !isfinite(col->x[r]))
				continue;
			if (gc >= 0)
				l = glo[gc], h = ghi[gc];
			if (col->x[r] < l || col->x[r] > h)
				count++;
		}
		if (count == 0)
			continue;

		{
			char	  **names = NULL;

			if (ngroups > 0)
			{
				names = frame->cols[g].level_text;
				if (names == NULL)
				{
					names = palloc(sizeof(char *) * ngroups);
					for (int l = 0; l < ngroups; l++)
						names[l] = psprintf("%.17g", frame->cols[g].level_value[l]);
				}
			}
			MlEmitOutlier(c, ci, method, k, action, lo, hi, g >= 0 ? frame->cols[g].name : NULL,
						 names, glo, ghi, ngroups, NULL);
		}
		c->rep[ci].outliers = count;
	}
}
