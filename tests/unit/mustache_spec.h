/*
 * mustache_spec.h: the official Mustache spec files run against a renderer
 * (test_mustache.c with JSON contexts, test_template_typed.c with typed
 * ones).  The spec directory is argv[1] (meson passes
 * ../shared/conformance/mustache beside the source tree), else
 * $RD_MUSTACHE_SPEC, else that relative path; when it is absent the spec
 * tests are skipped, saying so.
 */
#ifndef RD_TESTS_MUSTACHE_SPEC_H
#define RD_TESTS_MUSTACHE_SPEC_H

#include <stddef.h>

#include <jansson.h>

/* Partials from a JSON object of name -> text (ctx); anything else is empty. */
const char *mustache_spec_partial(void *ctx, const char *name, size_t *len);

/* Renders one spec test (its "template", "data" and "partials") into *out
 * (caller frees); returns the renderer's result code. */
typedef int (*mustache_spec_render_fn)(json_t *test, char **out, size_t *n, char *err, size_t errlen);

/* Where the spec is (from main's arguments). */
void mustache_spec_dir(int argc, char **argv);

/* A cmocka test: every test of the spec file named by *state rendered by
 * the renderer mustache_spec_use chose, each failure printed with what was
 * expected and what came; fails when any does. */
void mustache_spec_run(void **state);
void mustache_spec_use(mustache_spec_render_fn render, const char *how);

#define MUSTACHE_SPEC_TESTS(suffix)                                                                   \
	{ "spec comments.json" suffix, mustache_spec_run, NULL, NULL, "comments.json" },                \
	{ "spec delimiters.json" suffix, mustache_spec_run, NULL, NULL, "delimiters.json" },            \
	{ "spec interpolation.json" suffix, mustache_spec_run, NULL, NULL, "interpolation.json" },      \
	{ "spec inverted.json" suffix, mustache_spec_run, NULL, NULL, "inverted.json" },                \
	{ "spec partials.json" suffix, mustache_spec_run, NULL, NULL, "partials.json" },                \
	{ "spec sections.json" suffix, mustache_spec_run, NULL, NULL, "sections.json" }

#endif
