/*
 * policy_output.c: what a vendor's policy script returns, checked by
 * renewd's contracts (core/policy/margin.c rd_margin_eval, routing.c
 * rd_routing_eval) before anything is priced or routed.  The input is a
 * JSON array (or one value): the first byte picks margin() or route(), the
 * rest becomes the function's return values as Lua literals (objects as
 * tables, null as nil), so every shape of answer reaches the checks, in
 * the sandbox the daemon uses.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy/policy.h"
#include "policy/runtime.h"
#include "policy/vectors.h"

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap)
		b->p = realloc(b->p, b->cap = (b->n + n + 1) * 2);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

static void lua_string(struct buf *b, const char *s, size_t n)
{
	puts_(b, "\"");
	for (size_t i = 0; i < n; i++) {
		char esc[8];
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ')
			put(b, s + i, 1);
		else
			put(b, esc, (size_t)snprintf(esc, sizeof esc, "\\%03u", c));
	}
	puts_(b, "\"");
}

static void lua_value(struct buf *b, json_t *v, int depth)
{
	char num[64];
	if (depth > 32) {
		puts_(b, "nil");
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		puts_(b, "{");
		json_object_foreach(v, k, x) {
			puts_(b, "[");
			lua_string(b, k, strlen(k));
			puts_(b, "]=");
			lua_value(b, x, depth + 1);
			puts_(b, ",");
		}
		puts_(b, "}");
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		puts_(b, "{");
		json_array_foreach(v, i, x) {
			lua_value(b, x, depth + 1);
			puts_(b, ",");
		}
		puts_(b, "}");
	} else if (json_is_string(v)) {
		lua_string(b, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
		puts_(b, num);
	} else if (json_is_real(v)) {
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		puts_(b, strchr(num, 'n') || strchr(num, 'i') ? "0/0" : num);
	} else if (json_is_true(v)) {
		puts_(b, "true");
	} else if (json_is_false(v)) {
		puts_(b, "false");
	} else {
		puts_(b, "nil");
	}
}

static struct rd_sandbox *sandbox(void)
{
	static struct rd_sandbox *sb;
	if (!sb && rd_sandbox_new(&sb, NULL) < 0)
		abort();
	return sb;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
	if (!j)
		return 0;
	bool routing = data[0] & 1;
	char err[512];
	if (data[0] & 2) {
		static struct rd_margin_policy mp;
		static struct rd_routing_policy rp;
		static bool loaded;
		if (!loaded && (rd_margin_load(&mp, sandbox(), "margin", rd_default_margin_lua, strlen(rd_default_margin_lua),
					       err, sizeof err) < 0 ||
				rd_routing_load(&rp, sandbox(), "routing", rd_default_routing_lua,
						strlen(rd_default_routing_lua), err, sizeof err) < 0))
			abort();
		loaded = true;
		rd_margin_memo_enable(&mp, false);
		json_t *report = json_array();
		if (routing)
			rd_vectors_routing(&rp, j, report);
		else
			rd_vectors_margin(&mp, j, report);
		json_decref(report);
		json_decref(j);
		return 0;
	}
	struct buf b = { 0 };
	puts_(&b, routing ? "function route(lead, candidates, excluded) return " : "function margin(line) return ");
	if (json_is_array(j)) {
		size_t i;
		json_t *x;
		json_array_foreach(j, i, x) {
			if (i)
				puts_(&b, ", ");
			lua_value(&b, x, 0);
		}
	} else {
		lua_value(&b, j, 0);
	}
	puts_(&b, " end\n");
	json_decref(j);
	if (!routing) {
		struct rd_margin_policy p = { 0 };
		if (rd_margin_load(&p, sandbox(), "fuzz", b.p, b.n, err, sizeof err) == 0) {
			struct rd_margin_line l = { .partner_id = 1, .partner_kind = RD_PARTNER_RESELLER, .partner_tier = 2,
						    .distributor_id = 2, .publish = 1, .sku = "SKU-1", .product_line = "Widgets",
						    .term = RD_TERM_ANNUAL, .quantity = 10, .list_amount = 100000,
						    .currency = "EUR", .segment = "smb", .country = "GB", .deal = RD_DEAL_WON,
						    .deal_bonus_bp = 500, .distributor_bp = 300 };
			struct rd_margin_result r;
			rd_margin_memo_enable(&p, false);
			rd_margin_eval(&p, &l, &r, err, sizeof err);
			rd_margin_unload(&p);
		}
	} else {
		struct rd_routing_policy p = { 0 };
		if (rd_routing_load(&p, sandbox(), "fuzz", b.p, b.n, err, sizeof err) == 0) {
			struct rd_lead_in lead = { "web", "GB", "emea", "smb", "SKU-1", 70 };
			struct rd_route_candidate c[3] = {
				{ 1, 1, "emea", "security", 3, 80, 1, 2 },
				{ 2, 2, "amer emea", "", 0, 50, 2, -1 },
				{ 7, 3, "", "network", 10, 100, 1, 30 },
			};
			uint64_t excluded[1] = { 7 };
			struct rd_route_result r;
			rd_routing_eval(&p, &lead, c, 3, excluded, 1, &r, err, sizeof err);
			rd_routing_unload(&p);
		}
	}
	free(b.p);
	return 0;
}
