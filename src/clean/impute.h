/*
 * impute.h
 *	  Imputation models: fitting, choosing, predicting, (de)serialising.
 */
#ifndef ML_IMPUTE_H
#define ML_IMPUTE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "core/frame.h"

typedef enum MlMethod
{
	ML_METHOD_AUTO,
	ML_METHOD_MEAN,
	ML_METHOD_MEDIAN,
	ML_METHOD_MODE,
	ML_METHOD_CONSTANT,
	ML_METHOD_DELETE,
	ML_METHOD_GROUPWISE,
	ML_METHOD_REGRESSION,
	ML_METHOD_KNN,
	ML_METHOD_MICE,
	ML_METHOD_LEARNED,
	ML_METHOD_CLASSIFIER,
	ML_METHOD_LOCF,
	ML_METHOD_INTERPOLATE,
	ML_METHOD_CHAIN,
	ML_METHOD_FOREST,
	ML_METHOD_BLEND,
	ML_METHOD_NONE
} MlMethod;

/* A grouping key: a coded column, or a part of a datetime column. */
typedef struct MlKey
{
	int			col;
	int			part;			/* MlDatePart, or -1 for the column's own codes */
	int			nlevels;
	int32	   *rowcodes;		/* per row, codes in the model's level space (recipes) */
	struct MlKeyLevels *levels; /* recipes: the stored levels, to code other rows */
	double	  **soft;			/* chain runs: per level, every row's current indicator
								 * value, read instead of the codes' one-hot (NULL: not) */
} MlKey;

/*
 * Most levels a categorical column with gaps may have to be a member of the
 * chain through its indicators (one member per level); a column with more
 * stays an input of the numeric members as filled before the chain.
 */
#define ML_CHAIN_MAX_LEVELS 20
/*
 * Most indicator members a chain takes in all: each member regresses on the
 * others, so a chain's cost grows with the cube of its members (30 columns
 * of 10 levels on 400 rows took minutes); the categorical columns with the
 * fewest gaps join first, the rest stay inputs as filled before the chain.
 */
#define ML_CHAIN_MAX_INDICATORS 24
/* ... and as read back from a recipe (any later value of the constant) */
#define ML_CHAIN_MAX_RECIPE_LEVELS 256

/* Inputs of a regression or KNN model. */
typedef struct MlFeatures
{
	int			nnum;
	int		   *numcol;
	double	   *mean;
	double	   *sd;
	int			nkey;
	MlKey	   *keys;
	int			width;			/* 1 + nnum + sum of key levels */
} MlFeatures;

typedef struct MlModel
{
	MlMethod	method;
	int			target;
	bool		discrete;		/* predicts a level code, not a number */
	double		fill;			/* global value (numeric) */
	int32		fill_level;		/* global level (discrete) */
	/* the target's levels as the model knows them (discrete models) */
	int			ntlevels;
	char	  **tlevel_text;
	double	   *tlevel_value;
	/* groupwise */
	int			nkeys;
	MlKey		keys[2];
	double	   *gval;			/* per group: value, NaN when unseen */
	int32	   *glvl;			/* per group: level, -1 when unseen */
	double	   *pval;			/* per first-key group (backoff) */
	int32	   *plvl;
	bool		knn_nan;		/* KNN: nan-Euclidean distances (missing inputs skipped) */
	/* regression / knn */
	MlFeatures *feat;
	double	   *beta;
	int			k;
	int			nref;
	double	   *ref;			/* nref x width */
	double	   *refy;
	/* learned / classifier: a small neural network (impute_nn.c) */
	int			hidden;			/* hidden units, 0 for a linear/softmax model */
	int			nout;
	double	   *w1,
			   *b1,
			   *w2,
			   *b2;
	double		ymean,
				ysd;			/* target scaling (numeric targets) */
	int			ntext;
	int		   *textcols;		/* free-text inputs, as hashed character trigrams */
	int			buckets;
	/* constant: the value as the column's type prints it */
	char	   *constant_text;
	/* time-ordered */
	int			timecol;
	/* chain: every member's regression, applied round-robin from mean starts */
	int			nchain;
	struct MlModel **chain;
	int			rounds;
	int			mice_round;		/* a MICE model's round (recipe "mice_round"), 0 if none */
	int			nround_beta;	/* chain member: rounds of coefficients kept */
	double	   *round_beta;		/* ... nround_beta x width, round by round */
	bool		onehot;			/* fitting: numeric coded inputs also one-hot */
	/* chain member of a categorical column: the indicator of one of its levels */
	bool		indicator;
	int			ind_level;		/* the level, in ind_key's level space */
	MlKey		ind_key;		/* the column's codes in the member's levels (nlevels) */
	/* forest: the members' forests (the lead's step), or the lead's column */
	struct MlForest *forest;
	char	   *forest_lead;
	/* blend: the column's own model, its fills averaged with the chain's */
	struct MlModel *member;
	double		blend_weight;	/* a blend: the chain's share of each fill */
	/* fitting ('auto'): out-of-fold predictions of the observed cells, by row (NaN: none) */
	double	   *oof;
	/* what holdout scoring measured */
	const char *metric;			/* "nrmse" or "error_rate" */
	double		error;
} MlModel;

/* option "distance": unset, 'auto' tries both */
typedef enum MlKnnDistance
{
	ML_KNN_ANY = 0,
	ML_KNN_EUCLIDEAN,			/* a missing input is the column's mean */
	ML_KNN_NAN_EUCLIDEAN		/* over the inputs both rows have, scaled up */
} MlKnnDistance;

