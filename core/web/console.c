/*
 * console.c: the vendor console, for the vendor's logged-in roles (partner
 * roles are sent to /partner).  Every page and action asks the role matrix
 * (core/auth/authz.c) first and answers a 403 page otherwise; every change
 * goes through the functions the API uses, so it is audited the same way.
 *   GET  /vendor                                   overview: contracts by colour, decisions awaited,
 *                                                  quotes needing attention, the outbox
 *   GET  /vendor/partners, /vendor/products
 *   GET  /vendor/contracts[?colour=&cursor=]       paged, by colour
 *   GET  /vendor/opportunities[?state=&cursor=]    quotes, each opening its sales view
 *   GET  /vendor/imports, POST /vendor/imports     imports; a new one from pasted CSV or JSON Lines
 *   GET  /vendor/imports/{id}                      one import: progress (portal.js polls the API), errors
 *   GET  /vendor/policies                          versions per kind, the active one marked, upload forms
 *   POST /vendor/policies/{kind}                   upload: checked on the thread pool, stored or refused
 *   POST /vendor/policies/{kind}/{version}/dry-run the dry-run report as a page
 *   POST /vendor/policies/{kind}/{version}/activate activate (an older version: roll back)
 *   GET  /vendor/plugins                           loaded and refused plugins, enablements
 *   POST /vendor/plugins/{name}/enablements        enable for the vendor or a partner
 *   POST /vendor/plugins/{name}/enablements/{id}/disable
 *   GET  /vendor/outbox[?state=&cursor=]           messages and their delivery
 */
#include <stdlib.h>
#include <string.h>

#include "api/import.h"
#include "config/config.h"
#include "domain/money.h"
#include "plugin/host.h"
#include "policy/runtime.h"
#include "renew/renew.h"
#include "services/enablements.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "web/web.h"

#define PAGE_ROWS 50

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *date_json(rd_date d)
{
	char s[11];
	if (!d)
		return json_string("");
	rd_date_format(d, s);
	return json_string(s);
}

static json_t *time_json(uint64_t unix_s)
{
	char s[21];
	if (!unix_s)
		return json_string("");
	rd_time_format(unix_s, s);
	s[10] = ' ';
	s[16] = 0; /* "YYYY-MM-DD HH:MM" */
	char out[32];
	snprintf(out, sizeof out, "%s UTC", s);
	return json_string(out);
}

static uint64_t query_id(struct rd_req *req, const char *name)
{
	const char *s = rd_req_query(req, name);
	return s ? rd_parse_id(s) : 0;
}

/* The console's pages are for the vendor's roles. */
static bool console_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/partner");
		return false;
	}
	return true;
}

/* The partner portal's pages are for the partners' roles. */
static bool partner_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor");
		return false;
	}
	return true;
}

static bool may(struct web *w, enum rd_resource res, enum rd_action act)
{
	return rd_authz(w->c.who.role, res, act) != RD_SCOPE_NONE;
}

/* Answers a 403 page unless the role may. */
static bool allowed(struct web *w, enum rd_resource res, enum rd_action act)
{
	if (may(w, res, act))
		return true;
	static const char *const verbs[] = { "", "see", "create", "", "change", "", "", "", "remove" };
	char text[200];
	snprintf(text, sizeof text, "Your role (%s) may not %s %s.", rd_role_name(w->c.who.role), verbs[act],
		 rd_resource_name(res));
	rd_web_message(w, 403, "Not allowed", text);
	return false;
}

/* The partner portal's navigation. */
json_t *rd_web_partner_nav(const char *current)
{
	static const struct {
		const char *href, *label;
	} sections[] = {
		{ "/partner", "Decisions and quotes" },
		{ "/partner/contracts", "Contracts" },
		{ "/partner/customers", "Customers" },
		{ "/partner/statements", "Statements" },
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "href", sections[i].href, "label", sections[i].label,
						   "current", !strcmp(sections[i].href, current)));
	return a;
}

/* The console's navigation: the sections this role may see. */
static json_t *nav_json(struct web *w, const char *current)
{
	if (rd_role_is_partner(w->c.who.role))
		return rd_web_partner_nav(current);
	static const struct {
		const char *href, *label;
		enum rd_resource res;
	} sections[] = {
		{ "/vendor", "Overview", RD_RES_VENDOR },
		{ "/vendor/partners", "Partners", RD_RES_PARTNER },
		{ "/vendor/products", "Products", RD_RES_PRODUCT },
		{ "/vendor/contracts", "Contracts", RD_RES_CONTRACT },
		{ "/vendor/opportunities", "Quotes", RD_RES_OPPORTUNITY },
		{ "/vendor/imports", "Imports", RD_RES_IMPORT },
		{ "/vendor/policies", "Policies", RD_RES_POLICY },
		{ "/vendor/plugins", "Plugins", RD_RES_PLUGIN },
		{ "/vendor/outbox", "Outbox", RD_RES_OUTBOX },
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		if (may(w, sections[i].res, RD_ACT_READ))
			json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "href", sections[i].href, "label",
							   sections[i].label, "current", !strcmp(sections[i].href, current)));
	return a;
}

void rd_web_mark_lists(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) rd_web_mark_lists(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_t *marks = json_object();
	json_object_foreach(j, key, v) {
		rd_web_mark_lists(v);
		if (json_is_array(v)) {
			char name[80];
			snprintf(name, sizeof name, "has_%s", key);
			json_object_set_new(marks, name, json_boolean(json_array_size(v) > 0));
		}
	}
	json_object_update_missing(j, marks);
	json_decref(marks);
}

/* Renders a console page. */
static void page(struct web *w, int status, const char *name, json_t *ctx)
{
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, name, 0, ctx);
}

static json_t *page_ctx(struct web *w, const char *title, const char *section)
{
	return json_pack("{s:s, s:o, s:s, s:s}", "title", title, "nav", nav_json(w, section), "role",
			 rd_role_name(w->c.who.role), "nav_label",
			 rd_role_is_partner(w->c.who.role) ? "Partner portal" : "Vendor console");
}

static const char *partner_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_partner *buf)
{
	if (id && rd_entity_get(t, w->app->domain->partners, &rd_entity_partner, w->c.who.vendor, id, buf) == 0)
		return buf->name;
	return "";
}

static const char *customer_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_customer *buf)
{
	if (id && rd_entity_get(t, w->app->domain->customers, &rd_entity_customer, w->c.who.vendor, id, buf) == 0)
		return buf->name;
	return "";
}

static const char *product_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_product *buf)
{
	if (id && rd_entity_get(t, w->app->domain->products, &rd_entity_product, w->c.who.vendor, id, buf) == 0)
		return buf->name;
	return "";
}

