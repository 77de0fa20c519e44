/*
 * checkout.c: an order's billing details, invoice number and e-mails
 * (checkout.h).  Everything here runs inside the write transaction of the
 * order's change it belongs to, so an order, its invoice number and its
 * messages are committed together or not at all.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "domain/quote.h"
#include "services/checkout.h"
#include "services/edi.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

/* ---- billing details ------------------------------------------------------------- */

static bool one_line(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	json_t *j = json_string(s); /* NULL when not valid UTF-8 */
	json_decref(j);
	return j != NULL;
}

static const struct {
	const char *name, *label;
	size_t off, cap;
} fields[] = {
	{ "company", "the company", offsetof(struct rd_billing, company), sizeof(((struct rd_billing *)0)->company) },
	{ "address1", "the address", offsetof(struct rd_billing, address1), sizeof(((struct rd_billing *)0)->address1) },
	{ "address2", "the second address line", offsetof(struct rd_billing, address2),
	  sizeof(((struct rd_billing *)0)->address2) },
	{ "city", "the city", offsetof(struct rd_billing, city), sizeof(((struct rd_billing *)0)->city) },
	{ "postcode", "the postcode", offsetof(struct rd_billing, postcode), sizeof(((struct rd_billing *)0)->postcode) },
	{ "country", "the country", offsetof(struct rd_billing, country), sizeof(((struct rd_billing *)0)->country) },
	{ "email", "the e-mail address", offsetof(struct rd_billing, email), sizeof(((struct rd_billing *)0)->email) },
};

int rd_checkout_billing_set(struct rd_billing *b, const char *field, const char *value, struct rd_serr *err)
{
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		if (strcmp(fields[i].name, field))
			continue;
		char *dst = (char *)b + fields[i].off;
		const char *v = value ? value : "";
		while (*v == ' ')
			v++;
		size_t n = strlen(v);
		while (n && v[n - 1] == ' ')
			n--;
		if (n >= fields[i].cap)
			return rd_serr_set(err, RD_EINVAL, "invalid", fields[i].name, "%s is too long (at most %zu bytes)",
					   fields[i].label, fields[i].cap - 1);
		memcpy(dst, v, n);
		dst[n] = 0;
		if (!one_line(dst))
			return rd_serr_set(err, RD_EINVAL, "invalid", fields[i].name, "%s must be text on one line",
					   fields[i].label);
		if (!strcmp(field, "country"))
			for (char *p = dst; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
		return 0;
	}
	return rd_serr_set(err, RD_EINVAL, "invalid", NULL, "no billing field %.40s", field);
}

bool rd_checkout_email_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 6 || n >= RD_NAME_MAX)
		return false;
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@'))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("()<>,;:\\\"[]", *p))
			return false;
	const char *dom = at + 1, *dot = strrchr(dom, '.');
	if (!dot || dot == dom || !dot[1] || dot[1] == '.' || strlen(dot + 1) < 2 || strstr(dom, "..") || dom[0] == '.' ||
	    dom[0] == '-')
		return false;
	for (const char *p = dom; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return true;
}

int rd_checkout_billing_check(const struct rd_billing *b, struct rd_serr *err)
{
	static const char *const required[] = { "company", "address1", "city", "postcode", "country", "email" };
	for (size_t r = 0; r < sizeof required / sizeof *required; r++)
		for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
			if (strcmp(fields[i].name, required[r]))
				continue;
			const char *v = (const char *)b + fields[i].off;
			if (!*v)
				return rd_serr_set(err, RD_EINVAL, "invalid", fields[i].name, "%s is required", fields[i].label);
			if (!one_line(v))
				return rd_serr_set(err, RD_EINVAL, "invalid", fields[i].name, "%s must be text on one line",
						   fields[i].label);
		}
	if (strlen(b->country) != 2 || b->country[0] < 'A' || b->country[0] > 'Z' || b->country[1] < 'A' || b->country[1] > 'Z')
		return rd_serr_set(err, RD_EINVAL, "invalid", "country", "the country is its two-letter code (GB, DE, US, ...)");
	if (!rd_checkout_email_ok(b->email))
		return rd_serr_set(err, RD_EINVAL, "invalid", "email", "the e-mail address is not valid (name@example.com)");
	return 0;
}

