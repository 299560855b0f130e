/*
 * fills.c
 *	  The fills: cells to write back per imputed column, stored as the
 *	  column's own type, and written in one statement (an UPDATE joined on
 *	  ctid in place, or a CREATE TABLE AS into a new table).
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/regproc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "core/catalog.h"
#include "clean/cleaning.h"
#include "clean/impute.h"
#include "core/options.h"
#include "core/progress.h"
#include "core/subxact.h"

/* 10^0 .. 10^22: the powers of ten a double holds exactly */
static const double exact_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * numeric_as_stored's answer without printing digits, where arithmetic
 * decides it for certain (most fills); false to print them. Either way the
 * value is a decimal D (15 significant digits, then s places for a typmod)
 * read back as the double nearest to it: with D = r * 10^-s, r a whole
 * number below 2^53 and 10^s exact (s <= 22), r / 10^s is that double (an
 * IEEE division is correctly rounded). r is found from y = |x| * 10^s: y is
 * within 2^-53 y of |x| 10^s, and for a typmod the 15 digits move it by at
 * most 5e-15 y more; r is y rounded, certain when y is farther than that
 * from the half between two whole numbers (the tie rules, half even for
 * the digits and half away from zero for the places, then never apply).
 */
static bool
numeric_as_stored_quick(double x, int scale, bool typmod, double *v)
{
	double		ax = fabs(x);
	double		p,
				y,
				whole,
				frac,
				margin,
				r;

	if (typmod)
	{
		/* D: x's 15 digits, rounded to s places */
		if (scale < 0 || scale > 22)
			return false;
		p = exact_pow10[scale];
		y = ax * p;
		margin = 6e-15 * y;
	}
	else
	{
		/* D: x's 15 digits, r their 15-digit whole number */
		int			s;

		if (!(ax >= 1e-7 && ax < 1e15))
			return false;
		s = 14 - (int) floor(log10(ax));
		if (s < 0 || s > 22)
			return false;
		p = exact_pow10[s];
		y = ax * p;
		/* printf's exponent is log10's: y has its 15 digits (below 2^50) */
		if (!(y >= 1e14 + 1 && y < 1e15 - 1))
			return false;
		margin = 0.07;			/* half an ulp of y is at most 0.0625 */
	}
	if (!(y < 4e15))
		return false;
	whole = floor(y);
	frac = y - whole;			/* exact below 2^52 */
	if (!(fabs(frac - 0.5) > margin))
		return false;
	r = frac > 0.5 ? whole + 1 : whole;
	*v = r == 0 ? 0 : copysign(r / p, x);	/* numeric has no -0 */
	return true;
}

/*
 * A numeric fill as the column will hold it: float8 to numeric keeps 15
 * significant digits, numeric(p,s) rounds half away from zero to s places.
 * The frame keeps that value, not the float8 the model gave, so a later
 * column's model reads what the table holds, and a recipe replayed on a
 * row (features_replay.c) gives the fills that scoring the filled row
 * reads. False when the value held is beyond the double range (a fill from
 * 1.797693134862315e308 up rounds to 15 digits past DBL_MAX): the frame
 * reads such a cell as Infinity (numeric_float8_no_overflow), so it is left
 * missing, counted out of range, rather than failing with numeric_float8's
 * error quoting 309 digits.
 */
static bool
numeric_as_stored(double x, int scale, bool typmod, double *v)
{
	char		buf[32];
	char		digits[17];
	bool		neg = x < 0;
	int			exp;
	int			keep;

	if (x == 0)
	{
		*v = 0;					/* numeric has no -0 */
		return true;
	}
	if (numeric_as_stored_quick(x, scale, typmod, v))
		return true;

	/*
	 * float8_numeric prints "%.15g": the same 15 significant digits as
	 * "%.14e", d.dddddddddddddde+XX. Their decimal read back by strtod is
	 * what numeric_float8_no_overflow gives (it prints the numeric, then
	 * strtod), without building a numeric at all.
	 */
	snprintf(buf, sizeof(buf), "%.14e", x);
	if (typmod)
	{
		const char *p = buf + (neg ? 1 : 0);

		exp = atoi(strchr(p, 'e') + 1);
		/* digits kept at s places: those of weight 10^-s and up */
		keep = exp + scale + 1;
		if (keep < 15)
		{
			int			n = 0;

			digits[n++] = p[0];
			for (int i = 2; i < 16; i++)
				digits[n++] = p[i];
			if (keep < 0 || (keep == 0 && digits[0] < '5'))
			{
				*v = 0;			/* below half the last place */
				return true;
			}
			if (keep == 0)
			{
				/* rounds up to one unit of the last place */
				snprintf(buf, sizeof(buf), "%s1e%d", neg ? "-" : "", -scale);
			}
			else
			{
				/* round_var: half away from zero on the first digit dropped */
				bool		up = digits[keep] >= '5';
				int			len = keep;

				for (int i = keep - 1; up && i >= 0; i--)
				{
					if (digits[i] == '9')
						digits[i] = '0';
					else
					{
						digits[i]++;
						up = false;
					}
				}
				if (up)
				{
					/* 99..9 carried into a new digit: 10..0, one more place */
					memmove(digits + 1, digits, len);
					digits[0] = '1';
					len++;
				}
				digits[len] = '\0';
				snprintf(buf, sizeof(buf), "%s%se%d", neg ? "-" : "", digits, -scale);
			}
		}
	}
	/* strtod's HUGE_VAL past DBL_MAX, as numeric_float8_no_overflow's */
	*v = strtod(buf, NULL);
	return !isinf(*v);
}

