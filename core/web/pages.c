/*
 * pages.c: the customer portal, the login, and the partner portal.
 *   GET  /login, POST /login, POST /logout
 *   GET  /c/{token}                 a customer's e-mailed link: starts a session scoped to that customer
 *   GET  /portal                    contracts with colours, the quote with optional lines, the three requests
 *   GET  /portal/quote.pdf          the open quote as a PDF
 *   POST /portal/accept             accept the quote (with the chosen optional lines)
 *   GET  /portal/purchase           the purchase form: address filled in, the enabled payment options
 *   POST /portal/order              the order, exactly once (services/orders.c), and its confirmation
 *   GET  /portal/order              the link's order as it stands (where a hosted card payment page returns)
 *   GET  /portal/invoices/{id}      an order's invoice PDF (core/pdf/invoice.c)
 *   POST /portal/request            call-back, contact the reseller, reply to the sales centre
 *   GET  /partner                   decisions awaited, quotes, tasks
 *   GET  /partner/opportunities/{id}  one opportunity: the decision, the quote, its tasks (what mails link to)
 *   POST /partner/opportunities/{id}/decision
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "edge/portal.h"
#include "edge/sales.h"
#include "pdf/quote.h"
#include "plugin/host.h"
#include "renew/renew.h"
#include "config/config.h"
#include "pdf/invoice.h"
#include "services/checkout.h"
#include "services/documents.h"
#include "services/orders.h"
#include "services/portal.h"
#include "services/quotes.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "web/web.h"

#define CUSTOMER_SESSION_S (2 * 3600)

/* ---- login ------------------------------------------------------------------------- */

int rd_page_login(struct rd_req *req)
{
	struct web w = { .req = req, .app = rd_req_app(req) };
	const char *failed = rd_req_query(req, "failed"), *vendor = rd_req_query(req, "vendor");
	/* The vendor typed before a refusal, shown again (a slug: nothing to escape beyond the page's own). */
	if (!vendor || !rd_vendor_slug_ok(vendor))
		vendor = "";
	rd_web_page(&w, 200, "login", 0, json_pack("{s:s, s:b, s:b, s:s}", "title", "Sign in", "failed",
						   failed != NULL && strcmp(failed, "2"), "too_many",
						   failed != NULL && !strcmp(failed, "2"), "vendor", vendor));
	return 0;
}

/* The vendor as a person types it: its slug is a-z, 0-9 and '-' by every
 * way a vendor is made (rd_vendor_slug_ok), so "Acme " is "acme". */
static const char *vendor_typed(struct rd_req *req)
{
	const char *v = rd_form(req, "vendor");
	if (!v)
		return NULL;
	while (*v == ' ')
		v++;
	size_t n = strlen(v);
	while (n && v[n - 1] == ' ')
		n--;
	char buf[RD_EXT_MAX];
	if (n >= sizeof buf)
		return v; /* refused as it is */
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] - 'A' + 'a' : v[i]);
	buf[n] = 0;
	char *out = rd_req_alloc(req, n + 1);
	memcpy(out, buf, n + 1);
	return out;
}

/* The login form's answer: the user's start page, or the form again. */
static void login_done(struct rd_req *req, const struct rd_login_result *r)
{
	if (r->outcome == RD_LOGIN_OK)
		rd_web_redirect(req, rd_role_is_partner(r->role) ? "/partner" : "/vendor");
	else {
		/* The form again with the vendor as typed (the e-mail stays out of addresses and logs). */
		const char *v = vendor_typed(req);
		char to[96];
		snprintf(to, sizeof to, "/login?failed=%d%s%s", r->outcome == RD_LOGIN_TOO_MANY ? 2 : 1,
			 v && rd_vendor_slug_ok(v) ? "&vendor=" : "", v && rd_vendor_slug_ok(v) ? v : "");
		rd_web_redirect(req, to);
	}
}

int rd_page_login_post(struct rd_req *req)
{
	if (!rd_same_origin(req))
		return 0;
	const char *vendor = vendor_typed(req), *email = rd_form(req, "email"), *password = rd_form(req, "password");
	if (!vendor || !email || !password) {
		rd_web_redirect(req, "/login?failed=1");
		return 0;
	}
	return rd_login_begin(req, vendor, email, password, login_done);
}

static int revoke_session(struct rd_txn *t, void *arg)
{
	struct web *w = arg;
	struct rd_token tok;
	int rc = rd_entity_get(t, w->app->domain->tokens, &rd_entity_token, 0, w->c.who.token, &tok);
	if (rc < 0)
		return rc;
	tok.revoked_at = rd_clock_now();
	return rd_entity_put(t, w->app->domain->tokens, &rd_entity_token, 0, &tok, 0);
}

int rd_page_logout(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	int rc = rd_store_write(w.app->store, revoke_session, &w);
	if (rc < 0)
		return rc;
	char cookie[120];
	snprintf(cookie, sizeof cookie, "rd_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s", rd_cookie_secure(w.app));
	rd_reply_header(req, "set-cookie", cookie);
	rd_web_redirect(req, "/login");
	return 0;
}

/* ---- the customer's link -------------------------------------------------------------- */

struct link_use {
	struct rd_app *app;
	char hash[RD_TOKEN_HASH_HEX];
	struct rd_link l;
	char session[RD_TOKEN_LEN + 1];
	int why; /* 0 ok, 1 unknown, 2 expired, 3 revoked, 4 the vendor is suspended */
	bool refusal_decided, refusal_audited; /* a refused use: audited (rd_portal_refusal_to_audit)? */
};

