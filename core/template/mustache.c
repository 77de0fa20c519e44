/*
 * mustache.c: Mustache templates (see mustache.h for the semantics).
 *
 * Each compilation unit (the template, each partial) is parsed once into a
 * flat token array; a section token knows the index of its close tag, so
 * rendering walks index ranges and recursion depth equals the nesting of
 * what is being rendered, which is checked against RD_MUSTACHE_MAX_DEPTH.
 *
 * Standalone lines are resolved while parsing: the tokens of the current
 * line start at line_tok, and a standalone tag truncates them (only a LINE
 * marker and whitespace can be there) and skips the rest of its line.
 *
 * Partial indentation is applied at render time instead of rewriting the
 * partial's text: the parser puts a LINE token at the start of every kept
 * line of the template, and LINE emits the indentation in effect.  That is
 * what prepending the indentation to every line of the partial would do
 * (values containing newlines stay unindented, as the spec wants), without
 * copying or re-parsing the partial for each indentation.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/mustache.h"
#include "template/tval.h"
#include "util/err.h"

#define MAX_DELIM 16     /* bytes in a custom delimiter */
#define NAME_IN_ERR 40   /* bytes of a name quoted in an error */

enum tok_type { T_TEXT, T_LINE, T_VAR, T_RAW, T_SECTION, T_INVERTED, T_CLOSE, T_PARTIAL };

struct tok {
	enum tok_type type;
	bool standalone;        /* T_PARTIAL: its line was standalone */
	size_t off, len;        /* T_TEXT: the text; name tokens: the name as written */
	size_t line;            /* where the tag starts, for errors */
	size_t name;            /* name tokens: offset in the unit's names arena */
	size_t aux;             /* T_PARTIAL: bytes of indentation, stored after the name in the
	                         * arena; other names: their parts, 0 for "." */
	size_t end;             /* T_SECTION, T_INVERTED: index of the T_CLOSE;
	                         * T_PARTIAL: 1 + index in the render's cache, 0 unresolved */
};

/* One parsed template or partial. */
struct unit {
	const char *src;        /* borrowed from the caller */
	size_t len;
	char *pname;            /* owned; the partial's name, NULL for the template */
	struct tok *toks;       /* owned */
	size_t n, cap;
	char *names;            /* owned: each name NUL-terminated, dotted ones split at '.' */
	size_t names_n, names_cap;
};

struct parser {
	struct unit *u;
	size_t pos, line;
	char open[MAX_DELIM + 1], close[MAX_DELIM + 2]; /* close has room for a '}' or '=' in front */
	size_t open_len, close_len;
	size_t line_start;      /* offset where the current line starts */
	size_t line_tok;        /* first token of the current line */
	bool line_tag, line_text; /* the line so far has a tag / non-blank text */
	size_t *sections;       /* owned: token indices of open sections */
	size_t ns, scap;
	char *err;
	size_t errlen;
};

struct buf {
	char *p;                /* owned until handed to the caller */
	size_t n, cap;
};

