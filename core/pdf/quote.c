/*
 * quote.c: the quote PDF (see quote.h).  Layout on A4 portrait (points):
 * a header band in the reseller's primary colour over an accent stripe;
 * the quote's facts on the left and the customer's billing address on the
 * right; the table of lines; the totals; validity and terms; a footer with
 * the reseller's contact block and the page number on every page.  The
 * table continues on further pages when the lines do not fit.
 */
#include <hpdf.h>
#include <jansson.h>
#include <png.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "pdf/quote.h"
#include "plugin/host.h"
#include "store/store.h"
#include "util/err.h"

/* ---- text: UTF-8 to Windows-1252 ------------------------------------------------------ */

/* The characters Windows-1252 places in 0x80..0x9F. */
static const struct {
	uint16_t cp;
	uint8_t b;
} cp1252_high[] = {
	{ 0x20AC, 0x80 }, { 0x201A, 0x82 }, { 0x0192, 0x83 }, { 0x201E, 0x84 }, { 0x2026, 0x85 }, { 0x2020, 0x86 },
	{ 0x2021, 0x87 }, { 0x02C6, 0x88 }, { 0x2030, 0x89 }, { 0x0160, 0x8A }, { 0x2039, 0x8B }, { 0x0152, 0x8C },
	{ 0x017D, 0x8E }, { 0x2018, 0x91 }, { 0x2019, 0x92 }, { 0x201C, 0x93 }, { 0x201D, 0x94 }, { 0x2022, 0x95 },
	{ 0x2013, 0x96 }, { 0x2014, 0x97 }, { 0x02DC, 0x98 }, { 0x2122, 0x99 }, { 0x0161, 0x9A }, { 0x203A, 0x9B },
	{ 0x0153, 0x9C }, { 0x017E, 0x9E }, { 0x0178, 0x9F },
};

#define ELLIPSIS '\x85'

/* One code point from s (NUL-terminated); -1 for malformed UTF-8 (overlong,
 * surrogate, out of range, truncated).  *used: bytes consumed (>= 1). */
static long utf8_decode(const unsigned char *s, size_t *used)
{
	unsigned char c = s[0];
	int n;
	long cp, min;
	if (c < 0x80) {
		*used = 1;
		return c;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1, cp = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2, cp = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3, cp = c & 0x07, min = 0x10000;
	} else {
		*used = 1;
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) { /* also stops at the NUL */
			*used = (size_t)i;
			return -1;
		}
		cp = cp << 6 | (s[i] & 0x3F);
	}
	*used = (size_t)n + 1;
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	return cp;
}

size_t rd_quote_winansi(const char *utf8, char *out, size_t cap, bool keep_newlines)
{
	if (!cap)
		return 0;
	const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
	size_t o = 0;
	while (*s && o + 1 < cap) {
		size_t used;
		long cp = utf8_decode(s, &used);
		s += used;
		unsigned char b = '?';
		if (cp == '\n' && keep_newlines)
			b = '\n';
		else if (cp >= 0 && (cp < 0x20 || cp == 0x7F))
			b = ' ';
		else if ((cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp <= 0xFF))
			b = (unsigned char)cp;
		else
			for (size_t i = 0; i < sizeof cp1252_high / sizeof *cp1252_high; i++)
				if (cp1252_high[i].cp == cp)
					b = cp1252_high[i].b;
		out[o++] = (char)b;
	}
	out[o] = 0;
	return o;
}

/* A malloc'd Windows-1252 copy of s. */
static char *winansi(const char *s, bool keep_newlines)
{
	size_t cap = (s ? strlen(s) : 0) + 1; /* never longer than the UTF-8 */
	char *out = rd_malloc(cap);
	rd_quote_winansi(s, out, cap, keep_newlines);
	return out;
}

void rd_quote_filename(const char *number, char *out, size_t cap)
{
	char name[64];
	size_t n = 0;
	for (const char *p = number ? number : ""; *p && n + 1 < sizeof name; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		    *p == '_' || (*p == '.' && n > 0))
			name[n++] = *p;
	name[n] = 0;
	snprintf(out, cap, "%s.pdf", n ? name : "quote");
}

/* ---- loading --------------------------------------------------------------------------- */