static int link_write(struct rd_txn *t, void *arg)
{
	struct link_use *u = arg;
	struct rd_domain *d = u->app->domain;
	uint64_t id;
	int rc = rd_index_find(t, d->links, "hash", 0, u->hash, strlen(u->hash) + 1, &id);
	if (rc == 0)
		rc = rd_entity_get(t, d->links, &rd_entity_link, 0, id, &u->l);
	if (rc == RD_ENOTFOUND || (rc == 0 && !rd_hash_equal(u->l.hash, u->hash))) {
		u->why = 1;
		return RD_EDECLINED;
	}
	if (rc < 0)
		return rc;
	/* A refused use of a known link is audited too (and nothing else is
	 * written): who keeps trying a withdrawn link is worth knowing. */
	if (u->l.revoked_at || u->l.expires_at <= rd_clock_now()) {
		u->why = u->l.revoked_at ? 3 : 2;
		/* ... once a minute at most: nothing is written for the rest. */
		if (!u->refusal_decided) {
			u->refusal_decided = true;
			u->refusal_audited = rd_portal_refusal_to_audit(u->l.id, RD_AUDIT_LOGIN);
		}
		if (!u->refusal_audited)
			return RD_EDECLINED;
		return rd_audit_write(t, d, u->l.vendor_id, 0, RD_AUDIT_LOGIN, "links", u->l.id, NULL, NULL,
				      u->why == 3 ? "customer link refused: revoked" : "customer link refused: expired");
	}
	/* A suspended vendor's links open nothing (the platform operator's). */
	struct rd_vendor *v = rd_malloc(sizeof *v);
	rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, u->l.vendor_id, v);
	bool suspended = rc == 0 && v->suspended;
	free(v);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc; /* the store failed: not the link's fault (503) */
	if (rc < 0 || suspended) {
		u->why = 4;
		return RD_EDECLINED;
	}
	/* A session for this customer only, from this link. */
	struct rd_token tok = { 0 };
	rd_token_new(u->session, tok.hash);
	tok.vendor_id = u->l.vendor_id;
	tok.kind = RD_TOKEN_CUSTOMER;
	tok.customer_id = u->l.customer_id;
	tok.opportunity_id = u->l.opportunity_id;
	tok.link_id = u->l.id;
	snprintf(tok.name, sizeof tok.name, "customer link");
	tok.created_at = rd_clock_now();
	tok.expires_at = tok.created_at + CUSTOMER_SESSION_S;
	if ((rc = rd_entity_put(t, d->tokens, &rd_entity_token, 0, &tok, 0)) < 0)
		return rc;
	/* Every use of a link is audited. */
	return rd_audit_write(t, d, u->l.vendor_id, 0, RD_AUDIT_LOGIN, "links", u->l.id, NULL, NULL, "customer link opened");
}

int rd_page_link(struct rd_req *req)
{
	struct web w = { .req = req, .app = rd_req_app(req) };
	struct link_use *u = rd_calloc(1, sizeof *u);
	u->app = w.app;
	const char *token = rd_req_param(req, "token");
	int rc = token && rd_token_hash(token, u->hash) ? rd_store_write(w.app->store, link_write, u) : RD_EDECLINED;
	if (rc == RD_EDECLINED || rc == RD_EINVAL || (rc == 0 && u->why)) {
		static const char *const why[] = { "", "This link is not valid.", "This link has expired.",
						   "This link was withdrawn.", "This renewal portal is suspended." };
		rd_web_message(&w, 404, "Link not valid",
			       u->why ? why[u->why] : "This link is not valid. Use the latest renewal e-mail, or ask your reseller for a new one.");
		free(u);
		return 0;
	}
	if (rc < 0) { /* the store failed: the link is still good */
		free(u);
		rd_web_unavailable(&w);
		return 0;
	}
	char cookie[200];
	snprintf(cookie, sizeof cookie, "rd_customer=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", u->session,
		 CUSTOMER_SESSION_S, rd_cookie_secure(u->app));
	rd_reply_header(req, "set-cookie", cookie);
	rd_web_redirect(req, "/portal");
	free(u);
	return 0;
}

/* ---- the portal ---------------------------------------------------------------------------- */

static const char *colour_text(enum rd_colour c)
{
	switch (c) {
	case RD_RED: return "expired";
	case RD_AMBER: return "due for renewal";
	case RD_GREEN: return "active";
	case RD_BLACK: return "cancelled";
	case RD_BLUE: return "renewal ordered";
	}
	return "";
}

/* The quote's lines for the customer: no margins, optional lines marked.
 * selected: the SKUs of the optional lines chosen, or NULL for the choice
 * stored when the quote was accepted.  The sums are rd_quote_total's, the
 * order's own rule; NULL when they do not fit in an amount (the engine
 * flags such a quote for attention). */
static json_t *quote_lines(const struct rd_opportunity *o, json_t *selected, struct rd_quote_sum *sum)
{
	struct rd_quote_line *lines = rd_malloc(sizeof o->lines);
	memcpy(lines, o->lines, o->n_lines * sizeof *lines);
	for (uint8_t i = 0; selected && i < o->n_lines; i++) {
		size_t k;
		json_t *s;
		lines[i].selected = false;
		json_array_foreach(selected, k, s) lines[i].selected |= json_is_string(s) &&
									!strcmp(json_string_value(s), lines[i].sku);
	}
	json_t *out = NULL;
	bool upsell = rd_quote_upsell_chosen(lines, o->n_lines);
	if (rd_quote_total(lines, o->n_lines, o->discount_bp, sum) == 0) {
		out = json_array();
		for (uint8_t i = 0; i < o->n_lines; i++) {
			const struct rd_quote_line *l = &lines[i];
			json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I, s:o, s:I, s:b, s:b, s:b, s:s}", "sku", l->sku,
							     "kind", rd_quote_kind_name(l->kind),
							     "description", l->description, "quantity",
							     (json_int_t)l->quantity, "price", rd_money_json(l->list, o->currency),
							     "amount", (json_int_t)l->list, "optional", l->optional, "selected",
							     l->optional && l->selected, "charged", rd_quote_line_charged(l, upsell),
							     "kind_text", l->kind == RD_LINE_UPSELL ? "Upgrade" : "Add"));
		}
	}
	free(lines);
	return out;
}

json_t *rd_web_quote_lines(const struct rd_opportunity *o, json_t *selected, struct rd_quote_sum *sum)
{
	return quote_lines(o, selected, sum);
}

struct portal_data {
	struct rd_customer cu;
	struct rd_opportunity o;
	struct rd_partner res;
	bool have_res;
	json_t *contracts;
	struct rd_order order; /* the quote's live order (services/orders.c: one per quote), when it has one */
	bool ordered;
};

/* The invoices of the customer's orders, by contract ({"CONTRACT_ID":
 * [documents]}), for the contracts' documents lists (GET
 * /portal/invoices/{order}): one walk of the vendor's orders per page. */
static json_t *customer_invoices(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t customer)
{
	json_t *out = json_object();
	struct rd_order *o = rd_malloc(sizeof *o);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->orders, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) < 0 || o->customer_id != customer ||
		    !o->invoice_number[0])
			continue;
		char name[64], href[64], key[24];
		rd_invoice_filename(o, name, sizeof name);
		snprintf(href, sizeof href, "/portal/invoices/%llu", (unsigned long long)o->id);
		snprintf(key, sizeof key, "%llu", (unsigned long long)o->contract_id);
		json_t *list = json_object_get(out, key);
		if (!list)
			json_object_set_new(out, key, list = json_array());
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "kind", "invoice", "href", href,
						      "content_type", "application/pdf"));
	}
	rd_iter_close(&it);
	free(o);
	return out;
}

