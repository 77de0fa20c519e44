/*
 * console_orders.c: the console's orders, for the vendor's roles.
 *   GET  /vendor/orders[?state=&option=&partner=&from=&to=&cursor=]
 *        the vendor's orders, newest first, with their totals per currency
 *        over every order the filter matches (never summed across currencies)
 *   GET  /vendor/orders/{id}                 one order: its lines, payment, links to
 *                                            its contract, customer and quote
 *   POST /vendor/orders/{id}/payment         amount (major units), reference: a PO or
 *                                            Bill Me Later payment (services/payments.h)
 *   POST /vendor/orders/{id}/refund          reason (services/refunds.h)
 * Reading is the role matrix's (orders: read); recording and refunding
 * need orders: update with the vendor's scope, as POST
 * /api/v1/orders/{id}/payments and /refund do.  Every form carries the
 * session's CSRF token; bad input is answered with the form again and a
 * sentence naming the field.
 * Also here: the helpers of console_work.h.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "services/payments.h"
#include "services/refunds.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

#define ORDER_ROWS 100

/* ---- helpers (console_work.h) ------------------------------------------------------------ */

void rd_totals_add(struct rd_totals *t, const char *currency, int64_t amount)
{
	unsigned i = 0;
	while (i < t->n && strcmp(t->currency[i], currency))
		i++;
	if (i == t->n) {
		if (t->n == RD_TOTALS_MAX) {
			t->overflow = true;
			return;
		}
		snprintf(t->currency[i], sizeof t->currency[i], "%s", currency);
		t->sum[i] = 0;
		t->count[i] = 0;
		t->n++;
	}
	if (rd_money_add(t->sum[i], amount, &t->sum[i]) < 0)
		t->overflow = true;
	t->count[i]++;
}

json_t *rd_totals_json(const struct rd_totals *t)
{
	unsigned order[RD_TOTALS_MAX];
	for (unsigned i = 0; i < t->n; i++)
		order[i] = i;
	for (unsigned i = 1; i < t->n; i++) /* by currency code */
		for (unsigned j = i; j > 0 && strcmp(t->currency[order[j - 1]], t->currency[order[j]]) > 0; j--) {
			unsigned x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	json_t *a = json_array();
	for (unsigned k = 0; k < t->n; k++) {
		unsigned i = order[k];
		json_array_append_new(a, json_pack("{s:s, s:o, s:I}", "currency", t->currency[i], "amount",
						   rd_money_json(t->sum[i], t->currency[i]), "count", (json_int_t)t->count[i]));
	}
	return a;
}

int rd_form_amount(const char *s, const char *currency, int64_t *out)
{
	int exp = rd_money_exponent(currency), decimals = -1;
	int64_t v = 0;
	bool digit = false;
	if (!s)
		return -1;
	while (*s == ' ')
		s++;
	for (; *s && *s != ' '; s++) {
		if (*s >= '0' && *s <= '9') {
			if (decimals >= 0 && ++decimals > exp)
				return -1;
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*s - '0');
			digit = true;
		} else if (*s == ',' && decimals < 0 && digit) {
			continue;
		} else if (*s == '.' && decimals < 0 && exp > 0) {
			decimals = 0;
		} else {
			return -1;
		}
	}
	while (*s == ' ')
		s++;
	if (*s || !digit)
		return -1;
	for (int i = decimals < 0 ? 0 : decimals; i < exp; i++) {
		if (v > INT64_MAX / 10)
			return -1;
		v *= 10;
	}
	*out = v;
	return 0;
}

struct rd_actor rd_console_actor(const struct web *w)
{
	return (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user,
				  .partner = rd_role_is_partner(w->c.who.role) ? w->c.who.partner : 0 };
}

/* ---- the list --------------------------------------------------------------------------------- */

static const char *const state_words[] = { "created", "awaiting_payment", "paid", "failed", "cancelled",
					   "fulfilled", "refunded", NULL };

/* A payment option's name: lower-case letters, digits and _, 1-31 bytes. */
static bool option_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 31)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

