/*
 * deals.c: the API of deal registration; the rules are the service's
 * (services/deals.h).
 *
 *   GET  /api/v1/deals[?state=S]           the registrations (a partner: its own)
 *   POST /api/v1/deals                     register (or resubmit: previous_id)
 *   GET  /api/v1/deals/{id}                one; the vendor's people see its conflict report
 *   POST /api/v1/deals/{id}/approve        {expires_on?}
 *   POST /api/v1/deals/{id}/reject         {reason}
 *   POST /api/v1/deals/{id}/extend         {days?}
 *   POST /api/v1/deals/{id}/extension-request   the partner asks for an extension
 *   POST /api/v1/deals/{id}/lose           {reason}
 *   POST /api/v1/deals/{id}/win?name=N     the body is the proof of performance
 *   GET  /api/v1/deals/{id}/proof          that document
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/deals.h"
#include "api/documents.h"
#include "http/http.h"
#include "services/deals.h"
#include "store/store.h"
#include "util/err.h"

static struct rd_actor actor_of(const struct call *c)
{
	return (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user,
				  .partner = rd_role_is_partner(c->who.role) ? c->who.partner : 0 };
}

static int reply_deal(struct call *c, int status, const struct rd_dealreg *x, bool conflicts)
{
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *j = rd_deal_json(t, c->app->domain, c->who.vendor, x);
	json_t *report = NULL;
	if (conflicts && (rc = rd_deal_conflicts(t, c->app->domain, c->who.vendor, x, NULL, &report)) == 0)
		json_object_set_new(j, "conflicts", report);
	rd_txn_end(t);
	if (rc < 0 && rc != RD_ENOTFOUND) {
		json_decref(j);
		return rc;
	}
	rd_reply_json(c->req, status, j);
	return 0;
}

/* ---- list and read ------------------------------------------------------------------------- */

struct list_ctx {
	struct call *c;
	struct rd_txn *t;
	const char *state;
	bool own;
};

static json_t *deal_row(void *ctx, const void *obj)
{
	struct list_ctx *l = ctx;
	const struct rd_dealreg *x = obj;
	if (l->own && x->partner_id != l->c->who.partner)
		return NULL;
	return rd_page_if(rd_entity_to_json(&rd_entity_deal, x), "state", l->state);
}

int rd_api_deals_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_DEAL, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "state", NULL };
	const char *state = rd_req_query(req, "state");
	static const char *const states[] = { "submitted", "approved", "rejected", "won", "lost", "expired", NULL };
	if (state) {
		bool ok = false;
		for (size_t i = 0; states[i]; i++)
			ok |= !strcmp(state, states[i]);
		if (!ok) {
			rd_reply_error(req, 400, "invalid", "state", "state is submitted, approved, rejected, won, lost or expired");
			return 0;
		}
	}
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0)
		return 0;
	struct list_ctx l = { &c, NULL, state, scope == RD_SCOPE_OWN || rd_role_is_partner(c.who.role) };
	static const char *const own[] = { RD_IDX_PARTNER }; /* deal_row: the caller's partner's */
	if (l.own)
		return rd_page_records_scoped(&pg, &c, c.app->domain->deals, &rd_entity_deal, own, 1, deal_row, &l);
	return rd_page_records(&pg, &c, c.app->domain->deals, &rd_entity_deal, deal_row, &l);
}

int rd_api_deal_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_DEAL, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	struct rd_actor who = actor_of(&c);
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_dealreg x;
	rc = rd_deal_get(t, c.app->domain, &who, rd_parse_id(rd_req_param(req, "id")), &x);
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such deal registration");
		return 0;
	}
	if (rc < 0)
		return rc;
	return reply_deal(&c, 200, &x, !who.partner);
}

/* ---- register ------------------------------------------------------------------------------ */

