/*
 * reports.c: the dashboard, the drill-down and the rankings (reports.h,
 * docs/reporting.md).  One walk over the contracts' report index keys,
 * joined with the opportunities' and orders' report keys (a hash by
 * contract id), feeds per-currency figures; nothing here decodes a contract.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "domain/money.h"
#include "services/reports.h"
#include "util/clock.h"
#include "util/err.h"

#define MAX_CUR 32
#define MAX_REASONS 64
#define PEND 8 /* contracts in flight while their group's figures are fetched */
#define PCACHE 1024 /* price cache slots (a power of two) */
#define WBATCH 64 /* contract keys the walk prefetches for at a time */
#define PROD_DIR_MAX (1u << 20) /* product ids below this are found by index, not by hash */

/* ---- small helpers -------------------------------------------------------------------------- */

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static rd_date date_of_key(const uint8_t *p) { return (rd_date)(get_u32(p) - 0x80000000u); }

/* rd_key_get_u64, inlined for the walk's million calls. */
static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

/* A map from a non-zero u64 to an index (open addressing, grows). */
struct map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

static size_t map_slot(const struct map *m, uint64_t k)
{
	uint64_t h = k * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 20) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void map_grow(struct map *m)
{
	struct map nm = { rd_calloc(m->cap ? m->cap * 2 : 1024, 8), NULL, m->cap ? m->cap * 2 : 1024, 0 };
	nm.vals = rd_calloc(nm.cap, sizeof *nm.vals);
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			size_t j = map_slot(&nm, m->keys[i]);
			nm.keys[j] = m->keys[i];
			nm.vals[j] = m->vals[i];
			nm.n++;
		}
	free(m->keys);
	free(m->vals);
	*m = nm;
}

/* The index of k, or UINT32_MAX. */
static uint32_t map_get(const struct map *m, uint64_t k)
{
	if (!m->cap)
		return UINT32_MAX;
	size_t i = map_slot(m, k);
	return m->keys[i] ? m->vals[i] : UINT32_MAX;
}

/* The index of k; *added when it was put with v. */
static uint32_t map_put(struct map *m, uint64_t k, uint32_t v, bool *added)
{
	if ((m->n + 1) * 2 > m->cap)
		map_grow(m);
	size_t i = map_slot(m, k);
	*added = !m->keys[i];
	if (*added) {
		m->keys[i] = k;
		m->vals[i] = v;
		m->n++;
	}
	return m->vals[i];
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* a * 10000 / b, or JSON null when b is 0. */
static json_t *bp(int64_t a, int64_t b)
{
	if (b == 0)
		return json_null();
	return json_integer((json_int_t)((__int128)a * 10000 / b));
}

/* ---- the figures ---------------------------------------------------------------------------- */

/* One currency's figures over a set of contracts: the period's (contracts
 * ending in it) and the due windows (unresolved contracts, from today). */
struct fig {
	int64_t v, resolved_v, won_v, renewed_v, cancelled_v;
	int64_t due_v[4];  /* overdue, 0-30, 31-60, 61-90 days */
	uint32_t n, resolved_n, won_n, lost_n, cancelled_n, unpriced_n; /* 32 bits: the figures of a
							 * group fit two cache lines */
	uint32_t due_n[4];
};

/* The dashboard's extra figures of one currency. */
struct dash {
	struct fig all;
	struct fig months[12];
	uint64_t live_n[5];
	int64_t live_v[5];      /* by term: value of live contracts per term */
	uint64_t pub_n[3];
	int64_t pub_v[3];       /* won in the period: publish vendor, partner, undecided */
	uint64_t chan_n[3], chan_won[3];
	int64_t chan_v[3], chan_renewed[3]; /* direct, reseller, distributor only */
	uint64_t pipe_n[5];
	int64_t pipe_v[5];      /* open opportunities: overdue, 0-30, 31-60, 61-90, later */
};

/* What the opportunities and orders say of one contract. */
struct join {
	uint64_t opp_id;
	uint8_t opp_state, publish;
	bool paid;
	char opp_cur[4], order_cur[4];
	int64_t list, order_total;
	rd_date opp_end;
	const char *reason; /* into the index key: valid for the read transaction */
};

/* One contract as the walk sees it. */
struct crow {
	uint64_t id, product, customer, reseller, distributor, sales;
	int line;          /* the product's line: 1 + its index; 0 unknown product */
	rd_date end;
	uint32_t qty;
	uint8_t term, status;
	int cur;
	int64_t value;
	bool priced, resolved, won, lost, cancelled;
	int64_t renewed;
	int renewed_cur;
	const struct join *j;
};

/* What fig_add reads of a contract, for the prefetch ring (small: copied
 * once per contract). */
struct fact {
	int64_t value, renewed;
	rd_date end;
	uint8_t status;
	bool priced, resolved, won, lost, cancelled;
	int8_t cur, renewed_cur;
};

struct gfig {
	uint64_t gid;
	int cur;
	rd_date end;       /* contract rows */
	uint8_t status;
	int outcome;       /* 0 open, 1 won, 2 lost */
	int64_t value;
	struct fig f;
};

/* The drill-down's sort key (see rd_reports_drill). */
struct skey {
	int64_t major;   /* currency rank */
	int64_t minor;   /* end date, or -value */
	uint64_t gid;
	struct gfig *g;
	uint32_t slot;   /* the contract list's page: its entry in pslot */
};

/* A contract of the list's page (see page_offer): its report key and
 * whether the row is the contract's or its renewal's paid in another
 * currency. */
struct pslot {
	uint8_t k[RD_REPKEY_CONTRACT_LEN];
	bool foreign;
};

/* A currency's first groups in the drill-down's order, as a max-heap
 * (the drill by customer, which meets each customer's contracts together,
 * keeps these only: see group()). */
struct sheap {
	struct skey *k;
	struct gfig *slot; /* what k[i].g point into */
	size_t n;
};

struct ctx {
	struct rd_txn *t;
	struct rd_domain *d;
	const struct rd_rep_scope *s;
	rd_date today, from, to;
	int m0;                   /* year * 12 + month - 1 of the period's first month */
	char cur[MAX_CUR][4];
	int n_cur;
	bool overflow;
	struct rd_product *prods;
	size_t n_prods;
	int *prod_line;           /* per product: its index in lines */
	struct map prod_ix;
	uint32_t *prod_dir;       /* product id -> 1 + its index (ids below PROD_DIR_MAX); 0: see prod_ix */
	uint64_t prod_dir_n;
	char (*lines)[64];
	int n_lines;
	struct rd_partner *parts;
	size_t n_parts;
	struct map part_ix;
	uint64_t vendor_sales;
	uint8_t publish_default;
	struct join *joins;
	size_t n_joins, cap_joins;
	struct map join_ix;
	uint8_t *join_bits;       /* contract ids that have a join: most have none, and a bit is cheaper than a probe */
	uint64_t join_bits_n;
	uint32_t *join_dir;       /* contract id -> 1 + its join (ids below 2^24): one load where the hash needs two */
	rd_date month_start[13];  /* the period's months: [m, m + 1) */
	uint32_t *gdir;           /* group id * 4 + currency -> 1 + its gfig (the first four currencies); others by hash */
	uint64_t gdir_n;
	struct gfig *last_g;      /* consecutive contracts of one product fall in one group */
	struct fact pend[PEND];   /* contracts whose group's figures are being fetched */
	struct pcache {
		uint64_t product;  /* 0: empty */
		uint8_t term;
		int cur;
		int64_t unit;      /* INT64_MIN: no price */
	} pcache[PCACHE];
	uint32_t pend_gi[PEND];
	unsigned n_pend, pend_head;
	/* what the walk feeds */
	struct dash *dash;        /* [MAX_CUR] for the dashboard */
	char reasons[MAX_REASONS][RD_REPKEY_REASON_MAX + 1];
	uint64_t reason_n[MAX_REASONS];
	int n_reasons;
	uint64_t other_reasons;
	int by;                   /* grouping: enum rd_rep_by, 0 none */
	struct gfig *g;
	size_t n_g, cap_g;
	struct map g_ix;
	struct fig totals[MAX_CUR];
	uint64_t filter_customer, filter_contract;
	uint64_t contracts;       /* seen in scope */
	/* The drill by customer over customer-ordered keys: c->g holds the
	 * current customer's groups only; a finished customer's groups go to
	 * sh[currency] (the first `stream` of each currency) and are counted. */
	unsigned stream;
	uint64_t stream_gid;
	size_t stream_kept;
	struct sheap sh[MAX_CUR];
	/* The rankings by customer, the same way: a finished customer's groups
	 * with contracts in the period are counted (rank_n) and offered to
	 * four heaps per currency of `stream` each (rh: best and worst by
	 * value renewed, best and worst by rate; the worst with their keys
	 * reversed), not all kept and sorted. */
	bool rank_stream;
	struct sheap rh[MAX_CUR][4];
	uint64_t rank_n[MAX_CUR];
	/* A short range (a customer's contracts, one contract): each
	 * contract's join is looked up by its id (join_seek), not loaded for
	 * every contract (load_joins). */
	bool lazy;
	char **owned;             /* the reasons join_seek copied */
	size_t n_owned, cap_owned;
	/* The vendor's contract list of a product or a line (page_walk): the
	 * first `page` rows only, as a max-heap; the paid orders by contract. */
	unsigned page;
	struct skey *pk;
	struct pslot *ps;
	size_t n_pk, page_total;
	struct map paid_ix;
	struct { char cur[4]; int64_t total; } *paid;
	size_t n_paid, cap_paid;
	uint8_t *paid_bits;       /* contract ids in paid_ix (most have none: a bit is cheaper than a probe) */
	uint64_t paid_bits_n;
};

static int cur_index(struct ctx *c, const char *code3)
{
	char k[4] = { code3[0], code3[1], code3[2], 0 };
	if (c->n_cur && memcmp(c->cur[0], k, 4) == 0)
		return 0;
	for (int i = 0; i < c->n_cur; i++)
		if (memcmp(c->cur[i], k, 4) == 0)
			return i;
	if (c->n_cur == MAX_CUR) {
		c->overflow = true;
		return 0;
	}
	memcpy(c->cur[c->n_cur], k, 4);
	return c->n_cur++;
}

static void add(struct ctx *c, int64_t *sum, int64_t v)
{
	if (__builtin_add_overflow(*sum, v, sum))
		c->overflow = true;
}

static void ctx_free(struct ctx *c)
{
	free(c->prods);
	free(c->prod_line);
	free(c->prod_dir);
	free(c->lines);
	free(c->parts);
	free(c->joins);
	free(c->dash);
	free(c->g);
	free(c->join_bits);
	free(c->join_dir);
	free(c->gdir);
	map_free(&c->prod_ix);
	map_free(&c->part_ix);
	map_free(&c->join_ix);
	map_free(&c->g_ix);
	for (int i = 0; i < MAX_CUR; i++) {
		free(c->sh[i].k);
		free(c->sh[i].slot);
		for (int h = 0; h < 4; h++) {
			free(c->rh[i][h].k);
			free(c->rh[i][h].slot);
		}
	}
	for (size_t i = 0; i < c->n_owned; i++)
		free(c->owned[i]);
	free(c->owned);
	free(c->pk);
	free(c->ps);
	free(c->paid);
	free(c->paid_bits);
	map_free(&c->paid_ix);
}

/* ---- loading -------------------------------------------------------------------------------- */

static int load_products(struct ctx *c)
{
	struct rd_iter it;
	struct rd_item item;
	size_t cap = 0;
	int rc = rd_iter_records(&it, c->t, c->d->products, c->s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (c->n_prods == cap) {
			cap = cap ? cap * 2 : 64;
			c->prods = rd_realloc(c->prods, cap * sizeof *c->prods);
			c->prod_line = rd_realloc(c->prod_line, cap * sizeof *c->prod_line);
			c->lines = rd_realloc(c->lines, cap * sizeof *c->lines);
		}
		struct rd_product *p = &c->prods[c->n_prods];
		if ((rc = rd_entity_decode(&rd_entity_product, item.val, item.len, p)) < 0)
			break;
		int li = 0;
		while (li < c->n_lines && strcmp(c->lines[li], p->line) != 0)
			li++;
		if (li == c->n_lines)
			memcpy(c->lines[c->n_lines++], p->line, sizeof p->line);
		c->prod_line[c->n_prods] = li;
		bool added;
		map_put(&c->prod_ix, p->id, (uint32_t)c->n_prods, &added);
		c->n_prods++;
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	/* The store numbers products 1, 2, ...: a walk that changes product at
	 * every contract (by customer) finds it by index rather than by hash. */
	uint64_t max = 0;
	for (size_t i = 0; i < c->n_prods; i++)
		if (c->prods[i].id < PROD_DIR_MAX && c->prods[i].id > max)
			max = c->prods[i].id;
	c->prod_dir_n = max + 1;
	c->prod_dir = rd_calloc((size_t)c->prod_dir_n, sizeof *c->prod_dir);
	for (size_t i = 0; i < c->n_prods; i++)
		if (c->prods[i].id < c->prod_dir_n)
			c->prod_dir[c->prods[i].id] = (uint32_t)i + 1;
	return rc;
}

/* The index of a product in prods, or UINT32_MAX. */
static inline uint32_t prod_index(const struct ctx *c, uint64_t id)
{
	if (id < c->prod_dir_n)
		return c->prod_dir[id] ? c->prod_dir[id] - 1 : UINT32_MAX;
	return id < PROD_DIR_MAX ? UINT32_MAX : map_get(&c->prod_ix, id);
}

static int load_partners(struct ctx *c)
{
	struct rd_iter it;
	struct rd_item item;
	size_t cap = 0;
	int rc = rd_iter_records(&it, c->t, c->d->partners, c->s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (c->n_parts == cap) {
			cap = cap ? cap * 2 : 64;
			c->parts = rd_realloc(c->parts, cap * sizeof *c->parts);
		}
		if ((rc = rd_entity_decode(&rd_entity_partner, item.val, item.len, &c->parts[c->n_parts])) < 0)
			break;
		bool added;
		map_put(&c->part_ix, c->parts[c->n_parts].id, (uint32_t)c->n_parts, &added);
		c->n_parts++;
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	struct rd_vendor v;
	rc = rd_entity_get(c->t, c->d->vendors, &rd_entity_vendor, 0, c->s->vendor, &v);
	if (rc == 0) {
		c->vendor_sales = v.sales_user_id;
		c->publish_default = v.publish_default;
	}
	return rc == RD_ENOTFOUND ? 0 : rc;
}

static struct join *join_for(struct ctx *c, uint64_t contract)
{
	bool added;
	uint32_t i = map_put(&c->join_ix, contract, (uint32_t)c->n_joins, &added);
	if (!added)
		return &c->joins[i];
	if (c->n_joins == c->cap_joins) {
		c->cap_joins = c->cap_joins ? c->cap_joins * 2 : 1024;
		c->joins = rd_realloc(c->joins, c->cap_joins * sizeof *c->joins);
	}
	struct join *j = &c->joins[c->n_joins++];
	memset(j, 0, sizeof *j);
	return j;
}

static int load_joins(struct ctx *c)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, c->t, c->d->opportunities, RD_IDX_REPORT, c->s->vendor, NULL, 0, NULL, 0);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len < RD_REPKEY_OPP_LEN + 1)
			continue;
		const uint8_t *k = item.key;
		struct join *j = join_for(c, rd_key_get_u64(k));
		if (j->opp_id > item.id)
			continue; /* a later opportunity of the same contract counts */
		j->opp_id = item.id;
		j->opp_state = k[8];
		j->publish = k[9];
		memcpy(j->opp_cur, k + 10, 3);
		j->list = (int64_t)rd_key_get_u64(k + 13);
		j->opp_end = date_of_key(k + 21);
		j->reason = (const char *)k + RD_REPKEY_OPP_LEN;
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	rc = rd_iter_index(&it, c->t, c->d->orders, RD_IDX_REPORT, c->s->vendor, NULL, 0, NULL, 0);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len < RD_REPKEY_ORDER_LEN)
			continue;
		const uint8_t *k = item.key;
		if (k[8] != RD_ORDER_PAID && k[8] != RD_ORDER_FULFILLED)
			continue;
		struct join *j = join_for(c, rd_key_get_u64(k));
		j->paid = true;
		memcpy(j->order_cur, k + 10, 3);
		j->order_total = (int64_t)rd_key_get_u64(k + 13);
	}
	rd_iter_close(&it);
	return rc;
}

/* The context's dates only: the period and today. */
static void ctx_dates(struct ctx *c, struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
		      const struct rd_rep_opts *o)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->d = d;
	c->s = s;
	c->today = o && o->today ? o->today : rd_clock_today();
	int y, m, dd;
	rd_date_to_ymd(c->today, &y, &m, &dd);
	c->m0 = y * 12 + (m - 1) - 11;
	c->from = rd_date_from_ymd(c->m0 / 12, c->m0 % 12 + 1, 1);
	c->to = rd_date_add_months(rd_date_from_ymd(y, m, 1), 1) - 1;
}

/* One contract's join, as load_joins would have made it, looked up by the
 * contract's id in the opportunities' and orders' report keys (a short
 * walk: a customer's contracts, a page of a list): *ji is its entry in
 * c->joins, or UINT32_MAX when it has none.  Not in join_ix: each call
 * makes a fresh entry. */
static int join_seek(struct ctx *c, uint64_t contract, uint32_t *ji)
{
	*ji = UINT32_MAX;
	uint8_t from[8], to[8];
	rd_key_put_u64(from, contract);
	rd_key_put_u64(to, contract + 1);
	struct join j = { 0 };
	bool any = false;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, c->t, c->d->opportunities, RD_IDX_REPORT, c->s->vendor, from, 8, to, 8);
	it.keys_only = true;
	const char *reason = NULL;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len < RD_REPKEY_OPP_LEN + 1)
			continue;
		const uint8_t *k = item.key;
		any = true;
		if (j.opp_id > item.id)
			continue;
		j.opp_id = item.id;
		j.opp_state = k[8];
		j.publish = k[9];
		memcpy(j.opp_cur, k + 10, 3);
		j.list = (int64_t)rd_key_get_u64(k + 13);
		j.opp_end = date_of_key(k + 21);
		free((void *)reason);
		reason = rd_strdup((const char *)k + RD_REPKEY_OPP_LEN);
	}
	rd_iter_close(&it);
	if (rc >= 0) {
		rc = rd_iter_index(&it, c->t, c->d->orders, RD_IDX_REPORT, c->s->vendor, from, 8, to, 8);
		it.keys_only = true;
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			const uint8_t *k = item.key;
			if (item.key_len < RD_REPKEY_ORDER_LEN || (k[8] != RD_ORDER_PAID && k[8] != RD_ORDER_FULFILLED))
				continue;
			any = true;
			j.paid = true;
			memcpy(j.order_cur, k + 10, 3);
			j.order_total = (int64_t)rd_key_get_u64(k + 13);
		}
		rd_iter_close(&it);
	}
	if (rc < 0 || !any) {
		free((void *)reason);
		return rc < 0 ? rc : 0;
	}
	if (reason) {
		if (c->n_owned == c->cap_owned) {
			c->cap_owned = c->cap_owned ? c->cap_owned * 2 : 64;
			c->owned = rd_realloc(c->owned, c->cap_owned * sizeof *c->owned);
		}
		c->owned[c->n_owned++] = (char *)reason;
	}
	j.reason = reason ? reason : "";
	if (c->n_joins == c->cap_joins) {
		c->cap_joins = c->cap_joins ? c->cap_joins * 2 : 64;
		c->joins = rd_realloc(c->joins, c->cap_joins * sizeof *c->joins);
	}
	c->joins[c->n_joins] = j;
	*ji = (uint32_t)c->n_joins++;
	return 0;
}

/* The paid (or fulfilled) orders' currencies by contract, the last in key
 * order as load_joins keeps it: which contracts of a list have a row in
 * another currency (their renewal's). */