struct render {
	struct buf out;
	bool typed;             /* the values are struct rd_tv (tval.h), else json_t */
	const void **stack;     /* owned array of borrowed values */
	size_t sn, scap;
	rd_partial_fn fn;
	void *ctx;
	struct unit **cache;    /* owned: partials resolved so far */
	size_t cn, ccap;
	size_t *slots;          /* owned: open-addressing index of cache by name, 1 + index or 0 */
	size_t nslots;          /* a power of two, at least twice cn */
	char *err;
	size_t errlen;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Grows *p (of *cap elements of size sz) to hold at least want elements. */
static void grow(void **p, size_t *cap, size_t want, size_t sz)
{
	if (want <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < want) {
		rd_require(c <= SIZE_MAX / 2 / sz);
		c *= 2;
	}
	*p = rd_realloc(*p, c * sz);
	*cap = c;
}

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (!n)
		return;
	rd_require(n < SIZE_MAX - b->n - 1);
	grow((void **)&b->p, &b->cap, b->n + n + 1, 1);
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

/* Writes "[partial 'x', ]line N: <message>" into err. */
__attribute__((format(printf, 5, 6)))
static void set_err(char *err, size_t errlen, const struct unit *u, size_t line, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	int k = u->pname ? snprintf(err, errlen, "partial '%.*s', line %zu: ", NAME_IN_ERR, u->pname, line)
	                 : snprintf(err, errlen, "line %zu: ", line);
	if (k < 0 || (size_t)k >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
}

static void unit_free(struct unit *u)
{
	if (!u)
		return;
	free(u->pname);
	free(u->toks);
	free(u->names);
	free(u);
}

/* ---- parsing ---- */

static struct tok *push_tok(struct parser *p, enum tok_type type, size_t off, size_t len)
{
	struct unit *u = p->u;
	grow((void **)&u->toks, &u->cap, u->n + 1, sizeof *u->toks);
	struct tok *t = &u->toks[u->n++];
	*t = (struct tok){ .type = type, .off = off, .len = len, .line = p->line };
	return t;
}

/* Starts a template line at p->pos: a LINE token if anything follows. */
static void new_line(struct parser *p)
{
	p->line_start = p->pos;
	p->line_tok = p->u->n;
	p->line_tag = p->line_text = false;
	if (p->pos < p->u->len)
		push_tok(p, T_LINE, p->pos, 0);
}

/* Emits the literal text [p->pos, to), one token per line. */
static void emit_text(struct parser *p, size_t to)
{
	const char *s = p->u->src;
	while (p->pos < to) {
		const char *nl = memchr(s + p->pos, '\n', to - p->pos);
		size_t end = nl ? (size_t)(nl - s) + 1 : to;
		push_tok(p, T_TEXT, p->pos, end - p->pos);
		for (size_t i = p->pos; i < end && !p->line_text; i++)
			p->line_text = !is_blank(s[i]) && s[i] != '\n';
		p->pos = end;
		if (nl) {
			p->line++;
			new_line(p);
		}
	}
}

/* memmem for a short needle (a delimiter).  Not memmem itself: the
 * sanitizers' interceptor checks the whole haystack on every call, which
 * makes scanning a template tag by tag quadratic in ASan builds. */
static const char *find(const char *h, size_t hn, const char *nd, size_t nn)
{
	const char *end = h + hn;
	while ((size_t)(end - h) >= nn) {
		const char *q = memchr(h, nd[0], (size_t)(end - h) - nn + 1);
		if (!q)
			return NULL;
		if (!memcmp(q + 1, nd + 1, nn - 1))
			return q;
		h = q + 1;
	}
	return NULL;
}

static void trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && is_space(s[*a]))
		(*a)++;
	while (*b > *a && is_space(s[*b - 1]))
		(*b)--;
}

/* Checks a tag's name [a, b) and stores it in the names arena: split at
 * dots, or for a partial whole and followed by its indentation [ind, ind +
 * ind_len).  Returns 0 or RD_EINVAL. */
static int add_name(struct parser *p, struct tok *t, size_t a, size_t b, size_t ind, size_t ind_len)
{
	struct unit *u = p->u;
	const char *s = u->src;
	if (a == b) {
		set_err(p->err, p->errlen, u, t->line, "a tag has no name");
		return RD_EINVAL;
	}
	for (size_t i = a; i < b; i++) {
		if (is_space(s[i])) {
			set_err(p->err, p->errlen, u, t->line, "the tag name '%.*s' contains whitespace",
			        (int)(b - a < NAME_IN_ERR ? b - a : NAME_IN_ERR), s + a);
			return RD_EINVAL;
		}
	}
	t->off = a;
	t->len = b - a;
	bool split = t->type != T_PARTIAL;
	size_t extra = split ? 0 : ind_len;
	t->name = u->names_n;
	grow((void **)&u->names, &u->names_cap, u->names_n + t->len + 1 + extra, 1);
	char *d = u->names + u->names_n;
	u->names_n += t->len + 1 + extra;
	memcpy(d, s + a, t->len);
	d[t->len] = 0;
	if (!split) {
		memcpy(d + t->len + 1, s + ind, extra);
		t->aux = extra;
		return 0;
	}
	if (t->len == 1 && d[0] == '.') {
		t->aux = 0;
		return 0;
	}
	t->aux = 1;
	for (size_t i = 0; i < t->len; i++) {
		if (d[i] != '.')
			continue;
		if (i == 0 || i + 1 == t->len || d[i + 1] == '.') {
			set_err(p->err, p->errlen, u, t->line, "the name '%.*s' has an empty part between dots",
			        (int)(t->len < NAME_IN_ERR ? t->len : NAME_IN_ERR), s + a);
			return RD_EINVAL;
		}
		d[i] = 0;
		t->aux++;
	}
	return 0;
}

