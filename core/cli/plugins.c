/*
 * plugins.c: renewctl's plugin commands.
 *   plugins [--plugin-dir DIR]                       loaded and refused plugins, with reasons
 *   plugin enable --vendor S --plugin P [--partner ID] --config JSON [--plugin-dir DIR]
 *                 [--outbound-hosts LIST] [--secret-env LIST]
 *   plugin disable --vendor S --plugin P [--partner ID]
 *   plugin enablements --vendor S
 *   secrets rotate [--plugin-dir DIR]
 */
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "domain/model.h"
#include "plugin/host.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

static const char *opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

static struct rd_plugins *load_as(struct rd_store *s, struct rd_domain *d, int argc, char **argv, bool readonly)
{
	struct rd_plugins *p = rd_plugins_new(s, d, NULL);
	if (readonly) /* the store is opened read-only: init's storage writes stay in memory */
		rd_plugins_overlay(p);
	rd_plugins_add_builtins(p);
	const char *dir = opt(argc, argv, "--plugin-dir");
	if (!dir)
		dir = rd_cli.plugin_dir; /* renewd's configuration file's */
	if (dir)
		rd_plugins_load_dir(p, dir);
	return p;
}

static struct rd_plugins *load(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	return load_as(s, d, argc, argv, false);
}

int rd_cli_plugins_list(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	struct rd_plugins *p = load_as(s, d, argc, argv, true);
	json_t *list = rd_plugins_json(p);
	size_t i;
	json_t *e;
	int refused = 0;
	printf("%-20s %-8s %-10s %-8s %s\n", "name", "version", "kind", "state", "origin / reason");
	json_array_foreach(list, i, e) {
		const char *state = json_string_value(json_object_get(e, "state"));
		bool ok = !strcmp(state, "loaded");
		refused += !ok;
		const char *kind = json_string_value(json_object_get(e, "kind"));
		printf("%-20s %-8s %-10s %-8s %s\n", json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "version")), kind ? kind : "-", state,
		       ok ? json_string_value(json_object_get(e, "origin")) : json_string_value(json_object_get(e, "reason")));
	}
	json_decref(list);
	rd_plugins_free(&p);
	/* A mistyped or missing directory is not a clean bill: nothing of it
	 * was loaded (renewd carries on with a warning; this is the check). */
	const char *dir = opt(argc, argv, "--plugin-dir");
	if (!dir)
		dir = rd_cli.plugin_dir;
	DIR *dh = dir ? opendir(dir) : NULL;
	if (dir && !dh) {
		fprintf(stderr, "renewctl: plugin directory %s cannot be read: %s (no plugin of it is loaded)\n", dir,
			strerror(errno));
		return 1;
	}
	if (dh)
		closedir(dh);
	return refused ? 1 : 0;
}

static int find_vendor(struct rd_store *s, struct rd_domain *d, const char *slug, uint64_t *id)
{
	struct rd_txn *t;
	if (!slug || rd_store_read(s, &t) < 0)
		return RD_ENOTFOUND;
	struct rd_iter it;
	struct rd_item item;
	struct rd_vendor v;
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	*id = 0;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, &v) == 0 && !strcmp(v.slug, slug))
			*id = v.id;
	rd_iter_close(&it);
	rd_txn_end(t);
	return *id ? 0 : RD_ENOTFOUND;
}

struct en {
	struct rd_domain *d;
	uint64_t vendor;
	struct rd_enablement e;
	bool replaced, disable;
};

static int en_write(struct rd_txn *t, void *arg)
{
	struct en *x = arg;
	if (x->disable)
		return rd_enablement_remove(t, x->d, x->vendor, 0, x->e.plugin, x->e.partner_id, 0);
	if (x->e.partner_id) {
		const void *v;
		size_t n;
		if (rd_txn_get(t, x->d->partners, x->vendor, x->e.partner_id, &v, &n) < 0)
			return RD_EINVAL;
	}
	return rd_enablement_put(t, x->d, x->vendor, 0, &x->e, &x->replaced);
}

