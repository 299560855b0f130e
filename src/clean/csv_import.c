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
 * The records come from csv_reader.c (libcsv, delimiter detection), the
 * types and the checks of cells from csv_types.c.
 *
 * Memory: libcsv allocates in the reader's context; the records parsed from
 * one block of input live in a block context, reset when the next block is
 * read; checking a record uses a per-record context; a batch's values live
 * in a batch context, reset after each INSERT, and a batch is flushed when
 * its cells reach an eighth of maintenance_work_mem.
 */
#include "postgres.h"

#include <limits.h>
#include <math.h>

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/heap.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "core/catalog.h"
#include "clean/cleaning.h"
#include "clean/csv_int.h"
#include "core/options.h"
#include "core/subxact.h"

PG_FUNCTION_INFO_V1(ml_import_csv);

#define BATCH_ROWS		5000
#define MAX_COLUMNS		1024

static const char *const csv_keys[] = {
	"delimiter", "quote", "decimal", "header", "null", "infer_rows", "types", NULL
};

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

/* A name taken, or the next suffix to try for a base name. */
typedef struct NameEntry
{
	char		name[NAMEDATALEN];	/* hash key */
	int			next;
} NameEntry;

/*
 * Column names from the header: exact, or column_N when empty; unique. A
 * system column's name ("xmin", "ctid") is taken in every table. The names
 * taken and the next suffix of each base are hashed: 1,024 equal names
 * took a second of scans (each column tried every suffix against every
 * name before it).
 */
static char **
column_names(List *header, int ncols)
{
	char	  **names = palloc(sizeof(char *) * Max(ncols, 1));
	HASHCTL		ctl;
	HTAB	   *taken;
	HTAB	   *suffixes;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(NameEntry);
	ctl.hcxt = CurrentMemoryContext;
	taken = hash_create("CSV column names", Max(ncols, 16), &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	suffixes = hash_create("CSV column name suffixes", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int i = 0; i < ncols; i++)
	{
		char	   *h = header && i < list_length(header) ? list_nth(header, i) : NULL;
		const char *base = (h && *h) ? h : "column";
		char	   *name = (h && *h) ? pstrdup(h) : psprintf("column_%d", i + 1);

		name[pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1)] = '\0';
		if (SystemAttributeByName(name) != NULL || hash_search(taken, name, HASH_FIND, NULL) != NULL)
		{
			char	   *clipped = psprintf("%.*s", pg_mbcliplen(base, strlen(base), NAMEDATALEN - 8), base);
			bool		found;
			NameEntry  *next = hash_search(suffixes, clipped, HASH_ENTER, &found);

			if (!found)
				next->next = 2;
			do
			{
				CHECK_FOR_INTERRUPTS();
				pfree(name);
				name = psprintf("%s_%d", clipped, next->next++);
			} while (SystemAttributeByName(name) != NULL || hash_search(taken, name, HASH_FIND, NULL) != NULL);
		}
		(void) hash_search(taken, name, HASH_ENTER, NULL);
		names[i] = name;
	}
	hash_destroy(taken);
	hash_destroy(suffixes);
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

/* The options of one import, checked. */
typedef struct CsvOptions
{
	char		delim;			/* detected when not given */
	char		quote;
	char		decimal;
	bool		delim_given;
	bool		header;
	List	   *markers;		/* NULL markers */
	int			infer_rows;
	JsonbContainer *overrides;	/* option "types", or NULL */
	List	   *declared;		/* its entries resolved: CsvDeclared */
} CsvOptions;

/*
 * A column's type named in option "types", resolved in the caller's
 * search_path before the API scope pins it (a domain's name).
 */
typedef struct CsvDeclared
{
	char	   *column;
	CsvType		type;			/* the base type's, for a domain */
	char	   *sqltype;
	Oid			domain;			/* or InvalidOid */
} CsvDeclared;

/*
 * A column of a domain whose values its input may refuse (CHECK or NOT
 * NULL constraints, a typmod): each cell goes through the domain's input
 * function, in a subtransaction, once it fits the base type.
 */
typedef struct CsvDomain
{
	Oid			typid;
	FmgrInfo	input;
	Oid			ioparam;
	const char *cell;			/* the call's argument */
} CsvDomain;

/* One import: its input, options, target table and columns, its counts. */
typedef struct CsvImport
{
	ReturnSetInfo *rsinfo;		/* the rejected lines go here */
	const char *path;
	const char *data;
	CsvOptions	o;
	char	   *table;			/* quoted and qualified */
	int			ncols;
	CsvType    *types;
	char	  **sqltypes;
	char	  **names;
	CsvDomain **domains;		/* per column, NULL where nothing to check */
	Batch		b;
	MemoryContext rowcxt;		/* a record's checking, reset per record */
	int64		imported;
	int64		rejected;
} CsvImport;

/* The options after "delimiter" is read: quote, decimal, header, ... */
static void
csv_options(JsonbContainer *opts, CsvOptions *o)
{
	o->delim_given = MlOptGet(opts, "delimiter") != NULL;
	o->delim = single_char(opts, "delimiter", ',');
	o->quote = single_char(opts, "quote", '"');
	o->decimal = single_char(opts, "decimal", '.');
	if (o->decimal != '.' && o->decimal != ',')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"decimal\": \"%c\"", o->decimal),
				 errhint("Valid values are \".\" and \",\".")));
	if (o->delim_given && o->delim == o->quote)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"delimiter\" and \"quote\" must be different")));
	if (o->delim_given && o->delim == o->decimal)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"delimiter\" and \"decimal\" must be different"),
				 errhint("With \"decimal\": \",\", use another delimiter, such as \";\".")));
	if (o->quote == o->decimal)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options \"quote\" and \"decimal\" must be different")));
	o->header = MlOptBool(opts, "header", true);
	o->markers = null_markers(opts);
	{
		double		n = MlOptNumber(opts, "infer_rows", 10000);

		if (!(n >= 1 && n <= INT_MAX) || n != floor(n))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"infer_rows\" must be an integer between 1 and %d", INT_MAX)));
		o->infer_rows = (int) n;
	}
	o->overrides = MlOptObject(opts, "types");
}