static bool get_id(json_t *body, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(body, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static const char *get_str(json_t *o, const char *key, bool *bad)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

int rd_api_deals_create(struct rd_req *req)
{
	struct call c;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_DEAL, RD_ACT_CREATE) == RD_SCOPE_NONE ||
	    rd_req_json(req, &body) < 0)
		return 0;
	static const char *const known[] = { "partner_id", "customer_id", "customer", "products", "seats",
					     "expected_value", "currency", "close_date", "situation", "notes",
					     "previous_id", NULL };
	const char *field = NULL, *why = NULL, *key;
	json_t *val;
	if (!json_is_object(body)) {
		why = "a registration is a JSON object";
	} else {
		json_object_foreach(body, key, val) {
			bool ok = false;
			for (size_t i = 0; known[i]; i++)
				ok |= !strcmp(key, known[i]);
			if (!ok && !field) {
				field = key;
				why = "unknown field";
			}
		}
	}
	struct rd_deal_input in = { 0 };
	struct rd_customer nc = { 0 };
	bool bad = false;
	if (!why && !get_id(body, "partner_id", &in.partner_id))
		field = "partner_id", why = "partner_id is a partner's id";
	if (!why && !get_id(body, "customer_id", &in.customer_id))
		field = "customer_id", why = "customer_id is a customer's id";
	if (!why && !get_id(body, "previous_id", &in.previous_id))
		field = "previous_id", why = "previous_id is the id of the registration this one resubmits";
	json_t *cust = json_object_get(body, "customer");
	if (!why && cust && !json_is_null(cust)) {
		const char *fails = NULL;
		char whybuf[200];
		if (!json_is_object(cust))
			field = "customer", why = "customer is {name, email, postcode, external_id, country}";
		else if (rd_entity_from_json(&rd_entity_customer, cust, &nc, &fails, whybuf, sizeof whybuf) < 0)
			field = "customer", why = "customer is {name, email, postcode, external_id, country}: a field is wrong";
		else
			in.new_customer = &nc;
		if (fails && field)
			field = "customer";
	}
	json_t *prods = json_object_get(body, "products");
	if (!why && prods) {
		size_t i;
		json_t *p;
		if (!json_is_array(prods) || json_array_size(prods) > RD_DEAL_MAX_PRODUCTS)
			field = "products", why = "products is a list of up to 8 product ids";
		else
			json_array_foreach(prods, i, p) {
				if (!json_is_integer(p) || json_integer_value(p) < 1) {
					field = "products", why = "products is a list of up to 8 product ids";
					break;
				}
				in.products[in.n_products++] = (uint64_t)json_integer_value(p);
			}
	}
	json_t *seats = json_object_get(body, "seats"), *value = json_object_get(body, "expected_value");
	if (!why && seats && (!json_is_integer(seats) || json_integer_value(seats) < 0 ||
			      json_integer_value(seats) > 100000000))
		field = "seats", why = "seats is a whole number";
	if (!why && value && (!json_is_integer(value) || json_integer_value(value) < 0))
		field = "expected_value", why = "expected_value is a whole number of minor units, at least 0";
	in.seats = seats && json_is_integer(seats) ? (uint32_t)json_integer_value(seats) : 0;
	in.expected_value = value && json_is_integer(value) ? (int64_t)json_integer_value(value) : 0;
	const char *close = get_str(body, "close_date", &bad);
	if (!why && (bad || (close && rd_date_parse(close, &in.close_date) < 0)))
		field = "close_date", why = "close_date is YYYY-MM-DD";
	in.currency = get_str(body, "currency", &bad);
	in.situation = get_str(body, "situation", &bad);
	in.notes = get_str(body, "notes", &bad);
	if (!why && bad)
		field = "situation", why = "currency, situation and notes are text";
	if (why) {
		rd_reply_error(req, 400, "invalid", field, "%s%s%s", why, field && !strcmp(why, "unknown field") ? ": " : "",
			       field && !strcmp(why, "unknown field") ? field : "");
		json_decref(body);
		return 0;
	}
	struct rd_actor who = actor_of(&c);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_submit(c.app, &who, &in, &x, &e);
	json_decref(body);
	if (rc < 0 && e.code && strcmp(e.code, "internal")) {
		rd_reply_serr(req, &e);
		return 0;
	}
	if (rc < 0)
		return rc;
	return reply_deal(&c, 201, &x, false);
}

/* ---- steps ------------------------------------------------------------------------------------ */

