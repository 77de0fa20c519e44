/*
 * console_lists.c: the console's lists: partners, customers, products, contracts, quotes
 * and the outbox for the vendor; contracts, customers and statements for a partner.
 * The console's routes are listed at the top of console.c.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "renew/renew.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

#define PAGE_ROWS 50

/* ---- helpers of the lists ------------------------------------------------------------------ */

static uint64_t query_id(struct rd_req *req, const char *name)
{
	const char *s = rd_req_query(req, name);
	return s ? rd_parse_id(s) : 0;
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

static const char *product_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_product *buf)
{
	if (id && rd_entity_get(t, w->app->domain->products, &rd_entity_product, w->c.who.vendor, id, buf) == 0)
		return buf->name;
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

/* ---- partners, products, contracts, quotes, outbox: lists ------------------------------------- */

/* Records that are not a partner's a page's walk passes over before it
 * turns to the partner's own set (about 2 ms of the loop). */
#define SPARSE_WALK 1024

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
	/* A partner's customers and contracts: the table walk while it finds
	 * the partner's (a large channel's are dense), its own set from its
	 * contracts once the walk passed over SPARSE_WALK that were not its
	 * (never a walk of the vendor's every record on the loop). */
	uint64_t *set = NULL;
	size_t n_set = 0, si = 0;
	bool by_set = false;
	unsigned passed_left = own && (res == RD_RES_CUSTOMER || res == RD_RES_CONTRACT) ? SPARSE_WALK : 0;
	void *obj = rd_malloc(size);
	struct rd_iter it;
	struct rd_item item;
	uint64_t last = 0;
	size_t n = 0;
	*rows = json_array();
	*next = 0;
	rc = rd_iter_records(&it, t, tb, w->c.who.vendor, cursor + 1);
	/* A partner's statements: its own by the statements' partner index
	 * (rd_call_visible keeps the partner's own only; its scope holds it). */
	static const char *const partner_idx[] = { RD_IDX_PARTNER };
	if (rc >= 0 && own && tb == w->app->domain->statements && rd_role_is_partner(w->c.who.role) && w->c.who.n_scope) {
		rc = rd_call_scope_ids(&w->c, t, tb, partner_idx, 1, cursor, &set, &n_set);
		by_set = true;
	}
	while (rc >= 0) {
		if (!by_set && (rc = rd_iter_next(&it, &item)) <= 0)
			break;
		if (by_set) {
			if (si == n_set)
				break;
			item.id = set[si++];
			int g = rd_txn_get(t, tb, w->c.who.vendor, item.id, &item.val, &item.len);
			if (g == RD_ENOTFOUND)
				continue;
			if (g < 0) {
				rc = g;
				break;
			}
		}
		if (rd_entity_decode(e, item.val, item.len, obj) < 0)
			continue;
		int sees = own ? rd_call_visible(&w->c, t, res, obj) : 1;
		if (sees < 0) {
			rc = sees; /* the store failed: a 503 page, not a shorter list */
			break;
		}
		if (!sees && passed_left && !--passed_left) {
			/* sparse: the partner's set, after this record */
			if ((rc = res == RD_RES_CUSTOMER ? rd_call_scope_customers(&w->c, t, &set, &n_set)
							 : rd_call_scope_contracts(&w->c, t, &set, &n_set)) < 0)
				break;
			while (si < n_set && set[si] <= item.id)
				si++;
			by_set = true;
		}
		if (!sees)
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
	free(set);
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
			 "name", p->name, "kind", rd_console_enum_text(&rd_entity_partner, "kind", p->kind), "tier",
			 rd_console_enum_text(&rd_entity_partner, "tier", p->tier), "parent", rd_console_partner_name(t, w, p->parent_id, &parent),
			 "email", p->email, "phone", p->phone);
}

