/*
 * console.c: the vendor console, for the vendor's logged-in roles (partner
 * roles are sent to /partner).  Every page and action asks the role matrix
 * (core/auth/authz.c) first and answers a 403 page otherwise; every change
 * goes through the functions the API uses, so it is audited the same way.
 *   GET  /vendor                                   overview: contracts by colour, decisions awaited,
 *                                                  quotes needing attention, the outbox, the sweep's
 *                                                  failed actions (admins)
 *   GET  /vendor/partners, /vendor/customers, /vendor/products
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
 *   GET  /vendor/tasks, POST /vendor/tasks/{id}    the tasks inbox (console_tasks.c)
 *   GET  /vendor/orders[/{id}], POST .../payment, .../refund   orders (console_orders.c)
 *   GET  /vendor/contracts/{id}, /vendor/customers/{id}      detail pages (console_detail.c)
 *   GET, POST /vendor/users[/{id}]                 users (console_users.c)
 *   GET  /vendor/outbox/{id}, POST /vendor/opportunities/{id}/decision   (console_work.c)
 *   GET, POST /vendor/margins                      margins as a table (console_margins.c)
 *   GET  /vendor/{partners,customers,products,contracts}/new, POST /vendor/{...},
 *   GET, POST /vendor/{...}/{id}/edit              the records' forms (console_records.c)
 *   GET, POST /vendor/settings                     the vendor's own settings (console_records.c)
 * This file holds the helpers the sections share (console.h) and the
 * overview; the sections are console_lists.c, console_imports.c,
 * console_policies.c and console_plugins.c.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "renew/renew.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "web/console.h"
#include "web/web.h"

/* ---- helpers ------------------------------------------------------------------------------ */

json_t *rd_console_time_json(uint64_t unix_s)
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

/* The console's pages are for the vendor's roles. */
bool rd_console_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/partner");
		return false;
	}
	return true;
}

bool rd_console_may(struct web *w, enum rd_resource res, enum rd_action act)
{
	return rd_authz(w->c.who.role, res, act) != RD_SCOPE_NONE;
}

/* Answers a 403 page unless the role may. */
bool rd_console_allowed(struct web *w, enum rd_resource res, enum rd_action act)
{
	if (rd_console_may(w, res, act))
		return true;
	static const char *const verbs[] = { "", "see", "create", "", "change", "", "", "", "remove" };
	char text[200];
	snprintf(text, sizeof text, "Your role (%s) may not %s %s.", rd_role_name(w->c.who.role), verbs[act],
		 rd_resource_name(res));
	rd_web_message(w, 403, "Not allowed", text);
	return false;
}

/* The partner portal's navigation: the sections the role may open (a
 * partner's sales person may not see commissions, so not Statements). */
