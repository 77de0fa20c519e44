/*
 * renewal.c: a renewal decided without an order: the partner of record
 * sold it itself (publish-partner) and marks the quote won (renewal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/orders.h"
#include "services/renewal.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

int rd_renewal_won(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, const struct rd_opportunity *o,
		   uint64_t *new_contract)
{
	struct rd_contract old;
	*new_contract = 0;
	int rc = rd_entity_get(t, d->contracts, &rd_entity_contract, v, o->contract_id, &old);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (old.status != RD_CONTRACT_LIVE && old.status != RD_CONTRACT_EXPIRED && old.status != RD_CONTRACT_ORDERED)
		return 0; /* renewed already, or cancelled */
	/* the lines as an order would freeze them: a chosen up-sell replaces
	 * the renewal line, each chosen cross-sell adds (orders.h) */
	struct rd_order *n = rd_malloc(sizeof *n);
	memset(n, 0, sizeof *n);
	char sku[64] = "", note[96];
	rc = rd_order_freeze(t, d, v, o, n, sku, sizeof sku);
	if (rc == RD_EINVAL) /* two up-sells chosen (accepted before one was the rule): renewed as it was */
		n->n_lines = 0;
	else if (rc == RD_ENOTFOUND)
		rd_log(RD_LOG_WARN, "renewals", "%s: the chosen line %s is no longer in the catalogue: no contract for it",
		       o->number, sku);
	else if (rc < 0)
		goto out;
	snprintf(note, sizeof note, "%s won by the partner of record", o->number);
	rc = rd_contract_renew(t, d, v, user, o->contract_id, n->lines, n->n_lines, o->number, o->currency, note,
			       new_contract);
out:
	free(n);
	return rc;
}
