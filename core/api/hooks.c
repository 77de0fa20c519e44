/*
 * hooks.c: connector-webhook over HTTP (the rules: services/hooks.c).
 *   GET    /api/v1/webhooks/subscriptions                   the vendor's subscriptions
 *   POST   /api/v1/webhooks/subscriptions                   {url, events, description?, secret?, partner_id?}
 *                                                           -> 201 with the secret in clear, once
 *   GET    /api/v1/webhooks/subscriptions/{id}
 *   PATCH  /api/v1/webhooks/subscriptions/{id}              {url?, events?, description?, state?}
 *   DELETE /api/v1/webhooks/subscriptions/{id}
 *   POST   /api/v1/webhooks/subscriptions/{id}/rotate       {keep_seconds?}: a new secret; the old one
 *                                                           signs too until then
 *   GET    /api/v1/webhooks/deliveries[?subscription_id=&state=&limit=&cursor=]  the delivery log,
 *                                                           newest first, paged
 *   POST   /api/v1/webhooks/deliveries/{id}/redeliver       queue it again now
 *   GET    /api/v1/webhooks/inbox[?partner_id=&limit=&cursor=]  accepted inbound batches with their
 *                                                           feed's outcome, newest first, paged
 *   GET    /api/v1/webhooks/inbox/{id}                      one of them
 *   POST   /webhooks/inbound/{id}?vendor=V                  a partner's signed batch (no session),
 *                                                           imported as its feed; answered when done
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/hooks.h"
#include "services/imports.h"
#include "util/err.h"

/* Webhooks are the vendor admins' alone (docs/security.md, "Signed webhooks"):
 * reading a subscription, the delivery log or the inbox takes the right to
 * change the vendor's integrations, which channel managers (who may read the
 * plugin list) do not have. */
static bool begin(struct rd_req *req, struct call *c, enum rd_action act, struct rd_actor *who)
{
	if (rd_call_begin(req, c) < 0)
		return false;
	if (act == RD_ACT_READ && rd_authz(c->who.role, RD_RES_PLUGIN, RD_ACT_UPDATE) == RD_SCOPE_NONE) {
		rd_reply_error(req, 403, "forbidden", NULL, "a %s may not read webhooks (vendor admins only)",
			       rd_role_name(c->who.role));
		return false;
	}
	if (rd_call_allow(c, RD_RES_PLUGIN, act) == RD_SCOPE_NONE)
		return false;
	*who = (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user };
	return true;
}

static bool no_query(struct rd_req *req, const char *const *known)
{
	const char *bad = rd_req_query_unknown(req, known);
	if (bad)
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
	return !bad;
}

static const char *const none[] = { NULL };

static void reply_with_secret(struct rd_req *req, int status, const struct rd_hook_sub *s, char *secret)
{
	json_t *j = rd_hooks_sub_json(s);
	json_object_set_new(j, "secret", json_string(secret));
	sodium_memzero(secret, strlen(secret));
	free(secret);
	rd_reply_json(req, status, j);
}

