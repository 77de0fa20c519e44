/*
 * http.h: what route handlers see of HTTP.  core/http is the only place that
 * includes h2o.h; handlers get a struct rd_req and answer through the
 * rd_reply_* functions below.
 *
 * Memory: everything a request hands out (path, parameters, body, header
 * values) and everything given to rd_reply_* lives in the request's pool and
 * is freed when the response is done.  Handlers run on the loop thread.
 */
#ifndef RD_HTTP_HTTP_H
#define RD_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd_req;

enum rd_method {
	RD_GET = 1 << 0,
	RD_HEAD = 1 << 1,
	RD_POST = 1 << 2,
	RD_PUT = 1 << 3,
	RD_PATCH = 1 << 4,
	RD_DELETE = 1 << 5,
	RD_OPTIONS = 1 << 6,
};

/* A handler answers with one rd_reply_* call and returns 0.  Returning a
 * negative code without replying produces a 500 naming the code. */
typedef int (*rd_handler_fn)(struct rd_req *req);

/* One row of the route table (core/daemon/routes.c).  A pattern is a path whose
 * segments are literals or {name} parameters: "/api/v1/contracts/{id}". */
struct rd_route {
	unsigned method; /* one enum rd_method value */
	const char *pattern;
	rd_handler_fn handler;
	bool bulk;       /* takes bodies up to max_import_bytes (else max_body_bytes) */
};

/* Router (pure, unit-tested): finds the route for (method, path).
 * Returns the route, or NULL with *allowed set to the methods that do match
 * the path (0: no such path -> 404; otherwise 405 with Allow). */
#define RD_MAX_PARAMS 8
struct rd_param {
	const char *name; /* borrowed from the pattern, not NUL-terminated */
	size_t name_len;
	const char *value; /* borrowed from the path */
	size_t value_len;
};
const struct rd_route *rd_route_match(const struct rd_route *routes, size_t n, unsigned method, const char *path,
				      size_t path_len, struct rd_param *params, size_t *n_params, unsigned *allowed);
/* The same matcher over a tree of path segments built once from the table
 * (borrowed: it must outlive the router): identical answers, without looking
 * at every route per request.  The server builds one at start. */
struct rd_router;
struct rd_router *rd_router_new(const struct rd_route *routes, size_t n);
void rd_router_free(struct rd_router *r);
const struct rd_route *rd_router_match(const struct rd_router *r, unsigned method, const char *path, size_t path_len,
				       struct rd_param *params, size_t *n_params, unsigned *allowed);
/* "GET, HEAD, POST" for a method set; returns the length written. */
size_t rd_methods_format(unsigned methods, char *buf, size_t cap);
unsigned rd_method_parse(const char *s, size_t len);

/* Request accessors. */
unsigned rd_req_method(const struct rd_req *req);
const char *rd_req_path(const struct rd_req *req);      /* without the query */
const char *rd_req_route(const struct rd_req *req);     /* the matched pattern */
const char *rd_req_id(const struct rd_req *req);        /* the X-Request-Id */
/* A path parameter by name, NUL-terminated in the pool; NULL when absent. */
const char *rd_req_param(struct rd_req *req, const char *name);
/* A query parameter, percent-decoded into the pool; NULL when absent. */
const char *rd_req_query(struct rd_req *req, const char *name);
/* The first query parameter whose name is not in known (NULL-terminated
 * list), decoded into the pool; NULL when all are known. */
const char *rd_req_query_unknown(struct rd_req *req, const char *const *known);
/* A request header (case-insensitive), NUL-terminated in the pool. */
const char *rd_req_header(struct rd_req *req, const char *name);
const void *rd_req_body(const struct rd_req *req, size_t *len);
/* Parses the body as a JSON object.  On failure it has already replied
 * 400 bad_json (with line and column) and returns RD_EINVAL: the handler
 * returns 0.  On success *out is a new reference the caller releases. */
int rd_req_json(struct rd_req *req, json_t **out);
/* The application context the server was started with. */
void *rd_req_app(const struct rd_req *req);
void *rd_req_alloc(struct rd_req *req, size_t n);