static void payment_text(struct rd_plugins *plugins, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
			 const struct rd_opportunity *o, const char *seller, char *out, size_t cap)
{
	/* The plugins are found by the options they offer (the plugin ABI's
	 * words), never by their names. */
	struct rd_enablement *e = rd_malloc(sizeof *e);
	char po_name[64], bml_name[64];
	bool po = rd_plugins_offering(plugins, "purchase_order", po_name) &&
		  rd_enablement_find(t, d, v->id, po_name, o->reseller_id, e) == 0;
	bool bml = rd_plugins_offering(plugins, "bill_me_later", bml_name) &&
		   rd_enablement_find(t, d, v->id, bml_name, o->reseller_id, e) == 0;
	long long days = 30; /* the plugin's default terms */
	if (bml) {
		json_t *j = json_loads(e->config, 0, NULL);
		json_t *td = json_object_get(j, "terms_days");
		if (json_is_integer(td) && json_integer_value(td) >= 1 && json_integer_value(td) <= 120)
			days = json_integer_value(td);
		json_decref(j);
	}
	free(e);
	if (po && bml)
		snprintf(out, cap, "Payment: by purchase order (invoiced against your order) or Bill Me Later (the invoice "
			 "is due within %lld days), as you choose when you order.", days);
	else if (po)
		snprintf(out, cap, "Payment: by purchase order; you are invoiced against your order.");
	else if (bml)
		snprintf(out, cap, "Payment: Bill Me Later; the invoice is due within %lld days of your order.", days);
	else
		snprintf(out, cap, "Payment: as agreed with %s when you order.", seller);
}

int rd_quote_load(struct rd_plugins *plugins, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		  const struct rd_opportunity *o, struct rd_quote_doc *q)
{
	memset(q, 0, sizeof *q);
	q->v = *v;
	q->o = *o;
	int rc = rd_entity_get(t, d->customers, &rd_entity_customer, v->id, o->customer_id, &q->c);
	if (rc < 0)
		return rc;
	q->have_res = rd_entity_get(t, d->partners, &rd_entity_partner, v->id, o->reseller_id, &q->res) == 0;
	struct rd_contract k;
	if (rd_entity_get(t, d->contracts, &rd_entity_contract, v->id, o->contract_id, &k) == 0)
		q->term = k.term;
	payment_text(plugins, t, d, v, o, q->have_res ? q->res.name : v->name, q->payment, sizeof q->payment);
	/* An ordered quote prints what was ordered: the live order's frozen lines
	 * and discount (services/orders.h), never the quote's lines as they
	 * stand now. */
	uint8_t okey[8];
	uint64_t id;
	rd_key_put_u64(okey, o->id);
	if (rd_index_find(t, d->orders, "live", v->id, okey, 8, &id) == 0) {
		struct rd_order *n = rd_malloc(sizeof *n);
		if (rd_entity_get(t, d->orders, &rd_entity_order, v->id, id, n) == 0 && n->n_lines) {
			memcpy(q->o.lines, n->lines, n->n_lines * sizeof *n->lines);
			q->o.n_lines = n->n_lines;
			q->o.discount_bp = n->discount_bp;
		}
		free(n);
	}
	return 0;
}

/* ---- drawing --------------------------------------------------------------------------- */

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define MARGIN 48.0f
#define BAND 92.0f
#define FOOT_LINE (MARGIN + 50.0f)   /* the footer's rule */
#define CONTENT_BOTTOM (FOOT_LINE + 14.0f)
#define MAX_PAGES 16
#define MAX_WRAP 12

struct rgb {
	float r, g, b;
};

struct span {
	const char *p;
	size_t n;
	bool more; /* text was cut after this line */
};

struct pdf {
	HPDF_Doc doc;
	HPDF_Font font[2];      /* regular, bold */
	float width[2][256];    /* glyph widths, 1/1000 em, by Windows-1252 byte */
	HPDF_Page pages[MAX_PAGES];
	int n_pages;
	HPDF_Page page;
	float y;                /* the next free baseline area, from the top down */
	struct rgb primary, accent, on_primary;
	const struct rd_quote_doc *q;
	char *brand;            /* the reseller's (or vendor's) name, Windows-1252 */
	HPDF_Image logo;
	float logo_w, logo_h;
	/* the first libharu error, from the error handler */
	bool failed;
	HPDF_STATUS error_no, detail_no;
};

