/*
 * engine.c: the sweep.  For each vendor and each day from the day after the
 * last one swept up to today, in one write transaction per vendor-day:
 *
 *   quotes      live contracts ending within the window that have no quote
 *               yet (the "unquoted" index): the ones entering it today, all
 *               of them on a vendor's first sweep, and any that arrived late
 *   pullback    opportunities whose decision window ended, unanswered
 *   expiry      live contracts whose end was yesterday; one whose renewal's
 *               order awaits payment is held instead (renewal_ordered), and
 *               expires once that order fails
 *   reminders   published opportunities at each cadence point before/after end
 *   digests     on Mondays, one per partner with something awaiting it
 *
 * Each action is recorded under its key ("quote:C", "pullback:O",
 * "expire:C", "reminder:30:O", "digest:P:2027-02-01") with its effect, so a
 * rerun never repeats one.  Each action runs in a child transaction of the
 * day's (rd_action_once .. rd_action_end): one that fails is aborted alone,
 * left out of its day, which goes on, and retried by later sweeps (sched.c,
 * failures.c).  The schedule preview runs the same code inside
 * a transaction that is then thrown away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "domain/audit.h"
#include "domain/expiry.h"
#include "domain/money.h"
#include "policy/runtime.h"
#include "domain/events.h"
#include "renew/internal.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define CATCH_UP_MAX 400 /* days swept per vendor in one go after downtime */

/* ---- actions ----------------------------------------------------------------- */

bool rd_action_excluded(const struct sweep *s, const char *key)
{
	for (size_t i = 0; i < s->n_skip; i++)
		if (!strcmp(s->skip[i].key, key))
			return true;
	if (!s->only)
		return false;
	for (size_t i = 0; i < s->n_only; i++)
		if (!strcmp(s->only[i], key))
			return false;
	return true;
}

bool rd_sweep_systemic(int rc)
{
	return rc > RD_EBASE || rc == RD_ECORRUPT || rc == RD_EVERSION || rc == RD_EMAPFULL || rc == RD_EBUSY;
}

/* 1: newly recorded (take the action); 0: taken before, or left out of
 * this run (rd_action_excluded); < 0 error.  The first action recorded
 * since the sweep's loops last ended one (rd_action_end) is the one in
 * progress: in a sweep it begins a child transaction of the day's (s->t is
 * the child until rd_action_end), and an error before it ends is that
 * action's failure. */
int rd_action_once(struct sweep *s, const char *key)
{
	if (rd_action_excluded(s, key))
		return 0;
	uint64_t id;
	int rc = rd_index_find(s->t, s->d->actions, "key", s->v.id, key, strlen(key) + 1, &id);
	if (rc == 0)
		return 0;
	if (rc != RD_ENOTFOUND)
		return rc;
	/* several nodes: the key's row in action_keys (claims.c) */
	if ((rc = rd_action_key_taken(s->r, s->t, s->v.id, key)) != 0)
		return rc > 0 ? 0 : rc;
	if (!s->acting[0]) {
		if (s->nest) {
			struct rd_txn *c;
			if ((rc = rd_txn_begin_child(s->t, &c)) < 0)
				return rc; /* no action in progress: the day stops */
			s->day_t = s->t;
			s->t = c;
			s->taken_before = s->taken;
			s->preview_before = s->preview ? json_array_size(s->preview) : 0;
		}
		rd_strcopy(s->acting, sizeof s->acting, key);
		s->why[0] = 0;
	}
	struct rd_sched_action a = { 0 };
	rd_strcopy(a.key, sizeof a.key, key);
	a.at = s->now;
	a.day = s->day;
	if ((rc = rd_entity_put(s->t, s->d->actions, &rd_entity_action, s->v.id, &a, 0)) < 0 ||
	    (rc = rd_action_key_hold(s->r, s->t, s->v.id, key)) < 0)
		return rc;
	s->taken++;
	rd_strcopy(s->ref, sizeof s->ref, key);
	if (s->preview) {
		char d[11];
		rd_date_format(s->day, d);
		json_array_append_new(s->preview, json_pack("{s:s, s:s}", "day", d, "key", key));
	}
	return 1;
}

