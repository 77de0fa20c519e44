/*
 * jsonw.h: records written as JSON straight from the model's field table
 * into one growing buffer, byte for byte what rd_entity_to_json dumped with
 * JSON_COMPACT gives (jansson's escaping: '"', '\\' and the control
 * characters only, "\u00XX" in upper-case hex; '/' and non-ASCII as they
 * are; a string that is not UTF-8 leaves its key out, as jansson's NULL
 * value did). The buffer grows with realloc, or, given alloc, by taking a
 * bigger piece from an allocator that frees everything at once (a request's
 * pool) and copying.
 */
#ifndef RD_DOMAIN_JSONW_H
#define RD_DOMAIN_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd_entity;

struct rd_jsonw {
	char *buf;
	size_t len, cap;
	void *(*alloc)(void *ctx, size_t n); /* NULL: buf is the writer's, grown with realloc */
	void *ctx;
};

/* Starts an empty buffer of at least cap bytes (alloc NULL: malloc). */
void rd_jsonw_init(struct rd_jsonw *w, size_t cap, void *(*alloc)(void *ctx, size_t n), void *ctx);
/* Frees a realloc'd buffer (nothing for an allocator's). */
void rd_jsonw_free(struct rd_jsonw *w);

void rd_jsonw_raw(struct rd_jsonw *w, const char *s, size_t n);
void rd_jsonw_int(struct rd_jsonw *w, int64_t x);
/* A JSON string of s[0..n); false (nothing written) if s is not UTF-8. */
bool rd_jsonw_str(struct rd_jsonw *w, const char *s, size_t n);

/* The record obj of e as one object, its fields in table order, then
 * "extra_key":"extra_val" when extra_key is given (the contract's colour). */
void rd_jsonw_entity(struct rd_jsonw *w, const struct rd_entity *e, const void *obj, const char *extra_key,
		     const char *extra_val);

#endif
