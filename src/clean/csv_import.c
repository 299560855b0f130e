/*
 * csv_import.c
 *	  ml_import_csv(): CSV into a new table with inferred column types,
 *	  parsed by libcsv, rejected lines reported with their line numbers.
 *
 * Without a "delimiter" option the delimiter is detected first: comma,
 * semicolon, tab and pipe are each tried on the first records, and the one
 * that splits them into a constant number (at least two) of fields wins.
 * Then two passes over the input: the first infers a type per column from
 * the first infer_rows records (bigint, double precision, boolean,
 * timestamp, or text, with NULL markers); the second checks every cell
 * against that type, range included, and inserts the good records in
 * batches, one INSERT ... SELECT FROM unnest() per batch. A record that does
 * not fit (wrong field count, a value that is not of its column's type or
 * out of its range, bytes invalid in the database encoding) is not inserted:
 * it comes back as a row of the result, with its line number and the
 * reason, so that no valid CSV makes the import fail half way.
 *
 * Memory: libcsv allocates in the reader's context; the records parsed from
 * one block of input live in a block context, reset when the next block is
 * read; checking a record uses a per-record context; a batch's values live
 * in a batch context, reset after each INSERT, and a batch is flushed when
 * its cells reach an eighth of maintenance_work_mem.
 */
#include "postgres.h"

#include <csv.h>
#include <errno.h>
#include <limits.h>
#include <math.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "core/catalog.h"
#include "clean/cleaning.h"
#include "core/options.h"

PG_FUNCTION_INFO_V1(ml_import_csv);

#define READ_BLOCK		65536
#define BATCH_ROWS		5000
#define MAX_COLUMNS		1024
#define DETECT_RECORDS	20
#define LIBCSV_FIELD_BEGUN 2		/* libcsv.c's parser state inside a field */

typedef enum CsvType
{
	CT_UNKNOWN, CT_BIGINT, CT_FLOAT, CT_BOOL, CT_TIMESTAMP, CT_TEXT,
	CT_INTEGER, CT_NUMERIC		/* only when declared in "types" */
} CsvType;

static const char *const type_sql[] = {
	"text", "bigint", "double precision", "boolean", "timestamp", "text",
	"integer", "numeric"
};

/* How a cell fits a type. */
typedef enum CsvFit
{
	FIT_OK, FIT_TYPE, FIT_RANGE
} CsvFit;

/* One record, as handed out by reader_next(). */
typedef struct CsvRecord
{
	List	   *fields;			/* char *, NULL for an empty unquoted field */
	int64		line;			/* line where the record starts */
	char	   *bad;			/* why its bytes are unusable, or NULL */
} CsvRecord;

/* One pass over the input. */
typedef struct CsvReader
{
	struct csv_parser parser;
	unsigned char delim;
	MemoryContext cxt;			/* libcsv's buffer, the block contexts */
	MemoryContext block[2];		/* records of the current block, and spare */
	int			cur;
	char	   *buf;
	FILE	   *file;
	const char *data;			/* or in-memory text */
	size_t		datalen;
	size_t		datapos;
	bool		started;		/* the first block was read (BOM checked) */
	/* the record being built */
	List	   *fields;
	char	   *bad;
	int64		line;			/* line where the current record starts */
	int64		newlines;		/* newlines inside the current record's fields */
	bool		after_cr;		/* the last line ended with a CR */
	/* finished records of the current block */
	List	   *records;
	int			next;
	bool		eof;
	bool		lenient;		/* at an unterminated quote, set the flag below */
	bool		unterminated;	/* the input ended inside a quoted field */
} CsvReader;

/*
 * libcsv's allocator: the reader's memory context, so that an error anywhere
 * frees its buffer, and a field too big for palloc is libcsv's CSV_ENOMEM.
 */
static MemoryContext csv_alloc_cxt;
static unsigned char csv_space_delim;

