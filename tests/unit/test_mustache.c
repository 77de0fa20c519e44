/*
 * test_mustache.c: rd_mustache_render (core/template/mustache.c).
 *
 * Covers: every test of the official Mustache spec files (comments,
 * delimiters, interpolation, inverted, partials, sections), read from the
 * directory given as argv[1] (meson passes ../shared/conformance/mustache
 * beside the source tree) or $RD_MUSTACHE_SPEC; when that directory is
 * absent those tests are skipped, saying so.  Then renewd's own choices and
 * guards: template errors that name the line (unclosed section, mismatched
 * or stray close tag, unclosed tag, bad delimiter change, bad names, errors
 * inside a partial), partials and sections nested too deep (a partial that
 * includes itself) stopping with RD_ETOOBIG, escaping of a hostile value,
 * value formatting and truthiness, partial indentation, and a large template
 * (and many partials) rendering in linear time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "mustache_spec.h"
#include "template/mustache.h"
#include "unit.h"

#define json_partial mustache_spec_partial

/* A spec test rendered with its data as a JSON context. */
static int render_spec(json_t *t, char **out, size_t *n, char *err, size_t errlen)
{
	json_t *tmpl = json_object_get(t, "template");
	return rd_mustache_render(json_string_value(tmpl), json_string_length(tmpl), json_object_get(t, "data"),
				  json_partial, json_object_get(t, "partials"), out, n, err, errlen);
}

/* Renders tmpl with data given as JSON text and partials as a JSON object;
 * returns the result code, the output (caller frees) in *out. */
static int render(const char *tmpl, const char *data_json, const char *partials_json, char **out, char *err,
                  size_t errlen)
{
	json_error_t jerr;
	json_t *data = data_json ? json_loads(data_json, JSON_DECODE_ANY, &jerr) : NULL;
	json_t *partials = partials_json ? json_loads(partials_json, 0, &jerr) : NULL;
	if (data_json && !data)
		fail_msg("bad test data %s: %s", data_json, jerr.text);
	if (partials_json && !partials)
		fail_msg("bad test partials %s: %s", partials_json, jerr.text);
	size_t n = 0;
	int rc = rd_mustache_render(tmpl, strlen(tmpl), data, json_partial, partials, out, &n, err, errlen);
	if (rc) {
		assert_null(*out);
		assert_int_equal(n, 0);
	} else {
		assert_non_null(*out);
		assert_int_equal(strlen(*out), n);
	}
	json_decref(data);
	json_decref(partials);
	return rc;
}

/* Asserts that tmpl renders to want. */
static void expect(const char *tmpl, const char *data_json, const char *partials_json, const char *want)
{
	char *out = NULL, err[256] = "";
	int rc = render(tmpl, data_json, partials_json, &out, err, sizeof err);
	if (rc)
		fail_msg("'%s': error %d: %s", tmpl, rc, err);
	if (strcmp(out, want)) {
		fprintf(stderr, "template '%s': want '%s', got '%s'\n", tmpl, want, out);
		free(out);
		fail();
	}
	free(out);
}

/* Asserts that tmpl fails with want and an error containing each of the
 * (up to three) strings. */
static void expect_error(const char *tmpl, const char *partials_json, int want, const char *s1, const char *s2,
                         const char *s3)
{
	char *out = NULL, err[256] = "";
	assert_rc(render(tmpl, "{\"a\": true, \"x\": true}", partials_json, &out, err, sizeof err), want);
	assert_contains(err, s1);
	if (s2)
		assert_contains(err, s2);
	if (s3)
		assert_contains(err, s3);
}

