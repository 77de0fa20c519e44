/* sandbox.c: the Lua state behind rd_sandbox (see sandbox.h). */
#include <errno.h>
#include <lauxlib.h>
#include <pthread.h>
#include <signal.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/sandbox.h"
#include "util/err.h"

struct rd_sandbox {
	lua_State *L;
	size_t used, cap;
	uint32_t budget;
	uint32_t deadline_us;
	int safe_ref;  /* registry: the pristine library tables to copy into each _ENV */
	int fns;       /* registry: table of cached functions, by handle */
	int envs;      /* registry: table of environments, by handle */
	int owners;    /* registry: function handle -> its environment's handle */
	int next_handle;
	int host;      /* > 0: host-side work, the cap does not apply */
	/* The call running now (protected_call): */
	bool running;        /* the script pays for what it does */
	int64_t left;        /* budget units left (instructions, and work charged by library functions) */
	int step;            /* the count hook fires every `step` instructions */
	bool forced;         /* the hook was brought forward (hook_soon) */
	volatile sig_atomic_t metered; /* the count hook is on (from the start, or since the watchdog's signal) */
	bool watched;        /* the call began without the hook: the watchdog turns it on (see below) */
	uint64_t wall0;      /* CLOCK_MONOTONIC ns when the call began */
	uint64_t cpu0;       /* the thread's CPU time then; 0 until a watched call's first look (first_look) */
	uint64_t call_cpu;   /* ns of CPU time the call may use */
	uint64_t stretch;    /* the thread's CPU time (ns) when the hook last fired */
	uint64_t cpu_end;    /* the thread's CPU time (ns) at which the call is stopped */
	uint64_t wall_end;   /* CLOCK_MONOTONIC ns at which the call is stopped (the backstop) */
	bool cpu_total;      /* cpu_end is the end of total_cpu_left */
	bool wall_total;     /* wall_end is the end of total_wall_left */
	const char *why;     /* set once the call is stopped: every instruction fails with it */
	char why_buf[200];
	bool string_refused; /* the last memory error was a string over STRING_MAX */
	bool impure;         /* a script drew a random number (rd_sandbox_take_impure) */
	/* Limits for a run of calls (rd_sandbox_limit_total), each 0 when none: */
	uint32_t total_cpu_ms, total_wall_ms;
	uint64_t total_cpu_left, total_wall_left; /* ns of them left */
	const atomic_bool *cancel; /* rd_sandbox_cancel_on: true stops every call */
};

/* What one budget unit stands for besides an instruction: this many bytes
 * allocated, compared or scanned by a library function. */
#define CHARGE_BYTES 8
/* An allocation this big is a slow instruction. */
#define BIG_ALLOC (64u << 10)
/* The count hook's period, in instructions: it starts at STEP_FIRST, grows
 * while instructions are cheap and drops to 1 after costly ones (long
 * strings compared, many values copied, a big allocation), so the clock is
 * looked at often exactly when instructions are slow. */
#define STEP_FIRST 64
#define STEP_MAX 1024
#define STRETCH_NS 250000u /* the time between two looks the hook aims at */
/* The longest string a script may make: it bounds what one comparison of
 * two strings (==, <), which is one VM instruction, can cost. */
#define STRING_MAX (1u << 20)

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The CPU time the calling thread has used: a call's limit counts the work
 * the script makes the thread do, not the time the thread waited for a CPU
 * on a busy machine. */
static uint64_t cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void budget_hook(lua_State *L, lua_Debug *ar);

static struct rd_sandbox *sandbox_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Makes the hook fire at the next instruction.  The instructions run since
 * it last fired are not known (Lua keeps the count to itself): the whole
 * period is charged, so that hints cannot be used to dodge the budget. */
static void hook_soon(struct rd_sandbox *sb)
{
	sb->forced = true;
	if (!sb->metered) { /* a watched call: metering starts here */
		sb->step = 1;
		sb->metered = 1;
		lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1);
	} else if (sb->step != 1) {
		sb->left -= sb->step - 1;
		sb->step = 1;
		lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1);
	}
}

