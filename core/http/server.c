/*
 * server.c: h2o on renewd's libuv loop.  The only file that includes h2o.h.
 *
 * Every request goes to one h2o handler mounted at "/", which routes through
 * the route table (router.c) so that 404 and 405 are ours and JSON.  Errors
 * h2o produces by itself (413 for an oversized body, 400 for a broken
 * request, ...) pass through the json_errors filter, which rewrites their
 * plain-text bodies into the one JSON error shape.
 *
 * Bodies are refused before they are held.  h2o 2.2.5 reads a request's
 * whole body into the socket's input buffer and checks Content-Length
 * against globalconf->max_request_entity_size once, when it parses the head
 * (a chunked body at every read).  So renewd wraps each socket's read
 * callback: before h2o sees a read, the head at the start of the input (if
 * complete) decides that request's limit — the bulk limit for a bulk route
 * with credentials that verify, the normal limit for other verified
 * callers, the small anonymous limit otherwise — and the global limit holds
 * it for the length of h2o's call only.  Everything h2o parses outside a
 * read (a pipelined request) gets the anonymous limit.  Connections are
 * capped, so anonymous body memory is at most max_conns x max_anon_body.
 */
#include <errno.h>
#include <h2o.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "http/server.h"
#include "metrics/metrics.h"
#include "util/err.h"
#include "util/log.h"
#include "util/netblock.h"

struct rd_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	bool listening;
	h2o_globalconf_t conf;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept;
	struct rd_server_opts opts;
	int port;
	uint64_t salt, next_req;
	bool draining;
	int open_conns; /* accepted and not yet closed */
	struct conn *conns; /* the open connections (a list through conn.next) */
	uv_prepare_t rewrap; /* puts the read wrapper back where h2o replaced it */
	uint64_t refused_log_ms; /* when a refused connection was last logged */
	uv_timer_t drain_timer;
	uint64_t drain_deadline;
	void (*drained)(void *arg, int in_flight);
	void *drained_arg;
	struct rd_router *router; /* the route table as a segment tree */
	bool creds_unchecked; /* during h2o's read: the store failed to check the request's credentials */
	bool length_twice;    /* during h2o's read: the request's head gives its length twice (conn.twice) */
	struct rd_netblock proxies[RD_NETBLOCKS_MAX]; /* opts.trusted_proxies */
	size_t n_proxies;
};

struct rd_handler {
	h2o_handler_t super; /* first: h2o hands us this pointer */
	struct rd_server *srv;
};

struct rd_filter {
	h2o_filter_t super;
	struct rd_server *srv;
};

struct rd_req {
	h2o_req_t *h2o;
	struct rd_server *srv;
	const struct rd_route *route;
	struct rd_param params[RD_MAX_PARAMS];
	size_t n_params;
	unsigned method;
	char method_name[8];
	char *path;
	char id[40];
	uint64_t start_ns;
	bool replied;
	struct work *pending; /* thread-pool work whose reply is awaited */
	struct rd_hold *hold; /* a reply held for later */
	uint64_t who_vendor, who_user; /* the caller, once authenticated (the access log) */
	char client[48];               /* the client's address: the peer's, or the one a trusted proxy names */
	bool detached;                 /* rd_server_dispatch's: the reply is kept, not sent */
	const char *reply;             /* a detached request's reply body (in the pool) */
	size_t reply_len;
	struct query *query; /* the query's parameters, split at the first ask (query_of) */
};

/* A query's parameters split once, in order: each key and value as sent,
 * and as decoded once asked for (a list's filter asks for its parameters
 * on every record).  More than QUERY_MAX parameters: not split, each
 * look-up scans the query as it stands (query_find). */
#define QUERY_MAX 48
struct query_param {
	const char *key, *val; /* as sent; val NULL: no '=' */
	uint32_t klen, vlen;
	bool plain;                /* the key decodes to itself */
	const char *dkey, *dval;   /* decoded, once asked for */
};
struct query {
	bool over; /* more than QUERY_MAX: scanned each time */
	uint32_t n;
	struct query_param p[];
};

struct rd_hold {
	struct rd_req *req; /* NULL once the request is gone */
};

