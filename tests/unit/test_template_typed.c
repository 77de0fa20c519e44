/*
 * test_template_typed.c: typed Mustache contexts (core/template/tval.c,
 * rd_mustache_run_tv): the same bytes as the JSON context they stand for.
 *
 * - the Mustache spec (../shared/conformance/mustache, argv[1]) with every
 *   test's data as a typed tree: every spec test passes;
 * - every built-in template of every message kind (the branding-default
 *   pack), rendered with a context like the sweep's as a jansson tree and as
 *   a typed one: the same bytes, and the parameters written as compact JSON
 *   from either are the same bytes too;
 * - values, truthiness, dotted names and sections over arrays, typed vs
 *   JSON; the object order (replace in place, delete) as jansson keeps it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <jansson.h>

#include <renewd/plugin.h>

#include "mustache_spec.h"
#include "template/mustache.h"
#include "template/tval.h"
#include "unit.h"

const struct rd_plugin *rd_builtin_branding_default(void);

#define json_partial mustache_spec_partial

/* A spec test rendered with its data as a typed context. */
static int render_spec(json_t *t, char **out, size_t *n, char *err, size_t errlen)
{
	json_t *tmpl = json_object_get(t, "template"), *data = json_object_get(t, "data");
	struct rd_tv_arena a;
	rd_tv_arena_init(&a, NULL, 0);
	struct rd_tv *tv = data ? rd_tv_from_json(&a, data) : NULL;
	int rc = rd_mustache_render_tv(json_string_value(tmpl), json_string_length(tmpl), tv, json_partial,
				       json_object_get(t, "partials"), out, n, err, errlen);
	rd_tv_arena_free(&a);
	return rc;
}

/* Renders tmpl with j and with its typed copy; asserts the same bytes (or
 * the same error) and returns the JSON render's output (caller frees). */
static char *render_both(const char *what, const char *tmpl, size_t len, json_t *j)
{
	struct rd_tv_arena a;
	char block[256]; /* small: the arena's later blocks are exercised too */
	rd_tv_arena_init(&a, block, sizeof block);
	struct rd_tv *tv = rd_tv_from_json(&a, j);
	char *x = NULL, *y = NULL, e1[256], e2[256];
	size_t nx = 0, ny = 0;
	int r1 = rd_mustache_render(tmpl, len, j, NULL, NULL, &x, &nx, e1, sizeof e1);
	int r2 = rd_mustache_render_tv(tmpl, len, tv, NULL, NULL, &y, &ny, e2, sizeof e2);
	if (r1 != r2 || nx != ny || (nx && memcmp(x, y, nx)))
		fail_msg("%s: JSON context (rc %d) \"%.*s\"\n  typed context (rc %d) \"%.*s\"", what, r1, (int)nx,
		         x ? x : "", r2, (int)ny, y ? y : "");
	free(y);
	rd_tv_arena_free(&a);
	return x;
}

/* The compact JSON of j and of its typed copy: the same bytes. */
static void params_both(const char *what, json_t *j)
{
	struct rd_tv_arena a;
	rd_tv_arena_init(&a, NULL, 0);
	struct rd_tv *tv = rd_tv_from_json(&a, j);
	static char p1[16384], p2[16384];
	size_t n1 = 0, n2 = 0;
	bool f1 = rd_json_write_compact(j, p1, sizeof p1, &n1), f2 = rd_tv_write_json(tv, p2, sizeof p2, &n2);
	assert_true(f1 && f2);
	if (n1 != n2 || memcmp(p1, p2, n1))
		fail_msg("%s: parameters differ:\n  %s\n  %s", what, p1, p2);
	/* and they read back as the same tree */
	json_t *back = json_loads(p2, 0, NULL);
	assert_true(json_equal(back, j));
	json_decref(back);
	/* too small a buffer: false, not a cut */
	assert_false(rd_tv_write_json(tv, p2, n2, &n2));
	assert_false(rd_json_write_compact(j, p1, n1, &n1));
	rd_tv_arena_free(&a);
}

#define ODD "Q \"quoted\" \\ back <b>&amp;</b> it's \xc3\x9cn\xc3\xaf c\xc3\xb6" "d\xc3\xa9 \xe2\x9c\x93 tab\t nl\n"

static json_t *brand(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name", "Gold " ODD, "logo_url",
	                 "https://cdn.example/l.png?a=1&b=2", "colour_primary", "#1f3a5f", "colour_accent", "#f2a900",
	                 "contact_block", "Call " ODD, "email", "gold@example.com", "phone", "+44 20 7946 0000");
}