static void *
csv_realloc(void *p, size_t n)
{
	if (n > MaxAllocSize)
		return NULL;
	if (p == NULL)
		return MemoryContextAlloc(csv_alloc_cxt, n);
	return repalloc(p, n);
}

static void
csv_release(void *p)
{
	if (p)
		pfree(p);
}

/* Spaces trimmed around unquoted fields, never the delimiter itself. */
static int
csv_is_space(unsigned char c)
{
	return (c == ' ' || c == '\t') && c != csv_space_delim;
}

static void
reader_use(CsvReader *r)
{
	csv_alloc_cxt = r->cxt;
	csv_space_delim = r->delim;
}

static void
on_field(void *s, size_t len, void *arg)
{
	CsvReader  *r = arg;
	MemoryContext old = MemoryContextSwitchTo(r->block[r->cur]);
	char	   *f = NULL;

	if (s)
	{
		for (size_t i = 0; i < len; i++)
			if (((char *) s)[i] == '\n')
				r->newlines++;
		if (r->bad == NULL)
		{
			if (memchr(s, '\0', len) != NULL)
				r->bad = pstrdup("a field contains a null byte");
			else if (!pg_verifymbstr(s, len, true))
				r->bad = psprintf("invalid byte sequence for encoding \"%s\"",
								  GetDatabaseEncodingName());
		}
		f = pnstrdup(s, len);
	}
	r->fields = lappend(r->fields, f);
	r->after_cr = false;
	MemoryContextSwitchTo(old);
}

static void
on_record(int c, void *arg)
{
	CsvReader  *r = arg;
	bool		eol = (c == '\n' || c == '\r');
	MemoryContext old;
	CsvRecord  *rec;

	if (r->fields == NIL)
	{
		/* CSV_REPALL_NL: a blank line, or the LF of a CRLF */
		if (c == '\n' && r->after_cr)
			r->after_cr = false;
		else if (eol)
		{
			r->line++;
			r->after_cr = (c == '\r');
		}
		return;
	}
	old = MemoryContextSwitchTo(r->block[r->cur]);
	rec = palloc(sizeof(CsvRecord));
	rec->fields = r->fields;
	rec->line = r->line;
	rec->bad = r->bad;
	r->records = lappend(r->records, rec);
	MemoryContextSwitchTo(old);
	r->fields = NIL;
	r->bad = NULL;
	r->line += r->newlines + (eol ? 1 : 0);
	r->newlines = 0;
	r->after_cr = (c == '\r');
}

static void
reader_open(CsvReader *r, const char *path, const char *data,
			unsigned char delim, unsigned char quote)
{
	memset(r, 0, sizeof(*r));
	r->cxt = AllocSetContextCreate(CurrentMemoryContext, "CSV reader",
								   ALLOCSET_DEFAULT_SIZES);
	r->block[0] = AllocSetContextCreate(r->cxt, "CSV block", ALLOCSET_DEFAULT_SIZES);
	r->block[1] = AllocSetContextCreate(r->cxt, "CSV block", ALLOCSET_DEFAULT_SIZES);
	r->buf = MemoryContextAlloc(r->cxt, READ_BLOCK);
	r->delim = delim;
	if (csv_init(&r->parser, CSV_APPEND_NULL | CSV_EMPTY_IS_NULL |
				 CSV_REPALL_NL | CSV_STRICT_FINI) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not initialize the CSV parser")));
	csv_set_realloc_func(&r->parser, csv_realloc);
	csv_set_free_func(&r->parser, csv_release);
	csv_set_space_func(&r->parser, csv_is_space);
	csv_set_delim(&r->parser, delim);
	csv_set_quote(&r->parser, quote);
	r->line = 1;
	if (path)
	{
		r->file = AllocateFile(path, PG_BINARY_R);
		if (r->file == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open file \"%s\" for reading: %m", path)));
	}
	else
	{
		r->data = data;
		r->datalen = strlen(data);
	}
}