/*
 * The type a column's values are held as: its base type, with the
 * column's typmod or, for a domain, the domain's (a column of a domain over
 * numeric(6,2) has typmod -1, and the write's cast to the domain rounds to
 * two places and refuses 10^4).
 */
int32
MlHeldTypmod(MlColumn *col, Oid *base)
{
	return MlHeldTypmodOf(col->typid, col->typmod, base);
}

/* The same for a column of type typid declared with typmod. */
int32
MlHeldTypmodOf(Oid typid, int32 typmod, Oid *base)
{
	int32		domain_typmod = -1;
	Oid			b = getBaseTypeAndTypmod(typid, &domain_typmod);

	if (base)
		*base = b;
	return typmod >= 0 ? typmod : domain_typmod;
}

/*
 * Whether a number fits the column's type as the write casts it (float8 to
 * the type, base type and typmod from MlHeldTypmod): integer ranges,
 * real's range, numeric(p,s)'s digits; *v becomes the value the column
 * holds once written (real's precision, numeric's digits), so that the
 * frame agrees with the table.
 */
static bool
fits_type(Oid base, int32 typmod, double *v)
{
	double		x = *v;

	if (!isfinite(x))
		return true;			/* non-finite fills are never stored */
	switch (base)
	{
		case INT2OID:
			return x >= PG_INT16_MIN && x <= PG_INT16_MAX;
		case INT4OID:
			return x >= PG_INT32_MIN && x <= PG_INT32_MAX;
		case INT8OID:
			return x >= -9223372036854775808.0 && x < 9223372036854775808.0;
		case FLOAT4OID:
			if (isinf((float) x))
				return false;
			/* real's nearest value; 0 below its smallest, never -0 */
			*v = (float) x == 0.0f ? 0 : (double) (float) x;
			return true;
		case NUMERICOID:
			if (typmod >= (int32) VARHDRSZ)
			{
				int			precision = ((typmod - VARHDRSZ) >> 16) & 0xffff;
				int			scale = (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024;
				double		rounded;

				/* numeric(p,s) holds fewer than 10^(p-s) after rounding */
				if (!numeric_as_stored(x, scale, true, &rounded) ||
					!(fabs(rounded) < pow(10, precision - scale)))
					return false;
				*v = rounded;
				return true;
			}
			return numeric_as_stored(x, 0, false, v);
		default:
			return true;
	}
}

/*
 * A number fill as the column holds it once written (whole for an integer
 * type, then fits_type): false when the column cannot hold it. For the
 * fills a model keeps outside the frame (train_recipe.c: a recipe's mean,
 * median, mode or constant), which ml_apply_recipe writes through
 * MlFillStore (a domain's CHECK constraints too: MlDomainTakes).
 */
bool
MlFillAsHeld(MlColumn *col, double *v)
{
	Oid			base;
	int32		typmod = MlHeldTypmod(col, &base);

	return MlNumberAsHeld(base, typmod, v) && MlDomainTakes(col->typid, base, *v);
}

/* The same for a column of base type base holding values with typmod. */
bool
MlNumberAsHeld(Oid base, int32 typmod, double *v)
{
	if (base == INT2OID || base == INT4OID || base == INT8OID)
		*v = rint(*v);
	return fits_type(base, typmod, v);
}

/*
 * A number column of a domain with CHECK constraints (CHECK (VALUE BETWEEN
 * 0 AND 100)): an estimate the domain refuses failed the statement that
 * writes the fills with 23514, as if the user's input were wrong. The
 * constraints are evaluated here, as domain_check does, without raising:
 * such an estimate is left missing and counted, as one out of the type's
 * range. NULL for any other column (almost all: no cost for them).
 */
typedef struct DomainFits
{
	MemoryContext cxt;
	DomainConstraintRef ref;
	ExprContext *econtext;
	Oid			base;
	int32		typmod;			/* a date/time fill's, read as the write reads it */
	Oid			infunc;			/* a date/time base type's input function */
	Oid			ioparam;
} DomainFits;

static DomainFits *
domain_fits_begin(Oid typid, Oid base)
{
	DomainFits *df;

	if (get_typtype(typid) != TYPTYPE_DOMAIN || !DomainHasConstraints(typid))
		return NULL;
	df = palloc0(sizeof(DomainFits));
	df->cxt = AllocSetContextCreate(CurrentMemoryContext, "ml fills domain check", ALLOCSET_SMALL_SIZES);
	InitDomainConstraintRef(typid, &df->ref, df->cxt, true);
	df->econtext = CreateStandaloneExprContext();
	df->base = base;
	df->typmod = MlHeldTypmodOf(typid, -1, NULL);
	if (base != INT2OID && base != INT4OID && base != INT8OID && base != FLOAT4OID &&
		base != FLOAT8OID && base != NUMERICOID)
		getTypeInputInfo(base, &df->infunc, &df->ioparam);
	return df;
}

/* Whether the domain's CHECK constraints take d, a value of its base type. */
static bool
domain_checks(DomainFits *df, Datum d)
{
	ListCell   *lc;

	UpdateDomainConstraintRef(&df->ref);
	foreach(lc, df->ref.constraints)
	{
		DomainConstraintState *con = (DomainConstraintState *) lfirst(lc);

		if (con->constrainttype != DOM_CONSTRAINT_CHECK)
			continue;			/* NOT NULL: a fill is never NULL */
		df->econtext->domainValue_datum = d;
		df->econtext->domainValue_isNull = false;
		if (!ExecCheck(con->check_exprstate, df->econtext))
			return false;
	}
	return true;
}

/*
 * Whether a domain over a date/time or text type takes the fill written as
 * text (MlEpochText, a level's text), read by its base type's input as the
 * write's cast reads it: the CHECK refused such a fill in the write, with
 * 23514 from our own statement.
 */
static bool
domain_fits_text(DomainFits *df, const char *text)
{
	MemoryContext old;
	Datum		d;
	bool		ok;

	if (!OidIsValid(df->infunc))
		return true;
	CHECK_FOR_INTERRUPTS();		/* once per fill: a CHECK may call any function */
	old = MemoryContextSwitchTo(df->econtext->ecxt_per_tuple_memory);
	d = OidInputFunctionCall(df->infunc, (char *) text, df->ioparam, df->typmod);
	ok = domain_checks(df, d);
	MemoryContextSwitchTo(old);
	ResetExprContext(df->econtext);
	return ok;
}

/* Whether the domain takes v, held as its base type holds it (fits_type). */
static bool
domain_fits(DomainFits *df, double v)
{
	MemoryContext old;
	Datum		d;
	bool		ok;

	CHECK_FOR_INTERRUPTS();		/* once per fill: a CHECK may call any function */
	old = MemoryContextSwitchTo(df->econtext->ecxt_per_tuple_memory);
	switch (df->base)
	{
		case INT2OID:
			d = Int16GetDatum((int16) v);
			break;
		case INT4OID:
			d = Int32GetDatum((int32) v);
			break;
		case INT8OID:
			d = Int64GetDatum((int64) v);
			break;
		case FLOAT4OID:
			d = Float4GetDatum((float4) v);
			break;
		case FLOAT8OID:
			d = Float8GetDatum(v);
			break;
		case NUMERICOID:
			/* v holds at most 15 digits: float8_numeric gives them back */
			d = DirectFunctionCall1(float8_numeric, Float8GetDatum(v));
			break;
		default:
			MemoryContextSwitchTo(old);
			return true;
	}
	ok = domain_checks(df, d);
	MemoryContextSwitchTo(old);
	ResetExprContext(df->econtext);
	return ok;
}

static void
domain_fits_end(DomainFits *df)
{
	if (df == NULL)
		return;
	FreeExprContext(df->econtext, true);
	MemoryContextDelete(df->cxt);
	pfree(df);
}

/*
 * Whether a column of type typid (base type base) takes the number v held
 * as the base type holds it: always, but for a domain's CHECK constraints.
 */
bool
MlDomainTakes(Oid typid, Oid base, double v)
{
	DomainFits *df;
	bool		ok;

	if (!isfinite(v) || (df = domain_fits_begin(typid, base)) == NULL)
		return true;
	ok = domain_fits(df, v);
	domain_fits_end(df);
	return ok;
}

static bool epoch_fits(double epoch, Oid typid);

/*
 * The epoch v as a column of date/time type base (typmod) holds it once
 * written (MlEpochText's text read back): a date to its nearest day, a
 * timestamp to the microsecond or to its typmod's digits. A mean of dates
 * lies between two days: ml_apply_recipe wrote the nearer one while
 * ml_train trained on, and scoring filled a NULL with, the mean itself (8
 * of a slope's 10 per day off). Other types (text read as times, written
 * as ISO text to the microsecond): the microsecond.
 */
double
MlEpochAsHeld(double v, Oid base, int32 typmod)
{
	double		off = (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	double		pg = v - off;
	Timestamp	ts;

	if (!isfinite(v))
		return v;
	if (base == DATEOID)
		return floor(pg / SECS_PER_DAY + 0.5) * SECS_PER_DAY + off;
	if (!(fabs(pg) < 9.2e12))	/* beyond any timestamp: refused by the range check */
		return v;
	ts = (Timestamp) rint(pg * USECS_PER_SEC);
	if ((base == TIMESTAMPOID || base == TIMESTAMPTZOID) && typmod >= 0 && typmod < MAX_TIMESTAMP_PRECISION)
		AdjustTimestampForTypmod(&ts, typmod);
	return MlTimestampEpoch(ts);
}

/*
 * A date/time fill (an epoch) as MlFillStore writes it into col: false
 * where the type's range or a domain's CHECK constraints refuse it (the
 * cell stays missing there), else *v as the column holds it. For the
 * fills a model keeps outside the frame (train_recipe.c): a date domain's
 * CHECK refused the recipe's fill in ml_apply_recipe but not in ml_train,
 * which trained on it and filled every scored row's NULL with it.
 */
bool
MlEpochFillAsHeld(MlColumn *col, double *vp)
{
	Oid			base;
	Oid			ttyp = col->zoned ? TIMESTAMPTZOID : col->typid;
	DomainFits *df;
	bool		ok;
	int32		typmod = MlHeldTypmod(col, &base);
	double		v = *vp;

	if (!isfinite(v) || !epoch_fits(v, ttyp))
		return false;
	v = col->converted ? MlEpochAsHeld(v, InvalidOid, -1) : MlEpochAsHeld(v, base, typmod);
	*vp = v;
	if ((df = domain_fits_begin(col->typid, base)) == NULL)
		return true;
	ok = domain_fits_text(df, col->converted ? MlEpochTextIso(v, ttyp) : MlEpochText(v, ttyp));
	domain_fits_end(df);
	return ok;
}

/*
 * Whether a date/time column of type typid (base type base) takes the
 * epoch v: its range, and a domain's CHECK constraints (a scored row's
 * column, as the write into it would take the fill).
 */
bool
MlDomainTakesEpoch(Oid typid, Oid base, double v)
{
	DomainFits *df;
	bool		ok;

	if (!isfinite(v) || !epoch_fits(v, base))
		return false;
	if ((df = domain_fits_begin(typid, base)) == NULL)
		return true;
	ok = domain_fits_text(df, MlEpochText(v, base));
	domain_fits_end(df);
	return ok;
}

/*
 * A winsorizing bound as a column of type typid (base type base, typmod)
 * holds a value clamped to it (MlNumberAsHeld): false when it holds none
 * there. A domain's CHECK may refuse the held bound yet take values beyond
 * it (CHECK (VALUE % 2 = 0), 133.2 held as 133): writing the clamped
 * values then failed with 23514, and dropping the bound kept the outliers
 * silently. For the integer types the bound then moves towards other, one
 * step at a time (at most 64, never past other), to the nearest value the
 * domain takes: what clamping any of the column's values gives, since none
 * lies between. Otherwise (a range-like domain, a non-integer type) the
 * bound is beyond every value the column can hold and is dropped.
 */
bool
MlBoundAsHeld(Oid typid, Oid base, int32 typmod, double *v, double other)
{
	double		inward = other > *v ? 1 : -1;
	DomainFits *df;
	double		x = *v;
	bool		ok;

	if (!MlNumberAsHeld(base, typmod, &x))
		return false;
	if (!isfinite(x) || (df = domain_fits_begin(typid, base)) == NULL)
	{
		*v = x;
		return true;
	}
	ok = domain_fits(df, x);
	if (base == INT2OID || base == INT4OID || base == INT8OID)
	{
		for (int s = 0; !ok && s < 64; s++)
		{
			double		next = x + inward;

			/* not past the other bound: a clamp to it holds no value then */
			if (next == x || (inward > 0 ? next > other : next < other) ||
				!fits_type(base, typmod, &next))
				break;
			x = next;
			ok = domain_fits(df, x);
		}
	}
	domain_fits_end(df);
	if (ok)
		*v = x;
	return ok;
}

/*
 * Both winsorizing bounds as such a column holds them (MlBoundAsHeld),
 * each moved towards the other; one it cannot hold clamps nothing
 * (-DBL_MAX, DBL_MAX): the model's side of step_outliers.c's bound_written.
 */
void
MlBoundsAsHeld(Oid typid, Oid base, int32 typmod, double raw_lo, double raw_hi,
			   double *lo, double *hi)
{
	double		l = raw_lo,
				h = raw_hi;

	*lo = MlBoundAsHeld(typid, base, typmod, &l, raw_hi) ? l : -DBL_MAX;
	*hi = MlBoundAsHeld(typid, base, typmod, &h, raw_lo) ? h : DBL_MAX;
}

/* Whether epoch seconds are within the range of the column's date/time type. */
static bool
epoch_fits(double epoch, Oid typid)
{
	double		pg = epoch - (double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	if (getBaseType(typid) == DATEOID)
	{
		double		d = floor(pg / SECS_PER_DAY + 0.5);

		return d >= (double) (DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE) &&
			d < (double) (DATE_END_JULIAN - POSTGRES_EPOCH_JDATE);
	}
	return pg * USECS_PER_SEC >= (double) MIN_TIMESTAMP && pg * USECS_PER_SEC < (double) END_TIMESTAMP;
}

static bool
is_integer_type(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == INT2OID || base == INT4OID || base == INT8OID;
}

/*
 * Whether fills of non-integer number columns are rounded to the places
 * the observed values use (option "round"); by default they are not: a
 * float column of whole numbers still gets its fractional estimates.
 */
void
MlFrameRoundFills(MlFrame *frame, bool round)
{
	for (int c = 0; c < frame->ncols; c++)
		frame->cols[c].round_fills = round;
}

/* Cell values are written as float8 for numbers, text for everything else. */
static bool
written_as_number(MlColumn *col)
{
	return col->kind == ML_KIND_NUMERIC;
}

typedef struct LevelInput
{
	MlColumn   *col;
	const char *text;
} LevelInput;

/*
 * A level's text read as the column's base type (a domain's CHECK is
 * evaluated apart, domain_fits_text: a refused level is left missing and
 * counted, as a refused number is; a type that cannot read it is an error).
 */
static void
level_input(void *arg)
{
	LevelInput *in = arg;
	Oid			base;
	int32		typmod = MlHeldTypmod(in->col, &base);
	Oid			infunc;
	Oid			ioparam;

	getTypeInputInfo(base, &infunc, &ioparam);
	(void) OidInputFunctionCall(infunc, (char *) in->text, ioparam, typmod);
}

/*
 * A level's text is written into the column by a cast to its type. A
 * recipe fitted on a text column and applied to a same-named jsonb, enum,
 * domain or char(n) column may hold texts that type refuses: say so in our
 * words, before the write fails in the middle of the statement we built.
 * Each level is checked once per call (ok[] caches 1 valid, -1 refused).
 */
static void
check_level_text(MlColumn *col, int level, int8 *ok)
{
	LevelInput	in = {col, col->level_text[level]};
	char	   *message = NULL;

	if (ok[level] == 0)
		ok[level] = MlSubxactTry(level_input, &in, &message) ? 1 : -1;
	if (ok[level] < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of type %s cannot hold the fill \"%s\"", col->name,
						format_type_with_typemod(col->typid, col->typmod), in.text),
				 message ? errdetail("%s", message) : 0,
				 errhint("The fill was learned on a column of another type (a recipe applied to another "
						 "relation, or options.roles); fill this column with a method or value of its own type.")));
}

static bool
text_takes_any(MlColumn *col)
{
	return col->typid == TEXTOID ||
		((col->typid == VARCHAROID || col->typid == BPCHAROID) && col->typmod < 0);
}

/*
 * Put predictions into the frame (so later columns can use them) and into
 * the per-row fill arrays that the final UPDATE reads.
 */
void
MlFillStore(MlFrame *frame, MlFills *fills, int target, const int64 *rows, int64 n,
			const double *values, const int32 *levels, bool discrete)
{
	MlColumn   *col = &frame->cols[target];
	int			slot = MlFillSlot(fills, target);
	MemoryContext old;
	int8	   *level_ok = NULL;
	int8	   *level_dom = NULL;	/* a level the domain's CHECK: 1 takes, -1 refuses */
	Oid			base;
	int32		typmod;
	DomainFits *dfits = NULL;

	/* a generated column's values come from its expression (a recipe's model too) */
	if (col->generated)
		return;
	typmod = MlHeldTypmod(col, &base);
	if (col->kind == ML_KIND_NUMERIC || col->kind == ML_KIND_DATETIME ||
		(discrete && col->level_text))
		dfits = domain_fits_begin(col->typid, base);
	if (discrete && col->level_text && !text_takes_any(col))
		level_ok = palloc0(sizeof(int8) * Max(col->nlevels, 1));
	if (discrete && col->level_text && dfits)
		level_dom = palloc0(sizeof(int8) * Max(col->nlevels, 1));
	old = MemoryContextSwitchTo(fills->cxt);

	if (slot >= 0)
	{
		/* a column filled again (MICE rounds): its slot's fills are replaced */
		memset(fills->isset[slot], 0, sizeof(bool) * Max(frame->nrows, 1));
		fills->filled[slot] = 0;
		fills->out_of_range[slot] = 0;
		fills->nonfinite[slot] = 0;
	}
	else
	{
		if (fills->ntargets >= frame->ncols)
			elog(ERROR, "no fill slot left for column \"%s\"", col->name);
		slot = fills->ntargets++;
		fills->targets[slot] = target;
		fills->value[slot] = palloc0(sizeof(Datum) * Max(frame->nrows, 1));
		fills->isset[slot] = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	}
	for (int64 i = 0; i < n; i++)
	{
		int64		r = rows[i];
		double		v = values[i];
		char	   *text = NULL;

		if (discrete)
		{
			if (levels[i] < 0)
				continue;
			if (level_ok && levels[i] < col->nlevels)
				check_level_text(col, levels[i], level_ok);
			if (level_dom && levels[i] < col->nlevels)
			{
				if (level_dom[levels[i]] == 0)
					level_dom[levels[i]] = domain_fits_text(dfits, col->level_text[levels[i]]) ? 1 : -1;
				if (level_dom[levels[i]] < 0)
				{
					/* the domain's CHECK refuses the level: left missing, counted */
					fills->out_of_range[slot]++;
					continue;
				}
			}
			if (col->level_text)
				text = col->level_text[levels[i]];
			else
				v = col->level_value[levels[i]];
		}
		else if (!isfinite(v))
		{
			/*
			 * no number to write (a model's arithmetic overflowed on values
			 * near the double range, say): the cell stays missing, and the
			 * write says how many, never silently
			 */
			fills->nonfinite[slot]++;
			continue;
		}
		else if (col->kind == ML_KIND_NUMERIC && is_integer_type(col->typid))
			v = rint(v);		/* integer columns stay integers */
		else if (col->kind == ML_KIND_NUMERIC && col->round_fills && col->decimals >= 0)
		{
			/*
			 * asked for ("round"): the places the observed values use; a
			 * value from 2^52 up is whole already, and v * scale could
			 * overflow to an infinite fill (it was written as Infinity)
			 */
			double		scale = pow(10, col->decimals);

			if (fabs(v) < 4503599627370496.0)
				v = rint(v * scale) / scale;
		}
		if (col->kind == ML_KIND_NUMERIC &&
			(!fits_type(base, typmod, &v) || (dfits && !domain_fits(dfits, v))))
		{
			/* never clamped: the cell stays missing, and the write says so */
			fills->out_of_range[slot]++;
			continue;
		}
		if (col->kind == ML_KIND_DATETIME)
		{
			/* a text column of zoned times: the instant, with its offset */
			Oid			ttyp = col->zoned ? TIMESTAMPTZOID : col->typid;

			if (!epoch_fits(v, ttyp))
			{
				fills->out_of_range[slot]++;
				continue;
			}
			/* a text column keeps the text: ISO, read alike in any session */
			text = col->converted ? MlEpochTextIso(v, ttyp) : MlEpochText(v, ttyp);
			if (dfits && !domain_fits_text(dfits, text))
			{
				/* a date/time domain's CHECK refuses it: as a number's */
				fills->out_of_range[slot]++;
				continue;
			}
		}
		if (!written_as_number(col) && text == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of type %s cannot be filled as %s", col->name,
							format_type_be(col->typid),
							col->kind == ML_KIND_TEXT ? "text" : "a category")));
		if (discrete)
			col->code[r] = levels[i];
		col->isnull[r] = false;
		if (!discrete || !col->level_text)
			col->x[r] = v;
		if (col->kind == ML_KIND_DATETIME)
			for (int p = 0; p < (int) lengthof(col->parts); p++)
				if (col->parts[p])
				{
					/*
					 * NaN: a date beyond the timestamp range (5874897 AD)
					 * has no parts; -1 as in MlKeyCode
					 */
					double		dp = isfinite(v) ?
						MlDatePartOf(v, (MlDatePart) p, col->typid == TIMESTAMPTZOID) : NAN;

					col->parts[p][r] = isnan(dp) ? -1 : (int32) dp;
				}
		fills->isset[slot][r] = true;
		if (!fills->rowset[r])
		{
			fills->rowset[r] = true;
			fills->nrows++;
		}
		fills->value[slot][r] = written_as_number(col) ? Float8GetDatum(v) : CStringGetTextDatum(text);
		fills->filled[slot]++;
	}
	MemoryContextSwitchTo(old);
	domain_fits_end(dfits);
}