static void HPDF_STDCALL on_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *arg)
{
	struct pdf *p = arg;
	if (!p->failed) {
		p->failed = true;
		p->error_no = error_no;
		p->detail_no = detail_no;
	}
}

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "#rrggbb" or "#rgb"; anything else: the fallback. */
static struct rgb colour(const char *s, const char *fallback)
{
	int v[6];
	size_t n = s ? strlen(s) : 0;
	if (s && s[0] == '#' && (n == 7 || n == 4)) {
		bool ok = true;
		for (size_t i = 1; i < n; i++)
			ok &= (v[i - 1] = hexdigit(s[i])) >= 0;
		if (ok && n == 7)
			return (struct rgb){ (v[0] * 16 + v[1]) / 255.0f, (v[2] * 16 + v[3]) / 255.0f, (v[4] * 16 + v[5]) / 255.0f };
		if (ok)
			return (struct rgb){ v[0] * 17 / 255.0f, v[1] * 17 / 255.0f, v[2] * 17 / 255.0f };
	}
	return fallback ? colour(fallback, NULL) : (struct rgb){ 0, 0, 0 };
}

static const struct rgb INK = { 0.11f, 0.11f, 0.11f }, GREY = { 0.38f, 0.38f, 0.38f }, RULE = { 0.82f, 0.82f, 0.82f },
			WHITE = { 1, 1, 1 };

static void fill(struct pdf *p, struct rgb c)
{
	HPDF_Page_SetRGBFill(p->page, c.r, c.g, c.b);
}

static void rect(struct pdf *p, float x, float y, float w, float h, struct rgb c)
{
	fill(p, c);
	HPDF_Page_Rectangle(p->page, x, y, w, h);
	HPDF_Page_Fill(p->page);
}

static void rule(struct pdf *p, float x0, float x1, float y, float width, struct rgb c)
{
	HPDF_Page_SetRGBStroke(p->page, c.r, c.g, c.b);
	HPDF_Page_SetLineWidth(p->page, width);
	HPDF_Page_MoveTo(p->page, x0, y);
	HPDF_Page_LineTo(p->page, x1, y);
	HPDF_Page_Stroke(p->page);
}

static float text_width(const struct pdf *p, int bold, float size, const char *s, size_t n)
{
	float w = 0;
	for (size_t i = 0; i < n; i++)
		w += p->width[bold][(unsigned char)s[i]];
	return w * size / 1000.0f;
}

/* Draws n bytes of Windows-1252 text (plus an ellipsis when cut) at x, or
 * ending at x when right-aligned. */
static void draw(struct pdf *p, int bold, float size, float x, float y, const char *s, size_t n, bool cut, bool right,
		 struct rgb c)
{
	char buf[512];
	if (n > sizeof buf - 2)
		n = sizeof buf - 2;
	memcpy(buf, s, n);
	if (cut)
		buf[n++] = ELLIPSIS;
	buf[n] = 0;
	if (right)
		x -= text_width(p, bold, size, buf, n);
	fill(p, c);
	HPDF_Page_BeginText(p->page);
	HPDF_Page_SetFontAndSize(p->page, p->font[bold], size);
	HPDF_Page_TextOut(p->page, x, y, buf);
	HPDF_Page_EndText(p->page);
}

static void draw_str(struct pdf *p, int bold, float size, float x, float y, const char *s, bool right, struct rgb c)
{
	draw(p, bold, size, x, y, s, strlen(s), false, right, c);
}

/* Breaks Windows-1252 text into at most max lines of at most maxw points:
 * at spaces where it can, inside a word longer than a line, at '\n' always.
 * The last line is marked when text was left over. */
static int wrap(const struct pdf *p, int bold, float size, const char *s, float maxw, int max, struct span *out)
{
	int n = 0;
	const char *q = s;
	const float *w = p->width[bold];
	while (n < max) {
		while (*q == ' ')
			q++;
		if (!*q)
			break;
		float acc = 0;
		size_t i = 0, brk = 0;
		while (q[i] && q[i] != '\n') {
			float cw = w[(unsigned char)q[i]] * size / 1000.0f;
			if (acc + cw > maxw)
				break;
			acc += cw;
			if (q[i] == ' ')
				brk = i;
			i++;
		}
		size_t len;
		const char *next;
		if (!q[i] || q[i] == '\n') {
			len = i;
			next = q[i] ? q + i + 1 : q + i;
		} else if (brk > 0) {
			len = brk;
			next = q + brk + 1;
		} else {
			len = i ? i : 1; /* a word wider than the line: cut it */
			next = q + len;
		}
		while (len && q[len - 1] == ' ')
			len--;
		out[n++] = (struct span){ q, len, false };
		q = next;
	}
	while (*q == ' ' || *q == '\n')
		q++;
	if (*q && n)
		out[n - 1].more = true;
	return n;
}