static int load_portal(struct web *w, struct portal_data *p)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	uint64_t v = w->tok.vendor_id;
	if ((rc = rd_entity_get(t, d->customers, &rd_entity_customer, v, w->tok.customer_id, &p->cu)) < 0 ||
	    (rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, w->tok.opportunity_id, &p->o)) < 0 ||
	    (rc = rd_portal_quote_owned(t, d, v, &p->o, p->cu.id) ? 0 : RD_ENOTFOUND) < 0) {
		rd_txn_end(t);
		return rc;
	}
	p->have_res = rd_entity_get(t, d->partners, &rd_entity_partner, v, p->o.reseller_id, &p->res) == 0;
	uint8_t okey[8];
	uint64_t oid;
	rd_key_put_u64(okey, p->o.id);
	p->ordered = rd_index_find(t, d->orders, "live", v, okey, 8, &oid) == 0 &&
		     rd_entity_get(t, d->orders, &rd_entity_order, v, oid, &p->order) == 0 && p->order.customer_id == p->cu.id;
	p->contracts = json_array();
	json_t *invoices = customer_invoices(t, d, v, p->cu.id);
	uint8_t key[8];
	rd_key_put_u64(key, p->cu.id);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_index(&it, t, d->contracts, "customer", v, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8))
			break;
		struct rd_contract k;
		struct rd_product pr;
		/* The link's channel only (services/portal.h): a reseller's link never
		 * lists another reseller's contract of the same customer. */
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0 || !rd_portal_shows(&p->o, p->cu.id, &k))
			continue;
		bool named = rd_entity_get(t, d->products, &rd_entity_product, v, k.product_id, &pr) == 0;
		enum rd_colour c = rd_contract_colour(&k, rd_clock_today(), w->vendor.renewal_window_days);
		json_t *docs = json_array();
		if (rd_portal_documents(t, d, v, k.id, docs) < 0)
			json_array_clear(docs);
		size_t di;
		json_t *doc;
		json_array_foreach(docs, di, doc) {
			char href[64];
			snprintf(href, sizeof href, "/portal/documents/%lld", (long long)json_integer_value(json_object_get(doc, "id")));
			json_object_set_new(doc, "href", json_string(href));
		}
		char kid[24];
		snprintf(kid, sizeof kid, "%llu", (unsigned long long)k.id);
		json_array_extend(docs, json_object_get(invoices, kid));
		json_array_append_new(p->contracts,
				      json_pack("{s:s, s:I, s:o, s:s, s:s, s:b, s:b, s:o}", "product", named ? pr.name : "",
						"quantity", (json_int_t)k.quantity, "end", rd_date_json(k.end), "colour",
						rd_colour_name(c), "colour_text", colour_text(c), "warranty_only",
						(k.flags & RD_FLAG_WARRANTY_ONLY) != 0, "consolidated",
						(k.flags & RD_FLAG_CONSOLIDATED) != 0, "documents", docs));
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	json_decref(invoices);
	return rc < 0 ? rc : 0;
}

int rd_page_portal(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct portal_data *p = rd_calloc(1, sizeof *p);
	int rc = load_portal(&w, p);
	if (rc < 0) {
		free(p);
		if (rc == RD_ENOTFOUND)
			rd_web_message(&w, 404, "Not found", "This renewal is no longer available.");
		else
			rd_web_unavailable(&w); /* the store failed: the renewal is still there */
		return 0;
	}
	json_t *ctx = json_pack("{s:s, s:o, s:o}", "title", "Your renewal", "customer", rd_portal_customer_json(&p->cu),
				"contracts", p->contracts);
	bool open = p->o.state == RD_OPP_PUBLISHED_VENDOR || p->o.state == RD_OPP_PUBLISHED_PARTNER ||
		    p->o.state == RD_OPP_ACCEPTED;
	if (open) {
		struct rd_quote_sum sum = { 0 };
		/* the lines as ordered once ordered; else none chosen yet */
		json_t *none = p->ordered ? NULL : json_array(), *lines = quote_lines(&p->o, none, &sum);
		json_decref(none);
		int64_t base = sum.base, total = sum.total;
		json_object_set_new(ctx, "quote",
				    json_pack("{s:s, s:o, s:o, s:I, s:s, s:i, s:o, s:b}", "number", p->o.number, "lines",
					      lines ? lines : json_array(), "total", rd_money_json(total, p->o.currency),
					      "base_amount", (json_int_t)base, "currency", p->o.currency, "exponent",
					      rd_money_exponent(p->o.currency), "valid_until", rd_date_json(p->o.valid_until), "can_buy",
					      p->o.state != RD_OPP_PUBLISHED_PARTNER && !p->ordered));
		/* Ordered already (the back button, or a second visit): the
		 * order, not a second Buy (services/orders.c keeps one live
		 * order per quote). */
		if (p->ordered)
			json_object_set_new(json_object_get(ctx, "quote"), "ordered",
					    json_pack("{s:s, s:o, s:b}", "number", p->order.number, "total",
						      rd_money_json(p->order.total, p->order.currency), "paid",
						      p->order.state == RD_ORDER_PAID || p->order.state == RD_ORDER_FULFILLED));
		if (p->o.discount_bp) {
			char pct[32];
			rd_bp_format(p->o.discount_bp, pct, sizeof pct);
			json_object_set_new(json_object_get(ctx, "quote"), "discount",
					    json_pack("{s:I, s:s, s:o}", "bp", (json_int_t)p->o.discount_bp, "percent", pct,
						      "amount", rd_money_json(-(base - rd_money_discounted(base, p->o.discount_bp)), p->o.currency)));
		}
	}
	uint64_t partner = p->have_res ? p->res.id : 0;
	free(p);
	rd_web_page(&w, 200, "portal", partner, ctx);
	return 0;
}

