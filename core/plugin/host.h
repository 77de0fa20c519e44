/*
 * host.h: renewd's side of the plugin ABI (include/renewd/plugin.h): the
 * registry of loaded and refused plugins, the loader, the host services,
 * enablement checks and calls on the thread pool under a timeout.
 */
#ifndef RD_PLUGIN_HOST_H
#define RD_PLUGIN_HOST_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include <renewd/plugin.h>

struct rd_store;
struct rd_domain;
struct rd_plugins;
struct rd_loaded;

/* The host.  loop may be NULL (renewctl): calls then run inline. */
struct rd_plugins *rd_plugins_new(struct rd_store *s, struct rd_domain *d, uv_loop_t *loop);
/* deinit every plugin that initialised, then dlclose; *p becomes NULL. */
void rd_plugins_free(struct rd_plugins **p);
/* Before any plugin loads, for a registry over a store opened read-only
 * (renewctl plugins): the plugins' storage writes stay in this process's
 * memory (and are read back), nothing is written. */
void rd_plugins_overlay(struct rd_plugins *p);

/* Registers a plugin from its descriptor (built-ins call this directly;
 * the loader calls it for each shared object).  origin names where it came
 * from.  A refusal is recorded with its reason and returned (< 0). */
int rd_plugins_add(struct rd_plugins *p, const struct rd_plugin *desc, const char *origin, void *dl);
/* Loads every *.so in dir, in name order; each refusal is logged and kept. */
void rd_plugins_load_dir(struct rd_plugins *p, const char *dir);
/* The built-in plugins (plugins/ compiled into renewd). */
void rd_plugins_add_builtins(struct rd_plugins *p);

/* [{name, version, kind, description, origin, state: loaded|refused, reason,
 *   options, labels (each option's label for customers, else its name),
 *   last_error}] */
json_t *rd_plugins_json(const struct rd_plugins *p);
/* The loaded payment plugin that offers option (one of the options its
 * payment ops list), its name copied into name; NULL when none does. */
const char *rd_plugins_offering(struct rd_plugins *plugins, const char *option, char name[64]);
/* The label a customer reads for option (its plugin's label, ops V2, else
 * the option's name) in label; NULL when no loaded plugin offers it. */
const char *rd_plugins_option_label(struct rd_plugins *plugins, const char *option, char label[64]);
struct rd_loaded *rd_plugins_find(struct rd_plugins *p, const char *name);
const struct rd_plugin *rd_loaded_desc(const struct rd_loaded *l);

/* Validates a configuration with the plugin (on the calling thread, the
 * loop's).  0, or < 0 with field errors appended to fields
 * ([{field, message}]) and/or a message in err. */
int rd_plugins_configure(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner,
			 const char *config_json, json_t *fields, char *err, size_t errlen);

/* Runs fn(ctx, arg) on the thread pool for (vendor, partner) under the
 * configuration given, and calls done(rc, message, arg) on the loop: rc from
 * fn, or RD_EBUSY (too many calls in flight for this plugin), or -ETIMEDOUT
 * when timeout_ms passes first (the late result is then logged and
 * dropped).  The failure is recorded as the plugin's last error. */
typedef int (*rd_plugin_call_fn)(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg);
typedef void (*rd_plugin_done_fn)(int rc, const char *message, void *arg);
int rd_plugins_call(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner,
		    const char *config_json, unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done,
		    void *arg);
/* The same for a call nobody authenticated (a gateway's webhook naming
 * vendor): such calls share 2 of the plugin's places, whatever vendor they
 * name, so a flood of them leaves the vendors' own calls room.  (A vendor's
 * calls take at most 2 of its 8 places too: docs/plugins.md.) */
int rd_plugins_call_anonymous(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, const char *config_json,
			      unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done, void *arg);
/* Enablements (the store side; the caller has validated the configuration
 * with rd_plugins_configure).  put replaces the existing enablement of the
 * same plugin and partner; both write an audit entry. */
struct rd_txn;
struct rd_enablement;
int rd_enablement_put(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_enablement *e,
		      bool *replaced);
/* Removes the enablement with this id (by id) or, when id is 0, the one of
 * (plugin, partner).  RD_ENOTFOUND when there is none. */
int rd_enablement_remove(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, const char *plugin,
			 uint64_t partner, uint64_t id);
/* The enablement in force for (plugin, partner): the partner's, else the
 * vendor-wide one. */
int rd_enablement_find(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *plugin, uint64_t partner,
		       struct rd_enablement *out);
/* The enablement as JSON (new reference): sealed secrets show as "set". */
json_t *rd_enablement_json(const struct rd_enablement *e);
/* Its configuration alone, sealed secrets as "set" (new reference). */
json_t *rd_enablement_config(const struct rd_enablement *e);
/* Shows every secret setting the plugin declares as "set" or "unset" in an
 * enablement's JSON (from rd_enablement_json; changed in place). */
