/*
 * payfiles.h: payments from a file, all or nothing (core/services/payfiles.c).
 *
 * A CSV file (a bank statement's receipts) with the columns order (its
 * number O-YYYY-NNNNNN or its id), amount (minor units) and reference, in
 * any order, a header first; at most 10000 rows.  Each row is the payment
 * rule of payments.h; a row recorded already under the same reference
 * changes nothing.  Every wrong row is named (up to 100), and then nothing
 * is written; otherwise all rows are written in one transaction and each
 * newly paid order's plugin hears of its payment (rd_payment_capture).
 */
#ifndef RD_SERVICES_PAYFILES_H
#define RD_SERVICES_PAYFILES_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/app.h"
#include "services/service.h"

#define RD_PAYFILE_ROWS_MAX 10000
#define RD_PAYFILE_ERRORS_MAX 100

/* A wrong row: its line in the file (the header being 1), the column at
 * fault ("order", "amount", "reference"; "body" for the file itself). */
struct rd_payfile_error {
	size_t row;
	const char *field;
	char message[200];
};

/* A row applied: its line, the order's number, whether it was paid before. */
struct rd_payfile_item {
	size_t row;
	char order[24];
	bool unchanged;
};

struct rd_payfile_answer {
	struct rd_serr err;
	size_t rows;                      /* payment rows in the file */
	size_t paid;                      /* orders paid by this file */
	struct rd_payfile_item *items;    /* n_items, when applied */
	size_t n_items;
	struct rd_payfile_error *errors;  /* n_errors, when refused */
	size_t n_errors;
};

/* Applies the file csv (len bytes; a UTF-8 byte order mark is skipped) for
 * who.  0 (applied), RD_ERANGE (a->err: code "rows_invalid", field "rows";
 * the rows at fault in a->errors; nothing written), or a fault of renewd
 * (a->err.code NULL).  Free a's arrays with rd_payfile_answer_clear. */
int rd_payfile_apply(struct rd_app *app, const struct rd_actor *who, const void *csv, size_t len,
		     struct rd_payfile_answer *a);

void rd_payfile_answer_clear(struct rd_payfile_answer *a);

#endif
