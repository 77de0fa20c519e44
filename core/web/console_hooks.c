/*
 * console_hooks.c: the console's webhooks (vendor admins): subscriptions
 * (list, create, rotate a secret), the delivery log with redelivery, and
 * the inbound inbox with each batch's feed outcome.  Every rule is the
 * service's (services/hooks.c), as for the API (api/hooks.c); the pages
 * only turn forms into its arguments and its answers into pages.
 *
 *   GET  /vendor/webhooks                               subscriptions and the form
 *   POST /vendor/webhooks                               create (the secret shown once)
 *   POST /vendor/webhooks/{id}/rotate                   a new secret (shown once)
 *   GET  /vendor/webhooks/deliveries[?subscription_id=&cursor=]   the log, newest first
 *   POST /vendor/webhooks/deliveries/{id}/redeliver     queue one again
 *   GET  /vendor/webhooks/inbox[?cursor=]                inbound batches and their feeds
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/hooks.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

#define PAGE 50

/* Webhooks are the vendor admins' alone, to read too (as in core/api/hooks.c). */
static bool hooks_begin(struct rd_req *req, struct web *w, enum rd_action act)
{
	return rd_console_begin(req, w) &&
	       rd_console_allowed(w, RD_RES_PLUGIN, act == RD_ACT_READ ? RD_ACT_UPDATE : act);
}

static struct rd_actor actor(const struct web *w)
{
	return (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user };
}

/* The vendor's partners, for the inbound endpoint's choice and the names. */
static json_t *partners_json(struct web *w, uint64_t selected)
{
	json_t *a = json_array();
	struct rd_txn *t;
	if (rd_store_read(w->app->store, &t) < 0)
		return a;
	struct rd_partner *p = rd_malloc(sizeof *p);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, w->app->domain->partners, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_partner, item.val, item.len, p) == 0)
			json_array_append_new(a, json_pack("{s:I, s:s, s:b}", "id", (json_int_t)p->id, "name", p->name, "selected",
							   p->id == selected));
	rd_iter_close(&it);
	rd_txn_end(t);
	free(p);
	return a;
}

static const char *partner_name(json_t *partners, uint64_t id)
{
	size_t i;
	json_t *p;
	json_array_foreach(partners, i, p) {
		if ((uint64_t)json_integer_value(json_object_get(p, "id")) == id)
			return json_string_value(json_object_get(p, "name"));
	}
	return "";
}

/* The subscriptions page; with secret (shown once, then wiped) after a
 * create or a rotation, with error and the form as sent after a refusal. */
static int subs_page(struct web *w, int status, const char *error, json_t *form, uint64_t secret_for, char *secret)
{
	struct rd_actor who = actor(w);
	struct rd_serr e;
	json_t *subs;
	if (rd_hooks_list(w->app, &who, &subs, &e) < 0) {
		json_decref(form);
		return e.rc;
	}
	const char *pid_text = form ? json_string_value(json_object_get(form, "partner_id")) : NULL;
	json_t *partners = partners_json(w, pid_text ? rd_parse_id(pid_text) : 0);
	size_t i;
	json_t *s;
	json_array_foreach(subs, i, s) {
		uint64_t pid = (uint64_t)json_integer_value(json_object_get(s, "partner_id"));
		size_t k;
		json_t *ev;
		char list[600] = "";
		json_array_foreach(json_object_get(s, "events"), k, ev) {
			if (strlen(list) + json_string_length(ev) + 3 < sizeof list) {
				if (k)
					strcat(list, ", ");
				strcat(list, json_string_value(ev));
			}
		}
		json_object_set_new(s, "events_text", json_string(list));
		json_object_set_new(s, "partner_name", json_string(pid ? partner_name(partners, pid) : ""));
		json_object_set_new(s, "inbound", json_boolean(pid != 0));
	}
	json_t *types = json_array();
	const char *const *known = rd_hooks_event_types();
	for (size_t k = 0; known[k]; k++) {
		char name[64];
		snprintf(name, sizeof name, "event.%s", known[k]);
		json_array_append_new(types, json_pack("{s:s, s:s, s:b}", "type", known[k], "name", name, "checked",
						       form && json_object_get(form, name)));
	}
	json_t *ctx = rd_console_page_ctx(w, "Webhooks", "/vendor/webhooks");
	json_object_set_new(ctx, "subs", subs);
	json_object_set_new(ctx, "partners", partners);
	json_object_set_new(ctx, "types", types);
	json_object_set_new(ctx, "can_manage", json_boolean(rd_console_may(w, RD_RES_PLUGIN, RD_ACT_CREATE)));
	if (form) {
		json_object_set(ctx, "url", json_object_get(form, "url"));
		json_object_set(ctx, "description", json_object_get(form, "description"));
		json_decref(form);
	}
	if (secret) {
		json_object_set_new(ctx, "secret", json_string(secret));
		json_object_set_new(ctx, "secret_for", json_integer((json_int_t)secret_for));
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_console_page(w, status, "vendor_webhooks", ctx);
	return 0;
}

int rd_page_vendor_webhooks(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_READ))
		return 0;
	return subs_page(&w, 200, NULL, NULL, 0, NULL);
}

