/*
 * test_policy_contract.c: the margin and routing contracts
 * (core/policy/margin.c, routing.c, declared in policy.h).
 *
 * Covers: margin() output validation (not triples, more than three shares,
 * unknown party, a party twice, basis points negative, over 10000,
 * fractional, as a string, shares summing over 10000, a reason that is not
 * a string) and the good paths (no shares at all, three shares, whole
 * floats, a long reason truncated); the line as the script sees it, and
 * read-only; routing validation (unknown kind, hours 0 and 721, no reason,
 * a partner that is not a candidate or is excluded, empty pools, pools with
 * non-candidates, excluded or repeated partners, a rep with and without an
 * id) and its arguments; scripts without margin()/route() refused at load;
 * calls of a script that holds memory up to the cap fail cleanly (no abort).
 * Every call leaves the Lua stack as it found it.
 */
#include <errno.h>
#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "policy/policy.h"
#include "policy/sandbox.h"
#include "unit.h"

#define ERRLEN 512

static int sb_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	if (rd_sandbox_new(&sb, NULL) < 0)
		return -1;
	*state = sb;
	return 0;
}

/* A sandbox with a small cap, for the scripts that fill it. */
static int sb_small_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	struct rd_sandbox_limits lim = { .memory_bytes = 1u << 20, .instructions = 5000000 };
	if (rd_sandbox_new(&sb, &lim) < 0)
		return -1;
	*state = sb;
	return 0;
}

static int sb_teardown(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_free(&sb);
	return 0;
}

/* ---- margin ----------------------------------------------------------------------------- */

static struct rd_margin_line std_line(void)
{
	return (struct rd_margin_line){
		.partner_id = 3,
		.partner_kind = RD_PARTNER_RESELLER,
		.partner_tier = RD_TIER_PLATINUM,
		.distributor_id = 0,
		.publish = RD_PUBLISH_PARTNER,
		.sku = "WSG-STD",
		.product_line = "Web Security",
		.term = RD_TERM_ANNUAL,
		.quantity = 25,
		.list_amount = 90000,
		.currency = "GBP",
		.segment = "smb",
		.country = "GB",
		.deal = RD_DEAL_NONE,
		.deal_bonus_bp = 500,
		.distributor_bp = 300,
	};
}

/* Loads "function margin(line) BODY end", evaluates line once and unloads;
 * returns the eval's rc.  Loading must work; the stack must be unchanged. */
static int margin_with(struct rd_sandbox *sb, const char *body, const struct rd_margin_line *line,
		       struct rd_margin_result *res, char *err)
{
	char src[4096];
	snprintf(src, sizeof src, "function margin(line)\n%s\nend\n", body);
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	struct rd_margin_policy p;
	err[0] = 0;
	int rc = rd_margin_load(&p, sb, "margin v9", src, strlen(src), err, ERRLEN);
	if (rc < 0)
		fail_msg("the margin script should load: %s\n%s", err, src);
	memset(res, 0x5a, sizeof *res);
	rc = rd_margin_eval(&p, line, res, err, ERRLEN);
	assert_int_equal(lua_gettop(L), top);
	rd_margin_unload(&p);
	assert_int_equal(lua_gettop(L), top);
	return rc;
}

/* The script's return must be refused with a message containing needle. */
static void margin_refused(struct rd_sandbox *sb, const char *ret, const char *needle)
{
	struct rd_margin_line line = std_line();
	struct rd_margin_result res;
	char err[ERRLEN], body[1024];
	snprintf(body, sizeof body, "  return %s", ret);
	int rc = margin_with(sb, body, &line, &res, err);
	if (rc >= 0)
		fail_msg("margin() returning %s was accepted", ret);
	assert_rc(rc, RD_EINVAL);
	assert_contains(err, needle);
}

/* The script's return must be accepted; returns the result. */
static struct rd_margin_result margin_accepted(struct rd_sandbox *sb, const char *ret)
{
	struct rd_margin_line line = std_line();
	struct rd_margin_result res;
	char err[ERRLEN], body[1024];
	snprintf(body, sizeof body, "  return %s", ret);
	int rc = margin_with(sb, body, &line, &res, err);
	if (rc < 0)
		fail_msg("margin() returning %s was refused: %s", ret, err);
	return res;
}