static int load_paid(struct ctx *c)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, c->t, c->d->orders, RD_IDX_REPORT, c->s->vendor, NULL, 0, NULL, 0);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		const uint8_t *k = item.key;
		if (item.key_len < RD_REPKEY_ORDER_LEN || (k[8] != RD_ORDER_PAID && k[8] != RD_ORDER_FULFILLED))
			continue;
		bool added;
		uint32_t i = map_put(&c->paid_ix, rd_key_get_u64(k), (uint32_t)c->n_paid, &added);
		if (added) {
			if (c->n_paid == c->cap_paid) {
				c->cap_paid = c->cap_paid ? c->cap_paid * 2 : 1024;
				c->paid = rd_realloc(c->paid, c->cap_paid * sizeof *c->paid);
			}
			c->n_paid++;
		}
		memcpy(c->paid[i].cur, k + 10, 3);
		c->paid[i].cur[3] = 0;
		c->paid[i].total = (int64_t)rd_key_get_u64(k + 13);
	}
	rd_iter_close(&it);
	uint64_t max = 0;
	for (size_t i = 0; i < c->paid_ix.cap; i++)
		if (c->paid_ix.keys[i] > max)
			max = c->paid_ix.keys[i];
	if (rc >= 0 && max && max < ((uint64_t)1 << 32)) {
		c->paid_bits_n = max + 1;
		c->paid_bits = rd_calloc((size_t)(max / 8 + 1), 1);
		for (size_t i = 0; i < c->paid_ix.cap; i++)
			if (c->paid_ix.keys[i])
				c->paid_bits[c->paid_ix.keys[i] >> 3] |= (uint8_t)(1u << (c->paid_ix.keys[i] & 7));
	}
	return rc;
}

static int ctx_begin_with(struct ctx *c, struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			  const struct rd_rep_opts *o, bool joins)
{
	ctx_dates(c, t, d, s, o);
	c->lazy = !joins;
	int rc = load_products(c);
	if (rc >= 0)
		rc = load_partners(c);
	if (rc >= 0 && joins)
		rc = load_joins(c);
	if (rc >= 0 && c->n_joins) {
		uint64_t max = 0;
		for (size_t i = 0; i < c->join_ix.cap; i++)
			if (c->join_ix.keys[i] > max)
				max = c->join_ix.keys[i];
		c->join_bits_n = max + 1;
		c->join_bits = rd_calloc((size_t)(max / 8 + 1), 1);
		for (size_t i = 0; i < c->join_ix.cap; i++)
			if (c->join_ix.keys[i])
				c->join_bits[c->join_ix.keys[i] >> 3] |= (uint8_t)(1u << (c->join_ix.keys[i] & 7));
	}
	for (int i = 0; i <= 12; i++)
		c->month_start[i] = rd_date_from_ymd((c->m0 + i) / 12, (c->m0 + i) % 12 + 1, 1);
	return rc < 0 ? rc : 0;
}

static int ctx_begin(struct ctx *c, struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
		     const struct rd_rep_opts *o)
{
	return ctx_begin_with(c, t, d, s, o, true);
}

/* ---- the walk ------------------------------------------------------------------------------- */

static const struct rd_partner *partner(const struct ctx *c, uint64_t id)
{
	uint32_t i = id ? map_get(&c->part_ix, id) : UINT32_MAX;
	return i == UINT32_MAX ? NULL : &c->parts[i];
}

/* The contract's sales person (reports.h): who sells its renewal. */
static uint64_t sales_of(const struct ctx *c, const struct crow *r)
{
	uint8_t pub = r->j && r->j->publish ? r->j->publish : c->publish_default;
	if (pub != RD_PUBLISH_PARTNER)
		return c->vendor_sales;
	const struct rd_partner *p = partner(c, r->reseller ? r->reseller : r->distributor);
	return p ? p->sales_user_id : 0;
}

/* Whether id is one of the scope's partners (sorted: a binary search). */
static bool scope_has(const struct rd_rep_scope *s, uint64_t id)
{
	unsigned lo = 0, hi = s->n_partners;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (s->partners[mid] == id)
			return true;
		if (s->partners[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool in_channel(const struct rd_rep_scope *s, uint64_t reseller, uint64_t distributor)
{
	return (reseller && scope_has(s, reseller)) || (distributor && scope_has(s, distributor));
}

static void fig_add(struct ctx *c, struct fig *f, const struct crow *r)
{
	if (r->end >= c->from && r->end <= c->to) {
		f->n++;
		add(c, &f->v, r->value);
		if (!r->priced)
			f->unpriced_n++;
		if (r->resolved) {
			f->resolved_n++;
			add(c, &f->resolved_v, r->value);
		}
		if (r->won) {
			f->won_n++;
			add(c, &f->won_v, r->value);
		}
		if (r->lost)
			f->lost_n++;
		if (r->cancelled) {
			f->cancelled_n++;
			add(c, &f->cancelled_v, r->value);
		}
		if (r->renewed_cur == r->cur)
			add(c, &f->renewed_v, r->renewed);
	}
	if (!r->resolved && r->status == RD_CONTRACT_LIVE) {
		int32_t days = r->end - c->today;
		int b = days < 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : -1;
		if (b >= 0) {
			f->due_n[b]++;
			add(c, &f->due_v[b], r->value);
		}
	}
}

/* Renewed value paid in another currency than the contract's (an order
 * placed in another currency) counts in its own currency. */
static void fig_add_foreign(struct ctx *c, struct fig *f, const struct crow *r)
{
	if (r->end >= c->from && r->end <= c->to)
		add(c, &f->renewed_v, r->renewed);
}

static struct gfig *group_new(struct ctx *c, uint64_t gid, int cur)
{
	if (c->n_g == c->cap_g) {
		c->cap_g = c->cap_g ? c->cap_g * 2 : 256;
		c->g = rd_realloc(c->g, c->cap_g * sizeof *c->g);
		c->last_g = NULL;
	}
	struct gfig *g = &c->g[c->n_g++];
	memset(g, 0, sizeof *g);
	g->gid = gid;
	g->cur = cur;
	return g;
}

/* The figures of group gid in currency cur.  Dense ids (customers,
 * contracts, products: the store numbers them 1, 2, ...) index an array;
 * others go through the hash. */
static void stream_flush(struct ctx *c);

static struct gfig *group(struct ctx *c, uint64_t gid, int cur)
{
	if (c->stream) {
		if (gid != c->stream_gid) {
			stream_flush(c);
			c->stream_gid = gid;
		}
		for (size_t i = 0; i < c->n_g; i++)
			if (c->g[i].cur == cur)
				return &c->g[i];
		return group_new(c, gid, cur);
	}
	if (c->last_g && c->last_g->gid == gid && c->last_g->cur == cur)
		return c->last_g;
	if (gid < ((uint64_t)1 << 24) && cur < 4) {
		/* Four slots per id: one per currency of the first four seen. */
		uint64_t slot = gid * 4 + (uint64_t)cur;
		if (slot >= c->gdir_n) {
			uint64_t n = c->gdir_n ? c->gdir_n : 16384;
			while (n <= slot)
				n *= 2;
			c->gdir = rd_realloc(c->gdir, (size_t)n * sizeof *c->gdir);
			memset(c->gdir + c->gdir_n, 0, (size_t)(n - c->gdir_n) * sizeof *c->gdir);
			c->gdir_n = n;
		}
		if (!c->gdir[slot]) {
			group_new(c, gid, cur);
			c->gdir[slot] = (uint32_t)c->n_g;
		}
		return c->last_g = &c->g[c->gdir[slot] - 1];
	}
	bool added;
	uint64_t key = (gid << 5 | (uint64_t)cur) + 1;
	uint32_t i = map_put(&c->g_ix, key, (uint32_t)c->n_g, &added);
	if (added)
		group_new(c, gid, cur);
	return c->last_g = &c->g[i];
}

static void dash_add(struct ctx *c, const struct crow *r)
{
	struct dash *x = &c->dash[r->cur];
	fig_add(c, &x->all, r);
	if (r->renewed_cur != r->cur)
		fig_add_foreign(c, &c->dash[r->renewed_cur].all, r);
	bool period = r->end >= c->from && r->end <= c->to;
	if (period) {
		int mi = 0;
		while (mi < 12 && r->end >= c->month_start[mi + 1])
			mi++;
		if (mi < 12) {
			fig_add(c, &x->months[mi], r);
			if (r->renewed_cur != r->cur)
				fig_add_foreign(c, &c->dash[r->renewed_cur].months[mi], r);
		}
		int ch = r->distributor ? 2 : r->reseller ? 1 : 0;
		x->chan_n[ch]++;
		add(c, &x->chan_v[ch], r->value);
		if (r->won) {
			x->chan_won[ch]++;
			int pb = r->j && r->j->publish == RD_PUBLISH_VENDOR ? 0 : r->j && r->j->publish == RD_PUBLISH_PARTNER ? 1 : 2;
			x->pub_n[pb]++;
			if (r->renewed_cur == r->cur) {
				add(c, &x->chan_renewed[ch], r->renewed);
				add(c, &x->pub_v[pb], r->renewed);
			}
		}
		if (r->j && r->j->opp_state == RD_OPP_LOST) {
			const char *why = r->j->reason[0] ? r->j->reason : "(no reason given)";
			int i = 0;
			while (i < c->n_reasons && strcmp(c->reasons[i], why) != 0)
				i++;
			if (i == c->n_reasons && c->n_reasons < MAX_REASONS)
				snprintf(c->reasons[c->n_reasons++], sizeof c->reasons[0], "%s", why);
			if (i < c->n_reasons)
				c->reason_n[i]++;
			else
				c->other_reasons++;
		}
	}
	if (r->status == RD_CONTRACT_LIVE && !r->resolved && r->end >= c->today && r->term >= 1 && r->term <= 4) {
		x->live_n[r->term]++;
		add(c, &x->live_v[r->term], r->value);
	}
	if (r->j && r->j->opp_id && r->j->opp_state >= RD_OPP_PENDING_DECISION && r->j->opp_state <= RD_OPP_ACCEPTED) {
		int32_t days = r->j->opp_end - c->today;
		int b = days < 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : 4;
		struct dash *px = &c->dash[cur_index(c, r->j->opp_cur)];
		px->pipe_n[b]++;
		add(c, &px->pipe_v[b], r->j->list);
	}
}

static uint64_t group_id(const struct ctx *c, const struct crow *r)
{
	switch (c->by) {
	case RD_REP_BY_LINE: return (uint64_t)r->line;
	case RD_REP_BY_PRODUCT: return r->product;
	case RD_REP_BY_CONTRACT: return r->id;
	case RD_REP_BY_CUSTOMER: return r->customer;
	case RD_REP_BY_RESELLER: return r->reseller;
	case RD_REP_BY_DISTRIBUTOR: return r->distributor;
	case RD_REP_BY_SALES: return r->sales;
	default: return 0;
	}
}

static void group_apply(struct ctx *c, const struct crow *r, uint32_t gi)
{
	struct gfig *g = &c->g[gi];
	fig_add(c, &g->f, r);
	if (c->by == RD_REP_BY_CONTRACT) {
		g->end = r->end;
		g->status = r->status;
		g->outcome = r->won ? 1 : r->lost ? 2 : 0;
		g->value = r->value;
	}
	if (r->renewed_cur != r->cur)
		fig_add_foreign(c, &group(c, g->gid, r->renewed_cur)->f, r);
}

/* Adds the contracts of the ring's oldest slots: the figures of a group are
 * fetched (prefetch) a few contracts before they are added to, so that the
 * random order of groups (partners, sales people) costs less than a miss
 * each.  Customers are walked in customer order and need none. */
static void group_drain(struct ctx *c, unsigned keep)
{
	while (c->n_pend > keep) {
		unsigned at = c->pend_head;
		const struct fact *x = &c->pend[at];
		struct crow r = { .end = x->end, .status = x->status, .cur = x->cur, .value = x->value,
				  .priced = x->priced, .resolved = x->resolved, .won = x->won, .lost = x->lost,
				  .cancelled = x->cancelled, .renewed = x->renewed, .renewed_cur = x->renewed_cur };
		group_apply(c, &r, c->pend_gi[at]);
		c->pend_head = (at + 1) % PEND;
		c->n_pend--;
	}
}

static void group_add(struct ctx *c, const struct crow *r)
{
	fig_add(c, &c->totals[r->cur], r);
	if (r->renewed_cur != r->cur)
		fig_add_foreign(c, &c->totals[r->renewed_cur], r);
	uint64_t gid = group_id(c, r);
	if (!gid && c->by != RD_REP_BY_LINE)
		return; /* no reseller, distributor or sales person: not ranked */
	struct gfig *g = group(c, gid, r->cur);
	if (c->by == RD_REP_BY_LINE || c->by == RD_REP_BY_PRODUCT || c->by == RD_REP_BY_CONTRACT ||
	    c->by == RD_REP_BY_CUSTOMER) {
		group_apply(c, r, (uint32_t)(g - c->g)); /* in key order: the same group, in cache */
		return;
	}
	__builtin_prefetch(g, 1);
	__builtin_prefetch((const char *)g + 64, 1);
	__builtin_prefetch((const char *)g + 128, 1);
	group_drain(c, PEND - 1);
	unsigned at = (c->pend_head + c->n_pend) % PEND;
	c->pend[at] = (struct fact){ r->value, r->renewed, r->end, r->status, r->priced, r->resolved, r->won,
				     r->lost, r->cancelled, (int8_t)r->cur, (int8_t)r->renewed_cur };
	c->pend_gi[at] = (uint32_t)(g - c->g);
	c->n_pend++;
}

/* Walks the contracts' report keys in [from, to): product ranges, or with
 * by_customer the customer-first keys (customer ranges). */
/* The join of each contract by id, for a walk over every contract (a key
 * range of a product or a customer is too short to pay for building it).
 * Written where a join is only: walk reads an entry whose bit is set. */
static void join_dir_build(struct ctx *c)
{
	if (c->join_dir || !c->n_joins || c->join_bits_n > ((uint64_t)1 << 24))
		return;
	c->join_dir = rd_malloc((size_t)c->join_bits_n * sizeof *c->join_dir);
	for (size_t i = 0; i < c->join_ix.cap; i++)
		if (c->join_ix.keys[i])
			c->join_dir[c->join_ix.keys[i]] = c->join_ix.vals[i] + 1;
}

/* The value of contract key k (its product's record prod, its currency
 * cur): the product's price per seat for its term and currency times the
 * seats, the price from a small direct-mapped cache (a walk by customer
 * changes product at almost every contract); false (*value 0) unpriced. */
static inline bool key_value(struct ctx *c, const uint8_t *k, uint64_t product, const struct rd_product *prod, int cur,
			     int64_t *value)
{
	uint8_t term = k[40];
	struct pcache *pc = &c->pcache[(product * 31 + term * 7 + (uint64_t)cur) & (PCACHE - 1)];
	if (pc->product != product || pc->term != term || pc->cur != cur) {
		pc->product = product;
		pc->term = term;
		pc->cur = cur;
		pc->unit = INT64_MIN; /* no price */
		for (unsigned i = 0; prod && i < prod->n_prices; i++)
			if (prod->prices[i].term == term && memcmp(prod->prices[i].currency, k + 42, 3) == 0) {
				pc->unit = prod->prices[i].amount;
				break;
			}
	}
	*value = 0;
	bool priced = pc->unit != INT64_MIN && rd_money_mul(pc->unit, get_u32(k + 36), value) == 0;
	if (!priced)
		*value = 0;
	return priced;
}

/* The rest of a contract's row from its report key k (r's ids and join
 * set): its dates, seats, term, status, currency, value and outcome. */
static inline void crow_fill(struct ctx *c, const uint8_t *k, struct crow *r, uint64_t *last_product,
	     const struct rd_product **prodp, int *linep)
{
	r->end = date_of_key(k + 32);
	r->qty = get_u32(k + 36);
	r->term = k[40];
	r->status = k[41];
	r->cur = cur_index(c, (const char *)k + 42);
	const struct rd_product *prod = *prodp;
	int line = *linep;
	if (r->product != *last_product) {
		uint32_t pi = prod_index(c, r->product);
		prod = pi == UINT32_MAX ? NULL : &c->prods[pi];
		line = pi == UINT32_MAX ? 0 : c->prod_line[pi] + 1;
		*last_product = r->product;
		*prodp = prod;
		*linep = line;
	}
	r->line = line;
	r->priced = key_value(c, k, r->product, prod, r->cur, &r->value);
	r->won = r->status == RD_CONTRACT_RENEWED || r->status == RD_CONTRACT_ORDERED ||
		(r->j && (r->j->opp_state == RD_OPP_WON || r->j->paid));
	r->cancelled = r->status == RD_CONTRACT_CANCELLED;
	r->lost = !r->won && (r->cancelled || r->status == RD_CONTRACT_EXPIRED ||
			    (r->j && (r->j->opp_state == RD_OPP_LOST ||
				     r->j->opp_state == RD_OPP_EXPIRED)));
	r->resolved = r->won || r->lost;
	r->renewed = 0;
	r->renewed_cur = r->cur;
	if (r->won && r->j && r->j->paid) {
		r->renewed = r->j->order_total;
		r->renewed_cur = cur_index(c, r->j->order_cur);
	} else if (r->won) {
		r->renewed = r->value;
	}
}

static int by_skey(const void *a, const void *b);
static void heap_down(struct skey *h, size_t n, size_t i);
static void heap_up(struct skey *h, size_t i);

/* A currency's code as a number in the codes' order (rank by code). */
static int64_t code_rank(const uint8_t *code3)
{
	return (int64_t)code3[0] << 16 | (int64_t)code3[1] << 8 | code3[2];
}

static void page_put(struct ctx *c, const uint8_t *k, uint64_t id, int64_t major, int64_t minor, bool foreign)
{
	c->page_total++;
	if (c->n_pk == c->page && (major > c->pk[0].major || (major == c->pk[0].major && minor > c->pk[0].minor)))
		return; /* after the page's last row */
	struct skey key = { major, minor, id, NULL, 0 };
	if (c->n_pk < c->page) {
		key.slot = (uint32_t)c->n_pk;
	} else if (by_skey(&key, &c->pk[0]) < 0) {
		key.slot = c->pk[0].slot;
	} else {
		return;
	}
	memcpy(c->ps[key.slot].k, k, RD_REPKEY_CONTRACT_LEN);
	c->ps[key.slot].foreign = foreign;
	if (c->n_pk < c->page) {
		c->pk[c->n_pk] = key;
		heap_up(c->pk, c->n_pk++);
	} else {
		c->pk[0] = key;
		heap_down(c->pk, c->n_pk, 0);
	}
}

/* A contract of the vendor's list of a product's (or a line's) contracts:
 * its row (by currency, end date, id) and, when its renewal was paid in
 * another currency, that currency's row (end 0: first of its currency),
 * offered to the heap of the first c->page rows; the figures of the rows
 * kept are made at the end (page_rows), the totals come from the counters. */
static void page_offer(struct ctx *c, const uint8_t *k, const struct crow *r)
{
	page_put(c, k, r->id, code_rank(k + 42), (int64_t)date_of_key(k + 32), false);
	if (c->paid_bits && (r->id >= c->paid_bits_n || !(c->paid_bits[r->id >> 3] >> (r->id & 7) & 1)))
		return;
	uint32_t pi = map_get(&c->paid_ix, r->id);
	if (pi != UINT32_MAX && memcmp(c->paid[pi].cur, k + 42, 3) != 0)
		page_put(c, k, r->id, code_rank((const uint8_t *)c->paid[pi].cur), 0, true);
}

static int walk(struct ctx *c, bool by_customer, const uint8_t *from, size_t from_len, const uint8_t *to, size_t to_len)
{
	if (!from_len && !to_len)
		join_dir_build(c);
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, c->t, c->d->contracts, by_customer ? RD_IDX_REPORT_CUSTOMER : RD_IDX_REPORT,
			       c->s->vendor, from, from_len, to, to_len);
	it.keys_only = true;
	uint64_t last_product = 0;
	const struct rd_product *prod = NULL;
	int line = 0;
	bool need_sales = c->s->sales_user || c->by == RD_REP_BY_SALES;
	/* Keys are taken WBATCH at a time (they point into the read
	 * transaction's pages: valid until it ends) and what the contracts' ids
	 * lead to (the join bit, the join's index, the join) is prefetched a
	 * step at a time for the whole batch before the batch is added up:
	 * contract ids are in no order along the keys, so each would otherwise
	 * be a cache miss after the other. */
	struct { const uint8_t *k; uint64_t id; uint32_t ji; } batch[WBATCH];
	bool more = true;
	while (rc >= 0 && more) {
		unsigned nb = 0;
		while (nb < WBATCH && (rc = rd_iter_next(&it, &item)) > 0) {
			if (item.key_len != RD_REPKEY_CONTRACT_LEN)
				continue;
			batch[nb].k = item.key;
			batch[nb].id = item.id;
			batch[nb].ji = UINT32_MAX;
			if (item.id < c->join_bits_n)
				__builtin_prefetch(&c->join_bits[item.id >> 3]);
			nb++;
		}
		more = rc > 0;
		for (unsigned bi = 0; bi < nb; bi++) {
			uint64_t id = batch[bi].id;
			if (id < c->join_bits_n && (c->join_bits[id >> 3] >> (id & 7) & 1)) {
				batch[bi].ji = 0; /* has one: found below */
				if (c->join_dir)
					__builtin_prefetch(&c->join_dir[id]);
			}
		}
		for (unsigned bi = 0; bi < nb; bi++)
			if (batch[bi].ji != UINT32_MAX) {
				uint64_t id = batch[bi].id;
				batch[bi].ji = c->join_dir ? c->join_dir[id] - 1 : map_get(&c->join_ix, id);
				__builtin_prefetch(&c->joins[batch[bi].ji]);
			}
		for (unsigned bi = 0; bi < nb; bi++) {
			const uint8_t *k = batch[bi].k;
			struct crow r;
			r.id = batch[bi].id;
			r.product = be64(k + (by_customer ? 8 : 0));
			r.customer = be64(k + (by_customer ? 0 : 8));
			r.reseller = be64(k + 16);
			r.distributor = be64(k + 24);
			if ((c->filter_customer && r.customer != c->filter_customer) ||
			    (c->filter_contract && r.id != c->filter_contract))
				continue;
			if (c->s->channel && !in_channel(c->s, r.reseller, r.distributor))
				continue;
			uint32_t ji = batch[bi].ji;
			if (c->lazy && !c->page && (rc = join_seek(c, r.id, &ji)) < 0) {
				more = false;
				break;
			}
			r.j = ji == UINT32_MAX ? NULL : &c->joins[ji];
			r.sales = need_sales ? sales_of(c, &r) : 0;
			if (c->s->sales_user && r.sales != c->s->sales_user)
				continue;
			c->contracts++;
			if (c->page) {
				page_offer(c, k, &r);
				continue;
			}
			crow_fill(c, k, &r, &last_product, &prod, &line);
			if (c->dash)
				dash_add(c, &r);
			else
				group_add(c, &r);
		}
	}
	rd_iter_close(&it);
	if (!c->dash)
		group_drain(c, 0);
	return rc;
}


/* Walks the contracts of one product (by_customer false) or one customer,
 * or with id 0 of every product or every customer, in that order. */
static int walk_one(struct ctx *c, bool by_customer, uint64_t id)
{
	if (!id)
		return walk(c, by_customer, NULL, 0, NULL, 0);
	uint8_t from[8], to[8];
	rd_key_put_u64(from, id);
	rd_key_put_u64(to, id + 1);
	return walk(c, by_customer, from, 8, to, 8);
}

static int walk_product(struct ctx *c, uint64_t product) { return walk_one(c, false, product); }
static int walk_customer(struct ctx *c, uint64_t customer) { return walk_one(c, true, customer); }

/* The page's rows (page_offer): each kept contract joined by its id and
 * its row's figures made as the walk makes them (group_apply): the
 * contract's own, or its renewal's in the other currency. */
static int page_rows(struct ctx *c)
{
	uint64_t last_product = 0;
	const struct rd_product *prod = NULL;
	int line = 0;
	for (size_t i = 0; i < c->n_pk; i++) {
		const struct pslot *ps = &c->ps[c->pk[i].slot];
		const uint8_t *k = ps->k;
		struct crow r = { 0 };
		r.id = c->pk[i].gid;
		r.product = be64(k);
		r.customer = be64(k + 8);
		r.reseller = be64(k + 16);
		r.distributor = be64(k + 24);
		uint32_t ji;
		int rc = join_seek(c, r.id, &ji);
		if (rc < 0)
			return rc;
		r.j = ji == UINT32_MAX ? NULL : &c->joins[ji];
		crow_fill(c, k, &r, &last_product, &prod, &line);
		if (ps->foreign) {
			if (r.renewed_cur == r.cur)
				continue; /* cannot be: the paid order's currency is another */
			struct gfig *g = group_new(c, r.id, r.renewed_cur);
			fig_add_foreign(c, &g->f, &r);
		} else {
			struct gfig *g = group_new(c, r.id, r.cur);
			fig_add(c, &g->f, &r);
			g->end = r.end;
			g->status = r.status;
			g->outcome = r.won ? 1 : r.lost ? 2 : 0;
			g->value = r.value;
		}
	}
	return 0;
}

/* ---- a whole line's contract list, by end date ----------------------------------------------
 * The vendor's list of a line's contracts is the first `page` rows in
 * (currency, end date, id) order: the line's keys (a third of the table in
 * report_bench) are in product order, so the walk reads them all to keep a
 * page.  The contracts' end index is in (end date, id) order already:
 * walked from its start, each contract's record read for its report key,
 * the first contracts of each currency the page can reach are its
 * contract rows, and the walk stops when it has them all.  The per-product
 * counters ('G': every contract by month, product and currency) say how
 * many of each currency the line holds and how far into the end index the
 * page's last one lies; the plan is taken only when reading that far costs
 * less than the walk.  A renewal paid in another currency makes a row of
 * its own, first of that currency: the candidates are the paid orders
 * (load_paid) in a currency the page reaches whose contract's renewal the
 * counters show in another currency ('H': per product, a renewed amount
 * not zero) or whose total is zero or less (no 'H' row); each is read. */

#define LCUR_MAX MAX_CUR
unsigned rd_reports_lookup_keys = 24; /* a record read by id costs about this many keys walked (report_bench at 1 M: ~1.6 us against ~65 ns) */
unsigned long rd_reports_line_plans;
unsigned long rd_reports_customer_pages;

struct lmonth {
	uint32_t month;
	uint64_t all;              /* every contract ending in the month */
	uint64_t line[LCUR_MAX];   /* the line's, by currency */
};

struct lplan {
	struct ctx *c;
	const bool *in_line;       /* per product index */
	uint8_t cur[LCUR_MAX][3];
	int n_cur;
	uint64_t cnt[LCUR_MAX];    /* the line's contracts by currency */
	bool foreign[LCUR_MAX];    /* a renewal of the line paid in this currency, for a contract in another ('H') */
	struct lmonth *m;
	size_t n_m, cap_m;
	uint64_t total;            /* the line's contracts */
	bool bad;                  /* more currencies than kept, or a contract with no end date: walk */
};

static int lplan_cur(struct lplan *p, const uint8_t *code3, bool add)
{
	for (int i = 0; i < p->n_cur; i++)
		if (memcmp(p->cur[i], code3, 3) == 0)
			return i;
	if (!add)
		return -1;
	if (p->n_cur == LCUR_MAX) {
		p->bad = true;
		return -1;
	}
	memcpy(p->cur[p->n_cur], code3, 3);
	return p->n_cur++;
}

static bool lplan_in_line(const struct lplan *p, uint64_t pid)
{
	uint32_t pi = prod_index(p->c, pid);
	return pi != UINT32_MAX && p->in_line[pi];
}

static int lplan_g_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct lplan *p = arg;
	if (klen != 17)
		return 0;
	uint32_t month = get_u32(k + 1);
	if (!p->n_m || p->m[p->n_m - 1].month != month) {
		if (p->n_m == p->cap_m) {
			p->cap_m = p->cap_m ? p->cap_m * 2 : 64;
			p->m = rd_realloc(p->m, p->cap_m * sizeof *p->m);
		}
		memset(&p->m[p->n_m], 0, sizeof *p->m);
		p->m[p->n_m++].month = month;
	}
	struct lmonth *m = &p->m[p->n_m - 1];
	m->all += (uint64_t)v->n;
	if (!lplan_in_line(p, be64(k + 5)))
		return 0;
	int ci = lplan_cur(p, k + 13, true);
	if (ci < 0)
		return 1;
	/* A contract with no end date has no end index entry (its report key
	 * says 1970-01-01): such a line is walked. */
	if (month == 1970u * 12u)
		p->bad = true;
	m->line[ci] += (uint64_t)v->n;
	p->cnt[ci] += (uint64_t)v->n;
	p->total += (uint64_t)v->n;
	return p->bad;
}

static int lplan_h_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	(void)v;
	struct lplan *p = arg;
	if (klen != 16 || !lplan_in_line(p, be64(k + 5)))
		return 0;
	int ci = lplan_cur(p, k + 13, true);
	if (ci < 0)
		return 1;
	p->foreign[ci] = true;
	return 0;
}

