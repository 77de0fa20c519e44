/*
 * deals.c: the pages of deal registration (deals.h).
 *   GET  /partner/deals               my registrations (state, expiry) and the form to register one
 *   POST /partner/deals               register, or resubmit (previous_id)
 *   POST /partner/deals/{id}          action=lose (reason) or extension (ask for one)
 *   POST /partner/deals/{id}/win      multipart/form-data: csrf and the proof (a file)
 *   GET  /vendor/deals[?state=S]      registrations to review, each with its conflict report
 *   POST /vendor/deals/{id}           action=approve (expires_on), reject (reason), extend (days)
 * Every form carries the session's CSRF token; the rules and refusals are
 * the service's, as for the API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "services/deals.h"
#include "services/documents.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "web/console.h"
#include "web/deals.h"
#include "web/web.h"

#define DEALS_SHOWN 200

static const char *const state_text[] = { "", "submitted", "approved", "rejected", "won", "lost", "expired" };

static struct rd_actor actor_of(const struct web *w)
{
	return (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user,
				  .partner = rd_role_is_partner(w->c.who.role) ? w->c.who.partner : 0 };
}

static json_t *date_json(rd_date d)
{
	char s[11];
	if (!d)
		return json_string("");
	rd_date_format(d, s);
	return json_string(s);
}

/* A registration's row: what both pages show. */
static json_t *row_of(struct rd_txn *t, struct web *w, const struct rd_dealreg *x)
{
	struct rd_customer cu;
	struct rd_partner p;
	char money[64];
	rd_money_format(x->expected_value, x->currency, money, sizeof money);
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:s, s:s, s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:s}",
			 "id", (json_int_t)x->id, "customer", rd_console_customer_name(t, w, x->customer_id, &cu),
			 "partner", rd_console_partner_name(t, w, x->partner_id, &p), "line", x->product_line, "state",
			 state_text[x->state < 7 ? x->state : 0], "close_date", date_json(x->close_date), "expires_on",
			 date_json(x->expires_on), "extensions", (int)x->extensions, "value", money, "reason", x->reason,
			 "previous_id", (json_int_t)x->previous_id, "next_id", (json_int_t)x->next_id, "submitted",
			 x->state == RD_DEALREG_SUBMITTED, "approved", x->state == RD_DEALREG_APPROVED, "reopenable",
			 (x->state == RD_DEALREG_REJECTED || x->state == RD_DEALREG_EXPIRED) && !x->next_id, "extendable",
			 (x->state == RD_DEALREG_APPROVED || x->state == RD_DEALREG_EXPIRED) && !x->next_id, "won",
			 x->state == RD_DEALREG_WON, "csrf", w->csrf);
	json_object_set_new(j, "asked", rd_console_time_json(x->extension_requested_at));
	return j;
}

static void add_conflicts(json_t *row, const char *key, json_t *list, struct rd_txn *t, struct web *w)
{
	size_t i;
	json_t *e;
	json_t *out = json_array();
	json_array_foreach(list, i, e) {
		struct rd_partner p;
		char what[200], reasons[120] = "";
		const char *kind = json_string_value(json_object_get(e, "kind"));
		if (!strcmp(kind, "registration"))
			snprintf(what, sizeof what, "registration %lld (%s)",
				 (long long)json_integer_value(json_object_get(e, "deal_id")),
				 json_string_value(json_object_get(e, "state")));
		else if (!strcmp(kind, "contract"))
			snprintf(what, sizeof what, "live contract %s (%s, ends %s)",
				 json_string_value(json_object_get(e, "external_id")),
				 json_string_value(json_object_get(e, "product_line")),
				 json_string_value(json_object_get(e, "end")));
		else
			snprintf(what, sizeof what, "quote %s", json_string_value(json_object_get(e, "number")));
		size_t k;
		json_t *r;
		json_array_foreach(json_object_get(e, "reasons"), k, r) {
			size_t n = strlen(reasons);
			snprintf(reasons + n, sizeof reasons - n, "%s%s", k ? ", " : "", json_string_value(r));
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "what", what, "partner",
						     rd_console_partner_name(t, w, (uint64_t)json_integer_value(
										json_object_get(e, "partner_id")), &p),
						     "customer", json_string_value(json_object_get(e, "customer_name")),
						     "reasons", reasons));
	}
	char has[40];
	snprintf(has, sizeof has, "has_%s", key);
	json_object_set_new(row, has, json_boolean(json_array_size(out) > 0));
	json_object_set_new(row, key, out);
}

