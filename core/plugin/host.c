/*
 * host.c: loading plugins and serving them.
 *
 * Threads: the registry, configure, and the start and end of every call
 * belong to the loop thread.  Calls run on libuv's thread pool; what they
 * ask of the host (log, kv, http, ...) is safe from there: kv reads use
 * their own read transaction, and kv writes are handed to the loop (which
 * owns every store write) and waited for.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/audit.h"
#include "domain/model.h"
#include "plugin/host.h"
#include "plugin/secrets.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_IN_FLIGHT 8 /* per plugin: a hung gateway cannot take the whole pool */
#define MAX_VENDOR_IN_FLIGHT 2 /* per plugin and vendor: one tenant's slow calls leave the others places */

struct rd_loaded {
	const struct rd_plugin *desc; /* NULL when refused before a descriptor was had */
	char name[64], version[32], origin[4096], reason[512], last_error[512];
	uint32_t kind;
	bool loaded, inited;
	void *dl;
	rd_plugin_ctx *ctx; /* the plugin-level context (init, deinit) */
	unsigned in_flight;
	/* The vendors whose configure did not return in time and still runs
	 * (under the host's mu): that vendor's configure is refused until it
	 * returns, not every vendor's; eight of them refuse everyone's
	 * (a thread each is left running). */
	uint64_t cfg_stuck[8];
	unsigned n_cfg_stuck;
	struct {
		uint64_t vendor;
		unsigned n; /* 0: a free entry */
	} by_vendor[MAX_IN_FLIGHT]; /* the calls in flight, by vendor */
	struct rd_plugin_stats stats; /* calls on the thread pool since start (loop thread) */
	struct rd_loaded *next;
};

/* The entry counting vendor's calls of l in flight (a free one when it has
 * none; NULL only when every entry is another vendor's, which the
 * MAX_IN_FLIGHT check rules out). */
static unsigned *vendor_calls(struct rd_loaded *l, uint64_t vendor)
{
	unsigned *free_n = NULL;
	for (size_t i = 0; i < MAX_IN_FLIGHT; i++) {
		if (l->by_vendor[i].n && l->by_vendor[i].vendor == vendor)
			return &l->by_vendor[i].n;
		if (!l->by_vendor[i].n && !free_n) {
			free_n = &l->by_vendor[i].n;
			l->by_vendor[i].vendor = vendor;
		}
	}
	return free_n;
}

struct rd_plugin_ctx {
	struct rd_plugins *host;
	struct rd_loaded *l;
	uint64_t vendor, partner;
	const char *config;
	char err[512];
	json_t *fields; /* configure: field errors */
	char req[48];   /* the HTTP request the call is made for ("": none), for its log lines */
};

struct kv_job {
	rd_plugin_ctx *ctx;
	const char *key;
	const void *val;
	size_t len;
	bool del;
	int rc;
	bool done;
	struct kv_job *next;
};

struct rd_plugins {
	struct rd_store *store;
	struct rd_domain *domain;
	uv_loop_t *loop;
	pthread_t loop_thread;
	struct rd_loaded *list, *tail;
	const struct rd_plugin *fallback_branding; /* the built-in pack every page falls back on */
	/* kv writes from the thread pool, applied on the loop */
	uv_async_t async;
	bool have_async;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kv_job *queue;
	unsigned busy;
	atomic_uint stuck;              /* init and configure calls abandoned, still running (rd_plugins_busy) */
	/* A plugin's storage calls in the store (store_enter): an abandoned call
	 * may still make one after its caller has moved on, so rd_plugins_free,
	 * leaving such a call running, shuts them out before the store closes. */
	atomic_uint store_users;
	atomic_bool store_shut;
	/* Set once at start (loop thread), read-only after: safe from the pool. */
	struct rd_secrets secrets;      /* the key that seals enablement secrets */
	struct outbound *outbound;      /* outbound_hosts, owned */
	size_t n_outbound;
	struct secret_env *env;         /* secret_env, owned */
	size_t n_env;
	/* A registry over a store opened read-only (renewctl plugins): the
	 * plugins' storage writes (init's) are kept here, in memory, and read
	 * back, as renewd would store them; nothing reaches the store. */
	bool overlay;
	struct kv_over *over;           /* newest first, under mu */
};

struct kv_over {
	struct kv_over *next;
	uint64_t vendor;
	char key[129];
	bool del;
	size_t len;
	uint8_t val[];
};

/* One entry of the outbound allow-list: a host name or an address (as
 * inet_ntop writes it), and a port (0: any). */
struct outbound {
	char host[256];
	int port;
};

/* One operator mapping of a vendor's secret name to an environment variable. */
struct secret_env {
	uint64_t vendor;
	char name[64], var[128];
};

/* ---- host services ------------------------------------------------------- */

static void h_log(rd_plugin_ctx *ctx, int level, const char *fmt, ...)
{
	char msg[1024], comp[80];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(comp, sizeof comp, "plugin:%s", ctx->l->name);
	enum rd_log_level lv = level <= RD_PLOG_DEBUG ? RD_LOG_DEBUG : level == RD_PLOG_INFO ? RD_LOG_INFO
						     : level == RD_PLOG_WARN ? RD_LOG_WARN : RD_LOG_ERROR;
	rd_log_req(lv, comp, ctx->req[0] ? ctx->req : NULL, "%s", msg);
}

static void h_error(rd_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
	va_end(ap);
}

static void h_field_error(rd_plugin_ctx *ctx, const char *field, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (ctx->fields && json_array_size(ctx->fields) < 100)
		json_array_append_new(ctx->fields, json_pack("{s:s, s:s}", "field", field ? field : "", "message", msg));
}

static int64_t h_now(rd_plugin_ctx *ctx)
{
	return (int64_t)rd_clock_now();
}

/* A storage call's use of the store: false once rd_plugins_free shut it
 * out (the store is about to close under an abandoned call). */
static bool store_enter(struct rd_plugins *p)
{
	atomic_fetch_add(&p->store_users, 1);
	if (!atomic_load(&p->store_shut))
		return true;
	atomic_fetch_sub(&p->store_users, 1);
	return false;
}

static void store_leave(struct rd_plugins *p)
{
	atomic_fetch_sub(&p->store_users, 1);
}

static int kv_key(rd_plugin_ctx *ctx, const char *key, uint8_t *out, size_t *len)
{
	size_t pl = strlen(ctx->l->name), kl = key ? strlen(key) : 0;
	if (!key || kl == 0 || kl > 128 || memchr(key, 0, kl))
		return RD_EINVAL;
	memcpy(out, ctx->l->name, pl + 1);
	memcpy(out + pl + 1, key, kl + 1);
	*len = pl + kl + 2;
	return 0;
}

static int h_kv_get(rd_plugin_ctx *ctx, const char *key, void *buf, size_t cap, size_t *len)
{
	uint8_t k[200];
	size_t kl;
	if (kv_key(ctx, key, k, &kl) < 0)
		return RD_EINVAL;
	struct rd_plugins *p = ctx->host;
	if (p->overlay) {
		int orc = 1;
		pthread_mutex_lock(&p->mu);
		for (struct kv_over *o = p->over; o; o = o->next)
			if (o->vendor == ctx->vendor && !strcmp(o->key, key)) {
				orc = o->del ? RD_ENOTFOUND : o->len > cap ? RD_ETOOBIG : 0;
				*len = o->len;
				if (orc == 0)
					memcpy(buf, o->val, o->len);
				break;
			}
		pthread_mutex_unlock(&p->mu);
		if (orc <= 0)
			return orc;
	}
	struct rd_txn *t;
	if (!store_enter(p))
		return RD_EBUSY;
	int rc = rd_store_read(ctx->host->store, &t);
	if (rc < 0) {
		store_leave(p);
		return rc;
	}
	uint64_t id;
	struct rd_plugin_kv *kv = rd_malloc(sizeof *kv);
	rc = rd_index_find(t, ctx->host->domain->plugin_kv, "key", ctx->vendor, k, kl, &id);
	if (rc == 0)
		rc = rd_entity_get(t, ctx->host->domain->plugin_kv, &rd_entity_plugin_kv, ctx->vendor, id, kv);
	rd_txn_end(t);
	store_leave(p);
	if (rc == 0) {
		*len = kv->len;
		if (kv->len > cap)
			rc = RD_ETOOBIG;
		else
			memcpy(buf, kv->value, kv->len);
	}
	free(kv);
	return rc;
}

static int kv_write(struct rd_txn *t, void *arg)
{
	struct kv_job *j = arg;
	rd_plugin_ctx *ctx = j->ctx;
	uint8_t k[200];
	size_t kl;
	kv_key(ctx, j->key, k, &kl);
	uint64_t id = 0;
	int rc = rd_index_find(t, ctx->host->domain->plugin_kv, "key", ctx->vendor, k, kl, &id);
	if (rc < 0 && rc != RD_ENOTFOUND)
		return rc;
	if (j->del)
		return rc == RD_ENOTFOUND ? 0 : rd_txn_del(t, ctx->host->domain->plugin_kv, ctx->vendor, id);
	struct rd_plugin_kv *kv = rd_calloc(1, sizeof *kv);
	kv->id = rc == 0 ? id : 0;
	snprintf(kv->plugin, sizeof kv->plugin, "%s", ctx->l->name);
	snprintf(kv->key, sizeof kv->key, "%s", j->key);
	kv->len = (uint32_t)j->len;
	memcpy(kv->value, j->val, j->len);
	rc = rd_entity_put(t, ctx->host->domain->plugin_kv, &rd_entity_plugin_kv, ctx->vendor, kv, 0);
	free(kv);
	return rc;
}

/* On the loop: apply queued writes and wake their threads. */
static void on_kv_async(uv_async_t *a)
{
	struct rd_plugins *p = a->data;
	pthread_mutex_lock(&p->mu);
	struct kv_job *q = p->queue;
	p->queue = NULL;
	pthread_mutex_unlock(&p->mu);
	while (q) {
		struct kv_job *next = q->next;
		int rc = rd_store_write(p->store, kv_write, q);
		pthread_mutex_lock(&p->mu);
		q->rc = rc;
		q->done = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		q = next;
	}
}

