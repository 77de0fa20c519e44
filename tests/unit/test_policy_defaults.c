/*
 * test_policy_defaults.c: the shipped policies (the scripts in
 * scripts/policies and examples/policies) and the vector runner
 * (core/policy/vectors.c).
 *
 * Covers: every shipped vector file passes against its script; the scripts
 * embedded in the daemon are the shipped files; and, independently of the
 * vector files, the seed programme of the default margin policy (every
 * tier x publish-mode cell; the deal bonus for won, approved and no deal
 * registrations; the distributor of record; a distributor partner selling
 * itself; the vendor tier), the reseller programme for every billing term,
 * and the default routing policy's partner, pool and error outcomes.  Also:
 * the runner reports vectors whose expectation is wrong, so it can fail.
 *
 * Takes the source directory as its first argument (meson passes
 * meson.project_source_root()), or RD_SOURCE_ROOT.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "domain/model.h"
#include "policy/policy.h"
#include "policy/runtime.h"
#include "policy/vectors.h"
#include "unit.h"

#define ERRLEN 512

static const char *source_root;

/* Reads root/rel whole; the caller frees it. */
static char *slurp(const char *rel, size_t *len)
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
	size_t got = fread(buf, 1, (size_t)n, f);
	fclose(f);
	assert_int_equal(got, (size_t)n);
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}

static json_t *load_json(const char *rel)
{
	char path[4096];
	json_error_t jerr;
	snprintf(path, sizeof path, "%s/%s", source_root, rel);
	json_t *j = json_load_file(path, 0, &jerr);
	if (!j)
		fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
	return j;
}

/* Per-test state: a sandbox and the policies loaded into it. */
struct fixture {
	struct rd_sandbox *sb;
	struct rd_margin_policy margin;
	struct rd_routing_policy routing;
	bool have_margin, have_routing;
	json_t *vectors, *report;
	char *src;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx || rd_sandbox_new(&fx->sb, NULL) < 0)
		return -1;
	fx->report = json_array();
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	if (fx->have_margin)
		rd_margin_unload(&fx->margin);
	if (fx->have_routing)
		rd_routing_unload(&fx->routing);
	rd_sandbox_free(&fx->sb);
	json_decref(fx->vectors);
	json_decref(fx->report);
	free(fx->src);
	free(fx);
	return 0;
}

static void load_margin(struct fixture *fx, const char *rel)
{
	size_t len;
	char err[ERRLEN] = "";
	free(fx->src);
	fx->src = slurp(rel, &len);
	if (rd_margin_load(&fx->margin, fx->sb, rel, fx->src, len, err, sizeof err) < 0)
		fail_msg("%s does not load: %s", rel, err);
	fx->have_margin = true;
}

static void load_routing(struct fixture *fx, const char *rel)
{
	size_t len;
	char err[ERRLEN] = "";
	free(fx->src);
	fx->src = slurp(rel, &len);
	if (rd_routing_load(&fx->routing, fx->sb, rel, fx->src, len, err, sizeof err) < 0)
		fail_msg("%s does not load: %s", rel, err);
	fx->have_routing = true;
}

/* Fails with the runner's report when any vector failed. */
static void assert_no_failures(struct fixture *fx, const char *rel, int failed)
{
	if (failed != 0 || json_array_size(fx->report) != 0) {
		char *text = json_dumps(fx->report, JSON_INDENT(1));
		fail_msg("%s: %d vector(s) failed:\n%s", rel, failed, text ? text : "?");
	}
}

/* ---- the shipped vector files ----------------------------------------------------------------- */

static void run_margin_vectors(struct fixture *fx, const char *script, const char *vectors, size_t min_vectors)
{
	load_margin(fx, script);
	fx->vectors = load_json(vectors);
	assert_true(json_is_array(fx->vectors));
	if (json_array_size(fx->vectors) < min_vectors)
		fail_msg("%s has %zu vectors, expected at least %zu", vectors, json_array_size(fx->vectors), min_vectors);
	assert_no_failures(fx, vectors, rd_vectors_margin(&fx->margin, fx->vectors, fx->report));
}

static void test_vectors_margin(void **state)
{
	run_margin_vectors(*state, "scripts/policies/margin.lua", "scripts/policies/margin.vectors.json", 18);
}

