/*
 * test_router.c: the route table matcher and method helpers
 * (core/http/router.c, declared in core/http/http.h).
 *
 * Covers: literal routes, {param} capture (values borrowed from the path),
 * paths that must not match (trailing slash, empty parameter, prefixes),
 * 405 detection through *allowed (GET routes also allow HEAD), unknown
 * paths (allowed 0), rd_methods_format and rd_method_parse.
 */
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

static struct result match(unsigned method, const char *path)
{
	struct result r;
	memset(&r, 0xa5, sizeof r); /* the router must set every output */
	r.route = rd_route_match(routes, N_ROUTES, method, path, strlen(path), r.params, &r.n_params, &r.allowed);
	return r;
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
	};
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
