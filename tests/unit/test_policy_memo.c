/*
 * test_policy_memo.c: the margin policy's memo (core/policy/margin.c).
 *
 * Takes the source directory as its first argument (meson passes
 * meson.project_source_root()), or RD_SOURCE_ROOT.
 *
 * Covers: the shipped margin policies (scripts/policies, examples/policies) give the same answers with and
 * without the memo on their test vectors and on randomised lines, and so
 * does a script whose reads, errors and broken contracts depend on the
 * line; a field read on some paths only is part of the key of exactly
 * those answers; a script may opt out (`memoise = false`), and a bad flag
 * is refused; answers drawn from math.random are never kept; failures are
 * never kept, so a hostile script (an endless loop, a memory bomb) is
 * stopped on every call; once a run's total limits are spent, a line the
 * memo knows goes to the sandbox too; a new version starts with an empty memo.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "policy/policy.h"
#include "policy/runtime.h"
#include "policy/vectors.h"
#include "unit.h"

#define ERRLEN 512

struct pair {
	struct rd_sandbox *sb;
	struct rd_margin_policy on, off;
};

static void pair_load(struct pair *pp, const char *src, const struct rd_sandbox_limits *lim)
{
	char err[ERRLEN] = "";
	struct rd_sandbox_limits none = { 0 };
	assert_rc(rd_sandbox_new(&pp->sb, lim ? lim : &none), 0);
	if (rd_margin_load(&pp->on, pp->sb, "margin v1", src, strlen(src), err, sizeof err) < 0 ||
	    rd_margin_load(&pp->off, pp->sb, "margin v1", src, strlen(src), err, sizeof err) < 0)
		fail_msg("load: %s", err);
	rd_margin_memo_enable(&pp->off, false);
}

static void pair_free(struct pair *pp)
{
	rd_margin_unload(&pp->on);
	rd_margin_unload(&pp->off);
	rd_sandbox_free(&pp->sb);
}

/* One line both ways: the same code, message and shares. */
static void same(struct pair *pp, const struct rd_margin_line *l, const char *what)
{
	struct rd_margin_result a, b;
	char ea[ERRLEN] = "", eb[ERRLEN] = "";
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	int ra = rd_margin_eval(&pp->on, l, &a, ea, sizeof ea);
	int rb = rd_margin_eval(&pp->off, l, &b, eb, sizeof eb);
	if (ra != rb)
		fail_msg("%s: with the memo %d (%s), without %d (%s)", what, ra, ea, rb, eb);
	if (ra < 0) {
		if (strcmp(ea, eb) != 0)
			fail_msg("%s: with the memo \"%s\", without \"%s\"", what, ea, eb);
		return;
	}
	if (a.n != b.n || a.total_bp != b.total_bp)
		fail_msg("%s: with the memo %d shares (%d bp), without %d (%d bp)", what, a.n, a.total_bp, b.n, b.total_bp);
	for (int i = 0; i < a.n; i++)
		if (strcmp(a.shares[i].party, b.shares[i].party) || a.shares[i].bp != b.shares[i].bp ||
		    strcmp(a.shares[i].reason, b.shares[i].reason))
			fail_msg("%s: share %d: with the memo %s %d \"%s\", without %s %d \"%s\"", what, i,
				 a.shares[i].party, a.shares[i].bp, a.shares[i].reason, b.shares[i].party, b.shares[i].bp,
				 b.shares[i].reason);
}

static void vectors_both_ways(const char *src, const char *vectors_text)
{
	json_error_t jerr;
	json_t *vs = json_loads(vectors_text, 0, &jerr);
	assert_non_null(vs);
	assert_true(json_array_size(vs) > 3);
	struct pair pp;
	pair_load(&pp, src, NULL);
	for (int round = 0; round < 3; round++) {
		size_t i;
		json_t *v;
		json_array_foreach(vs, i, v) {
			struct rd_margin_line l;
			assert_rc(rd_margin_line_from_json(json_object_get(v, "line"), &l), 0);
			same(&pp, &l, json_string_value(json_object_get(v, "name")));
		}
	}
	/* Rounds two and three come from the memo: it was used. */
	assert_true(pp.on.hits >= 2 * json_array_size(vs) - 2);
	assert_int_equal(pp.off.hits, 0);
	pair_free(&pp);
	json_decref(vs);
}

static const char *source_root;

/* Reads root/rel whole; the caller frees it. */
static char *slurp(const char *rel)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", source_root, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void test_shipped_vectors_both_ways(void **state)
{
	(void)state;
	vectors_both_ways(rd_default_margin_lua, rd_default_margin_vectors);
	vectors_both_ways(rd_default_margin_reseller_lua, rd_default_margin_reseller_vectors);
	char *src = slurp("examples/policies/margin-acme.lua"), *vec = slurp("examples/policies/margin-acme.vectors.json");
	vectors_both_ways(src, vec);
	free(src);
	free(vec);
}

