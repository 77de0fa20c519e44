/*
 * hooks.c: connector-webhook, outbound subscriptions and their delivery,
 * inbound batches (hooks.h; docs/connectors.md, "connector-webhook").
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "config/config.h"
#include "domain/audit.h"
#include "domain/events.h"
#include "plugin/host.h"
#include "plugin/secrets.h"
#include "services/hooks.h"
#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SEAL_NAME "connector-webhook"
#define SEAL_FIELD "secret"
#define BATCH 16
#define BACKOFF_MAX_MS (3600 * 1000)
#define POST_TIMEOUT_MS 10000

static const char *const known_types[] = { "quote.published", "opportunity.decided", "order.placed", "order.paid",
					   "order.refunded", "statement.issued", "deal.submitted", "deal.approved",
					   "deal.rejected", "deal.won", "deal.lost", "deal.expired", "lead.new",
					   "lead.qualified", "lead.assigned", "lead.accepted", "lead.won", "lead.lost",
					   "lead.returned", "webhook.exhausted", NULL };

const char *const *rd_hooks_event_types(void)
{
	return known_types;
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* ---- the signature ------------------------------------------------------------------------- */

/* The key of a whsec_ secret: its base64 bytes.  Length, or -1. */
static int secret_key(const char *secret, unsigned char *key, size_t cap)
{
	if (!secret || strncmp(secret, "whsec_", 6) != 0)
		return -1;
	size_t n = 0;
	if (sodium_base642bin(key, cap, secret + 6, strlen(secret + 6), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) !=
		    0 ||
	    n < 16)
		return -1;
	return (int)n;
}

int rd_hooks_sign(const char *secret, const char *id, const char *ts, const char *body, size_t len, char *sig_out,
		  size_t cap)
{
	unsigned char key[128], mac[crypto_auth_hmacsha256_BYTES];
	int kl = secret_key(secret, key, sizeof key);
	if (kl < 0 || cap < 4 + sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL))
		return RD_EINVAL;
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, (size_t)kl);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(key, sizeof key);
	memcpy(sig_out, "v1,", 3);
	sodium_bin2base64(sig_out + 3, cap - 3, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static char *new_secret(void)
{
	unsigned char key[32];
	randombytes_buf(key, sizeof key);
	size_t cap = 6 + sodium_base64_ENCODED_LEN(sizeof key, sodium_base64_VARIANT_ORIGINAL);
	char *s = rd_malloc(cap);
	memcpy(s, "whsec_", 6);
	sodium_bin2base64(s + 6, cap - 6, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof key);
	return s;
}

static int seal(struct rd_app *app, uint64_t vendor, const char *plain, char *out, size_t cap, struct rd_serr *e)
{
	char *sealed = rd_secrets_seal(rd_plugins_secrets(app->plugins), vendor, SEAL_NAME, SEAL_FIELD, plain);
	if (!sealed)
		return rd_serr_set(e, RD_EINTERNAL, "internal", NULL, "no secrets key is loaded: the secret cannot be sealed");
	if (strlen(sealed) >= cap) {
		free(sealed);
		return rd_serr_set(e, RD_EINVAL, "invalid", "secret", "the secret is too long");
	}
	snprintf(out, cap, "%s", sealed);
	free(sealed);
	return 0;
}

/* ---- subscriptions --------------------------------------------------------------------------- */

json_t *rd_hooks_sub_json(const struct rd_hook_sub *s)
{
	json_t *j = rd_entity_to_json(&rd_entity_hook_sub, s);
	json_object_del(j, "secret");
	json_object_del(j, "secret_prev");
	if (!s->secret_prev[0] || s->prev_until <= now_s())
		json_object_del(j, "previous_secret_until");
	json_t *ev = json_array();
	char buf[sizeof s->events];
	snprintf(buf, sizeof buf, "%s", s->events);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(ev, json_string(tok));
	json_object_set_new(j, "events", ev);
	return j;
}

static bool check_url(const char *url)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return false;
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return false;
	return strlen(url) > 8;
}