MlFills *
MlFillsCreate(MlFrame *frame)
{
	MlFills    *f = palloc0(sizeof(MlFills));

	f->cxt = CurrentMemoryContext;

	f->targets = palloc(sizeof(int) * Max(frame->ncols, 1));
	f->value = palloc0(sizeof(Datum *) * Max(frame->ncols, 1));
	f->isset = palloc0(sizeof(bool *) * Max(frame->ncols, 1));
	f->filled = palloc0(sizeof(int64) * Max(frame->ncols, 1));
	f->out_of_range = palloc0(sizeof(int64) * Max(frame->ncols, 1));
	f->nonfinite = palloc0(sizeof(int64) * Max(frame->ncols, 1));
	f->rowset = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	f->deleted = palloc0(sizeof(bool) * Max(frame->nrows, 1));
	return f;
}

int
MlFillSlot(MlFills *fills, int target)
{
	for (int s = 0; s < fills->ntargets; s++)
		if (fills->targets[s] == target)
			return s;
	return -1;
}

/*
 * The fills as arrays for one ROWS FROM (unnest(...)) clause: $1 the
 * ctids, $2 whether the row is deleted, then one array per filled column.
 * Returns the clause; *select gets "COALESCE(t.col, u.cN::type)" per
 * filled column (NULL for others) in frame order.
 */
