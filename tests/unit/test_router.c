/*
 * test_router.c: the route table matcher and method helpers
 * (core/http/router.c, declared in core/http/http.h).
 *
 * Covers: literal routes, {param} capture (values borrowed from the path),
 * paths that must not match (trailing slash, empty parameter, prefixes),
 * 405 detection through *allowed (GET routes also allow HEAD), unknown
 * paths (allowed 0), rd_methods_format and rd_method_parse; rd_req_query
 * and rd_req_query_unknown (core/http/server.c: the query split once, each
 * name and value decoded once) against a scan of the query written here, on random queries of up to 60
 * parameters (past the split's 48 too), asked twice.
 */
#include <stdbool.h>
#include <stdio.h>

#include "http/http.h"
#include "unit.h"

static int handler(struct rd_req *req)
{
	return 0;
}

static const struct rd_route routes[] = {
	{ RD_GET, "/", handler },                                         /* 0 */
	{ RD_GET, "/health", handler },                                   /* 1 */
	{ RD_GET, "/api/v1/contracts", handler },                         /* 2 */
	{ RD_POST, "/api/v1/contracts", handler },                        /* 3 */
	{ RD_GET, "/api/v1/contracts/{id}", handler },                    /* 4 */
	{ RD_PATCH, "/api/v1/contracts/{id}", handler },                  /* 5 */
	{ RD_DELETE, "/api/v1/contracts/{id}", handler },                 /* 6 */
	{ RD_GET, "/api/v1/vendors/{vendor}/partners/{partner}", handler }, /* 7 */
	{ RD_PUT, "/api/v1/contracts/{id}/notes", handler },              /* 8 */
	{ RD_POST, "/api/v1/contracts/import", handler },                 /* 9: shadowed for GET by {id} */
};
#define N_ROUTES (sizeof routes / sizeof *routes)

struct result {
	const struct rd_route *route;
	struct rd_param params[RD_MAX_PARAMS];
	size_t n_params;
	unsigned allowed;
};

/* Both matchers over one table: the tree's answer, checked equal to the walk's. */
static struct result match_both(const struct rd_route *table, size_t n, const struct rd_router *tree, unsigned method,
				const char *path, size_t len)
{
	struct result a, b;
	memset(&a, 0xa5, sizeof a); /* the router must set every output */
	memset(&b, 0x5a, sizeof b);
	a.route = rd_route_match(table, n, method, path, len, a.params, &a.n_params, &a.allowed);
	b.route = rd_router_match(tree, method, path, len, b.params, &b.n_params, &b.allowed);
	if (a.route != b.route)
		fail_msg("%.*s (method %#x): walk matched %td, tree %td", (int)len, path, method,
			 a.route ? a.route - table : (ptrdiff_t)-1, b.route ? b.route - table : (ptrdiff_t)-1);
	if (a.allowed != b.allowed)
		fail_msg("%.*s: allowed %#x (walk) vs %#x (tree)", (int)len, path, a.allowed, b.allowed);
	assert_int_equal(a.n_params, b.n_params);
	for (size_t i = 0; i < a.n_params; i++) {
		assert_ptr_equal(a.params[i].name, b.params[i].name);
		assert_int_equal(a.params[i].name_len, b.params[i].name_len);
		assert_ptr_equal(a.params[i].value, b.params[i].value);
		assert_int_equal(a.params[i].value_len, b.params[i].value_len);
	}
	return b;
}

static struct rd_router *tree;

static struct result match(unsigned method, const char *path)
{
	return match_both(routes, N_ROUTES, tree, method, path, strlen(path));
}

static int setup_tree(void **state)
{
	tree = rd_router_new(routes, N_ROUTES);
	return 0;
}

static int teardown_tree(void **state)
{
	rd_router_free(tree);
	tree = NULL;
	return 0;
}

/* Asserts that path matched route index want with the given allowed set. */
static void assert_route(const struct result *r, size_t want)
{
	if (r->route != &routes[want])
		fail_msg("matched route %td, want %zu", r->route ? r->route - routes : (ptrdiff_t)-1, want);
}

