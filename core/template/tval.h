/*
 * tval.h: typed values for the Mustache renderer (core/template).
 *
 * A message's context is a small tree (a few dozen names: vendor, partner,
 * brand, customer, product, contract, quote, links).  Built as a jansson
 * tree it costs an allocation and a hash per value; as typed values it lives
 * in an arena (the first block usually on the caller's stack) and a name is
 * found by comparing the object's few keys in order.  rd_mustache_run_tv
 * reads it with the same semantics as a JSON context (mustache.h): the
 * types, the truthiness and the text of each value are JSON's.
 *
 * Objects keep their members in insertion order; setting a name that is
 * there replaces its value in place, deleting one closes the gap (as
 * jansson's object order does), so the compact JSON written from a typed
 * tree (rd_tv_write_json) has the bytes rd_json_write_compact writes for
 * the jansson tree built the same way.
 *
 * Keys given to rd_tv_set are borrowed (string literals, or text that
 * outlives the arena); strings are copied into the arena.  Out of memory
 * aborts (rd_malloc).  Not thread-safe: one arena, one thread.
 */
#ifndef RD_TEMPLATE_TVAL_H
#define RD_TEMPLATE_TVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum rd_tv_type { RD_TV_NULL, RD_TV_FALSE, RD_TV_TRUE, RD_TV_INT, RD_TV_REAL, RD_TV_STR, RD_TV_OBJ, RD_TV_ARR };

struct rd_tv_kv;

struct rd_tv {
	enum rd_tv_type type;
	uint32_t n, cap;            /* RD_TV_OBJ, RD_TV_ARR: members / elements */
	union {
		int64_t i;          /* RD_TV_INT */
		double d;           /* RD_TV_REAL */
		struct {
			const char *p; /* NUL-terminated, in the arena */
			size_t len;
		} s;                /* RD_TV_STR */
		struct rd_tv_kv *kv; /* RD_TV_OBJ */
		struct rd_tv **a;   /* RD_TV_ARR */
	} u;
};

struct rd_tv_kv {
	const char *key;
	struct rd_tv *v;
};

/* Blocks of memory handed out in order and freed together. */
struct rd_tv_block;
struct rd_tv_arena {
	char *p;                    /* next free byte of the current block */
	size_t left;
	struct rd_tv_block *blocks; /* malloc'd blocks, freed by rd_tv_arena_free */
};

/* buf (may be NULL) is the first block, borrowed (e.g. on the caller's stack). */
void rd_tv_arena_init(struct rd_tv_arena *a, void *buf, size_t len);
void rd_tv_arena_free(struct rd_tv_arena *a);
void *rd_tv_alloc(struct rd_tv_arena *a, size_t n);

struct rd_tv *rd_tv_obj(struct rd_tv_arena *a);
struct rd_tv *rd_tv_arr(struct rd_tv_arena *a);
struct rd_tv *rd_tv_str(struct rd_tv_arena *a, const char *s);            /* copied */
struct rd_tv *rd_tv_strn(struct rd_tv_arena *a, const char *s, size_t n); /* copied; NUL added */
struct rd_tv *rd_tv_int(struct rd_tv_arena *a, int64_t i);
struct rd_tv *rd_tv_real(struct rd_tv_arena *a, double d);
struct rd_tv *rd_tv_bool(struct rd_tv_arena *a, bool b);
struct rd_tv *rd_tv_null(struct rd_tv_arena *a);

/* obj[key] = v (key borrowed): replaced in place when present, else appended. */
void rd_tv_set(struct rd_tv_arena *a, struct rd_tv *obj, const char *key, struct rd_tv *v);
/* obj[key] = a string (copied). */
void rd_tv_set_str(struct rd_tv_arena *a, struct rd_tv *obj, const char *key, const char *s);
void rd_tv_append(struct rd_tv_arena *a, struct rd_tv *arr, struct rd_tv *v);
/* NULL when obj is not an object or has no such member. */
struct rd_tv *rd_tv_get(const struct rd_tv *obj, const char *key);
void rd_tv_del(struct rd_tv *obj, const char *key);

/* A jansson value as a typed tree (keys and strings copied into a), and back (a new reference). */
struct rd_tv *rd_tv_from_json(struct rd_tv_arena *a, const json_t *j);
json_t *rd_tv_to_json(const struct rd_tv *v);

/* Compact JSON (no spaces; strings escaped as JSON requires, control
 * characters as \u00XX; integers in decimal; reals with 17 digits so that
 * they read back the same, never as an integer) into buf, NUL-terminated.
 * false: it does not fit in cap bytes (buf's content is then unspecified).
 * The two write the same bytes for the same tree. */
bool rd_tv_write_json(const struct rd_tv *v, char *buf, size_t cap, size_t *len);
bool rd_json_write_compact(json_t *v, char *buf, size_t cap, size_t *len);

#endif
