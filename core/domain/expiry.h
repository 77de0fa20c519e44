/*
 * expiry.h: a contract's expiry, the one rule the renewal sweep (its end
 * passed and no order of its renewal awaits payment, or the order that
 * held it failed: core/renew/engine.c) and the cancelling of an order that
 * held it (core/services/cancel.c) share (expiry.c).
 */
#ifndef RD_DOMAIN_EXPIRY_H
#define RD_DOMAIN_EXPIRY_H

#include <stdint.h>

#include "domain/model.h"

struct rd_txn;

/* Inside a write transaction: contract k (as read) becomes expired (red:
 * not renewed) and its opportunity, unless won or lost, expired.  With a
 * note each change is audited (user, note); the sweep passes none (its
 * action key records it).  0, or the store's error. */
int rd_contract_expire(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_contract *k,
		       const char *note);

#endif
