/*
 * csv_import.c
 *	  ml_import_csv(): CSV into a new table with inferred column types,
 *	  parsed by libcsv, rejected lines reported with their line numbers.
 *
 * Two passes over the input: the first infers a type per column from the
 * first infer_rows records (bigint, double precision, boolean, timestamp,
 * or text, with NULL markers); the second checks every cell against that
 * type and inserts the good records in batches, one INSERT ... SELECT FROM
 * unnest() per batch. A record that does not fit (wrong field count, a
 * value that is not of its column's type) is not inserted: it comes back
 * as a row of the result, with its line number and the reason.
 */
#include "postgres.h"

#include <csv.h>
#include <errno.h>
#include <limits.h>

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

#include "core/catalog.h"
#include "clean/cleaning.h"
#include "core/options.h"

PG_FUNCTION_INFO_V1(ml_import_csv);

#define READ_BLOCK	65536
#define BATCH_ROWS	5000

typedef enum CsvType
{
	CT_UNKNOWN, CT_BIGINT, CT_FLOAT, CT_BOOL, CT_TIMESTAMP, CT_TEXT
} CsvType;

static const char *const type_sql[] = {"text", "bigint", "double precision", "boolean", "timestamp", "text"};

/* One pass over the input. */
typedef struct CsvReader
{
	struct csv_parser parser;
	FILE	   *file;
	const char *data;			/* or in-memory text */
	size_t		datalen;
	size_t		datapos;
	/* the record being built */
	List	   *fields;			/* char *, NULL for an empty unquoted field */
	int64		line;			/* line where the current record starts */
	int64		newlines;		/* newlines inside the current record's fields */
	/* finished records waiting to be consumed */
	List	   *records;		/* List of fields */
	List	   *lines;			/* line numbers, as int64 in a palloc'd cell */
	bool		eof;
} CsvReader;

static void
on_field(void *s, size_t len, void *arg)
{
	CsvReader  *r = arg;
	char	   *f = NULL;

	if (s)
	{
		f = pnstrdup(s, len);
		for (size_t i = 0; i < len; i++)
			if (f[i] == '\n')
				r->newlines++;
	}
	r->fields = lappend(r->fields, f);
}

static void
on_record(int c pg_attribute_unused(), void *arg)
{
	CsvReader  *r = arg;
	int64	   *line = palloc(sizeof(int64));

	*line = r->line;
	r->records = lappend(r->records, r->fields);
	r->lines = lappend(r->lines, line);
	r->fields = NIL;
	r->line += 1 + r->newlines;
	r->newlines = 0;
}

static void
reader_open(CsvReader *r, const char *path, const char *data, unsigned char delim, unsigned char quote)
{
	memset(r, 0, sizeof(*r));
	if (csv_init(&r->parser, CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not initialize the CSV parser")));
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

/* Next record (a List of fields) and its line, or NIL at the end. */
static List *
reader_next(CsvReader *r, int64 *line)
{
	while (r->records == NIL && !r->eof)
	{
		char		buf[READ_BLOCK];
		size_t		n;

		if (r->file)
			n = fread(buf, 1, sizeof(buf), r->file);
		else
		{
			n = Min(sizeof(buf), r->datalen - r->datapos);
			memcpy(buf, r->data + r->datapos, n);
			r->datapos += n;
		}
		if (n == 0)
		{
			csv_fini(&r->parser, on_field, on_record, r);
			r->eof = true;
			break;
		}
		if (csv_parse(&r->parser, buf, n, on_field, on_record, r) != n)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("could not parse CSV near line " INT64_FORMAT ": %s",
							r->line, csv_strerror(csv_error(&r->parser)))));
		CHECK_FOR_INTERRUPTS();
	}
	if (r->records == NIL)
		return NIL;
	{
		List	   *rec = linitial(r->records);

		*line = *(int64 *) linitial(r->lines);
		r->records = list_delete_first(r->records);
		r->lines = list_delete_first(r->lines);
		return rec;
	}
}

static void
reader_close(CsvReader *r)
{
	csv_free(&r->parser);
	if (r->file)
		FreeFile(r->file);
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

static bool
fits_bigint(const char *s)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s, &end, 10);
	(void) v;
	while (*end == ' ')
		end++;
	return errno == 0 && *end == '\0' && end != s;
}

static bool
cell_fits(const char *s, CsvType t)
{
	switch (t)
	{
		case CT_BIGINT:
			return fits_bigint(s);
		case CT_FLOAT:
			return MlTextIsNumber(s, NULL);
		case CT_BOOL:
			return MlTextIsBool(s);
		case CT_TIMESTAMP:
			return MlTextIsTimestamp(s);
		default:
			return true;
	}
}

/* Widen a column's type so that it also holds s. */
static CsvType
widen(CsvType t, const char *s)
{
	if (t == CT_TEXT)
		return t;
	if ((t == CT_UNKNOWN || t == CT_BIGINT) && fits_bigint(s))
		return CT_BIGINT;
	if ((t == CT_UNKNOWN || t == CT_BIGINT || t == CT_FLOAT) && MlTextIsNumber(s, NULL))
		return CT_FLOAT;
	if ((t == CT_UNKNOWN || t == CT_BOOL) && MlTextIsBool(s))
		return CT_BOOL;
	if ((t == CT_UNKNOWN || t == CT_TIMESTAMP) && MlTextIsTimestamp(s))
		return CT_TIMESTAMP;
	return CT_TEXT;
}

static const char *const csv_keys[] = {
	"delimiter", "quote", "header", "null", "infer_rows", "types", NULL
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
		{"integer", CT_BIGINT, "integer"}, {"double precision", CT_FLOAT, "double precision"},
		{"float8", CT_FLOAT, "double precision"}, {"numeric", CT_FLOAT, "numeric"},
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
	return s[0];
}

