/*
 * test_sandbox.c: the per-vendor Lua sandbox (core/policy/sandbox.c).
 *
 * Covers: every forbidden facility absent (io, os, package, require, debug,
 * load, loadfile, dofile, collectgarbage, print, string.dump), also through
 * rawget(_G, ...), and nothing but the documented globals present; binary
 * chunks refused; the string metatable hidden; __gc refused (also when the
 * metatable grows __gc while being inspected); the instruction budget
 * (endless loops, loops that catch the budget error with pcall/xpcall, a
 * following call still works); the memory cap (string.rep, table growth,
 * concatenation; the state stays usable); the 64 KiB pattern subject cap
 * and the refusal of patterns whose backtracking would outrun the budget;
 * isolation of environments in one sandbox (globals and library tables) and
 * of sandboxes from each other; chunk name and line in error messages;
 * memory returned when an environment (and its cached functions) is
 * unloaded; the time limits, per call and per run, in the thread's CPU
 * time with a wall-clock backstop (a call off the CPU, as on a busy
 * machine, is not stopped for it until the backstop).
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "policy/policy.h"
#include "policy/sandbox.h"
#include "unit.h"

#define ERRLEN 512

/* ---- helpers ------------------------------------------------------------------------ */

static int sb_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	if (rd_sandbox_new(&sb, NULL) < 0)
		return -1;
	*state = sb;
	return 0;
}

/* A small cap and a large budget: the memory bombs must hit the cap. */
static int sb_small_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	struct rd_sandbox_limits lim = { .memory_bytes = 4u << 20, .instructions = 200000000 };
	if (rd_sandbox_new(&sb, &lim) < 0)
		return -1;
	*state = sb;
	return 0;
}

/* A small budget, so that loops which keep catching the budget error are
 * quick to run into it again and again. */
static int sb_fast_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	struct rd_sandbox_limits lim = { .instructions = 100000 };
	if (rd_sandbox_new(&sb, &lim) < 0)
		return -1;
	*state = sb;
	return 0;
}

/* A large budget and a short deadline: the clock must stop what the budget
 * would not. */
static int sb_deadline_setup(void **state)
{
	struct rd_sandbox *sb = NULL;
	struct rd_sandbox_limits lim = { .instructions = 100000000, .deadline_us = 50000 };
	if (rd_sandbox_new(&sb, &lim) < 0)
		return -1;
	*state = sb;
	return 0;
}

static int sb_teardown(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_free(&sb);
	assert_null(sb);
	return 0;
}

/* Loads src as chunk "t"; returns the environment, failing the test (with
 * the sandbox's message) when it does not load. */
static int must_load_named(struct rd_sandbox *sb, const char *name, const char *src)
{
	char err[ERRLEN] = "";
	int env = rd_sandbox_load(sb, name, src, strlen(src), err, sizeof err);
	if (env <= 0)
		fail_msg("the script should load, got %d (%s): %s\n--- script:\n%s", env, rd_strerror(env), err, src);
	return env;
}

static int must_load(struct rd_sandbox *sb, const char *src)
{
	return must_load_named(sb, "t", src);
}

/* Loads src, which must fail with a message containing needle; the stack is
 * left as it was. */
static void must_fail(struct rd_sandbox *sb, const char *src, const char *needle)
{
	char err[ERRLEN] = "";
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	int env = rd_sandbox_load(sb, "t", src, strlen(src), err, sizeof err);
	if (env >= 0) {
		rd_sandbox_unload(sb, env);
		fail_msg("the script should fail (with \"%s\") but loaded:\n%s", needle, src);
	}
	assert_contains(err, needle);
	assert_int_equal(lua_gettop(L), top);
}

/* Calls the global function name of env with no arguments and one result;
 * returns the rc of rd_sandbox_finish.  On success the result is on top of
 * the stack: the caller pops it. */
static int call1(struct rd_sandbox *sb, int env, const char *name, char *err, size_t errlen)
{
	int fn = rd_sandbox_function(sb, env, name);
	if (fn <= 0)
		fail_msg("no function %s in environment %d", name, env);
	assert_rc(rd_sandbox_begin(sb, fn), 0);
	return rd_sandbox_finish(sb, 0, 1, err, errlen);
}

/* Calls name, which must succeed and return an integer; returns it. */
static lua_Integer call_int(struct rd_sandbox *sb, int env, const char *name)
{
	char err[ERRLEN] = "";
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	int rc = call1(sb, env, name, err, sizeof err);
	if (rc < 0)
		fail_msg("%s() failed: %s", name, err);
	int isnum = 0;
	lua_Integer v = lua_tointegerx(L, -1, &isnum);
	if (!isnum)
		fail_msg("%s() returned %s, not an integer", name, luaL_typename(L, -1));
	lua_settop(L, top);
	return v;
}

/* ---- forbidden facilities ------------------------------------------------------------- */

static const char *const forbidden[] = { "io",	 "os",	     "package",	       "require", "debug",
					 "load", "loadfile", "dofile", "collectgarbage", "print" };
#define N_FORBIDDEN (sizeof forbidden / sizeof *forbidden)

static void test_forbidden_absent(void **state)
{
	struct rd_sandbox *sb = *state;
	char src[512];
	for (size_t i = 0; i < N_FORBIDDEN; i++) {
		const char *n = forbidden[i];
		/* Absent as a global, from _G and from _ENV, even by raw access. */
		snprintf(src, sizeof src,
			 "assert(%s == nil, '%s is reachable')\n"
			 "assert(rawget(_G, '%s') == nil, 'rawget(_G) finds %s')\n"
			 "assert(rawget(_ENV, '%s') == nil, 'rawget(_ENV) finds %s')\n"
			 "assert(_G['%s'] == nil and _ENV['%s'] == nil)\n",
			 n, n, n, n, n, n, n, n);
		rd_sandbox_unload(sb, must_load(sb, src));
	}
}

static void test_forbidden_unusable(void **state)
{
	struct rd_sandbox *sb = *state;
	char src[256], needle[128];
	/* Each used the way an attacker would: it fails, naming the global. */
	static const char *const uses[N_FORBIDDEN] = {
		"io.open('/etc/passwd')", "os.execute('true')", "package.loadlib('libc.so.6', '*')",
		"require('os')",	  "debug.getregistry()", "load('return 1')()",
		"loadfile('/etc/passwd')", "dofile('/etc/passwd')", "collectgarbage('stop')", "print('x')",
	};
	for (size_t i = 0; i < N_FORBIDDEN; i++) {
		snprintf(src, sizeof src, "%s\n", uses[i]);
		snprintf(needle, sizeof needle, "global '%s'", forbidden[i]);
		must_fail(sb, src, needle);
	}
}

