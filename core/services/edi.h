/*
 * edi.h: orders to distributors through EDI connector plugins
 * (core/services/edi.c; docs/connectors.md).
 *
 * An order placed or paid whose distributor has an order-exchanging
 * connector enabled (connector ops V2 with an order_format; the partner's
 * own enablement) is queued in the same transaction; the daemon's folder
 * watch (inotify with a scan as the fallback, kicked when an order is
 * queued or a call ends) sends queued orders through the plugin's send (an
 * order document in the partner's outbound folder; a write that fails is
 * retried with a doubling backoff, the order "retrying" meanwhile) and reads
 * the partner's inbound folder through
 * read_feed: a file's records are applied to the orders all together or
 * not at all, and the file moves to processed/ or failed/ with a report
 * (NAME.report.json) beside it.
 */
#ifndef RD_SERVICES_EDI_H
#define RD_SERVICES_EDI_H

#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"

struct rd_txn;

/* Asks the daemon to call rd_edi_tick after delay_ms (the earliest wins). */
typedef void (*rd_edi_kick_fn)(void *arg, uint64_t delay_ms);
/* Asks the daemon to watch an inbound folder (once; rd_edi_tick on a notice). */
typedef void (*rd_edi_watch_fn)(void *arg, const char *dir);

/* Once at start, before any order is placed: the plugins to ask, and the
 * daemon's watch. */
void rd_edi_start(struct rd_app *app, rd_edi_kick_fn kick, rd_edi_watch_fn watch, void *arg);
/* No kick or watch from now on (the daemon is stopping). */
void rd_edi_stop(void);

/* A failed write is tried again after 1 s, 2 s, 4 s, ... up to this. */
#define RD_EDI_RETRY_MAX_MS 300000

/* In the transaction that places or pays order n (before it is put):
 * queues it for its distributor's connector when one is enabled for that
 * distributor.  Changes only n's EDI fields. */
int rd_edi_queue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_order *n);

/* One step on the loop: sends a queued order (or one whose retry is due),
 * else reads a file waiting in an inbound folder (one call in flight at a
 * time; the next step is kicked when it ends). */
void rd_edi_tick(struct rd_app *app);

/* Calls in flight (the daemon waits for none: a call cut off by a stop
 * leaves the order queued or the file in place, done again after). */
int rd_edi_busy(void);

#endif