/* {{=<open> <close>=}}: the content [a, b) must be two words. */
static int set_delims(struct parser *p, size_t a, size_t b, size_t line)
{
	const char *s = p->u->src;
	trim(s, &a, &b);
	size_t o1 = a, o2 = a;
	while (o2 < b && !is_space(s[o2]))
		o2++;
	size_t c1 = o2;
	while (c1 < b && is_space(s[c1]))
		c1++;
	size_t c2 = c1;
	while (c2 < b && !is_space(s[c2]))
		c2++;
	if (o1 == o2 || c1 == c2 || c2 != b || o2 - o1 > MAX_DELIM || c2 - c1 > MAX_DELIM) {
		set_err(p->err, p->errlen, p->u, line,
		        "bad delimiter change '%.*s': give two delimiters of at most %d bytes separated by a space, as {{=<%% %%>=}}",
		        (int)(b - a < NAME_IN_ERR ? b - a : NAME_IN_ERR), s + a, MAX_DELIM);
		return RD_EINVAL;
	}
	memcpy(p->open, s + o1, o2 - o1);
	p->open_len = o2 - o1;
	memcpy(p->close, s + c1, c2 - c1);
	p->close_len = c2 - c1;
	return 0;
}

/* If the tag [ts, te) stands alone on its line, returns true with *next
 * set past the line's end. */
static bool standalone(const struct parser *p, size_t te, size_t *next)
{
	const char *s = p->u->src;
	size_t len = p->u->len;
	if (p->line_tag || p->line_text)
		return false;
	while (te < len && is_blank(s[te]))
		te++;
	if (te == len)
		*next = len;
	else if (s[te] == '\n')
		*next = te + 1;
	else if (s[te] == '\r' && te + 1 < len && s[te + 1] == '\n')
		*next = te + 2;
	else
		return false;
	return true;
}

