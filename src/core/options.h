/*
 * options.h
 *	  Reading jsonb option objects, with errors that name the valid keys.
 */
#ifndef ML_OPTIONS_H
#define ML_OPTIONS_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

extern void MlOptCheckKeys(JsonbContainer *obj, const char *what, const char *const *valid);
extern JsonbValue *MlOptGet(JsonbContainer *obj, const char *key);
extern char *MlOptString(JsonbContainer *obj, const char *key, const char *dflt);
extern double MlOptNumber(JsonbContainer *obj, const char *key, double dflt);
extern double MlRecipeNumber(JsonbContainer *obj, const char *key, double dflt);
extern int	MlOptInt(JsonbContainer *obj, const char *key, int dflt, int lo, int hi);
extern double MlOptRange(JsonbContainer *obj, const char *key, double dflt, double lo, double hi);
extern bool MlOptBool(JsonbContainer *obj, const char *key, bool dflt);
extern List *MlOptStringList(JsonbContainer *obj, const char *key);
extern JsonbContainer *MlOptObject(JsonbContainer *obj, const char *key);
extern char *MlJsonValueText(JsonbValue *v);
extern double *MlOptNumbers(JsonbContainer *obj, const char *key, int64 *n);
extern void MlJsonNumber(StringInfo out, double v);
extern bool MlJsonToNumber(JsonbValue *v, double *out);

#endif							/* ML_OPTIONS_H */