/*
 * Next record, or NULL at the end. A record stays valid until the next call:
 * reading a new block resets the context of the previous one.
 */
static CsvRecord *
reader_next(CsvReader *r)
{
	while (r->next >= list_length(r->records) && !r->eof)
	{
		size_t		n;
		char	   *p = r->buf;
		int			spare = 1 - r->cur;
		MemoryContext old;
		ListCell   *lc;
		List	   *carried = NIL;

		/* move the record being built to the spare context, reset the other */
		MemoryContextReset(r->block[spare]);
		old = MemoryContextSwitchTo(r->block[spare]);
		foreach(lc, r->fields)
			carried = lappend(carried, lfirst(lc) ? pstrdup(lfirst(lc)) : NULL);
		r->fields = carried;
		if (r->bad)
			r->bad = pstrdup(r->bad);
		MemoryContextSwitchTo(old);
		MemoryContextReset(r->block[r->cur]);
		r->cur = spare;
		r->records = NIL;
		r->next = 0;

		if (r->file)
		{
			n = fread(r->buf, 1, READ_BLOCK, r->file);
			if (n == 0 && ferror(r->file))
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read CSV file: %m")));
		}
		else
		{
			n = Min(READ_BLOCK, r->datalen - r->datapos);
			memcpy(r->buf, r->data + r->datapos, n);
			r->datapos += n;
		}
		/* a UTF-8 byte order mark is not part of the first field */
		if (!r->started && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		{
			p += 3;
			n -= 3;
		}
		r->started = true;
		reader_use(r);
		if (n == 0)
		{
			/*
			 * Still inside a quoted field (libcsv's FIELD_BEGUN state): the
			 * rest of the input went into one field; libcsv reports that
			 * only in its strict mode, which refuses much else.
			 */
			r->unterminated = r->parser.pstate == LIBCSV_FIELD_BEGUN && r->parser.quoted;
			if ((r->unterminated && !r->lenient) ||
				csv_fini(&r->parser, on_field, on_record, r) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("CSV input ends inside a quoted field"),
						 errdetail("The record starting at line " INT64_FORMAT " has no closing quote.",
								   r->line)));
			r->eof = true;
			break;
		}
		if (csv_parse(&r->parser, p, n, on_field, on_record, r) != n)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("could not parse CSV near line " INT64_FORMAT ": %s",
							r->line, csv_strerror(csv_error(&r->parser)))));
		CHECK_FOR_INTERRUPTS();
	}
	if (r->next >= list_length(r->records))
		return NULL;
	return list_nth(r->records, r->next++);
}

static void
reader_close(CsvReader *r)
{
	reader_use(r);
	csv_free(&r->parser);
	if (r->file)
		FreeFile(r->file);
	MemoryContextDelete(r->cxt);
}

static bool
is_null_marker(const char *s, List *markers)
{
	ListCell   *lc;

	if (s == NULL)
		return true;
	foreach(lc, markers)
		if (strcmp(s, lfirst(lc)) == 0)
			return true;
	return false;
}

/* A line of spaces only: one empty field where more are expected. */
static bool
is_blank(CsvRecord *rec, int ncols)
{
	return list_length(rec->fields) == 1 && linitial(rec->fields) == NULL && ncols > 1;
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
static CsvFit
cell_fit(const char *s, CsvType t, char decimal, const char **value)
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
static CsvType
widen(CsvType t, const char *s, char decimal)
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

static const char *const csv_keys[] = {
	"delimiter", "quote", "decimal", "header", "null", "infer_rows", "types", NULL
};

static CsvType
type_from_name(const char *name, char **sqltype)
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

static char
single_char(JsonbContainer *opts, const char *key, char dflt)
{
	char	   *s = MlOptString(opts, key, NULL);

	if (s == NULL)
		return dflt;
	if (strlen(s) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a single one-byte character", key)));
	if (s[0] == '\n' || s[0] == '\r')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" cannot be a newline or carriage return", key)));
	return s[0];
}