struct work {
	uv_work_t uv;
	struct rd_req *req; /* NULL once the request is gone */
	rd_work_fn work;
	rd_work_done_fn done;
	void *arg;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- accessors ---------------------------------------------------------- */

unsigned rd_req_method(const struct rd_req *req) { return req->method; }
const char *rd_req_path(const struct rd_req *req) { return req->path; }
const char *rd_req_route(const struct rd_req *req) { return req->route ? req->route->pattern : NULL; }
const char *rd_req_id(const struct rd_req *req) { return req->id; }
void *rd_req_app(const struct rd_req *req) { return req->srv->opts.app; }
void *rd_req_alloc(struct rd_req *req, size_t n) { return h2o_mem_alloc_pool(&req->h2o->pool, n); }

static char *pool_strndup(struct rd_req *req, const char *s, size_t n)
{
	char *p = rd_req_alloc(req, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

const char *rd_req_param(struct rd_req *req, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < req->n_params; i++)
		if (req->params[i].name_len == nl && memcmp(req->params[i].name, name, nl) == 0)
			return pool_strndup(req, req->params[i].value, req->params[i].value_len);
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into the pool; '+' is a space. */
static char *url_decode(struct rd_req *req, const char *s, size_t n)
{
	char *out = rd_req_alloc(req, n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = 0;
	return out;
}

/* Whether s[0..n) decodes to itself (no '%', '+' or NUL). */
static bool url_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '%' || s[i] == '+' || s[i] == 0)
			return false;
	return true;
}

/* The parameter at *q (the query ends at end), as sent; *q moves past it. */
static void query_next(const char **q, const char *end, struct query_param *p)
{
	const char *amp = memchr(*q, '&', (size_t)(end - *q));
	if (!amp)
		amp = end;
	const char *eq = memchr(*q, '=', (size_t)(amp - *q));
	size_t kl = (size_t)((eq ? eq : amp) - *q);
	*p = (struct query_param){ .key = *q, .klen = (uint32_t)kl, .val = eq ? eq + 1 : NULL,
				   .vlen = eq ? (uint32_t)(amp - eq - 1) : 0, .plain = url_plain(*q, kl) };
	*q = amp + 1;
}

/* p's key as it decodes (up to a %00 in it); a plain key compared as it
 * is, another decoded once. */
static bool param_is(struct rd_req *req, struct query_param *p, const char *name, size_t nl)
{
	if (p->plain)
		return p->klen == nl && memcmp(p->key, name, nl) == 0;
	if (!p->dkey)
		p->dkey = url_decode(req, p->key, p->klen);
	return strlen(p->dkey) == nl && memcmp(p->dkey, name, nl) == 0;
}

static const char *param_value(struct rd_req *req, struct query_param *p)
{
	if (!p->val)
		return "";
	if (!p->dval)
		p->dval = url_decode(req, p->val, p->vlen);
	return p->dval;
}

/* The query's parameters, split at the first ask (NULL: more than
 * QUERY_MAX, scanned at each ask instead). */
static struct query *query_of(struct rd_req *req)
{
	if (req->query)
		return req->query->over ? NULL : req->query;
	h2o_req_t *r = req->h2o;
	const char *q = r->path.base + r->query_at + 1, *end = r->path.base + r->path.len;
	size_t n = 1;
	for (const char *x = q; x < end; x++)
		n += *x == '&';
	if (n > QUERY_MAX) {
		req->query = rd_req_alloc(req, sizeof *req->query);
		*req->query = (struct query){ .over = true };
		return NULL;
	}
	struct query *qs = rd_req_alloc(req, sizeof *qs + n * sizeof qs->p[0]);
	*qs = (struct query){ .over = false, .n = 0 };
	while (q < end)
		query_next(&q, end, &qs->p[qs->n++]);
	return req->query = qs;
}

/* Calls fn on each parameter in order until it returns true; that one. */
static struct query_param *query_find(struct rd_req *req, bool (*fn)(struct rd_req *, struct query_param *, const void *),
				      const void *arg, struct query_param *scratch)
{
	struct query *qs = query_of(req);
	if (qs) {
		for (uint32_t i = 0; i < qs->n; i++)
			if (fn(req, &qs->p[i], arg))
				return &qs->p[i];
		return NULL;
	}
	h2o_req_t *r = req->h2o;
	const char *q = r->path.base + r->query_at + 1, *end = r->path.base + r->path.len;
	while (q < end) {
		query_next(&q, end, scratch);
		if (fn(req, scratch, arg))
			return scratch;
	}
	return NULL;
}

static bool named(struct rd_req *req, struct query_param *p, const void *name)
{
	return param_is(req, p, name, strlen(name));
}

const char *rd_req_query(struct rd_req *req, const char *name)
{
	if (req->h2o->query_at == SIZE_MAX)
		return NULL;
	struct query_param scratch, *p = query_find(req, named, name, &scratch);
	return p ? param_value(req, p) : NULL;
}

static bool unknown(struct rd_req *req, struct query_param *p, const void *arg)
{
	const char *const *known = arg;
	if (p->plain ? p->klen == 0 : !*(p->dkey ? p->dkey : (p->dkey = url_decode(req, p->key, p->klen))))
		return false; /* an empty name */
	for (size_t i = 0; known[i]; i++)
		if (param_is(req, p, known[i], strlen(known[i])))
			return false;
	return true;
}

const char *rd_req_query_unknown(struct rd_req *req, const char *const *known)
{
	if (req->h2o->query_at == SIZE_MAX)
		return NULL;
	struct query_param scratch, *p = query_find(req, unknown, known, &scratch);
	if (!p)
		return NULL;
	return p->plain ? pool_strndup(req, p->key, p->klen) : p->dkey;
}

const char *rd_req_header(struct rd_req *req, const char *name)
{
	if (!strcasecmp(name, "host")) /* h2o keeps Host apart, as the authority */
		return req->h2o->input.authority.base ? pool_strndup(req, req->h2o->input.authority.base,
								     req->h2o->input.authority.len)
						      : NULL;
	ssize_t i = h2o_find_header_by_str(&req->h2o->headers, name, strlen(name), -1);
	if (i < 0)
		return NULL;
	h2o_iovec_t v = req->h2o->headers.entries[i].value;
	return pool_strndup(req, v.base, v.len);
}

const void *rd_req_body(const struct rd_req *req, size_t *len)
{
	*len = req->h2o->entity.base ? req->h2o->entity.len : 0;
	return req->h2o->entity.base ? req->h2o->entity.base : "";
}

struct rd_req *rd_req_detached(const char *target, size_t len, const char *cookie, const void *body, size_t blen)
{
	struct rd_req *req = rd_calloc(1, sizeof *req);
	h2o_req_t *h = rd_calloc(1, sizeof *h);
	h2o_mem_init_pool(&h->pool);
	h->path = h2o_strdup(&h->pool, target, len);
	const char *q = memchr(h->path.base, '?', h->path.len);
	h->query_at = q ? (size_t)(q - h->path.base) : SIZE_MAX;
	if (cookie)
		h2o_add_header(&h->pool, &h->headers, H2O_TOKEN_COOKIE, NULL, cookie, strlen(cookie));
	if (body)
		h->entity = h2o_strdup(&h->pool, body, blen);
	req->h2o = h;
	req->path = pool_strndup(req, h->path.base, q ? (size_t)(q - h->path.base) : h->path.len);
	snprintf(req->method_name, sizeof req->method_name, "GET");
	return req;
}

void rd_req_detached_free(struct rd_req *req)
{
	if (!req)
		return;
	if (req->pending) /* as when a client goes away before its work is done */
		req->pending->req = NULL;
	if (req->hold)
		req->hold->req = NULL;
	h2o_mem_clear_pool(&req->h2o->pool);
	free(req->h2o);
	free(req);
}

int rd_req_json(struct rd_req *req, json_t **out)
{
	size_t len;
	const char *body = rd_req_body(req, &len);
	*out = NULL;
	if (len == 0) {
		rd_reply_error(req, 400, "bad_json", NULL, "the request needs a JSON object body");
		return RD_EINVAL;
	}
	json_error_t e;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		rd_reply_error(req, 400, "bad_json", NULL, "malformed JSON at line %d column %d: %s", e.line, e.column,
			       e.text);
		return RD_EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		rd_reply_error(req, 400, "bad_json", NULL, "the body must be a JSON object");
		return RD_EINVAL;
	}
	*out = j;
	return 0;
}

static void work_run(uv_work_t *w)
{
	struct work *wk = w->data;
	wk->work(wk->arg);
}

static void work_after(uv_work_t *w, int status)
{
	struct work *wk = w->data;
	struct rd_req *req = wk->req;
	if (req) {
		req->pending = NULL;
		if (status != 0) { /* cancelled by libuv */
			wk->done(NULL, wk->arg);
			rd_reply_error(req, 503, "unavailable", NULL, "the work was cancelled");
			free(wk);
			return;
		}
	}
	if (req)
		rd_log_set_current_req(req->id);
	wk->done(req, wk->arg);
	rd_log_set_current_req(NULL);
	free(wk);
}

int rd_req_work(struct rd_req *req, rd_work_fn fn, rd_work_done_fn done, void *arg)
{
	if (rd_fails_assert(!req->pending && !req->replied))
		return RD_EINTERNAL;
	struct work *wk = rd_calloc(1, sizeof *wk);
	wk->uv.data = wk;
	wk->req = req;
	wk->work = fn;
	wk->done = done;
	wk->arg = arg;
	int rc = uv_queue_work(req->srv->loop, &wk->uv, work_run, work_after);
	if (rc != 0) {
		free(wk);
		return RD_EINTERNAL;
	}
	req->pending = wk;
	return 0;
}

struct rd_hold *rd_req_hold(struct rd_req *req)
{
	struct rd_hold *h = rd_calloc(1, sizeof *h);
	h->req = req;
	req->hold = h;
	return h;
}

struct rd_req *rd_hold_req(struct rd_hold *h)
{
	return h->req;
}

void rd_hold_free(struct rd_hold *h)
{
	if (!h)
		return;
	if (h->req)
		h->req->hold = NULL;
	free(h);
}

static void peer_name(h2o_req_t *r, char *out, size_t cap)
{
	struct sockaddr_storage sa;
	socklen_t len = r->conn->callbacks->get_peername(r->conn, (struct sockaddr *)&sa);
	out[0] = 0;
	if (len && sa.ss_family == AF_INET && cap >= INET_ADDRSTRLEN) {
		/* dotted quad as inet_ntop writes it, without its sprintf */
		const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)&sa)->sin_addr;
		char *p = out;
		for (int i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			if (a[i] >= 100)
				*p++ = (char)('0' + a[i] / 100);
			if (a[i] >= 10)
				*p++ = (char)('0' + a[i] / 10 % 10);
			*p++ = (char)('0' + a[i] % 10);
		}
		*p = 0;
	} else if (len && sa.ss_family == AF_INET)
		uv_ip4_name((struct sockaddr_in *)&sa, out, cap);
	else if (len && sa.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&sa, out, cap);
}

const char *rd_req_peer(struct rd_req *req)
{
	return req->client;
}

const char *rd_req_client_key(struct rd_req *req)
{
	struct rd_ip ip;
	char *out = rd_req_alloc(req, INET6_ADDRSTRLEN + 4);
	if (rd_ip_parse(req->client, strlen(req->client), &ip) == 0)
		rd_ip_client_key(&ip, out, INET6_ADDRSTRLEN + 4);
	else
		snprintf(out, INET6_ADDRSTRLEN + 4, "%s", req->client);
	return out;
}

void rd_req_set_who(struct rd_req *req, uint64_t vendor, uint64_t user)
{
	req->who_vendor = vendor;
	req->who_user = user;
}

/* ---- replies ------------------------------------------------------------ */

