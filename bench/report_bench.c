/*
 * report_bench: the reports' dashboard and each drill-down level over N
 * contracts (default 1,000,000), beside an in-run floor.
 *
 *   report_bench [-k] [N] [DIR]     DIR: a fresh directory (default: a temporary one, removed; -k keeps it);
 *                                   a DIR that already holds a store this built is measured again as it is
 *
 * Builds a store of one vendor with 26 partners (a distributor and 25
 * resellers under it), 40 products in three lines priced in GBP, EUR and
 * USD, N/20 customers and N contracts (ending across two years, mostly
 * live, some renewed, cancelled, expired), an opportunity for one contract
 * in ten (open, won, lost with a reason) and a paid order for one in
 * twenty, written through the store's batch path so every index, the
 * reports' included, is kept as the daemon keeps it.  Then, each the best
 * of 5 runs in one read transaction as the daemon's handlers take it:
 *
 *   floor      a cursor walk over the contracts' report index keys doing
 *              nothing with them: what any report must at least pay
 *   decode     every contract record read and decoded (what a report that
 *              read records would pay before computing anything)
 *   dashboard  rd_reports_dashboard, JSON included
 *   line, product, contracts, customers, customer   rd_reports_drill at
 *              each level: by product line; the products of one line; the
 *              contracts of one product; by customer; one customer's contracts
 *   rankings   rd_reports_rankings by reseller (and rankings_distributor,
 *              rankings_sales from the channel's counters; rankings_customer a walk
 *              keeping each currency's first and last rows only)
 *   drill_contract_reseller, drill_product_reseller   reseller 2's contracts of a product
 *              and that product's level (the scope's few contracts joined one by one)
 *   dashboard_reseller, dashboard_distributor   a reseller's own dashboard and the
 *              distributor's (itself and its 25 resellers), from the channel's counters
 *   dashboard_walk, drill_line_walk, drill_product_walk   the same by the
 *              reference walk of the report keys (what they cost before the
 *              counters), and "same name=... identical=1" when the counters'
 *              JSON is the walk's
 *
 * REPORT_BENCH_ONLY=name (e.g. drill_customer) times the floor and that figure only (and, for
 * drill_customer, floor_customer: the same walk over the customer-first keys).
 *
 * One line per figure: "report_bench: name=... ms=... cpu_ms=... floor_ms=... n=..." (ms: wall
 * time of the best run; cpu_ms: its CPU time, which a busy shared machine inflates less).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "domain/model.h"
#include "services/reports.h"
#include "store/record.h"
#include "store/store.h"
#include "util/err.h"

#define BATCH 20000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "report_bench: %s: %s\n", what, rd_strerror(rc));
	exit(1);
}

static uint32_t mix(uint64_t i, uint32_t salt)
{
	uint32_t x = (uint32_t)(i * 2654435761u + salt * 40503u + 0x9E3779B9u);
	x ^= x >> 16;
	x *= 0x45D9F3Bu;
	x ^= x >> 16;
	return x;
}

struct batch {
	struct rd_table *tb;
	uint64_t tenant;
	const struct rd_entity *e;
	struct rd_batch_item items[BATCH];
	struct rd_rec_writer ws[BATCH];
	size_t n;
	uint64_t next_id;
};

static int put_fn(struct rd_txn *t, void *arg)
{
	struct batch *b = arg;
	return rd_txn_put_batch(t, b->tb, b->tenant, b->items, b->n);
}

static void flush(struct rd_store *s, struct batch *b)
{
	if (!b->n)
		return;
	int rc = rd_store_write(s, put_fn, b);
	if (rc < 0)
		die(b->e->table, rc);
	b->n = 0;
}

static uint64_t add(struct rd_store *s, struct batch *b, void *obj)
{
	uint64_t id = b->next_id++;
	*(uint64_t *)obj = id;
	b->ws[b->n].len = 0;
	rd_entity_encode(b->e, obj, &b->ws[b->n]);
	b->items[b->n] = (struct rd_batch_item){ id, b->ws[b->n].buf, b->ws[b->n].len };
	if (++b->n == BATCH)
		flush(s, b);
	return id;
}

/* Points the batch at a table; its writers' buffers are kept and reused. */
static void batch_init(struct batch *b, struct rd_table *tb, uint64_t tenant, const struct rd_entity *e)
{
	b->n = 0;
	b->tb = tb;
	b->tenant = tenant;
	b->e = e;
	b->next_id = 1;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < BATCH; i++)
		rd_rec_writer_free(&b->ws[i]);
}

