/*
 * svg.c: bars, lines and a funnel as SVG text (svg.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "web/svg.h"

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2 + 1024;
		o->p = rd_realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

#define PUTS(o, s) put(o, s, strlen(s))

static void printf_out(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_out(struct out *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Text as XML character data or an attribute value. */
static void esc(struct out *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': PUTS(o, "&amp;"); break;
		case '<': PUTS(o, "&lt;"); break;
		case '>': PUTS(o, "&gt;"); break;
		case '"': PUTS(o, "&quot;"); break;
		case '\'': PUTS(o, "&#39;"); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t' || *s == '\n')
				put(o, s, 1);
		}
	}
}

static void head(struct out *o, const char *id, const char *title, const char *desc, int w, int h)
{
	printf_out(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" width=\"%d\" height=\"%d\" "
		      "viewBox=\"0 0 %d %d\" aria-labelledby=\"", w, h, w, h);
	esc(o, id);
	PUTS(o, "-t ");
	esc(o, id);
	PUTS(o, "-d\"><title id=\"");
	esc(o, id);
	PUTS(o, "-t\">");
	esc(o, title);
	PUTS(o, "</title><desc id=\"");
	esc(o, id);
	PUTS(o, "-d\">");
	esc(o, desc);
	PUTS(o, "</desc>");
}

static const char *const COLOURS[] = { "#1f5f99", "#c2571a", "#2e7d32", "#6a1b9a", "#8d6e63", "#00838f" };

char *rd_svg_bars(const char *id, const char *title, const char *desc, const struct rd_svg_point *p, size_t n)
{
	struct out o = { 0 };
	int row = 28, w = 640, label_w = 200, bar_w = 300;
	head(&o, id, title, desc, w, (int)(n ? n : 1) * row + 8);
	double max = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].value > max)
			max = p[i].value;
	if (!n) {
		PUTS(&o, "<text x=\"8\" y=\"22\" font-size=\"13\" fill=\"#333\">No data</text>");
	}
	for (size_t i = 0; i < n; i++) {
		int y = (int)i * row + 4;
		int len = max > 0 && p[i].value > 0 ? (int)(p[i].value / max * bar_w + 0.5) : 0;
		if (p[i].value > 0 && len < 1)
			len = 1;
		printf_out(&o, "<g><title>");
		esc(&o, p[i].label);
		PUTS(&o, ": ");
		esc(&o, p[i].text);
		printf_out(&o, "</title><text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"end\" fill=\"#222\">",
			   label_w - 6, y + 17);
		esc(&o, p[i].label);
		printf_out(&o, "</text><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", label_w, y + 3, len,
			   row - 8, COLOURS[0]);
		printf_out(&o, "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#222\">", label_w + len + 6, y + 17);
		esc(&o, p[i].text);
		PUTS(&o, "</text></g>");
	}
	PUTS(&o, "</svg>");
	return o.p;
}

char *rd_svg_lines(const char *id, const char *title, const char *desc, const char *const *x, size_t n_x,
		   const struct rd_svg_series *s, size_t n_s)
{
	struct out o = { 0 };
	int w = 640, h = 260, left = 48, right = 16, top = 16, bottom = 60 + 18 * (int)n_s;
	int pw = w - left - right, ph = h - top - bottom + 18 * (int)n_s;
	h += 18 * (int)n_s;
	head(&o, id, title, desc, w, h);
	double max = 0;
	for (size_t k = 0; k < n_s; k++)
		for (size_t i = 0; i < n_x; i++)
			if (s[k].points[i].value > max)
				max = s[k].points[i].value;
	if (max <= 0)
		max = 1;
	int base = top + ph;
	printf_out(&o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, base, left + pw, base);
	printf_out(&o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", left, top, left, base);
	double step = n_x > 1 ? (double)pw / (double)(n_x - 1) : 0;
	for (size_t i = 0; i < n_x; i++) {
		int xx = left + (int)(step * (double)i);
		printf_out(&o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#222\" "
			      "transform=\"rotate(-45 %d %d)\">", xx, base + 14, xx, base + 14);
		esc(&o, x[i]);
		PUTS(&o, "</text>");
	}
	for (size_t k = 0; k < n_s; k++) {
		const char *colour = COLOURS[k % (sizeof COLOURS / sizeof *COLOURS)];
		PUTS(&o, "<g><title>");
		esc(&o, s[k].name);
		PUTS(&o, "</title><polyline fill=\"none\" stroke-width=\"2\" stroke=\"");
		put(&o, colour, strlen(colour));
		PUTS(&o, "\" points=\"");
		for (size_t i = 0; i < n_x; i++)
			printf_out(&o, "%s%d,%d", i ? " " : "", left + (int)(step * (double)i),
				   base - (int)(s[k].points[i].value / max * ph));
		PUTS(&o, "\"/>");
		for (size_t i = 0; i < n_x; i++) {
			printf_out(&o, "<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"%s\"><title>", left + (int)(step * (double)i),
				   base - (int)(s[k].points[i].value / max * ph), colour);
			esc(&o, s[k].name);
			PUTS(&o, ", ");
			esc(&o, x[i]);
			PUTS(&o, ": ");
			esc(&o, s[k].points[i].text);
			PUTS(&o, "</title></circle>");
		}
		int ly = h - 18 * (int)(n_s - k) + 4;
		printf_out(&o, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" fill=\"%s\"/>"
			      "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#222\">", left, ly - 4, colour, left + 18, ly);
		esc(&o, s[k].name);
		PUTS(&o, "</text></g>");
	}
	PUTS(&o, "</svg>");
	return o.p;
}

char *rd_svg_funnel(const char *id, const char *title, const char *desc, const struct rd_svg_point *p, size_t n)
{
	struct out o = { 0 };
	int row = 40, w = 640, cx = 150, full = 280;
	head(&o, id, title, desc, w, (int)(n ? n : 1) * row + 8);
	double top = n && p[0].value > 0 ? p[0].value : 0;
	for (size_t i = 0; i < n; i++) {
		int y = (int)i * row + 4;
		int len = top > 0 && p[i].value > 0 ? (int)(p[i].value / top * full + 0.5) : 0;
		if (p[i].value > 0 && len < 2)
			len = 2;
		PUTS(&o, "<g><title>");
		esc(&o, p[i].label);
		PUTS(&o, ": ");
		esc(&o, p[i].text);
		printf_out(&o, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", cx - len / 2, y + 2,
			   len, row - 8, COLOURS[i % (sizeof COLOURS / sizeof *COLOURS)]);
		printf_out(&o, "<text x=\"%d\" y=\"%d\" font-size=\"13\" fill=\"#222\">", cx + full / 2 + 10, y + 24);
		esc(&o, p[i].label);
		PUTS(&o, ": ");
		esc(&o, p[i].text);
		PUTS(&o, "</text></g>");
	}
	PUTS(&o, "</svg>");
	return o.p;
}
