/* mustache_spec.c: the Mustache spec runner shared by the template tests
 * (mustache_spec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mustache_spec.h"
#include "unit.h"

static const char *spec_dir;
static mustache_spec_render_fn spec_render;
static const char *spec_how = "";

const char *mustache_spec_partial(void *ctx, const char *name, size_t *len)
{
	json_t *p = json_object_get(ctx, name);
	if (!json_is_string(p))
		return NULL;
	*len = json_string_length(p);
	return json_string_value(p);
}

void mustache_spec_dir(int argc, char **argv)
{
	spec_dir = argc > 1 ? argv[1] : getenv("RD_MUSTACHE_SPEC");
	if (!spec_dir)
		spec_dir = "../shared/conformance/mustache";
}

void mustache_spec_use(mustache_spec_render_fn render, const char *how)
{
	spec_render = render;
	spec_how = how;
}

/* Prints s with newlines, tabs, CRs, quotes and backslashes escaped. */
static void print_quoted(const char *s, size_t n)
{
	fputc('"', stderr);
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\n': fputs("\\n", stderr); break;
		case '\r': fputs("\\r", stderr); break;
		case '\t': fputs("\\t", stderr); break;
		case '"': fputs("\\\"", stderr); break;
		case '\\': fputs("\\\\", stderr); break;
		default: fputc(s[i], stderr); break;
		}
	}
	fputc('"', stderr);
}

void mustache_spec_run(void **state)
{
	const char *file = *state;
	struct stat st;
	if (!spec_dir || stat(spec_dir, &st) || !S_ISDIR(st.st_mode)) {
		print_message("Mustache spec not found at %s: the conformance suite is skipped\n", spec_dir);
		skip();
	}
	assert_non_null(spec_render);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", spec_dir, file);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		fail_msg("%s: cannot load: %s (line %d)", path, jerr.text, jerr.line);
	json_t *tests = json_object_get(root, "tests");
	assert_true(json_is_array(tests));
	assert_true(json_array_size(tests) > 0);
	size_t failed = 0, i;
	json_t *t;
	json_array_foreach(tests, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		json_t *tmpl = json_object_get(t, "template"), *want = json_object_get(t, "expected");
		assert_non_null(name);
		assert_true(json_is_string(tmpl) && json_is_string(want));
		char *out = NULL, err[256];
		size_t n = 0;
		int rc = spec_render(t, &out, &n, err, sizeof err);
		size_t wn = json_string_length(want);
		if (rc || n != wn || memcmp(out, json_string_value(want), n)) {
			failed++;
			fprintf(stderr, "%s: %s%s: expected ", file, name, spec_how);
			print_quoted(json_string_value(want), wn);
			if (rc) {
				fprintf(stderr, " got error %d (%s): %s\n", rc, rd_strerror(rc), err);
			} else {
				fputs(" got ", stderr);
				print_quoted(out, n);
				fputc('\n', stderr);
			}
		}
		free(out);
	}
	size_t total = json_array_size(tests);
	print_message("%s: %zu of %zu spec tests pass%s\n", file, total - failed, total, spec_how);
	json_decref(root);
	if (failed)
		fail_msg("%s: %zu of %zu spec tests failed%s", file, failed, total, spec_how);
}