/* Nothing but the documented globals, and nothing forbidden in the copies of
 * the libraries. */
static void test_only_safe_globals(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_unload(sb, must_load(sb,
		"local allowed = { assert = 1, error = 1, ipairs = 1, next = 1, pairs = 1, pcall = 1,\n"
		"  rawequal = 1, rawget = 1, rawlen = 1, rawset = 1, select = 1, setmetatable = 1,\n"
		"  getmetatable = 1, tonumber = 1, tostring = 1, type = 1, xpcall = 1, _VERSION = 1,\n"
		"  string = 1, table = 1, math = 1, utf8 = 1, _G = 1 }\n"
		"for k in pairs(_G) do assert(allowed[k], 'unexpected global ' .. tostring(k)) end\n"
		"assert(_G == _ENV and _G._G == _G)\n"
		"assert(getmetatable(_G) == nil)\n"
		"for _, lib in ipairs({ string, table, math, utf8 }) do\n"
		"  for k, v in pairs(lib) do\n"
		"    assert(k ~= 'dump' and k ~= 'load' and k ~= 'loadstring', 'unexpected ' .. k)\n"
		"  end\n"
		"end\n"
		"assert(coroutine == nil and loadstring == nil and setfenv == nil and module == nil)\n"));
}

static void test_string_dump_absent(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_unload(sb, must_load(sb, "assert(string.dump == nil)\n"
					    "assert(rawget(string, 'dump') == nil)\n"
					    "assert(('').dump == nil)\n"));
	must_fail(sb, "local s = string.dump(function() return 1 end)\n", "dump");
	must_fail(sb, "local s = ('x').dump(function() return 1 end)\n", "dump");
}

/* Collects what lua_dump writes. */
struct dumped {
	char data[4096];
	size_t len;
};

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	struct dumped *d = ud;
	if (d->len + sz > sizeof d->data)
		return 1;
	memcpy(d->data + d->len, p, sz);
	d->len += sz;
	return 0;
}

static void test_binary_chunks_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	char err[ERRLEN] = "";
	/* A source that merely starts like a binary chunk. */
	static const char fake[] = "\x1bLua\x54\x00 junk";
	assert_true(rd_sandbox_load(sb, "bin", fake, sizeof fake - 1, err, sizeof err) < 0);
	assert_contains(err, "binary");

	/* Real bytecode, made by a normal state. */
	struct dumped d = { .len = 0 };
	lua_State *P = luaL_newstate();
	assert_non_null(P);
	assert_int_equal(luaL_loadstring(P, "x = 1"), LUA_OK);
	assert_int_equal(lua_dump(P, dump_writer, &d, 0), 0);
	lua_close(P);
	assert_true(d.len > 4);
	assert_memory_equal(d.data, "\x1bLua", 4);
	err[0] = 0;
	assert_true(rd_sandbox_load(sb, "bin", d.data, d.len, err, sizeof err) < 0);
	assert_contains(err, "binary");

	/* Text still loads. */
	rd_sandbox_unload(sb, must_load(sb, "x = 1"));
}

static void test_string_metatable_hidden(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_unload(sb, must_load(sb,
		"local m = getmetatable('')\n"
		"assert(m ~= string, 'getmetatable gives the string library')\n"
		"assert(type(m) ~= 'table', 'getmetatable gives a table: ' .. tostring(m))\n"
		"assert(m == false)\n"
		"assert(getmetatable('abc') == false)\n"
		/* Methods still work, and cannot reach what is gone. */
		"assert(('abc'):upper() == 'ABC')\n"
		"assert(('abc').dump == nil)\n"));
	must_fail(sb, "getmetatable('').__index.upper = nil\n", "attempt to index");
	must_fail(sb, "setmetatable('', {})\n", "table expected");
}

/* ---- finalisers ----------------------------------------------------------------------- */

static void test_gc_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	must_fail(sb, "setmetatable({}, { __gc = function() end })\n", "__gc");
	must_fail(sb, "setmetatable({}, { __gc = true })\n", "__gc");
	must_fail(sb, "local mt = { __index = {} }\nmt.__gc = function() end\nsetmetatable({}, mt)\n", "__gc");
	/* Metatables without __gc are fine, also setting __gc afterwards is
	 * harmless (Lua marks objects for finalisation only at setmetatable). */
	rd_sandbox_unload(sb, must_load(sb, "local t = setmetatable({}, { __index = { a = 1 } })\n"
					    "assert(t.a == 1)\n"
					    "local mt = {}\n"
					    "setmetatable({}, mt)\n"
					    "mt.__gc = function() end\n"));
}

/* A metatable whose own __index adds __gc while setmetatable inspects it
 * must not end up with a finaliser (it would run outside any call's budget,
 * at the next collection). */
static void test_gc_smuggled_in_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	lua_State *L = rd_sandbox_state(sb);
	int env = must_load(sb,
		"log = { ran = 0 }\n"
		"local mt = setmetatable({}, { __index = function(t, k)\n"
		"  if k == '__gc' then t.__gc = function() log.ran = log.ran + 1 end end\n"
		"end })\n"
		"for i = 1, 10 do pcall(setmetatable, {}, mt) end\n"
		"function ran() return log.ran end\n");
	lua_gc(L, LUA_GCCOLLECT);
	lua_gc(L, LUA_GCCOLLECT);
	assert_int_equal(call_int(sb, env, "ran"), 0);
	rd_sandbox_unload(sb, env);
}

/* ---- instruction budget --------------------------------------------------------------- */

