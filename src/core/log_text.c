/*
 * log_text.c
 *	  Names and messages made safe for the server log. A project name in a
 *	  URL path, a role or database name, or an error message quoting one
 *	  may hold a newline: written as it is, "x\nLOG:  ..." forges a log
 *	  line of its own (log injection) for anyone reading the plain-text log
 *	  (stderr, syslog). PostgreSQL's own messages quote names as they are;
 *	  ours, written by background workers for requests and jobs that others
 *	  shape, escape them.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "core/log_text.h"

/*
 * Whether the database's encoding is one of ISO 8859's, whose bytes
 * 0x80..0x9f are the C1 controls themselves (a project name's U+009B,
 * converted from the URL's UTF-8, is the byte CSI there); or SQL_ASCII,
 * which takes any bytes unchecked: a name's U+009B stays the UTF-8 bytes
 * C2 9B there, and a bare 0x9b is taken as well (a URL's %9B).
 */
static bool
c1_bytes(int enc)
{
	return (enc >= PG_LATIN1 && enc <= PG_LATIN10) ||
		(enc >= PG_ISO_8859_5 && enc <= PG_ISO_8859_8) || enc == PG_SQL_ASCII;
}

/*
 * In SQL_ASCII, the length of the UTF-8 character of more than one byte
 * at p, else 0: kept whole, so that its continuation bytes (0x82 of the
 * euro sign) are not taken for C1 controls.
 */
static int
utf8_char_len(const unsigned char *p)
{
	int			l = pg_utf_mblen(p);

	if (l < 2 || strnlen((const char *) p, l) < (size_t) l || !pg_utf8_islegal(p, l))
		return 0;
	return l;
}

static char *
escape(const char *s, bool quote)
{
	StringInfoData buf;
	const unsigned char *p;
	int			enc = GetDatabaseEncoding();
	bool		c1 = c1_bytes(enc);
	int			l;

	if (s == NULL)
		return pstrdup("(null)");
	initStringInfo(&buf);
	if (quote)
		appendStringInfoChar(&buf, '"');
	for (p = (const unsigned char *) s; *p; p++)
	{
		unsigned char c = *p;

		if (c == '\n')
			appendStringInfoString(&buf, "\\n");
		else if (c == '\r')
			appendStringInfoString(&buf, "\\r");
		else if (c == '\t')
			appendStringInfoString(&buf, "\\t");
		else if (c < 0x20 || c == 0x7f)
			appendStringInfo(&buf, "\\x%02x", c);
		else if (c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f &&
				 (enc == PG_UTF8 || enc == PG_SQL_ASCII))
		{
			/* U+0080..U+009F: C1 controls (CSI starts a terminal escape) */
			appendStringInfo(&buf, "\\u%04x", p[1]);
			p++;
		}
		else if (enc == PG_SQL_ASCII && c >= 0x80 && (l = utf8_char_len(p)) > 0)
		{
			appendBinaryStringInfo(&buf, (const char *) p, l);
			p += l - 1;
		}
		else if (c1 && c >= 0x80 && c <= 0x9f)
			appendStringInfo(&buf, "\\x%02x", c);
		else if (c == '\\')
			appendStringInfoString(&buf, "\\\\");
		else if (c == '"' && quote)
			appendStringInfoString(&buf, "\\\"");
		else
			appendStringInfoChar(&buf, (char) c);
	}
	if (quote)
		appendStringInfoChar(&buf, '"');
	return buf.data;
}

char *
MlLogText(const char *s)
{
	return escape(s, false);
}

char *
MlLogQuote(const char *s)
{
	return escape(s, true);
}