static void test_margin_not_triples(void **state)
{
	struct rd_sandbox *sb = *state;
	margin_refused(sb, "'reseller'", "returned 1 values");
	margin_refused(sb, "'reseller', 3300", "returned 2 values");
	margin_refused(sb, "'reseller', 3300", "(party, basis points, reason) triples");
	margin_refused(sb, "'reseller', 3300, 'r', 'distributor'", "returned 4 values");
	margin_refused(sb, "'reseller', 3300, 'r', nil", "returned 4 values");
	margin_refused(sb, "{ 'reseller', 3300, 'r' }", "returned 1 values");
	/* Four triples: more than three shares. */
	margin_refused(sb, "'reseller', 1, 'a', 'distributor', 1, 'b', 'referral', 1, 'c', 'reseller', 1, 'd'",
		       "at most 3; it returned 12 values");
}

static void test_margin_bad_party(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bad[] = {
		"'vendor', 100, 'r'", "'Reseller', 100, 'r'", "'reseller ', 100, 'r'", "'', 100, 'r'",
		"1, 100, 'r'",	      "nil, 100, 'r'",	      "'resell', 100, 'r'",    "'reseller\\0x', 100, 'r'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		margin_refused(sb, bad[i], "share 1: the party must be one of reseller, distributor, referral");
	margin_refused(sb, "'reseller', 100, 'r', 'partner', 100, 'r'", "share 2: the party must be one of");
	/* A party twice. */
	margin_refused(sb, "'reseller', 100, 'a', 'reseller', 200, 'b'", "names reseller twice");
	margin_refused(sb, "'distributor', 100, 'a', 'referral', 1, 'b', 'distributor', 1, 'c'",
		       "names distributor twice");
}

static void test_margin_bad_bp(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bad[] = {
		"'reseller', -1, 'r'",	   "'reseller', 10001, 'r'", "'reseller', 33.5, 'r'",
		"'reseller', '3300', 'r'", "'reseller', nil, 'r'",   "'reseller', 0/0, 'r'",
		"'reseller', math.huge, 'r'", "'reseller', -math.huge, 'r'", "'reseller', 1e100, 'r'",
		"'reseller', math.mininteger, 'r'", "'reseller', true, 'r'", "'reseller', {}, 'r'",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		margin_refused(sb, bad[i], "share for reseller: basis points must be a whole number 0..10000");
	margin_refused(sb, "'reseller', 100, 'a', 'distributor', 0.5, 'b'",
		       "share for distributor: basis points must be a whole number");
	/* The ends of the range, and a float with a whole value, are fine. */
	struct rd_margin_result r = margin_accepted(sb, "'reseller', 0, 'r'");
	assert_int_equal(r.n, 1);
	assert_int_equal(r.shares[0].bp, 0);
	r = margin_accepted(sb, "'reseller', 10000, 'r'");
	assert_int_equal(r.shares[0].bp, 10000);
	assert_int_equal(r.total_bp, 10000);
	r = margin_accepted(sb, "'reseller', 3300.0, 'r'");
	assert_int_equal(r.shares[0].bp, 3300);
}

static void test_margin_sum(void **state)
{
	struct rd_sandbox *sb = *state;
	margin_refused(sb, "'reseller', 6000, 'a', 'distributor', 4001, 'b'",
		       "shares add up to 10001 basis points, more than 10000");
	margin_refused(sb, "'reseller', 10000, 'a', 'distributor', 10000, 'b', 'referral', 10000, 'c'",
		       "add up to 30000 basis points");
	struct rd_margin_result r = margin_accepted(sb, "'reseller', 6000, 'a', 'distributor', 3000, 'b', 'referral', 1000, 'c'");
	assert_int_equal(r.n, 3);
	assert_int_equal(r.total_bp, 10000);
}

static void test_margin_bad_reason(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bad[] = { "'reseller', 100, 5", "'reseller', 100, nil", "'reseller', 100, {}",
					   "'reseller', 100, true", "'reseller', 100, function() end" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		margin_refused(sb, bad[i], "share for reseller: the reason must be a string");
	margin_refused(sb, "'reseller', 100, 'ok', 'referral', 5, 12", "share for referral: the reason must be a string");
}

static void test_margin_good(void **state)
{
	struct rd_sandbox *sb = *state;
	/* No shares at all: allowed (nobody in the channel is paid). */
	struct rd_margin_result r = margin_accepted(sb, "");
	assert_int_equal(r.n, 0);
	assert_int_equal(r.total_bp, 0);
	/* ...but a lone nil is one value, not "nothing". */
	margin_refused(sb, "nil", "returned 1 values");
	/* Three shares, in the script's order, with their reasons. */
	r = margin_accepted(sb, "'referral', 500, 'approved deal registration', 'reseller', 3300, 'platinum tier',"
				" 'distributor', 300, 'distributor of record'");
	assert_int_equal(r.n, 3);
	assert_string_equal(r.shares[0].party, "referral");
	assert_int_equal(r.shares[0].bp, 500);
	assert_string_equal(r.shares[0].reason, "approved deal registration");
	assert_string_equal(r.shares[1].party, "reseller");
	assert_int_equal(r.shares[1].bp, 3300);
	assert_string_equal(r.shares[1].reason, "platinum tier");
	assert_string_equal(r.shares[2].party, "distributor");
	assert_int_equal(r.shares[2].bp, 300);
	assert_string_equal(r.shares[2].reason, "distributor of record");
	assert_int_equal(r.total_bp, 4100);
	/* A long reason is cut to fit, NUL-terminated. */
	r = margin_accepted(sb, "'reseller', 1, string.rep('y', 500)");
	assert_int_equal(strlen(r.shares[0].reason), sizeof r.shares[0].reason - 1);
	assert_int_equal(r.shares[0].reason[0], 'y');
	/* An empty reason is a string. */
	r = margin_accepted(sb, "'reseller', 1, ''");
	assert_string_equal(r.shares[0].reason, "");
}

/* Script failures are errors, with chunk and line. */
static void test_margin_script_errors(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_margin_line line = std_line();
	struct rd_margin_result res;
	char err[ERRLEN];
	assert_rc(margin_with(sb, "  local x = nil\n  return x.y", &line, &res, err), RD_EINVAL);
	assert_contains(err, "margin v9:3:");
	assert_rc(margin_with(sb, "  error('no margin for you')", &line, &res, err), RD_EINVAL);
	assert_contains(err, "margin v9:2: no margin for you");
	assert_rc(margin_with(sb, "  while true do end", &line, &res, err), RD_EINVAL);
	assert_contains(err, "budget");
	assert_rc(margin_with(sb, "  local s, t = ('x'):rep(4096), {} while true do t[#t + 1] = s .. #t end", &line, &res, err),
		  -ENOMEM);
	assert_contains(err, "memory");
}

/* What the script is given, and that it cannot write to it. */
static void test_margin_line_fields(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_margin_line line = std_line();
	line.distributor_id = 17;
	line.deal = RD_DEAL_WON;
	line.deal_bonus_bp = 750;
	line.distributor_bp = 450;
	line.partner_tier = RD_TIER_GOLD;
	line.publish = RD_PUBLISH_VENDOR;
	line.term = RD_TERM_FLEX;
	line.segment = "enterprise";
	struct rd_margin_result res;
	char err[ERRLEN];
	static const char body[] =
		"  local p, pr, l, c, v = line.partner, line.product, line.list, line.customer, line.vendor\n"
		"  local s = table.concat({ p.id, p.kind, p.tier, tostring(line.distributor), line.publish,\n"
		"    pr.sku, pr.line, pr.term, line.quantity, l.amount, l.currency, c.segment, c.country,\n"
		"    line.deal, v.deal_bonus_bp, v.distributor_bp }, '|')\n"
		"  return 'reseller', 1, s";
	assert_rc(margin_with(sb, body, &line, &res, err), 0);
	assert_string_equal(res.shares[0].reason,
			    "3|reseller|gold|17|vendor|WSG-STD|Web Security|flex|25|90000|GBP|enterprise|GB|won|750|450");
	/* Absent strings and no distributor are nil. */
	line.distributor_id = 0;
	line.sku = NULL;
	line.segment = "";
	assert_rc(margin_with(sb, "  return 'reseller', 1, tostring(line.distributor) .. tostring(line.product.sku) .. "
				  "tostring(line.customer.segment)",
			      &line, &res, err),
		  0);
	assert_string_equal(res.shares[0].reason, "nilnilnil");
	/* Read-only: writes fail the call. */
	assert_rc(margin_with(sb, "  line.partner.tier = 'platinum'\n  return 'reseller', 1, 'x'", &line, &res, err),
		  RD_EINVAL);
	assert_contains(err, "read-only");
	assert_rc(margin_with(sb, "  line.deal = 'won'\n  return 'reseller', 1, 'x'", &line, &res, err), RD_EINVAL);
	assert_contains(err, "read-only");
}

/* One policy, many lines: each call sees its own line, also when the
 * previous call failed or tried to write. */
static void test_margin_line_refilled(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char src[] = "function margin(line)\n"
				  "  if line.quantity == 13 then line.partner.tier = 'x' end\n"
				  "  if line.quantity == 14 then error('boom') end\n"
				  "  return 'reseller', line.quantity, line.partner.tier .. '/' .. tostring(line.product.sku)\n"
				  "end\n";
	struct rd_margin_policy p;
	char err[ERRLEN];
	assert_rc(rd_margin_load(&p, sb, "margin v1", src, strlen(src), err, sizeof err), 0);
	static const uint8_t tiers[] = { RD_TIER_PLATINUM, RD_TIER_GOLD, RD_TIER_SILVER, RD_TIER_VENDOR };
	static const char *const names[] = { "platinum", "gold", "silver", "vendor" };
	static const char *const skus[] = { "A", "B", NULL, "A" };
	for (uint32_t q = 1; q <= 40; q++) {
		struct rd_margin_line line = std_line();
		line.quantity = q;
		line.partner_tier = tiers[q % 4];
		line.sku = skus[q % 4];
		struct rd_margin_result res;
		int rc = rd_margin_eval(&p, &line, &res, err, sizeof err);
		if (q == 13 || q == 14) {
			assert_rc(rc, RD_EINVAL);
			continue;
		}
		assert_rc(rc, 0);
		char want[64];
		snprintf(want, sizeof want, "%s/%s", names[q % 4], skus[q % 4] ? skus[q % 4] : "nil");
		assert_int_equal(res.shares[0].bp, q);
		assert_string_equal(res.shares[0].reason, want);
	}
	rd_margin_unload(&p);
}

static void test_margin_load_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const srcs[] = {
		"x = 1\n",
		"margin = 5\n",
		"local function margin(line) return end\n",
		"function route(lead, c, x) return 'rep', 1, 1, 'r' end\n",
		"function Margin(line) return end\n",
	};
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	size_t before = rd_sandbox_memory(sb);
	for (size_t i = 0; i < sizeof srcs / sizeof *srcs; i++) {
		struct rd_margin_policy p;
		char err[ERRLEN] = "";
		assert_rc(rd_margin_load(&p, sb, "margin v2", srcs[i], strlen(srcs[i]), err, sizeof err), RD_EINVAL);
		assert_contains(err, "margin v2: the script defines no function margin(line)");
		struct rd_routing_policy r;
		if (i != 3) {
			assert_rc(rd_routing_load(&r, sb, "routing v2", srcs[i], strlen(srcs[i]), err, sizeof err), RD_EINVAL);
			assert_contains(err, "routing v2: the script defines no function route(lead, candidates, excluded)");
		}
	}
	/* A syntax error is reported as such. */
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	assert_rc(rd_margin_load(&p, sb, "margin v3", "function margin(line\n", strlen("function margin(line\n"), err, sizeof err), RD_EINVAL);
	assert_contains(err, "margin v3:2:");
	assert_int_equal(lua_gettop(L), top);
	/* The refused environments were dropped. */
	if (rd_sandbox_memory(sb) > before + 16 * 1024)
		fail_msg("refused loads kept memory: %zu -> %zu", before, rd_sandbox_memory(sb));
}

/* ---- routing ---------------------------------------------------------------------------- */

static const struct rd_route_candidate cands[] = {
	{ .id = 2, .tier = RD_TIER_PLATINUM, .regions = "GB london", .specialisations = "WSG-STD DLP-EP", .open_load = 3, .acceptance_pct = 90 },
	{ .id = 3, .tier = RD_TIER_GOLD, .regions = "GB,north", .specialisations = "EML-SEC", .open_load = 1, .acceptance_pct = 70 },
	{ .id = 4, .tier = RD_TIER_SILVER, .regions = "IE", .specialisations = "", .open_load = 0, .acceptance_pct = 50 },
};
static const uint64_t excluded[] = { 4 };
static const struct rd_lead_in lead = { "web", "GB", "london", "enterprise", "WSG-STD", 80 };

/* Loads "function route(lead, candidates, excluded) BODY end", routes the
 * standard lead once and unloads; returns the eval's rc. */
static int route_with(struct rd_sandbox *sb, const char *body, struct rd_route_result *res, char *err)
{
	char src[4096];
	snprintf(src, sizeof src, "function route(lead, candidates, excluded)\n%s\nend\n", body);
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	struct rd_routing_policy p;
	err[0] = 0;
	if (rd_routing_load(&p, sb, "routing v9", src, strlen(src), err, ERRLEN) < 0)
		fail_msg("the routing script should load: %s\n%s", err, src);
	int rc = rd_routing_eval(&p, &lead, cands, 3, excluded, 1, res, err, ERRLEN);
	assert_int_equal(lua_gettop(L), top);
	rd_routing_unload(&p);
	assert_int_equal(lua_gettop(L), top);
	return rc;
}

static void route_refused(struct rd_sandbox *sb, const char *ret, const char *needle)
{
	struct rd_route_result res;
	char err[ERRLEN], body[1024];
	snprintf(body, sizeof body, "  return %s", ret);
	int rc = route_with(sb, body, &res, err);
	if (rc >= 0)
		fail_msg("route() returning %s was accepted", ret);
	assert_rc(rc, RD_EINVAL);
	assert_contains(err, needle);
}

static struct rd_route_result route_accepted(struct rd_sandbox *sb, const char *ret)
{
	struct rd_route_result res;
	char err[ERRLEN], body[1024];
	snprintf(body, sizeof body, "  return %s", ret);
	if (route_with(sb, body, &res, err) < 0)
		fail_msg("route() returning %s was refused: %s", ret, err);
	return res;
}

static void test_route_kind(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bad[] = { "'team', 2, 24, 'r'", "'Partner', 2, 24, 'r'", "nil, 2, 24, 'r'",
					   "2, 2, 24, 'r'", "'', 2, 24, 'r'" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		route_refused(sb, bad[i], "route() must return \"rep\", \"partner\" or \"pool\" first");
}

static void test_route_hours(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bad[] = { "'partner', 2, 0, 'r'",   "'partner', 2, 721, 'r'", "'partner', 2, -1, 'r'",
					   "'partner', 2, 24.5, 'r'", "'partner', 2, nil, 'r'", "'pool', {2}, 0, 'r'",
					   "'rep', 7, 721, 'r'",      "'partner', 2, {}, 'r'" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		route_refused(sb, bad[i], "acceptance deadline of 1..720 hours");
	struct rd_route_result r = route_accepted(sb, "'partner', 2, 1, 'r'");
	assert_int_equal(r.hours, 1);
	r = route_accepted(sb, "'partner', 2, 720, 'r'");
	assert_int_equal(r.hours, 720);
}

static void test_route_reason(void **state)
{
	struct rd_sandbox *sb = *state;
	route_refused(sb, "'partner', 2, 24", "must return a reason (a string) as its fourth value");
	route_refused(sb, "'partner', 2, 24, nil", "reason (a string)");
	route_refused(sb, "'partner', 2, 24, 5", "reason (a string)");
	route_refused(sb, "'partner', 2, 24, {}", "reason (a string)");
	struct rd_route_result r = route_accepted(sb, "'partner', 2, 24, 'best match'");
	assert_string_equal(r.reason, "best match");
}

static void test_route_partner(void **state)
{
	struct rd_sandbox *sb = *state;
	route_refused(sb, "'partner', 99, 24, 'r'", "chose partner 99, which is not an eligible candidate");
	route_refused(sb, "'partner', 4, 24, 'r'", "chose partner 4, which is not an eligible candidate"); /* excluded */
	route_refused(sb, "'partner', nil, 24, 'r'", "returned partner without an id");
	route_refused(sb, "'partner', 0, 24, 'r'", "returned partner without an id");
	route_refused(sb, "'partner', -2, 24, 'r'", "returned partner without an id");
	route_refused(sb, "'partner', 2.5, 24, 'r'", "returned partner without an id");
	route_refused(sb, "'partner', {2}, 24, 'r'", "returned partner without an id");
	struct rd_route_result r = route_accepted(sb, "'partner', 3, 48, 'the gold one'");
	assert_int_equal(r.kind, RD_ROUTE_PARTNER);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ids[0], 3);
	assert_int_equal(r.hours, 48);
	assert_string_equal(r.reason, "the gold one");
}

static void test_route_pool(void **state)
{
	struct rd_sandbox *sb = *state;
	route_refused(sb, "'pool', {}, 24, 'r'", "returned a pool of 0 partners; a pool has 1..50");
	route_refused(sb, "'pool', 2, 24, 'r'", "returned a pool without a list of partner ids");
	route_refused(sb, "'pool', nil, 24, 'r'", "returned a pool without a list of partner ids");
	route_refused(sb, "'pool', {2, 99}, 24, 'r'", "pool entry 2 is not an eligible candidate");
	route_refused(sb, "'pool', {4, 2}, 24, 'r'", "pool entry 1 is not an eligible candidate"); /* excluded */
	route_refused(sb, "'pool', {2, 'x'}, 24, 'r'", "pool entry 2 is not an eligible candidate");
	route_refused(sb, "'pool', {2, 3, 2}, 24, 'r'", "pool names partner 2 twice");
	route_refused(sb, "'pool', (function() local t = {} for i = 1, 51 do t[i] = 2 end return t end)(), 24, 'r'",
		      "returned a pool of 51 partners; a pool has 1..50");
	struct rd_route_result r = route_accepted(sb, "'pool', {3, 2}, 24, 'first to accept'");
	assert_int_equal(r.kind, RD_ROUTE_POOL);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ids[0], 3);
	assert_int_equal(r.ids[1], 2);
	assert_int_equal(r.hours, 24);
	assert_string_equal(r.reason, "first to accept");
	r = route_accepted(sb, "'pool', {2}, 24, 'one is a pool too'");
	assert_int_equal(r.n, 1);
}

static void test_route_rep(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_route_result r = route_accepted(sb, "'rep', 7, 12, 'to the account manager'");
	assert_int_equal(r.kind, RD_ROUTE_REP);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ids[0], 7);
	assert_int_equal(r.hours, 12);
	assert_string_equal(r.reason, "to the account manager");
	route_refused(sb, "'rep', nil, 12, 'r'", "returned rep without an id");
	route_refused(sb, "'rep', 0, 12, 'r'", "returned rep without an id");
}

static void test_route_arguments(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_route_result r;
	char err[ERRLEN];
	static const char body[] =
		"  local c = candidates\n"
		"  assert(#c == 3)\n"
		"  assert(c[1].id == 2 and c[1].tier == 'platinum' and c[2].tier == 'gold' and c[3].tier == 'silver')\n"
		"  assert(c[1].regions[1] == 'GB' and c[1].regions[2] == 'london' and #c[1].regions == 2)\n"
		"  assert(c[2].regions[1] == 'GB' and c[2].regions[2] == 'north', 'comma-separated words')\n"
		"  assert(#c[1].specialisations == 2 and c[1].specialisations[2] == 'DLP-EP')\n"
		"  assert(#c[3].specialisations == 0)\n"
		"  assert(c[1].open_load == 3 and c[1].acceptance_pct == 90)\n"
		"  assert(excluded[4] == true and excluded[2] == nil and excluded[3] == nil)\n"
		"  assert(lead.source == 'web' and lead.country == 'GB' and lead.region == 'london')\n"
		"  assert(lead.company_size == 'enterprise' and lead.product == 'WSG-STD' and lead.score == 80)\n"
		"  return 'partner', 2, 24, 'ok'";
	assert_rc(route_with(sb, body, &r, err), 0);
	/* Errors raised by the script: "nobody", with chunk and line. */
	assert_rc(route_with(sb, "  error('no eligible partner')", &r, err), RD_EINVAL);
	assert_contains(err, "routing v9:2: no eligible partner");
}

static void test_route_load_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_routing_policy p;
	char err[ERRLEN];
	static const char src[] = "function margin(line) return end\n";
	assert_rc(rd_routing_load(&p, sb, "routing v4", src, strlen(src), err, sizeof err), RD_EINVAL);
	assert_contains(err, "routing v4: the script defines no function route(lead, candidates, excluded)");
}