static void test_budget_endless_loop(void **state)
{
	struct rd_sandbox *sb = *state;
	char err[ERRLEN] = "";
	must_fail(sb, "while true do end\n", "budget");
	/* The sandbox is usable afterwards: a load and a call. */
	int env = must_load(sb, "function spin() while true do end end\n"
				"function ok() local s = 0 for i = 1, 1000 do s = s + i end return s end\n");
	assert_int_equal(call_int(sb, env, "ok"), 500500);
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	assert_true(call1(sb, env, "spin", err, sizeof err) < 0);
	assert_contains(err, "budget");
	assert_int_equal(lua_gettop(L), top);
	assert_int_equal(call_int(sb, env, "ok"), 500500);
	/* Endless tail recursion is a loop too. */
	must_fail(sb, "local function f(n) return f(n + 1) end\nf(1)\n", "budget");
	/* Endless non-tail recursion ends in a stack overflow or at the memory
	 * cap (the Lua stack grows in the capped heap): an ordinary error. */
	static const char recurse[] = "local function f(n) return 1 + f(n + 1) end\nf(1)\n";
	assert_true(rd_sandbox_load(sb, "t", recurse, strlen(recurse), err, sizeof err) < 0);
	if (!strstr(err, "stack overflow") && !strstr(err, "memory"))
		fail_msg("endless recursion failed with: %s", err);
	assert_int_equal(call_int(sb, env, "ok"), 500500);
	rd_sandbox_unload(sb, env);
}

/* The budget error can be caught by the script; catching it must not buy
 * the script another budget. */
static void test_budget_not_renewed_by_pcall(void **state)
{
	struct rd_sandbox *sb = *state;
	must_fail(sb, "while true do pcall(function() while true do end end) end\n", "budget");
	must_fail(sb, "while true do pcall(error) end\n", "budget");
	must_fail(sb,
		  "while true do\n"
		  "  xpcall(function() while true do end end, function(m) return m end)\n"
		  "end\n",
		  "budget");
	must_fail(sb,
		  "local n = 0\n"
		  "while true do\n"
		  "  local ok = pcall(function() while true do end end)\n"
		  "  n = n + 1\n"
		  "end\n",
		  "budget");
	/* And through a function call (rd_sandbox_finish). */
	int env = must_load(sb, "function spin() while true do pcall(function() while true do end end) end end\n"
				"function ok() return 7 end\n");
	char err[ERRLEN] = "";
	assert_true(call1(sb, env, "spin", err, sizeof err) < 0);
	assert_contains(err, "budget");
	assert_int_equal(call_int(sb, env, "ok"), 7);
	rd_sandbox_unload(sb, env);
	/* A normal script, budget-wise, is unaffected by the ones before. */
	rd_sandbox_unload(sb, must_load(sb, "local s = 0 for i = 1, 10000 do s = s + i end\n"));
}

/* ---- memory cap ---------------------------------------------------------------------------- */

static void test_memory_bombs(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const bombs[] = {
		"local s = string.rep('x', 1e9)\n",
		"local s = ('x'):rep(1e9)\n",
		"local s = string.rep('x', 1e8, ',')\n",
		"local t = {} for i = 1, 1e9 do t[i] = i end\n",
		"local t = {} for i = 1, 1e9 do t[#t + 1] = { i } end\n",
		"local t = {} for i = 1, 1e9 do t['k' .. i] = true end\n",
		"local s = '0123456789' for i = 1, 64 do s = s .. s end\n",
		"local s, t = 'x', {} for i = 1, 1e9 do s = s .. 'abcdefgh' .. i t[i] = s end\n",
		"local t = {} for i = 1, 1e7 do t[i] = 'x' end local s = table.concat(t) .. table.concat(t)\n",
	};
	int warm = must_load(sb, "x = 1");
	rd_sandbox_unload(sb, warm);
	size_t baseline = rd_sandbox_memory(sb);
	for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
		char err[ERRLEN] = "";
		int env = rd_sandbox_load(sb, "bomb", bombs[i], strlen(bombs[i]), err, sizeof err);
		if (env >= 0)
			fail_msg("the memory bomb loaded:\n%s", bombs[i]);
		assert_contains(err, "memory");
		/* Still usable, and the garbage goes back (Lua halves an oversized
		 * string hash table once per collection: give it a few). */
		for (int k = 0; k < 16 && rd_sandbox_memory(sb) > baseline + 64 * 1024; k++)
			rd_sandbox_unload(sb, must_load(sb, "y = {} for i = 1, 100 do y[i] = i end\n"));
		if (rd_sandbox_memory(sb) > baseline + 64 * 1024)
			fail_msg("after bomb %zu memory is %zu bytes, was %zu", i, rd_sandbox_memory(sb), baseline);
	}
}

/* A memory error caught by the script's pcall leaves a usable state, and the
 * cap holds through a function call too. */
static void test_memory_bomb_in_call(void **state)
{
	struct rd_sandbox *sb = *state;
	int env = must_load(sb, "function bomb() local t = {} while true do t[#t + 1] = ('x'):rep(1000) .. #t end end\n"
				"function caught() local ok, e = pcall(bomb) return ok and 1 or 0 end\n"
				"function ok() return 3 end\n");
	char err[ERRLEN] = "";
	assert_true(call1(sb, env, "bomb", err, sizeof err) < 0);
	assert_contains(err, "memory");
	assert_int_equal(call_int(sb, env, "ok"), 3);
	assert_int_equal(call_int(sb, env, "caught"), 0);
	assert_int_equal(call_int(sb, env, "ok"), 3);
	rd_sandbox_unload(sb, env);
}

/* ---- patterns ------------------------------------------------------------------------------ */

static void test_pattern_subject_cap(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const calls[] = {
		"string.find(big, 'a')",   "string.match(big, 'a')", "string.gmatch(big, 'a')",
		"string.gsub(big, 'a', 'b')", "big:find('a')",	     "big:match('a')",
		"big:gmatch('a')",	   "big:gsub('a', 'b')",     "string.find(big, 'a', 1, true)",
	};
	char src[256];
	for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
		snprintf(src, sizeof src, "local big = string.rep('a', 65537)\nlocal r = %s\n", calls[i]);
		must_fail(sb, src, "at most 65536 bytes");
		/* 64 KiB exactly is fine. */
		snprintf(src, sizeof src, "local big = string.rep('a', 65536)\nlocal r = %s\n", calls[i]);
		rd_sandbox_unload(sb, must_load(sb, src));
	}
	rd_sandbox_unload(sb, must_load(sb, "local big = string.rep('a', 65536)\n"
					    "assert(select(2, big:gsub('a', 'b')) == 65536)\n"
					    "local n = 0 for _ in big:gmatch('a') do n = n + 1 end assert(n == 65536)\n"));
}

/* Pattern matching backtracks inside one instruction, beyond the budget's
 * reach: patterns whose worst case on the subject is too long are refused
 * before they run (each of these took seconds to minutes unguarded). */
