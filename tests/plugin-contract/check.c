/*
 * renewd-plugin-check: the plugin contract test kit.
 *
 *   renewd-plugin-check [--config JSON] [--method JSON] [--kind K] [--junit FILE] [-v] PLUGIN.so...
 *
 * For each plugin shared object it runs, without renewd's core, the checks
 * renewd's loader runs (core/plugin/host.c) and then the lifecycle and the
 * calls of include/renewd/plugin.h against a fake host: every host service
 * is there, kv in memory, http refused (no network), a fixed clock, the
 * configuration from --config, and each log, error and field_error call
 * recorded.  It prints one line per check ("ok" or "FAIL: why") and a
 * summary, and exits 0 only when every check passed.
 *
 * Each plugin runs in a forked child, so a crash or a hang is reported as a
 * FAIL naming the check it happened in; the child is then started again
 * with that check left out, and the checks after it still run.  Messages
 * that renewd itself would give (a refused ABI, a bad name, ...) are worded
 * as renewd words them.  docs/plugins.md describes every check.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <renewd/plugin.h>

#define FIXED_NOW INT64_C(1798761600) /* host->now(): 2027-01-01T00:00:00Z */
#define PROBE_TIMEOUT_S 5             /* renewd's probe timeout (core/api/plugins.c) */
#define CHECK_TIMEOUT_S 30            /* backstop: a check that says nothing for this long hangs */
#define SHORT_HOST_TIMEOUT_S 10
#define DESC_V1_SIZE (offsetof(struct rd_plugin, ops) + sizeof(void *))
#define MAX_CHECKS 96
#define GUARD_BYTE 0x5a
#define AMOUNT 12345

static const char *const CUSTOMER_JSON =
	"{\"name\": \"Pat Example\", \"email\": \"pat@example.com\", \"company\": \"Example Ltd\", "
	"\"address\": {\"line1\": \"1 High Street\", \"city\": \"London\", \"postcode\": \"SW1A 1AA\", \"country\": \"GB\"}}";

/* ---- options --------------------------------------------------------------- */

static const char *opt_config; /* --config: the configuration calls run under ("{}" without it) */
static const char *opt_method = "{\"po_number\": \"PO-CHECK-0001\", \"code\": \"CHECK-0001\", \"token\": \"tok_check_0001\"}";
static int opt_kind;           /* --kind: 0, or the kind the plugin must be */
static const char *opt_junit;
static bool opt_verbose;

/* ---- small helpers ------------------------------------------------------- */

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "renewd-plugin-check: out of memory\n");
		_exit(3);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

static char *xmemdup(const void *p, size_t n)
{
	return memcpy(xmalloc(n), p, n);
}

static void appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	if (n + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, cap - n, fmt, ap);
	va_end(ap);
}

/* A plugin's text, safe for one line of output and for XML: control
 * characters become spaces, bytes that are not UTF-8 become '?', and long
 * text is cut with "...". */
static void clean(char *dst, size_t cap, const char *src, size_t max)
{
	size_t o = 0, i = 0, n = src ? strlen(src) : 0;
	if (max && n > max)
		n = max;
	while (i < n && o + 5 < cap) {
		unsigned char c = (unsigned char)src[i];
		size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		bool ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)src[i + k] & 0xc0) == 0x80;
		if (!ok) {
			dst[o++] = '?';
			i++;
		} else if (len == 1) {
			dst[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			i++;
		} else {
			memcpy(dst + o, src + i, len);
			o += len;
			i += len;
		}
	}
	if (i < (src ? strlen(src) : 0) && o + 4 <= cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = 0;
}

/* "text" quoted and cleaned, in a rotating static buffer (for messages). */
static const char *q(const char *s)
{
	static __thread char bufs[4][200];
	static __thread int k;
	char *b = bufs[k++ & 3], tmp[180];
	if (!s)
		return "NULL";
	clean(tmp, sizeof tmp, s, 120);
	snprintf(b, 200, "\"%s\"", tmp);
	return b;
}

static const char *errname(int rc)
{
	static __thread char buf[80];
	static const char *const rd[] = { "RD_ENOTFOUND", "RD_EEXISTS", "RD_EINVAL", "RD_ECORRUPT", "RD_EVERSION",
					  "RD_EMAPFULL", "RD_ENOTSTORE", "RD_ELOCKED", "RD_ETOOBIG", "RD_EDECLINED",
					  "RD_EASYNC", "RD_EINTERNAL", "RD_ERANGE", "RD_EBUSY" };
	if (rc <= RD_ENOTFOUND && rc >= RD_EBUSY)
		snprintf(buf, sizeof buf, "%d %s", rc, rd[RD_ENOTFOUND - rc]);
	else if (rc < 0 && rc > -4096)
		snprintf(buf, sizeof buf, "%d -%s", rc, strerrorname_np(-rc) ? strerrorname_np(-rc) : "errno");
	else
		snprintf(buf, sizeof buf, "%d", rc);
	return buf;
}

static const char *kind_name(uint32_t k)
{
	return k == RD_PLUGIN_PAYMENT ? "payment" : k == RD_PLUGIN_BRANDING ? "branding" : k == RD_PLUGIN_CONNECTOR ? "connector" : "unknown";
}

