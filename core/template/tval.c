/*
 * tval.c: typed values in an arena (see tval.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/tval.h"
#include "util/err.h"

#define BLOCK 8192
#define ALIGN 16

struct rd_tv_block {
	struct rd_tv_block *next;
};

void rd_tv_arena_init(struct rd_tv_arena *a, void *buf, size_t len)
{
	a->blocks = NULL;
	a->p = buf;
	a->left = buf ? len : 0;
	/* the first object at an aligned address */
	size_t pad = buf ? (ALIGN - (uintptr_t)buf % ALIGN) % ALIGN : 0;
	if (pad > a->left)
		pad = a->left;
	a->p += pad;
	a->left -= pad;
}

void rd_tv_arena_free(struct rd_tv_arena *a)
{
	while (a->blocks) {
		struct rd_tv_block *n = a->blocks->next;
		free(a->blocks);
		a->blocks = n;
	}
	a->p = NULL;
	a->left = 0;
}

void *rd_tv_alloc(struct rd_tv_arena *a, size_t n)
{
	n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (n > a->left) {
		size_t want = n + ALIGN > BLOCK ? n + ALIGN : BLOCK;
		rd_require(want < SIZE_MAX - sizeof(struct rd_tv_block) - ALIGN);
		struct rd_tv_block *b = rd_malloc(sizeof *b + ALIGN + want);
		b->next = a->blocks;
		a->blocks = b;
		char *p = (char *)(b + 1);
		p += (ALIGN - (uintptr_t)p % ALIGN) % ALIGN;
		a->p = p;
		a->left = want;
	}
	void *r = a->p;
	a->p += n;
	a->left -= n;
	return r;
}

static struct rd_tv *val(struct rd_tv_arena *a, enum rd_tv_type t)
{
	struct rd_tv *v = rd_tv_alloc(a, sizeof *v);
	memset(v, 0, sizeof *v);
	v->type = t;
	return v;
}

struct rd_tv *rd_tv_obj(struct rd_tv_arena *a) { return val(a, RD_TV_OBJ); }
struct rd_tv *rd_tv_arr(struct rd_tv_arena *a) { return val(a, RD_TV_ARR); }
struct rd_tv *rd_tv_null(struct rd_tv_arena *a) { return val(a, RD_TV_NULL); }
struct rd_tv *rd_tv_bool(struct rd_tv_arena *a, bool b) { return val(a, b ? RD_TV_TRUE : RD_TV_FALSE); }

struct rd_tv *rd_tv_int(struct rd_tv_arena *a, int64_t i)
{
	struct rd_tv *v = val(a, RD_TV_INT);
	v->u.i = i;
	return v;
}

struct rd_tv *rd_tv_real(struct rd_tv_arena *a, double d)
{
	struct rd_tv *v = val(a, RD_TV_REAL);
	v->u.d = d;
	return v;
}

struct rd_tv *rd_tv_strn(struct rd_tv_arena *a, const char *s, size_t n)
{
	struct rd_tv *v = val(a, RD_TV_STR);
	char *p = rd_tv_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	v->u.s.p = p;
	v->u.s.len = n;
	return v;
}

struct rd_tv *rd_tv_str(struct rd_tv_arena *a, const char *s)
{
	return rd_tv_strn(a, s ? s : "", s ? strlen(s) : 0);
}

/* Room for one more member or element: the array doubles (the old one stays in the arena). */
static void *more(struct rd_tv_arena *a, void *items, uint32_t n, uint32_t *cap, size_t sz)
{
	if (n < *cap)
		return items;
	uint32_t c = *cap ? *cap * 2 : 8;
	rd_require(c > *cap);
	void *p = rd_tv_alloc(a, (size_t)c * sz);
	if (n)
		memcpy(p, items, (size_t)n * sz);
	*cap = c;
	return p;
}

/* Whether an object's key is key: the first bytes compared before the
 * call (a context's objects are set key by key, each set looking through
 * the keys before it). */
static inline bool same_key(const char *k, const char *key)
{
	return k == key || (k[0] == key[0] && !strcmp(k, key));
}