static void test_pattern_backtracking_refused(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char *const costly[] = {
		/* one quantifier, but tried from every start position */
		"local s = ('a'):rep(65536) local r = s:find('a-b')",
		"local s = ('a'):rep(65536) local r = s:match('a*b')",
		"local s = ('a'):rep(65536) local r = s:gsub('.-b', '')",
		"local s = ('a'):rep(65536) for w in s:gmatch('a*b') do end",
		"local s = ('a'):rep(65536) for w in s:gmatch('^a*b') do end", /* gmatch does not anchor */
		/* two quantifiers on a short subject */
		"local s = ('a'):rep(3000) local r = s:find('a-a-b')",
		"local s = ('a'):rep(3000) local r = string.find(s, '^a-a-a-b')",
		/* back-references and balances scan the subject too */
		"local s = ('a'):rep(65536) local r = s:find('(.-)%1b')",
		"local s = ('a'):rep(65536) local r = s:find('^(.-)%1b')",
		"local s = ('('):rep(65536) local r = s:find('%b()')",
		/* a number is a pattern too: 1e-300 is \"1e-300\" */
		"local s = ('1'):rep(65536) local r = s:find(1e-300)",
	};
	for (size_t i = 0; i < sizeof costly / sizeof *costly; i++)
		must_fail(sb, costly[i], "too costly");
	/* Cheap ones still run: anchored, no quantifier, plain, short. */
	rd_sandbox_unload(sb, must_load(sb, "local s = ('a'):rep(65536)\n"
					    "assert(s:find('^a*b') == nil)\n"
					    "assert(s:find('^a-$') == 1)\n"
					    "assert(select(2, s:gsub('a', 'b')) == 65536)\n"
					    "assert(s:find('a-b', 1, true) == nil)\n"
					    "assert(string.find(s, '.-b', 1, true) == nil)\n"
					    "local t = ('a'):rep(1000)\n"
					    "assert(t:find('a-b') == nil and t:match('(%a+)') == t)\n"
					    "assert(('WSG-STD'):match('^(%u+)%-(%u+)$') == 'WSG')\n"));
}

/* ---- work inside one instruction ---------------------------------------------------------- */

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* The CPU time this thread has used: what the sandbox's time limits count. */
static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/* Runs src both as a chunk's top level and inside a called function; each
 * must fail with needle in the message, having used at most max_cpu_s
 * seconds of this thread's CPU time.  The wall clock is bounded too, but
 * generously (RD_SANDBOX_WALL_FACTOR times that): on a busy machine the
 * thread waits for a CPU, and that is not the script's doing. */
static void must_stop(struct rd_sandbox *sb, const char *src, const char *needle, double max_cpu_s)
{
	char err[ERRLEN] = "";
	double max_wall_s = max_cpu_s * RD_SANDBOX_WALL_FACTOR;
	double t0 = now_s(), c0 = cpu_s();
	int env = rd_sandbox_load(sb, "bomb", src, strlen(src), err, sizeof err);
	double took = now_s() - t0, used = cpu_s() - c0;
	if (env >= 0)
		fail_msg("the bomb loaded:\n%s", src);
	if (!strstr(err, needle))
		fail_msg("the bomb failed with \"%s\", not \"%s\":\n%s", err, needle, src);
	if (used > max_cpu_s || took > max_wall_s)
		fail_msg("the bomb used %.3f s of CPU time (at most %.2f s) and took %.3f s to stop (at most %.1f s):\n%s",
			 used, max_cpu_s, took, max_wall_s, src);
	char fn[4096];
	snprintf(fn, sizeof fn, "function bomb()\n%s\nend\n", src);
	env = must_load(sb, fn);
	lua_State *L = rd_sandbox_state(sb);
	int top = lua_gettop(L);
	t0 = now_s();
	c0 = cpu_s();
	assert_true(call1(sb, env, "bomb", err, sizeof err) < 0);
	took = now_s() - t0;
	used = cpu_s() - c0;
	assert_int_equal(lua_gettop(L), top);
	if (!strstr(err, needle))
		fail_msg("called, the bomb failed with \"%s\", not \"%s\":\n%s", err, needle, src);
	if (used > max_cpu_s || took > max_wall_s)
		fail_msg("called, the bomb used %.3f s of CPU time (at most %.2f s) and took %.3f s to stop (at most %.1f s):\n%s",
			 used, max_cpu_s, took, max_wall_s, src);
	rd_sandbox_unload(sb, env);
}

/* Library functions whose work is not bounded by their arguments' size:
 * each of these ran for minutes to years inside one VM instruction, where
 * the count hook never fires; now each is refused before doing the work. */