static void test_template_errors(void **state)
{
	expect_error("a\n{{#items}}\nb\n", NULL, RD_EINVAL, "line 2:", "'items'", "never closed");
	expect_error("{{#a}}\n\n{{/b}}", NULL, RD_EINVAL, "line 3:", "'b' does not match the section 'a'",
	             "opened on line 1");
	expect_error("{{#a}}{{#x}}{{/a}}{{/x}}", NULL, RD_EINVAL, "line 1:", "'a' does not match", "'x'");
	expect_error("text\n{{/a}}", NULL, RD_EINVAL, "line 2:", "'a' has no open section", NULL);
	expect_error("x\ny\n{{name", NULL, RD_EINVAL, "line 3:", "never closed", NULL);
	expect_error("{{{raw}}\n", NULL, RD_EINVAL, "line 1:", "never closed with '}}}'", NULL);
	expect_error("{{! a comment that never ends", NULL, RD_EINVAL, "line 1:", "never closed", NULL);
	expect_error("\n{{=<% =}}", NULL, RD_EINVAL, "line 2:", "bad delimiter change", NULL);
	expect_error("{{= a b c =}}", NULL, RD_EINVAL, "line 1:", "bad delimiter change", NULL);
	expect_error("{{=<% %>=}}<%x}}", NULL, RD_EINVAL, "line 1:", "'<%' is never closed with '%>'", NULL);
	expect_error("{{a b}}", NULL, RD_EINVAL, "line 1:", "'a b' contains whitespace", NULL);
	expect_error("{{a..b}}", NULL, RD_EINVAL, "'a..b' has an empty part", NULL, NULL);
	expect_error("{{#.a}}{{/.a}}", NULL, RD_EINVAL, "'.a' has an empty part", NULL, NULL);
	expect_error("{{}}", NULL, RD_EINVAL, "line 1:", "no name", NULL);
	/* The line counts newlines inside multi-line tags and removed lines. */
	expect_error("{{!\n\n}}\n{{#a}}\n{{/a}}\n{{/a}}", NULL, RD_EINVAL, "line 6:", "no open section", NULL);
	/* An error inside a partial names the partial and its own line. */
	expect_error("top\n{{>row}}", "{\"row\": \"ok\\n{{#a}}\"}", RD_EINVAL, "partial 'row', line 2:", "'a'",
	             "never closed");
	/* A broken partial that is never rendered is never parsed. */
	expect("{{^a}}{{>row}}{{/a}}ok", "{\"a\": true}", "{\"row\": \"{{#x}}\"}", "ok");
}

static void test_recursion_stops(void **state)
{
	/* A partial that includes itself unconditionally. */
	expect_error("{{>self}}", "{\"self\": \"x{{>self}}\"}", RD_ETOOBIG, "partial 'self', line 1:",
	             "deeper than 256 levels", "include itself");
	/* Two partials that include each other, inside a section that is always true. */
	expect_error("{{>a}}", "{\"a\": \"{{#x}}{{>b}}{{/x}}\", \"b\": \"{{>a}}\"}", RD_ETOOBIG, "deeper than", NULL,
	             NULL);

	/* Sections nested deeper than the limit, and the same not rendered. */
	size_t deep = 100000;
	char *t = malloc(deep * 12 + 1), *p = t;
	assert_non_null(t);
	for (size_t i = 0; i < deep; i++)
		p += sprintf(p, "{{#a}}");
	for (size_t i = 0; i < deep; i++)
		p += sprintf(p, "{{/a}}");
	char *out = NULL, err[256];
	assert_rc(render(t, "{\"a\": [1]}", NULL, &out, err, sizeof err), RD_ETOOBIG);
	assert_contains(err, "section 'a'");
	assert_rc(render(t, "{\"a\": false}", NULL, &out, err, sizeof err), 0);
	assert_string_equal(out, "");
	free(out);
	/* ... and unclosed, which the parser reports without recursing. */
	t[deep * 6] = 0;
	assert_rc(render(t, "{}", NULL, &out, err, sizeof err), RD_EINVAL);
	assert_contains(err, "never closed");
	free(t);

	/* Recursion that the data ends renders, well past a few levels. */
	json_t *tree = json_pack("{s:s, s:[]}", "name", "leaf", "kids");
	for (int i = 0; i < 100; i++)
		tree = json_pack("{s:s, s:[o]}", "name", "n", "kids", tree);
	json_t *partials = json_pack("{s:s}", "node", "({{name}}{{#kids}}{{>node}}{{/kids}})");
	size_t n;
	assert_rc(rd_mustache_render("{{>node}}", 9, tree, json_partial, partials, &out, &n, err, sizeof err), 0);
	assert_contains(out, "(n(n(n");
	assert_contains(out, "(leaf)))");
	assert_int_equal(n, 100 * 3 + 6); /* "(n" and ")" per node, and "(leaf)" */
	free(out);
	json_decref(tree);
	json_decref(partials);
}

