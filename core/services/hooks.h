/*
 * hooks.h: connector-webhook (docs/connectors.md, "connector-webhook").
 *
 * Outbound: a vendor's subscriptions (URL, event types, a whsec_ secret
 * sealed like plugin secrets); events queued by rd_event_emit in the
 * transaction of their change (domain/events.h) are delivered by a worker
 * on the thread pool (libcurl, under outbound_hosts) as CloudEvents 1.0
 * structured JSON, signed per Standard Webhooks (webhook-id,
 * webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>", one signature per live secret while one rotates),
 * retried with backoff; past webhook_max_attempts the delivery is
 * exhausted and a webhook.exhausted event is queued.
 *
 * Inbound: a subscription with a partner_id is that partner's inbound
 * endpoint too: a JSON batch it POSTs is verified with the same scheme
 * (timestamp within RD_HOOK_TOLERANCE_S, an id seen before refused) and
 * imported as that partner's feed (services/imports.h, rd_feed_submit):
 * the inbox entry is stored with the feed's record, and the feed's outcome
 * is the batch's.
 */
#ifndef RD_SERVICES_HOOKS_H
#define RD_SERVICES_HOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

#define RD_HOOK_TOLERANCE_S 300
#define RD_HOOK_MAX_BODY 65000

/* ---- subscriptions (vendor admin) ---- */

/* The event types a subscription may name, NULL-terminated ("*" besides). */
const char *const *rd_hooks_event_types(void);

/* Creates a subscription from {url, events: [..], description?, secret?,
 * partner_id?}; a secret not given is made.  *secret_out (free()) is the
 * secret in clear, shown once.  RD_EINVAL with the field at fault. */
int rd_hooks_create(struct rd_app *app, const struct rd_actor *who, json_t *body, struct rd_hook_sub *out,
		    char **secret_out, struct rd_serr *e);
/* Changes url, events, description, state ("active"/"paused"). */
int rd_hooks_update(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t *body,
		    struct rd_hook_sub *out, struct rd_serr *e);
int rd_hooks_delete(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_serr *e);
/* A new secret; the old one keeps signing (and verifying) for
 * keep_seconds (default 86400).  *secret_out as for create. */
int rd_hooks_rotate(struct rd_app *app, const struct rd_actor *who, uint64_t id, uint64_t keep_seconds,
		    struct rd_hook_sub *out, char **secret_out, struct rd_serr *e);
/* The subscription as JSON without its secrets (new reference). */
json_t *rd_hooks_sub_json(const struct rd_hook_sub *s);
int rd_hooks_get(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_hook_sub *out,
		 struct rd_serr *e);
int rd_hooks_list(struct rd_app *app, const struct rd_actor *who, json_t **items, struct rd_serr *e);

/* ---- the delivery log ---- */

#define RD_HOOKS_PAGE_MAX 500

/* One page of deliveries, newest first, optionally of one subscription or
 * state: the newest `limit` (1..RD_HOOKS_PAGE_MAX) with ids below `before`
 * (0: from the newest); *next is the cursor of the next page (the last id
 * given), 0 when there is none. */
int rd_hooks_deliveries(struct rd_app *app, const struct rd_actor *who, uint64_t sub, const char *state, uint64_t limit,
			uint64_t before, json_t **items, uint64_t *next, struct rd_serr *e);
/* Queues a delivery again now (a delivered or exhausted one too). */
int rd_hooks_redeliver(struct rd_app *app, const struct rd_actor *who, uint64_t id, struct rd_hook_delivery *out,
		       struct rd_serr *e);

/* ---- the worker (main) ---- */
struct rd_hooks;
struct rd_hooks *rd_hooks_start(struct rd_app *app);
void rd_hooks_stop(struct rd_hooks *h);
bool rd_hooks_busy(const struct rd_hooks *h);
void rd_hooks_free(struct rd_hooks **h);

/* ---- inbound ---- */

/* Told once an accepted batch's feed finished: feed is its import record
 * (status succeeded: applied; failed: nothing applied, errors the per-row
 * report); stopped: renewd is stopping and nothing was applied. */
struct rd_import_rec;
typedef void (*rd_hooks_inbound_done_fn)(void *arg, uint64_t inbox_id, const struct rd_import_rec *feed, bool stopped);

/* Verifies a partner's batch on subscription `sub` of vendor (no session)
 * and imports it as the partner's feed: RD_ENOTFOUND (no such inbound
 * endpoint), RD_EINVAL (field: the header at fault or "body": not an array
 * of row objects), RD_EEXISTS (webhook-id replayed), RD_ETOOBIG; nothing is
 * stored then.  On 0 the inbox entry and the running feed are stored
 * (*inbox_id, *feed_id) and done is called once with the outcome. */
int rd_hooks_inbound(struct rd_app *app, uint64_t vendor, uint64_t sub, const char *id, const char *timestamp,
		     const char *signature, const char *body, size_t len, rd_hooks_inbound_done_fn done,
		     void *done_arg, uint64_t *inbox_id, uint64_t *feed_id, struct rd_serr *e);

/* The inbox, a page as rd_hooks_deliveries, optionally of one partner:
 * each batch with its verification result, its body, its feed_id and its
 * status (importing, imported, rejected; stored: from before feeds) with
 * the outcome (accepted, created, merged, unchanged, queued, rejected rows,
 * the message and the per-row errors). */
int rd_hooks_inbox(struct rd_app *app, const struct rd_actor *who, uint64_t partner, uint64_t limit, uint64_t before,
		   json_t **items, uint64_t *next, struct rd_serr *e);
/* One inbox entry as above; RD_ENOTFOUND. */
int rd_hooks_inbox_get(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t **out, struct rd_serr *e);

/* The signature scheme, for tests and inbound: sig_out gets "v1,<base64>"
 * for secret (whsec_... base64 key).  0 or RD_EINVAL (not a whsec_ secret). */
int rd_hooks_sign(const char *secret, const char *id, const char *ts, const char *body, size_t len, char *sig_out,
		  size_t cap);

#endif
