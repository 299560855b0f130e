/*
 * impute_forest.h
 *	  MissForest's fitted model, shared by its fit (impute_forest.c) and
 *	  its recipe (impute_forest_recipe.c); nothing else reads it.
 */
#ifndef ML_IMPUTE_FOREST_H
#define ML_IMPUTE_FOREST_H

#include "model/model.h"

#define FOREST_MAX_MEMBERS	1600	/* a table's most columns */
#define FOREST_MAX_INPUTS	1600

typedef struct ForestInput
{
	int			col;			/* frame column */
	bool		categorical;
	int			ncat;			/* levels in the model's space */
	char	  **levels;			/* their texts */
} ForestInput;

typedef struct ForestMember
{
	int			col;
	bool		discrete;		/* classification */
	int			nclass;
	char	  **classes;		/* discrete: class texts, the model's space */
	double		fill;			/* start: the mean, or the mode's class */
	double		mean,
				sd;				/* numeric: for the change between rounds */
	int			ninput;
	ForestInput *inputs;
	void	   *forest;			/* forest.c's model; NULL: predicts the start */
	double		error;
} ForestMember;

typedef struct MlForest
{
	int			n;
	ForestMember *mb;
	int			rounds;
	int			trees;
} MlForest;


extern int	MlForestMemberOf(MlForest *fo, int col);
extern MlTask MlForestMemberTask(ForestMember *mb);

#endif							/* ML_IMPUTE_FOREST_H */