static void build(struct rd_store *s, struct rd_domain *d, uint64_t n, rd_date today)
{
	static struct batch b;
	const uint64_t V = 1;
	struct rd_vendor v = { 0 };
	snprintf(v.name, sizeof v.name, "Bench Vendor");
	snprintf(v.slug, sizeof v.slug, "bench");
	snprintf(v.currency, sizeof v.currency, "GBP");
	v.publish_default = RD_PUBLISH_VENDOR;
	batch_init(&b, d->vendors, 0, &rd_entity_vendor);
	add(s, &b, &v);
	flush(s, &b);
	batch_init(&b, d->partners, V, &rd_entity_partner);
	for (int i = 0; i < 26; i++) {
		struct rd_partner p = { 0 };
		snprintf(p.external_id, sizeof p.external_id, "BP-%02d", i);
		snprintf(p.name, sizeof p.name, i ? "Reseller %d" : "Distributor", i);
		p.kind = i ? RD_PARTNER_RESELLER : RD_PARTNER_DISTRIBUTOR;
		p.tier = RD_TIER_GOLD;
		p.parent_id = i ? 1 : 0;
		add(s, &b, &p);
	}
	flush(s, &b);
	static const char *const lines[] = { "Web Security", "Data Security", "E-mail Security" };
	static const char *const curs[] = { "GBP", "EUR", "USD" };
	batch_init(&b, d->products, V, &rd_entity_product);
	for (int i = 1; i <= 40; i++) {
		struct rd_product p = { 0 };
		snprintf(p.external_id, sizeof p.external_id, "SKU-%03d", i);
		snprintf(p.name, sizeof p.name, "Product %d", i);
		snprintf(p.line, sizeof p.line, "%s", lines[i % 3]);
		for (int c = 0; c < 3; c++)
			for (int t = 1; t <= 3; t++) {
				struct rd_price *pr = &p.prices[p.n_prices++];
				if (p.n_prices > RD_MAX_PRICES) {
					p.n_prices--;
					break;
				}
				snprintf(pr->currency, sizeof pr->currency, "%s", curs[c]);
				pr->term = (uint8_t)t;
				pr->amount = (1200 + (mix((uint64_t)i, 2) % 40) * 100) / (t == 1 ? 1 : t == 2 ? 4 : 12);
			}
		add(s, &b, &p);
	}
	flush(s, &b);
	uint64_t n_cust = n / 20 > 100 ? n / 20 : 100;
	batch_init(&b, d->customers, V, &rd_entity_customer);
	for (uint64_t i = 1; i <= n_cust; i++) {
		struct rd_customer c = { 0 };
		snprintf(c.external_id, sizeof c.external_id, "C-%07llu", (unsigned long long)i);
		snprintf(c.name, sizeof c.name, "Customer %llu", (unsigned long long)i);
		add(s, &b, &c);
	}
	flush(s, &b);
	batch_init(&b, d->contracts, V, &rd_entity_contract);
	for (uint64_t k = 1; k <= n; k++) {
		uint32_t h = mix(k, 3), g = mix(k, 4);
		struct rd_contract c = { 0 };
		snprintf(c.external_id, sizeof c.external_id, "K-%07llu", (unsigned long long)k);
		c.customer_id = 1 + h % n_cust;
		c.product_id = 1 + (h >> 8) % 40;
		c.reseller_id = 2 + (g >> 10) % 25;
		c.distributor_id = 1;
		c.quantity = 1 + (g >> 4) % 500;
		c.term = (uint8_t)(1 + h % 3);
		c.end = today - 365 + (rd_date)(g % 730);
		c.start = c.end - 365;
		snprintf(c.currency, sizeof c.currency, "%s", curs[(h >> 16) % 3]);
		static const uint8_t st[10] = { 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
		c.status = st[(g >> 20) % 10];
		add(s, &b, &c);
	}
	flush(s, &b);
	batch_init(&b, d->opportunities, V, &rd_entity_opportunity);
	static const char *const reasons[] = { "Too expensive", "Moved to a competitor", "No longer needed",
					       "Budget cut" };
	uint64_t n_opp = 0;
	for (uint64_t k = 1; k <= n; k += 10) {
		uint32_t h = mix(k, 3), g = mix(k, 4);
		struct rd_opportunity o = { 0 };
		o.contract_id = k;
		o.customer_id = 1 + h % n_cust;
		o.product_id = 1 + (h >> 8) % 40;
		o.reseller_id = 2 + (g >> 10) % 25;
		o.state = (uint8_t)(1 + (g >> 7) % 7);
		o.publish = o.state == RD_OPP_PENDING_DECISION ? 0 : (uint8_t)(1 + (g >> 9) % 2);
		o.contract_end = today - 365 + (rd_date)(g % 730);
		snprintf(o.currency, sizeof o.currency, "%s", curs[(h >> 16) % 3]);
		o.list_total = 100000 + (int64_t)(g % 100000);
		if (o.state == RD_OPP_LOST)
			snprintf(o.lost_reason, sizeof o.lost_reason, "%s", reasons[(g >> 3) % 4]);
		add(s, &b, &o);
		n_opp++;
	}
	flush(s, &b);
	batch_init(&b, d->orders, V, &rd_entity_order);
	for (uint64_t k = 1; k <= n; k += 20) {
		uint32_t h = mix(k, 3);
		struct rd_order o = { 0 };
		o.contract_id = k;
		o.opportunity_id = (k - 1) / 10 + 1;
		o.state = RD_ORDER_PAID;
		snprintf(o.currency, sizeof o.currency, "%s", curs[(h >> 16) % 3]);
		o.total = 120000 + (int64_t)(h % 1000);
		snprintf(o.number, sizeof o.number, "O-%07llu", (unsigned long long)k);
		snprintf(o.idempotency_key, sizeof o.idempotency_key, "k%llu", (unsigned long long)k);
		add(s, &b, &o);
	}
	flush(s, &b);
	batch_free(&b);
	printf("report_bench: built %llu contracts, %llu customers, 40 products, %llu opportunities, %llu orders\n",
	       (unsigned long long)n, (unsigned long long)n_cust, (unsigned long long)n_opp,
	       (unsigned long long)(n + 19) / 20);
}

struct run {
	struct rd_store *s;
	struct rd_domain *d;
	struct rd_rep_scope scope;
	struct rd_rep_opts opts;
};

/* The best of 5 runs of one figure, ms. */
typedef int (*fig_fn)(struct run *r, struct rd_txn *t, uint64_t *n);

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double best_cpu; /* the CPU time of the best run, ms */

static double best_of(struct run *r, fig_fn fn, uint64_t *n)
{
	double best = 1e18;
	for (int i = 0; i < 5; i++) {
		struct rd_txn *t;
		int rc = rd_store_read(r->s, &t);
		if (rc < 0)
			die("read", rc);
		double t0 = now(), c0 = cpu_now();
		rc = fn(r, t, n);
		double ms = now() - t0, cpu = cpu_now() - c0;
		rd_txn_end(t);
		if (rc < 0)
			die("figure", rc);
		if (ms < best) {
			best = ms;
			best_cpu = cpu;
		}
	}
	return best;
}

static const char *floor_index = RD_IDX_REPORT;

static int fig_floor(struct run *r, struct rd_txn *t, uint64_t *n)
{
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, r->d->contracts, floor_index, 1, NULL, 0, NULL, 0);
	it.keys_only = true;
	uint64_t sum = 0;
	*n = 0;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		sum += item.key[41];
		(*n)++;
	}
	rd_iter_close(&it);
	if (sum == 1)
		printf(" ");
	return rc;
}