struct order_filter {
	int state;          /* 0: any */
	const char *option; /* NULL: any */
	uint64_t partner;   /* reseller or distributor; 0: any */
	rd_date from, to;   /* created on or after / on or before; 0: open */
};

static bool order_matches(const struct order_filter *f, const struct rd_order *o)
{
	rd_date day = (rd_date)(o->created_at / 86400);
	return (!f->state || o->state == f->state) && (!f->option || !strcmp(o->payment_option, f->option)) &&
	       (!f->partner || o->reseller_id == f->partner || o->distributor_id == f->partner) &&
	       (!f->from || day >= f->from) && (!f->to || day <= f->to);
}

/* The filter from the query: 0, or the field at fault in *field. */
static int read_filter(struct rd_req *req, struct order_filter *f, const char **field)
{
	memset(f, 0, sizeof *f);
	const char *s;
	if ((s = rd_req_query(req, "state")) && *s) {
		for (int i = 0; state_words[i]; i++)
			if (!strcmp(s, state_words[i]))
				f->state = i + 1;
		if (!f->state)
			return *field = "state", -1;
	}
	if ((s = rd_req_query(req, "option")) && *s) {
		if (!option_ok(s))
			return *field = "option", -1;
		f->option = s;
	}
	if ((s = rd_req_query(req, "partner")) && *s && !(f->partner = rd_parse_id(s)))
		return *field = "partner", -1;
	if ((s = rd_req_query(req, "from")) && *s && rd_date_parse(s, &f->from) < 0)
		return *field = "from", -1;
	if ((s = rd_req_query(req, "to")) && *s && rd_date_parse(s, &f->to) < 0)
		return *field = "to", -1;
	if (f->from && f->to && f->to < f->from)
		return *field = "to", -1;
	return 0;
}

static const char *state_text(uint8_t s)
{
	static const char *const t[] = { "", "created", "awaiting payment", "paid", "failed", "cancelled", "fulfilled",
					 "refunded" };
	return s < 8 ? t[s] : "";
}

static json_t *order_row(struct rd_txn *t, struct web *w, const struct rd_order *o)
{
	struct rd_customer cu;
	struct rd_partner pa;
	char due[11] = "";
	if (o->due_date)
		rd_date_format(o->due_date, due);
	return json_pack("{s:I, s:s, s:o, s:I, s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I}", "id", (json_int_t)o->id,
			 "number", o->number, "created", rd_console_time_json(o->created_at), "customer_id",
			 (json_int_t)o->customer_id, "customer", rd_console_customer_name(t, w, o->customer_id, &cu),
			 "reseller_id", (json_int_t)o->reseller_id, "reseller",
			 rd_console_partner_name(t, w, o->reseller_id, &pa), "option", o->payment_option, "po_number",
			 o->po_number, "total", rd_money_json(o->total, o->currency), "state", state_text(o->state), "due", due,
			 "contract_id", (json_int_t)o->contract_id, "opportunity_id", (json_int_t)o->opportunity_id);
}

static json_t *select_of(const char *const *values, const char *chosen)
{
	json_t *a = json_array();
	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "", "label", "all", "selected", !chosen || !*chosen));
	for (int i = 0; values[i]; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", values[i], "label", values[i], "selected",
						   chosen && !strcmp(chosen, values[i])));
	return a;
}

