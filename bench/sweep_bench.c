/*
 * sweep_bench: the daily renewal sweep on a large book, in steady state.
 *
 * For each size N it builds a fresh store: one vendor (with the shipped
 * default policies active, as `renewctl vendor create` leaves it), a
 * distributor and 300 resellers with e-mail addresses, N / 20 customers with
 * e-mail addresses, 40 products with list prices, and N contracts whose end
 * dates are spread from 30 days ago to three years ahead.  The contracts are
 * placed so that on the measured day D exactly H contracts (the same H for
 * every N) meet each of the sweep's point scans:
 *
 *   end = D + 90   enter the renewal window (quote)
 *   end = D + 75   quoted 15 days ago, undecided by its decide-by day, D - 1
 *                  (pullback: the vendor's default applies)
 *   end = D - 1    ended yesterday (expiry)
 *   end = D + 60, +30, +14, +7, 0, -7   published: a reminder is due
 *
 * and every other day of the three years holds (N - 9 H) / 1117 contracts.
 * Everything the sweep would already have done by D exists: an opportunity
 * for each contract ending in [D - 7, D + 89] (awaiting a decision when its
 * decide-by day is D - 1 or later, published otherwise, expired after the
 * end), with the actions of its history (quote, decision or pullback,
 * notice, the reminders whose day has passed, expiry) and a customer link
 * for each notice and reminder; expired contracts are marked so.  (Sent
 * messages of earlier days are not generated: the outbox only grows at its
 * end.)  Ids ascend and
 * go in with rd_store_put_batch / rd_txn_put_batch (MDB_APPEND, indexes
 * maintained), 50 000 records per transaction.
 *
 * It then records D - 1 as the vendor's last swept day, sets the test
 * clock to D (noon) and times one rd_renew_sweep(): one vendor-day, one
 * write transaction, messages rendered with the built-in branding pack and
 * queued in the outbox.  D is a Wednesday (no digests) unless -m asks for a
 * Monday.  Prints the sweep's wall time (CLOCK_MONOTONIC), the actions it
 * took by kind and the messages it queued, and the ratio of the largest to
 * the smallest N: the scans are point/range scans of the end-date index, so
 * the time should follow H, not N (target: within 1.5x).
 *
 *   build/bench/sweep_bench [-H hits] [-m] [-q] [-f] [-d dir [-b]] [N ...]
 *   build/bench/sweep_bench -s STORE [-s STORE ...]
 *   build/bench/sweep_bench -u postgresql://... [-H hits] N
 *
 * -q queues the messages rendered (mail_render_at_queue 1, the format
 * before send-time rendering).  -f also sweeps a copy of each store as
 * built with messages rendered at queue ("at_queue" line), another with the
 * messages' contexts built as JSON trees (mail_json_contexts 1, the path
 * before typed contexts: "json_contexts" line) whose queued messages it
 * compares with the first sweep's ("compare" line: differ=0), and runs the
 * storage floor on another copy ("floor" line, storage_floor() below).
 *
 * -u builds and sweeps one size in that PostgreSQL database (empty; the
 * store's local directory is a temporary one) instead of LMDB: bench/run's
 * PostgreSQL part puts it beside the same size on LMDB.
 *
 * Default: N = 1000000 and 4000000, H = 1000, stores in a temporary
 * directory removed afterwards.  With -d DIR the stores are DIR/nN and
 * kept; -b only builds them.  -s sweeps stores built so (the sweep changes
 * a store: sweep a copy, `cp -a DIR/nN /tmp/x`, to measure again or under
 * perf).  A benchmark, not a test: docs/performance.md keeps the figures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "domain/app.h"
#include "domain/model.h"
#include "plugin/host.h"
#include "policy/runtime.h"
#include "renew/renew.h"
#include "store/record.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define TARGET_MS 250
#define BATCH 50000
#define RESELLERS 300
#define PRODUCTS 40
#define OFF_MIN (-30)  /* contract ends from D - 30 ... */
#define OFF_MAX 1095   /* ... to D + 3 years */
#define WINDOW 90
#define DECISION 14

/* The days the sweep of D looks at, as end - D. */
static const int hit_off[] = { WINDOW, WINDOW - DECISION - 1, -1, 60, 30, 14, 7, 0, -7 };
#define N_HIT ((int)(sizeof hit_off / sizeof *hit_off))
/* The default reminder cadence (days before the end). */
static const int cadence[] = { 60, 30, 14, 7, 0, -7 };
#define N_CADENCE ((int)(sizeof cadence / sizeof *cadence))
static int other_off[OFF_MAX - OFF_MIN + 1];
static int n_other;

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process's user and system CPU seconds so far (what of cpu_ms is
 * renewd's own work and what the kernel's: page faults, writes, sync). */
static void rusage_s(double *user, double *sys)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "sweep_bench: %s: %s\n", what, rd_strerror(rc));
	exit(1);
}

/* ---- batches with allocated ids ------------------------------------------------- */

/* Records of one table and tenant, encoded, waiting for their transaction. */
struct pending {
	struct rd_table *tb;
	uint64_t tenant;
	const struct rd_entity *e;
	struct rd_batch_item *items;
	struct rd_rec_writer *ws;
	size_t n;
	uint64_t next_id; /* the id the table's sequence gives next */
	bool allocate;    /* advance the table's id sequence (tables the sweep adds to) */
};

static void pending_init(struct pending *p, struct rd_table *tb, uint64_t tenant, const struct rd_entity *e,
			 bool allocate)
{
	memset(p, 0, sizeof *p);
	p->tb = tb;
	p->tenant = tenant;
	p->e = e;
	p->items = calloc(BATCH, sizeof *p->items);
	p->ws = calloc(BATCH, sizeof *p->ws);
	p->next_id = 1;
	p->allocate = allocate;
}

/* Allocates the ids through the table's sequence (so that the sweep's own
 * rd_entity_put continues after them), then appends the batch. */
