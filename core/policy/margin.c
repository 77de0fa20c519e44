/*
 * margin.c: calling a vendor's margin policy.  The hot path: the function
 * is cached in the registry, the argument tables are created once and
 * refilled per call, enum names are pushed from static literals (which Lua
 * interns once), and results come back as values on the stack, not a table.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "util/err.h"

static const char *const tiers[] = { "", "platinum", "gold", "silver", "vendor" };
static const char *const kinds[] = { "", "distributor", "reseller" };
static const char *const publish[] = { "", "vendor", "partner" };
static const char *const terms[] = { "", "annual", "quarterly", "monthly", "flex" };
static const char *const deals[] = { "none", "approved", "won" };
static const char *const parties[] = { "reseller", "distributor", "referral", NULL };

#define NAME(tab, v) ((v) < sizeof tab / sizeof *tab ? tab[v] : "")

static int new_ref(lua_State *L)
{
	lua_createtable(L, 0, 8);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

int rd_margin_load(struct rd_margin_policy *p, struct rd_sandbox *sb, const char *name, const char *src, size_t len,
		   char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->sb = sb;
	int env = rd_sandbox_load(sb, name, src, len, err, errlen);
	if (env < 0)
		return env;
	int fn = rd_sandbox_function(sb, env, "margin");
	if (fn < 0) {
		snprintf(err, errlen, "%s: the script defines no function margin(line)", name);
		rd_sandbox_unload(sb, env);
		return RD_EINVAL;
	}
	p->env = env;
	p->fn = fn;
	lua_State *L = rd_sandbox_state(sb);
	p->line_ref = new_ref(L);
	p->partner_ref = new_ref(L);
	p->product_ref = new_ref(L);
	p->list_ref = new_ref(L);
	p->customer_ref = new_ref(L);
	p->vendor_ref = new_ref(L);
	return 0;
}

void rd_margin_unload(struct rd_margin_policy *p)
{
	if (!p->sb)
		return;
	lua_State *L = rd_sandbox_state(p->sb);
	int refs[] = { p->line_ref, p->partner_ref, p->product_ref, p->list_ref, p->customer_ref, p->vendor_ref };
	for (size_t i = 0; i < sizeof refs / sizeof *refs; i++)
		luaL_unref(L, LUA_REGISTRYINDEX, refs[i]);
	rd_sandbox_unload(p->sb, p->env);
	memset(p, 0, sizeof *p);
}

static void set_str(lua_State *L, const char *key, const char *v)
{
	if (v && *v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
	lua_setfield(L, -2, key);
}

static void set_int(lua_State *L, const char *key, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, key);
}

/* Pushes the subtable ref, refills it with fill, and stores it in line[key]
 * (again: a script may have replaced it). */
#define SUBTABLE(L, ref, key, body)                    \
	do {                                           \
		lua_rawgeti(L, LUA_REGISTRYINDEX, ref); \
		body;                                  \
		lua_setfield(L, -2, key);              \
	} while (0)

int rd_margin_eval(struct rd_margin_policy *p, const struct rd_margin_line *in, struct rd_margin_result *out,
		   char *err, size_t errlen)
{
	lua_State *L = rd_sandbox_state(p->sb);
	int base = lua_gettop(L);
	memset(out, 0, sizeof *out);
	if (rd_sandbox_begin(p->sb, p->fn) < 0) {
		snprintf(err, errlen, "the margin function is gone");
		return RD_EINTERNAL;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->line_ref);
	SUBTABLE(L, p->partner_ref, "partner", {
		set_int(L, "id", (lua_Integer)in->partner_id);
		set_str(L, "kind", NAME(kinds, in->partner_kind));
		set_str(L, "tier", NAME(tiers, in->partner_tier));
	});
	SUBTABLE(L, p->product_ref, "product", {
		set_str(L, "sku", in->sku);
		set_str(L, "line", in->product_line);
		set_str(L, "term", NAME(terms, in->term));
	});
	SUBTABLE(L, p->list_ref, "list", {
		set_int(L, "amount", in->list_amount);
		set_str(L, "currency", in->currency);
	});
	SUBTABLE(L, p->customer_ref, "customer", {
		set_str(L, "segment", in->segment);
		set_str(L, "country", in->country);
	});
	SUBTABLE(L, p->vendor_ref, "vendor", {
		set_int(L, "deal_bonus_bp", in->deal_bonus_bp);
		set_int(L, "distributor_bp", in->distributor_bp);
	});
	if (in->distributor_id)
		lua_pushinteger(L, (lua_Integer)in->distributor_id);
	else
		lua_pushnil(L);
	lua_setfield(L, -2, "distributor");
	set_str(L, "publish", NAME(publish, in->publish));
	set_int(L, "quantity", in->quantity);
	set_str(L, "deal", NAME(deals, in->deal));

	int rc = rd_sandbox_finish(p->sb, 1, LUA_MULTRET, err, errlen);
	if (rc < 0)
		return rc;
	int n = lua_gettop(L) - base;
	rc = RD_EINVAL;
	if (n % 3 != 0 || n / 3 > RD_MARGIN_MAX_SHARES) {
		snprintf(err, errlen, "margin() must return (party, basis points, reason) triples, at most %d; it returned %d values",
			 RD_MARGIN_MAX_SHARES, n);
		goto out;
	}
	for (int i = 0; i < n / 3; i++) {
		int at = base + 1 + 3 * i;
		const char *party = lua_type(L, at) == LUA_TSTRING ? lua_tostring(L, at) : NULL;
		int known = -1;
		for (int k = 0; party && parties[k]; k++)
			if (strcmp(party, parties[k]) == 0)
				known = k;
		if (known < 0) {
			snprintf(err, errlen, "margin() share %d: the party must be one of reseller, distributor, referral", i + 1);
			goto out;
		}
		for (int k = 0; k < out->n; k++)
			if (strcmp(out->shares[k].party, party) == 0) {
				snprintf(err, errlen, "margin() names %s twice", party);
				goto out;
			}
		int isnum = 0;
		lua_Integer bp = lua_tointegerx(L, at + 1, &isnum);
		if (!isnum || lua_type(L, at + 1) != LUA_TNUMBER || bp < 0 || bp > 10000) {
			snprintf(err, errlen, "margin() share for %s: basis points must be a whole number 0..10000", party);
			goto out;
		}
		if (lua_type(L, at + 2) != LUA_TSTRING) {
			snprintf(err, errlen, "margin() share for %s: the reason must be a string", party);
			goto out;
		}
		struct rd_margin_share *s = &out->shares[out->n++];
		snprintf(s->party, sizeof s->party, "%s", party);
		s->bp = (int32_t)bp;
		snprintf(s->reason, sizeof s->reason, "%s", lua_tostring(L, at + 2));
		out->total_bp += s->bp;
	}
	if (out->total_bp > 10000) {
		snprintf(err, errlen, "margin() shares add up to %d basis points, more than 10000", out->total_bp);
		goto out;
	}
	rc = 0;
out:
	lua_settop(L, base);
	return rc;
}
