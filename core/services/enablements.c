/*
 * enablements.c: enabling and disabling plugins (enablements.h).
 */
#include <stdio.h>
#include <string.h>

#include "plugin/host.h"
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