int rd_api_hooks_list(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *items;
	if (!begin(req, &c, RD_ACT_READ, &who) || !no_query(req, none))
		return 0;
	if (rd_hooks_list(c.app, &who, &items, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

int rd_api_hooks_create(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *body;
	if (!begin(req, &c, RD_ACT_CREATE, &who) || !no_query(req, none) || rd_req_json(req, &body) < 0)
		return 0;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	char *secret = NULL;
	if (rd_hooks_create(c.app, &who, body, s, &secret, &e) < 0)
		rd_reply_serr(req, &e);
	else
		reply_with_secret(req, 201, s, secret);
	json_t *sv = json_object_get(body, "secret");
	if (json_is_string(sv))
		sodium_memzero((void *)json_string_value(sv), strlen(json_string_value(sv)));
	json_decref(body);
	free(s);
	return 0;
}

int rd_api_hooks_get(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	if (!begin(req, &c, RD_ACT_READ, &who) || !no_query(req, none))
		return 0;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	if (rd_hooks_get(c.app, &who, rd_parse_id(rd_req_param(req, "id")), s, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, rd_hooks_sub_json(s));
	free(s);
	return 0;
}

int rd_api_hooks_update(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *body;
	if (!begin(req, &c, RD_ACT_UPDATE, &who) || !no_query(req, none) || rd_req_json(req, &body) < 0)
		return 0;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	if (rd_hooks_update(c.app, &who, rd_parse_id(rd_req_param(req, "id")), body, s, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, rd_hooks_sub_json(s));
	json_decref(body);
	free(s);
	return 0;
}

int rd_api_hooks_delete(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	if (!begin(req, &c, RD_ACT_DELETE, &who) || !no_query(req, none))
		return 0;
	if (rd_hooks_delete(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}

int rd_api_hooks_rotate(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *body = NULL;
	size_t len = 0;
	rd_req_body(req, &len);
	if (!begin(req, &c, RD_ACT_UPDATE, &who) || !no_query(req, none) || (len && rd_req_json(req, &body) < 0))
		return 0;
	json_int_t keep = 86400;
	json_t *k = body ? json_object_get(body, "keep_seconds") : NULL;
	const char *key;
	json_t *v;
	if (body) {
		json_object_foreach(body, key, v) {
			if (strcmp(key, "keep_seconds") != 0) {
				rd_reply_error(req, 400, "invalid", key, "unknown field \"%s\": a rotation takes keep_seconds", key);
				json_decref(body);
				return 0;
			}
		}
	}
	if (k && (!json_is_integer(k) || json_integer_value(k) < 0 || json_integer_value(k) > 30 * 86400)) {
		rd_reply_error(req, 400, "invalid", "keep_seconds", "keep_seconds must be 0 to 2592000 (30 days)");
		json_decref(body);
		return 0;
	}
	if (k)
		keep = json_integer_value(k);
	json_decref(body);
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	char *secret = NULL;
	if (rd_hooks_rotate(c.app, &who, rd_parse_id(rd_req_param(req, "id")), (uint64_t)keep, s, &secret, &e) < 0)
		rd_reply_serr(req, &e);
	else
		reply_with_secret(req, 200, s, secret);
	free(s);
	return 0;
}

/* A page of the log or the inbox: limit and cursor parsed as every list
 * does (edge/page.c), the items newest first. */
static void reply_page(struct rd_page *pg, json_t *items, uint64_t next)
{
	json_decref(pg->items);
	pg->items = items;
	pg->more = next != 0;
	pg->last = next;
	rd_page_finish(pg, 0);
}

int rd_api_hooks_deliveries(struct rd_req *req)
{
	static const char *const known[] = { "subscription_id", "state", "limit", "cursor", NULL };
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	struct rd_page pg;
	json_t *items;
	uint64_t next;
	if (!begin(req, &c, RD_ACT_READ, &who) || rd_page_begin(&pg, req, known) < 0)
		return 0;
	const char *sub = rd_req_query(req, "subscription_id");
	uint64_t sid = sub ? rd_parse_id(sub) : 0;
	if (sub && !sid) {
		json_decref(pg.items);
		rd_reply_error(req, 400, "invalid", "subscription_id", "subscription_id must be a subscription's id");
		return 0;
	}
	if (rd_hooks_deliveries(c.app, &who, sid, rd_req_query(req, "state"), pg.limit, pg.cursor, &items, &next, &e) < 0) {
		json_decref(pg.items);
		rd_reply_serr(req, &e);
	} else {
		reply_page(&pg, items, next);
	}
	return 0;
}

int rd_api_hooks_redeliver(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	if (!begin(req, &c, RD_ACT_UPDATE, &who) || !no_query(req, none))
		return 0;
	struct rd_hook_delivery *x = rd_malloc(sizeof *x);
	if (rd_hooks_redeliver(c.app, &who, rd_parse_id(rd_req_param(req, "id")), x, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 202, rd_entity_to_json(&rd_entity_hook_delivery, x));
	free(x);
	return 0;
}

int rd_api_hooks_inbox(struct rd_req *req)
{
	static const char *const known[] = { "partner_id", "limit", "cursor", NULL };
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	struct rd_page pg;
	json_t *items;
	uint64_t next;
	if (!begin(req, &c, RD_ACT_READ, &who) || rd_page_begin(&pg, req, known) < 0)
		return 0;
	const char *p = rd_req_query(req, "partner_id");
	uint64_t pid = p ? rd_parse_id(p) : 0;
	if (p && !pid) {
		json_decref(pg.items);
		rd_reply_error(req, 400, "invalid", "partner_id", "partner_id must be a partner's id");
		return 0;
	}
	if (rd_hooks_inbox(c.app, &who, pid, pg.limit, pg.cursor, &items, &next, &e) < 0) {
		json_decref(pg.items);
		rd_reply_serr(req, &e);
	} else {
		reply_page(&pg, items, next);
	}
	return 0;
}

int rd_api_hooks_inbox_get(struct rd_req *req)
{
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *j;
	if (!begin(req, &c, RD_ACT_READ, &who) || !no_query(req, none))
		return 0;
	if (rd_hooks_inbox_get(c.app, &who, rd_parse_id(rd_req_param(req, "id")), &j, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, j);
	return 0;
}

/* The batch's outcome, once its feed finished: 200 imported, 422 rejected
 * whole with the per-row report, 503 when renewd stopped first. */
static void inbound_answered(void *arg, uint64_t inbox, const struct rd_import_rec *r, bool stopped)
{
	struct rd_hold *h = arg;
	struct rd_req *req = rd_hold_req(h);
	rd_hold_free(h);
	if (!req)
		return; /* the partner went away: the outcome is in the inbox */
	if (stopped) {
		rd_reply_error(req, 503, "unavailable", NULL,
			       "renewd is stopping: nothing of batch %llu was applied; send it again under a new webhook-id",
			       (unsigned long long)inbox);
		return;
	}
	if (r->status == RD_IMPORT_SUCCEEDED) {
		rd_reply_json(req, 200, json_pack("{s:I, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "inbox_id",
						  (json_int_t)inbox, "feed_id", (json_int_t)r->id, "status", "imported",
						  "verified", 1, "accepted", (json_int_t)r->rows_ok, "created",
						  (json_int_t)r->created, "merged", (json_int_t)r->updated, "unchanged",
						  (json_int_t)r->unchanged, "queued", (json_int_t)r->queued, "rejected",
						  (json_int_t)r->rows_failed));
		return;
	}
	json_t *errs = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_t *first = json_array_get(errs, 0);
	char msg[600];
	if (first)
		snprintf(msg, sizeof msg, "the batch was refused whole, %s; row %lld%s%s: %s", r->message,
			 (long long)json_integer_value(json_object_get(first, "row")),
			 json_is_string(json_object_get(first, "column")) ? ", " : "",
			 json_is_string(json_object_get(first, "column")) ? json_string_value(json_object_get(first, "column"))
									    : "",
			 json_string_value(json_object_get(first, "message")));
	else
		snprintf(msg, sizeof msg, "the batch was refused whole, %s", r->message);
	/* The error shape, with the batch's inbox entry, its feed and each
	 * wrong row ({row, column, message}: row is the item, from 1). */
	rd_reply_json(req, 422, json_pack("{s:{s:s, s:s, s:s, s:I, s:I, s:o}}", "error", "code", "rejected", "message", msg,
					  "field", "body", "inbox_id", (json_int_t)inbox, "feed_id", (json_int_t)r->id,
					  "rows", errs ? errs : json_array()));
}

int rd_api_hooks_inbound(struct rd_req *req)
{
	uint64_t vendor = rd_parse_id(rd_req_query(req, "vendor"));
	size_t len = 0;
	const void *body = rd_req_body(req, &len);
	struct rd_serr e;
	uint64_t inbox = 0, feed = 0;
	if (!vendor) {
		rd_reply_error(req, 400, "invalid", "vendor", "the vendor query parameter names the vendor's id");
		return 0;
	}
	struct rd_hold *h = rd_req_hold(req);
	if (rd_hooks_inbound(rd_req_app(req), vendor, rd_parse_id(rd_req_param(req, "id")),
			     rd_req_header(req, "webhook-id"), rd_req_header(req, "webhook-timestamp"),
			     rd_req_header(req, "webhook-signature"), body ? body : "", len, inbound_answered, h, &inbox,
			     &feed, &e) < 0) {
		rd_hold_free(h);
		rd_reply_serr(req, &e);
	}
	return 0;
}
