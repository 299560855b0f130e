/*
 * impute_columns.c
 *	  The columns of one imputation run: each column's method (its own
 *	  model, or auto's pick among it, the chain, the forest and their
 *	  blend), the MICE rounds, the fills and the recipe steps. Shared by
 *	  ml_impute (impute.c) and ml_clean's imputation step.
 */
#include "postgres.h"

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

static int
cmp_by_nulls(const void *a, const void *b, void *arg)
{
	MlFrame    *frame = arg;
	int			ca = *(const int *) a,
				cb = *(const int *) b;
	int64		na = frame->cols[ca].nnull,
				nb = frame->cols[cb].nnull;

	if (na != nb)
		return na < nb ? -1 : 1;
	return ca - cb;
}

/* Fewest missing cells first. */
static List *
sort_targets(MlFrame *frame, List *targets)
{
	int			n = list_length(targets);
	int		   *a = palloc(sizeof(int) * (n + 1));
	List	   *sorted = NIL;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, targets)
		a[i++] = lfirst_int(lc);
	qsort_arg(a, n, sizeof(int), cmp_by_nulls, frame);
	for (i = 0; i < n; i++)
		sorted = lappend_int(sorted, a[i]);
	return sorted;
}

static int64
missing_rows(MlColumn *col, int64 nrows, int64 *rows)
{
	int64		n = 0;

	for (int64 r = 0; r < nrows; r++)
		if (col->isnull[r])
			rows[n++] = r;
	return n;
}

/* What fills a column: its own model, the chain, or the forest. */
#define PICK_OWN	0
#define PICK_CHAIN	1
#define PICK_FOREST 2
#define PICK_BLEND	3

/* larger frames: no blend (its own model's out-of-fold scores need small columns) */
#define BLEND_MAX_ROWS 50000
/*
 * How clearly the own model or the chain must beat the blend out of fold
 * to be taken instead, in relative standard errors of a column's holdout
 * (1 / sqrt(cells)). Measured on the corpus (bench/corpus.py, 40 tables,
 * three masks): taking the blend only where it scored strictly lower left
 * auto worse than best(KNN, Iterative) on 23 tables; a margin of one
 * standard error on 16, two on 13; always the blend on 14. An average of
 * two fair estimates rarely loses by much, and on a few dozen cells a
 * lower score is mostly luck.
 */
#define BLEND_SE 2.0

