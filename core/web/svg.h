/*
 * svg.h: charts drawn by the server as SVG (core/web/svg.c) for the report
 * pages: bars, lines and a funnel.  Each chart is one <svg role="img"> with
 * a <title> and a <desc> (aria-labelledby both) whose text states every
 * value, a <title> on every mark (the value as text on hover) and the
 * values written beside the marks, so it reads without JavaScript, without
 * colour and with a screen reader.  Presentation attributes only (no style
 * attribute or element: the pages' CSP allows no inline style).  All text
 * is XML-escaped here.
 */
#ifndef RD_WEB_SVG_H
#define RD_WEB_SVG_H

#include <stddef.h>
#include <stdint.h>

/* One value: its label, its magnitude (for the geometry) and its text
 * (how people read it: "GBP 1,234.50", "66.67 %"). */
struct rd_svg_point {
	const char *label;
	double value;
	const char *text;
};

/* One line of a line chart: its name and one point per x label. */
struct rd_svg_series {
	const char *name;
	const struct rd_svg_point *points;
};

/* Each returns a malloc'd NUL-terminated SVG document fragment; id makes
 * the title and desc ids unique within the page. */
char *rd_svg_bars(const char *id, const char *title, const char *desc, const struct rd_svg_point *p, size_t n);
char *rd_svg_lines(const char *id, const char *title, const char *desc, const char *const *x_labels, size_t n_x,
		   const struct rd_svg_series *s, size_t n_series);
/* Stages from the widest (first) to the narrowest; widths relative to the first. */
char *rd_svg_funnel(const char *id, const char *title, const char *desc, const struct rd_svg_point *p, size_t n);

#endif