/* Set on the thread that runs a loaded plugin's init (rd_plugins_add) or a
 * configure (rd_plugins_configure): the loop thread waits for it (or is not
 * running yet), so that thread writes to the store itself. */
static _Thread_local bool writes_direct;

static int kv_submit(rd_plugin_ctx *ctx, struct kv_job *j)
{
	struct rd_plugins *p = ctx->host;
	uint8_t k[200];
	size_t kl;
	if (kv_key(ctx, j->key, k, &kl) < 0 || j->len > 65536)
		return j->len > 65536 ? RD_ETOOBIG : RD_EINVAL;
	if (p->overlay) {
		struct kv_over *o = rd_calloc(1, sizeof *o + (j->del ? 0 : j->len));
		o->vendor = ctx->vendor;
		snprintf(o->key, sizeof o->key, "%s", j->key);
		o->del = j->del;
		o->len = j->del ? 0 : j->len;
		if (o->len)
			memcpy(o->val, j->val, o->len);
		pthread_mutex_lock(&p->mu);
		o->next = p->over;
		p->over = o;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if (!p->have_async || writes_direct || pthread_equal(pthread_self(), p->loop_thread)) {
		if (!store_enter(p))
			return RD_EBUSY;
		int rc = rd_store_write(p->store, kv_write, j);
		store_leave(p);
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	j->next = p->queue;
	p->queue = j;
	uv_async_send(&p->async);
	while (!j->done)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return j->rc;
}

static int h_kv_put(rd_plugin_ctx *ctx, const char *key, const void *val, size_t len)
{
	struct kv_job j = { .ctx = ctx, .key = key, .val = val, .len = len };
	return kv_submit(ctx, &j);
}

static int h_kv_del(rd_plugin_ctx *ctx, const char *key)
{
	struct kv_job j = { .ctx = ctx, .key = key, .del = true };
	return kv_submit(ctx, &j);
}

struct grow {
	char *buf;
	size_t len, cap;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct grow *g = arg;
	size_t add = size * n;
	if (g->len + add > (16u << 20))
		return 0; /* a 16 MiB response is not a gateway's answer */
	if (g->len + add + 1 > g->cap) {
		g->cap = (g->len + add + 1) * 2;
		g->buf = rd_realloc(g->buf, g->cap);
	}
	memcpy(g->buf + g->len, data, add);
	g->len += add;
	g->buf[g->len] = 0;
	return add;
}

/* ---- the outbound allow-list ------------------------------------------------- */

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* An address literal in the form inet_ntop writes (so "0:0::1" matches
 * "::1"); other text is left as it is. */
static void canonical_host(char *h, size_t cap)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, h, a) == 1)
		inet_ntop(AF_INET, a, h, (socklen_t)cap);
	else if (inet_pton(AF_INET6, h, a) == 1)
		inet_ntop(AF_INET6, a, h, (socklen_t)cap);
	lower(h);
}

static bool listed(const struct rd_plugins *p, const char *host, int port)
{
	for (size_t i = 0; i < p->n_outbound; i++)
		if (!strcmp(p->outbound[i].host, host) && (!p->outbound[i].port || p->outbound[i].port == port))
			return true;
	return false;
}

/* The host and port a URL goes to (host canonical, IPv6 without brackets).
 * 0, or RD_EINVAL when it is not an http(s) URL. */
static int url_target(const char *url, char *host, size_t cap, int *port)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL, *pt = NULL;
	int rc = RD_EINVAL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (!strcmp(scheme, "http") || !strcmp(scheme, "https")) && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &pt, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		size_t n = strlen(h);
		const char *b = h;
		if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
			b++;
			n -= 2;
		}
		if (n > 0 && n < cap) {
			memcpy(host, b, n);
			host[n] = 0;
			canonical_host(host, cap);
			*port = atoi(pt);
			rc = 0;
		}
	}
	curl_free(scheme);
	curl_free(h);
	curl_free(pt);
	curl_url_cleanup(u);
	return rc;
}

/* Is the URL's host on the allow-list?  where gets "host:port" either way. */
static bool url_allowed(const struct rd_plugins *p, const char *url, char *where, size_t cap)
{
	char host[256];
	int port = 0;
	if (url_target(url, host, sizeof host, &port) < 0) {
		snprintf(where, cap, "%.80s", url);
		return false;
	}
	snprintf(where, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	return listed(p, host, port);
}

int rd_plugins_set_outbound(struct rd_plugins *p, const char *list, char *err, size_t errlen)
{
	free(p->outbound);
	p->outbound = NULL;
	p->n_outbound = 0;
	char *copy = rd_strdup(list ? list : ""), *save = NULL;
	int rc = 0;
	for (char *e = strtok_r(copy, ", \t\n", &save); e; e = strtok_r(NULL, ", \t\n", &save)) {
		struct outbound o = { .port = 0 };
		char orig[300];
		snprintf(orig, sizeof orig, "%s", e);
		char *host = e, *port = NULL;
		unsigned char v6[16];
		bool bare6 = inet_pton(AF_INET6, e, v6) == 1; /* ::1, any port */
		if (!bare6 && e[0] == '[') { /* [v6] or [v6]:port */
			char *close = strchr(e, ']');
			if (close && (close[1] == 0 || close[1] == ':')) {
				*close = 0;
				host = e + 1;
				port = close[1] ? close + 2 : NULL;
			} else {
				host = NULL;
			}
		} else if (!bare6 && strchr(e, ':') && strchr(e, ':') == strrchr(e, ':')) {
			port = strchr(e, ':');
			*port++ = 0;
		}
		char *end = NULL;
		long pn = port ? strtol(port, &end, 10) : 0;
		bool ok = host && *host && strlen(host) < sizeof o.host && (!port || (*port && !*end && pn >= 1 && pn <= 65535));
		for (const char *c = host; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || *c == '.' || *c == '-' || (*c == ':' && (e[0] == '[' || bare6));
		if (!ok) {
			snprintf(err, errlen, "option outbound_hosts: \"%s\" is not a host, host:port or [IPv6]:port", orig);
			rc = RD_EINVAL;
			break;
		}
		snprintf(o.host, sizeof o.host, "%s", host);
		canonical_host(o.host, sizeof o.host);
		o.port = (int)pn;
		p->outbound = rd_realloc(p->outbound, (p->n_outbound + 1) * sizeof *p->outbound);
		p->outbound[p->n_outbound++] = o;
	}
	free(copy);
	return rc;
}

/* Addresses a plugin may reach only when the operator lists them: loopback,
 * private, link-local, shared (CGNAT), multicast and reserved ranges. */
static bool inner_v4(const unsigned char a[4])
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	       (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
	       (a[0] == 192 && a[1] == 0 && a[2] == 0) || (a[0] == 198 && (a[1] & 0xfe) == 18) || a[0] >= 224;
}

static bool inner_v6(const unsigned char a[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char zero[12] = { 0 };
	if (!memcmp(a, mapped, 12) || !memcmp(a, zero, 12)) /* ::ffff:a.b.c.d, ::a.b.c.d, ::1, :: */
		return memcmp(a, zero, 12) ? inner_v4(a + 12) : true;
	return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

struct guard {
	const struct rd_plugins *p;
	char refused[INET6_ADDRSTRLEN + 8];
};

/* libcurl asks here for each socket it connects: the address actually
 * connected is checked, whatever the name resolved to (DNS rebinding). */
static curl_socket_t open_guarded(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
	struct guard *g = arg;
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;
	bool inner = true;
	if (purpose == CURLSOCKTYPE_IPCXN && sa->family == AF_INET && sa->addrlen >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&sa->addr;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		port = ntohs(in->sin_port);
		inner = inner_v4((const unsigned char *)&in->sin_addr);
	} else if (purpose == CURLSOCKTYPE_IPCXN && sa->family == AF_INET6 && sa->addrlen >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&sa->addr;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		port = ntohs(in6->sin6_port);
		inner = inner_v6((const unsigned char *)&in6->sin6_addr);
	}
	if (!ip[0] || (inner && !listed(g->p, ip, port))) {
		snprintf(g->refused, sizeof g->refused, "%s", ip[0] ? ip : "a non-IP address");
		return CURL_SOCKET_BAD;
	}
	return socket(sa->family, sa->socktype, sa->protocol);
}

/* renewd's own outbound POST (signed webhooks, core/services/hooks.c): the
 * same allow-list and connect-time address check as a plugin's HTTP; no
 * redirect followed; the answer's body is discarded.  Worker thread. */
int rd_plugins_post(const struct rd_plugins *p, const char *url, const char *const *headers, const void *body,
		    size_t len, long timeout_ms, long *status, char *err, size_t errlen)
{
	*status = 0;
	char where[300];
	if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
		snprintf(err, errlen, "the URL must be http:// or https://");
		return RD_EINVAL;
	}
	if (!url_allowed(p, url, where, sizeof where)) {
		snprintf(err, errlen, "%s is not on renewd's outbound allow-list (outbound_hosts): not sent", where);
		return RD_EINVAL;
	}
	CURL *c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	struct guard guard = { .p = p };
	struct grow g = { 0 };
	struct curl_slist *hdrs = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		hdrs = curl_slist_append(hdrs, headers[i]);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(g.buf);
	if (cc != CURLE_OK && guard.refused[0]) {
		snprintf(err, errlen, "refused to connect to %s, a loopback, private or reserved address not listed itself "
			 "in outbound_hosts", guard.refused);
		return RD_EINVAL;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(cc));
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	return 0;
}

const struct rd_secrets *rd_plugins_secrets(const struct rd_plugins *p)
{
	return &p->secrets;
}

static int h_http(rd_plugin_ctx *ctx, const struct rd_http_request *req, struct rd_http_response *resp)
{
	memset(resp, 0, sizeof *resp);
	if (!req || !req->url || (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8))) {
		h_log(ctx, RD_PLOG_ERROR, "http: the URL must be http:// or https://");
		return RD_EINVAL;
	}
	char where[300];
	if (!url_allowed(ctx->host, req->url, where, sizeof where)) {
		h_log(ctx, RD_PLOG_ERROR, "http: %s is not on renewd's outbound allow-list (outbound_hosts): not sent", where);
		return RD_EINVAL;
	}
	CURL *c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	struct guard guard = { .p = ctx->host };
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_guarded);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer, never followed elsewhere */
	struct grow g = { 0 };
	struct curl_slist *hdrs = NULL;
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 10000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
	if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK && guard.refused[0]) {
		h_log(ctx, RD_PLOG_ERROR, "http %s %s: refused to connect to %s, a loopback, private or reserved address "
		      "not listed itself in outbound_hosts", req->method ? req->method : "GET", where, guard.refused);
		free(g.buf);
		return RD_EINVAL;
	}
	if (cc != CURLE_OK) {
		h_log(ctx, RD_PLOG_WARN, "http %s %s: %s", req->method ? req->method : "GET", req->url, curl_easy_strerror(cc));
		free(g.buf);
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	resp->status = (int)status;
	resp->body = g.buf ? g.buf : rd_calloc(1, 1);
	resp->body_len = g.len;
	return 0;
}

static void h_release(void *p)
{
	free(p);
}

/* Only names the operator mapped to the calling vendor: one vendor can never
 * name another's, and an unmapped name answers as an unset one does. */
static const char *h_secret(rd_plugin_ctx *ctx, const char *name)
{
	const struct rd_plugins *p = ctx->host;
	for (size_t i = 0; name && ctx->vendor && i < p->n_env; i++)
		if (p->env[i].vendor == ctx->vendor && !strcmp(p->env[i].name, name))
			return getenv(p->env[i].var);
	return NULL;
}

static int vendor_by_slug(struct rd_plugins *p, const char *slug, uint64_t *id)
{
	struct rd_txn *t;
	int rc = rd_store_read(p->store, &t);
	if (rc < 0)
		return rc;
	struct rd_iter it;
	struct rd_item item;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	*id = 0;
	rc = rd_iter_records(&it, t, p->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, v) == 0 && !strcmp(v->slug, slug))
			*id = v->id;
	rd_iter_close(&it);
	rd_txn_end(t);
	free(v);
	return rc < 0 ? rc : *id ? 0 : RD_ENOTFOUND;
}