/* Parses the tag whose open delimiter starts at ts. */
static int parse_tag(struct parser *p, size_t ts)
{
	struct unit *u = p->u;
	const char *s = u->src;
	size_t line = p->line;
	size_t c = ts + p->open_len;
	while (c < u->len && is_space(s[c]))
		c++;
	char sigil = c < u->len ? s[c] : 0;
	enum tok_type type = T_VAR;
	bool comment = false, delim = false;
	const char *closing = p->close; /* the close delimiter, maybe with '}' or '=' in front */
	size_t closing_len = p->close_len;
	char lead[MAX_DELIM + 2];
	switch (sigil) {
	case '{': type = T_RAW; lead[0] = '}'; break;
	case '&': type = T_RAW; break;
	case '#': type = T_SECTION; break;
	case '^': type = T_INVERTED; break;
	case '/': type = T_CLOSE; break;
	case '>': type = T_PARTIAL; break;
	case '!': comment = true; break;
	case '=': delim = true; lead[0] = '='; break;
	default: break;
	}
	if (sigil == '{' || sigil == '=') {
		memcpy(lead + 1, p->close, p->close_len);
		closing = lead;
		closing_len = p->close_len + 1;
	}
	if (type != T_VAR || comment || delim)
		c++;
	const char *ce = c <= u->len ? find(s + c, u->len - c, closing, closing_len) : NULL;
	if (!ce) {
		set_err(p->err, p->errlen, u, line, "a tag opened with '%.*s' is never closed with '%.*s'",
		        (int)p->open_len, p->open, (int)closing_len, closing);
		return RD_EINVAL;
	}
	size_t a = c, b = (size_t)(ce - s), te = b + closing_len;

	size_t next = 0;
	bool alone = (type == T_SECTION || type == T_INVERTED || type == T_CLOSE || type == T_PARTIAL || comment ||
	              delim) && standalone(p, te, &next);
	size_t ind_off = p->line_start, ind_len = ts - p->line_start;
	if (alone)
		u->n = p->line_tok; /* drop the line's LINE marker and leading blanks */

	for (const char *q = s + ts; (q = memchr(q, '\n', te - (size_t)(q - s))); q++)
		p->line++;

	int rc = 0;
	if (delim) {
		rc = set_delims(p, a, b, line);
	} else if (!comment) {
		trim(s, &a, &b);
		struct tok *t = push_tok(p, type, a, b - a);
		t->line = line;
		t->standalone = alone;
		if ((rc = add_name(p, t, a, b, ind_off, alone ? ind_len : 0)))
			return rc;
		size_t idx = u->n - 1;
		if (type == T_SECTION || type == T_INVERTED) {
			grow((void **)&p->sections, &p->scap, p->ns + 1, sizeof *p->sections);
			p->sections[p->ns++] = idx;
		} else if (type == T_CLOSE) {
			if (!p->ns) {
				set_err(p->err, p->errlen, u, line, "the close tag '%.*s' has no open section",
				        (int)(t->len < NAME_IN_ERR ? t->len : NAME_IN_ERR), s + t->off);
				return RD_EINVAL;
			}
			struct tok *o = &u->toks[p->sections[p->ns - 1]];
			if (o->len != t->len || memcmp(u->names + o->name, u->names + t->name, t->len)) {
				set_err(p->err, p->errlen, u, line,
				        "the close tag '%.*s' does not match the section '%.*s' opened on line %zu",
				        (int)(t->len < NAME_IN_ERR ? t->len : NAME_IN_ERR), s + t->off,
				        (int)(o->len < NAME_IN_ERR ? o->len : NAME_IN_ERR), s + o->off, o->line);
				return RD_EINVAL;
			}
			o->end = idx;
			p->ns--;
		}
	}
	if (rc)
		return rc;
	if (alone) {
		if (next > te && s[next - 1] == '\n')
			p->line++;
		p->pos = next;
		new_line(p);
	} else {
		p->line_tag = true;
		p->pos = te;
	}
	return 0;
}

static int parse(struct unit *u, char *err, size_t errlen)
{
	struct parser p = { .u = u, .line = 1, .open = "{{", .close = "}}", .open_len = 2, .close_len = 2,
	                    .err = err, .errlen = errlen };
	int rc = 0;
	new_line(&p);
	while (p.pos < u->len) {
		const char *o = find(u->src + p.pos, u->len - p.pos, p.open, p.open_len);
		size_t ts = o ? (size_t)(o - u->src) : u->len;
		emit_text(&p, ts);
		if (o && (rc = parse_tag(&p, ts)))
			goto out;
	}
	if (p.ns) {
		const struct tok *t = &u->toks[p.sections[p.ns - 1]];
		set_err(err, errlen, u, t->line, "the section '%.*s' is never closed",
		        (int)(t->len < NAME_IN_ERR ? t->len : NAME_IN_ERR), u->src + t->off);
		rc = RD_EINVAL;
	}
out:
	free(p.sections);
	return rc;
}

/* ---- rendering ---- */

/* The renderer reads a context through these: a jansson tree or a typed
 * one (tval.h), with the same semantics (mustache.h). */
static void push_ctx(struct render *r, const void *v)
{
	grow((void **)&r->stack, &r->scap, r->sn + 1, sizeof *r->stack);
	r->stack[r->sn++] = v;
}

static const void *v_get(const struct render *r, const void *v, const char *key)
{
	if (r->typed)
		return rd_tv_get(v, key);
	return json_is_object((const json_t *)v) ? json_object_get(v, key) : NULL;
}

static bool v_is_array(const struct render *r, const void *v)
{
	return r->typed ? v && ((const struct rd_tv *)v)->type == RD_TV_ARR : json_is_array((const json_t *)v);
}

static size_t v_array_size(const struct render *r, const void *v)
{
	return r->typed ? ((const struct rd_tv *)v)->n : json_array_size(v);
}