static int fig_decode(struct run *r, struct rd_txn *t, uint64_t *n)
{
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract c;
	int rc = rd_iter_records(&it, t, r->d->contracts, 1, 0);
	*n = 0;
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_contract, item.val, item.len, &c)) < 0)
			break;
		(*n)++;
	}
	rd_iter_close(&it);
	return rc;
}

static uint64_t rows_of(json_t *rep, const char *table)
{
	return json_array_size(json_object_get(json_object_get(json_object_get(rep, "tables"), table), "rows"));
}

static bool use_walk; /* the reference walk (rd_reports_*_walk): the figures before the counters */

static int fig_dashboard(struct run *r, struct rd_txn *t, uint64_t *n)
{
	json_t *rep;
	struct rd_serr e;
	int rc = (use_walk ? rd_reports_dashboard_walk : rd_reports_dashboard)(t, r->d, &r->scope, &r->opts, &rep, &e);
	if (rc == 0) {
		*n = (uint64_t)json_integer_value(json_object_get(rep, "contracts"));
		json_decref(rep);
	}
	return rc;
}

static struct rd_rep_filter drill_filter;
static int drill_by;

static int fig_drill(struct run *r, struct rd_txn *t, uint64_t *n)
{
	json_t *rep;
	struct rd_serr e;
	int rc = (use_walk ? rd_reports_drill_walk : rd_reports_drill)(t, r->d, &r->scope, drill_by, &drill_filter, &r->opts,
								      &rep, &e);
	if (rc == 0) {
		*n = rows_of(rep, "rows");
		json_decref(rep);
	} else {
		fprintf(stderr, "report_bench: drill: %s\n", e.message);
	}
	return rc;
}