void rd_reply_header(struct rd_req *req, const char *name, const char *value)
{
	h2o_req_t *r = req->h2o;
	size_t nl = strlen(name), vl = strlen(value);
	char *n = pool_strndup(req, name, nl);
	h2o_strtolower(n, nl);
	h2o_add_header_by_str(&r->pool, &r->res.headers, n, nl, 1, NULL, pool_strndup(req, value, vl), vl);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 504: return "Gateway Timeout";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

/* A reply's status and headers (the body follows). */
static h2o_req_t *reply_head(struct rd_req *req, int status, const char *content_type, size_t len)
{
	req->replied = true;
	h2o_req_t *r = req->h2o;
	r->res.status = status;
	r->res.reason = reason(status);
	r->res.content_length = len;
	if (req->srv->draining)
		r->http1_is_persistent = 0;
	h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
	h2o_add_header_by_str(&r->pool, &r->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, req->id, strlen(req->id));
	h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	return r;
}

void rd_reply_raw(struct rd_req *req, int status, const char *content_type, const void *body, size_t len)
{
	if (rd_fails_assert(!req->replied))
		return;
	h2o_req_t *r = reply_head(req, status, content_type, len);
	if (req->detached) { /* kept for rd_req_reply, not sent */
		req->reply = pool_strndup(req, len ? (const char *)body : "", len);
		req->reply_len = len;
		return;
	}
	h2o_send_inline(r, body, len);
}

void rd_reply_pooled(struct rd_req *req, int status, const char *content_type, const void *body, size_t len)
{
	if (req->detached) {
		rd_reply_raw(req, status, content_type, body, len);
		return;
	}
	if (rd_fails_assert(!req->replied))
		return;
	h2o_req_t *r = reply_head(req, status, content_type, len);
	/* h2o_send_inline without its copy: the body is the pool's already */
	static h2o_generator_t generator = { NULL, NULL };
	h2o_iovec_t buf = h2o_iovec_init(body, len);
	h2o_start_response(r, &generator);
	if (h2o_memis(r->input.method.base, r->input.method.len, H2O_STRLIT("HEAD")))
		h2o_send(r, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(r, &buf, 1, H2O_SEND_STATE_FINAL);
}

/* A streamed body: h2o asks for the next piece (proceed) once the last one
 * is on its way; the producer's state is freed with the request's pool. */
struct stream {
	h2o_generator_t super;
	h2o_req_t *r;
	rd_stream_next_fn next;
	rd_stream_free_fn free_fn;
	void *arg;
};

static void stream_dispose(void *p)
{
	struct stream *s = p;
	if (s->free_fn)
		s->free_fn(s->arg);
	s->free_fn = NULL;
}

static void stream_send(struct stream *s)
{
	const char *chunk = NULL;
	size_t len = 0;
	int more = s->next(s->arg, &chunk, &len);
	h2o_iovec_t buf = h2o_iovec_init(chunk ? chunk : "", chunk ? len : 0);
	h2o_send(s->r, &buf, 1, more > 0 ? H2O_SEND_STATE_IN_PROGRESS : more == 0 ? H2O_SEND_STATE_FINAL
										  : H2O_SEND_STATE_ERROR);
}

static void stream_proceed(h2o_generator_t *g, h2o_req_t *r)
{
	(void)r;
	stream_send((struct stream *)g);
}

static void stream_stop(h2o_generator_t *g, h2o_req_t *r)
{
	(void)g;
	(void)r; /* the client went away: the pool's dispose frees the producer */
}

void rd_reply_stream(struct rd_req *req, int status, const char *content_type, rd_stream_next_fn next,
		     rd_stream_free_fn free_fn, void *arg)
{
	if (rd_fails_assert(!req->replied)) {
		if (free_fn)
			free_fn(arg);
		return;
	}
	req->replied = true;
	h2o_req_t *r = req->h2o;
	struct stream *s = h2o_mem_alloc_shared(&r->pool, sizeof *s, stream_dispose);
	*s = (struct stream){ .super = { stream_proceed, stream_stop }, .r = r, .next = next, .free_fn = free_fn, .arg = arg };
	r->res.status = status;
	r->res.reason = reason(status);
	if (req->srv->draining)
		r->http1_is_persistent = 0;
	h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
	h2o_add_header_by_str(&r->pool, &r->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, req->id, strlen(req->id));
	h2o_add_header(&r->pool, &r->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
	if (req->detached) { /* every piece at once, kept for rd_req_reply */
		char *all = NULL;
		size_t n = 0;
		int more = 1;
		while (more > 0) {
			const char *chunk = NULL;
			size_t len = 0;
			more = s->next(s->arg, &chunk, &len);
			if (chunk && len) {
				all = rd_realloc(all, n + len);
				memcpy(all + n, chunk, len);
				n += len;
			}
		}
		req->reply = pool_strndup(req, all ? all : "", n);
		req->reply_len = n;
		if (more < 0)
			r->res.status = -r->res.status; /* cut short: rd_req_reply says so */
		free(all);
		return; /* the producer is freed with the pool (stream_dispose) */
	}
	h2o_start_response(r, &s->super);
	stream_send(s);
}

void rd_reply_json(struct rd_req *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!s) {
		rd_reply_error(req, 500, "internal", NULL, "the response could not be encoded");
		return;
	}
	rd_reply_raw(req, status, "application/json", s, strlen(s));
	free(s); /* h2o_send_inline copied it into the pool */
}

static json_t *error_body(const char *code, const char *field, const char *message)
{
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", message);
	json_object_set_new(e, "field", field ? json_string(field) : json_null());
	return json_pack("{s:o}", "error", e);
}

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
	if (n && (s[1] < lo || s[1] > hi))
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* s in place as UTF-8: each byte that starts no sequence becomes '?'
 * (an error quotes what the client sent, which JSON could not carry). */
static void utf8_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		size_t n = utf8_seq(p);
		if (!n)
			*p++ = '?';
		else
			p += n;
	}
}

void rd_reply_error(struct rd_req *req, int status, const char *code, const char *field, const char *fmt, ...)
{
	char msg[1024], fbuf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* vsnprintf may have cut a sequence short at the end: the check stops at NUL */
	utf8_clean(msg);
	if (field) {
		snprintf(fbuf, sizeof fbuf, "%s", field);
		utf8_clean(fbuf);
		field = fbuf;
	}
	/* Every 503 says when to try again (the store busy with an import's
	 * write, a database away, a stop): in a second, unless it said. */
	if (status == 503 && h2o_find_header_by_str(&req->h2o->res.headers, "retry-after", 11, -1) < 0)
		rd_reply_header(req, "retry-after", "1");
	/* An internal error is the operator's to see (a full disk, a failing
	 * store): its reason goes to the log, not only to the client. */
	if (status == 500)
		rd_log_req(RD_LOG_ERROR, "http", req->id, "answered 500 %s: %s", code, msg);
	rd_reply_json(req, status, error_body(code, field, msg));
}

/* ---- h2o's own errors, as JSON ----------------------------------------- */

static size_t body_limit(struct rd_server *srv, const char *method, size_t mlen, const char *path, size_t plen,
			 const char *auth, const char *cookie, bool *unchecked);

static const char *req_value(h2o_req_t *req, const char *name, char *out, size_t cap)
{
	ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
	if (i < 0 || req->headers.entries[i].value.len >= cap)
		return NULL;
	memcpy(out, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
	out[req->headers.entries[i].value.len] = 0;
	return out;
}

struct json_ostream {
	h2o_ostream_t super;
	h2o_iovec_t body;
	bool sent;
};

static void json_ostream_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t n, h2o_send_state_t state)
{
	struct json_ostream *o = (struct json_ostream *)self;
	bool head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
	if (!o->sent && !head) {
		o->sent = true;
		h2o_ostream_send_next(self, req, &o->body, 1, state);
	} else {
		h2o_ostream_send_next(self, req, NULL, 0, state);
	}
}