/* The open quote as a PDF (core/pdf/quote.c): the session's own quote only. */
int rd_page_portal_quote(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_quote_doc *q = rd_malloc(sizeof *q);
	rc = rd_entity_get(t, w.app->domain->opportunities, &rd_entity_opportunity, w.tok.vendor_id, w.tok.opportunity_id, o);
	bool open = rc == 0 && rd_portal_quote_owned(t, w.app->domain, w.tok.vendor_id, o, w.tok.customer_id) &&
		    (o->state == RD_OPP_PUBLISHED_VENDOR || o->state == RD_OPP_PUBLISHED_PARTNER || o->state == RD_OPP_ACCEPTED);
	if (rc == 0)
		rc = open ? rd_quote_load(w.app->plugins, t, w.app->domain, &w.vendor, o, q) : RD_ENOTFOUND;
	rd_txn_end(t);
	free(o);
	if (rc < 0) {
		free(q);
		if (rc != RD_ENOTFOUND)
			return rc;
		rd_web_message(&w, 404, "Not found", "This quote is no longer available.");
		return 0;
	}
	rd_web_headers(req);
	return rd_quote_reply(req, q);
}

/* A document of one of the customer's contracts, downloaded from the
 * portal: only of a contract the link shows now (the customer's own, in
 * the link's channel; services/portal.h), whoever the document was filed under. */
int rd_page_portal_document(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_document doc;
	const void *bytes = NULL;
	size_t len = 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = rd_entity_get(t, w.app->domain->opportunities, &rd_entity_opportunity, w.tok.vendor_id, w.tok.opportunity_id, o);
	if (rc == 0)
		rc = rd_portal_document(t, w.app->domain, w.tok.vendor_id, o, w.tok.customer_id, id, &doc);
	free(o);
	if (rc == 0)
		rc = rd_txn_get(t, w.app->domain->document_data, w.tok.vendor_id, doc.id, &bytes, &len);
	if (rc == 0) {
		rd_web_headers(req);
		rd_document_reply(req, &doc, bytes, len);
	}
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "This document is not available.");
		return 0;
	}
	return rc < 0 ? rc : 0;
}

int rd_page_portal_accept(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	if (!rd_form(req, "accept")) {
		rd_web_message(&w, 400, "Please accept the quote", "Tick the box to accept the quote, then press Buy.");
		return 0;
	}
	json_t *selected = json_array();
	/* Every "add" field (repeated) names an optional line by its SKU, decoded
	 * as the browser encoded it ("DLP/EP+2" arrives as DLP%2FEP%2B2); what
	 * names no line of the quote is not chosen. */
	size_t at = 0;
	const char *add;
	while ((add = rd_form_next(req, "add", &at)))
		if (*add && strlen(add) < 80)
			json_array_append_new(selected, json_string(add)); /* NULL (not UTF-8) is not appended */
	/* The rule is the quotes service's (services/quotes.c). */
	struct rd_actor who = { .vendor = w.tok.vendor_id, .customer = w.tok.customer_id, .portal = true };
	struct rd_serr e;
	int rc = rd_quote_accept(w.app, &who, w.tok.opportunity_id, selected, &e);
	json_decref(selected);
	if (rc == RD_EEXISTS) {
		rd_web_message(&w, 409, "Not available online", e.message);
		return 0;
	}
	if (rc == RD_EINVAL) { /* the choice of lines (two upgrades) */
		rd_web_message(&w, 400, "Please check your choice", e.message);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/portal/purchase");
	return 0;
}

int rd_page_portal_purchase(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct portal_data *p = rd_calloc(1, sizeof *p);
	int rc = load_portal(&w, p);
	if (rc == 0 && p->ordered) { /* back after the order: the order, never a second form */
		json_decref(p->contracts);
		free(p);
		rd_web_redirect(req, "/portal/order");
		return 0;
	}
	if (rc < 0 || p->o.state != RD_OPP_ACCEPTED) {
		json_decref(p->contracts);
		free(p);
		rd_web_message(&w, 409, "Accept the quote first", "Open your renewal, accept the quote, then press Buy.");
		return 0;
	}
	json_decref(p->contracts);
	struct rd_quote_sum sum = { 0 };
	json_t *shown = quote_lines(&p->o, NULL, &sum);
	if (!shown) {
		free(p);
		rd_web_message(&w, 409, "This quote needs attention",
			       "Its amounts cannot be charged online: contact your reseller.");
		return 0;
	}
	/* The quote's lines as accepted (the lines charged: domain/quote.h), and its totals. */
	json_t *lines = json_array();
	size_t i;
	json_t *l;
	json_array_foreach(shown, i, l) if (json_is_true(json_object_get(l, "charged")))
		json_array_append(lines, l);
	json_decref(shown);
	int64_t total = sum.total;
	/* The payment options enabled for this vendor and partner. */
	json_t *options = json_array();
	struct rd_txn *t;
	if (rd_store_read(w.app->store, &t) == 0) {
		json_t *plugins = rd_plugins_json(w.app->plugins);
		json_array_foreach(plugins, i, l) {
			const char *name = json_string_value(json_object_get(l, "name"));
			if (strcmp(json_string_value(json_object_get(l, "kind")) ?: "", "payment") ||
			    strcmp(json_string_value(json_object_get(l, "state")) ?: "", "loaded"))
				continue;
			struct rd_enablement *e = rd_malloc(sizeof *e);
			if (rd_enablement_find(t, w.app->domain, w.tok.vendor_id, name, p->o.reseller_id, e) == 0) {
				size_t k;
				json_t *opt;
				/* the plugin's label for each option (its name when it has none) */
				json_array_foreach(json_object_get(l, "options"), k, opt) {
					const char *o = json_string_value(opt);
					const char *label = json_string_value(json_array_get(json_object_get(l, "labels"), k));
					json_array_append_new(options,
							      json_pack("{s:s, s:s}", "option", o, "label", label ? label : o));
				}
			}
			free(e);
		}
		json_decref(plugins);
		rd_txn_end(t);
	}
	/* A fresh idempotency key per render: a double submit or a retried
	 * request carries the same one and finds the same order. */
	char key[RD_TOKEN_LEN + 1], hash[RD_TOKEN_HASH_HEX];
	rd_token_new(key, hash);
	json_t *ctx = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "title", "Purchase", "number", p->o.number, "total",
				rd_money_json(total, p->o.currency), "customer", rd_portal_customer_json(&p->cu),
				"options", options, "order_key", key + 3, "lines", lines, "subtotal",
				rd_money_json(sum.subtotal, p->o.currency));
	if (p->o.discount_bp && sum.subtotal != sum.total) {
		char pct[32];
		rd_bp_format(p->o.discount_bp, pct, sizeof pct);
		json_object_set_new(ctx, "discount", json_pack("{s:s, s:o}", "percent", pct, "amount",
							       rd_money_json(sum.total - sum.subtotal, p->o.currency)));
	}
	uint64_t partner = p->have_res ? p->res.id : 0;
	free(p);
	rd_web_page(&w, 200, "purchase", partner, ctx);
	return 0;
}