typedef struct MlImputeOptions
{
	MlMethod	method;
	int			k;
	double		constant_value;
	char	   *constant_text;
	List	   *by;				/* column names for groupwise */
	char	   *time_column;
	List	   *exclude_features;
	char	   *target;			/* never a feature */
	int			hidden;			/* learned: hidden units */
	int			epochs;
	double		holdout;
	int			seed;
	int			forest_rounds;	/* forest: most rounds */
	int			forest_trees;	/* forest: trees per member */
	MlKnnDistance knn_distance; /* KNN: how missing inputs count */
} MlImputeOptions;

extern MlMethod MlMethodFromName(const char *name);
extern const char *MlMethodName(MlMethod m);
extern MlModel *MlImputeFit(MlFrame *frame, int target, MlImputeOptions *opts);
extern MlFeatures *MlImputeFeatures(MlFrame *frame, int target, MlImputeOptions *opts,
									 bool onehot_numeric, bool gapped_too);
#define RIDGE_RICH_ROWS 50	/* rows per input beyond which the penalty barely matters */
extern void MlUnscaleCoefficients(const double *xtx, const double *xty, int w, int64 n, double unit,
								  double *beta);
extern double MlLossUnit(MlColumn *col);
extern double MlRidgeFitBayes(const double *xtx, const double *xty, double yy, int p, int64 n,
							  double *beta);
extern bool MlColumnNumericCodes(MlColumn *col);
extern void MlChainScore(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts,
						 double *err, double **oof);
extern MlModel **MlChainFit(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts,
							const double *err);
extern double **MlChainRun(MlFrame *frame, MlModel *chain);
extern int	MlChainMemberOf(MlModel *chain, int target);
extern int	MlChainColumns(MlModel *chain, int *ncategories);
extern void MlModelPredictRows(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
							   double *values, int32 *levels);
extern void MlFeatureRow(MlFrame *frame, MlFeatures *f, int64 row, double catw, double *out);
/* how many rows ahead a gather over random rows asks for its cells */
#define ML_PREFETCH_AHEAD 16

extern void MlFeatureBlock(MlFrame *frame, MlFeatures *f, const int64 *rows, int n, double catw,
						   double *out);
extern void MlModelToJson(MlFrame *frame, MlModel *m, StringInfo out);
extern char *MlModelDescribe(MlFrame *frame, MlModel *m);
extern int	MlKeyCode(MlFrame *frame, MlKey *key, int64 row);
extern void MlFeatureMarkMissing(MlFrame *frame, MlFeatures *f, const int64 *rows, int n,
								 double *out);

/*
 * The largest magnitude a KNN input takes in a distance: a standardized
 * input lies within the square root of the rows of its mean, but a row of
 * another table (a recipe applied) may lie 1e200 sds off, and its square
 * overflowed to Inf (and Inf times a donor's missing cell to NaN). Squares
 * of inputs this large, summed over any width, stay finite; such a row is
 * as far from the donors that have the input as it can be either way.
 */
#define ML_KNN_MAX_INPUT 1e100

static inline double
MlKnnInput(double v)
{
	/* NaN (a missing input) stays NaN */
	if (v > ML_KNN_MAX_INPUT)
		return ML_KNN_MAX_INPUT;
	if (v < -ML_KNN_MAX_INPUT)
		return -ML_KNN_MAX_INPUT;
	return v;
}
extern void MlNetFit(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
					 MlFeatures *feat, int *textcols, int ntext, int hidden, int epochs,
					 uint64 seed);
extern void MlNetPredict(MlFrame *frame, MlModel *m, const int64 *rows, int64 n,
						 double *values, int32 *levels);
extern void MlNetToJson(MlFrame *frame, MlModel *m, StringInfo out);
extern void MlNetFromJson(MlFrame *frame, MlModel *m, JsonbContainer *obj);
extern MlModel *MlModelFromJson(MlFrame *frame, JsonbContainer *obj);
extern void MlModelRebind(MlFrame *frame, MlModel *m);
extern void MlRecipeReading(int64 id);
extern char *MlConstantParse(MlColumn *col, const char *text, double *value);
extern void MlRecipeCheckType(MlColumn *col, JsonbContainer *obj);
extern void MlRecipeWriteType(StringInfo out, MlColumn *col);
extern void MlRecipeBad(const char *what) pg_attribute_noreturn();
extern JsonbValue *MlRecipeArray(JsonbContainer *obj, const char *key, int *n);
extern int	MlRecipeColumn(MlFrame *frame, const char *name);

/* impute_blend.c: the chain's fills averaged with a column's own model's */
extern double MlBlendScore(MlColumn *col, int64 nrows, const double *own, const double *chain,
						   double *own_err, double *chain_err);
extern MlModel *MlBlendModel(MlModel *chain, MlModel *own, double err);
extern void MlBlendValues(MlFrame *frame, MlModel *blend, const double *chain_values,
						  const int64 *rows, int64 n, double *values);
extern void MlBlendCheck(MlFrame *frame, MlModel *blend);

/* impute_forest.c: MissForest */
#define ML_FOREST_MAX_LEVELS 64	/* categories a forest member or input may have */
extern bool MlForestCanFill(MlColumn *col);
extern bool MlForestCanSum(MlColumn *col, int64 nrows);
extern bool MlForestScore(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts,
						  double *err);
extern MlModel **MlForestFit(MlFrame *frame, const int *cols, int n, MlImputeOptions *opts,
							 const double *err, bool asked);
extern void MlForestToJson(MlFrame *frame, MlModel *m, StringInfo out);
extern void MlForestFromJson(MlFrame *frame, MlModel *m, JsonbContainer *obj);
extern char *MlForestDescribe(MlModel *m);
extern void MlGroupLookup(MlModel *m, int k1, int k2, double *value, int32 *level);

#endif							/* ML_IMPUTE_H */