static const char *enum_text(const struct rd_entity *e, const char *field, unsigned v)
{
	for (size_t i = 0; i < e->n_fields; i++)
		if (!strcmp(e->fields[i].json, field) && e->fields[i].names) {
			size_t n = 0;
			while (e->fields[i].names[n])
				n++;
			return v < n ? e->fields[i].names[v] : "";
		}
	return "";
}

static const char *opp_state_text(uint8_t s)
{
	static const char *const t[] = { "", "awaiting decision", "partner sells", "vendor sells", "accepted", "won",
					 "lost", "expired" };
	return s < 8 ? t[s] : "";
}

/* A "next page" link: the path with the filter (a known word) and the cursor. */
static json_t *next_link(const char *path, const char *filter, const char *value, uint64_t next)
{
	if (!next)
		return json_null();
	char url[160];
	snprintf(url, sizeof url, "%s?%s%s%s%scursor=%llu", path, value ? filter : "", value ? "=" : "", value ? value : "",
		 value ? "&" : "", (unsigned long long)next);
	return json_string(url);
}

/* ---- overview -------------------------------------------------------------------------------- */

int rd_page_vendor(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	uint64_t v = w.c.who.vendor;
	json_t *ctx = page_ctx(&w, "Vendor console", "/vendor");
	struct rd_iter it;
	struct rd_item item;
	if (may(&w, RD_RES_CONTRACT, RD_ACT_READ)) {
		uint64_t n[5] = { 0 };
		struct rd_contract k;
		rc = rd_iter_records(&it, t, d->contracts, v, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0)
				n[rd_contract_colour(&k, rd_clock_today(), w.vendor.renewal_window_days)]++;
		rd_iter_close(&it);
		json_t *colours = json_array();
		json_object_set_new(ctx, "contracts", json_pack("{s:o}", "colours", colours));
		static const char *const text[] = { "", "expired, not renewed", "due for renewal", "active", "cancelled" };
		for (int c = RD_RED; c <= RD_BLACK; c++)
			json_array_append_new(colours, json_pack("{s:s, s:s, s:I}", "colour", rd_colour_name(c), "text", text[c],
								 "count", (json_int_t)n[c]));
	}
	if (rc >= 0 && may(&w, RD_RES_OPPORTUNITY, RD_ACT_READ)) {
		uint64_t pending = 0, attention = 0;
		json_t *list = json_array();
		struct rd_opportunity *o = rd_malloc(sizeof *o);
		rc = rd_iter_records(&it, t, d->opportunities, v, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_opportunity, item.val, item.len, o) < 0)
				continue;
			pending += o->state == RD_OPP_PENDING_DECISION;
			if (o->attention && o->state != RD_OPP_WON && o->state != RD_OPP_LOST && o->state != RD_OPP_EXPIRED) {
				attention++;
				if (json_array_size(list) < 20) {
					struct rd_customer cu;
					json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)o->id, "number",
									      o->number, "customer", customer_name(t, &w, o->customer_id, &cu),
									      "reason", o->attention_reason));
				}
			}
		}
		rd_iter_close(&it);
		free(o);
		json_object_set_new(ctx, "opportunities", json_pack("{s:I, s:I, s:o}", "pending", (json_int_t)pending,
								    "attention", (json_int_t)attention, "attention_list", list));
	}
	if (rc >= 0 && may(&w, RD_RES_OUTBOX, RD_ACT_READ)) {
		uint64_t n[4] = { 0 };
		struct rd_message *m = rd_malloc(sizeof *m);
		rc = rd_iter_records(&it, t, d->outbox, v, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_message, item.val, item.len, m) == 0 && m->state < 4)
				n[m->state]++;
		rd_iter_close(&it);
		free(m);
		json_object_set_new(ctx, "outbox", json_pack("{s:I, s:I, s:I}", "queued", (json_int_t)n[RD_MSG_QUEUED], "sent",
							     (json_int_t)n[RD_MSG_SENT], "dead", (json_int_t)n[RD_MSG_DEAD]));
	}
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(ctx);
		return rc;
	}
	page(&w, 200, "vendor", ctx);
	return 0;
}

/* ---- partners, products, contracts, quotes, outbox: lists ------------------------------------- */

/* One page of a table's records in id order; row(w, t, obj) makes a row or
 * returns NULL to skip the record. */
typedef json_t *(*row_fn)(struct web *w, struct rd_txn *t, void *obj, const char *filter);

static int list_page(struct web *w, struct rd_table *tb, const struct rd_entity *e, enum rd_resource res, size_t size,
		     uint64_t cursor, const char *filter, row_fn row, json_t **rows, uint64_t *next)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	/* A partner's role sees its own records only (its contracts, the
	 * customers it is of record for), as through the API. */
	bool own = rd_authz(w->c.who.role, res, RD_ACT_READ) == RD_SCOPE_OWN;
	void *obj = rd_malloc(size);
	struct rd_iter it;
	struct rd_item item;
	uint64_t last = 0;
	size_t n = 0;
	*rows = json_array();
	*next = 0;
	rc = rd_iter_records(&it, t, tb, w->c.who.vendor, cursor + 1);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(e, item.val, item.len, obj) < 0 || (own && !rd_call_sees(&w->c, t, res, obj)))
			continue;
		json_t *r = row(w, t, obj, filter);
		if (!r)
			continue;
		if (n == PAGE_ROWS) {
			json_decref(r);
			*next = last;
			break;
		}
		json_array_append_new(*rows, r);
		last = item.id;
		n++;
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(obj);
	if (rc < 0) {
		json_decref(*rows);
		*rows = NULL;
	}
	return rc < 0 ? rc : 0;
}

static json_t *partner_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_partner *p = obj, parent;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)p->id, "external_id", p->external_id,
			 "name", p->name, "kind", enum_text(&rd_entity_partner, "kind", p->kind), "tier",
			 enum_text(&rd_entity_partner, "tier", p->tier), "parent", partner_name(t, w, p->parent_id, &parent),
			 "email", p->email, "phone", p->phone);
}

static json_t *product_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_product *p = obj;
	json_t *prices = json_array(), *related = json_array();
	for (int i = 0; i < p->n_prices && i < RD_MAX_PRICES; i++) {
		char m[48], s[80];
		rd_money_format(p->prices[i].amount, p->prices[i].currency, m, sizeof m);
		snprintf(s, sizeof s, "%s per seat, %s", m, enum_text(&rd_entity_contract, "term", p->prices[i].term));
		json_array_append_new(prices, json_string(s));
	}
	for (int i = 0; i < p->n_upsell + p->n_crosssell && i < 2 * RD_MAX_RELATED; i++) {
		struct rd_product q;
		uint64_t id = i < p->n_upsell ? p->upsell[i] : p->crosssell[i - p->n_upsell];
		if (rd_entity_get(t, w->app->domain->products, &rd_entity_product, w->c.who.vendor, id, &q) == 0)
			json_array_append_new(related, json_pack("{s:s, s:s}", "sku", q.external_id, "kind",
								 i < p->n_upsell ? "up-sell" : "cross-sell"));
	}
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)p->id, "sku", p->external_id, "name", p->name,
			 "line", p->line, "prices", prices, "related", related);
}