static void test_vectors_margin_reseller(void **state)
{
	run_margin_vectors(*state, "scripts/policies/margin-reseller.lua", "scripts/policies/margin-reseller.vectors.json", 4);
}

static void test_vectors_margin_acme(void **state)
{
	run_margin_vectors(*state, "examples/policies/margin-acme.lua", "examples/policies/margin-acme.vectors.json", 6);
}

static void test_vectors_routing(void **state)
{
	struct fixture *fx = *state;
	load_routing(fx, "scripts/policies/routing.lua");
	fx->vectors = load_json("scripts/policies/routing.vectors.json");
	assert_true(json_array_size(fx->vectors) >= 4);
	assert_no_failures(fx, "routing.vectors.json", rd_vectors_routing(&fx->routing, fx->vectors, fx->report));
}

/* What the daemon seeds every vendor with is what is shipped. */
static void test_embedded_defaults_are_the_files(void **state)
{
	static const struct {
		const char *rel;
		const char *embedded;
	} files[] = {
		{ "scripts/policies/margin.lua", rd_default_margin_lua },
		{ "scripts/policies/margin.vectors.json", rd_default_margin_vectors },
		{ "scripts/policies/margin-reseller.lua", rd_default_margin_reseller_lua },
		{ "scripts/policies/margin-reseller.vectors.json", rd_default_margin_reseller_vectors },
		{ "scripts/policies/routing.lua", rd_default_routing_lua },
		{ "scripts/policies/routing.vectors.json", rd_default_routing_vectors },
	};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char *text = slurp(files[i].rel, NULL);
		if (strcmp(text, files[i].embedded) != 0) {
			free(text);
			fail_msg("the embedded copy of %s differs from the file", files[i].rel);
		}
		free(text);
	}
}

/* ---- margin outcomes, asserted directly ------------------------------------------------------ */

static struct rd_margin_line line_of(uint8_t kind, uint8_t tier, uint8_t publish, uint8_t deal, uint64_t distributor)
{
	return (struct rd_margin_line){
		.partner_id = 3,
		.partner_kind = kind,
		.partner_tier = tier,
		.distributor_id = distributor,
		.publish = publish,
		.sku = "WSG-STD",
		.product_line = "Web Security",
		.term = RD_TERM_ANNUAL,
		.quantity = 25,
		.list_amount = 90000,
		.currency = "GBP",
		.segment = "smb",
		.country = "GB",
		.deal = deal,
		/* Not the vector files' 500/300: the script must read the settings. */
		.deal_bonus_bp = 750,
		.distributor_bp = 450,
	};
}

/* Evaluates line; the result must be exactly the shares given as
 * (party, bp) pairs, in any order, terminated by NULL. */
static void expect_shares(struct fixture *fx, const struct rd_margin_line *line, const char *what, ...)
{
	struct rd_margin_result res;
	char err[ERRLEN] = "";
	int rc = rd_margin_eval(&fx->margin, line, &res, err, sizeof err);
	if (rc < 0)
		fail_msg("%s: the policy failed: %s", what, err);
	va_list ap;
	va_start(ap, what);
	int n = 0, total = 0;
	const char *party;
	while ((party = va_arg(ap, const char *))) {
		int bp = va_arg(ap, int);
		bool found = false;
		for (int i = 0; i < res.n; i++)
			if (strcmp(res.shares[i].party, party) == 0) {
				if (res.shares[i].bp != bp) {
					va_end(ap);
					fail_msg("%s: %s gets %d bp, expected %d", what, party, res.shares[i].bp, bp);
				}
				if (!res.shares[i].reason[0]) {
					va_end(ap);
					fail_msg("%s: the %s share has no reason", what, party);
				}
				found = true;
			}
		if (!found) {
			va_end(ap);
			fail_msg("%s: no share for %s", what, party);
		}
		n++;
		total += bp;
	}
	va_end(ap);
	if (res.n != n)
		fail_msg("%s: %d shares, expected %d (first: %s %d)", what, res.n, n, res.n ? res.shares[0].party : "-",
			 res.n ? res.shares[0].bp : 0);
	assert_int_equal(res.total_bp, total);
}

