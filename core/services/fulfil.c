/*
 * fulfil.c: a paid order becomes the renewed term (orders.h): a new
 * contract, the old one renewed, the opportunity won, the channel's
 * commissions accrued, in the transaction that paid it.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "services/commissions.h"
#include "services/orders.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

/* The renewed product and seats: the renewal line's, or a chosen up-sell's
 * product (which replaces it).  Cross-sell lines are billed on the order
 * but make no contract of their own. */
static int renewed_product(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_opportunity *o,
			   uint64_t *product, uint32_t *quantity)
{
	int rc = 0;
	for (uint8_t i = 0; i < o->n_lines; i++) {
		const struct rd_quote_line *l = &o->lines[i];
		if (l->kind == RD_LINE_RENEWAL && !l->optional) {
			if (l->quantity > 0)
				*quantity = l->quantity;
		} else if (l->kind == RD_LINE_UPSELL && l->selected && l->sku[0]) {
			uint64_t id;
			size_t klen = strlen(l->sku) + 1; /* string index keys carry their NUL */
			if ((rc = rd_index_find(t, d->products, "ext", v, l->sku, klen, &id)) == 0)
				*product = id;
			else if (rc != RD_ENOTFOUND)
				break;
			rc = 0;
		}
	}
	return rc;
}

int rd_order_put_audited(struct rd_txn *t, struct rd_domain *d, struct rd_table *tb, const struct rd_entity *e,
			  uint64_t v, uint64_t user, const void *before, void *after, unsigned flags, const char *note)
{
	int rc = rd_entity_put(t, tb, e, v, after, flags);
	if (rc < 0)
		return rc;
	json_t *b = before ? rd_entity_to_json(e, before) : NULL, *a = rd_entity_to_json(e, after);
	rc = rd_audit_write(t, d, v, user, before ? RD_AUDIT_UPDATE : RD_AUDIT_CREATE, e->table, *(const uint64_t *)after,
			    b, a, note);
	json_decref(b);
	json_decref(a);
	return rc;
}

/* A paid order becomes the renewed term, in the transaction that paid it:
 * a new contract, the old one renewed, the opportunity won. */
int rd_order_fulfil(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, struct rd_order *n)
{
	struct rd_contract old, k;
	struct rd_opportunity *o = rd_malloc(sizeof *o), *ob = rd_malloc(sizeof *ob);
	int rc = rd_checkout_paid(t, d, v, n); /* its invoice number and the receipt (checkout.h) */
	if (rc == 0)
		rc = rd_entity_get(t, d->contracts, &rd_entity_contract, v, n->contract_id, &old);
	if (rc == 0)
		rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, n->opportunity_id, o);
	if (rc < 0)
		goto out;
	k = old;
	k.id = 0;
	snprintf(k.external_id, sizeof k.external_id, "%s", n->number);
	k.start = old.end + 1;
	k.end = rd_term_end(k.start, old.term);
	k.status = RD_CONTRACT_LIVE;
	k.quoted = 0; /* the engine quotes its own renewal in time */
	memcpy(k.currency, n->currency, sizeof k.currency);
	if ((rc = renewed_product(t, d, v, o, &k.product_id, &k.quantity)) < 0 ||
	    (rc = rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, NULL, &k, 0, n->number)) < 0)
		goto out;
	struct rd_contract before = old;
	old.status = RD_CONTRACT_RENEWED;
	if ((rc = rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, &before, &old, 0, n->number)) < 0)
		goto out;
	*ob = *o;
	o->state = RD_OPP_WON;
	if ((rc = rd_order_put_audited(t, d, d->opportunities, &rd_entity_opportunity, v, user, ob, o, 0, n->number)) < 0)
		goto out;
	struct rd_order paid = *n;
	n->state = RD_ORDER_FULFILLED;
	n->fulfilled_at = rd_clock_now();
	n->new_contract_id = k.id;
	rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, v, user, &paid, n, 0, "fulfilled");
	if (rc == 0) /* the channel's commissions, in the same transaction (commissions.c) */
		rc = rd_commissions_accrue(t, d, v, n, o);
out:
	free(o);
	free(ob);
	return rc;
}
