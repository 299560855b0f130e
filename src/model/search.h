/*
 * search.h
 *	  ml_train's auto search: random configurations per learner, successive
 *	  halving over row fractions, cross-validated on the training rows.
 */
#ifndef ML_SEARCH_H
#define ML_SEARCH_H

#include "postgres.h"

#include "core/frame.h"
#include "model/model.h"
#include "model/stored.h"
#include "model/train.h"

/* One configuration evaluated at one rung. */
typedef struct MlSearchTrial
{
	int			trial;			/* configuration number, 1.. */
	int			rung;			/* 1.. */
	const MlLearner *learner;
	void	   *params;			/* read_params of the learner */
	char	   *params_json;	/* as the learner prints them */
	int64		train_rows;		/* rows of the rung's sample */
	double		fraction;		/* of the training rows */
	int			nfolds;
	double	   *fold_scores;	/* NaN where a fold did not score */
	double		score;			/* mean of the folds (NaN: failed) */
	double		seconds;
	char		status;			/* 'c'ompleted, 'p'runed, 'f'ailed */
	char	   *error;
	bool		chosen;
} MlSearchTrial;

typedef struct MlSearchResult
{
	List	   *trials;			/* MlSearchTrial *, in the order they ran */
	MlSearchTrial *winner;
	int			nconfigs;
	int			nrungs;			/* planned */
	int			rungs_run;
	int			completed;
	int			pruned;
	int			failed;
	int			skipped;		/* survivors not run: they would overrun the budget */
	int			folds;			/* 1: one inner holdout */
	bool		budget_exhausted;
	double		seconds;
} MlSearchResult;

extern void MlSearch(MlSearchResult *res, MlFrame *frame, MlTrainData *td, MlTrainOptions *o,
					 List *candidates);
extern void MlSearchJson(MlSearchResult *res, MlTrainOptions *o, StringInfo out);
extern void MlSearchStore(MlSearchResult *res, MlTask task, int64 project_id, int32 version);

/* train.c: the learners auto searches for a task, in order */
extern List *MlAutoCandidates(MlTask task);

/* train.c: fit on `train` rows, score `test` rows (the primary metric). */
extern MlTrained *MlTrainFitScore(const MlLearner *l, void *params, MlFrame *frame,
								  MlTrainData *td, MlTrainOptions *o,
								  const int64 *train, int64 ntrain,
								  const int64 *test, int64 ntest,
								  StringInfo metrics, double *primary);

#endif							/* ML_SEARCH_H */