static const char *const colour_names[] = { "red", "amber", "green", "black", NULL };

static const char *known_word(const char *s, const char *const *words)
{
	for (int i = 0; s && words[i]; i++)
		if (!strcmp(s, words[i]))
			return words[i];
	return NULL;
}

static json_t *contract_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_contract *k = obj;
	enum rd_colour c = rd_contract_colour(k, rd_clock_today(), w->vendor.renewal_window_days);
	if (filter && strcmp(filter, rd_colour_name(c)))
		return NULL;
	struct rd_customer cu;
	struct rd_product pr;
	struct rd_partner pa;
	static const char *const text[] = { "", "expired", "due for renewal", "active", "cancelled" };
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:b, s:b}", "id", (json_int_t)k->id,
			 "external_id", k->external_id, "customer", customer_name(t, w, k->customer_id, &cu), "product",
			 product_name(t, w, k->product_id, &pr), "reseller", partner_name(t, w, k->reseller_id, &pa),
			 "quantity", (json_int_t)k->quantity, "start", date_json(k->start), "end", date_json(k->end), "status",
			 enum_text(&rd_entity_contract, "status", k->status), "colour", rd_colour_name(c), "colour_text",
			 text[c], "warranty_only", (k->flags & RD_FLAG_WARRANTY_ONLY) != 0, "consolidated",
			 (k->flags & RD_FLAG_CONSOLIDATED) != 0);
}

static const char *const opp_state_names[] = { "pending_decision", "published_partner", "published_vendor", "accepted",
					       "won", "lost", "expired", NULL };

static json_t *opportunity_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_opportunity *o = obj;
	if (filter && strcmp(filter, enum_text(&rd_entity_opportunity, "state", o->state)))
		return NULL;
	struct rd_customer cu;
	struct rd_product pr;
	struct rd_partner pa;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "id", (json_int_t)o->id, "number",
			 o->number, "customer", customer_name(t, w, o->customer_id, &cu), "product",
			 product_name(t, w, o->product_id, &pr), "reseller", partner_name(t, w, o->reseller_id, &pa), "state",
			 opp_state_text(o->state), "list", rd_money_json(o->list_total, o->currency), "discount",
			 o->discount_bp ? rd_bp_json(o->discount_bp) : json_string(""), "end", date_json(o->contract_end),
			 "attention", o->attention != 0, "attention_reason", o->attention_reason);
}

static json_t *message_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_message *m = obj;
	const char *state = enum_text(&rd_entity_message, "state", m->state);
	if (filter && strcmp(filter, state))
		return NULL;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s}", "id", (json_int_t)m->id, "kind", m->kind, "to",
			 m->to, "subject", m->subject, "state", state, "attempts", (json_int_t)m->attempts, "created",
			 time_json(m->created_at), "sent", time_json(m->sent_at), "last_error", m->last_error);
}

/* A filter choice for a select: [{value, label, selected}] with "all" first. */
static json_t *choices(const char *const *values, const char *chosen)
{
	json_t *a = json_array();
	json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", "", "label", "all", "selected", chosen == NULL));
	for (int i = 0; values[i]; i++) {
		char label[40];
		snprintf(label, sizeof label, "%s", values[i]);
		for (char *p = label; *p; p++)
			if (*p == '_')
				*p = ' ';
		json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "value", values[i], "label", label, "selected",
						   chosen && !strcmp(chosen, values[i])));
	}
	return a;
}

struct list_def {
	const char *path, *title, *page, *filter; /* filter: the query parameter, or NULL */
	const char *const *words;                 /* its values */
	bool partner;                             /* a page of the partner portal (else of the console) */
	enum rd_resource res;
	const struct rd_entity *e;
	size_t table, size;
	row_fn row;
};

static int list_handler(struct rd_req *req, const struct list_def *def)
{
	struct web w;
	if (!(def->partner ? partner_begin(req, &w) : console_begin(req, &w)) || !allowed(&w, def->res, RD_ACT_READ))
		return 0;
	const char *filter = def->filter ? known_word(rd_req_query(req, def->filter), def->words) : NULL;
	json_t *rows;
	uint64_t next;
	struct rd_table *tb = *(struct rd_table **)((char *)w.app->domain + def->table);
	int rc = list_page(&w, tb, def->e, def->res, def->size, query_id(req, "cursor"), filter, def->row, &rows, &next);
	if (rc < 0)
		return rc;
	json_t *ctx = page_ctx(&w, def->title, def->path);
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "next", next_link(def->path, def->filter, filter, next));
	if (def->filter)
		json_object_set_new(ctx, "choices", choices(def->words, filter));
	page(&w, 200, def->page, ctx);
	return 0;
}

int rd_page_vendor_partners(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/partners", "Partners", "vendor_partners", NULL, NULL, false, RD_RES_PARTNER,
					     &rd_entity_partner, offsetof(struct rd_domain, partners),
					     sizeof(struct rd_partner), partner_row };
	return list_handler(req, &def);
}

int rd_page_vendor_products(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/products", "Products", "vendor_products", NULL, NULL, false, RD_RES_PRODUCT,
					     &rd_entity_product, offsetof(struct rd_domain, products),
					     sizeof(struct rd_product), product_row };
	return list_handler(req, &def);
}

int rd_page_vendor_contracts(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/contracts", "Contracts", "vendor_contracts", "colour", colour_names, false,
					     RD_RES_CONTRACT, &rd_entity_contract, offsetof(struct rd_domain, contracts),
					     sizeof(struct rd_contract), contract_row };
	return list_handler(req, &def);
}

int rd_page_vendor_opportunities(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/opportunities", "Renewal quotes", "vendor_opportunities", "state",
					     opp_state_names, false, RD_RES_OPPORTUNITY, &rd_entity_opportunity,
					     offsetof(struct rd_domain, opportunities), sizeof(struct rd_opportunity),
					     opportunity_row };
	return list_handler(req, &def);
}

static json_t *customer_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_customer *c = obj;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)c->id, "external_id", c->external_id,
			 "name", c->name, "email", c->email, "phone", c->phone, "city", c->city, "country", c->country,
			 "segment", c->segment);
}

