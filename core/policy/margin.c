/*
 * margin.c: calling a vendor's margin policy.  The hot path: the function
 * is cached in the registry, the argument tables are created once and
 * reused, enum names are pushed from static literals (which Lua interns
 * once), and results come back as values on the stack, not a table.  The
 * script reads the line through read-only proxies that stay empty: every
 * read of a field goes to field_index, which pushes the value and notes the
 * read, and a successful answer is kept in the memo under the values of
 * exactly the fields it read.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sandbox.h"

#include "policy/policy.h"
#include "util/err.h"

/* Every string the call pushes is created once, at load, and pushed from
 * this table by index: no hashing, no strlen, no strcmp per call. */
enum {
	S_PARTNER = 1, S_PRODUCT, S_LIST, S_CUSTOMER, S_VENDOR, S_ID, S_KIND, S_TIER, S_SKU, S_LINE, S_TERM, S_AMOUNT,
	S_CURRENCY, S_SEGMENT, S_COUNTRY, S_DEAL_BONUS, S_DIST_BP, S_DISTRIBUTOR, S_PUBLISH, S_QUANTITY, S_DEAL,
	S_REFERRAL,
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
	[S_REFERRAL] = "referral",
	[S_TIERS + 1] = "platinum", [S_TIERS + 2] = "gold", [S_TIERS + 3] = "silver", [S_TIERS + 4] = "vendor",
	[S_KINDS + 1] = "distributor", [S_KINDS + 2] = "reseller",
	[S_PUBLISHES + 1] = "vendor", [S_PUBLISHES + 2] = "partner",
	[S_TERMS + 1] = "annual", [S_TERMS + 2] = "quarterly", [S_TERMS + 3] = "monthly", [S_TERMS + 4] = "flex",
	[S_DEALS + 0] = "none", [S_DEALS + 1] = "approved", [S_DEALS + 2] = "won",
};

static const struct {
	const char *name;
	size_t len;
	int str; /* its string in string_table */
} parties[] = { { "reseller", 8, S_KINDS + 2 }, { "distributor", 11, S_DISTRIBUTOR }, { "referral", 8, S_REFERRAL } };

enum { T_LINE = 1, T_PARTNER, T_PRODUCT, T_LIST, T_CUSTOMER, T_VENDOR, T_COUNT };

/* The line's fields, as the memo and the read tracking number them. */
enum {
	F_PARTNER_ID, F_KIND, F_TIER, F_SKU, F_PLINE, F_TERM, F_AMOUNT, F_CURRENCY, F_SEGMENT, F_COUNTRY, F_BONUS,
	F_DIST_BP, F_DISTRIBUTOR, F_PUBLISH, F_QUANTITY, F_DEAL, F_COUNT
};
_Static_assert(F_COUNT == RD_MARGIN_FIELDS, "one bit per field");

static const struct {
	int table, key;
	int enum_base, enum_n; /* an enum field: its names at enum_base + value, values below enum_n */
	int str;               /* a string field: 1 + its slot in struct memo_entry's strings, else 0 */
} fields[F_COUNT] = {
	[F_PARTNER_ID] = { T_PARTNER, S_ID, 0, 0, 0 },
	[F_KIND] = { T_PARTNER, S_KIND, S_KINDS, 3, 0 },
	[F_TIER] = { T_PARTNER, S_TIER, S_TIERS, 5, 0 },
	[F_SKU] = { T_PRODUCT, S_SKU, 0, 0, 1 },
	[F_PLINE] = { T_PRODUCT, S_LINE, 0, 0, 2 },
	[F_TERM] = { T_PRODUCT, S_TERM, S_TERMS, 5, 0 },
	[F_AMOUNT] = { T_LIST, S_AMOUNT, 0, 0, 0 },
	[F_CURRENCY] = { T_LIST, S_CURRENCY, 0, 0, 3 },
	[F_SEGMENT] = { T_CUSTOMER, S_SEGMENT, 0, 0, 4 },
	[F_COUNTRY] = { T_CUSTOMER, S_COUNTRY, 0, 0, 5 },
	[F_BONUS] = { T_VENDOR, S_DEAL_BONUS, 0, 0, 0 },
	[F_DIST_BP] = { T_VENDOR, S_DIST_BP, 0, 0, 0 },
	[F_DISTRIBUTOR] = { T_LINE, S_DISTRIBUTOR, 0, 0, 0 },
	[F_PUBLISH] = { T_LINE, S_PUBLISH, S_PUBLISHES, 3, 0 },
	[F_QUANTITY] = { T_LINE, S_QUANTITY, 0, 0, 0 },
	[F_DEAL] = { T_LINE, S_DEAL, S_DEALS, 3, 0 },
};
#define MEMO_STRINGS 5
#define STRING_FIELDS (1u << F_SKU | 1u << F_PLINE | 1u << F_CURRENCY | 1u << F_SEGMENT | 1u << F_COUNTRY)

