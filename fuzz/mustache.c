/*
 * mustache.c: the Mustache renderer (core/template/mustache.c) on a
 * template, its data and a partial: the input is TEMPLATE \0 DATA-JSON \0
 * PARTIAL (each part may be missing).  The partial is offered under the
 * name "body", as the pages' layout uses it (core/web/web.c).  Both entry
 * points: rd_mustache_render, and one parsed template run twice (which
 * must give the same text).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "template/mustache.h"

struct part {
	const char *text;
	size_t len;
};

static const char *partial(void *ctx, const char *name, size_t *len)
{
	struct part *p = ctx;
	if (strcmp(name, "body") != 0)
		return NULL;
	*len = p->len;
	return p->text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;
	const uint8_t *z1 = memchr(data, 0, size);
	size_t tlen = z1 ? (size_t)(z1 - data) : size;
	const uint8_t *d = z1 ? z1 + 1 : end;
	const uint8_t *z2 = memchr(d, 0, (size_t)(end - d));
	size_t dlen = z2 ? (size_t)(z2 - d) : (size_t)(end - d);
	const uint8_t *pt = z2 ? z2 + 1 : end;
	/* exact-size copies, so a read past any part is caught */
	char *tmpl = malloc(tlen ? tlen : 1), *ptext = malloc((size_t)(end - pt) + 1);
	memcpy(tmpl, data, tlen);
	memcpy(ptext, pt, (size_t)(end - pt));
	struct part p = { ptext, (size_t)(end - pt) };
	json_t *j = dlen ? json_loadb((const char *)d, dlen, 0, NULL) : NULL;
	char *out = NULL, err[256];
	size_t olen = 0;
	rd_mustache_render(tmpl, tlen, j, partial, &p, &out, &olen, err, sizeof err);
	free(out);
	struct rd_mustache *m;
	if (rd_mustache_parse(tmpl, tlen, &m, err, sizeof err) == 0) {
		char *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		int ra = rd_mustache_run(m, j, partial, &p, &a, &al, err, sizeof err);
		int rb = rd_mustache_run(m, j, partial, &p, &b, &bl, err, sizeof err);
		if (ra != rb || al != bl || (ra == 0 && memcmp(a, b, al) != 0))
			abort(); /* a parsed template must render the same twice */
		free(a);
		free(b);
		rd_mustache_free(m);
	}
	json_decref(j);
	free(tmpl);
	free(ptext);
	return 0;
}
