/* statement.c: a partner's monthly commission statement as CSV and PDF. */
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "pdf/page.h"
#include "pdf/quote.h"
#include "pdf/statement.h"
#include "store/store.h"
#include "util/err.h"

static void add_total(struct rd_statement_doc *doc, const char *currency, int64_t amount)
{
	size_t i = 0;
	while (i < doc->n_totals && strcmp(doc->totals[i].currency, currency))
		i++;
	if (i == doc->n_totals) {
		if (i == RD_STATEMENT_CURRENCIES)
			return;
		snprintf(doc->totals[i].currency, sizeof doc->totals[i].currency, "%s", currency);
		doc->n_totals++;
	}
	doc->totals[i].amount += amount;
	doc->totals[i].lines++;
}

int rd_statement_collect(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner, const char *month,
			 struct rd_statement_doc **out)
{
	struct rd_statement_doc *doc = rd_calloc(1, sizeof *doc);
	uint8_t key[8 + 8];
	rd_key_put_u64(key, partner);
	size_t mlen = strlen(month);
	if (mlen > 7)
		mlen = 7;
	memcpy(key + 8, month, mlen);
	key[8 + mlen] = 0;
	size_t cap = 0;
	struct rd_commission c;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, d->commissions, "partner", vendor, key, 9 + mlen, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 9 + mlen || memcmp(item.key, key, 9 + mlen))
			break; /* past the partner's month */
		if ((rc = rd_entity_decode(&rd_entity_commission, item.val, item.len, &c)) < 0)
			break;
		if (c.kind != RD_COMMISSION_EARNED && c.kind != RD_COMMISSION_REVERSAL)
			continue; /* retained margin is reporting only */
		if (doc->n == cap)
			doc->lines = rd_realloc(doc->lines, (cap = cap ? cap * 2 : 16) * sizeof *doc->lines);
		struct rd_statement_line *l = &doc->lines[doc->n++];
		memset(l, 0, sizeof *l);
		snprintf(l->order_number, sizeof l->order_number, "%s", c.order_number);
		snprintf(l->party, sizeof l->party, "%s", c.party);
		snprintf(l->kind, sizeof l->kind, "%s", c.kind == RD_COMMISSION_REVERSAL ? "reversal" : "earned");
		rd_date_format((rd_date)(c.created_at / 86400), l->paid_on);
		l->bp = c.bp;
		l->amount = c.amount;
		memcpy(l->currency, c.currency, sizeof l->currency);
		add_total(doc, c.currency, c.amount);
	}
	rd_iter_close(&it);
	if (rc < 0) {
		rd_statement_doc_free(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

int rd_statement_load(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_statement *st,
		      struct rd_statement_doc **out)
{
	struct rd_statement_doc *doc;
	int rc = rd_statement_collect(t, d, vendor, st->partner_id, st->month, &doc);
	if (rc < 0)
		return rc;
	doc->st = *st;
	struct rd_vendor v;
	if (rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vendor, &v) == 0)
		snprintf(doc->vendor_name, sizeof doc->vendor_name, "%s", v.name);
	if ((rc = rd_entity_get(t, d->partners, &rd_entity_partner, vendor, st->partner_id, &doc->partner)) < 0 &&
	    rc != RD_ENOTFOUND) {
		rd_statement_doc_free(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

void rd_statement_doc_free(struct rd_statement_doc *doc)
{
	if (doc) {
		free(doc->lines);
		free(doc);
	}
}

void rd_statement_totals_json(const struct rd_statement_doc *doc, char *out, size_t cap)
{
	json_t *a = json_array();
	for (size_t i = 0; i < doc->n_totals; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:i}", "currency", doc->totals[i].currency, "amount",
						   (json_int_t)doc->totals[i].amount, "lines", (int)doc->totals[i].lines));
	char *text = json_dumps(a, JSON_COMPACT);
	snprintf(out, cap, "%s", text && strlen(text) < cap ? text : "[]");
	free(text);
	json_decref(a);
}

/* A CSV cell: quoted when it holds a comma, quote or line end; a leading
 * =, +, - or @ is neutralised (spreadsheet formulas). */
static void cell(char **buf, size_t *len, size_t *cap, const char *s, bool last)
{
	size_t need = *len + 2 * strlen(s) + 8;
	if (need > *cap)
		*buf = rd_realloc(*buf, *cap = need * 2);
	char *p = *buf + *len;
	bool quote = strpbrk(s, ",\"\r\n") != NULL || (*s && strchr("=+@", *s));
	if (quote)
		*p++ = '"';
	if (*s && strchr("=+@", *s))
		*p++ = '\'';
	for (; *s; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	if (quote)
		*p++ = '"';
	if (last) {
		*p++ = '\r';
		*p++ = '\n';
	} else {
		*p++ = ',';
	}
	*p = 0;
	*len = (size_t)(p - *buf);
}

char *rd_statement_csv(const struct rd_statement_doc *doc, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;
	static const char *const head[] = { "row", "order", "paid_on", "party", "kind", "bp", "currency", "amount" };
	for (size_t i = 0; i < 8; i++)
		cell(&buf, &n, &cap, head[i], i == 7);
	for (size_t i = 0; i < doc->n; i++) {
		const struct rd_statement_line *l = &doc->lines[i];
		char bp[16], amount[32];
		snprintf(bp, sizeof bp, "%u", l->bp);
		rd_money_decimal(l->amount, l->currency, amount, sizeof amount);
		const char *row[] = { "line", l->order_number, l->paid_on, l->party, l->kind, bp, l->currency, amount };
		for (size_t k = 0; k < 8; k++)
			cell(&buf, &n, &cap, row[k], k == 7);
	}
	for (size_t i = 0; i < doc->n_totals; i++) {
		char amount[32];
		rd_money_decimal(doc->totals[i].amount, doc->totals[i].currency, amount, sizeof amount);
		const char *row[] = { "total", "", "", "", "", "", doc->totals[i].currency, amount };
		for (size_t k = 0; k < 8; k++)
			cell(&buf, &n, &cap, row[k], k == 7);
	}
	*len = n;
	return buf;
}

void rd_statement_filename(const struct rd_statement *st, const char *ext, char *out, size_t cap)
{
	char month[8] = "";
	size_t k = 0;
	for (const char *s = st->month; *s && k < sizeof month - 1; s++)
		if ((*s >= '0' && *s <= '9') || *s == '-')
			month[k++] = *s;
	month[k] = 0;
	snprintf(out, cap, "statement-%s.%s", month[0] ? month : "unknown", ext);
}

/* ---- the PDF ------------------------------------------------------------------------------- */

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define MARGIN 50.0f
#define BOTTOM 70.0f
#define MAX_PAGES 200

struct spdf {
	struct rd_pdf h;
	const struct rd_statement_doc *d;
};

static const float COL_ORDER = MARGIN, COL_DATE = MARGIN + 120, COL_PARTY = MARGIN + 200, COL_KIND = MARGIN + 280,
		   COL_BP_R = MARGIN + 400, COL_AMOUNT_R = PAGE_W - MARGIN;

static void head_row(struct spdf *p)
{
	HPDF_Page_SetRGBFill(p->h.page, 0.11f, 0.11f, 0.11f);
	rd_pdf_text(&p->h, true, 9, COL_ORDER, p->h.y, "Order", false, 0);
	rd_pdf_text(&p->h, true, 9, COL_DATE, p->h.y, "Paid on", false, 0);
	rd_pdf_text(&p->h, true, 9, COL_PARTY, p->h.y, "Share", false, 0);
	rd_pdf_text(&p->h, true, 9, COL_KIND, p->h.y, "Kind", false, 0);
	rd_pdf_text(&p->h, true, 9, COL_BP_R, p->h.y, "Rate", true, 0);
	rd_pdf_text(&p->h, true, 9, COL_AMOUNT_R, p->h.y, "Amount", true, 0);
	p->h.y -= 6;
	rd_pdf_rule(&p->h, MARGIN, PAGE_W - MARGIN);
	p->h.y -= 14;
}

static bool new_page(struct spdf *p)
{
	if (p->h.pages == MAX_PAGES)
		return false;
	p->h.page = HPDF_AddPage(p->h.doc);
	if (!p->h.page)
		return false;
	p->h.pages++;
	HPDF_Page_SetSize(p->h.page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	const struct rd_statement_doc *d = p->d;
	char line[300];
	p->h.y = PAGE_H - MARGIN - 10;
	if (p->h.pages == 1) {
		rd_pdf_text(&p->h, true, 18, MARGIN, p->h.y, "Commission statement", false, 0);
		rd_pdf_text(&p->h, false, 10, PAGE_W - MARGIN, p->h.y, d->st.number, true, 0);
		p->h.y -= 24;
		rd_pdf_text(&p->h, true, 11, MARGIN, p->h.y, d->partner.name[0] ? d->partner.name : "Partner", false, PAGE_W - 2 * MARGIN);
		p->h.y -= 15;
		snprintf(line, sizeof line, "Month: %s    Issued by: %s", d->st.month, d->vendor_name);
		rd_pdf_text(&p->h, false, 10, MARGIN, p->h.y, line, false, PAGE_W - 2 * MARGIN);
		p->h.y -= 26;
	} else {
		snprintf(line, sizeof line, "Commission statement %s (continued)", d->st.number);
		rd_pdf_text(&p->h, false, 10, MARGIN, p->h.y, line, false, 0);
		p->h.y -= 24;
	}
	snprintf(line, sizeof line, "page %d", p->h.pages);
	rd_pdf_text(&p->h, false, 8, PAGE_W - MARGIN, 40, line, true, 0);
	head_row(p);
	return true;
}

static bool room(struct spdf *p, float h)
{
	return p->h.y - h >= BOTTOM || new_page(p);
}

static int build(struct spdf *p)
{
	const struct rd_statement_doc *d = p->d;
	if (!new_page(p))
		return -1;
	char s[64], bp[24];
	for (size_t i = 0; i < d->n; i++) {
		const struct rd_statement_line *l = &d->lines[i];
		if (!room(p, 14))
			return -1;
		rd_pdf_text(&p->h, false, 9, COL_ORDER, p->h.y, l->order_number, false, 115);
		rd_pdf_text(&p->h, false, 9, COL_DATE, p->h.y, l->paid_on, false, 75);
		rd_pdf_text(&p->h, false, 9, COL_PARTY, p->h.y, l->party, false, 75);
		rd_pdf_text(&p->h, false, 9, COL_KIND, p->h.y, l->kind, false, 75);
		rd_bp_format(l->bp, bp, sizeof bp);
		rd_pdf_text(&p->h, false, 9, COL_BP_R, p->h.y, bp, true, 0);
		rd_money_format(l->amount, l->currency, s, sizeof s);
		rd_pdf_text(&p->h, false, 9, COL_AMOUNT_R, p->h.y, s, true, 0);
		p->h.y -= 14;
	}
	if (!d->n) {
		rd_pdf_text(&p->h, false, 9, COL_ORDER, p->h.y, "No commission this month.", false, 0);
		p->h.y -= 14;
	}
	if (!room(p, 20 + 16 * (float)d->n_totals))
		return -1;
	p->h.y -= 6;
	HPDF_Page_MoveTo(p->h.page, COL_KIND, p->h.y + 10);
	HPDF_Page_LineTo(p->h.page, PAGE_W - MARGIN, p->h.y + 10);
	HPDF_Page_Stroke(p->h.page);
	for (size_t i = 0; i < d->n_totals; i++) {
		char label[64];
		snprintf(label, sizeof label, "Total %s (%u line%s)", d->totals[i].currency, d->totals[i].lines,
			 d->totals[i].lines == 1 ? "" : "s");
		rd_pdf_text(&p->h, true, 10, COL_KIND, p->h.y, label, false, 0);
		rd_money_format(d->totals[i].amount, d->totals[i].currency, s, sizeof s);
		rd_pdf_text(&p->h, true, 10, COL_AMOUNT_R, p->h.y, s, true, 0);
		p->h.y -= 16;
	}
	return 0;
}

int rd_statement_render(const struct rd_statement_doc *doc, void **out, size_t *out_len, char *err, size_t errlen)
{
	struct spdf p = { .d = doc };
	int rc = rd_pdf_begin(&p.h, err, errlen);
	if (rc < 0)
		return rc;
	return rd_pdf_finish(&p.h, p.h.font && p.h.bold ? build(&p) : -1, "too many pages", out, out_len, err, errlen);
}