/* ---- the partner portal -------------------------------------------------------------------- */

static bool partner_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor/deals");
		return false;
	}
	return true;
}

/* The partner's page: its registrations and the form to register one; form
 * (stolen, or NULL) is the registration as typed, shown again after a
 * refusal. */
static int partner_page_form(struct web *w, int status, const char *error, const char *notice, json_t *form)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0) {
		json_decref(form);
		return rc;
	}
	const char *chosen_customer = form ? json_string_value(json_object_get(form, "customer_id")) : NULL;
	const char *chosen_product = form ? json_string_value(json_object_get(form, "product")) : NULL;
	struct rd_domain *d = w->app->domain;
	uint64_t v = w->c.who.vendor, me = w->c.who.partner;
	json_t *rows = json_array(), *customers = json_array(), *products = json_array();
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, d->deals, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_deal, item.val, item.len, x) == 0 && x->partner_id == me)
			json_array_insert_new(rows, 0, row_of(t, w, x));
	rd_iter_close(&it);
	free(x);
	/* The customers it sells to (its contracts'), each once. */
	struct rd_contract k;
	uint64_t seen[256];
	size_t n_seen = 0;
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->contracts, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0 ||
		    (k.reseller_id != me && k.distributor_id != me))
			continue;
		bool dup = false;
		for (size_t i = 0; i < n_seen; i++)
			dup |= seen[i] == k.customer_id;
		if (dup || n_seen == sizeof seen / sizeof *seen)
			continue;
		seen[n_seen++] = k.customer_id;
		struct rd_customer cu;
		json_array_append_new(customers, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)k.customer_id, "name",
							   rd_console_customer_name(t, w, k.customer_id, &cu), "chosen",
							   chosen_customer && rd_parse_id(chosen_customer) == k.customer_id));
	}
	rd_iter_close(&it);
	struct rd_product pr;
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->products, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_product, item.val, item.len, &pr) == 0)
			json_array_append_new(products, json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)pr.id, "name", pr.name,
								  "line", pr.line, "chosen",
								  chosen_product && rd_parse_id(chosen_product) == pr.id));
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(rows);
		json_decref(customers);
		json_decref(products);
		json_decref(form);
		return rc;
	}
	while (json_array_size(rows) > DEALS_SHOWN)
		json_array_remove(rows, DEALS_SHOWN);
	json_t *ctx = rd_console_page_ctx(w, "Deal registrations", "/partner/deals");
	json_object_set_new(ctx, "deals", rows);
	json_object_set_new(ctx, "customers", customers);
	json_object_set_new(ctx, "products", products);
	json_object_set_new(ctx, "response_hours", json_integer(w->vendor.deal_response_hours ? w->vendor.deal_response_hours
											: RD_DEAL_RESPONSE_HOURS));
	json_object_set_new(ctx, "currency", json_string(w->vendor.currency));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	if (form)
		json_object_set_new(ctx, "form", form);
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, "partner_deals", w->c.who.partner, ctx);
	return 0;
}

static int partner_page(struct web *w, int status, const char *error, const char *notice)
{
	return partner_page_form(w, status, error, notice, NULL);
}

/* A service's refusal as a sentence naming its field. */
static void refusal_text(const struct rd_serr *e, char *text, size_t cap)
{
	snprintf(text, cap, "%s%s%s", e->message, e->field ? " (" : "", e->field ? e->field : "");
	if (e->field)
		strncat(text, ")", cap - strlen(text) - 1);
	text[0] = (char)(text[0] >= 'a' && text[0] <= 'z' ? text[0] - 'a' + 'A' : text[0]);
}

static int refused(struct web *w, const struct rd_serr *e, int (*again)(struct web *, int, const char *, const char *))
{
	char text[300];
	refusal_text(e, text, sizeof text);
	return again(w, rd_serr_status(e->rc), text, NULL);
}