int rd_page_vendor_webhooks_post(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_CREATE) || !rd_web_csrf_ok(&w))
		return 0;
	/* The form as the service's JSON: url, the ticked events, description,
	 * partner_id (an inbound endpoint) when one is chosen. */
	json_t *form = json_object(), *body = json_object(), *events = json_array();
	const char *url = rd_form(req, "url"), *desc = rd_form(req, "description"), *pid = rd_form(req, "partner_id");
	json_object_set_new(form, "url", json_string(url ? url : ""));
	json_object_set_new(form, "description", json_string(desc ? desc : ""));
	json_object_set_new(form, "partner_id", json_string(pid ? pid : ""));
	json_object_set_new(body, "url", json_string(url ? url : ""));
	if (desc && *desc)
		json_object_set_new(body, "description", json_string(desc));
	const char *const *known = rd_hooks_event_types();
	for (size_t k = 0; known[k]; k++) {
		char name[64];
		snprintf(name, sizeof name, "event.%s", known[k]);
		if (rd_form(req, name)) {
			json_array_append_new(events, json_string(known[k]));
			json_object_set_new(form, name, json_true());
		}
	}
	json_object_set_new(body, "events", events);
	if (pid && *pid) {
		uint64_t id = rd_parse_id(pid);
		json_object_set_new(body, "partner_id", id ? json_integer((json_int_t)id) : json_string(pid));
	}
	struct rd_actor who = actor(&w);
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	struct rd_serr e;
	char *secret = NULL;
	int rc = rd_hooks_create(w.app, &who, body, s, &secret, &e);
	json_decref(body);
	uint64_t id = s->id;
	free(s);
	if (rc == 0) {
		json_decref(form);
		return subs_page(&w, 200, NULL, NULL, id, secret);
	}
	if (rc == RD_EINVAL || rc == RD_ENOTFOUND)
		return subs_page(&w, 400, e.message, form, 0, NULL);
	json_decref(form);
	return rc;
}

int rd_page_vendor_webhook_rotate(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_UPDATE) || !rd_web_csrf_ok(&w))
		return 0;
	struct rd_actor who = actor(&w);
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	struct rd_serr e;
	char *secret = NULL;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	int rc = rd_hooks_rotate(w.app, &who, id, 86400, s, &secret, &e);
	free(s);
	if (rc == 0)
		return subs_page(&w, 200, NULL, NULL, id, secret);
	if (rc == RD_ENOTFOUND || rc == RD_EINVAL) {
		rd_web_message(&w, rc == RD_ENOTFOUND ? 404 : 400, "Not rotated", e.message);
		return 0;
	}
	return rc;
}

/* "?subscription_id=N&cursor=C" of the next page, or NULL. */
static json_t *next_link(const char *base, uint64_t sub, uint64_t next)
{
	if (!next)
		return json_null();
	char buf[160];
	if (sub)
		snprintf(buf, sizeof buf, "%s?subscription_id=%llu&cursor=%llu", base, (unsigned long long)sub,
			 (unsigned long long)next);
	else
		snprintf(buf, sizeof buf, "%s?cursor=%llu", base, (unsigned long long)next);
	return json_string(buf);
}