/* Reads that depend on the line, strings among them, errors and a broken
 * contract on some lines. */
static const char winding[] =
	"function margin(line)\n"
	"  if line.list.amount == 13 then return 'nobody', 1, 'x' end\n"
	"  if line.list.amount == 14 then error('amount 14 is refused') end\n"
	"  local bp = 0\n"
	"  if line.customer.country == 'GB' then\n"
	"    bp = bp + #(line.product.sku or '') * 10\n"
	"    if line.product.term == 'annual' then bp = bp + line.quantity end\n"
	"  elseif line.customer.segment == 'smb' then\n"
	"    bp = bp + (line.partner.id % 7) * 100\n"
	"  end\n"
	"  if line.deal == 'won' then bp = bp + line.vendor.deal_bonus_bp end\n"
	"  local why = tostring(line.partner.tier) .. '/' .. tostring(line.product.line) .. '/' .. tostring(line.list.currency)\n"
	"  if line.distributor then\n"
	"    return 'reseller', bp, why, 'distributor', line.vendor.distributor_bp, 'of record ' .. line.distributor\n"
	"  end\n"
	"  return 'reseller', bp, why\n"
	"end\n";

static void random_line(struct rd_margin_line *l, unsigned *seed)
{
	static const char *const skus[] = { NULL, "", "WSG-STD", "WSG-PRO", "EP" };
	static const char *const lines[] = { NULL, "Web Security", "Endpoint" };
	static const char *const currencies[] = { "GBP", "EUR", NULL };
	static const char *const segments[] = { "smb", "enterprise", "", NULL };
	static const char *const countries[] = { "GB", "FR", "DE", NULL };
	static const uint32_t bonuses[] = { 0, 500, 700 }, dist_bps[] = { 0, 300, 450 };
	static const int64_t amounts[] = { 90000, 13, 14, 12000, 5 };
#define PICK(a) a[rand_r(seed) % (sizeof a / sizeof a[0])]
	memset(l, 0, sizeof *l);
	l->partner_id = (uint64_t)(1 + rand_r(seed) % 9);
	l->partner_kind = (uint8_t)(rand_r(seed) % 4);
	l->partner_tier = (uint8_t)(rand_r(seed) % 6);
	l->distributor_id = (uint64_t)(rand_r(seed) % 3);
	l->publish = (uint8_t)(rand_r(seed) % 4);
	l->sku = PICK(skus);
	l->product_line = PICK(lines);
	l->term = (uint8_t)(rand_r(seed) % 6);
	l->quantity = (uint32_t)(rand_r(seed) % 4);
	l->list_amount = PICK(amounts);
	l->currency = PICK(currencies);
	l->segment = PICK(segments);
	l->country = PICK(countries);
	l->deal = (uint8_t)(rand_r(seed) % 4);
	l->deal_bonus_bp = PICK(bonuses);
	l->distributor_bp = PICK(dist_bps);
#undef PICK
}

static void test_random_lines_both_ways(void **state)
{
	(void)state;
	const char *const scripts[] = { rd_default_margin_lua, rd_default_margin_reseller_lua, winding };
	for (size_t s = 0; s < sizeof scripts / sizeof scripts[0]; s++) {
		struct pair pp;
		pair_load(&pp, scripts[s], NULL);
		unsigned seed = 20 + (unsigned)s;
		char what[64];
		for (int i = 0; i < 20000; i++) {
			struct rd_margin_line l;
			random_line(&l, &seed);
			snprintf(what, sizeof what, "script %zu, line %d", s, i);
			same(&pp, &l, what);
		}
		print_message("script %zu: %llu hits, %llu misses\n", s, (unsigned long long)pp.on.hits, (unsigned long long)pp.on.misses);
		/* The winding script reads most fields: few of its lines repeat. */
		assert_true(pp.on.hits > (s < 2 ? 10000u : 50u));
		assert_true(pp.on.misses > 20);
		pair_free(&pp);
	}
}

static int32_t eval_bp(struct rd_margin_policy *p, const struct rd_margin_line *l)
{
	struct rd_margin_result r;
	char err[ERRLEN] = "";
	if (rd_margin_eval(p, l, &r, err, sizeof err) < 0)
		fail_msg("eval: %s", err);
	return r.total_bp;
}

/* A field read on one path only keys the answers of that path, and only
 * those: the bonus of a won deal, the quantity of a British customer. */
