/*
 * html.c
 *	  The report document: an HTML5 tree built with libxml2 (every text
 *	  node and attribute value escaped by libxml2 when it is serialized),
 *	  inline CSS, the charts placed as SVG (an <img> with a data: URI by
 *	  default, or inline <svg> elements), serialized once.
 *
 * Why <img> by default: the SVG elements are HTML5, but libxml2's HTML
 * parser (an HTML 4 parser) reports every SVG tag as an unknown one; as
 * images the documents parse without a single error and render the same,
 * without JavaScript or network. Option "inline_svg" puts the <svg>
 * elements in the page instead.
 */
#include "postgres.h"

#include <libxml/HTMLtree.h>
#include <libxml/xmlsave.h>

#include "common/base64.h"
#include "mb/pg_wchar.h"

#include "report/report.h"

static const char *const css =
"body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#1d2733;background:#fff}"
"div.top{background:#1f3b57;color:#fff;padding:18px 32px}"
"div.top h1{margin:0;font-size:22px}"
"div.top p{margin:4px 0 0;color:#c9d6e3;font-size:13px}"
"div.main{padding:8px 32px 32px;max-width:1100px}"
"div.section{margin-top:24px}"
"h2{font-size:17px;border-bottom:1px solid #d5dde5;padding-bottom:4px}"
"h3{font-size:14px;margin:16px 0 6px}"
"table{border-collapse:collapse;font-size:13px;margin:6px 0}"
"th,td{border:1px solid #d5dde5;padding:3px 8px;text-align:left}"
"th{background:#eef2f6}"
"td.num{text-align:right;font-variant-numeric:tabular-nums}"
"p.note{color:#5a6773;font-size:13px}"
".charts{display:flex;flex-wrap:wrap;gap:16px}"
"img.chart,svg.chart{border:1px solid #e3e8ee;background:#fff}"
"div.footer{color:#8593a0;font-size:12px;padding:0 32px 24px}";

void
MlXmlOom(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("out of memory while building a report")));
}

/*
 * libxml2 wants UTF-8; the catalog's and the data's text is in the server
 * encoding. XML 1.0 has no character for a C0 control other than tab,
 * newline and carriage return, nor for U+FFFE and U+FFFF, and libxml2
 * writes them into a document as they are: a class label or a level
 * holding one (E'a\x01') made every chart naming it an SVG that does not
 * parse, an image never drawn. Each becomes U+FFFD, the replacement
 * character, as a text the reader sees was not representable.
 */
const xmlChar *
MlXmlText(const char *s)
{
	const unsigned char *u = (const unsigned char *) pg_server_to_any(s, strlen(s), PG_UTF8);
	StringInfoData out;
	size_t		len = strlen((const char *) u);
	size_t		i;

	for (i = 0; i < len; i++)
		if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r') ||
			(u[i] == 0xEF && i + 2 < len && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF)))
			break;
	if (i == len)
		return (const xmlChar *) u;
	initStringInfo(&out);
	appendBinaryStringInfo(&out, (const char *) u, i);
	for (; i < len; i++)
	{
		if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			appendStringInfoString(&out, "\xEF\xBF\xBD");
		else if (u[i] == 0xEF && i + 2 < len && u[i + 1] == 0xBF && (u[i + 2] == 0xBE || u[i + 2] == 0xBF))
		{
			appendStringInfoString(&out, "\xEF\xBF\xBD");
			i += 2;
		}
		else
			appendStringInfoChar(&out, (char) u[i]);
	}
	return (const xmlChar *) out.data;
}

xmlNodePtr
MlHtmlElem(xmlNodePtr parent, const char *tag, const char *text)
{
	/* xmlNewTextChild escapes the text; xmlNewChild would take it as markup */
	xmlNodePtr	n = xmlNewTextChild(parent, NULL, (const xmlChar *) tag,
									text ? MlXmlText(text) : NULL);

	if (n == NULL)
		MlXmlOom();
	return n;
}

void
MlHtmlAttr(xmlNodePtr node, const char *name, const char *value)
{
	if (xmlNewProp(node, (const xmlChar *) name, MlXmlText(value)) == NULL)
		MlXmlOom();
}

/* The document, its head (charset, title, style) and the page header. */
void
MlHtmlBegin(MlReport *r, const char *title, const char *subtitle)
{
	xmlNodePtr	html,
				head,
				body,
				header,
				n;

	r->doc = htmlNewDocNoDtD(NULL, NULL);
	if (r->doc == NULL)
		MlXmlOom();
	/* <!DOCTYPE html>: HTML5 */
	if (xmlCreateIntSubset(r->doc, (const xmlChar *) "html", NULL, NULL) == NULL)
		MlXmlOom();
	html = xmlNewDocNode(r->doc, NULL, (const xmlChar *) "html", NULL);
	if (html == NULL)
		MlXmlOom();
	xmlDocSetRootElement(r->doc, html);
	MlHtmlAttr(html, "lang", "en");
	head = MlHtmlElem(html, "head", NULL);
	n = MlHtmlElem(head, "meta", NULL);
	MlHtmlAttr(n, "charset", "utf-8");
	n = MlHtmlElem(head, "meta", NULL);
	MlHtmlAttr(n, "name", "viewport");
	MlHtmlAttr(n, "content", "width=device-width, initial-scale=1");
	n = MlHtmlElem(head, "meta", NULL);
	MlHtmlAttr(n, "name", "generator");
	MlHtmlAttr(n, "content", "pg_mlops");
	MlHtmlElem(head, "title", title);
	MlHtmlElem(head, "style", css);
	body = MlHtmlElem(html, "body", NULL);
	/* div, not header/main/section: libxml2's HTML 4 parser knows no HTML5 sectioning tags */
	header = MlHtmlElem(body, "div", NULL);
	MlHtmlAttr(header, "class", "top");
	MlHtmlElem(header, "h1", title);
	if (subtitle)
		MlHtmlElem(header, "p", subtitle);
	r->main = MlHtmlElem(body, "div", NULL);
	MlHtmlAttr(r->main, "class", "main");
}