/*
 * Pass 1: the header (as *head) and a type per column widened over the
 * first infer_rows records (into types, MAX_COLUMNS of them); returns the
 * column count.
 */
static int
infer_types(CsvImport *im, List **head, CsvType *types)
{
	CsvReader	r;
	CsvRecord  *rec;
	int			ncols = 0,
				bad_ncols = 0;

	MlCsvOpen(&r, im->path, im->data, (unsigned char) im->o.delim, (unsigned char) im->o.quote);
	if (im->o.header && (rec = MlCsvNext(&r)) != NULL)
	{
		ListCell   *lc;

		if (rec->bad)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("could not read the CSV header: %s", rec->bad)));
		foreach(lc, rec->fields)
			*head = lappend(*head, lfirst(lc) ? pstrdup(lfirst(lc)) : NULL);
		ncols = list_length(*head);
	}
	for (int i = 0; i < im->o.infer_rows && (rec = MlCsvNext(&r)) != NULL;)
	{
		ListCell   *lc;
		MemoryContext old;

		/*
		 * A record whose bytes are unusable (malformed quoting, a null byte)
		 * neither counts its fields nor widens types: without a header, a
		 * first record cut short at a bad quote would set the column count,
		 * and every good record after it would be rejected. Nor is it one
		 * of the infer_rows records: with "infer_rows": 1 a malformed first
		 * record left no good one to count, and its fields set the count
		 * again (pass 2 reads every record anyway).
		 */
		if (rec->bad)
		{
			if (bad_ncols == 0)
				bad_ncols = list_length(rec->fields);
			continue;
		}
		i++;
		if (ncols == 0)
			ncols = list_length(rec->fields);
		if (list_length(rec->fields) != ncols || ncols > MAX_COLUMNS)
			continue;
		MemoryContextReset(im->rowcxt);
		old = MemoryContextSwitchTo(im->rowcxt);
		foreach(lc, rec->fields)
			if (!MlCsvIsNullMarker(lfirst(lc), im->o.markers))
				types[foreach_current_index(lc)] =
					MlCsvWiden(types[foreach_current_index(lc)], lfirst(lc), im->o.decimal);
		MemoryContextSwitchTo(old);
	}
	MlCsvClose(&r);
	/* only unusable records: their count of fields, each a rejected line */
	if (ncols == 0)
		ncols = bad_ncols;
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA),
				 errmsg("CSV input has no columns")));
	if (ncols > MAX_COLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CSV input has %d columns, more than %d", ncols, MAX_COLUMNS)));
	return ncols;
}

/* Every column named in option "types" must exist. */
static void
check_overrides(CsvImport *im)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (im->o.overrides == NULL)
		return;
	it = JsonbIteratorInit(im->o.overrides);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		bool		found = false;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		for (int c = 0; c < im->ncols && !found; c++)
			found = strcmp(im->names[c], key) == 0;
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" named in option \"types\" is not in the CSV input", key)));
	}
}