/* Whether paid order i (load_paid) may make a row in another currency than
 * its contract's, in a currency whose rows the page reaches (want). */
static bool lplan_candidate(struct lplan *p, size_t i, const bool *want)
{
	int ci = lplan_cur(p, (const uint8_t *)p->c->paid[i].cur, false);
	return ci >= 0 && want[ci] && (p->foreign[ci] || p->c->paid[i].total <= 0);
}

/* Contract id's report key, when its product is in the line and its
 * currency is one whose rows are wanted (want NULL: any), read from its
 * record: *got 1 with the key in k, 0 not wanted (or no such contract),
 * -1 a record that cannot be read (the walk does not read records: it
 * answers then). */
static int lplan_key(struct lplan *p, uint64_t id, const bool *want, uint8_t k[RD_REPKEY_CONTRACT_LEN], int *got)
{
	struct ctx *c = p->c;
	const void *val;
	size_t len;
	*got = 0;
	int rc = rd_txn_get(c->t, c->d->contracts, c->s->vendor, id, &val, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	uint64_t product;
	uint8_t cur[3];
	if (rd_contract_report_product(val, len, &product, cur) < 0) {
		*got = -1;
		return 0;
	}
	if (!lplan_in_line(p, product))
		return 0;
	int ci = lplan_cur(p, cur, false);
	if (want && (ci < 0 || !want[ci]))
		return 0;
	*got = rd_contract_report_key(val, len, k) == RD_REPKEY_CONTRACT_LEN ? 1 : -1;
	return 0;
}

/* The page of the vendor's list of line's contracts (page_offer's rows) by
 * the end index; *done false (and nothing changed) when the plan costs
 * more than the walk. */
static int line_page(struct ctx *c, const char *line, bool *done)
{
	*done = false;
	if (strcmp(rd_txn_backend(c->t), "lmdb") != 0)
		return 0; /* a record read is a statement: the walk's pages are cheaper */
	struct lplan p = { .c = c };
	bool *in_line = rd_calloc(c->n_prods ? c->n_prods : 1, sizeof *in_line);
	for (size_t i = 0; i < c->n_prods; i++)
		in_line[i] = strcmp(c->lines[c->prod_line[i]], line) == 0;
	p.in_line = in_line;
	struct rd_table *tb = c->d->contracts;
	uint64_t ten = c->s->vendor;
	int rc = rd_txn_counters(c->t, tb, ten, "G", 1, "H", 1, lplan_g_row, &p);
	if (rc >= 0 && !p.bad)
		rc = rd_txn_counters(c->t, tb, ten, "H", 1, "I", 1, lplan_h_row, &p);
	for (size_t i = 0; rc >= 0 && !p.bad && i < c->n_paid; i++)
		if (c->paid[i].total <= 0)
			lplan_cur(&p, (const uint8_t *)c->paid[i].cur, true);
	if (rc < 0 || p.bad || p.total <= c->page)
		goto out; /* a short line is walked: its rows are all there is */
	/* The currencies in code order; the contract rows each needs: those the
	 * page can reach, counting the rows of the currencies before it. */
	int ord[LCUR_MAX];
	for (int i = 0; i < p.n_cur; i++)
		ord[i] = i;
	for (int i = 1; i < p.n_cur; i++)
		for (int j = i; j > 0 && memcmp(p.cur[ord[j - 1]], p.cur[ord[j]], 3) > 0; j--) {
			int x = ord[j];
			ord[j] = ord[j - 1];
			ord[j - 1] = x;
		}
	uint64_t need[LCUR_MAX] = { 0 }, before = 0, needs = 0;
	bool want[LCUR_MAX] = { false };
	for (int oi = 0; oi < p.n_cur; oi++) {
		int ci = ord[oi];
		if (before >= c->page)
			break;
		want[ci] = true;
		need[ci] = p.cnt[ci] < c->page - before ? p.cnt[ci] : c->page - before;
		needs += need[ci];
		before += p.cnt[ci];
	}
	/* How far into the end index the last needed contract lies (the
	 * months before it, and of its month the share its currency needs, as
	 * if that month's contracts were spread evenly), and how many paid
	 * orders must be read. */
	uint64_t left[LCUR_MAX], reach = 0, rest = needs;
	memcpy(left, need, sizeof left);
	for (size_t mi = 0; mi < p.n_m && rest; mi++) {
		double part = 0;
		for (int ci = 0; ci < p.n_cur; ci++) {
			uint64_t take = left[ci] < p.m[mi].line[ci] ? left[ci] : p.m[mi].line[ci];
			left[ci] -= take;
			rest -= take;
			double share = left[ci] ? 1.0 : take ? (double)take / (double)p.m[mi].line[ci] : 0.0;
			if (share > part)
				part = share;
		}
		reach += (uint64_t)((double)p.m[mi].all * part) + 1;
	}
	uint64_t cand = 0;
	for (size_t i = 0; i < c->n_paid; i++)
		cand += lplan_candidate(&p, i, want);
	if (rest || (reach + cand) * rd_reports_lookup_keys >= p.total)
		goto out;
	/* The rows in another currency: the candidates' contracts read. */
	uint64_t foreign = 0;
	int got = 0;
	for (size_t i = 0; rc >= 0 && got >= 0 && i < c->paid_ix.cap; i++) {
		uint64_t id = c->paid_ix.keys[i];
		if (!id || !lplan_candidate(&p, c->paid_ix.vals[i], want))
			continue;
		uint8_t k[RD_REPKEY_CONTRACT_LEN];
		if ((rc = lplan_key(&p, id, NULL, k, &got)) < 0 || got <= 0)
			continue;
		const char *pc = c->paid[c->paid_ix.vals[i]].cur;
		if (memcmp(pc, k + 42, 3) != 0) {
			page_put(c, k, id, code_rank((const uint8_t *)pc), 0, true);
			foreign++;
		}
	}
	/* The contract rows: the end index from its start until each currency
	 * has the contracts it needs. */
	struct rd_iter it;
	struct rd_item item;
	if (rc >= 0 && got >= 0) {
		rc = rd_iter_index(&it, c->t, tb, RD_IDX_CONTRACT_END, ten, NULL, 0, NULL, 0);
		it.keys_only = true;
		while (rc >= 0 && needs && (rc = rd_iter_next(&it, &item)) > 0) {
			uint8_t k[RD_REPKEY_CONTRACT_LEN];
			bool wanted[LCUR_MAX];
			for (int ci = 0; ci < p.n_cur; ci++)
				wanted[ci] = need[ci] > 0;
			if ((rc = lplan_key(&p, item.id, wanted, k, &got)) < 0 || got < 0)
				break;
			if (!got)
				continue;
			int ci = lplan_cur(&p, k + 42, false);
			need[ci]--;
			needs--;
			page_put(c, k, item.id, code_rank(k + 42), (int64_t)date_of_key(k + 32), false);
		}
		rd_iter_close(&it);
	}
	if (rc >= 0 && got < 0) { /* a record the walk would not have read: walk */
		c->n_pk = 0;
		c->page_total = 0;
		goto out;
	}
	*done = true;
	__atomic_add_fetch(&rd_reports_line_plans, 1, __ATOMIC_RELAXED);
	c->contracts = p.total;
	c->page_total = p.total + foreign;
out:
	free(in_line);
	free(p.m);
	return rc < 0 ? rc : 0;
}

/* ---- tables --------------------------------------------------------------------------------- */

static json_t *table(json_t *tables, const char *name, const char *title, const char *const *cols)
{
	json_t *cj = json_array();
	for (size_t i = 0; cols[i]; i += 3)
		json_array_append_new(cj, json_pack("{s:s, s:s, s:s}", "name", cols[i], "kind", cols[i + 1], "label",
						    cols[i + 2]));
	json_t *rows = json_array();
	json_object_set_new(tables, name, json_pack("{s:s, s:o, s:o}", "title", title, "columns", cj, "rows", rows));
	return rows;
}

#define I(x) json_integer((json_int_t)(x))

static const char *const RATE_COLS[] = {
	"currency", "text", "Currency",
	"due", "count", "Contracts due",
	"resolved", "count", "Resolved",
	"won", "count", "Won",
	"lost", "count", "Lost",
	"cancelled", "count", "Cancelled",
	"due_value", "money", "Value due",
	"resolved_value", "money", "Value resolved",
	"won_value", "money", "Value won",
	"renewed_value", "money", "Value renewed",
	"resolution_bp", "rate", "Resolution",
	"close_bp", "rate", "Close",
	"conversion_bp", "rate", "Conversion",
	"rate_count_bp", "rate", "Renewal rate (count)",
	"rate_value_bp", "rate", "Renewal rate (value)",
	"resolution_value_bp", "rate", "Resolution (value)",
	"close_value_bp", "rate", "Close (value)",
	NULL,
};

/* The rate columns of RATE_COLS after currency, for one figure. */
static void rate_cells(json_t *row, const struct fig *f)
{
	json_array_append_new(row, I(f->n));
	json_array_append_new(row, I(f->resolved_n));
	json_array_append_new(row, I(f->won_n));
	json_array_append_new(row, I(f->lost_n));
	json_array_append_new(row, I(f->cancelled_n));
	json_array_append_new(row, I(f->v));
	json_array_append_new(row, I(f->resolved_v));
	json_array_append_new(row, I(f->won_v));
	json_array_append_new(row, I(f->renewed_v));
	json_array_append_new(row, bp((int64_t)f->resolved_n, (int64_t)f->n));
	json_array_append_new(row, bp((int64_t)f->won_n, (int64_t)f->resolved_n));
	json_array_append_new(row, bp(f->renewed_v, f->won_v));
	json_array_append_new(row, bp((int64_t)f->won_n, (int64_t)f->n));
	json_array_append_new(row, bp(f->renewed_v, f->v));
	json_array_append_new(row, bp(f->resolved_v, f->v));
	json_array_append_new(row, bp(f->won_v, f->resolved_v));
}

static bool fig_empty(const struct fig *f)
{
	return !f->n && !f->renewed_v && !f->due_n[0] && !f->due_n[1] && !f->due_n[2] && !f->due_n[3];
}

static json_t *report_head(const struct ctx *c, const char *name)
{
	char today[11], from[11], to[11];
	rd_date_format(c->today, today);
	rd_date_format(c->from, from);
	rd_date_format(c->to, to);
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:I, s:o}", "report", name, "today", today, "period", "from", from,
			 "to", to, "contracts", (json_int_t)c->contracts, "tables", json_object());
}

static int finish(struct ctx *c, int rc, struct rd_serr *e)
{
	if (rc >= 0 && c->overflow)
		rc = rd_serr_set(e, RD_ERANGE, "out_of_range", NULL,
				 "a sum does not fit in an amount, or more than %d currencies", MAX_CUR);
	else if (rc < 0)
		rd_serr_set(e, rc, "internal", NULL, "the store could not be read");
	ctx_free(c);
	return rc < 0 ? rc : 0;
}

/* ---- the dashboard from the counters ---------------------------------------------------------
 * The vendor's own dashboard (no channel, no sales person) reads the
 * contracts' counters (model.h RD_CNT_*, kept by the store in each write's
 * transaction): the period's twelve months, the due and open-quote days,
 * the currencies: O(months and days) rows, no walk, no record decoded.  A
 * partner's or a sales person's dashboard reads the channel's counters
 * (dash_channel: the same rows per reseller, distributor and publish, the
 * scope's pairs kept).  rd_reports_dashboard_walk is the
 * walk for every scope: the reference the tests and renewctl compare with. */