/* Draws wrapped lines from baseline y down; the ellipsis of a cut last line
 * fits within maxw.  Returns the baseline after the last line. */
static float draw_lines(struct pdf *p, int bold, float size, float x, float y, float maxw, float leading,
			struct span *l, int n, bool right, struct rgb c)
{
	for (int i = 0; i < n; i++) {
		size_t len = l[i].n;
		if (l[i].more) {
			float ell = text_width(p, bold, size, "\x85", 1);
			while (len && text_width(p, bold, size, l[i].p, len) + ell > maxw)
				len--;
		}
		draw(p, bold, size, x, y, l[i].p, len, l[i].more, right, c);
		y -= leading;
	}
	return y;
}

/* Wraps and draws UTF-8 text; returns the baseline after it. */
static float paragraph(struct pdf *p, int bold, float size, float x, float y, float maxw, float leading, int max_lines,
		       const char *utf8, struct rgb c)
{
	struct span l[MAX_WRAP];
	char *s = winansi(utf8, true);
	int n = wrap(p, bold, size, s, maxw, max_lines < MAX_WRAP ? max_lines : MAX_WRAP, l);
	y = draw_lines(p, bold, size, x, y, maxw, leading, l, n, false, c);
	free(s);
	return y;
}

/* How many lines the text takes (for a row's height before drawing it). */
static int line_count(const struct pdf *p, int bold, float size, float maxw, int max_lines, const char *utf8)
{
	struct span l[MAX_WRAP];
	char *s = winansi(utf8, true);
	int n = wrap(p, bold, size, s, maxw, max_lines < MAX_WRAP ? max_lines : MAX_WRAP, l);
	free(s);
	return n;
}

/* ---- the logo: a data: URL holding a PNG ------------------------------------------------ */

/* Decodes the PNG with libpng's simplified API (which reports errors as a
 * return value: libharu's own PNG reader lets libpng abort the process on
 * a malformed image), composed over the band's colour, and hands libharu
 * the raw RGB pixels. */
static void load_logo(struct pdf *p, const char *url)
{
	static const char prefix[] = "data:image/png;base64,";
	if (strncmp(url, prefix, sizeof prefix - 1) != 0)
		return; /* a remote logo cannot be fetched while rendering: the name stands alone */
	const char *b64 = url + sizeof prefix - 1;
	size_t b64len = strlen(b64), cap = b64len / 4 * 3 + 3, len = 0;
	unsigned char *bin = rd_malloc(cap);
	png_image img;
	memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	unsigned char *px = NULL;
	if (sodium_base642bin(bin, cap, b64, b64len, " \r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || !len ||
	    !png_image_begin_read_from_memory(&img, bin, len))
		goto out;
	if (img.width < 1 || img.height < 1 || img.width > 1024 || img.height > 1024) {
		png_image_free(&img);
		goto out;
	}
	img.format = PNG_FORMAT_RGB;
	png_color bg = { (png_byte)(p->primary.r * 255 + 0.5f), (png_byte)(p->primary.g * 255 + 0.5f),
			 (png_byte)(p->primary.b * 255 + 0.5f) };
	px = rd_malloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, &bg, px, 0, NULL)) {
		png_image_free(&img);
		goto out;
	}
	p->logo = HPDF_LoadRawImageFromMem(p->doc, px, img.width, img.height, HPDF_CS_DEVICE_RGB, 8);
	if (p->logo) {
		float h = 44, w = h * (float)img.width / (float)img.height;
		if (w > 140) { /* a wide logo: bounded by width */
			w = 140;
			h = w * (float)img.height / (float)img.width;
		}
		p->logo_w = w;
		p->logo_h = h;
	}
out:
	free(px);
	free(bin);
}

/* ---- pages ------------------------------------------------------------------------------ */

static void table_head(struct pdf *p);

struct cols {
	float desc_x, desc_w, seats_r, unit_r, amount_r;
};

static const struct cols COLS = {
	.desc_x = MARGIN,
	.desc_w = PAGE_W - 2 * MARGIN - 240 - 8,
	.seats_r = PAGE_W - MARGIN - 190,
	.unit_r = PAGE_W - MARGIN - 95,
	.amount_r = PAGE_W - MARGIN,
};

