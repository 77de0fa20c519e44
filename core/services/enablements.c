/*
 * enablements.c: enabling and disabling plugins (enablements.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "plugin/host.h"
#include "rd_config.h"
#include "services/enablements.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

bool rd_enablement_partner_ok(struct rd_app *app, uint64_t vendor, uint64_t partner)
{
	if (!partner)
		return true;
	struct rd_txn *t;
	if (rd_store_read(app->store, &t) < 0)
		return false;
	const void *v;
	size_t n;
	bool yes = rd_txn_get(t, app->domain->partners, vendor, partner, &v, &n) == 0;
	rd_txn_end(t);
	return yes;
}

/* dir resolved into out[PATH_MAX]: realpath of the nearest folder that
 * exists, with the rest of the path after it (itself without "." or "..":
 * else the path is taken as written).  false when it is not absolute. */
static bool resolve(const char *dir, char out[PATH_MAX])
{
	if (!dir || dir[0] != '/' || strlen(dir) >= PATH_MAX)
		return false;
	char head[PATH_MAX];
	snprintf(head, sizeof head, "%s", dir);
	size_t n = strlen(head);
	while (n > 1 && head[n - 1] == '/')
		head[--n] = 0;
	for (;;) {
		char *slash = strrchr(head, '/');
		char real[PATH_MAX];
		if (realpath(head, real)) {
			const char *rest = dir + strlen(head);
			if (strstr(rest, "/../") || strstr(rest, "/./") || !strcmp(rest, "/..") || !strcmp(rest, "/."))
				return snprintf(out, PATH_MAX, "%s", dir) < PATH_MAX;
			size_t rl = strlen(real);
			if (rl == 1 && rest[0] == '/')
				rl = 0; /* "/" and "/x": "/x" */
			int w = snprintf(out, PATH_MAX, "%.*s%s", (int)rl, real, rest);
			while (w > 1 && out[w - 1] == '/')
				out[--w] = 0;
			return w > 0 && w < PATH_MAX;
		}
		if (!slash || slash == head)
			return snprintf(out, PATH_MAX, "%s", dir) < PATH_MAX;
		*slash = 0;
	}
}

/* a is b or inside it (both resolved). */
static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (n == 1 && b[0] == '/')
		return true;
	return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

/* One of renewd's own folders resolved: as given when absolute, else from
 * the working directory renewd started in (it never changes it): a
 * relative `data` must not turn the check off. */
static bool resolve_own(const char *dir, char out[PATH_MAX])
{
	if (!dir || !*dir)
		return false;
	if (dir[0] == '/')
		return resolve(dir, out);
	char cwd[PATH_MAX], abs[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd) || snprintf(abs, sizeof abs, "%s/%s", cwd, dir) >= (int)sizeof abs)
		return false;
	return resolve(abs, out);
}

const char *rd_edi_folder_refusal(const struct rd_app *app, const char *dir)
{
	char mine[PATH_MAX], theirs[PATH_MAX];
	if (!app->config || !resolve(dir, mine))
		return NULL; /* not absolute: the plugin's check refuses it */
	const struct {
		const char *dir, *what;
	} own[] = { { app->config->data, "renewd's data directory (the store, its mail and bodies folders)" },
		    { app->config->feeds_dir, "renewd's feeds directory (the partners' drop folders)" },
		    { app->config->plugin_dir ? app->config->plugin_dir : RD_PLUGINDIR, "renewd's plugin directory" } };
	for (size_t i = 0; i < sizeof own / sizeof *own; i++)
		if (resolve_own(own[i].dir, theirs) && inside(mine, theirs))
			return own[i].what;
	return NULL;
}

/* The enablement's folders against renewd's own and every other vendor's
 * enablements' folders: 0, or RD_EINVAL with the refusal in e (the field). */
