/*
 * renewal.c: a renewal decided without an order: the partner of record
 * sold it itself (publish-partner) and marks the quote won (renewal.h).
 */
#include <stdio.h>
#include <string.h>

#include "services/orders.h"
#include "services/renewal.h"
#include "store/store.h"
#include "util/err.h"

/* The renewed product and seats, as fulfilment takes them: the renewal
 * line's seats, a chosen up-sell's product in place of the contract's. */
static int renewed_product(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_opportunity *o,
			   uint64_t *product, uint32_t *quantity)
{
	for (uint8_t i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		if (l->kind == RD_LINE_RENEWAL && !l->optional && l->quantity > 0) {
			*quantity = l->quantity;
		} else if (l->kind == RD_LINE_UPSELL && l->selected && l->sku[0]) {
			uint64_t id;
			int rc = rd_index_find(t, d->products, "ext", v, l->sku, strlen(l->sku) + 1, &id);
			if (rc == 0)
				*product = id;
			else if (rc != RD_ENOTFOUND)
				return rc;
		}
	}
	return 0;
}

int rd_renewal_won(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, const struct rd_opportunity *o,
		   uint64_t *new_contract)
{
	struct rd_contract old, k;
	*new_contract = 0;
	int rc = rd_entity_get(t, d->contracts, &rd_entity_contract, v, o->contract_id, &old);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (old.status != RD_CONTRACT_LIVE && old.status != RD_CONTRACT_EXPIRED && old.status != RD_CONTRACT_ORDERED)
		return 0; /* renewed already, or cancelled */
	k = old;
	k.id = 0;
	snprintf(k.external_id, sizeof k.external_id, "%s", o->number);
	k.start = old.end + 1;
	k.end = rd_term_end(k.start, old.term);
	k.status = RD_CONTRACT_LIVE;
	k.quoted = 0; /* the engine quotes its own renewal in time */
	memcpy(k.currency, o->currency, sizeof k.currency);
	char note[96];
	snprintf(note, sizeof note, "%s won by the partner of record", o->number);
	if ((rc = renewed_product(t, d, v, o, &k.product_id, &k.quantity)) < 0 ||
	    (rc = rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, NULL, &k, 0, note)) < 0)
		return rc;
	struct rd_contract before = old;
	old.status = RD_CONTRACT_RENEWED;
	if ((rc = rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, &before, &old, 0, note)) < 0)
		return rc;
	*new_contract = k.id;
	return 0;
}