static void test_one_instruction_bombs(void **state)
{
	struct rd_sandbox *sb = *state;
	static const struct {
		const char *src, *needle;
	} bombs[] = {
		{ "local s = string.rep('', 1 << 50)", "string.rep would do" },
		{ "local s = ('').rep('', 1 << 50, '')", "string.rep would do" },
		{ "local s = (''):rep(1 << 40)", "string.rep would do" },
		{ "local t, u = {}, {} table.move(t, 1, 1 << 40, 1, u)", "table.move would do" },
		{ "local t = {} table.move(t, 1, 1 << 40, 2)", "table.move would do" },
		{ "local t = {} table.move(t, math.mininteger + 1, -1, 1)", "table.move would do" },
		/* values from a C function __index: no Lua instruction runs */
		{ "local t = setmetatable({}, { __index = type }) local s = table.concat(t, '', 1, 1 << 40)",
		  "table.concat would do" },
		{ "local t = setmetatable({}, { __index = type, __len = function() return 1 << 40 end })\n"
		  "local s = table.concat(t)",
		  "table.concat would do" },
		{ "local t = {} for i = 1, 1e9 do table.unpack(t, 1, 999000) end", "table.unpack would do" },
		{ "local t = setmetatable({}, { __len = function() return 500000 end })\n"
		  "for i = 1, 1e9 do local a = table.unpack(t) end",
		  "table.unpack would do" },
		{ "local t = {} for i = 1, 200000 do t[i] = i end\n"
		  "for i = 1, 1e9 do table.insert(t, 1, i) end",
		  "table.insert would do" },
		{ "local t = {} for i = 1, 200000 do t[i] = i end\n"
		  "for i = 1, 1e9 do table.remove(t, 1) end",
		  "table.remove would do" },
		{ "local t = {} for i = 1, 100000 do t[i] = -i end\n"
		  "for i = 1, 1e9 do table.sort(t) end",
		  "table.sort would do" },
		{ "local s = ('x'):rep(900000) for i = 1, 1e9 do local a = s:byte(1, -1) end", "string.byte would do" },
		{ "local s = ('\\x80'):rep(1 << 20) for i = 1, 1e9 do local a = utf8.codepoint(s, 1, -1) end",
		  "utf8.codepoint would do" },
		{ "local s = ('x'):rep(1 << 20) for i = 1, 1e9 do utf8.len(s) end", "utf8.len would do" },
		{ "local s = 'a' .. ('\\x80'):rep(1 << 20) local f = utf8.codes('a')\n"
		  "for i = 1, 1e9 do f(s, 1) end",
		  "utf8.codes would do" },
		{ "local s = ('x'):rep(1 << 20) for i = 1, 1e9 do utf8.offset(s, -1) end", "utf8.offset would do" },
		{ "local s = ('0'):rep(1 << 20) .. '1' for i = 1, 1e9 do tonumber(s) end", "tonumber would do" },
		{ "local s = ('9'):rep(1 << 20) for i = 1, 1e9 do tonumber(s, 16) end", "tonumber would do" },
		{ "local a, b = ('x'):rep(1 << 20), ('x'):rep((1 << 20) - 1) .. 'x'\n"
		  "for i = 1, 1e9 do rawequal(a, b) end",
		  "rawequal would do" },
		{ "local t = {} t[100000] = 1 local function f(...) for i = 1, 1e9 do select('#', ...) end end\n"
		  "f(table.unpack(t, 1, 100000))",
		  "select would do" },
		{ "local f = ('%d'):rep(100000) local t = {} for i = 1, 100000 do t[i] = i end\n"
		  "for i = 1, 1e9 do string.format(f, table.unpack(t)) end",
		  "would do" },
		{ "local s = string.pack('c1000000000', '')", "string.pack would do" },
		{ "local s = string.pack(('x'):rep((1 << 20) - 16))", "would do" },
		{ "local s = ('x'):rep(1 << 18) for i = 1, 1e9 do string.unpack(('c1'):rep(1 << 18), s) end",
		  "string.unpack would do" },
		{ "local s = ('x'):rep(1 << 20) for i = 1, 1e9 do s:upper() end", "string.upper would do" },
		{ "local s = ('x'):rep(1 << 20) for i = 1, 1e9 do s:reverse() end", "string.reverse would do" },
		{ "local t = {} for i = 1, 100000 do t[i] = '' end for i = 1, 1e9 do table.concat(t) end",
		  "table.concat would do" },
		{ "local t = {} for i = 1, 100000 do t[i] = 65 end for i = 1, 1e9 do string.char(table.unpack(t)) end",
		  "would do" },
		{ "local t = {} for i = 1, 100000 do t[i] = 65 end for i = 1, 1e9 do utf8.char(table.unpack(t)) end",
		  "would do" },
		{ "local t = {} t[200000] = 1 for i = 1, 1e9 do table.pack(table.unpack(t, 1, 200000)) end", "would do" },
		/* pcall does not buy the script a new budget */
		{ "while true do pcall(string.rep, '', 1 << 50) end", "string.rep would do" },
		{ "for i = 1, 1e9 do pcall(table.move, {}, 1, 1 << 40, 1, {}) end", "table.move would do" },
		/* plain searches and long patterns compare the text at every position */
		{ "local s = ('a'):rep(65536) local r = s:find(('a'):rep(32768) .. 'b', 1, true)", "too costly" },
		{ "local s = ('a'):rep(65536) local r = s:find(('a'):rep(32768) .. 'b')", "too costly" },
		{ "local s = ('a'):rep(65536) local r = s:match(('a'):rep(32767) .. '.b')", "too costly" },
		/* one string of more than 1 MiB: comparing two costs too much in one instruction */
		{ "local s = ('x'):rep(1 << 20) local t = s .. ('y'):rep(64)", "strings are at most 1 MiB" },
	};
	for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++)
		must_stop(sb, bombs[i].src, bombs[i].needle, 1.0);
	/* Still usable, with a full budget per call. */
	int env = must_load(sb, "function ok() local s = 0 for i = 1, 1000 do s = s + i end return s end\n");
	assert_int_equal(call_int(sb, env, "ok"), 500500);
	rd_sandbox_unload(sb, env);
}

/* Instructions that are slow without any library call (comparing two
 * long strings, copying many values) are stopped by the call's time limit
 * (CPU time), and so is anything the budget allows but the clock does not:
 * each within five times the limit. */
static void test_deadline(void **state)
{
	struct rd_sandbox *sb = *state; /* 100,000,000 instructions, 50 ms of CPU time */
	static const char *const slow[] = {
		"while true do end",
		"local a, b = ('x'):rep(1 << 20), ('x'):rep((1 << 20) - 1) .. 'x' while true do local c = a == b end",
		"local a, b = ('x'):rep(1 << 20), ('x'):rep((1 << 20) - 1) .. 'y' while true do local c = a < b end",
		"local t = {} t[150000] = 1 local function f(...) end local function g(...) while true do f(...) end end\n"
		"g(table.unpack(t, 1, 150000))",
		"local t = {} t[50000] = 1 local function g(...) while true do local a = { ... } end end\n"
		"g(table.unpack(t, 1, 50000))",
	};
	for (size_t i = 0; i < sizeof slow / sizeof *slow; i++)
		/* (50 ms of CPU time; or, when the machine is so busy that the
		 * thread got less than a fiftieth of a CPU, the 2.5 s backstop) */
		must_stop(sb, slow[i], "time limit of the policy call exceeded (", 0.25);
	int env = must_load(sb, "function ok() return 3 end\n");
	assert_int_equal(call_int(sb, env, "ok"), 3);
	rd_sandbox_unload(sb, env);
}

/* A limit for all the calls of a job (an upload's vectors, a dry run, a
 * sweep), in CPU time or wall clock: calls past it are stopped at once
 * (twenty spinning calls together within five times the limit), cheap ones
 * still finish, and 0 lifts it. */