int rd_page_partner_contracts(struct rd_req *req)
{
	static const struct list_def def = { "/partner/contracts", "Contracts", "partner_contracts", "colour", colour_names,
					     true, RD_RES_CONTRACT, &rd_entity_contract,
					     offsetof(struct rd_domain, contracts), sizeof(struct rd_contract), contract_row };
	return list_handler(req, &def);
}

int rd_page_partner_customers(struct rd_req *req)
{
	static const struct list_def def = { "/partner/customers", "Customers", "partner_customers", NULL, NULL, true,
					     RD_RES_CUSTOMER, &rd_entity_customer, offsetof(struct rd_domain, customers),
					     sizeof(struct rd_customer), customer_row };
	return list_handler(req, &def);
}

/* A partner's monthly commission statements, with their CSV and PDF. */
static json_t *statement_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_statement *st = obj;
	json_t *totals = json_loads(st->totals[0] ? st->totals : "[]", 0, NULL), *x, *out = json_array();
	size_t i;
	json_array_foreach(totals, i, x) {
		char money[64];
		rd_money_format(json_integer_value(json_object_get(x, "amount")),
				json_string_value(json_object_get(x, "currency")), money, sizeof money);
		json_array_append_new(out, json_pack("{s:s}", "amount", money));
	}
	json_decref(totals);
	char issued[11], csv[64], pdf[64];
	rd_date_format(st->issued_on, issued);
	snprintf(csv, sizeof csv, "/api/v1/statements/%llu/csv", (unsigned long long)st->id);
	snprintf(pdf, sizeof pdf, "/api/v1/statements/%llu/pdf", (unsigned long long)st->id);
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:o, s:s, s:s}", "id", (json_int_t)st->id, "number", st->number,
			 "month", st->month, "lines", (json_int_t)st->lines, "issued_on", issued, "totals", out, "csv", csv,
			 "pdf", pdf);
}

int rd_page_partner_statements(struct rd_req *req)
{
	static const struct list_def def = { "/partner/statements", "Commission statements", "partner_statements", NULL,
					     NULL, true, RD_RES_COMMISSION, &rd_entity_statement,
					     offsetof(struct rd_domain, statements), sizeof(struct rd_statement),
					     statement_row };
	return list_handler(req, &def);
}

static const char *const msg_state_names[] = { "queued", "sent", "dead", NULL };

int rd_page_vendor_outbox(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/outbox", "Outbox", "vendor_outbox", "state", msg_state_names, false,
					     RD_RES_OUTBOX, &rd_entity_message, offsetof(struct rd_domain, outbox),
					     sizeof(struct rd_message), message_row };
	return list_handler(req, &def);
}

/* ---- imports ------------------------------------------------------------------------------------ */

static const char *const import_kinds[] = { "customers", "contacts", "products", "contracts", NULL };

static json_t *import_row(struct web *w, const struct rd_import_rec *r)
{
	json_t *j = rd_import_json(w->c.who.vendor, r);
	json_t *p = json_object_get(j, "progress");
	json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:o, s:o, s:I}", "id",
				(json_int_t)r->id, "kind", r->kind, "format", r->format, "status",
				enum_text(&rd_entity_import, "status", r->status), "running", r->status == RD_IMPORT_RUNNING,
				"rows", json_integer_value(json_object_get(j, "rows")), "rows_ok", (json_int_t)r->rows_ok,
				"rows_failed", (json_int_t)r->rows_failed, "created", (json_int_t)r->created, "updated",
				(json_int_t)r->updated, "dry_run", r->dry_run != 0, "atomic", r->atomic != 0, "message",
				r->message, "started", time_json(r->started_at), "finished", time_json(r->finished_at),
				"percent", (json_int_t)(p ? json_real_value(json_object_get(p, "percent")) : 0));
	json_decref(j);
	return row;
}

/* The imports page, with the form (kept as submitted when refused). */
static int imports_page(struct web *w, int status, const char *error, const char *kind, const char *format,
			bool dry_run, bool atomic, const char *data)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *rows = json_array();
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, w->app->domain->imports, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_import, item.val, item.len, r) == 0)
			json_array_insert_new(rows, 0, import_row(w, r)); /* newest first */
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	while (json_array_size(rows) > 200)
		json_array_remove(rows, json_array_size(rows) - 1);
	json_t *ctx = page_ctx(w, "Imports", "/vendor/imports");
	json_t *kinds = json_array();
	for (int i = 0; import_kinds[i]; i++)
		json_array_append_new(kinds, json_pack("{s:s, s:b}", "value", import_kinds[i], "selected",
						       kind && !strcmp(kind, import_kinds[i])));
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "can_import", json_boolean(may(w, RD_RES_IMPORT, RD_ACT_CREATE)));
	json_object_set_new(ctx, "form", json_pack("{s:o, s:b, s:b, s:b, s:s}", "kinds", kinds, "jsonl",
						   format && !strcmp(format, "jsonl"), "dry_run", dry_run, "atomic", atomic,
						   "data", data ? data : ""));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	page(w, status, "vendor_imports", ctx);
	return 0;
}

int rd_page_vendor_imports(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !allowed(&w, RD_RES_IMPORT, RD_ACT_READ))
		return 0;
	return imports_page(&w, 200, NULL, NULL, NULL, false, true, NULL);
}

int rd_page_vendor_import_post(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !rd_web_csrf_ok(&w) || !allowed(&w, RD_RES_IMPORT, RD_ACT_CREATE))
		return 0;
	const char *kind = rd_form(req, "kind"), *format = rd_form(req, "format"), *data = rd_form(req, "data");
	bool dry_run = rd_form(req, "dry_run") != NULL, atomic = rd_form(req, "atomic") != NULL;
	int res = rd_import_kind(kind);
	bool csv = !format || !strcmp(format, "csv");
	if (res < 0 || (!csv && strcmp(format, "jsonl")))
		return imports_page(&w, 400, "Choose what to import (customers, contacts, products or contracts) and the format "
				    "(CSV or JSON Lines).", kind, format, dry_run, atomic, data);
	/* As the API: an import creates and updates records of its kind. */
	if (!allowed(&w, (enum rd_resource)res, RD_ACT_CREATE) || !allowed(&w, (enum rd_resource)res, RD_ACT_UPDATE))
		return 0;
	if (!data || !*data)
		return imports_page(&w, 400, "Paste the file's text (or choose a file) first: the import is empty.", kind,
				    format, dry_run, atomic, data);
	size_t len = strlen(data);
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	int rc = rd_import_start(&w.c, (enum rd_resource)res, csv, dry_run, atomic, data, len, r);
	if (rc == 0) {
		char loc[64];
		snprintf(loc, sizeof loc, "/vendor/imports/%llu", (unsigned long long)r->id);
		rd_web_redirect(req, loc);
	}
	free(r);
	return rc;
}

