/*
 * test_policy_reads.c: how a margin script's reads of the line reach renewd
 * and key the memo (core/policy/margin.c: one look-up per proxy by the
 * interned key, and a mask's hash the sum of its fields' hashes).
 *
 * Covers: every field, read alone on one branch, is the key of that
 * branch's answers and of no other (a change to it misses, a change to any
 * other field hits); a key that names a field of another table (line.country,
 * line.partner.country) is nil and not a read; two fields whose values are
 * swapped between lines are not taken for the same line (a sum of hashes
 * that ignored which field a value belongs to would answer wrongly).
 */
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "policy/policy.h"
#include "unit.h"

#define ERRLEN 512

static const struct {
	const char *path; /* as the script reads it */
	int field;        /* index in the setters below */
} reads[] = {
	{ "line.partner.id", 0 },       { "line.partner.kind", 1 },   { "line.partner.tier", 2 },
	{ "line.product.sku", 3 },      { "line.product.line", 4 },   { "line.product.term", 5 },
	{ "line.list.amount", 6 },      { "line.list.currency", 7 },  { "line.customer.segment", 8 },
	{ "line.customer.country", 9 }, { "line.vendor.deal_bonus_bp", 10 }, { "line.vendor.distributor_bp", 11 },
	{ "line.distributor", 12 },     { "line.publish", 13 },       { "line.quantity", 14 },
	{ "line.deal", 15 },
};
#define N_FIELDS 16

static struct rd_margin_line base_line(void)
{
	return (struct rd_margin_line){ .partner_id = 7, .partner_kind = RD_PARTNER_RESELLER, .partner_tier = RD_TIER_GOLD,
					.sku = "SKU-A", .product_line = "Line A", .term = RD_TERM_ANNUAL, .list_amount = 1000,
					.currency = "GBP", .segment = "smb", .country = "GB", .deal_bonus_bp = 100,
					.distributor_bp = 200, .distributor_id = 3, .publish = RD_PUBLISH_PARTNER, .quantity = 5,
					.deal = RD_DEAL_NONE };
}

/* Changes field i of l to another value the script sees as different. */
static void change(struct rd_margin_line *l, int i)
{
	switch (i) {
	case 0: l->partner_id++; break;
	case 1: l->partner_kind = RD_PARTNER_DISTRIBUTOR; break;
	case 2: l->partner_tier = RD_TIER_SILVER; break;
	case 3: l->sku = "SKU-B"; break;
	case 4: l->product_line = "Line B"; break;
	case 5: l->term = RD_TERM_MONTHLY; break;
	case 6: l->list_amount++; break;
	case 7: l->currency = "EUR"; break;
	case 8: l->segment = "enterprise"; break;
	case 9: l->country = "FR"; break;
	case 10: l->deal_bonus_bp++; break;
	case 11: l->distributor_bp++; break;
	case 12: l->distributor_id = 0; break;
	case 13: l->publish = RD_PUBLISH_VENDOR; break;
	case 14: l->quantity++; break;
	case 15: l->deal = RD_DEAL_WON; break;
	}
}

static int eval_bp(struct rd_margin_policy *p, const struct rd_margin_line *l)
{
	struct rd_margin_result r;
	char err[ERRLEN] = "";
	if (rd_margin_eval(p, l, &r, err, sizeof err) < 0)
		fail_msg("eval: %s", err);
	return r.shares[0].bp;
}

/* A script that reads field `only` when line.quantity is 5 and nothing but
 * the quantity otherwise, and answers 1 + the bytes of what it read: the
 * answer changes with that field, so a wrong hit shows. */
