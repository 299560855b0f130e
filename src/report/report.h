/*
 * report.h
 *	  Reports: one self-contained HTML5 document per report, built with
 *	  libxml2's tree API (html.c), its charts as SVG documents (svg.c),
 *	  stored versioned in mlops.reports (report.c).
 */
#ifndef ML_REPORT_H
#define ML_REPORT_H

#include "postgres.h"

#include <libxml/tree.h>

#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "core/catalog.h"

/* A report being built. libxml2 memory is malloc'ed: report.c frees it on every path. */
typedef struct MlReport
{
	MlScope    *scope;
	MlProject  *project;
	const char *kind;
	JsonbContainer *options;	/* the report's options (kind-specific keys) */
	bool		inline_svg;		/* charts as inline <svg> rather than <img> data URIs */
	char	   *title;
	xmlDocPtr	doc;			/* the HTML document */
	xmlNodePtr	main;			/* where sections go */
	xmlDocPtr	chart;			/* the SVG chart being drawn, if any */
	StringInfoData content;		/* JSON members of the numbers shown */
	StringInfoData built_from;	/* JSON members of what it was built from */
	int64		model_id;		/* 0: none */
	int64		recipe_id;		/* 0: none */
} MlReport;

/* html.c: the document */
extern void MlHtmlBegin(MlReport *r, const char *title, const char *subtitle);
extern xmlNodePtr MlHtmlSection(MlReport *r, const char *heading);
extern xmlNodePtr MlHtmlElem(xmlNodePtr parent, const char *tag, const char *text);
extern void MlHtmlAttr(xmlNodePtr node, const char *name, const char *value);
extern xmlNodePtr MlHtmlTable(xmlNodePtr parent, int ncols, const char *const *heads);
extern void MlHtmlRow(xmlNodePtr table, int ncols, const char *const *cells);
extern void MlHtmlChart(MlReport *r, xmlNodePtr parent);
extern char *MlHtmlSerialize(MlReport *r);
extern void MlHtmlFree(MlReport *r);
extern const xmlChar *MlXmlText(const char *s);
extern void MlXmlOom(void);

/* svg.c: charts, each drawn into r->chart then placed with MlHtmlChart */
extern char *MlFormatNumber(double v);
extern void MlSvgBars(MlReport *r, const char *title, const char *value_label, int n,
					  const char *const *labels, const double *values,
					  double threshold, const char *threshold_label);
extern void MlSvgGroupedBars(MlReport *r, const char *title, const char *ylabel, int n,
							 const char *const *labels, int nseries,
							 const char *const *series, const double *values);
extern void MlSvgHistogram(MlReport *r, const char *title, const char *xlabel, int nbins,
						   const double *edges, int nseries, const char *const *series,
						   const double *counts);
extern void MlSvgScatter(MlReport *r, const char *title, const char *xlabel, const char *ylabel,
						 int64 n, const double *x, const double *y, bool zero_line);
extern void MlSvgHeatmap(MlReport *r, const char *title, int n, const char *const *labels,
						 const double *counts);
extern void MlSvgLine(MlReport *r, const char *title, const char *xlabel, const char *ylabel,
					  int n, const double *x, const double *y, bool unit_square);
extern void MlSvgTimeline(MlReport *r, const char *title, int nlanes, const char *const *lanes,
						  int n, const int *lane, const double *start, const double *end,
						  const char *const *status);

/* report.c: JSON members of content and built_from */
extern void MlJsonKey(StringInfo s, const char *key);
extern void MlJsonKeyNumber(StringInfo s, const char *key, double v);
extern void MlJsonKeyString(StringInfo s, const char *key, const char *v);
extern char *MlReportQueryValue(const char *sql, int nargs, Oid *types, Datum *values);
extern void MlReportSpiTable(xmlNodePtr parent, int ncols, const char *const *heads);
extern int	MlReportPairs(const char *sql, int nargs, Oid *types, Datum *values,
						  char ***labels, double **vals);

/* one builder per kind */
extern void MlReportModel(MlReport *r);
extern void MlReportCleaning(MlReport *r);
extern void MlReportJobs(MlReport *r);
extern void MlReportDrift(MlReport *r);

#endif							/* ML_REPORT_H */