int rd_page_vendor_import(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !allowed(&w, RD_RES_IMPORT, RD_ACT_READ))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc == 0) {
		rc = id ? rd_entity_get(t, w.app->domain->imports, &rd_entity_import, w.c.who.vendor, id, r) : RD_ENOTFOUND;
		rd_txn_end(t);
	}
	if (rc == RD_ENOTFOUND) {
		free(r);
		rd_web_message(&w, 404, "Not found", "There is no such import.");
		return 0;
	}
	if (rc < 0) {
		free(r);
		return rc;
	}
	char title[48];
	snprintf(title, sizeof title, "Import %llu", (unsigned long long)r->id);
	json_t *ctx = page_ctx(&w, title, "/vendor/imports");
	json_object_set_new(ctx, "import", import_row(&w, r));
	json_t *errors = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_object_set_new(ctx, "errors", errors ? errors : json_array());
	free(r);
	page(&w, 200, "vendor_import", ctx);
	return 0;
}

/* ---- policies ----------------------------------------------------------------------------------- */

struct policy_form {
	const char *kind;   /* the kind the form was for */
	const char *source, *vectors, *note;
	const char *error;  /* what was wrong */
	long line;          /* the source line the error names; 0: none */
	json_t *failures;   /* failing vectors [{vector, message}] */
};

/* "margin (upload):12: ..." -> 12 */
static long error_line(const char *err)
{
	for (const char *p = strchr(err, ':'); p; p = strchr(p + 1, ':')) {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (end != p + 1 && *end == ':' && n > 0)
			return n;
	}
	return 0;
}

static int policies_page(struct web *w, int status, const struct policy_form *f, const char *notice)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	static const char *const kinds[] = { "margin", "routing" };
	json_t *out = json_array();
	struct rd_policy_rec *r = rd_malloc(sizeof *r);
	bool can_upload = may(w, RD_RES_POLICY, RD_ACT_CREATE), can_activate = may(w, RD_RES_POLICY, RD_ACT_UPDATE);
	for (int k = 0; k < 2 && rc >= 0; k++) {
		uint32_t active = k ? w->vendor.routing_version : w->vendor.margin_version;
		json_t *versions = json_array();
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_records(&it, t, w->app->domain->policies, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_policy, item.val, item.len, r) < 0 || strcmp(r->kind, kinds[k]))
				continue;
			json_array_insert_new(versions, 0, json_pack("{s:s, s:I, s:s, s:b, s:b, s:b, s:o, s:o, s:I, s:s, s:b}",
								      "kind", kinds[k], "version", (json_int_t)r->version,
								      "status", enum_text(&rd_entity_policy, "status", r->status),
								      "active", r->version == active, "can_activate",
								      can_activate && r->version != active, "rollback",
								      r->version < active, "created", time_json(r->created_at),
								      "activated", time_json(r->activated_at), "vectors_passed",
								      (json_int_t)r->vectors_passed, "note", r->note, "can_dry_run",
								      k == 0));
		}
		rd_iter_close(&it);
		if (rc < 0) {
			json_decref(versions);
			break;
		}
		json_t *form;
		if (f && !strcmp(f->kind, kinds[k])) {
			form = json_pack("{s:s, s:s, s:s}", "source", f->source ? f->source : "", "vectors",
					 f->vectors ? f->vectors : "", "note", f->note ? f->note : "");
			if (f->error)
				json_object_set_new(form, "error", json_string(f->error));
			if (f->line)
				json_object_set_new(form, "line", json_integer(f->line));
			if (f->failures)
				json_object_set_new(form, "failures", json_incref(f->failures));
		} else if (active && rd_policy_find(t, w->app->domain, w->c.who.vendor, kinds[k], active, r) == 0) {
			/* The active version, to edit. */
			json_t *vec = json_loads(r->vectors[0] ? r->vectors : "[]", 0, NULL);
			char *pretty = vec ? json_dumps(vec, JSON_INDENT(1)) : NULL;
			json_decref(vec);
			form = json_pack("{s:s, s:s, s:s}", "source", r->source, "vectors", pretty ? pretty : "[]", "note", "");
			free(pretty);
		} else {
			form = json_pack("{s:s, s:s, s:s}", "source", "", "vectors", "[]", "note", "");
		}
		json_array_append_new(out, json_pack("{s:s, s:I, s:o, s:o, s:b, s:s}", "kind", kinds[k], "active",
						     (json_int_t)active, "versions", versions, "form", form, "can_upload",
						     can_upload, "csrf", w->csrf));
	}
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(out);
		return rc;
	}
	json_t *ctx = page_ctx(w, "Policies", "/vendor/policies");
	json_object_set_new(ctx, "kinds", out);
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	page(w, status, "vendor_policies", ctx);
	return 0;
}

static const char *kind_param(struct rd_req *req)
{
	return rd_policy_kind(rd_req_param(req, "kind"));
}

static uint32_t version_param(struct rd_req *req)
{
	uint64_t v = rd_parse_id(rd_req_param(req, "version"));
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* "?stored=margin-3" and "?activated=routing-2": what the last action did. */
static bool done_param(struct rd_req *req, const char *name, const char **kind, uint32_t *version)
{
	const char *s = rd_req_query(req, name);
	if (!s)
		return false;
	const char *dash = strchr(s, '-');
	if (!dash)
		return false;
	*kind = !strncmp(s, "margin-", 7) ? "margin" : !strncmp(s, "routing-", 8) ? "routing" : NULL;
	uint64_t v = rd_parse_id(dash + 1);
	*version = v > UINT32_MAX ? 0 : (uint32_t)v;
	return *kind && *version;
}

int rd_page_vendor_policies(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !allowed(&w, RD_RES_POLICY, RD_ACT_READ))
		return 0;
	const char *kind;
	uint32_t version;
	char notice[120];
	const char *note = NULL;
	if (done_param(req, "stored", &kind, &version)) {
		snprintf(notice, sizeof notice, "Stored %s policy version %u: every test vector passed. Dry-run it, then activate it.",
			 kind, version);
		note = notice;
	} else if (done_param(req, "activated", &kind, &version)) {
		snprintf(notice, sizeof notice, "%s policy version %u is active.", kind, version);
		notice[0] = (char)(notice[0] - 'a' + 'A');
		note = notice;
	}
	return policies_page(&w, 200, NULL, note);
}

struct upload {
	struct rd_policy_job j; /* first: the pool's work takes the job (services/policies.h) */
	struct web w;
};