/* Fields of a create or update; the secret is left to the caller. */
static int apply(json_t *body, struct rd_hook_sub *s, bool create, struct rd_serr *e)
{
	const char *key;
	json_t *v;
	if (!json_is_object(body))
		return rd_serr_set(e, RD_EINVAL, "invalid", NULL, "a subscription is a JSON object");
	json_object_foreach(body, key, v) {
		if (!strcmp(key, "url")) {
			if (!json_is_string(v) || !check_url(json_string_value(v)) ||
			    strlen(json_string_value(v)) >= sizeof s->url)
				return rd_serr_set(e, RD_EINVAL, "invalid", "url",
						   "url must be an http:// or https:// URL of at most 511 characters");
			snprintf(s->url, sizeof s->url, "%s", json_string_value(v));
		} else if (!strcmp(key, "events")) {
			size_t i;
			json_t *x;
			char list[sizeof s->events] = "";
			if (!json_is_array(v) || json_array_size(v) == 0)
				return rd_serr_set(e, RD_EINVAL, "invalid", "events",
						   "events must be a non-empty array of event types (or [\"*\"])");
			json_array_foreach(v, i, x) {
				const char *t = json_string_value(x);
				bool ok = t && !strcmp(t, "*");
				for (size_t k = 0; t && !ok && known_types[k]; k++)
					ok = !strcmp(t, known_types[k]);
				if (!ok)
					return rd_serr_set(e, RD_EINVAL, "invalid", "events",
							   "unknown event type \"%s\" (docs/connectors.md lists them)",
							   t ? t : "(not a string)");
				if (strlen(list) + strlen(t) + 2 >= sizeof list)
					return rd_serr_set(e, RD_EINVAL, "invalid", "events", "too many event types");
				if (list[0])
					strcat(list, ",");
				strcat(list, t);
			}
			snprintf(s->events, sizeof s->events, "%s", list);
		} else if (!strcmp(key, "description")) {
			if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof s->description)
				return rd_serr_set(e, RD_EINVAL, "invalid", "description",
						   "description must be a string of at most 255 characters");
			snprintf(s->description, sizeof s->description, "%s", json_string_value(v));
		} else if (!strcmp(key, "state")) {
			const char *st = json_string_value(v);
			if (!st || (strcmp(st, "active") && strcmp(st, "paused")))
				return rd_serr_set(e, RD_EINVAL, "invalid", "state", "state must be \"active\" or \"paused\"");
			s->active = !strcmp(st, "active") ? 1 : 2;
		} else if (create && !strcmp(key, "partner_id")) {
			if (!json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) <= 0))
				return rd_serr_set(e, RD_EINVAL, "invalid", "partner_id", "partner_id must be a partner's id or null");
			s->partner_id = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
		} else if (create && !strcmp(key, "secret")) {
			unsigned char k[128];
			if (!json_is_string(v) || secret_key(json_string_value(v), k, sizeof k) < 0)
				return rd_serr_set(e, RD_EINVAL, "invalid", "secret",
						   "secret must be whsec_ followed by the base64 of 16 to 128 random bytes");
			sodium_memzero(k, sizeof k);
		} else {
			return rd_serr_set(e, RD_EINVAL, "invalid", key,
					   "unknown field \"%s\": a subscription has url, events, description, state%s", key,
					   create ? ", partner_id and secret" : "");
		}
	}
	if (!s->url[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "url", "url is required");
	if (!s->events[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "events", "events is required");
	return 0;
}

struct sub_op {
	struct rd_app *app;
	const struct rd_actor *who;
	struct rd_hook_sub *s;
	uint64_t id;
	uint8_t action;
	struct rd_serr *e;
};

static int put_sub(struct rd_txn *t, void *arg)
{
	struct sub_op *op = arg;
	struct rd_domain *d = op->app->domain;
	if (op->s->partner_id) {
		struct rd_partner *p = rd_malloc(sizeof *p);
		int rc = rd_entity_get(t, d->partners, &rd_entity_partner, op->who->vendor, op->s->partner_id, p);
		free(p);
		if (rc == RD_ENOTFOUND)
			return rd_serr_set(op->e, RD_EINVAL, "invalid", "partner_id", "no partner %llu",
					   (unsigned long long)op->s->partner_id);
		if (rc < 0)
			return rc;
	}
	int rc = rd_entity_put(t, d->hook_subs, &rd_entity_hook_sub, op->who->vendor, op->s, 0);
	if (rc == 0)
		rc = rd_audit_write(t, d, op->who->vendor, op->who->user, op->action, "webhook_subscription", op->s->id,
				    NULL, NULL, NULL);
	return rc;
}

int rd_hooks_create(struct rd_app *app, const struct rd_actor *who, json_t *body, struct rd_hook_sub *out,
		    char **secret_out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	memset(out, 0, sizeof *out);
	*secret_out = NULL;
	out->active = 1;
	int rc = apply(body, out, true, e);
	if (rc < 0)
		return rc;
	json_t *sv = json_object_get(body, "secret");
	char *plain = sv ? rd_strdup(json_string_value(sv)) : new_secret();
	if ((rc = seal(app, who->vendor, plain, out->secret, sizeof out->secret, e)) < 0) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
		return rc;
	}
	out->created_at = now_s();
	struct sub_op op = { app, who, out, 0, RD_AUDIT_CREATE, e };
	rc = rd_store_write(app->store, put_sub, &op);
	if (rc < 0) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
		return e->rc ? rc : rd_serr_set(e, rc, "internal", NULL, "the subscription could not be stored");
	}
	*secret_out = plain;
	return 0;
}

static int load_sub(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_hook_sub *s,
		    struct rd_serr *e)
{
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	rc = rd_entity_get(t, app->domain->hook_subs, &rd_entity_hook_sub, who->vendor, id, s);
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, rc, "not_found", "id", "no webhook subscription %llu", (unsigned long long)id);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	return 0;
}

int rd_hooks_get(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_hook_sub *out,
		 struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	return load_sub(app, who, id, out, e);
}

int rd_hooks_update(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t *body,
		    struct rd_hook_sub *out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	int rc = load_sub(app, who, id, out, e);
	if (rc < 0 || (rc = apply(body, out, false, e)) < 0)
		return rc;
	struct sub_op op = { app, who, out, 0, RD_AUDIT_UPDATE, e };
	rc = rd_store_write(app->store, put_sub, &op);
	return rc < 0 && !e->rc ? rd_serr_set(e, rc, "internal", NULL, "the subscription could not be stored") : rc;
}