int rd_page_portal_request(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	const char *action = rd_form(req, "action"), *message = rd_form(req, "message");
	uint8_t kind = !action ? 0 : !strcmp(action, "callback") ? RD_TASK_CALLBACK : !strcmp(action, "contact_reseller")
		       ? RD_TASK_CONTACT_RESELLER : !strcmp(action, "reply") ? RD_TASK_REPLY : 0;
	if (!kind) {
		rd_web_message(&w, 400, "Please choose what you would like", "Choose one of the three options.");
		return 0;
	}
	if (message && strlen(message) >= 2000) { /* bytes: an accented letter or another script's takes two or more */
		rd_web_message(&w, 400, "Your message is too long",
			       "A message holds up to 1999 bytes: as many plain letters, fewer accented ones or in other "
			       "scripts. Go back, shorten it and send it again.");
		return 0;
	}
	json_t *text = message ? json_string(message) : NULL; /* NULL when it is not UTF-8 */
	json_decref(text);
	if (message && !text) {
		rd_web_message(&w, 400, "Please write your message again",
			       "Your message could not be read as text: go back, write it again and send it.");
		return 0;
	}
	uint64_t task;
	int rc = rd_renew_customer_action(w.app->renew, w.tok.vendor_id, w.tok.customer_id, w.tok.opportunity_id, kind,
					  message, &task);
	if (rc < 0)
		return rc;
	rd_web_message(&w, 200, "Thank you", "Your request has been passed on: the right person will get back to you.");
	return 0;
}

/* The confirmation: the order number and what happens next. */
static void order_page(struct web *w, const struct rd_order *o)
{
	char due[11] = "";
	if (o->due_date)
		rd_date_format(o->due_date, due);
	bool po = !strcmp(o->payment_option, "purchase_order"), bml = !strcmp(o->payment_option, "bill_me_later");
	bool card = !strcmp(o->payment_option, "card");
	bool waiting = o->state == RD_ORDER_AWAITING_PAYMENT;
	bool failed = o->state == RD_ORDER_FAILED || o->state == RD_ORDER_CANCELLED;
	char label_buf[64];
	const char *label = rd_plugins_option_label(w->app->plugins, o->payment_option, label_buf) ?: o->payment_option;
	json_t *ctx = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b}", "title",
				failed ? "Your order was not placed" : "Thank you for your order",
				"number", o->number, "total", rd_money_json(o->total, o->currency), "po_number", o->po_number,
				"due_date", due, "message", o->payment_message, "option_label",
				po ? "a purchase order" : bml ? "Bill Me Later" : card ? "your card" : label, "failed", failed, "pending",
				o->state == RD_ORDER_CREATED, "purchase_order", waiting && po, "bill_me_later", waiting && bml,
				"done", o->state == RD_ORDER_PAID || o->state == RD_ORDER_FULFILLED);
	/* what was ordered: the order's frozen lines (services/orders.h), as charged */
	json_t *lines = json_array();
	for (uint8_t i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		char desc[200];
		snprintf(desc, sizeof desc, "%s%s", l->kind == RD_LINE_UPSELL ? "Upgrade: " : l->kind == RD_LINE_CROSSSELL ? "Add: " : "",
			 l->description[0] ? l->description : l->sku);
		json_array_append_new(lines, json_pack("{s:s, s:I, s:o}", "description", desc, "quantity", (json_int_t)l->quantity,
						       "amount", rd_money_json(l->list, o->currency)));
	}
	json_object_set_new(ctx, "has_lines", json_boolean(o->n_lines > 0));
	json_object_set_new(ctx, "lines", lines);
	/* A hosted card payment: the customer pays on the gateway's page (a
	 * link: renewd's pages post forms to renewd only, and hold no card field). */
	if (waiting && card && o->checkout_url[0])
		json_object_set_new(ctx, "checkout_url", json_string(o->checkout_url));
	json_object_set_new(ctx, "billing_email", json_string(o->billing_email));
	if (o->invoice_number[0])
		json_object_set_new(ctx, "invoice", json_pack("{s:s, s:I}", "number", o->invoice_number, "order_id",
							      (json_int_t)o->id));
	rd_web_page(w, failed ? 422 : 200, "order", o->reseller_id, ctx);
}

struct portal_order {
	struct web w;           /* a copy: the handler's frame is gone when the answer comes */
	struct rd_hold *hold;
};

/* The purchase form's billing fields: the form's name, the service's
 * (checkout.h) and the label the customer sees. */
static const struct {
	const char *form, *field, *label;
} billing_form[] = {
	{ "company", "company", "Company" },        { "address_line1", "address1", "Address" },
	{ "address_line2", "address2", "Address (line 2)" }, { "city", "city", "City" },
	{ "postcode", "postcode", "Postcode" },     { "country", "country", "Country" },
	{ "email", "email", "E-mail" },
};

static bool billing_field(const char *field)
{
	for (size_t i = 0; i < sizeof billing_form / sizeof *billing_form; i++)
		if (!strcmp(billing_form[i].field, field))
			return true;
	return false;
}

/* A billing field refused: the page names it (its label and form name). */
static void billing_error(struct web *w, int status, const struct rd_serr *e)
{
	const char *label = e->field, *form = e->field;
	for (size_t i = 0; i < sizeof billing_form / sizeof *billing_form; i++)
		if (!strcmp(billing_form[i].field, e->field)) {
			label = billing_form[i].label;
			form = billing_form[i].form;
		}
	char text[400];
	snprintf(text, sizeof text, "%s (%s): %s. Go back, correct it and place your order again.", label, form, e->message);
	rd_web_message(w, status, "Check your billing details", text);
}

