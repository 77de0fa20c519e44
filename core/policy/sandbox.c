/* sandbox.c: the Lua state behind rd_sandbox (see sandbox.h). */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sandbox.h"
#include "util/err.h"

struct rd_sandbox {
	lua_State *L;
	size_t used, cap;
	uint32_t budget;
	bool over_budget;
	int safe_ref;  /* registry: the pristine library tables to copy into each _ENV */
	int fns;       /* registry: table of cached functions, by handle */
	int envs;      /* registry: table of environments, by handle */
	int owners;    /* registry: function handle -> its environment's handle */
	int next_handle;
	int host;      /* > 0: host-side work, the cap does not apply */
};

/* The allocator: one byte counter against the cap.  Returning NULL makes
 * Lua raise "not enough memory" inside the protected call. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct rd_sandbox *sb = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		sb->used -= old;
		return NULL;
	}
	if (nsize > old && !sb->host && sb->used + (nsize - old) > sb->cap)
		return NULL;
	void *p = realloc(ptr, nsize);
	if (p)
		sb->used = sb->used - old + nsize;
	return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	/* From here on every instruction fails: a script that catches the error
	 * (pcall, xpcall) must not get a fresh budget by doing so.  The next
	 * call's protected_call sets the full budget again. */
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
	luaL_error(L, "instruction budget exceeded (an endless loop?)");
}

static const char *const base_keep[] = { "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal",
					  "rawget", "rawlen", "select", "setmetatable", "getmetatable",
					  "tonumber", "tostring", "type", "xpcall", "_VERSION", NULL };
static const char *const libs[] = { "string", "table", "math", "utf8", NULL };

/* setmetatable without finalisers: a __gc function would run during garbage
 * collection, outside any call and its budget. */
static int safe_setmetatable(lua_State *L)
{
	/* Raw, as the collector looks: a metamethod of the metatable (__index)
	 * must not get to run between this check and the real setmetatable. */
	if (lua_istable(L, 2)) {
		lua_pushliteral(L, "__gc");
		if (lua_rawget(L, 2) != LUA_TNIL)
			return luaL_error(L, "setmetatable: __gc metamethods are not allowed in policies");
	}
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* Pattern functions on long subjects can backtrack for a very long time
 * inside one instruction, out of the budget's reach: cap the subject. */
#define PATTERN_SUBJECT_MAX 65536
/* Quantifiers (* + - ?) outside sets and escapes, back-references (%1-%9)
 * and balances (%bxy): each one can multiply the matcher's work by the
 * subject's length. */
static int quantifiers(const char *p, size_t n)
{
	int q = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '%') {
			i++; /* an escape: the next character is literal (or a class) */
			if (i < n && p[i] >= '1' && p[i] <= '9')
				q++; /* compares up to the subject's length */
			else if (i < n && p[i] == 'b')
				q++, i += 2; /* scans up to the subject's length */
		} else if (p[i] == '[') {
			for (i++; i < n && p[i] != ']'; i++)
				if (p[i] == '%')
					i++;
		} else if ((p[i] == '*' || p[i] == '+' || p[i] == '-' || p[i] == '?') && i > 0) {
			q++;
		}
	}
	return q;
}

/* The matcher's worst case grows as length^quantifiers, times the length
 * again when it tries every start position (no ^ anchor; gmatch always);
 * refuse patterns whose bound passes ~10^7 steps (a few tens of
 * milliseconds). */
#define PATTERN_STEPS_MAX 1e7