/* A 128-bit sum as an amount: false when it does not fit. */
static bool narrow(__int128 v, int64_t *out)
{
	if (v > INT64_MAX || v < INT64_MIN)
		return false;
	*out = (int64_t)v;
	return true;
}

static void add_wide(struct ctx *c, int64_t *sum, __int128 v)
{
	int64_t x;
	if (!narrow(v, &x))
		c->overflow = true;
	else
		add(c, sum, x);
}

static uint32_t month_key(int ym)
{
	return (uint32_t)ym;
}

static int cnt_cur_row(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v)
{
	struct ctx *c = arg;
	if (klen == 4 && v->n > 0)
		cur_index(c, (const char *)key + 1);
	return 0;
}

static int cnt_n_row(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v)
{
	struct ctx *c = arg;
	(void)key;
	if (klen == 1)
		c->contracts = (uint64_t)v->n;
	return 0;
}

static void fig_rows(struct ctx *c, struct fig *f, uint8_t cls, const struct rd_counter_val *v)
{
	uint32_t n = (uint32_t)v->n;
	f->n += n;
	add_wide(c, &f->v, v->a);
	if (!(cls & RD_CNT_PRICED))
		f->unpriced_n += n;
	if (cls & RD_CNT_RESOLVED) {
		f->resolved_n += n;
		add_wide(c, &f->resolved_v, v->a);
	}
	if (cls & RD_CNT_WON) {
		f->won_n += n;
		add_wide(c, &f->won_v, v->a);
	}
	if (cls & RD_CNT_LOST)
		f->lost_n += n;
	if (cls & RD_CNT_CANCELLED) {
		f->cancelled_n += n;
		add_wide(c, &f->cancelled_v, v->a);
	}
	add_wide(c, &f->renewed_v, v->b);
}

static int cnt_month_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct ctx *c = arg;
	int mi = (int)get_u32(k + 1) - c->m0;
	if (mi < 0 || mi >= 12)
		return 0;
	if (k[0] == 'F') {
		if (klen != 8)
			return 0;
		struct dash *x = &c->dash[cur_index(c, (const char *)k + 5)];
		add_wide(c, &x->all.renewed_v, v->a);
		add_wide(c, &x->months[mi].renewed_v, v->a);
		return 0;
	}
	if (klen != 11)
		return 0;
	struct dash *x = &c->dash[cur_index(c, (const char *)k + 5)];
	uint8_t cls = k[8], ch = k[9], pb = k[10];
	uint32_t n = (uint32_t)v->n;
	fig_rows(c, &x->all, cls, v);
	fig_rows(c, &x->months[mi], cls, v);
	if (ch > 2)
		return 0;
	x->chan_n[ch] += n;
	add_wide(c, &x->chan_v[ch], v->a);
	if ((cls & RD_CNT_WON) && pb <= 2) {
		x->chan_won[ch] += n;
		x->pub_n[pb] += n;
		add_wide(c, &x->chan_renewed[ch], v->b);
		add_wide(c, &x->pub_v[pb], v->b);
	}
	return 0;
}

static int window_of(int32_t days, bool later)
{
	return days < 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : later ? 4 : -1;
}

static int cnt_due_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct ctx *c = arg;
	if (klen != 9)
		return 0;
	struct dash *x = &c->dash[cur_index(c, (const char *)k + 1)];
	rd_date end = date_of_key(k + 4);
	int b = window_of(end - c->today, false);
	if (b >= 0) {
		x->all.due_n[b] += (uint32_t)v->n;
		add_wide(c, &x->all.due_v[b], v->a);
	}
	uint8_t term = k[8];
	if (end >= c->today && term >= 1 && term <= 4) {
		x->live_n[term] += (uint64_t)v->n;
		add_wide(c, &x->live_v[term], v->a);
	}
	return 0;
}

static int cnt_pipe_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct ctx *c = arg;
	if (klen != 8)
		return 0;
	struct dash *x = &c->dash[cur_index(c, (const char *)k + 1)];
	int b = window_of(date_of_key(k + 4) - c->today, true);
	x->pipe_n[b] += (uint64_t)v->n;
	add_wide(c, &x->pipe_v[b], v->a);
	return 0;
}

/* The lost reasons of the period, all of them (then the first by count). */
struct reason_acc {
	char (*text)[RD_REPKEY_REASON_MAX + 1];
	uint64_t *n;
	size_t len, cap;
};

static int cnt_reason_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct reason_acc *r = arg;
	if (klen < 6 || k[klen - 1] != 0)
		return 0;
	const char *why = (const char *)k + 5;
	for (size_t i = 0; i < r->len; i++)
		if (strcmp(r->text[i], why) == 0) {
			r->n[i] += (uint64_t)v->n;
			return 0;
		}
	if (r->len == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->text = rd_realloc(r->text, r->cap * sizeof *r->text);
		r->n = rd_realloc(r->n, r->cap * sizeof *r->n);
	}
	snprintf(r->text[r->len], sizeof r->text[0], "%s", why);
	r->n[r->len++] = (uint64_t)v->n;
	return 0;
}

static int reasons_rank(struct ctx *c, struct reason_acc *r);

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int dash_counters(struct ctx *c)
{
	struct rd_table *tb = c->d->contracts;
	uint64_t ten = c->s->vendor;
	uint8_t from[5], to[5];
	int rc = rd_txn_counters(c->t, tb, ten, "N", 1, "O", 1, cnt_n_row, c);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "C", 1, "D", 1, cnt_cur_row, c);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "D", 1, "E", 1, cnt_due_row, c);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "P", 1, "Q", 1, cnt_pipe_row, c);
	for (int kind = 0; rc >= 0 && kind < 2; kind++) {
		from[0] = to[0] = kind ? 'F' : 'M';
		uint32_t a = month_key(c->m0), b = month_key(c->m0 + 12);
		for (int i = 0; i < 4; i++) {
			from[1 + i] = (uint8_t)(a >> (24 - 8 * i));
			to[1 + i] = (uint8_t)(b >> (24 - 8 * i));
		}
		rc = rd_txn_counters(c->t, tb, ten, from, 5, to, 5, cnt_month_row, c);
	}
	if (rc < 0)
		return rc;
	/* Lost reasons: most first (ties by text), the first MAX_REASONS shown. */
	struct reason_acc r = { 0 };
	from[0] = to[0] = 'R';
	uint32_t a = month_key(c->m0), b = month_key(c->m0 + 12);
	for (int i = 0; i < 4; i++) {
		from[1 + i] = (uint8_t)(a >> (24 - 8 * i));
		to[1 + i] = (uint8_t)(b >> (24 - 8 * i));
	}
	rc = rd_txn_counters(c->t, tb, ten, from, 5, to, 5, cnt_reason_row, &r);
	if (rc >= 0)
		rc = reasons_rank(c, &r);
	free(r.text);
	free(r.n);
	return rc;
}

/* Lost reasons: most first (ties by text), the first MAX_REASONS shown. */
static int reasons_rank(struct ctx *c, struct reason_acc *rp)
{
	struct reason_acc r = *rp;
	for (size_t i = 0; i < r.len; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < r.len; j++)
			if (r.n[j] > r.n[best] || (r.n[j] == r.n[best] && strcmp(r.text[j], r.text[best]) < 0))
				best = j;
		if (best != i) {
			char tmp[RD_REPKEY_REASON_MAX + 1];
			memcpy(tmp, r.text[i], sizeof tmp);
			memcpy(r.text[i], r.text[best], sizeof tmp);
			memcpy(r.text[best], tmp, sizeof tmp);
			uint64_t x = r.n[i];
			r.n[i] = r.n[best];
			r.n[best] = x;
		}
		if (i < MAX_REASONS) {
			snprintf(c->reasons[c->n_reasons], sizeof c->reasons[0], "%s", r.text[i]);
			c->reason_n[c->n_reasons++] = r.n[i];
		} else {
			c->other_reasons += r.n[i];
		}
	}
	return 0;
}

/* ---- the channel's counters: partners' and sales people's dashboards, the rankings -----------
 * The same figures per (reseller, distributor, quote's publish) (model.h
 * 'a' 'c' 'm' 'f' 'd' 'y' 'r' 'p' 'q'): a scope (a partner and the
 * partners under it, a sales person) keeps the rows of the pairs it sees,
 * as the walk keeps the contracts; each row kept is read as the vendor's
 * row it stands for.  The due and open-quote windows read day rows from
 * this month's first to the end of the month 90 days ahead, month rows
 * before and after. */

/* The sales person of a pair (sales_of). */
static uint64_t pair_sales(const struct ctx *c, const uint8_t *x)
{
	uint8_t pub = x[16] ? x[16] : c->publish_default;
	if (pub != RD_PUBLISH_PARTNER)
		return c->vendor_sales;
	uint64_t r = be64(x), d = be64(x + 8);
	const struct rd_partner *p = partner(c, r ? r : d);
	return p ? p->sales_user_id : 0;
}

static bool pair_in_scope(const struct ctx *c, const uint8_t *x)
{
	if (c->s->channel && !in_channel(c->s, be64(x), be64(x + 8)))
		return false;
	return !c->s->sales_user || pair_sales(c, x) == c->s->sales_user;
}

struct xrow {
	struct ctx *c;
	int this_m, last_m; /* months read by day: [this_m, last_m] */
	void *inner;        /* the reasons */
};

static int xmonth(const uint8_t *k) { return (int)get_u32(k); }

static int x_a_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	if (klen == 18 && pair_in_scope(x->c, k + 1))
		x->c->contracts += (uint64_t)v->n;
	return 0;
}

static int x_c_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	uint8_t key[4] = { 'C', k[18], k[19], k[20] };
	if (klen == 21 && pair_in_scope(x->c, k + 1))
		cnt_cur_row(x->c, key, 4, v);
	return 0;
}

/* 'm' and 'f' as 'M' and 'F'. */
static int x_m_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	if ((klen != 27 && klen != 25) || !pair_in_scope(x->c, k + 5))
		return 0;
	uint8_t key[11];
	key[0] = k[0] == 'm' ? 'M' : 'F';
	memcpy(key + 1, k + 1, 4);
	memcpy(key + 5, k + 22, 3);
	if (klen == 25)
		return k[0] == 'f' ? cnt_month_row(x->c, key, 8, v) : 0;
	if (k[0] != 'm')
		return 0;
	key[8] = k[25];
	key[9] = be64(k + 13) ? 2 : be64(k + 5) ? 1 : 0;
	key[10] = k[26];
	return cnt_month_row(x->c, key, 11, v);
}

/* The first eight bytes of a channel row's key k as the vendor's kind
 * `kind` (its currency, then its day): a month row (`month`, its first day
 * standing for its days) gives the month's first day, a day row its day.
 * False for a month read by day instead (its day rows carry it). */
static bool x_day_key(const struct xrow *x, uint8_t kind, const uint8_t *k, bool month, uint8_t *key)
{
	key[0] = kind;
	memcpy(key + 1, k + 22, 3);
	if (!month) {
		memcpy(key + 4, k + 1, 4);
		return true;
	}
	int m = xmonth(k + 1);
	if (m >= x->this_m && m <= x->last_m)
		return false;
	rd_date_key(rd_date_from_ymd(m / 12, m % 12 + 1, 1), key + 4);
	return true;
}

/* 'd' (a month's first day standing for its days) and 'y' as 'D'. */
static int x_d_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	if (klen != 26 || !pair_in_scope(x->c, k + 5))
		return 0;
	uint8_t key[9];
	if (!x_day_key(x, 'D', k, k[0] == 'd', key))
		return 0;
	key[8] = k[25];
	return cnt_due_row(x->c, key, 9, v);
}

/* 'p' and 'q' as 'P'. */
static int x_p_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	if (klen != 25 || !pair_in_scope(x->c, k + 5))
		return 0;
	uint8_t key[8];
	if (!x_day_key(x, 'P', k, k[0] == 'p', key))
		return 0;
	return cnt_pipe_row(x->c, key, 8, v);
}

static int x_r_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	if (klen < 23 || klen > 22 + RD_REPKEY_REASON_MAX + 1 || !pair_in_scope(x->c, k + 5))
		return 0;
	uint8_t key[5 + RD_REPKEY_REASON_MAX + 1];
	key[0] = 'R';
	memcpy(key + 1, k + 1, 4);
	memcpy(key + 5, k + 22, klen - 22);
	return cnt_reason_row(x->inner, key, klen - 17, v);
}

static int x_range(struct ctx *c, char tag, int from_m, int to_m, rd_counter_row_fn fn, struct xrow *x)
{
	uint8_t from[5] = { (uint8_t)tag }, to[5] = { (uint8_t)tag };
	put_be32(from + 1, month_key(from_m));
	put_be32(to + 1, month_key(to_m));
	return rd_txn_counters(c->t, c->d->contracts, c->s->vendor, from, 5, to, 5, fn, x);
}

static int x_days(struct ctx *c, char tag, rd_date from_d, rd_date to_d, rd_counter_row_fn fn, struct xrow *x)
{
	uint8_t from[5] = { (uint8_t)tag }, to[5] = { (uint8_t)tag };
	rd_date_key(from_d, from + 1);
	rd_date_key(to_d, to + 1);
	return rd_txn_counters(c->t, c->d->contracts, c->s->vendor, from, 5, to, 5, fn, x);
}

/* The dashboard of a scope from the channel's counters. */
static int dash_channel(struct ctx *c)
{
	struct rd_table *tb = c->d->contracts;
	uint64_t ten = c->s->vendor;
	struct reason_acc ra = { 0 };
	struct xrow x = { c, 0, 0, &ra };
	int y, m, dd;
	rd_date_to_ymd(c->today, &y, &m, &dd);
	x.this_m = y * 12 + m - 1;
	rd_date_to_ymd(c->today + 90, &y, &m, &dd);
	x.last_m = y * 12 + m - 1;
	rd_date day0 = rd_date_from_ymd(x.this_m / 12, x.this_m % 12 + 1, 1);
	rd_date day1 = rd_date_from_ymd((x.last_m + 1) / 12, (x.last_m + 1) % 12 + 1, 1);
	int rc = rd_txn_counters(c->t, tb, ten, "a", 1, "b", 1, x_a_row, &x);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "c", 1, "d", 1, x_c_row, &x);
	if (rc >= 0)
		rc = x_range(c, 'm', c->m0, c->m0 + 12, x_m_row, &x);
	if (rc >= 0)
		rc = x_range(c, 'f', c->m0, c->m0 + 12, x_m_row, &x);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "d", 1, "e", 1, x_d_row, &x);
	if (rc >= 0)
		rc = x_days(c, 'y', day0, day1, x_d_row, &x);
	if (rc >= 0)
		rc = rd_txn_counters(c->t, tb, ten, "p", 1, "q", 1, x_p_row, &x);
	if (rc >= 0)
		rc = x_days(c, 'q', day0, day1, x_p_row, &x);
	if (rc >= 0)
		rc = x_range(c, 'r', c->m0, c->m0 + 12, x_r_row, &x);
	if (rc >= 0)
		rc = reasons_rank(c, &ra);
	free(ra.text);
	free(ra.n);
	return rc;
}

static const char *const WINDOWS[] = { "overdue", "0-30", "31-60", "61-90", "later" };
static const char *const TERMS[] = { "", "annual", "quarterly", "monthly", "flex" };
static const int TERM_MONTHS[] = { 1, 12, 3, 1, 1 };

static int dashboard(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, const struct rd_rep_opts *o,
		     bool walk, json_t **out, struct rd_serr *e)
{
	struct ctx c;
	int rc;
	if (walk) {
		rc = ctx_begin(&c, t, d, s, o);
		c.dash = rd_calloc(MAX_CUR, sizeof *c.dash);
		if (rc >= 0)
			rc = walk_product(&c, 0);
	} else if (s->channel || s->sales_user) {
		ctx_dates(&c, t, d, s, o);
		c.dash = rd_calloc(MAX_CUR, sizeof *c.dash);
		rc = load_partners(&c);
		if (rc >= 0)
			rc = dash_channel(&c);
	} else {
		ctx_dates(&c, t, d, s, o);
		c.dash = rd_calloc(MAX_CUR, sizeof *c.dash);
		rc = dash_counters(&c);
	}
	if (rc < 0 || c.overflow)
		return finish(&c, rc, e);
	json_t *rep = report_head(&c, "dashboard");
	json_t *tb = json_object_get(rep, "tables");
	static const char *const due_cols[] = { "currency", "text", "Currency", "window", "text", "Due in (days)",
						"contracts", "count", "Contracts", "value", "money", "Value", NULL };
	json_t *due = table(tb, "due", "Contracts and value due", due_cols);
	json_t *rate = table(tb, "rate", "Renewal rate over the period", RATE_COLS);
	static const char *const month_head[] = { "currency", "text", "Currency", "month", "text", "Month", NULL };
	static const char *const quarter_head[] = { "currency", "text", "Currency", "quarter", "text", "Quarter", NULL };
	const char *mcols[64], *qcols[64];
	size_t nh = 0;
	for (size_t i = 0; month_head[i]; i++, nh++) {
		mcols[nh] = month_head[i];
		qcols[nh] = quarter_head[i];
	}
	for (size_t i = 3; RATE_COLS[i]; i++, nh++)
		mcols[nh] = qcols[nh] = RATE_COLS[i];
	mcols[nh] = qcols[nh] = NULL;
	json_t *months = table(tb, "months", "Renewal rate by month", mcols);
	json_t *quarters = table(tb, "quarters", "Renewal rate by quarter", qcols);
	static const char *const canc_cols[] = { "currency", "text", "Currency", "cancelled", "count", "Contracts cancelled",
						 "value", "money", "Value cancelled", "lost", "count", "Contracts lost", NULL };
	json_t *canc = table(tb, "cancellations", "Cancellations", canc_cols);
	static const char *const reason_cols[] = { "reason", "text", "Lost reason", "count", "count", "Quotes lost", NULL };
	json_t *reasons = table(tb, "lost_reasons", "Lost reasons", reason_cols);
	static const char *const mrr_cols[] = { "currency", "text", "Currency", "term", "text", "Billing term",
						"contracts", "count", "Live contracts", "mrr", "money",
						"Monthly recurring revenue", NULL };
	json_t *mrr = table(tb, "mrr", "Monthly recurring revenue by billing term", mrr_cols);
	static const char *const pub_cols[] = { "currency", "text", "Currency", "publish", "text", "Sold by",
						"won", "count", "Renewals won", "renewed_value", "money", "Value renewed", NULL };
	json_t *pub = table(tb, "publish", "Direct and indirect: who sold the renewal", pub_cols);
	static const char *const chan_cols[] = { "currency", "text", "Currency", "channel", "text", "Channel",
						 "due", "count", "Contracts due", "due_value", "money", "Value due",
						 "won", "count", "Won", "renewed_value", "money", "Value renewed", NULL };
	json_t *chan = table(tb, "channel", "Direct and indirect: by channel", chan_cols);
	static const char *const pipe_cols[] = { "currency", "text", "Currency", "window", "text", "Contract ends in (days)",
						 "opportunities", "count", "Open quotes", "value", "money", "Value at list", NULL };
	json_t *pipe = table(tb, "pipeline", "Pipeline by window", pipe_cols);
	/* Currencies in code order, so that reports read the same every time. */
	int order[MAX_CUR];
	for (int i = 0; i < c.n_cur; i++)
		order[i] = i;
	for (int i = 1; i < c.n_cur; i++)
		for (int j = i; j > 0 && strcmp(c.cur[order[j - 1]], c.cur[order[j]]) > 0; j--) {
			int x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (int oi = 0; oi < c.n_cur; oi++) {
		int ci = order[oi];
		const char *cur = c.cur[ci];
		struct dash *x = &c.dash[ci];
		for (int b = 0; b < 4; b++)
			json_array_append_new(due, json_pack("[s, s, o, o]", cur, WINDOWS[b], I(x->all.due_n[b]), I(x->all.due_v[b])));
		json_t *row = json_pack("[s]", cur);
		rate_cells(row, &x->all);
		json_array_append_new(rate, row);
		struct fig q = { 0 };
		int qkey = -1;
		for (int m = 0; m < 12; m++) {
			int mm = c.m0 + m;
			char label[16];
			snprintf(label, sizeof label, "%04d-%02d", mm / 12, mm % 12 + 1);
			row = json_pack("[s, s]", cur, label);
			rate_cells(row, &x->months[m]);
			json_array_append_new(months, row);
			int k = (mm / 12) * 4 + (mm % 12) / 3;
			if (qkey != -1 && k != qkey) {
				snprintf(label, sizeof label, "%04d-Q%d", qkey / 4, qkey % 4 + 1);
				row = json_pack("[s, s]", cur, label);
				rate_cells(row, &q);
				json_array_append_new(quarters, row);
				memset(&q, 0, sizeof q);
			}
			qkey = k;
			const struct fig *f = &x->months[m];
			q.n += f->n, q.resolved_n += f->resolved_n, q.won_n += f->won_n, q.lost_n += f->lost_n;
			q.cancelled_n += f->cancelled_n;
			add(&c, &q.v, f->v), add(&c, &q.resolved_v, f->resolved_v), add(&c, &q.won_v, f->won_v);
			add(&c, &q.renewed_v, f->renewed_v);
		}
		char label[16];
		snprintf(label, sizeof label, "%04d-Q%d", qkey / 4, qkey % 4 + 1);
		row = json_pack("[s, s]", cur, label);
		rate_cells(row, &q);
		json_array_append_new(quarters, row);
		json_array_append_new(canc, json_pack("[s, o, o, o]", cur, I(x->all.cancelled_n), I(x->all.cancelled_v),
						      I(x->all.lost_n)));
		for (int tm = 1; tm <= 4; tm++)
			json_array_append_new(mrr, json_pack("[s, s, o, o]", cur, TERMS[tm], I(x->live_n[tm]),
							     I(x->live_v[tm] / TERM_MONTHS[tm])));
		static const char *const pubs[] = { "vendor", "partner", "undecided" };
		for (int p = 0; p < 3; p++)
			json_array_append_new(pub, json_pack("[s, s, o, o]", cur, pubs[p], I(x->pub_n[p]), I(x->pub_v[p])));
		static const char *const chans[] = { "direct", "reseller", "distributor" };
		for (int h = 0; h < 3; h++)
			json_array_append_new(chan, json_pack("[s, s, o, o, o, o]", cur, chans[h], I(x->chan_n[h]),
							      I(x->chan_v[h]), I(x->chan_won[h]), I(x->chan_renewed[h])));
		for (int b = 0; b < 5; b++)
			json_array_append_new(pipe, json_pack("[s, s, o, o]", cur, WINDOWS[b], I(x->pipe_n[b]), I(x->pipe_v[b])));
	}
	/* Reasons by count, most first. */
	int ri[MAX_REASONS];
	for (int i = 0; i < c.n_reasons; i++)
		ri[i] = i;
	for (int i = 1; i < c.n_reasons; i++)
		for (int j = i; j > 0 && (c.reason_n[ri[j - 1]] < c.reason_n[ri[j]] ||
					  (c.reason_n[ri[j - 1]] == c.reason_n[ri[j]] &&
					   strcmp(c.reasons[ri[j - 1]], c.reasons[ri[j]]) > 0)); j--) {
			int x = ri[j];
			ri[j] = ri[j - 1];
			ri[j - 1] = x;
		}
	for (int i = 0; i < c.n_reasons; i++)
		json_array_append_new(reasons, json_pack("[s, o]", c.reasons[ri[i]], I(c.reason_n[ri[i]])));
	if (c.other_reasons)
		json_array_append_new(reasons, json_pack("[s, o]", "(other reasons)", I(c.other_reasons)));
	if (c.overflow) {
		json_decref(rep);
		return finish(&c, 0, e);
	}
	*out = rep;
	return finish(&c, 0, e);
}

int rd_reports_dashboard(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			 const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return dashboard(t, d, s, o, false, out, e);
}

int rd_reports_dashboard_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			      const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return dashboard(t, d, s, o, true, out, e);
}