/* Impute one column with an already chosen method; returns the model. */
static MlModel *
impute_one(MlFrame *frame, MlFills *fills, int target, MlImputeOptions *o,
		   double chain_err, double forest_err, const double *chain_oof, int *pick,
		   double *blend_err)
{
	MlColumn   *col = &frame->cols[target];
	MlModel    *m;
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64		n = missing_rows(col, frame->nrows, rows);
	double	   *vals;
	int32	   *lvls;

	if (o->method == ML_METHOD_LOCF || o->method == ML_METHOD_INTERPOLATE)
	{
		m = palloc0(sizeof(MlModel));
		m->method = o->method;
		m->target = target;
		m->error = NAN;
		m->discrete = col->code != NULL && MlColumnIsDiscrete(col);
		MlFillTimeOrdered(frame, fills, target, o, m->discrete);
		return m;
	}
	if (o->method == ML_METHOD_DELETE)
	{
		m = palloc0(sizeof(MlModel));
		m->method = ML_METHOD_DELETE;
		m->target = target;
		m->error = NAN;
		for (int64 i = 0; i < n; i++)
			if (!fills->deleted[rows[i]])
			{
				fills->deleted[rows[i]] = true;
				fills->ndeleted++;
			}
		return m;
	}
	m = MlImputeFit(frame, target, o);
	if (m->method == ML_METHOD_NONE)
		return m;
	if (pick)
	{
		/*
		 * The chain is one candidate, auto's pick the best of many, scored on
		 * the same few cells: the pick's error is the more optimistic, by
		 * about the noise of a holdout of that size. The pick must beat the
		 * chain by that much (1 / (2 sqrt(cells))): 14 % on a column of a
		 * dozen observed cells, 2 % on 500, under 1 % on large tables.
		 */
		double		nobs = (double) (frame->nrows - col->nnull);
		double		scored = nobs < 1000 ? nobs : Min(nobs * o->holdout, 10000);
		double		margin = 0.5 / sqrt(Max(scored, 1));
		/*
		 * The forest, new and flexible, gets no such benefit of the doubt:
		 * it must beat both the pick and the chain by that margin.
		 */
		bool		chain_ok = isfinite(chain_err) &&
			(isnan(m->error) || chain_err < m->error * (1 + margin));
		bool		forest_ok = isfinite(forest_err) &&
			(isnan(m->error) || forest_err < m->error * (1 - margin)) &&
			(!isfinite(chain_err) || forest_err < chain_err * (1 - margin));

		*pick = forest_ok ? PICK_FOREST : chain_ok ? PICK_CHAIN : PICK_OWN;
		if (!forest_ok && chain_oof && m->oof && col->kind == ML_KIND_NUMERIC)
		{
			/*
			 * Both predicted the same cells out of fold (on a column of at
			 * most 400 observed cells the own model's search is scored as a
			 * whole, so neither error flatters; above, its winner's own
			 * folds): the blend, their average, unless one of them beat
			 * it on those cells by more than the noise of so few cells
			 * (BLEND_SE / sqrt(cells)); then the better of the two.
			 */
			double		eo,
						ec,
						eb = MlBlendScore(col, frame->nrows, m->oof, chain_oof, &eo, &ec);

			if (isfinite(eb))
				*pick = (eo >= eb * (1 - BLEND_SE / sqrt(Max(scored, 1))) &&
						 ec >= eb * (1 - BLEND_SE / sqrt(Max(scored, 1)))) ? PICK_BLEND :
					ec <= eo ? PICK_CHAIN : PICK_OWN;
			elog(DEBUG1, "\"%s\": own %.4f, chain %.4f, blend %.4f out of fold", col->name,
				 eo, ec, eb);
			if (*pick == PICK_BLEND)
				*blend_err = eb;
		}
		if (*pick != PICK_OWN)
			return m;
	}
	vals = palloc(sizeof(double) * Max(n, 1));
	lvls = palloc(sizeof(int32) * Max(n, 1));
	if (m->method == ML_METHOD_CONSTANT)
	{
		bool		numeric = !m->discrete && col->kind == ML_KIND_NUMERIC;
		char	   *end;
		double		v = strtod(o->constant_text, &end);
		char	   *canon;

		if (numeric && (*end != '\0' || end == o->constant_text))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("constant \"%s\" is not a number, but column \"%s\" is numeric",
							o->constant_text, col->name)));
		canon = MlConstantParse(col, o->constant_text, &v);
		m->constant_text = canon;
		if (!numeric && col->kind != ML_KIND_DATETIME)
		{
			/* a new level, or an existing one: the text as given */
			if (col->code == NULL || col->level_text == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("method \"constant\" cannot fill column \"%s\"", col->name)));
			m->discrete = true;
			m->fill_level = MlColumnLevel(col, canon, 0);
			if (m->fill_level < 0)
			{
				/* add the level so the fill can be written and reported */
				col->level_text = repalloc(col->level_text, sizeof(char *) * (col->nlevels + 1));
				col->level_text[col->nlevels] = MemoryContextStrdup(GetMemoryChunkContext(col->level_text),
																	canon);
				m->fill_level = col->nlevels++;
			}
			m->tlevel_text = col->level_text;
			m->ntlevels = col->nlevels;
		}
		m->fill = v;
		for (int64 i = 0; i < n; i++)
		{
			vals[i] = v;
			lvls[i] = m->fill_level;
		}
	}
	else
		MlModelPredictRows(frame, m, rows, n, vals, lvls);
	MlFillStore(frame, fills, target, rows, n, vals, lvls, m->discrete);
	return m;
}

