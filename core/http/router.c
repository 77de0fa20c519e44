/* router.c: matching a method and path against the route table.
 *
 * rd_route_match walks the table (the reference semantics); rd_router_*
 * gives the same answers from a tree of path segments built once, so a
 * request looks at the routes its path can match instead of all of them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "util/err.h"

static const char *const method_names[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };

unsigned rd_method_parse(const char *s, size_t len)
{
	for (unsigned i = 0; i < sizeof method_names / sizeof *method_names; i++)
		if (strlen(method_names[i]) == len && memcmp(method_names[i], s, len) == 0)
			return 1u << i;
	return 0;
}

size_t rd_methods_format(unsigned methods, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < sizeof method_names / sizeof *method_names; i++) {
		if (!(methods & (1u << i)))
			continue;
		size_t need = strlen(method_names[i]) + (n ? 2 : 0);
		if (n + need + 1 > cap)
			break;
		if (n) {
			memcpy(buf + n, ", ", 2);
			n += 2;
		}
		memcpy(buf + n, method_names[i], strlen(method_names[i]));
		n += strlen(method_names[i]);
		buf[n] = 0;
	}
	return n;
}

/* Walks pattern and path segment by segment. */
static bool match(const char *pat, const char *path, size_t path_len, struct rd_param *params, size_t *np)
{
	const char *p = path, *end = path + path_len;
	size_t n = 0;
	while (*pat) {
		if (p >= end || *pat != '/' || *p != '/')
			return false;
		pat++;
		p++;
		const char *pseg_end = strchr(pat, '/');
		if (!pseg_end)
			pseg_end = pat + strlen(pat);
		const char *seg_end = memchr(p, '/', (size_t)(end - p));
		if (!seg_end)
			seg_end = end;
		size_t plen = (size_t)(pseg_end - pat), slen = (size_t)(seg_end - p);
		if (plen >= 2 && pat[0] == '{' && pat[plen - 1] == '}') {
			if (slen == 0 || n == RD_MAX_PARAMS)
				return false;
			params[n++] = (struct rd_param){ pat + 1, plen - 2, p, slen };
		} else if (plen != slen || memcmp(pat, p, plen) != 0) {
			return false;
		}
		pat = pseg_end;
		p = seg_end;
	}
	if (p != end)
		return false;
	*np = n;
	return true;
}

const struct rd_route *rd_route_match(const struct rd_route *routes, size_t n, unsigned method, const char *path,
				      size_t path_len, struct rd_param *params, size_t *n_params, unsigned *allowed)
{
	*allowed = 0;
	*n_params = 0;
	const struct rd_route *found = NULL;
	for (size_t i = 0; i < n; i++) {
		struct rd_param tmp[RD_MAX_PARAMS];
		size_t nt;
		if (!match(routes[i].pattern, path, path_len, tmp, &nt))
			continue;
		unsigned m = routes[i].method;
		if (m == RD_GET)
			m |= RD_HEAD; /* every GET route answers HEAD */
		*allowed |= m;
		if (!found && (m & method)) {
			found = &routes[i];
			memcpy(params, tmp, nt * sizeof *tmp);
			*n_params = nt;
		}
	}
	return found;
}

/* ---- the segment tree ------------------------------------------------------ */

struct node;
struct edge {
	const char *seg; /* borrowed from a pattern */
	size_t len;
	struct node *child;
};
struct node {
	struct edge *lit; /* sorted by (len, bytes) */
	size_t n_lit;
	struct node *param; /* a {name} segment */
	size_t *ends;       /* routes whose pattern ends here, ascending */
	size_t n_ends;
};
struct rd_router {
	const struct rd_route *routes;
	size_t n;
	struct node root;
	size_t *odd; /* patterns the tree does not hold (no leading '/'): always tried */
	size_t n_odd;
};

static int seg_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return an < bn ? -1 : 1;
	return memcmp(a, b, an);
}

