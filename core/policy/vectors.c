/*
 * vectors.c: test vectors shipped beside a policy script.  A vector file is
 * a JSON array; each vector has a name, an input and the expected output:
 *
 *   margin:  {"name": ..., "line": {<margin line, as the script sees it>},
 *             "expect": [["reseller", 3300], ["distributor", 300]]}
 *            or "expect_error": "part of the message"
 *   routing: {"name": ..., "lead": {...}, "candidates": [{...}], "excluded": [ids],
 *             "expect": {"kind": "partner", "ids": [3]}}  (or "expect_error")
 *
 * A version whose vectors do not all pass is never stored as runnable.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "policy/vectors.h"
#include "util/err.h"

static int enum_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int rd_margin_line_from_json(json_t *j, struct rd_margin_line *l)
{
	static const char *const tiers[] = { "", "platinum", "gold", "silver", "vendor" };
	static const char *const kinds[] = { "", "distributor", "reseller" };
	static const char *const publish[] = { "", "vendor", "partner" };
	static const char *const terms[] = { "", "annual", "quarterly", "monthly", "flex" };
	static const char *const deals[] = { "none", "approved", "won" };
	if (!json_is_object(j))
		return RD_EINVAL;
	json_t *partner = json_object_get(j, "partner"), *product = json_object_get(j, "product"),
	       *list = json_object_get(j, "list"), *customer = json_object_get(j, "customer"),
	       *vendor = json_object_get(j, "vendor");
	memset(l, 0, sizeof *l);
	l->partner_id = (uint64_t)json_integer_value(json_object_get(partner, "id"));
	l->partner_kind = (uint8_t)enum_index(kinds, 3, str(partner, "kind"));
	l->partner_tier = (uint8_t)enum_index(tiers, 5, str(partner, "tier"));
	l->distributor_id = (uint64_t)json_integer_value(json_object_get(j, "distributor"));
	l->publish = (uint8_t)enum_index(publish, 3, str(j, "publish"));
	l->sku = str(product, "sku");
	l->product_line = str(product, "line");
	l->term = (uint8_t)enum_index(terms, 5, str(product, "term"));
	l->quantity = (uint32_t)json_integer_value(json_object_get(j, "quantity"));
	l->list_amount = json_integer_value(json_object_get(list, "amount"));
	l->currency = str(list, "currency");
	l->segment = str(customer, "segment");
	l->country = str(customer, "country");
	l->deal = (uint8_t)enum_index(deals, 3, str(j, "deal"));
	json_t *bonus = json_object_get(vendor, "deal_bonus_bp"), *dist = json_object_get(vendor, "distributor_bp");
	l->deal_bonus_bp = bonus ? (uint32_t)json_integer_value(bonus) : 500;
	l->distributor_bp = dist ? (uint32_t)json_integer_value(dist) : 300;
	return 0;
}

static void fail(json_t *report, const char *name, const char *fmt, const char *a, const char *b)
{
	char msg[400];
	snprintf(msg, sizeof msg, fmt, a, b);
	json_array_append_new(report, json_pack("{s:s, s:s}", "vector", name, "message", msg));
}

static bool error_matches(json_t *v, int rc, const char *err, json_t *report, const char *name)
{
	const char *want = str(v, "expect_error");
	if (!want)
		return false;
	if (rc >= 0)
		fail(report, name, "expected an error containing \"%s\"%s, the call succeeded", want, "");
	else if (!strstr(err, want))
		fail(report, name, "expected an error containing \"%s\", got: %s", want, err);
	return true;
}

int rd_vectors_margin(struct rd_margin_policy *p, json_t *vectors, json_t *report)
{
	size_t i;
	json_t *v;
	int failed = 0;
	if (!json_is_array(vectors)) {
		fail(report, "(file)", "the vectors must be a JSON array%s%s", "", "");
		return 1;
	}
	json_array_foreach(vectors, i, v) {
		char name[64];
		snprintf(name, sizeof name, "%s", str(v, "name") ? str(v, "name") : "");
		if (!name[0])
			snprintf(name, sizeof name, "#%zu", i + 1);
		struct rd_margin_line line;
		if (rd_margin_line_from_json(json_object_get(v, "line"), &line) < 0) {
			fail(report, name, "the vector has no \"line\" object%s%s", "", "");
			failed++;
			continue;
		}
		struct rd_margin_result res;
		char err[300] = "";
		int rc = rd_margin_eval(p, &line, &res, err, sizeof err);
		size_t before = json_array_size(report);
		if (error_matches(v, rc, err, report, name)) {
			failed += json_array_size(report) > before;
			continue;
		}
		if (rc < 0) {
			fail(report, name, "the policy failed: %s%s", err, "");
			failed++;
			continue;
		}
		json_t *expect = json_object_get(v, "expect");
		if (!json_is_array(expect)) {
			fail(report, name, "the vector has no \"expect\" list%s%s", "", "");
			failed++;
			continue;
		}
		/* Compare as sets of (party, bp). */
		bool ok = json_array_size(expect) == (size_t)res.n;
		size_t k;
		json_t *e;
		json_array_foreach(expect, k, e) {
			const char *party = json_string_value(json_array_get(e, 0));
			json_int_t bp = json_integer_value(json_array_get(e, 1));
			bool found = false;
			for (int s = 0; party && s < res.n; s++)
				found |= !strcmp(res.shares[s].party, party) && res.shares[s].bp == bp;
			ok &= found;
		}
		if (!ok) {
			char got[300] = "", want[300] = "";
			size_t off = 0;
			for (int s = 0; s < res.n; s++)
				off += (size_t)snprintf(got + off, off < sizeof got ? sizeof got - off : 0, "%s%s %d",
							s ? ", " : "", res.shares[s].party, res.shares[s].bp);
			off = 0;
			json_array_foreach(expect, k, e)
				off += (size_t)snprintf(want + off, off < sizeof want ? sizeof want - off : 0, "%s%s %lld",
							k ? ", " : "", json_string_value(json_array_get(e, 0)) ?: "?",
							(long long)json_integer_value(json_array_get(e, 1)));
			fail(report, name, "expected [%s], got [%s]", want, got);
			failed++;
		}
	}
	return failed;
}