static int guarded_pattern(lua_State *L)
{
	size_t n, pn = 0;
	luaL_checklstring(L, 1, &n);
	if (n > PATTERN_SUBJECT_MAX)
		return luaL_error(L, "string pattern functions take subjects of at most %d bytes in policies",
				  PATTERN_SUBJECT_MAX);
	/* A number is a pattern too ("1e-300" has a quantifier). */
	const char *pat = lua_isstring(L, 2) ? lua_tolstring(L, 2, &pn) : NULL;
	lua_Integer which = lua_tointeger(L, lua_upvalueindex(2)); /* 0 find, 1 match, 2 gmatch, 3 gsub */
	bool plain = which == 0 && lua_gettop(L) >= 4 && lua_toboolean(L, 4);
	if (pat && !plain) {
		double steps = 1, len = (double)(n + 1);
		int q = quantifiers(pat, pn) + (which == 2 || pn == 0 || pat[0] != '^');
		for (; q > 0 && steps <= PATTERN_STEPS_MAX; q--)
			steps *= len;
		if (steps > PATTERN_STEPS_MAX)
			return luaL_error(L, "this pattern is too costly for a subject of %d bytes (each of *, +, - and ? "
					     "multiplies the work by the length): simplify it or shorten the subject",
					  (int)n);
	}
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Builds the registry table of safe globals, from which every _ENV is
 * copied.  Runs unprotected at creation, before any script exists. */
static int build_safe(lua_State *L)
{
	luaL_requiref(L, "_G", luaopen_base, 1);
	luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
	luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
	luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
	luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
	lua_pop(L, 5);
	lua_newtable(L); /* safe */
	lua_pushglobaltable(L);
	for (size_t i = 0; base_keep[i]; i++) {
		lua_getfield(L, -1, base_keep[i]);
		lua_setfield(L, -3, base_keep[i]);
	}
	for (size_t i = 0; libs[i]; i++) {
		lua_getfield(L, -1, libs[i]);
		lua_setfield(L, -3, libs[i]);
	}
	lua_pop(L, 1); /* _G */
	lua_getfield(L, -1, "string");
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	static const char *const patterns[] = { "find", "match", "gmatch", "gsub", NULL };
	for (size_t i = 0; patterns[i]; i++) {
		lua_getfield(L, -1, patterns[i]);
		/* upvalue 2: which one (find's 4th argument means "plain text";
		 * gmatch ignores the ^ anchor) */
		lua_pushinteger(L, (lua_Integer)i);
		lua_pushcclosure(L, guarded_pattern, 2);
		lua_setfield(L, -2, patterns[i]);
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "setmetatable");
	lua_pushcclosure(L, safe_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	/* Strings share one metatable whose __index is the string library: hide
	 * it, so no script can reach (or change) what another script sees. */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_pushboolean(L, 0);
		lua_setfield(L, -2, "__metatable");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	/* The real globals table is emptied: nothing reaches it but us. */
	lua_pushglobaltable(L);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		lua_pop(L, 1);
		lua_pushvalue(L, -1);
		lua_pushnil(L);
		lua_rawset(L, -4);
	}
	lua_pop(L, 1);
	return luaL_ref(L, LUA_REGISTRYINDEX);
}

int rd_sandbox_new(struct rd_sandbox **out, const struct rd_sandbox_limits *lim)
{
	struct rd_sandbox *sb = rd_calloc(1, sizeof *sb);
	sb->cap = lim && lim->memory_bytes ? lim->memory_bytes : 16u << 20;
	sb->budget = lim && lim->instructions ? lim->instructions : 1000000;
	size_t cap = sb->cap;
	sb->host = 1; /* the libraries themselves are not the script's to pay for */
	sb->L = lua_newstate(sb_alloc, sb);
	if (!sb->L) {
		free(sb);
		return -ENOMEM;
	}
	sb->safe_ref = build_safe(sb->L);
	lua_newtable(sb->L);
	sb->fns = luaL_ref(sb->L, LUA_REGISTRYINDEX);
	lua_newtable(sb->L);
	sb->envs = luaL_ref(sb->L, LUA_REGISTRYINDEX);
	lua_newtable(sb->L);
	sb->owners = luaL_ref(sb->L, LUA_REGISTRYINDEX);
	sb->cap = sb->used + cap;
	sb->host = 0;
	*out = sb;
	return 0;
}

void rd_sandbox_free(struct rd_sandbox **sbp)
{
	struct rd_sandbox *sb = *sbp;
	if (!sb)
		return;
	luaL_unref(sb->L, LUA_REGISTRYINDEX, sb->safe_ref);
	luaL_unref(sb->L, LUA_REGISTRYINDEX, sb->fns);
	luaL_unref(sb->L, LUA_REGISTRYINDEX, sb->envs);
	luaL_unref(sb->L, LUA_REGISTRYINDEX, sb->owners);
	lua_close(sb->L);
	free(sb);
	*sbp = NULL;
}

void rd_sandbox_host_begin(struct rd_sandbox *sb)
{
	sb->host++;
}

void rd_sandbox_host_end(struct rd_sandbox *sb)
{
	sb->host--;
}

lua_State *rd_sandbox_state(struct rd_sandbox *sb)
{
	return sb->L;
}

size_t rd_sandbox_memory(const struct rd_sandbox *sb)
{
	return sb->used;
}

/* A new _ENV: the safe base functions, and a private copy of each library
 * table so that one script changing string.format changes only its own. */
static int new_env(lua_State *L)
{
	struct rd_sandbox *sb = lua_touserdata(L, 1);
	lua_newtable(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->safe_ref);
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_istable(L, -1)) {
			lua_newtable(L);
			lua_pushnil(L);
			while (lua_next(L, -3)) {
				lua_pushvalue(L, -2);
				lua_insert(L, -2);
				lua_rawset(L, -4);
			}
			lua_replace(L, -2);
		}
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, -5);
	}
	lua_pop(L, 1);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "_G");
	return 1;
}

