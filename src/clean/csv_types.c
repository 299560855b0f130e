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

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "core/casts.h"
#include "core/options.h"
#include "core/subxact.h"
#include "clean/cleaning.h"
#include "clean/csv_int.h"

const char *const MlCsvTypeSql[] = {
	"text", "bigint", "double precision", "boolean", "timestamp", "text",
	"integer", "numeric", "timestamp with time zone", "bigint", "date", "text", "text"
};

/*
 * "Infinity", "-inf", " +INF ": what float8in and numeric_in read as an
 * infinite number (case aside, blanks around); NaN is a null marker unless
 * the markers say otherwise.
 */
static bool
infinity_word(const char *s)
{
	size_t		n;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+' || *s == '-')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return (n == 8 && pg_strncasecmp(s, "infinity", 8) == 0) ||
		(n == 3 && pg_strncasecmp(s, "inf", 3) == 0);
}

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

/*
 * Whether a number's text is a whole number with more digits than double
 * precision holds: 9007199254740993 reads as 9007199254740992, an id
 * beyond bigint as a neighbour's. A whole number of 15 digits or fewer is
 * always held; beyond, its double printed whole ("%.0f", exact) must give
 * its digits back. Fractions and exponents are not judged here.
 */
static bool
integer_loses_digits(const char *num)
{
	const char *p = num;
	const char *digits;
	size_t		n;
	char		buf[400];
	double		v;

	while (*p == ' ' || *p == '\t' || *p == '+' || *p == '-')
		p++;
	while (*p == '0' && isdigit((unsigned char) p[1]))
		p++;
	digits = p;
	while (isdigit((unsigned char) *p))
		p++;
	n = p - digits;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' || n <= 15)
		return false;
	v = fabs(strtod(num, NULL));
	/* beyond double precision altogether: a range error elsewhere */
	if (!isfinite(v) || snprintf(buf, sizeof(buf), "%.0f", v) >= (int) sizeof(buf))
		return false;
	return strlen(buf) != n || memcmp(buf, digits, n) != 0;
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

/* What a cell is as a timestamp. */
typedef enum TsKind
{
	TS_NONE,					/* not a timestamp */
	TS_PLAIN,					/* a timestamp naming no zone */
	TS_ZONED					/* one with a zone or an offset */
} TsKind;

/*
 * What s is among the date parser's special words: only texts with three
 * letters in a row can hold one ("now", "epoch", "today 10:00"), which
 * spares the second decoding of ISO timestamps ("2024-01-02T10:00").
 */
static MlTimeWord
time_word_of(const char *s)
{
	int			run = 0;

	for (const char *p = s; *p; p++)
		if (!isalpha((unsigned char) *p))
			run = 0;
		else if (++run == 3)
			return MlTextTimeWord(s);
	return ML_TIME_WORD_NONE;
}

static TsKind
timestamp_kind_of(const char *s, bool with_zone, MlTimeWord *word)
{
	if (word)
		*word = time_word_of(s);
	if (with_zone)
	{
		/* as timestamptz_in reads it: in range once its offset is applied */
		if (!MlTextIsTimestampTz(s))
			return TS_NONE;
	}
	else if (!MlTextIsTimestamp(s))
		return TS_NONE;
	return MlTextTimestampHasZone(s) ? TS_ZONED : TS_PLAIN;
}

/*
 * What s is as a timestamp (with_zone: in the range of timestamp with time
 * zone). PostgreSQL 15's date parser raises an error, rather than failing,
 * on an unknown time zone name ("2024-01-02 foo/bar"); casts.c refuses such
 * names before the parser sees them, and cells with a word followed by '/',
 * '-' or '.' are still parsed in a subtransaction, so that any error of
 * that kind the date parser may yet raise means "not a timestamp".
 */
static TsKind
timestamp_kind(const char *s, bool with_zone, MlTimeWord *word)
{
	bool		risky = false;
	TsKind		kind = TS_NONE;
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (word)
		*word = ML_TIME_WORD_NONE;
	for (const char *p = s; p[0] && p[1]; p++)
		if (isalpha((unsigned char) p[0]) && strchr("/-.", p[1]) != NULL)
			risky = true;
	/* no digit: no timestamp, but maybe a special word (which is never risky) */
	if (strpbrk(s, "0123456789") == NULL)
	{
		if (word && !risky)
			*word = time_word_of(s);
		return TS_NONE;
	}
	if (!risky)
		return timestamp_kind_of(s, with_zone, word);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		kind = timestamp_kind_of(s, with_zone, word);
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
		kind = TS_NONE;
		if (word)
			*word = ML_TIME_WORD_NONE;
	}
	PG_END_TRY();
	return kind;
}