/* The allocator: one byte counter against the cap.  Returning NULL makes
 * Lua raise "not enough memory" inside the protected call.  A big
 * allocation means a slow instruction: the hook looks at the clock at the
 * next one. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct rd_sandbox *sb = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		sb->used -= old;
		return NULL;
	}
	if (nsize > old && !sb->host) {
		if (!ptr && osize == LUA_TSTRING && nsize > STRING_MAX + 64) {
			sb->string_refused = true;
			return NULL;
		}
		if (sb->used + (nsize - old) > sb->cap)
			return NULL;
		if (sb->running && nsize - old >= BIG_ALLOC)
			hook_soon(sb);
	}
	void *p = realloc(ptr, nsize);
	if (p)
		sb->used = sb->used - old + nsize;
	return p;
}

/* Stops the call: from here on every instruction fails with the same
 * message, so a script that catches the error (pcall, xpcall) does not get
 * a fresh budget by doing so.  The next call's protected_call starts over. */
static int stop(lua_State *L, struct rd_sandbox *sb, const char *why)
{
	sb->why = why;
	sb->left = 0;
	hook_soon(sb);
	return luaL_error(L, "%s", why);
}

static const char msg_budget[] = "instruction budget exceeded (an endless loop, or too much work in library calls)";

static void stop_deadline(lua_State *L, struct rd_sandbox *sb, bool wall)
{
	const char *clock = wall ? "of wall-clock time" : "of CPU time";
	if (wall ? sb->wall_total : sb->cpu_total)
		snprintf(sb->why_buf, sizeof sb->why_buf,
			 "time limit of the policy calls exceeded (%u ms %s for all of them in this run)",
			 (unsigned)(wall ? sb->total_wall_ms : sb->total_cpu_ms), clock);
	else
		snprintf(sb->why_buf, sizeof sb->why_buf, "time limit of the policy call exceeded (%u ms %s)",
			 (unsigned)(((uint64_t)sb->deadline_us * (wall ? RD_SANDBOX_WALL_FACTOR : 1) + 999) / 1000), clock);
	stop(L, sb, sb->why_buf);
}

/* A watched call did not read the CPU clock when it began (a system call
 * that locks the scheduler's queue: more than the whole of a short call).
 * At its first look it takes the wall clock since it began as CPU time
 * already used (which the thread cannot have exceeded), up to
 * PREFIX_MAX_NS: a call that was off the CPU before its first look (a busy
 * machine) is not charged for the wait. */
#define PREFIX_MAX_NS 400000u
static void first_look(struct rd_sandbox *sb, uint64_t cpu)
{
	uint64_t ran = mono_ns() - sb->wall0;
	if (ran > PREFIX_MAX_NS)
		ran = PREFIX_MAX_NS;
	sb->cpu0 = cpu > ran ? cpu - ran : 1;
	sb->cpu_end = sb->cpu0 + sb->call_cpu;
	sb->stretch = cpu;
}

/* Stops the call when it is past its CPU time or its wall-clock backstop;
 * returns the thread's CPU time. */
static uint64_t check_clocks(lua_State *L, struct rd_sandbox *sb)
{
	uint64_t cpu = cpu_ns();
	if (!sb->cpu0)
		first_look(sb, cpu);
	if (cpu >= sb->cpu_end)
		stop_deadline(L, sb, false);
	if (mono_ns() >= sb->wall_end)
		stop_deadline(L, sb, true);
	return cpu;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	struct rd_sandbox *sb = sandbox_of(L);
	if (sb->why)
		stop(L, sb, sb->why);
	if (sb->cancel && atomic_load_explicit(sb->cancel, memory_order_relaxed))
		stop(L, sb, RD_SANDBOX_CANCELLED);
	sb->left -= sb->step;
	if (sb->left <= 0)
		stop(L, sb, msg_budget);
	uint64_t now = check_clocks(L, sb);
	/* Keep the CPU time between two looks at the clocks near STRETCH_NS: a
	 * stretch that took far longer (slow instructions) drops the period to
	 * one instruction, a short one doubles it.  A stretch brought forward
	 * by hook_soon began before the hint: it is not judged. */
	uint64_t dt = now - sb->stretch;
	int next = sb->step;
	if (dt > 4 * STRETCH_NS && !sb->forced)
		next = 1;
	else if (dt < STRETCH_NS)
		next = sb->step * 2 > STEP_MAX ? STEP_MAX : sb->step * 2;
	sb->forced = false;
	if (next > sb->left)
		next = (int)sb->left;
	sb->stretch = now;
	if (next != sb->step) {
		sb->step = next;
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, next);
	}
}

/* Charges `units` of work a library function is about to do in one
 * instruction; refuses (stopping the call) when the budget has not that
 * much left, before any of the work is done. */