/* The types of option "types", resolved (in the caller's search_path). */
static void
resolve_declared(CsvOptions *o)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (o->overrides == NULL)
		return;
	it = JsonbIteratorInit(o->overrides);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		CsvDeclared *d;

		if (tok != WJB_KEY)
			continue;
		d = palloc0(sizeof(CsvDeclared));
		d->column = pnstrdup(v.val.string.val, v.val.string.len);
		d->type = MlCsvTypeFromName(MlCsvDeclaredName(o->overrides, d->column), &d->sqltype, &d->domain);
		o->declared = lappend(o->declared, d);
	}
}

/* A column's domain, if its input may refuse a value its base type takes. */
static CsvDomain *
domain_of(Oid typid)
{
	int32		typmod = -1;
	CsvDomain  *d;
	Oid			infunc;

	(void) getBaseTypeAndTypmod(typid, &typmod);
	if (!DomainHasConstraints(typid) && typmod < 0)
		return NULL;
	d = palloc0(sizeof(CsvDomain));
	d->typid = typid;
	getTypeInputInfo(typid, &infunc, &d->ioparam);
	fmgr_info(infunc, &d->input);
	return d;
}

/* The columns' final types (declared ones win), and the table created. */
static void
create_table(CsvImport *im)
{
	StringInfoData ddl;

	im->sqltypes = palloc(sizeof(char *) * im->ncols);
	im->domains = palloc0(sizeof(CsvDomain *) * im->ncols);
	initStringInfo(&ddl);
	appendStringInfo(&ddl, "CREATE TABLE %s (", im->table);
	for (int c = 0; c < im->ncols; c++)
	{
		CsvDeclared *want = NULL;
		ListCell   *lc;

		foreach(lc, im->o.declared)
			if (strcmp(((CsvDeclared *) lfirst(lc))->column, im->names[c]) == 0)
				want = lfirst(lc);
		if (want)
		{
			im->types[c] = want->type;
			im->sqltypes[c] = want->sqltype;
			if (OidIsValid(want->domain))
				im->domains[c] = domain_of(want->domain);
		}
		else
		{
			if (im->types[c] == CT_UNKNOWN || im->types[c] == CT_TIME_WORD ||
				im->types[c] == CT_INF_WORD)
				im->types[c] = CT_TEXT;
			else if (im->types[c] == CT_BIGINT_WIDE)
				im->types[c] = CT_BIGINT;
			im->sqltypes[c] = (char *) MlCsvTypeSql[im->types[c]];
		}
		appendStringInfo(&ddl, "%s%s %s", c ? ", " : "", quote_identifier(im->names[c]),
						 im->sqltypes[c]);
	}
	appendStringInfoChar(&ddl, ')');
	MlSpiExec(ddl.data, 0, NULL, NULL, NULL, SPI_OK_UTILITY);
}

static void
batch_init(Batch *b, int ncols)
{
	b->ncols = ncols;
	b->n = 0;
	b->bytes = 0;
	b->budget = Max((Size) maintenance_work_mem * 1024 / 8, (Size) READ_BLOCK);
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "CSV batch", ALLOCSET_DEFAULT_SIZES);
	b->values = palloc(sizeof(Datum *) * ncols);
	b->nulls = palloc(sizeof(bool *) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		b->values[c] = palloc(sizeof(Datum) * BATCH_ROWS);
		b->nulls[c] = palloc(sizeof(bool) * BATCH_ROWS);
	}
}

/*
 * The fewest bytes the record's row can take in the table, TOAST done: a
 * fixed-width value its width (aligned), a text its bytes with a one-byte
 * header up to 24 bytes and an 18-byte TOAST pointer beyond (the toaster
 * moves out every value longer than that when the row is too wide), a
 * numeric at least 3 bytes. A row whose fewest bytes exceed
 * MaxHeapTupleSize cannot be stored: its INSERT would fail ("row is too
 * big") and take the whole import with it.
 */
static Size
row_min_width(CsvImport *im, const char **cells)
{
	Size		len = offsetof(HeapTupleHeaderData, t_bits);

	for (int c = 0; c < im->ncols; c++)
		if (cells[c] == NULL)
		{
			len += BITMAPLEN(im->ncols);
			break;
		}
	len = MAXALIGN(len);
	for (int c = 0; c < im->ncols; c++)
	{
		Size		n;

		if (cells[c] == NULL)
			continue;
		switch (im->types[c])
		{
			case CT_BIGINT:
			case CT_FLOAT:
			case CT_TIMESTAMPTZ:
				len = TYPEALIGN(sizeof(int64), len) + sizeof(int64);
				break;
			case CT_TIMESTAMP:
				len = TYPEALIGN(sizeof(int64), len) + sizeof(int64);
				break;
			case CT_DATE:
			case CT_INTEGER:
				len = INTALIGN(len) + sizeof(int32);
				break;
			case CT_BOOL:
				len += 1;
				break;
			case CT_NUMERIC:
				len += 3;
				break;
			default:
				n = strlen(cells[c]) + 1;
				len += n <= MAXALIGN(TOAST_POINTER_SIZE) ? n : TOAST_POINTER_SIZE;
				break;
		}
	}
	return MAXALIGN(len);
}

