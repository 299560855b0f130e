/*
 * cleaning.h
 *	  Shared pieces of ml_impute, ml_clean and ml_apply_recipe.
 */
#ifndef ML_CLEANING_H
#define ML_CLEANING_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "utils/jsonb.h"

#include "core/casts.h"
#include "core/frame.h"
#include "clean/impute.h"

/* Cells to write back: per imputed column, a value for some rows. */
typedef struct MlFills
{
	MemoryContext cxt;			/* where the fills live */
	int			ntargets;
	int		   *targets;		/* frame column of each slot */
	Datum	  **value;			/* [slot][row]: float8 or text */
	bool	  **isset;			/* [slot][row] */
	int64	   *filled;			/* [slot] */
	int64	   *out_of_range;	/* [slot]: estimates the column's type cannot hold, left missing */
	int64	   *nonfinite;		/* [slot]: estimates that are no number (NaN, overflow), left missing */
	bool	   *rowset;			/* [row]: some cell of the row is filled */
	int64		nrows;
	bool	   *deleted;		/* [row]: delete the row */
	int64		ndeleted;
} MlFills;

/* One line of ml_impute's result. */
typedef struct MlImputeReport
{
	char	   *column;
	int64		filled;
	char	   *method;
	const char *metric;
	double		error;
} MlImputeReport;

extern void MlImputeReadOptions(JsonbContainer *opts, const char *method, MlImputeOptions *o,
								const char *const *valid);
extern const char *const MlImputeOptionKeys[];
extern void MlApplyRoles(MlFrame *frame, JsonbContainer *roles, const char *target, bool infer,
						 List *numeric_text, List *zoned, List *unzoned);
extern List *MlNumericTextColumns(MlFrame *frame);
extern List *MlTextNumberColumns(MlFrame *frame);
extern List *MlZonedColumns(MlFrame *frame, bool zoned);
extern List *MlZonedFromSteps(JsonbContainer *steps, bool zoned);
extern void MlCheckTargetOption(Oid relid, const char *target);
extern void MlUnparsedText(StringInfo out, MlColumn *col);
extern void MlUnparsedJson(StringInfo out, MlColumn *col);
extern void MlNumericTextStep(StringInfo steps, MlFrame *frame);
extern List *MlNumericTextFromSteps(JsonbContainer *steps);
extern List *MlNumericTextStepColumns(JsonbContainer *step);
extern MlFills *MlFillsCreate(MlFrame *frame);
extern int64 MlForestApply(MlFrame *frame, MlFills *fills, MlModel *m);
extern int	MlFillSlot(MlFills *fills, int target);
extern void MlFillTimeOrdered(MlFrame *frame, MlFills *fills, int target, MlImputeOptions *o,
							  bool discrete);
extern void MlFillStore(MlFrame *frame, MlFills *fills, int target, const int64 *rows, int64 n,
						const double *values, const int32 *levels, bool discrete);
extern char *MlFillsSubquery(MlFrame *frame, MlFills *fills, List *extra_names, List *extra_exprs,
							 int *nargs, Oid **types, Datum **args);
extern void MlPreferTidJoins(void);
extern void MlFrameRoundFills(MlFrame *frame, bool round);
extern int32 MlHeldTypmod(MlColumn *col, Oid *base);
extern int32 MlHeldTypmodOf(Oid typid, int32 typmod, Oid *base);
extern bool MlFillAsHeld(MlColumn *col, double *v);
extern bool MlNumberAsHeld(Oid base, int32 typmod, double *v);
extern bool MlDomainTakes(Oid typid, Oid base, double v);
extern bool MlEpochFillAsHeld(MlColumn *col, double *v);
extern double MlEpochAsHeld(double v, Oid base, int32 typmod);
extern bool MlDomainTakesEpoch(Oid typid, Oid base, double v);
extern bool MlBoundAsHeld(Oid typid, Oid base, int32 typmod, double *v, double other);
extern void MlBoundsAsHeld(Oid typid, Oid base, int32 typmod, double raw_lo, double raw_hi,
						   double *lo, double *hi);
extern void MlFillsNotice(MlFrame *frame, MlFills *fills);
extern void MlFillsWrite(MlFrame *frame, MlFills *fills, const char *into);
extern int	MlImputeColumns(MlFrame *frame, MlFills *fills, List *targets, bool explicit,
							MlImputeOptions *o, JsonbContainer *methods,
							StringInfo steps, MlImputeReport *report);
extern List *MlDefaultTargets(MlFrame *frame);
extern int64 *MlApplyModelsChunked(Oid relid, Jsonb *models, JsonbContainer *roles,
								   List *numeric_text, List *zoned, List *unzoned,
								   int64 chunk_rows);
extern bool MlFrameTooLarge(Oid relid, int ncols);
extern void MlCountUnparsed(Oid relid, MlFrame *frame);
extern char *MlUnparsedCondition(MlColumn *col, const char *qc);
extern int64 MlSampleRows(int ncols);
extern int64 MlChunkRows(int ncols);
extern int64 MlImputeApplyModel(MlFrame *frame, MlFills *fills, MlModel *m, JsonbContainer *obj);
extern Oid	MlPrepareOutput(Oid relid, const char *into, bool *copied);
extern Oid	MlCopyRelation(Oid relid, const char *dest, bool temp);
extern char *MlProjectTarget(Oid relid, int64 *project_id);
extern int64 MlStoreRecipe(void *scope, Oid relid, const char *kind, const char *options,
						   const char *steps, const char *report, int64 project_id);

/* What a run's column profiles are computed from (profile.c). */
typedef struct MlProfileSpec
{
	MlFrame    *frame;			/* as loaded, fills written into it */
	Oid			relid;			/* the relation profiled */
	Oid			outid;			/* where the cleaned rows went (InvalidOid: relid) */
	int64		project_id;		/* 0: none */
	int64		sample_rows;	/* 0: the frame holds every row */
	const bool *deleted;		/* [row] removed by the run, or NULL */
	const bool *kept;			/* [col] in the output, or NULL: every column */
	double	  **after_x;		/* [col] values after the run when not the frame's, or NULL */
	const double *lo,
			   *hi;				/* [col] the outlier step's fences (NaN: none), or NULL */
	int64		rows_before,
				rows_after;		/* exact row counts, -1: the frame's */
	const int64 *missing_before,
			   *missing_after;	/* [col] exact missing counts, or NULL: the frame's */
} MlProfileSpec;

extern void MlProfileStore(void *scope, int64 recipe_id, MlProfileSpec *spec);
extern void MlImputeProfile(void *scope, MlFrame *frame, MlFills *fills, Oid source_relid,
							const char *into, bool sampled, int64 recipe_id, int64 project_id);

/* CSV options with the domains named in "types" schema-qualified (csv_types.c). */
extern char *MlCsvQualifyTypes(JsonbContainer *opts);

#endif							/* ML_CLEANING_H */
