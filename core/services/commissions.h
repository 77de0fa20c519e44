/*
 * commissions.h: the channel's commission entries, written in the
 * transaction that pays an order (docs/commissions.md).
 */
#ifndef RD_SERVICES_COMMISSIONS_H
#define RD_SERVICES_COMMISSIONS_H

#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

/* Called by rd_order_fulfil where an order is paid, inside that write
 * transaction: a publish-vendor order's channel shares become "earned"
 * entries, a publish-partner order's become "retained" ones (reporting),
 * each once per order, kind and party.  o is the order's opportunity (its
 * lines carry the quote's margin breakdown).  0, or the store's error. */
int rd_commissions_accrue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n,
			  const struct rd_opportunity *o);

/* Called by orders.c where a paid order is refunded, inside that write
 * transaction: each "earned" entry of the order gets its "reversal" (the
 * negative amount, in this month), once. */
int rd_commissions_reverse(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n);

#endif