/* The line's fields as numbers, by field (strings: 0), read once per
 * evaluation: the memo's hashes and comparisons and the script's reads all
 * take them from here. */
static void line_values(const struct rd_margin_line *l, uint64_t *v)
{
	v[F_PARTNER_ID] = l->partner_id;
	v[F_KIND] = l->partner_kind;
	v[F_TIER] = l->partner_tier;
	v[F_SKU] = 0;
	v[F_PLINE] = 0;
	v[F_TERM] = l->term;
	v[F_AMOUNT] = (uint64_t)l->list_amount;
	v[F_CURRENCY] = 0;
	v[F_SEGMENT] = 0;
	v[F_COUNTRY] = 0;
	v[F_BONUS] = l->deal_bonus_bp;
	v[F_DIST_BP] = l->distributor_bp;
	v[F_DISTRIBUTOR] = l->distributor_id;
	v[F_PUBLISH] = l->publish;
	v[F_QUANTITY] = l->quantity;
	v[F_DEAL] = l->deal;
}

static const char *field_str(const struct rd_margin_line *l, int f)
{
	const char *v = f == F_SKU ? l->sku : f == F_PLINE ? l->product_line : f == F_CURRENCY ? l->currency
		      : f == F_SEGMENT ? l->segment : l->country;
	return v ? v : "";
}

/* ---- the memo ---------------------------------------------------------------
 * An answer is kept under the set of fields the call read (its mask) and
 * their values.  Why that is enough: the script is a function of what it
 * reads, so a line that agrees with a kept one on every field of the mask
 * makes it read the same fields in the same order with the same values,
 * and return the same.  Hence also at most one mask can match a line.  A
 * lookup tries each mask seen so far (a handful for the shipped policies). */
#define MEMO_MAX_ENTRIES 1024u
#define MEMO_SLOTS (2 * MEMO_MAX_ENTRIES) /* a power of two */
#define MEMO_MAX_MASKS 32

struct memo_entry {
	uint32_t mask;
	uint64_t hash;
	uint64_t ints[F_COUNT];
	char *strings[MEMO_STRINGS];
	struct rd_margin_result result;
};

/* A proxy's fields: its keys as the interned Lua strings (compared by
 * address) and the field each names; the memo's tables[] by proxy. */
#define PROXY_MAX_KEYS 5
struct proxy_desc {
	int n;
	const void *keys[PROXY_MAX_KEYS]; /* lua_topointer of the key strings */
	uint8_t f[PROXY_MAX_KEYS];
};

struct rd_margin_memo {
	const struct rd_margin_line *cur; /* the line of the call running now */
	uint32_t read;                    /* fields the running call read */
	uint64_t v[F_COUNT];              /* the line being evaluated, line_values */
	int fn_ref;                       /* registry: the margin function */
	const void *party_str[3];         /* the parties' names as Lua strings (lua_topointer) */
	uint32_t masks[MEMO_MAX_MASKS];
	int n_masks;
	uint32_t n;
	struct proxy_desc tables[T_COUNT];
	struct memo_entry entries[MEMO_MAX_ENTRIES];
	/* 1 + entry index (0: empty) beside the entry's hash >> 32: a probe
	 * reads one cache line, and one that does not match skips the entry
	 * unread */
	struct {
		uint32_t entry, tag;
	} slots[MEMO_SLOTS];
};

static int read_only(lua_State *L)
{
	return luaL_error(L, "the margin line is read-only");
}

/* A proxy's __index upvalues: the enum names (string_table from S_TIERS
 * on), pushed without a table look-up. */
#define ENUM_UPVALUE(i) (1 + (i) - S_TIERS)

