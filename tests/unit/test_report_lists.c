/*
 * test_report_lists.c: the vendor's list of a whole product line's
 * contracts (services/reports.c "a whole line's contract list") read
 * through the contracts' end index is the walk's answer, byte for byte:
 * random stores of contracts in several currencies, some without an end
 * date, renewals paid in another currency (some for a total of zero, which
 * leaves no per-product counter row), every page size from one row up,
 * with the plan taken whenever it can be (rd_reports_lookup_keys 0).
 * And the vendor's customer level ranked by the keys without the joins
 * (only the page's customers joined) against the walk's, every page size,
 * and the rankings by customer (each currency's first and last rows kept
 * as the customers go by) against the walk's.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "domain/model.h"
#include "services/reports.h"
#include "store/store.h"
#include "unit.h"

static char dir[64];
static struct rd_store *s;
static struct rd_domain d;
static uint64_t vendor; /* the store's one vendor */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/rd_replists.XXXXXX");
	assert_non_null(mkdtemp(dir));
	char err[256];
	assert_rc(rd_store_open(&s, dir, NULL, err, sizeof err), 0);
	assert_rc(rd_domain_register(s, &d), 0);
	assert_rc(rd_reports_prepare(s, &d), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rd_store_close(&s);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

struct seed {
	uint32_t x;
	bool no_end;   /* some contracts without an end date */
	bool no_chf;   /* no contract nor order in CHF */
	rd_date today;
};

static const char *const CURS[] = { "EUR", "GBP", "USD", "CHF" }; /* CHF: no price */

static int fill(struct rd_txn *t, void *arg)
{
	struct seed *sd = arg;
	uint32_t *x = &sd->x;
	struct rd_vendor v = { 0 };
	snprintf(v.name, sizeof v.name, "V");
	snprintf(v.slug, sizeof v.slug, "v");
	snprintf(v.currency, sizeof v.currency, "GBP");
	int rc = rd_entity_put(t, d.vendors, &rd_entity_vendor, 0, &v, 0);
	uint64_t V = vendor = v.id;
	for (int i = 1; rc >= 0 && i <= 6; i++) {
		struct rd_product p = { 0 };
		snprintf(p.external_id, sizeof p.external_id, "P%d", i);
		snprintf(p.name, sizeof p.name, "Product %d", i);
		snprintf(p.line, sizeof p.line, "%s", i % 2 ? "Line A" : "Line B");
		for (int c = 0; c < 3; c++)
			for (int term = 1; term <= 3 && p.n_prices < RD_MAX_PRICES; term++) {
				struct rd_price *pr = &p.prices[p.n_prices++];
				snprintf(pr->currency, sizeof pr->currency, "%s", CURS[c]);
				pr->term = (uint8_t)term;
				pr->amount = 100 + (int64_t)(rnd(x) % 900);
			}
		rc = rd_entity_put(t, d.products, &rd_entity_product, V, &p, 0);
	}
	for (int i = 1; rc >= 0 && i <= 12; i++) {
		struct rd_customer c = { 0 };
		snprintf(c.name, sizeof c.name, "Customer %d", i);
		rc = rd_entity_put(t, d.customers, &rd_entity_customer, V, &c, 0);
	}
	for (int i = 1; rc >= 0 && i <= 160; i++) {
		struct rd_contract c = { 0 };
		snprintf(c.external_id, sizeof c.external_id, "K%03d", i);
		c.customer_id = 1 + rnd(x) % 12;
		c.product_id = 1 + rnd(x) % 6;
		c.quantity = 1 + rnd(x) % 20;
		c.term = (uint8_t)(1 + rnd(x) % 3);
		/* Few distinct days: ties on the end date, broken by id. */
		c.end = sd->today - 400 + (rd_date)(rnd(x) % 40) * 20;
		if (sd->no_end && rnd(x) % 23 == 0)
			c.end = 0;
		c.start = c.end ? c.end - 365 : 0;
		snprintf(c.currency, sizeof c.currency, "%s", CURS[rnd(x) % 9 == 0 && !sd->no_chf ? 3 : rnd(x) % 3]);
		c.status = (uint8_t)(1 + rnd(x) % 4);
		rc = rd_entity_put(t, d.contracts, &rd_entity_contract, V, &c, 0);
		if (rc >= 0 && rnd(x) % 4 == 0) {
			struct rd_opportunity o = { 0 };
			o.contract_id = c.id;
			o.customer_id = c.customer_id;
			o.product_id = c.product_id;
			o.state = (uint8_t)(1 + rnd(x) % 7);
			o.contract_end = c.end;
			snprintf(o.currency, sizeof o.currency, "%s", c.currency);
			o.list_total = 1000 + rnd(x) % 1000;
			rc = rd_entity_put(t, d.opportunities, &rd_entity_opportunity, V, &o, 0);
		}
		if (rc >= 0 && rnd(x) % 3 == 0) {
			/* Paid, often in another currency than the contract's,
			 * now and then for nothing (CHF, first in code order,
			 * always). */
			struct rd_order o = { 0 };
			o.contract_id = c.id;
			o.state = RD_ORDER_PAID;
			int oc = (int)(rnd(x) % (sd->no_chf ? 3 : 4));
			snprintf(o.currency, sizeof o.currency, "%s", CURS[oc]);
			/* In CHF always for nothing: no 'H' row says those rows are there. */
			o.total = oc == 3 || rnd(x) % 5 == 0 ? 0 : 500 + (int64_t)(rnd(x) % 5000);
			snprintf(o.number, sizeof o.number, "O%03d", i);
			snprintf(o.idempotency_key, sizeof o.idempotency_key, "k%d", i);
			rc = rd_entity_put(t, d.orders, &rd_entity_order, V, &o, 0);
		}
	}
	return rc < 0 ? rc : 0;
}

/* Every page size of both lines' lists, the plan's against the walk's;
 * the lists the plan answered. */
static unsigned long compare_lists(rd_date today)
{
	static const unsigned limits[] = { 1, 2, 3, 4, 5, 7, 10, 16, 25, 40, 64, 79, 80, 81, 100, 200 };
	unsigned long before = rd_reports_line_plans;
	struct rd_txn *t;
	assert_rc(rd_store_read(s, &t), 0);
	struct rd_rep_scope sc = { .vendor = vendor };
	for (int li = 0; li < 2; li++)
		for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
			struct rd_rep_filter f = { 0 };
			snprintf(f.line, sizeof f.line, "%s", li ? "Line B" : "Line A");
			struct rd_rep_opts o = { .today = today, .limit = limits[i] };
			json_t *a = NULL, *b = NULL;
			struct rd_serr e;
			assert_rc(rd_reports_drill(t, &d, &sc, RD_REP_BY_CONTRACT, &f, &o, &a, &e), 0);
			assert_rc(rd_reports_drill_walk(t, &d, &sc, RD_REP_BY_CONTRACT, &f, &o, &b, &e), 0);
			if (!json_equal(a, b)) {
				char *ja = json_dumps(a, JSON_COMPACT), *jb = json_dumps(b, JSON_COMPACT);
				fail_msg("%s, limit %u:\nplan %s\nwalk %s", f.line, limits[i], ja, jb);
			}
			json_decref(a);
			json_decref(b);
		}
	rd_txn_end(t);
	return rd_reports_line_plans - before;
}

