/*
 * step_datetime.c
 *	  The datetime step: calendar parts, cyclical encodings and elapsed
 *	  time between datetime columns.
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

const char *const MlDatetimeKeys[] = {
	"parts", "cyclical", "elapsed", "columns", "skip", "keep_original", NULL
};

static const struct
{
	const char *name;
	const char *expr;			/* %s: the value */
	const char *date_expr;		/* the same on a date (no cast to timestamp) */
	double		period;			/* for cyclical encodings, 0 if none */
	const char *ts_unit;		/* date_part's unit on a timestamp column, or NULL */
}			dt_parts[] =
{
	/*
	 * EXTRACT, not date_part: on a date it needs no cast to timestamp (which
	 * fails beyond the timestamp range); whole-number parts through the
	 * never-failing int4 cast, so an infinite value gives NULL parts.
	 */
	{"year", "mlops.try_round_int4(EXTRACT(year FROM %s))", NULL, 0, "year"},
	{"month", "mlops.try_round_int4(EXTRACT(month FROM %s))", NULL, 12, "month"},
	{"day", "mlops.try_round_int4(EXTRACT(day FROM %s))", NULL, 0, "day"},
	{"hour", "mlops.try_round_int4(EXTRACT(hour FROM %s))",
	"CASE WHEN pg_catalog.isfinite(%s) THEN 0 END", 24, "hour"},
	{"minute", "mlops.try_round_int4(EXTRACT(minute FROM %s))",
	"CASE WHEN pg_catalog.isfinite(%s) THEN 0 END", 0, "minute"},
	{"second", "EXTRACT(second FROM %s)::pg_catalog.float8",
	"CASE WHEN pg_catalog.isfinite(%s) THEN 0::pg_catalog.float8 END", 0, NULL},
	{"dow", "mlops.try_round_int4(EXTRACT(dow FROM %s))", NULL, 7, "dow"},
	{"doy", "mlops.try_round_int4(EXTRACT(doy FROM %s))", NULL, 0, "doy"},
	{"week", "mlops.try_round_int4(EXTRACT(week FROM %s))", NULL, 0, "week"},
	{"weekend", "(EXTRACT(isodow FROM %s) OPERATOR(pg_catalog.>=) 6)", NULL, 0, NULL}
};

/*
 * The expression of a part over the column's (possibly cast) value. On a
 * timestamp column read as it is, whole-number parts come from date_part
 * instead: for a finite value it gives the same whole number as EXTRACT,
 * as a float8 (no numeric to build and round on every row); an infinite
 * value gets NULL as through try_round_int4, and isodow is NULL for it in
 * both.
 */
static char *
part_expr(Clean *c, int ci, int i)
{
	Oid			base = getBaseType(c->frame->cols[ci].typid);
	bool		is_date = base == DATEOID && c->rep[ci].cast == NULL;
	bool		is_ts = (base == TIMESTAMPOID || base == TIMESTAMPTZOID) && c->rep[ci].cast == NULL;
	const char *e = c->source_expr[ci];

	if (is_ts && dt_parts[i].ts_unit)
		return psprintf("CASE WHEN pg_catalog.isfinite(%s) THEN pg_catalog.date_part('%s', %s)::pg_catalog.int4 END",
						e, dt_parts[i].ts_unit, e);
	if (is_ts && strcmp(dt_parts[i].name, "weekend") == 0)
		return psprintf("(pg_catalog.date_part('isodow', %s) OPERATOR(pg_catalog.>=) 6)", e);
	return psprintf(is_date && dt_parts[i].date_expr ? dt_parts[i].date_expr : dt_parts[i].expr, e);
}

/*
 * Datetime parts of one column (also used to replay a recipe): parts are
 * names from dt_parts, optionally with a "_sin" or "_cos" suffix for the
 * cyclical encodings. Leaves the step's JSON open for the caller.
 */
void
MlEmitDatetime(Clean *c, int ci, List *parts, List *names)
{
	ListCell   *lp,
			   *ln;

	MlCleanStepOpen(c, "datetime", &c->frame->cols[ci]);
	forboth(lp, parts, ln, names)
	{
		char	   *p = lfirst(lp);
		int			len = strlen(p);
		int			variant = len > 4 && strcmp(p + len - 4, "_sin") == 0 ? 1 :
			len > 4 && strcmp(p + len - 4, "_cos") == 0 ? 2 : 0;
		int			i;

		for (i = 0; i < (int) lengthof(dt_parts); i++)
			if (strncmp(dt_parts[i].name, p, variant ? len - 4 : len) == 0 &&
				(int) strlen(dt_parts[i].name) == (variant ? len - 4 : len))
				break;
		if (i == (int) lengthof(dt_parts) || (variant && dt_parts[i].period == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown datetime part \"%s\"", p)));
		if (variant == 0)
			MlCleanAddOutput(c, ci, lfirst(ln), part_expr(c, ci, i));
		else
			MlCleanAddOutput(c, ci, lfirst(ln),
					   psprintf("pg_catalog.%s(%.17g * %s)", variant == 1 ? "sin" : "cos",
								2 * M_PI / dt_parts[i].period, part_expr(c, ci, i)));
	}
	appendStringInfoString(&c->steps, ", \"parts\": [");
	foreach(lp, parts)
	{
		appendStringInfoString(&c->steps, foreach_current_index(lp) ? ", " : "");
		escape_json(&c->steps, lfirst(lp));
	}
	appendStringInfoString(&c->steps, "], \"names\": [");
	foreach(ln, names)
	{
		appendStringInfoString(&c->steps, foreach_current_index(ln) ? ", " : "");
		escape_json(&c->steps, lfirst(ln));
	}
	appendStringInfoChar(&c->steps, ']');
}