/* Runs work(arg) on the libuv thread pool, then done(req, arg) back on the
 * loop thread, where done replies.  The handler returns 0 right after
 * calling this.  If the client goes away first, done is called with req
 * NULL (it must still free arg) and must not reply. */
typedef void (*rd_work_fn)(void *arg);
typedef void (*rd_work_done_fn)(struct rd_req *req, void *arg);
int rd_req_work(struct rd_req *req, rd_work_fn work, rd_work_done_fn done, void *arg);

/* Holds the reply for an answer that comes later from the loop (a plugin
 * call with its own timeout, say): the handler returns 0 after this.  Later
 * rd_hold_req gives the request back, or NULL when the client went away in
 * the meantime; rd_hold_free once done (after replying). */
struct rd_hold;
struct rd_hold *rd_req_hold(struct rd_req *req);
struct rd_req *rd_hold_req(struct rd_hold *h);
void rd_hold_free(struct rd_hold *h);

/* The client's address as text ("127.0.0.1"): the TCP peer's, or, for a
 * request from a trusted proxy (rd_server_opts.trusted_proxies), the
 * client its X-Forwarded-For names. */
const char *rd_req_peer(struct rd_req *req);
/* The key a limiter counts the client under: an IPv4 address, or an IPv6
 * address's /64 ("2001:db8:1:2::/64"), in the pool. */
const char *rd_req_client_key(struct rd_req *req);
/* The authenticated caller, for the access log (core/edge sets it). */
void rd_req_set_who(struct rd_req *req, uint64_t vendor, uint64_t user);

/* Responses. */
void rd_reply_header(struct rd_req *req, const char *name, const char *value);
void rd_reply_raw(struct rd_req *req, int status, const char *content_type, const void *body, size_t len);
/* rd_reply_raw for a body that is in the request's pool already
 * (rd_req_alloc, rd_jsonw_for_req): sent from there, not copied. */
void rd_reply_pooled(struct rd_req *req, int status, const char *content_type, const void *body, size_t len);
/* Serialises and releases body (steals the reference). */
/* A body sent piece by piece (chunked): next(arg, &chunk, &len) gives the
 * next piece, valid until its next call, and answers 1 (more to come), 0
 * (that was the last) or < 0 (fail: the response is cut short).  h2o asks
 * for a piece only when the last one is on its way, so a large body never
 * sits whole in memory.  free_fn(arg) runs once, when the request is done
 * or the client has gone. */
typedef int (*rd_stream_next_fn)(void *arg, const char **chunk, size_t *len);
typedef void (*rd_stream_free_fn)(void *arg);
void rd_reply_stream(struct rd_req *req, int status, const char *content_type, rd_stream_next_fn next,
		     rd_stream_free_fn free_fn, void *arg);
void rd_reply_json(struct rd_req *req, int status, json_t *body);
/* {"error":{"code":code,"message":message,"field":field}}; field may be NULL. */
void rd_reply_error(struct rd_req *req, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* A request that never came over a connection: its target (path and
 * query), a Cookie header (NULL: none) and a body, each copied, and a pool;
 * no route, no server, no reply.  For the fuzzing harnesses (fuzz/) of the
 * parsers that read a request: rd_req_query, rd_req_query_unknown,
 * rd_req_header and the pages' rd_form (nothing that replies). */
struct rd_req *rd_req_detached(const char *target, size_t len, const char *cookie, const void *body, size_t blen);
void rd_req_detached_free(struct rd_req *req);

/* A detached request's reply (rd_server_dispatch, core/http/server.h):
 * the body (in the pool) with *status and *len once a handler has replied,
 * NULL before.  A streamed body is whole here; a stream that failed gives
 * the status negated.  rd_req_reply_header: a reply header, or NULL. */
const void *rd_req_reply(const struct rd_req *req, int *status, size_t *len);
const char *rd_req_reply_header(struct rd_req *req, const char *name);

#endif
