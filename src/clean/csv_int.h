/*
 * csv_int.h
 *	  What the files of ml_import_csv share and nothing else includes: the
 *	  record reader on libcsv with delimiter detection (csv_reader.c), and
 *	  the column types a cell is checked against (csv_types.c), both used
 *	  by the import itself (csv_import.c).
 */
#ifndef ML_CSV_INT_H
#define ML_CSV_INT_H

#include "postgres.h"

#include <csv.h>
#include <stdio.h>

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#define READ_BLOCK		65536	/* bytes of input parsed at a time */

typedef enum CsvType
{
	CT_UNKNOWN, CT_BIGINT, CT_FLOAT, CT_BOOL, CT_TIMESTAMP, CT_TEXT,
	CT_INTEGER, CT_NUMERIC,		/* only when declared in "types" */
	CT_TIMESTAMPTZ,				/* inferred when a cell names a time zone */
	CT_BIGINT_WIDE,				/* inferring: bigint, with integers no double holds */
	CT_DATE,					/* only when declared in "types" */
	CT_TIME_WORD,				/* inferring: only "epoch", "infinity" or "-infinity" so far */
	CT_INF_WORD					/* inferring: only "infinity" or "-infinity" so far (numbers too) */
} CsvType;

/* How a cell fits a type. */
typedef enum CsvFit
{
	FIT_OK, FIT_TYPE, FIT_RANGE,
	FIT_ZONE,					/* a zone that timestamp (or date) would drop */
	FIT_DIGITS,					/* an integer with more digits than a double holds */
	FIT_TIME,					/* a time of day that date would drop */
	FIT_RELATIVE				/* "now", "today": the time of the import */
} CsvFit;

/* One record, as handed out by MlCsvNext(). */
typedef struct CsvRecord
{
	List	   *fields;			/* char *, NULL for an empty unquoted field */
	int64		line;			/* line where the record starts */
	char	   *bad;			/* why its bytes are unusable, or NULL */
	char	   *tail;			/* a malformed record: the rest of its line, unparsed */
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
	StringInfo	tail;			/* the rest of a malformed record's line */
	bool		skipping;		/* skipping that rest, to the end of the line */
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

/* csv_reader.c: one pass over a file (path) or in-memory text (data) */
extern void MlCsvOpen(CsvReader *r, const char *path, const char *data,
					  unsigned char delim, unsigned char quote);

/*
 * Next record, or NULL at the end. A record stays valid until the next call:
 * reading a new block resets the context of the previous one.
 */
extern CsvRecord *MlCsvNext(CsvReader *r);
extern void MlCsvClose(CsvReader *r);

/* A line of spaces only: one empty field where more are expected. */
extern bool MlCsvIsBlank(CsvRecord *rec, int ncols);

/* The delimiter that splits the first records alike (see csv_reader.c). */
extern char MlCsvDetectDelimiter(const char *path, const char *data, char quote, char decimal);

/* csv_types.c: the SQL type of each inferred type */
extern const char *const MlCsvTypeSql[];

extern bool MlCsvIsNullMarker(const char *s, List *markers);

/* How s fits type t; *value is the text to cast (numbers normalized). */
extern CsvFit MlCsvCellFit(const char *s, CsvType t, char decimal, const char **value);

/* Widen a column's inferred type so that it also holds s. */
extern CsvType MlCsvWiden(CsvType t, const char *s, char decimal);

/* A type named in option "types" (or a domain over one), its SQL spelling. */
extern CsvType MlCsvTypeFromName(const char *name, char **sqltype, Oid *domain);
extern char *MlCsvDeclaredName(JsonbContainer *types, const char *column);

#endif							/* ML_CSV_INT_H */