static void assert_param(const struct result *r, size_t i, const char *name, const char *value)
{
	assert_true(i < r->n_params);
	assert_int_equal(r->params[i].name_len, strlen(name));
	assert_memory_equal(r->params[i].name, name, strlen(name));
	assert_int_equal(r->params[i].value_len, strlen(value));
	assert_memory_equal(r->params[i].value, value, strlen(value));
}

static void test_literal_routes(void **state)
{
	struct result r = match(RD_GET, "/health");
	assert_route(&r, 1);
	assert_int_equal(r.n_params, 0);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD);

	r = match(RD_GET, "/");
	assert_route(&r, 0);

	r = match(RD_POST, "/api/v1/contracts");
	assert_route(&r, 3);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_POST);

	r = match(RD_GET, "/api/v1/contracts");
	assert_route(&r, 2);
}

static void test_param_capture(void **state)
{
	const char *path = "/api/v1/contracts/12345";
	struct result r = match(RD_GET, path);
	assert_route(&r, 4);
	assert_int_equal(r.n_params, 1);
	assert_param(&r, 0, "id", "12345");
	assert_ptr_equal(r.params[0].value, path + strlen("/api/v1/contracts/")); /* borrowed, not copied */
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_PATCH | RD_DELETE);

	r = match(RD_DELETE, "/api/v1/contracts/x-1");
	assert_route(&r, 6);
	assert_param(&r, 0, "id", "x-1");

	r = match(RD_GET, "/api/v1/vendors/acme/partners/77");
	assert_route(&r, 7);
	assert_int_equal(r.n_params, 2);
	assert_param(&r, 0, "vendor", "acme");
	assert_param(&r, 1, "partner", "77");

	r = match(RD_PUT, "/api/v1/contracts/9/notes");
	assert_route(&r, 8);
	assert_param(&r, 0, "id", "9");

	/* A literal after a parameter still has to match. */
	r = match(RD_PUT, "/api/v1/contracts/9/other");
	assert_null(r.route);
	assert_int_equal(r.allowed, 0);
}

/* The path length bounds the match: the path need not be NUL-terminated. */
static void test_path_length(void **state)
{
	const char *buf = "/healthXYZ";
	struct rd_param params[RD_MAX_PARAMS];
	size_t np;
	unsigned allowed;
	const struct rd_route *rt = rd_route_match(routes, N_ROUTES, RD_GET, buf, 7, params, &np, &allowed);
	assert_ptr_equal(rt, &routes[1]);
	rt = rd_router_match(tree, RD_GET, buf, 7, params, &np, &allowed);
	assert_ptr_equal(rt, &routes[1]);
	struct result r = match_both(routes, N_ROUTES, tree, RD_GET, "/api/v1/contracts/42?x", 20);
	assert_route(&r, 4);
	assert_param(&r, 0, "id", "42");

	const char *p = "/api/v1/contracts/42?x";
	rt = rd_route_match(routes, N_ROUTES, RD_GET, p, strlen(p) - 2, params, &np, &allowed);
	assert_ptr_equal(rt, &routes[4]);
	assert_int_equal(np, 1);
	assert_int_equal(params[0].value_len, 2);
	assert_memory_equal(params[0].value, "42", 2);
}

static void test_no_match(void **state)
{
	static const char *const paths[] = {
		"/health/",              /* trailing slash */
		"/api/v1/contracts/",    /* empty parameter */
		"/api/v1/contracts//",
		"/healt",                /* prefix of a route */
		"/healthz",              /* route is a prefix */
		"/health/x",
		"health",                /* no leading slash */
		"",
		"//",
		"/api/v1/vendors/acme/partners",
		"/api/v1/vendors//partners/1",
		"/nothing/here",
	};
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		struct result r = match(RD_GET, paths[i]);
		if (r.route)
			fail_msg("\"%s\" matched route %td", paths[i], r.route - routes);
		if (r.allowed != 0)
			fail_msg("\"%s\": allowed %#x, want 0", paths[i], r.allowed);
		assert_int_equal(r.n_params, 0);
	}
}