int rd_hooks_rotate(struct rd_app *app, const struct rd_actor *who, uint64_t id, uint64_t keep_seconds,
		    struct rd_hook_sub *out, char **secret_out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	*secret_out = NULL;
	int rc = load_sub(app, who, id, out, e);
	if (rc < 0)
		return rc;
	char *plain = new_secret();
	snprintf(out->secret_prev, sizeof out->secret_prev, "%s", out->secret);
	out->prev_until = now_s() + keep_seconds;
	if ((rc = seal(app, who->vendor, plain, out->secret, sizeof out->secret, e)) == 0) {
		struct sub_op op = { app, who, out, 0, RD_AUDIT_UPDATE, e };
		rc = rd_store_write(app->store, put_sub, &op);
		if (rc < 0 && !e->rc)
			rd_serr_set(e, rc, "internal", NULL, "the subscription could not be stored");
	}
	if (rc < 0) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
		return rc;
	}
	*secret_out = plain;
	return 0;
}

static int del_sub(struct rd_txn *t, void *arg)
{
	struct sub_op *op = arg;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	int rc = rd_entity_get(t, op->app->domain->hook_subs, &rd_entity_hook_sub, op->who->vendor, op->id, s);
	free(s);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(op->e, rc, "not_found", "id", "no webhook subscription %llu", (unsigned long long)op->id);
	if (rc == 0)
		rc = rd_txn_del(t, op->app->domain->hook_subs, op->who->vendor, op->id);
	if (rc == 0)
		rc = rd_audit_write(t, op->app->domain, op->who->vendor, op->who->user, RD_AUDIT_DELETE,
				    "webhook_subscription", op->id, NULL, NULL, NULL);
	return rc;
}

int rd_hooks_delete(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct sub_op op = { app, who, NULL, id, RD_AUDIT_DELETE, e };
	int rc = rd_store_write(app->store, del_sub, &op);
	return rc < 0 && !e->rc ? rd_serr_set(e, rc, "internal", NULL, "the subscription could not be deleted") : rc;
}

int rd_hooks_list(struct rd_app *app, const struct rd_actor *who, json_t **items, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	*items = json_array();
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, app->domain->hook_subs, who->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_hook_sub, item.val, item.len, s) == 0)
			json_array_append_new(*items, rd_hooks_sub_json(s));
	rd_iter_close(&it);
	rd_txn_end(t);
	free(s);
	return rc < 0 ? rd_serr_set(e, rc, "internal", NULL, "the store could not be read") : 0;
}

/* ---- the delivery log -------------------------------------------------------------------------- */

static json_t *delivery_json(const struct rd_hook_delivery *x)
{
	json_t *j = rd_entity_to_json(&rd_entity_hook_delivery, x);
	json_t *data = json_loads(x->data, 0, NULL);
	json_object_set_new(j, "data", data ? data : json_object());
	if (x->state != RD_HOOK_QUEUED)
		json_object_del(j, "next_at");
	return j;
}

struct delivery_keep {
	uint64_t sub;
	int state;
};

static bool delivery_keeps(void *ctx, const void *obj)
{
	const struct delivery_keep *k = ctx;
	const struct rd_hook_delivery *x = obj;
	return (!k->sub || x->sub_id == k->sub) && (!k->state || x->state == k->state);
}

typedef bool (*keep_fn)(void *ctx, const void *obj);
static int newest(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t vendor, uint64_t limit,
		  uint64_t before, keep_fn keep, void *ctx, uint64_t *ids, size_t *n, bool *more);

int rd_hooks_deliveries(struct rd_app *app, const struct rd_actor *who, uint64_t sub, const char *state, uint64_t limit,
			uint64_t before, json_t **items, uint64_t *next, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	*next = 0;
	static const char *const names[] = { "", "queued", "delivered", "exhausted" };
	int want = 0;
	for (int k = 1; state && k <= 3; k++)
		if (!strcmp(state, names[k]))
			want = k;
	if (state && !want)
		return rd_serr_set(e, RD_EINVAL, "invalid", "state", "state must be queued, delivered or exhausted");
	if (limit < 1 || limit > RD_HOOKS_PAGE_MAX)
		return rd_serr_set(e, RD_EINVAL, "invalid", "limit", "limit must be 1-%d", RD_HOOKS_PAGE_MAX);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	*items = json_array();
	uint64_t *ids = rd_malloc(limit * sizeof *ids);
	size_t n = 0;
	bool more = false;
	struct delivery_keep k = { sub, want };
	rc = newest(t, app->domain->hook_deliveries, &rd_entity_hook_delivery, who->vendor, limit, before, delivery_keeps, &k,
		    ids, &n, &more);
	struct rd_hook_delivery *x = rd_malloc(sizeof *x);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if ((rc = rd_entity_get(t, app->domain->hook_deliveries, &rd_entity_hook_delivery, who->vendor, ids[i], x)) == 0)
			json_array_append_new(*items, delivery_json(x));
	rd_txn_end(t);
	if (rc >= 0 && more && n)
		*next = ids[n - 1];
	free(ids);
	free(x);
	if (rc < 0) {
		json_decref(*items);
		*items = NULL;
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	}
	return 0;
}

struct redo {
	struct rd_app *app;
	const struct rd_actor *who;
	uint64_t id;
	struct rd_hook_delivery *x;
	struct rd_serr *e;
};