/* ---- at the memory cap ---------------------------------------------------------------------- */

/* Top level of a script that fills the sandbox up to its cap and keeps it
 * (globals), down to the last few bytes. */
#define FILL_TO_CAP                                                                               \
	"keep = {} for i = 1, 2048 do keep[i] = false end\n"                                     \
	"hog = {}\n"                                                                              \
	"function fill_tables() while true do hog = { hog } end end\n"                          \
	"function fill_strings() for i = 1, 2048 do keep[i] = tostring(i + 0.5) end end\n"      \
	"pcall(fill_tables)\n"                                                                    \
	"pcall(fill_strings)\n"

/* Host-side work (the argument tables, the strings pushed) must not raise a
 * memory error outside the protected call: that would abort the daemon. */
static void test_margin_at_cap(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char src[] = FILL_TO_CAP "function margin(line) return 'reseller', 1, 'x' end\n";
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	int rc = rd_margin_load(&p, sb, "margin v1", src, strlen(src), err, sizeof err);
	if (rc < 0)
		fail_msg("load failed: %s", err);
	for (int i = 0; i < 20; i++) {
		struct rd_margin_line line = std_line();
		char sku[200];
		snprintf(sku, sizeof sku, "SKU-%d-%0150d", i, i); /* a new, long string every time */
		line.sku = sku;
		line.quantity = (uint32_t)i;
		struct rd_margin_result res;
		rc = rd_margin_eval(&p, &line, &res, err, sizeof err);
		if (rc < 0) {
			assert_rc(rc, -ENOMEM);
			assert_contains(err, "memory");
		}
	}
	rd_margin_unload(&p);
}