/* The job of a console user: who, and the vendor as loaded. */
static void job_of(struct rd_policy_job *j, struct web *w)
{
	j->app = w->app;
	j->who = (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user };
	j->vendor = w->vendor;
}

/* One vendor's share of the thread pool (as POST /api/v1/policies/{kind}):
 * a job more than policy_jobs_per_vendor gets a 429 page (true). */
static bool pool_full(struct web *w, struct rd_policy_job *j)
{
	unsigned max;
	if (rd_policy_job_take(j, &max) == 0)
		return false;
	rd_reply_header(w->req, "retry-after", "1");
	char text[200];
	snprintf(text, sizeof text,
		 "Policy checks and dry runs run at most %u at a time for a vendor, and %u are running now. Try again when "
		 "one has finished.",
		 max, max);
	rd_web_message(w, 429, "Busy", text);
	return true;
}

static void upload_done(struct rd_req *req, void *arg)
{
	struct upload *u = arg;
	struct rd_policy_job *j = &u->j;
	rd_policy_job_give(j);
	if (!req)
		goto out;
	u->w.req = req;
	u->w.c.req = req;
	char *vtext = json_dumps(j->vectors, JSON_INDENT(1));
	struct policy_form f = { .kind = j->rec.kind, .source = j->rec.source, .vectors = vtext, .note = j->rec.note };
	char msg[600];
	int rc = 0;
	if (j->result == RD_EINVAL) {
		f.error = j->err;
		f.line = error_line(j->err);
		rc = policies_page(&u->w, 422, &f, NULL);
	} else if (j->result > 0) {
		snprintf(msg, sizeof msg, "%d of %zu test vectors failed: the version is not stored.", j->result,
			 json_array_size(j->vectors));
		f.error = msg;
		f.failures = j->report;
		rc = policies_page(&u->w, 422, &f, NULL);
	} else if (j->result < 0) {
		snprintf(msg, sizeof msg, "The policy could not be checked: %s", j->err);
		f.error = msg;
		rc = policies_page(&u->w, 500, &f, NULL);
	} else {
		rc = rd_policy_upload_store(j);
		if (rc == 0) {
			char loc[80];
			snprintf(loc, sizeof loc, "/vendor/policies?stored=%s-%u", j->rec.kind, j->rec.version);
			rd_web_redirect(req, loc);
		}
	}
	free(vtext);
	if (rc < 0)
		rd_web_message(&u->w, 500, "Something went wrong", "The policy could not be stored. Try again.");
out:
	rd_policy_job_clear(j);
	free(u);
}

int rd_page_vendor_policy_upload(struct rd_req *req)
{
	struct upload *u = rd_calloc(1, sizeof *u);
	const char *kind;
	if (!console_begin(req, &u->w) || !rd_web_csrf_ok(&u->w) || !allowed(&u->w, RD_RES_POLICY, RD_ACT_CREATE)) {
		free(u);
		return 0;
	}
	if (!(kind = kind_param(req))) {
		rd_web_message(&u->w, 404, "Not found", "Policies are of kind margin or routing.");
		free(u);
		return 0;
	}
	job_of(&u->j, &u->w);
	const char *src = rd_form(req, "source"), *vtext = rd_form(req, "vectors"), *note = rd_form(req, "note");
	struct policy_form f = { .kind = kind, .source = src, .vectors = vtext, .note = note };
	json_error_t je;
	json_t *vectors = vtext ? json_loads(vtext, 0, &je) : NULL;
	char msg[300];
	struct rd_serr e;
	if (!src || !*src) {
		f.error = "The source is Lua text of at most 64 KiB.";
	} else if (!vectors) {
		snprintf(msg, sizeof msg, "The test vectors are not JSON (line %d, column %d): %s", je.line, je.column, je.text);
		f.error = msg;
	} else if (rd_policy_upload_prepare(&u->j, kind, src, vectors, note, &e) < 0) {
		snprintf(msg, sizeof msg, "%s", e.message);
		f.error = msg;
	}
	json_decref(vectors); /* the job holds its own reference */
	if (f.error) {
		int rc = policies_page(&u->w, 400, &f, NULL);
		free(u);
		return rc;
	}
	int q = pool_full(&u->w, &u->j) ? 1 : rd_req_work(req, rd_policy_upload_check, upload_done, u);
	if (q < 0)
		rd_policy_job_give(&u->j);
	if (q != 0) {
		rd_policy_job_clear(&u->j);
		free(u);
	}
	return q < 0 ? q : 0;
}

struct dry {
	struct rd_policy_job j; /* first: the pool's work takes the job */
	struct web w;
};

static json_t *shares_text(json_t *shares)
{
	json_t *a = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(shares, i, s) {
		char text[200], pct[24];
		int64_t bp = json_integer_value(json_object_get(s, "bp"));
		rd_bp_format(bp, pct, sizeof pct);
		snprintf(text, sizeof text, "%s %s", json_string_value(json_object_get(s, "party")) ?: "", pct);
		json_array_append_new(a, json_string(text));
	}
	return a;
}