int rd_action_end(struct sweep *s, int rc)
{
	if (!s->acting[0])
		return rc;
	if (!s->day_t) { /* not nested: a decision, whose transaction is the action's */
		if (rc >= 0)
			s->acting[0] = 0;
		return rc;
	}
	struct rd_txn *c = s->t;
	s->t = s->day_t;
	s->day_t = NULL;
	if (rc >= 0) {
		int crc = rd_txn_commit_child(c);
		if (crc == 0) {
			s->acting[0] = 0;
			return rc;
		}
		rc = crc;
	} else {
		rd_txn_abort_child(c);
	}
	/* Nothing of the action stays: its writes went with its transaction,
	 * and what it counted or showed goes too.  (Its messages were queued in
	 * the store: gone with it.  The margin policy's time and failures in
	 * this sweep stay: they were spent.) */
	s->taken = s->taken_before;
	while (s->preview && json_array_size(s->preview) > s->preview_before)
		json_array_remove(s->preview, json_array_size(s->preview) - 1);
	if (rd_sweep_systemic(rc)) {
		s->acting[0] = 0;
		return rc;
	}
	if (s->n_skip == s->cap_skip)
		s->skip = rd_realloc(s->skip, (s->cap_skip = s->cap_skip ? 2 * s->cap_skip : 16) * sizeof *s->skip);
	struct sweep_skip *k = &s->skip[s->n_skip++];
	rd_strcopy(k->key, sizeof k->key, s->acting);
	snprintf(k->error, sizeof k->error, "%s%s%s", rd_strerror(rc), s->why[0] ? ": " : "", s->why);
	if (!s->preview) {
		char d[11];
		rd_date_format(s->day, d);
		rd_log(RD_LOG_WARN, "renew", "vendor %llu: the action %s of %s failed (%s): recorded for attention and "
		       "retried on the next sweep; the rest of the day goes on", (unsigned long long)s->v.id, k->key, d,
		       k->error);
	}
	s->acting[0] = s->why[0] = 0;
	return 0;
}

int rd_opportunity_of(struct sweep *s, uint64_t contract, struct rd_opportunity *o)
{
	uint8_t k[8];
	rd_key_put_u64(k, contract);
	uint64_t id;
	int rc = rd_index_find(s->t, s->d->opportunities, "contract", s->v.id, k, 8, &id);
	if (rc < 0)
		return rc;
	return rd_entity_get(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, id, o);
}

/* ---- quotes ------------------------------------------------------------------- */

static const struct rd_price *price_of(const struct rd_product *p, const char *currency, uint8_t term)
{
	for (int i = 0; i < p->n_prices; i++)
		if (p->prices[i].term == term && !strcmp(p->prices[i].currency, currency))
			return &p->prices[i];
	return NULL;
}

/* One publish mode of a line from the policy's answer: each share is
 * rd_money_share of the line, the net the line less their sum (no minor
 * unit lost; domain/money.h). */
static void margin_of(const struct rd_margin_result *r, int64_t list, struct rd_quote_margin *m)
{
	m->n = 0;
	m->net = list;
	m->channel_bp = r->total_bp;
	for (int i = 0; i < r->n && i < RD_QUOTE_MAX_SHARES; i++) {
		struct rd_quote_share *sh = &m->shares[m->n++];
		rd_strcopy(sh->party, sizeof sh->party, r->shares[i].party);
		rd_strcopy(sh->reason, sizeof sh->reason, r->shares[i].reason);
		sh->bp = r->shares[i].bp;
		sh->amount = rd_money_share(list, r->shares[i].bp);
		m->net -= sh->amount; /* shares total at most 10000 bp: never below zero */
	}
}

/* Prices one line in both publish modes into *line; on a policy failure
 * sets the opportunity's attention with the reason.  1: priced; 0: no list
 * price for the term; -1: seats times the price do not fit in an amount
 * (the quote needs attention, with that reason: never a wrapped total). */