static const char *state_name(int s)
{
	static const char *const n[] = { "?", "authorised", "captured", "pending", "declined", "refunded" };
	return s >= 1 && s <= 5 ? n[s] : "?";
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- the fake host ----------------------------------------------------------- */

enum phase { PH_INIT, PH_CONFIGURE, PH_CALL, PH_ASSET, PH_DEINIT };
static const char *const phase_names[] = { "init", "configure", "a call", "asset", "deinit" };

enum {
	S_LOG = 1 << 0, S_ERROR = 1 << 1, S_FIELD = 1 << 2, S_NOW = 1 << 3, S_KV_GET = 1 << 4, S_KV_PUT = 1 << 5,
	S_KV_DEL = 1 << 6, S_HTTP = 1 << 7, S_RELEASE = 1 << 8, S_SECRET = 1 << 9, S_CONFIG = 1 << 10,
};
static const char *const service_names[] = { "log", "error", "field_error", "now", "kv_get", "kv_put",
					     "kv_del", "http", "release", "secret", "config" };

static const char *svc(unsigned bit)
{
	for (unsigned i = 0; i < sizeof service_names / sizeof *service_names; i++)
		if (bit == 1u << i)
			return service_names[i];
	return "?";
}

struct rd_plugin_ctx {
	enum phase phase;
	char *config;       /* what host->config() answers (owned) */
	uint64_t vendor;
	char err[512];      /* host->error */
	unsigned n_errors, n_fields, n_logs;
	char fields[600];   /* the first field errors, "field: message; ..." */
	char last_log[300];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rd_plugin_ctx *live[256];
static size_t n_live;
static rd_plugin_ctx fallback = { .phase = PH_CALL };
static const char *plugin_label = "plugin"; /* for -v logs */

/* What happened during the current check (reset by each check). */
static unsigned used_all;          /* services called */
static unsigned trapped_all;       /* services called beyond host->size (the short host) */
static unsigned misuse_count;
static char misuse_msg[600];       /* the first misuse */
static char host_note[600];        /* the first thing worth a note (http refused, ...) */

static void misuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void misuse(const char *fmt, ...)
{
	pthread_mutex_lock(&mu);
	if (!misuse_count++) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(misuse_msg, sizeof misuse_msg, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&mu);
}

static void note_once(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note_once(const char *fmt, ...)
{
	pthread_mutex_lock(&mu);
	if (!host_note[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(host_note, sizeof host_note, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&mu);
}

static rd_plugin_ctx *ctx_new(enum phase ph, const char *config, uint64_t vendor)
{
	rd_plugin_ctx *c = calloc(1, sizeof *c);
	if (!c)
		_exit(3);
	c->phase = ph;
	c->config = xstrdup(config ? config : "{}");
	c->vendor = vendor;
	pthread_mutex_lock(&mu);
	if (n_live == sizeof live / sizeof *live) {
		pthread_mutex_unlock(&mu);
		fprintf(stderr, "renewd-plugin-check: too many contexts\n");
		_exit(3);
	}
	live[n_live++] = c;
	pthread_mutex_unlock(&mu);
	return c;
}

/* Forgets a context: a plugin that kept it and uses it later is told so
 * (the pointer is compared, never followed). */
static void ctx_free(rd_plugin_ctx *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_live; i++)
		if (live[i] == c) {
			live[i] = live[--n_live];
			break;
		}
	pthread_mutex_unlock(&mu);
	free(c->config);
	memset(c, 0xdb, sizeof *c);
	free(c);
}

/* Every service starts here: is ctx one the kit handed out and still valid? */
static rd_plugin_ctx *use(rd_plugin_ctx *ctx, unsigned bit)
{
	bool ok = false;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_live && !ok; i++)
		ok = live[i] == ctx;
	used_all |= bit;
	pthread_mutex_unlock(&mu);
	if (!ok) {
		misuse("host->%s was called with %s: pass the ctx renewd handed to the current call", svc(bit),
		       ctx ? "a ctx that is no longer valid (kept from an earlier call?)" : "a NULL ctx");
		return &fallback;
	}
	return ctx;
}

static void trap(unsigned bit)
{
	pthread_mutex_lock(&mu);
	trapped_all |= bit;
	pthread_mutex_unlock(&mu);
}

static void f_log(rd_plugin_ctx *ctx, int level, const char *fmt, ...)
{
	ctx = use(ctx, S_LOG);
	if (!fmt) {
		misuse("host->log was called with a NULL format");
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->last_log, sizeof ctx->last_log, fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&ctx->n_logs, 1, __ATOMIC_RELAXED);
	if (opt_verbose) {
		static const char *const lv[] = { "debug", "info", "warn", "error" };
		char tmp[300];
		clean(tmp, sizeof tmp, ctx->last_log, 0);
		fprintf(stderr, "    [%s] %s: %s\n", plugin_label, level >= 0 && level <= 3 ? lv[level] : "?", tmp);
	}
}

static void f_error(rd_plugin_ctx *ctx, const char *fmt, ...)
{
	ctx = use(ctx, S_ERROR);
	if (!fmt) {
		misuse("host->error was called with a NULL format");
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&ctx->n_errors, 1, __ATOMIC_RELAXED);
}

static void f_field_error(rd_plugin_ctx *ctx, const char *field, const char *fmt, ...)
{
	ctx = use(ctx, S_FIELD);
	if (!fmt) {
		misuse("host->field_error was called with a NULL format");
		return;
	}
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (ctx->phase != PH_CONFIGURE) {
		note_once("host->field_error during %s is ignored by renewd (field errors belong to configure): use host->error",
			  phase_names[ctx->phase]);
		return;
	}
	if (ctx->n_fields++ < 3)
		appendf(ctx->fields, sizeof ctx->fields, "%s%s: %s", ctx->n_fields > 1 ? "; " : "",
			field && *field ? field : "(the configuration)", msg);
}

static int64_t f_now(rd_plugin_ctx *ctx)
{
	use(ctx, S_NOW);
	return FIXED_NOW;
}

/* kv: in memory, per vendor, with renewd's limits. */
struct kv {
	uint64_t vendor;
	char key[129];
	unsigned char *val;
	size_t len;
	struct kv *next;
};
static struct kv *kv_head;

static bool kv_key_ok(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	return n >= 1 && n <= 128;
}

static struct kv *kv_find(uint64_t vendor, const char *key)
{
	for (struct kv *e = kv_head; e; e = e->next)
		if (e->vendor == vendor && !strcmp(e->key, key))
			return e;
	return NULL;
}

static int f_kv_get(rd_plugin_ctx *ctx, const char *key, void *buf, size_t cap, size_t *len)
{
	ctx = use(ctx, S_KV_GET);
	if (!len) {
		misuse("host->kv_get was called with len NULL (renewd writes the value's length there)");
		return RD_EINVAL;
	}
	if (!kv_key_ok(key))
		return RD_EINVAL;
	int rc = 0;
	pthread_mutex_lock(&mu);
	struct kv *e = kv_find(ctx->vendor, key);
	if (!e) {
		rc = RD_ENOTFOUND;
	} else {
		*len = e->len;
		if (e->len > cap)
			rc = RD_ETOOBIG;
		else if (!buf && e->len)
			rc = RD_EINVAL;
		else if (e->len)
			memcpy(buf, e->val, e->len);
	}
	pthread_mutex_unlock(&mu);
	if (rc == RD_EINVAL)
		misuse("host->kv_get was called with buf NULL and a capacity of %zu", cap);
	return rc;
}

static int f_kv_put(rd_plugin_ctx *ctx, const char *key, const void *val, size_t len)
{
	ctx = use(ctx, S_KV_PUT);
	if (ctx->phase == PH_CONFIGURE)
		misuse("host->kv_put during configure: configure validates and keeps nothing (renewd stores the configuration)");
	if (!kv_key_ok(key))
		return RD_EINVAL;
	if (len > 65536)
		return RD_ETOOBIG;
	if (!val && len) {
		misuse("host->kv_put was called with val NULL and len %zu", len);
		return RD_EINVAL;
	}
	pthread_mutex_lock(&mu);
	struct kv *e = kv_find(ctx->vendor, key);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e)
			_exit(3);
		e->vendor = ctx->vendor;
		snprintf(e->key, sizeof e->key, "%s", key);
		struct kv **tail = &kv_head;
		while (*tail)
			tail = &(*tail)->next;
		*tail = e;
	}
	free(e->val);
	e->val = (unsigned char *)xmemdup(val ? val : "", len);
	e->len = len;
	pthread_mutex_unlock(&mu);
	return 0;
}

static int f_kv_del(rd_plugin_ctx *ctx, const char *key)
{
	ctx = use(ctx, S_KV_DEL);
	if (ctx->phase == PH_CONFIGURE)
		misuse("host->kv_del during configure: configure validates and keeps nothing");
	if (!kv_key_ok(key))
		return RD_EINVAL;
	pthread_mutex_lock(&mu);
	for (struct kv **p = &kv_head; *p; p = &(*p)->next)
		if ((*p)->vendor == ctx->vendor && !strcmp((*p)->key, key)) {
			struct kv *e = *p;
			*p = e->next;
			free(e->val);
			free(e);
			break;
		}
	pthread_mutex_unlock(&mu);
	return 0;
}

/* host->http calls refused so far (the kit has no network): a payment
 * plugin whose gateway cannot be reached may answer RD_EBUSY, "nothing is
 * decided" (docs/plugins.md), which the authorise checks accept then. */
static atomic_uint http_refused;

static int f_http(rd_plugin_ctx *ctx, const struct rd_http_request *req, struct rd_http_response *resp)
{
	ctx = use(ctx, S_HTTP);
	if (ctx->phase == PH_INIT || ctx->phase == PH_CONFIGURE || ctx->phase == PH_ASSET || ctx->phase == PH_DEINIT)
		misuse("host->http during %s: renewd allows it only in calls on its thread pool (%s)", phase_names[ctx->phase],
		       ctx->phase == PH_INIT ? "init runs at start-up, before any configuration"
		       : ctx->phase == PH_DEINIT ? "deinit runs at shut-down"
						 : "it runs on renewd's loop: no I/O");
	if (!resp) {
		misuse("host->http was called with resp NULL");
		return RD_EINVAL;
	}
	memset(resp, 0, sizeof *resp);
	if (!req || !req->url || (strncmp(req->url, "http://", 7) && strncmp(req->url, "https://", 8))) {
		note_once("host->http was given %s: renewd refuses it (the URL must be http:// or https://)",
			  req && req->url ? q(req->url) : "no URL");
		return RD_EINVAL;
	}
	atomic_fetch_add(&http_refused, 1);
	note_once("host->http %s %s was refused: the kit has no network, so the plugin saw a failed exchange (-EIO)",
		  req->method ? req->method : "GET", q(req->url));
	if (opt_verbose)
		fprintf(stderr, "    [%s] http %s %s: refused (the contract kit has no network)\n", plugin_label,
			req->method ? req->method : "GET", q(req->url));
	return -EIO;
}

static void f_release(void *p)
{
	pthread_mutex_lock(&mu);
	used_all |= S_RELEASE;
	pthread_mutex_unlock(&mu);
	if (p) /* the kit never hands memory out: http always fails */
		misuse("host->release(%p): that is not memory the host handed out", p);
}

static const char *f_secret(rd_plugin_ctx *ctx, const char *name)
{
	use(ctx, S_SECRET);
	if (!name)
		return NULL;
	char var[160] = "RENEWD_SECRET_";
	size_t n = strlen(var);
	for (const char *s = name; *s && n + 1 < sizeof var; s++)
		var[n++] = (char)((*s >= 'a' && *s <= 'z') ? *s - 'a' + 'A' : (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ? *s : '_');
	var[n] = 0;
	const char *v = getenv(var);
	if (!v)
		note_once("asked for the secret %s, which is unset (set %s to give the kit one)", q(name), var);
	return v;
}

static const char *f_config(rd_plugin_ctx *ctx)
{
	return use(ctx, S_CONFIG)->config;
}

static const struct rd_host_api full_host = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_host_api),
	.log = f_log,
	.error = f_error,
	.field_error = f_field_error,
	.now = f_now,
	.kv_get = f_kv_get,
	.kv_put = f_kv_put,
	.kv_del = f_kv_del,
	.http = f_http,
	.release = f_release,
	.secret = f_secret,
	.config = f_config,
};

/* The short host: a table that ends after field_error (what a plugin needs
 * to say why it refuses), with the later services present but past
 * host->size.  A plugin that checks RD_HOST_HAS does not call them; one
 * that does not is caught by the traps, which then serve it anyway. */
static int64_t t_now(rd_plugin_ctx *c) { trap(S_NOW); return f_now(c); }
static int t_kv_get(rd_plugin_ctx *c, const char *k, void *b, size_t cap, size_t *l) { trap(S_KV_GET); return f_kv_get(c, k, b, cap, l); }
static int t_kv_put(rd_plugin_ctx *c, const char *k, const void *v, size_t l) { trap(S_KV_PUT); return f_kv_put(c, k, v, l); }
static int t_kv_del(rd_plugin_ctx *c, const char *k) { trap(S_KV_DEL); return f_kv_del(c, k); }
static int t_http(rd_plugin_ctx *c, const struct rd_http_request *r, struct rd_http_response *o) { trap(S_HTTP); return f_http(c, r, o); }
static void t_release(void *p) { trap(S_RELEASE); f_release(p); }
static const char *t_secret(rd_plugin_ctx *c, const char *n) { trap(S_SECRET); return f_secret(c, n); }
static const char *t_config(rd_plugin_ctx *c) { trap(S_CONFIG); return f_config(c); }

static const struct rd_host_api short_host = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = offsetof(struct rd_host_api, now),
	.log = f_log,
	.error = f_error,
	.field_error = f_field_error,
	.now = t_now,
	.kv_get = t_kv_get,
	.kv_put = t_kv_put,
	.kv_del = t_kv_del,
	.http = t_http,
	.release = t_release,
	.secret = t_secret,
	.config = t_config,
};

/* kv snapshots: did a call change the plugin's storage? */
struct snap {
	size_t n;
	struct kv *e; /* copies (val owned) */
};

static void snap_take(struct snap *s)
{
	pthread_mutex_lock(&mu);
	s->n = 0;
	for (struct kv *e = kv_head; e; e = e->next)
		s->n++;
	s->e = calloc(s->n ? s->n : 1, sizeof *s->e);
	size_t i = 0;
	for (struct kv *e = kv_head; e; e = e->next, i++) {
		s->e[i] = *e;
		s->e[i].val = (unsigned char *)xmemdup(e->val ? (const void *)e->val : "", e->len);
	}
	pthread_mutex_unlock(&mu);
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->e[i].val);
	free(s->e);
}

static const char *show_value(const unsigned char *v, size_t len)
{
	static char buf[4][80];
	static int k;
	char *b = buf[k++ & 3];
	bool text = len <= 48;
	for (size_t i = 0; text && i < len; i++)
		text = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"';
	if (text)
		snprintf(b, 80, "\"%.*s\"", (int)len, (const char *)v);
	else
		snprintf(b, 80, "(%zu bytes)", len);
	return b;
}

/* Describes the first difference between a snapshot and the store now; "" when none. */
static void snap_diff(const struct snap *s, char *out, size_t cap)
{
	out[0] = 0;
	pthread_mutex_lock(&mu);
	for (struct kv *e = kv_head; e && !out[0]; e = e->next) {
		const struct kv *o = NULL;
		for (size_t i = 0; i < s->n && !o; i++)
			if (s->e[i].vendor == e->vendor && !strcmp(s->e[i].key, e->key))
				o = &s->e[i];
		if (!o)
			snprintf(out, cap, "key %s was written (%s)", q(e->key), show_value(e->val, e->len));
		else if (o->len != e->len || memcmp(o->val, e->val, e->len))
			snprintf(out, cap, "key %s went from %s to %s", q(e->key), show_value(o->val, o->len),
				 show_value(e->val, e->len));
	}
	for (size_t i = 0; i < s->n && !out[0]; i++)
		if (!kv_find(s->e[i].vendor, s->e[i].key))
			snprintf(out, cap, "key %s was deleted", q(s->e[i].key));
	pthread_mutex_unlock(&mu);
}

/* ---- the child's side: checks and their report ------------------------------------- */

static int out_fd = -1;
static pid_t child_pid;
static char crashed[MAX_CHECKS][64]; /* checks that crashed or hung in an earlier run: not run again */
static size_t n_crashed;

