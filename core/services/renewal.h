/*
 * renewal.h: renewals decided outside an order (docs/renewals.md).
 */
#ifndef RD_SERVICES_RENEWAL_H
#define RD_SERVICES_RENEWAL_H

#include <stdint.h>

#include "domain/model.h"

struct rd_txn;
struct rd_domain;

/* A renewal the partner of record sold itself (a publish-partner quote
 * marked won), inside the write transaction that marks it: the contract
 * renews as a paid order's does, by the same rule (rd_contract_renew,
 * orders.h) over the lines an order would freeze (rd_order_freeze): the
 * renewal line, or a chosen up-sell in its place, makes the next term's
 * contract (external_id = the quote number, the same customer and
 * partners of record, so the partner stays incumbent); each chosen
 * cross-sell a contract of its own; the old one renewed; all audited.  A
 * contract already renewed or cancelled is left as it is (*new_contract
 * 0).  0, or the store's error. */
int rd_renewal_won(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, const struct rd_opportunity *o,
		   uint64_t *new_contract);

#endif