static void dry_done(struct rd_req *req, void *arg)
{
	struct dry *d = arg;
	rd_policy_job_give(&d->j);
	if (!req)
		goto out;
	d->w.req = req;
	d->w.c.req = req;
	if (d->j.result < 0) {
		char text[600];
		snprintf(text, sizeof text, "The dry run failed: %s", d->j.err[0] ? d->j.err : rd_strerror(d->j.result));
		rd_web_message(&d->w, 422, "Dry run failed", text);
		goto out;
	}
	struct rd_txn *t;
	if (rd_store_read(d->w.app->store, &t) < 0) {
		rd_web_message(&d->w, 500, "Something went wrong", "The store could not be read. Try again.");
		goto out;
	}
	json_t *r = d->j.report, *partners = json_array(), *largest = json_array(), *errors = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(r, "per_partner"), i, x) {
		struct rd_partner p;
		uint64_t id = (uint64_t)json_integer_value(json_object_get(x, "partner_id"));
		const char *cur = json_string_value(json_object_get(x, "currency")) ?: "";
		json_array_append_new(partners, json_pack("{s:I, s:s, s:o}", "partner_id", (json_int_t)id, "partner",
							  partner_name(t, &d->w, id, &p), "delta",
							  rd_money_json(json_integer_value(json_object_get(x, "delta")), cur)));
	}
	json_array_foreach(json_object_get(r, "largest_changes"), i, x) {
		struct rd_contract k;
		struct rd_customer cu;
		uint64_t id = (uint64_t)json_integer_value(json_object_get(x, "contract_id"));
		bool have = rd_entity_get(t, d->w.app->domain->contracts, &rd_entity_contract, d->w.c.who.vendor, id, &k) == 0;
		const char *cur = json_string_value(json_object_get(x, "currency")) ?: "";
		json_array_append_new(largest, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "contract_id", (json_int_t)id,
							 "contract", have ? k.external_id : "", "customer",
							 have ? customer_name(t, &d->w, k.customer_id, &cu) : "", "delta",
							 rd_money_json(json_integer_value(json_object_get(x, "delta")), cur),
							 "before", shares_text(json_object_get(x, "before")), "after",
							 shares_text(json_object_get(x, "after"))));
	}
	json_array_foreach(json_object_get(r, "errors"), i, x) json_array_append(errors, x);
	rd_txn_end(t);
	char title[64];
	snprintf(title, sizeof title, "Dry run: %s policy version %u", d->j.rec.kind, d->j.rec.version);
	json_t *ctx = page_ctx(&d->w, title, "/vendor/policies");
	uint32_t active = d->w.vendor.margin_version;
	json_object_set_new(ctx, "report",
			    json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:o, s:o}", "kind", d->j.rec.kind,
				      "version", (json_int_t)d->j.rec.version, "compared_with", json_object_get(r, "compared_with"),
				      "lines", json_object_get(r, "lines"), "lines_changed", json_object_get(r, "lines_changed"),
				      "lines_failed", json_object_get(r, "lines_failed"), "lines_failed_before",
				      json_object_get(r, "lines_failed_before"), "contracts_without_price",
				      json_object_get(r, "contracts_without_price"), "per_partner", partners, "largest_changes",
				      largest, "errors", errors));
	json_object_set_new(ctx, "can_activate",
			    json_boolean(may(&d->w, RD_RES_POLICY, RD_ACT_UPDATE) && d->j.rec.version != active));
	json_object_set_new(ctx, "rollback", json_boolean(d->j.rec.version < active));
	page(&d->w, 200, "vendor_dry_run", ctx);
out:
	rd_policy_job_clear(&d->j);
	free(d);
}

int rd_page_vendor_policy_dry_run(struct rd_req *req)
{
	struct dry *d = rd_calloc(1, sizeof *d);
	const char *kind;
	if (!console_begin(req, &d->w) || !rd_web_csrf_ok(&d->w) || !allowed(&d->w, RD_RES_POLICY, RD_ACT_READ)) {
		free(d);
		return 0;
	}
	if (!(kind = kind_param(req))) {
		rd_web_message(&d->w, 404, "Not found", "Policies are of kind margin or routing.");
		free(d);
		return 0;
	}
	job_of(&d->j, &d->w);
	struct rd_serr e;
	int rc = rd_policy_dry_run_prepare(&d->j, kind, version_param(req), &e);
	if (rc == RD_EINVAL)
		rd_web_message(&d->w, 400, "No dry run for routing",
			       "Dry runs compare margins on the live contracts; a routing version is checked by its test vectors.");
	else if (rc == RD_ENOTFOUND)
		rd_web_message(&d->w, 404, "Not found", "There is no such policy version.");
	if (rc < 0 || pool_full(&d->w, &d->j)) {
		free(d);
		return rc == RD_ENOTFOUND || rc == RD_EINVAL ? 0 : rc;
	}
	if ((rc = rd_req_work(req, rd_policy_dry_run_work, dry_done, d)) < 0) {
		rd_policy_job_give(&d->j);
		free(d);
	}
	return rc;
}

int rd_page_vendor_policy_activate(struct rd_req *req)
{
	struct web w;
	const char *kind;
	if (!console_begin(req, &w) || !rd_web_csrf_ok(&w) || !allowed(&w, RD_RES_POLICY, RD_ACT_UPDATE))
		return 0;
	if (!(kind = kind_param(req))) {
		rd_web_message(&w, 404, "Not found", "Policies are of kind margin or routing.");
		return 0;
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	uint32_t version = version_param(req);
	int rc = rd_policy_activate_as(w.app, &who, kind, version);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such policy version.");
		return 0;
	}
	if (rc < 0)
		return rc;
	char loc[80];
	snprintf(loc, sizeof loc, "/vendor/policies?activated=%s-%u", kind, version);
	rd_web_redirect(req, loc);
	return 0;
}

/* ---- plugins -------------------------------------------------------------------------------------- */

struct plugin_form {
	const char *plugin;
	const char *config;
	uint64_t partner;
	const char *error;
	json_t *fields; /* [{field, message}] */
};

static int plugins_page(struct web *w, int status, const struct plugin_form *f, const char *notice)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w->app->domain;
	uint64_t v = w->c.who.vendor;
	/* Partners, for the enable form's choice. */
	json_t *partners = json_array();
	struct rd_iter it;
	struct rd_item item;
	struct rd_partner *p = rd_malloc(sizeof *p);
	rc = rd_iter_records(&it, t, d->partners, v, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_partner, item.val, item.len, p) == 0)
			json_array_append_new(partners, json_pack("{s:I, s:s}", "id", (json_int_t)p->id, "name", p->name));
	rd_iter_close(&it);
	json_t *plugins = rd_plugins_json(w->app->plugins), *out = json_array();
	bool can_enable = may(w, RD_RES_PLUGIN, RD_ACT_CREATE), can_disable = may(w, RD_RES_PLUGIN, RD_ACT_DELETE);
	struct rd_enablement *e = rd_malloc(sizeof *e);
	size_t i;
	json_t *pl;
	json_array_foreach(plugins, i, pl) {
		const char *name = json_string_value(json_object_get(pl, "name"));
		bool loaded = !strcmp(json_string_value(json_object_get(pl, "state")) ?: "", "loaded");
		json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}", "name", name, "version",
					json_string_value(json_object_get(pl, "version")) ?: "", "kind",
					json_string_value(json_object_get(pl, "kind")) ?: "", "description",
					json_string_value(json_object_get(pl, "description")) ?: "", "loaded", loaded, "reason",
					json_string_value(json_object_get(pl, "reason")) ?: "", "last_error",
					json_string_value(json_object_get(pl, "last_error")) ?: "", "origin",
					json_string_value(json_object_get(pl, "origin")) ?: "");
		json_t *ens = json_array();
		size_t nl = strlen(name) + 1;
		rc = rd_iter_index(&it, t, d->enablements, "plugin", v, name, nl, NULL, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != nl + 8 || memcmp(item.key, name, nl) != 0)
				break;
			if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, e) < 0)
				continue;
			json_t *cfg = rd_enablement_config(e); /* secrets as "set", never their values */
			char *shown = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(cfg);
			json_array_append_new(ens, json_pack("{s:I, s:s, s:s, s:o, s:s, s:b, s:s}", "id", (json_int_t)e->id,
							     "plugin", name, "partner",
							     e->partner_id ? partner_name(t, w, e->partner_id, p) : "",
							     "enabled", time_json(e->enabled_at), "config", shown ? shown : "{}",
							     "can_disable", can_disable, "csrf", w->csrf));
			free(shown);
		}
		rd_iter_close(&it);
		if (rc < 0) {
			json_decref(ens);
			json_decref(row);
			break;
		}
		json_object_set_new(row, "enablements", ens);
		if (loaded && can_enable) {
			bool mine = f && !strcmp(f->plugin, name);
			json_t *choice = json_array();
			json_array_append_new(choice, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)0, "name",
								"All partners (the vendor)", "selected", !mine || !f->partner));
			size_t k;
			json_t *pa;
			json_array_foreach(partners, k, pa) {
				uint64_t id = (uint64_t)json_integer_value(json_object_get(pa, "id"));
				json_array_append_new(choice, json_pack("{s:I, s:O, s:b}", "id", (json_int_t)id, "name",
									json_object_get(pa, "name"), "selected",
									mine && f->partner == id));
			}
			json_t *form = json_pack("{s:s, s:s, s:o, s:s}", "plugin", name, "config", mine && f->config ? f->config : "{}",
						 "partners", choice, "csrf", w->csrf);
			if (mine && f->error)
				json_object_set_new(form, "error", json_string(f->error));
			if (mine && f->fields)
				json_object_set_new(form, "fields", json_incref(f->fields));
			json_object_set_new(row, "form", form);
		}
		json_array_append_new(out, row);
	}
	rd_txn_end(t);
	free(e);
	free(p);
	json_decref(plugins);
	json_decref(partners);
	if (rc < 0) {
		json_decref(out);
		return rc;
	}
	json_t *ctx = page_ctx(w, "Plugins", "/vendor/plugins");
	json_object_set_new(ctx, "plugins", out);
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	page(w, status, "vendor_plugins", ctx);
	return 0;
}

