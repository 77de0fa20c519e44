/*
 * webhooks.h: a payment gateway's event, verified by its plugin and applied
 * once (core/services/webhooks.c).
 *
 * No session: the plugin named by the URL verifies the event's signature
 * with the vendor's enablement (its webhook secret) on the thread pool and
 * reports the payment it concerns; renewd then applies the outcome in one
 * write transaction.  A payment for an order still in created or
 * awaiting_payment pays and fulfils it; a decline fails an order still in
 * created; anything else (a repeat, an order paid already, another
 * plugin's order, an unknown order) changes nothing and is acknowledged,
 * so the gateway has nothing to retry.
 */
#ifndef RD_SERVICES_WEBHOOKS_H
#define RD_SERVICES_WEBHOOKS_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

#define RD_WEBHOOK_MAX_BYTES 65536

/* The answer: err.rc 0 (received: result says what became of it; ignored
 * when the event is not about a payment's outcome; order.id 0 when no order
 * of this plugin is named), or a refusal: RD_ETOOBIG (the body), RD_EINVAL
 * (field "vendor"; field "Gateway-Signature": missing, or the plugin
 * refused the event), RD_ENOTFOUND (field "plugin": no payment plugin of
 * this name takes webhooks; field "vendor": not enabled for it), RD_EBUSY
 * (too many events in flight: deliver again), -ETIMEDOUT, -EIO (the plugin
 * failed), RD_EINTERNAL (the outcome could not be stored: logged). */
struct rd_webhook_answer {
	struct rd_serr err;
	bool ignored;
	char result[200];
	char order_ref[64];
	struct rd_order order;
};

/* Called on the loop once (possibly before rd_webhook_receive returns); a
 * is valid during the call only. */
typedef void (*rd_webhook_done_fn)(const struct rd_webhook_answer *a, void *arg);

/* Receives an event for who->vendor (renewd itself acts: user 0) through
 * the payment plugin named plugin: body (len bytes, copied) and the
 * signature header's value (NULL: none).  done is always called, unless < 0
 * is returned (the store or the plugin host failed before anything was
 * asked or written). */
int rd_webhook_receive(struct rd_app *app, const struct rd_actor *who, const char *plugin, const void *body, size_t len,
		       const char *signature, rd_webhook_done_fn done, void *arg);

#endif
