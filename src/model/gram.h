/*
 * gram.h
 *	  Centred moments of (x, y) rows: the state of the linear fits, shared by
 *	  the linear and ridge learners and the parallel aggregate
 *	  mlops.ml_gram_agg (gram_agg.c), so both give the same coefficients.
 */
#ifndef ML_GRAM_H
#define ML_GRAM_H

#include "postgres.h"

#include "lib/stringinfo.h"

/* Most features a Gram state holds (the state is (p+1)^2 doubles). */
#define ML_GRAM_MAX_FEATURES 1000

/*
 * k = p + 1 columns z = (x_1..x_p, y). mean[k]; m is k x k row-major, its
 * upper triangle holding sum (z - mean)(z - mean)' over the n rows merged so
 * far. Rows are buffered (buf, nbuf of cap) and merged a block at a time.
 */
typedef struct MlGram
{
	int			k;
	int64		n;
	double	   *mean;
	double	   *m;
	double	   *buf;
	int			nbuf;
	int			cap;
} MlGram;

extern MlGram *MlGramCreate(int p);
extern double *MlGramRowSlot(MlGram *g);
extern void MlGramFlush(MlGram *g);
extern void MlGramMerge(MlGram *into, MlGram *from);
extern void MlGramSerialize(MlGram *g, StringInfo buf);
extern MlGram *MlGramDeserialize(const char *data, int len);
extern void MlGramSystem(MlGram *g, bool fit_intercept, double *a, double *c, double *yy);
extern void MlGramSolve(MlGram *g, double alpha, bool fit_intercept,
						double *intercept, double *coef);

#endif							/* ML_GRAM_H */