static void test_method_not_allowed(void **state)
{
	struct result r = match(RD_POST, "/health");
	assert_null(r.route);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD);
	assert_int_equal(r.n_params, 0);

	r = match(RD_DELETE, "/api/v1/contracts");
	assert_null(r.route);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_POST);

	r = match(RD_POST, "/api/v1/contracts/7");
	assert_null(r.route);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_PATCH | RD_DELETE);

	/* "import" matches both {id} and the literal route. */
	r = match(RD_PUT, "/api/v1/contracts/import");
	assert_null(r.route);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_PATCH | RD_DELETE | RD_POST);
	r = match(RD_POST, "/api/v1/contracts/import");
	assert_route(&r, 9);
	assert_int_equal(r.n_params, 0);
	r = match(RD_GET, "/api/v1/contracts/import"); /* first match wins */
	assert_route(&r, 4);
	assert_param(&r, 0, "id", "import");
}

static void test_get_implies_head(void **state)
{
	struct result r = match(RD_HEAD, "/health");
	assert_route(&r, 1);
	r = match(RD_HEAD, "/api/v1/contracts/5");
	assert_route(&r, 4);
	assert_param(&r, 0, "id", "5");
	/* ...but nothing else implies HEAD. */
	r = match(RD_HEAD, "/api/v1/contracts/9/notes");
	assert_null(r.route);
	assert_int_equal(r.allowed, RD_PUT);
}