static void charge(lua_State *L, double units, const char *what)
{
	struct rd_sandbox *sb = sandbox_of(L);
	if (!sb->running)
		return;
	if (sb->why)
		stop(L, sb, sb->why);
	if (units >= (double)sb->left) {
		snprintf(sb->why_buf, sizeof sb->why_buf,
			 "instruction budget exceeded: %s would do about %.0f steps of work, more than the %lld left", what,
			 units, (long long)sb->left);
		stop(L, sb, sb->why_buf);
	}
	sb->left -= (int64_t)units;
	if (units >= 4096) {
		check_clocks(L, sb);
		hook_soon(sb); /* heavy data about: watch the next instructions closely */
	}
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

/* xpcall with the message handler called after the failed call has
 * unwound, not inside the error: an error raised by the count hook (a
 * budget or a time limit) is raised while Lua runs no hooks, and Lua's own
 * xpcall would call the handler right there, where a handler that spins
 * would never be stopped.  A policy cannot see the failed call's stack
 * (there is no debug library), so the handler sees what it would have. */
static int safe_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushvalue(L, 2); /* the handler, at n + 1 */
	lua_pushvalue(L, 1);
	for (int i = 3; i <= n; i++)
		lua_pushvalue(L, i);
	if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
		lua_pushboolean(L, 1);
		lua_replace(L, n + 1);
		return lua_gettop(L) - n;
	}
	lua_pushvalue(L, n + 1);
	lua_insert(L, -2);
	lua_pcall(L, 1, 1, 0); /* the handler's answer, or its own error */
	lua_pushboolean(L, 0);
	lua_insert(L, -2);
	return 2;
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
		/* ... and each step may walk the whole pattern */
		double steps = (double)(pn + 1), len = (double)(n + 1);
		int q = quantifiers(pat, pn) + (which == 2 || pn == 0 || pat[0] != '^');
		for (; q > 0 && steps <= PATTERN_STEPS_MAX; q--)
			steps *= len;
		if (steps > PATTERN_STEPS_MAX)
			return luaL_error(L, "this pattern is too costly for a subject of %d bytes (each of *, +, - and ? "
					     "multiplies the work by the length, and so does a long pattern): simplify it "
					     "or shorten the subject",
					  (int)n);
	} else if (pat && pn <= n && (double)(n - pn + 1) * (double)pn > PATTERN_STEPS_MAX) {
		/* a plain search compares the text at every position */
		return luaL_error(L, "this plain search is too costly: a %d-byte text in a %d-byte subject", (int)pn,
				  (int)n);
	}
	charge(L, (double)(n + pn) / CHARGE_BYTES, "a pattern function");
	return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

/* ---- library functions that work inside one instruction ------------------------- */

/* The count hook only runs between instructions, and the functions below
 * may do work far beyond their arguments' size inside one (string.rep of
 * an empty string 2^50 times, table.move of 2^40 slots): each is wrapped so
 * that it charges its work to the budget before doing any of it.  Work
 * that makes memory is bounded by the cap besides; what a function does in
 * Lua (a comparator, an __index) is counted as instructions. */
enum cost {
	C_REP, C_BYTE, C_ARGS, C_LEN1, C_FORMAT, C_PACK, C_UNPACK, C_CODEPOINT, C_UTF8LEN, C_CODES,
	C_TINSERT, C_TREMOVE, C_TMOVE, C_TCONCAT, C_TUNPACK, C_TSORT, C_TONUMBER, C_RAWEQUAL, C_SELECT,
};

static double slen(lua_State *L, int i)
{
	return lua_type(L, i) == LUA_TSTRING ? (double)lua_rawlen(L, i) : 0;
}

/* Elements i..j of a range, 0 when empty (in doubles: no overflow). */
static double span(lua_Integer i, lua_Integer j)
{
	return j >= i ? (double)j - (double)i + 1 : 0;
}

/* A string position as the library reads it (negative: from the end). */
static double pos_of(lua_Integer p, double len)
{
	if (p > 0)
		return (double)p;
	if (p == 0)
		return 1;
	return (double)p < -len ? 1 : len + (double)p + 1;
}

/* The slice i..j of a string argument, clamped to its length. */
static double slice(lua_State *L, int s, int i, lua_Integer di, int j, lua_Integer dj)
{
	double len = slen(L, s);
	double a = pos_of(luaL_optinteger(L, i, di), len), b = pos_of(luaL_optinteger(L, j, dj), len);
	if (b > len)
		b = len;
	return b >= a ? b - a + 1 : 0;
}