void rd_plugins_show_secrets(const struct rd_loaded *l, json_t *enablement);
/* Does the plugin declare secret settings? */
bool rd_plugins_has_secrets(const struct rd_loaded *l);

/* ---- secrets and where plugins may reach (docs/plugins.md, "Secrets") ---- */

/* Reads DATA/secrets.key (with create, makes it 0600 when absent).  0, or
 * < 0 with one sentence in err. */
int rd_plugins_open_secrets(struct rd_plugins *p, bool create, char *err, size_t errlen);
/* outbound_hosts: "host", "host:port", "[v6]:port" separated by commas or
 * spaces.  Plugin HTTP goes only there. */
int rd_plugins_set_outbound(struct rd_plugins *p, const char *list, char *err, size_t errlen);
/* renewd's own POST to a URL (signed webhooks), under the same allow-list
 * and address check as plugin HTTP; worker thread.  0 with *status the
 * answer's HTTP status, or < 0 with one sentence in err. */
int rd_plugins_post(const struct rd_plugins *p, const char *url, const char *const *headers, const void *body,
		    size_t len, long timeout_ms, long *status, char *err, size_t errlen);
/* The key that seals secrets (NULL-safe to use: have false when none). */
struct rd_secrets;
const struct rd_secrets *rd_plugins_secrets(const struct rd_plugins *p);
/* secret_env: "VENDOR/NAME=VARIABLE" entries; vendors by slug, resolved
 * now (vendors are made while renewd is stopped). */
int rd_plugins_set_secret_env(struct rd_plugins *p, const char *list, char *err, size_t errlen);
/* Prepares an enablement the caller is about to store (e->plugin and
 * e->partner_id set): a declared secret that is omitted or "set" keeps the
 * stored one, "unset" removes it; the plugin validates the configuration
 * with the secrets in clear (and the host every URL against the allow-list);
 * then the secrets are sealed into e->config.  0, or < 0 with field errors
 * in fields and/or a message in err. */
int rd_enablement_prepare(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, struct rd_enablement *e,
			  const char *config_json, json_t *fields, char *err, size_t errlen);
/* A stored configuration with its secrets opened, for a call (new string;
 * it holds secrets: zero it before free). */
char *rd_plugins_unseal(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, const char *config_json);
/* Seals declared secrets stored in clear (by an older renewd); *sealed says
 * how many enablements changed, *unopened how many stored secrets do not
 * open under the loaded key (a store restored without its secrets.key). */
int rd_plugins_seal_stored(struct rd_plugins *p, unsigned *sealed, unsigned *unopened);
/* Logs (warn) each stored enablement whose plugin is not loaded, naming the
 * vendor, the plugin and the partner; returns how many there are. */
unsigned rd_plugins_log_missing(struct rd_plugins *p);
/* Seals every stored secret again under a new key, then makes that key
 * secrets.key (renewd stopped).  All or nothing.  *resealed: the plugin
 * enablements that changed; *subscriptions: the webhook subscriptions. */
int rd_plugins_rotate_secrets(struct rd_plugins *p, unsigned *resealed, unsigned *subscriptions, char *err,
			      size_t errlen);

/* The branding pack assets fall back on when no pack enabled for the
 * partner or the vendor has them (builtins.c names the shipped one). */
void rd_plugins_set_fallback_branding(struct rd_plugins *p, const struct rd_plugin *pack);
/* A branding asset: from the first loaded branding plugin enabled for the
 * partner, then for the vendor, then from the fallback pack.  Loop thread;
 * the data stays valid while the plugin is loaded. */
int rd_plugins_asset(struct rd_plugins *p, struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner,
		     const char *name, const char **data, size_t *len);

/* An asset of one named branding pack. */
int rd_plugins_asset_of(struct rd_plugins *p, const char *pack, const char *name, const char **data, size_t *len);

/* Calls on the thread pool since start, per loaded plugin (loop thread):
 * answered ok or with an error, timed out (answered by the host), refused
 * busy (too many in flight), and how long each took (bucket: per bound of
 * rd_plugin_call_bounds, the last one above them all; not cumulative).
 * Fills up to cap and returns how many plugins are loaded. */
#define RD_PLUGIN_BUCKETS 16
struct rd_plugin_stats {
	char name[64];
	uint64_t ok, failed, timeouts, busy;
	uint64_t bucket[RD_PLUGIN_BUCKETS];
	uint64_t count;
	double sum;
};
size_t rd_plugins_stats(const struct rd_plugins *p, struct rd_plugin_stats *out, size_t cap);
const double *rd_plugin_call_bounds(size_t *n);

/* Calls in flight, and init and configure calls given up on that still
 * run: the store may not be closed under any of them (the daemon then
 * stops without closing it). */
unsigned rd_plugins_busy(const struct rd_plugins *p);
/* Calls in flight only: what a stop waits for, bounded, before closing the
 * store (a call given up on is not waited for again). */
unsigned rd_plugins_calls(const struct rd_plugins *p);

#endif