int rd_cli_plugin(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "renewctl: plugin enable|disable|enablements (see renewctl --help)\n");
		return 2;
	}
	struct en *x = rd_calloc(1, sizeof *x);
	x->d = d;
	int code = 1;
	if (find_vendor(s, d, opt(argc, argv, "--vendor"), &x->vendor) < 0) {
		fprintf(stderr, "renewctl: --vendor must name a vendor by its slug\n");
		goto out;
	}
	if (!strcmp(argv[0], "enablements")) {
		struct rd_txn *t;
		if (rd_store_read(s, &t) < 0)
			goto out;
		struct rd_iter it;
		struct rd_item item;
		struct rd_enablement *e = rd_malloc(sizeof *e);
		int rc = rd_iter_records(&it, t, d->enablements, x->vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, e) == 0) {
				json_t *cfg = rd_enablement_config(e); /* secrets as "set" */
				char *shown = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
				json_decref(cfg);
				printf("%llu  %-20s %-12s %s\n", (unsigned long long)e->id, e->plugin,
				       e->partner_id ? "partner" : "vendor-wide", shown ? shown : "{}");
				free(shown);
			}
		rd_iter_close(&it);
		rd_txn_end(t);
		free(e);
		code = rc < 0;
		goto out;
	}
	const char *plugin = opt(argc, argv, "--plugin"), *partner = opt(argc, argv, "--partner");
	if (!plugin) {
		fprintf(stderr, "renewctl: --plugin NAME is needed\n");
		code = 2;
		goto out;
	}
	snprintf(x->e.plugin, sizeof x->e.plugin, "%s", plugin);
	if (partner && !rd_cli_whole(partner, 1, UINT64_MAX, &x->e.partner_id)) {
		fprintf(stderr, "renewctl: --partner must be a partner's id (a whole number), not \"%s\"\n", partner);
		code = 2;
		goto out;
	}
	if (!strcmp(argv[0], "disable")) {
		x->disable = true;
		int rc = rd_store_write(s, en_write, x);
		if (rc < 0)
			fprintf(stderr, "renewctl: %s is not enabled there\n", plugin);
		else
			printf("plugin %s disabled\n", plugin);
		code = rc < 0;
		goto out;
	}
	if (strcmp(argv[0], "enable") != 0) {
		fprintf(stderr, "renewctl: unknown plugin command %s\n", argv[0]);
		code = 2;
		goto out;
	}
	const char *config = opt(argc, argv, "--config");
	json_error_t je;
	json_t *cj = config ? json_loads(config, 0, &je) : NULL;
	if (!json_is_object(cj)) {
		fprintf(stderr, "renewctl: --config must be a JSON object (%s)\n", cj ? "not an object" : config ? je.text : "missing");
		json_decref(cj);
		code = 2;
		goto out;
	}
	char *text = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cj);
	if (strlen(text) >= sizeof x->e.config) {
		fprintf(stderr, "renewctl: --config is larger than 16 KiB\n");
		free(text);
		goto out;
	}
	struct rd_plugins *p = load(s, d, argc, argv);
	struct rd_loaded *l = rd_plugins_find(p, plugin);
	char err[600];
	const char *hosts = opt(argc, argv, "--outbound-hosts"), *senv = opt(argc, argv, "--secret-env");
	if (!hosts)
		hosts = rd_cli.outbound_hosts;
	if (!senv)
		senv = rd_cli.secret_env;
	if (!l || rd_plugins_open_secrets(p, true, err, sizeof err) < 0 ||
	    rd_plugins_set_outbound(p, hosts ? hosts : "api.stripe.com", err, sizeof err) < 0 ||
	    rd_plugins_set_secret_env(p, senv, err, sizeof err) < 0) {
		if (l)
			fprintf(stderr, "renewctl: %s\n", err);
		else
			fprintf(stderr, "renewctl: no loaded plugin named %s (renewctl plugins lists them)\n", plugin);
		sodium_memzero(text, strlen(text));
		free(text);
		rd_plugins_free(&p);
		goto out;
	}
	json_t *fields = json_array();
	int prc = rd_enablement_prepare(p, l, x->vendor, &x->e, text, fields, err, sizeof err);
	sodium_memzero(text, strlen(text));
	free(text);
	if (prc < 0) {
		fprintf(stderr, "renewctl: %s\n", err);
		size_t i;
		json_t *f;
		json_array_foreach(fields, i, f)
			fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(f, "field")),
				json_string_value(json_object_get(f, "message")));
		json_decref(fields);
		rd_plugins_free(&p);
		goto out;
	}
	json_decref(fields);
	rd_plugins_free(&p);
	x->e.enabled_at = rd_clock_now();
	int rc = rd_store_write(s, en_write, x);
	if (rc < 0) {
		fprintf(stderr, "renewctl: %s\n", rc == RD_EINVAL ? "--partner names no partner of this vendor" : rd_strerror(rc));
		goto out;
	}
	printf("plugin %s %s for %s\n", plugin, x->replaced ? "re-enabled" : "enabled", x->e.partner_id ? "the partner" : "the vendor");
	code = 0;
out:
	free(x);
	return code;
}

int rd_cli_secrets(struct rd_store *s, struct rd_domain *d, int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "rotate")) {
		fprintf(stderr, "renewctl: secrets rotate (see renewctl --help)\n");
		return 2;
	}
	struct rd_plugins *p = load(s, d, argc, argv);
	char err[600];
	unsigned n = 0, subs = 0;
	int rc = rd_plugins_open_secrets(p, false, err, sizeof err);
	if (rc == 0)
		rc = rd_plugins_rotate_secrets(p, &n, &subs, err, sizeof err);
	rd_plugins_free(&p);
	if (rc < 0) {
		fprintf(stderr, "renewctl: secrets rotate: %s\n", err);
		return 1;
	}
	printf("secrets.key replaced; the secrets of %u plugin enablement%s and %u webhook subscription%s sealed again under it\n",
	       n, n == 1 ? "" : "s", subs, subs == 1 ? "" : "s");
	return 0;
}