/*
 * Apply a model read back from a recipe to this frame's missing cells.
 * Discrete models predict levels of their own list; they are matched to
 * the frame's levels by text (and added when the frame has not seen them).
 */
int64
MlImputeApplyModel(MlFrame *frame, MlFills *fills, MlModel *m, JsonbContainer *obj)
{
	MlColumn   *col = &frame->cols[m->target];
	int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	int64		n;
	double	   *vals;
	int32	   *lvls;
	int			slot;

	if (m->mice_round > 1 && (slot = MlFillSlot(fills, m->target)) >= 0)
	{
		/* a later MICE round refills the column's gaps: its fills forgotten, as in the run */
		for (int64 r = 0; r < frame->nrows; r++)
			if (fills->isset[slot][r])
			{
				col->isnull[r] = true;
				col->x[r] = NAN;
			}
	}
	n = missing_rows(col, frame->nrows, rows);
	vals = palloc(sizeof(double) * Max(n, 1));
	lvls = palloc(sizeof(int32) * Max(n, 1));

	switch (m->method)
	{
		case ML_METHOD_NONE:
			return 0;
		case ML_METHOD_DELETE:
			for (int64 i = 0; i < n; i++)
				if (!fills->deleted[rows[i]])
					fills->deleted[rows[i]] = true, fills->ndeleted++;
			return 0;
		case ML_METHOD_LOCF:
		case ML_METHOD_INTERPOLATE:
			{
				MlImputeOptions o;
				char	   *by = MlOptString(obj, "by", NULL);

				memset(&o, 0, sizeof(o));
				o.method = m->method;
				o.time_column = MlOptString(obj, "time_column", NULL);
				o.by = by ? list_make1(by) : NIL;
				MlFillTimeOrdered(frame, fills, m->target, &o,
								  col->code != NULL && MlColumnIsDiscrete(col));
				slot = MlFillSlot(fills, m->target);
				return slot >= 0 ? fills->filled[slot] : 0;
			}
		case ML_METHOD_MEAN:
		case ML_METHOD_MEDIAN:
		case ML_METHOD_MODE:
		case ML_METHOD_CONSTANT:
			for (int64 i = 0; i < n; i++)
				vals[i] = m->fill, lvls[i] = m->fill_level;
			break;
		case ML_METHOD_FOREST:
			return MlForestApply(frame, fills, m);
		case ML_METHOD_CHAIN:
		case ML_METHOD_BLEND:
			{
				double	  **all = MlChainRun(frame, m);

				for (int c = 0; c < m->nchain; c++)
					if (m->chain[c]->target == m->target && !m->chain[c]->indicator)
					{
						for (int64 i = 0; i < n; i++)
							vals[i] = all[c][rows[i]], lvls[i] = -1;
						if (m->method == ML_METHOD_BLEND)
							MlBlendValues(frame, m, all[c], rows, n, vals);
					}
			}
			break;
		default:
			MlModelPredictRows(frame, m, rows, n, vals, lvls);
			break;
	}
	if (m->discrete && col->kind == ML_KIND_NUMERIC)
	{
		/* numeric codes: the level's text is its value */
		for (int64 i = 0; i < n; i++)
			vals[i] = lvls[i] >= 0 ? strtod(m->tlevel_text[lvls[i]], NULL) : NAN;
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, false);
	}
	else if (m->discrete && col->level_text)
	{
		for (int64 i = 0; i < n; i++)
			lvls[i] = lvls[i] >= 0 ? MlColumnAddLevel(col, m->tlevel_text[lvls[i]]) : -1;
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, true);
	}
	else if (!m->discrete)
		MlFillStore(frame, fills, m->target, rows, n, vals, lvls, false);
	slot = MlFillSlot(fills, m->target);
	return slot >= 0 ? fills->filled[slot] : 0;
}

/*
 * MICE: more rounds, each refitting a column with the others' latest
 * fills. models[0 .. n) are the columns fitted here, in the order they
 * were first fitted (those the forest or the chain fills are not among
 * them); each is refitted as MICE, whatever method o names now (the last
 * column's).
 */
