/*
 * events.h: queueing an outbound event for the vendor's webhook
 * subscriptions (connector-webhook).  Called by the services and the
 * renewal engine in the transaction of the change the event reports, so an
 * event is queued exactly when its change is committed; the delivery
 * worker (core/services/hooks.c) sends it.
 *
 * Types (the subscription's "events" names them; CloudEvents type is
 * "com.renewd." + type): quote.published, opportunity.decided,
 * order.placed, order.paid, order.refunded, statement.issued,
 * deal.<state>, lead.<state>, webhook.exhausted.
 */
#ifndef RD_DOMAIN_EVENTS_H
#define RD_DOMAIN_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "domain/model.h"

/* Queues one delivery for each active subscription of the vendor that takes
 * `type` ("*" takes every type but webhook.exhausted, which must be named).
 * data: the event's data (borrowed).  The number queued, or the store's
 * error (the caller's transaction then fails with it). */
int rd_event_emit(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const char *subject,
		  json_t *data);

/* An order's event (order.placed, order.paid, order.refunded): its id,
 * number, state, total, currency and the records it names.  0 or the
 * store's error. */
int rd_event_order(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const struct rd_order *o);
/* A record's event with {id, state?} and extra (borrowed, may be NULL)
 * merged in: subject "<object>/<id>".  0 or the store's error. */
int rd_event_record(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *type, const char *object,
		    uint64_t id, const char *state, json_t *extra);

/* Whether a subscription's comma-separated list takes type. */
int rd_event_wanted(const char *events, const char *type);

#endif