static int alloc_batch_fn(struct rd_txn *t, void *arg)
{
	struct pending *p = arg;
	for (size_t i = 0; p->allocate && i < p->n; i++) {
		uint64_t id;
		int rc = rd_txn_next_id(t, p->tb, p->tenant, &id);
		if (rc < 0)
			return rc;
		if (id != p->items[i].id)
			return RD_EINTERNAL; /* the store was not fresh */
	}
	return rd_txn_put_batch(t, p->tb, p->tenant, p->items, p->n);
}

static void flush(struct rd_store *s, struct pending *p)
{
	if (!p->n)
		return;
	int rc = rd_store_write(s, alloc_batch_fn, p);
	if (rc < 0)
		die(p->e->table, rc);
	p->n = 0;
}

/* Gives obj (an entity: its first member is the id) the next id, encodes it
 * into the batch (flushed when full) and returns the id. */
static uint64_t add(struct rd_store *s, struct pending *p, void *obj)
{
	uint64_t id = p->next_id++;
	*(uint64_t *)obj = id;
	rd_entity_encode(p->e, obj, &p->ws[p->n]);
	p->items[p->n] = (struct rd_batch_item){ id, p->ws[p->n].buf, p->ws[p->n].len };
	if (++p->n == BATCH)
		flush(s, p);
	return id;
}

static void pending_free(struct pending *p)
{
	for (size_t i = 0; i < BATCH; i++)
		rd_rec_writer_free(&p->ws[i]);
	free(p->ws);
	free(p->items);
}

/* ---- the vendor and its partners, customers, products ------------------------------- */

struct setup {
	struct rd_domain *d;
	struct rd_vendor v;
	uint64_t distributor, resellers[RESELLERS], products[PRODUCTS];
	int64_t price[PRODUCTS];
};

static int setup_fn(struct rd_txn *t, void *arg)
{
	struct setup *u = arg;
	struct rd_vendor *v = &u->v;
	memset(v, 0, sizeof *v);
	snprintf(v->name, sizeof v->name, "Bench Software Ltd");
	snprintf(v->slug, sizeof v->slug, "bench");
	memcpy(v->currency, "GBP", 4);
	v->renewal_window_days = WINDOW;
	v->decision_window_days = DECISION;
	v->publish_default = RD_PUBLISH_VENDOR;
	v->statement_day = 20;
	v->deal_bonus_bp = 500;
	v->distributor_bp = 300;
	snprintf(v->notify_email, sizeof v->notify_email, "renewals@bench.example");
	int rc = rd_entity_put(t, u->d->vendors, &rd_entity_vendor, 0, v, 0);
	if (rc < 0 || (rc = rd_policy_seed_defaults(t, u->d, v)) < 0)
		return rc;

	struct rd_partner p = { 0 };
	snprintf(p.external_id, sizeof p.external_id, "D-001");
	snprintf(p.name, sizeof p.name, "Channel Distribution plc");
	p.kind = RD_PARTNER_DISTRIBUTOR;
	p.tier = RD_TIER_PLATINUM;
	snprintf(p.email, sizeof p.email, "renewals@distributor.example");
	snprintf(p.phone, sizeof p.phone, "+44 20 7946 0000");
	if ((rc = rd_entity_put(t, u->d->partners, &rd_entity_partner, v->id, &p, 0)) < 0)
		return rc;
	u->distributor = p.id;
	for (int i = 0; i < RESELLERS; i++) {
		memset(&p, 0, sizeof p);
		snprintf(p.external_id, sizeof p.external_id, "R-%03d", i + 1);
		snprintf(p.name, sizeof p.name, "Reseller %03d Ltd", i + 1);
		p.kind = RD_PARTNER_RESELLER;
		p.tier = (uint8_t)(RD_TIER_PLATINUM + i % 3);
		p.parent_id = u->distributor;
		snprintf(p.email, sizeof p.email, "renewals@reseller%03d.example", i + 1);
		snprintf(p.phone, sizeof p.phone, "+44 20 7946 %04d", i + 1);
		snprintf(p.colour_primary, sizeof p.colour_primary, "#1f3a5f");
		if ((rc = rd_entity_put(t, u->d->partners, &rd_entity_partner, v->id, &p, 0)) < 0)
			return rc;
		u->resellers[i] = p.id;
	}
	for (int i = 0; i < PRODUCTS; i++) {
		struct rd_product q = { 0 };
		snprintf(q.external_id, sizeof q.external_id, "SKU-%03d", i + 1);
		snprintf(q.name, sizeof q.name, "Endpoint Suite %d", i + 1);
		snprintf(q.line, sizeof q.line, "%s", i % 2 ? "security" : "backup");
		q.n_prices = 2;
		memcpy(q.prices[0].currency, "GBP", 4);
		q.prices[0].term = RD_TERM_ANNUAL;
		q.prices[0].amount = 2400 + 150 * i;
		memcpy(q.prices[1].currency, "GBP", 4);
		q.prices[1].term = RD_TERM_MONTHLY;
		q.prices[1].amount = (2400 + 150 * i) / 10;
		if (i % 4 == 1) /* an up-sell to the previous product's line now and then */
			q.upsell[q.n_upsell++] = u->products[i - 1];
		if ((rc = rd_entity_put(t, u->d->products, &rd_entity_product, v->id, &q, 0)) < 0)
			return rc;
		u->products[i] = q.id;
		u->price[i] = q.prices[0].amount;
	}
	return 0;
}

struct swept {
	uint64_t vendor;
	int32_t day;
};

/* The vendor's last swept day, as the scheduler keeps it. */
static int meta_fn(struct rd_txn *t, void *arg)
{
	const struct swept *w = arg;
	char key[48];
	snprintf(key, sizeof key, "sweep:%llu", (unsigned long long)w->vendor);
	return rd_txn_meta_put(t, key, &w->day, 4);
}

/* ---- contracts and what the sweep did before D ------------------------------------------- */

/* end - D of contract i (1-based): a fixed permutation of the ids spreads
 * the H contracts of each point scan over the whole id range (so their
 * records sit on pages all over the table, as imports leave them). */
static int offset_of(uint64_t i, uint64_t n, uint64_t hits)
{
	uint64_t slot = (1000003ULL * (i - 1) + 12345) % n; /* 1000003 is prime: a bijection for n = 2^a 5^b */
	if (slot < (uint64_t)N_HIT * hits)
		return hit_off[slot / hits];
	return other_off[(slot - (uint64_t)N_HIT * hits) % (uint64_t)n_other];
}

