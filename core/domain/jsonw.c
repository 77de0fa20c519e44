/*
 * jsonw.c: records written as JSON straight from the field table (jsonw.h).
 * The rules are rd_entity_to_json's, field by field (model.c), and the
 * bytes are jansson's JSON_COMPACT dump of that tree; tests/unit/test_jsonw.c
 * compares the two on every entity.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain/date.h"
#include "domain/jsonw.h"
#include "domain/model.h"
#include "domain/quote.h"
#include "util/err.h"

void rd_jsonw_init(struct rd_jsonw *w, size_t cap, void *(*alloc)(void *ctx, size_t n), void *ctx)
{
	if (cap < 64)
		cap = 64;
	*w = (struct rd_jsonw){ .cap = cap, .alloc = alloc, .ctx = ctx };
	w->buf = alloc ? alloc(ctx, cap) : rd_malloc(cap);
}

void rd_jsonw_free(struct rd_jsonw *w)
{
	if (!w->alloc)
		free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

void rd_jsonw_grow(struct rd_jsonw *w, size_t need)
{
	size_t cap = w->cap * 2;
	while (cap < w->len + need)
		cap *= 2;
	if (w->alloc) {
		char *b = w->alloc(w->ctx, cap);
		memcpy(b, w->buf, w->len);
		w->buf = b;
	} else {
		w->buf = rd_realloc(w->buf, cap);
	}
	w->cap = cap;
}

static inline char *room(struct rd_jsonw *w, size_t need)
{
	if (w->len + need > w->cap)
		rd_jsonw_grow(w, need);
	return w->buf + w->len;
}

#define LIT(w, s) rd_jsonw_raw(w, s, sizeof s - 1)

void rd_jsonw_int(struct rd_jsonw *w, int64_t x)
{
	char t[24], *e = t + sizeof t, *p = e;
	uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (x < 0)
		*--p = '-';
	rd_jsonw_raw(w, p, (size_t)(e - p));
}

/* The length of the UTF-8 sequence at s[i..n) as jansson accepts it
 * (no overlong forms, no surrogates, nothing past U+10FFFF); 0: invalid. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
	unsigned char u = s[i];
	size_t k;
	uint32_t v;
	if (u >= 0xC2 && u <= 0xDF)
		k = 2, v = u & 0x1F;
	else if (u >= 0xE0 && u <= 0xEF)
		k = 3, v = u & 0x0F;
	else if (u >= 0xF0 && u <= 0xF4)
		k = 4, v = u & 0x07;
	else
		return 0;
	if (k > n - i)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if (s[i + j] < 0x80 || s[i + j] > 0xBF)
			return 0;
		v = (v << 6) | (s[i + j] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (k == 3 && v < 0x800) || (k == 4 && v < 0x10000))
		return 0;
	return k;
}

bool rd_jsonw_str(struct rd_jsonw *w, const char *str, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t start = w->len;
	/* At most six bytes per input byte ("\u00XX") and the quotes. */
	char *o = room(w, n * 6 + 2), *b = o;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t k = utf8_seq(s, i, n);
			if (!k) {
				w->len = start;
				return false;
			}
			memcpy(o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		i++;
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
		}
	}
	*o++ = '"';
	w->len += (size_t)(o - b);
	return true;
}

static uint64_t get_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

/* n's last k decimal digits, zero-padded. */
static char *digits(char *o, unsigned n, int k)
{
	for (int i = k - 1; i >= 0; i--, n /= 10)
		o[i] = (char)('0' + n % 10);
	return o + k;
}

/* "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SSZ" with their quotes: the date as
 * rd_date_format writes it, the time's digits as rd_time_format's "%02u"
 * give them (the hour taken modulo 100 as it does), without snprintf. */
static void date_str(struct rd_jsonw *w, rd_date days, uint64_t sec_of_day, bool time)
{
	char *o = room(w, 22), *b = o;
	*o++ = '"';
	rd_date_format(days, o);
	o += 10;
	if (time) {
		unsigned sec = (unsigned)sec_of_day;
		*o++ = 'T';
		o = digits(o, sec / 3600 % 100u, 2);
		*o++ = ':';
		o = digits(o, sec / 60 % 60, 2);
		*o++ = ':';
		o = digits(o, sec % 60, 2);
		*o++ = 'Z';
	}
	*o++ = '"';
	w->len += (size_t)(o - b);
}

static const char *const terms[] = { "", "annual", "quarterly", "monthly", "flex" };

/* "key": with its comma; the caller rolls back to mark if the value fails.
 * The table's names are plain ASCII: copied as they are, one pass; a name
 * that needs escaping goes through rd_jsonw_str.  Returns the name's length,
 * KEY_BAD if it is not UTF-8. */