/* Sets argument `at` to the table's length (through __len, as the library
 * does) when the caller left it out, so the function does not ask again. */
static lua_Integer fill_len(lua_State *L, int at)
{
	if (lua_gettop(L) < at)
		lua_settop(L, at);
	if (lua_isnil(L, at)) {
		lua_Integer n = luaL_len(L, 1);
		lua_pushinteger(L, n);
		lua_replace(L, at);
		return n;
	}
	return luaL_checkinteger(L, at);
}

/* The sum of the numbers written in a pack format. */
static double format_sizes(lua_State *L, int i)
{
	size_t n;
	const char *f = lua_type(L, i) == LUA_TSTRING ? lua_tolstring(L, i, &n) : NULL;
	double sum = 0, v = 0;
	for (size_t k = 0; f && k <= n; k++) {
		if (k < n && f[k] >= '0' && f[k] <= '9') {
			v = v * 10 + (f[k] - '0');
		} else {
			sum += v;
			v = 0;
		}
	}
	return sum;
}

static int iter_charged(lua_State *L);

static int charged(lua_State *L)
{
	int n = lua_gettop(L);
	enum cost kind = (enum cost)lua_tointeger(L, lua_upvalueindex(2));
	const char *what = lua_tostring(L, lua_upvalueindex(3));
	double units = 1;
	switch (kind) {
	case C_REP: {
		/* n copies of s with n - 1 separators: the loop runs n times
		 * even when both are empty (nothing to allocate, nothing to stop
		 * it).  A result beyond the memory cap is refused as such, before
		 * an allocation that would fail (and force a full collection). */
		lua_Integer count = luaL_checkinteger(L, 2);
		double l = slen(L, 1), lsep = slen(L, 3);
		if (count > 0) {
			double total = (double)count * l + (double)(count - 1) * lsep;
			struct rd_sandbox *sb = sandbox_of(L);
			double room = sb->used < sb->cap ? (double)(sb->cap - sb->used) : 0;
			if (total > room && sb->running) {
				char msg[120];
				snprintf(msg, sizeof msg, "memory limit of the policy sandbox exceeded: string.rep would make %.0f bytes",
					 total);
				return luaL_error(L, "%s", msg);
			}
			units = ((double)count + total) / CHARGE_BYTES;
		}
		break;
	}
	case C_BYTE: /* string.byte(s, i, j): one value per byte of the slice */
		units += slice(L, 1, 2, 1, 3, luaL_optinteger(L, 2, 1));
		break;
	case C_CODEPOINT: /* utf8.codepoint(s, i, j): decodes the slice */
		units += slice(L, 1, 2, 1, 3, luaL_optinteger(L, 2, 1));
		break;
	case C_UTF8LEN: /* utf8.len(s, i, j): scans the slice */
		units += slice(L, 1, 2, 1, 3, -1) / CHARGE_BYTES;
		break;
	case C_ARGS: /* one unit per argument (string.char, utf8.char, table.pack) */
		units += n;
		break;
	case C_LEN1: /* scans its first argument (upper, lower, reverse, utf8.offset, packsize) */
		units += slen(L, 1) / CHARGE_BYTES;
		break;
	case C_FORMAT: /* walks the format; each conversion formats a value (snprintf) */
		units += slen(L, 1) + 32.0 * n;
		break;
	case C_PACK: /* walks the format; sizes in it ('c1000000') are bytes to write or read */
		units += slen(L, 1) + n + format_sizes(L, 1) / CHARGE_BYTES;
		break;
	case C_UNPACK: /* ... and 'z' scans the data */
		units += slen(L, 1) + format_sizes(L, 1) / CHARGE_BYTES + slen(L, 2) / CHARGE_BYTES;
		break;
	case C_TONUMBER:
		units += slen(L, 1) / CHARGE_BYTES;
		break;
	case C_RAWEQUAL:
		units += (slen(L, 1) < slen(L, 2) ? slen(L, 1) : slen(L, 2)) / CHARGE_BYTES;
		break;
	case C_SELECT: /* select(i, ...) returns up to n - 1 values */
		units += n;
		break;
	case C_CODES: /* its iterator is charged, below */
		break;
	case C_TINSERT: /* table.insert(t, pos, v) moves #t - pos + 1 elements up */
		if (n == 3 && lua_istable(L, 1)) {
			lua_Integer pos = luaL_checkinteger(L, 2), size = luaL_len(L, 1);
			if (pos >= 1) /* (the library refuses positions outside 1..#t + 1) */
				units += span(pos, size);
		}
		break;
	case C_TREMOVE: /* table.remove(t, pos) moves #t - pos elements down */
		if (lua_istable(L, 1)) {
			lua_Integer size = luaL_len(L, 1), pos = luaL_optinteger(L, 2, size);
			if (pos >= 1)
				units += span(pos, size);
		}
		break;
	case C_TMOVE: /* table.move(a1, f, e, t [, a2]) */
		units += span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3));
		break;
	case C_TCONCAT: /* table.concat(t, sep, i, j) */
		if (lua_istable(L, 1)) {
			lua_Integer j = fill_len(L, 4);
			units += span(luaL_optinteger(L, 3, 1), j);
		}
		break;
	case C_TUNPACK: { /* table.unpack(t, i, j) */
		lua_Integer j = fill_len(L, 3);
		units += span(luaL_optinteger(L, 2, 1), j);
		break;
	}
	case C_TSORT: /* n log n comparisons and moves */
		if (lua_istable(L, 1)) {
			double size = (double)luaL_len(L, 1);
			double lg = 1;
			for (double k = size; k > 1; k /= 2)
				lg++;
			units += size * lg;
		}
		break;
	}
	charge(L, units, what);
	/* The library function runs in this frame: its errors name it. */
	int r = lua_tocfunction(L, lua_upvalueindex(1))(L);
	if (kind == C_CODES && r == 3 && lua_iscfunction(L, -3)) {
		/* the iterator skips continuation bytes on every step: charge it too */
		lua_pushvalue(L, -3);
		lua_pushcclosure(L, iter_charged, 1);
		lua_replace(L, -4);
	}
	return r;
}