static int orders_list(struct web *w, int status, const char *error)
{
	struct order_filter f;
	const char *field = NULL;
	bool bad = read_filter(w->req, &f, &field) < 0;
	uint64_t cursor = 0;
	const char *cs = rd_req_query(w->req, "cursor");
	if (cs && *cs && !(cursor = rd_parse_id(cs)))
		bad = true, field = "cursor";
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	json_t *rows = json_array(), *partners = json_array();
	struct rd_totals totals = { 0 };
	struct rd_iter it;
	struct rd_item item;
	struct rd_order *o = rd_malloc(sizeof *o);
	uint64_t next = 0, matched = 0;
	if (!bad) {
		/* Newest first: collect the ids of the matches, then the page. */
		rc = rd_iter_records(&it, t, d->orders, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0 || !order_matches(&f, o))
				continue;
			matched++;
			rd_totals_add(&totals, o->currency, o->total);
		}
		rd_iter_close(&it);
		/* The page: ids below the cursor, descending. */
		uint64_t *ids = NULL;
		size_t n = 0, cap = 0;
		if (rc >= 0)
			rc = rd_iter_records(&it, t, d->orders, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if ((cursor && item.id >= cursor) ||
			    rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0 || !order_matches(&f, o))
				continue;
			if (n == cap)
				ids = rd_realloc(ids, (cap = cap ? 2 * cap : 64) * sizeof *ids);
			ids[n++] = item.id;
		}
		if (rc >= 0)
			rd_iter_close(&it);
		for (size_t i = n; rc >= 0 && i > 0 && json_array_size(rows) < ORDER_ROWS; i--)
			if (rd_entity_get(t, d->orders, &rd_entity_order, w->c.who.vendor, ids[i - 1], o) == 0) {
				json_array_append_new(rows, order_row(t, w, o));
				if (json_array_size(rows) == ORDER_ROWS && i > 1)
					next = ids[i - 1];
			}
		free(ids);
	}
	struct rd_partner *p = rd_malloc(sizeof *p);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->partners, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_partner, item.val, item.len, p) == 0)
			json_array_append_new(partners, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)p->id, "name", p->name,
								  "selected", p->id == f.partner));
	if (rc >= 0)
		rd_iter_close(&it);
	free(p);
	free(o);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(rows);
		json_decref(partners);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(w, "Orders", "/vendor/orders");
	char msg[200];
	if (bad) {
		static const struct {
			const char *field, *text;
		} why[] = {
			{ "state", "state: choose one of the order states listed" },
			{ "option", "option: a payment option is a word such as purchase_order or bill_me_later" },
			{ "partner", "partner: choose one of the partners listed" },
			{ "from", "from: a date as YYYY-MM-DD" },
			{ "to", "to: a date as YYYY-MM-DD, not before from" },
			{ "cursor", "cursor: the page to show, from a Next page link" },
		};
		for (size_t i = 0; i < sizeof why / sizeof *why; i++)
			if (!strcmp(why[i].field, field))
				snprintf(msg, sizeof msg, "Please correct the filter: %s.", why[i].text);
		error = msg;
		status = 400;
		json_object_set_new(ctx, "error_field", json_string(field));
	}
	const char *q_state = rd_req_query(w->req, "state"), *q_option = rd_req_query(w->req, "option");
	static const char *const options[] = { "purchase_order", "bill_me_later", "card", NULL };
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "totals", rd_totals_json(&totals));
	json_object_set_new(ctx, "totals_overflow", json_boolean(totals.overflow));
	json_object_set_new(ctx, "matched", json_integer((json_int_t)matched));
	json_object_set_new(ctx, "states", select_of(state_words, q_state));
	json_object_set_new(ctx, "options", select_of(options, q_option));
	json_object_set_new(ctx, "partners", partners);
	char from[11] = "", to[11] = "";
	if (f.from)
		rd_date_format(f.from, from);
	if (f.to)
		rd_date_format(f.to, to);
	json_object_set_new(ctx, "from", json_string(from));
	json_object_set_new(ctx, "to", json_string(to));
	if (next) {
		/* The filter as it was (each value checked above), then the cursor. */
		char url[400], part[80];
		snprintf(url, sizeof url, "/vendor/orders?");
		if (f.state)
			snprintf(part, sizeof part, "state=%s&", state_words[f.state - 1]), strncat(url, part, sizeof url - strlen(url) - 1);
		if (f.option)
			snprintf(part, sizeof part, "option=%s&", f.option), strncat(url, part, sizeof url - strlen(url) - 1);
		if (f.partner)
			snprintf(part, sizeof part, "partner=%llu&", (unsigned long long)f.partner),
				strncat(url, part, sizeof url - strlen(url) - 1);
		if (f.from)
			snprintf(part, sizeof part, "from=%s&", from), strncat(url, part, sizeof url - strlen(url) - 1);
		if (f.to)
			snprintf(part, sizeof part, "to=%s&", to), strncat(url, part, sizeof url - strlen(url) - 1);
		snprintf(part, sizeof part, "cursor=%llu", (unsigned long long)next);
		strncat(url, part, sizeof url - strlen(url) - 1);
		json_object_set_new(ctx, "next", json_string(url));
	}
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_console_page(w, status, "vendor_orders", ctx);
	return 0;
}