#define KEY_BAD ((size_t)-1)
static size_t key(struct rd_jsonw *w, bool *first, const char *k)
{
	if (!*first)
		LIT(w, ",");
	*first = false;
	size_t head = w->len, n = 0;
	for (;;) {
		char *o = room(w, 32);
		size_t i = 0;
		if (n == 0)
			o[i++] = '"';
		for (; i < 30; i++, n++) {
			unsigned char c = (unsigned char)k[n];
			if (c == 0) {
				o[i] = '"';
				o[i + 1] = ':';
				w->len += i + 2;
				return n;
			}
			if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
				goto slow;
			o[i] = (char)c;
		}
		w->len += i;
	}
slow:
	w->len = head;
	n = strlen(k);
	if (!rd_jsonw_str(w, k, n))
		return KEY_BAD; /* jansson refused the key: the pair is left out */
	LIT(w, ":");
	return n;
}

/* A key known to need no escaping ("\"", "\\", control characters and
 * non-ASCII: none): copied at once.  Returns its length. */
static size_t plain_key(struct rd_jsonw *w, bool *first, const char *k)
{
	size_t n = strlen(k);
	char *o = room(w, n + 4);
	size_t i = 0;
	if (!*first)
		o[i++] = ',';
	*first = false;
	o[i++] = '"';
	memcpy(o + i, k, n);
	i += n;
	o[i++] = '"';
	o[i++] = ':';
	w->len += i;
	return n;
}

/* Entities whose every field name is plain (checked once per entity, kept
 * for all threads: appended under a lock, read without). */
#define PLAIN_MAX 64
static const struct rd_entity *plain_entities[PLAIN_MAX];
static atomic_int n_plain;

