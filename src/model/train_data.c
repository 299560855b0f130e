/*
 * train_data.c
 *	  What ml_train learns from: the target and its classes, the feature
 *	  columns (and why the others are left out), the split.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/float.h"

#include "model/metrics.h"
#include "model/train.h"

/*
 * Classes of a classification target: its levels (text, boolean) or its
 * distinct values in order (numbers). y gets the class index per row.
 */
static void
target_classes(MlTrainData *td, MlColumn *t, const int64 *rows, int64 n)
{
	if (t->kind == ML_KIND_CATEGORICAL)
	{
		/* levels in text order, so class indexes do not depend on row order */
		int			*order = palloc(sizeof(int) * Max(t->nlevels, 1));
		int			*pos = palloc(sizeof(int) * Max(t->nlevels, 1));

		for (int k = 0; k < t->nlevels; k++)
			order[k] = k;
		for (int a = 1; a < t->nlevels; a++)
			for (int b = a; b > 0 && strcmp(t->level_text[order[b - 1]], t->level_text[order[b]]) > 0; b--)
			{
				int			x = order[b];

				order[b] = order[b - 1];
				order[b - 1] = x;
			}
		td->nclass = t->nlevels;
		td->classes = palloc(sizeof(char *) * Max(t->nlevels, 1));
		for (int k = 0; k < t->nlevels; k++)
		{
			td->classes[k] = t->level_text[order[k]];
			pos[order[k]] = k;
		}
		for (int64 i = 0; i < n; i++)
			td->y[i] = pos[t->code[rows[i]]];
		return;
	}
	{
		double	   *v = palloc(sizeof(double) * Max(n, 1));
		int64		m = 0;

		for (int64 i = 0; i < n; i++)
			v[i] = t->x[rows[i]];
		qsort(v, n, sizeof(double), MlCmpDouble);
		for (int64 i = 0; i < n; i++)
			if (i == 0 || v[i] != v[m - 1])
				v[m++] = v[i];
		if (m > ML_MAX_CLASSES)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target \"%s\" has " INT64_FORMAT " distinct values, too many classes (at most %d)",
							t->name, m, ML_MAX_CLASSES),
					 errhint("A numeric target with many values is a regression project.")));
		td->nclass = (int) m;
		td->classes = palloc(sizeof(char *) * Max(m, 1));
		for (int64 k = 0; k < m; k++)
			td->classes[k] = float8out_internal(v[k]);
		for (int64 i = 0; i < n; i++)
		{
			double		x = t->x[rows[i]];
			int64		lo = 0,
						hi = m - 1;

			while (lo < hi)
			{
				int64		mid = (lo + hi) / 2;

				if (v[mid] < x)
					lo = mid + 1;
				else
					hi = mid;
			}
			td->y[i] = (double) lo;
		}
	}
}

int
MlCmpDouble(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : (x > y);
}

/* Rows with a target, the target as y; errors for targets we cannot learn. */
void
MlTrainTarget(MlTrainData *td, MlFrame *frame, int tcol, bool classification)
{
	MlColumn   *t = &frame->cols[tcol];
	int64		bad = 0;

	td->rows = palloc(sizeof(int64) * Max(frame->nrows, 1));
	td->nrows = 0;
	if (!classification && t->kind != ML_KIND_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target \"%s\" of a regression project must be numeric, not %s",
						t->name, format_type_be(t->typid)),
				 errhint("Create a classification project for a categorical target.")));
	if (classification && t->kind != ML_KIND_NUMERIC && t->kind != ML_KIND_CATEGORICAL &&
		t->kind != ML_KIND_TEXT)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("target \"%s\" of type %s cannot be a class label",
						t->name, format_type_be(t->typid))));
	for (int64 i = 0; i < frame->nrows; i++)
	{
		if (t->isnull[i])
			continue;
		if (t->kind == ML_KIND_NUMERIC && !isfinite(t->x[i]))
		{
			bad++;
			continue;
		}
		td->rows[td->nrows++] = i;
	}
	if (bad > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\" holds NaN or infinite values in " INT64_FORMAT " rows", t->name, bad),
				 errhint("Exclude those rows with a view, or clean the column first.")));
	td->skipped_rows = frame->nrows - td->nrows;
	if (td->nrows < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\" has " INT64_FORMAT " rows with a value; training needs at least 2",
						t->name, td->nrows)));
	td->y = palloc(sizeof(double) * td->nrows);
	if (!classification)
	{
		for (int64 i = 0; i < td->nrows; i++)
			td->y[i] = t->x[td->rows[i]];
		return;
	}
	if (t->kind == ML_KIND_TEXT)
		t->kind = ML_KIND_CATEGORICAL;	/* a label column may have many levels */
	target_classes(td, t, td->rows, td->nrows);
	if (td->nclass < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target \"%s\" has a single class: there is nothing to classify", t->name)));
}

