/*
 * orders.c: the API's order handlers.  Each parses the request, calls the
 * service that holds the rule and replies: placing an order
 * (services/orders.h), recording a payment and its capture (payments.h),
 * refunds (refunds.h), payment files (payfiles.h), gateway webhooks
 * (webhooks.h).  A service's refusal is replied by rd_reply_serr (edge).
 *   GET  /api/v1/orders                  ?state= &limit= &cursor=
 *   POST /api/v1/orders                  Idempotency-Key required
 *   GET  /api/v1/orders/{id}
 *   POST /api/v1/orders/{id}/payments    {amount, reference}: paid, then fulfilled
 *   POST /api/v1/orders/{id}/refund      {reason}: a paid order, in full
 *   POST /api/v1/orders/{id}/cancel      {reason}: an order not yet paid (cancel.h)
 *   POST /api/v1/orders/payments         text/csv: payments from a file, all or nothing
 *   POST /webhooks/payments/{plugin}     ?vendor=: a gateway's signed event (no session)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/orders.h"
#include "services/cancel.h"
#include "services/orders.h"
#include "services/payfiles.h"
#include "services/payments.h"
#include "services/refunds.h"
#include "services/webhooks.h"
#include "store/store.h"
#include "util/err.h"

/* ---- the API ------------------------------------------------------------------------------ */

static json_t *order_json(const struct rd_order *o)
{
	return rd_entity_to_json(&rd_entity_order, o);
}

static bool sees_order(struct call *c, enum rd_scope scope, const struct rd_order *o)
{
	return scope == RD_SCOPE_ALL || rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id);
}

struct order_filter {
	struct call *c;
	enum rd_scope scope;
	const char *state;
};

static json_t *order_row(void *ctx, const void *obj)
{
	const struct order_filter *f = ctx;
	return sees_order(f->c, f->scope, obj) ? rd_page_if(order_json(obj), "state", f->state) : NULL;
}

int rd_api_orders_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_ORDER, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "state", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0 || rd_page_enum_field(&pg, "state", &rd_entity_order, "state") < 0)
		return 0;
	struct order_filter f = { &c, scope, rd_req_query(req, "state") };
	/* a partner's own: the reseller and distributor indexes (sees_order) */
	static const char *const own[] = { RD_IDX_PARTNER_RESELLER, RD_IDX_PARTNER_DISTRIBUTOR };
	if (scope != RD_SCOPE_ALL)
		return rd_page_records_scoped(&pg, &c, c.app->domain->orders, &rd_entity_order, own, 2, order_row, &f);
	return rd_page_records(&pg, &c, c.app->domain->orders, &rd_entity_order, order_row, &f);
}

/* Reads an order the caller may see; replies 404 otherwise. */
static int load_order(struct call *c, enum rd_scope scope, struct rd_order *o)
{
	uint64_t id = rd_parse_id(rd_req_param(c->req, "id"));
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rc;
	rc = id ? rd_entity_get(t, c->app->domain->orders, &rd_entity_order, c->who.vendor, id, o) : RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc == 0 && !sees_order(c, scope, o))
		rc = RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND)
		rd_reply_error(c->req, 404, "not_found", "id", "no such order");
	return rc;
}

int rd_api_order_get(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_ORDER, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_order *o = rd_malloc(sizeof *o);
	int rc = load_order(&c, scope, o);
	if (rc == 0)
		rd_reply_json(req, 200, order_json(o));
	free(o);
	return rc == RD_ENOTFOUND ? 0 : rc;
}

static void api_placed(const struct rd_order_answer *a, void *arg)
{
	struct rd_hold *h = arg;
	struct rd_req *req = rd_hold_req(h);
	if (req && a->err.rc == 0)
		rd_reply_json(req, a->created ? 201 : 200, order_json(&a->order));
	else if (req)
		rd_reply_serr(req, &a->err);
	rd_hold_free(h);
}

