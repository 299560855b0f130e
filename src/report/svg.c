/*
 * svg.c
 *	  The report charts: bars, grouped bars, histograms, scatter plots,
 *	  heat maps, lines and run timelines, each an SVG document (libxml2
 *	  tree, SVG namespace) with a title, axes with readable tick numbers
 *	  and axis labels, drawn into r->chart for MlHtmlChart to place.
 *
 * Every number placed is finite: values that are not (a NaN metric, an
 * infinite residual) are left out of the drawing, never written as "nan".
 * Text goes in as text nodes, escaped by libxml2.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"

#include "report/report.h"

#define SVG_NS "http://www.w3.org/2000/svg"
#define FONT "Helvetica, Arial, sans-serif"
#define MAX_LABEL 28			/* characters of a category label drawn */
#define MAX_POINTS 2000			/* points of a scatter plot drawn */
#define MAX_TICKS 12			/* ticks of an axis (nice_step aims at 5) */

static const char *const palette[] = {"#3b73b9", "#e08a2c", "#4c9a5b", "#c44e52", "#8172b2", "#937860"};

/* The drawing area of a chart, in pixels, and the data range it maps. */
typedef struct Plot
{
	xmlNodePtr	root;
	double		width,
				height;
	double		left,
				right,
				top,
				bottom;			/* the plot area's edges, in pixels */
	double		xmin,
				xmax,
				ymin,
				ymax;
} Plot;