/* How s fits type t; *value is the text to cast (numbers normalized). */
CsvFit
MlCsvCellFit(const char *s, CsvType t, char decimal, const char **value)
{
	char	   *num;
	TsKind		kind;
	MlTimeWord	word;

	*value = s;
	switch (t)
	{
		case CT_BIGINT:
			return fit_integer(s, PG_INT64_MIN, PG_INT64_MAX);
		case CT_INTEGER:
			return fit_integer(s, PG_INT32_MIN, PG_INT32_MAX);
		case CT_FLOAT:
		case CT_NUMERIC:
			/* an infinite number: the type's input reads it as it is */
			if (infinity_word(s))
				return FIT_OK;
			num = number_text(s, decimal);
			if (num == NULL)
				return FIT_TYPE;
			*value = num;
			if (t == CT_NUMERIC)
				return fit_numeric(num);
			/* a whole number a double would change: refused, not rounded */
			if (fit_double(num) == FIT_OK && integer_loses_digits(num))
				return FIT_DIGITS;
			return fit_double(num);
		case CT_BOOL:
			return MlTextIsBool(s) ? FIT_OK : FIT_TYPE;
		case CT_TIMESTAMP:
			/* timestamp (and date) would drop the zone: refused, not shifted */
			kind = timestamp_kind(s, false, &word);
			if (word != ML_TIME_WORD_NONE)
				return word == ML_TIME_WORD_FIXED ? FIT_OK : FIT_RELATIVE;
			switch (kind)
			{
				case TS_PLAIN:
					return FIT_OK;
				case TS_ZONED:
					return FIT_ZONE;
				default:
					return FIT_TYPE;
			}
		case CT_DATE:
			/* a time of day or a zone would be dropped: refused, not cut */
			(void) timestamp_kind(s, false, &word);
			if (word != ML_TIME_WORD_NONE)
				return word == ML_TIME_WORD_FIXED ? FIT_OK : FIT_RELATIVE;
			switch (MlTextDateFit(s))
			{
				case ML_DATE_OK:
					return FIT_OK;
				case ML_DATE_TIME:
					return FIT_TIME;
				case ML_DATE_ZONE:
					return FIT_ZONE;
				case ML_DATE_RANGE:
					return FIT_RANGE;
				default:
					return FIT_TYPE;
			}
		case CT_TIMESTAMPTZ:
			kind = timestamp_kind(s, true, &word);
			if (word != ML_TIME_WORD_NONE)
				return word == ML_TIME_WORD_FIXED ? FIT_OK : FIT_RELATIVE;
			if (kind != TS_NONE)
				return FIT_OK;
			/* a timestamp its offset moves past the last (or first) instant */
			return timestamp_kind(s, false, NULL) != TS_NONE ? FIT_RANGE : FIT_TYPE;
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
	bool		code = MlTextHasLeadingZero(s);
	TsKind		kind;
	char	   *num;

	MlTimeWord	word;

	if (t == CT_TEXT)
		return t;
	/*
	 * An infinite number ("inf", "-Infinity"): a value of a double or
	 * numeric column, which a bigint column widens to. "infinity" and
	 * "-infinity" are also timestamps': alone, or only with each other,
	 * they wait (CT_INF_WORD) for what comes next, a number or a time.
	 */
	if (infinity_word(s) && (t == CT_FLOAT || t == CT_NUMERIC))
		return t;
	if (infinity_word(s) && (t == CT_BIGINT || t == CT_BIGINT_WIDE))
		return t == CT_BIGINT ? CT_FLOAT : CT_NUMERIC;
	if (t == CT_INF_WORD || (t == CT_UNKNOWN && infinity_word(s)))
	{
		CsvType		u;

		kind = timestamp_kind(s, false, &word);
		if (word == ML_TIME_WORD_FIXED)
			/* "infinity" (both kinds), or "epoch" (times only) */
			return infinity_word(s) ? CT_INF_WORD : CT_TIME_WORD;
		if (infinity_word(s))
			return CT_FLOAT;	/* "inf": a number only */
		/* the infinite words so far, and now this: as a column of it alone would be */
		u = MlCsvWiden(CT_UNKNOWN, s, decimal);
		return u == CT_BIGINT ? CT_FLOAT : u == CT_BIGINT_WIDE ? CT_NUMERIC :
			(u == CT_FLOAT || u == CT_NUMERIC || u == CT_TIMESTAMP || u == CT_TIMESTAMPTZ) ? u :
			CT_TEXT;
	}
	/*
	 * "epoch", "infinity", "-infinity": values of a timestamp column, but
	 * no reason alone to read one as timestamps (CT_TIME_WORD until a
	 * timestamp or anything else comes); they are no numbers here.
	 */
	if (t == CT_UNKNOWN || t == CT_TIME_WORD || t == CT_TIMESTAMP || t == CT_TIMESTAMPTZ)
	{
		kind = timestamp_kind(s, false, &word);
		if (word == ML_TIME_WORD_FIXED)
			return t == CT_UNKNOWN ? CT_TIME_WORD : t;
		/* a timestamp column takes nothing else: the branches below are for others */
		if (t != CT_UNKNOWN)
			return kind == TS_NONE ? CT_TEXT :
				kind == TS_ZONED || t == CT_TIMESTAMPTZ ? CT_TIMESTAMPTZ : CT_TIMESTAMP;
	}
	/* "007", "01234": a code, whose zeros a number would drop (as frames read it) */
	if (!code && (t == CT_UNKNOWN || t == CT_BIGINT || t == CT_BIGINT_WIDE) &&
		fit_integer(s, PG_INT64_MIN, PG_INT64_MAX) == FIT_OK)
		return t == CT_BIGINT_WIDE || integer_loses_digits(s) ? CT_BIGINT_WIDE : CT_BIGINT;
	/*
	 * Numbers double precision holds make a double column; a whole number it
	 * would change (beyond bigint, or a wide bigint among fractions) makes
	 * it numeric, which holds every digit.
	 */
	if (!code && (t == CT_UNKNOWN || t == CT_BIGINT || t == CT_BIGINT_WIDE || t == CT_FLOAT ||
				  t == CT_NUMERIC) && (num = number_text(s, decimal)) != NULL)
		return t == CT_NUMERIC || t == CT_BIGINT_WIDE || integer_loses_digits(num) ?
			CT_NUMERIC : CT_FLOAT;
	if ((t == CT_UNKNOWN || t == CT_BOOL) && MlTextIsBool(s))
		return CT_BOOL;
	/* a zone in any cell: timestamp with time zone, which keeps the instant */
	if ((t == CT_UNKNOWN || t == CT_TIMESTAMP || t == CT_TIMESTAMPTZ) &&
		(kind = timestamp_kind(s, false, NULL)) != TS_NONE)
		return kind == TS_ZONED || t == CT_TIMESTAMPTZ ? CT_TIMESTAMPTZ : CT_TIMESTAMP;
	return CT_TEXT;
}

/* The type names option "types" takes, and their SQL spelling. */
static const struct
{
	const char *name;
	CsvType		type;
	const char *sql;
}			known_types[] =
{
	{"text", CT_TEXT, "text"}, {"bigint", CT_BIGINT, "bigint"},
	{"integer", CT_INTEGER, "integer"}, {"double precision", CT_FLOAT, "double precision"},
	{"float8", CT_FLOAT, "double precision"}, {"numeric", CT_NUMERIC, "numeric"},
	{"boolean", CT_BOOL, "boolean"}, {"timestamp", CT_TIMESTAMP, "timestamp"},
	{"timestamptz", CT_TIMESTAMPTZ, "timestamp with time zone"},
	{"timestamp with time zone", CT_TIMESTAMPTZ, "timestamp with time zone"},
	{"date", CT_DATE, "date"}
};

/* parseTypeString's call, for MlSubxactRun */
typedef struct TypeLookup
{
	const char *name;
	Oid			typid;
	int32		typmod;
} TypeLookup;

static void
type_lookup(void *arg)
{
	TypeLookup *l = arg;

	(void) parseTypeString(l->name, &l->typid, &l->typmod, true);
}

/*
 * The domain a name in option "types" names (in the caller's search_path),
 * or InvalidOid. parseTypeString raises a syntax error at text that is no
 * type name at all ("int; drop table x"), and at a type modifier: run in
 * a subtransaction, such an error means no domain; a cancel or any error
 * of another class is re-thrown.
 */
static Oid
domain_named(const char *name)
{
	TypeLookup	l = {name, InvalidOid, -1};
	ErrorData  *ed = MlSubxactRun(type_lookup, &l);

	if (ed)
	{
		int			category = ERRCODE_TO_CATEGORY(ed->sqlerrcode);

		/*
		 * syntax, names, a cross-database reference: no domain; cancel,
		 * memory, and a schema the caller may not use (said so, not
		 * "unsupported"): raised
		 */
		if ((category != ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION &&
			 category != ERRCODE_DATA_EXCEPTION && category != ERRCODE_FEATURE_NOT_SUPPORTED) ||
			ed->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE)
			ReThrowError(ed);
		FreeErrorData(ed);
		return InvalidOid;
	}
	if (!OidIsValid(l.typid) || get_typtype(l.typid) != TYPTYPE_DOMAIN || l.typmod != -1)
		return InvalidOid;
	return l.typid;
}

/*
 * A type named in option "types", its SQL spelling in *sqltype, and in
 * *domain the domain it names (InvalidOid for a type of the list): a
 * domain over one of the types of the list is a column of that domain,
 * its cells checked as its base type's, then by the domain (csv_import.c).
 */
CsvType
MlCsvTypeFromName(const char *name, char **sqltype, Oid *domain)
{
	static const struct
	{
		Oid			oid;
		CsvType		type;
	}			bases[] =
	{
		{TEXTOID, CT_TEXT}, {INT8OID, CT_BIGINT}, {INT4OID, CT_INTEGER}, {FLOAT8OID, CT_FLOAT},
		{NUMERICOID, CT_NUMERIC}, {BOOLOID, CT_BOOL}, {TIMESTAMPOID, CT_TIMESTAMP},
		{TIMESTAMPTZOID, CT_TIMESTAMPTZ}, {DATEOID, CT_DATE}
	};
	Oid			typid;

	*domain = InvalidOid;
	for (int i = 0; i < (int) lengthof(known_types); i++)
		if (pg_strcasecmp(name, known_types[i].name) == 0)
		{
			*sqltype = (char *) known_types[i].sql;
			return known_types[i].type;
		}
	typid = domain_named(name);
	if (OidIsValid(typid))
	{
		Oid			base = getBaseType(typid);

		for (int i = 0; i < (int) lengthof(bases); i++)
			if (bases[i].oid == base)
			{
				*sqltype = format_type_be_qualified(typid);
				*domain = typid;
				return bases[i].type;
			}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("domain %s named in option \"types\" is over type %s, which the import does not read",
						format_type_be(typid), format_type_be(base)),
				 errhint("Valid base types are: text, bigint, integer, double precision, numeric, boolean, timestamp, timestamptz, date.")));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported column type \"%s\" in option \"types\"", name),
			 errhint("Valid types are: text, bigint, integer, double precision, numeric, boolean, timestamp, timestamptz, date, or a domain over one of them.")));
	return CT_TEXT;				/* keep compiler quiet */
}