/* The body of POST /api/v1/orders into ask; replies 400 and returns false. */
static bool order_body(struct rd_req *req, json_t *body, struct rd_order_ask *ask)
{
	const char *key, *bad = NULL;
	json_t *v;
	json_object_foreach(body, key, v)
		if (strcmp(key, "opportunity_id") && strcmp(key, "payment_option") && strcmp(key, "po_number") &&
		    strcmp(key, "card_token") && !bad)
			bad = key;
	json_t *opp = json_object_get(body, "opportunity_id"), *opt = json_object_get(body, "payment_option"),
	       *po = json_object_get(body, "po_number");
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown field (opportunity_id, payment_option, po_number, card_token)");
		return false;
	}
	json_t *card = json_object_get(body, "card_token");
	const char *ct = json_string_value(card);
	if (card && !json_is_null(card) && (!ct || !rd_order_text_ok(ct, sizeof ask->card_token) || strchr(ct, ' ') ||
					    strspn(ct, "0123456789") == strlen(ct))) {
		rd_reply_error(req, 400, "invalid", "card_token",
			       "card_token is the card gateway's token for the card, never a card number");
		return false;
	}
	snprintf(ask->card_token, sizeof ask->card_token, "%s", ct ?: "");
	if (!json_is_integer(opp) || json_integer_value(opp) <= 0) {
		rd_reply_error(req, 400, "invalid", "opportunity_id", "opportunity_id is the id of an accepted quote");
		return false;
	}
	if (!json_is_string(opt) || !rd_order_text_ok(json_string_value(opt), sizeof ask->option)) {
		rd_reply_error(req, 400, "invalid", "payment_option", "payment_option names a payment option, e.g. purchase_order");
		return false;
	}
	if (po && !json_is_null(po) && (!json_is_string(po) || (json_string_length(po) &&
					!rd_order_text_ok(json_string_value(po), sizeof ask->po_number)))) {
		rd_reply_error(req, 400, "invalid", "po_number", "po_number is text of up to 63 bytes, without control characters");
		return false;
	}
	ask->opportunity_id = (uint64_t)json_integer_value(opp);
	snprintf(ask->option, sizeof ask->option, "%s", json_string_value(opt));
	snprintf(ask->po_number, sizeof ask->po_number, "%s", json_string_value(po) ?: "");
	return true;
}

int rd_api_orders_create(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_ORDER, RD_ACT_CREATE)) == RD_SCOPE_NONE)
		return 0;
	const char *key = rd_req_header(req, "idempotency-key");
	if (!key || !rd_order_text_ok(key, 128) || strchr(key, ' ')) {
		rd_reply_error(req, 400, "invalid", "Idempotency-Key",
			       "an Idempotency-Key header (1-127 characters, no spaces) is required: a retry sends the same one");
		return 0;
	}
	json_t *body;
	if (rd_req_json(req, &body) < 0)
		return 0;
	struct rd_order_ask ask = { 0 };
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	bool ok = order_body(req, body, &ask);
	json_decref(body);
	if (!ok)
		return 0;
	snprintf(ask.key, sizeof ask.key, "%s", key);
	if (scope == RD_SCOPE_OWN) { /* a partner orders its own customers' quotes only */
		struct rd_txn *t;
		struct rd_opportunity *o = rd_malloc(sizeof *o);
		int rc = rd_store_read(c.app->store, &t);
		if (rc < 0) {
			free(o);
			return rc;
		}
		rc = rd_call_opportunity(&c, scope, t, ask.opportunity_id, o);
		rd_txn_end(t);
		free(o);
		if (rc < 0 && rc != RD_ENOTFOUND)
			return rc; /* the store failed: 503, not "no such opportunity" */
		if (rc < 0) {
			rd_reply_error(req, 400, "invalid", "opportunity_id", "there is no such opportunity");
			return 0;
		}
	}
	struct rd_hold *h = rd_req_hold(req);
	int rc = rd_order_place(c.app, &who, &ask, api_placed, h);
	if (rc < 0)
		rd_hold_free(h);
	return rc;
}

/* ---- recording a payment (services/payments.h) ------------------------------------------- */