static struct edge *find_lit(const struct node *nd, const char *seg, size_t len, size_t *at)
{
	size_t lo = 0, hi = nd->n_lit;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = seg_cmp(nd->lit[mid].seg, nd->lit[mid].len, seg, len);
		if (c == 0)
			return &nd->lit[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (at)
		*at = lo;
	return NULL;
}

static struct node *new_node(void)
{
	return rd_calloc(1, sizeof(struct node));
}

static void *grow(void *p, size_t n, size_t size)
{
	return rd_realloc(p, (n + 1) * size);
}

static void add_route(struct rd_router *r, size_t i)
{
	const char *pat = r->routes[i].pattern;
	if (pat[0] != '/') {
		r->odd = grow(r->odd, r->n_odd, sizeof *r->odd);
		r->odd[r->n_odd++] = i;
		return;
	}
	struct node *nd = &r->root;
	while (*pat == '/') {
		pat++;
		const char *e = strchr(pat, '/');
		size_t len = e ? (size_t)(e - pat) : strlen(pat);
		if (len >= 2 && pat[0] == '{' && pat[len - 1] == '}') {
			if (!nd->param)
				nd->param = new_node();
			nd = nd->param;
		} else {
			size_t at;
			struct edge *ed = find_lit(nd, pat, len, &at);
			if (!ed) {
				nd->lit = grow(nd->lit, nd->n_lit, sizeof *nd->lit);
				memmove(nd->lit + at + 1, nd->lit + at, (nd->n_lit - at) * sizeof *nd->lit);
				nd->lit[at] = (struct edge){ pat, len, new_node() };
				nd->n_lit++;
				ed = &nd->lit[at];
			}
			nd = ed->child;
		}
		pat += len;
	}
	nd->ends = grow(nd->ends, nd->n_ends, sizeof *nd->ends);
	nd->ends[nd->n_ends++] = i;
}

struct rd_router *rd_router_new(const struct rd_route *routes, size_t n)
{
	struct rd_router *r = rd_calloc(1, sizeof *r);
	r->routes = routes;
	r->n = n;
	for (size_t i = 0; i < n; i++)
		add_route(r, i);
	return r;
}

static void free_node(struct node *nd)
{
	for (size_t i = 0; i < nd->n_lit; i++) {
		free_node(nd->lit[i].child);
		free(nd->lit[i].child);
	}
	if (nd->param) {
		free_node(nd->param);
		free(nd->param);
	}
	free(nd->lit);
	free(nd->ends);
}

void rd_router_free(struct rd_router *r)
{
	if (!r)
		return;
	free_node(&r->root);
	free(r->odd);
	free(r);
}

/* Candidates: the routes whose pattern has the path's shape. */
#define MAX_CANDIDATES 64
struct cands {
	size_t idx[MAX_CANDIDATES];
	size_t n;
	bool overflow;
};

static void add_cands(struct cands *c, const size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c->n == MAX_CANDIDATES) {
			c->overflow = true;
			return;
		}
		c->idx[c->n++] = idx[i];
	}
}

static void walk(const struct node *nd, const char *p, const char *end, struct cands *c)
{
	if (p == end) {
		add_cands(c, nd->ends, nd->n_ends);
		return;
	}
	if (*p != '/')
		return;
	p++;
	const char *seg_end = memchr(p, '/', (size_t)(end - p));
	if (!seg_end)
		seg_end = end;
	size_t len = (size_t)(seg_end - p);
	const struct edge *ed = find_lit(nd, p, len, NULL);
	if (ed)
		walk(ed->child, seg_end, end, c);
	if (nd->param && len > 0)
		walk(nd->param, seg_end, end, c);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

const struct rd_route *rd_router_match(const struct rd_router *r, unsigned method, const char *path, size_t path_len,
				       struct rd_param *params, size_t *n_params, unsigned *allowed)
{
	struct cands c = { .n = 0 };
	walk(&r->root, path, path + path_len, &c);
	add_cands(&c, r->odd, r->n_odd);
	if (c.overflow) /* a table the tree does not narrow: the walk decides */
		return rd_route_match(r->routes, r->n, method, path, path_len, params, n_params, allowed);
	qsort(c.idx, c.n, sizeof *c.idx, cmp_size); /* table order decides, as in the walk */
	*allowed = 0;
	*n_params = 0;
	const struct rd_route *found = NULL;
	for (size_t k = 0; k < c.n; k++) {
		const struct rd_route *rt = &r->routes[c.idx[k]];
		struct rd_param tmp[RD_MAX_PARAMS];
		size_t nt;
		if (!match(rt->pattern, path, path_len, tmp, &nt))
			continue;
		unsigned m = rt->method;
		if (m == RD_GET)
			m |= RD_HEAD;
		*allowed |= m;
		if (!found && (m & method)) {
			found = rt;
			memcpy(params, tmp, nt * sizeof *tmp);
			*n_params = nt;
		}
	}
	return found;
}