static int price_line(struct sweep *s, struct rd_opportunity *o, uint8_t kind, const struct rd_product *p,
		       const struct rd_contract *k, const struct rd_partner *res, const struct rd_customer *c,
		       struct rd_quote_line *line)
{
	const struct rd_price *pr = price_of(p, k->currency, k->term);
	if (!pr)
		return 0;
	int64_t list;
	if (rd_money_mul(pr->amount, (int64_t)k->quantity, &list) < 0) {
		o->attention = 1;
		snprintf(o->attention_reason, sizeof o->attention_reason,
			 "product %.64s: %u seats at %lld minor units each is beyond the largest amount renewd holds",
			 p->external_id, k->quantity, (long long)pr->amount);
		return -1;
	}
	memset(line, 0, sizeof *line);
	line->kind = kind;
	rd_strcopy(line->sku, sizeof line->sku, p->external_id);
	rd_strcopy(line->description, sizeof line->description, p->name);
	line->quantity = k->quantity;
	line->unit_list = pr->amount;
	line->list = list;
	if (!s->margin)
		return 1;
	line->priced = RD_QUOTE_MARGINS;
	struct rd_margin_line ml = {
		.partner_id = res->id, .partner_kind = res->kind, .partner_tier = res->tier,
		.distributor_id = k->distributor_id, .sku = p->external_id, .product_line = p->line, .term = k->term,
		.quantity = k->quantity, .list_amount = list, .currency = k->currency, .segment = c->segment,
		.country = c->country, .deal_bonus_bp = s->v.deal_bonus_bp,
		.distributor_bp = s->v.distributor_bp,
	};
	/* A deal registration of the reseller for this customer and product
	 * line: approved, or won (docs/programmes.md). */
	int deal = rd_deal_margin_state(s->t, s->d, s->v.id, res->id, c->id, p->line, s->day);
	if (deal < 0)
		deal = RD_DEAL_NONE;
	ml.deal = (uint8_t)deal;
	uint8_t pub[] = { RD_PUBLISH_PARTNER, RD_PUBLISH_VENDOR };
	for (int i = 0; i < 2; i++) {
		struct rd_margin_result r;
		char err[300];
		ml.publish = pub[i];
		int rc = -1;
		if (s->policy_stopped[0]) {
			rd_strcopy(err, sizeof err, s->policy_stopped);
		} else if (s->policy_failed_on == k->id) {
			snprintf(err, sizeof err, "it failed on another line of this quote"); /* the quote has its reason */
		} else {
			uint64_t t0 = uv_hrtime();
			rc = rd_margin_eval(s->margin, &ml, &r, err, sizeof err);
			s->policy_ns += uv_hrtime() - t0;
			if (rc < 0)
				s->policy_failed_on = k->id;
			if (rc < 0 && ++s->policy_failures >= RD_SWEEP_POLICY_FAILURES) {
				snprintf(s->policy_stopped, sizeof s->policy_stopped,
					 "not called again in this sweep after it failed on %u quotes (the last: %.200s)",
					 s->policy_failures, err);
				rd_log(RD_LOG_WARN, "renew", "vendor %llu: the margin policy failed %u times in this sweep: "
				       "its remaining quotes wait for attention; the last failure: %s",
				       (unsigned long long)s->v.id, s->policy_failures, err);
			}
		}
		if (rc < 0) {
			if (!o->attention) {
				o->attention = 1;
				snprintf(o->attention_reason, sizeof o->attention_reason, "the margin policy failed: %.200s", err);
			}
			continue;
		}
		line->priced |= pub[i] == RD_PUBLISH_PARTNER ? RD_QUOTE_PARTNER : RD_QUOTE_VENDOR;
		margin_of(&r, list, pub[i] == RD_PUBLISH_PARTNER ? &line->partner : &line->vendor);
	}
	return 1;
}