static void json_errors_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
	struct rd_filter *f = (struct rd_filter *)self;
	ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
	bool json = ct >= 0 && h2o_memis(req->res.headers.entries[ct].value.base,
					 req->res.headers.entries[ct].value.len, H2O_STRLIT("application/json"));
	/* Our own replies carry a request id and are already in their shape
	 * (JSON, or an HTML page); only h2o's own errors are rewritten. */
	bool ours = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1) >= 0;
	if (req->res.status < 400 || json || ours) {
		h2o_setup_next_ostream(req, slot);
		return;
	}
	const char *code = "http_error";
	char msg[256];
	size_t too_large = 0; /* a 413's limit */
	snprintf(msg, sizeof msg, "%s", req->res.reason ? req->res.reason : "error");
	switch (req->res.status) {
	case 400: code = "bad_request"; snprintf(msg, sizeof msg, "the request is not valid HTTP"); break;
	case 408: code = "timeout"; break;
	case 413: {
		if (f->srv->creds_unchecked) {
			/* The store could not check the credentials, so the small
			 * limit applied: the store's failure, not a body too large. */
			req->res.status = 503;
			req->res.reason = "Service Unavailable";
			h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("retry-after"), 0, H2O_STRLIT("5"), 1);
			code = "unavailable";
			snprintf(msg, sizeof msg, "the store is unavailable (the request's credentials could not be checked): "
				 "try again later");
			break;
		}
		/* h2o refused the body before a handler ran: name the limit that
		 * applied (imports with credentials take max_bulk_body, requests
		 * without valid credentials max_anon_body). */
		char auth[512], cookie[16384]; /* a longer Cookie header counts as none */
		size_t limit = body_limit(f->srv, req->input.method.base, req->input.method.len, req->input.path.base,
					  req->input.path.len, req_value(req, "authorization", auth, sizeof auth),
					  req_value(req, "cookie", cookie, sizeof cookie), NULL);
		bool anon = limit == f->srv->opts.max_anon_body && limit < f->srv->opts.max_body;
		code = "body_too_large";
		too_large = limit;
		snprintf(msg, sizeof msg, "the request body exceeds the limit of %zu bytes%s", limit,
			 anon ? " for a request without valid credentials (max_anon_body_bytes)" : "");
		break;
	}
	case 414: code = "uri_too_long"; break;
	case 431: code = "headers_too_large"; break;
	case 500: code = "internal"; break;
	case 503: code = "unavailable"; break;
	}
	/* A browser's form refused for its size gets a page saying so, as its
	 * 404 and 405 do (browser_page), not the API's JSON. */
	char accept[256];
	const char *acc = req_value(req, "accept", accept, sizeof accept);
	bool page = too_large && acc && strstr(acc, "text/html") &&
		    !(req->input.path.len >= 4 && !memcmp(req->input.path.base, "/api", 4));
	char *s;
	if (page) {
		char text[1024];
		snprintf(text, sizeof text,
			 "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
			 "content=\"width=device-width, initial-scale=1\"><title>Too much to send</title></head><body>"
			 "<main><h1>Too much to send</h1><p>What this form sent is larger than the %zu bytes this address "
			 "takes, so nothing was saved. Go back, send less (shorter text, a smaller file, or a file split "
			 "in parts) and try again.</p></main></body></html>", too_large);
		s = strdup(text);
	} else {
		json_t *j = error_body(code, NULL, msg);
		s = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	struct json_ostream *o = (struct json_ostream *)h2o_add_ostream(req, sizeof *o, slot);
	o->super.do_send = json_ostream_send;
	o->body = h2o_strdup(&req->pool, s, strlen(s));
	o->sent = false;
	free(s);
	req->res.content_length = o->body.len;
	if (page) {
		h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("text/html; charset=utf-8"), 1);
		h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
				      H2O_STRLIT("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"), 1);
		h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, H2O_STRLIT("DENY"), 1);
		h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0,
				      H2O_STRLIT("nosniff"), 1);
	} else {
		h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json"), 1);
	}
	h2o_setup_next_ostream(req, &o->super.next);
}

/* ---- requests ----------------------------------------------------------- */

/* Appends to buf[0..cap) at n, cut at cap - 1 (room for a NUL): the new n. */
static size_t put_str(char *buf, size_t cap, size_t n, const char *s)
{
	size_t l = strlen(s);
	if (l > cap - 1 - n)
		l = cap - 1 - n;
	memcpy(buf + n, s, l);
	return n + l;
}

static size_t put_u64(char *buf, size_t cap, size_t n, uint64_t v)
{
	char d[24];
	size_t i = sizeof d;
	d[--i] = 0;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put_str(buf, cap, n, d + i);
}