/*
 * A MICE model's recipe step, marked with its round: replayed in the order
 * the run fitted them (every column's first round, then each later round),
 * a round after the first forgetting the column's fills first
 * (MlImputeApplyModel), a recipe gives the run's own fills on rows with
 * several gaps; with the last round's models only, each read the gaps of
 * the columns after it as missing where the run read their fills.
 */
static void report_model(MlFrame *frame, MlFills *fills, MlModel *m, MlImputeOptions *o,
						 StringInfo steps, MlImputeReport *report);

static void
mice_step(MlFrame *frame, MlModel *m, int round, StringInfo steps)
{
	if (steps->len > 1)
		appendStringInfoString(steps, ", ");
	MlModelToJson(frame, m, steps);
	steps->len--;
	appendStringInfo(steps, ", \"mice_round\": %d}", round);
}

#define MICE_ROUNDS 3

static void
mice_rounds(MlFrame *frame, MlFills *fills, int n, MlImputeOptions *o, MlModel **models,
			StringInfo steps, MlImputeReport *report)
{
	MlMethod	method = o->method;

	/* the first round as fitted: the MICE models marked, the others' final */
	for (int i = 0; i < n; i++)
	{
		if (models[i]->method == ML_METHOD_MICE)
			mice_step(frame, models[i], 1, steps);
		else
			report_model(frame, fills, models[i], o, steps, &report[i]);
	}
	o->method = ML_METHOD_MICE;
	for (int round = 2; round <= MICE_ROUNDS; round++)
	{
		for (int i = 0; i < n; i++)
		{
			int			t;
			int			slot;
			MlColumn   *col;

			if (models[i] == NULL || models[i]->method != ML_METHOD_MICE)
				continue;
			t = models[i]->target;
			slot = MlFillSlot(fills, t);
			if (slot < 0)
				continue;
			col = &frame->cols[t];
			/* forget this column's fills, refit, refill */
			for (int64 r = 0; r < frame->nrows; r++)
				if (fills->isset[slot][r])
				{
					col->isnull[r] = true;
					col->x[r] = NAN;
				}
			models[i] = impute_one(frame, fills, t, o, NAN, NAN, NULL, NULL, NULL);
			if (models[i]->method != ML_METHOD_MICE)
				elog(ERROR, "MICE refitted column \"%s\" by another method", col->name);
			if (round < MICE_ROUNDS)
				mice_step(frame, models[i], round, steps);
			else
			{
				/* the last round: the report's line and its marked step */
				report_model(frame, fills, models[i], o, steps, &report[i]);
				steps->len--;
				appendStringInfo(steps, ", \"mice_round\": %d}", round);
			}
			CHECK_FOR_INTERRUPTS();
		}
	}
	o->method = method;
}

/* Report one fitted column and append its model to the recipe steps. */
static void
report_model(MlFrame *frame, MlFills *fills, MlModel *m, MlImputeOptions *o,
			 StringInfo steps, MlImputeReport *report)
{
	int			t = m->target;
	int			slot = MlFillSlot(fills, t);

	report->column = frame->cols[t].name;
	report->filled = slot >= 0 ? fills->filled[slot] : 0;
	report->method = MlModelDescribe(frame, m);
	report->metric = m->metric ? m->metric : "none";
	report->error = m->error;
	if (m->method == ML_METHOD_NONE)
		report->method = "skipped: no observed values";
	if (m->method == ML_METHOD_DELETE)
	{
		report->filled = 0;
		report->method = psprintf("delete (%lld rows)", (long long) frame->cols[t].nnull);
	}
	if (steps->len > 1)
		appendStringInfoString(steps, ", ");
	MlModelToJson(frame, m, steps);
	if (m->method == ML_METHOD_LOCF || m->method == ML_METHOD_INTERPOLATE)
	{
		/* keep the options the method needs on new data */
		steps->len--;
		appendStringInfoString(steps, ", \"time_column\": ");
		escape_json(steps, o->time_column);
		if (o->by)
		{
			appendStringInfoString(steps, ", \"by\": ");
			escape_json(steps, linitial(o->by));
		}
		appendStringInfoChar(steps, '}');
	}
}