/* The memo of the margin call running on this thread (NULL between
 * calls): a proxy's __index finds the line and notes the read there.  A
 * proxy is reachable only by its own policy's script (each policy has its
 * own environment, and the string metatable is hidden), so a proxy read
 * while a call runs is one of that call's policy. */
static __thread struct rd_margin_memo *running __attribute__((tls_model("initial-exec")));

/* Pushes the value of field f of the line being evaluated (nil for an
 * empty string, an enum value without a name, or no distributor). */
static void push_field(lua_State *L, const struct rd_margin_memo *p, int f)
{
	const struct rd_margin_line *l = p->cur;
	const char *s;
	uint64_t v = p->v[f];
	switch (f) {
	case F_PARTNER_ID:
	case F_AMOUNT:
	case F_BONUS:
	case F_DIST_BP:
	case F_QUANTITY: lua_pushinteger(L, (lua_Integer)v); return;
	case F_DISTRIBUTOR:
		if (v)
			lua_pushinteger(L, (lua_Integer)v);
		else
			lua_pushnil(L);
		return;
	case F_SKU: s = l->sku; break;
	case F_PLINE: s = l->product_line; break;
	case F_CURRENCY: s = l->currency; break;
	case F_SEGMENT: s = l->segment; break;
	case F_COUNTRY: s = l->country; break;
	default: /* an enum */
		if (v < (uint64_t)fields[f].enum_n && string_table[fields[f].enum_base + (int)v])
			lua_pushvalue(L, lua_upvalueindex(ENUM_UPVALUE(fields[f].enum_base + (int)v)));
		else
			lua_pushnil(L);
		return;
	}
	if (s && *s)
		lua_pushstring(L, s);
	else
		lua_pushnil(L);
}

/* __index of a proxy (upvalues: the enum names; one function per proxy,
 * field_index with its table): pushes the line's value of the field read
 * and notes the read.  Nothing is stored: the proxies stay empty, so every
 * read of a field comes here (and is noted), every write fails
 * (__newindex), and nothing a call sees can outlive it.  (The line's links
 * to the other proxies, partner and the like, are a table on the way: see
 * push_proxy.) */
static inline int field_index(lua_State *L, int table)
{
	struct rd_margin_memo *p = running;
	if (!p)
		return 0;
	const struct proxy_desc *d = &p->tables[table];
	/* The key's identity in one call: a string's lua_topointer is the
	 * interned string itself (every short string with the same bytes is
	 * the same object, as the field names are); any other key is NULL or
	 * another object, never one of the names. */
	const void *key = lua_topointer(L, 2);
	for (int i = 0; i < d->n; i++)
		if (d->keys[i] == key) {
			p->read |= 1u << d->f[i];
			push_field(L, p, d->f[i]);
			return 1;
		}
	return 0;
}

static int index_line(lua_State *L) { return field_index(L, T_LINE); }
static int index_partner(lua_State *L) { return field_index(L, T_PARTNER); }
static int index_product(lua_State *L) { return field_index(L, T_PRODUCT); }
static int index_list(lua_State *L) { return field_index(L, T_LIST); }
static int index_customer(lua_State *L) { return field_index(L, T_CUSTOMER); }
static int index_vendor(lua_State *L) { return field_index(L, T_VENDOR); }
static lua_CFunction const index_of[T_COUNT] = { [T_LINE] = index_line, [T_PARTNER] = index_partner,
						 [T_PRODUCT] = index_product, [T_LIST] = index_list,
						 [T_CUSTOMER] = index_customer, [T_VENDOR] = index_vendor };

/* A proxy: an empty table whose reads go to its index_of function
 * (upvalues: the enum names from the strings table at `strings`) and whose
 * writes fail; its metatable is hidden.  (rawset is not in the sandbox.)
 * The line's proxy reads its links first: its __index is the table at
 * `links` (line.partner and the like: the other proxies, found without a C
 * call), whose own __index is field_index.  That table is reached only
 * through the hidden metatable: no script can get at it or change it. */