/* ms as "%.3fms" does for a latency (to the microsecond, rounded). */
static size_t put_ms(char *buf, size_t cap, size_t n, double ms)
{
	uint64_t us = ms > 0 ? (uint64_t)(ms * 1e3 + 0.5) : 0;
	char frac[6] = { '.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10), (char)('0' + us % 10), 'm', 's' };
	n = put_u64(buf, cap, n, us / 1000);
	char f[7];
	memcpy(f, frac, 6);
	f[6] = 0;
	return put_str(buf, cap, n, f);
}

static void request_done(void *p)
{
	struct rd_req *req = p;
	if (req->pending) /* the client went away before the work finished */
		req->pending->req = NULL;
	if (req->hold)
		req->hold->req = NULL;
	double secs = (double)(now_ns() - req->start_ns) / 1e9;
	int status = req->h2o->res.status;
	rd_metrics_request(req->srv->opts.metrics, req->route ? req->route->pattern : NULL, req->method_name, status,
			   secs);
	/* The access log: who asked (the client's address; the vendor and the
	 * user once a credential verified, "-" before or without one), written
	 * without printf: "client=A vendor=V user=U", "METHOD PATH STATUS 1.234ms". */
	if (!rd_log_enabled(RD_LOG_INFO))
		return;
	char fields[128], msg[2048];
	size_t n = 0;
	n = put_str(fields, sizeof fields, n, "client=");
	n = put_str(fields, sizeof fields, n, req->client[0] ? req->client : "-");
	n = put_str(fields, sizeof fields, n, " vendor=");
	n = req->who_vendor ? put_u64(fields, sizeof fields, n, req->who_vendor) : put_str(fields, sizeof fields, n, "-");
	n = put_str(fields, sizeof fields, n, " user=");
	n = req->who_user ? put_u64(fields, sizeof fields, n, req->who_user) : put_str(fields, sizeof fields, n, "-");
	fields[n] = 0;
	size_t m = 0;
	m = put_str(msg, sizeof msg, m, req->method_name);
	m = put_str(msg, sizeof msg, m, " ");
	m = put_str(msg, sizeof msg, m, req->path);
	m = put_str(msg, sizeof msg, m, " ");
	m = put_u64(msg, sizeof msg, m, status < 0 ? 0 : (uint64_t)status);
	m = put_str(msg, sizeof msg, m, " ");
	m = put_ms(msg, sizeof msg, m, secs * 1e3);
	rd_log_req_text(RD_LOG_INFO, "http", req->id, fields, msg, m);
}

/* "%08x%08x" of the salt's low half and the request's number (the number's
 * low 32 bits: as printf gave them below 2^32, all of them above). */
static void new_request_id(struct rd_server *srv, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	uint64_t a = srv->salt & 0xffffffffu, b = ++srv->next_req;
	char *p = out;
	for (int i = 28; i >= 0; i -= 4)
		*p++ = hexd[(a >> i) & 15];
	int top = 28;
	while (top < 60 && (b >> (top + 4)))
		top += 4;
	for (int i = top; i >= 0; i -= 4)
		*p++ = hexd[(b >> i) & 15];
	*p = 0;
}

static bool valid_request_id(h2o_iovec_t v)
{
	if (v.len == 0 || v.len > 36)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		char c = v.base[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* h2o 2.2 buffers request heads of up to ~400 KB (H2O_MAX_REQLEN) and
 * hands them on; renewd refuses heads past this size. */
#define MAX_HEAD_BYTES (64 * 1024)

static size_t head_bytes(const h2o_req_t *r)
{
	size_t n = r->method.len + r->path.len + 12; /* " ", " HTTP/1.1\r\n" */
	for (size_t i = 0; i < r->headers.size; i++)
		n += r->headers.entries[i].name->len + r->headers.entries[i].value.len + 4; /* ": ", "\r\n" */
	return n;
}

static void route_and_run(struct rd_server *srv, struct rd_req *req);

struct qkey {
	const char *s;
	size_t n;
};

static int qkey_cmp(const void *a, const void *b)
{
	const struct qkey *x = a, *y = b;
	int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* A query parameter given twice (as written or percent-encoded: "limit"
 * and "%6Cimit" are one), which every handler read as its first value:
 * refused (400) naming it; true when it answered.  Empty pieces ("&&")
 * are no parameter. */
static bool key_twice(struct rd_req *req, const char *q, const char *end)
{
	size_t n = 0;
	for (const char *p = q; p < end; p++)
		n += *p == '&';
	if (!n)
		return false; /* one piece: one parameter at most */
	struct qkey *keys = rd_req_alloc(req, (n + 1) * sizeof *keys);
	size_t k = 0;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		if (!amp)
			amp = end;
		const char *eq = memchr(q, '=', (size_t)(amp - q));
		size_t kl = (size_t)((eq ? eq : amp) - q);
		if (kl) {
			keys[k].s = url_plain(q, kl) ? q : url_decode(req, q, kl);
			keys[k].n = keys[k].s == q ? kl : strlen(keys[k].s);
			k++;
		}
		q = amp + 1;
	}
	if (k < 2)
		return false;
	qsort(keys, k, sizeof *keys, qkey_cmp);
	for (size_t i = 1; i < k; i++)
		if (!qkey_cmp(&keys[i - 1], &keys[i])) {
			const char *name = pool_strndup(req, keys[i].s, keys[i].n);
			rd_reply_error(req, 400, "invalid", name, "query parameter %s is given twice: give it once", name);
			return true;
		}
	return false;
}

/* A NUL byte ("%00") in a path parameter or anywhere in the query string:
 * every value a handler reads (rd_req_param, rd_req_query) is a C string
 * that would end there, so "3%00junk" would be the id 3 and "partner%00x"
 * the filter partner.  Refused as bad input (400), naming where, as is a
 * query parameter given twice (key_twice); true when it answered. */
static bool query_refused(struct rd_req *req)
{
	h2o_req_t *r = req->h2o;
	for (size_t i = 0; i < req->n_params; i++)
		if (memchr(req->params[i].value, 0, req->params[i].value_len)) {
			char field[64];
			size_t n = req->params[i].name_len < sizeof field - 1 ? req->params[i].name_len : sizeof field - 1;
			memcpy(field, req->params[i].name, n);
			field[n] = 0;
			rd_reply_error(req, 400, "invalid", field, "the path's %s holds a NUL byte (%%00)", field);
			return true;
		}
	if (r->query_at == SIZE_MAX)
		return false;
	const char *q = r->path.base + r->query_at + 1, *end = r->path.base + r->path.len;
	bool nul = memchr(q, 0, (size_t)(end - q)) != NULL;
	for (const char *p = q; !nul && (p = memchr(p, '%', (size_t)(end - p))) != NULL && end - p >= 3; p++)
		nul = p[1] == '0' && p[2] == '0';
	if (nul) {
		rd_reply_error(req, 400, "invalid", NULL, "the query string holds a NUL byte (%%00)");
		return true;
	}
	return key_twice(req, q, end);
}

/* A request from a trusted proxy (opts.trusted_proxies): its client is the
 * right-most address of X-Forwarded-For (its header lines in order) that
 * is not a trusted proxy itself; what a client wrote to the left of it is
 * never read.  Without the header, or past an entry that is not an
 * address, the client stays the nearest proxy: never an address anyone
 * could have made up. */
static void forwarded_client(struct rd_server *srv, h2o_req_t *r, char *client, size_t cap)
{
	struct rd_ip ip;
	if (rd_ip_parse(client, strlen(client), &ip) < 0 || !rd_netblocks_match(srv->proxies, srv->n_proxies, &ip))
		return;
	/* The last XFF_LINES lines (a proxy that adds a line of its own adds
	 * it last: the lines before it are the client's, however many). */
	enum { XFF_LINES = 16 };
	ssize_t at[XFF_LINES];
	size_t n = 0;
	for (ssize_t i = -1; (i = h2o_find_header(&r->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) >= 0;)
		at[n++ % XFF_LINES] = i;
	for (size_t k = 0; k < n && k < XFF_LINES; k++) {
		const h2o_iovec_t *v = &r->headers.entries[at[(n - 1 - k) % XFF_LINES]].value;
		size_t end = v->len;
		for (;;) {
			size_t start = end;
			while (start > 0 && v->base[start - 1] != ',')
				start--;
			if (rd_ip_parse(v->base + start, end - start, &ip) < 0)
				return;
			if (!rd_netblocks_match(srv->proxies, srv->n_proxies, &ip)) {
				rd_ip_format(&ip, client, cap);
				return;
			}
			rd_ip_format(&ip, client, cap); /* a proxy: the nearest so far */
			if (!start)
				break;
			end = start - 1;
		}
	}
}

static int on_req(h2o_handler_t *self, h2o_req_t *r)
{
	struct rd_server *srv = ((struct rd_handler *)self)->srv;
	struct rd_req *req = h2o_mem_alloc_shared(&r->pool, sizeof *req, request_done);
	memset(req, 0, sizeof *req);
	req->h2o = r;
	req->srv = srv;
	req->start_ns = now_ns();
	req->path = pool_strndup(req, r->path_normalized.base, r->path_normalized.len);
	if (r->method.len < sizeof req->method_name) {
		memcpy(req->method_name, r->method.base, r->method.len);
		req->method_name[r->method.len] = 0;
	} else {
		memcpy(req->method_name, "OTHER", sizeof "OTHER");
	}
	peer_name(r, req->client, sizeof req->client);
	if (srv->n_proxies)
		forwarded_client(srv, r, req->client, sizeof req->client);

	ssize_t hi = h2o_find_header_by_str(&r->headers, H2O_STRLIT("x-request-id"), -1);
	if (hi >= 0 && valid_request_id(r->headers.entries[hi].value) &&
	    r->headers.entries[hi].value.len < sizeof req->id) {
		memcpy(req->id, r->headers.entries[hi].value.base, r->headers.entries[hi].value.len);
		req->id[r->headers.entries[hi].value.len] = 0;
	} else {
		new_request_id(srv, req->id);
	}

	route_and_run(srv, req);
	return 0;
}

/* A 404 or 405 as a page, for a browser outside /api/ (the server options'
 * page_error). */
static bool browser_page(struct rd_server *srv, struct rd_req *req, int status)
{
	const char *accept = rd_req_header(req, "accept");
	if (!srv->opts.page_error || !accept || !strstr(accept, "text/html") || !strncmp(req->path, "/api/", 5) ||
	    !strcmp(req->path, "/api"))
		return false;
	return srv->opts.page_error(req, status);
}

/* picohttpparser's request parser: libh2o exports it, but Debian does not
 * install its header.  Heads are parsed again here, without changing them,
 * only to decide the body limit and to check their framing. */
struct phr_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
		      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
		      size_t last_len);

static bool length_twice(const struct phr_header *h, size_t n);

/* The framing of the request's own head, read again from the connection's
 * input, where h2o keeps it (its names lower-cased in place, a chunked body
 * decoded in place after it) until the request is done: 1 when it gives its
 * body's length twice (length_twice), 2 when it holds a folded line
 * (obs-fold: a line after the first that begins with a space or a tab,
 * which a proxy may join to the line before it or take as a line of its
 * own), else 0, also when the input does not begin with this request's head.
 * on_read checks the head a read begins with before h2o parses it; a
 * request that h2o takes from its buffer after another (pipelined in the
 * same read) is checked by this alone (RFC 9112 5.2, 6.1, 6.3). */
static int head_framing(const h2o_req_t *r)
{
	h2o_socket_t *so = r->conn && r->conn->callbacks && r->conn->callbacks->get_socket
				   ? r->conn->callbacks->get_socket(r->conn) : NULL;
	if (!so || !so->input || !so->input->size)
		return 0;
	const char *m, *p;
	size_t ml, pl, nh = H2O_MAX_HEADERS;
	int minor;
	struct phr_header hs[H2O_MAX_HEADERS];
	size_t len = so->input->size < H2O_MAX_REQLEN ? so->input->size : H2O_MAX_REQLEN;
	if (phr_parse_request(so->input->bytes, len, &m, &ml, &p, &pl, &minor, hs, &nh, 0) <= 0 ||
	    pl != r->input.path.len || memcmp(p, r->input.path.base, pl) != 0 || ml != r->input.method.len ||
	    memcmp(m, r->input.method.base, ml) != 0)
		return 0;
	for (size_t i = 0; i < nh; i++)
		if (!hs[i].name)
			return 2;
	return length_twice(hs, nh) ? 1 : 0;
}

/* What on_req does once the request is read: the head's size, the route,
 * the body's limit, 404 and 405, then the handler (and a reply in its name
 * when it gave none).  rd_server_dispatch runs the same for a detached
 * request. */
static void route_and_run(struct rd_server *srv, struct rd_req *req)
{
	h2o_req_t *r = req->h2o;
	int framing = srv->length_twice ? 1 : head_framing(r);
	if (framing == 1) { /* read from the head by on_read (length_twice) or again here */
		r->http1_is_persistent = 0;
		rd_reply_error(req, 400, "bad_request", NULL,
			       "the request gives its body's length twice (Transfer-Encoding and Content-Length, or two "
			       "Content-Length lines): refused, and the connection closed");
		return;
	}
	if (framing == 2) {
		r->http1_is_persistent = 0;
		rd_reply_error(req, 400, "bad_request", NULL,
			       "the request head holds a folded line (a line beginning with a space or a tab, obs-fold): "
			       "refused, and the connection closed");
		return;
	}
	if (head_bytes(r) > MAX_HEAD_BYTES) {
		r->http1_is_persistent = 0;
		rd_reply_error(req, 431, "headers_too_large", NULL, "the request headers exceed %d bytes", MAX_HEAD_BYTES);
		return;
	}
	req->method = rd_method_parse(r->method.base, r->method.len);
	unsigned allowed = 0;
	if (req->method)
		req->route = rd_router_match(srv->router, req->method, r->path_normalized.base, r->path_normalized.len,
					     req->params, &req->n_params, &allowed);
	/* h2o enforces the larger (bulk) limit; every other route the smaller. */
	size_t limit = req->route && req->route->bulk ? srv->opts.max_bulk_body : srv->opts.max_body;
	if (r->entity.base && r->entity.len > limit) {
		r->http1_is_persistent = 0;
		if (!browser_page(srv, req, 413))
			rd_reply_error(req, 413, "body_too_large", NULL, "the request body exceeds the limit of %zu bytes",
				       limit);
		return;
	}
	if (!req->route) {
		if (!req->method || allowed) {
			char allow[96];
			if (!allowed) /* an unknown method: say what the path takes, if anything */
				rd_router_match(srv->router, 0, r->path_normalized.base, r->path_normalized.len, req->params,
						&req->n_params, &allowed);
			if (allowed) {
				rd_methods_format(allowed, allow, sizeof allow);
				rd_reply_header(req, "allow", allow);
				if (!browser_page(srv, req, 405))
					rd_reply_error(req, 405, "method_not_allowed", NULL, "%s is not allowed on %s (allowed: %s)",
						       req->method_name, req->path, allow);
				return;
			}
		}
		if (!browser_page(srv, req, 404))
			rd_reply_error(req, 404, "not_found", NULL, "no route for %s", req->path);
		return;
	}
	if (query_refused(req))
		return;
	rd_log_set_current_req(req->id);
	int rc = req->route->handler(req);
	rd_log_set_current_req(NULL);
	if (!req->replied && !req->pending && !req->hold) {
		int status = 500;
		const char *code = "internal";
		switch (rc) {
		case RD_ENOTFOUND: status = 404; code = "not_found"; break;
		case RD_EINVAL: status = 400; code = "invalid"; break;
		case RD_EEXISTS: status = 409; code = "conflict"; break;
		case RD_ETOOBIG: status = 413; code = "too_large"; break;
		case RD_EBUSY: status = 503; code = "unavailable"; break;
		}
		if (status == 500)
			rd_log_req(RD_LOG_ERROR, "http", req->id, "handler for %s failed: %s", req->route->pattern,
				   rd_strerror(rc));
		rd_reply_error(req, status, code, NULL, "%s", rd_strerror(rc));
	}
}

/* ---- connections -------------------------------------------------------- */

/* h2o takes over the handle's data pointer, so the server travels beside
 * the handle instead. */
struct conn {
	uv_tcp_t tcp; /* first: the close callback gets this address */
	struct rd_server *srv;
	h2o_socket_t *sock;      /* owned by h2o; valid while the conn is listed */
	h2o_socket_cb h2o_read;  /* h2o's read callback, called by on_read */
	size_t limit;            /* the body limit of the request being read; 0: not decided yet */
	bool unchecked;          /* the store failed to check its credentials (a 413 is answered 503) */
	bool twice;              /* its head gives the body's length twice (length_twice): refused */
	size_t seen;             /* input already found to hold no complete head (a slow head is
				  * looked at again from here, not from its start) */
	unsigned char client[9]; /* 4 or 6, then the peer's IPv4 address or IPv6 /64: a per-client cap */
	bool proxy;              /* the peer is a trusted proxy: its connections are its clients' */
	struct conn *next, **prev;
};

/* The one server of the process: h2o's read callback has only the socket. */
static struct rd_server *the_server;


/* A header's value, NUL-terminated in out (NULL when absent or too long:
 * no credential that long exists). */
static const char *head_value(const struct phr_header *h, size_t n, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (h[i].name_len == nl && h2o_lcstris(h[i].name, nl, name, nl)) {
			if (h[i].value_len >= cap)
				return NULL;
			memcpy(out, h[i].value, h[i].value_len);
			out[h[i].value_len] = 0;
			return out;
		}
	return NULL;
}

/* Whether the head may bring a body larger than limit: a Transfer-Encoding,
 * or a Content-Length that is not one number at most limit.  A head without
 * either brings no body, and one of a known size within the anonymous limit
 * fits every limit: its credentials need not be checked before its body is
 * read (the handler checks them as ever). */
static bool may_exceed(const struct phr_header *h, size_t n, size_t limit)
{
	int lengths = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len == 17 && h2o_lcstris(h[i].name, 17, H2O_STRLIT("transfer-encoding")))
			return true;
		if (h[i].name_len != 14 || !h2o_lcstris(h[i].name, 14, H2O_STRLIT("content-length")))
			continue;
		if (++lengths > 1 || h[i].value_len == 0 || h[i].value_len > 19)
			return true;
		uint64_t v = 0;
		for (size_t k = 0; k < h[i].value_len; k++) {
			char c = h[i].value[k];
			if (c < '0' || c > '9')
				return true;
			v = v * 10 + (uint64_t)(c - '0');
		}
		if (v > limit)
			return true;
	}
	return false;
}

/* Whether the head gives its body's length twice: a Transfer-Encoding and a
 * Content-Length, more than one Content-Length line, or more than one
 * Transfer-Encoding line (which a proxy may join or read either of).  h2o takes the
 * chunked body (or the first length) and runs what follows as the next
 * request; a proxy in front that reads the other length passes that on as
 * body: one request smuggled inside another (RFC 9112 6.1 and 6.3).  Such
 * a request is refused and its connection closed (route_and_run). */
static bool length_twice(const struct phr_header *h, size_t n)
{
	int lengths = 0, codings = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len == 17 && h2o_lcstris(h[i].name, 17, H2O_STRLIT("transfer-encoding")))
			codings++;
		else if (h[i].name_len == 14 && h2o_lcstris(h[i].name, 14, H2O_STRLIT("content-length")))
			lengths++;
	}
	return lengths > 1 || codings > 1 || (lengths && codings);
}