static int folders_check(struct rd_app *app, uint64_t vendor, const char *config, struct rd_serr *e)
{
	static const char *const keys[] = { "inbound_dir", "outbound_dir" };
	json_t *cfg = json_loads(config, 0, NULL);
	if (!cfg)
		return 0;
	char mine[2][PATH_MAX];
	bool have[2] = { false, false };
	int rc = 0;
	for (size_t k = 0; k < 2 && rc == 0; k++) {
		const char *dir = json_string_value(json_object_get(cfg, keys[k]));
		const char *why = dir ? rd_edi_folder_refusal(app, dir) : NULL;
		if (why)
			rc = rd_serr_set(e, RD_EINVAL, "invalid_config", keys[k], "%s is %s, or a folder in it: refused",
					 keys[k], why);
		have[k] = dir && resolve(dir, mine[k]);
	}
	json_decref(cfg);
	if (rc < 0 || (!have[0] && !have[1]))
		return rc;
	/* another vendor's folders, in either role */
	struct rd_txn *t;
	if ((rc = rd_store_read(app->store, &t)) < 0)
		return rc;
	struct rd_enablement *x = rd_malloc(sizeof *x);
	struct rd_iter vit, it;
	struct rd_item vitem, item;
	rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&vit, &vitem)) > 0) {
		if (vitem.id == vendor)
			continue;
		int erc = rd_iter_records(&it, t, app->domain->enablements, vitem.id, 0);
		while (erc >= 0 && (erc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, x) < 0)
				continue;
			json_t *oc = json_loads(x->config, 0, NULL);
			for (size_t j = 0; oc && j < 2 && erc > 0; j++) {
				char theirs[PATH_MAX];
				const char *od = json_string_value(json_object_get(oc, keys[j]));
				if (!od || !resolve(od, theirs))
					continue;
				for (size_t k = 0; k < 2; k++)
					if (have[k] && inside(mine[k], theirs)) {
						erc = rd_serr_set(e, RD_EINVAL, "invalid_config", keys[k],
								  "%s is another vendor's EDI folder, or a folder in it: "
								  "refused", keys[k]);
						break;
					}
			}
			json_decref(oc);
		}
		rd_iter_close(&it);
		if (erc < 0) {
			rc = erc;
			break;
		}
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(x);
	return rc < 0 ? rc : 0;
}

struct enable {
	struct rd_app *app;
	const struct rd_actor *who;
	struct rd_enablement *e;
	bool *replaced;
};

static int enable_write(struct rd_txn *t, void *arg)
{
	struct enable *en = arg;
	return rd_enablement_put(t, en->app->domain, en->who->vendor, en->who->user, en->e, en->replaced);
}

int rd_enablement_enable(struct rd_app *app, const struct rd_actor *who, struct rd_loaded *l, uint64_t partner,
			 const char *config, json_t *fields, struct rd_enablement *out, bool *replaced, struct rd_serr *e)
{
	memset(out, 0, sizeof *out);
	if (strlen(config) >= sizeof out->config)
		return rd_serr_set(e, RD_ETOOBIG, "too_large", "config", "the configuration is larger than 16 KiB");
	if (!rd_enablement_partner_ok(app, who->vendor, partner))
		return rd_serr_set(e, RD_EINVAL, "invalid", "partner_id", "no partner with id %llu",
				   (unsigned long long)partner);
	out->partner_id = partner;
	snprintf(out->plugin, sizeof out->plugin, "%s", rd_loaded_desc(l)->name);
	out->user_id = who->user;
	out->enabled_at = rd_clock_now();
	char err[600] = "";
	/* Secrets are sealed here. */
	int rc = rd_enablement_prepare(app->plugins, l, who->vendor, out, config, fields, err, sizeof err);
	if (rc == RD_ETOOBIG)
		return rd_serr_set(e, rc, "invalid", "config", "%s", err);
	if (rc < 0) {
		const char *field = json_string_value(json_object_get(json_array_get(fields, 0), "field"));
		return rd_serr_set(e, RD_EINVAL, "invalid_config", field ? field : "config", "%s", err);
	}
	if ((rc = folders_check(app, who->vendor, out->config, e)) < 0)
		return rc; /* a refusal in e, or the store's error */
	struct enable en = { app, who, out, replaced };
	return rd_store_write(app->store, enable_write, &en);
}

struct disable {
	struct rd_app *app;
	const struct rd_actor *who;
	const char *plugin;
	uint64_t id;
};

static int disable_write(struct rd_txn *t, void *arg)
{
	struct disable *d = arg;
	return rd_enablement_remove(t, d->app->domain, d->who->vendor, d->who->user, d->plugin, 0, d->id);
}

int rd_enablement_disable(struct rd_app *app, const struct rd_actor *who, const char *plugin, uint64_t id)
{
	struct disable d = { app, who, plugin, id };
	return plugin && id ? rd_store_write(app->store, disable_write, &d) : RD_ENOTFOUND;
}