int rd_plugins_set_secret_env(struct rd_plugins *p, const char *list, char *err, size_t errlen)
{
	free(p->env);
	p->env = NULL;
	p->n_env = 0;
	char *copy = rd_strdup(list ? list : ""), *save = NULL;
	int rc = 0;
	for (char *e = strtok_r(copy, ", \t\n", &save); e; e = strtok_r(NULL, ", \t\n", &save)) {
		char *slash = strchr(e, '/'), *eq = strchr(e, '=');
		struct secret_env m = { 0 };
		if (!slash || !eq || eq < slash || slash == e || eq == slash + 1 || !eq[1] ||
		    (size_t)(eq - slash - 1) >= sizeof m.name || strlen(eq + 1) >= sizeof m.var) {
			snprintf(err, errlen, "option secret_env: \"%s\" is not VENDOR/NAME=VARIABLE", e);
			rc = RD_EINVAL;
			break;
		}
		*slash = *eq = 0;
		if (vendor_by_slug(p, e, &m.vendor) < 0) {
			snprintf(err, errlen, "option secret_env: no vendor has the slug \"%s\"", e);
			rc = RD_EINVAL;
			break;
		}
		snprintf(m.name, sizeof m.name, "%s", slash + 1);
		snprintf(m.var, sizeof m.var, "%s", eq + 1);
		p->env = rd_realloc(p->env, (p->n_env + 1) * sizeof *p->env);
		p->env[p->n_env++] = m;
	}
	free(copy);
	return rc;
}

static const char *h_config(rd_plugin_ctx *ctx)
{
	return ctx->config ? ctx->config : "{}";
}

static const struct rd_host_api host_api = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_host_api),
	.log = h_log,
	.error = h_error,
	.field_error = h_field_error,
	.now = h_now,
	.kv_get = h_kv_get,
	.kv_put = h_kv_put,
	.kv_del = h_kv_del,
	.http = h_http,
	.release = h_release,
	.secret = h_secret,
	.config = h_config,
};

/* ---- the registry -------------------------------------------------------- */

/* The plugin whose code the current thread runs (a call on the pool,
 * configure, asset), for the crash handler below. */
static _Thread_local const char *in_plugin;
static const int call_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
static struct sigaction call_saved[sizeof call_signals / sizeof call_signals[0]];
static bool call_watching;

static void say(const char *s)
{
	ssize_t w = write(STDERR_FILENO, s, strlen(s));
	(void)w;
}

/* A plugin that crashes in a call takes renewd down (it runs in renewd's
 * process; systemd starts it again, and the next such call ends it again):
 * the last line says which plugin it was.  Async-signal-safe. */
static void on_call_crash(int sig)
{
	const char *name = in_plugin;
	if (name) {
		say("renewd: the plugin ");
		say(name);
		say(" crashed during a call: disable it (or remove it from the plugin directory) and report it to its "
		    "author\n");
	}
	for (size_t i = 0; i < sizeof call_signals / sizeof call_signals[0]; i++)
		if (call_signals[i] == sig)
			sigaction(sig, &call_saved[i], NULL); /* as before: a core dump, ASan's report */
	raise(sig); /* pending until this returns: a fault or a raise() alike end as they would have */
}

static void call_watch(void)
{
	if (call_watching)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_call_crash;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof call_signals / sizeof call_signals[0]; i++)
		sigaction(call_signals[i], &sa, &call_saved[i]);
	call_watching = true;
}

void rd_plugins_overlay(struct rd_plugins *p)
{
	p->overlay = true;
}