static void put(const char *s)
{
	size_t n = strlen(s);
	while (n && out_fd >= 0) {
		ssize_t w = write(out_fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		s += w;
		n -= (size_t)w;
	}
}

enum { OK, FAIL, SKIP };

struct check {
	const char *name;
	char detail[1200];
	char note[1200];
};

static void report(const char *name, int status, const char *detail, const char *note)
{
	if (getpid() != child_pid)
		return; /* a grandchild says nothing */
	char d[1100], n[1100], line[2400];
	clean(d, sizeof d, detail, 0);
	clean(n, sizeof n, note, 0);
	snprintf(line, sizeof line, "R\t%s\t%c\t%s\t%s\n", name, status == OK ? 'o' : status == FAIL ? 'F' : 's', d, n);
	put(line);
}

static bool was_crashed(const char *name)
{
	for (size_t i = 0; i < n_crashed; i++)
		if (!strcmp(crashed[i], name))
			return true;
	return false;
}

struct state;
typedef int (*check_fn)(struct state *st, struct check *c);

/* Runs one check: announces it (so a crash or hang can be named), runs
 * it, and adds what the host saw (misuse, notes) to its result. */
static int run(struct state *st, const char *name, check_fn fn)
{
	if (was_crashed(name))
		return FAIL; /* already reported */
	struct check c = { .name = name };
	pthread_mutex_lock(&mu);
	used_all = trapped_all = misuse_count = 0;
	misuse_msg[0] = host_note[0] = 0;
	pthread_mutex_unlock(&mu);
	char line[128];
	snprintf(line, sizeof line, "B\t%s\n", name);
	put(line);
	int r = fn(st, &c);
	pthread_mutex_lock(&mu);
	if (misuse_count) {
		if (r == FAIL && c.detail[0])
			appendf(c.detail, sizeof c.detail, "; and %s", misuse_msg);
		else
			snprintf(c.detail, sizeof c.detail, "%s", misuse_msg);
		r = FAIL;
	}
	if (host_note[0])
		appendf(c.note, sizeof c.note, "%s%s", c.note[0] ? "; " : "", host_note);
	pthread_mutex_unlock(&mu);
	report(name, r, c.detail, c.note);
	return r;
}

static void skip(const char *name, const char *why)
{
	if (!was_crashed(name))
		report(name, SKIP, why, "");
}

static int okf(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int okf(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
	return OK;
}

static int failf(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof c->detail, fmt, ap);
	va_end(ap);
	return FAIL;
}

static void notef(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notef(struct check *c, const char *fmt, ...)
{
	if (c->note[0])
		appendf(c->note, sizeof c->note, "; ");
	size_t n = strlen(c->note);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->note + n, sizeof c->note - n, fmt, ap);
	va_end(ap);
}

struct state {
	const char *path;
	void *dl;
	rd_plugin_entry_fn entry;
	const struct rd_plugin *d;
	bool kind_known, ops_usable, inited, calls_ok, probe_hung;
	rd_plugin_ctx *ictx;      /* the plugin-level ctx: init to deinit */
	int threads_before;
	const char *call_config;  /* what calls run under: --config or "{}" */
	int first_state;
	bool first_undecided; /* the first authorise answered RD_EBUSY: its gateway was out of reach */
	char first_ref[128];
	/* keys for the wrong-types configurations: --config's, then the plugin's strings */
	char (*keys)[48];
	size_t n_keys;
};

/* ---- descriptor checks ---------------------------------------------------------- */

static int c_dlopen(struct state *st, struct check *c)
{
	char path[4096];
	/* dlopen("x.so") searches the library path: a path without '/' means here. */
	snprintf(path, sizeof path, "%s%s", strchr(st->path, '/') ? "" : "./", st->path);
	dlerror();
	st->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!st->dl) {
		const char *e = dlerror();
		return failf(c, "cannot be loaded: %s", e ? e : "dlopen failed");
	}
	return OK;
}

static int c_entry(struct state *st, struct check *c)
{
	dlerror();
	void *sym = dlsym(st->dl, RENEWD_PLUGIN_ENTRY);
	if (!sym)
		return failf(c, "no %s symbol: not a renewd plugin (export it with RENEWD_PLUGIN_EXPORT)", RENEWD_PLUGIN_ENTRY);
	memcpy(&st->entry, &sym, sizeof st->entry);
	return OK;
}

static int c_descriptor(struct state *st, struct check *c)
{
	st->d = st->entry();
	if (!st->d)
		return failf(c, "renewd_plugin_entry() returned no descriptor");
	if (st->entry() != st->d)
		notef(c, "renewd_plugin_entry() returned a different descriptor on a second call: return static storage");
	return OK;
}

static int c_abi(struct state *st, struct check *c)
{
	if (st->d->abi != RENEWD_PLUGIN_ABI)
		return failf(c, "built for plugin ABI %u, this renewd is %u: rebuild it against this renewd's renewd/plugin.h",
			     st->d->abi, RENEWD_PLUGIN_ABI);
	return okf(c, "%u", st->d->abi);
}

static int c_size(struct state *st, struct check *c)
{
	if (st->d->size < DESC_V1_SIZE)
		return failf(c, "its descriptor is %u bytes, smaller than ABI %u's %zu: rebuild it", st->d->size,
			     RENEWD_PLUGIN_ABI, (size_t)DESC_V1_SIZE);
	return okf(c, "%u bytes", st->d->size);
}

static int c_name(struct state *st, struct check *c)
{
	const char *s = st->d->name;
	size_t n = s ? strlen(s) : 0;
	bool ok = n >= 1 && n <= 63;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
	if (!ok)
		return failf(c, "its name must be 1-63 characters of a-z, 0-9 and '-' (it is %s)", q(s));
	plugin_label = s;
	return okf(c, "%s", s);
}

static int c_version(struct state *st, struct check *c)
{
	const char *v = st->d->version;
	if (!v || !*v)
		return failf(c, "the version is %s: give the plugin's own version, e.g. \"1.0.0\"", v ? "empty" : "NULL");
	if (strlen(v) > 31)
		notef(c, "renewd shows only the first 31 characters of the version");
	return okf(c, "%s", q(v));
}

static int c_description(struct state *st, struct check *c)
{
	const char *v = st->d->description;
	if (!v || !*v)
		return failf(c, "the description is %s: one sentence for administrators", v ? "empty" : "NULL");
	return OK;
}

static int c_kind(struct state *st, struct check *c)
{
	uint32_t k = st->d->kind;
	st->kind_known = k >= RD_PLUGIN_PAYMENT && k <= RD_PLUGIN_CONNECTOR;
	if (!st->kind_known)
		return failf(c, "unknown kind %u (payment 1, branding 2, connector 3)", k);
	if (opt_kind && (int)k != opt_kind)
		return failf(c, "the plugin is a %s plugin; --kind says %s", kind_name(k), kind_name((uint32_t)opt_kind));
	return okf(c, "%s", kind_name(k));
}

static int c_ops(struct state *st, struct check *c)
{
	const char *k = kind_name(st->d->kind);
	if (!st->d->ops)
		return failf(c, "no ops table: a %s plugin without ops offers nothing (renewd loads it, but never calls it)", k);
	uint32_t v = *(const uint32_t *)st->d->ops;
	uint32_t known = st->d->kind == RD_PLUGIN_CONNECTOR ? RD_CONNECTOR_OPS_V2
			 : st->d->kind == RD_PLUGIN_PAYMENT ? RD_PAYMENT_OPS_V2 : 1;
	if (v < 1 || v > known)
		return failf(c, "its %s ops table is version %u; this renewd knows version %u", k, v, known);
	st->ops_usable = true;
	return okf(c, "%s ops version %u", k, v);
}

static bool option_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

static int c_options(struct state *st, struct check *c)
{
	const struct rd_payment_ops *ops = st->d->ops;
	if (!ops->options)
		return failf(c, "options is NULL: name at least one option, e.g. {\"card\", NULL}");
	size_t n = 0;
	char list[600] = "";
	for (; n < 64 && ops->options[n]; n++) {
		const char *o = ops->options[n];
		if (!option_name_ok(o))
			return failf(c, "option %zu is %s: option names are 1-63 characters of a-z and '_'", n, q(o));
		for (size_t i = 0; i < n; i++)
			if (!strcmp(ops->options[i], o))
				return failf(c, "the option %s is listed twice", q(o));
		appendf(list, sizeof list, "%s%s", n ? ", " : "", o);
	}
	if (n == 64)
		return failf(c, "options has 64 entries and no NULL: end the list with NULL");
	if (n == 0)
		return failf(c, "options is empty: name at least one option, e.g. {\"card\", NULL}");
	if (n > 16)
		return failf(c, "%zu options: renewd lists only the first 16 (GET /api/v1/plugins)", n);
	/* ops V2: the label a customer reads for each option */
	if (ops->version < RD_PAYMENT_OPS_V2 || !ops->labels)
		return okf(c, "%s (no labels: the customer reads the option names)", list);
	for (size_t i = 0; i < n; i++) {
		const char *l = ops->labels[i];
		if (!l)
			return failf(c, "labels ends before option %s: give each option its label", q(ops->options[i]));
		size_t len = strlen(l);
		bool ctl = false;
		for (size_t k = 0; k < len; k++)
			ctl |= (unsigned char)l[k] < 0x20 || l[k] == 0x7f;
		if (len == 0 || len > 63 || ctl)
			return failf(c, "the label of option %s is %s: 1-63 bytes of text without control characters",
				     q(ops->options[i]), q(l));
		appendf(list, sizeof list, "%s%s: %s", i ? "; " : " (labels ", ops->options[i], l);
	}
	appendf(list, sizeof list, ")");
	return okf(c, "%s", list);
}

/* ---- configure --------------------------------------------------------------- */

struct cfg {
	int rc;
	unsigned n_fields, n_errors;
	char fields[600], err[512];
};

static void configure_with(struct state *st, const char *text, size_t len, struct cfg *r)
{
	char *copy = xmalloc(len + 1); /* borrowed: exactly the text, freed after the call */
	memcpy(copy, text, len);
	copy[len] = 0;
	rd_plugin_ctx *ctx = ctx_new(PH_CONFIGURE, copy, 1);
	r->rc = st->d->configure(ctx, copy);
	r->n_fields = ctx->n_fields;
	r->n_errors = ctx->n_errors;
	snprintf(r->fields, sizeof r->fields, "%s", ctx->fields);
	snprintf(r->err, sizeof r->err, "%s", ctx->err);
	ctx_free(ctx);
	free(copy);
}

static bool refused(const struct cfg *r)
{
	return r->rc < 0 || r->n_fields > 0; /* renewd refuses either */
}

static void describe(const struct cfg *r, char *out, size_t cap)
{
	if (!refused(r))
		snprintf(out, cap, "accepted");
	else if (r->n_fields)
		snprintf(out, cap, "refused with %u field error%s: %s", r->n_fields, r->n_fields == 1 ? "" : "s", r->fields);
	else
		snprintf(out, cap, "refused: %s", r->err);
}

