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
 * each once per order, kind and party.  The shares are summed over the
 * order's frozen lines (n->lines: what was charged), which carry the quote's
 * margin breakdown.  0, or the store's error. */
int rd_commissions_accrue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n);

/* What order n's money is, by the same lines: the channel's shares (the
 * entries rd_commissions_accrue writes, before any is dropped for naming no
 * partner) and the vendor's net, which is the lines' nets less the
 * discount, so that shares + vendor_net == n->total exactly.  0, or
 * RD_ERANGE. */
struct rd_commission_base {
	int64_t shares, vendor_net;
};
int rd_commissions_base(const struct rd_order *n, struct rd_commission_base *out);

/* Called by orders.c where a paid order is refunded, inside that write
 * transaction: each "earned" entry of the order gets its "reversal" (the
 * negative amount, in this month), once. */
int rd_commissions_reverse(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n);

#endif