/* A number as people read it: 0.1235, 12.35, 1,234, 1.23e+09. */
char *
MlFormatNumber(double v)
{
	double		a = fabs(v);

	if (!isfinite(v))
		return pstrdup(isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf"));
	if (a == 0)
		return pstrdup("0");
	if (a >= 1e9 || a < 1e-3)
		return psprintf("%.3g", v);
	if (a >= 1000)
	{
		char		digits[32];
		StringInfoData s;
		int			len,
					lead;

		snprintf(digits, sizeof(digits), "%.0f", a);
		len = strlen(digits);
		lead = len % 3 == 0 ? 3 : len % 3;
		initStringInfo(&s);
		if (v < 0)
			appendStringInfoChar(&s, '-');
		appendBinaryStringInfo(&s, digits, lead);
		for (int i = lead; i < len; i += 3)
		{
			appendStringInfoChar(&s, ',');
			appendBinaryStringInfo(&s, digits + i, 3);
		}
		return s.data;
	}
	return psprintf("%.4g", v);
}

static xmlNodePtr
el(xmlNodePtr parent, const char *name)
{
	/* a NULL namespace: the child inherits the parent's (SVG) */
	xmlNodePtr	n = xmlNewChild(parent, NULL, (const xmlChar *) name, NULL);

	if (n == NULL)
		MlXmlOom();
	return n;
}

static void
attr(xmlNodePtr n, const char *name, const char *value)
{
	if (xmlNewProp(n, (const xmlChar *) name, MlXmlText(value)) == NULL)
		MlXmlOom();
}

static void
attrf(xmlNodePtr n, const char *name, double v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%.2f", isfinite(v) ? v : 0.0);
	attr(n, name, buf);
}

static void
line(xmlNodePtr parent, double x1, double y1, double x2, double y2, const char *stroke,
	 const char *dash)
{
	xmlNodePtr	l = el(parent, "line");

	attrf(l, "x1", x1);
	attrf(l, "y1", y1);
	attrf(l, "x2", x2);
	attrf(l, "y2", y2);
	attr(l, "stroke", stroke);
	if (dash)
		attr(l, "stroke-dasharray", dash);
}

static xmlNodePtr
rect(xmlNodePtr parent, double x, double y, double w, double h, const char *fill)
{
	xmlNodePtr	r = el(parent, "rect");

	attrf(r, "x", x);
	attrf(r, "y", y);
	attrf(r, "width", Max(w, 0));
	attrf(r, "height", Max(h, 0));
	attr(r, "fill", fill);
	return r;
}

/* Text at (x, y); anchor start, middle or end; rotated by angle degrees about its anchor. */
static xmlNodePtr
label_at(xmlNodePtr parent, double x, double y, const char *anchor, int size, const char *s,
	 double angle)
{
	xmlNodePtr	t;

	t = xmlNewTextChild(parent, NULL, (const xmlChar *) "text", MlXmlText(s));
	if (t == NULL)
		MlXmlOom();
	attrf(t, "x", x);
	attrf(t, "y", y);
	attr(t, "text-anchor", anchor);
	attr(t, "font-size", psprintf("%d", size));
	if (angle != 0)
		attr(t, "transform", psprintf("rotate(%.1f %.2f %.2f)", angle, x, y));
	return t;
}

/* A category label, cut to MAX_LABEL characters (whole multibyte characters). */
static const char *
category(const char *s)
{
	int			len = strlen(s);

	if (pg_mbstrlen(s) <= MAX_LABEL)
		return s;
	len = pg_mbcharcliplen(s, len, MAX_LABEL - 3);
	return psprintf("%.*s...", len, s);
}

/* A new chart document of width x height pixels with its title; the plot area inside the margins. */
static Plot
plot_begin(MlReport *r, const char *title, double width, double height,
		   double left, double right, double top, double bottom)
{
	Plot		p;
	xmlNsPtr	ns;

	memset(&p, 0, sizeof(p));
	if (r->chart)
		xmlFreeDoc(r->chart);
	r->chart = xmlNewDoc((const xmlChar *) "1.0");
	if (r->chart == NULL)
		MlXmlOom();
	p.root = xmlNewDocNode(r->chart, NULL, (const xmlChar *) "svg", NULL);
	if (p.root == NULL)
		MlXmlOom();
	xmlDocSetRootElement(r->chart, p.root);
	ns = xmlNewNs(p.root, (const xmlChar *) SVG_NS, NULL);
	if (ns == NULL)
		MlXmlOom();
	xmlSetNs(p.root, ns);
	p.width = width;
	p.height = height;
	attr(p.root, "width", psprintf("%.0f", width));
	attr(p.root, "height", psprintf("%.0f", height));
	attr(p.root, "viewBox", psprintf("0 0 %.0f %.0f", width, height));
	attr(p.root, "class", "chart");
	attr(p.root, "role", "img");
	attr(p.root, "aria-label", title);
	attr(p.root, "font-family", FONT);
	xmlNewTextChild(p.root, NULL, (const xmlChar *) "title", MlXmlText(title));
	rect(p.root, 0, 0, width, height, "#ffffff");
	label_at(p.root, width / 2, 20, "middle", 14, title, 0);
	p.left = left;
	p.right = width - right;
	p.top = top;
	p.bottom = height - bottom;
	return p;
}

static double
px(Plot *p, double x)
{
	return p->left + (x - p->xmin) / (p->xmax - p->xmin) * (p->right - p->left);
}

static double
py(Plot *p, double y)
{
	return p->bottom - (y - p->ymin) / (p->ymax - p->ymin) * (p->bottom - p->top);
}

/* A step of 1, 2 or 5 times a power of ten giving about target ticks. */
static double
nice_step(double range, int target)
{
	double		raw = range / target;
	double		mag = pow(10, floor(log10(raw)));
	double		f = raw / mag;

	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Widen [*lo, *hi] to whole ticks; an empty range gets some room. */
static void
nice_range(double *lo, double *hi)
{
	double		step;

	if (!isfinite(*lo) || !isfinite(*hi))
	{
		*lo = 0;
		*hi = 1;
	}
	if (*hi - *lo < 1e-12 * Max(fabs(*lo), 1))
	{
		double		pad = *lo == 0 ? 1 : fabs(*lo) * 0.1;

		*lo -= pad;
		*hi += pad;
	}
	step = nice_step(*hi - *lo, 5);
	*lo = floor(*lo / step) * step;
	*hi = ceil(*hi / step) * step;
}

static void
y_axis(Plot *p, const char *label)
{
	double		step = nice_step(p->ymax - p->ymin, 5);
	double		first = ceil(p->ymin / step - 1e-9) * step;

	/*
	 * Ticks by index: where step is below the spacing of doubles near the
	 * range (1.7e9 .. 1.7e9 + 2e-7) v += step would never move.
	 */
	for (int k = 0; k <= MAX_TICKS; k++)
	{
		double		v = first + k * step;
		double		y;

		if (!(v <= p->ymax + step * 1e-9))
			break;
		y = py(p, v);

		line(p->root, p->left, y, p->right, y, "#e6e9ed", NULL);
		label_at(p->root, p->left - 6, y + 4, "end", 11, MlFormatNumber(fabs(v) < step * 1e-9 ? 0 : v), 0);
	}
	line(p->root, p->left, p->top, p->left, p->bottom, "#333333", NULL);
	if (label)
		label_at(p->root, 14, (p->top + p->bottom) / 2, "middle", 12, label, -90);
}

static void
x_axis(Plot *p, const char *label)
{
	double		step = nice_step(p->xmax - p->xmin, 5);
	double		first = ceil(p->xmin / step - 1e-9) * step;

	for (int k = 0; k <= MAX_TICKS; k++)	/* by index, as y_axis */
	{
		double		v = first + k * step;
		double		x;

		if (!(v <= p->xmax + step * 1e-9))
			break;
		x = px(p, v);

		line(p->root, x, p->bottom, x, p->bottom + 4, "#333333", NULL);
		label_at(p->root, x, p->bottom + 17, "middle", 11, MlFormatNumber(fabs(v) < step * 1e-9 ? 0 : v), 0);
	}
	line(p->root, p->left, p->bottom, p->right, p->bottom, "#333333", NULL);
	if (label)
		label_at(p->root, (p->left + p->right) / 2, p->height - 8, "middle", 12, label, 0);
}

static void
legend(Plot *p, int n, const char *const *names, const char *const *colors)
{
	double		x = p->left + 4;

	for (int s = 0; s < n; s++)
	{
		rect(p->root, x, 30, 10, 10, colors ? colors[s] : palette[s % lengthof(palette)]);
		label_at(p->root, x + 14, 39, "start", 11, category(names[s]), 0);
		x += 24 + 7 * Min(strlen(names[s]), MAX_LABEL);
	}
}

static double
finite_or(double v, double dflt)
{
	return isfinite(v) ? v : dflt;
}

/*
 * Horizontal bars, one per label (importance, PSI per feature), with an
 * optional vertical threshold line (NaN: none).
 */
void
MlSvgBars(MlReport *r, const char *title, const char *value_label, int n,
		  const char *const *labels, const double *values,
		  double threshold, const char *threshold_label)
{
	Plot		p = plot_begin(r, title, 680, 70 + Max(n, 1) * 22 + 40, 190, 70, 40, 45);
	double		lo = 0,
				hi = 0;
	double		band = (p.bottom - p.top) / Max(n, 1);

	for (int i = 0; i < n; i++)
	{
		lo = Min(lo, finite_or(values[i], 0));
		hi = Max(hi, finite_or(values[i], 0));
	}
	if (isfinite(threshold))
		hi = Max(hi, threshold);
	nice_range(&lo, &hi);
	p.xmin = lo;
	p.xmax = hi;
	x_axis(&p, value_label);
	for (int i = 0; i < n; i++)
	{
		double		y = p.top + i * band;
		double		v = finite_or(values[i], 0);
		double		x0 = px(&p, Min(v, 0)),
					x1 = px(&p, Max(v, 0));

		label_at(p.root, p.left - 8, y + band / 2 + 4, "end", 11, category(labels[i]), 0);
		rect(p.root, x0, y + band * 0.15, Max(x1 - x0, 1), band * 0.7,
			 isfinite(threshold) && v > threshold ? palette[3] : palette[0]);
		label_at(p.root, x1 + 4, y + band / 2 + 4, "start", 10,
			 isfinite(values[i]) ? MlFormatNumber(values[i]) : "n/a", 0);
	}
	line(p.root, px(&p, 0), p.top, px(&p, 0), p.bottom, "#333333", NULL);
	if (isfinite(threshold))
	{
		line(p.root, px(&p, threshold), p.top - 4, px(&p, threshold), p.bottom, palette[3], "5,3");
		label_at(p.root, px(&p, threshold), p.top - 8, "middle", 10,
			 threshold_label ? threshold_label : MlFormatNumber(threshold), 0);
	}
}

/* Vertical bars of nseries series per label (values: nseries rows of n), with a legend. */
void
MlSvgGroupedBars(MlReport *r, const char *title, const char *ylabel, int n,
				 const char *const *labels, int nseries, const char *const *series,
				 const double *values)
{
	bool		rotate = n > 6;
	double		width = Max(440, 80 + Max(n, 1) * (nseries * 14 + 12));
	Plot		p = plot_begin(r, title, Min(width, 1040), 320 + (rotate ? 60 : 0),
							   64, 20, nseries > 1 ? 50 : 36, rotate ? 110 : 50);
	double		lo = 0,
				hi = 0;
	double		band = (p.right - p.left) / Max(n, 1);
	double		bar = band * 0.8 / Max(nseries, 1);

	for (int i = 0; i < n * nseries; i++)
		hi = Max(hi, finite_or(values[i], 0));
	nice_range(&lo, &hi);
	p.ymin = 0;
	p.ymax = hi;
	y_axis(&p, ylabel);
	for (int i = 0; i < n; i++)
	{
		double		x = p.left + i * band + band * 0.1;

		for (int s = 0; s < nseries; s++)
		{
			double		v = Max(finite_or(values[s * n + i], 0), 0);

			rect(p.root, x + s * bar, py(&p, v), bar * 0.92, p.bottom - py(&p, v),
				 palette[s % lengthof(palette)]);
		}
		if (rotate)
			label_at(p.root, x + band * 0.4, p.bottom + 14, "end", 10, category(labels[i]), -40);
		else
			label_at(p.root, x + band * 0.4, p.bottom + 16, "middle", 11, category(labels[i]), 0);
	}
	line(p.root, p.left, p.bottom, p.right, p.bottom, "#333333", NULL);
	if (nseries > 1)
		legend(&p, nseries, series, NULL);
}

/* Histograms over numeric bins (edges: nbins + 1), nseries counts per bin. */
void
MlSvgHistogram(MlReport *r, const char *title, const char *xlabel, int nbins,
			   const double *edges, int nseries, const char *const *series,
			   const double *counts)
{
	Plot		p = plot_begin(r, title, 480, 300, 64, 20, nseries > 1 ? 50 : 36, 48);
	double		lo = 0,
				hi = 0;

	for (int i = 0; i < nbins * nseries; i++)
		hi = Max(hi, finite_or(counts[i], 0));
	nice_range(&lo, &hi);
	p.ymin = 0;
	p.ymax = hi;
	p.xmin = edges[0];
	p.xmax = edges[nbins];
	if (!(p.xmax > p.xmin))
	{
		p.xmin -= 0.5;
		p.xmax += 0.5;
	}
	y_axis(&p, "rows");
	x_axis(&p, xlabel);
	/* the series side by side within each bin, so both stay readable */
	for (int s = 0; s < nseries; s++)
		for (int b = 0; b < nbins; b++)
		{
			double		v = Max(finite_or(counts[s * nbins + b], 0), 0);
			double		x0 = px(&p, edges[b]),
						x1 = px(&p, edges[b + 1]);
			double		w = Max((x1 - x0 - 1) / nseries, 0.5);

			rect(p.root, x0 + 0.5 + s * w, py(&p, v), w, p.bottom - py(&p, v),
				 palette[s % lengthof(palette)]);
		}
	if (nseries > 1)
		legend(&p, nseries, series, NULL);
}

/* The plot's ranges from the finite points (x, y), widened to whole ticks; zero_y: y = 0 shown. */
static void
fit_axes(Plot *p, int64 n, const double *x, const double *y, bool zero_y)
{
	double		xlo = INFINITY,
				xhi = -INFINITY,
				ylo = zero_y ? 0 : INFINITY,
				yhi = zero_y ? 0 : -INFINITY;

	for (int64 i = 0; i < n; i++)
	{
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		xlo = Min(xlo, x[i]);
		xhi = Max(xhi, x[i]);
		ylo = Min(ylo, y[i]);
		yhi = Max(yhi, y[i]);
	}
	nice_range(&xlo, &xhi);
	nice_range(&ylo, &yhi);
	p->xmin = xlo;
	p->xmax = xhi;
	p->ymin = ylo;
	p->ymax = yhi;
}

/* Points (x, y), e.g. predicted against residual, with an optional y = 0 line. */
void
MlSvgScatter(MlReport *r, const char *title, const char *xlabel, const char *ylabel,
			 int64 n, const double *x, const double *y, bool zero_line)
{
	Plot		p = plot_begin(r, title, 520, 360, 70, 20, 36, 48);
	xmlNodePtr	g;

	fit_axes(&p, n, x, y, zero_line);
	y_axis(&p, ylabel);
	x_axis(&p, xlabel);
	if (zero_line)
		line(p.root, p.left, py(&p, 0), p.right, py(&p, 0), palette[3], "5,3");
	g = el(p.root, "g");
	attr(g, "fill", palette[0]);
	attr(g, "fill-opacity", "0.6");
	/* at most MAX_POINTS circles, evenly spaced over the rows: the document stays small */
	for (int64 k = 0; k < Min(n, MAX_POINTS); k++)
	{
		int64		i = n <= MAX_POINTS ? k : (int64) ((double) k * n / MAX_POINTS);
		xmlNodePtr	c;

		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		c = el(g, "circle");
		attrf(c, "cx", px(&p, x[i]));
		attrf(c, "cy", py(&p, y[i]));
		attr(c, "r", "2.5");
		if ((k & 255) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

/* An n x n matrix of counts (rows: actual, columns: predicted), shaded by count. */
void
MlSvgHeatmap(MlReport *r, const char *title, int n, const char *const *labels,
			 const double *counts)
{
	double		cell = Max(28, Min(60, 360 / Max(n, 1)));
	Plot		p = plot_begin(r, title, Max(150 + n * cell + 30, 440), 120 + n * cell + 30, 150, 30, 60, 90);
	double		max = 0;

	for (int i = 0; i < n * n; i++)
		max = Max(max, finite_or(counts[i], 0));
	for (int a = 0; a < n; a++)
	{
		label_at(p.root, p.left - 6, p.top + a * cell + cell / 2 + 4, "end", 11, category(labels[a]), 0);
		label_at(p.root, p.left + a * cell + cell / 2, p.top + n * cell + 14, "end", 11, category(labels[a]), -40);
		for (int b = 0; b < n; b++)
		{
			double		v = Max(finite_or(counts[a * n + b], 0), 0);
			double		shade = max > 0 ? v / max : 0;
			char	   *fill = psprintf("rgb(%d,%d,%d)", (int) (245 - shade * 200),
										(int) (248 - shade * 160), (int) (252 - shade * 90));
			xmlNodePtr	t;

			rect(p.root, p.left + b * cell, p.top + a * cell, cell - 1, cell - 1, fill);
			t = label_at(p.root, p.left + b * cell + cell / 2, p.top + a * cell + cell / 2 + 4, "middle", 11,
				 MlFormatNumber(v), 0);
			if (shade > 0.6)
				attr(t, "fill", "#ffffff");
		}
	}
	label_at(p.root, p.left + n * cell / 2, p.height - 10, "middle", 12, "predicted", 0);
	label_at(p.root, 14, p.top + n * cell / 2, "middle", 12, "actual", -90);
}

/* A line through points (x, y); unit_square: both axes 0..1 with the diagonal (calibration). */
void
MlSvgLine(MlReport *r, const char *title, const char *xlabel, const char *ylabel,
		  int n, const double *x, const double *y, bool unit_square)
{
	Plot		p = plot_begin(r, title, 480, 380, 64, 20, 36, 48);
	StringInfoData d;
	bool		first = true;

	if (unit_square)
	{
		p.xmin = p.ymin = 0;
		p.xmax = p.ymax = 1;
	}
	else
		fit_axes(&p, n, x, y, false);
	y_axis(&p, ylabel);
	x_axis(&p, xlabel);
	if (unit_square)
		line(p.root, px(&p, 0), py(&p, 0), px(&p, 1), py(&p, 1), "#999999", "5,3");
	initStringInfo(&d);
	for (int i = 0; i < n; i++)
	{
		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		appendStringInfo(&d, "%s%.2f %.2f ", first ? "M" : "L", px(&p, x[i]), py(&p, y[i]));
		first = false;
	}
	if (!first)
	{
		xmlNodePtr	path = el(p.root, "path");

		attr(path, "d", d.data);
		attr(path, "fill", "none");
		attr(path, "stroke", palette[0]);
		attr(path, "stroke-width", "2");
	}
	for (int i = 0; i < n; i++)
	{
		xmlNodePtr	c;

		if (!isfinite(x[i]) || !isfinite(y[i]))
			continue;
		c = el(p.root, "circle");
		attrf(c, "cx", px(&p, x[i]));
		attrf(c, "cy", py(&p, y[i]));
		attr(c, "r", "4");
		attr(c, "fill", palette[0]);
	}
}

static const char *
status_color(const char *status)
{
	if (strcmp(status, "succeeded") == 0)
		return "#4c9a5b";
	if (strcmp(status, "failed") == 0)
		return "#c44e52";
	if (strcmp(status, "timed_out") == 0)
		return "#e08a2c";
	if (strcmp(status, "running") == 0)
		return "#3b73b9";
	if (strcmp(status, "queued") == 0)
		return "#9fb6d0";
	return "#9a9a9a";
}

/* UTC time of an epoch, short. */
static char *
utc_label(double epoch, double span)
{
	time_t		t = (time_t) epoch;
	struct tm	tm;
	char		buf[32];

	if (gmtime_r(&t, &tm) == NULL)
		return pstrdup("?");
	strftime(buf, sizeof(buf), span > 43200 ? "%m-%d %H:%M" : "%H:%M:%S", &tm);
	return pstrdup(buf);
}

/*
 * Runs as bars along a time axis (epoch seconds, UTC), one lane per job,
 * coloured by how they ended.
 */
void
MlSvgTimeline(MlReport *r, const char *title, int nlanes, const char *const *lanes,
			  int n, const int *lane, const double *start, const double *end,
			  const char *const *status)
{
	Plot		p = plot_begin(r, title, 760, 110 + Max(nlanes, 1) * 26 + 20, 190, 30, 50, 50);
	double		lo = INFINITY,
				hi = -INFINITY,
				band = (p.bottom - p.top) / Max(nlanes, 1);
	static const char *const names[] = {"succeeded", "failed", "timed_out", "cancelled", "running", "queued"};
	const char *colors[lengthof(names)];

	for (int i = 0; i < n; i++)
	{
		lo = Min(lo, finite_or(start[i], lo));
		hi = Max(hi, finite_or(end[i], finite_or(start[i], hi)));
	}
	if (!isfinite(lo) || !isfinite(hi))
	{
		lo = 0;
		hi = 1;
	}
	if (hi - lo < 1)
		hi = lo + 1;
	p.xmin = lo - (hi - lo) * 0.02;
	p.xmax = hi + (hi - lo) * 0.02;
	for (int k = 0; k <= 4; k++)
	{
		double		v = p.xmin + (p.xmax - p.xmin) * k / 4;
		double		x = px(&p, v);

		line(p.root, x, p.top, x, p.bottom + 4, "#e6e9ed", NULL);
		label_at(p.root, x, p.bottom + 17, "middle", 11, utc_label(v, hi - lo), 0);
	}
	line(p.root, p.left, p.bottom, p.right, p.bottom, "#333333", NULL);
	label_at(p.root, (p.left + p.right) / 2, p.height - 8, "middle", 12, "run start to end (UTC)", 0);
	for (int l = 0; l < nlanes; l++)
		label_at(p.root, p.left - 8, p.top + l * band + band / 2 + 4, "end", 11, category(lanes[l]), 0);
	for (int i = 0; i < n; i++)
	{
		double		s = finite_or(start[i], NAN),
					e = finite_or(end[i], s);
		double		x0,
					x1;

		if (!isfinite(s) || lane[i] < 0 || lane[i] >= nlanes)
			continue;
		x0 = px(&p, s);
		x1 = px(&p, e);
		rect(p.root, x0, p.top + lane[i] * band + band * 0.2, Max(x1 - x0, 3), band * 0.6,
			 status_color(status[i]));
	}
	for (int k = 0; k < (int) lengthof(names); k++)
		colors[k] = status_color(names[k]);
	legend(&p, lengthof(names), names, colors);
}