static const void *v_array_get(const struct render *r, const void *v, size_t k)
{
	return r->typed ? (const void *)((const struct rd_tv *)v)->u.a[k] : (const void *)json_array_get(v, k);
}

static const void *lookup(const struct render *r, const struct unit *u, const struct tok *t)
{
	if (t->aux == 0)
		return r->sn ? r->stack[r->sn - 1] : NULL;
	const char *part = u->names + t->name;
	const void *v = NULL;
	for (size_t i = r->sn; i-- > 0 && !v;)
		v = v_get(r, r->stack[i], part);
	for (size_t k = 1; v && k < t->aux; k++) {
		part += strlen(part) + 1;
		v = v_get(r, v, part);
	}
	return v;
}

static bool truthy(const struct render *r, const void *p)
{
	if (!p)
		return false;
	if (r->typed) {
		const struct rd_tv *v = p;
		switch (v->type) {
		case RD_TV_OBJ: return true;
		case RD_TV_ARR: return v->n > 0;
		case RD_TV_STR: return v->u.s.len > 0;
		case RD_TV_INT: return v->u.i != 0;
		case RD_TV_REAL: return v->u.d != 0.0;
		case RD_TV_TRUE: return true;
		default: return false;
		}
	}
	const json_t *v = p;
	switch (json_typeof(v)) {
	case JSON_OBJECT: return true;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_TRUE: return true;
	default: return false;
	}
}

static void put_escaped(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		const char *ent;
		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: continue;
		}
		buf_put(b, s + run, i - run);
		buf_put(b, ent, strlen(ent));
		run = i + 1;
	}
	buf_put(b, s + run, n - run);
}

static void put_value(const struct render *r, struct buf *b, const void *p, bool escape)
{
	char num[32];
	const char *s = NULL;
	size_t n = 0;
	enum rd_tv_type type = RD_TV_NULL;
	long long i = 0;
	double d = 0;
	if (p && r->typed) {
		const struct rd_tv *v = p;
		type = v->type;
		if (type == RD_TV_STR)
			s = v->u.s.p, n = v->u.s.len;
		i = (long long)v->u.i;
		d = v->u.d;
	} else if (p) {
		const json_t *v = p;
		switch (json_typeof(v)) {
		case JSON_STRING: type = RD_TV_STR; s = json_string_value(v); n = json_string_length(v); break;
		case JSON_INTEGER: type = RD_TV_INT; i = (long long)json_integer_value(v); break;
		case JSON_REAL: type = RD_TV_REAL; d = json_real_value(v); break;
		case JSON_TRUE: type = RD_TV_TRUE; break;
		case JSON_FALSE: type = RD_TV_FALSE; break;
		default: break;
		}
	}
	switch (type) {
	case RD_TV_STR:
		break;
	case RD_TV_INT:
		n = (size_t)snprintf(num, sizeof num, "%lld", i);
		s = num;
		break;
	case RD_TV_REAL:
		/* The shortest form that reads back exactly: 1.21, not 1.2100000000000000. */
		for (int prec = 1; prec <= 17; prec++) {
			n = (size_t)snprintf(num, sizeof num, "%.*g", prec, d);
			if (strtod(num, NULL) == d)
				break;
		}
		s = num;
		break;
	case RD_TV_TRUE: s = "true"; n = 4; break;
	case RD_TV_FALSE: s = "false"; n = 5; break;
	default: return; /* null, missing, object, array: nothing */
	}
	if (escape)
		put_escaped(b, s, n);
	else
		buf_put(b, s, n);
}

static size_t hash(const char *s)
{
	uint64_t h = 14695981039346656037u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return (size_t)h;
}

/* The parsed partial named by t, looked up and parsed on first use; an
 * unknown partial is an empty unit.  NULL on a parse error. */
