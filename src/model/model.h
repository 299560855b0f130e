/*
 * model.h
 *	  The contract between training (train.c: data, splits, metrics,
 *	  versions) and the learners (linear.c, gbdt.c, forest.c, ...).
 *
 * A learner sees only a design matrix: column-major float8, NaN for a
 * missing cell, categorical features as codes 0..ncat-1. It never touches
 * SPI or the catalog, so it can be tested and benchmarked on its own, and a
 * learner that uses compute-only threads has nothing to share with the
 * backend but the arrays it was handed.
 */
#ifndef ML_MODEL_H
#define ML_MODEL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

typedef enum MlTask
{
	ML_TASK_REGRESSION = 0,
	ML_TASK_BINARY,
	ML_TASK_MULTICLASS,
	ML_TASK_CLUSTERING
} MlTask;

/*
 * Rows to learn from or to score. col[j][i] is feature j of row i (each
 * feature contiguous). y is the target: a value (regression) or a class
 * index 0..nclass-1 stored as a double; NULL when scoring. w: row weights
 * or NULL for 1.
 */
typedef struct MlDesign
{
	int64		nrows;
	int			nfeat;
	double	  **col;
	bool	   *categorical;	/* feature j holds codes 0..ncat[j]-1 */
	int		   *ncat;
	char	  **name;			/* feature names (importance, errors) */
	double	   *y;
	double	   *w;
	MlTask		task;
	int			nclass;			/* 0 for regression */
	uint64		seed;
} MlDesign;

/* Bounds-checked reading of a stored payload (payload.c). */
typedef struct MlReader
{
	const char *data;
	int			len;
	int			pos;
	const char *what;			/* "model version 3 of project \"x\"" */
} MlReader;

extern void MlWriteInt32(StringInfo buf, int32 v);
extern void MlWriteInt64(StringInfo buf, int64 v);
extern void MlWriteFloat8(StringInfo buf, double v);
extern void MlWriteFloat8s(StringInfo buf, const double *v, int64 n);
extern void MlWriteString(StringInfo buf, const char *s);
extern int32 MlReadInt32(MlReader *r, int32 min, int32 max);
extern int64 MlReadInt64(MlReader *r, int64 min, int64 max);
extern double MlReadFloat8(MlReader *r);
extern double MlReadFiniteFloat8(MlReader *r);
extern void MlReadFloat8s(MlReader *r, double *v, int64 n);
extern char *MlReadString(MlReader *r);
extern void MlReadEnd(MlReader *r);
extern void MlPayloadInvalid(MlReader *r, const char *detail) pg_attribute_noreturn();
extern bytea *MlPayloadBytea(StringInfo buf);

/*
 * A learner. Every callback runs in the caller's memory context (the
 * training or scoring context, which owns everything they palloc).
 *
 * read_params: check the user's hyperparameters (NULL container = none):
 *	 unknown keys and out-of-range values are errors (22023 with a hint
 *	 naming the valid ones); returns the parsed, defaults-filled params.
 * params_json: the params as a JSON object (stored with the version).
 * fit: learn from d (CHECK_FOR_INTERRUPTS between passes). Errors with
 *	 ereport like everything else; threads never ereport or palloc.
 * predict: score d->nrows rows into out: one value per row for regression
 *	 (the prediction) and clustering (the cluster index); nclass
 *	 probabilities per row for classification, out[i * nclass + c].
 * save / load: the fitted model as bytes; load validates every field
 *	 (XX001 via MlPayloadInvalid) against nfeat, ncat and nclass.
 * fitted: the predictions predict would give for the rows of the design fit
 *	 learned from, in its row order, when the learner still holds them from
 *	 the fit (saves scoring them again); false when it does not (NULL: never).
 * importance: gain importance per feature (may be NULL: permutation only).
 * view: the fitted model's parameters, read-only, for export (PMML); NULL
 *	 when the learner's form has no exported equivalent.
 */
/*
 * A fitted model seen from outside (export, model/pmml_models.c). Linear
 * forms: out = link(intercept[s] + coef[s] . x) per weight set s; one set
 * for regression and two-class logistic (the second class's logit), one
 * per class otherwise (softmax). Tree forms: boosted models sum
 * init[k] + the trees of class k, round-major (trees[r * per_round + k]),
 * then apply the sigmoid (binary) or softmax (multiclass); forests average
 * the leaf values (nout per leaf) over the trees.
 */
typedef enum MlModelForm
{
	ML_FORM_LINEAR = 1,
	ML_FORM_BOOSTED,
	ML_FORM_FOREST
} MlModelForm;

struct MlTree;

typedef struct MlModelView
{
	MlModelForm form;
	int			nfeat;
	/* linear */
	int			nsets;
	const double *coef;			/* nsets x nfeat, row-major */
	const double *intercept;	/* nsets */
	/* trees */
	int			ntrees;
	int			per_round;		/* boosted: trees per round (1, or nclass) */
	int			nout;			/* values per leaf */
	const double *init;			/* boosted: per_round initial scores */
	struct MlTree *const *trees;
} MlModelView;

typedef struct MlLearner
{
	const char *name;
	bool		(*supports) (MlTask task);
	void	   *(*read_params) (JsonbContainer *hp, MlTask task);
	void		(*params_json) (void *params, StringInfo out);
	void	   *(*fit) (const MlDesign *d, void *params);
	void		(*predict) (void *model, const MlDesign *d, double *out);
	bool		(*fitted) (void *model, int64 nrows, double *out);

	/*
	 * Optional: predict's work started in the background (the returned
	 * job), finished by predict_finish or dropped by predict_cancel; d's
	 * columns and out stay until then.
	 */
	void	   *(*predict_start) (void *model, const MlDesign *d, double *out);
	void		(*predict_finish) (void *model, void *job, const MlDesign *d, double *out);
	void		(*predict_cancel) (void *job);
	void		(*save) (void *model, StringInfo buf);
	void	   *(*load) (MlReader *r, const MlDesign *shape);
	void		(*importance) (void *model, double *gain);
	void		(*view) (void *model, MlModelView *v);
	/* features the learner needs imputed, one-hot and standardized */
	bool		needs_dense;
} MlLearner;

/* Learner registry (learners.c): NULL when the name is unknown. */
extern const MlLearner *MlLearnerByName(const char *name);
extern const char *MlLearnerNames(void);
extern const char *MlLearnerExportNames(void);

/* The learners, each in its own file. */
extern const MlLearner MlLinearLearner;		/* linear.c: "linear" */
extern const MlLearner MlRidgeLearner;		/* linear.c: "ridge" */
extern const MlLearner MlLassoLearner;		/* linear.c: "lasso" */
extern const MlLearner MlElasticNetLearner; /* linear.c: "elastic_net" */
extern const MlLearner MlLogisticLearner;	/* logistic.c: "logistic" */
extern const MlLearner MlGbdtLearner;		/* gbdt.c: "gbdt" */
extern const MlLearner MlForestLearner;		/* forest.c: "random_forest" */
extern const MlLearner MlKmeansLearner;		/* kmeans.c: "kmeans" */
extern const MlLearner MlNaiveBayesLearner; /* naive_bayes.c: "naive_bayes" */

#endif							/* ML_MODEL_H */
