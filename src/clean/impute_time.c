/*
 * impute_time.c
 *	  Time-ordered fills: last observation carried forward and linear
 *	  interpolation along a time column, optionally per group.
 */
#include "postgres.h"

#include <math.h>

#include <math.h>
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/regproc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "core/catalog.h"
#include "clean/cleaning.h"
#include "clean/impute.h"
#include "core/options.h"
#include "core/progress.h"

/*
 * Time-ordered filling: rows sorted by (group, time); a missing cell takes
 * the last observed value before it (locf) or the straight line between
 * its observed neighbours in time (interpolate). Cells before the first or
 * after the last observation take the nearest one.
 */
typedef struct TimeSortCtx
{
	const double *t;
	const int32 *g;
} TimeSortCtx;

static int
cmp_time(const void *a, const void *b, void *arg)
{
	TimeSortCtx *ctx = arg;
	int64		i = *(const int64 *) a,
				j = *(const int64 *) b;
	int32		gi = ctx->g ? ctx->g[i] : 0,
				gj = ctx->g ? ctx->g[j] : 0;

	if (gi != gj)
		return gi < gj ? -1 : 1;
	if (ctx->t[i] != ctx->t[j] && !(isnan(ctx->t[i]) && isnan(ctx->t[j])))
		return isnan(ctx->t[i]) ? 1 : isnan(ctx->t[j]) ? -1 : (ctx->t[i] < ctx->t[j] ? -1 : 1);
	return (i > j) - (i < j);
}

void
MlFillTimeOrdered(MlFrame *frame, MlFills *fills, int target, MlImputeOptions *o, bool discrete)
{
	MlColumn   *col = &frame->cols[target];
	int			tc = MlFrameColumn(frame, o->time_column);
	int			gc = o->by ? MlFrameColumn(frame, linitial(o->by)) : -1;
	int64	   *order = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	double	   *vals = palloc(sizeof(double) * Max(frame->nrows, 1));
	int32	   *lvls = palloc(sizeof(int32) * Max(frame->nrows, 1));
	TimeSortCtx ctx;
	int64		n = 0;

	if (tc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" in option \"time_column\" does not exist", o->time_column)));
	if (gc >= 0 && frame->cols[gc].code == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" has too many distinct values to group by", frame->cols[gc].name)));
	ctx.t = frame->cols[tc].x;
	ctx.g = gc >= 0 ? frame->cols[gc].code : NULL;
	for (int64 r = 0; r < frame->nrows; r++)
		order[r] = r;
	qsort_arg(order, frame->nrows, sizeof(int64), cmp_time, &ctx);

	for (int64 start = 0; start < frame->nrows;)
	{
		int64		end = start;
		int64		prev = -1;
		int64		nextpos = start;	/* where the next observation is, or end */

		while (end < frame->nrows && (ctx.g == NULL || ctx.g[order[end]] == ctx.g[order[start]]))
			end++;
		/* one pass: the next observation is found once per run of gaps */
		for (int64 i = start; i < end; i++)
		{
			int64		r = order[i];
			int64		next;

			if ((i & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			if (!col->isnull[r])
			{
				prev = r;
				continue;
			}
			if (nextpos <= i)
			{
				nextpos = i + 1;
				while (nextpos < end && col->isnull[order[nextpos]])
					nextpos++;
			}
			next = nextpos < end ? order[nextpos] : -1;
			if (prev < 0 && next < 0)
				continue;
			rows[n] = r;
			lvls[n] = -1;
			if (discrete || o->method == ML_METHOD_LOCF || prev < 0 || next < 0 ||
				ctx.t[next] == ctx.t[prev] || isnan(ctx.t[r]))
			{
				int64		src = prev >= 0 ? prev : next;

				vals[n] = col->x[src];
				lvls[n] = col->code ? col->code[src] : -1;
			}
			else
				vals[n] = col->x[prev] + (col->x[next] - col->x[prev]) *
					(ctx.t[r] - ctx.t[prev]) / (ctx.t[next] - ctx.t[prev]);
			n++;
		}
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	MlFillStore(frame, fills, target, rows, n, vals, lvls, discrete);
}