/* One publish mode's margin: the reseller's share at bp and the
 * distributor's 3 %, each rounded down (rd_money_share), the net the rest. */
static void margin_of(struct rd_quote_margin *m, int64_t list, int bp, const char *why)
{
	m->n = 2;
	snprintf(m->shares[0].party, sizeof m->shares[0].party, "reseller");
	m->shares[0].bp = bp;
	m->shares[0].amount = list * bp / 10000;
	snprintf(m->shares[0].reason, sizeof m->shares[0].reason, "%s", why);
	snprintf(m->shares[1].party, sizeof m->shares[1].party, "distributor");
	m->shares[1].bp = 300;
	m->shares[1].amount = list * 300 / 10000;
	snprintf(m->shares[1].reason, sizeof m->shares[1].reason, "distributor of record");
	m->channel_bp = bp + 300;
	m->net = list - m->shares[0].amount - m->shares[1].amount;
}

/* The quote as the engine writes it: the renewal line, priced in both
 * publish modes. */
static void quote_lines(struct rd_opportunity *o, int p, int64_t unit, uint32_t qty, int tier)
{
	static const int partner_bp[] = { 0, 3300, 2500, 2000 }, vendor_bp[] = { 0, 2000, 2000, 1500 };
	struct rd_quote_line *l = &o->lines[0];
	memset(l, 0, sizeof *l);
	o->n_lines = 1;
	l->kind = RD_LINE_RENEWAL;
	l->priced = RD_QUOTE_MARGINS | RD_QUOTE_PARTNER | RD_QUOTE_VENDOR;
	snprintf(l->sku, sizeof l->sku, "SKU-%03d", p + 1);
	snprintf(l->description, sizeof l->description, "Endpoint Suite %d", p + 1);
	l->quantity = qty;
	l->unit_list = unit;
	l->list = unit * qty;
	margin_of(&l->partner, l->list, partner_bp[tier], "tier margin");
	margin_of(&l->vendor, l->list, vendor_bp[tier], "tier commission");
}

/* A link's stored hash: 64 hex digits, spread like SHA-256 output. */
static void fake_hash(uint64_t x, char out[65])
{
	for (int w = 0; w < 4; w++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL) ^ (uint64_t)w << 56;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		snprintf(out + 16 * w, 17, "%016llx", (unsigned long long)z);
	}
}

static void add_action(struct rd_store *s, struct pending *act, const char *key, rd_date day)
{
	struct rd_sched_action a = { 0 };
	snprintf(a.key, sizeof a.key, "%s", key);
	a.day = day;
	a.at = (uint64_t)day * 86400 + 43200;
	add(s, act, &a);
}

/* The customer's link a notice or reminder carried. */
static void add_link(struct rd_store *s, struct pending *lnk, uint64_t vendor, const struct rd_opportunity *o)
{
	struct rd_link l = { 0 };
	fake_hash(lnk->next_id * 0x2545f4914f6cdd1dULL, l.hash);
	l.vendor_id = vendor;
	l.customer_id = o->customer_id;
	l.opportunity_id = o->id;
	l.expires_at = (uint64_t)(o->contract_end + 60) * 86400;
	add(s, lnk, &l);
}

struct book {
	uint64_t contracts, customers, opportunities, actions, links;
	unsigned long long per_offset[N_HIT];
};

static void generate(struct rd_store *s, struct rd_domain *d, struct setup *u, rd_date day, uint64_t n, uint64_t hits,
		     struct book *b)
{
	uint64_t vid = u->v.id;
	struct pending cust, con, opp, act, lnk;
	pending_init(&cust, d->customers, vid, &rd_entity_customer, true);
	pending_init(&con, d->contracts, vid, &rd_entity_contract, false);
	pending_init(&opp, d->opportunities, vid, &rd_entity_opportunity, true);
	pending_init(&act, d->actions, vid, &rd_entity_action, true);
	pending_init(&lnk, d->links, 0, &rd_entity_link, true);
	memset(b, 0, sizeof *b);

	static const char *const segments[] = { "smb", "mid-market", "enterprise" };
	uint64_t n_cust = n / 20;
	for (uint64_t i = 1; i <= n_cust; i++) {
		struct rd_customer c = { 0 };
		snprintf(c.external_id, sizeof c.external_id, "C-%07llu", (unsigned long long)i);
		snprintf(c.name, sizeof c.name, "Customer %llu Ltd", (unsigned long long)i);
		snprintf(c.email, sizeof c.email, "it@customer%07llu.example", (unsigned long long)i);
		snprintf(c.city, sizeof c.city, "Leeds");
		memcpy(c.country, "GB", 3);
		snprintf(c.segment, sizeof c.segment, "%s", segments[i % 3]);
		add(s, &cust, &c);
	}
	flush(s, &cust);
	b->customers = n_cust;

