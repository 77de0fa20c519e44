/*
 * mustache.h: Mustache templates rendered against JSON data or typed values
 * (core/template).
 *
 * Implements the Mustache specification's required modules: interpolation,
 * sections, inverted sections, comments, set delimiter and partials.  Lambdas
 * and template inheritance are not supported.  tests/unit/test_mustache.c
 * runs the official spec files (../shared/conformance/mustache) against it.
 *
 * Semantics, where the spec leaves a choice to the implementation:
 *
 *  - Escaping: {{name}} replaces & < > " and ' with &amp; &lt; &gt; &quot;
 *    and &#39; (the spec requires the first four; ' is escaped too so that a
 *    value is also safe inside a single-quoted HTML attribute).  {{{name}}}
 *    and {{&name}} insert the value as it is.
 *
 *  - Values as text: a string as it is; an integer in decimal; a real in the
 *    shortest %g form that reads back to the same double (1.21 -> "1.21",
 *    2.0 -> "2"); true and false as "true" and "false"; null, a missing name,
 *    an object and an array as nothing.
 *
 *  - Truthiness (sections and inverted sections), as JavaScript's !!value,
 *    which the spec gives as its example: false, null, a missing name, the
 *    empty array, the empty string, integer 0 and real 0.0 are falsey;
 *    everything else, the empty object included, is truthy.  A non-empty
 *    array renders the section once per element; any other truthy value
 *    renders it once with the value pushed on the context stack.
 *
 *  - Names: "." is the top of the context stack.  For "a.b.c", "a" is looked
 *    up from the top of the stack down, in objects only; "b" and "c" only
 *    inside the value found for the part before (no fallback to the stack).
 *    A name is one or more non-empty parts without whitespace.
 *
 *  - Partials are looked up through the caller's function once per name and
 *    render; a partial that is never rendered (inside a falsey section) is
 *    never looked up nor parsed, so its syntax errors go unreported.
 *
 *  - Depth: partials and sections that are being rendered may nest at most
 *    RD_MUSTACHE_MAX_DEPTH deep.  Going deeper (typically a partial that
 *    includes itself without a section that eventually ends) stops the
 *    render with RD_ETOOBIG and an error naming the tag: an error, not an
 *    empty expansion, so a runaway template is noticed rather than silently
 *    truncated.  Recursion that data ends (a tree rendered by a partial that
 *    includes itself inside a section over the children) works normally.
 *
 *  - Cost: parsing and rendering are linear in the template, the partials
 *    and the output; the output has no size limit of its own (a section over
 *    a large array repeats its body): bounding it is the caller's matter.
 *
 * Thread safety: none needed; rd_mustache_render keeps no state between
 * calls and may run concurrently on different data (a parsed template,
 * below, one run at a time).
 */
#ifndef RD_TEMPLATE_MUSTACHE_H
#define RD_TEMPLATE_MUSTACHE_H

#include <stddef.h>

#include <jansson.h>
#include <renewd/errors.h>  /* RD_EINVAL, RD_ETOOBIG */

/* How deep sections and partials being rendered may nest (see above). */
#define RD_MUSTACHE_MAX_DEPTH 256

/* Looks up a partial by name; returns its text (borrowed until the render ends) or NULL (an empty partial). */
typedef const char *(*rd_partial_fn)(void *ctx, const char *name, size_t *len);

/* Renders tmpl with data (a JSON object/array/value: the context stack starts with it).  On success returns 0 and
 * *out (malloc'd, NUL-terminated, caller frees) with *out_len; on a template error (unclosed section, mismatched
 * close tag, bad delimiter change, unclosed tag) returns RD_EINVAL with one sentence naming the line and problem in err.
 *
 * tmpl need not be NUL-terminated.  data is borrowed and may be NULL (an
 * empty context stack).  partials may be NULL (every partial is empty); it
 * is called with ctx and a NUL-terminated name and sets *len when it returns
 * text.  An error inside a partial names the partial as well as the line
 * ("partial 'row', line 3: ...").  Nesting deeper than RD_MUSTACHE_MAX_DEPTH
 * returns RD_ETOOBIG, also with a sentence in err.  On any failure *out is
 * NULL and *out_len 0.  err may be NULL when errlen is 0.  Out of memory
 * aborts (rd_malloc). */
int rd_mustache_render(const char *tmpl, size_t len, json_t *data, rd_partial_fn partials, void *ctx,
                       char **out, size_t *out_len, char *err, size_t errlen);

/* The same in two steps, for a template rendered many times: parse once,
 * run as often as needed, free.  tmpl is borrowed and must outlive the
 * parsed template.  One parsed template runs one render at a time (a run
 * keeps its partials' lookups in it until it ends); errors as above. */
struct rd_mustache;
int rd_mustache_parse(const char *tmpl, size_t len, struct rd_mustache **out, char *err, size_t errlen);
int rd_mustache_run(struct rd_mustache *m, json_t *data, rd_partial_fn partials, void *ctx, char **out,
                    size_t *out_len, char *err, size_t errlen);
void rd_mustache_free(struct rd_mustache *m);

/* The same with a typed context (tval.h) instead of a jansson tree: the
 * same semantics, value for value (an RD_TV_STR reads as a JSON string, an
 * RD_TV_INT as an integer, and so on), the same bytes out.  The sweep's
 * messages are rendered so (core/renew/notify.c). */
struct rd_tv;
int rd_mustache_run_tv(struct rd_mustache *m, const struct rd_tv *data, rd_partial_fn partials, void *ctx, char **out,
                       size_t *out_len, char *err, size_t errlen);
int rd_mustache_render_tv(const char *tmpl, size_t len, const struct rd_tv *data, rd_partial_fn partials, void *ctx,
                          char **out, size_t *out_len, char *err, size_t errlen);

#endif