/* The seed programme: [publish][tier]. */
static const struct {
	uint8_t publish;
	const char *publish_name;
	uint8_t tier;
	const char *tier_name;
	int bp;
} seed[] = {
	{ RD_PUBLISH_PARTNER, "partner", RD_TIER_PLATINUM, "platinum", 3300 },
	{ RD_PUBLISH_PARTNER, "partner", RD_TIER_GOLD, "gold", 2500 },
	{ RD_PUBLISH_PARTNER, "partner", RD_TIER_SILVER, "silver", 2000 },
	{ RD_PUBLISH_VENDOR, "vendor", RD_TIER_PLATINUM, "platinum", 2000 },
	{ RD_PUBLISH_VENDOR, "vendor", RD_TIER_GOLD, "gold", 2000 },
	{ RD_PUBLISH_VENDOR, "vendor", RD_TIER_SILVER, "silver", 1500 },
};
#define N_SEED (sizeof seed / sizeof *seed)

static void test_default_seed_table(void **state)
{
	struct fixture *fx = *state;
	load_margin(fx, "scripts/policies/margin.lua");
	char what[128];
	for (size_t i = 0; i < N_SEED; i++) {
		snprintf(what, sizeof what, "%s, %s-published", seed[i].tier_name, seed[i].publish_name);
		struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, seed[i].tier, seed[i].publish, RD_DEAL_NONE, 0);
		expect_shares(fx, &l, what, "reseller", seed[i].bp, NULL);
		/* The reason says which cell it came from. */
		struct rd_margin_result res;
		char err[ERRLEN];
		assert_rc(rd_margin_eval(&fx->margin, &l, &res, err, sizeof err), 0);
		assert_contains(res.shares[0].reason, seed[i].tier_name);
		assert_contains(res.shares[0].reason, seed[i].publish_name);
	}
	/* The vendor's own tier earns nothing, in either mode. */
	struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, RD_TIER_VENDOR, RD_PUBLISH_VENDOR, RD_DEAL_NONE, 0);
	expect_shares(fx, &l, "vendor tier, vendor-published", "reseller", 0, NULL);
	l = line_of(RD_PARTNER_RESELLER, RD_TIER_VENDOR, RD_PUBLISH_PARTNER, RD_DEAL_NONE, 0);
	expect_shares(fx, &l, "vendor tier, partner-published", "reseller", 0, NULL);
}

static void test_default_deal_bonus(void **state)
{
	struct fixture *fx = *state;
	load_margin(fx, "scripts/policies/margin.lua");
	char what[128];
	for (size_t i = 0; i < N_SEED; i++) {
		struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, seed[i].tier, seed[i].publish, RD_DEAL_WON, 0);
		snprintf(what, sizeof what, "%s, %s-published, won", seed[i].tier_name, seed[i].publish_name);
		expect_shares(fx, &l, what, "reseller", seed[i].bp + 750, NULL);
		l.deal = RD_DEAL_APPROVED;
		snprintf(what, sizeof what, "%s, %s-published, approved", seed[i].tier_name, seed[i].publish_name);
		expect_shares(fx, &l, what, "reseller", seed[i].bp, NULL);
		l.deal = RD_DEAL_NONE;
		snprintf(what, sizeof what, "%s, %s-published, no registration", seed[i].tier_name, seed[i].publish_name);
		expect_shares(fx, &l, what, "reseller", seed[i].bp, NULL);
	}
	/* The bonus is the vendor's setting, whatever it is. */
	struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, RD_TIER_GOLD, RD_PUBLISH_PARTNER, RD_DEAL_WON, 0);
	l.deal_bonus_bp = 0;
	expect_shares(fx, &l, "won, bonus 0", "reseller", 2500, NULL);
	l.deal_bonus_bp = 1234;
	expect_shares(fx, &l, "won, bonus 1234", "reseller", 3734, NULL);
	/* Its reason says so. */
	struct rd_margin_result res;
	char err[ERRLEN];
	assert_rc(rd_margin_eval(&fx->margin, &l, &res, err, sizeof err), 0);
	assert_contains(res.shares[0].reason, "won deal registration");
}

