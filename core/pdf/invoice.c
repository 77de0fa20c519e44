/* invoice.c: an order's invoice as a PDF (invoice.h). */
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "domain/quote.h"
#include "pdf/invoice.h"
#include "pdf/page.h"
#include "pdf/quote.h"
#include "store/store.h"
#include "util/err.h"

int rd_invoice_load(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t order, struct rd_invoice_doc **out)
{
	struct rd_invoice_doc *doc = rd_calloc(1, sizeof *doc);
	int rc = rd_entity_get(t, d->orders, &rd_entity_order, vendor, order, &doc->order);
	if (rc == 0 && !doc->order.invoice_number[0])
		rc = RD_ENOTFOUND;
	if (rc == 0 && (rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, vendor, doc->order.opportunity_id,
					   &doc->o)) == RD_ENOTFOUND)
		rc = 0; /* the lines are gone: the invoice shows the total alone */
	if (rc == 0 && doc->order.n_lines) { /* what was ordered: the order's frozen lines (services/orders.h) */
		memcpy(doc->o.lines, doc->order.lines, doc->order.n_lines * sizeof *doc->order.lines);
		doc->o.n_lines = doc->order.n_lines;
		doc->o.discount_bp = doc->order.discount_bp;
	} else if (rc == 0 && rd_quote_select(doc->o.lines, doc->o.n_lines, doc->o.lines, &doc->o.n_lines) < 0) {
		doc->o.n_lines = 0; /* an older order of a quote with two up-sells: the total alone */
	}
	struct rd_vendor v;
	if (rc == 0 && rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vendor, &v) == 0)
		snprintf(doc->vendor_name, sizeof doc->vendor_name, "%s", v.name);
	if (rc < 0) {
		free(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

void rd_invoice_filename(const struct rd_order *o, char *out, size_t cap)
{
	char num[32] = "";
	size_t k = 0;
	for (const char *s = o->invoice_number; *s && k < sizeof num - 1; s++)
		if ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || *s == '-')
			num[k++] = *s;
	num[k] = 0;
	snprintf(out, cap, "invoice-%s.pdf", num[0] ? num : "unknown");
}

/* ---- the PDF ------------------------------------------------------------------------------- */

#define PAGE_W 595.276f
#define PAGE_H 841.89f
#define MARGIN 50.0f

static const float COL_ITEM = MARGIN, COL_QTY_R = MARGIN + 330, COL_UNIT_R = MARGIN + 410, COL_AMOUNT_R = PAGE_W - MARGIN;

static int build(struct rd_pdf *p, const struct rd_invoice_doc *d)
{
	const struct rd_order *n = &d->order;
	p->page = HPDF_AddPage(p->doc);
	if (!p->page)
		return -1;
	HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	char line[400], s[64];
	float w = PAGE_W - 2 * MARGIN;
	p->y = PAGE_H - MARGIN - 10;
	rd_pdf_text(p, true, 18, MARGIN, p->y, "Invoice", false, 0);
	rd_pdf_text(p, true, 12, PAGE_W - MARGIN, p->y, n->invoice_number, true, 0);
	p->y -= 22;
	rd_pdf_text(p, true, 11, MARGIN, p->y, d->vendor_name, false, w);
	p->y -= 15;
	char date[11];
	rd_date_format((rd_date)(n->created_at / 86400), date);
	snprintf(line, sizeof line, "Order %s of %s", n->number, date);
	rd_pdf_text(p, false, 10, MARGIN, p->y, line, false, w);
	p->y -= 26;
	rd_pdf_text(p, true, 10, MARGIN, p->y, "Billed to", false, 0);
	p->y -= 14;
	const char *addr[] = { n->billing_company, n->billing_address1, n->billing_address2, NULL, n->billing_email };
	char town[160];
	snprintf(town, sizeof town, "%s %s, %s", n->billing_postcode, n->billing_city, n->billing_country);
	addr[3] = town;
	for (size_t i = 0; i < 5; i++) {
		if (!addr[i][0])
			continue;
		rd_pdf_text(p, false, 10, MARGIN, p->y, addr[i], false, w);
		p->y -= 13;
	}
	if (n->po_number[0]) {
		snprintf(line, sizeof line, "Purchase order: %s", n->po_number);
		rd_pdf_text(p, false, 10, MARGIN, p->y, line, false, w);
		p->y -= 13;
	}
	p->y -= 16;
	rd_pdf_text(p, true, 9, COL_ITEM, p->y, "Item", false, 0);
	rd_pdf_text(p, true, 9, COL_QTY_R, p->y, "Seats", true, 0);
	rd_pdf_text(p, true, 9, COL_UNIT_R, p->y, "Unit", true, 0);
	rd_pdf_text(p, true, 9, COL_AMOUNT_R, p->y, "Amount", true, 0);
	p->y -= 6;
	rd_pdf_rule(p, MARGIN, PAGE_W - MARGIN);
	p->y -= 14;
	int64_t subtotal = 0;
	for (uint8_t i = 0; i < d->o.n_lines && i < RD_QUOTE_MAX_LINES; i++) {
		const struct rd_quote_line *l = &d->o.lines[i];
		if (!rd_quote_line_ordered(l))
			continue;
		if (p->y < 120)
			break; /* a quote has a handful of lines: one page holds them */
		rd_pdf_text(p, false, 9, COL_ITEM, p->y, l->description[0] ? l->description : l->sku, false, 260);
		snprintf(s, sizeof s, "%u", (unsigned)l->quantity);
		rd_pdf_text(p, false, 9, COL_QTY_R, p->y, s, true, 0);
		rd_money_format(l->unit_list, n->currency, s, sizeof s);
		rd_pdf_text(p, false, 9, COL_UNIT_R, p->y, s, true, 0);
		rd_money_format(l->list, n->currency, s, sizeof s);
		rd_pdf_text(p, false, 9, COL_AMOUNT_R, p->y, s, true, 0);
		subtotal += l->list;
		p->y -= 14;
	}
	p->y -= 4;
	rd_pdf_rule(p, COL_UNIT_R - 60, PAGE_W - MARGIN);
	p->y -= 14;
	if (subtotal != n->total && subtotal > n->total) {
		rd_pdf_text(p, false, 10, COL_UNIT_R - 60, p->y, "Discount", false, 0);
		rd_money_format(n->total - subtotal, n->currency, s, sizeof s);
		rd_pdf_text(p, false, 10, COL_AMOUNT_R, p->y, s, true, 0);
		p->y -= 16;
	}
	rd_pdf_text(p, true, 11, COL_UNIT_R - 60, p->y, "Total", false, 0);
	rd_money_format(n->total, n->currency, s, sizeof s);
	rd_pdf_text(p, true, 11, COL_AMOUNT_R, p->y, s, true, 0);
	p->y -= 30;
	if (n->paid_at) {
		rd_money_format(n->paid_amount, n->currency, s, sizeof s);
		rd_date_format((rd_date)(n->paid_at / 86400), date);
		snprintf(line, sizeof line, "Paid %s on %s (%s, reference %s). Thank you.", s, date, n->payment_option,
			 n->paid_reference);
	} else if (n->due_date) {
		rd_date_format(n->due_date, date);
		snprintf(line, sizeof line, "Payment due by %s.", date);
	} else {
		snprintf(line, sizeof line, "Payment: %s.", !strcmp(n->payment_option, "purchase_order")
			 ? "on the terms of your purchase order" : n->payment_option);
	}
	rd_pdf_text(p, false, 10, MARGIN, p->y, line, false, w);
	return 0;
}

int rd_invoice_render(const struct rd_invoice_doc *doc, void **out, size_t *out_len, char *err, size_t errlen)
{
	struct rd_pdf p = { 0 };
	int rc = rd_pdf_begin(&p, err, errlen);
	if (rc < 0)
		return rc;
	return rd_pdf_finish(&p, p.font && p.bold ? build(&p, doc) : -1, NULL, out, out_len, err, errlen);
}