static const char *
delimiter_name(char d)
{
	switch (d)
	{
		case ',':
			return "comma";
		case ';':
			return "semicolon";
		case '\t':
			return "tab";
		case '|':
			return "pipe";
		default:
			return "?";
	}
}

/*
 * The delimiter, from the first records: each candidate splits them into
 * fields; a candidate counts if the first record has at least two, and the
 * one with the largest share of records with that many fields wins (ties in
 * the order comma, semicolon, tab, pipe). Quoted fields are respected, since
 * libcsv parses each try, and a candidate with which the quotes do not pair
 * up (the input ends inside a quoted field) is out. No candidate: comma,
 * one column (semicolon when the decimal separator is a comma).
 */
static char
detect_delimiter(const char *path, const char *data, char quote, char decimal)
{
	static const char candidates[] = {',', ';', '\t', '|'};
	char		best = 0;
	double		best_share = 0;
	int			best_same = 0,
				best_k = 0,
				best_nf = 0;

	for (int i = 0; i < (int) lengthof(candidates); i++)
	{
		char		d = candidates[i];
		CsvReader	r;
		CsvRecord  *rec;
		int			k = 0,
					same = 0,
					first = -1;

		if (d == quote || d == decimal)
			continue;
		reader_open(&r, path, data, (unsigned char) d, (unsigned char) quote);
		r.lenient = true;
		while (k < DETECT_RECORDS && (rec = reader_next(&r)) != NULL)
		{
			if (is_blank(rec, 2))
				continue;
			if (first < 0)
				first = list_length(rec->fields);
			if (list_length(rec->fields) == first)
				same++;
			k++;
		}
		reader_close(&r);
		/* quotes that do not pair up with this delimiter: not this one */
		if (first >= 2 && !r.unterminated && (double) same / k > best_share)
		{
			best = d;
			best_share = (double) same / k;
			best_same = same;
			best_k = k;
			best_nf = first;
		}
	}
	if (best == 0)
		return decimal == ',' ? ';' : ',';
	if (best != ',')
		ereport(NOTICE,
				(errmsg("detected the CSV delimiter as %s", delimiter_name(best)),
				 errdetail("%d of the first %d records have %d fields with this delimiter.",
						   best_same, best_k, best_nf),
				 errhint("Set option \"delimiter\" to use another.")));
	return best;
}

/* s with every byte invalid in the database encoding replaced by '?'. */
static char *
sanitize(const char *s)
{
	int			enc = GetDatabaseEncoding();
	int			len = strlen(s);
	StringInfoData out;

	initStringInfo(&out);
	while (len > 0)
	{
		int			l = pg_encoding_verifymbchar(enc, s, len);

		if (l <= 0)
		{
			appendStringInfoChar(&out, '?');
			l = 1;
		}
		else
			appendBinaryStringInfo(&out, s, l);
		s += l;
		len -= l;
	}
	return out.data;
}

/* Column names from the header: exact, or column_N when empty; unique. */
static char **
column_names(List *header, int ncols)
{
	char	  **names = palloc(sizeof(char *) * Max(ncols, 1));

	for (int i = 0; i < ncols; i++)
	{
		char	   *h = header && i < list_length(header) ? list_nth(header, i) : NULL;
		const char *base = (h && *h) ? h : "column";
		char	   *name = (h && *h) ? pstrdup(h) : psprintf("column_%d", i + 1);
		int			n = 1;
		bool		taken;

		name[pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1)] = '\0';
		do
		{
			taken = false;
			for (int j = 0; j < i; j++)
				if (strcmp(names[j], name) == 0)
					taken = true;
			if (taken)
				name = psprintf("%.*s_%d", pg_mbcliplen(base, strlen(base), NAMEDATALEN - 8),
								base, ++n);
		} while (taken);
		names[i] = name;
	}
	return names;
}

