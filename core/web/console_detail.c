/*
 * console_detail.c: a contract's and a customer's page, linked from every
 * list of the console and of the partner portal.
 *   GET /vendor/contracts/{id}, /partner/contracts/{id}
 *       the contract: customer, product, channel, dates, seats, list value;
 *       its quotes and orders
 *   GET /vendor/customers/{id}, /partner/customers/{id}
 *       the customer: its details and its contracts (with their list value
 *       and the totals per currency), its orders
 * Reading is the role matrix's (contracts, customers: read); a partner's
 * role sees the records of its own channel only (rd_call_visible), as through
 * GET /api/v1/contracts/{id} and /customers/{id}; any other id is "not
 * found", never a hint that it exists.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

#define DETAIL_ROWS 200

static bool partner_page(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor");
		return false;
	}
	return true;
}

/* The contract's list value: the product's list price for its currency and
 * term, times its seats; false when the catalogue has none. */
static bool list_value(const struct rd_product *p, const struct rd_contract *k, int64_t *out)
{
	for (int i = 0; i < p->n_prices && i < RD_MAX_PRICES; i++)
		if (!strcmp(p->prices[i].currency, k->currency) && p->prices[i].term == k->term)
			return rd_money_mul(p->prices[i].amount, k->quantity, out) == 0;
	return false;
}

bool rd_console_contract_value(struct rd_txn *t, struct web *w, const struct rd_contract *k, int64_t *out)
{
	struct rd_product pr;
	return k->product_id &&
	       rd_entity_get(t, w->app->domain->products, &rd_entity_product, w->c.who.vendor, k->product_id, &pr) == 0 &&
	       list_value(&pr, k, out);
}

static const char *colour_text(enum rd_colour c)
{
	static const char *const text[] = { "", "expired", "due for renewal", "active", "cancelled", "renewal ordered" };
	return c <= RD_BLUE ? text[c] : "";
}

/* A contract as a row of a list (base: /vendor or /partner). */
static json_t *contract_json(struct rd_txn *t, struct web *w, const struct rd_contract *k, struct rd_totals *totals)
{
	struct rd_domain *d = w->app->domain;
	struct rd_product pr;
	struct rd_customer cu;
	struct rd_partner pa, di;
	bool have_p = k->product_id && rd_entity_get(t, d->products, &rd_entity_product, w->c.who.vendor, k->product_id, &pr) == 0;
	int64_t value = 0;
	bool valued = have_p && list_value(&pr, k, &value);
	if (valued && totals)
		rd_totals_add(totals, k->currency, value);
	enum rd_colour c = rd_contract_colour(k, rd_clock_today(), w->vendor.renewal_window_days);
	return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:o, s:o, s:s, s:s, s:s, s:s, s:o}", "id",
			 (json_int_t)k->id, "external_id", k->external_id, "customer_id", (json_int_t)k->customer_id,
			 "customer", rd_console_customer_name(t, w, k->customer_id, &cu), "product", have_p ? pr.name : "",
			 "line", have_p ? pr.line : "", "reseller_id", (json_int_t)k->reseller_id, "reseller",
			 rd_console_partner_name(t, w, k->reseller_id, &pa), "distributor_id", (json_int_t)k->distributor_id,
			 "distributor", rd_console_partner_name(t, w, k->distributor_id, &di), "quantity",
			 (json_int_t)k->quantity, "start", rd_date_json(k->start), "end", rd_date_json(k->end), "term",
			 rd_console_enum_text(&rd_entity_contract, "term", k->term), "status",
			 rd_console_enum_text(&rd_entity_contract, "status", k->status), "colour", rd_colour_name(c),
			 "colour_text", colour_text(c), "value",
			 valued ? rd_money_json(value, k->currency) : json_string(""));
}

static json_t *order_json(struct web *w, const struct rd_order *o)
{
	static const char *const st[] = { "", "created", "awaiting payment", "paid", "failed", "cancelled", "fulfilled",
					  "refunded" };
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)o->id, "number", o->number, "state",
			 o->state < 8 ? st[o->state] : "", "option", o->payment_option, "total",
			 rd_money_json(o->total, o->currency), "created", rd_console_time_json(o->created_at));
}

