/*
 * merge.h: merging customers and moving a contract to another customer
 * (core/services/merge.c), with every record that names them re-pointed in
 * the same transaction (the references are listed once, in domain/refs.h).
 */
#ifndef RD_SERVICES_MERGE_H
#define RD_SERVICES_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

#define RD_MERGE_MAX 64 /* customers merged into one at a time */

/* What a merge re-pointed, by table (each record once). */
struct rd_merge_result {
	size_t merged;
	size_t contracts, contacts, opportunities, orders, tasks, links, documents, messages, sessions;
};

/* Merges customers from[0..n) into survivor, as who, in one write
 * transaction: every record naming a merged customer (contracts, contacts,
 * opportunities, orders, tasks, documents, outbox messages, customer links
 * and the sessions they opened) names the survivor, each change audited;
 * the merged customers' links and sessions are revoked (the next notice
 * sends a fresh link); the survivor keeps its fields and takes a merged
 * customer's e-mail, phone and address where it has none; the merged
 * customers are deleted.  0, or a refusal in e:
 *   RD_ENOTFOUND, field id   no such survivor
 *   RD_EINVAL, field from    from[i] is the survivor, not a customer, or named twice; n is 0 or over 64
 * or the store's error. */
int rd_customers_merge(struct rd_app *app, const struct rd_actor *who, uint64_t survivor, const uint64_t *from,
		       size_t n, struct rd_merge_result *out, struct rd_serr *e);

/* In the caller's write transaction, after contract `contract` moved to
 * customer `to`: its opportunities, their orders, outbox messages and
 * tasks name `to` (each change audited as who), and its documents are
 * filed under `to`.  The customer links and the sessions they opened stay
 * with the customer they were sent to (the portal shows that customer
 * nothing of the moved contract).  0 or the store's error. */
int rd_contract_moved(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t contract,
		      uint64_t to);

#endif