static int step(struct rd_req *req, enum rd_deal_step s)
{
	struct call c;
	json_t *body = NULL;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_DEAL, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	size_t len = 0;
	rd_req_body(req, &len);
	if (len && rd_req_json(req, &body) < 0)
		return 0;
	if (body && !json_is_object(body)) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", NULL, "the body is a JSON object");
		return 0;
	}
	struct rd_deal_change ch = { .step = s };
	const char *allowed = s == RD_DEAL_STEP_APPROVE ? "expires_on" : s == RD_DEAL_STEP_EXTEND ? "days"
			      : s == RD_DEAL_STEP_ASK_EXTENSION ? "-" : "reason";
	const char *key;
	json_t *val;
	const char *bad = NULL;
	if (body)
		json_object_foreach(body, key, val) if (strcmp(key, allowed)) bad = key;
	if (bad) {
		if (s == RD_DEAL_STEP_ASK_EXTENSION)
			rd_reply_error(req, 400, "invalid", bad, "unknown field %s (this step takes none)", bad);
		else
			rd_reply_error(req, 400, "invalid", bad, "unknown field %s (this step takes %s)", bad, allowed);
		json_decref(body);
		return 0;
	}
	json_t *v = body ? json_object_get(body, allowed) : NULL;
	if (v && !json_is_null(v)) {
		if (s == RD_DEAL_STEP_APPROVE) {
			if (!json_is_string(v) || rd_date_parse(json_string_value(v), &ch.expires_on) < 0) {
				rd_reply_error(req, 400, "invalid", "expires_on", "expires_on is YYYY-MM-DD");
				json_decref(body);
				return 0;
			}
		} else if (s == RD_DEAL_STEP_EXTEND) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3650) {
				rd_reply_error(req, 400, "invalid", "days", "days is 1 to 3650");
				json_decref(body);
				return 0;
			}
			ch.days = (uint32_t)json_integer_value(v);
		} else if (!json_is_string(v) || strlen(json_string_value(v)) > 255) {
			rd_reply_error(req, 400, "invalid", "reason", "reason is text of up to 255 bytes");
			json_decref(body);
			return 0;
		} else {
			ch.reason = json_string_value(v);
		}
	}
	struct rd_actor who = actor_of(&c);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_change(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &x, &e);
	json_decref(body);
	if (rc < 0 && e.code && strcmp(e.code, "internal")) {
		rd_reply_serr(req, &e);
		return 0;
	}
	if (rc < 0)
		return rc;
	return reply_deal(&c, 200, &x, false);
}

int rd_api_deal_approve(struct rd_req *req) { return step(req, RD_DEAL_STEP_APPROVE); }
int rd_api_deal_reject(struct rd_req *req) { return step(req, RD_DEAL_STEP_REJECT); }
int rd_api_deal_extend(struct rd_req *req) { return step(req, RD_DEAL_STEP_EXTEND); }
int rd_api_deal_lose(struct rd_req *req) { return step(req, RD_DEAL_STEP_LOSE); }
int rd_api_deal_ask_extension(struct rd_req *req) { return step(req, RD_DEAL_STEP_ASK_EXTENSION); }

int rd_api_deal_win(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_DEAL, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "name", NULL };
	const char *unknown = rd_req_query_unknown(req, known);
	if (unknown) {
		rd_reply_error(req, 400, "invalid", unknown, "unknown query parameter %s (name)", unknown);
		return 0;
	}
	char type[64];
	if (!rd_api_content_type(rd_req_header(req, "content-type"), type)) {
		rd_reply_error(req, 400, "invalid", "content-type", "the Content-Type must be a media type (type/subtype)");
		return 0;
	}
	struct rd_deal_change ch = { .step = RD_DEAL_STEP_WIN, .proof_name = rd_req_query(req, "name"), .proof_type = type };
	ch.proof = rd_req_body(req, &ch.proof_len);
	struct rd_actor who = actor_of(&c);
	struct rd_dealreg x;
	struct rd_serr e;
	int rc = rd_deal_change(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &ch, &x, &e);
	if (rc < 0 && e.code && strcmp(e.code, "internal")) {
		rd_reply_serr(req, &e);
		return 0;
	}
	if (rc < 0)
		return rc;
	return reply_deal(&c, 200, &x, false);
}

int rd_api_deal_proof(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_DEAL, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	struct rd_actor who = actor_of(&c);
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_dealreg x;
	struct rd_document doc;
	const void *bytes = NULL;
	size_t len = 0;
	rc = rd_deal_get(t, c.app->domain, &who, rd_parse_id(rd_req_param(req, "id")), &x);
	if (rc == 0 && !x.proof_document_id)
		rc = RD_ENOTFOUND;
	if (rc == 0)
		rc = rd_entity_get(t, c.app->domain->documents, &rd_entity_document, c.who.vendor, x.proof_document_id, &doc);
	if (rc == 0)
		rc = rd_txn_get(t, c.app->domain->document_data, c.who.vendor, doc.id, &bytes, &len);
	if (rc == RD_ENOTFOUND) {
		rd_txn_end(t);
		rd_reply_error(req, 404, "not_found", "id", "no such deal registration, or it has no proof of performance");
		return 0;
	}
	if (rc == 0)
		rd_document_reply(req, &doc, bytes, len);
	rd_txn_end(t);
	return rc < 0 ? rc : 0;
}
