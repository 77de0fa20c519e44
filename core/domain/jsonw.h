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
#include <string.h>

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

/* Makes room for need more bytes (the buffer doubled, or more). */
void rd_jsonw_grow(struct rd_jsonw *w, size_t need);
static inline void rd_jsonw_raw(struct rd_jsonw *w, const char *s, size_t n)
{
	if (w->len + n > w->cap)
		rd_jsonw_grow(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}
void rd_jsonw_int(struct rd_jsonw *w, int64_t x);
/* A JSON string of s[0..n); false (nothing written) if s is not UTF-8. */
bool rd_jsonw_str(struct rd_jsonw *w, const char *s, size_t n);

/* The record obj of e as one object, its fields in table order, then
 * "extra_key":"extra_val" when extra_key is given (the contract's colour). */
void rd_jsonw_entity(struct rd_jsonw *w, const struct rd_entity *e, const void *obj, const char *extra_key,
		     const char *extra_val);

/* Records' JSON kept per stored version (jsonw.c): an entry is found only
 * for a record whose stored bytes are rec[0..len) exactly, and written as
 * rd_jsonw_entity would write the record they decode to.  aux_key/aux_val
 * are the caller's, for one value derived from the record and aux_key only
 * (the contract's colour on a day with a window), set once found, with the
 * extra pair it is written with (rd_jsonw_memo_aux). */
#define RD_JSONW_MEMO_TAIL 48
struct rd_jsonw_memo {
	const struct rd_entity *e;
	uint64_t tenant, id;
	uint64_t aux_key; /* 0: aux_val not set */
	unsigned aux_val;
	uint32_t raw_len, json_len;
	uint32_t tail_len; /* the bytes after the JSON: "}", or aux's extra pair and "}" */
	/* The stored bytes, then the JSON from "{" to before its "}", then
	 * the tail (at most RD_JSONW_MEMO_TAIL bytes). */
	char data[];
};
/* The entry of a record whose stored bytes are rec[0..len), or NULL. */
struct rd_jsonw_memo *rd_jsonw_memo_find(const struct rd_entity *e, uint64_t tenant, uint64_t id,
					       const void *rec, size_t len);
/* Keeps obj (rec[0..len) decoded) and returns its entry; NULL when not
 * kept (too large, or not the table's thread). */
struct rd_jsonw_memo *rd_jsonw_memo_put(const struct rd_entity *e, uint64_t tenant, uint64_t id,
					      const void *rec, size_t len, const void *obj);
/* rd_jsonw_entity into w, keeping what it wrote as the entry of the record
 * whose stored bytes are rec[0..len) (obj decoded from them); returns the
 * entry, NULL when not kept.  With aux_key (not 0) the entry's aux is set
 * as rd_jsonw_memo_aux(m, aux_key, aux_val, extra_key, extra_val) would,
 * its tail taken from what was written; else its tail is "}" (no aux). */
struct rd_jsonw_memo *rd_jsonw_entity_kept(struct rd_jsonw *w, const struct rd_entity *e, uint64_t tenant,
					   uint64_t id, const void *rec, size_t len, const void *obj,
					   const char *extra_key, const char *extra_val, uint64_t aux_key,
					   unsigned aux_val);
/* rd_jsonw_entity's bytes, from the entry. */
void rd_jsonw_memo_write(struct rd_jsonw *w, const struct rd_jsonw_memo *m, const char *extra_key,
			 const char *extra_val);
/* Sets the entry's aux_key/aux_val and its tail: "extra_key":"extra_val"
 * (extra_key NULL: none) and "}", as rd_jsonw_memo_write writes them.
 * False, and no aux (aux_key 0, tail "}"), when the tail is over
 * RD_JSONW_MEMO_TAIL bytes. */
bool rd_jsonw_memo_aux(struct rd_jsonw_memo *m, uint64_t aux_key, unsigned aux_val, const char *extra_key,
		       const char *extra_val);
/* The whole object from the entry, its tail included: what
 * rd_jsonw_memo_write gives with the extra pair of the last
 * rd_jsonw_memo_aux (none before it), in one copy. */
static inline void rd_jsonw_memo_write_whole(struct rd_jsonw *w, const struct rd_jsonw_memo *m)
{
	rd_jsonw_raw(w, m->data + m->raw_len, (size_t)m->json_len + m->tail_len);
}

#endif