struct rd_plugins *rd_plugins_new(struct rd_store *s, struct rd_domain *d, uv_loop_t *loop)
{
	if (loop) /* renewd (renewctl calls configure only, on its one thread: the crash says enough there) */
		call_watch();
	struct rd_plugins *p = rd_calloc(1, sizeof *p);
	p->store = s;
	p->domain = d;
	p->loop = loop;
	p->loop_thread = pthread_self();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (loop && uv_async_init(loop, &p->async, on_kv_async) == 0) {
		p->async.data = p;
		p->have_async = true;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return p;
}

/* The registry holds its async handle: it is freed once the loop has
 * closed the handle (the loop's next turn), never before. */
static void plugins_closed(uv_handle_t *h)
{
	free(h->data);
}

void rd_plugins_free(struct rd_plugins **pp)
{
	struct rd_plugins *p = *pp;
	if (!p)
		return;
	if (atomic_load(&p->stuck)) {
		/* A configure still runs in a plugin's code, with the registry:
		 * neither is taken from under it (the process is ending).  Its
		 * storage calls are shut out of the store, which the caller closes
		 * next; one already in the store is waited for (a short read or
		 * write: bounded all the same). */
		atomic_store(&p->store_shut, true);
		for (int i = 0; i < 2000 && atomic_load(&p->store_users); i++)
			usleep(1000);
		*pp = NULL;
		return;
	}
	while (p->list) {
		struct rd_loaded *l = p->list;
		p->list = l->next;
		if (l->inited && l->desc->deinit)
			l->desc->deinit(l->ctx);
		if (l->dl)
			dlclose(l->dl);
		free(l->ctx);
		free(l);
	}
	while (p->over) {
		struct kv_over *o = p->over;
		p->over = o->next;
		sodium_memzero(o->val, o->len);
		free(o);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	curl_global_cleanup();
	rd_secrets_close(&p->secrets);
	free(p->outbound);
	free(p->env);
	if (p->have_async)
		uv_close((uv_handle_t *)&p->async, plugins_closed); /* frees p */
	else
		free(p);
	*pp = NULL;
}

static struct rd_loaded *record(struct rd_plugins *p, const char *name, const char *origin)
{
	struct rd_loaded *l = rd_calloc(1, sizeof *l);
	snprintf(l->name, sizeof l->name, "%s", name);
	snprintf(l->origin, sizeof l->origin, "%s", origin);
	if (p->tail)
		p->tail->next = l;
	else
		p->list = l;
	p->tail = l;
	return l;
}

static int refuse(struct rd_plugins *p, struct rd_loaded *l, void *dl, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int refuse(struct rd_plugins *p, struct rd_loaded *l, void *dl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->reason, sizeof l->reason, fmt, ap);
	va_end(ap);
	l->loaded = false;
	l->desc = NULL;
	if (dl)
		dlclose(dl);
	rd_log(RD_LOG_WARN, "plugins", "refused %s (%s): %s", l->name, l->origin, l->reason);
	return RD_EINVAL;
}

static bool valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A loaded plugin's init runs on a thread of its own for at most this
 * long: one that never returns (a deadlock, a licence server that does not
 * answer) is refused instead of holding renewd's start for ever. */
#define INIT_TIMEOUT_MS 5000
#define INIT_HUNG (-100000)

struct init_call {
	const struct rd_plugin *d;
	rd_plugin_ctx *ctx;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int rc;
	bool done, abandoned;
};

static void *init_main(void *arg)
{
	struct init_call *c = arg;
	writes_direct = true;
	int rc = c->d->init(c->ctx, &host_api);
	pthread_mutex_lock(&c->mu);
	c->rc = rc;
	c->done = true;
	bool abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned) { /* the loader gave up on it: nobody else holds c */
		atomic_fetch_sub(&c->ctx->host->stuck, 1);
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	}
	return NULL;
}

/* A call handed to a thread of its own (init_timed, configure_timed): its
 * lock, and its condition on the monotonic clock. */
static void handoff_init(pthread_mutex_t *mu, pthread_cond_t *cv)
{
	pthread_mutex_init(mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* Waits (mu held) until *done or ms have passed; *done at the end. */
static bool handoff_wait(pthread_mutex_t *mu, pthread_cond_t *cv, const bool *done, unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!*done)
		if (pthread_cond_timedwait(cv, mu, &until) == ETIMEDOUT && !*done)
			break;
	return *done;
}

/* d->init(ctx, host) on its own thread: its answer, or INIT_HUNG when it
 * has not returned within INIT_TIMEOUT_MS (the thread is then left to
 * itself, detached). */
static int init_timed(const struct rd_plugin *d, rd_plugin_ctx *ctx)
{
	struct init_call *c = rd_calloc(1, sizeof *c);
	c->d = d;
	c->ctx = ctx;
	handoff_init(&c->mu, &c->cv);
	pthread_t t;
	if (pthread_create(&t, NULL, init_main, c) != 0) { /* no thread to spare: call it here */
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
		return d->init(ctx, &host_api);
	}
	pthread_mutex_lock(&c->mu);
	if (!handoff_wait(&c->mu, &c->cv, &c->done, INIT_TIMEOUT_MS)) {
		c->abandoned = true;
		/* the registry stays while it runs (rd_plugins_free, renewd's stop) */
		atomic_fetch_add(&ctx->host->stuck, 1);
		pthread_mutex_unlock(&c->mu);
		pthread_detach(t);
		return INIT_HUNG;
	}
	int rc = c->rc;
	pthread_mutex_unlock(&c->mu);
	pthread_join(t, NULL);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	return rc;
}

/* While a file's constructors, entry point and init run: a crash there
 * kills the process (the plugin runs in it), so it first says which file it
 * was, where the operator looks.  Async-signal-safe: the message is made
 * before the handlers are installed. */
static char crash_msg[4400];
static size_t crash_len;
static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
static struct sigaction crash_saved[sizeof crash_signals / sizeof crash_signals[0]];

static void on_crash(int sig)
{
	ssize_t w = write(STDERR_FILENO, crash_msg, crash_len);
	(void)w;
	/* Back to what was there (the default: a core dump; ASan's report): the
	 * faulting instruction runs again, or abort() raises again. */
	for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
		if (crash_signals[i] == sig)
			sigaction(sig, &crash_saved[i], NULL);
	raise(sig); /* pending until this returns: a fault or a raise() alike end as they would have */
}

static void crash_watch(const char *path)
{
	int n = snprintf(crash_msg, sizeof crash_msg,
			 "renewd: the plugin %s crashed while loading (in its constructor, renewd_plugin_entry or init): "
			 "remove it from the plugin directory and report it to its author\n", path);
	crash_len = n < 0 ? 0 : (size_t)n >= sizeof crash_msg ? sizeof crash_msg - 1 : (size_t)n;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_crash;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
		sigaction(crash_signals[i], &sa, &crash_saved[i]);
}

static void crash_unwatch(void)
{
	for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++)
		sigaction(crash_signals[i], &crash_saved[i], NULL);
}

/* The size of version 1 of the descriptor: later versions only grow. */
#define DESC_V1_SIZE (offsetof(struct rd_plugin, ops) + sizeof(void *))

int rd_plugins_add(struct rd_plugins *p, const struct rd_plugin *d, const char *origin, void *dl)
{
	const char *base = strrchr(origin, '/') ? strrchr(origin, '/') + 1 : origin;
	if (!d)
		return refuse(p, record(p, base, origin), dl, "renewd_plugin_entry() returned no descriptor");
	if (d->abi != RENEWD_PLUGIN_ABI)
		return refuse(p, record(p, base, origin), dl, "built for plugin ABI %u, this renewd is %u: rebuild it against this renewd's renewd/plugin.h",
			      d->abi, RENEWD_PLUGIN_ABI);
	if (d->size < DESC_V1_SIZE)
		return refuse(p, record(p, base, origin), dl, "its descriptor is %u bytes, smaller than ABI %u's %zu: rebuild it",
			      d->size, RENEWD_PLUGIN_ABI, (size_t)DESC_V1_SIZE);
	if (!valid_name(d->name))
		return refuse(p, record(p, base, origin), dl, "its name must be 1-63 characters of a-z, 0-9 and '-'");
	struct rd_loaded *dup = rd_plugins_find(p, d->name);
	if (dup)
		return refuse(p, record(p, d->name, origin), dl, "a plugin named %s is already loaded from %s", d->name,
			      dup->origin);
	struct rd_loaded *l = record(p, d->name, origin);
	snprintf(l->version, sizeof l->version, "%s", d->version ? d->version : "");
	l->kind = d->kind;
	if (d->kind < RD_PLUGIN_PAYMENT || d->kind > RD_PLUGIN_CONNECTOR)
		return refuse(p, l, dl, "unknown kind %u (payment 1, branding 2, connector 3)", d->kind);
	if (d->ops) {
		uint32_t v = *(const uint32_t *)d->ops; /* every ops table starts with its version */
		uint32_t known = d->kind == RD_PLUGIN_CONNECTOR ? RD_CONNECTOR_OPS_V2
				 : d->kind == RD_PLUGIN_PAYMENT ? RD_PAYMENT_OPS_V2 : 1;
		if (v < 1 || v > known)
			return refuse(p, l, dl, "its %s ops table is version %u; this renewd knows version %u",
				      d->kind == RD_PLUGIN_PAYMENT ? "payment" : d->kind == RD_PLUGIN_BRANDING ? "branding" : "connector", v,
				      known);
	}
	l->ctx = rd_calloc(1, sizeof *l->ctx);
	l->ctx->host = p;
	l->ctx->l = l;
	l->desc = d;
	if (d->init) {
		int rc = dl ? init_timed(d, l->ctx) : d->init(l->ctx, &host_api);
		if (rc == INIT_HUNG) {
			/* Its thread is still in the plugin: the ctx and the code stay. */
			l->ctx = NULL;
			return refuse(p, l, NULL,
				      "init did not return within %d s: refused (the call is left running; fix the plugin "
				      "and restart renewd)", INIT_TIMEOUT_MS / 1000);
		}
		if (rc < 0) {
			char why[512];
			snprintf(why, sizeof why, "%s", l->ctx->err[0] ? l->ctx->err : rd_strerror(rc));
			free(l->ctx);
			l->ctx = NULL;
			return refuse(p, l, dl, "init failed: %s", why);
		}
	}
	l->inited = true;
	l->loaded = true;
	l->dl = dl;
	rd_log(RD_LOG_INFO, "plugins", "loaded %s %s (%s)", l->name, l->version, origin);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void rd_plugins_load_dir(struct rd_plugins *p, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		rd_log(RD_LOG_WARN, "plugins", "plugin directory %s: %s", dir, strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) { /* every one: a fixed cap dropped files in readdir's order, silently */
		size_t len = strlen(de->d_name);
		if (len > 3 && !strcmp(de->d_name + len - 3, ".so")) {
			if (n == cap)
				names = rd_realloc(names, (cap = cap ? cap * 2 : 32) * sizeof *names);
			names[n++] = rd_strdup(de->d_name);
		}
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		free(names[i]);
		dlerror();
		crash_watch(path);
		void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!dl) {
			crash_unwatch();
			const char *e = dlerror();
			refuse(p, record(p, strrchr(path, '/') + 1, path), NULL, "cannot be loaded: %s", e ? e : "dlopen failed");
			continue;
		}
		dlerror();
		void *sym = dlsym(dl, RENEWD_PLUGIN_ENTRY);
		if (!sym) {
			crash_unwatch();
			refuse(p, record(p, strrchr(path, '/') + 1, path), dl,
			       "no %s symbol: not a renewd plugin (export it with RENEWD_PLUGIN_EXPORT)", RENEWD_PLUGIN_ENTRY);
			continue;
		}
		rd_plugin_entry_fn entry;
		memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer, as dlsym requires */
		rd_plugins_add(p, entry(), path, dl);
		crash_unwatch();
	}
	free(names);
}

struct rd_loaded *rd_plugins_find(struct rd_plugins *p, const char *name)
{
	for (struct rd_loaded *l = p->list; l; l = l->next)
		if (l->loaded && !strcmp(l->name, name))
			return l;
	return NULL;
}

const struct rd_plugin *rd_loaded_desc(const struct rd_loaded *l)
{
	return l->desc;
}

/* The customer's words for option i of a payment plugin: its label (ops
 * V2: non-empty text of at most 63 bytes without control characters), else
 * the option's name. */
static const char *option_label(const struct rd_payment_ops *ops, size_t i)
{
	if (ops->version < RD_PAYMENT_OPS_V2 || !ops->labels)
		return ops->options[i];
	for (size_t k = 0; k <= i; k++) /* labels may be shorter than options: NULL ends it */
		if (!ops->labels[k])
			return ops->options[i];
	const char *l = ops->labels[i];
	size_t n = strlen(l);
	if (n == 0 || n > 63)
		return ops->options[i];
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)l[k] < 0x20 || l[k] == 0x7f)
			return ops->options[i];
	return l;
}

json_t *rd_plugins_json(const struct rd_plugins *p)
{
	static const char *const kinds[] = { "", "payment", "branding", "connector" };
	json_t *a = json_array();
	for (const struct rd_loaded *l = p->list; l; l = l->next) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "name", l->name, "version", l->version, "origin", l->origin,
				      "state", l->loaded ? "loaded" : "refused");
		json_object_set_new(j, "kind", l->kind >= 1 && l->kind <= 3 ? json_string(kinds[l->kind]) : json_null());
		json_object_set_new(j, "description",
				    l->loaded && l->desc->description ? json_string(l->desc->description) : json_null());
		json_object_set_new(j, "reason", l->loaded ? json_null() : json_string(l->reason));
		json_object_set_new(j, "last_error", l->last_error[0] ? json_string(l->last_error) : json_null());
		if (l->loaded && l->kind == RD_PLUGIN_PAYMENT && l->desc->ops) {
			const struct rd_payment_ops *ops = l->desc->ops;
			json_t *opts = json_array(), *labels = json_array();
			for (size_t i = 0; ops->options && ops->options[i] && i < 16; i++) {
				json_array_append_new(opts, json_string(ops->options[i]));
				json_array_append_new(labels, json_string(option_label(ops, i)));
			}
			json_object_set_new(j, "options", opts);
			json_object_set_new(j, "labels", labels);
		}
		json_array_append_new(a, j);
	}
	return a;
}