/* The domain's input of a cell (NULL for a NULL), for MlSubxactRun. */
static void
domain_input(void *arg)
{
	CsvDomain  *d = arg;

	CHECK_FOR_INTERRUPTS();		/* a CHECK may call any function */
	(void) InputFunctionCall(&d->input, (char *) d->cell, d->ioparam, -1);
}

/*
 * Why the domain of a column refuses a cell its base type takes, or NULL:
 * its input (the base type's, with the domain's typmod, then its NOT NULL
 * and CHECK constraints) raised a data exception or an integrity error,
 * which the INSERT's cast would raise for the whole import. Any other
 * error (a cancel, a CHECK's function failing otherwise) is re-thrown.
 */
static char *
domain_refusal(CsvImport *im, int c, const char *cell)
{
	CsvDomain  *d = im->domains[c];
	ErrorData  *ed;
	char	   *reason;
	int			category;

	d->cell = cell;
	ed = MlSubxactRun(domain_input, d);
	if (ed == NULL)
		return NULL;
	category = ERRCODE_TO_CATEGORY(ed->sqlerrcode);
	if (category != ERRCODE_DATA_EXCEPTION && category != ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION)
		ReThrowError(ed);
	reason = cell ?
		psprintf("value \"%s\" of column \"%s\" is refused by type %s: %s", cell, im->names[c],
				 im->sqltypes[c], ed->message) :
		psprintf("a NULL of column \"%s\" is refused by type %s: %s", im->names[c],
				 im->sqltypes[c], ed->message);
	FreeErrorData(ed);
	return reason;
}

/*
 * Why record rec cannot be inserted, or NULL; its cells' texts to cast
 * into cells (NULL for a NULL).
 */
static char *
record_reason(CsvImport *im, CsvRecord *rec, const char **cells)
{
	char	   *reason = rec->bad;
	ListCell   *lc;

	if (reason == NULL && list_length(rec->fields) != im->ncols)
		reason = psprintf("expected %d fields, found %d", im->ncols, list_length(rec->fields));
	if (reason == NULL)
		foreach(lc, rec->fields)
		{
			char	   *s = lfirst(lc);
			int			c = foreach_current_index(lc);
			CsvFit		fit = FIT_OK;

			cells[c] = NULL;
			if (!MlCsvIsNullMarker(s, im->o.markers))
				fit = MlCsvCellFit(s, im->types[c], im->o.decimal, &cells[c]);
			if (fit != FIT_OK)
			{
				reason = psprintf(fit == FIT_RANGE ?
								  "value \"%s\" of column \"%s\" is out of range for type %s" :
								  fit == FIT_ZONE ?
								  "value \"%s\" of column \"%s\" names a time zone, which type %s would drop" :
								  fit == FIT_DIGITS ?
								  "value \"%s\" of column \"%s\" has more digits than type %s holds" :
								  fit == FIT_TIME ?
								  "value \"%s\" of column \"%s\" has a time of day, which type %s would drop" :
								  fit == FIT_RELATIVE ?
								  "value \"%s\" of column \"%s\" names a time relative to the import's, which type %s would store as the import's" :
								  "value \"%s\" of column \"%s\" is not of type %s",
								  s, im->names[c], im->sqltypes[c]);
				break;
			}
			if (im->domains[c] && (reason = domain_refusal(im, c, cells[c])) != NULL)
				break;
		}
	if (reason == NULL)
	{
		Size		width = row_min_width(im, cells);

		if (width > MaxHeapTupleSize)
			reason = psprintf("the record needs at least %zu bytes as a table row, more than the %zu a row can hold",
							  width, (Size) MaxHeapTupleSize);
	}
	return reason;
}