static int redo_one(struct rd_txn *t, void *arg)
{
	struct redo *r = arg;
	int rc = rd_entity_get(t, r->app->domain->hook_deliveries, &rd_entity_hook_delivery, r->who->vendor, r->id, r->x);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(r->e, rc, "not_found", "id", "no webhook delivery %llu", (unsigned long long)r->id);
	if (rc < 0)
		return rc;
	r->x->state = RD_HOOK_QUEUED;
	r->x->next_at = now_s();
	r->x->attempts = 0;
	rc = rd_entity_put(t, r->app->domain->hook_deliveries, &rd_entity_hook_delivery, r->who->vendor, r->x, 0);
	if (rc == 0)
		rc = rd_audit_write(t, r->app->domain, r->who->vendor, r->who->user, RD_AUDIT_UPDATE, "webhook_delivery",
				    r->id, NULL, NULL, NULL);
	return rc;
}

int rd_hooks_redeliver(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_hook_delivery *out,
		       struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct redo r = { app, who, id, out, e };
	int rc = rd_store_write(app->store, redo_one, &r);
	return rc < 0 && !e->rc ? rd_serr_set(e, rc, "internal", NULL, "the delivery could not be queued") : rc;
}

/* ---- the worker ------------------------------------------------------------------------------ */

struct item {
	uint64_t vendor, id;
	char url[512];
	char *secrets[2];  /* in clear (zeroed after) */
	char event_id[48];
	char *body;
	long status;
	int rc;
	char error[256];
};

struct rd_hooks {
	struct rd_app *app;
	uv_timer_t timer;
	uv_work_t work;
	struct item items[BATCH];
	size_t n;
	bool busy, started, closed;
};

static void on_closed(uv_handle_t *h)
{
	struct rd_hooks *hk = h->data;
	hk->closed = true;
}

/* The CloudEvents 1.0 structured JSON of a delivery. */
static char *envelope(uint64_t vendor, const struct rd_hook_delivery *x)
{
	char when[21], type[80], source[64];
	rd_time_format(x->event_time, when);
	snprintf(type, sizeof type, "com.renewd.%s", x->type);
	snprintf(source, sizeof source, "/renewd/vendors/%llu", (unsigned long long)vendor);
	json_t *data = json_loads(x->data, 0, NULL);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "specversion", "1.0", "id", x->event_id, "source",
			      source, "type", type, "time", when, "datacontenttype", "application/json", "data",
			      data ? data : json_object());
	if (x->subject[0])
		json_object_set_new(j, "subject", json_string(x->subject));
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static void send_all(uv_work_t *w)
{
	struct rd_hooks *hk = w->data;
	for (size_t i = 0; i < hk->n; i++) {
		struct item *it = &hk->items[i];
		if (it->rc < 0)
			continue; /* decided on the loop (no secret, no subscription) */
		char ts[24], sig[256] = "", hid[96], hts[64], hsig[600];
		snprintf(ts, sizeof ts, "%llu", (unsigned long long)now_s());
		size_t len = strlen(it->body);
		for (int k = 0; k < 2 && it->secrets[k]; k++) {
			char one[128];
			if (rd_hooks_sign(it->secrets[k], it->event_id, ts, it->body, len, one, sizeof one) == 0) {
				if (sig[0])
					strcat(sig, " ");
				strcat(sig, one);
			}
		}
		snprintf(hid, sizeof hid, "webhook-id: %s", it->event_id);
		snprintf(hts, sizeof hts, "webhook-timestamp: %s", ts);
		snprintf(hsig, sizeof hsig, "webhook-signature: %s", sig);
		const char *headers[] = { "Content-Type: application/cloudevents+json", hid, hts, hsig,
					  "User-Agent: renewd-webhooks", "Expect:", NULL };
		it->rc = rd_plugins_post(hk->app->plugins, it->url, headers, it->body, len, POST_TIMEOUT_MS, &it->status,
					 it->error, sizeof it->error);
		if (it->rc == 0 && (it->status < 200 || it->status > 299)) {
			snprintf(it->error, sizeof it->error, "the subscriber answered HTTP %ld", it->status);
			it->rc = -EIO;
		}
	}
}