/* renewd's limits (core/plugin/host.c): a longer init is refused, a longer
 * configure refuses the enablement. */
#define RENEWD_INIT_S 5.0
#define RENEWD_CONFIGURE_S 2.0

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int c_configure_empty(struct state *st, struct check *c)
{
	if (!st->d->configure) {
		st->calls_ok = true;
		return okf(c, "no configure callback: renewd accepts any object");
	}
	struct cfg r;
	double t0 = mono_s();
	configure_with(st, "{}", 2, &r);
	double took = mono_s() - t0;
	if (took > RENEWD_CONFIGURE_S)
		return failf(c, "configure took %.1f s: renewd gives it %.0f s, then refuses the configuration", took,
			     RENEWD_CONFIGURE_S);
	if (refused(&r) && !r.n_fields)
		return failf(c, "{} refused (%s) without host->field_error naming the settings that are missing%s%s",
			     errname(r.rc), r.err[0] ? ": " : "", r.err);
	if (!opt_config)
		st->calls_ok = !refused(&r);
	char d[900];
	describe(&r, d, sizeof d);
	return okf(c, "%s", d);
}

static int c_configure_given(struct state *st, struct check *c)
{
	if (!st->d->configure) {
		st->calls_ok = true;
		return okf(c, "no configure callback: renewd accepts any object");
	}
	struct cfg r;
	double t0 = mono_s();
	configure_with(st, opt_config, strlen(opt_config), &r);
	double took = mono_s() - t0;
	if (took > RENEWD_CONFIGURE_S)
		return failf(c, "configure took %.1f s: renewd gives it %.0f s, then refuses the configuration", took,
			     RENEWD_CONFIGURE_S);
	if (refused(&r)) {
		char d[900];
		describe(&r, d, sizeof d);
		return failf(c, "the configuration given with --config is %s", d);
	}
	st->calls_ok = true;
	return okf(c, "accepted");
}

/* One hostile configuration: anything but a crash, or a refusal without a reason. */
static int hostile_one(struct state *st, struct check *c, const char *text, size_t len)
{
	struct cfg r;
	configure_with(st, text, len, &r);
	if (refused(&r) && !r.n_fields && !r.err[0])
		return failf(c, "returned %s without host->field_error or host->error: renewd can only answer \"%s\"",
			     errname(r.rc), "the configuration has errors");
	char d[900];
	describe(&r, d, sizeof d);
	return okf(c, "%s", d);
}

static int c_cfg_not_json(struct state *st, struct check *c)
{
	static const char t[] = "this is not JSON {\"a\": ";
	return hostile_one(st, c, t, sizeof t - 1);
}

static int c_cfg_array(struct state *st, struct check *c)
{
	static const char t[] = "[1, \"two\", {\"three\": 3}, null]";
	return hostile_one(st, c, t, sizeof t - 1);
}

static int c_cfg_big_text(struct state *st, struct check *c)
{
	size_t n = 100 * 1024;
	char *t = xmalloc(n);
	memset(t, 'A', n);
	int r = hostile_one(st, c, t, n);
	free(t);
	return r;
}

static int c_cfg_big_string(struct state *st, struct check *c)
{
	size_t n = 100 * 1024;
	char *t = xmalloc(n + 2);
	memset(t, 'a', n + 2);
	t[0] = t[n + 1] = '"';
	int r = hostile_one(st, c, t, n + 2);
	free(t);
	return r;
}

static int c_cfg_deep(struct state *st, struct check *c)
{
	size_t depth = 100000, n = 0;
	char *t = xmalloc(2 * depth + 16);
	n += (size_t)sprintf(t, "{\"a\": ");
	memset(t + n, '[', depth);
	n += depth;
	memset(t + n, ']', depth);
	n += depth;
	t[n++] = '}';
	int r = hostile_one(st, c, t, n);
	free(t);
	return r;
}

static int c_cfg_unknown(struct state *st, struct check *c)
{
	static const char t[] = "{\"renewd_check_unknown_setting\": true, \"zz_not_a_setting\": {\"nested\": [1, 2]}}";
	return hostile_one(st, c, t, sizeof t - 1);
}

/* Values of the wrong type (or out of range) for any setting. */
static const char *const wrong_values[] = {
	"null", "true", "false", "0", "-1", "9223372036854775807", "-9223372036854775808", "1.5", "1e308", "-1e308",
	"\"\"", "\"x\"", "\"-1\"", "\"not an e-mail\"", "[]", "[1, \"a\", null, {}]", "{}", "{\"a\": {\"b\": [true]}}",
	"{\"x\": \"y\"}", "{\"\": -1}",
};

static char *json_quote(const char *s)
{
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	return t ? t : xstrdup("\"\"");
}

static int c_cfg_wrong_types(struct state *st, struct check *c)
{
	/* The extra values built at run time: a 100 KB string and an object
	 * with a 300-character key. */
	size_t big = 100 * 1024;
	char *bigs = xmalloc(big + 3);
	memset(bigs, 'z', big + 2);
	bigs[0] = bigs[big + 1] = '"';
	bigs[big + 2] = 0;
	char longkey[340];
	memset(longkey, 'k', sizeof longkey);
	memcpy(longkey, "{\"", 2);
	memcpy(longkey + 302, "\": 1}", 6);
	size_t nv = sizeof wrong_values / sizeof *wrong_values;
	const char **values = xmalloc((nv + 2) * sizeof *values);
	memcpy(values, wrong_values, nv * sizeof *values);
	values[nv++] = bigs;
	values[nv++] = longkey;

	json_t *given = opt_config ? json_loads(opt_config, 0, NULL) : NULL;
	size_t tried = 0, refusedn = 0;
	int r = OK;
	/* 1. {"key": value} for every candidate key. */
	for (size_t k = 0; k < st->n_keys && r == OK; k++) {
		char *key = json_quote(st->keys[k]);
		for (size_t v = 0; v < nv && r == OK; v++) {
			size_t len = strlen(key) + strlen(values[v]) + 8;
			char *t = xmalloc(len);
			snprintf(t, len, "{%s: %s}", key, values[v]);
			struct cfg res;
			configure_with(st, t, strlen(t), &res);
			tried++;
			refusedn += refused(&res);
			if (refused(&res) && !res.n_fields && !res.err[0])
				r = failf(c, "%s: returned %s without host->field_error or host->error", q(t), errname(res.rc));
			free(t);
		}
		free(key);
	}
	/* 2. --config with one setting at a time replaced. */
	const char *gk;
	json_t *gv;
	if (json_is_object(given))
		json_object_foreach(given, gk, gv) {
			for (size_t v = 0; v < nv && r == OK; v++) {
				json_t *copy = json_deep_copy(given);
				json_t *bad = json_loads(values[v], JSON_DECODE_ANY, NULL);
				json_object_set_new(copy, gk, bad ? bad : json_null());
				char *t = json_dumps(copy, JSON_COMPACT);
				json_decref(copy);
				struct cfg res;
				configure_with(st, t, strlen(t), &res);
				tried++;
				refusedn += refused(&res);
				if (refused(&res) && !res.n_fields && !res.err[0])
					r = failf(c, "--config with %s set to %s: returned %s without host->field_error or host->error",
						  q(gk), q(values[v]), errname(res.rc));
				free(t);
			}
			if (r != OK)
				break;
		}
	json_decref(given);
	free(values);
	free(bigs);
	if (r == OK)
		okf(c, "%zu configurations (%zu candidate settings x %zu values): %zu refused with reasons, %zu accepted",
		    tried, st->n_keys, nv, refusedn, tried - refusedn);
	return r;
}

/* Candidate setting names: --config's keys, then every NUL-terminated
 * string of [a-z][a-z0-9_]+ in the shared object (where a plugin's
 * strcmp(key, "terms_days") keeps its names). */
static void find_keys(struct state *st)
{
	size_t cap = 128;
	st->keys = calloc(cap, sizeof *st->keys);
	if (!st->keys)
		_exit(3);
	st->n_keys = 0;
	json_t *given = opt_config ? json_loads(opt_config, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	if (json_is_object(given))
		json_object_foreach(given, k, v)
			if (st->n_keys < cap && strlen(k) < 48)
				snprintf(st->keys[st->n_keys++], 48, "%s", k);
	json_decref(given);
	FILE *f = fopen(st->path, "rb");
	if (!f)
		return;
	size_t max = 32u << 20, n = 0;
	char *buf = xmalloc(max);
	n = fread(buf, 1, max, f);
	fclose(f);
	for (size_t i = 0; i < n && st->n_keys < cap; i++) {
		if (i > 0 && buf[i - 1] != 0)
			continue;
		size_t j = i;
		while (j < n && ((buf[j] >= 'a' && buf[j] <= 'z') || (buf[j] >= '0' && buf[j] <= '9') || buf[j] == '_'))
			j++;
		size_t len = j - i;
		if (j < n && buf[j] == 0 && len >= 2 && len < 48 && buf[i] >= 'a' && buf[i] <= 'z') {
			bool dup = false;
			for (size_t x = 0; x < st->n_keys && !dup; x++)
				dup = strlen(st->keys[x]) == len && !memcmp(st->keys[x], buf + i, len);
			if (!dup) {
				memcpy(st->keys[st->n_keys], buf + i, len);
				st->keys[st->n_keys++][len] = 0;
			}
		}
		i = j;
	}
	free(buf);
}

/* ---- calls -------------------------------------------------------------------------- */

static rd_plugin_ctx *call_ctx(struct state *st)
{
	return ctx_new(PH_CALL, st->call_config, 1); /* vendor 1, the vendor-wide enablement */
}

/* A payment request whose strings are each a heap copy freed after the call. */
struct preq {
	struct rd_payment_request r;
	char *order_ref, *key, *option, *customer, *method;
};

static void preq_make(struct preq *p, unsigned n, const char *option)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "RO-2027-%06u", n);
	p->order_ref = xstrdup(tmp);
	snprintf(tmp, sizeof tmp, "renewd-plugin-check-%u", n);
	p->key = xstrdup(tmp);
	p->option = xstrdup(option ? option : "");
	p->customer = xstrdup(CUSTOMER_JSON);
	p->method = xstrdup(opt_method);
	p->r = (struct rd_payment_request){ .order_ref = p->order_ref, .idempotency_key = p->key, .amount = AMOUNT,
					    .currency = "GBP", .option = p->option, .customer_json = p->customer,
					    .method_json = p->method };
}

static void preq_free(struct preq *p)
{
	free(p->order_ref);
	free(p->key);
	free(p->option);
	free(p->customer);
	free(p->method);
}

/* A result with guard bytes after it: a plugin writing past it is caught
 * (by the guard, or by AddressSanitizer in a sanitized build). */
struct guarded {
	struct rd_payment_result r;
	unsigned char guard[64];
};

static struct guarded *guarded_new(void)
{
	struct guarded *g = xmalloc(sizeof *g);
	memset(&g->r, 0, sizeof g->r);
	memset(g->guard, GUARD_BYTE, sizeof g->guard);
	return g;
}