/* A context of the shape the sweep builds for a message about an
 * opportunity (core/renew/notify.c, opp_context), with the kind's own
 * names; publish selects which mode's sections show. */
static json_t *opp_ctx(bool vendor_sells, bool overdue)
{
	return json_pack("{s:{s:s}, s:{s:s, s:s, s:s}, s:o, s:{s:s, s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:I}, "
	                 "s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:b, s:b, "
	                 "s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:i, s:b, s:i, s:s, s:s, s:s, s:s}",
	                 "vendor", "name", "Acme <Software>", "partner", "name", "Gold " ODD, "email", "gold@example.com",
	                 "phone", "", "brand", brand(), "customer", "name", "Customer " ODD, "email", "c@example.com",
	                 "phone", "+1 555", "product", "name", "Suite & Co", "sku", "SKU-1", "contract", "end",
	                 "2027-03-04", "quantity", (json_int_t)25, "quote", "number", "Q-2027-000123", "list",
	                 "USD 1,234.50", "price", "USD 1,234.50", "partner_margin", "USD 123.45 (10 %)",
	                 "vendor_margin", "USD 61.72 (5 %)", "decision_by", "2027-02-17", "valid_until", "",
	                 "decision_url", "https://renew.example/partner/opportunities/7", "publish_vendor",
	                 vendor_sells, "publish_partner", !vendor_sells, "default_action", "leaves the sale to you",
	                 "mode_text", "the partner sells (publish-partner)", "sales_url",
	                 "https://renew.example/sales/opportunities/7", "partner_copy", !overdue, "seller",
	                 "Gold " ODD, "link", "https://renew.example/c/rd_TOKEN", "task_text", "asks to be called back",
	                 "days_left", overdue ? -7 : 14, "overdue", overdue, "days_overdue", overdue ? 7 : -14,
	                 "message", "Please call " ODD, "tasks_url", "https://renew.example/partner/tasks", "subject",
	                 "the subject " ODD, "headline", "A lead");
}

static json_t *kind_ctx(const char *kind, bool variant)
{
	if (!strcmp(kind, "digest")) {
		json_t *e = json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s, s:s}]",
		                      "number", "Q-1", "customer", "C " ODD, "product", "P", "end", "2027-03-04",
		                      "decide_by", "2027-02-17", "state", "awaiting decision", "url", "https://x/1",
		                      "number", "Q-2", "customer", "D", "product", "P & Q", "end", "2027-03-05",
		                      "decide_by", "", "state", "partner sells", "url", "https://x/2");
		json_t *c = json_pack("{s:{s:s}, s:{s:s}, s:o, s:O, s:o, s:I, s:s, s:s}", "vendor", "name", "Acme",
		                      "partner", "name", "Gold " ODD, "brand", brand(), "pending", e, "ending",
		                      variant ? json_array() : json_deep_copy(e), "count", (json_int_t)(variant ? 214 : 4),
		                      "portal_url", "https://renew.example/partner", "subject", "This week");
		json_decref(e);
		if (variant)
			json_object_set_new(c, "more_pending", json_integer(212));
		return c;
	}
	if (!strcmp(kind, "payment_reminder"))
		return json_pack("{s:{s:s}, s:o, s:{s:s}, s:{s:s, s:s, s:s, s:s}, s:i, s:b, s:i, s:s}", "vendor", "name",
		                 "Acme", "brand", brand(), "customer", "name", "C " ODD, "order", "number", "O-1", "total",
		                 "EUR 10.00", "due_date", "2027-03-04", "po_number", variant ? "" : "PO <1>", "days_left",
		                 variant ? -3 : 7, "overdue", variant, "days_overdue", variant ? 3 : -7, "subject", "Pay");
	if (!strcmp(kind, "statement"))
		return json_pack("{s:{s:s}, s:{s:s}, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:i}], s:s, s:o, s:s}", "vendor",
		                 "name", "Acme", "partner", "name", "Gold " ODD, "statement", "number", "S-1", "month",
		                 "2027-02", "lines", 3, "totals", "currency", "EUR", "amount", "EUR 1.00", "lines", 3,
		                 "link", "https://renew.example/partner/statements", "brand", brand(), "subject", "S");
	if (!strcmp(kind, "deal")) {
		json_t *c = opp_ctx(variant, variant);
		json_object_set_new(c, "lines", json_pack("[s, s, i, f]", "line one " ODD, "", 3, 1.25));
		return c;
	}
	return opp_ctx(variant, variant);
}

