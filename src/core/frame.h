/*
 * frame.h
 *	  An in-memory, column-major copy of a relation for cleaning and
 *	  imputation: numbers as float8, categories as dictionary codes,
 *	  datetimes as epoch seconds, plus the ctid of each row.
 */
#ifndef ML_FRAME_H
#define ML_FRAME_H

#include "postgres.h"

#include "access/attnum.h"
#include "nodes/pg_list.h"
#include "storage/itemptr.h"
#include "utils/portal.h"

typedef enum MlKind
{
	ML_KIND_NUMERIC,			/* numbers (integer, float, numeric) */
	ML_KIND_CATEGORICAL,		/* text or boolean levels */
	ML_KIND_DATETIME,			/* date, timestamp, timestamptz: epoch seconds */
	ML_KIND_TEXT				/* free text: too many levels to be a category */
} MlKind;

/* Roles a caller can declare in options.roles to override inference. */
typedef enum MlRole
{
	ML_ROLE_AUTO = 0,
	ML_ROLE_IDENTIFIER,
	ML_ROLE_CATEGORICAL,
	ML_ROLE_NUMERIC,
	ML_ROLE_DATETIME,
	ML_ROLE_TEXT,
	ML_ROLE_TARGET,
	ML_ROLE_SKIP
} MlRole;

typedef struct MlDict MlDict;

typedef struct MlColumn
{
	char	   *name;
	AttrNumber	attnum;
	Oid			typid;
	Oid			basetype;		/* typid's base type (typid unless a domain) */
	int32		typmod;
	MlKind		kind;
	MlRole		role;			/* declared role, ML_ROLE_AUTO if none */
	bool		identifier;		/* a unique key: never a feature */
	bool		generated;		/* a generated column of the source: never filled */
	bool		converted;		/* text read as numbers or times (a role, or mostly numbers) */
	bool		zoned;			/* text declared datetime naming zones: read as instants */
	bool		numeric_text;	/* text inferred numeric: >= ML_NUMERIC_TEXT_SHARE parse */
	int64		nunparsed;		/* non-null cells of a converted column that did not parse */
	char	   *unparsed_examples[3];	/* a few distinct texts that did not parse */
	bool		integral;		/* every finite value is a whole number */
	int			decimals;		/* decimal places the values need (0..6), -1 if more */
	bool		round_fills;	/* fills rounded to those places (integer types always) */
	bool	   *isnull;
	bool	   *wasnull;		/* isnull as loaded, before any imputation */
	int32	   *parts[10];		/* cached datetime parts (MlDatePart) per row */
	double	   *x;				/* numeric/datetime value; NaN when null */
	int32	   *code;			/* level code, -1 when null; NULL if not coded */
	int			nlevels;
	char	  **level_text;		/* text of each level, as the type prints it */
	double	   *level_value;	/* numeric value of each level (numeric columns) */
	int64		nnull;
	int64		nlevels_seen;	/* non-null values when the column was loaded */
	int64		ninfinite;		/* NaN or +-Infinity values (numeric columns) */
	double		mean;			/* over finite values */
	double		sd;
	double		min;
	double		max;
	MlDict	   *dict;
} MlColumn;

typedef struct MlFrame
{
	int64		nrows;
	int64		capacity;
	FmgrInfo   *out;			/* output functions of the columns */
	int			ncols;
	MlColumn   *cols;
	ItemPointerData *tids;		/* ctid of each row; NULL if the relation has none */
	Oid			relid;
} MlFrame;

/* Most levels a numeric column may have and still be coded as a key. */
#define ML_MAX_NUMERIC_LEVELS 65536

/*
 * Share of a text column's non-null cells that must parse as numbers for
 * the column to be read as numeric (the rest become gaps, counted).
 */
#define ML_NUMERIC_TEXT_SHARE 0.95

/* bytes per cell of a frame: value, code, null flag, and their copies */
#define ML_CELL_BYTES 14

extern MlFrame *MlFrameLoad(Oid relid, List *colnames, bool with_tids);
extern MlFrame *MlFrameLoadSample(Oid relid, List *colnames, bool with_tids, int64 sample_rows);
extern MlFrame *MlFrameCreate(Oid relid, List *colnames, bool with_tids);
extern char *MlFrameQuery(MlFrame *frame, const char *suffix);
extern int64 MlFrameFetch(MlFrame *frame, Portal portal, int64 max_rows);
extern void MlFrameFinish(MlFrame *frame);
extern Size MlFrameEstimate(Oid relid, int ncols);
extern double MlRelTuples(Oid relid);
extern void MlFrameMarkGenerated(MlFrame *frame, Oid relid);
extern int	MlFrameColumn(MlFrame *frame, const char *name);
extern bool MlColumnIsDiscrete(MlColumn *col);
extern void MlColumnComputeStats(MlColumn *col, int64 nrows);
extern double MlTargetUnit(double maxabs);
extern void MlMeanSd(const double *v, int64 n, double *mean, double *sd);
extern int32 MlColumnLevel(MlColumn *col, const char *text, double value);
extern int32 MlColumnAddLevel(MlColumn *col, const char *text);
extern void MlColumnInitLevels(MlColumn *col);

/* Datetime parts of epoch seconds in the session time zone. */
typedef enum MlDatePart
{
	ML_PART_YEAR, ML_PART_MONTH, ML_PART_DAY, ML_PART_HOUR, ML_PART_MINUTE,
	ML_PART_SECOND, ML_PART_DOW, ML_PART_DOY, ML_PART_WEEK, ML_PART_WEEKEND
} MlDatePart;

extern void MlColumnConvert(MlColumn *col, int64 nrows, MlKind kind,
							bool (*parse) (const char *text, double *value));
extern bool MlColumnMostlyNumbers(MlColumn *col, int64 nrows);
extern int	MlCmpIndexByValue(const void *a, const void *b, void *arg);
extern double MlQuantile(double *v, int64 n, double q);
extern double MlDatePartOf(double epoch, MlDatePart part, bool with_tz);
extern void MlDatePartsOf(double epoch, const MlDatePart *parts, int nparts, bool with_tz,
						  double *out);
/* The last day MlDatePartsOfMemo broke down (zero it to start). */
typedef struct MlDayMemo
{
	bool		valid;
	int64		date;			/* days since 2000-01-01 */
	int			year;
	int			mon;
	int			mday;
	int			jd;
} MlDayMemo;

extern void MlDatePartsOfMemo(double epoch, const MlDatePart *parts, int nparts, bool with_tz,
							  double *out, MlDayMemo *memo);
extern double MlTimestampEpoch(int64 ts);
extern char *MlEpochText(double epoch, Oid typid);
extern char *MlEpochTextIso(double epoch, Oid typid);
extern double MlDatumToDouble(Datum d, Oid typid);
extern double MlBaseDatumToDouble(Datum d, Oid basetype);
extern MlKind MlKindOfType(Oid typid);

#endif							/* ML_FRAME_H */
