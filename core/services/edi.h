/*
 * edi.h: orders to distributors through EDI connector plugins
 * (core/services/edi.c; docs/connectors.md).
 *
 * An order placed or paid whose distributor has an order-exchanging
 * connector enabled (connector ops V2 with an order_format; the partner's
 * own enablement) is queued in the same transaction; a timer from main()
 * sends queued orders through the plugin's send (an order document in the
 * partner's outbound folder) and reads the partner's inbound folder through
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

/* Once at start, before any order is placed: the plugins to ask. */
void rd_edi_start(struct rd_app *app);

/* In the transaction that places or pays order n (before it is put):
 * queues it for its distributor's connector when one is enabled for that
 * distributor.  Changes only n's EDI fields. */
int rd_edi_queue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_order *n);

/* One step on the loop: sends queued orders, reads inbound files (one call
 * in flight at a time). */
void rd_edi_tick(struct rd_app *app);

/* Calls in flight (the daemon waits for none: a call cut off by a stop
 * leaves the order queued or the file in place, done again after). */
int rd_edi_busy(void);

#endif