/* ---- configure and calls --------------------------------------------------- */

static bool field_reported(json_t *fields, const char *field)
{
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f)
		if (!strcmp(json_string_value(json_object_get(f, "field")) ? json_string_value(json_object_get(f, "field")) : "", field))
			return true;
	return false;
}

/* Every http(s) URL a configuration holds must go to a listed host: the
 * operator, not the vendor, says where plugins may send (and so where a
 * vendor's keys may go). */
static void check_urls(struct rd_plugins *p, json_t *v, const char *path, json_t *fields)
{
	if (json_is_string(v)) {
		const char *u = json_string_value(v);
		char where[300];
		if ((!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8)) && !field_reported(fields, path) &&
		    !url_allowed(p, u, where, sizeof where) && json_array_size(fields) < 100)
			json_array_append_new(fields, json_pack("{s:s, s:s+}", "field", path, "message", where,
								" is not on renewd's outbound allow-list (outbound_hosts); the "
								"operator decides which hosts plugins may reach"));
		return;
	}
	const char *key;
	json_t *x;
	size_t i;
	char sub[256];
	if (json_is_object(v)) {
		json_object_foreach(v, key, x) {
			snprintf(sub, sizeof sub, path[0] ? "%s.%s" : "%s%s", path, key);
			check_urls(p, x, sub, fields);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			check_urls(p, x, sub, fields);
		}
	}
}

/* An order-exchanging connector's "inbound_dir" is read by renewd itself
 * (core/services/edi.c): one that is not an absolute folder renewd can
 * read and write was stored and then skipped at every scan, silently, when
 * the plugin's configure did not check it. */
static void check_inbound(const struct rd_loaded *l, json_t *root, json_t *fields)
{
	const struct rd_connector_ops *ops = l->desc->ops;
	json_t *v = json_object_get(root, "inbound_dir");
	if (l->desc->kind != RD_PLUGIN_CONNECTOR || !ops || ops->version < RD_CONNECTOR_OPS_V2 || !ops->order_format || !v)
		return;
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		const char *name = json_string_value(json_object_get(f, "field"));
		if (name && !strcmp(name, "inbound_dir"))
			return; /* the plugin said why already */
	}
	const char *dir = json_string_value(v), *why = NULL;
	struct stat st;
	if (!dir)
		why = "must be text: the absolute path of a folder";
	else if (dir[0] != '/')
		why = "must be an absolute path";
	else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		why = "is not an existing folder";
	else if (access(dir, R_OK | W_OK | X_OK) != 0)
		why = "is not a folder renewd may read and write (each file moves to processed/ or failed/ in it)";
	if (why && json_array_size(fields) < 100)
		json_array_append_new(fields, json_pack("{s:s, s:s}", "field", "inbound_dir", "message", why));
}

/* configure runs on a thread of its own for at most this long while the
 * caller (renewd's loop, or renewctl) waits: one that never returned froze
 * renewd whole (every request, /healthz included). */
#define CONFIGURE_TIMEOUT_MS 2000
#define CONFIGURE_HUNG (-100001)

struct cfg_call {
	rd_plugin_ctx ctx; /* its own: the call may outlive the caller's frame */
	char *config;      /* its own copy (secrets in clear: wiped) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int rc;
	bool done, abandoned;
};

static void cfg_free(struct cfg_call *c)
{
	sodium_memzero(c->config, strlen(c->config));
	free(c->config);
	sodium_memzero(c->ctx.err, sizeof c->ctx.err);
	json_decref(c->ctx.fields);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static void *cfg_main(void *arg)
{
	struct cfg_call *c = arg;
	writes_direct = true;
	in_plugin = c->ctx.l->name;
	int rc = c->ctx.l->desc->configure(&c->ctx, c->config);
	in_plugin = NULL;
	pthread_mutex_lock(&c->mu);
	c->rc = rc;
	c->done = true;
	bool abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned) { /* returned at last: the plugin may be configured again for that vendor */
		struct rd_loaded *l = c->ctx.l;
		pthread_mutex_lock(&c->ctx.host->mu);
		for (unsigned i = 0; i < l->n_cfg_stuck; i++)
			if (l->cfg_stuck[i] == c->ctx.vendor) {
				l->cfg_stuck[i] = l->cfg_stuck[--l->n_cfg_stuck];
				break;
			}
		pthread_mutex_unlock(&c->ctx.host->mu);
		atomic_fetch_sub(&c->ctx.host->stuck, 1);
		cfg_free(c);
	}
	return NULL;
}

/* l's configure, on its own thread under CONFIGURE_TIMEOUT_MS: its answer
 * (field errors appended to fields, its message in err_out), or
 * CONFIGURE_HUNG. */
static int configure_timed(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner,
			   const char *config_json, json_t *fields, char *err_out, size_t err_cap)
{
	struct cfg_call *c = rd_calloc(1, sizeof *c);
	c->ctx = (rd_plugin_ctx){ .host = p, .l = l, .vendor = vendor, .partner = partner, .fields = json_array() };
	snprintf(c->ctx.req, sizeof c->ctx.req, "%s", rd_log_current_req() ? rd_log_current_req() : "");
	c->config = rd_strdup(config_json);
	c->ctx.config = c->config;
	handoff_init(&c->mu, &c->cv);
	pthread_t t;
	if (pthread_create(&t, NULL, cfg_main, c) != 0) { /* no thread to spare: here, as before */
		in_plugin = l->name;
		c->rc = l->desc->configure(&c->ctx, c->config);
		in_plugin = NULL;
		c->done = true;
	} else {
		pthread_mutex_lock(&c->mu);
		if (!handoff_wait(&c->mu, &c->cv, &c->done, CONFIGURE_TIMEOUT_MS)) {
			c->abandoned = true;
			pthread_mutex_lock(&p->mu);
			if (l->n_cfg_stuck < sizeof l->cfg_stuck / sizeof l->cfg_stuck[0])
				l->cfg_stuck[l->n_cfg_stuck++] = vendor;
			pthread_mutex_unlock(&p->mu);
			atomic_fetch_add(&p->stuck, 1);
			pthread_mutex_unlock(&c->mu);
			pthread_detach(t);
			rd_log(RD_LOG_ERROR, "plugins",
			       "plugin %s: configure did not return within %d ms: left running, refused until it returns",
			       l->name, CONFIGURE_TIMEOUT_MS);
			return CONFIGURE_HUNG;
		}
		pthread_mutex_unlock(&c->mu);
		pthread_join(t, NULL);
	}
	size_t i;
	json_t *f;
	json_array_foreach(c->ctx.fields, i, f)
		if (json_array_size(fields) < 100)
			json_array_append(fields, f);
	snprintf(err_out, err_cap, "%s", c->ctx.err);
	int rc = c->rc;
	cfg_free(c);
	return rc;
}

int rd_plugins_configure(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner,
			 const char *config_json, json_t *fields, char *err, size_t errlen)
{
	rd_plugin_ctx ctx = { .host = p, .l = l };
	err[0] = 0;
	bool stuck = false;
	pthread_mutex_lock(&p->mu);
	stuck = l->n_cfg_stuck == sizeof l->cfg_stuck / sizeof l->cfg_stuck[0];
	for (unsigned i = 0; !stuck && i < l->n_cfg_stuck; i++)
		stuck = l->cfg_stuck[i] == vendor;
	pthread_mutex_unlock(&p->mu);
	if (stuck) {
		snprintf(err, errlen, "plugin %s: configure: an earlier configure has not returned yet (the plugin is stuck: "
			 "restart renewd after fixing it)", l->name);
		json_array_append_new(fields, json_pack("{s:s, s:s}", "field", "", "message", err));
		return RD_EINVAL;
	}
	int rc = l->desc->configure ? configure_timed(p, l, vendor, partner, config_json, fields, ctx.err, sizeof ctx.err)
				    : 0;
	if (rc == CONFIGURE_HUNG) {
		snprintf(err, errlen, "plugin %s: configure did not return within %d s (the plugin is stuck: it is left "
			 "running and refused until it returns)", l->name, CONFIGURE_TIMEOUT_MS / 1000);
		json_array_append_new(fields, json_pack("{s:s, s:s}", "field", "", "message", err));
		return RD_EINVAL;
	}
	json_t *root = json_loads(config_json, 0, NULL);
	check_urls(p, root, "", fields);
	check_inbound(l, root, fields);
	json_decref(root);
	if (rc < 0 || json_array_size(fields)) {
		snprintf(err, errlen, "plugin %s: configure: %s", l->name,
			 ctx.err[0] ? ctx.err : json_array_size(fields) ? "the configuration has errors" : rd_strerror(rc));
		sodium_memzero(ctx.err, sizeof ctx.err);
		return rc < 0 ? rc : RD_EINVAL;
	}
	return 0;
}

struct pcall {
	uv_work_t work;
	uv_timer_t timer;
	struct rd_plugins *host;
	struct rd_loaded *l;
	rd_plugin_ctx ctx;
	uint64_t share;   /* whose places the call takes: its vendor, or ANONYMOUS */
	char *config;
	rd_plugin_call_fn fn;
	rd_plugin_done_fn done;
	void *arg;
	int rc;
	int pending;      /* the work and the timer: freed when both are over */
	uint64_t t0;      /* uv_hrtime() when it was queued */
	bool answered;    /* done() called (by the result or by the timeout) */
};

/* Upper bounds of the call duration histogram, in seconds. */
static const double call_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define N_CALL_BOUNDS (sizeof call_bounds / sizeof *call_bounds)