int rd_page_partner_deals(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_READ))
		return 0;
	const char *done = rd_req_query(req, "done");
	return partner_page(&w, 200, NULL, done && !strcmp(done, "registered") ? "Registered: you will hear back soon."
					   : done && !strcmp(done, "asked") ? "The channel managers have your request."
									    : NULL);
}

/* Whole units of the currency ("12000" or "12000.50") as minor units; -1: not a number. */
static int64_t amount_of(const char *s, const char *currency)
{
	int exp = rd_money_exponent(currency);
	int64_t whole = 0, frac = 0;
	int digits = 0;
	const char *p = s;
	if (!*p)
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		if (whole > INT64_MAX / 100000 || (whole = whole * 10 + (*p - '0')) < 0)
			return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9' && digits < exp; p++, digits++)
			frac = frac * 10 + (*p - '0');
	if (*p)
		return -1;
	for (; digits < exp; digits++)
		frac *= 10;
	int64_t scale = 1;
	for (int i = 0; i < exp; i++)
		scale *= 10;
	return whole * scale + frac;
}

/* The registration form's fields, kept to show the form again as typed
 * (text that is not UTF-8 is not kept: it cannot be shown). */
static const char *const deal_fields[] = { "customer_id", "customer_name", "customer_email", "customer_postcode",
					   "customer_external_id", "product", "seats", "value", "close_date",
					   "situation", "notes" };

/* Seats as typed: a whole number from 0 to 100,000,000 (the API's bound); empty is 0. */
static bool seats_of(const char *s, uint32_t *out)
{
	uint32_t n = 0;
	if (s)
		for (; *s; s++) {
			if (*s < '0' || *s > '9' || (n = n * 10 + (uint32_t)(*s - '0')) > 100000000)
				return false;
		}
	*out = n;
	return true;
}

int rd_page_partner_deals_post(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_CREATE))
		return 0;
	json_t *form = json_object();
	for (size_t i = 0; i < sizeof deal_fields / sizeof *deal_fields; i++) {
		const char *f = rd_form(req, deal_fields[i]);
		json_t *v = f ? json_string(f) : NULL;
		if (v)
			json_object_set_new(form, deal_fields[i], v);
	}
	struct rd_deal_input in = { 0 };
	struct rd_customer nc = { 0 };
	const char *cust = rd_form(req, "customer_id");
	const char *prev = rd_form(req, "previous_id");
	in.previous_id = prev && *prev ? rd_parse_id(prev) : 0;
	if (in.previous_id) { /* a resubmission: its own small form, not this one to show again */
		json_decref(form);
		form = NULL;
	}
	if (cust && *cust && strcmp(cust, "new")) {
		in.customer_id = rd_parse_id(cust);
	} else if (!in.previous_id) {
		/* the new customer, checked as the API checks it (domain/model.c):
		 * what does not fit is refused, never cut */
		static const char *const names[][2] = { { "customer_name", "name" }, { "customer_email", "email" },
							{ "customer_postcode", "postcode" },
							{ "customer_external_id", "external_id" } };
		json_t *j = json_object();
		const char *bad = NULL, *why = NULL;
		char whybuf[200] = "";
		for (size_t i = 0; i < sizeof names / sizeof *names && !bad; i++) {
			const char *f = rd_form(req, names[i][0]);
			if (!f || (!*f && i))
				continue;
			json_t *v = json_string(f);
			if (!v)
				bad = names[i][1], why = "is not text (UTF-8)";
			else
				json_object_set_new(j, names[i][1], v);
		}
		if (!bad && rd_entity_from_json(&rd_entity_customer, j, &nc, &bad, whybuf, sizeof whybuf) < 0)
			why = whybuf[0] ? whybuf : "is not right";
		json_decref(j);
		if (why) {
			char text[300];
			snprintf(text, sizeof text, "Check the new customer's %s: %s (customer.%s)",
				 !strcmp(bad ?: "", "name") ? "name" : !strcmp(bad ?: "", "email") ? "e-mail"
				 : !strcmp(bad ?: "", "postcode") ? "postcode" : "customer number", why, bad ?: "name");
			return partner_page_form(&w, 400, text, NULL, form);
		}
		in.new_customer = &nc;
	}
	const char *product = rd_form(req, "product"), *seats = rd_form(req, "seats"), *value = rd_form(req, "value");
	const char *close = rd_form(req, "close_date");
	if (!product || !*product)
		return partner_page_form(&w, 400, "Choose the product of interest (product).", NULL, form);
	in.products[0] = rd_parse_id(product);
	in.n_products = 1;
	if (!seats_of(seats, &in.seats))
		return partner_page_form(&w, 400, "Seats is a whole number from 0 to 100000000 (seats).", NULL, form);
	in.expected_value = amount_of(value ? value : "", w.vendor.currency);
	if (in.expected_value < 0)
		return partner_page_form(&w, 400, "The expected value is a number, such as 12000 or 12000.50.", NULL, form);
	if (!close || rd_date_parse(close, &in.close_date) < 0)
		return partner_page_form(&w, 400, "Give the expected close date (YYYY-MM-DD).", NULL, form);
	in.situation = rd_form(req, "situation");
	in.notes = rd_form(req, "notes");
	struct rd_actor who = actor_of(&w);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_submit(w.app, &who, &in, &x, &e);
	if (rc < 0 && e.code && strcmp(e.code, "internal")) {
		char text[300];
		refusal_text(&e, text, sizeof text);
		return partner_page_form(&w, rd_serr_status(e.rc), text, NULL, form);
	}
	json_decref(form);
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/partner/deals?done=registered");
	return 0;
}