static void test_field_read_on_some_paths(void **state)
{
	(void)state;
	static const char src[] = "function margin(line)\n"
				  "  if line.deal == 'won' then return 'reseller', line.vendor.deal_bonus_bp, 'won' end\n"
				  "  if line.customer.country == 'GB' then return 'reseller', line.quantity, 'gb' end\n"
				  "  return 'reseller', 100, 'other'\n"
				  "end\n";
	struct pair pp;
	pair_load(&pp, src, NULL);
	struct rd_margin_policy *p = &pp.on;
	struct rd_margin_line l = { .deal = RD_DEAL_NONE, .country = "FR", .deal_bonus_bp = 500, .quantity = 5 };
	assert_int_equal(eval_bp(p, &l), 100);
	l.deal = RD_DEAL_WON;
	assert_int_equal(eval_bp(p, &l), 500);
	l.deal_bonus_bp = 700; /* read on this path: a new answer */
	assert_int_equal(eval_bp(p, &l), 700);
	assert_int_equal(p->hits, 0);
	l.quantity = 6; /* not read on this path: the kept answer */
	assert_int_equal(eval_bp(p, &l), 700);
	assert_int_equal(p->hits, 1);
	l.deal = RD_DEAL_NONE;
	l.country = "GB";
	assert_int_equal(eval_bp(p, &l), 6);
	l.quantity = 7;
	assert_int_equal(eval_bp(p, &l), 7);
	l.country = "FR"; /* country read, quantity and bonus not: the first answer */
	l.deal_bonus_bp = 900;
	assert_int_equal(eval_bp(p, &l), 100);
	assert_int_equal(p->hits, 2);
	l.country = "GB";
	l.quantity = 6;
	assert_int_equal(eval_bp(p, &l), 6);
	assert_int_equal(p->hits, 3);
	assert_int_equal(p->misses, 5);
	pair_free(&pp);
}

/* A script that keeps state between calls opts out and is called every
 * time; without the flag the same script's answer is reused. */
static void test_opt_out(void **state)
{
	(void)state;
	static const char counting[] = "local n = 0\n"
				       "function margin(line) n = n + 1 return 'reseller', n, 'call ' .. n end\n";
	char src[256];
	snprintf(src, sizeof src, "memoise = false\n%s", counting);
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = { 0 };
	assert_rc(rd_sandbox_new(&sb, &lim), 0);
	struct rd_margin_policy p, q;
	char err[ERRLEN] = "";
	assert_rc(rd_margin_load(&p, sb, "opted out", src, strlen(src), err, sizeof err), 0);
	assert_rc(rd_margin_load(&q, sb, "kept", counting, strlen(counting), err, sizeof err), 0);
	struct rd_margin_line l = { .quantity = 1 };
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(eval_bp(&p, &l), i);
		assert_int_equal(eval_bp(&q, &l), 1);
	}
	assert_int_equal(p.hits, 0);
	assert_int_equal(q.hits, 2);
	rd_margin_unload(&p);
	rd_margin_unload(&q);

	static const char bad[] = "memoise = 'no'\nfunction margin(line) return 'reseller', 1, 'x' end\n";
	assert_rc(rd_margin_load(&p, sb, "bad flag", bad, strlen(bad), err, sizeof err), RD_EINVAL);
	assert_contains(err, "memoise must be true or false");
	static const char yes[] = "memoise = true\nfunction margin(line) return 'reseller', 1, 'x' end\n";
	assert_rc(rd_margin_load(&p, sb, "on", yes, strlen(yes), err, sizeof err), 0);
	eval_bp(&p, &l);
	eval_bp(&p, &l);
	assert_int_equal(p.hits, 1);
	rd_margin_unload(&p);
	rd_sandbox_free(&sb);
}

/* An answer drawn from math.random is not a function of the line. */
static void test_random_answers_not_kept(void **state)
{
	(void)state;
	static const char src[] = "function margin(line) return 'reseller', math.random(0, 10000), 'luck' end\n";
	struct pair pp;
	pair_load(&pp, src, NULL);
	struct rd_margin_line l = { .quantity = 1 };
	for (int i = 0; i < 50; i++)
		eval_bp(&pp.on, &l);
	assert_int_equal(pp.on.hits, 0);
	assert_int_equal(pp.on.misses, 50);
	pair_free(&pp);
}

/* Failures are never kept: a hostile line is stopped on every call, by the
 * budget (an endless loop) and by the memory cap (a bomb), while the
 * script's good lines come from the memo. */