/* ---- drill-down and rankings ---------------------------------------------------------------- */

int rd_rep_by_parse(const char *s)
{
	static const char *const names[] = { "", "line", "product", "contract", "customer", "reseller", "distributor",
					     "sales" };
	for (int i = 1; s && i < 8; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 0;
}

const char *rd_rep_by_name(int by)
{
	static const char *const names[] = { "", "line", "product", "contract", "customer", "reseller", "distributor",
					     "sales" };
	return by >= 1 && by <= 7 ? names[by] : "";
}

/* The label of a group (a name people read). */
static void label_of(struct ctx *c, const struct gfig *g, char *out, size_t cap)
{
	out[0] = 0;
	switch (c->by) {
	case RD_REP_BY_LINE:
		snprintf(out, cap, "%s", g->gid && (int)g->gid <= c->n_lines ? c->lines[g->gid - 1] : "");
		break;
	case RD_REP_BY_PRODUCT: {
		uint32_t i = map_get(&c->prod_ix, g->gid);
		if (i != UINT32_MAX)
			snprintf(out, cap, "%s (%s)", c->prods[i].name, c->prods[i].external_id);
		break;
	}
	case RD_REP_BY_CONTRACT: {
		struct rd_contract k;
		if (rd_entity_get(c->t, c->d->contracts, &rd_entity_contract, c->s->vendor, g->gid, &k) == 0)
			snprintf(out, cap, "%s", k.external_id[0] ? k.external_id : "(no external id)");
		break;
	}
	case RD_REP_BY_CUSTOMER: {
		struct rd_customer k;
		if (rd_entity_get(c->t, c->d->customers, &rd_entity_customer, c->s->vendor, g->gid, &k) == 0)
			snprintf(out, cap, "%s", k.name);
		break;
	}
	case RD_REP_BY_RESELLER:
	case RD_REP_BY_DISTRIBUTOR: {
		const struct rd_partner *p = partner(c, g->gid);
		if (p)
			snprintf(out, cap, "%s", p->name);
		break;
	}
	case RD_REP_BY_SALES: {
		struct rd_user u;
		if (rd_entity_get(c->t, c->d->users, &rd_entity_user, c->s->vendor, g->gid, &u) == 0)
			snprintf(out, cap, "%s", u.name[0] ? u.name : u.email);
		break;
	}
	}
	if (!out[0])
		snprintf(out, cap, "#%llu", (unsigned long long)g->gid);
}

static const char *const GROUP_HEAD[] = { "id", "id", "Id", "label", "text", "Name", NULL };
static const char *const GROUP_TAIL[] = {
	"upcoming", "count", "Due in 90 days", "upcoming_value", "money", "Value due in 90 days",
	"overdue", "count", "Overdue", "overdue_value", "money", "Value overdue", NULL,
};
static const char *const CONTRACT_EXTRA[] = { "end", "text", "Ends", "status", "text", "Status", "outcome", "text",
					      "Outcome", "value", "money", "Value", NULL };

static void group_row_cells(json_t *row, const struct fig *f)
{
	rate_cells(row, f);
	json_array_append_new(row, I(f->due_n[1] + f->due_n[2] + f->due_n[3]));
	json_array_append_new(row, I(f->due_v[1] + f->due_v[2] + f->due_v[3]));
	json_array_append_new(row, I(f->due_n[0]));
	json_array_append_new(row, I(f->due_v[0]));
}

static size_t cols_cat(const char **dst, size_t n, const char *const *src, size_t skip)
{
	for (size_t i = skip; src[i]; i++)
		dst[n++] = src[i];
	dst[n] = NULL;
	return n;
}

/* The drill-down's order: currency (by code), then contracts by end date
 * and other groups by value due, most first; ties by id.  Sorted as small
 * keys (not the figures, nor pointers to them): a million contracts' groups
 * sort in cache. */

static int by_skey(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;
	if (x->major != y->major)
		return x->major < y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	return x->gid < y->gid ? -1 : x->gid > y->gid;
}

static void heap_down(struct skey *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, big = i;
		if (l < n && by_skey(&h[l], &h[big]) > 0)
			big = l;
		if (l + 1 < n && by_skey(&h[l + 1], &h[big]) > 0)
			big = l + 1;
		if (big == i)
			return;
		struct skey x = h[i];
		h[i] = h[big];
		h[big] = x;
		i = big;
	}
}

/* Moves the k first keys in by_skey order (a total order: currency and id
 * tell any two groups apart) to the front, unsorted, and answers how many
 * that is: a max-heap of k over n keys, so that a page of 500 rows out of
 * 150,000 customers' groups costs n log k comparisons, not a full sort. */
static size_t select_first(struct skey *v, size_t n, size_t k)
{
	if (n <= k)
		return n;
	for (size_t i = k / 2; i-- > 0;)
		heap_down(v, k, i);
	for (size_t i = k; i < n; i++)
		if (by_skey(&v[i], &v[0]) < 0) {
			v[0] = v[i];
			heap_down(v, k, 0);
		}
	return k;
}

static void heap_up(struct skey *h, size_t i)
{
	while (i > 0) {
		size_t up = (i - 1) / 2;
		if (by_skey(&h[i], &h[up]) <= 0)
			return;
		struct skey x = h[i];
		h[i] = h[up];
		h[up] = x;
		i = up;
	}
}

/* The current customer's groups (c->g) are complete: the shown ones
 * (fig_empty: not shown) are counted and offered to their currency's heap
 * of the first c->stream (by -value, then id; the currency's rank is the
 * same for all of them). */
static int64_t rate_of(const struct gfig *g);

/* Offers g to heap h of the first c->stream keys in by_skey order. */
static void sheap_offer(struct ctx *c, struct sheap *h, struct skey key, const struct gfig *g)
{
	if (!h->k) {
		h->k = rd_calloc(c->stream, sizeof *h->k);
		h->slot = rd_calloc(c->stream, sizeof *h->slot);
	}
	if (h->n < c->stream) {
		h->slot[h->n] = *g;
		key.g = &h->slot[h->n];
		h->k[h->n] = key;
		heap_up(h->k, h->n++);
	} else if (by_skey(&key, &h->k[0]) < 0) {
		key.g = h->k[0].g;
		*key.g = *g;
		h->k[0] = key;
		heap_down(h->k, h->n, 0);
	}
}

/* The rankings by customer's stream_flush (see rank_stream). */
static void rank_flush(struct ctx *c)
{
	for (size_t i = 0; i < c->n_g; i++) {
		const struct gfig *g = &c->g[i];
		if (!g->f.n)
			continue; /* not ranked */
		c->rank_n[g->cur]++;
		int64_t minor[2] = { -g->f.renewed_v, -rate_of(g) };
		for (int k = 0; k < 2; k++) {
			sheap_offer(c, &c->rh[g->cur][k * 2], (struct skey){ 0, minor[k], g->gid, NULL, 0 }, g);
			sheap_offer(c, &c->rh[g->cur][k * 2 + 1], (struct skey){ 0, ~minor[k], ~g->gid, NULL, 0 }, g);
		}
	}
	c->n_g = 0;
	c->last_g = NULL;
}

static void stream_flush(struct ctx *c)
{
	if (c->rank_stream) {
		rank_flush(c);
		return;
	}
	for (size_t i = 0; i < c->n_g; i++) {
		const struct gfig *g = &c->g[i];
		if (fig_empty(&g->f))
			continue;
		c->stream_kept++;
		sheap_offer(c, &c->sh[g->cur], (struct skey){ 0, -g->f.v, g->gid, NULL }, g);
	}
	c->n_g = 0;
	c->last_g = NULL;
}

static const char *const STATUS_NAMES[] = { "", "live", "renewed", "cancelled", "expired", "ordered" };

/* ---- the drill-down's line and product levels from the counters ------------------------------
 * The vendor's drill by line or by product (all, one line's, one
 * product's) reads the per-product counters (model.h 'K', 'G', 'H', 'E',
 * 'e'): the period's months, the months before today's and the days from
 * its first to 90 days ahead, every product's rows in one range each; no
 * walk.  The contract list keeps a page (page_offer), a customer filter
 * joins by id (join_seek), scoped callers and the customer level walk. */

struct dsel {
	struct ctx *c;
	const struct rd_rep_filter *f;
	bool totals_only; /* the contract list: its rows are the page's */
};

/* The group of product pid in the drill, or false when the filter leaves it out. */
static bool drill_gid(struct dsel *x, uint64_t pid, uint64_t *gid)
{
	struct ctx *c = x->c;
	uint32_t pi = prod_index(c, pid);
	if (x->f->product && pid != x->f->product)
		return false;
	if (x->f->line[0] && (pi == UINT32_MAX || strcmp(c->lines[c->prod_line[pi]], x->f->line) != 0))
		return false;
	*gid = c->by == RD_REP_BY_LINE ? (pi == UINT32_MAX ? 0 : (uint64_t)c->prod_line[pi] + 1) : pid;
	return true;
}

static int drill_k_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct dsel *x = arg;
	uint64_t gid;
	if (klen == 9 && !x->totals_only && drill_gid(x, be64(k + 1), &gid))
		x->c->contracts += (uint64_t)v->n;
	return 0;
}

static int drill_g_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct dsel *x = arg;
	struct ctx *c = x->c;
	uint64_t gid;
	if ((klen != 17 && klen != 16) || !drill_gid(x, be64(k + 5), &gid))
		return 0;
	int ci = cur_index(c, (const char *)k + 13);
	if (k[0] == 'H') {
		if (!x->totals_only)
			add_wide(c, &group(c, gid, ci)->f.renewed_v, v->a);
		add_wide(c, &c->totals[ci].renewed_v, v->a);
		return 0;
	}
	if (klen != 17)
		return 0;
	if (!x->totals_only)
		fig_rows(c, &group(c, gid, ci)->f, k[16], v);
	fig_rows(c, &c->totals[ci], k[16], v);
	return 0;
}

static int drill_due_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct dsel *x = arg;
	struct ctx *c = x->c;
	uint64_t gid;
	if (klen != 16 || !drill_gid(x, be64(k + 5), &gid))
		return 0;
	int b = k[0] == 'E' ? 0 : window_of(date_of_key(k + 1) - c->today, false);
	if (b < 0)
		return 0;
	int ci = cur_index(c, (const char *)k + 13);
	struct fig *fs[2] = { &c->totals[ci], x->totals_only ? NULL : &group(c, gid, ci)->f };
	for (int i = 0; i < 2 && fs[i]; i++) {
		fs[i]->due_n[b] += (uint32_t)v->n;
		add_wide(c, &fs[i]->due_v[b], v->a);
	}
	return 0;
}

static int drill_counters(struct ctx *c, const struct rd_rep_filter *f, bool totals_only)
{
	struct dsel x = { c, f, totals_only };
	struct rd_table *tb = c->d->contracts;
	uint64_t ten = c->s->vendor;
	int y, m, dd;
	rd_date_to_ymd(c->today, &y, &m, &dd);
	uint8_t from[5], to[5];
	int rc = rd_txn_counters(c->t, tb, ten, "K", 1, "L", 1, drill_k_row, &x);
	for (int kind = 0; rc >= 0 && kind < 2; kind++) { /* the period: 'G', then 'H' */
		from[0] = to[0] = kind ? 'H' : 'G';
		put_be32(from + 1, month_key(c->m0));
		put_be32(to + 1, month_key(c->m0 + 12));
		rc = rd_txn_counters(c->t, tb, ten, from, 5, to, 5, drill_g_row, &x);
	}
	/* Overdue before this month; then the days from its first to 90 ahead. */
	if (rc >= 0) {
		from[0] = to[0] = 'E';
		put_be32(from + 1, 0);
		put_be32(to + 1, month_key(y * 12 + m - 1));
		rc = rd_txn_counters(c->t, tb, ten, from, 5, to, 5, drill_due_row, &x);
	}
	if (rc >= 0) {
		from[0] = to[0] = 'e';
		rd_date_key(rd_date_from_ymd(y, m, 1), from + 1);
		rd_date_key(c->today + 91, to + 1);
		rc = rd_txn_counters(c->t, tb, ten, from, 5, to, 5, drill_due_row, &x);
	}
	return rc;
}

/* ---- the vendor's customer level: ranked by the keys, figured for the page ----------------
 * The level's order is currency, then the period's value, most first, then
 * the customer: the value is the product's price times the seats of the
 * contracts ending in the period, which no join changes.  So one walk of
 * the customer-first keys without any join (customer_rank) ranks every
 * customer's groups, keeping the first `limit` of each currency; when the
 * first currency (by code) alone fills the page with groups of a value
 * above zero (each shown whatever its joins say) and more groups than the
 * page are sure to be shown, only the page's customers are walked again
 * with their joins for their figures; the totals come from the
 * per-product counters.  Otherwise (a page that reaches groups of no
 * value, which the joins alone tell shown or not, or a currency paid for
 * renewals only that comes first) the whole level is walked as before. */

struct crank {
	struct skey *k[MAX_CUR];     /* per currency: the first `limit` groups of a value above zero (max-heap) */
	size_t n[MAX_CUR];
	uint64_t pos[MAX_CUR];       /* groups of a value above zero */
	uint64_t shown;              /* groups with a contract in the period: shown whatever the joins say */
	uint64_t cust;               /* the customer being added up */
	int64_t v[MAX_CUR];
	uint32_t np[MAX_CUR];
	uint64_t mask;               /* its currencies */
	unsigned limit;
	bool bad;                    /* a sum that does not fit: the walk says so */
};

static void crank_flush(struct crank *x)
{
	for (uint64_t m = x->mask; m; m &= m - 1) {
		int ci = __builtin_ctzll(m);
		if (x->np[ci])
			x->shown++;
		if (x->v[ci] > 0) {
			x->pos[ci]++;
			struct skey key = { 0, -x->v[ci], x->cust, NULL, 0 };
			if (!x->k[ci])
				x->k[ci] = rd_calloc(x->limit, sizeof *x->k[ci]);
			if (x->n[ci] < x->limit) {
				x->k[ci][x->n[ci]] = key;
				heap_up(x->k[ci], x->n[ci]++);
			} else if (by_skey(&key, &x->k[ci][0]) < 0) {
				x->k[ci][0] = key;
				heap_down(x->k[ci], x->n[ci], 0);
			}
		}
		x->v[ci] = 0;
		x->np[ci] = 0;
	}
	x->mask = 0;
}

static int crank_c_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	(void)v;
	uint8_t *fc = arg;
	if (klen == 4 && (!fc[3] || memcmp(k + 1, fc, 3) < 0)) {
		memcpy(fc, k + 1, 3);
		fc[3] = 1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b);

/* The vendor's customer level's page (see above) into c's stream heaps;
 * *done false when the level must be walked.  c holds every join. */