/* The schema of a type that exists. */
static Oid
type_namespace(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
	ReleaseSysCache(tup);
	return nsp;
}

/*
 * The type name option "types" gives column: a JSON null (which reads as
 * no value) named nothing, and the import dereferenced it.
 */
char *
MlCsvDeclaredName(JsonbContainer *types, const char *column)
{
	char	   *name = MlOptString(types, column, NULL);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" named in option \"types\" has no type", column),
				 errhint("Give a type name, such as \"bigint\", or leave the column out.")));
	return name;
}

/*
 * CSV options as JSON text, each domain named in "types" schema-qualified
 * (resolved now, in the caller's search_path); other names and keys as
 * given. A workflow stores its import's options so: its runs resolve names
 * in the job's session, whose search_path is not the definer's, and an
 * unqualified domain could name another role's domain there, whose CHECK
 * would run as the workflow's owner. Every name is checked now as a run
 * reads it: one naming no type of the list nor a domain over one of them
 * is refused (22023) rather than stored unqualified, where a domain of that
 * name created later in the job's search_path (by any role that may create
 * there) would be taken by the run.
 */
char *
MlCsvQualifyTypes(JsonbContainer *opts)
{
	JsonbParseState *st = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue *res = NULL;
	bool		in_types = false;
	int			depth = 0;
	JsonbContainer *types;

	if (opts == NULL)
		return pstrdup("{}");
	/* as the run reads "types" (csv_import.c, resolve_declared) */
	if ((types = MlOptObject(opts, "types")) != NULL)
	{
		it = JsonbIteratorInit(types);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *sqltype;
			Oid			domain;

			if (tok != WJB_KEY)
				continue;
			(void) MlCsvTypeFromName(MlCsvDeclaredName(types, pnstrdup(v.val.string.val, v.val.string.len)),
									 &sqltype, &domain);
			/* a temporary domain is the creator's session's: gone, or another's, in a run */
			if (OidIsValid(domain) && isAnyTempNamespace(type_namespace(domain)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("domain %s named in option \"types\" is temporary", format_type_be(domain)),
						 errhint("A run works in its own session: declare a domain of a permanent schema.")));
		}
	}
	it = JsonbIteratorInit(opts);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
		{
			depth--;
			if (depth == 1)
				in_types = false;
		}
		else if (tok == WJB_KEY && depth == 1)
			in_types = v.val.string.len == 5 && memcmp(v.val.string.val, "types", 5) == 0;
		else if (tok == WJB_VALUE && depth == 2 && in_types && v.type == jbvString)
		{
			char	   *name = pnstrdup(v.val.string.val, v.val.string.len);
			Oid			typid = InvalidOid;
			bool		known = false;

			for (int i = 0; i < (int) lengthof(known_types); i++)
				known |= pg_strcasecmp(name, known_types[i].name) == 0;
			if (!known)
				typid = domain_named(name);
			if (OidIsValid(typid))
			{
				char	   *q = format_type_be_qualified(typid);

				v.val.string.val = q;
				v.val.string.len = strlen(q);
			}
		}
		res = pushJsonbValue(&st, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbToCString(NULL, &JsonbValueToJsonb(res)->root, -1);
}