static void test_routing_at_cap(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char src[] = FILL_TO_CAP "function route(lead, c, x) return 'partner', 2, 24, 'r' end\n";
	struct rd_routing_policy p;
	char err[ERRLEN] = "";
	int rc = rd_routing_load(&p, sb, "routing v1", src, strlen(src), err, sizeof err);
	if (rc < 0)
		fail_msg("load failed: %s", err);
	for (int i = 0; i < 20; i++) {
		char regions[300];
		snprintf(regions, sizeof regions, "region-%d-%0100d other-%d-%0100d", i, i, i, i);
		struct rd_route_candidate c[3];
		memcpy(c, cands, sizeof c);
		c[0].regions = regions;
		struct rd_route_result res;
		rc = rd_routing_eval(&p, &lead, c, 3, excluded, 1, &res, err, sizeof err);
		if (rc < 0) {
			assert_rc(rc, -ENOMEM);
			assert_contains(err, "memory");
		}
	}
	rd_routing_unload(&p);
}

/* An error object that is a number is turned into text after the call: that
 * must not be a memory error outside the protected call either.  The script
 * fills the sandbox during the call, down to the last few bytes.  (Lua frees
 * a spare CallInfo while unwinding, which so far has always left room for
 * the text; the sandbox makes the conversion host-side regardless.) */