/* Whether buf[0..len) holds a whole head (up to its empty line) none of
 * whose lines after the first starts, in any case, with "content-length"
 * or "transfer-encoding", or with a space or tab (a folded line).  Such a
 * head parses to no Content-Length or Transfer-Encoding header (may_exceed
 * is false), or does not parse (phr_parse_request's -1): either way the
 * anonymous limit is the request's, with no parse of the head here. */
/* Whether buf[from..len) holds a head's end (an empty line: "\n\n" or
 * "\n\r\n"); from is 3 bytes before the bytes not looked at yet, so a
 * head sent a few bytes at a time is looked through once, not once per
 * read (head_brings_no_body reads it whole: only once it has ended). */
static bool head_ends(const char *buf, size_t len, size_t from)
{
	const char *end = buf + len;
	for (const char *p = buf + from; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		if ((p + 1 < end && p[1] == '\n') || (p + 2 < end && p[1] == '\r' && p[2] == '\n'))
			return true;
	return false;
}

static bool head_brings_no_body(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	for (bool first = true;; first = false) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return false; /* not whole yet */
		size_t n = (size_t)(nl - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (!first) {
			if (n == 0)
				return true;
			if (p[0] == ' ' || p[0] == '\t' ||
			    (n >= 14 && h2o_lcstris(p, 14, H2O_STRLIT("content-length"))) ||
			    (n >= 17 && h2o_lcstris(p, 17, H2O_STRLIT("transfer-encoding"))))
				return false;
		}
		p = nl + 1;
	}
}

/* The body limit of a request with this method, path and credentials;
 * *unchecked (when given): the store failed to check the credentials. */
static size_t body_limit(struct rd_server *srv, const char *method, size_t mlen, const char *path, size_t plen,
			 const char *auth, const char *cookie, bool *unchecked)
{
	struct rd_param params[RD_MAX_PARAMS];
	size_t np = 0, q = 0;
	unsigned allowed = 0, m = rd_method_parse(method, mlen);
	while (q < plen && path[q] != '?')
		q++;
	const struct rd_route *rt =
		m ? rd_router_match(srv->router, m, path, q, params, &np, &allowed) : NULL;
	bool bulk = false;
	int ok = rt && (auth || cookie) && srv->opts.credentials_ok
			 ? srv->opts.credentials_ok(srv->opts.app, auth, cookie, &bulk) : 0;
	if (unchecked)
		*unchecked = ok < 0;
	if (ok <= 0)
		return srv->opts.max_anon_body;
	/* The large limit only for those who may use a bulk route: any valid
	 * token would otherwise hold max_conns x max_bulk_body. */
	return rt->bulk && bulk ? srv->opts.max_bulk_body : srv->opts.max_body;
}

static struct conn *conn_of(struct rd_server *srv, h2o_socket_t *sock)
{
	for (struct conn *c = srv->conns; c; c = c->next)
		if (c->sock == sock)
			return c;
	return NULL;
}

static void on_read(h2o_socket_t *sock, const char *err);

/* h2o sets its own read callback again when a request ends (and when a
 * 100 Continue is sent); put ours back.  Runs before the loop polls for
 * I/O, so every read goes through on_read.  The next request's limit is
 * decided afresh. */
static void wrap(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp) && c->sock->_cb.read && c->sock->_cb.read != on_read) {
		c->h2o_read = c->sock->_cb.read;
		c->sock->_cb.read = on_read;
		c->limit = 0;
		c->unchecked = false;
		c->twice = false;
		c->seen = 0;
	}
}