static int customer_page(struct ctx *c, const struct rd_rep_filter *f, bool *done)
{
	*done = false;
	if (strcmp(rd_txn_backend(c->t), "lmdb") != 0)
		return 0; /* a range walk per customer of the page is a statement each: one walk */
	struct crank *x = rd_calloc(1, sizeof *x);
	x->limit = c->stream;
	uint64_t contracts = 0, last_product = 0;
	const struct rd_product *prod = NULL;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, c->t, c->d->contracts, RD_IDX_REPORT_CUSTOMER, c->s->vendor, NULL, 0, NULL, 0);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != RD_REPKEY_CONTRACT_LEN)
			continue;
		const uint8_t *k = item.key;
		contracts++;
		rd_date end = date_of_key(k + 32);
		uint64_t cust = be64(k);
		if (end < c->from || end > c->to || !cust)
			continue; /* no value; no group (group_add) without a customer */
		if (cust != x->cust) {
			crank_flush(x);
			x->cust = cust;
		}
		uint64_t product = be64(k + 8);
		if (product != last_product) {
			uint32_t pi = prod_index(c, product);
			prod = pi == UINT32_MAX ? NULL : &c->prods[pi];
			last_product = product;
		}
		int cur = cur_index(c, (const char *)k + 42);
		int64_t value;
		key_value(c, k, product, prod, cur, &value);
		x->mask |= 1ull << cur;
		x->np[cur]++;
		if (__builtin_add_overflow(x->v[cur], value, &x->v[cur]))
			x->bad = true;
	}
	rd_iter_close(&it);
	crank_flush(x);
	/* The first currency by code that any contract, paid order or open
	 * quote names ('C'): its groups come first, whether they have a value
	 * in the period or not. */
	int first = -1;
	if (rc >= 0) {
		uint8_t fc[4] = { 0 }; /* the least code; fc[3]: any */
		rc = rd_txn_counters(c->t, c->d->contracts, c->s->vendor, "C", 1, "D", 1, crank_c_row, fc);
		for (int ci = 0; fc[3] && ci < c->n_cur; ci++)
			if (memcmp(c->cur[ci], fc, 3) == 0)
				first = ci;
	}
	if (rc < 0 || x->bad || c->overflow || first < 0 || x->pos[first] < x->limit || x->shown <= x->limit)
		goto out;
	*done = true;
	__atomic_add_fetch(&rd_reports_customer_pages, 1, __ATOMIC_RELAXED);
	/* The page's customers, walked with their joins (in id order). */
	size_t n = x->n[first];
	uint64_t *ids = rd_malloc(n * sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = x->k[first][i].gid;
	qsort(ids, n, sizeof *ids, cmp_u64);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = walk_customer(c, ids[i]);
	free(ids);
	stream_flush(c);
	c->stream_kept = x->shown;
	c->contracts = contracts;
	memset(c->totals, 0, sizeof c->totals);
	if (rc >= 0)
		rc = drill_counters(c, f, true);
out:
	for (int ci = 0; ci < MAX_CUR; ci++)
		free(x->k[ci]);
	free(x);
	return rc < 0 ? rc : 0;
}

/* Whether a partner's scope sees few of the vendor's contracts (an eighth
 * or less, by the channel's counters): its product's or line's contracts
 * are then cheaper joined one by one than with every join loaded. */
static bool narrow_scope(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			 const struct rd_rep_opts *o)
{
	struct ctx c;
	ctx_dates(&c, t, d, s, o);
	struct xrow x = { &c, 0, 0, NULL };
	int rc = rd_txn_counters(t, d->contracts, s->vendor, "a", 1, "b", 1, x_a_row, &x);
	uint64_t mine = c.contracts;
	c.contracts = 0;
	if (rc >= 0)
		rc = rd_txn_counters(t, d->contracts, s->vendor, "N", 1, "O", 1, cnt_n_row, &c);
	bool narrow = rc >= 0 && mine * 8 <= c.contracts;
	ctx_free(&c);
	return narrow;
}

static int drill(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
		 const struct rd_rep_filter *f, const struct rd_rep_opts *o, bool walk, json_t **out, struct rd_serr *e)
{
	if (by != RD_REP_BY_LINE && by != RD_REP_BY_PRODUCT && by != RD_REP_BY_CONTRACT && by != RD_REP_BY_CUSTOMER)
		return rd_serr_set(e, RD_EINVAL, "invalid", "by", "by is line, product, contract or customer");
	struct rd_rep_filter ff = *f;
	f = &ff;
	if (f->contract) {
		struct rd_contract k;
		int grc = rd_entity_get(t, d->contracts, &rd_entity_contract, s->vendor, f->contract, &k);
		if (grc == RD_ENOTFOUND || by != RD_REP_BY_CONTRACT)
			return grc == RD_ENOTFOUND ? rd_serr_set(e, RD_ENOTFOUND, "not_found", "contract", "no such contract")
						   : rd_serr_set(e, RD_EINVAL, "invalid", "contract", "contract goes with by=contract");
		if (grc < 0)
			return rd_serr_set(e, grc, "internal", NULL, "the store could not be read");
		if ((ff.product && ff.product != k.product_id) || (ff.customer && ff.customer != k.customer_id))
			return rd_serr_set(e, RD_ENOTFOUND, "not_found", "contract", "no such contract");
		ff.product = k.product_id;
		ff.line[0] = 0;
	}
	if (by == RD_REP_BY_CONTRACT && !f->product && !f->customer && !f->line[0])
		return rd_serr_set(e, RD_EINVAL, "invalid", "by",
				   "contracts are listed for a product line, a product or a customer");
	struct ctx c;
	bool cnt = !walk && !s->channel && !s->sales_user && !f->customer && !f->contract &&
		   (by == RD_REP_BY_LINE || by == RD_REP_BY_PRODUCT);
	/* The vendor's list of a product's or a line's contracts: the first
	 * rows kept as the keys go by, only they joined; totals from the
	 * counters.  A customer's contracts, or one contract: a short range,
	 * each contract joined by its id. */
	bool list = !walk && !s->channel && !s->sales_user && !f->customer && !f->contract &&
		    by == RD_REP_BY_CONTRACT && (f->product || f->line[0]);
	bool lazy = !walk && (f->customer || f->contract ||
			      (s->channel && !s->sales_user && (f->product || f->line[0]) && narrow_scope(t, d, s, o)));
	int rc;
	if (cnt) {
		ctx_dates(&c, t, d, s, o);
		rc = load_products(&c);
	} else {
		rc = ctx_begin_with(&c, t, d, s, o, !list && !lazy);
	}
	if (rc >= 0 && list) {
		c.page = o && o->limit ? o->limit : 500;
		c.pk = rd_calloc(c.page, sizeof *c.pk);
		c.ps = rd_calloc(c.page, sizeof *c.ps);
		rc = load_paid(&c);
	}
	c.by = by;
	c.filter_customer = f->customer;
	c.filter_contract = f->contract;
	if (rc < 0)
		return finish(&c, rc, e);
	if (f->customer) {
		struct rd_customer k;
		rc = rd_entity_get(t, d->customers, &rd_entity_customer, s->vendor, f->customer, &k);
		if (rc == RD_ENOTFOUND) {
			ctx_free(&c);
			return rd_serr_set(e, RD_ENOTFOUND, "not_found", "customer", "no such customer");
		}
	}
	if (rc >= 0 && f->product) {
		if (map_get(&c.prod_ix, f->product) == UINT32_MAX) {
			ctx_free(&c);
			return rd_serr_set(e, RD_ENOTFOUND, "not_found", "product", "no such product");
		}
		if (f->line[0] && strcmp(c.lines[c.prod_line[map_get(&c.prod_ix, f->product)]], f->line) != 0) {
			ctx_free(&c);
			return rd_serr_set(e, RD_ENOTFOUND, "not_found", "product", "the product is not in that line");
		}
		rc = cnt ? 0 : walk_product(&c, f->product);
	} else if (rc >= 0 && f->line[0]) {
		bool any = false;
		for (size_t i = 0; !any && i < c.n_prods; i++)
			any = strcmp(c.lines[c.prod_line[i]], f->line) == 0;
		if (!any) {
			ctx_free(&c);
			return rd_serr_set(e, RD_ENOTFOUND, "not_found", "line", "no product is in that line");
		}
		bool done = cnt;
		if (list)
			rc = line_page(&c, f->line, &done);
		for (size_t i = 0; rc >= 0 && !done && i < c.n_prods; i++)
			if (strcmp(c.lines[c.prod_line[i]], f->line) == 0)
				rc = walk_product(&c, c.prods[i].id);
	} else if (rc >= 0 && (f->customer || by == RD_REP_BY_CUSTOMER)) {
		if (by == RD_REP_BY_CUSTOMER) /* customers come in order: keep the first rows only */
			c.stream = o && o->limit ? o->limit : 500;
		bool done = false;
		if (by == RD_REP_BY_CUSTOMER && !walk && !f->customer && !s->channel && !s->sales_user)
			rc = customer_page(&c, f, &done);
		if (rc >= 0 && !done)
			rc = walk_customer(&c, f->customer);
		if (c.stream)
			stream_flush(&c);
	} else if (rc >= 0 && !cnt) {
		rc = walk_product(&c, 0);
	}
	if (rc >= 0 && cnt)
		rc = drill_counters(&c, f, false);
	if (rc >= 0 && list)
		rc = page_rows(&c);
	if (rc >= 0 && list)
		rc = drill_counters(&c, f, true);
	if (rc < 0 || c.overflow)
		return finish(&c, rc, e);
	/* A partner or sales person who sees none of a customer's contracts
	 * learns nothing of the customer. */
	if (f->customer && !c.contracts && (s->channel || s->sales_user)) {
		ctx_free(&c);
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "customer", "no such customer");
	}
	if (f->contract && !c.contracts) {
		ctx_free(&c);
		return rd_serr_set(e, RD_ENOTFOUND, "not_found", "contract", "no such contract");
	}
	json_t *rep = report_head(&c, "drill");
	json_object_set_new(rep, "by", json_string(rd_rep_by_name(by)));
	json_t *filter = json_object();
	if (f->line[0])
		json_object_set_new(filter, "line", json_string(f->line));
	if (f->product)
		json_object_set_new(filter, "product", I(f->product));
	if (f->customer)
		json_object_set_new(filter, "customer", I(f->customer));
	if (f->contract)
		json_object_set_new(filter, "contract", I(f->contract));
	json_object_set_new(rep, "filter", filter);
	json_t *tb = json_object_get(rep, "tables");
	const char *cols[96];
	size_t n = cols_cat(cols, 0, GROUP_HEAD, 0);
	if (by == RD_REP_BY_LINE)
		cols[1] = "text"; /* a line is named, not numbered */
	n = cols_cat(cols, n, RATE_COLS, 0);
	n = cols_cat(cols, n, GROUP_TAIL, 0);
	if (by == RD_REP_BY_CONTRACT)
		n = cols_cat(cols, n, CONTRACT_EXTRA, 0);
	json_t *rows = table(tb, "rows", "Drill-down", cols);
	int rank[MAX_CUR] = { 0 };
	for (int i = 0; i < c.n_cur; i++)
		for (int j = 0; j < c.n_cur; j++)
			rank[i] += strcmp(c.cur[j], c.cur[i]) < 0;
	/* Only groups with figures are shown. */
	size_t n_order = c.n_g;
	for (int i = 0; i < MAX_CUR; i++)
		n_order += c.sh[i].n;
	struct skey *order = rd_calloc(n_order ? n_order : 1, sizeof *order);
	size_t kept = 0;
	for (int ci = 0; ci < MAX_CUR; ci++)
		for (size_t i = 0; i < c.sh[ci].n; i++) {
			order[kept] = c.sh[ci].k[i];
			order[kept++].major = rank[ci];
		}
	for (size_t i = 0; i < c.n_g; i++) {
		struct gfig *g = &c.g[i];
		if (by != RD_REP_BY_CONTRACT && fig_empty(&g->f))
			continue;
		order[kept++] = (struct skey){ rank[g->cur], by == RD_REP_BY_CONTRACT ? g->end : -g->f.v, g->gid, g };
	}
	unsigned limit = o && o->limit ? o->limit : 500;
	size_t first = select_first(order, kept, limit);
	qsort(order, first, sizeof *order, by_skey);
	unsigned shown = 0;
	for (size_t i = 0; i < first && shown < limit; i++) {
		struct gfig *g = order[i].g;
		char label[256];
		label_of(&c, g, label, sizeof label);
		json_t *row = by == RD_REP_BY_LINE ? json_pack("[s, s, s]", label, label, c.cur[g->cur])
						   : json_pack("[o, s, s]", I(g->gid), label, c.cur[g->cur]);
		group_row_cells(row, &g->f);
		if (by == RD_REP_BY_CONTRACT) {
			char end[11];
			rd_date_format(g->end, end);
			json_array_append_new(row, json_string(end));
			json_array_append_new(row, json_string(g->status <= 5 ? STATUS_NAMES[g->status] : ""));
			json_array_append_new(row, json_string(g->outcome == 1 ? "won" : g->outcome == 2 ? "lost" : "open"));
			json_array_append_new(row, I(g->value));
		}
		json_array_append_new(rows, row);
		shown++;
	}
	json_object_set_new(rep, "truncated",
			    json_boolean(shown < (c.page ? c.page_total : c.stream ? c.stream_kept : kept)));
	free(order);
	const char *tcols[64];
	size_t tn = cols_cat(tcols, 0, RATE_COLS, 0);
	tn = cols_cat(tcols, tn, GROUP_TAIL, 0);
	json_t *totals = table(tb, "totals", "Totals", tcols);
	for (int oi = 0; oi < c.n_cur; oi++) { /* in currency code order, as the rows */
		int ci = 0;
		while (ci < c.n_cur && rank[ci] != oi)
			ci++;
		if (ci == c.n_cur || fig_empty(&c.totals[ci]))
			continue;
		json_t *row = json_pack("[s]", c.cur[ci]);
		group_row_cells(row, &c.totals[ci]);
		json_array_append_new(totals, row);
	}
	*out = rep;
	return finish(&c, 0, e);
}

int rd_reports_drill(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
		     const struct rd_rep_filter *f, const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return drill(t, d, s, by, f, o, false, out, e);
}

int rd_reports_drill_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			  const struct rd_rep_filter *f, const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return drill(t, d, s, by, f, o, true, out, e);
}

static int64_t rate_of(const struct gfig *g)
{
	return g->f.v ? (int64_t)((__int128)g->f.renewed_v * 10000 / g->f.v) : 0;
}

/* The rankings by partner or sales person from the channel's counters:
 * the period's 'm' and 'f' rows of the pairs in scope, each to its group. */
static int x_rank_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct xrow *x = arg;
	struct ctx *c = x->c;
	if ((klen != 27 && klen != 25) || (klen == 25) != (k[0] == 'f') || !pair_in_scope(c, k + 5))
		return 0;
	int mi = (int)get_u32(k + 1) - c->m0;
	if (mi < 0 || mi >= 12)
		return 0;
	const uint8_t *px = k + 5;
	uint64_t gid = c->by == RD_REP_BY_RESELLER ? be64(px) : c->by == RD_REP_BY_DISTRIBUTOR ? be64(px + 8)
											      : pair_sales(c, px);
	if (!gid)
		return 0;
	struct gfig *g = group(c, gid, cur_index(c, (const char *)k + 22));
	if (k[0] == 'f')
		add_wide(c, &g->f.renewed_v, v->a);
	else
		fig_rows(c, &g->f, k[25], v);
	return 0;
}

static int rank_channel(struct ctx *c)
{
	struct xrow x = { c, 0, 0, NULL };
	int rc = rd_txn_counters(c->t, c->d->contracts, c->s->vendor, "a", 1, "b", 1, x_a_row, &x);
	if (rc >= 0)
		rc = x_range(c, 'm', c->m0, c->m0 + 12, x_rank_row, &x);
	if (rc >= 0)
		rc = x_range(c, 'f', c->m0, c->m0 + 12, x_rank_row, &x);
	return rc;
}

/* The vendor's rankings by customer show each group's period figures only
 * (contracts, value, won, value renewed): rank_period adds up the
 * contracts ending in the period alone (the others are skipped at their
 * key's end date), each joined as the walk joins it, into rank_flush's
 * heaps.  The walk also adds up every contract's due windows and the
 * totals, which change the answer only by overflowing: so this is taken
 * only when no price nor paid total is below zero, each currency's sums
 * over every contract (the counters' 'M' and 'F' rows) fit in an amount,
 * and the currencies named ('C') fit in a report. */
struct rbound {
	uint8_t cur[MAX_CUR][3];
	__int128 sum[MAX_CUR];
	int n;
	bool over; /* a sum too large, or too many currencies */
};

static int rbound_row(void *arg, const uint8_t *k, size_t klen, const struct rd_counter_val *v)
{
	struct rbound *b = arg;
	const uint8_t *code = k[0] == 'C' && klen == 4 ? k + 1 : (k[0] == 'M' && klen == 11) || (k[0] == 'F' && klen == 8) ? k + 5 : NULL;
	if (!code)
		return 0;
	int i = 0;
	while (i < b->n && memcmp(b->cur[i], code, 3) != 0)
		i++;
	if (i == b->n) {
		if (b->n == MAX_CUR) {
			b->over = true;
			return 1;
		}
		memcpy(b->cur[b->n++], code, 3);
	}
	if (k[0] != 'C') {
		b->sum[i] += v->a < 0 ? -v->a : v->a;
		b->sum[i] += v->b < 0 ? -v->b : v->b;
		if (b->sum[i] > INT64_MAX)
			b->over = true;
	}
	return 0;
}

static int rank_period(struct ctx *c, bool *done)
{
	*done = false;
	for (size_t i = 0; i < c->n_prods; i++)
		for (unsigned p = 0; p < c->prods[i].n_prices; p++)
			if (c->prods[i].prices[p].amount < 0)
				return 0;
	for (size_t i = 0; i < c->n_joins; i++)
		if (c->joins[i].paid && c->joins[i].order_total < 0)
			return 0;
	struct rbound *b = rd_calloc(1, sizeof *b);
	struct rd_table *tb = c->d->contracts;
	int rc = rd_txn_counters(c->t, tb, c->s->vendor, "C", 1, "D", 1, rbound_row, b);
	if (rc >= 0 && !b->over)
		rc = rd_txn_counters(c->t, tb, c->s->vendor, "F", 1, "G", 1, rbound_row, b);
	if (rc >= 0 && !b->over)
		rc = rd_txn_counters(c->t, tb, c->s->vendor, "M", 1, "N", 1, rbound_row, b);
	bool over = b->over;
	free(b);
	if (rc < 0 || over)
		return rc < 0 ? rc : 0;
	*done = true;
	join_dir_build(c);
	uint64_t last_product = 0;
	const struct rd_product *prod = NULL;
	int line = 0;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_index(&it, c->t, tb, RD_IDX_REPORT_CUSTOMER, c->s->vendor, NULL, 0, NULL, 0);
	it.keys_only = true;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != RD_REPKEY_CONTRACT_LEN)
			continue;
		const uint8_t *k = item.key;
		c->contracts++;
		rd_date end = date_of_key(k + 32);
		struct crow r;
		r.customer = be64(k);
		if (end < c->from || end > c->to || !r.customer)
			continue; /* no period figure; no group (group_add) without a customer */
		r.id = item.id;
		r.product = be64(k + 8);
		uint32_t ji = UINT32_MAX;
		if (r.id < c->join_bits_n && (c->join_bits[r.id >> 3] >> (r.id & 7) & 1))
			ji = c->join_dir ? c->join_dir[r.id] - 1 : map_get(&c->join_ix, r.id);
		r.j = ji == UINT32_MAX ? NULL : &c->joins[ji];
		crow_fill(c, k, &r, &last_product, &prod, &line);
		struct gfig *g = group(c, r.customer, r.cur);
		g->f.n++;
		add(c, &g->f.v, r.value);
		if (r.won)
			g->f.won_n++;
		if (r.renewed_cur == r.cur)
			add(c, &g->f.renewed_v, r.renewed);
		else
			add(c, &group(c, r.customer, r.renewed_cur)->f.renewed_v, r.renewed);
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

