/*
 * console_plugins.c: the console's plugins: loaded and refused plugins, enablements for
 * the vendor or a partner.
 * The console's routes are listed at the top of console.c.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "services/enablements.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

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
	bool can_enable = rd_console_may(w, RD_RES_PLUGIN, RD_ACT_CREATE), can_disable = rd_console_may(w, RD_RES_PLUGIN, RD_ACT_DELETE);
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
							     e->partner_id ? rd_console_partner_name(t, w, e->partner_id, p) : "",
							     "enabled", rd_console_time_json(e->enabled_at), "config", shown ? shown : "{}",
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
	json_t *ctx = rd_console_page_ctx(w, "Plugins", "/vendor/plugins");
	json_object_set_new(ctx, "plugins", out);
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	rd_console_page(w, status, "vendor_plugins", ctx);
	return 0;
}

int rd_page_vendor_plugins(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_PLUGIN, RD_ACT_READ))
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
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_PLUGIN, RD_ACT_CREATE))
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
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_PLUGIN, RD_ACT_DELETE))
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
