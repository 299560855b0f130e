/*
 * features.h
 *	  From relation columns to a learner's design, the same way at training
 *	  and at scoring.
 *
 * Two stages. Raw features: a number per numeric column, a level code per
 * categorical column, and parts (epoch, year, month, day, day of week,
 * hour) per date/time column; NaN for NULL. Trees learn from raw features
 * directly (they route NaN and split on codes). Dense learners get a second
 * stage: numbers standardized with NULL at the mean plus a missing
 * indicator, codes one-hot over the most frequent levels.
 */
#ifndef ML_FEATURES_H
#define ML_FEATURES_H

#include "postgres.h"

#include <math.h>

#include "access/htup.h"
#include "access/tupdesc.h"

#include "core/frame.h"
#include "model/model.h"

typedef enum MlInputKind
{
	ML_INPUT_NUMERIC = 0,
	ML_INPUT_CATEGORY,
	ML_INPUT_DATETIME
} MlInputKind;

#define ML_MAX_PARTS 10			/* every MlDatePart (a recipe may ask for all) */
#define ML_MAX_ONEHOT 64

/* One column of the relation the model reads. */
typedef struct MlInput
{
	char	   *name;
	MlInputKind kind;
	Oid			typid;			/* datetime inputs: DATEOID, TIMESTAMPOID or TIMESTAMPTZOID */
	bool		with_tz;		/* timestamptz: parts in the session time zone */
	int			nparts;
	MlDatePart	parts[ML_MAX_PARTS];	/* after the epoch (raw feature 0) */
	int			nlevels;
	char	  **levels;			/* category levels as the type prints them */
	int			first_raw;		/* its first raw feature */
	int			nraw;
	/*
	 * A cleaning recipe's row-local steps (model/train_recipe.c), replayed
	 * on every value before the raw features: a NULL takes the fill (a
	 * number, an epoch or a level code), an observed finite number is
	 * clamped to [lo, hi]. Stored in the payload only when some input has
	 * one, so models without a recipe keep their bytes.
	 */
	bool		has_fill;
	double		fill;
	double		raw_fill;		/* a number's or date/time's fill as fitted: MlBindRow holds it as the row's column does */
	bool		has_clamp;
	double		lo;				/* held as the training column holds them */
	double		hi;
	double		raw_lo;			/* as fitted: MlBindRow holds them as the row's column does */
	double		raw_hi;
	/*
	 * A NULL takes the fill of a recipe's model over the row's other inputs
	 * (groupwise, regression, chain, blend): the encoder's replay steps
	 * (features_replay.c), run only for rows with such a NULL.
	 */
	bool		replay;
	/* scoring: level text -> code (built on load) */
	struct MlLevelHash *hash;
} MlInput;

/* Stage two of one raw feature (dense learners). */
typedef struct MlDenseMap
{
	int			first;			/* first dense feature it writes */
	int			n;				/* 1 (+1 indicator) or the one-hot width */
	double		center;
	double		scale;
	bool		indicator;		/* a 0/1 "was missing" feature follows */
	int			nonehot;
	int32	   *onehot;			/* codes that get their own column */
} MlDenseMap;

typedef struct MlEncoder
{
	int			ninputs;
	MlInput    *inputs;
	int			nraw;
	char	  **raw_name;
	bool	   *raw_categorical;
	int		   *raw_ncat;
	bool		dense;
	MlDenseMap *map;			/* per raw feature, when dense */
	int			nfeat;			/* what the learner sees */
	char	  **feat_name;
	bool	   *feat_categorical;
	int		   *feat_ncat;
	int		   *feat_input;		/* input each learner feature comes from */
	bool		prep;			/* some input has a fill or bounds */
	struct MlReplay *replay;	/* the recipe's fill steps over a row, or NULL */
} MlEncoder;

/* What a recipe asks of one frame column (NULL list: nothing). */
typedef struct MlColumnPrep
{
	bool		has_fill;
	double		fill;			/* number, epoch, or a level code of the frame column */
	double		raw_fill;		/* a number's or date/time's fill as fitted, before fill was held as the column holds it */
	bool		has_clamp;
	double		lo;				/* bounds held as the column holds them */
	double		hi;
	double		raw_lo;			/* and as fitted */
	double		raw_hi;
	int			nparts;			/* > 0: these date parts instead of the defaults */
	MlDatePart	parts[ML_MAX_PARTS];
} MlColumnPrep;

/*
 * A cleaning recipe's fill steps replayed on one row (features_replay.c):
 * every fill step of the recipe on an input, in the recipe's order, as its
 * JSON, applied by the cleaning engine (MlModelFromJson, MlImputeApplyModel)
 * to a frame of that one row, as ml_apply_recipe applies them to a table.
 */