static void push_proxy(lua_State *L, int strings, struct rd_margin_memo *memo, int table, int links)
{
	struct proxy_desc *d = &memo->tables[table];
	d->n = 0;
	for (int f = 0; f < F_COUNT; f++)
		if (fields[f].table == table) {
			lua_rawgeti(L, strings, fields[f].key);
			d->keys[d->n] = lua_topointer(L, -1); /* kept alive by the strings table */
			d->f[d->n++] = (uint8_t)f;
			lua_pop(L, 1);
		}
	lua_newtable(L);
	lua_createtable(L, 0, 3);
	for (int i = S_TIERS; i < S_END; i++)
		lua_rawgeti(L, strings, i);
	lua_pushcclosure(L, index_of[table], S_END - S_TIERS);
	if (links) {
		lua_createtable(L, 0, 1);
		lua_insert(L, -2);
		lua_setfield(L, -2, "__index");
		lua_setmetatable(L, links);
		lua_pushvalue(L, links);
	}
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, read_only);
	lua_setfield(L, -2, "__newindex");
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* A mask's hash: the mask and each of its fields' values times the field's
 * own odd constant, added, and mixed once (a few instructions a field, so
 * trying each mask seen costs little); a string field's value is its bytes'
 * hash, computed once per lookup.  Equal hashes are only a hint: an entry
 * answers when its fields' values are the line's (entry_matches). */
static const uint64_t field_k[F_COUNT] = {
	0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL, 0xd6e8feb86659fd93ULL,
	0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL, 0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL,
	0x1d8e4e27c47d124fULL, 0xff51afd7ed558ccdULL, 0xc4ceb9fe1a85ec53ULL, 0x87c37b91114253d5ULL,
	0x4cf5ad432745937fULL, 0x2127599bf4325c37ULL, 0x880355f21e6d1965ULL, 0xcbf29ce484222325ULL,
};

static uint64_t string_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		h = (h ^ *c) * 0x100000001b3ULL;
	return h;
}

/* A line's string fields' hashes, computed as the masks tried need them,
 * and the masks' hashes, kept for the answer's entry when the lookup
 * misses. */
struct probe {
	uint64_t sh[F_COUNT];
	uint32_t have;
	int tried;                    /* masks[0 .. tried - 1] were looked up, */
	uint64_t mh[MEMO_MAX_MASKS];  /* under these hashes */
};

static inline uint64_t mask_hash(const struct rd_margin_line *l, const uint64_t *v, uint32_t mask,
				 struct probe *pr)
{
	uint64_t h = (uint64_t)mask * 0x9e3779b97f4a7c15ULL;
	for (uint32_t m = mask & ~STRING_FIELDS; m; m &= m - 1) {
		int f = __builtin_ctz(m);
		h += v[f] * field_k[f];
	}
	for (uint32_t m = mask & STRING_FIELDS; m; m &= m - 1) {
		int f = __builtin_ctz(m);
		if (!(pr->have & 1u << f)) {
			pr->sh[f] = string_hash(field_str(l, f));
			pr->have |= 1u << f;
		}
		h += pr->sh[f] * field_k[f];
	}
	return mix(h);
}

static bool entry_matches(const struct memo_entry *e, const struct rd_margin_line *l, const uint64_t *v)
{
	for (uint32_t m = e->mask; m; m &= m - 1) {
		int f = __builtin_ctz(m);
		if (fields[f].str ? strcmp(e->strings[fields[f].str - 1], field_str(l, f)) != 0
				  : e->ints[f] != v[f])
			return false;
	}
	return true;
}

static void memo_clear(struct rd_margin_memo *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->entries[i].mask & STRING_FIELDS) /* (the others hold no copies) */
			for (int k = 0; k < MEMO_STRINGS; k++)
				free(m->entries[i].strings[k]);
	m->n = 0;
	m->n_masks = 0;
	memset(m->slots, 0, sizeof m->slots);
}

static const struct rd_margin_result *memo_find(struct rd_margin_memo *m, const struct rd_margin_line *l,
					       struct probe *pr)
{
	for (int i = 0; i < m->n_masks; i++) {
		uint64_t h = pr->mh[i] = mask_hash(l, m->v, m->masks[i], pr);
		pr->tried = i + 1;
		for (uint32_t s = (uint32_t)h & (MEMO_SLOTS - 1); m->slots[s].entry; s = (s + 1) & (MEMO_SLOTS - 1)) {
			if (m->slots[s].tag != (uint32_t)(h >> 32))
				continue;
			struct memo_entry *e = &m->entries[m->slots[s].entry - 1];
			if (e->hash == h && e->mask == m->masks[i] && entry_matches(e, l, m->v)) {
				if (i > 0) { /* the masks that answer most drift to the front */
					uint32_t t = m->masks[i - 1];
					m->masks[i - 1] = m->masks[i];
					m->masks[i] = t;
				}
				return &e->result;
			}
		}
	}
	return NULL;
}

