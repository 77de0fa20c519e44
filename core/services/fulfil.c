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
#include "domain/events.h"
#include "services/orders.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

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

int rd_contract_renew(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, uint64_t contract,
		      struct rd_quote_line *lines, uint8_t n_lines, const char *number, const char *currency,
		      const char *note, uint64_t *renewed)
{
	struct rd_contract old, k;
	int rc = rd_entity_get(t, d->contracts, &rd_entity_contract, v, contract, &old);
	if (rc < 0)
		return rc;
	*renewed = 0;
	for (uint8_t i = 0; i <= n_lines; i++) {
		struct rd_quote_line *l = i < n_lines ? &lines[i] : NULL;
		if (!l && *renewed)
			break;
		/* past the lines with no renewal line frozen (an order older than
		 * the frozen lines): the contract renews as it was */
		bool main_line = !l || l->kind != RD_LINE_CROSSSELL;
		if (l && !main_line && !l->product_id) {
			rd_log(RD_LOG_WARN, "orders", "%s: the line %s names no product: no contract", number, l->sku);
			continue;
		}
		if (main_line && *renewed) /* rd_quote_select keeps one: the renewal line or the up-sell */
			continue;
		k = old;
		k.id = 0;
		if (main_line)
			snprintf(k.external_id, sizeof k.external_id, "%s", number);
		else
			snprintf(k.external_id, sizeof k.external_id, "%s-%u", number, (unsigned)i + 1);
		k.start = old.end + 1;
		k.end = rd_term_end(k.start, old.term);
		k.status = RD_CONTRACT_LIVE;
		k.quoted = 0; /* the engine quotes its own renewal in time */
		k.flags = main_line ? old.flags : 0;
		memcpy(k.currency, currency, sizeof k.currency);
		if (l && l->product_id)
			k.product_id = l->product_id;
		if (l && l->quantity > 0)
			k.quantity = l->quantity;
		if ((rc = rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, NULL, &k, 0, note)) < 0)
			return rc;
		if (l)
			l->contract_id = k.id;
		if (main_line)
			*renewed = k.id;
	}
	struct rd_contract before = old;
	old.status = RD_CONTRACT_RENEWED;
	return rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, user, &before, &old, 0, note);
}

/* A paid order becomes what its frozen lines say, in the transaction that
 * paid it (orders.h), through rd_contract_renew; then the opportunity is
 * won and the order fulfilled, and the channel's commissions accrue. */
int rd_order_fulfil(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t user, struct rd_order *n)
{
	struct rd_opportunity *o = rd_malloc(sizeof *o), *ob = rd_malloc(sizeof *ob);
	struct rd_order *paid = rd_malloc(sizeof *paid);
	int rc = rd_checkout_paid(t, d, v, n); /* its invoice number and the receipt (checkout.h) */
	if (rc == 0) /* the event names the invoice number the receipt gave it */
		rc = rd_event_order(t, d, v, "order.paid", n);
	if (rc == 0)
		rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, n->opportunity_id, o);
	if (rc < 0)
		goto out;
	*paid = *n;
	if (!n->n_lines) { /* an order placed before orders froze their lines: the quote's, as they stand */
		char sku[64];
		if ((rc = rd_order_freeze(t, d, v, o, n, sku, sizeof sku)) < 0 && rc != RD_ENOTFOUND && rc != RD_EINVAL)
			goto out;
		if (rc == RD_EINVAL) /* two up-sells: no rule says which one; the contract is renewed as it was */
			n->n_lines = 0;
		if (rc < 0)
			rd_log(RD_LOG_WARN, "orders",
			       "order %s: its quote's lines could not all be frozen (%s): a line without its product makes no contract",
			       n->number, rd_strerror(rc));
		rc = 0;
	}
	uint64_t renewed;
	if ((rc = rd_contract_renew(t, d, v, user, n->contract_id, n->lines, n->n_lines, n->number, n->currency,
				    n->number, &renewed)) < 0)
		goto out;
	*ob = *o;
	o->state = RD_OPP_WON;
	if ((rc = rd_order_put_audited(t, d, d->opportunities, &rd_entity_opportunity, v, user, ob, o, 0, n->number)) < 0)
		goto out;
	n->state = RD_ORDER_FULFILLED;
	n->fulfilled_at = rd_clock_now();
	n->new_contract_id = renewed;
	rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, v, user, paid, n, 0, "fulfilled");
	if (rc == 0) /* the channel's commissions, over the same lines (commissions.c) */
		rc = rd_commissions_accrue(t, d, v, n);
out:
	free(o);
	free(ob);
	free(paid);
	return rc;
}