/* Seconds from column a to column b (also used to replay a recipe). */
void
MlEmitElapsed(Clean *c, int a, int b, char *name)
{
	/* EXTRACT reads a date without a cast to timestamp, which far dates fail */
	MlCleanAddOutput(c, b, name, psprintf("(EXTRACT(epoch FROM %s) OPERATOR(pg_catalog.-) "
										  "EXTRACT(epoch FROM %s))::pg_catalog.float8",
										  c->source_expr[b], c->source_expr[a]));
	MlCleanStepOpen(c, "elapsed", &c->frame->cols[b]);
	appendStringInfoString(&c->steps, ", \"from\": ");
	escape_json(&c->steps, c->frame->cols[a].name);
	appendStringInfoString(&c->steps, ", \"name\": ");
	escape_json(&c->steps, name);
	appendStringInfoChar(&c->steps, '}');
}

void
MlStepDatetime(Clean *c, JsonbContainer *st)
{
	MlFrame    *frame = c->frame;
	List	   *parts = MlOptStringList(st, "parts");
	bool		cyclical = MlOptBool(st, "cyclical", false);
	bool		elapsed = MlOptBool(st, "elapsed", true);
	bool		keep = MlOptBool(st, "keep_original", true);
	ListCell   *lc;
	int		   *dts = palloc(sizeof(int) * Max(frame->ncols, 1));
	int			ndt = 0;

	if (parts == NIL)
		parts = list_make5("year", "month", "day", "hour", "dow");
	if (MlOptGet(st, "parts") == NULL)
		parts = lappend(parts, "weekend");
	foreach(lc, parts)
	{
		int			i;

		for (i = 0; i < (int) lengthof(dt_parts); i++)
			if (strcmp(dt_parts[i].name, lfirst(lc)) == 0)
				break;
		if (i == (int) lengthof(dt_parts))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown datetime part \"%s\"", (char *) lfirst(lc)),
					 errhint("Valid parts are: year, month, day, hour, minute, second, dow, doy, week, weekend.")));
	}

	for (int ci = 0; ci < frame->ncols; ci++)
	{
		MlColumn   *col = &frame->cols[ci];

		if (col->kind != ML_KIND_DATETIME || !MlCleanStepWants(st, col))
			continue;
		dts[ndt++] = ci;
		{
			List	   *names = NIL,
					   *pnames = NIL;

			foreach(lc, parts)
			{
				names = lappend(names, MlCleanNewName(c, col->name, lfirst(lc)));
				pnames = lappend(pnames, lfirst(lc));
				for (int i = 0; cyclical && i < (int) lengthof(dt_parts); i++)
					if (strcmp(dt_parts[i].name, lfirst(lc)) == 0 && dt_parts[i].period > 0)
					{
						/* sin/cos so that 23h sits next to 0h */
						names = lappend(names, MlCleanNewName(c, col->name, psprintf("%s_sin", dt_parts[i].name)));
						pnames = lappend(pnames, psprintf("%s_sin", dt_parts[i].name));
						names = lappend(names, MlCleanNewName(c, col->name, psprintf("%s_cos", dt_parts[i].name)));
						pnames = lappend(pnames, psprintf("%s_cos", dt_parts[i].name));
					}
			}
			MlEmitDatetime(c, ci, pnames, names);
		}
		appendStringInfo(&c->steps, ", \"keep_original\": %s}", keep ? "true" : "false");
		if (!keep)
		{
			c->keep_source[ci] = false;
			c->rep[ci].dropped = true;
		}
	}
	/* elapsed seconds between datetime columns (the first four) */
	for (int i = 0; elapsed && i < Min(ndt, 4); i++)
		for (int j = i + 1; j < Min(ndt, 4); j++)
		{
			MlColumn   *a = &frame->cols[dts[i]],
					   *b = &frame->cols[dts[j]];

			MlEmitElapsed(c, dts[i], dts[j], MlCleanNewName(c, b->name, psprintf("minus_%s", a->name)));
		}
}