static void test_default_distributor(void **state)
{
	struct fixture *fx = *state;
	load_margin(fx, "scripts/policies/margin.lua");
	char what[128];
	for (size_t i = 0; i < N_SEED; i++) {
		/* A reseller with a distributor of record: both are paid. */
		struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, seed[i].tier, seed[i].publish, RD_DEAL_NONE, 9);
		snprintf(what, sizeof what, "%s, %s-published, distributor of record", seed[i].tier_name,
			 seed[i].publish_name);
		expect_shares(fx, &l, what, "reseller", seed[i].bp, "distributor", 450, NULL);
		l.deal = RD_DEAL_WON;
		snprintf(what, sizeof what, "%s, %s-published, distributor of record, won", seed[i].tier_name,
			 seed[i].publish_name);
		expect_shares(fx, &l, what, "reseller", seed[i].bp + 750, "distributor", 450, NULL);
		/* Without one: the reseller alone. */
		l = line_of(RD_PARTNER_RESELLER, seed[i].tier, seed[i].publish, RD_DEAL_NONE, 0);
		expect_shares(fx, &l, "no distributor of record", "reseller", seed[i].bp, NULL);
		/* A distributor selling itself is paid the tier's share as the
		 * distributor, once, whether or not it is also of record. */
		l = line_of(RD_PARTNER_DISTRIBUTOR, seed[i].tier, seed[i].publish, RD_DEAL_NONE, 0);
		snprintf(what, sizeof what, "%s distributor selling itself, %s-published", seed[i].tier_name,
			 seed[i].publish_name);
		expect_shares(fx, &l, what, "distributor", seed[i].bp, NULL);
		l.distributor_id = 3;
		expect_shares(fx, &l, what, "distributor", seed[i].bp, NULL);
		l.deal = RD_DEAL_WON;
		expect_shares(fx, &l, what, "distributor", seed[i].bp + 750, NULL);
	}
	/* The distributor share is the vendor's setting. */
	struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, RD_TIER_SILVER, RD_PUBLISH_VENDOR, RD_DEAL_NONE, 9);
	l.distributor_bp = 0;
	expect_shares(fx, &l, "distributor_bp 0", "reseller", 1500, "distributor", 0, NULL);
	l.distributor_bp = 777;
	expect_shares(fx, &l, "distributor_bp 777", "reseller", 1500, "distributor", 777, NULL);
}

static void test_reseller_programme(void **state)
{
	struct fixture *fx = *state;
	load_margin(fx, "scripts/policies/margin-reseller.lua");
	static const struct {
		uint8_t term;
		const char *name;
		int bp;
	} terms[] = {
		{ RD_TERM_ANNUAL, "annual", 2000 },
		{ RD_TERM_FLEX, "flex", 2000 },
		{ RD_TERM_MONTHLY, "monthly", 0 },
		{ RD_TERM_QUARTERLY, "quarterly", 0 },
	};
	static const uint8_t tiers[] = { RD_TIER_PLATINUM, RD_TIER_GOLD, RD_TIER_SILVER, RD_TIER_VENDOR };
	static const uint8_t modes[] = { RD_PUBLISH_PARTNER, RD_PUBLISH_VENDOR };
	char what[128];
	for (size_t t = 0; t < sizeof terms / sizeof *terms; t++)
		for (size_t k = 0; k < sizeof tiers / sizeof *tiers; k++)
			for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
				struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, tiers[k], modes[m], RD_DEAL_NONE, 0);
				l.term = terms[t].term;
				snprintf(what, sizeof what, "reseller programme, %s, tier %u, mode %u", terms[t].name,
					 tiers[k], modes[m]);
				expect_shares(fx, &l, what, "reseller", terms[t].bp, NULL);
				l.distributor_id = 9;
				expect_shares(fx, &l, what, "reseller", terms[t].bp, "distributor", 450, NULL);
			}
	/* The reason names the term. */
	struct rd_margin_line l = line_of(RD_PARTNER_RESELLER, RD_TIER_GOLD, RD_PUBLISH_PARTNER, RD_DEAL_NONE, 0);
	struct rd_margin_result res;
	char err[ERRLEN];
	l.term = RD_TERM_MONTHLY;
	assert_rc(rd_margin_eval(&fx->margin, &l, &res, err, sizeof err), 0);
	assert_contains(res.shares[0].reason, "monthly");
	l.term = RD_TERM_FLEX;
	assert_rc(rd_margin_eval(&fx->margin, &l, &res, err, sizeof err), 0);
	assert_contains(res.shares[0].reason, "flex");
}

/* ---- routing outcomes, asserted directly ----------------------------------------------------- */