int rd_api_order_payment(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_ORDER, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	json_t *body, *v;
	if (rd_req_json(req, &body) < 0)
		return 0;
	const char *key, *bad = NULL;
	json_object_foreach(body, key, v)
		if (strcmp(key, "amount") && strcmp(key, "reference") && !bad)
			bad = key;
	json_t *amount = json_object_get(body, "amount"), *ref = json_object_get(body, "reference");
	char reference[sizeof ((struct rd_order *)0)->paid_reference] = "";
	if (bad)
		rd_reply_error(req, 400, "invalid", bad, "unknown field (amount, reference)");
	else if (!json_is_integer(amount) || json_integer_value(amount) <= 0)
		rd_reply_error(req, 400, "invalid", "amount", "amount is a positive whole number of minor units");
	else if (!json_is_string(ref) || !rd_order_text_ok(json_string_value(ref), sizeof reference))
		rd_reply_error(req, 400, "invalid", "reference", "reference is text of 1-127 bytes, without control characters");
	else
		snprintf(reference, sizeof reference, "%s", json_string_value(ref));
	int64_t n = json_integer_value(amount);
	json_decref(body);
	if (!reference[0])
		return 0;
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_payment_answer *a = rd_malloc(sizeof *a);
	int rc = rd_payment_record(c.app, &who, rd_parse_id(rd_req_param(req, "id")), n, reference, a);
	if (rc == 0)
		rd_reply_json(req, 200, order_json(&a->order));
	else if (a->err.code)
		rd_reply_serr(req, &a->err);
	if (a->err.code)
		rc = 0; /* replied */
	free(a);
	return rc;
}

/* ---- refunds (services/refunds.h) ------------------------------------------------------------ */

static void api_refunded(const struct rd_refund_answer *a, void *arg)
{
	struct rd_hold *h = arg;
	struct rd_req *req = rd_hold_req(h);
	if (req && a->err.rc == 0)
		rd_reply_json(req, 200, order_json(&a->order));
	else if (req)
		rd_reply_serr(req, &a->err);
	rd_hold_free(h);
}

/* The body of a refund or a cancel, {"reason"}: the reason in out (text:
 * a string that fits; else the service names the field), or -1 when the
 * body is refused (answered: not JSON, an unknown field). */
static int reason_body(struct rd_req *req, char out[128], bool *text)
{
	json_t *body, *v;
	if (rd_req_json(req, &body) < 0)
		return -1;
	const char *key, *bad = NULL;
	json_object_foreach(body, key, v)
		if (strcmp(key, "reason") && !bad)
			bad = key;
	json_t *r = json_object_get(body, "reason");
	*text = json_is_string(r) && json_string_length(r) < 128;
	snprintf(out, 128, "%s", *text ? json_string_value(r) : "");
	if (bad)
		rd_reply_error(req, 400, "invalid", bad, "unknown field (reason)");
	json_decref(body);
	return bad ? -1 : 0;
}

/* The start of a vendor's action on an order with a {"reason"} body
 * (refund, cancel): the caller may update every order of the vendor (else
 * 403 naming what only the vendor's people do), the body is read; false:
 * answered already. */
static bool vendor_order_action(struct rd_req *req, struct call *c, const char *only, struct rd_actor *who,
				char reason[128], bool *text)
{
	enum rd_scope scope;
	if (rd_call_begin(req, c) < 0 || (scope = rd_call_allow(c, RD_RES_ORDER, RD_ACT_UPDATE)) == RD_SCOPE_NONE)
		return false;
	if (scope != RD_SCOPE_ALL) {
		rd_reply_error(req, 403, "forbidden", NULL, "only the vendor's people %s", only);
		return false;
	}
	if (reason_body(req, reason, text) < 0)
		return false;
	*who = (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user };
	return true;
}

/* POST /api/v1/orders/{id}/refund {"reason"}: a paid order, in full. */
int rd_api_order_refund(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	char reason[128];
	bool text;
	if (!vendor_order_action(req, &c, "refund orders", &who, reason, &text))
		return 0;
	struct rd_hold *h = rd_req_hold(req);
	int rc = rd_refund(c.app, &who, rd_parse_id(rd_req_param(req, "id")), 0, text ? reason : NULL, api_refunded, h);
	if (rc < 0)
		rd_hold_free(h);
	return rc;
}

/* ---- cancelling (services/cancel.h) ------------------------------------------------------- */

