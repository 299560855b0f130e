/*
 * impute_keys.c
 *	  The bottom layer of the imputation models, shared by fitting
 *	  (impute_fit.c), prediction and serialisation (impute_model.c) and the
 *	  network (impute_nn.c): method names, grouping-key codes, feature rows
 *	  and the group-wise lookup with backoff. It depends on nothing else in
 *	  src/clean/, so the model files form a chain without cycles:
 *	  keys <- nn <- model <- fit.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/memutils.h"

#include "clean/impute.h"

static const struct
{
	const char *name;
	MlMethod	method;
}			method_names[] =
{
	{"auto", ML_METHOD_AUTO}, {"mean", ML_METHOD_MEAN}, {"median", ML_METHOD_MEDIAN},
	{"mode", ML_METHOD_MODE}, {"constant", ML_METHOD_CONSTANT}, {"delete", ML_METHOD_DELETE},
	{"groupwise", ML_METHOD_GROUPWISE}, {"regression", ML_METHOD_REGRESSION},
	{"knn", ML_METHOD_KNN}, {"mice", ML_METHOD_MICE}, {"learned", ML_METHOD_LEARNED},
	{"classifier", ML_METHOD_CLASSIFIER}, {"locf", ML_METHOD_LOCF},
	{"interpolate", ML_METHOD_INTERPOLATE}, {"chain", ML_METHOD_CHAIN}, {"none", ML_METHOD_NONE}
};

MlMethod
MlMethodFromName(const char *name)
{
	for (int i = 0; i < (int) lengthof(method_names); i++)
		if (strcmp(method_names[i].name, name) == 0 && method_names[i].method != ML_METHOD_NONE)
			return method_names[i].method;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown imputation method \"%s\"", name),
			 errhint("Valid methods are: auto, mean, median, mode, constant, delete, groupwise, "
					 "regression, knn, mice, chain, learned, classifier, locf, interpolate.")));
	return ML_METHOD_AUTO;		/* keep compiler quiet */
}

const char *
MlMethodName(MlMethod m)
{
	for (int i = 0; i < (int) lengthof(method_names); i++)
		if (method_names[i].method == m)
			return method_names[i].name;
	return "?";
}

int
MlKeyCode(MlFrame *frame, MlKey *key, int64 row)
{
	MlColumn   *col = &frame->cols[key->col];

	if (key->rowcodes)
		return key->rowcodes[row];
	if (key->part < 0)
		return col->code[row];
	/* datetime parts are computed once per column and kept */
	if (col->parts[key->part] == NULL)
	{
		int32	   *p = MemoryContextAlloc(GetMemoryChunkContext(col->x),
										   sizeof(int32) * Max(frame->nrows, 1));
		bool		tz = col->typid == TIMESTAMPTZOID;

		for (int64 r = 0; r < frame->nrows; r++)
		{
			double		v = col->isnull[r] ? NAN :
				MlDatePartOf(col->x[r], (MlDatePart) key->part, tz);

			p[r] = isnan(v) ? -1 : (int32) v;
		}
		col->parts[key->part] = p;
	}
	return col->parts[key->part][row];
}

/* One row's feature vector; categorical indicators are scaled by catw. */
void
MlFeatureRow(MlFrame *frame, MlFeatures *f, int64 row, double catw, double *out)
{
	int			o = 1 + f->nnum;

	out[0] = 1;
	for (int j = 0; j < f->nnum; j++)
	{
		double		v = frame->cols[f->numcol[j]].x[row];

		out[1 + j] = (frame->cols[f->numcol[j]].isnull[row] || !isfinite(v)) ? 0 :
			(v - f->mean[j]) / f->sd[j];
	}
	memset(out + o, 0, sizeof(double) * (f->width - o));
	for (int j = 0; j < f->nkey; j++)
	{
		int			k = MlKeyCode(frame, &f->keys[j], row);

		if (k >= 0 && k < f->keys[j].nlevels)
			out[o + k] = catw;
		o += f->keys[j].nlevels;
	}
}

/* Group-wise estimate for key codes k1, k2 (-1 when missing), with backoff. */
void
MlGroupLookup(MlModel *m, int k1, int k2, double *value, int32 *level)
{
	int			L2 = m->nkeys == 2 ? m->keys[1].nlevels : 1;

	*value = m->fill;
	*level = m->fill_level;
	if (k1 < 0 || k1 >= m->keys[0].nlevels)
		return;
	if (m->nkeys == 2 && k2 >= 0 && k2 < L2)
	{
		int64		g = (int64) k1 * L2 + k2;

		if (m->discrete ? m->glvl[g] >= 0 : !isnan(m->gval[g]))
		{
			*value = m->gval[g];
			*level = m->glvl[g];
			return;
		}
	}
	if (m->discrete ? m->plvl[k1] >= 0 : !isnan(m->pval[k1]))
	{
		*value = m->pval[k1];
		*level = m->plvl[k1];
	}
}