static void on_rewrap(uv_prepare_t *p)
{
	struct rd_server *srv = p->data;
	rd_log_flush(); /* the loop's log lines, once per iteration (rd_log_buffer_here) */
	for (struct conn *c = srv->conns; c; c = c->next)
		wrap(c);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
	struct rd_server *srv = the_server;
	struct conn *c = conn_of(srv, sock);
	if (rd_fails_assert(c != NULL))
		return;
	size_t limit = c->limit ? c->limit : srv->opts.max_anon_body;
	size_t have = sock->input->size < H2O_MAX_REQLEN ? sock->input->size : H2O_MAX_REQLEN;
	if (!c->limit && !err && have &&
	    head_ends(sock->input->bytes, have, c->seen >= 3 && c->seen <= have ? c->seen - 3 : 0) &&
	    head_brings_no_body(sock->input->bytes, have)) {
		c->limit = limit = srv->opts.max_anon_body; /* what the parse below would decide */
		c->seen = 0;
	} else if (!c->limit && !err && sock->input->size) {
		const char *m, *p;
		size_t ml, pl, nh = H2O_MAX_HEADERS;
		int minor;
		struct phr_header hs[H2O_MAX_HEADERS];
		size_t len = sock->input->size < H2O_MAX_REQLEN ? sock->input->size : H2O_MAX_REQLEN;
		/* picohttpparser looks for the head's end only past last_len
		 * before parsing: a head sent a few bytes at a time costs its
		 * length once, not its length squared. */
		size_t last = c->seen <= len ? c->seen : 0;
		int r = phr_parse_request(sock->input->bytes, len, &m, &ml, &p, &pl, &minor, hs, &nh, last);
		c->seen = r == -2 ? len : 0;
		c->twice = r > 0 && length_twice(hs, nh);
		if (r > 0 && !may_exceed(hs, nh, srv->opts.max_anon_body)) {
			c->limit = limit = srv->opts.max_anon_body;
		} else if (r > 0) {
			char auth[512], cookie[16384]; /* a longer Cookie header counts as none */
			c->limit = limit = body_limit(srv, m, ml, p, pl,
						      head_value(hs, nh, "authorization", auth, sizeof auth),
						      head_value(hs, nh, "cookie", cookie, sizeof cookie), &c->unchecked);
		}
	}
	srv->conf.max_request_entity_size = limit;
	srv->creds_unchecked = c->unchecked;
	srv->length_twice = c->twice;
	c->h2o_read(sock, err);
	srv->creds_unchecked = false;
	srv->length_twice = false;
	srv->conf.max_request_entity_size = srv->opts.max_anon_body;
	wrap(c); /* the conn outlives this call: it is freed by the close callback */
}

/* The client a connection comes from: an IPv4 address (also when mapped
 * into IPv6), or an IPv6 /64, which one machine usually holds whole. */
static void client_of(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	memset(c->client, 0, sizeof c->client);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
		return;
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct rd_ip ip;
	if (ss.ss_family == AF_INET) {
		c->client[0] = 4;
		memcpy(c->client + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		memcpy(ip.b, mapped, 12);
		memcpy(ip.b + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const unsigned char *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		c->client[0] = memcmp(a, mapped, 12) ? 6 : 4;
		memcpy(c->client + 1, memcmp(a, mapped, 12) ? a : a + 12, memcmp(a, mapped, 12) ? 8 : 4);
		memcpy(ip.b, a, 16);
	} else {
		return;
	}
	c->proxy = c->srv->n_proxies && rd_netblocks_match(c->srv->proxies, c->srv->n_proxies, &ip);
}

static void on_conn_close(uv_handle_t *h)
{
	struct conn *c = (struct conn *)h;
	if (c->prev) { /* listed: h2o had the socket */
		*c->prev = c->next;
		if (c->next)
			c->next->prev = c->prev;
		c->srv->open_conns--;
		rd_metrics_connections(c->srv->opts.metrics, -1);
	}
	free(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct rd_server *srv = listener->data;
	if (status != 0) {
		rd_log(RD_LOG_WARN, "http", "accept failed: %s", uv_strerror(status));
		return;
	}
	struct conn *c = rd_calloc(1, sizeof *c);
	uv_tcp_init(srv->loop, &c->tcp);
	c->srv = srv;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return;
	}
	client_of(c);
	int mine = 0; /* a trusted proxy's connections are many clients': max_connections alone caps them */
	for (struct conn *o = srv->conns; o && !c->proxy; o = o->next)
		mine += !memcmp(o->client, c->client, sizeof c->client);
	if (srv->open_conns >= (int)srv->opts.max_conns || mine >= (int)srv->opts.max_client_conns) {
		/* Past the cap the connection is closed unread: the cap is what
		 * bounds the memory anonymous bodies can take.  One client's
		 * share is capped too, so that slow heads from one address
		 * cannot hold every place and keep everyone else out. */
		if (uv_now(srv->loop) >= srv->refused_log_ms + 10000) {
			srv->refused_log_ms = uv_now(srv->loop);
			rd_log(RD_LOG_WARN, "http", "%s: new connections are closed",
			       mine >= (int)srv->opts.max_client_conns ? "a client holds max_client_connections"
								     : "max_connections are open");
		}
		uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	srv->open_conns++;
	rd_metrics_connections(srv->opts.metrics, +1);
	c->sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, on_conn_close);
	c->next = srv->conns;
	if (c->next)
		c->next->prev = &c->next;
	c->prev = &srv->conns;
	srv->conns = c;
	h2o_accept(&srv->accept, c->sock);
	wrap(c);
}

int rd_server_start(struct rd_server **out, uv_loop_t *loop, const struct rd_server_opts *o, char *err, size_t errlen)
{
	struct rd_server *srv = rd_calloc(1, sizeof *srv);
	srv->loop = loop;
	srv->opts = *o;
	if (o->trusted_proxies && rd_netblocks_parse(o->trusted_proxies, srv->proxies, &srv->n_proxies, err, errlen) < 0) {
		free(srv);
		return RD_EINVAL;
	}
	srv->router = rd_router_new(o->routes, o->n_routes);
	if (getrandom(&srv->salt, sizeof srv->salt, 0) != sizeof srv->salt)
		srv->salt = (uint64_t)now_ns();

	h2o_config_init(&srv->conf);
	srv->conf.server_name = h2o_iovec_init(H2O_STRLIT("renewd"));
	/* The anonymous limit is the default; on_read raises it per request. */
	if (srv->opts.max_anon_body > srv->opts.max_body)
		srv->opts.max_anon_body = srv->opts.max_body;
	if (!srv->opts.max_conns)
		srv->opts.max_conns = 256;
	if (!srv->opts.max_client_conns || srv->opts.max_client_conns > srv->opts.max_conns)
		srv->opts.max_client_conns = srv->opts.max_conns;
	srv->conf.max_request_entity_size = srv->opts.max_anon_body;
	/* h2c (an HTTP/2 upgrade) would take reads past on_read's parser:
	 * renewd speaks HTTP/1.1 only. */
	srv->conf.http1.upgrade_to_http2 = 0;
	/* Input buffers past 4 MiB (large authenticated bodies) move to a file
	 * (created and unlinked at once) in a private directory, not anonymous
	 * memory. */
	if (o->body_dir && snprintf(h2o_socket_buffer_mmap_settings.fn_template,
				    sizeof h2o_socket_buffer_mmap_settings.fn_template, "%s/body.XXXXXX",
				    o->body_dir) < (int)sizeof h2o_socket_buffer_mmap_settings.fn_template) {
		mkdir(o->body_dir, 0700);
		chmod(o->body_dir, 0700);
		h2o_socket_buffer_mmap_settings.threshold = 4u << 20;
	}
	the_server = srv;
	srv->conf.http1.req_timeout = o->req_timeout_ms;
	srv->conf.http2.idle_timeout = o->req_timeout_ms;
	h2o_hostconf_t *host = h2o_config_register_host(&srv->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
	struct rd_handler *h = (struct rd_handler *)h2o_create_handler(path, sizeof *h);
	h->super.on_req = on_req;
	h->srv = srv;
	/* Errors h2o raises itself bind the request to the fallback path. */
	h2o_pathconf_t *paths[] = { path, &host->fallback_path };
	for (size_t i = 0; i < 2; i++) {
		struct rd_filter *f = (struct rd_filter *)h2o_create_filter(paths[i], sizeof *f);
		f->super.on_setup_ostream = json_errors_setup;
		f->srv = srv;
	}
	h2o_context_init(&srv->ctx, loop, &srv->conf);
	uv_prepare_init(loop, &srv->rewrap);
	srv->rewrap.data = srv;
	uv_prepare_start(&srv->rewrap, on_rewrap);
	rd_log_buffer_here(); /* this loop's info lines: one write per iteration */
	uv_unref((uv_handle_t *)&srv->rewrap);
	srv->accept.ctx = &srv->ctx;
	srv->accept.hosts = srv->conf.hosts;

	struct sockaddr_storage addr;
	int rc = uv_ip4_addr(o->host, o->port, (struct sockaddr_in *)&addr);
	if (rc != 0)
		rc = uv_ip6_addr(o->host, o->port, (struct sockaddr_in6 *)&addr);
	if (rc != 0) {
		snprintf(err, errlen, "listen address %s is not an IP address", o->host);
		goto fail;
	}
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	srv->listening = true;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 512, on_connection)) != 0) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", o->host, o->port, uv_strerror(rc));
		goto fail;
	}
	struct sockaddr_storage bound;
	int blen = sizeof bound;
	uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
	srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						       : ((struct sockaddr_in *)&bound)->sin_port);
	*out = srv;
	return 0;