static void test_methods_format(void **state)
{
	char buf[128];
	assert_int_equal(rd_methods_format(RD_GET | RD_HEAD | RD_POST, buf, sizeof buf), strlen("GET, HEAD, POST"));
	assert_string_equal(buf, "GET, HEAD, POST");
	/* Order follows the method list, not the bits given. */
	rd_methods_format(RD_DELETE | RD_GET, buf, sizeof buf);
	assert_string_equal(buf, "GET, DELETE");
	rd_methods_format(RD_PATCH, buf, sizeof buf);
	assert_string_equal(buf, "PATCH");
	assert_int_equal(rd_methods_format(0, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	rd_methods_format(RD_GET | RD_HEAD | RD_POST | RD_PUT | RD_PATCH | RD_DELETE | RD_OPTIONS, buf, sizeof buf);
	assert_string_equal(buf, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	/* A short buffer holds whole names only, NUL-terminated. */
	assert_int_equal(rd_methods_format(RD_GET | RD_HEAD | RD_POST, buf, 10), 9);
	assert_string_equal(buf, "GET, HEAD");
	assert_int_equal(rd_methods_format(RD_GET | RD_HEAD, buf, 4), 3);
	assert_string_equal(buf, "GET");
	assert_int_equal(rd_methods_format(RD_GET, buf, 3), 0);
	assert_string_equal(buf, "");
}

static void test_method_parse(void **state)
{
	static const struct {
		const char *name;
		unsigned method;
	} known[] = {
		{ "GET", RD_GET }, { "HEAD", RD_HEAD }, { "POST", RD_POST }, { "PUT", RD_PUT },
		{ "PATCH", RD_PATCH }, { "DELETE", RD_DELETE }, { "OPTIONS", RD_OPTIONS },
	};
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		assert_int_equal(rd_method_parse(known[i].name, strlen(known[i].name)), known[i].method);
	static const char *const unknown[] = { "get", "Get", "GE", "GETS", "TRACE", "CONNECT", "", "POST " };
	for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
		assert_int_equal(rd_method_parse(unknown[i], strlen(unknown[i])), 0);
	/* The length is what counts, not a NUL. */
	assert_int_equal(rd_method_parse("GETX", 3), RD_GET);
	assert_int_equal(rd_method_parse("DELETEME", 6), RD_DELETE);
}

/* Table order decides between routes of the same shape, whatever their
 * kind: a {param} listed first shadows a literal listed later (and the
 * other way round); *allowed is the union of every route the path fits. */
static const struct rd_route prec[] = {
	{ RD_GET, "/a/{x}", handler },          /* 0 */
	{ RD_GET, "/a/b", handler },            /* 1: shadowed for GET by 0 */
	{ RD_POST, "/a/b", handler },           /* 2 */
	{ RD_PUT, "/c/d", handler },            /* 3 */
	{ RD_PUT, "/c/{y}", handler },          /* 4: shadowed for d by 3 */
	{ RD_GET, "/c/{y}", handler },          /* 5 */
	{ RD_GET, "/p/{a}/q/{b}", handler },    /* 6 */
	{ RD_GET, "/p/{z}/{w}/{b}", handler },  /* 7: other names, same shape */
	{ RD_DELETE, "/p/{z}/{w}/{b}", handler }, /* 8 */
	{ RD_GET, "/", handler },               /* 9 */
	{ RD_POST, "/{only}", handler },        /* 10 */
	{ RD_GET, "/e//f", handler },           /* 11: an empty literal segment */
	{ RD_GET, "/g/", handler },             /* 12: a trailing empty segment */
	{ RD_GET, "/t/{}", handler },           /* 13: "{}" is a parameter with no name */
	{ RD_GET, "nolead", handler },          /* 14: never matches a path */
	{ RD_GET, "/m/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}", handler }, /* 15: eight parameters */
	{ RD_GET, "/n/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}/{9}", handler }, /* 16: nine: never */
	{ RD_GET, "/a/{x}", handler },          /* 17: a duplicate, never chosen */
};
#define N_PREC (sizeof prec / sizeof *prec)

static void test_router_precedence(void **state)
{
	struct rd_router *t = rd_router_new(prec, N_PREC);
	struct result r = match_both(prec, N_PREC, t, RD_GET, "/a/b", 4);
	assert_ptr_equal(r.route, &prec[0]);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_POST);
	assert_int_equal(r.n_params, 1);
	r = match_both(prec, N_PREC, t, RD_POST, "/a/b", 4);
	assert_ptr_equal(r.route, &prec[2]);
	assert_int_equal(r.n_params, 0);
	r = match_both(prec, N_PREC, t, RD_PUT, "/c/d", 4);
	assert_ptr_equal(r.route, &prec[3]);
	r = match_both(prec, N_PREC, t, RD_PUT, "/c/e", 4);
	assert_ptr_equal(r.route, &prec[4]);
	r = match_both(prec, N_PREC, t, RD_HEAD, "/c/d", 4);
	assert_ptr_equal(r.route, &prec[5]);
	r = match_both(prec, N_PREC, t, RD_GET, "/p/1/q/2", 8);
	assert_ptr_equal(r.route, &prec[6]);
	assert_param(&r, 0, "a", "1");
	assert_param(&r, 1, "b", "2");
	r = match_both(prec, N_PREC, t, RD_DELETE, "/p/1/q/2", 8);
	assert_ptr_equal(r.route, &prec[8]);
	assert_param(&r, 0, "z", "1");
	assert_param(&r, 1, "w", "q");
	assert_int_equal(r.allowed, RD_GET | RD_HEAD | RD_DELETE);
	r = match_both(prec, N_PREC, t, RD_GET, "/", 1);
	assert_ptr_equal(r.route, &prec[9]);
	assert_int_equal(r.allowed, RD_GET | RD_HEAD);
	r = match_both(prec, N_PREC, t, RD_POST, "/x", 2);
	assert_ptr_equal(r.route, &prec[10]);
	r = match_both(prec, N_PREC, t, RD_GET, "/e//f", 5);
	assert_ptr_equal(r.route, &prec[11]);
	r = match_both(prec, N_PREC, t, RD_GET, "/g/", 3);
	assert_ptr_equal(r.route, &prec[12]);
	r = match_both(prec, N_PREC, t, RD_GET, "/t/{}", 5);
	assert_ptr_equal(r.route, &prec[13]);
	r = match_both(prec, N_PREC, t, RD_GET, "/t/x", 4);
	assert_ptr_equal(r.route, &prec[13]);
	assert_int_equal(r.n_params, 1);
	assert_int_equal(r.params[0].name_len, 0);
	r = match_both(prec, N_PREC, t, RD_GET, "/m/1/2/3/4/5/6/7/8", 18);
	assert_ptr_equal(r.route, &prec[15]);
	assert_int_equal(r.n_params, 8);
	assert_param(&r, 7, "8", "8");
	r = match_both(prec, N_PREC, t, RD_GET, "/n/1/2/3/4/5/6/7/8/9", 20);
	assert_null(r.route);
	assert_int_equal(r.allowed, 0);
	r = match_both(prec, N_PREC, t, RD_GET, "nolead", 6);
	assert_null(r.route);
	rd_router_free(t);
}

/* Every path of up to four segments drawn from a small alphabet, every
 * method, over a table of patterns drawn from the same alphabet: the tree
 * and the walk agree on each. */
static void test_router_generated(void **state)
{
	static const char *const segs[] = { "", "a", "b", "{x}", "{y}", "ab" };
	enum { NS = sizeof segs / sizeof *segs };
	static char pats[200][40];
	static struct rd_route table[200];
	static const unsigned methods[] = { RD_GET, RD_POST, RD_PUT, RD_DELETE };
	size_t n = 0;
	uint32_t seed = 12345;
	while (n < 200) {
		seed = seed * 1103515245u + 12345u;
		int depth = 1 + (int)((seed >> 16) % 4);
		char *p = pats[n];
		p[0] = 0;
		for (int d = 0; d < depth; d++) {
			seed = seed * 1103515245u + 12345u;
			strcat(p, "/");
			strcat(p, segs[(seed >> 16) % NS]);
		}
		table[n] = (struct rd_route){ methods[(seed >> 8) % 4], p, handler, false };
		n++;
	}
	struct rd_router *t = rd_router_new(table, n);
	static const char *const psegs[] = { "", "a", "b", "ab", "zz", "{x}" };
	enum { NP = sizeof psegs / sizeof *psegs };
	char path[64];
	size_t tried = 0;
	for (int depth = 0; depth <= 4; depth++) {
		size_t combos = 1;
		for (int d = 0; d < depth; d++)
			combos *= NP;
		for (size_t k = 0; k < combos; k++) {
			path[0] = 0;
			size_t v = k;
			for (int d = 0; d < depth; d++) {
				strcat(path, "/");
				strcat(path, psegs[v % NP]);
				v /= NP;
			}
			for (size_t m = 0; m < 4; m++) {
				match_both(table, n, t, methods[m], path, strlen(path));
				match_both(table, n, t, 0, path, strlen(path));
				tried++;
			}
		}
	}
	assert_true(tried > 5000);
	rd_router_free(t);
}

/* The reference: the first parameter whose key, percent-decoded ('+' a
 * space; a %00 ends it), is name; its value decoded, "" without '='. */
static int hexv(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void decode_ref(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
			out[o++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
			i += 2;
		} else
			out[o++] = s[i] == '+' ? ' ' : s[i];
	}
	out[o] = 0;
}

/* The reference's walk: each parameter's name and value decoded, in
 * order, until fn says stop (then true). */
static bool each_ref(const char *q, bool (*fn)(const char *name, const char *val, const void *arg, char *out),
		     const void *arg, char *out)
{
	const char *end = q + strlen(q);
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		if (!amp)
			amp = end;
		const char *eq = memchr(q, '=', (size_t)(amp - q));
		char key[512], val[512] = "";
		decode_ref(q, (size_t)((eq ? eq : amp) - q), key);
		if (eq)
			decode_ref(eq + 1, (size_t)(amp - eq - 1), val);
		if (fn(key, val, arg, out))
			return true;
		q = amp + 1;
	}
	return false;
}

/* rd_req_query's: the first parameter named name; its value. */
static bool named_ref(const char *key, const char *val, const void *name, char *out)
{
	return !strcmp(key, name) && strcpy(out, val);
}

/* rd_req_query_unknown's: the first parameter whose name (decoded, up to a
 * %00) is neither empty nor known; that name. */
static bool unknown_ref(const char *key, const char *val, const void *arg, char *out)
{
	const char *const *known = arg;
	(void)val;
	bool ok = !*key;
	for (size_t i = 0; !ok && known[i]; i++)
		ok = !strcmp(known[i], key);
	return !ok && strcpy(out, key);
}

static void test_query(void **state)
{
	(void)state;
	static const char *const keys[] = { "limit", "cursor", "status", "%6Cimit", "li+mit", "customer", "", "a%00b", "%63ustomer",
					    "%2", "x%zz", "end_from", "%00", "+" };
	static const char *const vals[] = { "", "5", "a+b", "%41%42", "%", "%4", "live", "2027-01-01", "x=y", "%00z" };
	static const char *const names[] = { "limit", "cursor", "status", "li mit", "customer", "", "a", "%2", "x%zz",
					     "end_from", "nope" };
	const size_t nk = sizeof keys / sizeof *keys, nv = sizeof vals / sizeof *vals, nn = sizeof names / sizeof *names;
	uint64_t seed = 0x2545F4914F6CDD1Dull;
	for (int round = 0; round < 3000; round++) {
		char target[4096] = "/api/v1/contracts?";
		size_t len = strlen(target);
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		int n = (int)((seed >> 33) % (round % 10 == 0 ? 61 : 6));
		for (int i = 0; i < n; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			const char *k = keys[(seed >> 20) % nk], *v = vals[(seed >> 40) % nv];
			bool has_eq = (seed >> 60) % 4 != 0;
			len += (size_t)snprintf(target + len, sizeof target - len, "%s%s%s%s", i ? "&" : "", k, has_eq ? "=" : "",
						has_eq ? v : "");
		}
		struct rd_req *req = rd_req_detached(target, len, NULL, NULL, 0);
		for (int twice = 0; twice < 2; twice++)
			for (size_t i = 0; i < nn; i++) {
				char want[512];
				bool found = each_ref(strchr(target, '?') + 1, named_ref, names[i], want);
				const char *got = rd_req_query(req, names[i]);
				if (found != (got != NULL) || (found && strcmp(got, want)))
					fail_msg("%s: %s: got %s, want %s", target, names[i], got ? got : "(none)",
						 found ? want : "(none)");
			}
		static const char *const known1[] = { "limit", "cursor", NULL }, *const known2[] = { "limit", "cursor", "status", "customer", "li mit", "a", NULL };
		const char *const *knowns[] = { known1, known2 };
		for (int twice = 0; twice < 2; twice++)
			for (int k = 0; k < 2; k++) {
				char want[512];
				bool found = each_ref(strchr(target, '?') + 1, unknown_ref, knowns[k], want);
				const char *got = rd_req_query_unknown(req, knowns[k]);
				if (found != (got != NULL) || (found && strcmp(got, want)))
					fail_msg("%s: unknown (%d): got %s, want %s", target, k, got ? got : "(none)",
						 found ? want : "(none)");
			}
		rd_req_detached_free(req);
	}
	/* no query at all */
	struct rd_req *req = rd_req_detached("/api/v1/contracts", 17, NULL, NULL, 0);
	assert_null(rd_req_query(req, "limit"));
	rd_req_detached_free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_routes),
		cmocka_unit_test(test_param_capture),
		cmocka_unit_test(test_path_length),
		cmocka_unit_test(test_no_match),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_get_implies_head),
		cmocka_unit_test(test_methods_format),
		cmocka_unit_test(test_method_parse),
		cmocka_unit_test(test_router_precedence),
		cmocka_unit_test(test_router_generated),
		cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests_name("router", tests, setup_tree, teardown_tree);
}
