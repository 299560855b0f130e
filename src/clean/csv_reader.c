/*
 * csv_reader.c
 *	  The records of a CSV input (a server file or text), parsed by libcsv
 *	  a block at a time, with their line numbers; and the detection of the
 *	  delimiter from the first records.
 *
 * Memory: libcsv allocates in the reader's context; the records parsed from
 * one block of input live in a block context, reset when the next block is
 * read.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "clean/csv_int.h"

#define DETECT_RECORDS	20
#define LIBCSV_FIELD_BEGUN 2		/* libcsv.c's parser state inside a field */
#define LIBCSV_FIELD_MIGHT_HAVE_ENDED 3	/* ... after a quote in a quoted field */
#define TAIL_MAX		1000		/* bytes of a malformed line's rest kept */

/*
 * Strict mode: libcsv stops where quoting goes wrong instead of reading on
 * inside the field (csv_reader.c recovers, MlCsvNext). Without it, a
 * character after a quoted field's closing quote ("x"y) reopened the field:
 * every following line went into it, to the next quote or, at the end of
 * the input, into an error that aborted the import.
 */
#define CSV_OPTIONS (CSV_APPEND_NULL | CSV_EMPTY_IS_NULL | CSV_REPALL_NL | CSV_STRICT)

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
	rec->tail = NULL;
	if (r->tail && r->tail->len > 0)
	{
		/* cut at TAIL_MAX bytes: never inside a character (a '?' in the content) */
		int			len = r->tail->len >= TAIL_MAX ?
			pg_mbcliplen(r->tail->data, r->tail->len, r->tail->len) : r->tail->len;

		rec->tail = pnstrdup(r->tail->data, len);
		resetStringInfo(r->tail);
	}
	r->records = lappend(r->records, rec);
	MemoryContextSwitchTo(old);
	r->fields = NIL;
	r->bad = NULL;
	r->line += r->newlines + (eol ? 1 : 0);
	r->newlines = 0;
	r->after_cr = (c == '\r');
}

/*
 * Parse one block of input with libcsv in strict mode, recovering where it
 * stops:
 *
 * - a quote inside an unquoted field (1,ab"c,3): a character of the field,
 *   as libcsv reads it outside strict mode; that one byte is parsed so.
 * - after a quoted field's closing quote, a character other than spaces, a
 *   delimiter or a line end (1,"ab"c,3; "a" "b"): the record is malformed.
 *   It ends there, marked bad (a rejected line), and the rest of its
 *   physical line is skipped, kept as the record's tail for its content;
 *   the next line is parsed afresh. csv_fini hands out the fields read so
 *   far and resets the parser, once the end of that line is found (maybe
 *   in a later block).
 */
static void
parse_block(CsvReader *r, const char *p, size_t n)
{
	while (n > 0)
	{
		size_t		done;

		if (r->skipping)
		{
			size_t		k = 0;

			while (k < n && p[k] != '\n' && p[k] != '\r')
				k++;
			if (r->tail->len < TAIL_MAX)
				appendBinaryStringInfo(r->tail, p, Min(k, (size_t) (TAIL_MAX - r->tail->len)));
			if (k == n)
				return;			/* the line goes on in the next block */
			r->skipping = false;
			(void) csv_fini(&r->parser, on_field, on_record, r);
			/* the line end, as on_record counts one */
			r->line++;
			r->after_cr = p[k] == '\r';
			p += k + 1;
			n -= k + 1;
			continue;
		}
		done = csv_parse(&r->parser, p, n, on_field, on_record, r);
		if (done == n)
			return;
		if (csv_error(&r->parser) != CSV_EPARSE)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("could not parse CSV near line " INT64_FORMAT ": %s",
							r->line, csv_strerror(csv_error(&r->parser)))));
		p += done;
		n -= done;
		r->parser.status = CSV_SUCCESS;
		if (r->parser.pstate == LIBCSV_FIELD_BEGUN && !r->parser.quoted)
		{
			csv_set_opts(&r->parser, CSV_OPTIONS & ~CSV_STRICT);
			done = csv_parse(&r->parser, p, 1, on_field, on_record, r);
			csv_set_opts(&r->parser, CSV_OPTIONS);
			Assert(done == 1);
			p++;
			n--;
			continue;
		}
		Assert(r->parser.pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED);
		if (r->bad == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(r->block[r->cur]);

			r->bad = pstrdup("a quoted field has characters after its closing quote (a quote inside a quoted field is written twice)");
			MemoryContextSwitchTo(old);
		}
		if (r->tail == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(r->cxt);

			r->tail = makeStringInfo();
			MemoryContextSwitchTo(old);
		}
		/*
		 * the closing quote and the spaces or tabs after it, which csv_fini
		 * will drop from the field (still at the end of libcsv's buffer);
		 * TAIL_MAX bytes with the quote, as the rest of the line is cut
		 */
		resetStringInfo(r->tail);
		appendStringInfoChar(r->tail, (char) csv_get_quote(&r->parser));
		appendBinaryStringInfo(r->tail,
							   (char *) r->parser.entry_buf + r->parser.entry_pos - r->parser.spaces,
							   (int) Min(r->parser.spaces, (size_t) (TAIL_MAX - 1)));
		r->skipping = true;
	}
}