fail:
	uv_close((uv_handle_t *)&srv->rewrap, NULL);
	the_server = NULL;
	if (srv->listening)
		uv_close((uv_handle_t *)&srv->listener, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	h2o_context_dispose(&srv->ctx);
	h2o_config_dispose(&srv->conf);
	rd_router_free(srv->router);
	free(srv);
	return rc < 0 ? rc : RD_EINVAL;
}

int rd_server_port(const struct rd_server *s)
{
	return s->port;
}

static int count_request(h2o_req_t *req, void *arg)
{
	/* A connection's request is live from its request line until the
	 * response is written; idle keep-alive connections have none. */
	if (req->input.method.base != NULL)
		++*(int *)arg;
	return 0;
}

static int in_flight(struct rd_server *s)
{
	int n = 0;
	if (s->conf.http1.callbacks.foreach_request)
		s->conf.http1.callbacks.foreach_request(&s->ctx, count_request, &n);
	if (s->conf.http2.callbacks.foreach_request)
		s->conf.http2.callbacks.foreach_request(&s->ctx, count_request, &n);
	return n;
}

static void on_drain_tick(uv_timer_t *t)
{
	struct rd_server *s = t->data;
	int n = in_flight(s);
	if (n > 0 && uv_now(s->loop) < s->drain_deadline)
		return;
	if (n > 0)
		rd_log(RD_LOG_WARN, "http", "shutdown timeout: %d request(s) still in flight are dropped", n);
	uv_timer_stop(t);
	uv_close((uv_handle_t *)t, NULL);
	s->drained(s->drained_arg, n);
}

void rd_server_shutdown(struct rd_server *s, unsigned timeout_ms, void (*done)(void *, int), void *arg)
{
	if (s->draining)
		return;
	s->draining = true;
	if (s->listening) {
		uv_close((uv_handle_t *)&s->listener, NULL);
		s->listening = false;
	}
	h2o_context_request_shutdown(&s->ctx);
	s->drained = done;
	s->drained_arg = arg;
	s->drain_deadline = uv_now(s->loop) + timeout_ms;
	uv_timer_init(s->loop, &s->drain_timer);
	s->drain_timer.data = s;
	uv_timer_start(&s->drain_timer, on_drain_tick, 0, 20);
}

/* Where a stopped server stays until the process exits. */
static struct rd_server *stopped;

void rd_server_free(struct rd_server **sp)
{
	/* h2o 2.2.5's context keeps internal timeout entries (and idle
	 * keep-alive sockets may still point into it) after the drain, and
	 * h2o_context_dispose asserts on them.  The daemon exits right after
	 * this, so the stopped server is kept (reachable, not leaked) rather
	 * than torn down under h2o's feet. */
	stopped = *sp;
	*sp = NULL;
}

/* ---- requests without a connection (fuzz/api.c) -------------------------- */

struct rd_server *rd_server_detached(uv_loop_t *loop, const struct rd_server_opts *o)
{
	struct rd_server *srv = rd_calloc(1, sizeof *srv);
	srv->loop = loop;
	srv->opts = *o;
	srv->router = rd_router_new(o->routes, o->n_routes);
	srv->salt = 0x5eed;
	return srv;
}

void rd_server_detached_free(struct rd_server **sp)
{
	if (!*sp)
		return;
	rd_router_free((*sp)->router);
	free(*sp);
	*sp = NULL;
}

struct rd_req *rd_server_dispatch(struct rd_server *srv, const char *method, const char *target, size_t len,
				  const char *const *headers, const void *body, size_t blen)
{
	struct rd_req *req = rd_req_detached(target, len, NULL, NULL, 0);
	h2o_req_t *r = req->h2o;
	req->srv = srv;
	req->detached = true;
	req->start_ns = now_ns();
	r->method = h2o_strdup(&r->pool, method, strlen(method));
	r->input.method = r->method;
	/* as h2o does: the path normalised (percent-decoded, dot segments
	 * resolved), the query kept apart */
	size_t query_at;
	size_t *norm = NULL;
	r->path_normalized = h2o_url_normalize_path(&r->pool, r->path.base, r->path.len, &query_at, &norm);
	r->query_at = query_at;
	req->path = pool_strndup(req, r->path_normalized.base, r->path_normalized.len);
	snprintf(req->method_name, sizeof req->method_name, "%.*s", (int)r->method.len, r->method.base);
	if (r->method.len >= sizeof req->method_name)
		snprintf(req->method_name, sizeof req->method_name, "OTHER");
	snprintf(req->client, sizeof req->client, "127.0.0.1");
	snprintf(req->id, sizeof req->id, "%08" PRIx64 "%08" PRIx64, srv->salt & 0xffffffffu, ++srv->next_req);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2) {
		size_t nl = strlen(headers[i]), vl = strlen(headers[i + 1]);
		if (!strcasecmp(headers[i], "host")) {
			r->input.authority = r->authority = h2o_strdup(&r->pool, headers[i + 1], vl);
			continue;
		}
		char *n = pool_strndup(req, headers[i], nl);
		h2o_strtolower(n, nl);
		h2o_add_header_by_str(&r->pool, &r->headers, n, nl, 1, NULL, pool_strndup(req, headers[i + 1], vl), vl);
	}
	if (body)
		r->entity = h2o_strdup(&r->pool, body, blen);
	route_and_run(srv, req);
	return req;
}

const void *rd_req_reply(const struct rd_req *req, int *status, size_t *len)
{
	if (!req->replied || !req->detached)
		return NULL;
	*status = req->h2o->res.status;
	*len = req->reply_len;
	return req->reply;
}

const char *rd_req_reply_header(struct rd_req *req, const char *name)
{
	ssize_t i = h2o_find_header_by_str(&req->h2o->res.headers, name, strlen(name), -1);
	if (i < 0)
		return NULL;
	h2o_iovec_t v = req->h2o->res.headers.entries[i].value;
	return pool_strndup(req, v.base, v.len);
}