const double *rd_plugin_call_bounds(size_t *n)
{
	*n = N_CALL_BOUNDS;
	return call_bounds;
}

/* A call answered (ok, error) or given up on (timeout), after seconds. */
static void counted(struct rd_loaded *l, const char *result, double seconds)
{
	struct rd_plugin_stats *st = &l->stats;
	if (!strcmp(result, "ok"))
		st->ok++;
	else if (!strcmp(result, "timeout"))
		st->timeouts++;
	else
		st->failed++;
	size_t i = 0;
	while (i < N_CALL_BOUNDS && seconds > call_bounds[i])
		i++;
	st->bucket[i]++;
	st->count++;
	st->sum += seconds;
}

size_t rd_plugins_stats(const struct rd_plugins *p, struct rd_plugin_stats *out, size_t cap)
{
	size_t n = 0;
	for (const struct rd_loaded *l = p ? p->list : NULL; l; l = l->next) {
		if (!l->loaded)
			continue;
		if (n < cap) {
			out[n] = l->stats;
			snprintf(out[n].name, sizeof out[n].name, "%s", l->name);
		}
		n++;
	}
	return n;
}

static void call_release(struct pcall *c)
{
	if (--c->pending > 0)
		return;
	c->l->in_flight--;
	(*vendor_calls(c->l, c->share))--;
	c->host->busy--;
	sodium_memzero(c->config, strlen(c->config)); /* it holds the secrets in clear */
	free(c->config);
	free(c);
}

static void call_run(uv_work_t *w)
{
	struct pcall *c = w->data;
	in_plugin = c->l->name;
	c->rc = c->fn(&c->ctx, c->l->desc, c->arg);
	in_plugin = NULL;
}

static void timer_closed(uv_handle_t *h)
{
	call_release(h->data);
}

static void call_after(uv_work_t *w, int status)
{
	struct pcall *c = w->data;
	if (status == UV_ECANCELED)
		c->rc = -ECANCELED;
	if (!c->answered) {
		c->answered = true;
		counted(c->l, c->rc < 0 ? "error" : "ok", (double)(uv_hrtime() - c->t0) / 1e9);
		uv_timer_stop(&c->timer);
		if (c->rc < 0)
			snprintf(c->l->last_error, sizeof c->l->last_error, "%s", c->ctx.err[0] ? c->ctx.err : rd_strerror(c->rc));
		c->done(c->rc, c->ctx.err[0] ? c->ctx.err : c->rc < 0 ? rd_strerror(c->rc) : "", c->arg);
		uv_close((uv_handle_t *)&c->timer, timer_closed);
	} else {
		rd_log_req(RD_LOG_WARN, "plugins", c->ctx.req[0] ? c->ctx.req : NULL,
			   "plugin %s: a call finished after its timeout (result %s), dropped", c->l->name,
			   c->rc < 0 ? rd_strerror(c->rc) : "ok");
	}
	call_release(c);
}

static void call_timeout(uv_timer_t *t)
{
	struct pcall *c = t->data;
	if (c->answered)
		return;
	c->answered = true;
	snprintf(c->l->last_error, sizeof c->l->last_error, "a call timed out");
	counted(c->l, "timeout", (double)(uv_hrtime() - c->t0) / 1e9);
	rd_log_req(RD_LOG_WARN, "plugins", c->ctx.req[0] ? c->ctx.req : NULL,
		   "plugin %s: a call timed out; the daemon carries on", c->l->name);
	c->done(-ETIMEDOUT, "the plugin did not answer in time", c->arg);
	uv_close((uv_handle_t *)&c->timer, timer_closed);
}

/* The share of the places that calls nobody authenticated take (webhooks),
 * whatever vendor they name: a flood of them leaves the vendors' own. */
#define ANONYMOUS UINT64_MAX

static int call_in(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner, uint64_t share,
		   const char *config_json, unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done, void *arg);

int rd_plugins_call(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner,
		    const char *config_json, unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done, void *arg)
{
	return call_in(p, l, vendor, partner, vendor, config_json, timeout_ms, fn, done, arg);
}

int rd_plugins_call_anonymous(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, const char *config_json,
			      unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done, void *arg)
{
	return call_in(p, l, vendor, 0, ANONYMOUS, config_json, timeout_ms, fn, done, arg);
}

static int call_in(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, uint64_t partner, uint64_t share,
		   const char *config_json, unsigned timeout_ms, rd_plugin_call_fn fn, rd_plugin_done_fn done, void *arg)
{
	unsigned *mine = l->in_flight < MAX_IN_FLIGHT ? vendor_calls(l, share) : NULL;
	if (!mine || *mine >= MAX_VENDOR_IN_FLIGHT) {
		l->stats.busy++;
		return RD_EBUSY;
	}
	struct pcall *c = rd_calloc(1, sizeof *c);
	c->share = share;
	c->host = p;
	c->l = l;
	c->config = rd_plugins_unseal(p, l, vendor, config_json ? config_json : "{}");
	c->ctx = (rd_plugin_ctx){ .host = p, .l = l, .vendor = vendor, .partner = partner, .config = c->config };
	snprintf(c->ctx.req, sizeof c->ctx.req, "%s", rd_log_current_req() ? rd_log_current_req() : "");
	c->t0 = uv_hrtime();
	c->fn = fn;
	c->done = done;
	c->arg = arg;
	l->in_flight++;
	(*mine)++;
	p->busy++;
	if (!p->loop) { /* renewctl: run inline */
		c->rc = fn(&c->ctx, l->desc, arg);
		done(c->rc, c->ctx.err[0] ? c->ctx.err : c->rc < 0 ? rd_strerror(c->rc) : "", arg);
		c->pending = 1;
		call_release(c);
		return 0;
	}
	c->work.data = c;
	c->timer.data = c;
	c->pending = 2;
	uv_timer_init(p->loop, &c->timer);
	uv_timer_start(&c->timer, call_timeout, timeout_ms ? timeout_ms : 10000, 0);
	if (uv_queue_work(p->loop, &c->work, call_run, call_after) != 0) {
		c->answered = true;
		c->pending = 1;
		uv_close((uv_handle_t *)&c->timer, timer_closed);
		return RD_EINTERNAL;
	}
	return 0;
}

unsigned rd_plugins_busy(const struct rd_plugins *p)
{
	return p->busy + atomic_load(&((struct rd_plugins *)p)->stuck);
}

unsigned rd_plugins_calls(const struct rd_plugins *p)
{
	return p->busy;
}

/* ---- enablements ------------------------------------------------------------------ */

static void enablement_key(const char *plugin, uint64_t partner, uint8_t *key, size_t *len)
{
	size_t n = strlen(plugin) + 1;
	memcpy(key, plugin, n);
	rd_key_put_u64(key + n, partner);
	*len = n + 8;
}

json_t *rd_enablement_config(const struct rd_enablement *e)
{
	json_t *cfg = json_loads(e->config[0] ? e->config : "{}", 0, NULL);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return json_object();
	}
	const char *key;
	json_t *v;
	json_object_foreach(cfg, key, v)
		if (rd_secrets_is_sealed(json_string_value(v)))
			json_object_set_new(cfg, key, json_string("set"));
	return cfg;
}

json_t *rd_enablement_json(const struct rd_enablement *e)
{
	json_t *j = rd_entity_to_json(&rd_entity_enablement, e);
	json_object_set_new(j, "config", rd_enablement_config(e));
	return j;
}

/* ---- secrets ------------------------------------------------------------------------ */

/* The secret settings the plugin declares (NULL: none), read only when its
 * descriptor is new enough to have the field. */
static const char *const *secret_settings(const struct rd_loaded *l)
{
	const struct rd_plugin *d = l->desc;
	if (!d || d->size < offsetof(struct rd_plugin, secret_settings) + sizeof d->secret_settings)
		return NULL;
	return d->secret_settings;
}

static bool is_secret(const struct rd_loaded *l, const char *name)
{
	const char *const *n = secret_settings(l);
	for (size_t i = 0; n && n[i] && i < 64; i++)
		if (!strcmp(n[i], name))
			return true;
	return false;
}

bool rd_plugins_has_secrets(const struct rd_loaded *l)
{
	const char *const *n = secret_settings(l);
	return n && n[0];
}

void rd_plugins_show_secrets(const struct rd_loaded *l, json_t *enablement)
{
	json_t *cfg = json_object_get(enablement, "config");
	const char *const *n = secret_settings(l);
	for (size_t i = 0; json_is_object(cfg) && n && n[i] && i < 64; i++)
		json_object_set_new(cfg, n[i], json_string(json_object_get(cfg, n[i]) ? "set" : "unset"));
}

int rd_plugins_open_secrets(struct rd_plugins *p, bool create, char *err, size_t errlen)
{
	return rd_secrets_load(&p->secrets, rd_store_dir(p->store), create, err, errlen);
}

char *rd_plugins_unseal(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, const char *config_json)
{
	if (!strstr(config_json, RD_SEALED_PREFIX))
		return rd_strdup(config_json);
	json_t *cfg = json_loads(config_json, 0, NULL);
	const char *key;
	json_t *v, *tmp;
	json_object_foreach_safe(cfg, tmp, key, v) {
		const char *sealed = json_string_value(v);
		if (!rd_secrets_is_sealed(sealed))
			continue;
		char *plain = rd_secrets_open(&p->secrets, vendor, l->name, key, sealed);
		if (plain) {
			json_object_set_new(cfg, key, json_string(plain));
			rd_secrets_free(plain);
			continue;
		}
		rd_log(RD_LOG_ERROR, "plugins", "plugin %s: vendor %llu's secret %s does not open under this "
		       "data directory's secrets.key: enable the plugin again with the secret", l->name,
		       (unsigned long long)vendor, key);
		json_object_del(cfg, key); /* frees key: last */
	}
	char *text = cfg ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(cfg);
	return text ? text : rd_strdup("{}");
}