/* utf8.codes' iterator: charges the continuation bytes it is about to skip. */
static int iter_charged(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	lua_Integer i = lua_tointeger(L, 2); /* as the iterator reads it */
	size_t k = i > 0 ? (size_t)i : 0, from = k;
	while (k < len && ((unsigned char)s[k] & 0xC0) == 0x80)
		k++;
	charge(L, 1 + (double)(k - from) / CHARGE_BYTES, "utf8.codes");
	return lua_tocfunction(L, lua_upvalueindex(1))(L);
}

static const struct {
	const char *lib, *name;
	enum cost kind;
} costly[] = {
	{ "string", "rep", C_REP },	       { "string", "byte", C_BYTE },	  { "string", "char", C_ARGS },
	{ "string", "format", C_FORMAT },      { "string", "upper", C_LEN1 },	  { "string", "lower", C_LEN1 },
	{ "string", "reverse", C_LEN1 },       { "string", "pack", C_PACK },	  { "string", "unpack", C_UNPACK },
	{ "string", "packsize", C_PACK },      { "utf8", "char", C_ARGS },	  { "utf8", "codepoint", C_CODEPOINT },
	{ "utf8", "len", C_UTF8LEN },	       { "utf8", "offset", C_LEN1 },	  { "utf8", "codes", C_CODES },
	{ "table", "insert", C_TINSERT },      { "table", "remove", C_TREMOVE },  { "table", "move", C_TMOVE },
	{ "table", "concat", C_TCONCAT },      { "table", "unpack", C_TUNPACK },  { "table", "sort", C_TSORT },
	{ "table", "pack", C_ARGS },	       { NULL, "tonumber", C_TONUMBER },  { NULL, "rawequal", C_RAWEQUAL },
	{ NULL, "select", C_SELECT },
};

/* Wraps the functions above in the table on top of the stack (the safe
 * globals). */
static void wrap_costly(lua_State *L)
{
	for (size_t i = 0; i < sizeof costly / sizeof *costly; i++) {
		if (costly[i].lib)
			lua_getfield(L, -1, costly[i].lib);
		else
			lua_pushvalue(L, -1);
		lua_getfield(L, -1, costly[i].name);
		/* charged() runs it in its own frame: a C function without upvalues */
		rd_require(lua_tocfunction(L, -1) && !lua_getupvalue(L, -1, 1));
		lua_pushinteger(L, costly[i].kind);
		lua_pushfstring(L, "%s%s%s", costly[i].lib ? costly[i].lib : "", costly[i].lib ? "." : "", costly[i].name);
		lua_pushcclosure(L, charged, 3);
		lua_setfield(L, -2, costly[i].name);
		lua_pop(L, 1);
	}
}

