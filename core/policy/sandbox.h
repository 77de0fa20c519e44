/*
 * sandbox.h: one Lua 5.4 state per vendor, as a security boundary.
 *
 * What a script gets: the safe parts of base (assert, error, ipairs, next,
 * pairs, pcall, rawequal, rawget, rawlen, rawset, select, setmetatable,
 * getmetatable, tonumber, tostring, type, xpcall), and private copies of
 * string (without dump), table, math and utf8.  Nothing else: no io, os,
 * package, require, debug, load, loadfile, dofile, collectgarbage, print,
 * and no binary chunks.  Each script runs in its own _ENV, so two scripts of
 * one vendor cannot see or change each other's globals, and no vendor can
 * reach another's state (each has its own lua_State).
 *
 * Every call runs through one protected-call wrapper with an instruction
 * budget (a count hook) and under the state's memory cap (a custom
 * allocator); a Lua error never unwinds through a C frame of the daemon.
 * The budget is bounded whatever the script calls: the library functions
 * that can work far beyond their arguments inside one instruction
 * (string.rep, string.byte, string.char, string.format, string.pack and
 * unpack, upper, lower, reverse; table.insert, remove, move, concat,
 * unpack, sort, pack; utf8.char, codepoint, len, offset, codes; tonumber,
 * rawequal, select; the pattern functions) charge their work to it before
 * doing any (one unit per element, or per 8 bytes scanned); strings are
 * at most 1 MiB, which bounds what one comparison or concatenation costs.  A time
 * limit backs the budget, in CPU time of the calling thread
 * (CLOCK_THREAD_CPUTIME_ID): what the script makes the thread do, not how
 * long the thread waited for a CPU on a busy machine, so a script that
 * does little is never stopped because the machine is loaded.  A
 * wall-clock backstop of RD_SANDBOX_WALL_FACTOR times the limit
 * (CLOCK_MONOTONIC) stops a call whose thread is starved that long all the
 * same.  The hook looks at both clocks every few instructions, at every
 * one while instructions are slow.  Once a call is stopped, every further
 * instruction fails, so pcall cannot buy it time.  A state is used by one
 * thread at a time.
 */
#ifndef RD_POLICY_SANDBOX_H
#define RD_POLICY_SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lua_State;
struct rd_sandbox;

/* The CPU time of one call unless the limits say otherwise. */
#define RD_SANDBOX_DEADLINE_US 250000
/* A call is stopped after this many times its CPU time limit of wall
 * clock, however little CPU it got meanwhile. */
#define RD_SANDBOX_WALL_FACTOR 50

struct rd_sandbox_limits {
	size_t memory_bytes;      /* 0: 16 MiB */
	uint32_t instructions;    /* per call; 0: 1,000,000 */
	uint32_t deadline_us;     /* per call, CPU time of the calling thread; 0: RD_SANDBOX_DEADLINE_US */
};

int rd_sandbox_new(struct rd_sandbox **out, const struct rd_sandbox_limits *limits);
void rd_sandbox_free(struct rd_sandbox **sb);

/* Compiles a text chunk into a fresh environment and runs its top level
 * (under the budget).  Returns an environment handle (> 0) or < 0 with the
 * message ("name:line: ...") in err. */
int rd_sandbox_load(struct rd_sandbox *sb, const char *name, const char *src, size_t len, char *err, size_t errlen);
/* Drops a loaded environment (and its functions). */
void rd_sandbox_unload(struct rd_sandbox *sb, int env);

/* Looks up a global function of an environment and caches it; returns a
 * function handle (> 0), RD_ENOTFOUND when absent or not a function. */
int rd_sandbox_function(struct rd_sandbox *sb, int env, const char *name);

/* The state, for the call sites that push arguments (margin.c, routing.c):
 * begin() pushes the cached function; finish() runs it with nargs arguments
 * under the budget and leaves its results on the stack (nresults ==
 * LUA_MULTRET allowed).  On error: < 0, message in err, stack restored. */
struct lua_State *rd_sandbox_state(struct rd_sandbox *sb);
int rd_sandbox_begin(struct rd_sandbox *sb, int fn);
int rd_sandbox_finish(struct rd_sandbox *sb, int nargs, int nresults, char *err, size_t errlen);

/* Host-side bookkeeping (argument tables, small strings, registry slots) is
 * not the script's to pay for and must never raise a memory error outside a
 * protected call: between host_begin and host_end the cap is lifted.  Keep
 * what happens in between small and bounded. */
void rd_sandbox_host_begin(struct rd_sandbox *sb);
void rd_sandbox_host_end(struct rd_sandbox *sb);

/* From now on, the calls of this sandbox together use at most `cpu_ms`
 * milliseconds of CPU time and run at most `wall_ms` milliseconds of wall
 * clock (a job of many calls: an upload's vectors, a dry run, a sweep); a
 * call that would go past either is stopped.  0 lifts that limit. */
void rd_sandbox_limit_total(struct rd_sandbox *sb, uint32_t cpu_ms, uint32_t wall_ms);

/* True when rd_sandbox_limit_total's CPU or wall-clock time is all used:
 * the next call will be stopped. */
bool rd_sandbox_total_spent(const struct rd_sandbox *sb);
/* True when a script called math.random or math.randomseed since the last
 * look (which clears it): its answer need not follow from its inputs. */
bool rd_sandbox_take_impure(struct rd_sandbox *sb);
/* A loaded environment's global `name`: 1 true, 0 false, -1 absent, -2 some
 * other type. */
int rd_sandbox_global_bool(struct rd_sandbox *sb, int env, const char *name);

/* Bytes the state uses now. */
size_t rd_sandbox_memory(const struct rd_sandbox *sb);

/* From now on, a call of this sandbox is stopped (like one past its
 * budget, with RD_SANDBOX_CANCELLED as its error) as soon as *flag is true
 * (another thread may set it at any time: renewd stopping cancels the
 * checks and dry runs on the thread pool rather than wait for them). */
void rd_sandbox_cancel_on(struct rd_sandbox *sb, const atomic_bool *flag);
#define RD_SANDBOX_CANCELLED "cancelled: renewd is stopping"

#endif