static int make_quote(struct sweep *s, const struct rd_contract *k)
{
	char key[64];
	snprintf(key, sizeof key, "quote:%llu", (unsigned long long)k->id);
	int rc = rd_action_once(s, key);
	if (rc <= 0)
		return rc;
	struct rd_product p;
	struct rd_partner res;
	struct rd_customer c;
	if ((rc = rd_entity_get(s->t, s->d->products, &rd_entity_product, s->v.id, k->product_id, &p)) < 0 ||
	    (rc = rd_entity_get(s->t, s->d->partners, &rd_entity_partner, s->v.id, k->reseller_id, &res)) < 0 ||
	    (rc = rd_entity_get(s->t, s->d->customers, &rd_entity_customer, s->v.id, k->customer_id, &c)) < 0)
		return rc == RD_ENOTFOUND ? 0 : rc; /* a dangling contract: nothing to quote */
	struct rd_opportunity *o = rd_calloc(1, sizeof *o);
	o->contract_id = k->id;
	o->customer_id = k->customer_id;
	o->product_id = k->product_id;
	o->reseller_id = k->reseller_id;
	o->distributor_id = k->distributor_id;
	o->state = RD_OPP_PENDING_DECISION;
	o->contract_end = k->end;
	/* The decision is due within the window, and before the end: the
	 * customer must hear of the renewal while the contract still runs. */
	o->decision_by = s->day + (rd_date)s->v.decision_window_days;
	if (o->decision_by > k->end - 1)
		o->decision_by = k->end - 1 > s->day ? k->end - 1 : s->day;
	o->valid_until = k->end; /* the seed programme: through the renewal end date */
	memcpy(o->currency, k->currency, 4);
	o->policy_version = s->v.margin_version;
	o->created_at = s->now;
	if (s->margin_error[0]) {
		o->attention = 1;
		snprintf(o->attention_reason, sizeof o->attention_reason, "%.250s", s->margin_error);
	}
	struct rd_quote_line *main = &o->lines[0];
	int priced = price_line(s, o, RD_LINE_RENEWAL, &p, k, &res, &c, main);
	if (priced == 0) {
		o->attention = 1;
		snprintf(o->attention_reason, sizeof o->attention_reason, "product %s has no %s list price for this term",
			 p.external_id, k->currency);
	} else if (priced > 0) {
		o->list_total = main->list;
		const struct rd_quote_margin *pm = rd_quote_margin(main, RD_PUBLISH_PARTNER);
		o->net_total = pm ? pm->net : o->list_total;
		o->n_lines = 1;
	}
	/* Up-sell and cross-sell suggestions: optional lines. */
	for (int i = 0; i < p.n_upsell + p.n_crosssell; i++) {
		struct rd_product q;
		uint64_t id = i < p.n_upsell ? p.upsell[i] : p.crosssell[i - p.n_upsell];
		if (rd_entity_get(s->t, s->d->products, &rd_entity_product, s->v.id, id, &q) < 0)
			continue;
		rd_require(o->n_lines < RD_QUOTE_MAX_LINES);
		struct rd_quote_line *l = &o->lines[o->n_lines];
		if (price_line(s, o, i < p.n_upsell ? RD_LINE_UPSELL : RD_LINE_CROSSSELL, &q, k, &res, &c, l) > 0) {
			l->optional = true;
			o->n_lines++;
		}
	}
	/* Every line the customer may choose must add up: a total that does not
	 * fit is a quote for a person to look at, never a wrapped amount. */
	int64_t all = 0;
	for (uint8_t i = 0; i < o->n_lines; i++)
		if (rd_money_add(all, o->lines[i].list, &all) < 0) {
			o->attention = 1;
			snprintf(o->attention_reason, sizeof o->attention_reason,
				 "the quote's lines add up to more than the largest amount renewd holds");
			break;
		}
	/* The quote number carries the id: take the id first, write once. */
	if ((rc = rd_txn_next_id(s->t, s->d->opportunities, s->v.id, &o->id)) < 0)
		goto out;
	int y, m, dd;
	rd_date_to_ymd(s->day, &y, &m, &dd);
	snprintf(o->number, sizeof o->number, "Q-%04d-%06llu", y, (unsigned long long)o->id);
	if ((rc = rd_entity_put(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, o, RD_PUT_NEW)) < 0)
		goto out;
	if (s->preview)
		json_object_set_new(json_array_get(s->preview, json_array_size(s->preview) - 1), "contract_id",
				    json_integer((json_int_t)k->id));
	rc = rd_notify_quote(s, o, &res, &c, &p, k);
out:
	free(o);
	return rc;
}

/* ---- decisions and notices ------------------------------------------------------------ */

int rd_publish(struct sweep *s, struct rd_opportunity *o, uint8_t publish, bool by_default)
{
	o->publish = publish;
	o->state = publish == RD_PUBLISH_PARTNER ? RD_OPP_PUBLISHED_PARTNER : RD_OPP_PUBLISHED_VENDOR;
	o->decided_by_default = by_default;
	o->decided_at = rd_clock_now(); /* the partner scorecards' time to decide (services/reports.c) */
	/* The net price follows the mode: the partner buys at list less its
	 * margin; the customer buys at list when the vendor sells. */
	const struct rd_quote_margin *m = o->n_lines ? rd_quote_margin(&o->lines[0], publish) : NULL;
	if (m)
		o->net_total = m->net;
	int rc = rd_entity_put(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, o, 0);
	if (rc < 0)
		return rc;
	json_t *ev = json_pack("{s:s, s:b, s:I, s:I, s:I}", "publish", publish == RD_PUBLISH_PARTNER ? "partner" : "vendor",
			       "by_default", by_default, "contract_id", (json_int_t)o->contract_id, "customer_id",
			       (json_int_t)o->customer_id, "net_total", (json_int_t)o->net_total);
	rc = rd_event_record(s->t, s->d, s->v.id, "opportunity.decided", "opportunity", o->id,
			     publish == RD_PUBLISH_PARTNER ? "published_partner" : "published_vendor", ev);
	char key[64];
	snprintf(key, sizeof key, "notice:%llu", (unsigned long long)o->id);
	if (rc < 0 || (rc = rd_action_once(s, key)) <= 0) {
		json_decref(ev);
		return rc;
	}
	rc = rd_event_record(s->t, s->d, s->v.id, "quote.published", "opportunity", o->id, NULL, ev);
	json_decref(ev);
	return rc < 0 ? rc : rd_notify_customer(s, o, "customer_notice", 0, NULL);
}