static char *
fills_unnest(MlFrame *frame, MlFills *fills, int *nargs, Oid **types, Datum **args,
			 char ***exprs)
{
	StringInfoData from;
	int64		n = 0;
	Datum	   *tids = palloc(sizeof(Datum) * Max(frame->nrows, 1));
	Datum	   *dels = palloc(sizeof(Datum) * Max(frame->nrows, 1));
	int			a;

	*types = palloc(sizeof(Oid) * (fills->ntargets + 2));
	*args = palloc(sizeof(Datum) * (fills->ntargets + 2));
	*exprs = palloc0(sizeof(char *) * Max(frame->ncols, 1));
	for (int64 r = 0; r < frame->nrows; r++)
		if (fills->rowset[r] || fills->deleted[r])
		{
			tids[n] = PointerGetDatum(&frame->tids[r]);
			dels[n++] = BoolGetDatum(fills->deleted[r]);
		}
	(*types)[0] = TIDARRAYOID;
	(*args)[0] = PointerGetDatum(construct_array(tids, (int) n, TIDOID, sizeof(ItemPointerData),
												 false, TYPALIGN_SHORT));
	(*types)[1] = BOOLARRAYOID;
	(*args)[1] = PointerGetDatum(construct_array(dels, (int) n, BOOLOID, 1, true, TYPALIGN_CHAR));
	initStringInfo(&from);
	appendStringInfoString(&from, "ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)");
	a = 2;
	for (int s = 0; s < fills->ntargets; s++)
	{
		MlColumn   *col;
		bool		num;
		Datum	   *elems;
		bool	   *nulls;
		int			dims[1];
		int			lbs[1] = {1};
		int64		k = 0;

		if (fills->targets[s] < 0)
			continue;
		col = &frame->cols[fills->targets[s]];
		num = written_as_number(col);
		elems = palloc(sizeof(Datum) * Max(n, 1));
		nulls = palloc(sizeof(bool) * Max(n, 1));
		for (int64 r = 0; r < frame->nrows; r++)
		{
			if (!fills->rowset[r] && !fills->deleted[r])
				continue;
			nulls[k] = !fills->isset[s][r];
			elems[k] = nulls[k] ? (Datum) 0 : fills->value[s][r];
			k++;
		}
		dims[0] = (int) k;
		(*types)[a] = num ? FLOAT8ARRAYOID : TEXTARRAYOID;
		(*args)[a] = PointerGetDatum(num ?
									 construct_md_array(elems, nulls, 1, dims, lbs, FLOAT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE) :
									 construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1,
														false, TYPALIGN_INT));
		a++;
		appendStringInfo(&from, ", pg_catalog.unnest($%d)", a);
		{
			const char *q = quote_identifier(col->name);
			/*
			 * a converted text column is missing where its text does not
			 * parse as the frame read it (zoned times as instants, within
			 * timestamptz's range): filled there, not kept
			 */
			char	   *cur = col->converted ?
				psprintf("CASE WHEN mlops.try_cast_%s(t.%s::text) IS NULL THEN NULL ELSE t.%s END",
						 col->kind == ML_KIND_NUMERIC ? "numeric" :
						 col->zoned ? "timestamptz" : "timestamp", q, q) :
				psprintf("t.%s", q);

			(*exprs)[fills->targets[s]] = psprintf("COALESCE(%s, u.c%d::%s)", cur, a,
												   format_type_with_typemod(col->typid, col->typmod));
		}
	}
	*nargs = a;
	appendStringInfoString(&from, ") AS u(tid, del");
	for (int i = 3; i <= a; i++)
		appendStringInfo(&from, ", c%d", i);
	appendStringInfoChar(&from, ')');
	return from.data;
}