int rd_page_vendor_webhook_deliveries(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_READ))
		return 0;
	const char *sq = rd_req_query(req, "subscription_id"), *cq = rd_req_query(req, "cursor");
	uint64_t sub = sq ? rd_parse_id(sq) : 0, cursor = cq ? rd_parse_id(cq) : 0;
	if ((sq && !sub) || (cq && !cursor)) {
		rd_web_message(&w, 400, "Not a page of the log", "subscription_id and cursor are ids this page gave out.");
		return 0;
	}
	struct rd_actor who = actor(&w);
	struct rd_serr e;
	json_t *items;
	uint64_t next;
	if (rd_hooks_deliveries(w.app, &who, sub, NULL, PAGE, cursor, &items, &next, &e) < 0)
		return e.rc;
	size_t i;
	json_t *x;
	json_array_foreach(items, i, x) {
		json_object_del(x, "data");
		json_object_set_new(x, "can_redeliver", json_boolean(rd_console_may(&w, RD_RES_PLUGIN, RD_ACT_UPDATE)));
	}
	json_t *ctx = rd_console_page_ctx(&w, "Webhook deliveries", "/vendor/webhooks");
	json_object_set_new(ctx, "deliveries", items);
	json_object_set_new(ctx, "next", next_link("/vendor/webhooks/deliveries", sub, next));
	if (sub)
		json_object_set_new(ctx, "subscription_id", json_integer((json_int_t)sub));
	rd_console_page(&w, 200, "vendor_webhook_deliveries", ctx);
	return 0;
}

int rd_page_vendor_webhook_redeliver(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_UPDATE) || !rd_web_csrf_ok(&w))
		return 0;
	struct rd_actor who = actor(&w);
	struct rd_hook_delivery *x = rd_malloc(sizeof *x);
	struct rd_serr e;
	int rc = rd_hooks_redeliver(w.app, &who, rd_parse_id(rd_req_param(req, "id")), x, &e);
	free(x);
	if (rc == 0) {
		rd_web_redirect(req, "/vendor/webhooks/deliveries");
		return 0;
	}
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", e.message);
		return 0;
	}
	return rc;
}

int rd_page_vendor_webhook_inbox(struct rd_req *req)
{
	struct web w;
	if (!hooks_begin(req, &w, RD_ACT_READ))
		return 0;
	const char *cq = rd_req_query(req, "cursor");
	uint64_t cursor = cq ? rd_parse_id(cq) : 0;
	if (cq && !cursor) {
		rd_web_message(&w, 400, "Not a page of the inbox", "cursor is an id this page gave out.");
		return 0;
	}
	struct rd_actor who = actor(&w);
	struct rd_serr e;
	json_t *items;
	uint64_t next;
	if (rd_hooks_inbox(w.app, &who, 0, PAGE, cursor, &items, &next, &e) < 0)
		return e.rc;
	json_t *partners = partners_json(&w, 0);
	size_t i;
	json_t *b;
	json_array_foreach(items, i, b) {
		char *text = json_dumps(json_object_get(b, "body"), JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		if (text && strlen(text) > 200)
			strcpy(text + 197, "...");
		json_object_set_new(b, "body_text", json_string(text ? text : ""));
		free(text);
		json_object_del(b, "body");
		json_object_set_new(b, "partner_name",
				    json_string(partner_name(partners, (uint64_t)json_integer_value(json_object_get(b, "partner_id")))));
		json_t *out = json_object_get(b, "outcome");
		if (json_is_object(out)) {
			json_t *errs = json_object_get(out, "errors");
			json_object_set_new(out, "has_errors", json_boolean(json_array_size(errs) > 0));
		}
	}
	json_decref(partners);
	json_t *ctx = rd_console_page_ctx(&w, "Webhook inbox", "/vendor/webhooks");
	json_object_set_new(ctx, "batches", items);
	json_object_set_new(ctx, "next", next_link("/vendor/webhooks/inbox", 0, next));
	rd_console_page(&w, 200, "vendor_webhook_inbox", ctx);
	return 0;
}