static void portal_placed(const struct rd_order_answer *a, void *arg)
{
	struct portal_order *po = arg;
	struct rd_req *req = rd_hold_req(po->hold);
	if (req) {
		po->w.req = req;
		int status = rd_serr_status(a->err.rc);
		if (a->err.rc == 0)
			order_page(&po->w, &a->order);
		else if (a->err.field && a->err.code && !strcmp(a->err.code, "invalid") && billing_field(a->err.field))
			billing_error(&po->w, status, &a->err);
		else if (a->err.field && !strcmp(a->err.field, "po_number"))
			rd_web_message(&po->w, status, "Purchase order number needed",
				       "Go back and enter your purchase order number.");
		else if (a->err.code && !strcmp(a->err.code, "idempotency_conflict"))
			rd_web_message(&po->w, 409, "Please start again",
				       "This form was already used for another order: open the purchase page again.");
		else if (status == 409 && a->err.field && !strcmp(a->err.field, "payment_option"))
			rd_web_message(&po->w, 409, "Not available", "This payment option is not available for your order: go back and choose another.");
		else
			rd_web_message(&po->w, status, "Your order was not placed", a->err.message);
	}
	rd_hold_free(po->hold);
	free(po);
}

static bool key_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	if (n < 16 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k[i]))
			return false;
	return true;
}

/* Where a hosted payment page sends the customer back: the portal's order
 * page, at the vendor's portal address, else renewd's public_url, else the
 * address the customer's browser reached (its Host, when it is a plain
 * host[:port]), else the listening address. */
static void portal_return_url(struct web *w, char *out, size_t cap)
{
	const char *pub = w->vendor.portal_url[0] ? w->vendor.portal_url : w->app->config->public_url;
	const char *host = rd_req_header(w->req, "host");
	char base[400];
	if (pub && *pub)
		snprintf(base, sizeof base, "%s", pub);
	else if (host && *host && strlen(host) < 200 &&
		 strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == strlen(host))
		snprintf(base, sizeof base, "http://%s", host);
	else
		snprintf(base, sizeof base, "http://%s", w->app->config->listen);
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		base[--n] = 0;
	snprintf(out, cap, "%s/portal/order", base);
}

/* The order: placed once per purchase form (its order_key), through the
 * chosen payment plugin. */
int rd_page_portal_order(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	const char *option = rd_form(req, "option"), *po = rd_form(req, "po_number"), *key = rd_form(req, "order_key");
	const char *card = rd_form(req, "card_token");
	struct rd_order_ask ask = { .opportunity_id = w.tok.opportunity_id };
	struct rd_actor who = { .vendor = w.tok.vendor_id, .customer = w.tok.customer_id, .portal = true };
	if (!option || !rd_order_text_ok(option, sizeof ask.option)) {
		rd_web_message(&w, 400, "Choose how to pay", "Go back and choose one of the payment options.");
		return 0;
	}
	if (po && *po && !rd_order_text_ok(po, sizeof ask.po_number)) {
		rd_web_message(&w, 400, "Check the purchase order number",
			       "A purchase order number is up to 63 characters, on one line.");
		return 0;
	}
	if (!key_ok(key)) {
		rd_web_message(&w, 400, "Please start again", "Open the purchase page again and place your order from there.");
		return 0;
	}
	/* The billing details, when the form has them (the purchase page's
	 * always does): checked by the order (services/checkout.c). */
	for (size_t i = 0; i < sizeof billing_form / sizeof *billing_form; i++) {
		const char *v = rd_form(req, billing_form[i].form);
		struct rd_serr e = { 0 };
		if (!v)
			continue;
		ask.billing_given = true;
		if (rd_checkout_billing_set(&ask.billing, billing_form[i].field, v, &e) < 0) {
			billing_error(&w, 400, &e);
			return 0;
		}
	}
	ask.update_customer = ask.billing_given && rd_form(req, "update_customer") != NULL;
	/* card: the gateway's own payment page (hosted), or a token a gateway's
	 * card form gave (never a card number) */
	if (!strcmp(option, "card") && card && (!key_ok(card) || strspn(card, "0123456789") == strlen(card))) {
		rd_web_message(&w, 400, "Enter your card", "Go back and enter your card details in the card form.");
		return 0;
	}
	/* The quote must still be the customer's (its contract may have moved). */
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	bool owned = rd_entity_get(t, w.app->domain->opportunities, &rd_entity_opportunity, w.tok.vendor_id,
				   w.tok.opportunity_id, o) == 0 &&
		     rd_portal_quote_owned(t, w.app->domain, w.tok.vendor_id, o, w.tok.customer_id);
	free(o);
	rd_txn_end(t);
	if (!owned) {
		rd_web_message(&w, 404, "Not found", "This renewal is no longer available.");
		return 0;
	}
	snprintf(ask.option, sizeof ask.option, "%s", option);
	snprintf(ask.po_number, sizeof ask.po_number, "%s", po ? po : "");
	if (!strcmp(option, "card") && card)
		snprintf(ask.card_token, sizeof ask.card_token, "%s", card);
	else if (!strcmp(option, "card")) /* the gateway sends the customer back here */
		portal_return_url(&w, ask.return_url, sizeof ask.return_url);
	snprintf(ask.key, sizeof ask.key, "portal:%s", key);
	struct portal_order *p = rd_malloc(sizeof *p);
	p->w = w;
	p->hold = rd_req_hold(req);
	rc = rd_order_place(w.app, &who, &ask, portal_placed, p);
	if (rc < 0) {
		rd_hold_free(p->hold);
		free(p);
	}
	return rc;
}

/* The session's order, as the customer comes back from a hosted payment
 * page (or reloads): the live order of the link's quote, else its latest. */
int rd_page_portal_order_view(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	struct rd_order *o = rd_malloc(sizeof *o), *best = rd_calloc(1, sizeof *best);
	uint8_t okey[8];
	uint64_t id;
	rd_key_put_u64(okey, w.tok.opportunity_id);
	if ((rc = rd_index_find(t, d->orders, "live", w.tok.vendor_id, okey, 8, &id)) == 0)
		rc = rd_entity_get(t, d->orders, &rd_entity_order, w.tok.vendor_id, id, best);
	if (rc == RD_ENOTFOUND) { /* none live: the latest of the quote (a failed payment, say) */
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_records(&it, t, d->orders, w.tok.vendor_id, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) == 0 &&
			    o->opportunity_id == w.tok.opportunity_id)
				*best = *o;
		rd_iter_close(&it);
		rc = rc < 0 ? rc : best->id ? 0 : RD_ENOTFOUND;
	}
	if (rc == 0 && best->customer_id != w.tok.customer_id)
		rc = RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc == 0)
		order_page(&w, best);
	else if (rc == RD_ENOTFOUND)
		rd_web_message(&w, 404, "No order yet", "There is no order for this renewal yet: open your renewal and press Buy.");
	free(o);
	free(best);
	return rc == RD_ENOTFOUND ? 0 : rc;
}

