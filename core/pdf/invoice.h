/*
 * invoice.h: an order's invoice as an A4 PDF drawn with libharu (text in
 * WinAnsi like the quote, rd_quote_winansi): the vendor, the invoice and
 * order numbers, the billing details the order was placed with, the
 * ordered lines, the discount, the total, and how it was or is to be paid.
 *
 * An order has an invoice once it has its invoice number (services/checkout.h);
 * the PDF is drawn from the order's records each time, so the e-mail's
 * attachment and the portal's download are the same document.
 *
 * Threads: rd_invoice_load reads the store (whoever holds the transaction);
 * rd_invoice_render touches no shared state and may run on a worker thread.
 */
#ifndef RD_PDF_INVOICE_H
#define RD_PDF_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

struct rd_invoice_doc {
	char vendor_name[RD_NAME_MAX];
	struct rd_order order;
	struct rd_opportunity o;   /* the quote the order was placed from: its lines and discount */
};

/* The invoice of order `order` of vendor: RD_ENOTFOUND when there is no
 * such order or it has no invoice number yet.  *out malloc'd (free). */
int rd_invoice_load(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t order, struct rd_invoice_doc **out);
/* The PDF into *pdf (malloc'd).  0, or RD_EINTERNAL with a sentence in err. */
int rd_invoice_render(const struct rd_invoice_doc *doc, void **pdf, size_t *len, char *err, size_t errlen);
/* "invoice-INV-000042.pdf" */
void rd_invoice_filename(const struct rd_order *o, char *out, size_t cap);

#endif
