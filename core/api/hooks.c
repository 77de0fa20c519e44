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
 *   GET    /api/v1/webhooks/deliveries[?subscription_id=&state=]  the delivery log, newest first
 *   POST   /api/v1/webhooks/deliveries/{id}/redeliver       queue it again now
 *   GET    /api/v1/webhooks/inbox[?partner_id=]             accepted inbound batches, newest first
 *   POST   /webhooks/inbound/{id}?vendor=V                  a partner's signed batch (no session)
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/hooks.h"
#include "util/err.h"

static bool begin(struct rd_req *req, struct call *c, enum rd_action act, struct rd_actor *who)
{
	if (rd_call_begin(req, c) < 0 || rd_call_allow(c, RD_RES_PLUGIN, act) == RD_SCOPE_NONE)
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

int rd_api_hooks_deliveries(struct rd_req *req)
{
	static const char *const known[] = { "subscription_id", "state", NULL };
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *items;
	if (!begin(req, &c, RD_ACT_READ, &who) || !no_query(req, known))
		return 0;
	const char *sub = rd_req_query(req, "subscription_id");
	uint64_t sid = sub ? rd_parse_id(sub) : 0;
	if (sub && !sid) {
		rd_reply_error(req, 400, "invalid", "subscription_id", "subscription_id must be a subscription's id");
		return 0;
	}
	if (rd_hooks_deliveries(c.app, &who, sid, rd_req_query(req, "state"), &items, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
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
	static const char *const known[] = { "partner_id", NULL };
	struct call c;
	struct rd_actor who;
	struct rd_serr e;
	json_t *items;
	if (!begin(req, &c, RD_ACT_READ, &who) || !no_query(req, known))
		return 0;
	const char *p = rd_req_query(req, "partner_id");
	uint64_t pid = p ? rd_parse_id(p) : 0;
	if (p && !pid) {
		rd_reply_error(req, 400, "invalid", "partner_id", "partner_id must be a partner's id");
		return 0;
	}
	if (rd_hooks_inbox(c.app, &who, pid, &items, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

int rd_api_hooks_inbound(struct rd_req *req)
{
	uint64_t vendor = rd_parse_id(rd_req_query(req, "vendor"));
	size_t len = 0;
	const void *body = rd_req_body(req, &len);
	struct rd_serr e;
	uint64_t inbox = 0;
	if (!vendor) {
		rd_reply_error(req, 400, "invalid", "vendor", "the vendor query parameter names the vendor's id");
		return 0;
	}
	if (rd_hooks_inbound(rd_req_app(req), vendor, rd_parse_id(rd_req_param(req, "id")),
			     rd_req_header(req, "webhook-id"), rd_req_header(req, "webhook-timestamp"),
			     rd_req_header(req, "webhook-signature"), body ? body : "", len, &inbox, &e) < 0)
		rd_reply_serr(req, &e);
	else
		rd_reply_json(req, 202, json_pack("{s:I, s:s, s:b}", "inbox_id", (json_int_t)inbox, "status", "stored",
						  "verified", 1));
	return 0;
}