static void test_number_error_at_cap(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char src[] = "keep, specs = {}, {}\n"
				  "for i = 1, 2048 do keep[i] = false end\n"
				  "for w = 1, 40 do specs[w] = '%0' .. w .. 'd' end\n"
				  "hog = {}\n"
				  "function fill_tables() while true do hog = { hog } end end\n"
				  "function mk(spec, k) keep[k] = string.format(spec, k) end\n"
				  "function fill_strings()\n" /* down to the last few bytes */
				  "  local k = 0\n"
				  "  for w = 40, 1, -1 do\n"
				  "    while k < 2048 and pcall(mk, specs[w], k + 1) do k = k + 1 end\n"
				  "  end\n"
				  "end\n"
				  "function margin(line)\n"
				  "  pcall(fill_tables)\n"
				  "  pcall(fill_strings)\n"
				  "  error(-1.2345678901234e-300)\n"
				  "end\n";
	struct rd_margin_policy p;
	char err[ERRLEN] = "";
	int rc = rd_margin_load(&p, sb, "margin v1", src, strlen(src), err, sizeof err);
	if (rc < 0)
		fail_msg("load failed: %s", err);
	struct rd_margin_line line = std_line();
	struct rd_margin_result res;
	rc = rd_margin_eval(&p, &line, &res, err, sizeof err);
	assert_true(rc < 0);
	if (!strstr(err, "-1.2345678901234e-300") && !strstr(err, "memory"))
		fail_msg("unexpected message: %s", err);
	rd_margin_unload(&p);
}