int rd_checkout_created(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, struct rd_order *n,
			const struct rd_billing *b, bool update_customer)
{
	struct rd_customer *cu = rd_malloc(sizeof *cu), *before = rd_malloc(sizeof *before);
	int rc = rd_entity_get(t, d->customers, &rd_entity_customer, v, n->customer_id, cu);
	if (rc == RD_ENOTFOUND) { /* no record to copy from or to update: the details given, if any */
		memset(cu, 0, sizeof *cu);
		update_customer = false;
		rc = 0;
	}
	if (rc < 0)
		goto out;
	*before = *cu;
	if (b) {
		snprintf(n->billing_company, sizeof n->billing_company, "%s", b->company);
		snprintf(n->billing_address1, sizeof n->billing_address1, "%s", b->address1);
		snprintf(n->billing_address2, sizeof n->billing_address2, "%s", b->address2);
		snprintf(n->billing_city, sizeof n->billing_city, "%s", b->city);
		snprintf(n->billing_postcode, sizeof n->billing_postcode, "%s", b->postcode);
		memcpy(n->billing_country, b->country, sizeof n->billing_country);
		snprintf(n->billing_email, sizeof n->billing_email, "%s", b->email);
	} else {
		snprintf(n->billing_company, sizeof n->billing_company, "%s", cu->name);
		snprintf(n->billing_address1, sizeof n->billing_address1, "%s", cu->address_line1);
		snprintf(n->billing_address2, sizeof n->billing_address2, "%s", cu->address_line2);
		snprintf(n->billing_city, sizeof n->billing_city, "%s", cu->city);
		snprintf(n->billing_postcode, sizeof n->billing_postcode, "%s", cu->postcode);
		memcpy(n->billing_country, cu->country, sizeof n->billing_country);
		snprintf(n->billing_email, sizeof n->billing_email, "%s", cu->email);
	}
	if (!b || !update_customer)
		goto out;
	snprintf(cu->name, sizeof cu->name, "%s", b->company);
	snprintf(cu->address_line1, sizeof cu->address_line1, "%s", b->address1);
	snprintf(cu->address_line2, sizeof cu->address_line2, "%s", b->address2);
	snprintf(cu->city, sizeof cu->city, "%s", b->city);
	snprintf(cu->postcode, sizeof cu->postcode, "%s", b->postcode);
	memcpy(cu->country, b->country, sizeof cu->country);
	snprintf(cu->email, sizeof cu->email, "%s", b->email);
	if (!memcmp(cu, before, sizeof *cu))
		goto out;
	if ((rc = rd_entity_put(t, d->customers, &rd_entity_customer, v, cu, 0)) == 0) {
		json_t *jb = rd_entity_to_json(&rd_entity_customer, before), *ja = rd_entity_to_json(&rd_entity_customer, cu);
		char note[96];
		snprintf(note, sizeof note, "billing details of order %s, at the customer's request", n->number);
		rc = rd_audit_write(t, d, v, user, RD_AUDIT_UPDATE, "customers", cu->id, jb, ja, note);
		json_decref(jb);
		json_decref(ja);
	}
out:
	free(cu);
	free(before);
	return rc;
}

/* ---- invoice numbers ---------------------------------------------------------------- */

/* The vendor's next invoice number, from a counter that only goes up and
 * is written in the caller's transaction: a number is never given twice,
 * and a transaction that aborts takes none. */
static int invoice_number(struct rd_txn *t, uint64_t v, struct rd_order *n)
{
	if (n->invoice_number[0])
		return 0;
	char key[48];
	snprintf(key, sizeof key, "invoice_seq:%llu", (unsigned long long)v);
	const void *val;
	size_t len;
	uint64_t last = 0;
	int rc = rd_txn_meta_get(t, key, &val, &len);
	if (rc == 0 && len == 8)
		last = rd_key_get_u64(val);
	else if (rc < 0 && rc != RD_ENOTFOUND)
		return rc;
	uint8_t next[8];
	rd_key_put_u64(next, last + 1);
	if ((rc = rd_txn_meta_put(t, key, next, sizeof next)) < 0)
		return rc;
	snprintf(n->invoice_number, sizeof n->invoice_number, "INV-%06llu", (unsigned long long)(last + 1));
	return 0;
}

/* ---- the e-mails --------------------------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
};

static void add(struct text *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = rd_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void add_html(struct text *b, const char *s)
{
	for (; *s; s++) {
		char c[2] = { *s, 0 };
		add(b, *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : *s == '\'' ? "&#39;" : c);
	}
}

/* One line to both bodies: the text as is, the HTML escaped in a <p>. */
static void para(struct text *txt, struct text *html, const char *s)
{
	add(txt, s);
	add(txt, "\n");
	add(html, "<p>");
	add_html(html, s);
	add(html, "</p>\n");
}

