/*
 * gram_agg.c
 *	  mlops.ml_gram_agg(y, x): the centred moments of a linear fit as a
 *	  parallel aggregate, and mlops.ml_linear_solve(state, alpha,
 *	  fit_intercept) for its coefficients.
 *
 * The state is an MlGram (gram.c) in the aggregate's memory context. It has
 * combine, serial and deserial functions, so parallel workers each scan part
 * of the relation and the leader merges their states; the final value is
 * the serialized state (bytea), which ml_linear_solve validates before it
 * solves. Rows whose y or x is NULL are skipped, as aggregates skip NULLs;
 * a NULL element of x, a NaN or an infinity is an error (fill the gaps
 * first); every row must have as many features as the first.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "model/gram.h"

PG_FUNCTION_INFO_V1(ml_gram_sfunc);
PG_FUNCTION_INFO_V1(ml_gram_combine);
PG_FUNCTION_INFO_V1(ml_gram_serialize);
PG_FUNCTION_INFO_V1(ml_gram_deserialize);
PG_FUNCTION_INFO_V1(ml_linear_solve);

static MemoryContext
agg_context(FunctionCallInfo fcinfo)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the linear fit state functions can only be called by mlops.ml_gram_agg")));
	return aggcontext;
}

static void
nonfinite(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s of a linear fit must be finite", what),
			 errhint("Filter out or replace NaN and infinite values before fitting.")));
}

Datum
ml_gram_sfunc(PG_FUNCTION_ARGS)
{
	MlGram	   *g = PG_ARGISNULL(0) ? NULL : (MlGram *) PG_GETARG_POINTER(0);
	MemoryContext aggcontext = agg_context(fcinfo);
	ArrayType  *x;
	double		y;
	int			p;
	double	   *slot;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (g == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(g);
	}
	y = PG_GETARG_FLOAT8(1);
	x = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(x) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("x of a linear fit must be a one-dimensional array, not %d-dimensional",
						ARR_NDIM(x))));
	if (ARR_ELEMTYPE(x) != FLOAT8OID)
		elog(ERROR, "x of a linear fit must be float8[]");
	p = ARR_NDIM(x) == 0 ? 0 : ARR_DIMS(x)[0];
	if (ARR_HASNULL(x))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("x of a linear fit holds a NULL element"),
				 errhint("Rows whose x or y is NULL are skipped; fill or filter NULL elements first (ml_impute).")));
	if (g == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		g = MlGramCreate(p);
		MemoryContextSwitchTo(old);
	}
	else if (g->k != p + 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("x of a linear fit has %d elements where earlier rows had %d", p, g->k - 1),
				 errhint("Every row of a linear fit needs the same number of features.")));
	if (!isfinite(y))
		nonfinite("y");
	slot = MlGramRowSlot(g);
	memcpy(slot, ARR_DATA_PTR(x), sizeof(double) * p);
	for (int j = 0; j < p; j++)
		if (!isfinite(slot[j]))
		{
			g->nbuf--;
			nonfinite("x");
		}
	slot[p] = y;
	PG_RETURN_POINTER(g);
}

Datum
ml_gram_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	MlGram	   *a = PG_ARGISNULL(0) ? NULL : (MlGram *) PG_GETARG_POINTER(0);
	MlGram	   *b = PG_ARGISNULL(1) ? NULL : (MlGram *) PG_GETARG_POINTER(1);

	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	if (a == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		a = MlGramCreate(b->k - 1);
		MlGramMerge(a, b);
		MemoryContextSwitchTo(old);
		PG_RETURN_POINTER(a);
	}
	MlGramMerge(a, b);
	PG_RETURN_POINTER(a);
}

/* The serial function, and the aggregate's final function. */
Datum
ml_gram_serialize(PG_FUNCTION_ARGS)
{
	MlGram	   *g;
	StringInfoData buf;
	bytea	   *out;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	g = (MlGram *) PG_GETARG_POINTER(0);
	initStringInfo(&buf);
	MlGramSerialize(g, &buf);
	out = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(out, VARHDRSZ + buf.len);
	memcpy(VARDATA(out), buf.data, buf.len);
	PG_RETURN_BYTEA_P(out);
}

Datum
ml_gram_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo);
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext old = MemoryContextSwitchTo(aggcontext);
	MlGram	   *g = MlGramDeserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));

	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(g);
}

/* {intercept, coef_1, ..., coef_p} of the state's least-squares / ridge fit. */
Datum
ml_linear_solve(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	double		alpha = PG_GETARG_FLOAT8(1);
	bool		fit_intercept = PG_GETARG_BOOL(2);
	MlGram	   *g;
	int			p;
	Datum	   *elems;

	if (!(alpha >= 0 && alpha <= 1e12))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("alpha must be a number between 0 and 1e+12")));
	g = MlGramDeserialize(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	p = g->k - 1;
	{
		double	   *coef = palloc(sizeof(double) * Max(p, 1));
		double		intercept;

		MlGramSolve(g, alpha, fit_intercept, &intercept, coef);
		elems = palloc(sizeof(Datum) * (p + 1));
		elems[0] = Float8GetDatum(intercept);
		for (int j = 0; j < p; j++)
			elems[j + 1] = Float8GetDatum(coef[j]);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, p + 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