/* Seals the declared secrets of cfg in place.  0, or RD_EINVAL (no key). */
static int seal_config(struct rd_plugins *p, const struct rd_loaded *l, uint64_t vendor, json_t *cfg)
{
	const char *key;
	json_t *v;
	json_object_foreach(cfg, key, v) {
		if (!is_secret(l, key) || !json_is_string(v) || rd_secrets_is_sealed(json_string_value(v)))
			continue;
		char *sealed = rd_secrets_seal(&p->secrets, vendor, l->name, key, json_string_value(v));
		if (!sealed)
			return RD_EINVAL;
		json_object_set_new(cfg, key, json_string(sealed));
		free(sealed);
	}
	return 0;
}

int rd_enablement_prepare(struct rd_plugins *p, struct rd_loaded *l, uint64_t vendor, struct rd_enablement *e,
			  const char *config_json, json_t *fields, char *err, size_t errlen)
{
	err[0] = 0;
	json_t *cfg = json_loads(config_json, 0, NULL);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		snprintf(err, errlen, "plugin %s: configure: the configuration must be a JSON object", l->name);
		return RD_EINVAL;
	}
	/* The enablement this one replaces: its secrets stay unless new ones come. */
	struct rd_enablement *old = rd_calloc(1, sizeof *old);
	struct rd_txn *t;
	uint8_t ek[80];
	size_t el;
	uint64_t id;
	enablement_key(l->name, e->partner_id, ek, &el);
	int rc = rd_store_read(p->store, &t);
	if (rc == 0) {
		if (rd_index_find(t, p->domain->enablements, "plugin", vendor, ek, el, &id) < 0 ||
		    rd_entity_get(t, p->domain->enablements, &rd_entity_enablement, vendor, id, old) < 0)
			old->config[0] = 0;
		rd_txn_end(t);
	}
	json_t *was = json_loads(old->config[0] ? old->config : "{}", 0, NULL), *dropped = json_object();
	free(old);
	const char *key;
	json_t *v, *tmp;
	json_object_foreach_safe(cfg, tmp, key, v) {
		const char *sv = json_string_value(v);
		if (!is_secret(l, key)) {
			if (rd_secrets_is_sealed(sv))
				json_array_append_new(fields, json_pack("{s:s, s:s}", "field", key, "message",
									"values starting with " RD_SEALED_PREFIX " are reserved"));
			continue;
		}
		if (!sv)
			json_array_append_new(fields, json_pack("{s:s, s:s}", "field", key, "message",
								"is a secret: a string (\"set\" keeps the stored one)"));
		else if (!strcmp(sv, "unset") && json_object_set_new(dropped, key, json_true()) == 0)
			json_object_del(cfg, key);
		else if (!strcmp(sv, "set") && !rd_secrets_is_sealed(json_string_value(json_object_get(was, key))))
			json_array_append_new(fields, json_pack("{s:s, s:s}", "field", key, "message",
								"no secret is stored yet: send its value"));
	}
	/* Kept secrets: omitted or "set" ones are opened for the plugin's check. */
	const char *const *names = secret_settings(l);
	for (size_t i = 0; names && names[i] && i < 64; i++) {
		json_t *now = json_object_get(cfg, names[i]);
		const char *stored = json_string_value(json_object_get(was, names[i]));
		if ((now && (!json_is_string(now) || strcmp(json_string_value(now), "set"))) || !rd_secrets_is_sealed(stored) ||
		    json_object_get(dropped, names[i]))
			continue;
		char *plain = rd_secrets_open(&p->secrets, vendor, l->name, names[i], stored);
		if (plain)
			json_object_set_new(cfg, names[i], json_string(plain));
		else if (now)
			json_array_append_new(fields, json_pack("{s:s, s:s}", "field", names[i], "message",
								"the stored secret does not open under this secrets.key: send its value"));
		rd_secrets_free(plain);
	}
	json_decref(was);
	json_decref(dropped);
	rc = json_array_size(fields) ? RD_EINVAL : 0;
	char *plain = rc == 0 ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (rc == 0)
		rc = rd_plugins_configure(p, l, vendor, e->partner_id, plain, fields, err, errlen);
	else
		snprintf(err, errlen, "plugin %s: configure: the configuration has errors", l->name);
	if (plain) {
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	if (rc == 0 && secret_settings(l) && !p->secrets.have) {
		snprintf(err, errlen, "plugin %s: its secrets cannot be stored: no secrets.key is loaded", l->name);
		rc = RD_EINTERNAL;
	}
	if (rc == 0 && (rc = seal_config(p, l, vendor, cfg)) < 0)
		snprintf(err, errlen, "plugin %s: a secret could not be sealed (longer than 4096 bytes?)", l->name);
	char *text = rc == 0 ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(cfg);
	if (rc == 0 && (!text || strlen(text) >= sizeof e->config)) {
		snprintf(err, errlen, "the configuration is larger than 16 KiB once its secrets are sealed");
		rc = RD_ETOOBIG;
	}
	if (rc == 0)
		memcpy(e->config, text, strlen(text) + 1);
	free(text);
	return rc;
}

/* Every stored enablement of every vendor, sealed again: plain secrets a
 * plugin declares (stored before renewd sealed them) and, while a rotation
 * runs, everything sealed under the old key. */
struct reseal {
	struct rd_plugins *p;
	bool all;
	unsigned changed, failed;
	unsigned subs; /* webhook subscriptions among changed */
};

static int reseal_one(struct reseal *r, struct rd_txn *t, uint64_t vendor, struct rd_enablement *e)
{
	struct rd_loaded *l = rd_plugins_find(r->p, e->plugin);
	json_t *cfg = json_loads(e->config, 0, NULL);
	const char *key;
	json_t *v;
	bool change = false;
	json_object_foreach(cfg, key, v) {
		const char *sv = json_string_value(v);
		char *plain = NULL;
		if (rd_secrets_is_sealed(sv)) {
			plain = rd_secrets_open(&r->p->secrets, vendor, e->plugin, key, sv);
			if (!plain)
				r->failed++; /* another key's (a restore without secrets.key?) */
			if (!r->all) {
				rd_secrets_free(plain);
				continue;
			}
			if (!plain)
				continue;
		} else if (sv && !rd_secrets_is_sealed(sv) && l && is_secret(l, key)) {
			plain = rd_strdup(sv);
		}
		if (!plain)
			continue;
		char *sealed = rd_secrets_seal(&r->p->secrets, vendor, e->plugin, key, plain);
		rd_secrets_free(plain);
		if (!sealed) {
			r->failed++;
			continue;
		}
		json_object_set_new(cfg, key, json_string(sealed));
		free(sealed);
		change = true;
	}
	int rc = 0;
	char *text = change ? json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(cfg);
	if (text && strlen(text) < sizeof e->config) {
		memcpy(e->config, text, strlen(text) + 1);
		rc = rd_entity_put(t, r->p->domain->enablements, &rd_entity_enablement, vendor, e, 0);
		r->changed += rc == 0;
	} else if (text) {
		r->failed++;
	}
	free(text);
	return rc;
}

/* A rotation: a webhook subscription's secrets (connector-webhook, sealed
 * for that name and field) open under the current key and are sealed under
 * the next, like an enablement's. */
static int reseal_hooks(struct reseal *r, struct rd_txn *t, uint64_t vendor)
{
	struct rd_domain *d = r->p->domain;
	if (!d->hook_subs)
		return 0;
	uint64_t *ids = NULL;
	size_t n = 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_hook_sub *s = rd_malloc(sizeof *s);
	int rc = rd_iter_records(&it, t, d->hook_subs, vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		ids = rd_realloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = item.id;
	}
	rd_iter_close(&it);
	for (size_t k = 0; rc >= 0 && k < n; k++) {
		if ((rc = rd_entity_get(t, d->hook_subs, &rd_entity_hook_sub, vendor, ids[k], s)) < 0)
			break;
		bool ok = true;
		char *fields[2] = { s->secret, s->secret_prev };
		for (int f = 0; f < 2 && ok; f++) {
			if (!fields[f][0])
				continue;
			char *plain = rd_secrets_open(&r->p->secrets, vendor, "connector-webhook", "secret", fields[f]);
			char *sealed = plain ? rd_secrets_seal(&r->p->secrets, vendor, "connector-webhook", "secret", plain) : NULL;
			if (plain)
				rd_secrets_free(plain);
			ok = sealed && strlen(sealed) < sizeof s->secret;
			if (ok)
				memcpy(fields[f], sealed, strlen(sealed) + 1);
			free(sealed);
		}
		if (!ok) {
			r->failed++;
			continue;
		}
		rc = rd_entity_put(t, d->hook_subs, &rd_entity_hook_sub, vendor, s, 0);
		r->changed += rc == 0;
		r->subs += rc == 0;
	}
	free(ids);
	free(s);
	return rc < 0 ? rc : 0;
}

static int reseal_write(struct rd_txn *t, void *arg)
{
	struct reseal *r = arg;
	struct rd_domain *d = r->p->domain;
	uint64_t *ids = NULL, *vendors = NULL;
	size_t n = 0, nv = 0;
	struct rd_iter it;
	struct rd_item item;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_vendor *vd = rd_malloc(sizeof *vd);
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, vd) == 0) {
			vendors = rd_realloc(vendors, (nv + 1) * sizeof *vendors);
			vendors[nv++] = vd->id;
		}
		free(vd);
	}
	rd_iter_close(&it);
	r->changed = r->failed = r->subs = 0;
	for (size_t i = 0; rc >= 0 && i < nv; i++) {
		n = 0;
		rc = rd_iter_records(&it, t, d->enablements, vendors[i], 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
			if (rd_entity_decode(&rd_entity_enablement, item.val, item.len, e) == 0) {
				ids = rd_realloc(ids, (n + 1) * sizeof *ids);
				ids[n++] = e->id;
			}
		rd_iter_close(&it);
		for (size_t k = 0; rc >= 0 && k < n; k++)
			if ((rc = rd_entity_get(t, d->enablements, &rd_entity_enablement, vendors[i], ids[k], e)) == 0)
				rc = reseal_one(r, t, vendors[i], e);
		if (rc >= 0 && r->all)
			rc = reseal_hooks(r, t, vendors[i]);
	}
	free(ids);
	free(vendors);
	free(e);
	if (rc >= 0 && r->all && r->failed)
		return RD_EINVAL; /* a rotation re-seals everything or nothing */
	return rc < 0 ? rc : 0;
}