static int rankings(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
		    const struct rd_rep_opts *o, bool walk, json_t **out, struct rd_serr *e)
{
	if (by != RD_REP_BY_CUSTOMER && by != RD_REP_BY_RESELLER && by != RD_REP_BY_DISTRIBUTOR && by != RD_REP_BY_SALES)
		return rd_serr_set(e, RD_EINVAL, "invalid", "by", "by is customer, reseller, distributor or sales");
	struct ctx c;
	int rc;
	if (!walk && by != RD_REP_BY_CUSTOMER) {
		ctx_dates(&c, t, d, s, o);
		c.by = by;
		rc = load_partners(&c);
		if (rc >= 0)
			rc = rank_channel(&c);
	} else {
		rc = ctx_begin(&c, t, d, s, o);
		c.by = by;
		unsigned lim = o && o->limit ? o->limit : 10;
		if (!walk && by == RD_REP_BY_CUSTOMER && lim <= 1000) { /* customers come in order: keep the first and last rows only */
			c.stream = lim;
			c.rank_stream = true;
		}
		bool done = false;
		if (rc >= 0 && c.rank_stream && !s->channel && !s->sales_user)
			rc = rank_period(&c, &done);
		if (rc >= 0 && !done)
			rc = walk_one(&c, by == RD_REP_BY_CUSTOMER, 0);
		if (rc >= 0 && c.rank_stream)
			stream_flush(&c);
	}
	if (rc < 0 || c.overflow)
		return finish(&c, rc, e);
	json_t *rep = report_head(&c, "rankings");
	json_object_set_new(rep, "by", json_string(rd_rep_by_name(by)));
	json_t *tb = json_object_get(rep, "tables");
	static const char *const cols[] = { "currency", "text", "Currency", "side", "text", "Best or worst",
					    "rank", "count", "Rank", "id", "id", "Id", "label", "text", "Name",
					    "renewed_value", "money", "Value renewed", "rate_value_bp", "rate",
					    "Renewal rate (value)", "due_value", "money", "Value due",
					    "due", "count", "Contracts due", "won", "count", "Won", NULL };
	json_t *tables[2] = { table(tb, "by_value", "Ranked by value renewed", cols),
			      table(tb, "by_rate", "Ranked by renewal rate", cols) };
	unsigned limit = o && o->limit ? o->limit : 10;
	struct skey *list = rd_calloc(c.n_g ? c.n_g : 1, sizeof *list);
	int order[MAX_CUR]; /* currencies in code order, as the other reports */
	for (int i = 0; i < c.n_cur; i++)
		order[i] = i;
	for (int i = 1; i < c.n_cur; i++)
		for (int j = i; j > 0 && strcmp(c.cur[order[j - 1]], c.cur[order[j]]) > 0; j--) {
			int x = order[j];
			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (int oi = 0; oi < c.n_cur; oi++) {
		int ci = order[oi];
		if (o && o->currency[0] && strcmp(o->currency, c.cur[ci]) != 0)
			continue;
		for (int k = 0; k < 2; k++) {
			/* Best first: most renewed value (or rate), ties by id. */
			size_t n = 0;
			for (size_t i = 0; i < c.n_g; i++)
				if (c.g[i].cur == ci && c.g[i].f.n)
					list[n++] = (struct skey){ 0, k == 0 ? -c.g[i].f.renewed_v : -rate_of(&c.g[i]), c.g[i].gid,
								   &c.g[i] };
			qsort(list, n, sizeof *list, by_skey);
			if (c.rank_stream) { /* the heaps: the best, and the worst (keys reversed) worst first */
				n = c.rank_n[ci];
				for (int h = 0; h < 2; h++)
					if (c.rh[ci][k * 2 + h].n) /* none: a currency with no customer ranked */
						qsort(c.rh[ci][k * 2 + h].k, c.rh[ci][k * 2 + h].n, sizeof(struct skey), by_skey);
			}
			for (int side = 0; side < 2; side++)
				for (size_t r = 0; r < n && r < limit; r++) {
					struct gfig *g = c.rank_stream ? c.rh[ci][k * 2 + side].k[r].g
								       : list[side == 0 ? r : n - 1 - r].g;
					char label[256];
					label_of(&c, g, label, sizeof label);
					json_array_append_new(tables[k],
							      json_pack("[s, s, o, o, s, o, o, o, o, o]", c.cur[ci],
									side == 0 ? "best" : "worst", I(r + 1), I(g->gid),
									label, I(g->f.renewed_v), bp(g->f.renewed_v, g->f.v),
									I(g->f.v), I(g->f.n), I(g->f.won_n)));
				}
		}
	}
	free(list);
	*out = rep;
	return finish(&c, 0, e);
}

int rd_reports_rankings(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return rankings(t, d, s, by, o, false, out, e);
}

int rd_reports_rankings_walk(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s, int by,
			     const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	return rankings(t, d, s, by, o, true, out, e);
}

/* ---- the programmes: deal registrations and lead sources ------------------------------------ */

static bool in_scope_partner(const struct rd_rep_scope *s, uint64_t partner)
{
	return !s->channel || scope_has(s, partner);
}

int rd_reports_programme(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			 const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	struct ctx c;
	memset(&c, 0, sizeof c);
	c.s = s;
	c.today = o && o->today ? o->today : rd_clock_today();
	int y, m, dd;
	rd_date_to_ymd(c.today, &y, &m, &dd);
	c.m0 = y * 12 + (m - 1) - 11;
	c.from = rd_date_from_ymd(c.m0 / 12, c.m0 % 12 + 1, 1);
	c.to = rd_date_add_months(rd_date_from_ymd(y, m, 1), 1) - 1;
	/* Deal registrations by currency and state. */
	uint64_t deal_n[MAX_CUR][8] = { { 0 } };
	int64_t deal_v[MAX_CUR][8] = { { 0 } };
	struct rd_iter it;
	struct rd_item item;
	struct rd_dealreg *dr = rd_malloc(sizeof *dr);
	int rc = rd_iter_records(&it, t, d->deals, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_deal, item.val, item.len, dr)) < 0)
			break;
		if (!in_scope_partner(s, dr->partner_id) || (s->sales_user && dr->user_id != s->sales_user) || dr->state > 7)
			continue;
		c.contracts++;
		int ci = cur_index(&c, dr->currency[0] ? dr->currency : "---");
		deal_n[ci][dr->state]++;
		add(&c, &deal_v[ci][dr->state], dr->expected_value);
	}
	rd_iter_close(&it);
	free(dr);
	/* Leads by source: how many, how far they got, the value won. */
	enum { MAX_SRC = 16 };
	char src[MAX_SRC][16];
	uint64_t ln[MAX_SRC][8] = { { 0 } }, accepted[MAX_SRC] = { 0 }, won_n[MAX_SRC][MAX_CUR] = { { 0 } };
	int64_t won_v[MAX_SRC][MAX_CUR] = { { 0 } };
	int n_src = 0;
	struct rd_lead *l = rd_malloc(sizeof *l);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->leads, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_lead, item.val, item.len, l)) < 0)
			break;
		if ((s->channel && (!l->partner_id || !in_scope_partner(s, l->partner_id))) ||
		    (s->sales_user && l->rep_id != s->sales_user) || l->state > 7)
			continue;
		int si = 0;
		while (si < n_src && strcmp(src[si], l->source) != 0)
			si++;
		if (si == n_src) {
			if (n_src == MAX_SRC)
				continue;
			snprintf(src[n_src++], sizeof src[0], "%s", l->source[0] ? l->source : "(none)");
		}
		ln[si][0]++;
		ln[si][l->state]++;
		if (l->accepted_at || l->state == RD_LEAD_ACCEPTED || l->state == RD_LEAD_WON || l->state == RD_LEAD_LOST)
			accepted[si]++;
		if (l->state == RD_LEAD_WON) {
			int ci = cur_index(&c, l->currency[0] ? l->currency : "---");
			won_n[si][ci]++;
			add(&c, &won_v[si][ci], (int64_t)l->value);
		}
	}
	rd_iter_close(&it);
	free(l);
	if (rc < 0 || c.overflow)
		return finish(&c, rc, e);
	json_t *rep = report_head(&c, "programme");
	json_object_set_new(rep, "contracts", json_integer(0));
	json_t *tb = json_object_get(rep, "tables");
	static const char *const deal_cols[] = { "currency", "text", "Currency", "state", "text", "State",
						 "registrations", "count", "Registrations", "expected_value", "money",
						 "Expected value", NULL };
	json_t *deals = table(tb, "deal_states", "Deal registrations by state", deal_cols);
	static const char *const dstate[] = { "", "submitted", "approved", "rejected", "won", "lost", "expired" };
	for (int ci = 0; ci < c.n_cur; ci++)
		for (int st = 1; st <= 6; st++)
			if (deal_n[ci][st])
				json_array_append_new(deals, json_pack("[s, s, o, o]", c.cur[ci], dstate[st], I(deal_n[ci][st]),
								       I(deal_v[ci][st])));
	static const char *const lead_cols[] = { "source", "text", "Source", "leads", "count", "Leads",
						 "accepted", "count", "Accepted", "won", "count", "Won", "lost", "count",
						 "Lost", "returned", "count", "Returned", "open", "count", "Not yet accepted",
						 "conversion_bp", "rate", "Conversion (won of all)", NULL };
	json_t *leads = table(tb, "lead_sources", "Lead quality by source", lead_cols);
	static const char *const value_cols[] = { "currency", "text", "Currency", "source", "text", "Source",
						  "won", "count", "Leads won", "value", "money", "Value won", NULL };
	json_t *values = table(tb, "lead_value", "Value of the leads won, by source", value_cols);
	for (int si = 0; si < n_src; si++) {
		uint64_t open = ln[si][RD_LEAD_NEW] + ln[si][RD_LEAD_QUALIFIED] + ln[si][RD_LEAD_ASSIGNED];
		json_array_append_new(leads, json_pack("[s, o, o, o, o, o, o, o]", src[si], I(ln[si][0]), I(accepted[si]),
						       I(ln[si][RD_LEAD_WON]), I(ln[si][RD_LEAD_LOST]),
						       I(ln[si][RD_LEAD_RETURNED]), I(open),
						       bp((int64_t)ln[si][RD_LEAD_WON], (int64_t)ln[si][0])));
		for (int ci = 0; ci < c.n_cur; ci++)
			if (won_n[si][ci])
				json_array_append_new(values, json_pack("[s, s, o, o]", c.cur[ci], src[si], I(won_n[si][ci]),
									I(won_v[si][ci])));
	}
	*out = rep;
	return finish(&c, 0, e);
}

/* ---- partner scorecards --------------------------------------------------------------------- */

/* One partner's counts (or the programme's, summed). */
struct card {
	uint64_t decisions, pullbacks, decide_s, leads, accept_s, deals_won, deals_lost, deals_expired;
};

static void card_cells(json_t *row, const struct card *k, uint64_t partners)
{
	uint64_t div = partners ? partners : 1;
	json_array_append_new(row, I(k->decisions / div));
	json_array_append_new(row, k->decisions ? I(k->decide_s / k->decisions / 3600) : json_null());
	json_array_append_new(row, I(k->pullbacks / div));
	json_array_append_new(row, bp((int64_t)k->pullbacks, (int64_t)(k->decisions + k->pullbacks)));
	json_array_append_new(row, I(k->leads / div));
	json_array_append_new(row, k->leads ? I(k->accept_s / k->leads / 3600) : json_null());
	json_array_append_new(row, I(k->deals_won / div));
	json_array_append_new(row, I(k->deals_lost / div));
	json_array_append_new(row, I(k->deals_expired / div));
}

int rd_reports_scorecards(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *s,
			  const struct rd_rep_opts *o, json_t **out, struct rd_serr *e)
{
	/* The programme is every partner of the vendor: the average a card is
	 * read against.  The cards are the caller's scope's. */
	struct rd_rep_scope all = { .vendor = s->vendor };
	struct ctx c;
	int rc = ctx_begin(&c, t, d, &all, o);
	if (rc < 0)
		return finish(&c, rc, e);
	size_t np = c.n_parts;
	struct card *cards = rd_calloc(np ? np : 1, sizeof *cards);
	struct card prog = { 0 };
	/* Decisions and pullbacks: the opportunities, by their reseller (else distributor). */
	struct rd_iter it;
	struct rd_item item;
	struct rd_opportunity *op = rd_malloc(sizeof *op);
	rc = rd_iter_records(&it, t, d->opportunities, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_opportunity, item.val, item.len, op)) < 0)
			break;
		uint32_t pi = map_get(&c.part_ix, op->reseller_id ? op->reseller_id : op->distributor_id);
		if (pi == UINT32_MAX || !op->publish)
			continue;
		struct card *k = &cards[pi];
		if (op->decided_by_default) {
			k->pullbacks++;
			prog.pullbacks++;
		} else {
			k->decisions++;
			prog.decisions++;
			uint64_t took = op->decided_at > op->created_at ? op->decided_at - op->created_at : 0;
			k->decide_s += took;
			prog.decide_s += took;
		}
	}
	rd_iter_close(&it);
	free(op);
	/* Leads the partner accepted, and how long after they arrived. */
	struct rd_lead *l = rd_malloc(sizeof *l);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->leads, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_lead, item.val, item.len, l)) < 0)
			break;
		uint32_t pi = l->partner_id ? map_get(&c.part_ix, l->partner_id) : UINT32_MAX;
		if (pi == UINT32_MAX || !l->accepted_at)
			continue;
		uint64_t took = l->accepted_at > l->created_at ? l->accepted_at - l->created_at : 0;
		cards[pi].leads++, prog.leads++;
		cards[pi].accept_s += took, prog.accept_s += took;
	}
	rd_iter_close(&it);
	free(l);
	/* Registrations won, lost, expired. */
	struct rd_dealreg *dr = rd_malloc(sizeof *dr);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->deals, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_deal, item.val, item.len, dr)) < 0)
			break;
		uint32_t pi = map_get(&c.part_ix, dr->partner_id);
		if (pi == UINT32_MAX)
			continue;
		uint64_t *a = dr->state == RD_DEALREG_WON ? &cards[pi].deals_won : dr->state == RD_DEALREG_LOST ? &cards[pi].deals_lost
			      : dr->state == RD_DEALREG_EXPIRED ? &cards[pi].deals_expired : NULL;
		uint64_t *b = dr->state == RD_DEALREG_WON ? &prog.deals_won : dr->state == RD_DEALREG_LOST ? &prog.deals_lost
			      : dr->state == RD_DEALREG_EXPIRED ? &prog.deals_expired : NULL;
		if (a)
			(*a)++, (*b)++;
	}
	rd_iter_close(&it);
	free(dr);
	/* Commission earned in the period (reversals net), per partner and currency. */
	char from_m[8], to_m[8];
	int fy, fm, fd, ty, tm, td;
	rd_date_to_ymd(c.from, &fy, &fm, &fd);
	rd_date_to_ymd(c.to, &ty, &tm, &td);
	snprintf(from_m, sizeof from_m, "%04u-%02u", (unsigned)fy % 10000u, (unsigned)fm % 100u);
	snprintf(to_m, sizeof to_m, "%04u-%02u", (unsigned)ty % 10000u, (unsigned)tm % 100u);
	int64_t *comm = rd_calloc((np + 1) * MAX_CUR, sizeof *comm); /* [partner][currency]; np: the programme */
	struct rd_commission cm;
	if (rc >= 0)
		rc = rd_iter_records(&it, t, d->commissions, s->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_commission, item.val, item.len, &cm)) < 0)
			break;
		uint32_t pi = map_get(&c.part_ix, cm.partner_id);
		if (pi == UINT32_MAX || cm.kind == RD_COMMISSION_RETAINED || strcmp(cm.month, from_m) < 0 ||
		    strcmp(cm.month, to_m) > 0)
			continue;
		int ci = cur_index(&c, cm.currency);
		add(&c, &comm[pi * MAX_CUR + ci], cm.amount);
		add(&c, &comm[np * MAX_CUR + ci], cm.amount);
	}
	rd_iter_close(&it);
	/* The renewal rate split by reseller and by distributor: two walks. */
	int by[2] = { RD_REP_BY_RESELLER, RD_REP_BY_DISTRIBUTOR };
	struct fig *figs = rd_calloc((np + 1) * MAX_CUR, sizeof *figs); /* np: the programme */
	for (int w = 0; rc >= 0 && w < 2; w++) {
		c.by = by[w];
		c.n_g = 0;
		c.last_g = NULL;
		if (c.gdir)
			memset(c.gdir, 0, (size_t)c.gdir_n * sizeof *c.gdir);
		map_free(&c.g_ix);
		memset(c.totals, 0, sizeof c.totals);
		rc = walk_product(&c, 0);
		for (size_t i = 0; rc >= 0 && i < c.n_g; i++) {
			uint32_t pi = map_get(&c.part_ix, c.g[i].gid);
			if (pi == UINT32_MAX)
				continue;
			/* A reseller's card counts its contracts; a distributor's its own channel. */
			if ((w == 0) != (c.parts[pi].kind == RD_PARTNER_RESELLER))
				continue;
			figs[pi * MAX_CUR + c.g[i].cur] = c.g[i].f;
		}
		if (w == 0)
			for (int ci = 0; ci < MAX_CUR; ci++)
				figs[np * MAX_CUR + ci] = c.totals[ci]; /* the programme: every contract, once */
	}
	if (rc < 0 || c.overflow) {
		free(cards);
		free(comm);
		free(figs);
		return finish(&c, rc, e);
	}
	json_t *rep = report_head(&c, "scorecards");
	json_object_set_new(rep, "contracts", json_integer(0)); /* the programme's are everyone's: not the caller's to count */
	json_t *tb = json_object_get(rep, "tables");
	static const char *const card_cols[] = {
		"id", "id", "Id", "label", "text", "Partner", "kind", "text", "Kind",
		"decisions", "count", "Publish decisions made", "decide_hours", "count", "Hours to decide (mean)",
		"pullbacks", "count", "Pullbacks", "pullback_bp", "rate", "Pullback share",
		"leads", "count", "Leads accepted", "accept_hours", "count", "Hours to accept a lead (mean)",
		"deals_won", "count", "Registrations won", "deals_lost", "count", "Registrations lost",
		"deals_expired", "count", "Registrations expired", NULL };
	json_t *crows = table(tb, "cards", "Partner scorecards", card_cols);
	const char *rcols[64];
	size_t rn = cols_cat(rcols, 0, GROUP_HEAD, 0);
	rn = cols_cat(rcols, rn, RATE_COLS, 0);
	rcols[rn++] = "commission";
	rcols[rn++] = "money";
	rcols[rn++] = "Commission earned";
	rcols[rn] = NULL;
	json_t *rrows = table(tb, "rates", "Renewal rate split and commission, per currency", rcols);
	for (size_t pi = 0; pi <= np; pi++) {
		bool programme = pi == np;
		if (!programme && !in_scope_partner(s, c.parts[pi].id))
			continue;
		const char *label = programme ? "Programme average" : c.parts[pi].name;
		uint64_t id = programme ? 0 : c.parts[pi].id;
		json_t *row = json_pack("[o, s, s]", I(id), label,
					programme ? "" : c.parts[pi].kind == RD_PARTNER_DISTRIBUTOR ? "distributor" : "reseller");
		card_cells(row, programme ? &prog : &cards[pi], programme ? np : 1);
		json_array_append_new(crows, row);
		for (int ci = 0; ci < c.n_cur; ci++) {
			const struct fig *f = &figs[pi * MAX_CUR + ci];
			int64_t cmv = comm[pi * MAX_CUR + ci];
			if (!f->n && !cmv)
				continue;
			json_t *r = json_pack("[o, s, s]", I(id), label, c.cur[ci]);
			rate_cells(r, f);
			json_array_append_new(r, I(programme && np ? cmv / (int64_t)np : cmv));
			json_array_append_new(rrows, r);
		}
	}
	free(cards);
	free(comm);
	free(figs);
	*out = rep;
	return finish(&c, 0, e);
}