static int pullbacks(struct sweep *s)
{
	/* The partner may decide on its decision_by day itself ("decide by"):
	 * the default applies the day after, to every deadline before today. */
	uint8_t to[4];
	rd_date_key(s->day, to);
	size_t n = 0, cap = 256;
	uint64_t *ids = rd_malloc(cap * sizeof *ids);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, s->t, s->d->opportunities, "deadline", s->v.id, NULL, 0, to, 4);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (n == cap)
			ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if ((rc = rd_entity_get(s->t, s->d->opportunities, &rd_entity_opportunity, s->v.id, ids[i], o)) < 0)
			break;
		if (o->state != RD_OPP_PENDING_DECISION || o->decision_by >= s->day)
			continue;
		char key[64];
		snprintf(key, sizeof key, "pullback:%llu", (unsigned long long)o->id);
		uint8_t mode = s->v.publish_default ? s->v.publish_default : RD_PUBLISH_VENDOR;
		if ((rc = rd_action_once(s, key)) > 0 && (rc = rd_notify_pullback(s, o, mode)) >= 0)
			rc = rd_publish(s, o, mode, true);
		rc = rd_action_end(s, rc);
	}
	free(o);
	free(ids);
	return rc < 0 ? rc : 0;
}

/* ---- contracts by end date -------------------------------------------------------------- */

typedef int (*contract_fn)(struct sweep *s, struct rd_contract *k);

/* One contract of a walk, with its place in the index. */
struct walk_item {
	uint64_t id;
	uint8_t key[RD_SWEEP_CURSOR_KEY];
	uint8_t klen; /* RD_SWEEP_CURSOR_KEY + 1: longer than the cursor keeps */
};

/* Index order: the key's bytes, then its length, then the id. */
static int walk_cmp(const uint8_t *ka, size_t la, uint64_t ia, const uint8_t *kb, size_t lb, uint64_t ib)
{
	int c = memcmp(ka, kb, la < lb ? la : lb);
	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Whether this chunk of a day has had its time (sched.c, day_write): it
 * ends after the contract in progress. */
static bool chunk_full(const struct sweep *s)
{
	return s->chunk_ms && !s->preview && !s->only &&
	       uv_hrtime() - s->chunk_t0 >= s->chunk_ms * 1000000u;
}

/* Calls fn for each contract of index idx (end dates) ending in [from,
 * to] (collected first: fn writes).  In a day swept in chunks, a walk an
 * earlier chunk of the day finished is passed by, the one it ended in goes
 * on after the contract it ended with, and a chunk that has had its time
 * ends after the contract in progress (s->chunked; s->at says where). */
static int each_in(struct sweep *s, const char *idx, rd_date from, rd_date to, contract_fn fn)
{
	uint32_t walk = s->walk++;
	if (s->chunked || (s->at.set && walk < s->at.walk))
		return 0;
	bool resume = s->at.set && walk == s->at.walk && s->at.klen <= RD_SWEEP_CURSOR_KEY;
	uint8_t lo[4], hi[4];
	rd_date_key(from, lo);
	rd_date_key(to + 1, hi);
	size_t n = 0, cap = 256;
	struct walk_item *items = rd_malloc(cap * sizeof *items);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, s->t, s->d->contracts, idx, s->v.id, lo, 4, hi, 4);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		bool fits = item.key_len <= RD_SWEEP_CURSOR_KEY;
		if (resume && fits && walk_cmp(item.key, item.key_len, item.id, s->at.key, s->at.klen, s->at.id) <= 0)
			continue; /* done in an earlier chunk of the day */
		if (n == cap)
			items = rd_realloc(items, (cap *= 2) * sizeof *items);
		items[n].id = item.id;
		items[n].klen = fits ? (uint8_t)item.key_len : RD_SWEEP_CURSOR_KEY + 1;
		if (fits)
			memcpy(items[n].key, item.key, item.key_len);
		n++;
	}
	rd_iter_close(&it);
	struct rd_contract k;
	size_t i;
	for (i = 0; rc >= 0 && i < n; i++) {
		if ((rc = rd_entity_get(s->t, s->d->contracts, &rd_entity_contract, s->v.id, items[i].id, &k)) == 0)
			rc = rd_action_end(s, fn(s, &k));
		if (rc >= 0 && !s->deferred && chunk_full(s)) {
			s->chunked = true;
			s->at.set = true;
			s->at.day = s->day;
			s->at.walk = walk;
			s->at.id = items[i].id;
			s->at.klen = items[i].klen;
			if (items[i].klen <= RD_SWEEP_CURSOR_KEY)
				memcpy(s->at.key, items[i].key, items[i].klen);
			i++;
			break;
		}
	}
	free(items);
	s->scanned += i;
	return rc < 0 ? rc : 0;
}