static void memo_keep(struct rd_margin_memo *m, uint32_t mask, const struct rd_margin_line *l,
		      const struct rd_margin_result *r, struct probe *pr)
{
	if (m->n == MEMO_MAX_ENTRIES) {
		memo_clear(m); /* many distinct inputs: start again rather than grow */
		pr->tried = 0;
	}
	int i = 0;
	while (i < m->n_masks && m->masks[i] != mask)
		i++;
	if (i == m->n_masks) {
		if (m->n_masks == MEMO_MAX_MASKS)
			return;
		m->masks[m->n_masks++] = mask;
	}
	struct memo_entry *e = &m->entries[m->n];
	if (mask & STRING_FIELDS) /* (ints: only the mask's are ever read) */
		memset(e->strings, 0, sizeof e->strings);
	for (uint32_t b = mask; b; b &= b - 1) {
		int f = __builtin_ctz(b);
		if (fields[f].str) {
			e->strings[fields[f].str - 1] = rd_strdup(field_str(l, f));
		} else {
			e->ints[f] = m->v[f];
		}
	}
	e->mask = mask;
	e->hash = i < pr->tried ? pr->mh[i] : mask_hash(l, m->v, mask, pr); /* (looked up under it: not again) */
	e->result.n = r->n; /* (the shares in use only: the entry is large) */
	e->result.total_bp = r->total_bp;
	memcpy(e->result.shares, r->shares, (size_t)r->n * sizeof r->shares[0]);
	uint32_t s = (uint32_t)e->hash & (MEMO_SLOTS - 1);
	while (m->slots[s].entry)
		s = (s + 1) & (MEMO_SLOTS - 1);
	m->slots[s].entry = ++m->n;
	m->slots[s].tag = (uint32_t)(e->hash >> 32);
}

