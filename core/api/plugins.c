/*
 * plugins.c: plugins over HTTP.
 *   GET    /api/v1/plugins                              loaded and refused plugins, with reasons
 *   GET    /api/v1/plugins/{name}/enablements           where the vendor has enabled it
 *   POST   /api/v1/plugins/{name}/enablements           enable {partner_id?, config}: the plugin
 *                                                       validates the configuration field by field
 *   DELETE /api/v1/plugins/{name}/enablements/{id}      disable
 *   POST   /api/v1/plugins/{name}/probe                 {partner_id?}: ask the configured service,
 *                                                       on the thread pool, under a timeout
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "plugin/host.h"
#include "services/enablements.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

#define PROBE_TIMEOUT_MS 5000

static bool no_query(struct rd_req *req)
{
	static const char *const none[] = { NULL };
	const char *bad = rd_req_query_unknown(req, none);
	if (bad)
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
	return !bad;
}

int rd_api_plugins_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_PLUGIN, RD_ACT_READ) == RD_SCOPE_NONE || !no_query(req))
		return 0;
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", rd_plugins_json(c.app->plugins), "next_cursor"));
	return 0;
}

static struct rd_loaded *plugin_param(struct call *c)
{
	const char *name = rd_req_param(c->req, "name");
	struct rd_loaded *l = name ? rd_plugins_find(c->app->plugins, name) : NULL;
	if (!l)
		rd_reply_error(c->req, 404, "not_found", "name", "no loaded plugin named %s", name ? name : "");
	return l;
}

int rd_api_enablements_list(struct rd_req *req)
{
	struct call c;
	struct rd_loaded *l;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_PLUGIN, RD_ACT_READ) == RD_SCOPE_NONE ||
	    !(l = plugin_param(&c)) || !no_query(req))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	json_t *items = json_array();
	struct rd_enablement *e = rd_malloc(sizeof *e);
	struct rd_iter it;
	struct rd_item item;
	const char *name = rd_loaded_desc(l)->name;
	rc = rd_iter_index(&it, t, c.app->domain->enablements, "plugin", c.who.vendor, name, strlen(name) + 1, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != strlen(name) + 9 || memcmp(item.key, name, strlen(name) + 1) != 0)
			break;
		if ((rc = rd_entity_decode(&rd_entity_enablement, item.val, item.len, e)) < 0)
			break;
		json_t *j = rd_enablement_json(e);
		rd_plugins_show_secrets(l, j);
		json_array_append_new(items, j);
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(e);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

int rd_api_enablements_create(struct rd_req *req)
{
	struct call c;
	struct rd_loaded *l;
	json_t *body;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_PLUGIN, RD_ACT_CREATE) == RD_SCOPE_NONE ||
	    !(l = plugin_param(&c)) || rd_req_json(req, &body) < 0)
		return 0;
	json_t *config = NULL, *partner = NULL, *v;
	json_error_t je;
	const char *key;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "config") && strcmp(key, "partner_id")) {
			rd_reply_error(req, 400, "invalid", key, "unknown field \"%s\": an enablement is {\"config\": {...}, \"partner_id\": id or null}", key);
			json_decref(body);
			return 0;
		}
	}
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:o, s?:o}", "config", &config, "partner_id", &partner) != 0 ||
	    !json_is_object(config) || (partner && !json_is_null(partner) && (!json_is_integer(partner) || json_integer_value(partner) <= 0))) {
		rd_reply_error(req, 400, "invalid", !json_is_object(config) ? "config" : "partner_id",
			       "an enablement is {\"config\": {...}, \"partner_id\": id or null for the whole vendor}");
		json_decref(body);
		return 0;
	}
	uint64_t pid = json_is_integer(partner) ? (uint64_t)json_integer_value(partner) : 0;
	char *text = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(body);
	if (!text) {
		rd_reply_error(req, 400, "invalid", "config", "the configuration is larger than 16 KiB");
		return 0;
	}
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_enablement *en = rd_malloc(sizeof *en);
	bool replaced = false;
	struct rd_serr e;
	json_t *fields = json_array();
	int rc = rd_enablement_enable(c.app, &who, l, pid, text, fields, en, &replaced, &e);
	sodium_memzero(text, strlen(text)); /* the request's copy of any secret */
	free(text);
	if (rc == 0) {
		json_t *j = rd_enablement_json(en);
		rd_plugins_show_secrets(l, j);
		rd_reply_json(req, replaced ? 200 : 201, j);
	} else if (rc == RD_ETOOBIG || (rc == RD_EINVAL && !strcmp(e.code, "invalid"))) {
		rd_reply_error(req, 400, "invalid", e.field, "%s", e.message);
		rc = 0;
	} else if (rc == RD_EINVAL) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:O}", "code", "invalid_config", "message", e.message, "field", e.field,
				      "fields", fields);
		rd_reply_json(req, 422, json_pack("{s:o}", "error", j));
		rc = 0;
	}
	json_decref(fields);
	free(en);
	return rc;
}

