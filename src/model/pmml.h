/*
 * pmml.h
 *	  Export of a stored model version as a PMML 4.4 document, built with
 *	  libxml2's tree API: the document and the encoder in pmml.c, the model
 *	  elements (RegressionModel, TreeModel, MiningModel) in pmml_models.c.
 */
#ifndef ML_PMML_H
#define ML_PMML_H

#include "postgres.h"

#include <libxml/tree.h>

#include "model/stored.h"

/* What the model writers need to know about the document. */
typedef struct MlPmml
{
	MlTrained  *t;
	const char *target;			/* the target's DataField */
	const char *what;			/* "model version 3 of project "x"" */
	char	  **field;			/* per learner feature: the field it reads */
} MlPmml;

/* Elements and attributes; text is in the server encoding, converted here. */
extern xmlNodePtr MlPmmlChild(xmlNodePtr parent, const char *name);
extern void MlPmmlAttr(xmlNodePtr node, const char *name, const char *value);
extern void MlPmmlAttrNum(xmlNodePtr node, const char *name, double v);
extern void MlPmmlAttrInt(xmlNodePtr node, const char *name, int64 v);
extern void MlPmmlText(xmlNodePtr node, const char *text);

/* Names of the fields a model outputs (checked against the others in pmml.c). */
extern char *MlPmmlPredictedName(MlPmml *x);
extern char *MlPmmlProbabilityName(MlPmml *x, int c);
extern char *MlPmmlScoreName(MlPmml *x, int k, int per_round);

/* The MiningSchema of a model over every input (and the target if asked). */
extern void MlPmmlMiningSchema(MlPmml *x, xmlNodePtr model, bool with_target);

/* pmml_models.c: the model element of each form, under parent. */
extern void MlPmmlLinear(MlPmml *x, const MlModelView *v, xmlNodePtr parent);
extern void MlPmmlTrees(MlPmml *x, const MlModelView *v, xmlNodePtr parent);

#endif							/* ML_PMML_H */