/* math.random and math.randomseed: the original (upvalue 1), noting that
 * what the call returns need not follow from its arguments, so that no
 * memo keeps it (rd_sandbox_take_impure). */
static int noted_random(lua_State *L)
{
	sandbox_of(L)->impure = true;
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
		rd_require(lua_tocfunction(L, -1) && !lua_getupvalue(L, -1, 1)); /* run in guarded_pattern's frame */
		/* upvalue 2: which one (find's 4th argument means "plain text";
		 * gmatch ignores the ^ anchor) */
		lua_pushinteger(L, (lua_Integer)i);
		lua_pushcclosure(L, guarded_pattern, 2);
		lua_setfield(L, -2, patterns[i]);
	}
	lua_pop(L, 1);
	wrap_costly(L);
	lua_getfield(L, -1, "math");
	static const char *const randoms[] = { "random", "randomseed", NULL };
	for (size_t i = 0; randoms[i]; i++) {
		lua_getfield(L, -1, randoms[i]);
		lua_pushcclosure(L, noted_random, 1);
		lua_setfield(L, -2, randoms[i]);
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "setmetatable");
	lua_pushcclosure(L, safe_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pushcfunction(L, safe_xpcall);
	lua_setfield(L, -2, "xpcall");
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
	sb->deadline_us = lim && lim->deadline_us ? lim->deadline_us : RD_SANDBOX_DEADLINE_US;
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

void rd_sandbox_limit_total(struct rd_sandbox *sb, uint32_t cpu_ms, uint32_t wall_ms)
{
	sb->total_cpu_ms = cpu_ms;
	sb->total_cpu_left = (uint64_t)cpu_ms * 1000000u;
	sb->total_wall_ms = wall_ms;
	sb->total_wall_left = (uint64_t)wall_ms * 1000000u;
}

bool rd_sandbox_total_spent(const struct rd_sandbox *sb)
{
	return (sb->total_cpu_ms && !sb->total_cpu_left) || (sb->total_wall_ms && !sb->total_wall_left);
}

bool rd_sandbox_take_impure(struct rd_sandbox *sb)
{
	bool was = sb->impure;
	sb->impure = false;
	return was;
}

int rd_sandbox_global_bool(struct rd_sandbox *sb, int env, const char *name)
{
	lua_State *L = sb->L;
	int top = lua_gettop(L);
	sb->host++;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->envs);
	lua_rawgeti(L, -1, env);
	int rc = -1;
	if (lua_istable(L, -1)) {
		lua_pushstring(L, name);
		int type = lua_rawget(L, -2);
		rc = type == LUA_TNIL ? -1 : type == LUA_TBOOLEAN ? lua_toboolean(L, -1) : -2;
	}
	lua_settop(L, top);
	sb->host--;
	return rc;
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

/* ---- the watchdog -------------------------------------------------------------------
 * Lua 5.4 traps every instruction once a count hook is set, whatever its
 * count, which costs a short call more than its script does.  So a call
 * whose budget is large (WATCH_MIN_BUDGET and above) and which has
 * WATCH_MIN_CPU_NS or more of its time limits left begins without the
 * hook: it stores when it began in its thread's slot, and one watchdog
 * thread for the process
 * looks at the slots every WATCH_TICK_NS.  A call it finds running for
 * WATCH_GRACE_NS or longer gets a signal; the handler, on the call's own
 * thread, turns the count hook on (lua_sethook is safe in a signal
 * handler: Lua's own interpreter does it for SIGINT), and from then on the
 * call is metered exactly as one hooked from the start: every instruction
 * counts against the budget and the clocks are read every few.  What a
 * call does before (its first WATCH_GRACE_NS to about WATCH_GRACE_NS +
 * WATCH_TICK_NS of wall clock, longer only when the watchdog waits for a
 * CPU) is not counted in instructions; its time is (first_look).  Library
 * functions charge their work as before, hooked or not, and a charge of
 * more than 4,096 units, a big allocation or a stopped call turn the hook
 * on at once (hook_soon).  Where the watchdog cannot run (no thread, all
 * slots taken, a forked child) every call is hooked from the start. */
#define WATCH_MIN_BUDGET 1000000
#define WATCH_GRACE_NS 200000u
#define WATCH_TICK_NS 200000u
#define WATCH_MIN_CPU_NS 2000000u /* and 2 ms or more of its time limits left */
#define WATCH_IDLE_NS 50000000u /* no call for this long: the watchdog sleeps until the next */
#define WATCH_SLOTS 64

struct watch_slot {
	atomic_uint_fast64_t since; /* CLOCK_MONOTONIC ns the running call began; 0: none */
	atomic_bool owned;
	pthread_t tid;
	uint64_t signalled; /* the watchdog's: the `since` it has signalled */
};

static struct watch_slot watch_slots[WATCH_SLOTS];
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake = PTHREAD_COND_INITIALIZER;
static atomic_bool watch_parked;
static atomic_bool watch_ready; /* the thread and the handler are in place */
static int watch_signo;
static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
static pthread_key_t watch_key; /* releases a thread's slot when it ends */

/* This thread's slot (NULL: none yet, or none to be had) and the sandbox
 * whose call is in lua_pcall on it now (read by the signal handler). */
static __thread struct watch_slot *my_slot __attribute__((tls_model("initial-exec")));
static __thread bool my_slot_tried __attribute__((tls_model("initial-exec")));
static __thread struct rd_sandbox *volatile my_call __attribute__((tls_model("initial-exec")));

static void watch_signal(int sig)
{
	(void)sig;
	struct rd_sandbox *sb = my_call;
	if (sb && !sb->metered) {
		sb->step = 1;
		sb->forced = true; /* (this stretch is not judged) */
		sb->metered = 1;
		lua_sethook(sb->L, budget_hook, LUA_MASKCOUNT, 1);
	}
}

static void *watch_main(void *arg)
{
	(void)arg;
	uint64_t idle_since = mono_ns();
	for (;;) {
		struct timespec ts = { 0, WATCH_TICK_NS };
		nanosleep(&ts, NULL);
		uint64_t now = mono_ns();
		bool any = false;
		for (int i = 0; i < WATCH_SLOTS; i++) {
			struct watch_slot *w = &watch_slots[i];
			uint64_t since = atomic_load(&w->since);
			if (!since)
				continue;
			any = true;
			if (now >= since + WATCH_GRACE_NS && w->signalled != since) {
				w->signalled = since;
				pthread_kill(w->tid, watch_signo);
			}
		}
		if (any) {
			idle_since = now;
			continue;
		}
		if (now - idle_since < WATCH_IDLE_NS)
			continue;
		/* Park; a call that begins meanwhile sees watch_parked and wakes us
		 * (both sides store, then load: one of them sees the other). */
		pthread_mutex_lock(&watch_lock);
		atomic_store(&watch_parked, true);
		for (;;) {
			bool busy = false;
			for (int i = 0; i < WATCH_SLOTS && !busy; i++)
				busy = atomic_load(&watch_slots[i].since) != 0;
			if (busy || !atomic_load(&watch_parked))
				break;
			pthread_cond_wait(&watch_wake, &watch_lock);
		}
		atomic_store(&watch_parked, false);
		pthread_mutex_unlock(&watch_lock);
		idle_since = mono_ns();
	}
	return NULL;
}

static void watch_release(void *p)
{
	struct watch_slot *w = p;
	atomic_store(&w->since, 0);
	atomic_store(&w->owned, false);
}

/* A forked child has no watchdog: its calls are hooked from the start. */
static void watch_forked(void)
{
	atomic_store(&watch_ready, false);
}

static void watch_start(void)
{
	watch_signo = SIGRTMIN + 4;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = watch_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (pthread_key_create(&watch_key, watch_release) != 0 || sigaction(watch_signo, &sa, NULL) != 0)
		return;
	/* The watchdog takes no signals itself. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64u << 10);
	int rc = pthread_create(&t, &attr, watch_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return;
	pthread_atfork(NULL, NULL, watch_forked);
	atomic_store(&watch_ready, true);
}

/* This thread's slot, taken at its first watched call; NULL when the
 * watchdog is not running or every slot is taken. */
static struct watch_slot *watch_slot(void)
{
	if (my_slot || my_slot_tried)
		return atomic_load_explicit(&watch_ready, memory_order_relaxed) ? my_slot : NULL;
	my_slot_tried = true;
	pthread_once(&watch_once, watch_start);
	if (!atomic_load(&watch_ready))
		return NULL;
	for (int i = 0; i < WATCH_SLOTS; i++) {
		bool no = false;
		if (atomic_compare_exchange_strong(&watch_slots[i].owned, &no, true)) {
			watch_slots[i].tid = pthread_self();
			watch_slots[i].signalled = 0;
			sigset_t s;
			sigemptyset(&s);
			sigaddset(&s, watch_signo);
			pthread_sigmask(SIG_UNBLOCK, &s, NULL);
			pthread_setspecific(watch_key, &watch_slots[i]);
			my_slot = &watch_slots[i];
			return my_slot;
		}
	}
	return NULL;
}

/* The one protected call: budget on, errors caught, stack restored. */
static int protected_call(struct rd_sandbox *sb, int nargs, int nresults, char *err, size_t errlen)
{
	lua_State *L = sb->L;
	int base = lua_gettop(L) - nargs - 1;
	int host = sb->host;
	sb->host = 0; /* the script pays for what it allocates */
	sb->left = sb->budget;
	sb->why = NULL;
	sb->string_refused = false;
	sb->forced = false;
	sb->step = sb->budget < STEP_FIRST ? (int)sb->budget : STEP_FIRST;
	uint64_t call_cpu = (uint64_t)sb->deadline_us * 1000u, call_wall = call_cpu * RD_SANDBOX_WALL_FACTOR;
	sb->cpu_total = sb->total_cpu_ms && sb->total_cpu_left < call_cpu;
	sb->wall_total = sb->total_wall_ms && sb->total_wall_left < call_wall;
	sb->call_cpu = sb->cpu_total ? sb->total_cpu_left : call_cpu;
	/* (a call with less than WATCH_MIN_CPU_NS of its limits left, a run's
	 * total nearly spent, is metered from its first instruction) */
	struct watch_slot *slot = sb->budget >= WATCH_MIN_BUDGET && sb->call_cpu >= WATCH_MIN_CPU_NS &&
					  (!sb->wall_total || sb->total_wall_left >= WATCH_MIN_CPU_NS)
				  ? watch_slot()
				  : NULL;
	uint64_t wall0 = mono_ns();
	sb->wall0 = wall0;
	sb->wall_end = wall0 + (sb->wall_total ? sb->total_wall_left : call_wall);
	sb->watched = slot != NULL;
	if (slot) {
		sb->cpu0 = 0; /* read at the first look, if there is one */
		sb->cpu_end = UINT64_MAX;
		sb->metered = 0;
	} else {
		sb->cpu0 = sb->stretch = cpu_ns();
		sb->cpu_end = sb->cpu0 + sb->call_cpu;
		sb->metered = 1;
	}
	sb->running = true;
	struct rd_sandbox *outer = my_call;
	uint64_t outer_since = slot ? atomic_load_explicit(&slot->since, memory_order_relaxed) : 0;
	if (slot) {
		atomic_store(&slot->since, wall0);
		if (atomic_load(&watch_parked)) {
			pthread_mutex_lock(&watch_lock);
			atomic_store(&watch_parked, false);
			pthread_cond_signal(&watch_wake);
			pthread_mutex_unlock(&watch_lock);
		}
		my_call = sb;
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, sb->step);
	}
	int rc = lua_pcall(L, nargs, nresults, 0);
	if (slot) {
		atomic_signal_fence(memory_order_seq_cst);
		my_call = outer;
		atomic_signal_fence(memory_order_seq_cst);
		atomic_store_explicit(&slot->since, outer_since, memory_order_release);
	}
	if (sb->metered)
		lua_sethook(L, NULL, 0, 0);
	sb->running = false;
	if (sb->total_cpu_ms) {
		/* a watched call never looked: its wall clock, up to PREFIX_MAX_NS */
		uint64_t took = sb->cpu0 ? cpu_ns() - sb->cpu0 : mono_ns() - wall0;
		if (!sb->cpu0 && took > PREFIX_MAX_NS)
			took = PREFIX_MAX_NS;
		sb->total_cpu_left = took < sb->total_cpu_left ? sb->total_cpu_left - took : 0;
	}
	if (sb->total_wall_ms) {
		uint64_t took = mono_ns() - wall0;
		sb->total_wall_left = took < sb->total_wall_left ? sb->total_wall_left - took : 0;
	}
	sb->host = host;
	if (rc == LUA_OK)
		return 0;
	sb->host++; /* lua_tostring of a number allocates: never a memory error here */
	const char *msg = lua_tostring(L, -1);
	if (rc == LUA_ERRMEM)
		msg = sb->string_refused ? "memory limit of the policy sandbox exceeded (strings are at most 1 MiB)"
					 : "memory limit of the policy sandbox exceeded";
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

void rd_sandbox_cancel_on(struct rd_sandbox *sb, const atomic_bool *flag)
{
	sb->cancel = flag;
}