static bool keys_plain(const struct rd_entity *e)
{
	int n = atomic_load_explicit(&n_plain, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (plain_entities[i] == e)
			return true;
	for (size_t i = 0; i < e->n_fields; i++)
		for (const unsigned char *c = (const unsigned char *)e->fields[i].json; *c; c++)
			if (*c < 0x20 || *c >= 0x80 || *c == '"' || *c == '\\')
				return false;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	n = atomic_load_explicit(&n_plain, memory_order_relaxed);
	bool listed = false;
	for (int i = 0; i < n; i++)
		listed = listed || plain_entities[i] == e;
	if (!listed && n < PLAIN_MAX) {
		plain_entities[n] = e;
		atomic_store_explicit(&n_plain, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&lock);
	return true;
}

static bool cstr(struct rd_jsonw *w, const char *s, size_t cap)
{
	return rd_jsonw_str(w, s, strnlen(s, cap));
}

/* A jansson tree dumped compact into the buffer (the quote lines). */
static int dump_cb(const char *buf, size_t size, void *data)
{
	rd_jsonw_raw(data, buf, size);
	return 0;
}

/* The record's fields after its "{"; returns whether none was written. */
static bool entity_fields(struct rd_jsonw *w, const struct rd_entity *e, const void *obj)
{
	const char *base = obj;
	bool first = true, plain = keys_plain(e);
	for (size_t i = 0; i < e->n_fields; i++) {
		const struct rd_field *f = &e->fields[i];
		const void *p = base + f->off;
		if ((f->flags & RD_FF_PRIVATE) || f->type == RD_F_BYTES || f->type == RD_F_QUOTE_JSON)
			continue;
		size_t mark = w->len;
		bool was_first = first;
		size_t jl = plain ? plain_key(w, &first, f->json) : key(w, &first, f->json);
		if (jl == KEY_BAD)
			goto drop;
		switch (f->type) {
		case RD_F_TIME: {
			uint64_t x = get_uint(p, f->size);
			if (x)
				date_str(w, (rd_date)(x / 86400), x % 86400, true);
			else
				LIT(w, "null");
			break;
		}
		case RD_F_U64:
		case RD_F_U32: {
			uint64_t x = get_uint(p, f->size);
			/* A zero reference ("..._id") is absent; a zero count is 0. */
			bool ref = f->no != 1 && jl > 3 && memcmp(f->json + jl - 3, "_id", 3) == 0;
			if (x || !ref)
				rd_jsonw_int(w, (int64_t)x);
			else
				LIT(w, "null");
			break;
		}
		case RD_F_I32DATE: {
			int32_t d = *(const int32_t *)p;
			if (d)
				date_str(w, d, 0, false);
			else
				LIT(w, "null");
			break;
		}
		case RD_F_U8ENUM: {
			uint8_t x = *(const uint8_t *)p;
			size_t n = 0;
			while (f->names[n])
				n++;
			if (!(x && x < n && rd_jsonw_str(w, f->names[x], strlen(f->names[x]))))
				LIT(w, "null");
			break;
		}
		case RD_F_U8FLAGS: {
			uint8_t x = *(const uint8_t *)p;
			bool any = false;
			LIT(w, "[");
			for (size_t k = 0; f->names[k]; k++) {
				if (!(x & (1u << k)))
					continue;
				size_t m = w->len;
				if (any)
					LIT(w, ",");
				if (rd_jsonw_str(w, f->names[k], strlen(f->names[k])))
					any = true;
				else
					w->len = m;
			}
			LIT(w, "]");
			break;
		}
		case RD_F_STR:
			if (!cstr(w, p, f->size))
				goto drop;
			break;
		case RD_F_PRICES: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			const struct rd_price *pr = p;
			bool any = false;
			LIT(w, "[");
			for (uint8_t k = 0; k < n; k++) {
				size_t m = w->len;
				if (any)
					LIT(w, ",");
				const char *term = pr[k].term < 5 ? terms[pr[k].term] : "";
				LIT(w, "{\"currency\":");
				if (!cstr(w, pr[k].currency, sizeof pr[k].currency)) {
					w->len = m;
					continue;
				}
				LIT(w, ",\"term\":");
				rd_jsonw_str(w, term, strlen(term));
				LIT(w, ",\"amount\":");
				rd_jsonw_int(w, (int64_t)pr[k].amount);
				LIT(w, "}");
				any = true;
			}
			LIT(w, "]");
			break;
		}
		case RD_F_IDS: {
			uint8_t n = *(const uint8_t *)(base + f->count_off);
			LIT(w, "[");
			for (uint8_t k = 0; k < n; k++) {
				if (k)
					LIT(w, ",");
				rd_jsonw_int(w, (int64_t)((const uint64_t *)p)[k]);
			}
			LIT(w, "]");
			break;
		}
		case RD_F_QUOTE: {
			/* Opportunities' lines: rare on lists, nested margins;
			 * the tree model.c builds, dumped as it was. */
			json_t *v = rd_quote_lines_json(p, *(const uint8_t *)(base + f->count_off));
			if (!v || json_dump_callback(v, dump_cb, w, JSON_COMPACT) < 0) {
				json_decref(v);
				goto drop;
			}
			json_decref(v);
			break;
		}
		case RD_F_BYTES:
		case RD_F_QUOTE_JSON:
			break;
		}
		continue;
drop:		/* jansson left a key whose value it could not make out */
		w->len = mark;
		first = was_first;
	}
	return first;
}

/* "extra_key":"extra_val" (its comma unless first) and the closing "}". */
static void entity_end(struct rd_jsonw *w, bool first, const char *extra_key, const char *extra_val)
{
	if (extra_key) {
		size_t mark = w->len;
		bool was_first = first;
		if (key(w, &first, extra_key) == KEY_BAD || !rd_jsonw_str(w, extra_val, strlen(extra_val))) {
			w->len = mark;
			first = was_first;
		}
	}
	LIT(w, "}");
}

void rd_jsonw_entity(struct rd_jsonw *w, const struct rd_entity *e, const void *obj, const char *extra_key,
		     const char *extra_val)
{
	LIT(w, "{");
	entity_end(w, entity_fields(w, e, obj), extra_key, extra_val);
}

/* ---- records' JSON kept per stored version ------------------------------------
 * A direct-mapped table of MEMO_SLOTS entries, by (entity, tenant, id); an
 * entry holds the record's stored bytes and its fields' JSON (from "{" to
 * before the "}"), so a record whose stored bytes are the same is written
 * from it without decoding.  The JSON is a function of the bytes alone (the
 * decode and the writer read nothing else), so a byte-identical record
 * always has byte-identical JSON; any change to a record changes its bytes.
 * Entries over MEMO_MAX bytes are not kept.  The table belongs to the first
 * thread that uses it (the server's loop); other threads go without. */
#define MEMO_SLOTS 8192
#define MEMO_MAX 4096
static struct rd_jsonw_memo *memo[MEMO_SLOTS];
static pthread_t memo_owner;
static atomic_bool memo_owned;

static bool memo_claim(void)
{
	static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&m);
	if (!atomic_load_explicit(&memo_owned, memory_order_relaxed)) {
		memo_owner = pthread_self();
		atomic_store_explicit(&memo_owned, true, memory_order_release);
	}
	pthread_mutex_unlock(&m);
	return pthread_equal(memo_owner, pthread_self());
}

/* Whether the table is this thread's (the first to ask claims it). */
static inline bool memo_mine(void)
{
	if (atomic_load_explicit(&memo_owned, memory_order_acquire))
		return pthread_equal(memo_owner, pthread_self());
	return memo_claim();
}