/* The one protected call: budget on, errors caught, stack restored. */
static int protected_call(struct rd_sandbox *sb, int nargs, int nresults, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs - 1;
	int host = sb->host;
	sb->host = 0; /* the script pays for what it allocates */
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, (int)sb->budget);
	int rc = lua_pcall(L, nargs, nresults, 0);
	lua_sethook(L, NULL, 0, 0);
	sb->host = host;
	if (rc == LUA_OK)
		return 0;
	sb->host++; /* lua_tostring of a number allocates: never a memory error here */
	const char *msg = lua_tostring(L, -1);
	if (rc == LUA_ERRMEM)
		msg = "memory limit of the policy sandbox exceeded";
	snprintf(err, errlen, "%s", msg ? msg : "error object is not a string");
	lua_settop(L, base);
	sb->host--;
	return rc == LUA_ERRMEM ? -ENOMEM : RD_EINVAL;
}

int rd_sandbox_load(struct rd_sandbox *sb, const char *name, const char *src, size_t len, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	int top = lua_gettop(L);
	char chunk[96];
	snprintf(chunk, sizeof chunk, "=%s", name);
	/* Building the environment may itself run out of memory: protect it. */
	lua_pushcfunction(L, new_env);
	lua_pushlightuserdata(L, sb);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
		snprintf(err, errlen, "%s: memory limit of the policy sandbox exceeded", name);
		lua_settop(L, top);
		return -ENOMEM;
	}
	int rc = luaL_loadbufferx(L, src, len, chunk, "t"); /* text only: never bytecode */
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(err, errlen, "%s", rc == LUA_ERRMEM ? "memory limit of the policy sandbox exceeded" : msg);
		lua_settop(L, top);
		return rc == LUA_ERRMEM ? -ENOMEM : RD_EINVAL;
	}
	lua_pushvalue(L, -2);
	lua_setupvalue(L, -2, 1); /* the chunk's _ENV */
	if ((rc = protected_call(sb, 0, 0, err, errlen)) < 0) {
		lua_settop(L, top);
		return rc;
	}
	int handle = ++sb->next_handle;
	sb->host++;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->envs);
	lua_pushvalue(L, -2);
	lua_rawseti(L, -2, handle);
	sb->host--;
	lua_settop(L, top);
	return handle;
}

void rd_sandbox_unload(struct rd_sandbox *sb, int env)
{
	lua_State *L = sb->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->envs);
	lua_pushnil(L);
	lua_rawseti(L, -2, env);
	lua_pop(L, 1);
	/* Its cached functions too: each holds the environment as its _ENV. */
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->owners);
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->fns);
	lua_pushnil(L);
	while (lua_next(L, -3)) {
		if (lua_tointeger(L, -1) == env) {
			lua_pushvalue(L, -2);
			lua_pushnil(L);
			lua_rawset(L, -5); /* fns[handle] = nil */
			lua_pushvalue(L, -2);
			lua_pushnil(L);
			lua_rawset(L, -6); /* owners[handle] = nil: clearing during lua_next is allowed */
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);
	lua_gc(L, LUA_GCCOLLECT);
}

int rd_sandbox_function(struct rd_sandbox *sb, int env, const char *name)
{
	lua_State *L = sb->L;
	int top = lua_gettop(L);
	sb->host++;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->envs);
	lua_rawgeti(L, -1, env);
	if (!lua_istable(L, -1)) {
		lua_settop(L, top);
		sb->host--;
		return RD_ENOTFOUND;
	}
	lua_pushstring(L, name);
	lua_rawget(L, -2);
	int handle = RD_ENOTFOUND;
	if (lua_isfunction(L, -1)) {
		handle = ++sb->next_handle;
		lua_rawgeti(L, LUA_REGISTRYINDEX, sb->fns);
		lua_pushvalue(L, -2);
		lua_rawseti(L, -2, handle);
		lua_rawgeti(L, LUA_REGISTRYINDEX, sb->owners);
		lua_pushinteger(L, env);
		lua_rawseti(L, -2, handle);
	}
	lua_settop(L, top);
	sb->host--;
	return handle;
}

int rd_sandbox_begin(struct rd_sandbox *sb, int fn)
{
	lua_State *L = sb->L;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->fns);
	lua_rawgeti(L, -1, fn);
	lua_remove(L, -2);
	if (!lua_isfunction(L, -1)) {
		lua_pop(L, 1);
		return RD_ENOTFOUND;
	}
	return 0;
}

int rd_sandbox_finish(struct rd_sandbox *sb, int nargs, int nresults, char *err, size_t errlen)
{
	return protected_call(sb, nargs, nresults, err, errlen);
}
