/*
 * payfiles.c: a file of payments, parsed (libcsv), checked row by row and
 * applied in one transaction or not at all (payfiles.h).  The API's handler
 * is core/api/orders.c (POST /api/v1/orders/payments).
 */
#include <csv.h>
#include <stdlib.h>
#include <string.h>

#include "services/orders.h"
#include "services/payfiles.h"
#include "services/payments.h"
#include "store/store.h"
#include "util/err.h"

struct pay_row {
	size_t row;           /* its line in the file, the header being 1 */
	uint64_t id;
	int64_t amount;
	char reference[128];
};

struct pay_file {
	/* parsing */
	int col[3];           /* order, amount, reference: the column of each, -1 unknown */
	int cell;             /* the current row's column */
	size_t line;          /* rows seen, the header included */
	char cells[3][128];
	bool over[3];
	struct pay_row *rows; /* the rows that read well */
	size_t n_rows, cap;
	/* applying */
	struct rd_domain *d;
	const struct rd_actor *who;
	struct rd_order *paid;
	size_t n_paid;
	struct rd_payfile_answer *a;
};

static void row_error(struct pay_file *f, size_t row, const char *field, const char *message)
{
	struct rd_payfile_answer *a = f->a;
	if (a->n_errors >= RD_PAYFILE_ERRORS_MAX)
		return;
	if (!a->errors)
		a->errors = rd_calloc(RD_PAYFILE_ERRORS_MAX, sizeof *a->errors);
	struct rd_payfile_error *e = &a->errors[a->n_errors++];
	e->row = row;
	e->field = field;
	snprintf(e->message, sizeof e->message, "%s", message);
}

static void pay_cell(void *data, size_t len, void *arg)
{
	struct pay_file *f = arg;
	int i = f->cell++;
	if (f->line == 0) { /* the header: which column is which */
		static const char *const names[] = { "order", "amount", "reference" };
		for (int k = 0; k < 3; k++)
			if (len == strlen(names[k]) && !memcmp(data, names[k], len))
				f->col[k] = i;
		return;
	}
	for (int k = 0; k < 3; k++)
		if (f->col[k] == i) {
			f->over[k] = len >= sizeof f->cells[k];
			snprintf(f->cells[k], sizeof f->cells[k], "%.*s", (int)(len < sizeof f->cells[k] ? len : 0),
				 (const char *)data);
		}
}