/* An order's invoice (core/pdf/invoice.c), for the customer of the link:
 * only an order of the customer's, of a contract the link shows. */
int rd_page_portal_invoice(struct rd_req *req)
{
	struct web w;
	if (rd_web_customer(req, &w) < 0)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	struct rd_invoice_doc *doc = NULL;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_contract k;
	rc = rd_invoice_load(t, d, w.tok.vendor_id, rd_parse_id(rd_req_param(req, "id")), &doc);
	if (rc == 0)
		rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, w.tok.vendor_id, w.tok.opportunity_id, o);
	if (rc == 0)
		rc = rd_entity_get(t, d->contracts, &rd_entity_contract, w.tok.vendor_id, doc->order.contract_id, &k);
	if (rc == 0 && (doc->order.customer_id != w.tok.customer_id || !rd_portal_shows(o, w.tok.customer_id, &k)))
		rc = RD_ENOTFOUND;
	rd_txn_end(t);
	free(o);
	void *pdf = NULL;
	size_t len = 0;
	char err[200];
	if (rc == 0 && (rc = rd_invoice_render(doc, &pdf, &len, err, sizeof err)) < 0)
		rd_log(RD_LOG_ERROR, "web", "invoice %s: %s", doc->order.invoice_number, err);
	if (rc == 0) {
		struct rd_document file = { .size = (uint32_t)len };
		rd_invoice_filename(&doc->order, file.name, sizeof file.name);
		snprintf(file.content_type, sizeof file.content_type, "application/pdf");
		rd_web_headers(req);
		rd_document_reply(req, &file, pdf, len);
	}
	free(pdf);
	free(doc);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "This invoice is not available.");
		return 0;
	}
	return rc < 0 ? rc : 0;
}

/* ---- the partner portal -------------------------------------------------------------------- */

int rd_page_partner(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0)
		return 0;
	if (!rd_role_is_partner(w.c.who.role)) {
		rd_web_redirect(req, "/vendor");
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	uint64_t v = w.c.who.vendor;
	json_t *pending = json_array(), *quotes = json_array(), *tasks = json_array();
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	struct rd_item item;
	static const char *const states[] = { "", "awaiting decision", "you sell", "vendor sells", "accepted", "won",
					       "lost", "expired" };
	/* the partner's own, by the opportunities' reseller and distributor
	 * indexes and the tasks' partner index (not a walk of the vendor's) */
	static const char *const opp_idx[] = { "reseller", RD_IDX_PARTNER_DISTRIBUTOR }, *const task_idx[] = { RD_IDX_PARTNER };
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	rc = rd_call_scope_ids(&w.c, t, d->opportunities, opp_idx, 2, 0, &ids, &n_ids);
	for (size_t x = 0; rc >= 0 && x < n_ids; x++) {
		if ((rc = rd_txn_get(t, d->opportunities, v, ids[x], &item.val, &item.len)) == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		if (rd_entity_decode(&rd_entity_opportunity, item.val, item.len, o) < 0 ||
		    !(rd_call_in_scope(&w.c, o->reseller_id) || rd_call_in_scope(&w.c, o->distributor_id)))
			continue;
		struct rd_customer cu;
		struct rd_product pr;
		const char *cname = rd_entity_get(t, d->customers, &rd_entity_customer, v, o->customer_id, &cu) == 0 ? cu.name : "";
		const char *pname = rd_entity_get(t, d->products, &rd_entity_product, v, o->product_id, &pr) == 0 ? pr.name : "";
		if (o->state == RD_OPP_PENDING_DECISION) {
			char pm[80] = "-", vm[80] = "-";
			rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_PARTNER, o->currency, pm, sizeof pm);
			rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_VENDOR, o->currency, vm, sizeof vm);
			json_int_t seats = o->n_lines ? (json_int_t)o->lines[0].quantity : 0;
			json_array_append_new(pending, json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:s, s:s, s:s, s:s}", "id",
								 (json_int_t)o->id, "number", o->number, "customer", cname, "product",
								 pname, "quantity", seats, "end", rd_date_json(o->contract_end),
								 "decide_by", rd_date_json(o->decision_by), "list",
								 rd_money_json(o->list_total, o->currency), "partner_margin", pm,
								 "vendor_margin", vm, "csrf", w.csrf, "vendor_name", w.vendor.name));
		} else {
			json_array_append_new(quotes, json_pack("{s:s, s:s, s:o, s:s, s:I}", "number", o->number, "customer", cname, "end",
								rd_date_json(o->contract_end), "state", states[o->state < 8 ? o->state : 0],
								"id", (json_int_t)o->id)); /* id: its sales view */
		}
	}
	free(ids);
	ids = NULL;
	free(o);
	struct rd_task task;
	static const char *const kinds[] = { "", "call back", "contact", "reply" };
	if (rc >= 0)
		rc = rd_call_scope_ids(&w.c, t, d->tasks, task_idx, 1, 0, &ids, &n_ids);
	for (size_t x = 0; rc >= 0 && x < n_ids; x++) {
		if ((rc = rd_txn_get(t, d->tasks, v, ids[x], &item.val, &item.len)) == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc >= 0 && rd_entity_decode(&rd_entity_task, item.val, item.len, &task) == 0 && !task.done &&
		    rd_call_in_scope(&w.c, task.partner_id))
			json_array_append_new(tasks, json_pack("{s:s, s:s}", "kind", kinds[task.kind < 4 ? task.kind : 0],
							       "message", task.message));
	}
	free(ids);
	struct rd_user u;
	struct rd_partner pa;
	bool have_u = rd_entity_get(t, d->users, &rd_entity_user, v, w.c.who.user, &u) == 0;
	bool have_p = rd_entity_get(t, d->partners, &rd_entity_partner, v, w.c.who.partner, &pa) == 0;
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(pending);
		json_decref(quotes);
		json_decref(tasks);
		return rc;
	}
	rd_web_page(&w, 200, "partner", w.c.who.partner,
		    json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "title", "Renewal opportunities", "user",
			      have_u ? u.email : "", "partner_name", have_p ? pa.name : "", "pending", pending, "quotes", quotes,
			      "tasks", tasks, "nav", rd_web_partner_nav(w.c.who.role, "/partner"), "nav_label", "Partner portal"));
	return 0;
}

