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

/* Every string the call pushes is created once, at load, and pushed from
 * this table by index: no hashing, no strlen, no strcmp per call. */
enum {
	S_PARTNER = 1, S_PRODUCT, S_LIST, S_CUSTOMER, S_VENDOR, S_ID, S_KIND, S_TIER, S_SKU, S_LINE, S_TERM, S_AMOUNT,
	S_CURRENCY, S_SEGMENT, S_COUNTRY, S_DEAL_BONUS, S_DIST_BP, S_DISTRIBUTOR, S_PUBLISH, S_QUANTITY, S_DEAL,
	S_TIERS,                  /* + enum rd_tier (1..4) */
	S_KINDS = S_TIERS + 5,    /* + enum rd_partner_kind (1..2) */
	S_PUBLISHES = S_KINDS + 3, /* + enum rd_publish (1..2) */
	S_TERMS = S_PUBLISHES + 3, /* + enum rd_term (1..4) */
	S_DEALS = S_TERMS + 5,    /* + enum rd_deal (0..2) */
	S_END = S_DEALS + 3,
};

static const char *const string_table[S_END] = {
	[S_PARTNER] = "partner", [S_PRODUCT] = "product", [S_LIST] = "list", [S_CUSTOMER] = "customer",
	[S_VENDOR] = "vendor", [S_ID] = "id", [S_KIND] = "kind", [S_TIER] = "tier", [S_SKU] = "sku", [S_LINE] = "line",
	[S_TERM] = "term", [S_AMOUNT] = "amount", [S_CURRENCY] = "currency", [S_SEGMENT] = "segment",
	[S_COUNTRY] = "country", [S_DEAL_BONUS] = "deal_bonus_bp", [S_DIST_BP] = "distributor_bp",
	[S_DISTRIBUTOR] = "distributor", [S_PUBLISH] = "publish", [S_QUANTITY] = "quantity", [S_DEAL] = "deal",
	[S_TIERS + 1] = "platinum", [S_TIERS + 2] = "gold", [S_TIERS + 3] = "silver", [S_TIERS + 4] = "vendor",
	[S_KINDS + 1] = "distributor", [S_KINDS + 2] = "reseller",
	[S_PUBLISHES + 1] = "vendor", [S_PUBLISHES + 2] = "partner",
	[S_TERMS + 1] = "annual", [S_TERMS + 2] = "quarterly", [S_TERMS + 3] = "monthly", [S_TERMS + 4] = "flex",
	[S_DEALS + 0] = "none", [S_DEALS + 1] = "approved", [S_DEALS + 2] = "won",
};

static const struct {
	const char *name;
	size_t len;
} parties[] = { { "reseller", 8 }, { "distributor", 11 }, { "referral", 8 } };

enum { T_LINE = 1, T_PARTNER, T_PRODUCT, T_LIST, T_CUSTOMER, T_VENDOR, T_COUNT };

static int read_only(lua_State *L)
{
	return luaL_error(L, "the margin line is read-only");
}

/* A proxy: an empty table whose reads go to the real table and whose
 * writes fail; its metatable is hidden.  (rawset is not in the sandbox.) */
static void push_proxy(lua_State *L, int real)
{
	lua_newtable(L);
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, real);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, read_only);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
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
	rd_sandbox_host_begin(sb);
	int top = lua_gettop(L);
	lua_createtable(L, S_END, 0);
	for (int i = 1; i < S_END; i++) {
		lua_pushstring(L, string_table[i] ? string_table[i] : "");
		lua_rawseti(L, -2, i);
	}
	p->strings_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	/* The real tables, and the line's links to the sub-proxies. */
	lua_createtable(L, T_COUNT, 0);
	int tables = lua_gettop(L);
	for (int i = T_LINE; i < T_COUNT; i++) {
		lua_createtable(L, 0, i == T_LINE ? 12 : 4);
		lua_rawseti(L, tables, i);
	}
	static const char *const links[T_COUNT] = { [T_PARTNER] = "partner", [T_PRODUCT] = "product",
						    [T_LIST] = "list", [T_CUSTOMER] = "customer", [T_VENDOR] = "vendor" };
	lua_rawgeti(L, tables, T_LINE);
	for (int i = T_PARTNER; i < T_COUNT; i++) {
		lua_rawgeti(L, tables, i);
		push_proxy(L, lua_gettop(L));
		lua_setfield(L, -3, links[i]);
		lua_pop(L, 1);
	}
	push_proxy(L, lua_gettop(L));
	p->line_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
	p->tables_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, top);
	rd_sandbox_host_end(sb);
	return 0;
}