/* A long non-ASCII reason is cut before the character that does not fit,
 * never inside it, and malformed bytes become '?': the share's reason stays
 * valid UTF-8, so the share is shown, mailed and paid (it was dropped from
 * the quote's JSON when a cut split a character). */
static void test_margin_reason_utf8(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_margin_line line = std_line();
	struct rd_margin_result res;
	char err[ERRLEN];
	/* 60 times U+00E9 (2 bytes each): 120 bytes, one more than fits */
	assert_rc(margin_with(sb, "  return 'reseller', 2000, string.rep('\\u{e9}', 60)", &line, &res, err), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(strlen(res.shares[0].reason), 118);
	json_t *j = json_string(res.shares[0].reason);
	assert_non_null(j); /* valid UTF-8 */
	json_decref(j);
	/* a 3-byte character across the limit: cut before it */
	assert_rc(margin_with(sb, "  return 'reseller', 2000, string.rep('a', 118) .. '\\u{20ac}'", &line, &res, err), 0);
	assert_int_equal(strlen(res.shares[0].reason), 118);
	/* malformed bytes */
	assert_rc(margin_with(sb, "  return 'reseller', 2000, 'a\\xffb\\xc3'", &line, &res, err), 0);
	assert_string_equal(res.shares[0].reason, "a?b?");
}

/* Parties and keys are matched by the identity of the interned Lua string
 * (margin.c): a name made at run time is the same string as the literal,
 * and a key that is not a string, or a long one, is no field. */
static void test_margin_names_made_at_run_time(void **state)
{
	struct rd_sandbox *sb = *state;
	struct rd_margin_result r =
		margin_accepted(sb, "('resel'):rep(1) .. 'ler', 100, 'a', table.concat({ 'distri', 'butor' }), 50, 'b', "
				    "string.char(114, 101, 102, 101, 114, 114, 97, 108), 1, 'c'");
	assert_int_equal(r.n, 3);
	assert_string_equal(r.shares[0].party, "reseller");
	assert_string_equal(r.shares[1].party, "distributor");
	assert_string_equal(r.shares[2].party, "referral");
	assert_int_equal(r.total_bp, 151);
	margin_refused(sb, "'reseller', 1, 'a', 'resel' .. 'ler', 2, 'b'", "names reseller twice");
	margin_refused(sb, "string.rep('reseller', 6), 1, 'a'", "share 1: the party must be one of");
	struct rd_margin_line line = std_line();
	char err[ERRLEN];
	assert_rc(margin_with(sb,
			      "  local t = { tostring(line[1]), tostring(line[true]), tostring(line[line]),\n"
			      "    tostring(line.partner[2.5]), tostring(line.partner[line.partner]),\n"
			      "    tostring(line[string.rep('deal', 12)]) }\n"
			      "  t[#t + 1] = line[('part') .. 'ner'][('ti'):rep(1) .. 'er']\n"
			      "  t[#t + 1] = line['de' .. 'al']\n"
			      "  return 'reseller', 1, table.concat(t, '|')",
			      &line, &r, err),
		  0);
	assert_string_equal(r.shares[0].reason, "nil|nil|nil|nil|nil|nil|platinum|none");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sb_setup, sb_teardown)
#define T_SMALL(name) cmocka_unit_test_setup_teardown(name, sb_small_setup, sb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_margin_not_triples),
		T(test_margin_bad_party),
		T(test_margin_bad_bp),
		T(test_margin_sum),
		T(test_margin_bad_reason),
		T(test_margin_good),
		T(test_margin_script_errors),
		T(test_margin_line_fields),
		T(test_margin_line_refilled),
		T(test_margin_load_refused),
		T(test_margin_reason_utf8),
		T(test_margin_names_made_at_run_time),
		T(test_route_kind),
		T(test_route_hours),
		T(test_route_reason),
		T(test_route_partner),
		T(test_route_pool),
		T(test_route_rep),
		T(test_route_arguments),
		T(test_route_load_refused),
		T_SMALL(test_margin_at_cap),
		T_SMALL(test_routing_at_cap),
		T_SMALL(test_number_error_at_cap),
	};
	return cmocka_run_group_tests_name("policy_contract", tests, NULL, NULL);
}
