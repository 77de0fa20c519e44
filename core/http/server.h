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
	const char *body_dir;     /* private directory for large bodies (h2o's temp files); NULL: /tmp */
	/* Whether a request's credentials verify (an Authorization header or a
	 * Cookie header, either may be NULL), and in *bulk whether the caller's
	 * role may use a bulk route at all: decides the body limit before h2o
	 * buffers the body (docs/security.md). */
	bool (*credentials_ok)(void *app, const char *authorization, const char *cookie, bool *bulk);
	unsigned req_timeout_ms;  /* a request that does not arrive in time is dropped */
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

#endif