static json_t *product_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_product *p = obj;
	json_t *prices = json_array(), *related = json_array();
	for (int i = 0; i < p->n_prices && i < RD_MAX_PRICES; i++) {
		char m[48], s[80];
		rd_money_format(p->prices[i].amount, p->prices[i].currency, m, sizeof m);
		snprintf(s, sizeof s, "%s per seat, %s", m, rd_console_enum_text(&rd_entity_contract, "term", p->prices[i].term));
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

static const char *const colour_names[] = { "red", "amber", "green", "black", "blue", NULL };

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
	static const char *const text[] = { "", "expired", "due for renewal", "active", "cancelled", "renewal ordered" };
	json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:b, s:b}", "id", (json_int_t)k->id,
			 "external_id", k->external_id, "customer", rd_console_customer_name(t, w, k->customer_id, &cu), "product",
			 product_name(t, w, k->product_id, &pr), "reseller", rd_console_partner_name(t, w, k->reseller_id, &pa),
			 "quantity", (json_int_t)k->quantity, "start", rd_date_json(k->start), "end", rd_date_json(k->end), "status",
			 rd_console_enum_text(&rd_entity_contract, "status", k->status), "colour", rd_colour_name(c), "colour_text",
			 text[c], "warranty_only", (k->flags & RD_FLAG_WARRANTY_ONLY) != 0, "consolidated",
			 (k->flags & RD_FLAG_CONSOLIDATED) != 0);
	/* The contract's and the customer's pages (console_detail.c). */
	const char *root = rd_role_is_partner(w->c.who.role) ? "/partner" : "/vendor";
	char href[64];
	snprintf(href, sizeof href, "%s/contracts/%llu", root, (unsigned long long)k->id);
	json_object_set_new(row, "href", json_string(href));
	snprintf(href, sizeof href, "%s/customers/%llu", root, (unsigned long long)k->customer_id);
	json_object_set_new(row, "customer_href", json_string(k->customer_id ? href : ""));
	/* The money column: the list value (console_detail.c), summed per currency below the page. */
	int64_t value;
	bool valued = rd_console_contract_value(t, w, k, &value);
	json_object_set_new(row, "value", valued ? rd_money_json(value, k->currency) : json_string(""));
	if (valued)
		json_object_set_new(row, "money", json_pack("{s:I, s:s}", "amount", (json_int_t)value, "currency", k->currency));
	return row;
}

static const char *const opp_state_names[] = { "pending_decision", "published_partner", "published_vendor", "accepted",
					       "won", "lost", "expired", NULL };

static json_t *opportunity_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_opportunity *o = obj;
	if (filter && strcmp(filter, rd_console_enum_text(&rd_entity_opportunity, "state", o->state)))
		return NULL;
	struct rd_customer cu;
	struct rd_product pr;
	struct rd_partner pa;
	json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "id", (json_int_t)o->id, "number",
			 o->number, "customer", rd_console_customer_name(t, w, o->customer_id, &cu), "product",
			 product_name(t, w, o->product_id, &pr), "reseller", rd_console_partner_name(t, w, o->reseller_id, &pa), "state",
			 opp_state_text(o->state), "list", rd_money_json(o->list_total, o->currency), "discount",
			 o->discount_bp ? rd_bp_json(o->discount_bp) : json_string(""), "end", rd_date_json(o->contract_end),
			 "attention", o->attention != 0, "attention_reason", o->attention_reason);
	/* Its contract and customer; deciding for a silent partner (console_work.c). */
	json_object_set_new(row, "contract_id", json_integer((json_int_t)o->contract_id));
	json_object_set_new(row, "customer_id", json_integer((json_int_t)o->customer_id));
	json_object_set_new(row, "may_decide", json_boolean(o->state == RD_OPP_PENDING_DECISION &&
							    rd_console_may(w, RD_RES_OPPORTUNITY, RD_ACT_UPDATE)));
	json_object_set_new(row, "csrf", json_string(w->csrf));
	json_object_set_new(row, "money", json_pack("{s:I, s:s}", "amount", (json_int_t)o->list_total, "currency", o->currency));
	return row;
}