int rd_vectors_routing(struct rd_routing_policy *p, json_t *vectors, json_t *report)
{
	static const char *const tiers[] = { "", "platinum", "gold", "silver", "vendor" };
	static const char *const kinds[] = { "", "rep", "partner", "pool" };
	size_t i;
	json_t *v;
	int failed = 0;
	if (!json_is_array(vectors)) {
		fail(report, "(file)", "the vectors must be a JSON array%s%s", "", "");
		return 1;
	}
	json_array_foreach(vectors, i, v) {
		char name[64];
		snprintf(name, sizeof name, "%s", str(v, "name") ? str(v, "name") : "");
		if (!name[0])
			snprintf(name, sizeof name, "#%zu", i + 1);
		json_t *lj = json_object_get(v, "lead"), *cj = json_object_get(v, "candidates"), *xj = json_object_get(v, "excluded");
		struct rd_lead_in lead = { str(lj, "source"), str(lj, "country"), str(lj, "region"), str(lj, "company_size"),
					   str(lj, "product"), (int32_t)json_integer_value(json_object_get(lj, "score")) };
		struct rd_route_candidate cands[64];
		uint64_t excluded[64];
		size_t nc = 0, nx = 0, k;
		json_t *c;
		json_array_foreach(cj, k, c) {
			if (nc == 64)
				break;
			cands[nc++] = (struct rd_route_candidate){ (uint64_t)json_integer_value(json_object_get(c, "id")),
								  (uint8_t)enum_index(tiers, 5, str(c, "tier")),
								  str(c, "regions"), str(c, "specialisations"),
								  (uint32_t)json_integer_value(json_object_get(c, "open_load")),
								  (uint32_t)json_integer_value(json_object_get(c, "acceptance_pct")),
								  json_object_get(c, "weight") ?
								  (uint32_t)json_integer_value(json_object_get(c, "weight")) : 1,
								  json_object_get(c, "last_active_days") ?
								  (int32_t)json_integer_value(json_object_get(c, "last_active_days")) : -1 };
		}
		json_array_foreach(xj, k, c) {
			if (nx < 64)
				excluded[nx++] = (uint64_t)json_integer_value(c);
		}
		struct rd_route_result res;
		char err[300] = "";
		int rc = rd_routing_eval(p, &lead, cands, nc, excluded, nx, &res, err, sizeof err);
		size_t before = json_array_size(report);
		if (error_matches(v, rc, err, report, name)) {
			failed += json_array_size(report) > before;
			continue;
		}
		if (rc < 0) {
			fail(report, name, "the policy failed: %s%s", err, "");
			failed++;
			continue;
		}
		json_t *expect = json_object_get(v, "expect"), *ids = json_object_get(expect, "ids");
		bool ok = str(expect, "kind") && !strcmp(str(expect, "kind"), kinds[res.kind]) &&
			  (!ids || json_array_size(ids) == (size_t)res.n);
		json_array_foreach(ids, k, c) ok &= k < (size_t)res.n && res.ids[k] == (uint64_t)json_integer_value(c);
		if (!ok) {
			char got[200];
			snprintf(got, sizeof got, "%s with %d id(s), first %llu", kinds[res.kind], res.n,
				 (unsigned long long)res.ids[0]);
			fail(report, name, "expected %s, got %s", str(expect, "kind") ? str(expect, "kind") : "?", got);
			failed++;
		}
	}
	return failed;
}