static unsigned memo_slot(const struct rd_entity *e, uint64_t tenant, uint64_t id)
{
	uint64_t h = (uint64_t)(uintptr_t)e * 0x9e3779b97f4a7c15u ^ tenant * 0xc2b2ae3d27d4eb4fu ^ id * 0x165667b19e3779f9u;
	h ^= h >> 29;
	return (unsigned)(h % MEMO_SLOTS);
}

struct rd_jsonw_memo *rd_jsonw_memo_find(const struct rd_entity *e, uint64_t tenant, uint64_t id,
					       const void *rec, size_t len)
{
	if (!memo_mine())
		return NULL;
	struct rd_jsonw_memo *m = memo[memo_slot(e, tenant, id)];
	if (m && m->e == e && m->tenant == tenant && m->id == id && m->raw_len == len && memcmp(m->data, rec, len) == 0)
		return m;
	return NULL;
}

/* Keeps json[0..jlen) (from "{" to before "}") as rec's entry, its tail "}". */
static struct rd_jsonw_memo *memo_keep(const struct rd_entity *e, uint64_t tenant, uint64_t id, const void *rec,
				       size_t len, const char *json, size_t jlen)
{
	if (len + jlen > MEMO_MAX || !memo_mine())
		return NULL;
	struct rd_jsonw_memo *m = rd_malloc(sizeof *m + len + jlen + RD_JSONW_MEMO_TAIL);
	*m = (struct rd_jsonw_memo){ .e = e, .tenant = tenant, .id = id, .raw_len = (uint32_t)len,
				     .json_len = (uint32_t)jlen, .tail_len = 1 };
	memcpy(m->data, rec, len);
	memcpy(m->data + len, json, jlen);
	m->data[len + jlen] = '}';
	unsigned slot = memo_slot(e, tenant, id);
	free(memo[slot]);
	memo[slot] = m;
	return m;
}

struct rd_jsonw_memo *rd_jsonw_memo_put(const struct rd_entity *e, uint64_t tenant, uint64_t id,
					      const void *rec, size_t len, const void *obj)
{
	if (len > MEMO_MAX || !memo_mine())
		return NULL;
	struct rd_jsonw w;
	rd_jsonw_init(&w, 1024, NULL, NULL);
	LIT(&w, "{");
	entity_fields(&w, e, obj);
	struct rd_jsonw_memo *m = memo_keep(e, tenant, id, rec, len, w.buf, w.len);
	rd_jsonw_free(&w);
	return m;
}

struct rd_jsonw_memo *rd_jsonw_entity_kept(struct rd_jsonw *w, const struct rd_entity *e, uint64_t tenant,
					   uint64_t id, const void *rec, size_t len, const void *obj,
					   const char *extra_key, const char *extra_val, uint64_t aux_key,
					   unsigned aux_val)
{
	size_t start = w->len;
	LIT(w, "{");
	bool first = entity_fields(w, e, obj);
	struct rd_jsonw_memo *m = memo_keep(e, tenant, id, rec, len, w->buf + start, w->len - start);
	size_t tail = w->len;
	entity_end(w, first, extra_key, extra_val);
	if (m && aux_key && w->len - tail <= RD_JSONW_MEMO_TAIL) {
		memcpy(m->data + m->raw_len + m->json_len, w->buf + tail, w->len - tail);
		m->tail_len = (uint32_t)(w->len - tail);
		m->aux_key = aux_key;
		m->aux_val = aux_val;
	}
	return m;
}

void rd_jsonw_memo_write(struct rd_jsonw *w, const struct rd_jsonw_memo *m, const char *extra_key,
			 const char *extra_val)
{
	rd_jsonw_raw(w, m->data + m->raw_len, m->json_len);
	entity_end(w, m->json_len == 1, extra_key, extra_val);
}

bool rd_jsonw_memo_aux(struct rd_jsonw_memo *m, uint64_t aux_key, unsigned aux_val, const char *extra_key,
		       const char *extra_val)
{
	char *tail = m->data + m->raw_len + m->json_len;
	struct rd_jsonw t;
	rd_jsonw_init(&t, 64, NULL, NULL);
	entity_end(&t, m->json_len == 1, extra_key, extra_val);
	bool fits = t.len <= RD_JSONW_MEMO_TAIL;
	if (fits) {
		memcpy(tail, t.buf, t.len);
		m->tail_len = (uint32_t)t.len;
		m->aux_key = aux_key;
		m->aux_val = aux_val;
	} else {
		tail[0] = '}';
		m->tail_len = 1;
		m->aux_key = 0;
		m->aux_val = 0;
	}
	rd_jsonw_free(&t);
	return fits;
}