int rd_page_vendor_orders(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_ORDER, RD_ACT_READ))
		return 0;
	return orders_list(&w, 200, NULL);
}

/* ---- one order -------------------------------------------------------------------------------- */

static bool may_settle(struct web *w)
{
	return rd_authz(w->c.who.role, RD_RES_ORDER, RD_ACT_UPDATE) == RD_SCOPE_ALL;
}

/* The order page; error and field: the last form's refusal. */
static int order_page(struct web *w, uint64_t id, int status, const char *error, const char *field)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	struct rd_order *o = rd_malloc(sizeof *o);
	rc = rd_entity_get(t, d->orders, &rd_entity_order, w->c.who.vendor, id, o);
	if (rc == RD_ENOTFOUND) {
		rd_txn_end(t);
		free(o);
		rd_web_message(w, 404, "Not found", "There is no such order.");
		return 0;
	}
	if (rc < 0) {
		rd_txn_end(t);
		free(o);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(w, o->number, "/vendor/orders");
	json_t *order = order_row(t, w, o), *lines = json_array();
	struct rd_partner pa;
	json_object_set_new(order, "distributor", json_string(rd_console_partner_name(t, w, o->distributor_id, &pa)));
	json_object_set_new(order, "distributor_id", json_integer((json_int_t)o->distributor_id));
	json_object_set_new(order, "new_contract_id", json_integer((json_int_t)o->new_contract_id));
	json_object_set_new(order, "publish", json_string(o->publish == RD_PUBLISH_PARTNER ? "the partner sells"
											     : "the vendor sells"));
	json_object_set_new(order, "paid", rd_console_time_json(o->paid_at));
	json_object_set_new(order, "paid_reference", json_string(o->paid_reference));
	json_object_set_new(order, "paid_amount",
			    o->paid_amount ? rd_money_json(o->paid_amount, o->currency) : json_string(""));
	json_object_set_new(order, "payment_message", json_string(o->payment_message));
	json_object_set_new(order, "invoice_number", json_string(o->invoice_number));
	json_object_set_new(order, "discount", o->discount_bp ? rd_bp_json(o->discount_bp) : json_string(""));
	for (int i = 0; i < o->n_lines && i < RD_QUOTE_MAX_LINES; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		json_array_append_new(lines, json_pack("{s:s, s:s, s:I, s:o, s:o}", "sku", l->sku, "description",
						       l->description, "quantity", (json_int_t)l->quantity, "unit",
						       rd_money_json(l->unit_list, o->currency), "amount",
						       rd_money_json(l->list, o->currency)));
	}
	rd_txn_end(t);
	json_object_set_new(order, "lines", lines);
	bool settle = may_settle(w);
	if (settle && o->state == RD_ORDER_AWAITING_PAYMENT) {
		char dec[48];
		rd_money_decimal(o->total, o->currency, dec, sizeof dec);
		const char *typed = rd_form(w->req, "amount");
		json_object_set_new(ctx, "pay", json_pack("{s:s, s:s, s:s}", "amount", error && typed ? typed : dec,
							  "currency", o->currency, "reference",
							  error && rd_form(w->req, "reference") ? rd_form(w->req, "reference") : ""));
	}
	if (settle && (o->state == RD_ORDER_PAID || o->state == RD_ORDER_FULFILLED))
		json_object_set_new(ctx, "refund", json_true());
	json_object_set_new(ctx, "order", order);
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (field)
		json_object_set_new(ctx, "error_field", json_string(field));
	free(o);
	rd_console_page(w, status, "vendor_order", ctx);
	return 0;
}