static void test_hostile_stopped_every_call(void **state)
{
	(void)state;
	static const char src[] = "function margin(line)\n"
				  "  if line.quantity == 15 then while true do end end\n"
				  "  if line.quantity == 16 then\n"
				  "    local t = {}\n"
				  "    for i = 1, 1e9 do t[i] = string.rep('x', 4096) .. i end\n"
				  "  end\n"
				  "  return 'reseller', 1, 'fine'\n"
				  "end\n";
	struct rd_sandbox_limits lim = { .memory_bytes = 4u << 20, .instructions = 5000000 };
	struct pair pp;
	pair_load(&pp, src, &lim);
	struct rd_margin_line good = { .quantity = 1 }, loop = { .quantity = 15 }, bomb = { .quantity = 16 };
	struct rd_margin_result r;
	char err[ERRLEN];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(eval_bp(&pp.on, &good), 1);
		err[0] = 0;
		assert_true(rd_margin_eval(&pp.on, &loop, &r, err, sizeof err) < 0);
		assert_contains(err, "budget");
		err[0] = 0;
		assert_true(rd_margin_eval(&pp.on, &bomb, &r, err, sizeof err) < 0);
		assert_contains(err, "memory limit");
	}
	assert_int_equal(pp.on.hits, 2);
	assert_int_equal(pp.on.misses, 7);
	pair_free(&pp);
}

/* Within a run's total limits (the sweep's share of the loop) the memo
 * answers; once they are spent every call goes to the sandbox, which
 * stops it as it would without the memo. */
static void test_spent_total_stops_every_call(void **state)
{
	(void)state;
	static const char src[] = "function margin(line)\n"
				  "  if line.quantity == 2 then local x = 0 for i = 1, 3e5 do x = x + i end end\n"
				  "  return 'reseller', 1, 'fine'\n"
				  "end\n";
	struct rd_sandbox_limits lim = { .instructions = 100000000 };
	struct pair pp;
	pair_load(&pp, src, &lim);
	struct rd_margin_line cheap = { .quantity = 1 }, slow = { .quantity = 2 };
	rd_sandbox_limit_total(pp.sb, 1, 1000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(eval_bp(&pp.on, &cheap), 1);
	assert_int_equal(pp.on.hits, 3);
	struct rd_margin_result r;
	char err[ERRLEN] = "";
	/* Runs until the 1 ms of CPU time is gone (or finishes first on a fast
	 * machine: then again until it does not). */
	int rc = 0;
	for (int i = 0; i < 1000 && rc == 0; i++)
		rc = rd_margin_eval(&pp.on, &slow, &r, err, sizeof err);
	assert_true(rc < 0);
	assert_contains(err, "time limit of the policy calls exceeded");
	/* Spent: the line the memo knows goes to the sandbox, as it would
	 * without the memo (which lets a call of a few instructions finish). */
	uint64_t hits = pp.on.hits, misses = pp.on.misses;
	rd_margin_eval(&pp.on, &cheap, &r, err, sizeof err);
	assert_int_equal(pp.on.hits, hits);
	assert_int_equal(pp.on.misses, misses + 1);
	rd_sandbox_limit_total(pp.sb, 0, 0);
	assert_int_equal(eval_bp(&pp.on, &cheap), 1);
	assert_int_equal(pp.on.hits, hits + 1);
	pair_free(&pp);
}

/* A new version (what activation loads) answers from its own script. */
static void test_new_version_new_memo(void **state)
{
	(void)state;
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = { 0 };
	assert_rc(rd_sandbox_new(&sb, &lim), 0);
	static const char v1[] = "function margin(line) return 'reseller', 100, 'v1' end\n";
	static const char v2[] = "function margin(line) return 'reseller', 200, 'v2' end\n";
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	struct rd_margin_line l = { .quantity = 1 };
	assert_rc(rd_margin_load(&p, sb, "margin v1", v1, strlen(v1), err, sizeof err), 0);
	assert_int_equal(eval_bp(&p, &l), 100);
	assert_int_equal(eval_bp(&p, &l), 100);
	assert_int_equal(p.hits, 1);
	rd_margin_unload(&p);
	assert_rc(rd_margin_load(&p, sb, "margin v2", v2, strlen(v2), err, sizeof err), 0);
	assert_int_equal(eval_bp(&p, &l), 200);
	assert_int_equal(p.hits, 0);
	rd_margin_unload(&p);
	rd_sandbox_free(&sb);
}

int main(int argc, char **argv)
{
	source_root = argc > 1 ? argv[1] : getenv("RD_SOURCE_ROOT");
	if (!source_root) {
		fprintf(stderr, "usage: test_policy_memo SOURCE_ROOT (or RD_SOURCE_ROOT)\n");
		return 2;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_vectors_both_ways),
		cmocka_unit_test(test_random_lines_both_ways),
		cmocka_unit_test(test_field_read_on_some_paths),
		cmocka_unit_test(test_opt_out),
		cmocka_unit_test(test_random_answers_not_kept),
		cmocka_unit_test(test_hostile_stopped_every_call),
		cmocka_unit_test(test_spent_total_stops_every_call),
		cmocka_unit_test(test_new_version_new_memo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