/* Every template of the built-in pack, each message kind, both variants. */
static void test_builtin_templates_same_bytes(void **state)
{
	(void)state;
	const struct rd_plugin *p = rd_builtin_branding_default();
	const struct rd_branding_ops *ops = p->ops;
	static const char *const kinds[] = { "quote_notice", "pullback", "sales_notice", "customer_notice", "reminder",
	                                     "digest", "payment_reminder", "task", "statement", "deal", "lead" };
	static const char *const exts[] = { "subject", "txt", "html" };
	unsigned rendered = 0;
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
		for (int variant = 0; variant < 2; variant++) {
			json_t *ctx = kind_ctx(kinds[k], variant);
			assert_non_null(ctx);
			params_both(kinds[k], ctx);
			for (size_t e = 0; e < 3; e++) {
				char name[96], what[128];
				snprintf(name, sizeof name, "email/%s.%s", kinds[k], exts[e]);
				const void *data;
				size_t len;
				const char *type;
				if (ops->asset(NULL, name, &data, &len, &type) < 0)
					continue; /* deal has no subject template */
				snprintf(what, sizeof what, "%s (variant %d)", name, variant);
				char *out = render_both(what, data, len, ctx);
				assert_non_null(out);
				/* the context was read: a name of it (all carry ODD) shows in the text */
				if (e && strcmp(kinds[k], "lead") && !strstr(out, "quoted"))
					fail_msg("%s: the context's names do not show: %s", what, out);
				free(out);
				rendered++;
			}
			json_decref(ctx);
		}
	assert_true(rendered >= 60);
}