static const struct rd_route_candidate three[] = {
	{ .id = 2, .tier = RD_TIER_PLATINUM, .regions = "GB london", .specialisations = "WSG-STD DLP-EP", .open_load = 3, .acceptance_pct = 90 },
	{ .id = 3, .tier = RD_TIER_GOLD, .regions = "GB north", .specialisations = "EML-SEC", .open_load = 1, .acceptance_pct = 70 },
	{ .id = 4, .tier = RD_TIER_SILVER, .regions = "IE", .specialisations = "WSG-STD", .open_load = 0, .acceptance_pct = 50 },
};

static struct rd_route_result route(struct fixture *fx, const struct rd_lead_in *lead, const struct rd_route_candidate *c,
				    size_t n, const uint64_t *x, size_t nx)
{
	struct rd_route_result res;
	char err[ERRLEN] = "";
	if (rd_routing_eval(&fx->routing, lead, c, n, x, nx, &res, err, sizeof err) < 0)
		fail_msg("routing failed: %s", err);
	return res;
}

static void assert_ids(const struct rd_route_result *r, uint8_t kind, uint32_t hours, size_t n, const uint64_t *ids)
{
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->hours, hours);
	assert_int_equal(r->n, n);
	for (size_t i = 0; i < n; i++)
		if (r->ids[i] != ids[i])
			fail_msg("id %zu is %llu, expected %llu", i, (unsigned long long)r->ids[i], (unsigned long long)ids[i]);
	assert_true(r->reason[0] != 0);
}

static void test_default_routing(void **state)
{
	struct fixture *fx = *state;
	load_routing(fx, "scripts/policies/routing.lua");
	/* A London enterprise lead for the gateway: the platinum London partner
	 * (3 + 3 + 2 + 2), the only best match: 48 hours. */
	struct rd_lead_in london = { "web", "GB", "london", "enterprise", "WSG-STD", 80 };
	struct rd_route_result r = route(fx, &london, three, 3, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 2 });
	assert_string_equal(r.reason, "best match (score 10)");
	/* With 2 excluded, the gold GB partner (4) is ahead of 4 (2). */
	r = route(fx, &london, three, 3, (uint64_t[]){ 2 }, 1);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 3 });
	/* An Irish lead: the Irish partner. */
	struct rd_lead_in dublin = { "web", "IE", "dublin", "smb", "WSG-STD", 40 };
	r = route(fx, &dublin, three, 3, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 4 });
	/* No regional match: everyone scores under 3: a pool, least loaded first, for 24 hours. */
	struct rd_lead_in paris = { "event", "FR", "paris", "smb", "OTHER", 10 };
	r = route(fx, &paris, three, 3, NULL, 0);
	assert_ids(&r, RD_ROUTE_POOL, 24, 3, (uint64_t[]){ 4, 3, 2 });
	/* Excluded partners stay out of pools too. */
	r = route(fx, &paris, three, 3, (uint64_t[]){ 3 }, 1);
	assert_ids(&r, RD_ROUTE_POOL, 24, 2, (uint64_t[]){ 4, 2 });
	/* Two equal best matches: round robin, the one with fewer open leads. */
	struct rd_route_candidate close[] = {
		three[0],
		{ .id = 5, .tier = RD_TIER_PLATINUM, .regions = "GB london", .specialisations = "WSG-STD", .open_load = 0, .acceptance_pct = 50 },
	};
	r = route(fx, &london, close, 2, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 5 });
	assert_contains(r.reason, "round robin");
	/* Weights: 2 has three open leads but weight 5 ((3 + 1) / 5 < 1 / 1). */
	close[0].weight = 5;
	r = route(fx, &london, close, 2, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 2 });
	/* An inactive partner (over 30 days) is skipped, and the reason says so. */
	close[0].last_active_days = 31;
	r = route(fx, &london, close, 2, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 5 });
	assert_contains(r.reason, "1 inactive partner(s) skipped");
	/* A pool has at most five, the least loaded first. */
	struct rd_route_candidate many[7];
	for (int i = 0; i < 7; i++)
		many[i] = (struct rd_route_candidate){ .id = (uint64_t)(16 - i), .tier = RD_TIER_SILVER, .regions = "US",
						       .specialisations = "", .open_load = (uint32_t)(6 - i), .acceptance_pct = 0 };
	r = route(fx, &paris, many, 7, NULL, 0);
	assert_ids(&r, RD_ROUTE_POOL, 24, 5, (uint64_t[]){ 10, 11, 12, 13, 14 });
	/* A lone candidate: a partner at score 3 exactly, a pool of one below. */
	struct rd_route_candidate lone = { .id = 8, .tier = RD_TIER_SILVER, .regions = "GB", .specialisations = "",
					   .open_load = 0, .acceptance_pct = 0 };
	struct rd_lead_in small = { "web", "GB", "leeds", "smb", "OTHER", 1 };
	r = route(fx, &small, &lone, 1, NULL, 0);
	assert_ids(&r, RD_ROUTE_PARTNER, 48, 1, (uint64_t[]){ 8 });
	lone.regions = "FR";
	lone.acceptance_pct = 99;
	r = route(fx, &small, &lone, 1, NULL, 0);
	assert_ids(&r, RD_ROUTE_POOL, 24, 1, (uint64_t[]){ 8 });
	/* Nobody eligible, or nobody at all: an error (the lead goes back). */
	struct rd_route_result res;
	char err[ERRLEN] = "";
	assert_rc(rd_routing_eval(&fx->routing, &london, three, 3, (uint64_t[]){ 2, 3, 4 }, 3, &res, err, sizeof err),
		  RD_EINVAL);
	assert_contains(err, "no eligible partner");
	err[0] = 0;
	assert_rc(rd_routing_eval(&fx->routing, &london, NULL, 0, NULL, 0, &res, err, sizeof err), RD_EINVAL);
	assert_contains(err, "no eligible partner");
}