/* Why a result is not well-formed, or NULL. */
static const char *result_problem(const struct guarded *g, bool need_message)
{
	static __thread char why[300];
	for (size_t i = 0; i < sizeof g->guard; i++)
		if (g->guard[i] != GUARD_BYTE)
			return "it wrote past the end of struct rd_payment_result";
	if (!memchr(g->r.reference, 0, sizeof g->r.reference))
		return "the reference is not NUL-terminated within its 128 bytes";
	if (!memchr(g->r.message, 0, sizeof g->r.message))
		return "the message is not NUL-terminated within its 256 bytes";
	if (g->r.state < RD_PAY_AUTHORISED || g->r.state > RD_PAY_REFUNDED) {
		snprintf(why, sizeof why, "the state is %d, not an enum rd_payment_state value (1-5)", g->r.state);
		return why;
	}
	if (need_message && !g->r.message[0])
		return "the message is empty: say what happens next (it is shown to people)";
	return NULL;
}

struct outcome {
	int rc;
	char err[512];
};

static void authorise(struct state *st, const struct rd_payment_request *r, struct guarded *g, struct outcome *o)
{
	const struct rd_payment_ops *ops = st->d->ops;
	rd_plugin_ctx *ctx = call_ctx(st);
	o->rc = ops->authorise(ctx, r, &g->r);
	snprintf(o->err, sizeof o->err, "%s", ctx->err);
	ctx_free(ctx);
}

static const char *first_option(struct state *st)
{
	const struct rd_payment_ops *ops = st->d->ops;
	return ops->options && ops->options[0] ? ops->options[0] : "";
}

/* RD_EBUSY with a message after a refused host->http: the plugin could not
 * reach its gateway and decided nothing (docs/plugins.md: the order stays
 * created and the next authorise under the same key settles it). */
static bool undecided(const struct outcome *o)
{
	return o->rc == RD_EBUSY && o->err[0] && atomic_load(&http_refused) > 0;
}

static int c_authorise(struct state *st, struct check *c)
{
	const struct rd_payment_ops *ops = st->d->ops;
	if (!ops->authorise)
		return failf(c, "authorise is NULL: a payment plugin without authorise cannot take a payment");
	size_t n = 0;
	while (ops->options && n < 16 && ops->options[n])
		n++;
	for (size_t i = 0; i < (n ? n : 1); i++) {
		const char *opt = n ? ops->options[i] : "";
		struct preq p;
		preq_make(&p, (unsigned)i + 1, opt);
		struct guarded *g = guarded_new();
		struct outcome o;
		authorise(st, &p.r, g, &o);
		preq_free(&p);
		const char *why = o.rc == 0 ? result_problem(g, true) : NULL;
		int r = OK;
		if (undecided(&o)) {
			if (i == 0) {
				st->first_undecided = true;
				okf(c, "%s: undecided, RD_EBUSY %s (its gateway is out of the kit's reach)", opt, q(o.err));
			}
		} else if (o.rc != 0)
			r = failf(c, "option %s: a well-formed request returned %s%s%s (answer 0 with state declined to refuse a payment)",
				  q(opt), errname(o.rc), o.err[0] ? ": " : " without host->error", o.err);
		else if (why)
			r = failf(c, "option %s: %s", q(opt), why);
		else if (i == 0) {
			st->first_state = g->r.state;
			snprintf(st->first_ref, sizeof st->first_ref, "%s", g->r.reference);
			okf(c, "%s: %s, reference %s, message %s", opt, state_name(g->r.state), q(g->r.reference), q(g->r.message));
		}
		free(g);
		if (r != OK)
			return r;
	}
	if (n > 1)
		appendf(c->detail, sizeof c->detail, " (and %zu more options)", n - 1);
	return OK;
}

static int c_authorise_again(struct state *st, struct check *c)
{
	struct snap before;
	snap_take(&before);
	int r = OK;
	for (int k = 0; k < 3 && r == OK; k++) {
		struct preq p;
		preq_make(&p, 1, first_option(st)); /* the first authorise's request, key and all */
		struct guarded *g = guarded_new();
		struct outcome o;
		authorise(st, &p.r, g, &o);
		preq_free(&p);
		const char *why = o.rc == 0 ? result_problem(g, true) : NULL;
		if (st->first_undecided) {
			if (!undecided(&o))
				r = failf(c, "repeat %d returned %s where the first call was undecided (RD_EBUSY): the same idempotency "
					     "key must give the same outcome while the gateway is out of reach",
					  k + 1, o.rc == 0 ? state_name(g->r.state) : errname(o.rc));
		} else if (o.rc != 0)
			r = failf(c, "repeat %d returned %s%s%s", k + 1, errname(o.rc), o.err[0] ? ": " : "", o.err);
		else if (why)
			r = failf(c, "repeat %d: %s", k + 1, why);
		else if (g->r.state != st->first_state)
			r = failf(c, "repeat %d answered %s where the first call answered %s: the same idempotency key must give the same outcome",
				  k + 1, state_name(g->r.state), state_name(st->first_state));
		else if (strcmp(g->r.reference, st->first_ref) && !c->note[0])
			notef(c, "repeat %d gave the reference %s where the first call gave %s", k + 1, q(g->r.reference),
			      q(st->first_ref));
		free(g);
	}
	if (r == OK) {
		char diff[400];
		snap_diff(&before, diff, sizeof diff);
		if (diff[0])
			r = failf(c, "repeating the request with the same idempotency key changed the plugin's storage (%s): "
				     "the same key must not charge twice",
				  diff);
		else
			okf(c, "3 repeats: same outcome, storage unchanged");
	}
	snap_free(&before);
	return r;
}

struct auth_job {
	struct state *st;
	unsigned n;
	struct guarded *g;
	struct outcome o;
};

static void *auth_thread(void *arg)
{
	struct auth_job *j = arg;
	struct preq p;
	preq_make(&p, j->n, first_option(j->st));
	authorise(j->st, &p.r, j->g, &j->o);
	preq_free(&p);
	return NULL;
}

static int c_authorise_concurrent(struct state *st, struct check *c)
{
	struct auth_job jobs[4];
	pthread_t th[4];
	int started = 0;
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct auth_job){ .st = st, .n = 100 + (unsigned)i, .g = guarded_new() };
		if (pthread_create(&th[i], NULL, auth_thread, &jobs[i]) == 0)
			started++;
		else
			break;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	int r = OK;
	for (int i = 0; i < 4; i++) {
		if (r == OK && i < started) {
			const char *why = jobs[i].o.rc == 0 ? result_problem(jobs[i].g, true) : NULL;
			if (undecided(&jobs[i].o))
				;
			else if (jobs[i].o.rc != 0)
				r = failf(c, "call %d of 4 returned %s%s%s", i + 1, errname(jobs[i].o.rc), jobs[i].o.err[0] ? ": " : "",
					  jobs[i].o.err);
			else if (why)
				r = failf(c, "call %d of 4: %s", i + 1, why);
		}
		free(jobs[i].g);
	}
	if (r == OK && started < 4)
		r = failf(c, "the kit could start only %d threads", started);
	if (r == OK)
		okf(c, "4 calls at once (renewd runs up to 8 per plugin, 2 per vendor)");
	return r;
}

typedef int (*money_fn)(rd_plugin_ctx *, const char *, int64_t, const char *, struct rd_payment_result *);

static int money_call(struct state *st, struct check *c, money_fn fn, const char *what)
{
	char *ref = xstrdup(st->first_ref[0] ? st->first_ref : "RD-CHECK-REF-0001");
	char *cur = xstrdup("GBP");
	struct guarded *g = guarded_new();
	rd_plugin_ctx *ctx = call_ctx(st);
	int rc = fn(ctx, ref, AMOUNT, cur, &g->r);
	char err[512];
	snprintf(err, sizeof err, "%s", ctx->err);
	ctx_free(ctx);
	int r;
	const char *why = rc == 0 ? result_problem(g, false) : NULL;
	if (rc < 0 && !err[0])
		r = failf(c, "%s of %s returned %s without host->error saying why", what, q(ref), errname(rc));
	else if (rc < 0)
		r = okf(c, "refused %s: %s (%s)", q(ref), q(err), errname(rc));
	else if (rc > 0)
		r = failf(c, "returned %d: 0 or a negative error code", rc);
	else if (why)
		r = failf(c, "%s", why);
	else
		r = okf(c, "%s, reference %s, message %s", state_name(g->r.state), q(g->r.reference), q(g->r.message));
	free(g);
	free(ref);
	free(cur);
	return r;
}

static int c_capture(struct state *st, struct check *c)
{
	return money_call(st, c, ((const struct rd_payment_ops *)st->d->ops)->capture, "capture");
}

static int c_refund(struct state *st, struct check *c)
{
	return money_call(st, c, ((const struct rd_payment_ops *)st->d->ops)->refund, "refund");
}

static int c_callback(struct state *st, struct check *c)
{
	const struct rd_payment_ops *ops = st->d->ops;
	static const char garbage[] = "{\"type\": \"payment_intent.succeeded\", \"order_ref\": \"RO-2027-000001\"";
	struct { const char *body; size_t len; const char *sig; } tries[] = {
		{ garbage, sizeof garbage - 1, "t=0,v1=0000000000forged" },
		{ "", 0, "" },
	};
	for (size_t i = 0; i < 2; i++) {
		char *body = xmemdup(tries[i].body, tries[i].len + 1);
		char *sig = xstrdup(tries[i].sig);
		struct guarded *g = guarded_new();
		char order_ref[64 + 16];
		memset(order_ref, GUARD_BYTE, sizeof order_ref);
		order_ref[0] = 0;
		rd_plugin_ctx *ctx = call_ctx(st);
		int rc = ops->callback(ctx, body, tries[i].len, sig, &g->r, order_ref);
		ctx_free(ctx);
		int r = OK;
		if (rc >= 0)
			r = failf(c, "accepted a %s (returned %d, state %s, order %s): verify the signature before trusting the body",
				  i ? "callback with an empty body and no signature" : "callback with a forged signature", rc,
				  state_name(g->r.state), memchr(order_ref, 0, 64) ? q(order_ref) : "(not NUL-terminated)");
		for (size_t k = 64; r == OK && k < sizeof order_ref; k++)
			if ((unsigned char)order_ref[k] != GUARD_BYTE)
				r = failf(c, "it wrote past the 64 bytes of order_ref");
		free(g);
		free(body);
		free(sig);
		if (r != OK)
			return r;
	}
	return okf(c, "a forged signature and an empty body are refused");
}

/* ---- branding ----------------------------------------------------------------- */

/* As renewd calls it (core/plugin/host.c, rd_plugins_asset): on the loop
 * thread, with the plugin-level ctx (the one init had), so no I/O. */