void rd_tv_set(struct rd_tv_arena *a, struct rd_tv *obj, const char *key, struct rd_tv *v)
{
	rd_require(obj && obj->type == RD_TV_OBJ && v);
	for (uint32_t i = 0; i < obj->n; i++)
		if (same_key(obj->u.kv[i].key, key)) {
			obj->u.kv[i].v = v;
			return;
		}
	obj->u.kv = more(a, obj->u.kv, obj->n, &obj->cap, sizeof *obj->u.kv);
	obj->u.kv[obj->n++] = (struct rd_tv_kv){ key, v };
}

void rd_tv_set_str(struct rd_tv_arena *a, struct rd_tv *obj, const char *key, const char *s)
{
	rd_tv_set(a, obj, key, rd_tv_str(a, s));
}

void rd_tv_append(struct rd_tv_arena *a, struct rd_tv *arr, struct rd_tv *v)
{
	rd_require(arr && arr->type == RD_TV_ARR && v);
	arr->u.a = more(a, arr->u.a, arr->n, &arr->cap, sizeof *arr->u.a);
	arr->u.a[arr->n++] = v;
}

struct rd_tv *rd_tv_get(const struct rd_tv *obj, const char *key)
{
	if (!obj || obj->type != RD_TV_OBJ)
		return NULL;
	for (uint32_t i = 0; i < obj->n; i++)
		if (same_key(obj->u.kv[i].key, key))
			return obj->u.kv[i].v;
	return NULL;
}

void rd_tv_del(struct rd_tv *obj, const char *key)
{
	if (!obj || obj->type != RD_TV_OBJ)
		return;
	for (uint32_t i = 0; i < obj->n; i++)
		if (same_key(obj->u.kv[i].key, key)) {
			memmove(&obj->u.kv[i], &obj->u.kv[i + 1], (obj->n - i - 1) * sizeof *obj->u.kv);
			obj->n--;
			return;
		}
}

struct rd_tv *rd_tv_from_json(struct rd_tv_arena *a, const json_t *j)
{
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_OBJECT: {
		struct rd_tv *o = rd_tv_obj(a);
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)j, key, x) {
			size_t kl = strlen(key);
			char *k = rd_tv_alloc(a, kl + 1);
			memcpy(k, key, kl + 1);
			rd_tv_set(a, o, k, rd_tv_from_json(a, x));
		}
		return o;
	}
	case JSON_ARRAY: {
		struct rd_tv *arr = rd_tv_arr(a);
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)j, i, x)
			rd_tv_append(a, arr, rd_tv_from_json(a, x));
		return arr;
	}
	case JSON_STRING: return rd_tv_strn(a, json_string_value(j), json_string_length(j));
	case JSON_INTEGER: return rd_tv_int(a, json_integer_value(j));
	case JSON_REAL: return rd_tv_real(a, json_real_value(j));
	case JSON_TRUE: return rd_tv_bool(a, true);
	case JSON_FALSE: return rd_tv_bool(a, false);
	default: return rd_tv_null(a);
	}
}

json_t *rd_tv_to_json(const struct rd_tv *v)
{
	switch (v ? v->type : RD_TV_NULL) {
	case RD_TV_OBJ: {
		json_t *o = json_object();
		for (uint32_t i = 0; i < v->n; i++)
			json_object_set_new(o, v->u.kv[i].key, rd_tv_to_json(v->u.kv[i].v));
		return o;
	}
	case RD_TV_ARR: {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < v->n; i++)
			json_array_append_new(arr, rd_tv_to_json(v->u.a[i]));
		return arr;
	}
	case RD_TV_STR: return json_stringn(v->u.s.p, v->u.s.len);
	case RD_TV_INT: return json_integer((json_int_t)v->u.i);
	case RD_TV_REAL: return json_real(v->u.d);
	case RD_TV_TRUE: return json_true();
	case RD_TV_FALSE: return json_false();
	default: return json_null();
	}
}

/* ---- compact JSON ---- */

struct pbuf {
	char *p;
	size_t len, cap;
};

static bool pput(struct pbuf *b, const char *s, size_t n)
{
	if (b->len + n >= b->cap)
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

/* One byte, without a call to memcpy: most of what a context writes is
 * punctuation between short strings. */
static inline bool put1(struct pbuf *b, char c)
{
	if (b->len + 1 >= b->cap)
		return false;
	b->p[b->len++] = c;
	return true;
}

/* Whether one of w's eight bytes needs escaping in a JSON string: below
 * 0x20, '"' or '\\'.  The "has a byte less than" test on w and on w with
 * each quote or backslash turned to zero; exact for the question "any?",
 * bytes of 0x80 and above never count. */
static inline bool escape_in8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & high;
}