static int each_ending(struct sweep *s, rd_date from, rd_date to, contract_fn fn)
{
	return each_in(s, RD_IDX_CONTRACT_END, from, to, fn);
}

/* A live contract not quoted yet, inside the window: quoted (or, above
 * max_seats, tracked as outside the programme), then marked so that it
 * leaves the unquoted index. */
static int quote_contract(struct sweep *s, struct rd_contract *k)
{
	if (k->status != RD_CONTRACT_LIVE || k->quoted)
		return 0;
	int rc;
	char qkey[64], ikey[64];
	snprintf(qkey, sizeof qkey, "quote:%llu", (unsigned long long)k->id);
	snprintf(ikey, sizeof ikey, "ineligible:%llu", (unsigned long long)k->id);
	bool ineligible = s->v.max_seats && k->quantity > s->v.max_seats;
	if (rd_action_excluded(s, ineligible ? ikey : qkey))
		return 0; /* left out of this run: the contract stays unquoted */
	if (ineligible) {
		/* Outside the programme: stays with the partner, only tracked. */
		if (rd_action_once(s, ikey) < 0)
			return RD_EINTERNAL;
		k->quoted = RD_QUOTED_INELIGIBLE;
	} else {
		/* The vendor's policy has had its share of this turn of the
		 * loop: the contract stays unquoted, the next turn takes it up.
		 * (A preview has no next turn: it runs on, its calls bounded by
		 * the sandbox's limit for the run.) */
		if (s->margin && !s->preview && !s->only && !s->policy_stopped[0] &&
		    s->policy_ns > (uint64_t)RD_SWEEP_POLICY_MS * 1000000u) {
			s->deferred = true;
			return 0;
		}
		if ((rc = make_quote(s, k)) < 0)
			return rc;
		k->quoted = RD_QUOTED_YES;
	}
	return rd_entity_put(s->t, s->d->contracts, &rd_entity_contract, s->v.id, k, 0);
}

/* ---- coverage while an order awaits payment ----------------------------------------------- */

/* Whether the opportunity's renewal is ordered and the order not settled
 * yet: created (its payment option has not answered), awaiting payment on
 * terms (purchase order, Bill Me Later), or paid and not yet fulfilled.
 * A failed or cancelled order leaves the "live" index. */
static bool order_pending(struct sweep *s, uint64_t opportunity)
{
	uint8_t key[8];
	rd_key_put_u64(key, opportunity);
	uint64_t id;
	if (rd_index_find(s->t, s->d->orders, "live", s->v.id, key, 8, &id) < 0)
		return false;
	struct rd_order *o = rd_malloc(sizeof *o);
	bool pending = rd_entity_get(s->t, s->d->orders, &rd_entity_order, s->v.id, id, o) == 0 &&
		       (o->state == RD_ORDER_CREATED || o->state == RD_ORDER_AWAITING_PAYMENT || o->state == RD_ORDER_PAID);
	free(o);
	return pending;
}

/* The contracts held at their end (renewal_ordered), looked at again every
 * day: a list of ids in the store's settings, "sweep_held:VENDOR". */
static void held_key(const struct sweep *s, char *key, size_t cap)
{
	snprintf(key, cap, "sweep_held:%llu", (unsigned long long)s->v.id);
}

static int held_load(struct sweep *s, json_t **out)
{
	char key[64];
	held_key(s, key, sizeof key);
	const void *v;
	size_t len;
	int rc = rd_txn_meta_get(s->t, key, &v, &len);
	*out = rc == 0 ? json_loadb(v, len, 0, NULL) : rc == RD_ENOTFOUND ? json_array() : NULL;
	if (*out && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
	}
	return *out ? 0 : rc < 0 && rc != RD_ENOTFOUND ? rc : RD_ECORRUPT;
}

static int held_save(struct sweep *s, json_t *list)
{
	char key[64];
	held_key(s, key, sizeof key);
	char *text = json_dumps(list, JSON_COMPACT);
	if (!text)
		return RD_EINTERNAL;
	int rc = rd_txn_meta_put(s->t, key, text, strlen(text));
	free(text);
	return rc;
}