static int asset(struct state *st, rd_plugin_ctx *ictx, const char *name, const void **data, size_t *len, const char **ct,
		 char *err, size_t errcap)
{
	const struct rd_branding_ops *ops = st->d->ops;
	char *n = xstrdup(name);
	*data = NULL;
	*len = 0;
	*ct = NULL;
	enum phase was = ictx->phase;
	ictx->phase = PH_ASSET;
	ictx->err[0] = 0;
	int rc = ops->asset(ictx, n, data, len, ct);
	ictx->phase = was;
	snprintf(err, errcap, "%s", ictx->err);
	free(n);
	return rc;
}

static int c_asset_missing(struct state *st, struct check *c)
{
	const void *data;
	size_t len;
	const char *ct;
	char err[512];
	int rc = asset(st, st->ictx, "does/not/exist", &data, &len, &ct, err, sizeof err);
	if (rc != RD_ENOTFOUND)
		return failf(c, "asset(\"does/not/exist\") returned %s: answer RD_ENOTFOUND (%d) so renewd falls back to its default pack",
			     errname(rc), RD_ENOTFOUND);
	return okf(c, "RD_ENOTFOUND");
}

static int c_asset_traversal(struct state *st, struct check *c)
{
	static const char *const names[] = { "../../../../../../etc/passwd", "/etc/passwd", "email/../../../etc/passwd" };
	for (size_t i = 0; i < 3; i++) {
		const void *data;
		size_t len;
		const char *ct;
		char err[512];
		int rc = asset(st, st->ictx, names[i], &data, &len, &ct, err, sizeof err);
		if (rc >= 0)
			return failf(c, "asset(%s) returned %d with %zu bytes: never serve names outside the pack", q(names[i]), rc, len);
	}
	return okf(c, "refused");
}

/* The templates renewd's renewal programme renders (core/renew/notify.c). */
static const char *const message_kinds[] = { "quote_notice", "pullback", "customer_notice", "reminder", "digest", "task" };
static const char *const message_parts[] = { "subject", "txt", "html" };

static int c_asset_known(struct state *st, struct check *c)
{
	unsigned found = 0;
	char missing[300] = "";
	for (size_t i = 0; i < 18; i++) {
		char name[64];
		snprintf(name, sizeof name, "email/%s.%s", message_kinds[i / 3], message_parts[i % 3]);
		const void *data;
		size_t len;
		const char *ct;
		char err[512];
		int rc = asset(st, st->ictx, name, &data, &len, &ct, err, sizeof err);
		if (rc == RD_ENOTFOUND) {
			if (i % 3 == 0)
				appendf(missing, sizeof missing, "%s%s", missing[0] ? ", " : "", message_kinds[i / 3]);
			continue;
		}
		if (rc < 0 && !err[0])
			return failf(c, "asset(%s) returned %s (neither 0 nor RD_ENOTFOUND) without host->error", q(name), errname(rc));
		if (rc < 0) {
			notef(c, "asset(%s) failed: %s", q(name), q(err));
			continue;
		}
		if (rc > 0)
			return failf(c, "asset(%s) returned %d: 0 or a negative error code", q(name), rc);
		if (!data && len)
			return failf(c, "asset(%s) returned 0 with data NULL and len %zu", q(name), len);
		if (!ct || !*ct)
			return failf(c, "asset(%s) returned 0 without a content type", q(name));
		unsigned sum = 0; /* read every byte: a wrong len shows under AddressSanitizer */
		for (size_t k = 0; k < len; k++)
			sum += ((const unsigned char *)data)[k];
		(void)sum;
		const void *again;
		size_t len2;
		const char *ct2;
		if (asset(st, st->ictx, name, &again, &len2, &ct2, err, sizeof err) != 0 || len2 != len ||
		    (len && memcmp(again, data, len)))
			return failf(c, "asset(%s) answered differently the second time: the data must stay valid and unchanged "
				     "until deinit (renewd renders from it without copying)",
				     q(name));
		found++;
	}
	if (!found)
		return okf(c, "none of the 18 e-mail templates (email/KIND.subject|txt|html): branding-default's apply");
	return okf(c, "%u of the 18 e-mail templates%s%s", found, missing[0] ? "; not: " : "", missing);
}

/* ---- connectors ------------------------------------------------------------------- */

struct sink_state {
	unsigned records;
	char bad[300];
};

static int sink(void *arg, const char *kind, const char *record_json)
{
	struct sink_state *s = arg;
	s->records++;
	if (s->bad[0])
		return 0;
	static const char *const kinds[] = { "customer", "product", "contract", /* an order-exchanging connector's (ops V2): */
					     "order_ack", "order_invoice", "functional_ack", "group", NULL };
	int known = 0;
	for (int i = 0; kind && kinds[i]; i++)
		known |= !strcmp(kind, kinds[i]);
	if (!known)
		snprintf(s->bad, sizeof s->bad,
			 "the sink was handed the kind %s (customer, product, contract; order_ack, order_invoice, functional_ack, group)",
			 q(kind));
	else if (!record_json)
		snprintf(s->bad, sizeof s->bad, "the sink was handed a NULL record");
	else {
		json_t *j = json_loads(record_json, JSON_DECODE_ANY, NULL);
		if (!json_is_object(j))
			snprintf(s->bad, sizeof s->bad, "the sink was handed a record that is not a JSON object: %s", q(record_json));
		json_decref(j);
	}
	return 0;
}

static int feed(struct state *st, struct check *c, const void *bytes, size_t len, const char *what)
{
	const struct rd_connector_ops *ops = st->d->ops;
	void *data = xmemdup(bytes, len); /* exactly len bytes: no NUL after them */
	struct sink_state s = { 0 };
	rd_plugin_ctx *ctx = call_ctx(st);
	int rc = ops->read_feed(ctx, data, len, sink, &s);
	char err[512];
	snprintf(err, sizeof err, "%s", ctx->err);
	ctx_free(ctx);
	free(data);
	if (s.bad[0])
		return failf(c, "%s: %s", what, s.bad);
	appendf(c->detail, sizeof c->detail, "%s%s: %s, %u record%s%s%s", c->detail[0] ? "; " : "", what,
		rc == 0 ? "0" : errname(rc), s.records, s.records == 1 ? "" : "s", err[0] ? ", " : "", err[0] ? q(err) : "");
	return OK;
}

static int c_feed_empty(struct state *st, struct check *c)
{
	return feed(st, c, "", 0, "0 bytes");
}

static int c_feed_garbage(struct state *st, struct check *c)
{
	unsigned char rnd[4096];
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < sizeof rnd; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		rnd[i] = (unsigned char)x;
	}
	static const char csv[] = "customer_id,name,email\nC-1,\"unterminated,pat@example.com\n,,,,,,,,\n\"\"\"";
	static const char json[] = "{\"records\": [{\"kind\": \"customer\", \"name\": ";
	if (feed(st, c, rnd, sizeof rnd, "4 KiB of random bytes") != OK || feed(st, c, csv, sizeof csv - 1, "broken CSV") != OK ||
	    feed(st, c, json, sizeof json - 1, "truncated JSON") != OK)
		return FAIL;
	return OK;
}

/* send("order", ...) and send("functional_ack", ...) with the JSON renewd hands in
 * (core/services/edi.c): 0 with a NUL-terminated reference within ref_cap and
 * nothing written past it, or < 0 with host->error saying why (a connector
 * that writes files cannot without its settings). */
static int send_one(struct state *st, struct check *c, const char *what, const char *json)
{
	const struct rd_connector_ops *ops = st->d->ops;
	enum { CAP = 64, GUARD = 32 };
	char *ref = xmalloc(CAP + GUARD);
	memset(ref, 0x5a, CAP + GUARD);
	char *text = xstrdup(json);
	rd_plugin_ctx *ctx = call_ctx(st);
	int rc = ops->send(ctx, what, text, ref, CAP);
	char err[512];
	snprintf(err, sizeof err, "%s", ctx->err);
	ctx_free(ctx);
	free(text);
	int out = OK;
	for (size_t i = CAP; i < CAP + GUARD; i++)
		if (ref[i] != 0x5a)
			out = failf(c, "send(\"%s\") wrote past the reference's %d bytes", what, CAP);
	if (out == OK && rc == 0 && !memchr(ref, 0, CAP))
		out = failf(c, "send(\"%s\") returned 0 with a reference that is not NUL-terminated within %d bytes", what, CAP);
	if (out == OK && rc < 0 && !err[0])
		out = failf(c, "send(\"%s\") failed (%s) without saying why (host->error)", what, errname(rc));
	if (out == OK)
		appendf(c->detail, sizeof c->detail, "%s%s: %s%s%s", c->detail[0] ? "; " : "", what,
			rc == 0 ? "0, reference " : errname(rc), rc == 0 ? q(ref) : err[0] ? ", " : "", rc == 0 ? "" : q(err));
	free(ref);
	return out;
}

static int c_send(struct state *st, struct check *c)
{
	static const char order[] =
		"{\"currency\":\"GBP\",\"currency_exponent\":2,\"date\":\"20270101\",\"lines\":[{\"name\":\"Backup Pro, 1 year\","
		"\"quantity\":3,\"sku\":\"BK-PRO-1Y\",\"unit_price\":1200,\"unit_price_decimal\":\"12.00\"}],"
		"\"number\":\"RO-2027-000001\",\"po_number\":\"PO-1\",\"total\":3600,\"total_decimal\":\"36.00\"}";
	static const char ack[] = "{\"accepted\":true,\"fid\":\"PR\",\"group\":\"1\"}";
	if (send_one(st, c, "order", order) != OK || send_one(st, c, "functional_ack", ack) != OK)
		return FAIL;
	return OK;
}

/* ---- probe, deinit, dlclose ------------------------------------------------------------ */