static json_t *message_row(struct web *w, struct rd_txn *t, void *obj, const char *filter)
{
	struct rd_message *m = obj;
	const char *state = rd_console_enum_text(&rd_entity_message, "state", m->state);
	if (filter && strcmp(filter, state))
		return NULL;
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s}", "id", (json_int_t)m->id, "kind", m->kind, "to",
			 m->to, "subject", m->subject, "state", state, "attempts", (json_int_t)m->attempts, "created",
			 rd_console_time_json(m->created_at), "sent", rd_console_time_json(m->sent_at), "last_error", m->last_error);
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
	const char *new_label; /* the link to the form adding one (NULL: none) */
};

static int list_handler(struct rd_req *req, const struct list_def *def)
{
	struct web w;
	if (!(def->partner ? partner_begin(req, &w) : rd_console_begin(req, &w)) || !rd_console_allowed(&w, def->res, RD_ACT_READ))
		return 0;
	const char *filter = def->filter ? known_word(rd_req_query(req, def->filter), def->words) : NULL;
	json_t *rows;
	uint64_t next;
	struct rd_table *tb = *(struct rd_table **)((char *)w.app->domain + def->table);
	int rc = list_page(&w, tb, def->e, def->res, def->size, query_id(req, "cursor"), filter, def->row, &rows, &next);
	if (rc < 0)
		return rc;
	json_t *ctx = rd_console_page_ctx(&w, def->title, def->path);
	/* Rows with a money column: its totals on this page, per currency. */
	struct rd_totals totals = { 0 };
	size_t i;
	json_t *row;
	bool money = false;
	json_array_foreach(rows, i, row) {
		json_t *m = json_object_get(row, "money");
		if (m) {
			money = true;
			rd_totals_add(&totals, json_string_value(json_object_get(m, "currency")),
				      json_integer_value(json_object_get(m, "amount")));
		}
	}
	if (money)
		json_object_set_new(ctx, "totals", rd_totals_json(&totals));
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "next", next_link(def->path, def->filter, filter, next));
	if (def->filter)
		json_object_set_new(ctx, "choices", choices(def->words, filter));
	json_object_set_new(ctx, "filtered", json_boolean(filter || query_id(req, "cursor")));
	/* The records' forms (console_records.c), for the roles that may. */
	if (def->new_label && rd_console_may(&w, def->res, RD_ACT_CREATE)) {
		char href[64];
		snprintf(href, sizeof href, "%s/new", def->path);
		json_object_set_new(ctx, "new", json_pack("{s:s, s:s}", "href", href, "label", def->new_label));
	}
	if (def->new_label)
		json_object_set_new(ctx, "may_edit", json_boolean(rd_console_may(&w, def->res, RD_ACT_UPDATE)));
	rd_console_page(&w, 200, def->page, ctx);
	return 0;
}

int rd_page_vendor_partners(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/partners", "Partners", "vendor_partners", NULL, NULL, false, RD_RES_PARTNER,
					     &rd_entity_partner, offsetof(struct rd_domain, partners),
					     sizeof(struct rd_partner), partner_row, "Add a partner" };
	return list_handler(req, &def);
}

int rd_page_vendor_products(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/products", "Products", "vendor_products", NULL, NULL, false, RD_RES_PRODUCT,
					     &rd_entity_product, offsetof(struct rd_domain, products),
					     sizeof(struct rd_product), product_row, "Add a product" };
	return list_handler(req, &def);
}

int rd_page_vendor_contracts(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/contracts", "Contracts", "vendor_contracts", "colour", colour_names, false,
					     RD_RES_CONTRACT, &rd_entity_contract, offsetof(struct rd_domain, contracts),
					     sizeof(struct rd_contract), contract_row, "Add a contract" };
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
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)c->id, "href",
			 rd_role_is_partner(w->c.who.role) ? "/partner/customers" : "/vendor/customers", "external_id", c->external_id,
			 "name", c->name, "email", c->email, "phone", c->phone, "city", c->city, "country", c->country,
			 "segment", c->segment);
}

int rd_page_vendor_customers(struct rd_req *req)
{
	static const struct list_def def = { "/vendor/customers", "Customers", "vendor_customers", NULL, NULL, false,
					     RD_RES_CUSTOMER, &rd_entity_customer, offsetof(struct rd_domain, customers),
					     sizeof(struct rd_customer), customer_row, "Add a customer" };
	return list_handler(req, &def);
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
