/*
 * hello_server.c: the floor for the HTTP figures in bench/run.  A bare h2o
 * server (the libuv build, as renewd uses it: one loop, one context, the
 * same accept path as core/http/server.c) answering every request with a
 * 5-byte "hello", or, for GET /bytes/N, with N bytes (N up to 1 MiB: the
 * floor of sending a body of a list's size).  No routing, no auth, no store.
 *
 *   hello_server PORT     (listens on 127.0.0.1; 0 picks a port)
 *
 * Prints "hello_server: listening on 127.0.0.1:PORT" and serves until
 * SIGTERM or SIGINT.
 */
#include <h2o.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static h2o_globalconf_t conf;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

#define MAX_BYTES (1 << 20)
static char bytes[MAX_BYTES];

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain"));
	if (req->path.len > 7 && memcmp(req->path.base, "/bytes/", 7) == 0) {
		size_t n = 0;
		for (size_t i = 7; i < req->path.len && req->path.base[i] >= '0' && req->path.base[i] <= '9'; i++)
			n = n * 10 + (size_t)(req->path.base[i] - '0');
		if (n > MAX_BYTES)
			n = MAX_BYTES;
		req->res.content_length = n;
		h2o_send_inline(req, bytes, n);
		return 0;
	}
	h2o_send_inline(req, H2O_STRLIT("hello"));
	return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
	if (status != 0)
		return;
	uv_tcp_t *conn = malloc(sizeof *conn);
	if (!conn)
		return;
	uv_tcp_init(listener->loop, conn);
	if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
		uv_close((uv_handle_t *)conn, (uv_close_cb)free);
		return;
	}
	uv_tcp_nodelay(conn, 1);
	h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
	h2o_accept(&accept_ctx, sock);
}

static void on_signal(uv_signal_t *s, int signum)
{
	uv_stop(s->loop);
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	signal(SIGPIPE, SIG_IGN);
	memset(bytes, 'x', sizeof bytes);
	uv_loop_t *loop = uv_default_loop();

	h2o_config_init(&conf);
	h2o_hostconf_t *host = h2o_config_register_host(&conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
	h2o_handler_t *h = h2o_create_handler(path, sizeof *h);
	h->on_req = on_req;
	h2o_context_init(&ctx, loop, &conf);
	accept_ctx.ctx = &ctx;
	accept_ctx.hosts = conf.hosts;

	static uv_tcp_t listener;
	struct sockaddr_in addr;
	uv_tcp_init(loop, &listener);
	uv_ip4_addr("127.0.0.1", port, &addr);
	int rc;
	if ((rc = uv_tcp_bind(&listener, (struct sockaddr *)&addr, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&listener, 512, on_connection)) != 0) {
		fprintf(stderr, "hello_server: cannot listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
		return 1;
	}
	struct sockaddr_storage bound;
	int blen = sizeof bound;
	uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &blen);
	printf("hello_server: listening on 127.0.0.1:%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
	fflush(stdout);

	uv_signal_t sigterm, sigint;
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