struct probe_run {
	const struct rd_plugin *d;
	rd_plugin_ctx *ctx;
	int rc;
	bool done;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *probe_thread(void *arg)
{
	struct probe_run *p = arg;
	int rc = p->d->probe(p->ctx);
	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	p->done = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int c_probe(struct state *st, struct check *c)
{
	struct probe_run *p = calloc(1, sizeof *p);
	if (!p)
		_exit(3);
	p->d = st->d;
	p->ctx = call_ctx(st);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_t th;
	if (pthread_create(&th, NULL, probe_thread, p) != 0)
		return failf(c, "the kit could not start a thread");
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += PROBE_TIMEOUT_S;
	pthread_mutex_lock(&p->mu);
	while (!p->done)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT)
			break;
	bool done = p->done;
	pthread_mutex_unlock(&p->mu);
	if (!done) {
		/* The thread is still in the plugin: leave it (and what it uses) alone. */
		pthread_detach(th);
		st->probe_hung = true;
		return failf(c, "did not return within %d s: renewd answers 504 plugin_timeout and the thread stays blocked "
			     "(give every network call a timeout shorter than that)",
			     PROBE_TIMEOUT_S);
	}
	pthread_join(th, NULL);
	int rc = p->rc;
	char err[512];
	snprintf(err, sizeof err, "%s", p->ctx->err);
	ctx_free(p->ctx);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	if (rc == 0)
		return okf(c, "answered 0");
	if (!err[0])
		notef(c, "a failed probe without host->error: renewd can only say %s", q(errname(rc)));
	return okf(c, "answered %s%s%s (the kit has no network, so failing is expected for a probe that calls out)",
		   errname(rc), err[0] ? ": " : "", err[0] ? q(err) : "");
}

static int c_deinit(struct state *st, struct check *c)
{
	rd_plugin_ctx *ictx = st->ictx;
	ictx->phase = PH_DEINIT;
	if (st->d->deinit)
		st->d->deinit(ictx);
	int after = count_threads();
	for (int i = 0; i < 20 && st->threads_before >= 0 && after > st->threads_before; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		after = count_threads();
	}
	ctx_free(ictx);
	st->ictx = NULL;
	if (st->threads_before >= 0 && after > st->threads_before)
		return failf(c, "%d thread%s the plugin started still run%s after deinit: stop and join them in deinit, "
			     "or they run unmapped code after dlclose",
			     after - st->threads_before, after - st->threads_before == 1 ? "" : "s",
			     after - st->threads_before == 1 ? "s" : "");
	return okf(c, "%s", st->d->deinit ? "returned" : "no deinit callback");
}

static int c_dlclose(struct state *st, struct check *c)
{
	dlerror();
	if (dlclose(st->dl) != 0) {
		const char *e = dlerror();
		return failf(c, "%s", e ? e : "dlclose failed");
	}
	st->dl = NULL;
	return OK;
}

/* ---- the short host: services used without RD_HOST_HAS ----------------------------------- */

/* In a grandchild (the plugin is initialised there and thrown away):
 * init with the short host, then configure and one call. */
static void short_host_run(struct state *st, int fd)
{
	out_fd = -1;
	rd_plugin_ctx *ictx = ctx_new(PH_INIT, NULL, 0);
	int rc = st->d->init(ictx, &short_host);
	char msg[700];
	if (rc >= 0) {
		if (st->d->configure) {
			struct cfg r;
			configure_with(st, st->call_config, strlen(st->call_config), &r);
		}
		if (st->ops_usable && st->d->kind == RD_PLUGIN_PAYMENT && ((const struct rd_payment_ops *)st->d->ops)->authorise) {
			struct preq p;
			preq_make(&p, 900, first_option(st));
			struct guarded *g = guarded_new();
			struct outcome o;
			authorise(st, &p.r, g, &o);
			free(g);
			preq_free(&p);
		} else if (st->ops_usable && st->d->kind == RD_PLUGIN_BRANDING && ((const struct rd_branding_ops *)st->d->ops)->asset) {
			const void *data;
			size_t len;
			const char *ct;
			char err[512];
			asset(st, ictx, "does/not/exist", &data, &len, &ct, err, sizeof err);
		} else if (st->ops_usable && st->d->kind == RD_PLUGIN_CONNECTOR && ((const struct rd_connector_ops *)st->d->ops)->read_feed) {
			struct check c = { .name = "short host" };
			feed(st, &c, "", 0, "empty");
		}
		if (st->d->deinit)
			st->d->deinit(ictx);
	}
	int n = snprintf(msg, sizeof msg, "%d %u %s", rc, trapped_all, ictx->err);
	if (write(fd, msg, (size_t)(n < (int)sizeof msg ? n : (int)sizeof msg - 1)) < 0)
		_exit(4);
	_exit(0);
}

static int c_host_has(struct state *st, struct check *c)
{
	if (!st->d->init)
		return okf(c, "no init: the plugin never sees the host table");
	int fds[2];
	if (pipe(fds) < 0)
		return failf(c, "the kit could not make a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return failf(c, "the kit could not fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		short_host_run(st, fds[1]);
	}
	close(fds[1]);
	int status = 0;
	bool hung = false;
	for (int i = 0; i < SHORT_HOST_TIMEOUT_S * 20; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (i + 1 == SHORT_HOST_TIMEOUT_S * 20) {
			hung = true;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	char buf[800];
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = 0;
	char table[160];
	snprintf(table, sizeof table, "a host table that ends after field_error (host->size %u)", short_host.size);
	if (hung || n <= 0) {
		notef(c, "with %s, init, configure or a call %s: a service used without checking RD_HOST_HAS "
			 "(unless it fails with the full table too: see the checks below)",
		      table, hung ? "hangs" : WIFSIGNALED(status) ? "crashes" : "does not finish");
		return OK;
	}
	int rc = 0;
	unsigned mask = 0;
	int used = 0;
	sscanf(buf, "%d %u %n", &rc, &mask, &used);
	const char *err = buf + used;
	if (mask) {
		char names[200] = "";
		for (unsigned b = 0; b < 11; b++)
			if (mask & (1u << b))
				appendf(names, sizeof names, "%shost->%s", names[0] ? ", " : "", service_names[b]);
		notef(c, "calls %s without checking RD_HOST_HAS: harmless with every ABI %d renewd (they all have the "
			 "services of this header), but check RD_HOST_HAS before any service newer than the header you build with",
		      names, RENEWD_PLUGIN_ABI);
	}
	if (rc < 0 && !*err)
		notef(c, "init refuses %s without host->error saying why", table);
	if (rc < 0)
		return okf(c, "init refuses %s cleanly: %s", table, q(err));
	return okf(c, "%s", mask ? "see the note" : "init, configure and a call work with a shorter host table");
}

/* ---- init ---------------------------------------------------------------------------- */

static int c_init(struct state *st, struct check *c)
{
	st->threads_before = count_threads();
	st->ictx = ctx_new(PH_INIT, NULL, 0);
	if (!st->d->init) {
		st->inited = true;
		return okf(c, "no init callback");
	}
	double t0 = mono_s();
	int rc = st->d->init(st->ictx, &full_host);
	double took = mono_s() - t0;
	if (rc >= 0 && took > RENEWD_INIT_S) {
		st->inited = true; /* it did answer: deinit still runs */
		st->ictx->phase = PH_CALL;
		return failf(c, "init took %.1f s: renewd gives it %.0f s, then refuses the plugin", took, RENEWD_INIT_S);
	}
	if (rc < 0) {
		char why[600];
		snprintf(why, sizeof why, "%s", st->ictx->err);
		ctx_free(st->ictx);
		st->ictx = NULL;
		return failf(c, "init failed: %s%s", why[0] ? why : errname(rc), why[0] ? "" : " (and no host->error saying why)");
	}
	st->inited = true;
	st->ictx->phase = PH_CALL; /* plugin threads may log with it from now on */
	return okf(c, "%s", st->ictx->n_logs ? q(st->ictx->last_log) : "");
}

/* ---- the plan --------------------------------------------------------------------------- */

static void child_main(const char *path)
{
	struct state st = { .path = path, .call_config = opt_config ? opt_config : "{}", .threads_before = -1 };
	if (run(&st, "dlopen", c_dlopen) != OK || run(&st, "entry symbol", c_entry) != OK ||
	    run(&st, "descriptor", c_descriptor) != OK || run(&st, "abi", c_abi) != OK ||
	    run(&st, "descriptor size", c_size) != OK)
		return; /* renewd would refuse it here; nothing else can be read safely */
	run(&st, "name", c_name);
	run(&st, "version", c_version);
	run(&st, "description", c_description);
	run(&st, "kind", c_kind);
	if (st.kind_known)
		run(&st, "ops", c_ops);
	else
		skip("ops", "the kind is unknown");
	if (st.ops_usable && st.d->kind == RD_PLUGIN_PAYMENT)
		run(&st, "payment options", c_options);
	run(&st, "RD_HOST_HAS", c_host_has);
	if (run(&st, "init", c_init) != OK) {
		run(&st, "dlclose", c_dlclose);
		return;
	}

	/* configure */
	if (run(&st, "configure {}", c_configure_empty) == OK && st.d->configure) {
		find_keys(&st);
		if (opt_config)
			run(&st, "configure --config", c_configure_given);
		run(&st, "configure: not JSON", c_cfg_not_json);
		run(&st, "configure: JSON array", c_cfg_array);
		run(&st, "configure: 100 KB of text", c_cfg_big_text);
		run(&st, "configure: 100 KB string", c_cfg_big_string);
		run(&st, "configure: 100000 levels deep", c_cfg_deep);
		run(&st, "configure: unknown keys", c_cfg_unknown);
		run(&st, "configure: wrong types", c_cfg_wrong_types);
		free(st.keys);
	} else if (opt_config && st.d->configure) {
		run(&st, "configure --config", c_configure_given);
	}

	/* calls: under a configuration the plugin accepts, as renewd makes them */
	if (!st.calls_ok) {
		report("calls", FAIL,
		       opt_config ? "not run: configure refuses --config (see above)"
				  : "not run: configure refuses {} and no --config was given: pass a configuration the plugin accepts",
		       "");
	} else if (st.ops_usable && st.d->kind == RD_PLUGIN_PAYMENT) {
		const struct rd_payment_ops *ops = st.d->ops;
		if (run(&st, "authorise", c_authorise) == OK) {
			run(&st, "authorise: same idempotency key", c_authorise_again);
			run(&st, "authorise: 4 concurrent calls", c_authorise_concurrent);
		}
		if (ops->capture)
			run(&st, "capture", c_capture);
		else
			skip("capture", "not present");
		if (ops->refund)
			run(&st, "refund", c_refund);
		else
			skip("refund", "not present");
		if (ops->callback)
			run(&st, "callback: forged", c_callback);
		else
			skip("callback: forged", "not present");
	} else if (st.ops_usable && st.d->kind == RD_PLUGIN_BRANDING) {
		if (!((const struct rd_branding_ops *)st.d->ops)->asset) {
			report("asset", FAIL, "asset is NULL: a branding plugin without asset offers nothing", "");
		} else {
			run(&st, "asset: not found", c_asset_missing);
			run(&st, "asset: outside the pack", c_asset_traversal);
			run(&st, "asset: e-mail templates", c_asset_known);
		}
	} else if (st.ops_usable && st.d->kind == RD_PLUGIN_CONNECTOR) {
		const struct rd_connector_ops *ops = st.d->ops;
		if (ops->read_feed) {
			run(&st, "read_feed: empty", c_feed_empty);
			run(&st, "read_feed: garbage", c_feed_garbage);
		} else if (!ops->send) {
			report("read_feed", FAIL, "neither read_feed nor send: a connector without them offers nothing", "");
		} else {
			skip("read_feed", "not present (a send-only connector)");
		}
		if (ops->send)
			run(&st, "send", c_send);
		else if (ops->read_feed)
			skip("send", "not present (a read-only connector)");
	}
	if (!st.calls_ok)
		skip("probe", "the configuration is refused");
	else if (st.d->probe)
		run(&st, "probe", c_probe);
	else
		skip("probe", "not present");

	if (st.probe_hung) {
		skip("deinit", "a probe is still running");
		skip("dlclose", "a probe is still running");
		return;
	}
	run(&st, "deinit", c_deinit);
	run(&st, "dlclose", c_dlclose);
}

/* ---- the parent: one child per plugin, results, JUnit ------------------------------------------ */

struct result {
	char name[64];
	char status; /* 'o', 'F', 's' */
	char *detail, *note;
};

struct plugin_results {
	const char *path;
	char base[256];
	struct result r[MAX_CHECKS];
	size_t n;
	unsigned pass, fail, skipped;
};

static void add_result(struct plugin_results *pr, const char *name, char status, const char *detail, const char *note)
{
	for (size_t i = 0; i < pr->n; i++)
		if (!strcmp(pr->r[i].name, name))
			return; /* a rerun after a crash reports the earlier checks again */
	if (pr->n == MAX_CHECKS)
		return;
	struct result *r = &pr->r[pr->n++];
	snprintf(r->name, sizeof r->name, "%s", name);
	r->status = status;
	r->detail = xstrdup(detail ? detail : "");
	r->note = xstrdup(note ? note : "");
	if (status == 'o') {
		pr->pass++;
		printf("ok    %s%s%s%s\n", name, r->detail[0] ? " (" : "", r->detail, r->detail[0] ? ")" : "");
	} else if (status == 'F') {
		pr->fail++;
		printf("FAIL  %s: %s\n", name, r->detail);
	} else {
		pr->skipped++;
		printf("skip  %s: %s\n", name, r->detail);
	}
	if (r->note[0])
		printf("      note: %s\n", r->note);
	fflush(stdout);
}

static void handle_line(struct plugin_results *pr, char *line, char *cur, bool *ended)
{
	if (line[0] == 'E' && line[1] == 0) {
		*ended = true;
		return;
	}
	char *f[5] = { 0 };
	size_t nf = 0;
	for (char *p = line; nf < 5; nf++) {
		f[nf] = p;
		p = strchr(p, '\t');
		if (!p) {
			nf++;
			break;
		}
		*p++ = 0;
	}
	if (!strcmp(f[0], "B") && nf >= 2)
		snprintf(cur, 64, "%s", f[1]);
	else if (!strcmp(f[0], "R") && nf >= 3) {
		add_result(pr, f[1], f[2][0], nf > 3 ? f[3] : "", nf > 4 ? f[4] : "");
		cur[0] = 0;
	}
}

static void run_plugin(struct plugin_results *pr)
{
	printf("== %s\n", pr->path);
	fflush(stdout);
	n_crashed = 0;
	for (int attempt = 0; attempt < MAX_CHECKS; attempt++) {
		int fds[2];
		if (pipe(fds) < 0) {
			add_result(pr, "(kit)", 'F', "pipe failed", "");
			return;
		}
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			add_result(pr, "(kit)", 'F', "fork failed", "");
			close(fds[0]);
			close(fds[1]);
			return;
		}
		if (pid == 0) {
			close(fds[0]);
			out_fd = fds[1];
			child_pid = getpid();
			dup2(2, 1); /* a plugin's own output goes to stderr, not among the results */
			child_main(pr->path);
			put("E\n");
			_exit(0);
		}
		close(fds[1]);
		char buf[8192], cur[64] = "";
		size_t blen = 0;
		bool ended = false, hung = false;
		for (;;) {
			struct pollfd p = { .fd = fds[0], .events = POLLIN };
			int n = poll(&p, 1, CHECK_TIMEOUT_S * 1000);
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0) {
				hung = true;
				kill(pid, SIGKILL);
				break;
			}
			ssize_t r = read(fds[0], buf + blen, sizeof buf - 1 - blen);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			blen += (size_t)r;
			buf[blen] = 0;
			char *s = buf, *nl;
			while ((nl = strchr(s, '\n'))) {
				*nl = 0;
				handle_line(pr, s, cur, &ended);
				s = nl + 1;
			}
			blen = strlen(s);
			memmove(buf, s, blen + 1);
			if (blen == sizeof buf - 1) { /* a line longer than the buffer: take it as it is */
				handle_line(pr, buf, cur, &ended);
				blen = 0;
			}
		}
		close(fds[0]);
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (ended && !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return;
		char why[400];
		if (hung)
			snprintf(why, sizeof why, "no answer within %d s: the plugin hangs in this check", CHECK_TIMEOUT_S);
		else if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "crashed: %s (signal %d)%s", strsignal(WTERMSIG(status)), WTERMSIG(status),
				 WTERMSIG(status) == SIGABRT ? " (a sanitizer or assertion report above says where)" : "");
		else if (WIFEXITED(status))
			snprintf(why, sizeof why, "the process ended with status %d in this check (a sanitizer report above says "
				 "why, or the plugin called exit())", WEXITSTATUS(status));
		else
			snprintf(why, sizeof why, "the process ended unexpectedly");
		if (!cur[0]) {
			add_result(pr, ended ? "(end)" : "(between checks)", 'F', why, "");
			return;
		}
		add_result(pr, cur, 'F', why, "");
		if (n_crashed == MAX_CHECKS)
			return;
		snprintf(crashed[n_crashed++], sizeof crashed[0], "%s", cur);
		/* and again without that check: the ones after it still run */
	}
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
		}
	}
}