	struct rd_opportunity *o = malloc(sizeof *o);
	for (uint64_t i = 1; i <= n; i++) {
		int off = offset_of(i, n, hits);
		for (int h = 0; h < N_HIT; h++)
			if (off == hit_off[h])
				b->per_offset[h]++;
		int r = (int)(i * 7 % RESELLERS), p = (int)(i * 13 % PRODUCTS);
		struct rd_contract c = { 0 };
		snprintf(c.external_id, sizeof c.external_id, "K-%08llu", (unsigned long long)i);
		c.customer_id = 1 + (i * 31) % n_cust;
		c.product_id = u->products[p];
		c.reseller_id = u->resellers[r];
		c.distributor_id = u->distributor;
		c.quantity = 1 + (uint32_t)(i % 250);
		c.end = day + off;
		c.start = c.end - 364;
		c.term = RD_TERM_ANNUAL;
		memcpy(c.currency, "GBP", 4);
		c.status = off < -1 ? RD_CONTRACT_EXPIRED : RD_CONTRACT_LIVE;
		c.quoted = off < WINDOW ? RD_QUOTED_YES : 0; /* inside the window: quoted by an earlier sweep */
		uint64_t cid = add(s, &con, &c);

		if (off < -7 || off >= WINDOW)
			continue;
		/* Quoted on the day it entered the window. */
		rd_date quoted = c.end - WINDOW;
		memset(o, 0, sizeof *o);
		o->contract_id = cid;
		o->customer_id = c.customer_id;
		o->product_id = c.product_id;
		o->reseller_id = c.reseller_id;
		o->distributor_id = c.distributor_id;
		o->contract_end = c.end;
		o->decision_by = quoted + DECISION;
		o->valid_until = c.end;
		memcpy(o->currency, "GBP", 4);
		o->policy_version = u->v.margin_version;
		o->created_at = (uint64_t)quoted * 86400 + 43200;
		quote_lines(o, p, u->price[p], c.quantity, 1 + r % 3);
		o->list_total = u->price[p] * c.quantity;
		o->net_total = o->list_total - o->list_total * 2300 / 10000;
		if (o->decision_by >= day - 1) {
			/* Undecided: the default applies today (end = D + 75) or later. */
			o->state = RD_OPP_PENDING_DECISION;
		} else if (off >= -1) {
			o->publish = i % 3 ? RD_PUBLISH_VENDOR : RD_PUBLISH_PARTNER;
			o->state = o->publish == RD_PUBLISH_PARTNER ? RD_OPP_PUBLISHED_PARTNER : RD_OPP_PUBLISHED_VENDOR;
			o->decided_by_default = o->publish == RD_PUBLISH_VENDOR;
		} else {
			o->publish = RD_PUBLISH_VENDOR;
			o->state = RD_OPP_EXPIRED;
		}
		int y, m, dd;
		rd_date_to_ymd(quoted, &y, &m, &dd);
		snprintf(o->number, sizeof o->number, "Q-%04d-%06llu", y, (unsigned long long)opp.next_id);
		uint64_t oid = add(s, &opp, o);

		/* Its history: the quote; once decided (by the partner, or by
		 * default the day after its decide-by day) the customer notice;
		 * the reminders whose day has passed; the expiry.  Each notice
		 * and reminder carried a link of its own. */
		char key[96];
		snprintf(key, sizeof key, "quote:%llu", (unsigned long long)cid);
		add_action(s, &act, key, quoted);
		if (o->state != RD_OPP_PENDING_DECISION) {
			snprintf(key, sizeof key, "%s:%llu", o->decided_by_default ? "pullback" : "decision",
				 (unsigned long long)oid);
			add_action(s, &act, key, o->decision_by + (o->decided_by_default ? 1 : 0));
			snprintf(key, sizeof key, "notice:%llu", (unsigned long long)oid);
			add_action(s, &act, key, o->decision_by + 1);
			add_link(s, &lnk, vid, o);
			for (int k = 0; k < N_CADENCE; k++)
				if (cadence[k] > off) { /* its day, end - cadence, is before D */
					snprintf(key, sizeof key, "reminder:%d:%llu", cadence[k], (unsigned long long)oid);
					add_action(s, &act, key, c.end - cadence[k]);
					add_link(s, &lnk, vid, o);
				}
		}
		if (o->state == RD_OPP_EXPIRED) {
			snprintf(key, sizeof key, "expire:%llu", (unsigned long long)cid);
			add_action(s, &act, key, c.end + 1);
		}
	}
	flush(s, &con);
	flush(s, &opp);
	flush(s, &act);
	flush(s, &lnk);
	b->contracts = n;
	b->opportunities = opp.next_id - 1;
	b->actions = act.next_id - 1;
	b->links = lnk.next_id - 1;
	free(o);
	pending_free(&cust);
	pending_free(&con);
	pending_free(&opp);
	pending_free(&act);
	pending_free(&lnk);
}

/* ---- after the sweep ---------------------------------------------------------------------- */

struct tally {
	uint64_t outbox;
	char actions[256], messages[256];
};

static void add_kind(char (*names)[24], unsigned *counts, int *n, const char *name, size_t len)
{
	for (int i = 0; i < *n; i++)
		if (strlen(names[i]) == len && !strncmp(names[i], name, len)) {
			counts[i]++;
			return;
		}
	if (*n < 16) {
		snprintf(names[*n], 24, "%.*s", (int)len, name);
		counts[(*n)++] = 1;
	}
}

static void join(char *out, size_t cap, char (*names)[24], unsigned *counts, int n)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; i < n && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s=%u", i ? " " : "", names[i], counts[i]);
}

/* Counts the outbox, and what the sweep did (actions after first_action,
 * messages after first_message) by kind. */
static void count(struct rd_store *s, struct rd_domain *d, uint64_t vid, uint64_t first_action, uint64_t first_message,
		  struct tally *t)
{
	struct rd_txn *txn;
	if (rd_store_read(s, &txn) < 0)
		die("read", RD_EINTERNAL);
	rd_store_count(txn, d->outbox, vid, &t->outbox);
	char names[16][24];
	unsigned counts[16];
	int n = 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_sched_action a;
	int rc = rd_iter_records(&it, txn, d->actions, vid, first_action);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_action, item.val, item.len, &a) == 0) {
			const char *colon = strchr(a.key, ':');
			add_kind(names, counts, &n, a.key, colon ? (size_t)(colon - a.key) : strlen(a.key));
		}
	rd_iter_close(&it);
	join(t->actions, sizeof t->actions, names, counts, n);
	n = 0;
	struct rd_message *m = malloc(sizeof *m);
	rc = rd_iter_records(&it, txn, d->outbox, vid, first_message);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_message, item.val, item.len, m) == 0)
			add_kind(names, counts, &n, m->kind, strlen(m->kind));
	rd_iter_close(&it);
	free(m);
	join(t->messages, sizeof t->messages, names, counts, n);
	rd_txn_end(txn);
}

/* ---- one size ------------------------------------------------------------------------------ */

struct result {
	uint64_t n;
	double ms, cpu_ms;
	uint64_t vendor, first_message; /* the sweep's messages: from this id on */
};

static const char *store_url; /* -u: PostgreSQL instead of LMDB */