/* The one expiry rule (domain/expiry.h), also the one cancelling an order
 * applies to the contract it held (services/cancel.c). */
static int expire_now(struct sweep *s, struct rd_contract *k)
{
	return rd_contract_expire(s->t, s->d, s->v.id, 0, k, NULL);
}

/* The held contracts whose order failed or was cancelled since expire now
 * (the cadence's overdue reminders go on from there); the ones renewed (the
 * order paid and fulfilled) leave the list. */
static int release_held(struct sweep *s)
{
	json_t *list;
	int rc = held_load(s, &list);
	if (rc < 0)
		return rc;
	bool changed = false;
	for (size_t i = 0; rc >= 0 && i < json_array_size(list);) {
		struct rd_contract k;
		struct rd_opportunity o;
		uint64_t id = (uint64_t)json_integer_value(json_array_get(list, i));
		if (rd_entity_get(s->t, s->d->contracts, &rd_entity_contract, s->v.id, id, &k) < 0 ||
		    k.status != RD_CONTRACT_ORDERED) {
			json_array_remove(list, i); /* renewed, cancelled or gone */
			changed = true;
			continue;
		}
		if (rd_opportunity_of(s, k.id, &o) == 0 && order_pending(s, o.id)) {
			i++;
			continue;
		}
		char key[64];
		snprintf(key, sizeof key, "expire:%llu", (unsigned long long)k.id);
		int took = rd_action_once(s, key);
		rc = took > 0 ? expire_now(s, &k) : took;
		size_t failed = s->n_skip;
		if ((rc = rd_action_end(s, rc)) >= 0 && took > 0 && s->n_skip == failed) {
			json_array_remove(list, i);
			changed = true;
		} else {
			i++; /* left out of this run, or failed */
		}
	}
	if (rc >= 0 && changed)
		rc = held_save(s, list);
	json_decref(list);
	return rc < 0 ? rc : 0;
}

static int expire_contract(struct sweep *s, struct rd_contract *k)
{
	if (k->status != RD_CONTRACT_LIVE || k->end >= s->day)
		return 0;
	char key[64];
	int rc;
	struct rd_opportunity o;
	if (rd_opportunity_of(s, k->id, &o) == 0 && order_pending(s, o.id)) {
		/* Ordered, the order not settled yet: the contract stays covered
		 * (renewal_ordered) instead of expiring, until the order is paid
		 * (fulfilment renews it) or fails (release_held expires it). */
		snprintf(key, sizeof key, "hold:%llu", (unsigned long long)k->id);
		if ((rc = rd_action_once(s, key)) <= 0)
			return rc;
		k->status = RD_CONTRACT_ORDERED;
		if ((rc = rd_entity_put(s->t, s->d->contracts, &rd_entity_contract, s->v.id, k, 0)) < 0)
			return rc;
		json_t *list;
		if ((rc = held_load(s, &list)) < 0)
			return rc;
		json_array_append_new(list, json_integer((json_int_t)k->id));
		rc = held_save(s, list);
		json_decref(list);
		return rc;
	}
	snprintf(key, sizeof key, "expire:%llu", (unsigned long long)k->id);
	if ((rc = rd_action_once(s, key)) <= 0)
		return rc;
	return expire_now(s, k);
}

static int remind_contract(struct sweep *s, struct rd_contract *k)
{
	int offset = k->end - s->day; /* days before the end (negative: overdue) */
	if (k->status != RD_CONTRACT_LIVE && !(k->status == RD_CONTRACT_EXPIRED && offset < 0))
		return 0;
	struct rd_opportunity o;
	if (rd_opportunity_of(s, k->id, &o) < 0)
		return 0;
	/* Published, or accepted (by an order, or in the portal): the cadence
	 * runs on until the renewal is bought; never while an order awaits
	 * payment (its point is passed over; a failed or cancelled order lets
	 * the cadence go on from its next point). */
	if (o.state != RD_OPP_PUBLISHED_PARTNER && o.state != RD_OPP_PUBLISHED_VENDOR && o.state != RD_OPP_ACCEPTED &&
	    o.state != RD_OPP_EXPIRED)
		return 0;
	if (o.state == RD_OPP_EXPIRED && offset >= 0)
		return 0;
	if (order_pending(s, o.id))
		return 0;
	char key[64];
	snprintf(key, sizeof key, "reminder:%d:%llu", offset, (unsigned long long)o.id);
	int rc = rd_action_once(s, key);
	if (rc <= 0)
		return rc;
	return rd_notify_customer(s, &o, "reminder", offset, k);
}