/* The method a column gets: its override, or the call's, or mode for categories. */
static MlMethod
column_method(MlFrame *frame, int t, bool explicit, MlMethod base, JsonbContainer *methods,
			  bool notice)
{
	char	   *override = MlOptString(methods, frame->cols[t].name, NULL);
	MlMethod	m = override ? MlMethodFromName(override) : base;

	if (!explicit && !override && frame->cols[t].kind != ML_KIND_NUMERIC &&
		(base == ML_METHOD_MEAN || base == ML_METHOD_MEDIAN || base == ML_METHOD_CHAIN ||
		 base == ML_METHOD_REGRESSION || base == ML_METHOD_MICE))
	{
		/* a numbers-only method over all columns: categories get the mode */
		if (notice)
			ereport(NOTICE,
					(errmsg("column \"%s\" is not numeric: filled with method \"mode\" instead of \"%s\"",
							frame->cols[t].name, MlMethodName(base))));
		m = ML_METHOD_MODE;
	}
	if (m == ML_METHOD_FOREST && MlForestCanFill(&frame->cols[t]) &&
		!MlForestCanSum(&frame->cols[t], frame->nrows))
	{
		/* a property of the values, not of the column: no error, another method */
		if (notice)
			ereport(NOTICE,
					(errmsg("column \"%s\" has values too large for the forest to sum: filled with method \"auto\" instead",
							frame->cols[t].name),
					 errdetail("The forest's trees add a column's values up; these reach the limit of double precision.")));
		m = ML_METHOD_AUTO;
	}
	if (m == ML_METHOD_FOREST && !MlForestCanFill(&frame->cols[t]))
	{
		if (explicit || override)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("method \"forest\" cannot fill column \"%s\" of type %s",
							frame->cols[t].name, format_type_be(frame->cols[t].typid)),
					 errhint("The forest fills numeric columns and categories of at most %d levels.",
							 ML_FOREST_MAX_LEVELS)));
		if (notice)
			ereport(NOTICE,
					(errmsg("column \"%s\" cannot be filled by the forest: filled with method \"auto\" instead",
							frame->cols[t].name)));
		m = ML_METHOD_AUTO;
	}
	if (m == ML_METHOD_CHAIN && frame->cols[t].kind != ML_KIND_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("method \"chain\" needs a numeric column, but \"%s\" is not",
						frame->cols[t].name),
				 errhint("Use mode, groupwise, knn or constant for categorical columns.")));
	return m;
}

/*
 * Columns the chain may fill: those that ask for it, and with 'auto' the
 * numeric columns with gaps (coded whole numbers too, unless declared
 * categorical), when there are at least two. On a large frame the chain is
 * scored on a sample of its rows (MlChainScore).
 * Returns how many, fewest gaps first as in targets.
 */

static int
chain_candidates(MlFrame *frame, List *targets, bool explicit, MlMethod base,
				 JsonbContainer *methods, int *cols, bool *forced)
{
	ListCell   *lc;
	int			n = 0,
				nforced = 0;

	foreach(lc, targets)
	{
		int			t = lfirst_int(lc);
		MlColumn   *col = &frame->cols[t];
		MlMethod	m = column_method(frame, t, explicit, base, methods, false);

		if (col->nnull >= frame->nrows)
			continue;			/* nothing to learn from: reported as such below */
		if (m == ML_METHOD_CHAIN)
		{
			forced[n] = true;
			cols[n++] = t;
			nforced++;
		}
		else if (m == ML_METHOD_AUTO && col->nnull > 0 && col->kind == ML_KIND_NUMERIC &&
				 col->role != ML_ROLE_CATEGORICAL)
		{
			forced[n] = false;
			cols[n++] = t;
		}
	}
	return (n >= 2 || nforced > 0) ? n : 0;
}