static int rank_by = RD_REP_BY_RESELLER;

static int fig_rankings(struct run *r, struct rd_txn *t, uint64_t *n)
{
	json_t *rep;
	struct rd_serr e;
	int rc = (use_walk ? rd_reports_rankings_walk : rd_reports_rankings)(t, r->d, &r->scope, rank_by, &r->opts, &rep,
									&e);
	if (rc == 0) {
		*n = rows_of(rep, "by_value");
		json_decref(rep);
	}
	return rc;
}

/* Whether the counters' report and the walk's are the same JSON. */
static int same_as_walk(struct run *r, int by)
{
	struct rd_txn *t;
	if (rd_store_read(r->s, &t) < 0)
		return 0;
	json_t *a = NULL, *b = NULL;
	struct rd_serr e;
	if (by < 0) { /* the rankings by -by */
		rd_reports_rankings(t, r->d, &r->scope, -by, &r->opts, &a, &e);
		rd_reports_rankings_walk(t, r->d, &r->scope, -by, &r->opts, &b, &e);
	} else if (by) {
		rd_reports_drill(t, r->d, &r->scope, by, &drill_filter, &r->opts, &a, &e);
		rd_reports_drill_walk(t, r->d, &r->scope, by, &drill_filter, &r->opts, &b, &e);
	} else {
		rd_reports_dashboard(t, r->d, &r->scope, &r->opts, &a, &e);
		rd_reports_dashboard_walk(t, r->d, &r->scope, &r->opts, &b, &e);
	}
	int same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	rd_txn_end(t);
	return same;
}

