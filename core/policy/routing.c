/*
 * routing.c: calling a vendor's lead-routing policy.  Not a hot path (one
 * call per lead), so the arguments are fresh tables.
 */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "util/err.h"

static const char *const tiers[] = { "", "platinum", "gold", "silver", "vendor" };

int rd_routing_load(struct rd_routing_policy *p, struct rd_sandbox *sb, const char *name, const char *src, size_t len,
		    char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	p->sb = sb;
	int env = rd_sandbox_load(sb, name, src, len, err, errlen);
	if (env < 0)
		return env;
	int fn = rd_sandbox_function(sb, env, "route");
	if (fn < 0) {
		snprintf(err, errlen, "%s: the script defines no function route(lead, candidates, excluded)", name);
		rd_sandbox_unload(sb, env);
		return RD_EINVAL;
	}
	p->env = env;
	p->fn = fn;
	return 0;
}

void rd_routing_unload(struct rd_routing_policy *p)
{
	if (p->sb)
		rd_sandbox_unload(p->sb, p->env);
	memset(p, 0, sizeof *p);
}

static void set_str(lua_State *L, const char *key, const char *v)
{
	if (v && *v) {
		lua_pushstring(L, v);
		lua_setfield(L, -2, key);
	}
}

/* "emea north" -> {"emea", "north"} */
static void push_words(lua_State *L, const char *s)
{
	lua_newtable(L);
	int n = 0;
	while (s && *s) {
		size_t len = strcspn(s, " ,");
		if (len) {
			lua_pushlstring(L, s, len);
			lua_rawseti(L, -2, ++n);
		}
		s += len;
		while (*s == ' ' || *s == ',')
			s++;
	}
}

static bool is_candidate(const struct rd_route_candidate *c, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].id == id)
			return true;
	return false;
}

static bool is_excluded(const uint64_t *ex, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ex[i] == id)
			return true;
	return false;
}

int rd_routing_eval(struct rd_routing_policy *p, const struct rd_lead_in *lead, const struct rd_route_candidate *cands,
		    size_t n, const uint64_t *excluded, size_t n_excluded, struct rd_route_result *out, char *err,
		    size_t errlen)
{
	lua_State *L = rd_sandbox_state(p->sb);
	int base = lua_gettop(L);
	memset(out, 0, sizeof *out);
	if (rd_sandbox_begin(p->sb, p->fn) < 0) {
		snprintf(err, errlen, "the route function is gone");
		return RD_EINTERNAL;
	}
	/* The arguments are host-side work: a script holding memory up to the
	 * cap must not make them raise a memory error here, outside the
	 * protected call (that would abort the daemon). */
	rd_sandbox_host_begin(p->sb);
	if (!lua_checkstack(L, 8)) {
		rd_sandbox_host_end(p->sb);
		lua_settop(L, base);
		snprintf(err, errlen, "the policy sandbox is out of stack");
		return -ENOMEM;
	}
	lua_createtable(L, 0, 6);
	set_str(L, "source", lead->source);
	set_str(L, "country", lead->country);
	set_str(L, "region", lead->region);
	set_str(L, "company_size", lead->company_size);
	set_str(L, "product", lead->product);
	lua_pushinteger(L, lead->score);
	lua_setfield(L, -2, "score");
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_createtable(L, 0, 8);
		lua_pushinteger(L, (lua_Integer)cands[i].id);
		lua_setfield(L, -2, "id");
		lua_pushstring(L, cands[i].tier < 5 ? tiers[cands[i].tier] : "");
		lua_setfield(L, -2, "tier");
		push_words(L, cands[i].regions);
		lua_setfield(L, -2, "regions");
		push_words(L, cands[i].specialisations);
		lua_setfield(L, -2, "specialisations");
		lua_pushinteger(L, cands[i].open_load);
		lua_setfield(L, -2, "open_load");
		lua_pushinteger(L, cands[i].acceptance_pct);
		lua_setfield(L, -2, "acceptance_pct");
		lua_pushinteger(L, cands[i].weight ? cands[i].weight : 1);
		lua_setfield(L, -2, "weight");
		lua_pushinteger(L, cands[i].last_active_days);
		lua_setfield(L, -2, "last_active_days");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_createtable(L, 0, (int)n_excluded);
	for (size_t i = 0; i < n_excluded; i++) {
		lua_pushboolean(L, 1);
		lua_rawseti(L, -2, (lua_Integer)excluded[i]);
	}
	rd_sandbox_host_end(p->sb);
	int rc = rd_sandbox_finish(p->sb, 3, 4, err, errlen);
	if (rc < 0)
		return rc;
	rc = RD_EINVAL;
	const char *kind = lua_type(L, base + 1) == LUA_TSTRING ? lua_tostring(L, base + 1) : "";
	int isnum = 0;
	lua_Integer hours = lua_tointegerx(L, base + 3, &isnum);
	if (!isnum || hours < 1 || hours > 720) {
		snprintf(err, errlen, "route() must return an acceptance deadline of 1..720 hours as its third value");
		goto out;
	}
	out->hours = (uint32_t)hours;
	if (lua_type(L, base + 4) != LUA_TSTRING) {
		snprintf(err, errlen, "route() must return a reason (a string) as its fourth value");
		goto out;
	}
	snprintf(out->reason, sizeof out->reason, "%s", lua_tostring(L, base + 4));
	if (!strcmp(kind, "rep") || !strcmp(kind, "partner")) {
		lua_Integer id = lua_tointegerx(L, base + 2, &isnum);
		if (!isnum || id <= 0) {
			snprintf(err, errlen, "route() returned %s without an id", kind);
			goto out;
		}
		out->kind = kind[0] == 'r' ? RD_ROUTE_REP : RD_ROUTE_PARTNER;
		out->ids[0] = (uint64_t)id;
		out->n = 1;
		if (out->kind == RD_ROUTE_PARTNER &&
		    (!is_candidate(cands, n, (uint64_t)id) || is_excluded(excluded, n_excluded, (uint64_t)id))) {
			snprintf(err, errlen, "route() chose partner %lld, which is not an eligible candidate", (long long)id);
			goto out;
		}
	} else if (!strcmp(kind, "pool")) {
		out->kind = RD_ROUTE_POOL;
		if (!lua_istable(L, base + 2)) {
			snprintf(err, errlen, "route() returned a pool without a list of partner ids");
			goto out;
		}
		lua_Integer len = (lua_Integer)lua_rawlen(L, base + 2);
		if (len < 1 || len > RD_ROUTE_MAX_POOL) {
			snprintf(err, errlen, "route() returned a pool of %lld partners; a pool has 1..%d", (long long)len,
				 RD_ROUTE_MAX_POOL);
			goto out;
		}
		for (lua_Integer i = 1; i <= len; i++) {
			lua_rawgeti(L, base + 2, i);
			lua_Integer id = lua_tointegerx(L, -1, &isnum);
			lua_pop(L, 1);
			if (!isnum || !is_candidate(cands, n, (uint64_t)id) || is_excluded(excluded, n_excluded, (uint64_t)id)) {
				snprintf(err, errlen, "route() pool entry %lld is not an eligible candidate", (long long)i);
				goto out;
			}
			for (int k = 0; k < out->n; k++)
				if (out->ids[k] == (uint64_t)id) {
					snprintf(err, errlen, "route() pool names partner %lld twice", (long long)id);
					goto out;
				}
			out->ids[out->n++] = (uint64_t)id;
		}
	} else {
		snprintf(err, errlen, "route() must return \"rep\", \"partner\" or \"pool\" first");
		goto out;
	}
	rc = 0;
out:
	lua_settop(L, base);
	return rc;
}