int rd_page_partner_deal_post(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_UPDATE))
		return 0;
	const char *action = rd_form(req, "action");
	bool ask = action && !strcmp(action, "extension");
	if (!action || (strcmp(action, "lose") && !ask))
		return partner_page(&w, 400, "Choose lose (with a reason) or ask for an extension, or upload the proof to "
				    "close it won.", NULL);
	struct rd_deal_change ch = { .step = ask ? RD_DEAL_STEP_ASK_EXTENSION : RD_DEAL_STEP_LOSE,
				     .reason = rd_form(req, "reason") };
	struct rd_actor who = actor_of(&w);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_change(w.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &x, &e);
	if (rc < 0 && e.code && strcmp(e.code, "internal"))
		return refused(&w, &e, partner_page);
	if (rc < 0)
		return rc;
	rd_web_redirect(req, ask ? "/partner/deals?done=asked" : "/partner/deals");
	return 0;
}

/* ---- multipart/form-data (the proof's upload) ---------------------------------------------- */

struct part {
	char name[32];
	char filename[128];
	char type[64];
	const char *data;
	size_t len;
};

static const char *mem_find(const char *h, size_t hl, const char *n, size_t nl)
{
	if (nl == 0 || hl < nl)
		return NULL;
	for (size_t i = 0; i + nl <= hl; i++)
		if (h[i] == n[0] && !memcmp(h + i, n, nl))
			return h + i;
	return NULL;
}

/* A header parameter's value (name="value") within [p, end) into out. */
static void param(const char *p, const char *end, const char *key, char *out, size_t cap)
{
	out[0] = 0;
	char pat[40];
	int n = snprintf(pat, sizeof pat, "%s=\"", key);
	const char *at = mem_find(p, (size_t)(end - p), pat, (size_t)n);
	/* "name=" must not be the tail of "filename=" */
	while (at && at > p && at[-1] != ' ' && at[-1] != ';')
		at = mem_find(at + 1, (size_t)(end - at - 1), pat, (size_t)n);
	if (!at)
		return;
	at += n;
	const char *q = memchr(at, '"', (size_t)(end - at));
	if (!q)
		return;
	snprintf(out, cap, "%.*s", (int)(q - at), at);
}