static int record(struct rd_txn *t, void *arg)
{
	struct rd_hooks *hk = arg;
	struct rd_domain *d = hk->app->domain;
	const struct rd_config *c = hk->app->config;
	uint64_t now_ms = now_s() * 1000;
	struct rd_hook_delivery *x = rd_malloc(sizeof *x);
	int rc = 0;
	for (size_t i = 0; rc >= 0 && i < hk->n; i++) {
		struct item *it = &hk->items[i];
		if (rd_entity_get(t, d->hook_deliveries, &rd_entity_hook_delivery, it->vendor, it->id, x) < 0 ||
		    x->state != RD_HOOK_QUEUED)
			continue;
		x->attempts++;
		x->last_status = (uint32_t)it->status;
		if (it->rc == 0) {
			x->state = RD_HOOK_DELIVERED;
			x->delivered_at = now_ms / 1000;
			x->last_error[0] = 0;
		} else {
			snprintf(x->last_error, sizeof x->last_error, "%s", it->error[0] ? it->error : "not delivered");
			uint64_t backoff = c->webhook_retry_ms ? c->webhook_retry_ms : 30000;
			for (uint32_t k = 1; k < x->attempts && backoff < BACKOFF_MAX_MS; k++)
				backoff *= 2;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			x->next_at = (now_ms + backoff) / 1000;
			if (x->attempts >= (c->webhook_max_attempts ? c->webhook_max_attempts : 8)) {
				x->state = RD_HOOK_EXHAUSTED;
				if (strcmp(x->type, "webhook.exhausted") != 0) {
					json_t *data = json_pack("{s:I, s:s, s:I, s:s, s:i, s:s}", "delivery_id",
								 (json_int_t)x->id, "event_id", x->event_id,
								 "subscription_id", (json_int_t)x->sub_id, "type", x->type,
								 "attempts", (int)x->attempts, "last_error", x->last_error);
					char subject[64];
					snprintf(subject, sizeof subject, "webhook_delivery/%llu", (unsigned long long)x->id);
					rc = rd_event_emit(t, d, it->vendor, "webhook.exhausted", subject, data);
					json_decref(data);
					if (rc < 0)
						break;
				}
				rd_log(RD_LOG_WARN, "webhooks", "delivery %llu (%s) exhausted after %u attempts: %s",
				       (unsigned long long)x->id, x->event_id, x->attempts, x->last_error);
			}
		}
		rc = rd_entity_put(t, d->hook_deliveries, &rd_entity_hook_delivery, it->vendor, x, 0);
	}
	free(x);
	return rc < 0 ? rc : 0;
}

static void clear_items(struct rd_hooks *hk)
{
	for (size_t i = 0; i < hk->n; i++) {
		for (int k = 0; k < 2; k++)
			if (hk->items[i].secrets[k])
				rd_secrets_free(hk->items[i].secrets[k]);
		free(hk->items[i].body);
	}
	memset(hk->items, 0, sizeof hk->items);
	hk->n = 0;
}

static void after_all(uv_work_t *w, int status)
{
	struct rd_hooks *hk = w->data;
	(void)status;
	int rc = rd_store_write_wait(hk->app->store, record, hk); /* delivered: not to be sent again */
	if (rc < 0)
		rd_log(RD_LOG_ERROR, "webhooks", "delivery results could not be stored: %s", rd_strerror(rc));
	clear_items(hk);
	hk->busy = false;
}

/* Collects due deliveries, every vendor. */
static void collect(struct rd_hooks *hk)
{
	struct rd_app *app = hk->app;
	struct rd_txn *t;
	if (hk->busy || rd_store_read(app->store, &t) < 0)
		return;
	uint8_t to[8];
	uint64_t now = now_s();
	rd_key_put_u64(to, now + 1);
	struct rd_iter vit, it;
	struct rd_item v, item;
	struct rd_hook_delivery *x = rd_malloc(sizeof *x);
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	const struct rd_secrets *keys = rd_plugins_secrets(app->plugins);
	struct rd_vendor *vendor = rd_malloc(sizeof *vendor);
	int rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (rc >= 0 && hk->n < BATCH && (rc = rd_iter_next(&vit, &v)) > 0) {
		if (rd_entity_decode(&rd_entity_vendor, v.val, v.len, vendor) == 0 && vendor->suspended)
			continue; /* held, like its mail, while the platform operator suspends the vendor */
		rc = rd_iter_index(&it, t, app->domain->hook_deliveries, "due", v.id, NULL, 0, to, 8);
		while (rc >= 0 && hk->n < BATCH && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_hook_delivery, item.val, item.len, x) < 0)
				continue;
			struct item *one = &hk->items[hk->n];
			int sr = rd_entity_get(t, app->domain->hook_subs, &rd_entity_hook_sub, v.id, x->sub_id, s);
			if (sr == 0 && s->active != 1)
				continue; /* paused: stays queued */
			memset(one, 0, sizeof *one);
			one->vendor = v.id;
			one->id = x->id;
			snprintf(one->event_id, sizeof one->event_id, "%s", x->event_id);
			hk->n++;
			if (sr < 0) {
				one->rc = RD_ENOTFOUND;
				snprintf(one->error, sizeof one->error, "the subscription was deleted");
				continue;
			}
			snprintf(one->url, sizeof one->url, "%s", s->url);
			one->secrets[0] = rd_secrets_open(keys, v.id, SEAL_NAME, SEAL_FIELD, s->secret);
			if (s->secret_prev[0] && s->prev_until > now)
				one->secrets[1] = rd_secrets_open(keys, v.id, SEAL_NAME, SEAL_FIELD, s->secret_prev);
			if (!one->secrets[0]) {
				one->rc = RD_EINVAL;
				snprintf(one->error, sizeof one->error,
					 "the subscription's secret does not open under the loaded secrets key");
				continue;
			}
			one->body = envelope(v.id, x);
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	rd_txn_end(t);
	free(x);
	free(s);
	free(vendor);
	if (hk->n == 0)
		return;
	hk->busy = true;
	hk->work.data = hk;
	if (uv_queue_work(app->loop, &hk->work, send_all, after_all) != 0) {
		clear_items(hk);
		hk->busy = false;
	}
}

static void on_timer(uv_timer_t *t)
{
	collect(t->data);
}

struct rd_hooks *rd_hooks_start(struct rd_app *app)
{
	struct rd_hooks *hk = rd_calloc(1, sizeof *hk);
	hk->app = app;
	uv_timer_init(app->loop, &hk->timer);
	hk->timer.data = hk;
	uv_timer_start(&hk->timer, on_timer, 200, 250);
	hk->started = true;
	return hk;
}