/* Column names from the header: exact, or column_N when empty; unique. */
static char **
column_names(List *header, int ncols)
{
	char	  **names = palloc(sizeof(char *) * Max(ncols, 1));

	for (int i = 0; i < ncols; i++)
	{
		char	   *h = header && i < list_length(header) ? list_nth(header, i) : NULL;
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
				name = psprintf("%.*s_%d", NAMEDATALEN - 8, h && *h ? h : "column", ++n);
		} while (taken);
		names[i] = name;
	}
	return names;
}

typedef struct Batch
{
	int			ncols;
	int			n;
	Datum	  **values;
	bool	  **nulls;
} Batch;

static void
batch_flush(Batch *b, const char *table, char **names, char **sqltypes)
{
	StringInfoData sql;
	Oid		   *types = palloc(sizeof(Oid) * b->ncols);
	Datum	   *args = palloc(sizeof(Datum) * b->ncols);

	if (b->n == 0)
		return;
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
	b->n = 0;
	(void) names;
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
				quote;
	bool		header;
	List	   *markers;
	int			infer_rows;
	JsonbContainer *overrides;
	char	   *table;
	CsvReader	r;
	List	   *rec;
	List	   *head = NIL;
	int64		line;
	int			ncols;
	CsvType    *types;
	char	  **sqltypes;
	char	  **names;
	Batch		b;
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
	delim = single_char(opts, "delimiter", ',');
	quote = single_char(opts, "quote", '"');
	header = MlOptBool(opts, "header", true);
	markers = MlOptGet(opts, "null") ? MlOptStringList(opts, "null") :
		list_make4("", "NA", "N/A", "NULL");
	if (!MlOptGet(opts, "null"))
		markers = lappend(lappend(lappend(markers, "null"), "None"), "NaN");
	infer_rows = (int) MlOptNumber(opts, "infer_rows", 10000);
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

	/* pass 1: the header and the types */
	reader_open(&r, path, data, (unsigned char) delim, (unsigned char) quote);
	if (header)
		head = reader_next(&r, &line);
	ncols = list_length(head);
	types = palloc0(sizeof(CsvType) * 1024);
	for (int i = 0; i < infer_rows && (rec = reader_next(&r, &line)) != NIL; i++)
	{
		ListCell   *lc;

		if (ncols == 0)
			ncols = list_length(rec);
		if (list_length(rec) != ncols || ncols > 1024)
			continue;
		foreach(lc, rec)
			if (!is_null_marker(lfirst(lc), markers))
				types[foreach_current_index(lc)] = widen(types[foreach_current_index(lc)], lfirst(lc));
	}
	reader_close(&r);
	if (ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA),
				 errmsg("CSV input has no columns")));
	if (ncols > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CSV input has %d columns, more than 1024", ncols)));

	names = column_names(head, ncols);
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
	b.values = palloc(sizeof(Datum *) * ncols);
	b.nulls = palloc(sizeof(bool *) * ncols);
	for (int c = 0; c < ncols; c++)
	{
		b.values[c] = palloc(sizeof(Datum) * BATCH_ROWS);
		b.nulls[c] = palloc(sizeof(bool) * BATCH_ROWS);
	}
	reader_open(&r, path, data, (unsigned char) delim, (unsigned char) quote);
	if (header)
		(void) reader_next(&r, &line);
	while ((rec = reader_next(&r, &line)) != NIL)
	{
		char	   *reason = NULL;
		ListCell   *lc;

		if (list_length(rec) == 1 && linitial(rec) == NULL && ncols > 1)
			continue;			/* blank line */
		if (list_length(rec) != ncols)
			reason = psprintf("expected %d fields, found %d", ncols, list_length(rec));
		else
			foreach(lc, rec)
			{
				char	   *s = lfirst(lc);
				int			c = foreach_current_index(lc);

				if (!is_null_marker(s, markers) && !cell_fits(s, types[c]))
				{
					reason = psprintf("value \"%s\" of column \"%s\" is not of type %s",
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
			foreach(lc, rec)
				appendStringInfo(&raw, "%s%s", foreach_current_index(lc) ? (char[2]) {delim, 0} : "",
								 lfirst(lc) ? (char *) lfirst(lc) : "");
			values[0] = Int64GetDatum(line);
			values[1] = CStringGetTextDatum(reason);
			values[2] = CStringGetTextDatum(raw.data);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			rejected++;
			continue;
		}
		foreach(lc, rec)
		{
			char	   *s = lfirst(lc);
			int			c = foreach_current_index(lc);

			b.nulls[c][b.n] = is_null_marker(s, markers);
			b.values[c][b.n] = b.nulls[c][b.n] ? (Datum) 0 : CStringGetTextDatum(s);
		}
		b.n++;
		imported++;
		if (b.n == BATCH_ROWS)
			batch_flush(&b, table, names, sqltypes);
	}
	batch_flush(&b, table, names, sqltypes);
	reader_close(&r);

	{
		const char *keys[3] = {"source", "imported", "rejected"};
		const char *vals[3] = {path ? path : "data", psprintf(INT64_FORMAT, imported),
			psprintf(INT64_FORMAT, rejected)};

		MlAudit(&scope, "import_csv", "relation", table, 0, 3, keys, vals);
	}
	ereport(NOTICE,
			(errmsg("imported " INT64_FORMAT " rows into %s, " INT64_FORMAT " lines rejected",
					imported, table, rejected)));
	MlScopeExit(&scope);
	return (Datum) 0;
}