/* Every page size of the vendor's customer level, ranked by the keys
 * against the walk's; the levels answered so. */
static unsigned long compare_customers(rd_date today)
{
	static const unsigned limits[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20, 40 };
	unsigned long before = rd_reports_customer_pages;
	struct rd_txn *t;
	assert_rc(rd_store_read(s, &t), 0);
	struct rd_rep_scope sc = { .vendor = vendor };
	for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
		struct rd_rep_filter f = { 0 };
		struct rd_rep_opts o = { .today = today, .limit = limits[i] };
		json_t *a = NULL, *b = NULL;
		struct rd_serr e;
		assert_rc(rd_reports_drill(t, &d, &sc, RD_REP_BY_CUSTOMER, &f, &o, &a, &e), 0);
		assert_rc(rd_reports_drill_walk(t, &d, &sc, RD_REP_BY_CUSTOMER, &f, &o, &b, &e), 0);
		if (!json_equal(a, b)) {
			char *ja = json_dumps(a, JSON_COMPACT), *jb = json_dumps(b, JSON_COMPACT);
			fail_msg("by customer, limit %u:\nranked %s\nwalk %s", limits[i], ja, jb);
		}
		json_decref(a);
		json_decref(b);
	}
	for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) { /* and the rankings by customer */
		struct rd_rep_opts o = { .today = today, .limit = limits[i] };
		json_t *a = NULL, *b = NULL;
		struct rd_serr e;
		assert_rc(rd_reports_rankings(t, &d, &sc, RD_REP_BY_CUSTOMER, &o, &a, &e), 0);
		assert_rc(rd_reports_rankings_walk(t, &d, &sc, RD_REP_BY_CUSTOMER, &o, &b, &e), 0);
		if (!json_equal(a, b)) {
			char *ja = json_dumps(a, JSON_COMPACT), *jb = json_dumps(b, JSON_COMPACT);
			fail_msg("rankings by customer, limit %u:\nheaps %s\nwalk %s", limits[i], ja, jb);
		}
		json_decref(a);
		json_decref(b);
	}
	rd_txn_end(t);
	return rd_reports_customer_pages - before;
}