xmlNodePtr
MlHtmlSection(MlReport *r, const char *heading)
{
	xmlNodePtr	s = MlHtmlElem(r->main, "div", NULL);

	MlHtmlAttr(s, "class", "section");
	MlHtmlElem(s, "h2", heading);
	return s;
}

xmlNodePtr
MlHtmlTable(xmlNodePtr parent, int ncols, const char *const *heads)
{
	xmlNodePtr	table = MlHtmlElem(parent, "table", NULL);
	xmlNodePtr	tr = MlHtmlElem(MlHtmlElem(table, "thead", NULL), "tr", NULL);

	for (int i = 0; i < ncols; i++)
		MlHtmlElem(tr, "th", heads[i]);
	MlHtmlElem(table, "tbody", NULL);
	return table;
}

/* A row of the table's body; a cell that reads as a number is right-aligned. */
void
MlHtmlRow(xmlNodePtr table, int ncols, const char *const *cells)
{
	xmlNodePtr	tbody = xmlGetLastChild(table);
	xmlNodePtr	tr = MlHtmlElem(tbody, "tr", NULL);

	for (int i = 0; i < ncols; i++)
	{
		const char *c = cells[i] ? cells[i] : "";
		xmlNodePtr	td = MlHtmlElem(tr, "td", c);

		if (*c && strspn(c, "0123456789.,-+e% ") == strlen(c))
			MlHtmlAttr(td, "class", "num");
	}
}

/* The SVG document as UTF-8 text (no XML declaration), malloc'ed by libxml2. */
static xmlBufferPtr
svg_text(xmlDocPtr svg)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlSaveCtxtPtr ctxt;
	long		rc = -1;

	if (buf == NULL)
		MlXmlOom();
	ctxt = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
	if (ctxt != NULL)
	{
		rc = xmlSaveDoc(ctxt, svg);
		if (xmlSaveClose(ctxt) < 0)
			rc = -1;
	}
	if (rc < 0)
	{
		xmlBufferFree(buf);
		MlXmlOom();
	}
	return buf;
}

/*
 * Place the chart just drawn (r->chart) into parent and free it: as an
 * <img> whose source is the SVG as a base64 data: URI, or as a copy of the
 * <svg> element (with its namespace) in the page.
 */
void
MlHtmlChart(MlReport *r, xmlNodePtr parent)
{
	xmlNodePtr	root = xmlDocGetRootElement(r->chart);
	xmlChar    *label = xmlGetProp(root, (const xmlChar *) "aria-label");
	char	   *alt = label ? pstrdup((char *) label) : pstrdup("chart");

	xmlFree(label);
	if (r->inline_svg)
	{
		xmlNodePtr	copy = xmlDocCopyNode(root, r->doc, 1);

		if (copy == NULL || xmlAddChild(parent, copy) == NULL)
			MlXmlOom();
	}
	else
	{
		xmlBufferPtr buf = svg_text(r->chart);
		int			len = xmlBufferLength(buf);
		char	   *src = palloc(pg_b64_enc_len(len) + 32);
		int			n;
		xmlNodePtr	img;
		xmlChar    *w = xmlGetProp(root, (const xmlChar *) "width");
		xmlChar    *h = xmlGetProp(root, (const xmlChar *) "height");
		char	   *ws = pstrdup(w ? (char *) w : "100");
		char	   *hs = pstrdup(h ? (char *) h : "100");

		xmlFree(w);
		xmlFree(h);
		strcpy(src, "data:image/svg+xml;base64,");
		n = pg_b64_encode((const char *) xmlBufferContent(buf), len,
						  src + strlen(src), pg_b64_enc_len(len));
		xmlBufferFree(buf);
		if (n < 0)
			elog(ERROR, "could not encode a chart as base64");
		src[26 + n] = '\0';
		img = MlHtmlElem(parent, "img", NULL);
		MlHtmlAttr(img, "class", "chart");
		MlHtmlAttr(img, "src", src);
		/* alt is UTF-8 already (it came out of the SVG tree) */
		if (xmlNewProp(img, (const xmlChar *) "alt", (const xmlChar *) alt) == NULL)
			MlXmlOom();
		MlHtmlAttr(img, "width", ws);
		MlHtmlAttr(img, "height", hs);
	}
	xmlFreeDoc(r->chart);
	r->chart = NULL;
}

/* The whole document as text in the server encoding. */
char *
MlHtmlSerialize(MlReport *r)
{
	xmlChar    *mem = NULL;
	int			size = 0;
	char	   *out;

	htmlDocDumpMemoryFormat(r->doc, &mem, &size, 1);
	if (mem == NULL)
		MlXmlOom();
	/* a palloc'ed copy first: the conversion may raise an error */
	out = pnstrdup((const char *) mem, size);
	xmlFree(mem);
	return pg_any_to_server(out, strlen(out), PG_UTF8);
}

void
MlHtmlFree(MlReport *r)
{
	if (r->chart)
		xmlFreeDoc(r->chart);
	if (r->doc)
		xmlFreeDoc(r->doc);
	r->chart = NULL;
	r->doc = NULL;
}