/* A rejected record as a result row: its line, the reason, its text. */
static void
reject_record(CsvImport *im, CsvRecord *rec, const char *reason)
{
	StringInfoData raw;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	ListCell   *lc;

	initStringInfo(&raw);
	foreach(lc, rec->fields)
	{
		if (foreach_current_index(lc))
			appendStringInfoChar(&raw, im->o.delim);
		if (lfirst(lc))
			appendStringInfoString(&raw, lfirst(lc));
	}
	if (rec->tail)
		appendStringInfoString(&raw, rec->tail);
	values[0] = Int64GetDatum(rec->line);
	values[1] = CStringGetTextDatum(reason);
	values[2] = CStringGetTextDatum(rec->bad ? sanitize(raw.data) : raw.data);
	tuplestore_putvalues(im->rsinfo->setResult, im->rsinfo->setDesc, values, nulls);
	im->rejected++;
}

/* A good record's cells into the batch (in the batch's context). */
static void
batch_add(Batch *b, const char **cells)
{
	MemoryContextSwitchTo(b->cxt);
	for (int c = 0; c < b->ncols; c++)
	{
		b->nulls[c][b->n] = cells[c] == NULL;
		if (cells[c])
		{
			b->values[c][b->n] = CStringGetTextDatum(cells[c]);
			b->bytes += VARSIZE(DatumGetPointer(b->values[c][b->n]));
		}
		else
			b->values[c][b->n] = (Datum) 0;
	}
	b->n++;
}

/* Pass 2: check every cell, insert good records in batches. */
static void
import_records(CsvImport *im)
{
	CsvReader	r;
	CsvRecord  *rec;

	batch_init(&im->b, im->ncols);
	MlCsvOpen(&r, im->path, im->data, (unsigned char) im->o.delim, (unsigned char) im->o.quote);
	if (im->o.header)
		(void) MlCsvNext(&r);
	while ((rec = MlCsvNext(&r)) != NULL)
	{
		char	   *reason;
		const char **cells;
		MemoryContext old;

		if (MlCsvIsBlank(rec, im->ncols))
			continue;			/* blank line */
		MemoryContextReset(im->rowcxt);
		old = MemoryContextSwitchTo(im->rowcxt);
		cells = palloc(sizeof(char *) * list_length(rec->fields));
		reason = record_reason(im, rec, cells);
		if (reason)
		{
			reject_record(im, rec, reason);
			MemoryContextSwitchTo(old);
			continue;
		}
		batch_add(&im->b, cells);
		im->imported++;
		MemoryContextSwitchTo(old);
		if (im->b.n == BATCH_ROWS || im->b.bytes >= im->b.budget)
			batch_flush(&im->b, im->table, im->sqltypes);
	}
	batch_flush(&im->b, im->table, im->sqltypes);
	MlCsvClose(&r);
}

Datum
ml_import_csv(PG_FUNCTION_ARGS)
{
	MlScope		scope;
	char	   *path = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *data = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Jsonb	   *optsj = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	JsonbContainer *opts = optsj ? &optsj->root : NULL;
	CsvImport	im;
	List	   *head = NIL;

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
	memset(&im, 0, sizeof(im));
	im.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	im.path = path;
	im.data = data;
	csv_options(opts, &im.o);
	resolve_declared(&im.o);
	{
		Oid			nspid;
		RangeVar   *rv;

		MlRequireArg(fcinfo, 0, "into_table");
		rv = MlParseInto(text_to_cstring(PG_GETARG_TEXT_PP(0)), &nspid);
		im.table = quote_qualified_identifier(get_namespace_name(nspid), rv->relname);
	}

	InitMaterializedSRF(fcinfo, 0);
	MlScopeEnter(&scope);
	im.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "CSV record",
									  ALLOCSET_DEFAULT_SIZES);

	if (!im.o.delim_given)
		im.o.delim = MlCsvDetectDelimiter(path, data, im.o.quote, im.o.decimal);

	im.types = palloc0(sizeof(CsvType) * MAX_COLUMNS);
	im.ncols = infer_types(&im, &head, im.types);
	im.names = column_names(head, im.ncols);
	check_overrides(&im);
	create_table(&im);
	import_records(&im);

	{
		const char *keys[4] = {"source", "imported", "rejected", "delimiter"};
		const char *vals[4] = {path ? path : "data", psprintf(INT64_FORMAT, im.imported),
			psprintf(INT64_FORMAT, im.rejected), psprintf("%c", im.o.delim)};

		MlAudit(&scope, "import_csv", "relation", im.table, 0, 4, keys, vals);
	}
	ereport(NOTICE,
			(errmsg("imported " INT64_FORMAT " rows into %s, " INT64_FORMAT " lines rejected",
					im.imported, im.table, im.rejected)));
	MlScopeExit(&scope);
	return (Datum) 0;
}