static bool put_str(struct pbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!put1(b, '"'))
		return false;
	size_t run = 0, i = 0;
	while (i < n) {
		size_t end = n - i >= 8 ? i + 8 : n;
		if (end - i == 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (!escape_in8(w)) {
				i = end; /* the common case: eight plain bytes */
				continue;
			}
		}
		for (; i < end; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c >= 0x20 && c != '"' && c != '\\')
				continue;
			/* \" and \\, or \u00XX as "\\u%04x" wrote it */
			char esc[6] = { '\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15] };
			size_t k = 2;
			if (c < 0x20) {
				esc[1] = 'u';
				k = 6;
			}
			if (!pput(b, s + run, i - run) || !pput(b, esc, k))
				return false;
			run = i + 1;
		}
	}
	return pput(b, s + run, n - run) && put1(b, '"');
}

static bool put_int(struct pbuf *b, long long i)
{
	char num[24], *e = num + sizeof num, *p = e;
	unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		*--p = '-';
	return pput(b, p, (size_t)(e - p));
}

static bool put_real(struct pbuf *b, double d)
{
	char num[40];
	int n = snprintf(num, sizeof num, "%.17g", d);
	if (!strpbrk(num, ".eEni"))
		n += snprintf(num + n, sizeof num - (size_t)n, ".0");
	return pput(b, num, (size_t)n);
}

static bool put_tv(struct pbuf *b, const struct rd_tv *v)
{
	switch (v->type) {
	case RD_TV_OBJ:
		if (!put1(b, '{'))
			return false;
		for (uint32_t i = 0; i < v->n; i++)
			if ((i && !put1(b, ',')) || !put_str(b, v->u.kv[i].key, strlen(v->u.kv[i].key)) || !put1(b, ':') ||
			    !put_tv(b, v->u.kv[i].v))
				return false;
		return put1(b, '}');
	case RD_TV_ARR:
		if (!put1(b, '['))
			return false;
		for (uint32_t i = 0; i < v->n; i++)
			if ((i && !put1(b, ',')) || !put_tv(b, v->u.a[i]))
				return false;
		return put1(b, ']');
	case RD_TV_STR: return put_str(b, v->u.s.p, v->u.s.len);
	case RD_TV_INT: return put_int(b, (long long)v->u.i);
	case RD_TV_REAL: return put_real(b, v->u.d);
	case RD_TV_TRUE: return pput(b, "true", 4);
	case RD_TV_FALSE: return pput(b, "false", 5);
	default: return pput(b, "null", 4);
	}
}

static bool put_json(struct pbuf *b, json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *x;
		bool first = true;
		if (!pput(b, "{", 1))
			return false;
		json_object_foreach(v, key, x) {
			if ((!first && !pput(b, ",", 1)) || !put_str(b, key, strlen(key)) || !pput(b, ":", 1) ||
			    !put_json(b, x))
				return false;
			first = false;
		}
		return pput(b, "}", 1);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		if (!pput(b, "[", 1))
			return false;
		json_array_foreach(v, i, x) {
			if ((i && !pput(b, ",", 1)) || !put_json(b, x))
				return false;
		}
		return pput(b, "]", 1);
	}
	case JSON_STRING: return put_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER: return put_int(b, (long long)json_integer_value(v));
	case JSON_REAL: return put_real(b, json_real_value(v));
	case JSON_TRUE: return pput(b, "true", 4);
	case JSON_FALSE: return pput(b, "false", 5);
	default: return pput(b, "null", 4);
	}
}

bool rd_tv_write_json(const struct rd_tv *v, char *buf, size_t cap, size_t *len)
{
	struct pbuf b = { buf, 0, cap };
	if (!cap || !v || !put_tv(&b, v) || b.len >= cap)
		return false;
	buf[b.len] = 0;
	*len = b.len;
	return true;
}

bool rd_json_write_compact(json_t *v, char *buf, size_t cap, size_t *len)
{
	struct pbuf b = { buf, 0, cap };
	if (!cap || !v || !put_json(&b, v) || b.len >= cap)
		return false;
	buf[b.len] = 0;
	*len = b.len;
	return true;
}