static json_t *quote_json(const struct rd_opportunity *o)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)o->id, "number", o->number, "state",
			 rd_console_enum_text(&rd_entity_opportunity, "state", o->state), "list",
			 rd_money_json(o->list_total, o->currency), "end", rd_date_json(o->contract_end));
}

static void not_found(struct web *w, const char *what)
{
	char text[80];
	snprintf(text, sizeof text, "There is no such %s.", what);
	rd_web_message(w, 404, "Not found", text);
}

static void render(struct web *w, bool partner, const char *page, json_t *ctx)
{
	json_object_set_new(ctx, "base", json_string(partner ? "/partner" : "/vendor"));
	json_object_set_new(ctx, "vendor_side", json_boolean(!partner));
	/* Its form (console_records.c), for the vendor's roles that may change it. */
	enum rd_resource res = !strcmp(page, "contract") ? RD_RES_CONTRACT : RD_RES_CUSTOMER;
	if (!partner && rd_console_may(w, res, RD_ACT_UPDATE)) {
		char href[96];
		snprintf(href, sizeof href, "/vendor/%ss/%llu/edit", page,
			 (unsigned long long)rd_parse_id(rd_req_param(w->req, "id")));
		json_object_set_new(ctx, "edit_href", json_string(href));
		json_object_set_new(ctx, "edit_label", json_string(res == RD_RES_CONTRACT ? "Change the contract"
											: "Change the customer"));
	}
	rd_web_mark_lists(ctx);
	rd_web_page(w, 200, page, partner ? w->c.who.partner : 0, ctx);
}

/* Opens a read transaction *t and reads the record of the path's id into
 * rec, if the caller may read it (res, read) and, for a role of its own
 * scope, sees it.  1: read (*t open); 0: answered; < 0: the store failed. */
static int open_record(struct web *w, enum rd_resource res, struct rd_table *tb, const struct rd_entity *e,
		       const char *what, void *rec, struct rd_txn **t)
{
	if (!rd_console_allowed(w, res, RD_ACT_READ))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(w->req, "id"));
	int rc = rd_store_read(w->app->store, t);
	if (rc < 0)
		return rc;
	rc = rd_entity_get(*t, tb, e, w->c.who.vendor, id, rec);
	if (rc == 0 && rd_authz(w->c.who.role, res, RD_ACT_READ) == RD_SCOPE_OWN &&
	    (rc = rd_call_visible(&w->c, *t, res, rec)) >= 0)
		rc = rc ? 0 : RD_ENOTFOUND; /* < 0: the store failed (503 page), not "not found" */
	if (rc < 0) {
		rd_txn_end(*t);
		if (rc != RD_ENOTFOUND)
			return rc;
		not_found(w, what);
		return 0;
	}
	return 1;
}

/* Appends to orders the vendor console's orders of a contract (by_customer
 * false: the orders renewing it or making it) or of a customer, the first
 * DETAIL_ROWS; totals (or NULL) sums all of them by currency.  Nothing
 * for the partner portal or a role that may not read orders. */
static int list_orders(struct rd_txn *t, struct web *w, bool partner, bool by_customer, uint64_t id, json_t *orders,
		       struct rd_totals *totals)
{
	if (partner || !rd_console_may(w, RD_RES_ORDER, RD_ACT_READ))
		return 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_order *o = rd_malloc(sizeof *o);
	int rc = rd_iter_records(&it, t, w->app->domain->orders, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_order, item.val, item.len, o) != 0 ||
		    !(by_customer ? o->customer_id == id : o->contract_id == id || o->new_contract_id == id))
			continue;
		if (totals)
			rd_totals_add(totals, o->currency, o->total);
		if (json_array_size(orders) < DETAIL_ROWS)
			json_array_append_new(orders, order_json(w, o));
	}
	if (rc >= 0)
		rd_iter_close(&it);
	free(o);
	return rc;
}

/* ---- a contract ------------------------------------------------------------------------------ */