/* The cadence: days before the end ("60 30 14 7 0 -7"). */
static int cadence(const struct rd_vendor *v, int out[16])
{
	const char *c = v->reminder_days[0] ? v->reminder_days : "60 30 14 7 0 -7";
	int n = 0;
	while (*c && n < 16) {
		char *end;
		long d = strtol(c, &end, 10);
		if (end == c)
			break;
		if (d >= -365 && d <= 365)
			out[n++] = (int)d;
		c = end;
		while (*c == ' ' || *c == ',')
			c++;
	}
	return n;
}

/* ---- orders on terms --------------------------------------------------------------------- */

/* Bill Me Later: the customer hears a week before the due date, on it, and
 * a week after it while the order is still unpaid. */
static int payment_reminders(struct sweep *s)
{
	static const int before[] = { 7, 0, -7 };
	struct rd_order *o = rd_malloc(sizeof *o);
	int rc = 0;
	for (size_t b = 0; rc >= 0 && b < sizeof before / sizeof *before; b++) {
		rd_date due = s->day + before[b];
		uint8_t lo[4], hi[4];
		rd_date_key(due, lo);
		rd_date_key(due + 1, hi);
		size_t n = 0, cap = 16;
		uint64_t *ids = rd_malloc(cap * sizeof *ids);
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_index(&it, s->t, s->d->orders, RD_IDX_ORDER_DUE, s->v.id, lo, 4, hi, 4);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (n == cap)
				ids = rd_realloc(ids, (cap *= 2) * sizeof *ids);
			ids[n++] = item.id;
		}
		rd_iter_close(&it);
		for (size_t i = 0; rc >= 0 && i < n; i++) {
			if (rd_entity_get(s->t, s->d->orders, &rd_entity_order, s->v.id, ids[i], o) < 0 ||
			    o->state != RD_ORDER_AWAITING_PAYMENT || o->due_date != due)
				continue;
			char key[64];
			snprintf(key, sizeof key, "payment_reminder:%d:%llu", before[b], (unsigned long long)o->id);
			if ((rc = rd_action_once(s, key)) > 0)
				rc = rd_notify_payment(s, o, before[b]);
			rc = rd_action_end(s, rc);
		}
		free(ids);
	}
	free(o);
	return rc < 0 ? rc : 0;
}

/* ---- one day -------------------------------------------------------------------------- */

/* Whether this run of the day takes actions of a kind (a retry takes only
 * the kinds it retries: it skips the walks of the others). */
static bool wants(const struct sweep *s, const char *kind)
{
	if (!s->only)
		return true;
	size_t len = strlen(kind);
	for (size_t i = 0; i < s->n_only; i++)
		if (!strncmp(s->only[i], kind, len) && s->only[i][len] == ':')
			return true;
	return false;
}

int rd_sweep_day(struct sweep *s, bool full_window)
{
	uint32_t w = s->v.renewal_window_days ? s->v.renewal_window_days : 90;
	int rc;
	/* Quotes: every live contract ending inside the window that has none
	 * yet: the ones entering it today, and any that arrived late (an
	 * import, a new end date). */
	if ((wants(s, "quote") || wants(s, "ineligible")) &&
	    (rc = each_in(s, RD_IDX_CONTRACT_UNQUOTED, s->day, s->day + (rd_date)w, quote_contract)) < 0)
		return rc;
	if (s->deferred || s->chunked)
		return 0; /* the day is swept again, the rest with it */
	if (wants(s, "pullback") && (rc = pullbacks(s)) < 0)
		return rc;
	if (wants(s, "expire") && (rc = release_held(s)) < 0)
		return rc;
	if ((wants(s, "expire") || wants(s, "hold")) &&
	    (rc = each_ending(s, full_window ? s->day - 366 : s->day - 1, s->day - 1, expire_contract)) < 0)
		return rc;
	int days[16], n = cadence(&s->v, days);
	for (int i = 0; i < n && wants(s, "reminder") && !s->chunked; i++) {
		s->reminder_offset = days[i];
		if ((rc = each_ending(s, s->day + days[i], s->day + days[i], remind_contract)) < 0)
			return rc;
	}
	if (s->chunked)
		return 0; /* the next chunk goes on from s->at */
	if (wants(s, "payment_reminder") && (rc = payment_reminders(s)) < 0)
		return rc;
	/* Monday (1970-01-01 was a Thursday) */
	if ((s->day + 3) % 7 == 0 && wants(s, "digest") && (rc = rd_digests(s)) < 0)
		return rc;
	return wants(s, "statement") ? rd_statements(s) : 0;
}