void
MlCsvOpen(CsvReader *r, const char *path, const char *data,
		  unsigned char delim, unsigned char quote)
{
	memset(r, 0, sizeof(*r));
	r->cxt = AllocSetContextCreate(CurrentMemoryContext, "CSV reader",
								   ALLOCSET_DEFAULT_SIZES);
	r->block[0] = AllocSetContextCreate(r->cxt, "CSV block", ALLOCSET_DEFAULT_SIZES);
	r->block[1] = AllocSetContextCreate(r->cxt, "CSV block", ALLOCSET_DEFAULT_SIZES);
	r->buf = MemoryContextAlloc(r->cxt, READ_BLOCK);
	r->delim = delim;
	if (csv_init(&r->parser, CSV_OPTIONS) != 0)
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
CsvRecord *
MlCsvNext(CsvReader *r)
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
			 * rest of the input went into one field, and no line after the
			 * quote can be told apart, so the import fails as a whole
			 * (CSV_STRICT_FINI is not used: delimiter detection only notes
			 * it, lenient).
			 */
			r->unterminated = r->parser.pstate == LIBCSV_FIELD_BEGUN && r->parser.quoted;
			if (r->unterminated && !r->lenient)
				ereport(ERROR,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("CSV input ends inside a quoted field"),
						 errdetail("The record starting at line " INT64_FORMAT " has no closing quote.",
								   r->line),
						 errhint("Close the field's quote, or write a quote inside a quoted field twice.")));
			/* a malformed last record without a line end: it ends here */
			r->skipping = false;
			(void) csv_fini(&r->parser, on_field, on_record, r);
			r->eof = true;
			break;
		}
		parse_block(r, p, n);
		CHECK_FOR_INTERRUPTS();
	}
	if (r->next >= list_length(r->records))
		return NULL;
	return list_nth(r->records, r->next++);
}

void
MlCsvClose(CsvReader *r)
{
	reader_use(r);
	csv_free(&r->parser);
	if (r->file)
		FreeFile(r->file);
	MemoryContextDelete(r->cxt);
}

/* A line of spaces only: one empty field where more are expected. */
bool
MlCsvIsBlank(CsvRecord *rec, int ncols)
{
	return list_length(rec->fields) == 1 && linitial(rec->fields) == NULL && ncols > 1;
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
 * fields; a candidate counts if the first record whose quoting it reads
 * (not malformed with it) has at least two, and the
 * one with the largest share of records with that many fields wins (ties in
 * the order comma, semicolon, tab, pipe). Quoted fields are respected, since
 * libcsv parses each try, and a candidate with which the quotes do not pair
 * up (the input ends inside a quoted field) is out. No candidate: comma,
 * one column (semicolon when the decimal separator is a comma).
 */
char
MlCsvDetectDelimiter(const char *path, const char *data, char quote, char decimal)
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
		MlCsvOpen(&r, path, data, (unsigned char) d, (unsigned char) quote);
		r.lenient = true;
		while (k < DETECT_RECORDS && (rec = MlCsvNext(&r)) != NULL)
		{
			if (MlCsvIsBlank(rec, 2))
				continue;
			k++;
			/*
			 * a record whose quoting is malformed with this delimiter: not
			 * alike, and not the count of fields the others are held to (cut
			 * short at its bad quote, a malformed first record made the right
			 * delimiter lose, and every line was read as one text field)
			 */
			if (rec->bad)
				continue;
			if (first < 0)
				first = list_length(rec->fields);
			if (list_length(rec->fields) == first)
				same++;
		}
		MlCsvClose(&r);
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