static bool new_page(struct pdf *p)
{
	if (p->n_pages == MAX_PAGES)
		return false;
	p->page = HPDF_AddPage(p->doc);
	if (!p->page)
		return false;
	p->pages[p->n_pages++] = p->page;
	HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	const struct rd_quote_doc *q = p->q;
	if (p->n_pages == 1) {
		/* the band: logo and name on the left, QUOTE and the number on the right */
		rect(p, 0, PAGE_H - BAND, PAGE_W, BAND, p->primary);
		rect(p, 0, PAGE_H - BAND - 4, PAGE_W, 4, p->accent);
		float x = MARGIN;
		if (p->logo) {
			HPDF_Page_DrawImage(p->page, p->logo, x, PAGE_H - BAND / 2 - p->logo_h / 2, p->logo_w, p->logo_h);
			x += p->logo_w + 12;
		}
		float maxw = PAGE_W - MARGIN - 170 - x;
		struct span l[2];
		int n = wrap(p, 1, 20, p->brand, maxw, 1, l);
		if (n == 1 && !l[0].more) {
			draw_lines(p, 1, 20, x, PAGE_H - BAND / 2 - 7, maxw, 22, l, n, false, p->on_primary);
		} else {
			n = wrap(p, 1, 13, p->brand, maxw, 2, l);
			draw_lines(p, 1, 13, x, PAGE_H - BAND / 2 + (n > 1 ? 3 : -4), maxw, 15, l, n, false, p->on_primary);
		}
		draw_str(p, 1, 22, PAGE_W - MARGIN, PAGE_H - 44, "QUOTE", true, p->on_primary);
		char *num = winansi(q->o.number, false);
		draw_str(p, 0, 11, PAGE_W - MARGIN, PAGE_H - 62, num, true, p->on_primary);
		free(num);
		p->y = PAGE_H - BAND - 4 - 28;
	} else {
		/* continuation: a slim band */
		rect(p, 0, PAGE_H - 40, PAGE_W, 40, p->primary);
		struct span l[1];
		int n = wrap(p, 1, 12, p->brand, PAGE_W - 2 * MARGIN - 200, 1, l);
		draw_lines(p, 1, 12, MARGIN, PAGE_H - 25, PAGE_W - 2 * MARGIN - 200, 14, l, n, false, p->on_primary);
		char *num = winansi(q->o.number, false);
		char line[96];
		snprintf(line, sizeof line, "Quote %s (continued)", num);
		free(num);
		draw_str(p, 0, 10, PAGE_W - MARGIN, PAGE_H - 25, line, true, p->on_primary);
		p->y = PAGE_H - 40 - 28;
	}
	return true;
}

/* Makes room for h points, on a new page if need be (repeating the table's
 * head when in the table).  False when the page limit is reached. */
static bool room(struct pdf *p, float h, bool in_table)
{
	if (p->y - h >= CONTENT_BOTTOM)
		return true;
	if (!new_page(p))
		return false;
	if (in_table)
		table_head(p);
	return true;
}

static void table_head(struct pdf *p)
{
	const float h = 20;
	rect(p, MARGIN, p->y - h, PAGE_W - 2 * MARGIN, h, p->primary);
	float base = p->y - 14;
	draw_str(p, 1, 9, COLS.desc_x + 6, base, "Description", false, p->on_primary);
	draw_str(p, 1, 9, COLS.seats_r - 6, base, "Seats", true, p->on_primary);
	draw_str(p, 1, 9, COLS.unit_r - 6, base, "Unit price", true, p->on_primary);
	draw_str(p, 1, 9, COLS.amount_r - 6, base, "Amount", true, p->on_primary);
	p->y -= h;
}

static void footers(struct pdf *p)
{
	const struct rd_quote_doc *q = p->q;
	char block[600];
	if (q->have_res && q->res.contact_block[0])
		snprintf(block, sizeof block, "%s", q->res.contact_block);
	else if (q->have_res)
		snprintf(block, sizeof block, "%s%s%s%s%s", q->res.name, q->res.phone[0] ? ", " : "", q->res.phone,
			 q->res.email[0] ? ", " : "", q->res.email);
	else
		snprintf(block, sizeof block, "%s%s%s", q->v.name, q->v.notify_email[0] ? ", " : "", q->v.notify_email);
	char *num = winansi(q->o.number, false);
	for (int i = 0; i < p->n_pages; i++) {
		p->page = p->pages[i];
		rule(p, MARGIN, PAGE_W - MARGIN, FOOT_LINE, 1.5f, p->accent);
		paragraph(p, 0, 8, MARGIN, FOOT_LINE - 12, PAGE_W - 2 * MARGIN - 130, 10, 4, block, GREY);
		char pg[128];
		snprintf(pg, sizeof pg, "%s  |  page %d of %d", num, i + 1, p->n_pages);
		draw_str(p, 0, 8, PAGE_W - MARGIN, FOOT_LINE - 12, pg, true, GREY);
	}
	free(num);
}