void rd_margin_unload(struct rd_margin_policy *p)
{
	if (!p->sb)
		return;
	lua_State *L = rd_sandbox_state(p->sb);
	luaL_unref(L, LUA_REGISTRYINDEX, p->line_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->tables_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, p->strings_ref);
	rd_sandbox_unload(p->sb, p->env);
	memset(p, 0, sizeof *p);
}

/* `strings` is the stack index of the strings table; the table being
 * filled is on top. */
static void set_str(lua_State *L, int strings, int k, const char *v)
{
	lua_rawgeti(L, strings, k);
	if (v && *v)
		lua_pushstring(L, v);
	else
		lua_pushnil(L);
	lua_rawset(L, -3);
}

static void set_enum(lua_State *L, int strings, int k, int base, unsigned v, unsigned n)
{
	lua_rawgeti(L, strings, k);
	if (v < n && string_table[base + (int)v])
		lua_rawgeti(L, strings, base + (int)v);
	else
		lua_pushnil(L);
	lua_rawset(L, -3);
}

static void set_int(lua_State *L, int strings, int k, lua_Integer v)
{
	lua_rawgeti(L, strings, k);
	lua_pushinteger(L, v);
	lua_rawset(L, -3);
}

static bool str_changed(const char *v, char *last)
{
	const char *s = v ? v : "";
	if (strcmp(s, last) == 0)
		return false;
	snprintf(last, 128, "%s", s);
	return true;
}

/* Copies the line into the real tables, field by field where it changed. */
static void fill(struct rd_margin_policy *p, lua_State *L, int st, int tables, const struct rd_margin_line *in)
{
	struct rd_margin_line *o = &p->last;
	bool all = !p->primed;
	lua_rawgeti(L, tables, T_PARTNER);
	if (all || in->partner_id != o->partner_id)
		set_int(L, st, S_ID, (lua_Integer)in->partner_id);
	if (all || in->partner_kind != o->partner_kind)
		set_enum(L, st, S_KIND, S_KINDS, in->partner_kind, 3);
	if (all || in->partner_tier != o->partner_tier)
		set_enum(L, st, S_TIER, S_TIERS, in->partner_tier, 5);
	lua_pop(L, 1);
	lua_rawgeti(L, tables, T_PRODUCT);
	if (str_changed(in->sku, p->last_str[0]) || all)
		set_str(L, st, S_SKU, in->sku);
	if (str_changed(in->product_line, p->last_str[1]) || all)
		set_str(L, st, S_LINE, in->product_line);
	if (all || in->term != o->term)
		set_enum(L, st, S_TERM, S_TERMS, in->term, 5);
	lua_pop(L, 1);
	lua_rawgeti(L, tables, T_LIST);
	if (all || in->list_amount != o->list_amount)
		set_int(L, st, S_AMOUNT, in->list_amount);
	if (str_changed(in->currency, p->last_str[2]) || all)
		set_str(L, st, S_CURRENCY, in->currency);
	lua_pop(L, 1);
	lua_rawgeti(L, tables, T_CUSTOMER);
	if (str_changed(in->segment, p->last_str[3]) || all)
		set_str(L, st, S_SEGMENT, in->segment);
	if (str_changed(in->country, p->last_str[4]) || all)
		set_str(L, st, S_COUNTRY, in->country);
	lua_pop(L, 1);
	if (all || in->deal_bonus_bp != o->deal_bonus_bp || in->distributor_bp != o->distributor_bp) {
		lua_rawgeti(L, tables, T_VENDOR);
		set_int(L, st, S_DEAL_BONUS, in->deal_bonus_bp);
		set_int(L, st, S_DIST_BP, in->distributor_bp);
		lua_pop(L, 1);
	}
	lua_rawgeti(L, tables, T_LINE);
	if (all || in->distributor_id != o->distributor_id) {
		lua_rawgeti(L, st, S_DISTRIBUTOR);
		if (in->distributor_id)
			lua_pushinteger(L, (lua_Integer)in->distributor_id);
		else
			lua_pushnil(L);
		lua_rawset(L, -3);
	}
	if (all || in->publish != o->publish)
		set_enum(L, st, S_PUBLISH, S_PUBLISHES, in->publish, 3);
	if (all || in->quantity != o->quantity)
		set_int(L, st, S_QUANTITY, in->quantity);
	if (all || in->deal != o->deal)
		set_enum(L, st, S_DEAL, S_DEALS, in->deal, 3);
	lua_pop(L, 1);
	*o = *in;
	p->primed = true;
}