json_t *rd_web_partner_nav(uint8_t role, const char *current)
{
	static const struct {
		const char *href, *label;
		enum rd_resource res; /* read to open the section; 0: every partner role */
	} sections[] = {
		{ "/partner", "Decisions and quotes" },
		{ "/partner/contracts", "Contracts" },
		{ "/partner/customers", "Customers" },
		{ "/partner/statements", "Statements", RD_RES_COMMISSION },
		{ "/partner/tasks", "Tasks" },
		{ "/partner/deals", "Deal registrations" },
		{ "/partner/leads", "Leads" },
		{ "/partner/feeds", "Feeds" },
		{ "/partner/users", "Users" },
		{ "/partner/reports", "Reports" },
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		if (!sections[i].res || rd_authz(role, sections[i].res, RD_ACT_READ) != RD_SCOPE_NONE)
			json_array_append_new(a, json_pack("{s:s, s:s, s:b}", "href", sections[i].href, "label",
							   sections[i].label, "current", !strcmp(sections[i].href, current)));
	return a;
}

/* The console's navigation: the sections this role may see. */
static json_t *nav_json(struct web *w, const char *current)
{
	if (rd_role_is_partner(w->c.who.role))
		return rd_web_partner_nav(w->c.who.role, current);
	static const struct {
		const char *href, *label;
		enum rd_resource res;
		enum rd_action act; /* to see the section; 0: read */
	} sections[] = {
		{ "/vendor", "Overview", RD_RES_VENDOR },
		{ "/vendor/partners", "Partners", RD_RES_PARTNER },
		{ "/vendor/customers", "Customers", RD_RES_CUSTOMER },
		{ "/vendor/products", "Products", RD_RES_PRODUCT },
		{ "/vendor/contracts", "Contracts", RD_RES_CONTRACT },
		{ "/vendor/opportunities", "Quotes", RD_RES_OPPORTUNITY },
		{ "/vendor/orders", "Orders", RD_RES_ORDER },
		{ "/vendor/imports", "Imports", RD_RES_IMPORT },
		{ "/vendor/feeds", "Feeds", RD_RES_IMPORT },
		{ "/vendor/policies", "Policies", RD_RES_POLICY },
		{ "/vendor/margins", "Margins", RD_RES_POLICY },
		{ "/vendor/plugins", "Plugins", RD_RES_PLUGIN },
		{ "/vendor/webhooks", "Webhooks", RD_RES_PLUGIN, RD_ACT_UPDATE }, /* the vendor admins' alone */
		{ "/vendor/outbox", "Outbox", RD_RES_OUTBOX },
		{ "/vendor/tasks", "Tasks", RD_RES_TASK },
		{ "/vendor/deals", "Deal registrations", RD_RES_DEAL },
		{ "/vendor/leads", "Leads", RD_RES_LEAD },
		{ "/vendor/users", "Users", RD_RES_USER },
		{ "/vendor/reports", "Reports", RD_RES_CONTRACT },
		{ "/vendor/settings", "Settings", RD_RES_VENDOR, RD_ACT_UPDATE }, /* the vendor admins' alone */
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
		if (rd_console_may(w, sections[i].res, sections[i].act ? sections[i].act : RD_ACT_READ))
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
void rd_console_page(struct web *w, int status, const char *name, json_t *ctx)
{
	rd_web_mark_lists(ctx);
	rd_web_page(w, status, name, 0, ctx);
}

json_t *rd_console_page_ctx(struct web *w, const char *title, const char *section)
{
	return json_pack("{s:s, s:o, s:s, s:s}", "title", title, "nav", nav_json(w, section), "role",
			 rd_role_name(w->c.who.role), "nav_label",
			 rd_role_is_partner(w->c.who.role) ? "Partner portal" : "Vendor console");
}

const char *rd_console_partner_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_partner *buf)
{
	if (id && rd_entity_get(t, w->app->domain->partners, &rd_entity_partner, w->c.who.vendor, id, buf) == 0)
		return buf->name;
	return "";
}

const char *rd_console_customer_name(struct rd_txn *t, struct web *w, uint64_t id, struct rd_customer *buf)
{
	if (id && rd_entity_get(t, w->app->domain->customers, &rd_entity_customer, w->c.who.vendor, id, buf) == 0)
		return buf->name;
	return "";
}

const char *rd_console_enum_text(const struct rd_entity *e, const char *field, unsigned v)
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

/* ---- overview -------------------------------------------------------------------------------- */

int rd_page_vendor(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_domain *d = w.app->domain;
	uint64_t v = w.c.who.vendor;
	json_t *ctx = rd_console_page_ctx(&w, "Vendor console", "/vendor");
	struct rd_iter it;
	struct rd_item item;
	if (rd_console_may(&w, RD_RES_CONTRACT, RD_ACT_READ)) {
		uint64_t n[6] = { 0 };
		struct rd_contract k;
		rc = rd_iter_records(&it, t, d->contracts, v, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0)
				n[rd_contract_colour(&k, rd_clock_today(), w.vendor.renewal_window_days)]++;
		rd_iter_close(&it);
		json_t *colours = json_array();
		json_object_set_new(ctx, "contracts", json_pack("{s:o}", "colours", colours));
		static const char *const text[] = { "",		 "expired, not renewed", "due for renewal", "active",
						    "cancelled", "renewal ordered, awaiting payment" };
		for (int c = RD_RED; c <= RD_BLUE; c++)
			json_array_append_new(colours, json_pack("{s:s, s:s, s:I}", "colour", rd_colour_name(c), "text", text[c],
								 "count", (json_int_t)n[c]));
		/* No contract yet: a new vendor's first steps, each done or a link to do it. */
		if (rc >= 0 && !(n[1] + n[2] + n[3] + n[4] + n[5])) {
			json_t *steps = json_array();
			static const struct {
				enum rd_resource res;
				size_t table;
				const char *list, *todo, *why;
			} step[] = {
				{ RD_RES_PARTNER, offsetof(struct rd_domain, partners), "/vendor/partners", "Add your partners",
				  "the resellers and distributors who sell your renewals" },
				{ RD_RES_PRODUCT, offsetof(struct rd_domain, products), "/vendor/products", "Add your products",
				  "with their list prices, from which renewal quotes are priced" },
				{ RD_RES_CONTRACT, offsetof(struct rd_domain, contracts), "/vendor/contracts", "Add your contracts",
				  "each with its customer, product and reseller: its end date starts its renewal" },
			};
			for (size_t i = 0; rc >= 0 && i < sizeof step / sizeof *step; i++) {
				struct rd_table *tb = *(struct rd_table **)((char *)d + step[i].table);
				int has = 0;
				if ((rc = rd_iter_records(&it, t, tb, v, 0)) >= 0) {
					has = rc = rd_iter_next(&it, &item);
					rd_iter_close(&it);
				}
				char href[64];
				bool may = rd_console_may(&w, step[i].res, RD_ACT_CREATE);
				snprintf(href, sizeof href, "%s%s", step[i].list, may ? "/new" : "");
				json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "href", href, "list",
								       step[i].list, "todo", step[i].todo, "why", step[i].why,
								       "done", has > 0, "may", may));
			}
			json_object_set_new(ctx, "start", json_pack("{s:o, s:b, s:b}", "steps", steps, "may_import",
								    rd_console_may(&w, RD_RES_IMPORT, RD_ACT_CREATE), "may_users",
								    rd_console_may(&w, RD_RES_USER, RD_ACT_CREATE)));
		}
	}
	if (rc >= 0 && rd_console_may(&w, RD_RES_OPPORTUNITY, RD_ACT_READ)) {
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
									      o->number, "customer", rd_console_customer_name(t, &w, o->customer_id, &cu),
									      "reason", o->attention_reason));
				}
			}
		}
		rd_iter_close(&it);
		free(o);
		json_object_set_new(ctx, "opportunities", json_pack("{s:I, s:I, s:o}", "pending", (json_int_t)pending,
								    "attention", (json_int_t)attention, "attention_list", list));
	}
	if (rc >= 0 && rd_console_may(&w, RD_RES_OUTBOX, RD_ACT_READ)) {
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
	/* The sweep's failed actions, waiting for a retry (the vendor's admins). */
	json_t *failures = NULL;
	if (rc >= 0 && rd_console_may(&w, RD_RES_VENDOR, RD_ACT_UPDATE) &&
	    (rc = rd_renew_failures(w.app->renew, v, &failures)) >= 0)
		json_object_set_new(ctx, "sweep", json_pack("{s:I, s:b, s:o}", "failing", (json_int_t)json_array_size(failures),
							     "has_failures", json_array_size(failures) > 0, "failures",
							     failures));
	if (rc < 0) {
		json_decref(ctx);
		return rc;
	}
	rd_console_page(&w, 200, "vendor", ctx);
	return 0;
}