static struct rd_store *open_store(const char *dir, struct rd_domain *d)
{
	char err[512];
	struct rd_store *s;
	struct rd_store_opts so = { .map_size = (size_t)1 << 30, .url = store_url };
	int rc = rd_store_open(&s, dir, &so, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "sweep_bench: %s\n", err);
		exit(1);
	}
	if ((rc = rd_domain_register(s, d)) < 0)
		die("register", rc);
	return s;
}

static void build(const char *dir, uint64_t n, uint64_t hits, bool monday)
{
	struct rd_domain d;
	struct rd_store *s = open_store(dir, &d);
	rd_store_reserve(s, n * 700);
	rd_date day = rd_date_from_ymd(2027, 3, 3); /* a Wednesday */
	while (monday ? (day + 3) % 7 != 0 : (day + 3) % 7 == 0)
		day++;

	double t0 = now();
	struct setup *u = calloc(1, sizeof *u);
	u->d = &d;
	int rc = rd_store_write(s, setup_fn, u);
	if (rc < 0)
		die("vendor", rc);
	struct book b;
	generate(s, &d, u, day, n, hits, &b);
	struct swept w = { u->v.id, day - 1 };
	if ((rc = rd_store_write(s, meta_fn, &w)) < 0)
		die("sweep meta", rc);
	double tgen = now() - t0;
	struct rd_store_stats st;
	rd_store_stats(s, &st);
	char ds[11];
	rd_date_format(day, ds);
	printf("sweep_bench: built %llu contracts, %llu customers, %llu opportunities, %llu actions, %llu links in "
	       "%.1f s (store %.0f MiB, %s)\n",
	       (unsigned long long)b.contracts, (unsigned long long)b.customers, (unsigned long long)b.opportunities,
	       (unsigned long long)b.actions, (unsigned long long)b.links, tgen, (double)st.used_bytes / 1048576.0, dir);
	printf("  contracts ending on the days the sweep of %s%s scans:", ds, monday ? " (a Monday: digests)" : "");
	for (int h = 0; h < N_HIT; h++)
		printf(" %+d:%llu", hit_off[h], b.per_offset[h]);
	printf("\n");
	fflush(stdout);
	free(u);
	rd_store_close(&s);
}

struct next_ids {
	struct rd_domain *d;
	uint64_t vendor, action, message;
};

/* Peeks at the id sequences of actions and outbox (then aborts). */
static int next_ids_fn(struct rd_txn *t, void *arg)
{
	struct next_ids *n = arg;
	int rc = rd_txn_next_id(t, n->d->actions, n->vendor, &n->action);
	if (rc == 0)
		rc = rd_txn_next_id(t, n->d->outbox, n->vendor, &n->message);
	return rc < 0 ? rc : RD_EDECLINED;
}

/* Reads the store's data file through, so that each timed run (the sweep,
 * the other formats' sweeps, the floor) starts with its copy in the page
 * cache: the copies made before the sweeps are not evicted by the ones
 * swept in between (at 4 M four copies of 2 GB) for one run and not for
 * another.  Not timed. */
static void warm(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	FILE *f = fopen(path, "rb");
	if (!f)
		return; /* PostgreSQL: nothing local to warm */
	static char buf[1 << 20];
	while (fread(buf, 1, sizeof buf, f) == sizeof buf)
		;
	fclose(f);
}

/* Sweeps the day after the vendor's last swept day, as the daemon's timer
 * would, and prints what it took. */
static int sweep(const char *dir, struct result *res, bool at_queue, bool json_contexts, const char *label)
{
	struct rd_domain d;
	struct rd_store *s = open_store(dir, &d);
	struct rd_txn *txn;
	if (rd_store_read(s, &txn) < 0)
		die("read", RD_EINTERNAL);
	struct rd_iter it;
	struct rd_item item;
	uint64_t vid = 0;
	if (rd_iter_records(&it, txn, d.vendors, 0, 0) >= 0 && rd_iter_next(&it, &item) > 0)
		vid = item.id;
	rd_iter_close(&it);
	char key[48];
	snprintf(key, sizeof key, "sweep:%llu", (unsigned long long)vid);
	const void *v;
	size_t len;
	int32_t last;
	if (!vid || rd_txn_meta_get(txn, key, &v, &len) < 0 || len != 4) {
		fprintf(stderr, "sweep_bench: %s: no vendor with a last swept day (build it with -d DIR -b)\n", dir);
		exit(1);
	}
	memcpy(&last, v, 4);
	rd_date day = last + 1;
	uint64_t n, hits = 0;
	uint8_t lo[4], hi[4];
	rd_date_key(day + WINDOW, lo);
	rd_date_key(day + WINDOW + 1, hi);
	if (rd_iter_index(&it, txn, d.contracts, RD_IDX_CONTRACT_END, vid, lo, 4, hi, 4) >= 0)
		while (rd_iter_next(&it, &item) > 0)
			hits++;
	rd_iter_close(&it);
	rd_txn_end(txn);
	/* The ids the sweep's first action and message will get (without
	 * walking the tables: that would warm pages the sweep does not touch). */
	struct next_ids ids = { &d, vid, 0, 0 };
	rd_store_write(s, next_ids_fn, &ids);
	struct rd_store_stats st0, st1;
	rd_store_stats(s, &st0);

	/* A minimal application, as renewctl schedule preview builds it. */
	rd_clock_make_settable((uint64_t)day * 86400 + 12 * 3600);
	struct rd_config cfg = { .data = (char *)rd_store_dir(s), .listen = (char *)"127.0.0.1:8080",
				 .claim_lease_ms = 60000, .mail_render_at_queue = at_queue,
				 .mail_json_contexts = json_contexts };
	struct rd_app app = { .store = s, .domain = &d, .config = &cfg };
	app.policies = rd_policy_runtime_new();
	app.plugins = rd_plugins_new(s, &d, NULL);
	rd_plugins_add_builtins(app.plugins);
	struct rd_renew *r = rd_renew_new(&app);

	warm(dir);
	double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), u0, s0, u1, s1;
	rusage_s(&u0, &s0);
	int taken = rd_renew_sweep(r);
	double ms = (now() - t0) * 1000.0, cpu_ms = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1000.0;
	rusage_s(&u1, &s1);
	if (taken < 0)
		die("sweep", taken);

	struct tally t;
	count(s, &d, vid, ids.action, ids.message, &t);
	if (rd_store_read(s, &txn) < 0)
		die("read", RD_EINTERNAL);
	rd_store_count(txn, d.contracts, vid, &n);
	rd_txn_end(txn);
	double load[1] = { 0 };
	getloadavg(load, 1);
	rd_store_stats(s, &st1);
	printf("sweep_bench: %scontracts=%llu hits=%llu actions=%d messages=%llu sweep_ms=%.1f target_ms=%d cpu_ms=%.1f "
	       "load=%.2f grew_kib=%.0f user_ms=%.1f sys_ms=%.1f\n",
	       label, (unsigned long long)n, (unsigned long long)hits, taken,
	       (unsigned long long)(t.outbox - (ids.message - 1)), ms, TARGET_MS, cpu_ms, load[0],
	       ((double)st1.used_bytes - (double)st0.used_bytes) / 1024.0, (u1 - u0) * 1000.0, (s1 - s0) * 1000.0);
	if (!*label)
		printf("  actions: %s\n  messages: %s\n", t.actions, t.messages);
	fflush(stdout);
	res->n = n;
	res->vendor = vid;
	res->first_message = ids.message;
	res->ms = ms;
	res->cpu_ms = cpu_ms;
	rd_renew_free(&r);
	rd_plugins_free(&app.plugins);
	rd_policy_runtime_free(&app.policies);
	rd_store_close(&s);
	return 0;
}