/*
 * The source with every fill applied and deleted rows left out, as a
 * parenthesised subquery with the source's columns (plus extra named
 * expressions over the unfilled source row t). Untouched rows stream from
 * the source (a hashed NOT IN over the touched ctids); touched rows are
 * fetched by ctid and filled: nothing hashes or sorts the whole source.
 */
char *
MlFillsSubquery(MlFrame *frame, MlFills *fills, List *extra_names, List *extra_exprs,
				int *nargs, Oid **types, Datum **args)
{
	StringInfoData sql;
	char	  **exprs;
	char	   *from = fills_unnest(frame, fills, nargs, types, args, &exprs);
	char	   *rel = MlRelName(frame->relid);
	StringInfoData extra;
	ListCell   *ln,
			   *le;

	initStringInfo(&extra);
	forboth(ln, extra_names, le, extra_exprs)
		appendStringInfo(&extra, ", %s AS %s", (char *) lfirst(le), quote_identifier(lfirst(ln)));
	initStringInfo(&sql);
	appendStringInfo(&sql, "(SELECT t.*%s FROM %s AS t WHERE t.ctid OPERATOR(pg_catalog.<>) ALL ($1) "
					 "UNION ALL SELECT ", extra.data, rel);
	for (int c = 0; c < frame->ncols; c++)
		appendStringInfo(&sql, "%s%s", c ? ", " : "",
						 exprs[c] ? exprs[c] : psprintf("t.%s", quote_identifier(frame->cols[c].name)));
	appendStringInfo(&sql, "%s FROM %s JOIN %s AS t ON t.ctid OPERATOR(pg_catalog.=) u.tid "
					 "WHERE NOT u.del)", extra.data, from, rel);
	return sql.data;
}

