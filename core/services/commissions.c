/*
 * commissions.c: the channel's commission entries (commissions.h), accrued
 * in the transaction that pays an order and reversed in the one that
 * refunds it (docs/commissions.md).  The lists and statements are
 * core/api/commissions.c.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "domain/quote.h"
#include "services/commissions.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

/* ---- recording (in the paying transaction) --------------------------------------------- */

static uint64_t partner_of(const struct rd_order *n, const char *party)
{
	if (!strcmp(party, "reseller"))
		return n->reseller_id;
	if (!strcmp(party, "distributor"))
		return n->distributor_id;
	return 0; /* referral: the order names no referring partner */
}

static int record_one(struct rd_txn *t, struct rd_domain *d, uint64_t v, const struct rd_order *n, uint8_t kind,
		      const char *party, uint32_t bp, int64_t amount, const char *month)
{
	struct rd_commission c = { 0 };
	c.partner_id = partner_of(n, party);
	if (!c.partner_id) {
		rd_log(RD_LOG_WARN, "commissions", "order %s: the %s share names no partner: not recorded", n->number, party);
		return 0;
	}
	uint8_t key[8 + 1 + 16];
	rd_key_put_u64(key, n->id);
	key[8] = kind;
	size_t plen = strlen(party) + 1;
	memcpy(key + 9, party, plen);
	uint64_t id;
	int rc = rd_index_find(t, d->commissions, "order", v, key, 9 + plen, &id);
	if (rc != RD_ENOTFOUND)
		return rc; /* 0: recorded already (exactly once) */
	c.order_id = n->id;
	c.opportunity_id = n->opportunity_id;
	snprintf(c.party, sizeof c.party, "%s", party);
	c.kind = kind;
	c.bp = bp;
	c.amount = amount;
	memcpy(c.currency, n->currency, sizeof c.currency);
	snprintf(c.month, sizeof c.month, "%s", month);
	snprintf(c.order_number, sizeof c.order_number, "%s", n->number);
	c.created_at = rd_clock_now();
	if ((rc = rd_entity_put(t, d->commissions, &rd_entity_commission, v, &c, RD_PUT_NEW)) < 0)
		return rc;
	json_t *a = rd_entity_to_json(&rd_entity_commission, &c);
	rc = rd_audit_write(t, d, v, 0, RD_AUDIT_CREATE, "commissions", c.id, NULL, a, n->number);
	json_decref(a);
	return rc;
}

static uint8_t mode_of(const struct rd_order *n)
{
	return n->publish == RD_PUBLISH_PARTNER ? RD_PUBLISH_PARTNER : RD_PUBLISH_VENDOR;
}

int rd_commissions_base(const struct rd_order *n, struct rd_commission_base *out)
{
	int64_t shares = 0, nets = 0, list = 0;
	for (uint8_t i = 0; i < n->n_lines; i++) {
		const struct rd_quote_line *l = &n->lines[i];
		const struct rd_quote_margin *mg = rd_quote_margin(l, mode_of(n));
		if (!rd_quote_line_ordered(l))
			continue;
		if (rd_money_add(list, l->list, &list) < 0)
			return RD_ERANGE;
		int64_t net = mg ? mg->net : l->list; /* no margin policy: the vendor's all of it */
		for (uint8_t k = 0; mg && k < mg->n; k++)
			if (rd_money_add(shares, mg->shares[k].amount, &shares) < 0)
				return RD_ERANGE;
		if (rd_money_add(nets, net, &nets) < 0)
			return RD_ERANGE;
	}
	/* the discount is the vendor's: the shares are on list (docs/commissions.md) */
	out->shares = shares;
	out->vendor_net = nets - (list - rd_money_discounted(list, n->discount_bp));
	return 0;
}

int rd_commissions_accrue(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n)
{
	uint8_t kind = n->publish == RD_PUBLISH_PARTNER ? RD_COMMISSION_RETAINED : RD_COMMISSION_EARNED;
	char month[8];
	int y, m, dd;
	rd_date_to_ymd(rd_clock_today(), &y, &m, &dd);
	snprintf(month, sizeof month, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
	/* Sum each party's shares over the order's frozen lines; its bp is the
	 * renewal (or up-sell) line's. */
	struct { char party[16]; uint32_t bp; int64_t amount; bool bp_set; } acc[3] = { 0 };
	size_t n_acc = 0;
	const uint8_t mode = kind == RD_COMMISSION_RETAINED ? RD_PUBLISH_PARTNER : RD_PUBLISH_VENDOR;
	for (uint8_t i = 0; i < n->n_lines; i++) {
		const struct rd_quote_line *l = &n->lines[i];
		const struct rd_quote_margin *mg = rd_quote_margin(l, mode);
		if (!rd_quote_line_ordered(l) || !mg)
			continue;
		bool main_line = l->kind != RD_LINE_CROSSSELL;
		for (uint8_t k = 0; k < mg->n; k++) {
			const struct rd_quote_share *s = &mg->shares[k];
			size_t j = 0;
			while (j < n_acc && strcmp(acc[j].party, s->party))
				j++;
			if (j == n_acc) {
				if (n_acc == 3)
					continue;
				snprintf(acc[n_acc++].party, sizeof acc[0].party, "%s", s->party);
			}
			if (rd_money_add(acc[j].amount, s->amount, &acc[j].amount) < 0)
				return RD_ERANGE; /* the quote's total fits (the order checked it), so its shares do */
			if (main_line || !acc[j].bp_set) {
				acc[j].bp = (uint32_t)s->bp;
				acc[j].bp_set = main_line;
			}
		}
	}
	int rc = 0;
	for (size_t j = 0; rc == 0 && j < n_acc; j++)
		if (acc[j].amount > 0)
			rc = record_one(t, d, vendor, n, kind, acc[j].party, acc[j].bp, acc[j].amount, month);
	return rc;
}

int rd_commissions_reverse(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_order *n)
{
	char month[8];
	int y, m, dd;
	rd_date_to_ymd(rd_clock_today(), &y, &m, &dd);
	snprintf(month, sizeof month, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
	uint8_t lo[9], hi[9];
	rd_key_put_u64(lo, n->id);
	memcpy(hi, lo, 8);
	lo[8] = RD_COMMISSION_EARNED;
	hi[8] = RD_COMMISSION_EARNED + 1;
	/* The order's earned entries, collected before any is written. */
	struct rd_commission earned[8];
	size_t k = 0;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, d->commissions, "order", vendor, lo, 9, hi, 9);
	while (rc >= 0 && k < 8 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_commission, item.val, item.len, &earned[k]) == 0 &&
		    earned[k].kind == RD_COMMISSION_EARNED && earned[k].order_id == n->id)
			k++;
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < k; i++)
		rc = record_one(t, d, vendor, n, RD_COMMISSION_REVERSAL, earned[i].party, earned[i].bp, -earned[i].amount,
				month);
	return rc < 0 ? rc : 0;
}