static void test_each_field_keys_its_branch(void **state)
{
	(void)state;
	for (int only = 0; only < N_FIELDS; only++) {
		char src[600];
		snprintf(src, sizeof src,
			 "function margin(line)\n"
			 "  if line.quantity ~= 5 then return 'reseller', 9, 'other' end\n"
			 "  local v = tostring(%s)\n"
			 "  local n = 1\n"
			 "  for i = 1, #v do n = (n * 31 + v:byte(i)) %% 9000 end\n"
			 "  return 'reseller', n, v\n"
			 "end\n",
			 reads[only].path);
		struct rd_sandbox *sb;
		struct rd_sandbox_limits lim = { 0 };
		struct rd_margin_policy on, off;
		char err[ERRLEN] = "";
		assert_rc(rd_sandbox_new(&sb, &lim), 0);
		if (rd_margin_load(&on, sb, "margin v1", src, strlen(src), err, sizeof err) < 0 ||
		    rd_margin_load(&off, sb, "margin v1", src, strlen(src), err, sizeof err) < 0)
			fail_msg("load: %s", err);
		rd_margin_memo_enable(&off, false);
		struct rd_margin_line l = base_line();
		int first = eval_bp(&on, &l);
		assert_int_equal(first, eval_bp(&off, &l));
		for (int other = 0; other < N_FIELDS; other++) {
			if (other == 14)
				continue; /* the quantity picks the branch */
			struct rd_margin_line m = base_line();
			change(&m, other);
			uint64_t hits = on.hits;
			int got = eval_bp(&on, &m), want = eval_bp(&off, &m);
			if (got != want)
				fail_msg("%s: changing field %d: the memo answered %d, the script %d", reads[only].path, other,
					 got, want);
			if (other == only && on.hits != hits)
				fail_msg("%s: a change to the field read was answered from the memo", reads[only].path);
			if (other != only && on.hits != hits + 1)
				fail_msg("%s: a change to field %d, not read, missed the memo", reads[only].path, other);
		}
		/* The other branch reads the quantity only. */
		struct rd_margin_line q = base_line();
		q.quantity = 6;
		assert_int_equal(eval_bp(&on, &q), 9);
		change(&q, only == 14 ? 0 : only);
		uint64_t hits = on.hits;
		assert_int_equal(eval_bp(&on, &q), 9);
		assert_int_equal(on.hits, hits + 1);
		rd_margin_unload(&on);
		rd_margin_unload(&off);
		rd_sandbox_free(&sb);
	}
}

/* Keys that name a field of another table are nil and not reads. */
static void test_other_tables_keys_are_nil(void **state)
{
	(void)state;
	static const char src[] = "function margin(line)\n"
				  "  assert(line.country == nil and line.partner.country == nil and line.vendor.tier == nil)\n"
				  "  assert(line.list.sku == nil and line.product.amount == nil and line.customer.deal == nil)\n"
				  "  assert(line[1] == nil and line.partner[true] == nil)\n"
				  "  return 'reseller', 1, 'ok'\n"
				  "end\n";
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = { 0 };
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	assert_rc(rd_sandbox_new(&sb, &lim), 0);
	if (rd_margin_load(&p, sb, "margin v1", src, sizeof src - 1, err, sizeof err) < 0)
		fail_msg("load: %s", err);
	struct rd_margin_line l = base_line();
	assert_int_equal(eval_bp(&p, &l), 1);
	/* Nothing was read: any line is the same line. */
	for (int i = 0; i < N_FIELDS; i++) {
		struct rd_margin_line m = base_line();
		change(&m, i);
		assert_int_equal(eval_bp(&p, &m), 1);
	}
	assert_int_equal(p.hits, N_FIELDS);
	rd_margin_unload(&p);
	rd_sandbox_free(&sb);
}

/* Values swapped between two fields make another line. */
static void test_swapped_values_differ(void **state)
{
	(void)state;
	static const char src[] = "function margin(line)\n"
				  "  return 'reseller', line.vendor.deal_bonus_bp * 3 + line.vendor.distributor_bp, 'x'\n"
				  "end\n";
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = { 0 };
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	assert_rc(rd_sandbox_new(&sb, &lim), 0);
	if (rd_margin_load(&p, sb, "margin v1", src, sizeof src - 1, err, sizeof err) < 0)
		fail_msg("load: %s", err);
	for (uint32_t a = 0; a < 40; a++)
		for (uint32_t b = 0; b < 40; b++) {
			struct rd_margin_line l = base_line();
			l.deal_bonus_bp = a;
			l.distributor_bp = b;
			assert_int_equal(eval_bp(&p, &l), (int)(a * 3 + b));
		}
	assert_int_equal(p.hits, 0);
	rd_margin_unload(&p);
	rd_sandbox_free(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_field_keys_its_branch),
		cmocka_unit_test(test_other_tables_keys_are_nil),
		cmocka_unit_test(test_swapped_values_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