/* ---- the runner can fail ---------------------------------------------------------------------- */

static void test_runner_reports_wrong_expectations(void **state)
{
	struct fixture *fx = *state;
	load_margin(fx, "scripts/policies/margin.lua");
	json_error_t jerr;
	fx->vectors = json_loads(
		"[{\"name\": \"right\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"platinum\"},"
		"  \"publish\": \"partner\", \"deal\": \"none\", \"product\": {\"term\": \"annual\"}},"
		"  \"expect\": [[\"reseller\", 3300]]},"
		" {\"name\": \"wrong bp\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"platinum\"},"
		"  \"publish\": \"partner\", \"deal\": \"none\", \"product\": {\"term\": \"annual\"}},"
		"  \"expect\": [[\"reseller\", 9999]]},"
		" {\"name\": \"missing share\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"gold\"},"
		"  \"publish\": \"partner\", \"deal\": \"none\", \"distributor\": 1, \"product\": {\"term\": \"annual\"}},"
		"  \"expect\": [[\"reseller\", 2500]]},"
		" {\"name\": \"wrong party\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"gold\"},"
		"  \"publish\": \"vendor\", \"deal\": \"none\", \"product\": {\"term\": \"annual\"}},"
		"  \"expect\": [[\"distributor\", 2000]]},"
		" {\"name\": \"error expected\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"gold\"},"
		"  \"publish\": \"vendor\", \"deal\": \"none\", \"product\": {\"term\": \"annual\"}},"
		"  \"expect_error\": \"something\"},"
		" {\"name\": \"no line\", \"expect\": []},"
		" {\"name\": \"no expect\", \"line\": {\"partner\": {\"kind\": \"reseller\", \"tier\": \"gold\"},"
		"  \"publish\": \"vendor\", \"deal\": \"none\"}}]",
		0, &jerr);
	assert_non_null(fx->vectors);
	int failed = rd_vectors_margin(&fx->margin, fx->vectors, fx->report);
	assert_int_equal(failed, 6);
	assert_int_equal(json_array_size(fx->report), 6);
	static const struct {
		const char *vector, *message;
	} want[] = {
		{ "wrong bp", "expected [reseller 9999], got [reseller 3300]" },
		{ "missing share", "expected [reseller 2500], got [reseller 2500, distributor 300]" },
		{ "wrong party", "expected [distributor 2000], got [reseller 2000]" },
		{ "error expected", "expected an error containing \"something\"" },
		{ "no line", "no \"line\" object" },
		{ "no expect", "no \"expect\" list" },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		json_t *e = json_array_get(fx->report, i);
		assert_string_equal(json_string_value(json_object_get(e, "vector")), want[i].vector);
		assert_contains(json_string_value(json_object_get(e, "message")), want[i].message);
	}
	/* Not an array at all. */
	json_t *obj = json_object(), *report = json_array();
	assert_int_equal(rd_vectors_margin(&fx->margin, obj, report), 1);
	assert_contains(json_string_value(json_object_get(json_array_get(report, 0), "message")), "JSON array");
	json_decref(obj);
	json_decref(report);
}