/* ---- the quote ------------------------------------------------------------------------ */

static void money(int64_t amount, const char *currency, char *out, size_t cap)
{
	char s[64];
	rd_money_format(amount, currency, s, sizeof s);
	rd_quote_winansi(s, out, cap, false);
}

static void date_text(rd_date d, char out[11])
{
	if (d)
		rd_date_format(d, out);
	else
		snprintf(out, 11, "-");
}

/* Facts on the left, the billing address on the right. */
static void facts(struct pdf *p)
{
	const struct rd_quote_doc *q = p->q;
	char created[11], valid[11], ends[11];
	date_text(q->o.created_at ? (rd_date)(q->o.created_at / 86400) : 0, created);
	date_text(q->o.valid_until, valid);
	date_text(q->o.contract_end, ends);
	char *num = winansi(q->o.number[0] ? q->o.number : "-", false), *cur = winansi(q->o.currency, false);
	const char *labels[] = { "Quote number", "Date", "Valid until", "Current term ends", "Currency" };
	const char *values[] = { num, created, valid, ends, cur };
	float y = p->y;
	for (int i = 0; i < 5; i++) {
		draw_str(p, 0, 9, MARGIN, y, labels[i], false, GREY);
		draw_str(p, i == 0 || i == 2, 10, MARGIN + 95, y, values[i], false, INK);
		y -= 15;
	}
	free(num);
	free(cur);
	float x = PAGE_W / 2 + 20, w = PAGE_W - MARGIN - x, ry = p->y;
	draw_str(p, 0, 9, x, ry, "Bill to", false, GREY);
	ry -= 15;
	ry = paragraph(p, 1, 11, x, ry, w, 13, 3, q->c.name[0] ? q->c.name : "-", INK);
	const char *addr[] = { q->c.address_line1, q->c.address_line2, q->c.city, q->c.region, q->c.postcode, q->c.country };
	for (size_t i = 0; i < sizeof addr / sizeof *addr; i++)
		if (addr[i][0])
			ry = paragraph(p, 0, 10, x, ry, w, 12.5f, 2, addr[i], INK);
	p->y = (y < ry ? y : ry) - 14;
}

/* One row of the table; false when out of pages. */
static bool row(struct pdf *p, const char *desc, const char *seats, const char *unit, const char *amount)
{
	const float size = 10, leading = 13;
	int n = line_count(p, 0, size, COLS.desc_w - 12, 3, desc);
	float h = (float)(n ? n : 1) * leading + 9;
	if (!room(p, h, true))
		return false;
	float base = p->y - 14;
	paragraph(p, 0, size, COLS.desc_x + 6, base, COLS.desc_w - 12, leading, 3, desc, INK);
	draw_str(p, 0, size, COLS.seats_r - 6, base, seats, true, INK);
	draw_str(p, 0, size, COLS.unit_r - 6, base, unit, true, INK);
	draw_str(p, 0, size, COLS.amount_r - 6, base, amount, true, INK);
	p->y -= h;
	rule(p, MARGIN, PAGE_W - MARGIN, p->y, 0.5f, RULE);
	return true;
}

/* A totals line, right-aligned under the table. */
static bool total_line(struct pdf *p, const char *label, const char *value, int bold, float size)
{
	if (!room(p, size + 8, false))
		return false;
	float base = p->y - size - 4;
	draw_str(p, bold, size, COLS.unit_r - 6, base, label, true, INK);
	draw_str(p, bold, size, COLS.amount_r - 6, base, value, true, INK);
	p->y -= size + 8;
	return true;
}