static int write_junit(const char *file, struct plugin_results *prs, size_t n)
{
	FILE *f = fopen(file, "w");
	if (!f) {
		fprintf(stderr, "renewd-plugin-check: %s: %s\n", file, strerror(errno));
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"renewd-plugin-check\">\n");
	for (size_t i = 0; i < n; i++) {
		struct plugin_results *pr = &prs[i];
		fprintf(f, "<testsuite name=\"plugin contract: ");
		xml_text(f, pr->base);
		fprintf(f, "\" tests=\"%zu\" failures=\"%u\" skipped=\"%u\">\n", pr->n, pr->fail, pr->skipped);
		for (size_t k = 0; k < pr->n; k++) {
			struct result *r = &pr->r[k];
			fprintf(f, "<testcase classname=\"");
			xml_text(f, pr->base);
			fprintf(f, "\" name=\"");
			xml_text(f, r->name);
			fprintf(f, "\">");
			if (r->status == 'F') {
				fprintf(f, "<failure message=\"");
				xml_text(f, r->detail);
				fprintf(f, "\"/>");
			} else if (r->status == 's') {
				fprintf(f, "<skipped message=\"");
				xml_text(f, r->detail);
				fprintf(f, "\"/>");
			}
			if (r->note[0] || (r->status == 'o' && r->detail[0])) {
				fprintf(f, "<system-out>");
				xml_text(f, r->status == 'o' ? r->detail : "");
				if (r->note[0]) {
					fprintf(f, "%snote: ", r->status == 'o' && r->detail[0] ? "; " : "");
					xml_text(f, r->note);
				}
				fprintf(f, "</system-out>");
			}
			fprintf(f, "</testcase>\n");
		}
		fprintf(f, "</testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return fclose(f) == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: renewd-plugin-check [options] PLUGIN.so...\n"
		"\n"
		"Checks renewd plugins against the plugin contract (include/renewd/plugin.h) without renewd:\n"
		"loading, the descriptor, init, configure with good and hostile input, the calls of the plugin's\n"
		"kind, probe, deinit and dlclose, each plugin in its own process.  One line per check, a summary;\n"
		"exit 0 only when every check passed.\n"
		"\n"
		"  --config JSON   the configuration (an object) calls run under, as an administrator would enable\n"
		"                  it (default {}); it must be accepted by configure\n"
		"  --method JSON   method_json of the payment requests (default %s)\n"
		"  --kind K        payment, branding or connector: fail unless the plugin is of that kind\n"
		"  --junit FILE    also write the results as JUnit XML (one testcase per plugin and check)\n"
		"  -v              show what the plugins log\n"
		"\n"
		"Secrets come from the environment (RENEWD_SECRET_<NAME>; renewd maps names per vendor, secret_env); host->http always fails\n"
		"(no network); host->now() is 2027-01-01T00:00:00Z.\n",
		opt_method);
}

static bool json_object_text(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	bool ok = json_is_object(j);
	json_decref(j);
	return ok;
}

int main(int argc, char **argv)
{
	const char **paths = calloc((size_t)argc + 1, sizeof *paths);
	size_t n = 0;
	if (!paths)
		return 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_value = i + 1 < argc;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			free(paths);
			return 0;
		} else if (!strcmp(a, "-v")) {
			opt_verbose = true;
		} else if (!strcmp(a, "--config") && has_value) {
			opt_config = argv[++i];
			if (!json_object_text(opt_config)) {
				fprintf(stderr, "renewd-plugin-check: --config must be a JSON object\n");
				free(paths);
				return 2;
			}
		} else if (!strcmp(a, "--method") && has_value) {
			opt_method = argv[++i];
			if (!json_object_text(opt_method)) {
				fprintf(stderr, "renewd-plugin-check: --method must be a JSON object\n");
				free(paths);
				return 2;
			}
		} else if (!strcmp(a, "--kind") && has_value) {
			const char *k = argv[++i];
			opt_kind = !strcmp(k, "payment") ? RD_PLUGIN_PAYMENT : !strcmp(k, "branding") ? RD_PLUGIN_BRANDING
				 : !strcmp(k, "connector") ? RD_PLUGIN_CONNECTOR : 0;
			if (!opt_kind) {
				fprintf(stderr, "renewd-plugin-check: --kind is payment, branding or connector\n");
				free(paths);
				return 2;
			}
		} else if (!strcmp(a, "--junit") && has_value) {
			opt_junit = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "renewd-plugin-check: unknown option or missing value: %s\n", a);
			usage(stderr);
			free(paths);
			return 2;
		} else {
			paths[n++] = a;
		}
	}
	if (!n) {
		usage(stderr);
		free(paths);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct plugin_results *prs = calloc(n, sizeof *prs);
	if (!prs)
		return 3;
	unsigned pass = 0, fail = 0, skipped = 0;
	for (size_t i = 0; i < n; i++) {
		prs[i].path = paths[i];
		const char *b = strrchr(paths[i], '/');
		snprintf(prs[i].base, sizeof prs[i].base, "%s", b ? b + 1 : paths[i]);
		run_plugin(&prs[i]);
		printf("-- %s: %u passed, %u failed, %u skipped\n\n", prs[i].base, prs[i].pass, prs[i].fail, prs[i].skipped);
		pass += prs[i].pass;
		fail += prs[i].fail;
		skipped += prs[i].skipped;
	}
	printf("renewd-plugin-check: %zu plugin%s, %u passed, %u failed, %u skipped: %s\n", n, n == 1 ? "" : "s", pass, fail,
	       skipped, fail ? "FAILED" : "all checks passed");
	int rc = fail ? 1 : 0;
	if (opt_junit && write_junit(opt_junit, prs, n) < 0)
		rc = 1;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < prs[i].n; k++) {
			free(prs[i].r[k].detail);
			free(prs[i].r[k].note);
		}
	free(prs);
	free(paths);
	return rc;
}