/* ---- scope ------------------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int rd_reports_scope(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *a, uint8_t role,
		     struct rd_rep_scope *out)
{
	memset(out, 0, sizeof *out);
	out->vendor = a->vendor;
	if (role == RD_ROLE_VENDOR_SALES || role == RD_ROLE_PARTNER_SALES)
		out->sales_user = a->user;
	if (!a->partner)
		return 0;
	out->channel = true;
	out->partners[out->n_partners++] = a->partner;
	struct rd_iter it;
	struct rd_item item;
	uint8_t key[8];
	rd_key_put_u64(key, a->partner);
	int rc = rd_iter_index(&it, t, d->partners, "parent", a->vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len < 8 || rd_key_get_u64(item.key) != a->partner)
			break;
		if (out->n_partners == RD_REP_MAX_PARTNERS) {
			rc = RD_ETOOBIG;
			break;
		}
		out->partners[out->n_partners++] = item.id;
	}
	rd_iter_close(&it);
	if (rc < 0)
		return rc;
	qsort(out->partners, out->n_partners, sizeof out->partners[0], cmp_u64);
	return 0;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

void rd_rep_buf_add(struct rd_rep_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2 + 256;
		b->p = rd_realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void rd_rep_csv_cell(struct rd_rep_buf *b, const char *s)
{
	bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		rd_rep_buf_add(b, "\"", 1);
	if (formula)
		rd_rep_buf_add(b, "'", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			rd_rep_buf_add(b, "\"", 1);
		rd_rep_buf_add(b, p, 1);
	}
	if (quote)
		rd_rep_buf_add(b, "\"", 1);
}

int rd_rep_csv_begin(struct rd_rep_csv *c, json_t *report, const char *name)
{
	memset(c, 0, sizeof *c);
	json_t *tb = json_object_get(json_object_get(report, "tables"), name ? name : "");
	if (!tb)
		return RD_ENOTFOUND;
	c->cols = json_object_get(tb, "columns");
	c->rows = json_object_get(tb, "rows");
	c->cur_col = SIZE_MAX;
	json_t *col;
	size_t i;
	json_array_foreach(c->cols, i, col)
		if (strcmp(json_string_value(json_object_get(col, "name")), "currency") == 0)
			c->cur_col = i;
	return 0;
}

static void csv_row(struct rd_rep_csv *c, json_t *row, struct rd_rep_buf *out)
{
	const char *cur = c->cur_col != SIZE_MAX ? json_string_value(json_array_get(row, c->cur_col)) : NULL;
	json_t *col;
	size_t i;
	json_array_foreach(c->cols, i, col) {
		if (i)
			rd_rep_buf_add(out, ",", 1);
		json_t *v = json_array_get(row, i);
		const char *kind = json_string_value(json_object_get(col, "kind"));
		char num[64];
		if (json_is_string(v)) {
			rd_rep_csv_cell(out, json_string_value(v));
		} else if (json_is_integer(v) && strcmp(kind, "money") == 0) {
			rd_money_decimal((int64_t)json_integer_value(v), cur ? cur : "", num, sizeof num);
			rd_rep_buf_add(out, num, strlen(num));
		} else if (json_is_integer(v) && strcmp(kind, "rate") == 0) {
			json_int_t x = json_integer_value(v);
			snprintf(num, sizeof num, "%s%lld.%02lld", x < 0 ? "-" : "", llabs(x) / 100, llabs(x) % 100);
			rd_rep_buf_add(out, num, strlen(num));
		} else if (json_is_integer(v)) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
			rd_rep_buf_add(out, num, strlen(num));
		}
	}
	rd_rep_buf_add(out, "\r\n", 2);
}

bool rd_rep_csv_next(struct rd_rep_csv *c, struct rd_rep_buf *out, size_t max_bytes)
{
	if (!c->head_done) {
		json_t *col;
		size_t i;
		json_array_foreach(c->cols, i, col) {
			if (i)
				rd_rep_buf_add(out, ",", 1);
			rd_rep_csv_cell(out, json_string_value(json_object_get(col, "name")));
		}
		rd_rep_buf_add(out, "\r\n", 2);
		c->head_done = true;
	}
	while (c->row < json_array_size(c->rows) && out->len < max_bytes)
		csv_row(c, json_array_get(c->rows, c->row++), out);
	return c->row < json_array_size(c->rows);
}

/* ---- existing stores ---------------------------------------------------------------------- */

static int fill(struct rd_txn *t, void *arg)
{
	struct rd_domain *d = arg;
	const void *v;
	size_t len;
	if (rd_txn_meta_get(t, "reports_index", &v, &len) == 0 && len == 1 && *(const char *)v == '2')
		return 0;
	static const struct {
		size_t table; /* offset in struct rd_domain */
		const char *index;
	} fills[] = {
		{ offsetof(struct rd_domain, contracts), RD_IDX_REPORT },
		{ offsetof(struct rd_domain, contracts), RD_IDX_REPORT_CUSTOMER },
		{ offsetof(struct rd_domain, opportunities), RD_IDX_REPORT },
		{ offsetof(struct rd_domain, orders), RD_IDX_REPORT },
	};
	for (size_t i = 0; i < sizeof fills / sizeof *fills; i++) {
		uint64_t n;
		struct rd_table *tb = *(struct rd_table **)((char *)d + fills[i].table);
		int rc = rd_txn_index_fill(t, tb, fills[i].index, &n); /* idempotent: entries already there stay */
		if (rc < 0)
			return rc;
	}
	return rd_txn_meta_put(t, "reports_index", "2", 1); /* 2: both contract keys */
}

/* The vendors' ids (tenant 0's vendor records): each is a tenant. */
static int vendor_ids(struct rd_txn *t, struct rd_domain *d, uint64_t **ids, size_t *n)
{
	struct rd_iter it;
	struct rd_item item;
	size_t cap = 0;
	*ids = NULL;
	*n = 0;
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*ids = rd_realloc(*ids, cap * sizeof **ids);
		}
		(*ids)[(*n)++] = item.id;
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

/* The counters of a store written before they existed (or whose fill was
 * cut short, or copied without them): rebuilt from the records, every
 * vendor, once.  Filled is a marker row among the counters themselves
 * (tenant 0, which no vendor is), written in the fill's transaction: a
 * crash leaves neither, and a copy of the records without the counters
 * carries no marker either. */
#define FILLED_MARK "#filled"
/* The marker's count: which buckets the fill made.  1: the vendor's and
 * the products'; 2: the channel's too ('a' ... 'q').  A store filled by an
 * older build is filled again. */
#define FILLED_VERSION 2

static int marker_row(void *arg, const uint8_t *key, size_t klen, const struct rd_counter_val *v)
{
	(void)key, (void)klen;
	*(int64_t *)arg = v->n;
	return 0;
}

static int fill_counters(struct rd_txn *t, void *arg)
{
	struct rd_domain *d = arg;
	int64_t filled = 0;
	int rc = rd_txn_counters(t, d->contracts, 0, FILLED_MARK, strlen(FILLED_MARK), FILLED_MARK "\x01",
				 strlen(FILLED_MARK) + 1, marker_row, &filled);
	if (rc < 0 || filled >= FILLED_VERSION)
		return rc < 0 ? rc : 0;
	uint64_t *ids;
	size_t n;
	rc = vendor_ids(t, d, &ids, &n);
	for (size_t i = 0; rc >= 0 && i < n; i++)
		rc = rd_txn_counters_fill(t, d->contracts, ids[i]); /* clears first: idempotent */
	free(ids);
	return rc < 0 ? rc : rd_txn_counter_add(t, d->contracts, 0, FILLED_MARK, strlen(FILLED_MARK),
						  FILLED_VERSION - filled, 0, 0);
}

static int cmp_u64(const void *a, const void *b);

/* Whether a drill-down level answers as the walk does: 0, or 1 and the
 * difference reported. */
static int same_drill(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *sc, int by,
		      const struct rd_rep_filter *f, const struct rd_rep_opts *o, const char *what,
		      void (*report)(const char *problem, void *arg), void *arg)
{
	json_t *a = NULL, *b = NULL;
	struct rd_serr e1, e2;
	int r1 = rd_reports_drill(t, d, sc, by, f, o, &a, &e1);
	int r2 = rd_reports_drill_walk(t, d, sc, by, f, o, &b, &e2);
	int bad = r1 != r2 || (r1 >= 0 && !json_equal(a, b));
	json_decref(a);
	json_decref(b);
	if (bad) {
		char msg[300];
		snprintf(msg, sizeof msg, "reports: vendor %llu: %s differs from a recount", (unsigned long long)sc->vendor,
			 what);
		report(msg, arg);
	}
	return bad;
}

/* The list levels: each product's contracts, each line's, and the first
 * customers' contracts and products (a customer's level is a short range:
 * the first CHECK_CUSTOMERS stand for the rest). */
#define CHECK_CUSTOMERS 50
#define CHECK_PRODUCTS 5 /* a partner's: products 1 to 5 (an unknown id answers not found, the same both ways) */

static int check_lists(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *sc, rd_date today,
		       void (*report)(const char *problem, void *arg), void *arg, int *problems)
{
	struct rd_rep_opts o = { .today = today, .limit = 100000 };
	struct rd_iter it;
	struct rd_item item;
	char what[200];
	char (*lines)[64] = NULL;
	size_t n_lines = 0;
	int rc = rd_iter_records(&it, t, d->products, sc->vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_product *p = rd_malloc(sizeof *p);
		if (rd_entity_decode(&rd_entity_product, item.val, item.len, p) >= 0) {
			struct rd_rep_filter f = { .product = p->id };
			snprintf(what, sizeof what, "the contracts of product %llu", (unsigned long long)p->id);
			*problems += same_drill(t, d, sc, RD_REP_BY_CONTRACT, &f, &o, what, report, arg);
			size_t i = 0;
			while (i < n_lines && strcmp(lines[i], p->line) != 0)
				i++;
			if (i == n_lines) {
				lines = rd_realloc(lines, (n_lines + 1) * sizeof *lines);
				snprintf(lines[n_lines++], sizeof *lines, "%s", p->line);
			}
		}
		free(p);
	}
	rd_iter_close(&it);
	for (size_t i = 0; rc >= 0 && i < n_lines; i++) {
		struct rd_rep_filter f = { 0 };
		snprintf(f.line, sizeof f.line, "%s", lines[i]);
		snprintf(what, sizeof what, "the contracts of line %s", lines[i]);
		*problems += same_drill(t, d, sc, RD_REP_BY_CONTRACT, &f, &o, what, report, arg);
	}
	free(lines);
	unsigned seen = 0;
	if (rc < 0)
		return rc;
	rc = rd_iter_records(&it, t, d->customers, sc->vendor, 0);
	while (rc >= 0 && seen < CHECK_CUSTOMERS && (rc = rd_iter_next(&it, &item)) > 0) {
		seen++;
		for (int by = RD_REP_BY_LINE; by <= RD_REP_BY_CUSTOMER; by++) {
			struct rd_rep_filter f = { .customer = item.id };
			snprintf(what, sizeof what, "customer %llu's drill-down by %s", (unsigned long long)item.id,
				 rd_rep_by_name(by));
			*problems += same_drill(t, d, sc, by, &f, &o, what, report, arg);
		}
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

/* One scope's dashboard and rankings by partner and sales person as the
 * walk answers them: the problems found. */
static int same_scoped(struct rd_txn *t, struct rd_domain *d, const struct rd_rep_scope *sc, rd_date today,
		       const char *who, void (*report)(const char *problem, void *arg), void *arg)
{
	struct rd_rep_opts o = { .today = today };
	int problems = 0;
	for (int by = 0; by <= RD_REP_BY_SALES; by++) {
		if (by && by < RD_REP_BY_RESELLER)
			continue;
		json_t *a = NULL, *b = NULL;
		struct rd_serr e1, e2;
		int r1, r2;
		o.limit = by ? 100000 : 0;
		if (by) {
			r1 = rd_reports_rankings(t, d, sc, by, &o, &a, &e1);
			r2 = rd_reports_rankings_walk(t, d, sc, by, &o, &b, &e2);
		} else {
			r1 = rd_reports_dashboard(t, d, sc, &o, &a, &e1);
			r2 = rd_reports_dashboard_walk(t, d, sc, &o, &b, &e2);
		}
		if (r1 != r2 || (r1 >= 0 && !json_equal(a, b))) {
			char msg[300];
			snprintf(msg, sizeof msg, "reports: vendor %llu: %s%s%s from the counters differs from a recount",
				 (unsigned long long)sc->vendor, by ? "the rankings by " : "the dashboard", by ? rd_rep_by_name(by) : "",
				 who);
			report(msg, arg);
			problems++;
		}
		json_decref(a);
		json_decref(b);
	}
	return problems;
}

/* The scopes a vendor's people have (rd_reports_scope): each partner's
 * (itself and the partners under it), each sales person's (the vendor's,
 * each partner's), each partner's sales person's within the partner's. */
static int check_scopes(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, rd_date today,
			void (*report)(const char *problem, void *arg), void *arg, int *problems)
{
	struct { uint64_t id, parent, sales; } *ps = NULL;
	size_t n = 0;
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_records(&it, t, d->partners, vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_partner *p = rd_malloc(sizeof *p);
		if (rd_entity_decode(&rd_entity_partner, item.val, item.len, p) >= 0) {
			ps = rd_realloc(ps, (n + 1) * sizeof *ps);
			ps[n].id = p->id;
			ps[n].parent = p->parent_id;
			ps[n++].sales = p->sales_user_id;
		}
		free(p);
	}
	rd_iter_close(&it);
	struct rd_rep_scope *sc = rd_calloc(1, sizeof *sc);
	char who[96];
	sc->vendor = vendor;
	if (rc >= 0)
		*problems += same_scoped(t, d, sc, today, "", report, arg);
	struct rd_vendor v;
	uint64_t vendor_sales = rc >= 0 && rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vendor, &v) == 0 ?
					v.sales_user_id : 0;
	for (size_t i = 0; rc >= 0 && i <= n; i++) { /* the sales people's scopes; n: the vendor's */
		uint64_t u = i < n ? ps[i].sales : vendor_sales;
		bool again = false;
		for (size_t j = 0; j < i && !again; j++)
			again = ps[j].sales == u;
		if (!u || again)
			continue;
		memset(sc, 0, sizeof *sc);
		sc->vendor = vendor;
		sc->sales_user = u;
		snprintf(who, sizeof who, " of sales person %llu", (unsigned long long)u);
		*problems += same_scoped(t, d, sc, today, who, report, arg);
	}
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		memset(sc, 0, sizeof *sc);
		sc->vendor = vendor;
		sc->channel = true;
		sc->partners[sc->n_partners++] = ps[i].id;
		for (size_t j = 0; j < n && sc->n_partners < RD_REP_MAX_PARTNERS; j++)
			if (ps[j].parent == ps[i].id && ps[j].id != ps[i].id)
				sc->partners[sc->n_partners++] = ps[j].id;
		qsort(sc->partners, sc->n_partners, sizeof sc->partners[0], cmp_u64);
		snprintf(who, sizeof who, " of partner %llu", (unsigned long long)ps[i].id);
		*problems += same_scoped(t, d, sc, today, who, report, arg);
		/* its first products' contracts and levels (a narrow scope joins its own one by one) */
		struct rd_rep_opts o = { .today = today, .limit = 100000 };
		for (uint64_t prod = 1; prod <= CHECK_PRODUCTS; prod++)
			for (int by = RD_REP_BY_PRODUCT; by <= RD_REP_BY_CONTRACT; by++) {
				struct rd_rep_filter f = { .product = prod };
				char what[200];
				snprintf(what, sizeof what, "partner %llu's drill-down by %s of product %llu",
					 (unsigned long long)ps[i].id, rd_rep_by_name(by), (unsigned long long)prod);
				*problems += same_drill(t, d, sc, by, &f, &o, what, report, arg);
			}
		if (ps[i].sales) {
			sc->sales_user = ps[i].sales;
			snprintf(who, sizeof who, " of partner %llu's sales person", (unsigned long long)ps[i].id);
			*problems += same_scoped(t, d, sc, today, who, report, arg);
		}
	}
	free(sc);
	free(ps);
	return rc < 0 ? rc : 0;
}

int rd_reports_check(struct rd_store *store, struct rd_domain *d, rd_date today,
		     void (*report)(const char *problem, void *arg), void *arg)
{
	struct rd_txn *t;
	int rc = rd_store_read(store, &t);
	if (rc < 0)
		return rc;
	uint64_t *ids;
	size_t n;
	int problems = 0;
	rc = vendor_ids(t, d, &ids, &n);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		int p = rd_txn_counters_check(t, d->contracts, ids[i], report, arg);
		if (p < 0) {
			rc = p;
			break;
		}
		problems += p;
		struct rd_rep_scope sc = { .vendor = ids[i] };
		struct rd_rep_opts o = { .today = today };
		struct rd_serr e1, e2;
		json_t *a = NULL, *b = NULL;
		int r1 = rd_reports_dashboard(t, d, &sc, &o, &a, &e1);
		int r2 = rd_reports_dashboard_walk(t, d, &sc, &o, &b, &e2);
		if (r1 != r2 || (r1 >= 0 && !json_equal(a, b))) {
			char msg[200];
			snprintf(msg, sizeof msg, "reports: vendor %llu: the dashboard from the counters differs from a recount",
				 (unsigned long long)ids[i]);
			report(msg, arg);
			problems++;
		}
		json_decref(a);
		json_decref(b);
		/* The drill-down's line level, its product level, and each line's products. */
		json_t *lines = NULL;
		struct rd_rep_filter none = { 0 };
		for (int lv = 0; lv < 2; lv++) {
			int by = lv ? RD_REP_BY_PRODUCT : RD_REP_BY_LINE;
			o.limit = 100000;
			r1 = rd_reports_drill(t, d, &sc, by, &none, &o, &a, &e1);
			r2 = rd_reports_drill_walk(t, d, &sc, by, &none, &o, &b, &e2);
			if (r1 != r2 || (r1 >= 0 && !json_equal(a, b))) {
				char msg[200];
				snprintf(msg, sizeof msg, "reports: vendor %llu: the drill-down by %s from the counters differs from "
					 "a recount", (unsigned long long)ids[i], rd_rep_by_name(by));
				report(msg, arg);
				problems++;
			}
			if (!lv && r1 >= 0)
				lines = json_incref(a);
			json_decref(a);
			json_decref(b);
		}
		json_t *row;
		size_t ri;
		json_array_foreach(json_object_get(json_object_get(json_object_get(lines, "tables"), "rows"), "rows"), ri, row) {
			struct rd_rep_filter lf = { 0 };
			snprintf(lf.line, sizeof lf.line, "%s", json_string_value(json_array_get(row, 1)) ?
				 json_string_value(json_array_get(row, 1)) : "");
			a = b = NULL;
			r1 = rd_reports_drill(t, d, &sc, RD_REP_BY_PRODUCT, &lf, &o, &a, &e1);
			r2 = rd_reports_drill_walk(t, d, &sc, RD_REP_BY_PRODUCT, &lf, &o, &b, &e2);
			if (r1 != r2 || (r1 >= 0 && !json_equal(a, b))) {
				char msg[300];
				snprintf(msg, sizeof msg, "reports: vendor %llu: the products of line %s from the counters differ "
					 "from a recount", (unsigned long long)ids[i], lf.line);
				report(msg, arg);
				problems++;
			}
			json_decref(a);
			json_decref(b);
		}
		json_decref(lines);
		/* The customer level and the rankings by customer, at a few page
		 * sizes (their own paths take the short pages). */
		static const unsigned cpages[] = { 1, 10, 500 };
		for (size_t pi = 0; pi < sizeof cpages / sizeof *cpages; pi++)
			for (int rk = 0; rk < 2; rk++) {
				struct rd_rep_opts co = { .today = today, .limit = cpages[pi] };
				a = b = NULL;
				if (rk) {
					r1 = rd_reports_rankings(t, d, &sc, RD_REP_BY_CUSTOMER, &co, &a, &e1);
					r2 = rd_reports_rankings_walk(t, d, &sc, RD_REP_BY_CUSTOMER, &co, &b, &e2);
				} else {
					r1 = rd_reports_drill(t, d, &sc, RD_REP_BY_CUSTOMER, &none, &co, &a, &e1);
					r2 = rd_reports_drill_walk(t, d, &sc, RD_REP_BY_CUSTOMER, &none, &co, &b, &e2);
				}
				if (r1 != r2 || (r1 >= 0 && !json_equal(a, b))) {
					char msg[200];
					snprintf(msg, sizeof msg, "reports: vendor %llu: the %s by customer (limit %u) differs from a "
						 "recount", (unsigned long long)ids[i], rk ? "rankings" : "drill-down", cpages[pi]);
					report(msg, arg);
					problems++;
				}
				json_decref(a);
				json_decref(b);
			}
		if (rc >= 0)
			rc = check_lists(t, d, &sc, today, report, arg, &problems);
		if (rc >= 0)
			rc = check_scopes(t, d, ids[i], today, report, arg, &problems);
	}
	free(ids);
	rd_txn_end(t);
	return rc < 0 ? rc : problems;
}

int rd_reports_count(struct rd_store *store, struct rd_domain *d)
{
	return rd_store_write(store, fill_counters, d);
}

int rd_reports_prepare(struct rd_store *store, struct rd_domain *d)
{
	int rc = rd_store_write(store, fill, d);
	return rc < 0 ? rc : rd_store_write(store, fill_counters, d);
}