static void test_job_time_limit(void **state)
{
	struct rd_sandbox *sb = *state; /* 100,000,000 instructions, 50 ms of CPU time per call */
	int env = must_load(sb, "function spin() while true do end end\nfunction ok() return 3 end\n");
	static const struct {
		uint32_t cpu_ms, wall_ms;
		const char *msg;
	} limits[] = {
		{ 120, 0, "time limit of the policy calls exceeded (120 ms of CPU time for all of them in this run)" },
		{ 0, 120, "time limit of the policy calls exceeded (120 ms of wall-clock time for all of them in this run)" },
	};
	for (size_t k = 0; k < sizeof limits / sizeof *limits; k++) {
		rd_sandbox_limit_total(sb, limits[k].cpu_ms, limits[k].wall_ms);
		char err[ERRLEN] = "";
		double t0 = now_s(), c0 = cpu_s();
		for (int i = 0; i < 20; i++) {
			assert_true(call1(sb, env, "spin", err, sizeof err) < 0);
			assert_contains(err, "time limit of the policy");
		}
		double took = now_s() - t0, used = cpu_s() - c0;
		/* the CPU limit: what the calls used; the wall-clock one: how long they took */
		if (limits[k].cpu_ms ? used > 0.6 || took > 6.0 : took > 0.6)
			fail_msg("20 spinning calls under a 120 ms job limit used %.3f s of CPU time in %.3f s", used, took);
		assert_contains(err, limits[k].msg);
		assert_int_equal(call_int(sb, env, "ok"), 3);
	}
	rd_sandbox_limit_total(sb, 0, 0);
	char err[ERRLEN] = "";
	assert_true(call1(sb, env, "spin", err, sizeof err) < 0);
	if (!strstr(err, "time limit of the policy call exceeded (50 ms of CPU time)") &&
	    !strstr(err, "time limit of the policy call exceeded (2500 ms of wall-clock time)"))
		fail_msg("a spinning call after the run's limit was lifted: %s", err);
	rd_sandbox_unload(sb, env);
}

/* A host function that sleeps wait(ms): the thread is not running, as when
 * it waits for a CPU on a busy machine. */
static int host_wait(lua_State *L)
{
	lua_Integer ms = luaL_checkinteger(L, 1);
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
	return 0;
}

/* Calls name(wait) with host_wait as its argument; returns the rc. */
static int call_waiting(struct rd_sandbox *sb, int env, const char *name, char *err, size_t errlen)
{
	int fn = rd_sandbox_function(sb, env, name);
	assert_true(fn > 0);
	assert_rc(rd_sandbox_begin(sb, fn), 0);
	lua_pushcfunction(rd_sandbox_state(sb), host_wait); /* a light C function: no allocation */
	return rd_sandbox_finish(sb, 1, 1, err, errlen);
}

/* The time limits count the CPU time the script makes its thread use, not
 * the time the thread waits (on a loaded machine, preempted): a call that
 * is off the CPU for longer than its limit but does little finishes, and
 * so do the calls of a run whose total limit they pass in wall-clock time.
 * A call off the CPU for longer than the wall-clock backstop (fifty times
 * the limit) is stopped all the same. */
static void test_time_limit_counts_cpu_not_waiting(void **state)
{
	struct rd_sandbox *sb = *state; /* 50 ms of CPU time per call, 2.5 s of wall clock */
	lua_State *L = rd_sandbox_state(sb);
	/* (each wait followed by enough instructions for the hook to look at the clocks) */
	int env = must_load(sb, "function idle(wait) for i = 1, 3 do wait(30) for j = 1, 500 do end end return 7 end\n"
				"function starved(wait) while true do wait(20) end end\n");
	char err[ERRLEN] = "";
	/* 90 ms off the CPU against a 50 ms limit (the backstop, 2.5 s, leaves
	 * room for a busy machine's delays in waking the thread) */
	int top = lua_gettop(L);
	if (call_waiting(sb, env, "idle", err, sizeof err) < 0)
		fail_msg("a call that waited 90 ms but did little was stopped: %s", err);
	assert_int_equal(lua_tointeger(L, -1), 7);
	lua_settop(L, top);
	/* five such calls in a run limited to 100 ms of CPU time */
	rd_sandbox_limit_total(sb, 100, 0);
	for (int i = 0; i < 5; i++) {
		if (call_waiting(sb, env, "idle", err, sizeof err) < 0)
			fail_msg("call %d of a run that waited but did little was stopped: %s", i + 1, err);
		lua_settop(L, top);
	}
	rd_sandbox_limit_total(sb, 0, 0);
	/* off the CPU past the call's backstop: stopped, soon after it */
	double t0 = now_s();
	assert_true(call_waiting(sb, env, "starved", err, sizeof err) < 0);
	double took = now_s() - t0;
	assert_contains(err, "time limit of the policy call exceeded (2500 ms of wall-clock time)");
	if (took > 10.0)
		fail_msg("a starved call was stopped after %.3f s (its backstop: 2.5 s)", took);
	assert_int_equal(lua_gettop(L), top);
	/* and the next call has its own limits again */
	assert_rc(call_waiting(sb, env, "idle", err, sizeof err), 0);
	assert_int_equal(lua_tointeger(L, -1), 7);
	lua_settop(L, top);
	rd_sandbox_unload(sb, env);
}

/* The charged functions still do their work when it fits the budget. */
static void test_charged_functions_work(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_unload(sb, must_load(sb, "assert(('ab'):rep(3, ',') == 'ab,ab,ab')\n"
					    "assert(string.rep('', 5) == '' and string.rep('x', 0) == '')\n"
					    "assert(select('#', ('abc'):byte(1, -1)) == 3 and ('abc'):byte(-1) == 99)\n"
					    "assert(string.char(104, 105) == 'hi' and ('Hi'):upper() == 'HI')\n"
					    "assert(('abc'):reverse() == 'cba' and ('ABC'):lower() == 'abc')\n"
					    "assert(string.format('%5.1f|%s|%q', 1.25, 'x', 'y') == '  1.2|x|\"y\"')\n"
					    "assert(string.unpack('i4', string.pack('i4', 7)) == 7 and string.packsize('i4') == 4)\n"
					    "local t = { 3, 1, 2 } table.sort(t) assert(table.concat(t, ',') == '1,2,3')\n"
					    "table.insert(t, 1, 0) table.insert(t, 4) assert(table.concat(t) == '01234')\n"
					    "assert(table.remove(t, 1) == 0 and table.remove(t) == 4)\n"
					    "local u = table.move(t, 1, 3, 2, {}) assert(u[2] == 1 and u[4] == 3)\n"
					    "assert(select('#', table.unpack({ 1, 2, 3 })) == 3 and table.pack(1, 2).n == 2)\n"
					    "assert(table.concat({ 'a', 'b' }, '-', 1, 2) == 'a-b' and table.unpack({ 1, 2 }, 2) == 2)\n"
					    "assert(utf8.char(228, 8364) == '\\u{e4}\\u{20ac}' and utf8.len('\\u{e4}x') == 2)\n"
					    "assert(utf8.codepoint('\\u{e4}x', 1, -1) == 228 and utf8.offset('\\u{e4}x', 2) == 3)\n"
					    "local n = 0 for p, c in utf8.codes('\\u{e4}\\u{20ac}x') do n = n + 1 end assert(n == 3)\n"
					    "assert(tonumber('ff', 16) == 255 and tonumber(' 12 ') == 12 and rawequal('a', 'a'))\n"
					    "assert(select(2, 'a', 'b', 'c') == 'b' and select('#') == 0)\n"
					    "local big = {} for i = 1, 10000 do big[i] = i end table.sort(big, function(a, b) return a > b end)\n"
					    "assert(big[1] == 10000 and #table.concat(big) > 10000)\n"));
}