void rd_hooks_stop(struct rd_hooks *hk)
{
	if (!hk || !hk->started)
		return;
	hk->started = false;
	uv_timer_stop(&hk->timer);
	uv_close((uv_handle_t *)&hk->timer, on_closed);
}

bool rd_hooks_busy(const struct rd_hooks *hk)
{
	return hk && hk->busy;
}

void rd_hooks_free(struct rd_hooks **h)
{
	if (!*h)
		return;
	clear_items(*h);
	free(*h);
	*h = NULL;
}

/* ---- inbound ------------------------------------------------------------------------------------- */

struct inbound {
	struct rd_app *app;
	uint64_t vendor, sub, partner;
	const char *id, *ts, *sig, *body;
	size_t len;
	uint64_t inbox_id;
	rd_hooks_inbound_done_fn done;
	void *done_arg;
	struct rd_serr *e;
};

/* Whether one of the space-separated "v1,..." signatures matches. */
static bool signature_matches(const char *secret, const struct inbound *in)
{
	char want[128];
	if (!secret || rd_hooks_sign(secret, in->id, in->ts, in->body, in->len, want, sizeof want) < 0)
		return false;
	size_t wl = strlen(want);
	for (const char *p = in->sig; *p;) {
		while (*p == ' ')
			p++;
		const char *end = strchr(p, ' ');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == wl && sodium_memcmp(p, want, wl) == 0)
			return true;
		p += n;
	}
	return false;
}

/* The endpoint (an active subscription with a partner) and the signature,
 * as the store is seen by t: 0 and in->partner, else e filled. */
static int check_endpoint(struct rd_txn *t, struct inbound *in)
{
	struct rd_domain *d = in->app->domain;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	int rc = rd_entity_get(t, d->hook_subs, &rd_entity_hook_sub, in->vendor, in->sub, s);
	if (rc == RD_ENOTFOUND || (rc == 0 && (!s->partner_id || s->active != 1))) {
		free(s);
		return rd_serr_set(in->e, RD_ENOTFOUND, "not_found", "id", "no active inbound webhook endpoint %llu",
				   (unsigned long long)in->sub);
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	const struct rd_secrets *keys = rd_plugins_secrets(in->app->plugins);
	char *cur = rd_secrets_open(keys, in->vendor, SEAL_NAME, SEAL_FIELD, s->secret);
	char *prev = s->secret_prev[0] && s->prev_until > now_s()
			     ? rd_secrets_open(keys, in->vendor, SEAL_NAME, SEAL_FIELD, s->secret_prev)
			     : NULL;
	bool ok = signature_matches(cur, in) || signature_matches(prev, in);
	if (cur)
		rd_secrets_free(cur);
	if (prev)
		rd_secrets_free(prev);
	if (in->partner && in->partner != s->partner_id)
		ok = false; /* the endpoint changed hands since it was checked */
	in->partner = s->partner_id;
	free(s);
	if (!ok)
		return rd_serr_set(in->e, RD_EINVAL, "invalid_signature", "webhook-signature",
				   "no signature in webhook-signature matches the body under the endpoint's secret");
	return 0;
}

/* Inside the transaction that stores the batch's feed (rd_feed_opts
 * with_record): the endpoint and signature again, the replay check, and
 * the inbox entry naming the feed; all of it or nothing. */
static int take_inbound(struct rd_txn *t, void *arg, const struct rd_import_rec *r, struct rd_serr *e)
{
	struct inbound *in = arg;
	struct rd_domain *d = in->app->domain;
	in->e = e;
	int rc = check_endpoint(t, in);
	if (rc < 0)
		return rc;
	/* A webhook-id seen before on this endpoint is a replay. */
	size_t il = strlen(in->id);
	uint8_t *key = rd_malloc(8 + il + 1);
	rd_key_put_u64(key, in->sub);
	memcpy(key + 8, in->id, il + 1);
	uint64_t seen;
	rc = rd_index_find(t, d->hook_inbox, "wid", in->vendor, key, 8 + il + 1, &seen);
	free(key);
	if (rc == 0)
		return rd_serr_set(e, RD_EEXISTS, "replayed", "webhook-id",
				   "webhook-id %s was received already (batch %llu): a replay is refused", in->id,
				   (unsigned long long)seen);
	if (rc != RD_ENOTFOUND)
		return rc;
	struct rd_hook_inbox *b = rd_calloc(1, sizeof *b);
	b->sub_id = in->sub;
	b->partner_id = in->partner;
	snprintf(b->webhook_id, sizeof b->webhook_id, "%s", in->id);
	b->received_at = now_s();
	b->verified = 1;
	b->feed_id = r->id;
	snprintf(b->result, sizeof b->result, "verified; imported as the partner's feed %llu", (unsigned long long)r->id);
	memcpy(b->body, in->body, in->len);
	rc = rd_entity_put(t, d->hook_inbox, &rd_entity_hook_inbox, in->vendor, b, 0);
	in->inbox_id = b->id;
	free(b);
	return rc;
}

static void inbound_done(void *arg, const struct rd_import_rec *r, bool stopped)
{
	struct inbound *in = arg;
	if (in->done)
		in->done(in->done_arg, in->inbox_id, r, stopped);
	free(in);
}

/* The batch's rows as JSON Lines for the feed engine: an array of row
 * objects, or one row object.  NULL, with e filled, when it is neither. */
static char *batch_rows(const char *body, size_t len, size_t *out_len, struct rd_serr *e)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j || (!json_is_array(j) && !json_is_object(j))) {
		json_decref(j);
		rd_serr_set(e, RD_EINVAL, "invalid", "body",
			    "the batch is not a JSON array of contract rows (objects) or one row object%s%s", j ? "" : ": ",
			    j ? "" : je.text);
		return NULL;
	}
	if (json_is_object(j)) {
		json_t *a = json_array();
		json_array_append_new(a, j);
		j = a;
	}
	if (json_array_size(j) == 0) {
		json_decref(j);
		rd_serr_set(e, RD_EINVAL, "invalid", "body", "the batch holds no rows");
		return NULL;
	}
	size_t i, cap = len + json_array_size(j) + 1, n = 0;
	char *out = rd_malloc(cap);
	json_t *row;
	json_array_foreach(j, i, row) {
		if (!json_is_object(row)) {
			rd_serr_set(e, RD_EINVAL, "invalid", "body", "item %zu of the batch is not an object (a contract row)", i + 1);
			free(out);
			json_decref(j);
			return NULL;
		}
		char *line = json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER);
		size_t ll = line ? strlen(line) : 0;
		if (!line || n + ll + 2 > cap)
			out = rd_realloc(out, cap = (n + ll + 2) * 2);
		if (line)
			memcpy(out + n, line, ll);
		n += ll;
		out[n++] = '\n';
		free(line);
	}
	out[n] = 0;
	json_decref(j);
	*out_len = n;
	return out;
}

