/*
 * csv_types.c
 *	  The column types of ml_import_csv: a type inferred from the first
 *	  records by widening, or declared in option "types", and how a cell
 *	  fits its column's type, range included, as the type's input function
 *	  would read it.
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/casts.h"
#include "clean/csv_int.h"

const char *const MlCsvTypeSql[] = {
	"text", "bigint", "double precision", "boolean", "timestamp", "text",
	"integer", "numeric"
};

bool
MlCsvIsNullMarker(const char *s, List *markers)
{
	ListCell   *lc;

	if (s == NULL)
		return true;
	foreach(lc, markers)
		if (strcmp(s, lfirst(lc)) == 0)
			return true;
	return false;
}

/* s as the integer input functions read it, within [min, max]. */
static CsvFit
fit_integer(const char *s, int64 min, int64 max)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return FIT_TYPE;
	while (isspace((unsigned char) *end))
		end++;
	if (*end != '\0')
		return FIT_TYPE;
	if (errno == ERANGE || v < min || v > max)
		return FIT_RANGE;
	return FIT_OK;
}

/*
 * The number in s in the notation PostgreSQL reads, or NULL if s is not a
 * number. With decimal ",", the comma becomes a point and a point is not
 * accepted (it could be a thousands separator).
 */
static char *
number_text(const char *s, char decimal)
{
	char	   *t;
	char	   *comma;

	if (decimal == '.')
		return MlTextIsNumber(s, NULL) ? (char *) s : NULL;
	if (strchr(s, '.') != NULL)
		return NULL;
	t = pstrdup(s);
	comma = strchr(t, ',');
	if (comma)
		*comma = '.';
	if (!MlTextIsNumber(t, NULL))
	{
		pfree(t);
		return NULL;
	}
	return t;
}

/* A number as float8in reads it: overflow, and underflow to zero, fail. */
static CsvFit
fit_double(const char *num)
{
	double		v;

	errno = 0;
	v = strtod(num, NULL);
	if (errno == ERANGE && (v == 0.0 || isinf(v)))
		return FIT_RANGE;
	return FIT_OK;
}

/* A number within what numeric_in accepts (exponent, digits each side). */
static CsvFit
fit_numeric(const char *num)
{
	const char *p = num;
	long		before = 0,
				after = 0;

	while (*p && *p != '.' && *p != 'e' && *p != 'E')
		before += isdigit((unsigned char) *p++) ? 1 : 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char) *p); p++)
			after++;
	if (*p == 'e' || *p == 'E')
	{
		long		e;

		errno = 0;
		e = strtol(p + 1, NULL, 10);
		if (errno == ERANGE || e > 1000 || e < -1000)
			return FIT_RANGE;
	}
	return (before > 130000 || after > 15000) ? FIT_RANGE : FIT_OK;
}

/*
 * Whether s is a timestamp. PostgreSQL 15's date parser raises an error,
 * rather than failing, on an unknown time zone name ("2024-01-02 foo/bar"):
 * cells with a word followed by '/', '-' or '.' are parsed in a
 * subtransaction, and that error means "not a timestamp".
 */
static bool
is_timestamp(const char *s)
{
	bool		risky = false;
	bool		ok = false;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (strpbrk(s, "0123456789") == NULL)
		return false;
	for (const char *p = s; p[0] && p[1]; p++)
		if (isalpha((unsigned char) p[0]) && strchr("/-.", p[1]) != NULL)
			risky = true;
	if (!risky)
		return MlTextIsTimestamp(s);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		ok = MlTextIsTimestamp(s);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_INVALID_PARAMETER_VALUE)
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* How s fits type t; *value is the text to cast (numbers normalized). */
CsvFit
MlCsvCellFit(const char *s, CsvType t, char decimal, const char **value)
{
	char	   *num;

	*value = s;
	switch (t)
	{
		case CT_BIGINT:
			return fit_integer(s, PG_INT64_MIN, PG_INT64_MAX);
		case CT_INTEGER:
			return fit_integer(s, PG_INT32_MIN, PG_INT32_MAX);
		case CT_FLOAT:
		case CT_NUMERIC:
			num = number_text(s, decimal);
			if (num == NULL)
				return FIT_TYPE;
			*value = num;
			return t == CT_FLOAT ? fit_double(num) : fit_numeric(num);
		case CT_BOOL:
			return MlTextIsBool(s) ? FIT_OK : FIT_TYPE;
		case CT_TIMESTAMP:
			return is_timestamp(s) ? FIT_OK : FIT_TYPE;
		default:
			return FIT_OK;
	}
}

/*
 * Widen a column's type so that it also holds s. A number out of the range
 * of double precision still makes the column numeric: its line is rejected
 * in the second pass.
 */
CsvType
MlCsvWiden(CsvType t, const char *s, char decimal)
{
	if (t == CT_TEXT)
		return t;
	if ((t == CT_UNKNOWN || t == CT_BIGINT) &&
		fit_integer(s, PG_INT64_MIN, PG_INT64_MAX) == FIT_OK)
		return CT_BIGINT;
	if ((t == CT_UNKNOWN || t == CT_BIGINT || t == CT_FLOAT) && number_text(s, decimal))
		return CT_FLOAT;
	if ((t == CT_UNKNOWN || t == CT_BOOL) && MlTextIsBool(s))
		return CT_BOOL;
	if ((t == CT_UNKNOWN || t == CT_TIMESTAMP) && is_timestamp(s))
		return CT_TIMESTAMP;
	return CT_TEXT;
}

/* A type named in option "types", and its SQL spelling in *sqltype. */
CsvType
MlCsvTypeFromName(const char *name, char **sqltype)
{
	static const struct
	{
		const char *name;
		CsvType		type;
		const char *sql;
	}			known[] =
	{
		{"text", CT_TEXT, "text"}, {"bigint", CT_BIGINT, "bigint"},
		{"integer", CT_INTEGER, "integer"}, {"double precision", CT_FLOAT, "double precision"},
		{"float8", CT_FLOAT, "double precision"}, {"numeric", CT_NUMERIC, "numeric"},
		{"boolean", CT_BOOL, "boolean"}, {"timestamp", CT_TIMESTAMP, "timestamp"},
		{"date", CT_TIMESTAMP, "date"}
	};

	for (int i = 0; i < (int) lengthof(known); i++)
		if (pg_strcasecmp(name, known[i].name) == 0)
		{
			*sqltype = (char *) known[i].sql;
			return known[i].type;
		}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported column type \"%s\" in option \"types\"", name),
			 errhint("Valid types are: text, bigint, integer, double precision, numeric, boolean, timestamp, date.")));
	return CT_TEXT;				/* keep compiler quiet */
}
