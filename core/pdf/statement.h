/*
 * statement.h: a partner's monthly commission statement, as CSV and as an A4
 * PDF drawn with libharu (text in WinAnsi like the quote, rd_quote_winansi).
 *
 * Threads: rd_statement_load reads the store (whoever holds the transaction);
 * the renderers touch no shared state and may run on a worker thread.
 */
#ifndef RD_PDF_STATEMENT_H
#define RD_PDF_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

struct rd_statement_line {
	char order_number[24];
	char party[16];
	char kind[12];
	char paid_on[11];   /* YYYY-MM-DD */
	uint32_t bp;
	int64_t amount;
	char currency[4];
};

struct rd_statement_total {
	char currency[4];
	int64_t amount;
	uint32_t lines;
};

#define RD_STATEMENT_CURRENCIES 8

struct rd_statement_doc {
	char vendor_name[RD_NAME_MAX];
	struct rd_partner partner;
	struct rd_statement st;
	size_t n;
	struct rd_statement_line *lines;  /* malloc'd */
	size_t n_totals;
	struct rd_statement_total totals[RD_STATEMENT_CURRENCIES];
};

/* The statement's lines: the partner's earned and reversal entries of the
 * month, in id order, and their totals per currency.  *out is malloc'd
 * (rd_statement_doc_free).  0 or the store's error. */
int rd_statement_collect(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner, const char *month,
			 struct rd_statement_doc **out);
/* The doc of an issued statement (collect, with the statement and names). */
int rd_statement_load(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_statement *st,
		      struct rd_statement_doc **out);
void rd_statement_doc_free(struct rd_statement_doc *doc);

/* The totals as JSON text [{currency, amount, lines}] into out. */
void rd_statement_totals_json(const struct rd_statement_doc *doc, char *out, size_t cap);

/* CSV: a header, one row per line, one "total" row per currency (malloc'd). */
char *rd_statement_csv(const struct rd_statement_doc *doc, size_t *len);
/* The PDF into *pdf (malloc'd).  0, or RD_EINTERNAL with a sentence in err. */
int rd_statement_render(const struct rd_statement_doc *doc, void **pdf, size_t *len, char *err, size_t errlen);
/* "statement-2027-01.pdf" / ".csv" (ext without the dot). */
void rd_statement_filename(const struct rd_statement *st, const char *ext, char *out, size_t cap);

#endif