/* |correlation| of a numeric column with the target over the used rows. */
static double
abs_correlation(MlColumn *c, MlTrainData *td)
{
	double		sx = 0,
				sy = 0,
				sxx = 0,
				syy = 0,
				sxy = 0;
	int64		n = 0;

	for (int64 i = 0; i < td->nrows; i++)
	{
		double		x = c->x[td->rows[i]];
		double		y = td->y[i];

		if (!isfinite(x))
			continue;
		n++;
		sx += x;
		sy += y;
		sxx += x * x;
		syy += y * y;
		sxy += x * y;
	}
	if (n < 3)
		return 0;
	{
		double		vx = sxx - sx * sx / n,
					vy = syy - sy * sy / n;

		if (vx <= 0 || vy <= 0)
			return 0;
		return fabs((sxy - sx * sy / n) / sqrt(vx * vy));
	}
}

/*
 * A key the frame could not tell for its number of levels: an integer
 * column (no code: more distinct whole numbers than the frame codes) whose
 * values are all distinct. A sample of the values is checked first, so
 * only a column that looks like a key is sorted whole.
 */
static bool
uncoded_key(MlColumn *col, int64 nrows)
{
	Oid			base = col->basetype;
	int64		nonnull = nrows - col->nnull;
	int64		m = 0,
				step;
	double	   *v;
	bool		distinct = true;

	if (col->kind != ML_KIND_NUMERIC || col->code != NULL || !col->integral || nonnull < 20 ||
		col->ninfinite > 0 || (base != INT2OID && base != INT4OID && base != INT8OID && base != NUMERICOID))
		return false;
	v = palloc(sizeof(double) * nonnull);
	/* every step-th value first (about 10000), then all */
	for (step = Max(1, nrows / 10000);; step = 1)
	{
		m = 0;
		for (int64 i = 0; i < nrows; i += step)
			if (!col->isnull[i])
				v[m++] = col->x[i];
		qsort(v, m, sizeof(double), MlCmpDouble);
		for (int64 i = 1; i < m && distinct; i++)
			distinct = v[i] != v[i - 1];
		if (!distinct || step == 1)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	pfree(v);
	return distinct;
}

static void
skip(MlTrainData *td, const char *name, const char *why)
{
	td->skipped = lappend(td->skipped, psprintf("%s: %s", name, why));
}

/*
 * Feature columns: every loaded column but the target and the split
 * columns, less identifiers, free text, columns without any value, and
 * numeric columns that are the target again (|r| > 0.99999: derived from
 * it, so they would leak the answer).
 */
void
MlTrainFeatures(MlTrainData *td, MlFrame *frame, int tcol, int holdout_col, bool explicit_list)
{
	td->features = NIL;
	for (int c = 0; c < frame->ncols; c++)
	{
		MlColumn   *col = &frame->cols[c];

		if (c == tcol || c == holdout_col)
			continue;
		if (!explicit_list && (col->identifier || uncoded_key(col, frame->nrows)))
			skip(td, col->name, "identifier");
		else if (col->kind == ML_KIND_TEXT)
			skip(td, col->name, "free text");
		else if (col->nnull == frame->nrows)
			skip(td, col->name, "no values");
		else if (td->task == ML_TASK_REGRESSION && col->kind == ML_KIND_NUMERIC &&
				 abs_correlation(col, td) > 0.99999)
			skip(td, col->name, "derived from the target");
		else
			td->features = lappend_int(td->features, c);
	}
	if (td->features == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no column of the relation can be a feature"),
				 errdetail("Left out: %s.", td->skipped ? MlJoinList(td->skipped) : "every column")));
}