static void test_line_lists_by_end_date_are_the_walks(void **state)
{
	(void)state;
	unsigned saved = rd_reports_lookup_keys;
	rd_reports_lookup_keys = 0;
	struct seed sd = { .x = 0x9E3779B9u, .no_end = false, .today = rd_date_from_ymd(2027, 6, 14) };
	assert_rc(rd_store_write(s, fill, &sd), 0);
	unsigned long plans = compare_lists(sd.today);
	rd_reports_lookup_keys = saved;
	/* Each line holds about 80 contracts: every page shorter than that is the plan's. */
	assert_true(plans >= 2 * 10);
}

static void test_customer_level_ranked_by_keys_is_the_walks(void **state)
{
	(void)state;
	struct seed sd = { .x = 0x51ED270Bu, .no_end = true, .today = rd_date_from_ymd(2027, 6, 14) };
	assert_rc(rd_store_write(s, fill, &sd), 0);
	/* CHF, first by code, is paid for renewals and has contracts of no
	 * price: every page walks. */
	assert_true(compare_customers(sd.today) == 0);
	for (uint32_t k = 1; k <= 6; k++) {
		struct seed r = { .x = 40503u * k + 7, .no_end = k % 2 == 0, .today = rd_date_from_ymd(2026, (int)k * 2, 1),
				  .no_chf = true };
		teardown(state);
		setup(state);
		assert_rc(rd_store_write(s, fill, &r), 0);
		/* The twelve customers' EUR groups: the short pages are the keys'. */
		assert_true(compare_customers(r.today) >= 3);
	}
}

static void test_line_lists_with_contracts_without_end_date_walk(void **state)
{
	(void)state;
	unsigned saved = rd_reports_lookup_keys;
	rd_reports_lookup_keys = 0;
	struct seed sd = { .x = 12345u, .no_end = true, .today = rd_date_from_ymd(2027, 1, 3) };
	assert_rc(rd_store_write(s, fill, &sd), 0);
	compare_lists(sd.today);
	rd_reports_lookup_keys = saved;
}

static void test_line_lists_random_stores(void **state)
{
	(void)state;
	unsigned saved = rd_reports_lookup_keys;
	rd_reports_lookup_keys = 0;
	for (uint32_t k = 1; k <= 6; k++) {
		struct seed sd = { .x = 2654435761u * k, .no_end = k % 3 == 0, .today = rd_date_from_ymd(2026, (int)k, 28) };
		teardown(state);
		setup(state);
		assert_rc(rd_store_write(s, fill, &sd), 0);
		compare_lists(sd.today);
	}
	rd_reports_lookup_keys = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_line_lists_by_end_date_are_the_walks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_lists_with_contracts_without_end_date_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_lists_random_stores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_level_ranked_by_keys_is_the_walks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