int rd_api_enablements_delete(struct rd_req *req)
{
	struct call c;
	struct rd_loaded *l;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_PLUGIN, RD_ACT_DELETE) == RD_SCOPE_NONE ||
	    !(l = plugin_param(&c)))
		return 0;
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	const char *name = rd_loaded_desc(l)->name;
	int rc = rd_enablement_disable(c.app, &who, name, rd_parse_id(rd_req_param(req, "id")));
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such enablement of %s", name);
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}

/* ---- probe ----------------------------------------------------------------------- */

static int probe_call(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	return desc->probe ? desc->probe(ctx) : 0;
}

static void reply_call(struct rd_req *req, const char *name, int rc, const char *message)
{
	if (rc == 0)
		rd_reply_json(req, 200, json_pack("{s:b, s:s, s:s}", "ok", 1, "plugin", name, "message",
						  message && *message ? message : "the plugin answered"));
	else if (rc == -ETIMEDOUT)
		rd_reply_error(req, 504, "plugin_timeout", NULL, "plugin %s did not answer within %d ms", name, PROBE_TIMEOUT_MS);
	else if (rc == RD_EBUSY)
		rd_reply_error(req, 503, "plugin_busy", NULL, "plugin %s has too many calls in flight; try again", name);
	else
		rd_reply_error(req, 502, "plugin_failed", NULL, "plugin %s: %s", name, message && *message ? message : rd_strerror(rc));
}

struct probe {
	struct rd_hold *hold;
	char name[64];
};

static void probe_done(int rc, const char *message, void *arg)
{
	struct probe *p = arg;
	struct rd_req *req = rd_hold_req(p->hold);
	if (req)
		reply_call(req, p->name, rc, message);
	rd_hold_free(p->hold);
	free(p);
}

int rd_api_plugin_probe(struct rd_req *req)
{
	struct call c;
	struct rd_loaded *l;
	json_t *body = NULL;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_PLUGIN, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    !(l = plugin_param(&c)))
		return 0;
	size_t blen;
	rd_req_body(req, &blen);
	uint64_t partner = 0;
	if (blen) {
		if (rd_req_json(req, &body) < 0)
			return 0;
		json_t *p = json_object_get(body, "partner_id"), *v;
		const char *key, *bad = "partner_id";
		json_object_foreach(body, key, v)
			if (strcmp(key, "partner_id"))
				bad = key;
		if (json_object_size(body) > (p ? 1u : 0u) || (p && !json_is_null(p) && !json_is_integer(p))) {
			rd_reply_error(req, 400, "invalid", bad, "a probe is {\"partner_id\": id or null}");
			json_decref(body);
			return 0;
		}
		partner = json_is_integer(p) ? (uint64_t)json_integer_value(p) : 0;
		json_decref(body);
	}
	/* The configuration in force: the partner's, else the vendor's. */
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	const char *name = rd_loaded_desc(l)->name;
	rc = rd_enablement_find(t, c.app->domain, c.who.vendor, name, partner, e);
	rd_txn_end(t);
	if (rc < 0) {
		free(e);
		if (rc == RD_ENOTFOUND) {
			rd_reply_error(req, 409, "not_enabled", "name", "%s is not enabled for this vendor or partner", name);
			return 0;
		}
		return rc;
	}
	struct probe *pr = rd_calloc(1, sizeof *pr);
	snprintf(pr->name, sizeof pr->name, "%s", name);
	pr->hold = rd_req_hold(req);
	rc = rd_plugins_call(c.app->plugins, l, c.who.vendor, partner, e->config, PROBE_TIMEOUT_MS, probe_call, probe_done, pr);
	free(e);
	if (rc < 0) { /* not started: answer now */
		rd_hold_free(pr->hold);
		free(pr);
		reply_call(req, name, rc, NULL);
	}
	return 0;
}