typedef struct Batch
{
	int			ncols;
	int			n;
	Size		bytes;			/* of the text values held */
	Size		budget;			/* flush beyond this many bytes */
	MemoryContext cxt;			/* the values, reset after each flush */
	Datum	  **values;
	bool	  **nulls;
} Batch;

static void
batch_flush(Batch *b, const char *table, char **sqltypes)
{
	StringInfoData sql;
	Oid		   *types;
	Datum	   *args;
	MemoryContext old;

	if (b->n == 0)
		return;
	old = MemoryContextSwitchTo(b->cxt);
	types = palloc(sizeof(Oid) * b->ncols);
	args = palloc(sizeof(Datum) * b->ncols);
	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s SELECT ", table);
	for (int c = 0; c < b->ncols; c++)
	{
		int			dims[1] = {b->n};
		int			lbs[1] = {1};

		types[c] = TEXTARRAYOID;
		args[c] = PointerGetDatum(construct_md_array(b->values[c], b->nulls[c], 1, dims, lbs,
													 TEXTOID, -1, false, TYPALIGN_INT));
		appendStringInfo(&sql, "%su.c%d::%s", c ? ", " : "", c + 1, sqltypes[c]);
	}
	appendStringInfoString(&sql, " FROM ROWS FROM (");
	for (int c = 0; c < b->ncols; c++)
		appendStringInfo(&sql, "%spg_catalog.unnest($%d)", c ? ", " : "", c + 1);
	appendStringInfoString(&sql, ") AS u(");
	for (int c = 0; c < b->ncols; c++)
		appendStringInfo(&sql, "%sc%d", c ? ", " : "", c + 1);
	appendStringInfoChar(&sql, ')');
	MlSpiExec(sql.data, b->ncols, types, args, NULL, SPI_OK_INSERT);
	MemoryContextSwitchTo(old);
	MemoryContextReset(b->cxt);
	b->n = 0;
	b->bytes = 0;
}

/* The null markers: a string or an array of strings. */
static List *
null_markers(JsonbContainer *opts)
{
	JsonbValue *v = MlOptGet(opts, "null");

	if (v == NULL)
	{
		List	   *m = list_make4("", "NA", "N/A", "NULL");

		return lappend(lappend(lappend(m, "null"), "None"), "NaN");
	}
	if (v->type != jbvString &&
		!(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"null\" must be a string or an array of strings")));
	return MlOptStringList(opts, "null");
}

