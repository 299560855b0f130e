/*
 * train.h
 *	  ml_train's data: options, the rows it learns from, the split.
 */
#ifndef ML_TRAIN_H
#define ML_TRAIN_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "core/frame.h"
#include "model/features.h"
#include "model/model.h"

#define ML_MAX_CLASSES 1000

/* a train job's progress: rows read and prepared, the fit (auto: the search) done */
#define ML_TRAIN_PROGRESS_READ 0.3
#define ML_TRAIN_PROGRESS_FITTED 0.9

typedef struct MlTrainOptions
{
	double		test_size;
	int			folds;			/* 1: holdout */
	int			seed;
	char	   *time_column;
	char	   *holdout_column;
	List	   *features;		/* NIL: every column */
	List	   *exclude;
	bool		permutation_importance;
	int			permutation_repeats;
	double		budget_s;		/* auto's search budget */
	int			search_folds;	/* auto: folds of the search, 1: one holdout */
	int			max_trials;		/* auto: configurations in the first rung */
	bool		search_silent;	/* auto: the search reports no job-run progress (one of many) */
	int			time_col;		/* frame columns, -1 if none */
	int			holdout_col;
} MlTrainOptions;

typedef struct MlTrainData
{
	MlTask		task;
	int64		nrows;			/* rows with a target */
	int64	   *rows;			/* their frame rows */
	double	   *y;				/* target or class index per used row */
	int			nclass;
	char	  **classes;
	int		   *fold;			/* per used row: 1 = test (holdout) or fold index */
	int64		skipped_rows;	/* rows without a target */
	List	   *features;		/* frame column indexes */
	List	   *skipped;		/* "column: reason" */
	MlColumnPrep *prep;			/* per frame column: the recipe's steps, or NULL */
	List	   *replay;			/* the recipe's fill steps the frame took (JSON texts), or NIL */
} MlTrainData;

/* options.recipe and what became of it (train_recipe.c). */
typedef enum MlRecipeMode
{
	ML_RECIPE_DEFAULT,			/* the project's latest cleaning recipe, else one fitted */
	ML_RECIPE_NONE,
	ML_RECIPE_GIVEN
} MlRecipeMode;

typedef struct MlTrainRecipe
{
	MlRecipeMode mode;
	int64		id;				/* the recipe applied or stored, 0: none */
	const char *kind;			/* its kind: clean, impute or train */
	const char *source;			/* given, project, fitted or none */
	MlColumnPrep *prep;			/* per frame column, or NULL */
	List	   *replay;			/* fill steps over the row, applied to the frame (JSON texts) */
	List	   *applied;		/* "column: step" */
	List	   *by_learner;
	List	   *not_applied;
	char	   *fallback;		/* why the project's recipe was not applied */
} MlTrainRecipe;

struct MlTrained;
struct MlScope;
struct MlProject;

extern void MlTrainRecipeOption(JsonbContainer *opts, MlTrainRecipe *r);
extern void MlTrainRecipeResolve(MlTrainRecipe *r, struct MlProject *p, Oid relid, MlFrame *frame,
								 MlTrainData *td);
extern void MlTrainRecipeStore(MlTrainRecipe *r, struct MlScope *scope, struct MlProject *p,
							   Oid relid, MlFrame *frame, struct MlTrained *t);
extern void MlTrainRecipeJson(MlTrainRecipe *r, StringInfo out);

extern void MlTrainTarget(MlTrainData *td, MlFrame *frame, int tcol, bool classification);
extern void MlTrainFeatures(MlTrainData *td, MlFrame *frame, int tcol, int holdout_col,
							bool explicit_list);
extern void MlTrainSplit(MlTrainData *td, MlFrame *frame, MlTrainOptions *o);
extern int	MlCmpDouble(const void *a, const void *b);
extern char *MlJoinList(List *items);
extern bool MlInList(List *names, const char *name);
extern void MlTrainListsJson(MlTrainData *td, StringInfo out);
extern MlDesign *MlTrainDesign(MlEncoder *enc, MlFrame *frame, MlTrainData *td,
							   const int64 *idx, int64 n);

#endif							/* ML_TRAIN_H */