static int queue(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_order *n, const char *kind)
{
	const char *to = n->billing_email;
	if (!rd_checkout_email_ok(to)) {
		rd_log(RD_LOG_WARN, "orders", "order %s: no e-mail address to send the %s to", n->number, kind);
		return 0;
	}
	bool receipt = !strcmp(kind, "order_receipt");
	struct rd_vendor *vendor = rd_calloc(1, sizeof *vendor);
	struct rd_opportunity *o = rd_calloc(1, sizeof *o);
	struct rd_message *m = rd_calloc(1, sizeof *m);
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v, vendor);
	if (rc == 0 || rc == RD_ENOTFOUND)
		rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, n->opportunity_id, o);
	if (rc == RD_ENOTFOUND)
		rc = 0; /* the mail goes without the vendor's name or the lines */
	if (rc < 0)
		goto out;
	if (n->n_lines) { /* what was ordered: the order's frozen lines (services/orders.h) */
		memcpy(o->lines, n->lines, n->n_lines * sizeof *n->lines);
		o->n_lines = n->n_lines;
	} else if (rd_quote_select(o->lines, o->n_lines, o->lines, &o->n_lines) < 0) {
		o->n_lines = 0;
	}
	struct text txt = { 0 }, html = { 0 };
	char line[600], money[64];
	add(&html, "<!doctype html><html><body>\n");
	snprintf(line, sizeof line, "Dear %s,", n->billing_company);
	para(&txt, &html, line);
	if (receipt)
		snprintf(line, sizeof line, "We have received your payment for order %s. Thank you: your renewal is in place.",
			 n->number);
	else
		snprintf(line, sizeof line, "Thank you for your order %s with %s.", n->number, vendor->name);
	para(&txt, &html, line);
	for (uint8_t i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		if (!rd_quote_line_ordered(l))
			continue;
		rd_money_format(l->list, n->currency, money, sizeof money);
		snprintf(line, sizeof line, "  %s: %u x %s", l->description, (unsigned)l->quantity, money);
		para(&txt, &html, line);
	}
	rd_money_format(n->total, n->currency, money, sizeof money);
	snprintf(line, sizeof line, "Total: %s", money);
	para(&txt, &html, line);
	if (receipt) {
		rd_money_format(n->paid_amount, n->currency, money, sizeof money);
		snprintf(line, sizeof line, "Paid: %s (reference %s)", money, n->paid_reference);
		para(&txt, &html, line);
	} else if (!strcmp(n->payment_option, "purchase_order")) {
		snprintf(line, sizeof line, "We will invoice purchase order %s on its terms.", n->po_number);
		para(&txt, &html, line);
	} else if (n->checkout_url[0]) {
		para(&txt, &html, "Your card payment is awaited on the payment page; your renewal starts when it is received.");
	} else if (n->due_date) {
		char due[11];
		rd_date_format(n->due_date, due);
		snprintf(line, sizeof line, "Your invoice is due by %s.", due);
		para(&txt, &html, line);
	}
	if (n->invoice_number[0]) {
		snprintf(line, sizeof line, "Invoice %s is attached.", n->invoice_number);
		para(&txt, &html, line);
	}
	snprintf(line, sizeof line, "Billed to: %s, %s%s%s, %s %s, %s", n->billing_company, n->billing_address1,
		 n->billing_address2[0] ? ", " : "", n->billing_address2, n->billing_postcode, n->billing_city,
		 n->billing_country);
	para(&txt, &html, line);
	add(&html, "</body></html>\n");
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	snprintf(m->to, sizeof m->to, "%s", to);
	if (receipt)
		snprintf(m->subject, sizeof m->subject, "Receipt for order %s%s%s", n->number,
			 n->invoice_number[0] ? ", invoice " : "", n->invoice_number);
	else
		snprintf(m->subject, sizeof m->subject, "Order %s confirmed", n->number);
	snprintf(m->text, sizeof m->text, "%s", txt.p);
	snprintf(m->html, sizeof m->html, "%s", html.p);
	free(txt.p);
	free(html.p);
	m->state = RD_MSG_QUEUED;
	m->created_at = rd_clock_now();
	m->next_at = 0; /* due at once */
	m->opportunity_id = n->opportunity_id;
	m->customer_id = n->customer_id;
	snprintf(m->ref, sizeof m->ref, "order:%llu:%s", (unsigned long long)n->id, receipt ? "receipt" : "confirmation");
	rc = rd_entity_put(t, d->outbox, &rd_entity_message, v, m, 0);
out:
	free(vendor);
	free(o);
	free(m);
	return rc;
}

int rd_checkout_placed(struct rd_txn *t, struct rd_domain *d, uint64_t v, struct rd_order *n)
{
	if (n->state != RD_ORDER_AWAITING_PAYMENT && n->state != RD_ORDER_PAID)
		return 0;
	int erc = rd_edi_queue(t, d, v, n); /* to its distributor's EDI connector (services/edi.h) */
	if (erc < 0)
		return erc;
	if (n->state == RD_ORDER_PAID)
		return 0; /* paid at once: the receipt (rd_checkout_paid) is the confirmation */
	int rc = 0;
	if (!n->checkout_url[0]) /* to be paid on an invoice: it is invoiced now */
		rc = invoice_number(t, v, n);
	return rc < 0 ? rc : queue(t, d, v, n, "order_confirmation");
}

int rd_checkout_paid(struct rd_txn *t, struct rd_domain *d, uint64_t v, struct rd_order *n)
{
	int rc = rd_edi_queue(t, d, v, n); /* paid at once: queued now (services/edi.h) */
	if (rc == 0)
		rc = invoice_number(t, v, n);
	return rc < 0 ? rc : queue(t, d, v, n, "order_receipt");
}