static void test_escaping(void **state)
{
	const char *data = "{\"v\": \"<script>alert('x&y')</script>\\\"\"}";
	expect("<p title='{{v}}'>{{v}}</p>", data,
	       NULL,
	       "<p title='&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;'>"
	       "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;&quot;</p>");
	expect("{{{v}}}|{{&v}}", data, NULL, "<script>alert('x&y')</script>\"|<script>alert('x&y')</script>\"");
	/* Template syntax inside a value is not interpreted. */
	expect("{{v}}", "{\"v\": \"{{#a}}{{>p}}\", \"a\": true}", "{\"p\": \"BAD\"}", "{{#a}}{{&gt;p}}");
	/* A value with a NUL byte is inserted whole. */
	json_t *d = json_pack("{s:s%}", "v", "a\0<", (size_t)3);
	char *out = NULL, err[64];
	size_t n;
	assert_rc(rd_mustache_render("[{{v}}]", 7, d, NULL, NULL, &out, &n, err, sizeof err), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "[a\0&lt;]", 8);
	free(out);
	json_decref(d);
}

static void test_values_and_truthiness(void **state)
{
	expect("{{i}} {{r}} {{n}} {{big}} {{two}} {{tiny}} {{t}} {{f}} [{{z}}] [{{o}}] [{{l}}] [{{missing}}]",
	       "{\"i\": -42, \"r\": 0.1, \"n\": 1.21, \"big\": 1e300, \"two\": 2.0, \"tiny\": 5e-7, \"t\": true,"
	       " \"f\": false, \"z\": null, \"o\": {\"k\": 1}, \"l\": [1, 2]}",
	       NULL, "-42 0.1 1.21 1e+300 2 5e-07 true false [] [] [] []");
	/* Falsey: false, null, missing, [], "", 0, 0.0; truthy: {}, "0", " ", 1, -1, 0.5. */
	const char *data = "{\"f\": false, \"z\": null, \"l\": [], \"s\": \"\", \"i\": 0, \"r\": 0.0,"
	                   " \"o\": {}, \"s0\": \"0\", \"sp\": \" \", \"one\": 1, \"neg\": -1, \"half\": 0.5}";
	expect("{{#f}}f{{/f}}{{#z}}z{{/z}}{{#m}}m{{/m}}{{#l}}l{{/l}}{{#s}}s{{/s}}{{#i}}i{{/i}}{{#r}}r{{/r}}|"
	       "{{^f}}f{{/f}}{{^z}}z{{/z}}{{^m}}m{{/m}}{{^l}}l{{/l}}{{^s}}s{{/s}}{{^i}}i{{/i}}{{^r}}r{{/r}}",
	       data, NULL, "|fzmlsir");
	expect("{{#o}}o{{/o}}{{#s0}}[{{.}}]{{/s0}}{{#sp}}[{{.}}]{{/sp}}{{#one}}{{.}}{{/one}}{{#neg}}{{.}}{{/neg}}"
	       "{{#half}}{{.}}{{/half}}|{{^o}}o{{/o}}{{^s0}}s0{{/s0}}{{^one}}1{{/one}}",
	       data, NULL, "o[0][ ]1-10.5|");
	/* Lookup: first part up the stack, the rest only within it; arrays are skipped. */
	expect("{{#a}}{{#list}}{{x}}{{b.c}}{{/list}}{{/a}}", "{\"x\": 1, \"b\": {\"c\": 2}, \"a\": {\"list\": [[0], {\"x\": 3}]}}",
	       NULL, "1232");
	expect("{{#a}}{{b.c}}{{/a}}", "{\"b\": {\"c\": \"outer\"}, \"a\": {\"b\": 7}}", NULL, "");
	/* No data: every name is missing. */
	expect("[{{.}}{{a}}{{#a}}x{{/a}}{{^a}}y{{/a}}]", NULL, NULL, "[y]");
}

