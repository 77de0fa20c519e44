/*
 * policy.h: the two kinds of vendor policy and their contracts
 * (docs/policies.md).  A policy is a Lua script run in the vendor's sandbox.
 *
 * Margin: called once per quote line as margin(line); returns the channel
 * parties' shares as a flat list of triples
 *     return "reseller", 3300, "platinum, partner-published",
 *            "distributor", 300, "distributor of record"
 * Parties: reseller, distributor, referral; each at most once; shares are
 * integer basis points 0..10000 summing to at most 10000.
 *
 * Routing: called once per lead as route(lead, candidates, excluded);
 * returns one of
 *     "rep", rep_id, hours, reason
 *     "partner", partner_id, hours, reason
 *     "pool", {partner_id, ...}, hours, reason
 * where partners come from the candidates, none excluded, and hours (the
 * acceptance deadline) is 1..720.  A candidate is {id, tier, regions,
 * specialisations, open_load, acceptance_pct, weight, last_active_days}.
 */
#ifndef RD_POLICY_POLICY_H
#define RD_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/sandbox.h"

enum rd_deal { RD_DEAL_NONE = 0, RD_DEAL_APPROVED = 1, RD_DEAL_WON = 2 };

struct rd_margin_line {
	uint64_t partner_id;
	uint8_t partner_kind;     /* enum rd_partner_kind */
	uint8_t partner_tier;     /* enum rd_tier */
	uint64_t distributor_id;  /* 0: none of record */
	uint8_t publish;          /* enum rd_publish */
	const char *sku, *product_line;
	uint8_t term;             /* enum rd_term */
	uint32_t quantity;
	int64_t list_amount;      /* minor units, the line's list price */
	const char *currency;
	const char *segment, *country;
	uint8_t deal;             /* enum rd_deal */
	uint32_t deal_bonus_bp;   /* vendor settings */
	uint32_t distributor_bp;
};

#define RD_MARGIN_MAX_SHARES 3
struct rd_margin_share {
	char party[16];
	int32_t bp;
	char reason[120];
};
struct rd_margin_result {
	struct rd_margin_share shares[RD_MARGIN_MAX_SHARES];
	int n;
	int32_t total_bp;
};

/* A loaded margin policy: its environment, its cached function and the
 * argument tables the script reads through read-only proxies.  The tables
 * start each call empty; the first read of a field fills it from the line
 * and notes it, so the policy knows which fields an answer followed from
 * and keeps the answer in its memo, keyed on those fields' values
 * (docs/policies.md, "Memo").  The memo lives and dies with the loaded
 * version: activating another version loads a new policy, with a new memo. */
#define RD_MARGIN_FIELDS 16
struct rd_margin_memo;
struct rd_margin_policy {
	struct rd_sandbox *sb; /* borrowed */
	int env, fn;
	int line_ref;          /* the proxy handed to margin() */
	int tables_ref;        /* the line's links to the other proxies (partner, product, list, customer, vendor) */
	int strings_ref;       /* field names and enum values as Lua strings, by index */
	bool memo_off;         /* the script set `memoise = false`, or rd_margin_memo_enable(false) */
	struct rd_margin_memo *memo; /* the memo and what the running call read */
	uint64_t hits, misses; /* answers from the memo, and calls of the script */
};

int rd_margin_load(struct rd_margin_policy *p, struct rd_sandbox *sb, const char *name, const char *src, size_t len,
		   char *err, size_t errlen);
void rd_margin_unload(struct rd_margin_policy *p);
/* Evaluates one line.  < 0 with the reason in err when the script fails,
 * overruns, or returns something outside the contract. */
int rd_margin_eval(struct rd_margin_policy *p, const struct rd_margin_line *in, struct rd_margin_result *out,
		   char *err, size_t errlen);

/* Turns the memo on (the default, unless the script opted out) or off. */
void rd_margin_memo_enable(struct rd_margin_policy *p, bool on);

/* ---- routing ---------------------------------------------------------------- */

struct rd_lead_in {
	const char *source, *country, *region, *company_size, *product;
	int32_t score;
};

struct rd_route_candidate {
	uint64_t id;
	uint8_t tier;
	const char *regions;          /* space-separated */
	const char *specialisations;  /* space-separated */
	uint32_t open_load;           /* leads assigned and not yet closed */
	uint32_t acceptance_pct;      /* share of offered leads it accepted, 0..100 */
	uint32_t weight;              /* its share relative to others (1: normal) */
	int32_t last_active_days;     /* days since it last accepted or closed a lead; -1: never */
};

enum rd_route_kind { RD_ROUTE_REP = 1, RD_ROUTE_PARTNER = 2, RD_ROUTE_POOL = 3 };

#define RD_ROUTE_MAX_POOL 50
struct rd_route_result {
	uint8_t kind;
	uint64_t ids[RD_ROUTE_MAX_POOL]; /* rep: ids[0] is the user; partner: ids[0]; pool: n ids */
	int n;
	uint32_t hours;
	char reason[120];
};

struct rd_routing_policy {
	struct rd_sandbox *sb;
	int env, fn;
};

int rd_routing_load(struct rd_routing_policy *p, struct rd_sandbox *sb, const char *name, const char *src, size_t len,
		    char *err, size_t errlen);
void rd_routing_unload(struct rd_routing_policy *p);
int rd_routing_eval(struct rd_routing_policy *p, const struct rd_lead_in *lead, const struct rd_route_candidate *cands,
		    size_t n, const uint64_t *excluded, size_t n_excluded, struct rd_route_result *out, char *err,
		    size_t errlen);

#endif