static void terms_text(const struct rd_quote_doc *q, char *out, size_t cap)
{
	char from[11], to[11], valid[11], term[160];
	rd_date start = q->o.contract_end + 1;
	rd_date_format(start, from);
	date_text(q->o.valid_until, valid);
	int months = q->term == RD_TERM_ANNUAL ? 12 : q->term == RD_TERM_QUARTERLY ? 3 : q->term == RD_TERM_MONTHLY ? 1 : 0;
	if (months) {
		rd_date_format(rd_date_add_months(start, months) - 1, to);
		snprintf(term, sizeof term, "Renewal term: %d month%s, from %s to %s.", months, months > 1 ? "s" : "", from, to);
	} else if (q->term == RD_TERM_FLEX) {
		snprintf(term, sizeof term, "Renewal term: flexible, from %s.", from);
	} else {
		snprintf(term, sizeof term, "The renewal starts on %s.", from);
	}
	const char *seller = q->have_res ? q->res.name : q->v.name;
	char partner_note[200] = "";
	if (q->o.state == RD_OPP_PUBLISHED_PARTNER)
		snprintf(partner_note, sizeof partner_note, " The prices shown are list prices: %s confirms your price.", seller);
	snprintf(out, cap, "%s Prices are per seat for the term%s%s.%s %s This quote is valid until %s.", term,
		 q->o.currency[0] ? ", in " : "", q->o.currency, partner_note, q->payment, valid);
}

static int build(struct pdf *p)
{
	const struct rd_quote_doc *q = p->q;
	if (!new_page(p))
		return RD_EINTERNAL;
	facts(p);
	table_head(p);
	/* the lines charged (domain/quote.h): the renewal, or the up-sell chosen
	 * in its place, then the cross-sells chosen */
	struct rd_quote_sum sum;
	if (rd_quote_total(q->o.lines, q->o.n_lines, q->o.discount_bp, &sum) < 0)
		return RD_ERANGE; /* the engine flags such a quote for attention: never printed wrapped */
	bool upsell = rd_quote_upsell_chosen(q->o.lines, q->o.n_lines);
	for (uint8_t i = 0; i < q->o.n_lines; i++) {
		const struct rd_quote_line *l = &q->o.lines[i];
		if (!rd_quote_line_charged(l, upsell))
			continue;
		const char *d = l->description[0] ? l->description : l->sku;
		char desc[600], seats[32], unit[64], amount[64];
		snprintf(desc, sizeof desc, "%s%s", !l->optional ? "" : l->kind == RD_LINE_UPSELL ? "Upgrade: " : "Add: ",
			 *d ? d : "Item");
		snprintf(seats, sizeof seats, "%u", l->quantity);
		money(l->unit_list, q->o.currency, unit, sizeof unit);
		money(l->list, q->o.currency, amount, sizeof amount);
		if (!row(p, desc, seats, unit, amount))
			return RD_EINTERNAL; /* cannot happen: at most RD_QUOTE_MAX_LINES lines */
	}
	/* totals, net of the sales person's discount */
	char s[64], label[48];
	p->y -= 4;
	int64_t subtotal = sum.subtotal, total = sum.total;
	if (q->o.discount_bp) {
		money(subtotal, q->o.currency, s, sizeof s);
		total_line(p, "Subtotal", s, 0, 10);
		uint32_t bp = q->o.discount_bp > 10000 ? 10000 : q->o.discount_bp;
		char pct[32];
		rd_bp_format(bp, pct, sizeof pct);
		snprintf(label, sizeof label, "Discount (%s)", pct);
		int64_t off;
		if (__builtin_sub_overflow(total, subtotal, &off))
			off = INT64_MAX;
		money(off, q->o.currency, s, sizeof s);
		total_line(p, label, s, 0, 10);
	}
	money(total, q->o.currency, s, sizeof s);
	if (!room(p, 24, false))
		return RD_EINTERNAL;
	rule(p, COLS.unit_r - 150, PAGE_W - MARGIN, p->y - 2, 1, INK);
	p->y -= 4;
	total_line(p, "Total", s, 1, 12);
	/* validity and terms */
	char valid[11], text[1400];
	date_text(q->o.valid_until, valid);
	if (!room(p, 40, false))
		return RD_EINTERNAL;
	p->y -= 16;
	snprintf(text, sizeof text, "Valid until %s", valid);
	draw_str(p, 1, 11, MARGIN, p->y, text, false, INK);
	p->y -= 24;
	terms_text(q, text, sizeof text);
	int n = line_count(p, 0, 9, PAGE_W - 2 * MARGIN, 10, text);
	if (!room(p, 16 + 12.0f * (float)n, false))
		return RD_EINTERNAL;
	draw_str(p, 1, 11, MARGIN, p->y, "Terms", false, INK);
	p->y = paragraph(p, 0, 9, MARGIN, p->y - 15, PAGE_W - 2 * MARGIN, 12, 10, text, INK);
	footers(p);
	return 0;
}

