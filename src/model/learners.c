/*
 * learners.c
 *	  The learners ml_train knows, by the names given to `algorithm`.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "model/model.h"

static const MlLearner *const learners[] = {
	&MlLinearLearner,
	&MlRidgeLearner,
	&MlGbdtLearner,
	&MlForestLearner,
	&MlLassoLearner,
	&MlElasticNetLearner,
	&MlLogisticLearner,
	&MlKmeansLearner,
	&MlNaiveBayesLearner,
};

const MlLearner *
MlLearnerByName(const char *name)
{
	for (size_t i = 0; i < lengthof(learners); i++)
		if (strcmp(learners[i]->name, name) == 0)
			return learners[i];
	return NULL;
}

/* "linear, ridge, ..." for hints. */
const char *
MlLearnerNames(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (size_t i = 0; i < lengthof(learners); i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", learners[i]->name);
	return s.data;
}

/* "linear, ridge, ..." of the learners whose models export (view set). */
const char *
MlLearnerExportNames(void)
{
	StringInfoData s;

	initStringInfo(&s);
	for (size_t i = 0; i < lengthof(learners); i++)
		if (learners[i]->view != NULL)
			appendStringInfo(&s, "%s%s", s.len ? ", " : "", learners[i]->name);
	return s.data;
}