static void test_values_and_sections(void **state)
{
	(void)state;
	json_t *j = json_pack("{s:i, s:i, s:f, s:f, s:f, s:s, s:s, s:b, s:b, s:n, s:[], s:{}, s:[i, s, {s:s}], "
	                      "s:{s:{s:s}}, s:I}",
	                      "zero", 0, "neg", -42, "real", 1.21, "two", 2.0, "rzero", 0.0, "empty", "", "s",
	                      "<a href='x'>&\"</a>", "t", 1, "f", 0, "nul", "arr0", "obj0", "arr", 7, "x", "k", "v",
	                      "a", "b", "c", "deep", "big", (json_int_t)9007199254740993LL);
	static const char *const tmpls[] = {
		"{{zero}}|{{neg}}|{{real}}|{{two}}|{{rzero}}|{{empty}}|{{s}}|{{{s}}}|{{&s}}|{{t}}|{{f}}|{{nul}}|{{big}}",
		"{{#zero}}Z{{/zero}}{{^zero}}z{{/zero}}{{#neg}}N{{/neg}}{{#rzero}}R{{/rzero}}{{^rzero}}r{{/rzero}}",
		"{{#empty}}E{{/empty}}{{^empty}}e{{/empty}}{{#arr0}}A{{/arr0}}{{^arr0}}a{{/arr0}}{{#obj0}}O{{/obj0}}",
		"{{#nul}}N{{/nul}}{{^nul}}n{{/nul}}{{#missing}}M{{/missing}}{{^missing}}m{{/missing}}{{#t}}T{{.}}{{/t}}",
		"{{#arr}}[{{.}}{{k}}]{{/arr}}|{{a.b.c}}|{{a.b}}|{{a.x.c}}|{{#a}}{{#b}}{{c}}{{s}}{{/b}}{{/a}}|{{arr}}|{{obj0}}",
		"{{#s}}{{.}}{{/s}}|{{#real}}{{.}}{{/real}}|{{#a.b}}{{c}}{{/a.b}}",
	};
	for (size_t i = 0; i < sizeof tmpls / sizeof *tmpls; i++)
		free(render_both(tmpls[i], tmpls[i], strlen(tmpls[i]), j));
	char *out = render_both("escaping", "{{s}}", 5, j);
	assert_string_equal(out, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
	free(out);
	params_both("values", j);
	/* an error is the same error */
	free(render_both("unclosed", "{{#arr}}x", 9, j));
	json_decref(j);
	/* a scalar or no context at all */
	json_t *sc = json_string("x");
	free(render_both("scalar", "{{.}}{{a}}", 10, sc));
	json_decref(sc);
	char *o = NULL, err[64];
	size_t n;
	assert_rc(rd_mustache_render_tv("a{{b}}c", 7, NULL, NULL, NULL, &o, &n, err, sizeof err), 0);
	assert_string_equal(o, "ac");
	free(o);
}

/* Objects keep jansson's order: a name set again keeps its place, a
 * deleted one closes the gap, a name set after a delete goes last. */
static void test_object_order(void **state)
{
	(void)state;
	struct rd_tv_arena a;
	char block[64];
	rd_tv_arena_init(&a, block, sizeof block);
	json_t *j = json_object();
	struct rd_tv *t = rd_tv_obj(&a);
	static const char *const keys[] = { "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11" };
	for (int i = 0; i < 12; i++) { /* past the first member array: it grows */
		json_object_set_new(j, keys[i], json_integer(i));
		rd_tv_set(&a, t, keys[i], rd_tv_int(&a, i));
	}
	json_object_set_new(j, "k3", json_string("again"));
	rd_tv_set_str(&a, t, "k3", "again");
	json_object_del(j, "k1");
	rd_tv_del(t, "k1");
	rd_tv_del(t, "nope");
	json_object_set_new(j, "k1", json_true());
	rd_tv_set(&a, t, "k1", rd_tv_bool(&a, true));
	json_object_set_new(j, "subject", json_string("s"));
	rd_tv_set_str(&a, t, "subject", "s");
	json_object_del(j, "subject");
	rd_tv_del(t, "subject");
	char p1[512], p2[512];
	size_t n1, n2;
	assert_true(rd_json_write_compact(j, p1, sizeof p1, &n1));
	assert_true(rd_tv_write_json(t, p2, sizeof p2, &n2));
	assert_string_equal(p1, p2);
	/* and back to jansson the same */
	json_t *back = rd_tv_to_json(t);
	assert_true(json_equal(back, j));
	char *d1 = json_dumps(back, JSON_COMPACT | JSON_PRESERVE_ORDER), *d2 = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	json_decref(back);
	json_decref(j);
	assert_null(rd_tv_get(t, "k1x"));
	assert_int_equal(rd_tv_get(t, "k2")->u.i, 2);
	/* a long string goes in a block of its own */
	char big[20000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct rd_tv *s = rd_tv_str(&a, big);
	assert_int_equal(s->u.s.len, sizeof big - 1);
	rd_tv_arena_free(&a);
}

/* A string's JSON as put_str writes it, eight bytes at a time, against a
 * byte-at-a-time escaper written here (\" \\ and \u00xx below 0x20,
 * everything else as it is) and against jansson's reading of it: random
 * strings of 0 to 40 bytes, the bytes to escape at every offset of the
 * eight-byte words, UTF-8 beside them. */
static size_t escape_ref(const char *s, size_t n, char *out)
{
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20)
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '"';
	return o;
}

static void test_string_escapes(void **state)
{
	(void)state;
	static const char *const atoms[] = { "a", "Z", "0", " ", "~", "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f",
					     "/", "\xc3\xa9", "\xe2\x9c\x93", "\x20", "!", "#" };
	const size_t n_atoms = sizeof atoms / sizeof *atoms;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct rd_tv_arena a;
	rd_tv_arena_init(&a, NULL, 0);
	for (int round = 0; round < 20000; round++) {
		char text[256];
		size_t n = 0;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t want_len = (size_t)(seed >> 33) % 41;
		while (n < want_len) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			/* mostly plain bytes, so that whole plain words occur */
			const char *atom = (seed >> 40) % 4 ? "p" : atoms[(seed >> 20) % n_atoms];
			size_t k = strlen(atom);
			memcpy(text + n, atom, k);
			n += k;
		}
		if (round % 97 == 0 && n && (unsigned char)text[(seed >> 7) % n] < 0x80)
			text[(seed >> 7) % n] = 0; /* a NUL inside (not within a UTF-8 sequence): \u0000 */
		struct rd_tv *tv = rd_tv_strn(&a, text, n);
		char got[2048], want[2048];
		size_t got_n = 0;
		assert_true(rd_tv_write_json(tv, got, sizeof got, &got_n));
		size_t want_n = escape_ref(text, n, want);
		if (got_n != want_n || memcmp(got, want, want_n))
			fail_msg("round %d: got %.*s, want %.*s", round, (int)got_n, got, (int)want_n, want);
		json_error_t err;
		json_t *back = json_loadb(got, got_n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
		if (!back || json_string_length(back) != n || memcmp(json_string_value(back), text, n))
			fail_msg("round %d: jansson reads %.*s otherwise: %s", round, (int)got_n, got, err.text);
		json_decref(back);
	}
	rd_tv_arena_free(&a);
}

int main(int argc, char **argv)
{
	mustache_spec_dir(argc, argv);
	mustache_spec_use(render_spec, ", typed context");
	const struct CMUnitTest tests[] = {
		MUSTACHE_SPEC_TESTS(", typed"),
		cmocka_unit_test(test_builtin_templates_same_bytes),
		cmocka_unit_test(test_values_and_sections),
		cmocka_unit_test(test_object_order),
		cmocka_unit_test(test_string_escapes),
	};
	return cmocka_run_group_tests_name("template_typed", tests, NULL, NULL);
}
