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
 * renews as a paid order's does (services/fulfil.c): a new contract for the
 * next term (start = the old end + 1 day; the quote's renewal line's seats,
 * or a chosen up-sell's product; the same customer and partners of record,
 * so the partner stays incumbent; external_id = the quote number), the old
 * one renewed; both audited.  A contract already renewed or cancelled is
 * left as it is (*new_contract 0).  0, or the store's error. */
int rd_renewal_won(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, const struct rd_opportunity *o,
		   uint64_t *new_contract);

#endif