/*
 * Rows are joined to their fills by ctid: make that a nested loop over the
 * fills with a TID scan, never a hash of the whole table. The caller's GUC
 * nest level (MlScopeEnter) restores both settings.
 */
void
MlPreferTidJoins(void)
{
	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * The fills left out, said per column: estimates the column's type or
 * domain cannot hold, and estimates that are no finite number. Once per
 * write (ml_impute and imputation recipes here, ml_clean's pipeline in
 * MlCleanFills), so that meaning never changes silently.
 */
void
MlFillsNotice(MlFrame *frame, MlFills *fills)
{
	for (int s = 0; s < fills->ntargets; s++)
		if (fills->out_of_range[s] > 0)
			ereport(NOTICE,
					(errmsg("column \"%s\": " INT64_FORMAT " estimates out of the range of type %s were left missing",
							frame->cols[fills->targets[s]].name, fills->out_of_range[s],
							format_type_with_typemod(frame->cols[fills->targets[s]].typid,
													 frame->cols[fills->targets[s]].typmod)),
					 errhint("Choose another method for this column (option \"methods\"), or widen its type.")));
	for (int s = 0; s < fills->ntargets; s++)
		if (fills->nonfinite[s] > 0)
			ereport(NOTICE,
					(errmsg("column \"%s\": " INT64_FORMAT " estimates were not finite numbers and were left missing",
							frame->cols[fills->targets[s]].name, fills->nonfinite[s]),
					 errhint("Values near the limits of double precision overflow the model's arithmetic; "
							 "choose another method for this column (option \"methods\"), or rescale it.")));
}

/*
 * Write every fill and deletion as the caller, in the caller's transaction:
 * in place with one DELETE and one UPDATE joined on ctid to the arrays, or,
 * with into (a quoted, qualified name), by one CREATE TABLE AS that joins
 * the source to them, so the source is read once and never rewritten.
 */
void
MlFillsWrite(MlFrame *frame, MlFills *fills, const char *into)
{
	StringInfoData sql;
	int			nargs;
	Oid		   *types;
	Datum	   *args;
	char	  **exprs;
	char	   *from;
	char	   *rel = MlRelName(frame->relid);

	MlPreferTidJoins();
	MlFillsNotice(frame, fills);
	initStringInfo(&sql);
	if (into)
	{
		appendStringInfo(&sql, "CREATE TABLE %s AS SELECT * FROM %s AS t", into,
						 MlFillsSubquery(frame, fills, NIL, NIL, &nargs, &types, &args));
		MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_UTILITY);
		return;
	}
	from = fills_unnest(frame, fills, &nargs, &types, &args, &exprs);
	if (fills->ndeleted > 0)
	{
		appendStringInfo(&sql, "DELETE FROM %s AS t USING %s "
						 "WHERE t.ctid OPERATOR(pg_catalog.=) u.tid AND u.del", rel, from);
		MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_DELETE);
		resetStringInfo(&sql);
	}
	if (fills->nrows == 0)
		return;
	appendStringInfo(&sql, "UPDATE %s AS t SET ", rel);
	{
		bool		first = true;

		for (int c = 0; c < frame->ncols; c++)
			if (exprs[c])
			{
				appendStringInfo(&sql, "%s%s = %s", first ? "" : ", ",
								 quote_identifier(frame->cols[c].name), exprs[c]);
				first = false;
			}
	}
	if (nargs == 2)
		return;					/* only deletions */
	appendStringInfo(&sql, " FROM %s WHERE t.ctid OPERATOR(pg_catalog.=) u.tid AND NOT u.del", from);
	MlSpiExec(sql.data, nargs, types, args, NULL, SPI_OK_UPDATE);
}