/* ---- typed contexts against JSON ones (-f) ------------------------------------------------
 *
 * The sweep's messages in a store swept with typed contexts and in a copy
 * swept with mail_json_contexts 1: the same records, field for field, once
 * the customers' link tokens (random) are masked in the parameters and
 * texts. */

static void mask_tokens(char *s)
{
	for (char *p = s; (p = strstr(p, "/c/"));) {
		p += 3;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		       *p == '-')
			*p++ = 'x';
	}
}

static void compare_outboxes(const char *typed, const char *json, const struct result *a, const struct result *b)
{
	struct rd_domain da, db;
	struct rd_store *sa = open_store(typed, &da), *sb = open_store(json, &db);
	struct rd_txn *ta, *tb;
	if (rd_store_read(sa, &ta) < 0 || rd_store_read(sb, &tb) < 0)
		die("compare: read", RD_EINTERNAL);
	struct rd_iter ia, ib;
	struct rd_item xa, xb;
	struct rd_message *ma = malloc(sizeof *ma), *mb = malloc(sizeof *mb);
	unsigned long long n = 0, differ = 0, with_params = 0;
	int ra = rd_iter_records(&ia, ta, da.outbox, a->vendor, a->first_message);
	int rb = rd_iter_records(&ib, tb, db.outbox, b->vendor, b->first_message);
	const char *first = "";
	char where[160] = "";
	for (;;) {
		ra = ra < 0 ? ra : rd_iter_next(&ia, &xa);
		rb = rb < 0 ? rb : rd_iter_next(&ib, &xb);
		if (ra <= 0 || rb <= 0) {
			if (ra != rb) {
				differ++;
				first = "one outbox holds more messages";
			}
			break;
		}
		memset(ma, 0, sizeof *ma);
		memset(mb, 0, sizeof *mb);
		if (rd_entity_decode(&rd_entity_message, xa.val, xa.len, ma) < 0 ||
		    rd_entity_decode(&rd_entity_message, xb.val, xb.len, mb) < 0)
			die("compare: decode", RD_ECORRUPT);
		n++;
		with_params += ma->params[0] != 0;
		mask_tokens(ma->params);
		mask_tokens(mb->params);
		mask_tokens(ma->text);
		mask_tokens(mb->text);
		mask_tokens(ma->html);
		mask_tokens(mb->html);
		if (xa.id != xb.id || memcmp(ma, mb, sizeof *ma)) {
			if (!differ++) {
				first = strcmp(ma->params, mb->params) ? "params" : strcmp(ma->subject, mb->subject) ? "subject"
					: "another field";
				snprintf(where, sizeof where, " first=%llu", (unsigned long long)xa.id);
			}
		}
	}
	rd_iter_close(&ia);
	rd_iter_close(&ib);
	free(ma);
	free(mb);
	rd_txn_end(ta);
	rd_txn_end(tb);
	printf("sweep_bench: compare contracts=%llu messages=%llu with_params=%llu differ=%llu%s%s%s\n",
	       (unsigned long long)a->n, n, with_params, differ, where, *first ? " in=" : "", first);
	fflush(stdout);
	rd_store_close(&sa);
	rd_store_close(&sb);
}

/* ---- the storage floor (-f) ---------------------------------------------------------------
 *
 * What the sweep costs the store, without policy, templates or JSON: on a
 * copy of the store as built, one write transaction makes the sweep's index
 * scans (each end day it scans: the contracts' end index, each contract and
 * its opportunity through the opportunities' contract index) and writes the
 * records the sweep wrote, byte for byte as the swept store holds them (its
 * new actions, opportunities, messages, links, webhook deliveries and tasks,
 * and the opportunities and contracts of the scanned days, with their
 * indexes and counters), then commits (synced) as the sweep does. */

static void copy_store(const char *from, const char *to)
{
	char cmd[9000];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -a '%s' '%s' && sync", to, from, to);
	if (system(cmd) != 0) {
		fprintf(stderr, "sweep_bench: could not copy %s to %s\n", from, to);
		exit(1);
	}
}

struct floor_rec {
	int table; /* index in floor_tables() */
	uint64_t tenant, id;
	void *val;
	size_t len;
};

struct floor {
	struct rd_domain *d;
	uint64_t vendor;
	rd_date day;
	struct floor_rec *recs;
	size_t n, cap;
	uint64_t next[8]; /* the copy's next id of each table in floor_tables() */
	uint64_t scanned;
};

