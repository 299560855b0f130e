/*
 * pipeline.h
 *	  The cleaning pipeline's shared state and the interface between its
 *	  steps (step_*.c), ml_clean (clean.c) and ml_apply_recipe
 *	  (recipe_apply.c). Internal to src/clean/.
 */
#ifndef ML_PIPELINE_H
#define ML_PIPELINE_H

#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "clean/cleaning.h"

/* What happened to one source column, for the report. */
typedef struct ColReport
{
	int64		nulls_before;
	int64		filled;
	char	   *fill_method;
	double		fill_error;
	int64		outliers;
	char	   *outlier_action;
	char	   *encoding;
	char	   *cast;
	StringInfoData new_columns;
	bool		dropped;
	double		mean_before,
				min_before,
				max_before;
	int64		nulls_after;	/* -1 until measured on the output */
	double		mean_after,
				min_after,
				max_after;
} ColReport;

typedef struct Clean
{
	MlFrame    *frame;
	MlFills    *fills;
	List	   *out_names;		/* output column names */
	List	   *out_exprs;		/* their expressions over t.* (fills applied) */
	List	   *filters;		/* row conditions to keep */
	List	   *inner_extra;	/* extra expressions computed before fills (indicators) */
	int			nparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	int			pcap;
	StringInfoData steps;		/* recipe steps, JSON */
	ColReport  *rep;
	bool	   *keep_source;	/* [col] source column kept in output */
	char	  **source_expr;	/* [col] expression of the (polished) source column */
	int64		duplicates;
	char	   *ctid_expr;		/* the read row's ctid in the final select */
	char	   *src_ctid_expr;	/* the source table row's ctid there (in place) */
	char	   *scratch;		/* a working copy to drop once written */
	int			target;			/* frame column of the target, -1 if none */
	List	   *taken_names;
	char	   *models;			/* JSON array of the fitted imputation models */
	char	  **na_expr;		/* [col] expression true where the cell was missing, or NULL */
	struct OutlierStep *outliers;	/* the fitted outlier step, NULL if none */
	int64		source_rows;	/* rows of the source when the frame is a sample, else 0 */
	int64		rows_after;		/* rows written, -1 until measured */
} Clean;

extern int MlCleanParam(Clean *c, Oid type, Datum value);
extern int MlCleanParamFloat(Clean *c, double v);
extern int MlCleanParamTextArray(Clean *c, char **items, int n);
extern int MlCleanParamFloatArray(Clean *c, double *items, int n);
extern char *MlCleanNewName(Clean *c, const char *base, const char *suffix);
extern void MlCleanAddOutput(Clean *c, int src, const char *name, char *expr);
extern void MlCleanStepOpen(Clean *c, const char *step, MlColumn *col);
extern void MlJsonTextList(StringInfo s, char **items, int n);
extern bool MlNameInList(List *names, const char *name);
extern bool MlCleanStepWants(JsonbContainer *step, MlColumn *col);
extern JsonbContainer *MlCleanStepOptions(JsonbContainer *opts, const char *key, bool dflt, bool *on, const char *const *valid);
extern void MlStepDuplicates(Clean *c, JsonbContainer *st);
extern bool MlOutlierBounds(double *v, int64 n, const char *method, double k, double *lo, double *hi);
extern void MlEmitOutlier(Clean *c, int ci, const char *method, double k, const char *action, double lo, double hi, const char *by, char **groups, double *glo, double *ghi, int ngroups, const char *flag_name);
extern const char *const MlOutlierKeys[];
extern void MlStepOutliers(Clean *c, JsonbContainer *st);
extern void MlOutliersUnmask(Clean *c);
extern void MlOutliersEmit(Clean *c);
extern void MlOutliersAfter(Clean *c, double *lo, double *hi, double **after_x, bool *deleted);
extern void MlOutliersMissingFlags(Clean *c, List **names, List **exprs);
extern char *MlCleanMissingFlag(Clean *c, int ci, List **names, List **exprs);
extern const char *const MlEncodeKeys[];
extern void MlEmitOnehot(Clean *c, int ci, char **levels, int n, bool other, char **names, bool keep);
extern void MlEmitOrdinalFreq(Clean *c, int ci, bool ordinal, char **levels, double *freq, int n, const char *name, bool keep);
extern void MlEmitHashing(Clean *c, int ci, int buckets, char **names, bool keep);
extern void MlEmitTarget(Clean *c, int ci, char **levels, int nl, double *enc, double *fold, double prior, double smoothing, const char *name, bool keep);
extern void MlStepEncode(Clean *c, JsonbContainer *st);
extern const char *const MlDatetimeKeys[];
extern void MlEmitDatetime(Clean *c, int ci, List *parts, List *names);
extern void MlEmitElapsed(Clean *c, int a, int b, char *name);
extern void MlStepDatetime(Clean *c, JsonbContainer *st);
extern void MlEmitCast(Clean *c, int ci, const char *to, bool from_text);
extern void MlCastDeclared(Clean *c);
extern const char *const MlPolishKeys[];
extern void MlStepPolishText(Clean *c, JsonbContainer *st);
extern void MlStepPolishIntegers(Clean *c, JsonbContainer *st);
extern void MlCleanReportJson(Clean *c, StringInfo out);
extern Oid MlCleanBegin(Clean *c, Oid relid, JsonbContainer *roles, const char *target, List *colnames, int64 sample, bool infer, List *numeric_text, List *zoned, List *unzoned);
extern char *MlCleanFills(Clean *c, List *xnames, List *xexprs);
extern void MlCleanWrite(Clean *c, Oid relid, const char *into, const char *from);
extern void MlCleanResult(Clean *c, ReturnSetInfo *rsinfo, int64 recipe_id);
extern void MlCleanProfile(Clean *c, void *scope, Oid relid, const char *into, int64 recipe_id,
						   int64 project_id);
extern char *MlResolveInto(FunctionCallInfo fcinfo, int argno);
extern Oid MlCheckRelation(FunctionCallInfo fcinfo, int argno, const char *into);

#endif							/* ML_PIPELINE_H */