/* ---- isolation ------------------------------------------------------------------------------- */

static void test_environments_isolated(void **state)
{
	struct rd_sandbox *sb = *state;
	/* b is loaded first and checks again after a has done its damage. */
	int b = must_load(sb,
		"mine = 'b'\n"
		"function check()\n"
		"  assert(secret == nil, 'sees the other script\\'s global')\n"
		"  assert(rawget(_G, 'secret') == nil)\n"
		"  assert(mine == 'b', 'its own global changed')\n"
		"  assert(type(string.upper) == 'function', 'string.upper is gone')\n"
		"  assert(string.x == nil, 'string.x appeared')\n"
		"  assert(type(table.insert) == 'function', 'table.insert is gone')\n"
		"  assert(math.pi > 3.14 and math.pi < 3.15, 'math.pi changed')\n"
		"  assert(type(utf8.char) == 'function', 'utf8.char is gone')\n"
		"  assert(type(pairs) == 'function' and type(tostring) == 'function')\n"
		"  assert(string.format('%d', 3) == '3')\n"
		"  assert(('ab'):upper() == 'AB')\n"
		"  return 1\n"
		"end\n");
	int a = must_load(sb, "secret = 42\n"
			      "mine = 'a'\n"
			      "string.upper = nil\n"
			      "string.x = 1\n"
			      "string.format = function() return 'pwned' end\n"
			      "table.insert = nil\n"
			      "math.pi = 3\n"
			      "utf8.char = nil\n"
			      "pairs, tostring = nil, nil\n"
			      "_G.mine = 'a2'\n"
			      "function check() return secret end\n");
	assert_int_equal(call_int(sb, b, "check"), 1);
	assert_int_equal(call_int(sb, a, "check"), 42);
	/* A third script, loaded after the damage, starts clean too. */
	int c = must_load(sb, "assert(secret == nil and mine == nil and string.x == nil)\n"
			      "assert(type(string.upper) == 'function' and math.pi > 3.14)\n"
			      "function check() return 1 end\n");
	assert_int_equal(call_int(sb, c, "check"), 1);
	rd_sandbox_unload(sb, a);
	rd_sandbox_unload(sb, b);
	rd_sandbox_unload(sb, c);
}

static void test_sandboxes_separate(void **state)
{
	struct rd_sandbox *one = *state, *two = NULL;
	assert_rc(rd_sandbox_new(&two, NULL), 0);
	assert_ptr_not_equal(rd_sandbox_state(one), rd_sandbox_state(two));
	int a = must_load(one, "leak = 'vendor one'\nstring.x = 1\nstring.upper = nil\n"
			       "function get() return leak == 'vendor one' and 1 or 0 end\n");
	int b = must_load(two, "assert(leak == nil, 'the other vendor\\'s global is visible')\n"
			       "assert(string.x == nil and type(string.upper) == 'function')\n"
			       "leak = 'vendor two'\n"
			       "function get() return leak == 'vendor two' and 1 or 0 end\n");
	assert_int_equal(call_int(one, a, "get"), 1);
	assert_int_equal(call_int(two, b, "get"), 1);
	/* A budget or memory failure in one does not touch the other. */
	must_fail(one, "while true do end", "budget");
	assert_int_equal(call_int(two, b, "get"), 1);
	rd_sandbox_unload(two, b);
	rd_sandbox_free(&two);
	assert_int_equal(call_int(one, a, "get"), 1);
	rd_sandbox_unload(one, a);
}

/* ---- error messages ----------------------------------------------------------------------- */

static void test_error_messages(void **state)
{
	struct rd_sandbox *sb = *state;
	char err[ERRLEN] = "";
	static const char syntax[] = "local a = 1\n\nx = = 2\n";
	assert_true(rd_sandbox_load(sb, "margin v3", syntax, strlen(syntax), err, sizeof err) < 0);
	assert_contains(err, "margin v3:3:");
	static const char runtime[] = "local a = 1\nlocal t = nil\nlocal b = t.x\n";
	assert_true(rd_sandbox_load(sb, "routing v12", runtime, strlen(runtime), err, sizeof err) < 0);
	assert_contains(err, "routing v12:3:");
	assert_contains(err, "attempt to index a nil value");
	static const char raised[] = "\n\n\n\nerror('boom')\n";
	assert_true(rd_sandbox_load(sb, "margin v4", raised, strlen(raised), err, sizeof err) < 0);
	assert_contains(err, "margin v4:5: boom");
	/* In a call, too. */
	int env = must_load_named(sb, "margin v5", "function f(x)\n  local y = 1\n  return x.field\nend\n");
	int fn = rd_sandbox_function(sb, env, "f");
	assert_true(fn > 0);
	assert_rc(rd_sandbox_begin(sb, fn), 0);
	lua_pushnil(rd_sandbox_state(sb));
	assert_true(rd_sandbox_finish(sb, 1, 1, err, sizeof err) < 0);
	assert_contains(err, "margin v5:3:");
	/* A non-string error object is reported as such, not as garbage. */
	must_fail(sb, "error({})", "error object is not a string");
	must_fail(sb, "error(12345)", "12345");
	rd_sandbox_unload(sb, env);
}