/* The parts of a multipart body (up to max); -1 when it is not one. */
static int multipart(struct rd_req *req, struct part *parts, int max)
{
	const char *ct = rd_req_header(req, "content-type");
	const char *b = ct ? strstr(ct, "boundary=") : NULL;
	if (!ct || strncmp(ct, "multipart/form-data", 19) || !b)
		return -1;
	b += 9;
	char delim[120];
	size_t bl = strcspn(b, "; ");
	if (*b == '"') {
		b++;
		bl = strcspn(b, "\"");
	}
	if (bl == 0 || bl > 100)
		return -1;
	int dl = snprintf(delim, sizeof delim, "--%.*s", (int)bl, b);
	size_t len;
	const char *body = rd_req_body(req, &len), *end = body + len;
	if (!body)
		return -1;
	const char *p = mem_find(body, len, delim, (size_t)dl);
	int n = 0;
	while (p && n < max) {
		p += dl;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
		const char *hend = mem_find(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!hend)
			return -1;
		struct part *pt = &parts[n];
		memset(pt, 0, sizeof *pt);
		param(p, hend, "name", pt->name, sizeof pt->name);
		param(p, hend, "filename", pt->filename, sizeof pt->filename);
		const char *ty = mem_find(p, (size_t)(hend - p), "Content-Type: ", 14);
		if (ty) {
			ty += 14;
			size_t tl = strcspn(ty, "\r;");
			snprintf(pt->type, sizeof pt->type, "%.*s", (int)(tl < 63 ? tl : 63), ty);
		}
		pt->data = hend + 4;
		const char *next = mem_find(pt->data, (size_t)(end - pt->data), delim, (size_t)dl);
		if (!next || next - pt->data < 2)
			return -1;
		pt->len = (size_t)(next - pt->data) - 2; /* the CRLF before the delimiter */
		n++;
		p = next;
	}
	return n;
}

int rd_page_partner_deal_win(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w))
		return 0;
	struct part parts[4];
	int n = multipart(req, parts, 4);
	const struct part *csrf = NULL, *proof = NULL;
	for (int i = 0; i < n; i++) {
		if (!strcmp(parts[i].name, "csrf"))
			csrf = &parts[i];
		else if (!strcmp(parts[i].name, "proof"))
			proof = &parts[i];
	}
	char token[65] = "";
	if (csrf && csrf->len == 64)
		memcpy(token, csrf->data, 64);
	if (!csrf || csrf->len != 64 || !rd_hash_equal(token, w.csrf)) {
		rd_web_message(&w, 403, "This form has expired", "Reload the page and try again.");
		return 0;
	}
	if (!rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_UPDATE))
		return 0;
	if (!proof || !proof->filename[0] || !proof->len)
		return partner_page(&w, 400, "Choose the proof of performance (a document) to close it won.", NULL);
	struct rd_deal_change ch = { .step = RD_DEAL_STEP_WIN, .proof_name = proof->filename,
				     .proof_type = proof->type[0] ? proof->type : "application/octet-stream",
				     .proof = proof->data, .proof_len = proof->len };
	struct rd_actor who = actor_of(&w);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_change(w.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &x, &e);
	if (rc < 0 && e.code && strcmp(e.code, "internal"))
		return refused(&w, &e, partner_page);
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/partner/deals");
	return 0;
}

/* ---- the vendor console -------------------------------------------------------------------- */

