/*
 * quote.h: a renewal quote as a one-or-more page A4 PDF, drawn with libharu.
 *
 * What the PDF holds: a header band in the reseller's primary colour with
 * its name (and its logo when the logo is embedded in the partner record as
 * a data: URL of a PNG or JPEG image: a remote logo URL cannot be fetched
 * while rendering, so the name stands alone then); the quote number, its
 * date and validity; the customer's name and billing address; the lines
 * (description, seats, unit price, amount) with the optional up-sell and
 * cross-sell lines the customer selected; the sales person's discount when
 * there is one; the total in the quote's currency (rd_money_format); a
 * short terms paragraph (renewal term, payment by the options enabled for
 * the vendor and reseller, validity); the reseller's contact block in the
 * footer of every page.
 *
 * Text: libharu's built-in (base 14) Helvetica with WinAnsiEncoding, which
 * is single-byte.  UTF-8 is converted to Windows-1252 where the character
 * exists there ("Müller", "€", curly quotes, dashes) and replaced by '?'
 * otherwise (and for malformed UTF-8); control characters become spaces.
 * Long text wraps within its box and is cut with an ellipsis after a set
 * number of lines, so no input overflows the page or fails the render.
 *
 * Errors: libharu reports through an error handler (set with the document,
 * as HPDF_SetErrorHandler would); the handler records the error and the
 * renderer returns RD_EINTERNAL with libharu's codes in err.  Nothing
 * longjmps or aborts.
 *
 * Threads: rd_quote_load reads the store (any thread that holds the
 * transaction); rd_quote_render touches no shared state and may run on a
 * worker thread (the mail delivery renders there).
 */
#ifndef RD_PDF_QUOTE_H
#define RD_PDF_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

/* Everything the renderer reads, copied out of the store. */
struct rd_quote_doc {
	struct rd_vendor v;
	struct rd_opportunity o;
	struct rd_customer c;
	struct rd_partner res;   /* the reseller of record: brand, contact */
	bool have_res;
	uint8_t term;            /* the renewed contract's enum rd_term; 0: unknown */
	char payment[512];       /* how the customer can pay (the enabled payment plugins) */
};

/* Loads the quote's customer, reseller, contract term and payment options
 * for opportunity o of vendor v.  0, or the store's error (RD_ENOTFOUND when
 * the customer is gone). */
struct rd_plugins;
int rd_quote_load(struct rd_plugins *plugins, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		  const struct rd_opportunity *o, struct rd_quote_doc *q);

/* Draws the PDF into *pdf (malloc'd, *len bytes).  0, or RD_EINTERNAL with a
 * sentence in err (libharu failed). */
int rd_quote_render(const struct rd_quote_doc *q, void **pdf, size_t *len, char *err, size_t errlen);

/* Both: load, then render. */
int rd_quote_pdf(struct rd_plugins *plugins, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		 const struct rd_opportunity *o, void **pdf, size_t *len, char *err, size_t errlen);

/* The attachment's file name: the quote number with anything but
 * [A-Za-z0-9._-] dropped, then ".pdf" ("quote.pdf" without a number). */
void rd_quote_filename(const char *number, char *out, size_t cap);

/* UTF-8 to Windows-1252 (see above), NUL-terminated in out; keeps '\n' when
 * keep_newlines, else makes it a space.  Returns the length written. */
size_t rd_quote_winansi(const char *utf8, char *out, size_t cap, bool keep_newlines);

#endif