int rd_plugins_seal_stored(struct rd_plugins *p, unsigned *sealed, unsigned *unopened)
{
	struct reseal r = { .p = p };
	int rc = p->secrets.have ? rd_store_write(p->store, reseal_write, &r) : 0;
	*sealed = r.changed;
	*unopened = r.failed;
	return rc;
}

unsigned rd_plugins_log_missing(struct rd_plugins *p)
{
	struct rd_domain *d = p->domain;
	struct rd_txn *t;
	if (!d->enablements || rd_store_read(p->store, &t) < 0)
		return 0;
	unsigned missing = 0;
	struct rd_iter it, ie;
	struct rd_item item, ei;
	struct rd_vendor *v = rd_malloc(sizeof *v);
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = rd_iter_records(&it, t, d->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, v) < 0)
			continue;
		int erc = rd_iter_records(&ie, t, d->enablements, v->id, 0);
		while (erc >= 0 && (erc = rd_iter_next(&ie, &ei)) > 0) {
			if (rd_entity_decode(&rd_entity_enablement, ei.val, ei.len, e) < 0 || rd_plugins_find(p, e->plugin))
				continue;
			missing++;
			char whom[48] = "vendor-wide";
			if (e->partner_id)
				snprintf(whom, sizeof whom, "for partner %llu", (unsigned long long)e->partner_id);
			rd_log(RD_LOG_WARN, "plugins",
			       "vendor %s: plugin %s is enabled (%s) but not loaded (not in the plugin directory, or "
			       "refused): its calls fail until it is loaded again (renewctl plugins lists what is loaded)",
			       v->slug, e->plugin, whom);
		}
		rd_iter_close(&ie);
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(v);
	free(e);
	return missing;
}

int rd_plugins_rotate_secrets(struct rd_plugins *p, unsigned *resealed, unsigned *subscriptions, char *err,
			      size_t errlen)
{
	int rc = rd_secrets_rotate_begin(&p->secrets, err, errlen);
	if (rc < 0)
		return rc;
	struct reseal r = { .p = p, .all = true };
	rc = rd_store_write(p->store, reseal_write, &r);
	if (rc < 0) {
		if (r.failed)
			snprintf(err, errlen, "%u stored secret(s) do not open under secrets.key: nothing was changed", r.failed);
		else
			snprintf(err, errlen, "the store could not be written: %s", rd_strerror(rc));
		return rc;
	}
	*resealed = r.changed - r.subs;
	*subscriptions = r.subs;
	return rd_secrets_rotate_commit(&p->secrets, err, errlen);
}

int rd_enablement_put(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_enablement *e,
		      bool *replaced)
{
	uint8_t key[80];
	size_t len;
	enablement_key(e->plugin, e->partner_id, key, &len);
	uint64_t id = 0;
	json_t *before = NULL;
	struct rd_enablement *old = rd_malloc(sizeof *old);
	int rc = rd_index_find(t, d->enablements, "plugin", vendor, key, len, &id);
	if (rc == 0 && rd_entity_get(t, d->enablements, &rd_entity_enablement, vendor, id, old) == 0)
		before = rd_enablement_json(old);
	free(old);
	if (rc < 0 && rc != RD_ENOTFOUND) {
		json_decref(before);
		return rc;
	}
	*replaced = rc == 0;
	e->id = rc == 0 ? id : 0;
	if ((rc = rd_entity_put(t, d->enablements, &rd_entity_enablement, vendor, e, 0)) == 0) {
		json_t *after = rd_enablement_json(e);
		char note[120];
		snprintf(note, sizeof note, "plugin %s enabled for %s", e->plugin, e->partner_id ? "a partner" : "the vendor");
		rc = rd_audit_write(t, d, vendor, user, *replaced ? RD_AUDIT_UPDATE : RD_AUDIT_CREATE, "enablements", e->id,
				    before, after, note);
		json_decref(after);
	}
	json_decref(before);
	return rc;
}

int rd_enablement_remove(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, const char *plugin,
			 uint64_t partner, uint64_t id)
{
	int rc = 0;
	if (!id) {
		uint8_t key[80];
		size_t len;
		enablement_key(plugin, partner, key, &len);
		if ((rc = rd_index_find(t, d->enablements, "plugin", vendor, key, len, &id)) < 0)
			return rc;
	}
	struct rd_enablement *e = rd_malloc(sizeof *e);
	rc = rd_entity_get(t, d->enablements, &rd_entity_enablement, vendor, id, e);
	if (rc == 0 && strcmp(e->plugin, plugin) != 0)
		rc = RD_ENOTFOUND;
	if (rc == 0 && (rc = rd_txn_del(t, d->enablements, vendor, id)) == 0) {
		json_t *before = rd_enablement_json(e);
		rc = rd_audit_write(t, d, vendor, user, RD_AUDIT_DELETE, "enablements", id, before, NULL, "disabled");
		json_decref(before);
	}
	free(e);
	return rc;
}

int rd_enablement_find(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *plugin, uint64_t partner,
		       struct rd_enablement *out)
{
	uint8_t key[80];
	size_t len;
	uint64_t id;
	enablement_key(plugin, partner, key, &len);
	int rc = rd_index_find(t, d->enablements, "plugin", vendor, key, len, &id);
	if (rc == RD_ENOTFOUND && partner) {
		enablement_key(plugin, 0, key, &len);
		rc = rd_index_find(t, d->enablements, "plugin", vendor, key, len, &id);
	}
	if (rc < 0)
		return rc;
	return rd_entity_get(t, d->enablements, &rd_entity_enablement, vendor, id, out);
}

/* ---- branding ------------------------------------------------------------------------- */

static int asset_of(struct rd_loaded *l, const char *name, const char **data, size_t *len)
{
	const struct rd_branding_ops *ops = l->desc->ops;
	if (!ops || !ops->asset)
		return RD_ENOTFOUND;
	const void *p;
	const char *type = NULL;
	in_plugin = l->name;
	int rc = ops->asset(l->ctx, name, &p, len, &type);
	in_plugin = NULL;
	if (rc == 0)
		*data = p;
	return rc < 0 ? rc : 0;
}

int rd_plugins_asset(struct rd_plugins *p, struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t partner,
		     const char *name, const char **data, size_t *len)
{
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = RD_ENOTFOUND;
	for (int pass = 0; pass < 2 && rc < 0; pass++) { /* the partner's pack, then the vendor's */
		uint64_t who = pass == 0 ? partner : 0;
		if (pass == 0 && !partner)
			continue;
		for (struct rd_loaded *l = p->list; l && rc < 0; l = l->next) {
			if (!l->loaded || l->kind != RD_PLUGIN_BRANDING ||
			    (p->fallback_branding && !strcmp(l->name, p->fallback_branding->name)))
				continue;
			uint8_t key[80];
			size_t kl;
			uint64_t id;
			enablement_key(l->name, who, key, &kl);
			if (rd_index_find(t, d->enablements, "plugin", vendor, key, kl, &id) == 0)
				rc = asset_of(l, name, data, len);
		}
	}
	free(e);
	if (rc < 0) {
		struct rd_loaded *def = p->fallback_branding ? rd_plugins_find(p, p->fallback_branding->name) : NULL;
		rc = def ? asset_of(def, name, data, len) : RD_ENOTFOUND;
	}
	return rc;
}

/* The loaded payment plugin that offers option, or NULL. */
const char *rd_plugins_offering(struct rd_plugins *plugins, const char *option, char name[64])
{
	json_t *all = rd_plugins_json(plugins), *pl;
	size_t i;
	const char *found = NULL;
	json_array_foreach(all, i, pl) {
		if (strcmp(json_string_value(json_object_get(pl, "kind")) ?: "", "payment") ||
		    strcmp(json_string_value(json_object_get(pl, "state")) ?: "", "loaded"))
			continue;
		size_t k;
		json_t *opt;
		json_array_foreach(json_object_get(pl, "options"), k, opt) {
			if (!found && !strcmp(json_string_value(opt) ?: "", option)) {
				snprintf(name, 64, "%s", json_string_value(json_object_get(pl, "name")) ?: "");
				found = name;
			}
		}
	}
	json_decref(all);
	return found;
}

const char *rd_plugins_option_label(struct rd_plugins *plugins, const char *option, char label[64])
{
	json_t *all = rd_plugins_json(plugins), *pl;
	size_t i;
	const char *found = NULL;
	json_array_foreach(all, i, pl) {
		if (strcmp(json_string_value(json_object_get(pl, "kind")) ?: "", "payment") ||
		    strcmp(json_string_value(json_object_get(pl, "state")) ?: "", "loaded"))
			continue;
		size_t k;
		json_t *opt;
		json_array_foreach(json_object_get(pl, "options"), k, opt) {
			if (!found && !strcmp(json_string_value(opt) ?: "", option)) {
				snprintf(label, 64, "%s", json_string_value(json_array_get(json_object_get(pl, "labels"), k)) ?: option);
				found = label;
			}
		}
	}
	json_decref(all);
	return found;
}

void rd_plugins_set_fallback_branding(struct rd_plugins *p, const struct rd_plugin *pack)
{
	p->fallback_branding = pack;
}

int rd_plugins_asset_of(struct rd_plugins *p, const char *pack, const char *name, const char **data, size_t *len)
{
	struct rd_loaded *l = rd_plugins_find(p, pack);
	if (!l || l->kind != RD_PLUGIN_BRANDING)
		return RD_ENOTFOUND;
	return asset_of(l, name, data, len);
}