int main(int argc, char **argv)
{
	bool keep = false;
	int ai = 1;
	if (ai < argc && strcmp(argv[ai], "-k") == 0) {
		keep = true;
		ai++;
	}
	uint64_t n = ai < argc ? strtoull(argv[ai++], NULL, 10) : 1000000;
	char tmpl[] = "/tmp/report_bench.XXXXXX", dir[4096];
	if (ai < argc) {
		snprintf(dir, sizeof dir, "%s", argv[ai]);
	} else {
		if (!mkdtemp(tmpl)) {
			perror("report_bench: mkdtemp");
			return 1;
		}
		snprintf(dir, sizeof dir, "%s", tmpl);
	}
	if (n < 100) {
		fprintf(stderr, "usage: report_bench [-k] [N >= 100] [DIR]\n");
		return 2;
	}
	char err[512], probe[4200];
	snprintf(probe, sizeof probe, "%s/data.mdb", dir);
	bool built = access(probe, F_OK) == 0;
	struct rd_store *s;
	struct rd_domain d;
	struct rd_store_opts so = { .map_size = (size_t)1 << 30 };
	int rc = rd_store_open(&s, dir, &so, err, sizeof err);
	if (rc < 0) {
		fprintf(stderr, "report_bench: %s\n", err);
		return 1;
	}
	if ((rc = rd_domain_register(s, &d)) < 0)
		die("register", rc);
	rd_store_reserve(s, n * 1000);
	if ((rc = rd_reports_prepare(s, &d)) < 0) /* as renewd does at start (a kept store of an older build) */
		die("prepare", rc);
	rd_date today = rd_date_from_ymd(2027, 6, 14);
	double t0 = now();
	if (!built) {
		build(s, &d, n, today);
		printf("report_bench: store built in %.1f s\n", (now() - t0) / 1e3);
	}
	const char *only = getenv("REPORT_BENCH_ONLY"); /* one figure (besides the floor), for profiling */
	if (only && !*only)
		only = NULL;
	struct run r = { .s = s, .d = &d, .opts = { .today = today } };
	r.scope.vendor = 1;
	uint64_t cnt;
	double floor_ms = best_of(&r, fig_floor, &cnt);
	printf("report_bench: name=floor ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", floor_ms, best_cpu, floor_ms, (unsigned long long)cnt);
	double ms;
	if (only && strcmp(only, "drill_customer") == 0) { /* the customer-first keys' own floor */
		floor_index = RD_IDX_REPORT_CUSTOMER;
		ms = best_of(&r, fig_floor, &cnt);
		floor_index = RD_IDX_REPORT;
		printf("report_bench: name=floor_customer ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
	}
	if (!only || strcmp(only, "decode") == 0) {
		ms = best_of(&r, fig_decode, &cnt);
		printf("report_bench: name=decode ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
	}
	if (!only || strcmp(only, "dashboard") == 0) {
		ms = best_of(&r, fig_dashboard, &cnt);
		printf("report_bench: name=dashboard ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
		use_walk = true; /* before: the walk, in this run */
		ms = best_of(&r, fig_dashboard, &cnt);
		use_walk = false;
		printf("report_bench: name=dashboard_walk ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
		printf("report_bench: same name=dashboard identical=%d\n", same_as_walk(&r, 0));
	}
	/* The scoped dashboards: a reseller's own, the distributor's (itself
	 * and the 25 resellers under it, as rd_reports_scope makes it). */
	for (int sc = 0; sc < 2; sc++) {
		const char *name = sc ? "dashboard_distributor" : "dashboard_reseller";
		if (only && strcmp(only, name) != 0)
			continue;
		r.scope.channel = true;
		r.scope.n_partners = 0;
		if (sc)
			for (uint64_t p = 1; p <= 26; p++)
				r.scope.partners[r.scope.n_partners++] = p;
		else
			r.scope.partners[r.scope.n_partners++] = 2;
		ms = best_of(&r, fig_dashboard, &cnt);
		printf("report_bench: name=%s ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", name, ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
		use_walk = true;
		ms = best_of(&r, fig_dashboard, &cnt);
		use_walk = false;
		printf("report_bench: name=%s_walk ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", name, ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
		printf("report_bench: same name=%s identical=%d\n", name, same_as_walk(&r, 0));
		memset(&r.scope, 0, sizeof r.scope);
		r.scope.vendor = 1;
	}
	static const struct {
		const char *name;
		int by;
		const char *line;
		uint64_t product, customer;
	} levels[] = {
		{ "drill_line", RD_REP_BY_LINE, "", 0, 0 },
		{ "drill_product", RD_REP_BY_PRODUCT, "Web Security", 0, 0 },
		{ "drill_contract", RD_REP_BY_CONTRACT, "", 3, 0 },
		{ "drill_customer", RD_REP_BY_CUSTOMER, "", 0, 0 },
		{ "drill_customer_contracts", RD_REP_BY_CONTRACT, "", 0, 7 },
		{ "drill_line_contracts", RD_REP_BY_CONTRACT, "Web Security", 0, 0 },
		{ "drill_customer_products", RD_REP_BY_PRODUCT, "", 0, 7 },
		{ "drill_contract_reseller", RD_REP_BY_CONTRACT, "", 3, 0 }, /* reseller 2's */
		{ "drill_product_reseller", RD_REP_BY_PRODUCT, "", 3, 0 },
	};
	for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
		if (only && strcmp(only, levels[i].name) != 0)
			continue;
		memset(&drill_filter, 0, sizeof drill_filter);
		snprintf(drill_filter.line, sizeof drill_filter.line, "%s", levels[i].line);
		drill_filter.product = levels[i].product;
		drill_filter.customer = levels[i].customer;
		drill_by = levels[i].by;
		memset(&r.scope, 0, sizeof r.scope);
		r.scope.vendor = 1;
		if (strstr(levels[i].name, "_reseller")) {
			r.scope.channel = true;
			r.scope.partners[r.scope.n_partners++] = 2;
		}
		ms = best_of(&r, fig_drill, &cnt);
		printf("report_bench: name=%s ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", levels[i].name, ms, best_cpu, floor_ms,
		       (unsigned long long)cnt);
		{ /* the reference walk, in this run, and whether the answers are the same JSON */
			use_walk = true;
			ms = best_of(&r, fig_drill, &cnt);
			use_walk = false;
			printf("report_bench: name=%s_walk ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", levels[i].name, ms, best_cpu,
			       floor_ms, (unsigned long long)cnt);
			printf("report_bench: same name=%s identical=%d\n", levels[i].name, same_as_walk(&r, levels[i].by));
		}
	}
	memset(&r.scope, 0, sizeof r.scope); /* the vendor's */
	r.scope.vendor = 1;
	static const struct {
		const char *name;
		int by;
	} ranks[] = {
		{ "rankings", RD_REP_BY_RESELLER },
		{ "rankings_distributor", RD_REP_BY_DISTRIBUTOR },
		{ "rankings_sales", RD_REP_BY_SALES },
		{ "rankings_customer", RD_REP_BY_CUSTOMER },
	};
	for (size_t i = 0; i < sizeof ranks / sizeof *ranks; i++) {
		if (only && strcmp(only, ranks[i].name) != 0)
			continue;
		rank_by = ranks[i].by;
		ms = best_of(&r, fig_rankings, &cnt);
		printf("report_bench: name=%s ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ranks[i].name, ms, best_cpu,
		       floor_ms, (unsigned long long)cnt);
		use_walk = true;
		ms = best_of(&r, fig_rankings, &cnt);
		use_walk = false;
		printf("report_bench: name=%s_walk ms=%.1f cpu_ms=%.1f floor_ms=%.1f n=%llu\n", ranks[i].name, ms, best_cpu,
		       floor_ms, (unsigned long long)cnt);
		printf("report_bench: same name=%s identical=%d\n", ranks[i].name, same_as_walk(&r, -rank_by));
	}
	rd_store_close(&s);
	if (!keep && strcmp(dir, tmpl) == 0) { /* the temporary store: its files, then itself */
		DIR *dp = opendir(dir);
		struct dirent *de;
		while (dp && (de = readdir(dp))) {
			char path[4400];
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			if (de->d_name[0] != '.')
				unlink(path);
		}
		if (dp)
			closedir(dp);
		if (rmdir(dir) != 0)
			fprintf(stderr, "report_bench: could not remove %s\n", dir);
	}
	return 0;
}