/* Length of the UTF-8 character at p (at most n bytes), or 0 when it is not
 * one: an overlong form, a surrogate, beyond U+10FFFF or cut short. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (!len || len > n)
		return 0;
	uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Copies a policy's reason into out[cap]: whole UTF-8 characters only (a
 * long reason is cut before the character that does not fit, never inside
 * it), each malformed byte as '?'.  Reasons end up in JSON, e-mails and
 * PDFs, which all need valid UTF-8. */
static void utf8_copy(char *out, size_t cap, const char *in, size_t n)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, i = 0;
	while (i < n) {
		size_t len = utf8_char(p + i, n - i);
		if (o + (len ? len : 1) >= cap)
			break;
		if (len) {
			memcpy(out + o, p + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = 0;
}

int rd_margin_eval(struct rd_margin_policy *p, const struct rd_margin_line *in, struct rd_margin_result *out,
		   char *err, size_t errlen)
{
	lua_State *L = rd_sandbox_state(p->sb);
	int base = lua_gettop(L);
	out->n = 0;
	out->total_bp = 0;
	rd_sandbox_host_begin(p->sb);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->strings_ref);
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->tables_ref);
	fill(p, L, base + 1, base + 2, in);
	lua_settop(L, base);
	rd_sandbox_host_end(p->sb);
	if (rd_sandbox_begin(p->sb, p->fn) < 0) {
		snprintf(err, errlen, "the margin function is gone");
		return RD_EINTERNAL;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->line_ref);

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
		size_t plen = 0, rlen = 0;
		const char *party = lua_type(L, at) == LUA_TSTRING ? lua_tolstring(L, at, &plen) : NULL;
		int known = -1;
		for (int k = 0; party && k < 3; k++)
			if (plen == parties[k].len && memcmp(party, parties[k].name, plen) == 0)
				known = k;
		if (known < 0) {
			snprintf(err, errlen, "margin() share %d: the party must be one of reseller, distributor, referral", i + 1);
			goto out;
		}
		for (int k = 0; k < out->n; k++)
			if (strcmp(out->shares[k].party, parties[known].name) == 0) {
				snprintf(err, errlen, "margin() names %s twice", parties[known].name);
				goto out;
			}
		int isnum = 0;
		lua_Integer bp = lua_tointegerx(L, at + 1, &isnum);
		if (!isnum || lua_type(L, at + 1) != LUA_TNUMBER || bp < 0 || bp > 10000) {
			snprintf(err, errlen, "margin() share for %s: basis points must be a whole number 0..10000",
				 parties[known].name);
			goto out;
		}
		const char *reason = lua_type(L, at + 2) == LUA_TSTRING ? lua_tolstring(L, at + 2, &rlen) : NULL;
		if (!reason) {
			snprintf(err, errlen, "margin() share for %s: the reason must be a string", parties[known].name);
			goto out;
		}
		struct rd_margin_share *s = &out->shares[out->n++];
		memcpy(s->party, parties[known].name, parties[known].len + 1);
		s->bp = (int32_t)bp;
		utf8_copy(s->reason, sizeof s->reason, reason, rlen);
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