/* POST /api/v1/orders/{id}/cancel {"reason"}: an order not yet paid. */
int rd_api_order_cancel(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	char reason[128];
	bool text;
	if (!vendor_order_action(req, &c, "cancel orders", &who, reason, &text))
		return 0;
	struct rd_cancel_answer *a = rd_malloc(sizeof *a);
	int rc = rd_order_cancel(c.app, &who, rd_parse_id(rd_req_param(req, "id")), text ? reason : NULL, a);
	if (rc == 0)
		rd_reply_json(req, 200, order_json(&a->order));
	else if (a->err.code)
		rd_reply_serr(req, &a->err);
	if (a->err.code)
		rc = 0; /* replied */
	free(a);
	return rc;
}

/* ---- payments from a file (services/payfiles.h) ------------------------------------------- */

/* POST /api/v1/orders/payments, text/csv with the columns order, amount and
 * reference: recorded all or nothing; 422 names every wrong row. */
int rd_api_order_payments_file(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_ORDER, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	const char *ct = rd_req_header(req, "content-type");
	if (!ct || strncasecmp(ct, "text/csv", 8) != 0) {
		rd_reply_error(req, 415, "unsupported_media_type", "content-type", "send the payments as text/csv");
		return 0;
	}
	size_t len = 0;
	const char *body = rd_req_body(req, &len);
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_payfile_answer a;
	int rc = rd_payfile_apply(c.app, &who, body, len, &a);
	if (rc == 0) {
		json_t *items = json_array();
		for (size_t i = 0; i < a.n_items; i++)
			json_array_append_new(items, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)a.items[i].row, "order",
							       a.items[i].order, "result", a.items[i].unchanged ? "unchanged" : "paid"));
		rd_reply_json(req, 200, json_pack("{s:I, s:I, s:o}", "rows", (json_int_t)a.rows, "paid", (json_int_t)a.paid,
						  "items", items));
	} else if (a.err.code) {
		json_t *rows = json_array();
		for (size_t i = 0; i < a.n_errors; i++)
			json_array_append_new(rows, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)a.errors[i].row, "field",
							      a.errors[i].field, "message", a.errors[i].message));
		rd_reply_json(req, rd_serr_status(a.err.rc),
			      json_pack("{s:{s:s, s:s, s:s, s:o}}", "error", "code", a.err.code, "message", a.err.message,
					"field", a.err.field, "rows", rows));
		rc = 0;
	}
	rd_payfile_answer_clear(&a);
	return rc;
}

/* ---- gateway webhooks (services/webhooks.h) ------------------------------------------------ */

static void api_hooked(const struct rd_webhook_answer *a, void *arg)
{
	struct rd_hold *h = arg;
	struct rd_req *req = rd_hold_req(h);
	if (!req) {
	} else if (a->err.rc) {
		if (a->err.rc == RD_EBUSY)
			rd_reply_header(req, "retry-after", "1");
		rd_reply_serr(req, &a->err);
	} else if (a->ignored) {
		rd_reply_json(req, 200, json_pack("{s:b, s:s}", "received", 1, "result", a->result));
	} else {
		json_t *j = json_pack("{s:b, s:s, s:s}", "received", 1, "result", a->result, "order", a->order_ref);
		if (a->order.id) {
			json_t *o = order_json(&a->order);
			json_object_set(j, "state", json_object_get(o, "state"));
			json_decref(o);
		}
		rd_reply_json(req, 200, j);
	}
	rd_hold_free(h);
}

/* POST /webhooks/payments/{plugin}?vendor=ID: no session; the plugin
 * verifies the gateway's signature with the vendor's webhook secret. */
int rd_api_payment_webhook(struct rd_req *req)
{
	struct rd_actor who = { .vendor = rd_parse_id(rd_req_query(req, "vendor")) };
	size_t len = 0;
	const void *body = rd_req_body(req, &len);
	const char *sig = rd_req_header(req, "gateway-signature");
	if (!sig)
		sig = rd_req_header(req, "stripe-signature");
	struct rd_hold *h = rd_req_hold(req);
	int rc = rd_webhook_receive(rd_req_app(req), &who, rd_req_param(req, "plugin"), body, len, sig, api_hooked, h);
	if (rc < 0)
		rd_hold_free(h);
	return rc;
}