static void test_function_lookup(void **state)
{
	struct rd_sandbox *sb = *state;
	int env = must_load(sb, "function f() return 1 end\nnot_a_function = 5\n");
	assert_true(rd_sandbox_function(sb, env, "f") > 0);
	assert_rc(rd_sandbox_function(sb, env, "missing"), RD_ENOTFOUND);
	assert_rc(rd_sandbox_function(sb, env, "not_a_function"), RD_ENOTFOUND);
	assert_rc(rd_sandbox_function(sb, env + 1000, "f"), RD_ENOTFOUND);
	rd_sandbox_unload(sb, env);
	assert_rc(rd_sandbox_function(sb, env, "f"), RD_ENOTFOUND);
}

/* ---- memory after unload -------------------------------------------------------------------- */

#define BIG_TABLE "big = {} for i = 1, 100000 do big[i] = { i } end\n"

static void test_memory_returned_after_unload(void **state)
{
	struct rd_sandbox *sb = *state;
	rd_sandbox_unload(sb, must_load(sb, "x = 1"));
	size_t baseline = rd_sandbox_memory(sb);
	int env = must_load(sb, BIG_TABLE);
	size_t loaded = rd_sandbox_memory(sb);
	if (loaded < baseline + (1u << 20))
		fail_msg("the big table should take more than 1 MiB: %zu -> %zu", baseline, loaded);
	rd_sandbox_unload(sb, env);
	if (rd_sandbox_memory(sb) > baseline + 16 * 1024)
		fail_msg("after unload %zu bytes, before load %zu", rd_sandbox_memory(sb), baseline);
	/* Repeatedly: no creeping growth. */
	for (int i = 0; i < 20; i++)
		rd_sandbox_unload(sb, must_load(sb, BIG_TABLE));
	if (rd_sandbox_memory(sb) > baseline + 16 * 1024)
		fail_msg("after 20 loads %zu bytes, before %zu", rd_sandbox_memory(sb), baseline);
}

/* A cached function keeps its environment alive (its _ENV upvalue): unloading
 * the environment must drop the environment's cached functions too. */
static void test_memory_returned_with_cached_functions(void **state)
{
	struct rd_sandbox *sb = *state;
	int warm = must_load(sb, "function f() return 1 end");
	assert_true(rd_sandbox_function(sb, warm, "f") > 0);
	rd_sandbox_unload(sb, warm);
	size_t baseline = rd_sandbox_memory(sb);
	int env = must_load(sb, BIG_TABLE "function f() return #big end\n");
	int fn = rd_sandbox_function(sb, env, "f");
	assert_true(fn > 0);
	assert_int_equal(call_int(sb, env, "f"), 100000);
	rd_sandbox_unload(sb, env);
	if (rd_sandbox_memory(sb) > baseline + 16 * 1024)
		fail_msg("after unload %zu bytes, before load %zu: the cached function keeps the environment",
			 rd_sandbox_memory(sb), baseline);
	/* The function handle is gone with it. */
	assert_rc(rd_sandbox_begin(sb, fn), RD_ENOTFOUND);
}

/* The same through the margin and routing loaders, as the runtime uses them
 * when a vendor activates version after version in one sandbox. */
static void test_memory_returned_policy_reload(void **state)
{
	struct rd_sandbox *sb = *state;
	static const char margin_src[] = BIG_TABLE "function margin(line) return 'reseller', #big % 10000, 'x' end\n";
	static const char routing_src[] = BIG_TABLE "function route(lead, c, x) error('nobody') end\n";
	char err[ERRLEN] = "";
	struct rd_margin_policy m;
	struct rd_routing_policy r;
	assert_rc(rd_margin_load(&m, sb, "margin v1", "function margin() end", strlen("function margin() end"), err, sizeof err), 0);
	rd_margin_unload(&m);
	assert_rc(rd_routing_load(&r, sb, "routing v1", "function route() end", strlen("function route() end"), err, sizeof err), 0);
	rd_routing_unload(&r);
	size_t baseline = rd_sandbox_memory(sb);
	for (int v = 0; v < 10; v++) {
		assert_rc(rd_margin_load(&m, sb, "margin v2", margin_src, strlen(margin_src), err, sizeof err), 0);
		struct rd_margin_line line = { .partner_kind = 2, .partner_tier = 1, .publish = 2, .term = 1 };
		struct rd_margin_result res;
		assert_rc(rd_margin_eval(&m, &line, &res, err, sizeof err), 0);
		assert_int_equal(res.n, 1);
		assert_int_equal(res.shares[0].bp, 0);
		rd_margin_unload(&m);
		assert_rc(rd_routing_load(&r, sb, "routing v2", routing_src, strlen(routing_src), err, sizeof err), 0);
		rd_routing_unload(&r);
	}
	if (rd_sandbox_memory(sb) > baseline + 16 * 1024)
		fail_msg("after 10 policy reloads %zu bytes, before %zu", rd_sandbox_memory(sb), baseline);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sb_setup, sb_teardown)
#define T_SMALL(name) cmocka_unit_test_setup_teardown(name, sb_small_setup, sb_teardown)
#define T_FAST(name) cmocka_unit_test_setup_teardown(name, sb_fast_setup, sb_teardown)
	const struct CMUnitTest tests[] = {
		T(test_forbidden_absent),
		T(test_forbidden_unusable),
		T(test_only_safe_globals),
		T(test_string_dump_absent),
		T(test_binary_chunks_refused),
		T(test_string_metatable_hidden),
		T(test_gc_refused),
		T(test_gc_smuggled_in_refused),
		T(test_budget_endless_loop),
		T_FAST(test_budget_not_renewed_by_pcall),
		T_SMALL(test_memory_bombs),
		T_SMALL(test_memory_bomb_in_call),
		T(test_pattern_subject_cap),
		T(test_pattern_backtracking_refused),
		T(test_one_instruction_bombs),
		cmocka_unit_test_setup_teardown(test_deadline, sb_deadline_setup, sb_teardown),
		cmocka_unit_test_setup_teardown(test_job_time_limit, sb_deadline_setup, sb_teardown),
		cmocka_unit_test_setup_teardown(test_time_limit_counts_cpu_not_waiting, sb_deadline_setup, sb_teardown),
		T(test_charged_functions_work),
		T(test_environments_isolated),
		T(test_sandboxes_separate),
		T(test_error_messages),
		T(test_function_lookup),
		T(test_memory_returned_after_unload),
		T(test_memory_returned_with_cached_functions),
		T(test_memory_returned_policy_reload),
	};
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