bool
MlInList(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* The version's training members: , "skipped": [...], "classes": [...] */
void
MlTrainListsJson(MlTrainData *td, StringInfo out)
{
	ListCell   *lc;

	appendStringInfoString(out, ", \"skipped\": [");
	foreach(lc, td->skipped)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, lfirst(lc));
	}
	appendStringInfoString(out, "], \"classes\": [");
	for (int c = 0; c < td->nclass; c++)
	{
		if (c > 0)
			appendStringInfoString(out, ", ");
		escape_json(out, td->classes[c]);
	}
	appendStringInfoChar(out, ']');
}

char *
MlJoinList(List *items)
{
	StringInfoData s;
	ListCell   *lc;

	initStringInfo(&s);
	foreach(lc, items)
		appendStringInfo(&s, "%s%s", s.len ? ", " : "", (char *) lfirst(lc));
	return s.data;
}

/*
 * Assign every used row a fold: 0 = train, 1 = test for a holdout (by
 * seeded shuffle, the latest rows by time, or a boolean column); 0..k-1
 * for k folds.
 */
void
MlTrainSplit(MlTrainData *td, MlFrame *frame, MlTrainOptions *o)
{
	int64		n = td->nrows;
	int64	   *perm = palloc(sizeof(int64) * n);
	pg_prng_state rng;

	td->fold = palloc0(sizeof(int) * n);
	pg_prng_seed(&rng, (uint64) o->seed);
	for (int64 i = 0; i < n; i++)
		perm[i] = i;
	if (o->holdout_col >= 0)
	{
		MlColumn   *h = &frame->cols[o->holdout_col];

		for (int64 i = 0; i < n; i++)
		{
			int64		row = td->rows[i];

			td->fold[i] = (!h->isnull[row] && h->code[row] >= 0 &&
						   strcmp(h->level_text[h->code[row]], "t") == 0) ? 1 : 0;
		}
	}
	else if (o->time_col >= 0)
	{
		MlColumn   *tc = &frame->cols[o->time_col];
		double	   *key = palloc(sizeof(double) * n);
		int64		ntest = (int64) ceil(n * o->test_size);

		for (int64 i = 0; i < n; i++)
			key[i] = tc->isnull[td->rows[i]] ? -INFINITY : tc->x[td->rows[i]];
		qsort_arg(perm, n, sizeof(int64), MlCmpIndexByDouble, key);
		for (int64 i = n - ntest; i < n; i++)
			td->fold[perm[i]] = 1;
		pfree(key);
	}
	else
	{
		for (int64 i = n - 1; i > 0; i--)
		{
			int64		j = (int64) pg_prng_uint64_range(&rng, 0, i);
			int64		x = perm[i];

			perm[i] = perm[j];
			perm[j] = x;
		}
		if (o->folds > 1)
			for (int64 i = 0; i < n; i++)
				td->fold[perm[i]] = (int) (i % o->folds);
		else
		{
			int64		ntest = (int64) ceil(n * o->test_size);

			for (int64 i = 0; i < ntest; i++)
				td->fold[perm[i]] = 1;
		}
	}
	pfree(perm);
}

/*
 * The design of some of td's rows (indexes into td), target included: the
 * training or test side of ml_train's split, or of one group's.
 */
MlDesign *
MlTrainDesign(MlEncoder *enc, MlFrame *frame, MlTrainData *td, const int64 *idx, int64 n)
{
	int64	   *frows = palloc(sizeof(int64) * Max(n, 1));
	MlDesign   *d;

	for (int64 i = 0; i < n; i++)
		frows[i] = td->rows[idx[i]];
	d = MlEncoderDesign(enc, frame, frows, n);
	d->y = palloc(sizeof(double) * Max(n, 1));
	for (int64 i = 0; i < n; i++)
		d->y[i] = td->y[idx[i]];
	d->task = td->task;
	d->nclass = td->nclass;
	pfree(frows);
	return d;
}