static void test_runner_reports_wrong_routing(void **state)
{
	struct fixture *fx = *state;
	load_routing(fx, "scripts/policies/routing.lua");
	json_error_t jerr;
	fx->vectors = json_loads(
		"[{\"name\": \"wrong kind\", \"lead\": {\"country\": \"GB\", \"region\": \"london\", \"product\": \"WSG-STD\"},"
		"  \"candidates\": [{\"id\": 2, \"tier\": \"gold\", \"regions\": \"GB london\", \"specialisations\": \"WSG-STD\"}],"
		"  \"expect\": {\"kind\": \"pool\"}},"
		" {\"name\": \"wrong id\", \"lead\": {\"country\": \"GB\", \"region\": \"london\", \"product\": \"WSG-STD\"},"
		"  \"candidates\": [{\"id\": 2, \"tier\": \"gold\", \"regions\": \"GB london\", \"specialisations\": \"WSG-STD\"}],"
		"  \"expect\": {\"kind\": \"partner\", \"ids\": [7]}},"
		" {\"name\": \"right\", \"lead\": {\"country\": \"GB\", \"region\": \"london\", \"product\": \"WSG-STD\"},"
		"  \"candidates\": [{\"id\": 2, \"tier\": \"gold\", \"regions\": \"GB london\", \"specialisations\": \"WSG-STD\"}],"
		"  \"expect\": {\"kind\": \"partner\", \"ids\": [2]}},"
		" {\"name\": \"wrong error\", \"lead\": {\"country\": \"GB\"}, \"candidates\": [],"
		"  \"expect_error\": \"something else\"}]",
		0, &jerr);
	assert_non_null(fx->vectors);
	assert_int_equal(rd_vectors_routing(&fx->routing, fx->vectors, fx->report), 3);
	assert_int_equal(json_array_size(fx->report), 3);
	assert_contains(json_string_value(json_object_get(json_array_get(fx->report, 0), "message")),
			"expected pool, got partner");
	assert_contains(json_string_value(json_object_get(json_array_get(fx->report, 1), "message")),
			"expected partner, got partner with 1 id(s), first 2");
	assert_contains(json_string_value(json_object_get(json_array_get(fx->report, 2), "message")),
			"no eligible partner");
}

/* A shipped script with one changed number fails its own vectors. */
static void test_runner_catches_a_changed_script(void **state)
{
	struct fixture *fx = *state;
	size_t len;
	char *src = slurp("scripts/policies/margin.lua", &len);
	char *at = strstr(src, "gold = 2500");
	if (!at) {
		free(src);
		fail_msg("margin.lua no longer has \"gold = 2500\"");
	}
	memcpy(at, "gold = 2600", 11);
	char err[ERRLEN] = "";
	int rc = rd_margin_load(&fx->margin, fx->sb, "margin (changed)", src, len, err, sizeof err);
	free(src);
	if (rc < 0)
		fail_msg("does not load: %s", err);
	fx->have_margin = true;
	fx->vectors = load_json("scripts/policies/margin.vectors.json");
	int failed = rd_vectors_margin(&fx->margin, fx->vectors, fx->report);
	/* gold partner-published: plain, with a distributor, won. */
	assert_int_equal(failed, 4);
	assert_contains(json_string_value(json_object_get(json_array_get(fx->report, 0), "message")),
			"expected [reseller 2500], got [reseller 2600]");
}

int main(int argc, char **argv)
{
	source_root = argc > 1 ? argv[1] : getenv("RD_SOURCE_ROOT");
	if (!source_root) {
		fprintf(stderr, "usage: %s SOURCE_ROOT (or RD_SOURCE_ROOT)\n", argv[0]);
		return 2;
	}
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_vectors_margin),
		T(test_vectors_margin_reseller),
		T(test_vectors_margin_acme),
		T(test_vectors_routing),
		T(test_embedded_defaults_are_the_files),
		T(test_default_seed_table),
		T(test_default_deal_bonus),
		T(test_default_distributor),
		T(test_reseller_programme),
		T(test_default_routing),
		T(test_runner_reports_wrong_expectations),
		T(test_runner_reports_wrong_routing),
		T(test_runner_catches_a_changed_script),
	};
	return cmocka_run_group_tests_name("policy_defaults", tests, NULL, NULL);
}