typedef struct MlReplay
{
	int			nsteps;
	char	  **text;			/* each step as stored */
	Jsonb	  **step;
	int			ncols;			/* the inputs the steps read or fill */
	int		   *input;			/* [ncols] encoder input */
	Oid		   *type;			/* [ncols] base type of the training column */
	int32	   *typmod;
	bool	   *target;			/* [ncols] some step fills it */
	MemoryContext cxt;			/* one row's work, reset after it */
	/*
	 * The steps read once (MlModelFromJson) on the first replayed row, kept
	 * with the encoder (a cached deployed model's context) for every later
	 * row, which only codes its keys again (MlModelRebind).
	 */
	MemoryContext model_cxt;
	struct MlModel **model;		/* [nsteps], or NULL until read */
} MlReplay;

/* One replayed input of a scored row, as a frame would hold it. */
typedef struct MlReplayCell
{
	bool		isnull;
	double		x;				/* number or epoch */
	char	   *text;			/* category: the level as its type prints it */
	Oid			type;			/* a number's column: base type, InvalidOid if unknown */
	int32		typmod;			/* and the typmod it holds values with */
} MlReplayCell;

#define ML_REPLAY_MAX_STEPS 4096

extern bool MlReplayMethodOk(JsonbContainer *step, char **bad);
extern bool MlReplayIsModelFill(const char *method);
extern List *MlReplayColumns(JsonbContainer *step);
extern void MlReplayAttach(MlEncoder *enc, List *steps, MlFrame *frame);
extern void MlReplaySave(MlEncoder *enc, StringInfo buf);
extern void MlReplayLoad(MlEncoder *enc, MlReader *r);
extern void MlReplayRow(MlEncoder *enc, const MlReplayCell *cells, double *out);

extern MlEncoder *MlEncoderFit(MlFrame *frame, List *columns, const int64 *rows, int64 nrows,
							   bool dense);
extern MlEncoder *MlEncoderFitPrep(MlFrame *frame, List *columns, const int64 *rows, int64 nrows,
								   bool dense, const MlColumnPrep *prep);
extern void MlEncoderRaw(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows,
						 double **raw);
extern void MlEncoderInputs(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows,
							double **raw);
extern void MlEncoderDensify(MlEncoder *enc, double **raw, int64 nrows, double **out);
extern MlDesign *MlEncoderDesign(MlEncoder *enc, MlFrame *frame, const int64 *rows, int64 nrows);
extern void MlEncoderShape(MlEncoder *enc, MlDesign *shape);
extern void MlEncoderSave(MlEncoder *enc, StringInfo buf);
extern MlEncoder *MlEncoderLoad(MlReader *r);
extern void MlEncoderFeaturesJson(MlEncoder *enc, StringInfo out);

/*
 * numeric to float8 goes through the number's text in PostgreSQL: a
 * direct-mapped memo of recent conversions, keyed by the value's bytes.
 */
#define ML_NUMERIC_MEMO 512			/* entries: 256 sets of two */
#define ML_NUMERIC_MEMO_KEY 22		/* longer values are converted every time */

typedef struct MlNumericMemo
{
	uint8		len;			/* key bytes; 0: empty */
	char		key[ML_NUMERIC_MEMO_KEY];
	double		value;
} MlNumericMemo;

/* Scoring one row: the input columns bound by name to a row type. */
typedef struct MlRowBinding
{
	Oid			typid;
	int32		typmod;
	int			natts;
	int		   *attno;			/* per input: 0-based attribute, -1 if absent */
	Oid		   *atttype;		/* base type */
	int32	   *atttypmod;		/* the typmod it holds values with (a domain's too) */
	double	   *fill;			/* per input: the recipe's fill as this column holds it */
	double	   *lo;				/* and its outlier bounds */
	double	   *hi;
	FmgrInfo   *out;			/* output function (categories) */
	MlNumericMemo **memo;		/* per input: numeric's memo, else NULL */
} MlRowBinding;

extern int32 MlLevelCode(MlInput *in, const char *s, int len);
extern double MlUnseenLevel(void);
extern bool MlIsUnseenLevel(double v);
extern MlRowBinding *MlBindRow(MlEncoder *enc, TupleDesc desc, const char *what);
extern void MlEncodeRow(MlEncoder *enc, MlRowBinding *b, Datum *values, bool *nulls,
						double *raw, double *feat);
extern void MlEncodeBlock(MlEncoder *enc, MlRowBinding *b, int n, const Datum *values,
						  const bool *nulls, int stride, double **raw, double **feat);
extern void MlEncodeJson(MlEncoder *enc, Jsonb *row, double *raw, double *feat, const char *what);

/* A recipe's row-local step on one observed value, or on a NULL (isnull). */
static inline double
MlInputPrep(const MlInput *in, double v, bool isnull)
{
	if (isnull)
		return in->has_fill ? in->fill : NAN;
	if (in->has_clamp && isfinite(v))
		v = v < in->lo ? in->lo : v > in->hi ? in->hi : v;
	return v;
}

#endif							/* ML_FEATURES_H */