int rd_page_vendor_order(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_ORDER, RD_ACT_READ))
		return 0;
	return order_page(&w, rd_parse_id(rd_req_param(req, "id")), 200, NULL, NULL);
}

/* A service's refusal as a sentence naming the field. */
static void serr_text(const struct rd_serr *e, char *out, size_t cap)
{
	if (e->field)
		snprintf(out, cap, "%s: %s", e->field, e->message);
	else
		snprintf(out, cap, "%s", e->message);
}

/* Whether the role may record payments and refund (orders: update, the
 * vendor's scope): answers 403 otherwise. */
static bool settle_allowed(struct web *w)
{
	if (!rd_console_allowed(w, RD_RES_ORDER, RD_ACT_UPDATE))
		return false;
	if (may_settle(w))
		return true;
	rd_web_message(w, 403, "Not allowed", "Only the vendor's people record payments and refund orders.");
	return false;
}

int rd_page_vendor_order_payment(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !settle_allowed(&w))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_order *o = rd_malloc(sizeof *o);
	rc = rd_entity_get(t, w.app->domain->orders, &rd_entity_order, w.c.who.vendor, id, o);
	rd_txn_end(t);
	char currency[4];
	snprintf(currency, sizeof currency, "%s", rc == 0 ? o->currency : "");
	free(o);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such order.");
		return 0;
	}
	if (rc < 0)
		return rc;
	int64_t amount;
	const char *reference = rd_form(req, "reference");
	char text[320];
	if (rd_form_amount(rd_form(req, "amount"), currency, &amount) < 0 || amount <= 0) {
		snprintf(text, sizeof text, "amount: the amount paid, in %s, as a positive number such as 1234.50", currency);
		return order_page(&w, id, 400, text, "amount");
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_payment_answer *a = rd_malloc(sizeof *a);
	rc = rd_payment_record(w.app, &who, id, amount, reference ? reference : "", a);
	if (rc < 0 && a->err.code) {
		serr_text(&a->err, text, sizeof text);
		int status = rd_serr_status(a->err.rc);
		const char *field = a->err.field;
		free(a);
		return order_page(&w, id, status, text, field);
	}
	free(a);
	if (rc < 0)
		return rc;
	char to[64];
	snprintf(to, sizeof to, "/vendor/orders/%llu", (unsigned long long)id);
	rd_web_redirect(req, to);
	return 0;
}

struct refund_ctx {
	struct rd_hold *hold;
	struct web w;
	uint64_t id;
};

static void refunded(const struct rd_refund_answer *a, void *arg)
{
	struct refund_ctx *r = arg;
	struct rd_req *req = rd_hold_req(r->hold);
	if (req) {
		r->w.req = req;
		if (a->err.rc == 0) {
			char to[64];
			snprintf(to, sizeof to, "/vendor/orders/%llu", (unsigned long long)r->id);
			rd_web_redirect(req, to);
		} else {
			char text[320];
			serr_text(&a->err, text, sizeof text);
			if (order_page(&r->w, r->id, rd_serr_status(a->err.rc), text, a->err.field) < 0)
				rd_web_message(&r->w, 500, "Something went wrong", "The order could not be shown.");
		}
	}
	rd_hold_free(r->hold);
	free(r);
}

int rd_page_vendor_order_refund(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !settle_allowed(&w))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	const char *reason = rd_form(req, "reason");
	struct refund_ctx *r = rd_malloc(sizeof *r);
	r->w = w;
	r->id = id;
	r->hold = rd_req_hold(req);
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	int rc = rd_refund(w.app, &who, id, 0, reason && *reason ? reason : NULL, refunded, r);
	if (rc < 0) {
		rd_hold_free(r->hold);
		free(r);
	}
	return rc;
}