static struct unit *partial(struct render *r, struct tok *t, const struct unit *u)
{
	if (t->end)
		return r->cache[t->end - 1];
	/* A hash index, so that many distinct names do not cost n^2 compares. */
	const char *name = u->names + t->name;
	size_t h = hash(name), i;
	for (i = h & (r->nslots - 1); r->nslots && r->slots[i]; i = (i + 1) & (r->nslots - 1)) {
		if (!strcmp(r->cache[r->slots[i] - 1]->pname, name)) {
			t->end = r->slots[i];
			return r->cache[t->end - 1];
		}
	}
	struct unit *pu = rd_calloc(1, sizeof *pu);
	pu->pname = rd_strdup(name);
	grow((void **)&r->cache, &r->ccap, r->cn + 1, sizeof *r->cache);
	r->cache[r->cn++] = pu; /* owned by the cache from here, even if it fails to parse */
	if (r->cn * 2 > r->nslots) {
		free(r->slots);
		r->nslots = r->nslots ? r->nslots * 2 : 16;
		r->slots = rd_calloc(r->nslots, sizeof *r->slots);
		for (size_t k = 0; k < r->cn; k++) {
			for (i = hash(r->cache[k]->pname) & (r->nslots - 1); r->slots[i]; i = (i + 1) & (r->nslots - 1))
				;
			r->slots[i] = k + 1;
		}
	} else {
		for (i = h & (r->nslots - 1); r->slots[i]; i = (i + 1) & (r->nslots - 1))
			;
		r->slots[i] = r->cn;
	}
	size_t len = 0;
	const char *text = r->fn ? r->fn(r->ctx, name, &len) : NULL;
	if (text && len) {
		pu->src = text;
		pu->len = len;
		if (parse(pu, r->err, r->errlen))
			return NULL;
	}
	t->end = r->cn;
	return pu;
}

static int too_deep(struct render *r, const struct unit *u, const struct tok *t)
{
	set_err(r->err, r->errlen, u, t->line,
	        "the %s '%.*s' nests partials and sections deeper than %d levels (does a partial include itself?)",
	        t->type == T_PARTIAL ? "partial" : "section", (int)(t->len < NAME_IN_ERR ? t->len : NAME_IN_ERR),
	        u->src + t->off, RD_MUSTACHE_MAX_DEPTH);
	return RD_ETOOBIG;
}

static int render_range(struct render *r, struct unit *u, size_t from, size_t to, const char *indent,
                        size_t ilen, int depth)
{
	int rc = 0;
	for (size_t i = from; i < to && !rc; i++) {
		struct tok *t = &u->toks[i];
		switch (t->type) {
		case T_TEXT:
			buf_put(&r->out, u->src + t->off, t->len);
			break;
		case T_LINE:
			buf_put(&r->out, indent, ilen);
			break;
		case T_VAR:
		case T_RAW:
			put_value(r, &r->out, lookup(r, u, t), t->type == T_VAR);
			break;
		case T_SECTION:
		case T_INVERTED: {
			const void *v = lookup(r, u, t);
			bool show = truthy(r, v) == (t->type == T_SECTION);
			i = t->end; /* continue after the close tag */
			if (!show)
				break;
			if (depth >= RD_MUSTACHE_MAX_DEPTH)
				return too_deep(r, u, t);
			if (t->type == T_INVERTED) {
				rc = render_range(r, u, (size_t)(t - u->toks) + 1, t->end, indent, ilen, depth + 1);
			} else if (v_is_array(r, v)) {
				for (size_t k = 0; k < v_array_size(r, v) && !rc; k++) {
					push_ctx(r, v_array_get(r, v, k));
					rc = render_range(r, u, (size_t)(t - u->toks) + 1, t->end, indent, ilen, depth + 1);
					r->sn--;
				}
			} else {
				push_ctx(r, v);
				rc = render_range(r, u, (size_t)(t - u->toks) + 1, t->end, indent, ilen, depth + 1);
				r->sn--;
			}
			break;
		}
		case T_CLOSE:
			break;
		case T_PARTIAL: {
			struct unit *pu = partial(r, t, u);
			if (!pu)
				return RD_EINVAL;
			if (!pu->n)
				break;
			if (depth >= RD_MUSTACHE_MAX_DEPTH)
				return too_deep(r, u, t);
			/* A standalone partial's lines get the indentation in effect plus
			 * its own; an inline one's lines get none. */
			const char *own = u->names + t->name + t->len + 1;
			if (!t->standalone) {
				rc = render_range(r, pu, 0, pu->n, "", 0, depth + 1);
			} else if (!ilen || !t->aux) {
				rc = render_range(r, pu, 0, pu->n, ilen ? indent : own, ilen ? ilen : t->aux, depth + 1);
			} else {
				char *both = rd_malloc(ilen + t->aux);
				memcpy(both, indent, ilen);
				memcpy(both + ilen, own, t->aux);
				rc = render_range(r, pu, 0, pu->n, both, ilen + t->aux, depth + 1);
				free(both);
			}
			break;
		}
		}
	}
	return rc;
}