void rd_margin_memo_enable(struct rd_margin_policy *p, bool on)
{
	p->memo_off = !on;
	if (!on && p->memo)
		memo_clear(p->memo);
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
	int memoise = rd_sandbox_global_bool(sb, env, "memoise");
	if (memoise == -2) {
		snprintf(err, errlen, "%s: memoise must be true or false (false: never reuse an answer)", name);
		rd_sandbox_unload(sb, env);
		return RD_EINVAL;
	}
	p->memo = rd_calloc(1, sizeof *p->memo);
	p->memo_off = memoise == 0;
	p->env = env;
	p->fn = fn;
	lua_State *L = rd_sandbox_state(sb);
	rd_sandbox_host_begin(sb);
	int top = lua_gettop(L);
	lua_createtable(L, S_END, 0);
	int strings = lua_gettop(L);
	for (int i = 1; i < S_END; i++) {
		lua_pushstring(L, string_table[i] ? string_table[i] : "");
		lua_rawseti(L, -2, i);
	}
	/* The line's links to the other proxies, then the line's proxy. */
	static const char *const links[T_COUNT] = { [T_PARTNER] = "partner", [T_PRODUCT] = "product",
						    [T_LIST] = "list", [T_CUSTOMER] = "customer", [T_VENDOR] = "vendor" };
	lua_createtable(L, 0, T_COUNT);
	int linkt = lua_gettop(L);
	for (int i = T_PARTNER; i < T_COUNT; i++) {
		push_proxy(L, strings, p->memo, i, 0);
		lua_setfield(L, linkt, links[i]);
	}
	push_proxy(L, strings, p->memo, T_LINE, linkt);
	p->line_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	p->tables_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* the links */
	lua_settop(L, strings);
	for (int k = 0; k < 3; k++) {
		lua_rawgeti(L, strings, parties[k].str);
		p->memo->party_str[k] = lua_topointer(L, -1); /* kept alive by the strings table */
		lua_pop(L, 1);
	}
	p->strings_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	/* The function itself, one registry look-up away for each call (the
	 * sandbox's table of functions is two). */
	p->memo->fn_ref = LUA_NOREF;
	if (rd_sandbox_begin(sb, fn) == 0)
		p->memo->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
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
	if (p->memo)
		luaL_unref(L, LUA_REGISTRYINDEX, p->memo->fn_ref);
	rd_sandbox_unload(p->sb, p->env);
	if (p->memo) {
		memo_clear(p->memo);
		free(p->memo);
	}
	memset(p, 0, sizeof *p);
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
	/* The common case, ASCII that fits: copied as it is. */
	if (n < cap) {
		uint64_t any = 0, w;
		size_t k = 0;
		for (; k + 8 <= n; k += 8) { /* eight bytes at a time */
			memcpy(&w, p + k, 8);
			any |= w;
		}
		for (; k < n; k++)
			any |= p[k];
		if (!(any & 0x8080808080808080ULL)) {
			memcpy(out, in, n);
			out[n] = 0;
			return;
		}
	}
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
	/* Once a run's total limits are spent (rd_sandbox_limit_total) every
	 * call goes to the sandbox, which stops it, memo or not. */
	bool memo = !p->memo_off && !rd_sandbox_total_spent(p->sb);
	struct probe pr;
	pr.have = 0;
	pr.tried = 0;
	line_values(in, p->memo->v);
	if (memo) {
		const struct rd_margin_result *r = memo_find(p->memo, in, &pr);
		if (r) {
			out->n = r->n;
			out->total_bp = r->total_bp;
			memcpy(out->shares, r->shares, (size_t)r->n * sizeof r->shares[0]);
			p->hits++;
			return 0;
		}
	}
	p->misses++;
	lua_State *L = rd_sandbox_state(p->sb);
	int base = lua_gettop(L);
	out->n = 0;
	out->total_bp = 0;
	if (lua_rawgeti(L, LUA_REGISTRYINDEX, p->memo->fn_ref) != LUA_TFUNCTION) {
		lua_settop(L, base);
		snprintf(err, errlen, "the margin function is gone");
		return RD_EINTERNAL;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, p->line_ref);
	p->memo->cur = in;
	p->memo->read = 0;
	rd_sandbox_take_impure(p->sb);
	struct rd_margin_memo *outer = running; /* (NULL: margin calls do not nest) */
	running = p->memo;
	int rc = rd_sandbox_finish(p->sb, 1, LUA_MULTRET, err, errlen);
	running = outer;
	p->memo->cur = NULL;
	bool impure = rd_sandbox_take_impure(p->sb);
	if (rc < 0)
		return rc;
	int n = lua_gettop(L) - base;
	rc = RD_EINVAL;
	if (n % 3 != 0 || n / 3 > RD_MARGIN_MAX_SHARES) {
		snprintf(err, errlen, "margin() must return (party, basis points, reason) triples, at most %d; it returned %d values",
			 RD_MARGIN_MAX_SHARES, n);
		goto out;
	}
	unsigned named = 0; /* the parties named so far, by bit */
	for (int i = 0; i < n / 3; i++) {
		int at = base + 1 + 3 * i;
		size_t plen = 0, rlen = 0;
		/* A party is one of three short strings: the same object as the
		 * name kept at load, whatever made it. */
		const void *ps = lua_topointer(L, at);
		int known = ps == p->memo->party_str[0] ? 0 : ps == p->memo->party_str[1] ? 1
			  : ps == p->memo->party_str[2] ? 2 : -1;
		const char *party = known < 0 && lua_type(L, at) == LUA_TSTRING ? lua_tolstring(L, at, &plen) : NULL;
		for (int k = 0; party && k < 3; k++)
			if (plen == parties[k].len && memcmp(party, parties[k].name, plen) == 0)
				known = k;
		if (known < 0) {
			snprintf(err, errlen, "margin() share %d: the party must be one of reseller, distributor, referral", i + 1);
			goto out;
		}
		if (named & 1u << known) {
			snprintf(err, errlen, "margin() names %s twice", parties[known].name);
			goto out;
		}
		named |= 1u << known;
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
	if (memo && !impure)
		memo_keep(p->memo, p->memo->read, in, out, &pr);
out:
	lua_settop(L, base);
	return rc;
}