/*
 * Columns the forest may fill: those that ask for it, and with 'auto'
 * every numeric or few-level categorical column with gaps, on tables of
 * FOREST_AUTO_MIN_ROWS rows or more (on fewer, a forest's holdout error is
 * too noisy to choose it by: measured on the corpus, it lost more tables
 * of 16-32 rows than it won) and at most FOREST_AUTO_MAX_ROWS (above, its
 * fit and its rounds over every gap cost more than auto's time: 3.2 s
 * instead of 1.4 s on the 197,428-row reference table, whose columns it did
 * not win). Returns how many, fewest gaps first.
 */
#define FOREST_AUTO_MIN_ROWS 40
#define FOREST_AUTO_MAX_ROWS 20000

static int
forest_candidates(MlFrame *frame, List *targets, bool explicit, MlMethod base,
				  JsonbContainer *methods, int *cols, bool *forced)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, targets)
	{
		int			t = lfirst_int(lc);
		MlColumn   *col = &frame->cols[t];
		MlMethod	m = column_method(frame, t, explicit, base, methods, false);

		if (col->nnull >= frame->nrows)
			continue;			/* nothing to learn from: reported as such below */
		if (m == ML_METHOD_FOREST)
		{
			forced[n] = true;
			cols[n++] = t;
		}
		else if (m == ML_METHOD_AUTO && col->nnull > 0 && MlForestCanFill(col) &&
				 MlForestCanSum(col, frame->nrows) &&
				 col->kind != ML_KIND_DATETIME && frame->nrows >= FOREST_AUTO_MIN_ROWS &&
				 frame->nrows <= FOREST_AUTO_MAX_ROWS)
		{
			forced[n] = false;
			cols[n++] = t;
		}
	}
	return n;
}

/* Fit the forest over the columns that took it and fill them all (the lead's step). */
static int
forest_fill(MlFrame *frame, MlFills *fills, const int *cols, const double *err, int n,
			bool forced, MlImputeOptions *o, StringInfo steps, MlImputeReport *report, int nrep,
			MemoryContext outer)
{
	TimestampTz start = GetCurrentTimestamp();
	MlModel   **models = MlForestFit(frame, cols, n, o, err, forced);

	(void) MlForestApply(frame, fills, models[0]);
	o->method = ML_METHOD_FOREST;
	for (int i = 0; i < n; i++)
	{
		MlImputeReport r;

		report_model(frame, fills, models[i], o, steps, &r);
		report[nrep].column = MemoryContextStrdup(outer, r.column);
		report[nrep].filled = r.filled;
		report[nrep].method = MemoryContextStrdup(outer, r.method);
		report[nrep].metric = r.metric;
		report[nrep].error = r.error;
		nrep++;
	}
	elog(DEBUG1, "filled %d columns by the forest in %.3f s", n,
		 (double) (GetCurrentTimestamp() - start) / 1e6);
	return nrep;
}

/*
 * Impute the target columns in order of how many cells they miss, fewest
 * first, so each later column can use the ones filled before it. Each
 * column is fitted in a memory context of its own, deleted once its fills,
 * report line and recipe step are kept (MICE keeps its models for the
 * later rounds). Columns the chain fills (it won their holdout, or they
 * asked for it) come last, all at once: their fills, steps and report
 * lines follow the others'. Returns how many report lines were written.
 */