struct rd_mustache {
	struct unit top;
};

int rd_mustache_parse(const char *tmpl, size_t len, struct rd_mustache **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	struct rd_mustache *m = rd_calloc(1, sizeof *m);
	m->top.src = tmpl ? tmpl : "";
	m->top.len = tmpl ? len : 0;
	int rc = parse(&m->top, err, errlen);
	if (rc) {
		rd_mustache_free(m);
		m = NULL;
	}
	*out = m;
	return rc;
}

void rd_mustache_free(struct rd_mustache *m)
{
	if (!m)
		return;
	free(m->top.toks);
	free(m->top.names);
	free(m);
}

static int run(struct rd_mustache *m, bool typed, const void *data, rd_partial_fn partials, void *ctx, char **out,
               size_t *out_len, char *err, size_t errlen)
{
	*out = NULL;
	*out_len = 0;
	if (err && errlen)
		err[0] = 0;
	struct render r = { .typed = typed, .fn = partials, .ctx = ctx, .err = err, .errlen = errlen };
	if (data)
		push_ctx(&r, data);
	int rc = render_range(&r, &m->top, 0, m->top.n, "", 0, 0);
	if (!rc) {
		grow((void **)&r.out.p, &r.out.cap, r.out.n + 1, 1);
		r.out.p[r.out.n] = 0;
		*out = r.out.p;
		*out_len = r.out.n;
		r.out.p = NULL;
	}
	free(r.out.p);
	free(r.stack);
	for (size_t i = 0; i < r.cn; i++)
		unit_free(r.cache[i]);
	free(r.cache);
	free(r.slots);
	/* Partial tags remember where this render's cache put their partial:
	 * forget it, so that the next render looks them up again. */
	for (size_t i = 0; i < m->top.n; i++)
		if (m->top.toks[i].type == T_PARTIAL)
			m->top.toks[i].end = 0;
	return rc;
}

int rd_mustache_run(struct rd_mustache *m, json_t *data, rd_partial_fn partials, void *ctx, char **out,
                    size_t *out_len, char *err, size_t errlen)
{
	return run(m, false, data, partials, ctx, out, out_len, err, errlen);
}

int rd_mustache_run_tv(struct rd_mustache *m, const struct rd_tv *data, rd_partial_fn partials, void *ctx, char **out,
                       size_t *out_len, char *err, size_t errlen)
{
	return run(m, true, data, partials, ctx, out, out_len, err, errlen);
}

static int render_any(const char *tmpl, size_t len, bool typed, const void *data, rd_partial_fn partials, void *ctx,
                      char **out, size_t *out_len, char *err, size_t errlen)
{
	*out = NULL;
	*out_len = 0;
	struct rd_mustache *m;
	int rc = rd_mustache_parse(tmpl, len, &m, err, errlen);
	if (rc)
		return rc;
	rc = run(m, typed, data, partials, ctx, out, out_len, err, errlen);
	rd_mustache_free(m);
	return rc;
}

int rd_mustache_render(const char *tmpl, size_t len, json_t *data, rd_partial_fn partials, void *ctx,
                       char **out, size_t *out_len, char *err, size_t errlen)
{
	return render_any(tmpl, len, false, data, partials, ctx, out, out_len, err, errlen);
}

int rd_mustache_render_tv(const char *tmpl, size_t len, const struct rd_tv *data, rd_partial_fn partials, void *ctx,
                          char **out, size_t *out_len, char *err, size_t errlen)
{
	return render_any(tmpl, len, true, data, partials, ctx, out, out_len, err, errlen);
}