int rd_hooks_inbound(struct rd_app *app, uint64_t vendor, uint64_t sub, const char *id, const char *timestamp,
		     const char *signature, const char *body, size_t len, rd_hooks_inbound_done_fn done,
		     void *done_arg, uint64_t *inbox_id, uint64_t *feed_id, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	*inbox_id = *feed_id = 0;
	if (!id || !id[0] || strlen(id) >= 128)
		return rd_serr_set(e, RD_EINVAL, "invalid", "webhook-id", "webhook-id is missing or longer than 127 bytes");
	if (!timestamp || !timestamp[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "webhook-timestamp", "webhook-timestamp is missing");
	if (!signature || !signature[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "webhook-signature", "webhook-signature is missing");
	char *end = NULL;
	errno = 0;
	unsigned long long ts = strtoull(timestamp, &end, 10);
	if (errno || *end || timestamp[0] < '0' || timestamp[0] > '9')
		return rd_serr_set(e, RD_EINVAL, "invalid", "webhook-timestamp", "webhook-timestamp is not unix seconds");
	uint64_t now = now_s();
	if (ts + RD_HOOK_TOLERANCE_S < now || ts > now + RD_HOOK_TOLERANCE_S)
		return rd_serr_set(e, RD_EINVAL, "stale", "webhook-timestamp",
				   "webhook-timestamp is more than %d seconds from renewd's clock: refused",
				   RD_HOOK_TOLERANCE_S);
	if (len > RD_HOOK_MAX_BODY)
		return rd_serr_set(e, RD_ETOOBIG, "too_large", "body", "the batch is larger than %d bytes", RD_HOOK_MAX_BODY);
	/* The sender and its signature first: nothing about the feed is said
	 * to a caller that is not the partner. */
	struct inbound *in = rd_calloc(1, sizeof *in);
	*in = (struct inbound){ app, vendor, sub, 0, id, timestamp, signature, body, len, 0, done, done_arg, e };
	struct rd_vendor *v = rd_malloc(sizeof *v);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc == 0) {
		rc = check_endpoint(t, in);
		if (rc == 0 && (rc = rd_entity_get(t, app->domain->vendors, &rd_entity_vendor, 0, vendor, v)) == RD_ENOTFOUND)
			rc = rd_serr_set(e, RD_ENOTFOUND, "not_found", "id", "no active inbound webhook endpoint %llu",
					 (unsigned long long)sub);
		else if (rc == 0 && v->suspended) /* by the platform operator: nothing comes in */
			rc = rd_serr_set(e, -EACCES, "suspended", NULL, "this vendor is suspended by the platform operator");
		rd_txn_end(t);
	}
	size_t n = 0;
	char *rows = rc == 0 ? batch_rows(body, len, &n, e) : NULL;
	if (rc == 0 && !rows)
		rc = e->rc;
	if (rc == 0) {
		/* The batch is the partner's feed: its mapping, its source, its
		 * channel, merged and queued for review like a file, all or
		 * nothing; the inbox entry is stored with the feed's record. */
		struct rd_actor who = { .vendor = vendor, .partner = in->partner };
		struct rd_feed_opts o = { .format = RD_FEED_JSONL, .done = inbound_done, .done_arg = in,
					  .with_record = take_inbound, .with_arg = in };
		struct rd_import_rec *r = rd_malloc(sizeof *r);
		rc = rd_feed_submit(app, &who, v, &o, rows, n, r, e);
		if (rc == 0) {
			*inbox_id = in->inbox_id;
			*feed_id = r->id;
		}
		free(r);
	}
	free(rows);
	free(v);
	if (rc < 0) {
		free(in);
		if (!e->rc)
			rd_serr_set(e, rc, "internal", NULL, "the batch could not be stored");
		return e->rc;
	}
	return 0;
}

/* ---- the inbox and the delivery log, paged newest first -------------------------------------------- */

/* The newest `limit` ids below `before` (0: all) that keep(ctx, record)
 * accepts, newest first, into ids[0..*n); *more when older ones remain.
 * One walk in id order keeps the last limit + 1 in a ring. */
typedef bool (*keep_fn)(void *ctx, const void *obj);
static int newest(struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e, uint64_t vendor, uint64_t limit,
		  uint64_t before, keep_fn keep, void *ctx, uint64_t *ids, size_t *n, bool *more)
{
	size_t cap = (size_t)limit + 1, head = 0, count = 0;
	uint64_t *ring = rd_malloc(cap * sizeof *ring);
	void *obj = rd_malloc(e->size);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, tb, vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (before && item.id >= before)
			break;
		if (rd_entity_decode(e, item.val, item.len, obj) < 0 || !keep(ctx, obj))
			continue;
		ring[head] = item.id;
		head = (head + 1) % cap;
		if (count < cap)
			count++;
	}
	rd_iter_close(&it);
	free(obj);
	*more = count == cap;
	*n = 0;
	for (size_t k = 0; k < count && *n < limit; k++)
		ids[(*n)++] = ring[(head + cap - 1 - k) % cap];
	free(ring);
	return rc < 0 ? rc : 0;
}