int
MlImputeColumns(MlFrame *frame, MlFills *fills, List *targets, bool explicit,
				MlImputeOptions *o, JsonbContainer *methods, StringInfo steps,
				MlImputeReport *report)
{
	ListCell   *lc;
	int			n = 0;
	int			ntargets = list_length(targets);
	MlModel   **models = palloc0(sizeof(MlModel *) * (ntargets + 1));
	MlMethod	base = o->method;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext fitcxt = AllocSetContextCreate(outer, "ml_impute column", ALLOCSET_DEFAULT_SIZES);
	int		   *ccols = palloc(sizeof(int) * (ntargets + 1));
	bool	   *cforced = palloc(sizeof(bool) * (ntargets + 1));
	double	   *cerr = palloc(sizeof(double) * (ntargets + 1));
	int			nc;
	int		   *scols = palloc(sizeof(int) * (ntargets + 1));
	double	   *serr = palloc(sizeof(double) * (ntargets + 1));
	int			ns = 0;
	int		   *fcols = palloc(sizeof(int) * (ntargets + 1));
	bool	   *fforced = palloc(sizeof(bool) * (ntargets + 1));
	double	   *ferr = palloc(sizeof(double) * (ntargets + 1));
	int			nf;
	int		   *fscols = palloc(sizeof(int) * (ntargets + 1));
	double	   *fserr = palloc(sizeof(double) * (ntargets + 1));
	int			nfs = 0;
	bool		fasked = false; /* a column asked for the forest */
	double	  **coof = NULL;	/* the chain's out-of-fold predictions, for blends */
	MlModel   **sown = palloc0(sizeof(MlModel *) * (ntargets + 1));	/* blends' own models */
	List	   *kept = NIL;		/* their contexts */

	targets = sort_targets(frame, targets);
	nc = chain_candidates(frame, targets, explicit, base, methods, ccols, cforced);
	if (nc > 0)
	{
		TimestampTz start = GetCurrentTimestamp();

		if (frame->nrows <= BLEND_MAX_ROWS)
		{
			coof = palloc(sizeof(double *) * nc);
			for (int i = 0; i < nc; i++)
				coof[i] = palloc(sizeof(double) * Max(frame->nrows, 1));
		}
		MlChainScore(frame, ccols, nc, o, cerr, coof);
		MlProgress("scored chained regressions over %d columns", nc);
		elog(DEBUG1, "scored the chain over %d columns in %.3f s", nc,
			 (double) (GetCurrentTimestamp() - start) / 1e6);
	}
	nf = forest_candidates(frame, targets, explicit, base, methods, fcols, fforced);
	if (nf > 0)
	{
		TimestampTz start = GetCurrentTimestamp();

		if (MlForestScore(frame, fcols, nf, o, ferr))
			MlProgress("scored the forest over %d columns", nf);
		elog(DEBUG1, "scored the forest over %d columns in %.3f s", nf,
			 (double) (GetCurrentTimestamp() - start) / 1e6);
	}
	foreach(lc, targets)
	{
		int			t = lfirst_int(lc);
		TimestampTz start = GetCurrentTimestamp();
		double		chain_err = NAN,
					forest_err = NAN,
					blend_err = NAN;
		const double *chain_oof = NULL;
		bool		chained = false,
					forested = false;
		bool		candidate = false;
		int			pick = PICK_OWN;

		o->method = column_method(frame, t, explicit, base, methods, true);
		for (int i = 0; i < nc; i++)
			if (ccols[i] == t)
			{
				candidate = true;
				chain_err = cerr[i];
				chained = cforced[i];
				chain_oof = coof ? coof[i] : NULL;
			}
		for (int i = 0; i < nf; i++)
			if (fcols[i] == t)
			{
				candidate = true;
				forest_err = ferr[i];
				forested = fforced[i];
			}
		if (chained)
			pick = PICK_CHAIN;
		else if (forested)
			pick = PICK_FOREST;
		else
		{
			if (base != ML_METHOD_MICE)
				MemoryContextSwitchTo(fitcxt);
			models[n] = impute_one(frame, fills, t, o, chain_err, forest_err, chain_oof,
								   candidate ? &pick : NULL, &blend_err);
			if (pick == PICK_BLEND)
			{
				/* its own model lives on, in its context, until the chain fills */
				MemoryContextSwitchTo(outer);
				sown[ns] = models[n];
				kept = lappend(kept, fitcxt);
				fitcxt = AllocSetContextCreate(outer, "ml_impute column", ALLOCSET_DEFAULT_SIZES);
				models[n] = NULL;
			}
			else if (pick != PICK_OWN)
			{
				/* the chain or the forest fills it, with the others, after the loop */
				MemoryContextSwitchTo(outer);
				MemoryContextReset(fitcxt);
				models[n] = NULL;
			}
		}
		if (pick == PICK_CHAIN || pick == PICK_BLEND)
		{
			scols[ns] = t;
			serr[ns++] = pick == PICK_BLEND ? blend_err : chain_err;
			continue;
		}
		if (pick == PICK_FOREST)
		{
			fasked |= forested;
			fscols[nfs] = t;
			fserr[nfs++] = forest_err;
			continue;
		}
		MlProgress("imputed column \"%s\" (%d of %d)", frame->cols[t].name, n + ns + 1,
				   ntargets);
		elog(DEBUG1, "imputed \"%s\" in %.3f s", frame->cols[t].name,
			 (double) (GetCurrentTimestamp() - start) / 1e6);
		if (models[n]->method == ML_METHOD_NONE)
		{
			if (o->method != ML_METHOD_AUTO)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" has no observed values to impute from",
								frame->cols[t].name),
						 errhint("Use method => 'constant' with options => '{\"value\": ...}', or leave the column out.")));
			ereport(NOTICE,
					(errmsg("column \"%s\" has no observed values, left as it is",
							frame->cols[t].name)));
		}
		if (base != ML_METHOD_MICE)
		{
			MlImputeReport r;

			report_model(frame, fills, models[n], o, steps, &r);
			MemoryContextSwitchTo(outer);
			report[n].column = r.column;
			report[n].filled = r.filled;
			report[n].method = pstrdup(r.method);
			report[n].metric = r.metric;
			report[n].error = r.error;
			MemoryContextReset(fitcxt);
			models[n] = NULL;
		}
		n++;
		CHECK_FOR_INTERRUPTS();
	}
	if (base == ML_METHOD_MICE)
		mice_rounds(frame, fills, n, o, models, steps, report);
	/*
	 * The forest first: its trees take the chain's gaps as missing, where
	 * the chain would read the forest's gaps as means.
	 */
	if (nfs > 0)
	{
		MemoryContextSwitchTo(fitcxt);
		n = forest_fill(frame, fills, fscols, fserr, nfs, fasked, o, steps, report, n, outer);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(fitcxt);
	}
	if (ns > 0)
	{
		TimestampTz start = GetCurrentTimestamp();
		MlModel   **chain;
		double	  **values;

		MemoryContextSwitchTo(fitcxt);
		chain = MlChainFit(frame, scols, ns, o, serr);
		values = MlChainRun(frame, chain[0]);
		for (int i = 0; i < ns; i++)
		{
			MlColumn   *col = &frame->cols[scols[i]];
			int64	   *rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
			double	   *vals = palloc(sizeof(double) * Max(frame->nrows, 1));
			int64		nr = missing_rows(col, frame->nrows, rows);
			const double *mine = values[MlChainMemberOf(chain[0], scols[i])];

			for (int64 k = 0; k < nr; k++)
				vals[k] = mine[rows[k]];
			if (sown[i])
			{
				/*
				 * a blend: its own model predicts from the frame with the
				 * columns before it filled, as the recipe's steps replay it
				 */
				chain[i] = MlBlendModel(chain[i], sown[i], serr[i]);
				MlBlendValues(frame, chain[i], mine, rows, nr, vals);
			}
			MlFillStore(frame, fills, scols[i], rows, nr, vals, NULL, false);
		}
		o->method = ML_METHOD_CHAIN;
		for (int i = 0; i < ns; i++)
		{
			MlImputeReport r;

			report_model(frame, fills, chain[i], o, steps, &r);
			report[n].column = MemoryContextStrdup(outer, r.column);
			report[n].filled = r.filled;
			report[n].method = MemoryContextStrdup(outer, r.method);
			report[n].metric = r.metric;
			report[n].error = r.error;
			n++;
		}
		MemoryContextSwitchTo(outer);
		MemoryContextReset(fitcxt);
		elog(DEBUG1, "filled %d columns by the chain in %.3f s", ns,
			 (double) (GetCurrentTimestamp() - start) / 1e6);
	}
	o->method = base;
	MemoryContextDelete(fitcxt);
	foreach(lc, kept)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	return n;
}