enum { T_ACTIONS, T_OPPS, T_OUTBOX, T_LINKS, T_DELIVERIES, T_TASKS, T_CONTRACTS, N_FLOOR_TABLES };

static struct rd_table *floor_table(struct rd_domain *d, int i, uint64_t vendor, uint64_t *tenant)
{
	*tenant = i == T_LINKS ? 0 : vendor;
	struct rd_table *t[] = { d->actions, d->opportunities, d->outbox, d->links, d->hook_deliveries, d->tasks,
				 d->contracts };
	return t[i];
}

static void floor_add(struct floor *f, int table, uint64_t tenant, uint64_t id, const void *val, size_t len)
{
	if (f->n == f->cap)
		f->recs = realloc(f->recs, (f->cap = f->cap ? 2 * f->cap : 4096) * sizeof *f->recs);
	struct floor_rec *r = &f->recs[f->n++];
	*r = (struct floor_rec){ table, tenant, id, malloc(len ? len : 1), len };
	memcpy(r->val, val, len);
}

/* The copy's next ids (then aborts). */
static int floor_next_fn(struct rd_txn *t, void *arg)
{
	struct floor *f = arg;
	for (int i = 0; i < T_CONTRACTS; i++) {
		uint64_t tenant;
		struct rd_table *tb = floor_table(f->d, i, f->vendor, &tenant);
		int rc = rd_txn_next_id(t, tb, tenant, &f->next[i]);
		if (rc < 0)
			return rc;
	}
	return RD_EDECLINED;
}

/* The sweep's scans: each scanned end day's contracts and their
 * opportunities.  With out set, what the swept store holds for them is
 * collected. */
static int floor_scan(struct rd_txn *t, struct floor *f, bool collect)
{
	for (int h = 0; h < N_HIT; h++) {
		uint8_t lo[4], hi[4];
		rd_date_key(f->day + hit_off[h], lo);
		rd_date_key(f->day + hit_off[h] + 1, hi);
		struct rd_iter it;
		struct rd_item item;
		int rc = rd_iter_index(&it, t, f->d->contracts, RD_IDX_CONTRACT_END, f->vendor, lo, 4, hi, 4);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			const void *v;
			size_t len;
			if ((rc = rd_txn_get(t, f->d->contracts, f->vendor, item.id, &v, &len)) < 0)
				break;
			if (collect)
				floor_add(f, T_CONTRACTS, f->vendor, item.id, v, len);
			uint8_t k[8];
			uint64_t oid;
			rd_key_put_u64(k, item.id);
			if (rd_index_find(t, f->d->opportunities, "contract", f->vendor, k, 8, &oid) == 0 &&
			    rd_txn_get(t, f->d->opportunities, f->vendor, oid, &v, &len) == 0) {
				if (collect && oid < f->next[T_OPPS]) /* the new ones are collected already */
					floor_add(f, T_OPPS, f->vendor, oid, v, len);
				f->scanned++;
			}
		}
		rd_iter_close(&it);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int floor_write_fn(struct rd_txn *t, void *arg)
{
	struct floor *f = arg;
	int rc = floor_scan(t, f, false);
	for (size_t i = 0; rc >= 0 && i < f->n; i++) {
		uint64_t tenant;
		struct rd_table *tb = floor_table(f->d, f->recs[i].table, f->vendor, &tenant);
		rc = rd_txn_put(t, tb, f->recs[i].tenant, f->recs[i].id, f->recs[i].val, f->recs[i].len, 0);
	}
	char key[48];
	snprintf(key, sizeof key, "sweep:%llu", (unsigned long long)f->vendor);
	int32_t d = f->day;
	if (rc >= 0)
		rc = rd_txn_meta_put(t, key, &d, 4);
	return rc;
}

static void storage_floor(const char *swept, const char *copy)
{
	struct rd_domain dc, ds;
	struct rd_store *c = open_store(copy, &dc);
	struct floor f = { .d = &dc };
	struct rd_txn *t;
	if (rd_store_read(c, &t) < 0)
		die("read", RD_EINTERNAL);
	struct rd_iter it;
	struct rd_item item;
	if (rd_iter_records(&it, t, dc.vendors, 0, 0) >= 0 && rd_iter_next(&it, &item) > 0)
		f.vendor = item.id;
	rd_iter_close(&it);
	char key[48];
	snprintf(key, sizeof key, "sweep:%llu", (unsigned long long)f.vendor);
	const void *v;
	size_t len;
	int32_t last;
	if (rd_txn_meta_get(t, key, &v, &len) < 0 || len != 4)
		die("floor: the copy's last swept day", RD_EINTERNAL);
	memcpy(&last, v, 4);
	f.day = last + 1;
	rd_txn_end(t);
	rd_store_write(c, floor_next_fn, &f);

	/* What the sweep wrote, from the swept store. */
	struct rd_store *s = open_store(swept, &ds);
	if (rd_store_read(s, &t) < 0)
		die("read", RD_EINTERNAL);
	f.d = &ds;
	for (int i = 0; i < T_CONTRACTS; i++) {
		uint64_t tenant;
		struct rd_table *tb = floor_table(&ds, i, f.vendor, &tenant);
		int rc = rd_iter_records(&it, t, tb, tenant, f.next[i]);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			floor_add(&f, i, tenant, item.id, item.val, item.len);
		rd_iter_close(&it);
	}
	if (floor_scan(t, &f, true) < 0)
		die("floor: scanning the swept store", RD_EINTERNAL);
	rd_txn_end(t);
	rd_store_close(&s);
	if (system("sync") != 0)
		fprintf(stderr, "sweep_bench: sync failed\n");

	f.d = &dc;
	f.scanned = 0;
	struct rd_store_stats st0, st1;
	rd_store_stats(c, &st0);
	warm(copy);
	double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), u0, s0, u1, s1;
	rusage_s(&u0, &s0);
	int rc = rd_store_write(c, floor_write_fn, &f);
	double ms = (now() - t0) * 1000.0, cpu_ms = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1000.0;
	rusage_s(&u1, &s1);
	if (rc < 0)
		die("floor", rc);
	rd_store_stats(c, &st1);
	uint64_t n;
	if (rd_store_read(c, &t) < 0)
		die("read", RD_EINTERNAL);
	rd_store_count(t, dc.contracts, f.vendor, &n);
	rd_txn_end(t);
	printf("sweep_bench: floor contracts=%llu records=%zu scanned=%llu floor_ms=%.1f cpu_ms=%.1f grew_kib=%.0f "
	       "user_ms=%.1f sys_ms=%.1f\n",
	       (unsigned long long)n, f.n, (unsigned long long)f.scanned, ms, cpu_ms,
	       ((double)st1.used_bytes - (double)st0.used_bytes) / 1024.0, (u1 - u0) * 1000.0, (s1 - s0) * 1000.0);
	fflush(stdout);
	for (size_t i = 0; i < f.n; i++)
		free(f.recs[i].val);
	free(f.recs);
	rd_store_close(&c);
}