struct inbox_keep {
	uint64_t partner;
};

static bool inbox_keeps(void *ctx, const void *obj)
{
	const struct inbox_keep *k = ctx;
	return !k->partner || ((const struct rd_hook_inbox *)obj)->partner_id == k->partner;
}

/* An inbox entry with its feed's outcome, read from the feed's import
 * record (stored with the rows it applied, so never out of step). */
static json_t *inbox_json(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_hook_inbox *b,
			  struct rd_import_rec *r)
{
	json_t *j = rd_entity_to_json(&rd_entity_hook_inbox, b);
	json_t *body = json_loads(b->body, 0, NULL);
	json_object_set_new(j, "body", body ? body : json_null());
	json_object_set_new(j, "verified", json_boolean(b->verified == 1));
	if (!b->feed_id || rd_entity_get(t, d->imports, &rd_entity_import, vendor, b->feed_id, r) < 0) {
		json_object_set_new(j, "feed_id", json_null());
		json_object_set_new(j, "status", json_string("stored"));
		json_object_set_new(j, "outcome", json_null());
		return j;
	}
	const char *status = r->status == RD_IMPORT_RUNNING ? "importing"
			     : r->status == RD_IMPORT_SUCCEEDED ? "imported" : "rejected";
	json_t *errs = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_object_set_new(j, "status", json_string(status));
	/* accepted: rows applied (none of a refused batch, however many were valid) */
	json_int_t accepted = r->status == RD_IMPORT_SUCCEEDED ? (json_int_t)r->rows_ok : 0;
	json_object_set_new(j, "outcome",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "accepted", accepted, "created",
				      (json_int_t)r->created, "merged", (json_int_t)r->updated, "unchanged",
				      (json_int_t)r->unchanged, "queued", (json_int_t)r->queued, "rejected",
				      (json_int_t)r->rows_failed, "message", r->message, "errors", errs ? errs : json_array()));
	return j;
}

int rd_hooks_inbox(struct rd_app *app, const struct rd_actor *who, uint64_t partner, uint64_t limit, uint64_t before,
		   json_t **items, uint64_t *next, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	*next = 0;
	if (limit < 1 || limit > RD_HOOKS_PAGE_MAX)
		return rd_serr_set(e, RD_EINVAL, "invalid", "limit", "limit must be 1-%d", RD_HOOKS_PAGE_MAX);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	*items = json_array();
	uint64_t *ids = rd_malloc(limit * sizeof *ids);
	size_t n = 0;
	bool more = false;
	struct inbox_keep k = { partner };
	rc = newest(t, app->domain->hook_inbox, &rd_entity_hook_inbox, who->vendor, limit, before, inbox_keeps, &k, ids, &n,
		    &more);
	struct rd_hook_inbox *b = rd_malloc(sizeof *b);
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		if ((rc = rd_entity_get(t, app->domain->hook_inbox, &rd_entity_hook_inbox, who->vendor, ids[i], b)) == 0)
			json_array_append_new(*items, inbox_json(t, app->domain, who->vendor, b, r));
	rd_txn_end(t);
	if (rc >= 0 && more && n)
		*next = ids[n - 1];
	free(ids);
	free(b);
	free(r);
	if (rc < 0) {
		json_decref(*items);
		*items = NULL;
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	}
	return 0;
}

int rd_hooks_inbox_get(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t **out, struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	struct rd_hook_inbox *b = rd_malloc(sizeof *b);
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	rc = id ? rd_entity_get(t, app->domain->hook_inbox, &rd_entity_hook_inbox, who->vendor, id, b) : RD_ENOTFOUND;
	if (rc == 0)
		*out = inbox_json(t, app->domain, who->vendor, b, r);
	rd_txn_end(t);
	free(b);
	free(r);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, rc, "not_found", "id", "no inbound batch %llu", (unsigned long long)id);
	return rc < 0 ? rd_serr_set(e, rc, "internal", NULL, "the store could not be read") : 0;
}