/* One opportunity in the partner portal: the page every partner e-mail
 * about it links to (the quote notice, the pullback, the digest).  The
 * decision while it awaits one (both publish modes' margins, a button for
 * each), the quote's lines and total, its tasks; a partner outside its
 * channel is answered 404, as the API answers. */
int rd_page_partner_opportunity(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0)
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	if (!rd_role_is_partner(w.c.who.role)) { /* the vendor's people: the sales view of it */
		char loc[64];
		snprintf(loc, sizeof loc, "/sales/opportunities/%llu", (unsigned long long)id);
		rd_web_redirect(req, loc);
		return 0;
	}
	enum rd_scope scope = rd_authz(w.c.who.role, RD_RES_OPPORTUNITY, RD_ACT_READ);
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	uint64_t v = w.c.who.vendor;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = id && scope != RD_SCOPE_NONE ? rd_call_opportunity(&w.c, scope, t, id, o) : RD_ENOTFOUND;
	if (rc < 0) {
		rd_txn_end(t);
		free(o);
		if (rc != RD_ENOTFOUND)
			return rc;
		rd_web_message(&w, 404, "Not found", "There is no such opportunity.");
		return 0;
	}
	static const char *const states[] = { "", "awaiting your decision", "you sell", "the vendor sells", "accepted",
					       "won", "lost", "expired" };
	struct rd_customer cu = { 0 };
	struct rd_product pr = { 0 };
	struct rd_partner res = { 0 };
	rd_entity_get(t, d->customers, &rd_entity_customer, v, o->customer_id, &cu);
	rd_entity_get(t, d->products, &rd_entity_product, v, o->product_id, &pr);
	rd_entity_get(t, d->partners, &rd_entity_partner, v, o->reseller_id, &res);
	char pm[80] = "-", vm[80] = "-";
	rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_PARTNER, o->currency, pm, sizeof pm);
	rd_quote_share_text(o->lines, o->n_lines, RD_PUBLISH_VENDOR, o->currency, vm, sizeof vm);
	struct rd_quote_sum sum = { 0 };
	json_t *lines = quote_lines(o, NULL, &sum);
	json_t *tasks = json_array();
	struct rd_task *task = rd_malloc(sizeof *task);
	static const char *const kinds[] = { "", "call back", "contact", "reply" };
	/* the partner's tasks by the tasks' partner index (not a walk of the vendor's) */
	static const char *const task_idx[] = { RD_IDX_PARTNER };
	uint64_t *ids = NULL;
	size_t n_ids = 0;
	rc = rd_call_scope_ids(&w.c, t, d->tasks, task_idx, 1, 0, &ids, &n_ids);
	for (size_t x = 0; rc >= 0 && x < n_ids; x++) {
		const void *val;
		size_t len;
		if ((rc = rd_txn_get(t, d->tasks, v, ids[x], &val, &len)) == RD_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc >= 0 && rd_entity_decode(&rd_entity_task, val, len, task) == 0 && task->opportunity_id == o->id &&
		    rd_call_in_scope(&w.c, task->partner_id))
			json_array_append_new(tasks, json_pack("{s:s, s:s, s:b}", "kind", kinds[task->kind < 4 ? task->kind : 0],
							       "message", task->message, "done", task->done != 0));
	}
	free(ids);
	free(task);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(lines);
		json_decref(tasks);
		free(o);
		return rc;
	}
	bool pending = o->state == RD_OPP_PENDING_DECISION;
	bool may_decide = pending && rd_authz(w.c.who.role, RD_RES_OPPORTUNITY, RD_ACT_UPDATE) != RD_SCOPE_NONE;
	char title[64];
	snprintf(title, sizeof title, "Quote %s", o->number);
	json_t *ctx = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:s, s:b, s:b, s:s, s:s, s:s, s:s}",
				"title", title, "id", (json_int_t)o->id, "number", o->number, "customer", cu.name, "product",
				pr.name, "reseller", res.name, "quantity",
				(json_int_t)(o->n_lines ? o->lines[0].quantity : 0), "end", rd_date_json(o->contract_end),
				"decide_by", rd_date_json(o->decision_by), "list", rd_money_json(o->list_total, o->currency),
				"state", states[o->state < 8 ? o->state : 0], "pending", pending, "may_decide", may_decide,
				"partner_margin", pm, "vendor_margin", vm, "csrf", w.csrf, "vendor_name", w.vendor.name);
	json_object_set_new(ctx, "lines", lines ? lines : json_array());
	if (lines)
		json_object_set_new(ctx, "total", rd_money_json(sum.total, o->currency));
	json_object_set_new(ctx, "tasks", tasks);
	json_object_set_new(ctx, "nav", rd_web_partner_nav(w.c.who.role, "/partner"));
	json_object_set_new(ctx, "nav_label", json_string("Partner portal"));
	free(o);
	rd_web_page(&w, 200, "partner_opportunity", w.c.who.partner, ctx);
	return 0;
}

int rd_page_partner_decide(struct rd_req *req)
{
	struct web w;
	if (rd_web_user(req, &w) < 0 || !rd_web_csrf_ok(&w))
		return 0;
	const char *publish = rd_form(req, "publish");
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	if (!publish || (strcmp(publish, "partner") && strcmp(publish, "vendor"))) {
		rd_web_message(&w, 400, "Choose who sells", "Press one of the two buttons.");
		return 0;
	}
	if (rd_authz(w.c.who.role, RD_RES_OPPORTUNITY, RD_ACT_UPDATE) == RD_SCOPE_NONE) {
		rd_web_message(&w, 403, "Not allowed", "Your role cannot decide on opportunities.");
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	rc = rd_call_opportunity(&w.c, rd_authz(w.c.who.role, RD_RES_OPPORTUNITY, RD_ACT_UPDATE), t, id, o);
	rd_txn_end(t);
	free(o);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc; /* the store failed: the 503 page, not "no such opportunity" */
	if (rc < 0) {
		rd_web_message(&w, 404, "Not found", "There is no such opportunity.");
		return 0;
	}
	char why[200] = "";
	rc = rd_renew_decide(w.app->renew, w.c.who.vendor, w.c.who.user, id,
			     !strcmp(publish, "partner") ? RD_PUBLISH_PARTNER : RD_PUBLISH_VENDOR, why, sizeof why);
	if (rc == RD_EINVAL) {
		rd_web_message(&w, 409, "Already decided", why);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_web_redirect(req, "/partner");
	return 0;
}