/* Digits only, 1-19 of them; 0 otherwise (as the API's ids, edge/call.h). */
static uint64_t digits_id(const char *s)
{
	if (!s || !*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
		return 0;
	return strtoull(s, NULL, 10);
}

/* "O-2027-000123" (its id is the last part) or a plain id. */
static uint64_t order_ref_id(const char *s)
{
	const char *dash = strrchr(s, '-');
	if (!strncmp(s, "O-", 2) && dash && strlen(s) == 13 && dash == s + 6)
		return digits_id(dash + 1);
	return digits_id(s);
}

static void pay_row_end(int term, void *arg)
{
	(void)term;
	struct pay_file *f = arg;
	size_t row = f->line++;
	f->cell = 0;
	if (row == 0) {
		for (int k = 0; k < 3; k++)
			if (f->col[k] < 0)
				row_error(f, 1, k == 0 ? "order" : k == 1 ? "amount" : "reference",
					  "the header must name the columns order, amount and reference");
		return;
	}
	if (f->a->rows >= RD_PAYFILE_ROWS_MAX) {
		if (f->a->rows == RD_PAYFILE_ROWS_MAX)
			row_error(f, row + 1, "body", "at most 10000 payments in one file");
		f->a->rows++;
		return;
	}
	struct pay_row r = { .row = row + 1, .id = order_ref_id(f->cells[0]) };
	char *end = NULL;
	long long amount = strtoll(f->cells[1], &end, 10);
	if (!r.id)
		row_error(f, row + 1, "order", "order is an order number (O-YYYY-NNNNNN) or id");
	else if (f->over[1] || !f->cells[1][0] || *end || amount <= 0)
		row_error(f, row + 1, "amount", "amount is a positive whole number of minor units");
	else if (f->over[2] || !rd_order_text_ok(f->cells[2], sizeof r.reference))
		row_error(f, row + 1, "reference", "reference is text of 1-127 bytes, without control characters");
	else {
		r.amount = amount;
		snprintf(r.reference, sizeof r.reference, "%s", f->cells[2]);
		if (f->n_rows == f->cap)
			f->rows = rd_realloc(f->rows, (f->cap = f->cap ? 2 * f->cap : 64) * sizeof *f->rows);
		f->rows[f->n_rows++] = r;
	}
	f->a->rows++;
	memset(f->cells, 0, sizeof f->cells);
	memset(f->over, 0, sizeof f->over);
}

static int pay_file_write(struct rd_txn *t, void *arg)
{
	struct pay_file *f = arg;
	struct rd_payfile_answer *a = f->a;
	a->n_items = 0;
	f->n_paid = 0;
	struct rd_payment_answer *p = rd_malloc(sizeof *p);
	int rc = 0;
	for (size_t i = 0; i < f->n_rows && rc >= 0; i++) {
		rc = rd_payment_record_in(t, f->d, f->who, f->rows[i].id, f->rows[i].amount, f->rows[i].reference, p);
		if (rc < 0 && !p->err.code)
			break;
		if (rc < 0) {
			row_error(f, f->rows[i].row, !p->err.field || !strcmp(p->err.field, "id") ? "order" : p->err.field,
				  p->err.message);
			rc = 0;
			continue;
		}
		struct rd_payfile_item *it = &a->items[a->n_items++];
		it->row = f->rows[i].row;
		snprintf(it->order, sizeof it->order, "%s", p->order.number);
		it->unchanged = p->unchanged;
		if (!p->unchanged)
			f->paid[f->n_paid++] = p->order;
	}
	free(p);
	if (rc < 0)
		return rc;
	return a->n_errors ? RD_EDECLINED : 0; /* all or nothing */
}

int rd_payfile_apply(struct rd_app *app, const struct rd_actor *who, const void *csv, size_t len,
		     struct rd_payfile_answer *a)
{
	*a = (struct rd_payfile_answer){ 0 };
	struct pay_file f = { .col = { -1, -1, -1 }, .d = app->domain, .who = who, .a = a };
	const char *body = csv ? csv : "";
	struct csv_parser parser;
	if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return a->err.rc = RD_EINTERNAL;
	if (len >= 3 && !memcmp(body, "\xEF\xBB\xBF", 3)) { /* a UTF-8 byte order mark */
		body += 3;
		len -= 3;
	}
	if (csv_parse(&parser, body, len, pay_cell, pay_row_end, &f) != len ||
	    csv_fini(&parser, pay_cell, pay_row_end, &f) != 0)
		row_error(&f, f.line + 1, "body", csv_strerror(csv_error(&parser)));
	csv_free(&parser);
	if (!a->n_errors && a->rows == 0)
		row_error(&f, 2, "body", "the file holds no payments");
	int rc = 0;
	if (f.n_rows) { /* also with wrong rows: to name every wrong row, then write nothing */
		f.paid = rd_malloc(f.n_rows * sizeof *f.paid);
		a->items = rd_calloc(f.n_rows, sizeof *a->items);
		rc = rd_store_write(app->store, pay_file_write, &f);
	}
	if (rc == 0 && !a->n_errors) {
		a->paid = f.n_paid;
		for (size_t i = 0; i < f.n_paid; i++)
			rd_payment_capture(app, who, &f.paid[i]);
	} else if (rc == RD_EDECLINED || a->n_errors) {
		a->n_items = 0;
		rc = rd_serr_set(&a->err, RD_ERANGE, "rows_invalid", "rows", "nothing was recorded: the rows listed are wrong");
	} else {
		a->err.rc = rc;
	}
	free(f.rows);
	free(f.paid);
	return rc;
}

void rd_payfile_answer_clear(struct rd_payfile_answer *a)
{
	free(a->items);
	free(a->errors);
	a->items = NULL;
	a->errors = NULL;
	a->n_items = a->n_errors = 0;
}