int rd_page_vendor_plugins(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !allowed(&w, RD_RES_PLUGIN, RD_ACT_READ))
		return 0;
	char notice[160];
	const char *note = NULL, *name;
	if ((name = rd_req_query(req, "enabled")) && rd_plugins_find(w.app->plugins, name)) {
		snprintf(notice, sizeof notice, "%s is enabled.", name);
		note = notice;
	} else if ((name = rd_req_query(req, "disabled")) && rd_plugins_find(w.app->plugins, name)) {
		snprintf(notice, sizeof notice, "%s is disabled there.", name);
		note = notice;
	}
	return plugins_page(&w, 200, NULL, note);
}

int rd_page_vendor_plugin_enable(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !rd_web_csrf_ok(&w) || !allowed(&w, RD_RES_PLUGIN, RD_ACT_CREATE))
		return 0;
	const char *name = rd_req_param(req, "name");
	struct rd_loaded *l = name ? rd_plugins_find(w.app->plugins, name) : NULL;
	if (!l) {
		rd_web_message(&w, 404, "Not found", "There is no loaded plugin of that name.");
		return 0;
	}
	name = rd_loaded_desc(l)->name;
	const char *config = rd_form(req, "config"), *partner = rd_form(req, "partner");
	struct plugin_form f = { .plugin = name, .config = config };
	f.partner = partner && strcmp(partner, "0") ? rd_parse_id(partner) : 0;
	if (partner && strcmp(partner, "0") && (!f.partner || !rd_enablement_partner_ok(w.app, w.c.who.vendor, f.partner))) {
		f.error = "Choose the vendor or one of its partners.";
		f.partner = 0;
		return plugins_page(&w, 400, &f, NULL);
	}
	json_error_t je;
	json_t *cfg = config && *config ? json_loads(config, 0, &je) : json_object();
	char msg[600];
	if (!json_is_object(cfg)) {
		if (cfg)
			snprintf(msg, sizeof msg, "The configuration must be a JSON object, such as {}.");
		else
			snprintf(msg, sizeof msg, "The configuration is not JSON (line %d, column %d): %s", je.line, je.column,
				 je.text);
		json_decref(cfg);
		f.error = msg;
		return plugins_page(&w, 400, &f, NULL);
	}
	char *text = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_enablement *en = rd_malloc(sizeof *en);
	bool replaced;
	struct rd_serr e;
	json_t *fields = json_array();
	int rc = text ? rd_enablement_enable(w.app, &who, l, f.partner, text, fields, en, &replaced, &e)
		      : rd_serr_set(&e, RD_ETOOBIG, "too_large", "config", "too large");
	free(en);
	if (rc == RD_ETOOBIG && !strcmp(e.code, "too_large")) {
		free(text);
		json_decref(fields);
		f.error = "The configuration is larger than 16 KiB.";
		return plugins_page(&w, 400, &f, NULL);
	}
	if (rc == RD_ETOOBIG || rc == RD_EINVAL) {
		/* The form comes back as typed, but with any secrets as "set"/"unset". */
		char *again = NULL;
		if (rd_plugins_has_secrets(l)) {
			json_t *shown = json_pack("{s:o}", "config", json_loads(text, 0, NULL));
			rd_plugins_show_secrets(l, shown);
			again = json_dumps(json_object_get(shown, "config"), JSON_COMPACT | JSON_SORT_KEYS);
			json_decref(shown);
			f.config = again;
		}
		snprintf(msg, sizeof msg, "%s", e.message);
		f.error = msg;
		f.fields = fields;
		rc = plugins_page(&w, 422, &f, NULL);
		json_decref(fields);
		free(again);
		free(text);
		return rc;
	}
	free(text);
	json_decref(fields);
	if (rc < 0)
		return rc;
	char loc[120];
	snprintf(loc, sizeof loc, "/vendor/plugins?enabled=%s", name);
	rd_web_redirect(req, loc);
	return 0;
}

int rd_page_vendor_plugin_disable(struct rd_req *req)
{
	struct web w;
	if (!console_begin(req, &w) || !rd_web_csrf_ok(&w) || !allowed(&w, RD_RES_PLUGIN, RD_ACT_DELETE))
		return 0;
	const char *name = rd_req_param(req, "name");
	struct rd_loaded *l = name ? rd_plugins_find(w.app->plugins, name) : NULL;
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	const char *plugin = l ? rd_loaded_desc(l)->name : NULL;
	int rc = rd_enablement_disable(w.app, &who, plugin, rd_parse_id(rd_req_param(req, "id")));
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such enablement.");
		return 0;
	}
	if (rc < 0)
		return rc;
	char loc[120];
	snprintf(loc, sizeof loc, "/vendor/plugins?disabled=%s", plugin);
	rd_web_redirect(req, loc);
	return 0;
}
