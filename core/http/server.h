/* server.h: the HTTP server on the daemon's libuv loop (h2o underneath). */
#ifndef RD_HTTP_SERVER_H
#define RD_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "http/http.h"

struct rd_server;
struct rd_metrics;

struct rd_server_opts {
	const char *host;         /* an IP address literal */
	int port;                 /* 0: any free port (see rd_server_port) */
	size_t max_body;          /* request bodies above this get 413 */
	size_t max_bulk_body;     /* the same for routes marked bulk (imports) */
	size_t max_anon_body;     /* the same for requests without valid credentials */
	unsigned max_conns;       /* connections past this are closed at once */
	unsigned max_client_conns; /* the same per client address (an IPv6 /64); 0: max_conns */
	const char *trusted_proxies; /* addresses and blocks whose X-Forwarded-For names the client; NULL: none */
	const char *body_dir;     /* private directory for large bodies (h2o's temp files); NULL: /tmp */
	/* Whether a request's credentials verify (an Authorization header or a
	 * Cookie header, either may be NULL): 1 yes, 0 no, < 0 the store failed
	 * to say (a body past the small limit is then answered 503, not 413);
	 * and in *bulk whether the caller's role may use a bulk route at all:
	 * decides the body limit before h2o buffers the body (docs/security.md). */
	int (*credentials_ok)(void *app, const char *authorization, const char *cookie, bool *bulk);
	unsigned req_timeout_ms;  /* a request that does not arrive in time is dropped */
	/* A browser's request (Accept names text/html) for an address outside
	 * /api/ that has no route (404) or not for its method (405; the Allow
	 * header is set), or a body over the limit (413; h2o's own 413 is a plain
	 * page from the server): answers it with a page and returns true; false (or
	 * NULL): the JSON error as for the API. */
	bool (*page_error)(struct rd_req *req, int status);
	const struct rd_route *routes; /* borrowed for the server's life */
	size_t n_routes;
	void *app;                /* handed to handlers by rd_req_app() */
	struct rd_metrics *metrics; /* borrowed */
};

int rd_server_start(struct rd_server **out, uv_loop_t *loop, const struct rd_server_opts *opts, char *err,
		    size_t errlen);
int rd_server_port(const struct rd_server *s);
/* Graceful stop: closes the listener, lets requests in flight finish (new
 * requests on open connections are still answered, with Connection: close),
 * then calls done(arg) once nothing is in flight or timeout_ms has passed. */
void rd_server_shutdown(struct rd_server *s, unsigned timeout_ms, void (*done)(void *arg, int in_flight), void *arg);
/* Frees what the server owns.  Only after shutdown's done callback. */
void rd_server_free(struct rd_server **s);

/* In-process requests, for the fuzzing harness of the route table
 * (fuzz/api.c): a server with the route table and app of opts, no
 * listener and no h2o context.  rd_server_dispatch makes a request from a
 * method, a target (path and query), headers (name, value, ..., NULL) and
 * a body, and runs it as a request over a connection runs (the same
 * route_and_run: head size, route, body limit, 404/405, the handler, a 500
 * in a handler's name); the reply is kept (rd_req_reply, core/http/http.h)
 * instead of sent.  A handler that answers later (rd_req_work, rd_req_hold)
 * answers once the loop has run.  rd_req_detached_free frees the request
 * (work still running then finds its client gone). */
struct rd_server *rd_server_detached(uv_loop_t *loop, const struct rd_server_opts *opts);
void rd_server_detached_free(struct rd_server **s);
struct rd_req *rd_server_dispatch(struct rd_server *s, const char *method, const char *target, size_t len,
				  const char *const *headers, const void *body, size_t blen);

#endif