static void test_partials(void **state)
{
	/* No partial function, an unknown partial, a partial with dots in its name. */
	char *out = NULL, err[64];
	size_t n;
	assert_rc(rd_mustache_render("a{{>p}}b", 8, NULL, NULL, NULL, &out, &n, err, sizeof err), 0);
	assert_string_equal(out, "ab");
	free(out);
	expect("[{{>nope}}]", "{}", "{}", "[]");
	expect("[{{>mail.footer}}]", "{}", "{\"mail.footer\": \"F\"}", "[F]");
	/* Standalone indentation adds up through nested partials; inline partials get none. */
	expect("  {{>a}}\n", "{\"v\": \"1\\n2\"}", "{\"a\": \"x\\n {{>b}}\\ni{{>b}}\\n\", \"b\": \"y\\n{{v}}\\n\"}",
	       "  x\n   y\n   1\n2\n  iy\n1\n2\n\n");
	/* Delimiters set in a partial stay in it, and the caller's do not reach it. */
	expect("{{=| |=}}|>p| |v|", "{\"v\": 1}", "{\"p\": \"{{v}}{{=< >=}}<v>\"}", "11 1");
	/* The same partial many times is looked up once per name and render. */
	expect("{{#l}}{{>p}}{{/l}}", "{\"l\": [1, 2, 3]}", "{\"p\": \"<{{.}}>\"}", "<1><2><3>");
}

/* A template parsed once renders many times, each run against its own data
 * and partials (a run must not keep the previous run's partials). */