Datum
ml_import_csv(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MlScope		scope;
	char	   *path = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *data = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *optsj = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	JsonbContainer *opts = optsj ? &optsj->root : NULL;
	char		delim,
				quote,
				decimal;
	bool		delim_given;
	bool		header;
	List	   *markers;
	int			infer_rows;
	JsonbContainer *overrides;
	char	   *table;
	CsvReader	r;
	CsvRecord  *rec;
	List	   *head = NIL;
	int			ncols = 0;
	CsvType    *types;
	char	  **sqltypes;
	char	  **names;
	Batch		b;
	MemoryContext rowcxt;
	int64		imported = 0,
				rejected = 0;
	StringInfoData ddl;

	MlOptCheckKeys(opts, "CSV options", csv_keys);
	if ((path == NULL) == (data == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pass exactly one of \"path\" and \"data\"")));
	if (path && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read server files"),
				 errdetail("Only roles with the privileges of pg_read_server_files may import a server file."),
				 errhint("Pass the CSV text with data => instead.")));
	delim_given = MlOptGet(opts, "delimiter") != NULL;
	delim = single_char(opts, "delimiter", ',');
	quote = single_char(opts, "quote", '"');
	decimal = single_char(opts, "decimal", '.');
	if (decimal != '.' && decimal != ',')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"decimal\": \"%c\"", decimal),
				 errhint("Valid values are \".\" and \",\".")));
	if (delim_given && delim == quote)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"delimiter\" and \"quote\" must be different")));
	if (delim_given && delim == decimal)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"delimiter\" and \"decimal\" must be different"),
				 errhint("With \"decimal\": \",\", use another delimiter, such as \";\".")));
	if (quote == decimal)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"quote\" and \"decimal\" must be different")));
	header = MlOptBool(opts, "header", true);
	markers = null_markers(opts);
	{
		double		n = MlOptNumber(opts, "infer_rows", 10000);

		if (!(n >= 1 && n <= INT_MAX) || n != floor(n))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"infer_rows\" must be an integer between 1 and %d", INT_MAX)));
		infer_rows = (int) n;
	}
	overrides = MlOptObject(opts, "types");
	{
		Oid			nspid;
		RangeVar   *rv;

		MlRequireArg(fcinfo, 0, "into_table");
		rv = MlParseInto(text_to_cstring(PG_GETARG_TEXT_PP(0)), &nspid);
		table = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	}

	InitMaterializedSRF(fcinfo, 0);
	MlScopeEnter(&scope);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "CSV record",
								   ALLOCSET_DEFAULT_SIZES);

	if (!delim_given)
		delim = detect_delimiter(path, data, quote, decimal);

	/* pass 1: the header and the types */
	reader_open(&r, path, data, (unsigned char) delim, (unsigned char) quote);
	if (header && (rec = reader_next(&r)) != NULL)
	{
		ListCell   *lc;

		if (rec->bad)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("could not read the CSV header: %s", rec->bad)));
		foreach(lc, rec->fields)
			head = lappend(head, lfirst(lc) ? pstrdup(lfirst(lc)) : NULL);
		ncols = list_length(head);
	}
	types = palloc0(sizeof(CsvType) * MAX_COLUMNS);
	for (int i = 0; i < infer_rows && (rec = reader_next(&r)) != NULL; i++)
	{
		ListCell   *lc;
		MemoryContext old;

		if (ncols == 0)
			ncols = list_length(rec->fields);
		if (list_length(rec->fields) != ncols || ncols > MAX_COLUMNS || rec->bad)
			continue;
		MemoryContextReset(rowcxt);
		old = MemoryContextSwitchTo(rowcxt);
		foreach(lc, rec->fields)
			if (!is_null_marker(lfirst(lc), markers))
				types[foreach_current_index(lc)] =
					widen(types[foreach_current_index(lc)], lfirst(lc), decimal);
		MemoryContextSwitchTo(old);
	}
	reader_close(&r);
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA),
				 errmsg("CSV input has no columns")));
	if (ncols > MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CSV input has %d columns, more than %d", ncols, MAX_COLUMNS)));

	names = column_names(head, ncols);
	/* every column named in "types" must exist */
	if (overrides)
	{
		JsonbIterator *it = JsonbIteratorInit(overrides);
		JsonbValue	v;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			char	   *key;
			bool		found = false;

			if (tok != WJB_KEY)
				continue;
			key = pnstrdup(v.val.string.val, v.val.string.len);
			for (int c = 0; c < ncols && !found; c++)
				found = strcmp(names[c], key) == 0;
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" named in option \"types\" is not in the CSV input", key)));
		}
	}
	sqltypes = palloc(sizeof(char *) * ncols);
	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TABLE %s (", table);
	for (int c = 0; c < ncols; c++)
	{
		char	   *want = MlOptString(overrides, names[c], NULL);

		if (want)
			types[c] = type_from_name(want, &sqltypes[c]);
		else
		{
			if (types[c] == CT_UNKNOWN)
				types[c] = CT_TEXT;
			sqltypes[c] = (char *) type_sql[types[c]];
		}
		appendStringInfo(&ddl, "%s%s %s", c ? ", " : "", quote_identifier(names[c]), sqltypes[c]);
	}
	appendStringInfoChar(&ddl, ')');
	MlSpiExec(ddl.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);

	/* pass 2: check every cell, insert good records in batches */
	b.ncols = ncols;
	b.n = 0;
	b.bytes = 0;
	b.budget = Max((Size) maintenance_work_mem * 1024 / 8, (Size) READ_BLOCK);
	b.cxt = AllocSetContextCreate(CurrentMemoryContext, "CSV batch", ALLOCSET_DEFAULT_SIZES);
	b.values = palloc(sizeof(Datum *) * ncols);
	b.nulls = palloc(sizeof(bool *) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		b.values[c] = palloc(sizeof(Datum) * BATCH_ROWS);
		b.nulls[c] = palloc(sizeof(bool) * BATCH_ROWS);
	}
	reader_open(&r, path, data, (unsigned char) delim, (unsigned char) quote);
	if (header)
		(void) reader_next(&r);
	while ((rec = reader_next(&r)) != NULL)
	{
		char	   *reason = rec->bad;
		const char **cells;
		ListCell   *lc;
		MemoryContext old;

		if (is_blank(rec, ncols))
			continue;			/* blank line */
		MemoryContextReset(rowcxt);
		old = MemoryContextSwitchTo(rowcxt);
		cells = palloc(sizeof(char *) * list_length(rec->fields));
		if (reason == NULL && list_length(rec->fields) != ncols)
			reason = psprintf("expected %d fields, found %d", ncols, list_length(rec->fields));
		if (reason == NULL)
			foreach(lc, rec->fields)
			{
				char	   *s = lfirst(lc);
				int			c = foreach_current_index(lc);
				CsvFit		fit = FIT_OK;

				cells[c] = NULL;
				if (!is_null_marker(s, markers))
					fit = cell_fit(s, types[c], decimal, &cells[c]);
				if (fit != FIT_OK)
				{
					reason = psprintf(fit == FIT_RANGE ?
									  "value \"%s\" of column \"%s\" is out of range for type %s" :
									  "value \"%s\" of column \"%s\" is not of type %s",
									  s, names[c], sqltypes[c]);
					break;
				}
			}
		if (reason)
		{
			StringInfoData raw;
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			initStringInfo(&raw);
			foreach(lc, rec->fields)
			{
				if (foreach_current_index(lc))
					appendStringInfoChar(&raw, delim);
				if (lfirst(lc))
					appendStringInfoString(&raw, lfirst(lc));
			}
			values[0] = Int64GetDatum(rec->line);
			values[1] = CStringGetTextDatum(reason);
			values[2] = CStringGetTextDatum(rec->bad ? sanitize(raw.data) : raw.data);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			rejected++;
			MemoryContextSwitchTo(old);
			continue;
		}
		MemoryContextSwitchTo(b.cxt);
		for (int c = 0; c < ncols; c++)
		{
			b.nulls[c][b.n] = cells[c] == NULL;
			if (cells[c])
			{
				b.values[c][b.n] = CStringGetTextDatum(cells[c]);
				b.bytes += VARSIZE(DatumGetPointer(b.values[c][b.n]));
			}
			else
				b.values[c][b.n] = (Datum) 0;
		}
		b.n++;
		imported++;
		MemoryContextSwitchTo(old);
		if (b.n == BATCH_ROWS || b.bytes >= b.budget)
			batch_flush(&b, table, sqltypes);
	}
	batch_flush(&b, table, sqltypes);
	reader_close(&r);

	{
		const char *keys[4] = {"source", "imported", "rejected", "delimiter"};
		const char *vals[4] = {path ? path : "data", psprintf(INT64_FORMAT, imported),
			psprintf(INT64_FORMAT, rejected), psprintf("%c", delim)};

		MlAudit(&scope, "import_csv", "relation", table, 0, 4, keys, vals);
	}
	ereport(NOTICE,
			(errmsg("imported " INT64_FORMAT " rows into %s, " INT64_FORMAT " lines rejected",
					imported, table, rejected)));
	MlScopeExit(&scope);
	return (Datum) 0;
}