static int contract_page(struct web *w, bool partner)
{
	struct rd_domain *d = w->app->domain;
	struct rd_txn *t;
	struct rd_contract k;
	int rc = open_record(w, RD_RES_CONTRACT, d->contracts, &rd_entity_contract, "contract", &k, &t);
	if (rc <= 0)
		return rc;
	json_t *ctx = rd_console_page_ctx(w, "Contract", partner ? "/partner/contracts" : "/vendor/contracts");
	json_object_set_new(ctx, "contract", contract_json(t, w, &k, NULL));
	json_t *quotes = json_array(), *orders = json_array();
	json_object_set_new(ctx, "quotes", quotes);
	json_object_set_new(ctx, "orders", orders);
	if (rd_console_may(w, RD_RES_OPPORTUNITY, RD_ACT_READ)) {
		struct rd_iter it;
		struct rd_item item;
		/* A partner's role sees its own channel's quotes only, as through
		 * GET /api/v1/opportunities/{id} (a contract that changed hands
		 * keeps the earlier partner's quotes). */
		bool own_quotes = rd_authz(w->c.who.role, RD_RES_OPPORTUNITY, RD_ACT_READ) == RD_SCOPE_OWN;
		struct rd_opportunity *o = rd_malloc(sizeof *o);
		rc = rd_iter_records(&it, t, d->opportunities, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_opportunity, item.val, item.len, o) == 0 && o->contract_id == k.id &&
			    (!own_quotes || rd_call_in_scope(&w->c, o->reseller_id) ||
			     rd_call_in_scope(&w->c, o->distributor_id)) &&
			    json_array_size(quotes) < DETAIL_ROWS)
				json_array_append_new(quotes, quote_json(o));
		if (rc >= 0)
			rd_iter_close(&it);
		free(o);
	}
	if (rc >= 0)
		rc = list_orders(t, w, partner, false, k.id, orders, NULL);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(ctx);
		return rc;
	}
	render(w, partner, "contract", ctx);
	return 0;
}

int rd_page_vendor_contract(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w))
		return 0;
	return contract_page(&w, false);
}

int rd_page_partner_contract(struct rd_req *req)
{
	struct web w;
	if (!partner_page(req, &w))
		return 0;
	return contract_page(&w, true);
}

/* ---- a customer ------------------------------------------------------------------------------ */

static int customer_page(struct web *w, bool partner)
{
	struct rd_domain *d = w->app->domain;
	struct rd_txn *t;
	struct rd_customer cu;
	int rc = open_record(w, RD_RES_CUSTOMER, d->customers, &rd_entity_customer, "customer", &cu, &t);
	if (rc <= 0)
		return rc;
	json_t *ctx = rd_console_page_ctx(w, cu.name, partner ? "/partner/customers" : "/vendor/customers");
	json_object_set_new(ctx, "customer", json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
						       (json_int_t)cu.id, "external_id", cu.external_id, "name", cu.name,
						       "email", cu.email, "phone", cu.phone, "address1", cu.address_line1,
						       "address2", cu.address_line2, "city", cu.city, "region", cu.region,
						       "postcode", cu.postcode, "country", cu.country, "segment", cu.segment));
	json_t *contracts = json_array(), *orders = json_array();
	json_object_set_new(ctx, "contracts", contracts);
	json_object_set_new(ctx, "orders", orders);
	struct rd_totals totals = { 0 }, order_totals = { 0 };
	bool own = rd_authz(w->c.who.role, RD_RES_CONTRACT, RD_ACT_READ) == RD_SCOPE_OWN;
	if (rd_console_may(w, RD_RES_CONTRACT, RD_ACT_READ)) {
		struct rd_iter it;
		struct rd_item item;
		struct rd_contract k;
		rc = rd_iter_records(&it, t, d->contracts, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0 && k.customer_id == cu.id &&
			    (!own || rd_call_visible(&w->c, t, RD_RES_CONTRACT, &k) > 0)) { /* a contract's: no store read */
				json_t *row = contract_json(t, w, &k, &totals);
				if (json_array_size(contracts) < DETAIL_ROWS)
					json_array_append_new(contracts, row);
				else
					json_decref(row);
			}
		if (rc >= 0)
			rd_iter_close(&it);
	}
	if (rc >= 0)
		rc = list_orders(t, w, partner, true, cu.id, orders, &order_totals);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(ctx);
		return rc;
	}
	json_object_set_new(ctx, "totals", rd_totals_json(&totals));
	json_object_set_new(ctx, "order_totals", rd_totals_json(&order_totals));
	render(w, partner, "customer", ctx);
	return 0;
}

int rd_page_vendor_customer(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w))
		return 0;
	return customer_page(&w, false);
}

int rd_page_partner_customer(struct rd_req *req)
{
	struct web w;
	if (!partner_page(req, &w))
		return 0;
	return customer_page(&w, true);
}