static void usage(void)
{
	fprintf(stderr, "usage: sweep_bench [-H hits] [-m] [-q] [-f] [-d dir [-b]] [N ...]   (default N: 1000000 4000000, H: 1000)\n"
			"       sweep_bench -s STORE_DIR ...   (sweep stores built with -b; copy them first)\n"
			"       sweep_bench -u postgresql://... [-H hits] N   (one size in an empty PostgreSQL database)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t hits = 1000, sizes[8];
	int n_sizes = 0, n_stores = 0;
	const char *base = NULL, *stores[8];
	bool monday = false, build_only = false, at_queue = false, compare = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-H") && i + 1 < argc)
			hits = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-d") && i + 1 < argc)
			base = argv[++i];
		else if (!strcmp(argv[i], "-u") && i + 1 < argc)
			store_url = argv[++i];
		else if (!strcmp(argv[i], "-s") && i + 1 < argc && n_stores < 8)
			stores[n_stores++] = argv[++i];
		else if (!strcmp(argv[i], "-m"))
			monday = true;
		else if (!strcmp(argv[i], "-b"))
			build_only = true;
		else if (!strcmp(argv[i], "-q"))
			at_queue = true;
		else if (!strcmp(argv[i], "-f"))
			compare = true;
		else if (argv[i][0] >= '1' && argv[i][0] <= '9' && n_sizes < 8)
			sizes[n_sizes++] = strtoull(argv[i], NULL, 10);
		else
			usage();
	}
	if ((build_only && !base) || (n_stores && (n_sizes || base)) || !hits || (store_url && (n_sizes != 1 || n_stores)) ||
	    (compare && (store_url || n_stores)))
		usage();
	if (!n_sizes && !n_stores) {
		sizes[n_sizes++] = 1000000;
		sizes[n_sizes++] = 4000000;
	}
	for (int i = 0; i < n_sizes; i++)
		if (sizes[i] < (uint64_t)N_HIT * hits + 10000 || sizes[i] % 1000003 == 0) {
			fprintf(stderr, "sweep_bench: N = %llu does not suit H = %llu\n", (unsigned long long)sizes[i],
				(unsigned long long)hits);
			return 2;
		}
	for (int off = OFF_MIN; off <= OFF_MAX; off++) {
		bool hit = false;
		for (int h = 0; h < N_HIT; h++)
			hit |= off == hit_off[h];
		if (!hit)
			other_off[n_other++] = off;
	}
	rd_log_set_level(RD_LOG_WARN);

	struct result res[8];
	int n_res = 0;
	for (int i = 0; i < n_stores; i++)
		sweep(stores[i], &res[n_res++], at_queue, false, "");

	char tmpl[] = "/tmp/renewd-sweep-XXXXXX";
	const char *root = base;
	if (n_sizes && !root && !(root = mkdtemp(tmpl))) {
		perror("sweep_bench: mkdtemp");
		return 1;
	}
	if (base && mkdir(base, 0755) < 0 && errno != EEXIST) {
		perror("sweep_bench: mkdir");
		return 1;
	}
	for (int i = 0; i < n_sizes; i++) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/n%llu", root, (unsigned long long)sizes[i]);
		if (mkdir(dir, 0755) < 0) {
			fprintf(stderr, "sweep_bench: %s: %s (the store must be fresh)\n", dir, strerror(errno));
			return 1;
		}
		build(dir, sizes[i], hits, monday);
		char fdir[4200], qdir[4200], jdir[4200];
		snprintf(fdir, sizeof fdir, "%s.floor", dir);
		snprintf(qdir, sizeof qdir, "%s.queue", dir);
		snprintf(jdir, sizeof jdir, "%s.json", dir);
		if (!build_only && compare) { /* copies of the store as built: the floor's, the formats before */
			copy_store(dir, fdir);
			copy_store(dir, qdir);
			copy_store(dir, jdir);
		}
		if (!build_only)
			sweep(dir, &res[n_res++], at_queue, false, "");
		if (!build_only && compare) {
			sweep(qdir, &(struct result){ 0 }, true, false, "at_queue ");
			struct result jr = { 0 };
			sweep(jdir, &jr, at_queue, true, "json_contexts ");
			compare_outboxes(dir, jdir, &res[n_res - 1], &jr);
			storage_floor(dir, fdir);
		}
		if (!base) {
			char cmd[17000];
			snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s' '%s'", dir, fdir, qdir, jdir);
			if (system(cmd) != 0)
				fprintf(stderr, "sweep_bench: could not remove %s\n", dir);
		}
	}
	if (n_sizes && !base)
		rmdir(root);
	if (n_res > 1) {
		int lo = 0, hi = 0;
		for (int i = 1; i < n_res; i++) {
			if (res[i].n < res[lo].n)
				lo = i;
			if (res[i].n > res[hi].n)
				hi = i;
		}
		double ratio = res[hi].ms / res[lo].ms;
		printf("sweep_bench: ratio %.0fM/%.0fM = %.2f (target <= 1.5: %s; cpu ratio %.2f)\n", (double)res[hi].n / 1e6,
		       (double)res[lo].n / 1e6, ratio, ratio <= 1.5 ? "met" : "missed", res[hi].cpu_ms / res[lo].cpu_ms);
	}
	return 0;
}