static int vendor_page(struct web *w, int status, const char *error, const char *notice)
{
	const char *state = rd_req_query(w->req, "state");
	int want = 0; /* 0: to review (submitted); 7: all */
	if (state && !strcmp(state, "all"))
		want = 7;
	else if (state)
		for (int i = 1; i < 7; i++)
			if (!strcmp(state, state_text[i]))
				want = i;
	if (!want && !(state && !strcmp(state, "all")))
		want = RD_DEALREG_SUBMITTED;
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	bool may_change = rd_console_may(w, RD_RES_DEAL, RD_ACT_UPDATE);
	struct rd_deal_matcher *mt = NULL; /* read once, when the first report is asked for */
	json_t *rows = json_array();
	struct rd_dealreg *x = rd_malloc(sizeof *x);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, d->deals, w->c.who.vendor, 0);
	while (rc >= 0 && json_array_size(rows) < DEALS_SHOWN && (rc = rd_iter_next(&it, &item)) > 0) {
		/* to review: the submitted ones, and those whose partner asks for an extension */
		if (rd_entity_decode(&rd_entity_deal, item.val, item.len, x) < 0 ||
		    (want != 7 && x->state != want &&
		     !(want == RD_DEALREG_SUBMITTED && x->extension_requested_at && !x->next_id)))
			continue;
		json_t *row = row_of(t, w, x);
		json_t *report = NULL;
		if ((x->state == RD_DEALREG_SUBMITTED || x->state == RD_DEALREG_APPROVED) &&
		    (mt || rd_deal_matcher_new(t, d, w->c.who.vendor, &mt) == 0) &&
		    rd_deal_conflicts(t, d, w->c.who.vendor, x, mt, &report) == 0) {
			add_conflicts(row, "registrations", json_object_get(report, "registrations"), t, w);
			add_conflicts(row, "installed_base", json_object_get(report, "installed_base"), t, w);
			add_conflicts(row, "opportunities", json_object_get(report, "opportunities"), t, w);
			bool any = json_array_size(json_object_get(report, "registrations")) ||
				   json_array_size(json_object_get(report, "installed_base")) ||
				   json_array_size(json_object_get(report, "opportunities"));
			json_object_set_new(row, "checked", json_true());
			json_object_set_new(row, "conflict", json_boolean(any));
			json_decref(report);
		}
		json_object_set_new(row, "situation", json_string(x->situation));
		json_object_set_new(row, "notes", json_string(x->notes));
		json_object_set_new(row, "may_change", json_boolean(may_change));
		json_array_append_new(rows, row);
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	rd_deal_matcher_free(mt);
	free(x);
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(w, "Deal registrations", "/vendor/deals");
	json_t *choices = json_array();
	static const char *const values[] = { "submitted", "approved", "rejected", "won", "lost", "expired", "all" };
	static const char *const labels[] = { "To review", "Approved", "Rejected", "Won", "Lost", "Expired", "All" };
	for (int i = 0; i < 7; i++)
		json_array_append_new(choices, json_pack("{s:s, s:s, s:b}", "value", values[i], "label", labels[i],
							 "selected", i + 1 == want));
	json_object_set_new(ctx, "choices", choices);
	json_object_set_new(ctx, "deals", rows);
	json_object_set_new(ctx, "expiry_days", json_integer(w->vendor.deal_expiry_days ? w->vendor.deal_expiry_days
										      : RD_DEAL_EXPIRY_DAYS));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	rd_web_mark_lists(ctx);
	rd_console_page(w, status, "vendor_deals", ctx);
	return 0;
}

int rd_page_vendor_deals(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_READ))
		return 0;
	return vendor_page(&w, 200, NULL, NULL);
}

int rd_page_vendor_deal_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_DEAL, RD_ACT_UPDATE))
		return 0;
	const char *action = rd_form(req, "action");
	struct rd_deal_change ch = { 0 };
	if (action && !strcmp(action, "approve")) {
		ch.step = RD_DEAL_STEP_APPROVE;
		const char *until = rd_form(req, "expires_on");
		if (until && *until && rd_date_parse(until, &ch.expires_on) < 0)
			return vendor_page(&w, 400, "The expiry is a date (YYYY-MM-DD), or empty for the default.", NULL);
	} else if (action && !strcmp(action, "reject")) {
		ch.step = RD_DEAL_STEP_REJECT;
		ch.reason = rd_form(req, "reason");
	} else if (action && !strcmp(action, "extend")) {
		ch.step = RD_DEAL_STEP_EXTEND;
		const char *days = rd_form(req, "days");
		ch.days = days && *days ? (uint32_t)strtoul(days, NULL, 10) : 0;
		if (days && *days && (ch.days < 1 || ch.days > 3650))
			return vendor_page(&w, 400, "An extension is 1 to 3650 days, or empty for the default.", NULL);
	} else {
		return vendor_page(&w, 400, "Choose approve, reject or extend.", NULL);
	}
	struct rd_actor who = actor_of(&w);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_change(w.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &x, &e);
	if (rc < 0 && e.code && strcmp(e.code, "internal"))
		return refused(&w, &e, vendor_page);
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/vendor/deals");
	return 0;
}