int rd_quote_render(const struct rd_quote_doc *q, void **out, size_t *out_len, char *err, size_t errlen)
{
	struct pdf *p = rd_calloc(1, sizeof *p);
	p->q = q;
	*out = NULL;
	*out_len = 0;
	int rc = RD_EINTERNAL;
	p->doc = HPDF_New(on_error, p); /* the handler: HPDF_SetErrorHandler's, from the start */
	if (!p->doc) {
		snprintf(err, errlen, "the PDF library could not start");
		free(p);
		return RD_EINTERNAL;
	}
	HPDF_SetCompressionMode(p->doc, HPDF_COMP_ALL);
	p->font[0] = HPDF_GetFont(p->doc, "Helvetica", "WinAnsiEncoding");
	p->font[1] = HPDF_GetFont(p->doc, "Helvetica-Bold", "WinAnsiEncoding");
	if (p->failed || !p->font[0] || !p->font[1])
		goto out;
	for (int f = 0; f < 2; f++)
		for (int b = 1; b < 256; b++) {
			HPDF_BYTE c = (HPDF_BYTE)b;
			p->width[f][b] = (float)HPDF_Font_TextWidth(p->font[f], &c, 1).width;
		}
	const struct rd_partner *res = q->have_res ? &q->res : NULL;
	p->primary = colour(res ? res->colour_primary : NULL, "#1f3a5f"); /* the e-mails' and pages' defaults */
	p->accent = colour(res ? res->colour_accent : NULL, "#f2a900");
	float lum = 0.2126f * p->primary.r + 0.7152f * p->primary.g + 0.0722f * p->primary.b;
	p->on_primary = lum > 0.6f ? INK : WHITE;
	p->brand = winansi(res ? res->name : q->v.name, false);
	if (res && res->logo_url[0])
		load_logo(p, res->logo_url);
	if (p->failed) { /* a logo libharu refused: draw the name alone */
		HPDF_ResetError(p->doc);
		p->failed = false;
		p->logo = NULL;
	}
	char title[96];
	snprintf(title, sizeof title, "Quote %s", q->o.number);
	HPDF_SetInfoAttr(p->doc, HPDF_INFO_TITLE, title);
	HPDF_SetInfoAttr(p->doc, HPDF_INFO_CREATOR, "renewd");
	int built = build(p);
	if (built == RD_ERANGE) {
		snprintf(err, errlen, "the quote's lines add up to more than the largest amount renewd holds");
		rc = RD_ERANGE;
		goto out_quiet;
	}
	if (built < 0 && !p->failed) {
		snprintf(err, errlen, "the quote does not fit in %d pages", MAX_PAGES);
		goto out_quiet;
	}
	if (!p->failed && HPDF_SaveToStream(p->doc) == HPDF_OK && !p->failed) {
		HPDF_UINT32 size = HPDF_GetStreamSize(p->doc);
		unsigned char *buf = size ? rd_malloc(size) : NULL;
		HPDF_UINT32 got = size;
		if (buf && HPDF_ReadFromStream(p->doc, buf, &got) != HPDF_FAILD_TO_ALLOC_MEM && !p->failed && got == size) {
			*out = buf;
			*out_len = size;
			rc = 0;
		} else {
			free(buf);
		}
	}
out:
	if (rc < 0)
		snprintf(err, errlen, "the PDF library failed (error 0x%04X, detail %u)", (unsigned)p->error_no,
			 (unsigned)p->detail_no);
out_quiet:
	HPDF_Free(p->doc);
	free(p->brand);
	free(p);
	return rc;
}

int rd_quote_pdf(struct rd_plugins *plugins, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		 const struct rd_opportunity *o, void **pdf, size_t *len, char *err, size_t errlen)
{
	struct rd_quote_doc *q = rd_malloc(sizeof *q);
	int rc = rd_quote_load(plugins, t, d, v, o, q);
	if (rc < 0)
		snprintf(err, errlen, "the quote's customer could not be read");
	else
		rc = rd_quote_render(q, pdf, len, err, errlen);
	free(q);
	return rc;
}