static void test_parse_once_run_many(void **state)
{
	static const char tmpl[] = "{{#l}}{{>p}}{{/l}}|{{>q}}|{{name}}";
	struct rd_mustache *m = NULL;
	char err[128];
	assert_rc(rd_mustache_parse(tmpl, sizeof tmpl - 1, &m, err, sizeof err), 0);
	assert_non_null(m);
	static const char *const data[] = { "{\"l\": [1, 2], \"name\": \"<a>\"}", "{\"l\": [], \"name\": \"b\"}",
					    "{\"l\": [3], \"name\": \"c\"}" };
	static const char *const parts[] = { "{\"p\": \"<{{.}}>\", \"q\": \"Q1\"}", "{\"p\": \"x\", \"q\": \"Q2\"}",
					     "{\"p\": \"[{{.}}]\"}" };
	static const char *const want[] = { "<1><2>|Q1|&lt;a&gt;", "|Q2|b", "[3]||c" };
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3; i++) {
			json_t *d = json_loads(data[i], 0, NULL), *p = json_loads(parts[i], 0, NULL);
			char *out = NULL;
			size_t n;
			assert_rc(rd_mustache_run(m, d, json_partial, p, &out, &n, err, sizeof err), 0);
			assert_string_equal(out, want[i]);
			assert_int_equal(n, strlen(want[i]));
			free(out);
			json_decref(d);
			json_decref(p);
		}
	rd_mustache_free(m);
	/* A template that does not parse gives no parsed template, and says why. */
	m = (struct rd_mustache *)1;
	assert_int_equal(rd_mustache_parse("{{#a}}", 6, &m, err, sizeof err), RD_EINVAL);
	assert_null(m);
	assert_non_null(strstr(err, "never closed"));
	rd_mustache_free(NULL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Renders reps copies of a block that exercises text, escaping, sections,
 * standalone lines, comments, partials and long tag-free lines; returns the
 * seconds taken and the output length. */
static double time_render(size_t reps, json_t *data, json_t *partials, size_t *out_len)
{
	static const char block[] =
		"line {{a}} and {{{b}}}: {{#list}}<{{.}}>{{/list}}\n"
		"{{#obj}}\n"
		"  {{obj.c}} {{! a comment }} {{d}}\n"
		"{{/obj}}\n"
		"  {{>row}}\n"
		"{{^missing}}{ { { } } } no tags here, just braces { and } and text to scan over{{/missing}}\n";
	size_t bl = sizeof block - 1;
	char *t = malloc(reps * bl + 1);
	assert_non_null(t);
	for (size_t i = 0; i < reps; i++)
		memcpy(t + i * bl, block, bl);
	char *out = NULL, err[256];
	double t0 = now();
	int rc = rd_mustache_render(t, reps * bl, data, json_partial, partials, &out, out_len, err, sizeof err);
	double dt = now() - t0;
	if (rc)
		fail_msg("large template: %s", err);
	free(out);
	free(t);
	return dt;
}

static void test_large_template_linear(void **state)
{
	json_t *data = json_pack("{s:s, s:s, s:[i,i,i], s:{s:s}, s:s}", "a", "<&>", "b", "raw", "list", 1, 2, 3, "obj",
	                         "c", "C", "d", "D");
	json_t *partials = json_pack("{s:s}", "row", "r1 {{a}}\nr2\n");
	/* The big template is 8 times the small one (1 MB and 7.4 MB); both are
	 * larger than the caches, which would otherwise skew the ratio.  The best
	 * of three runs each, against noise. */
	size_t small_len, big_len, small = 4000, big = 32000;
	double ts = 1e9, tb = 1e9;
	for (int i = 0; i < 3; i++) {
		double t = time_render(small, data, partials, &small_len);
		ts = t < ts ? t : ts;
		t = time_render(big, data, partials, &big_len);
		tb = t < tb ? t : tb;
	}
	assert_int_equal(big_len, small_len * (big / small));
	print_message("large template: %zu bytes out in %.3f s, %zu bytes in %.3f s\n", small_len, ts, big_len, tb);
	/* Linear would take 8 times as long (up to 16 here as the caches fill), quadratic 64. */
	if (tb > 40 * ts)
		fail_msg("8 times the template took %.1f times as long (%.3f s vs %.3f s)", tb / ts, tb, ts);
	json_decref(data);
	json_decref(partials);
}

/* Many distinct partial names, many repeats of one name: no n^2 lookups. */
static void test_many_partials(void **state)
{
	size_t n = 50000;
	char *t = malloc(n * 16 + 1), *p = t;
	assert_non_null(t);
	json_t *partials = json_object();
	for (size_t i = 0; i < n; i++) {
		char name[16];
		snprintf(name, sizeof name, "p%zu", i);
		p += sprintf(p, "{{>%s}}", name);
		if (i % 2)
			json_object_set_new(partials, name, json_string("x"));
	}
	char *out = NULL, err[256];
	size_t len;
	double t0 = now();
	assert_rc(rd_mustache_render(t, strlen(t), NULL, json_partial, partials, &out, &len, err, sizeof err), 0);
	assert_int_equal(len, n / 2);
	free(out);
	p = t;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "{{>p1}}");
	assert_rc(rd_mustache_render(t, strlen(t), NULL, json_partial, partials, &out, &len, err, sizeof err), 0);
	assert_int_equal(len, n);
	double dt = now() - t0;
	print_message("%zu partial tags, half of them distinct names: %.3f s\n", 2 * n, dt);
	/* Comparing every name with every other would be over a billion compares. */
	assert_true(dt < 2.0);
	free(out);
	free(t);
	json_decref(partials);
}

int main(int argc, char **argv)
{
	mustache_spec_dir(argc, argv);
	mustache_spec_use(render_spec, "");
	const struct CMUnitTest tests[] = {
		MUSTACHE_SPEC_TESTS(""),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_recursion_stops),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values_and_truthiness),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_parse_once_run_many),
		cmocka_unit_test(test_large_template_linear),
		cmocka_unit_test(test_many_partials),
	};
	return cmocka_run_group_tests_name("mustache", tests, NULL, NULL);
}
