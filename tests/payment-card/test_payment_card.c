/*
 * test_payment_card: the payment-card plugin, loaded from its shared object
 * as renewd loads it (dlopen, renewd_plugin_entry), driven through a host of
 * this test's own (storage in memory, libcurl for host->http) against the
 * fake gateway (tests/fakegw/fakegw.py, started here on an ephemeral port).
 *
 *   test_payment_card FAKEGW.py PAYMENT-CARD.so
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <renewd/plugin.h>

#define SECRET "sk_test_card_suite"
#define WEBHOOK_SECRET "whsec_card_suite"

/* ---- the host ------------------------------------------------------------ */

struct rd_plugin_ctx {
	const char *config;
	char err[512];
	char fields[1024];
};

static pthread_mutex_t kv_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *kv;           /* key -> value (text) */
static char logged[65536];   /* everything the plugin logged or reported */
static int64_t clock_skew;   /* added to the real clock by host->now */

static void append(char *dst, size_t cap, const char *fmt, va_list ap)
{
	size_t n = strlen(dst);
	if (n + 2 < cap) {
		vsnprintf(dst + n, cap - n - 1, fmt, ap);
		strcat(dst, "\n");
	}
}

static void h_log(rd_plugin_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&kv_lock);
	append(logged, sizeof logged, fmt, ap);
	pthread_mutex_unlock(&kv_lock);
	va_end(ap);
}

static void h_error(rd_plugin_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&kv_lock);
	strncat(logged, ctx->err, sizeof logged - strlen(logged) - 2);
	pthread_mutex_unlock(&kv_lock);
}

static void h_field_error(rd_plugin_ctx *ctx, const char *field, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t n = strlen(ctx->fields);
	snprintf(ctx->fields + n, sizeof ctx->fields - n, "%s: %s; ", field, msg);
}

static int64_t h_now(rd_plugin_ctx *ctx)
{
	return (int64_t)time(NULL) + clock_skew;
}

static int h_kv_get(rd_plugin_ctx *ctx, const char *key, void *buf, size_t cap, size_t *len)
{
	pthread_mutex_lock(&kv_lock);
	const char *v = json_string_value(json_object_get(kv, key));
	int rc = RD_ENOTFOUND;
	if (v) {
		size_t n = strlen(v);
		*len = n;
		rc = n > cap ? RD_ETOOBIG : 0;
		if (!rc)
			memcpy(buf, v, n);
	}
	pthread_mutex_unlock(&kv_lock);
	return rc;
}

static int h_kv_put(rd_plugin_ctx *ctx, const char *key, const void *val, size_t len)
{
	pthread_mutex_lock(&kv_lock);
	json_object_set_new(kv, key, json_stringn(val, len));
	pthread_mutex_unlock(&kv_lock);
	return 0;
}

static int h_kv_del(rd_plugin_ctx *ctx, const char *key)
{
	pthread_mutex_lock(&kv_lock);
	int rc = json_object_del(kv, key) ? RD_ENOTFOUND : 0;
	pthread_mutex_unlock(&kv_lock);
	return rc;
}

struct sink {
	char *p;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	char *p = realloc(s->p, s->len + size * n + 1);
	if (!p)
		return 0;
	s->p = p;
	memcpy(s->p + s->len, data, size * n);
	s->len += size * n;
	s->p[s->len] = 0;
	return size * n;
}

/* A blocking exchange with libcurl: the shape of renewd's own h_http. */
static int h_http(rd_plugin_ctx *ctx, const struct rd_http_request *req, struct rd_http_response *resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	struct sink s = { 0 };
	for (const char *const *h = req->headers; h && *h; h++)
		hs = curl_slist_append(hs, *h);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body_len || !strcmp(req->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms ? req->timeout_ms : 10000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	CURLcode cc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		free(s.p);
		*resp = (struct rd_http_response){ 0 };
		return -1;
	}
	resp->status = (int)status;
	resp->body = s.p ? s.p : calloc(1, 1);
	resp->body_len = s.len;
	return 0;
}

static const char *h_secret(rd_plugin_ctx *ctx, const char *name)
{
	return !strcmp(name, "card_key") ? SECRET : NULL;
}

static const char *h_config(rd_plugin_ctx *ctx)
{
	return ctx->config;
}

static const struct rd_host_api host = {
	.abi = RENEWD_PLUGIN_ABI, .size = sizeof(struct rd_host_api),
	.log = h_log, .error = h_error, .field_error = h_field_error, .now = h_now,
	.kv_get = h_kv_get, .kv_put = h_kv_put, .kv_del = h_kv_del, .http = h_http,
	.release = free, .secret = h_secret, .config = h_config,
};

/* ---- the fake gateway ---------------------------------------------------- */

static pid_t gw_pid;
static char gw_url[64];
static char config_auto[512], config_manual[512];
static void *dl;
static const struct rd_plugin *plugin;
static const struct rd_payment_ops *ops;

/* A call to the gateway outside the plugin; the parsed answer (caller's). */
static json_t *gw_call(const char *method, const char *path, const char *body, int auth)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", gw_url, path);
	const char *headers[] = { "Authorization: Bearer " SECRET, NULL };
	struct rd_http_request req = { .method = method, .url = url, .headers = auth ? headers : NULL,
				       .body = body, .body_len = body ? strlen(body) : 0 };
	struct rd_http_response resp;
	if (h_http(NULL, &req, &resp) < 0)
		return NULL;
	json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
	free(resp.body);
	return j;
}

static void gw_control(const char *what, const char *json)
{
	char path[64];
	snprintf(path, sizeof path, "/control/%s", what);
	json_decref(gw_call("POST", path, json, 0));
}

static char *gw_token(const char *outcome)
{
	json_t *j = gw_call("POST", "/v1/tokens", outcome, 1);
	char *t = strdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return t;
}

/* Money movements at the gateway for one order: charges, captures, authorisations. */
static int gw_charges(const char *order_ref)
{
	json_t *st = gw_call("GET", "/control/state", NULL, 0);
	int n = 0;
	size_t i, k;
	json_t *c, *pi;
	json_array_foreach(json_object_get(st, "charges"), i, c) {
		const char *id = json_string_value(json_object_get(c, "intent"));
		json_array_foreach(json_object_get(st, "intents"), k, pi)
			if (!strcmp(json_string_value(json_object_get(pi, "id")), id) &&
			    !strcmp(json_string_value(json_object_get(json_object_get(pi, "metadata"), "order")), order_ref) &&
			    json_integer_value(json_object_get(c, "amount")) > 0)
				n++;
	}
	json_decref(st);
	return n;
}

static int start_gateway(const char *script)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	gw_pid = fork();
	if (gw_pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/usr/bin/python3", "python3", script, "--lifetime", "300", "--secret", SECRET, "--webhook-secret",
		      WEBHOOK_SECRET, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	/* The port, up to its newline (it may come in more than one write). */
	char line[32] = { 0 };
	size_t got = 0;
	while (got < sizeof line - 1 && !strchr(line, '\n')) {
		ssize_t n = read(fd[0], line + got, sizeof line - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd[0]);
	int port = strchr(line, '\n') ? atoi(line) : 0;
	if (port <= 0)
		return -1;
	snprintf(gw_url, sizeof gw_url, "http://127.0.0.1:%d", port);
	snprintf(config_auto, sizeof config_auto,
		 "{\"base_url\": \"%s\", \"secret_key\": \"secret:card_key\", \"webhook_secret\": \"" WEBHOOK_SECRET
		 "\", \"timeout_ms\": 1000}",
		 gw_url);
	snprintf(config_manual, sizeof config_manual,
		 "{\"base_url\": \"%s/\", \"secret_key\": \"" SECRET "\", \"webhook_secret\": \"" WEBHOOK_SECRET
		 "\", \"capture\": \"manual\", \"timeout_ms\": 1000}",
		 gw_url);
	return 0;
}

/* ---- calls --------------------------------------------------------------- */

struct call {
	int rc;
	struct rd_payment_result res;
	char err[512];
};

static struct call pay(const char *config, const char *order, const char *key, int64_t amount, const char *token)
{
	struct rd_plugin_ctx ctx = { .config = config };
	char method[128];
	if (token)
		snprintf(method, sizeof method, "{\"token\": \"%s\"}", token);
	else
		snprintf(method, sizeof method, "{}"); /* renewd reconciling: it keeps no token */
	struct rd_payment_request req = { .order_ref = order, .idempotency_key = key, .amount = amount, .currency = "GBP",
					  .option = "card", .customer_json = "{\"email\": \"a@b.example\"}",
					  .method_json = method };
	struct call c = { 0 };
	c.rc = ops->authorise(&ctx, &req, &c.res);
	memcpy(c.err, ctx.err, sizeof c.err);
	return c;
}

static void forget(const char *key) /* as if renewd crashed before the plugin kept its answer */
{
	char k[160];
	snprintf(k, sizeof k, "auth:%s", key);
	h_kv_del(NULL, k);
}

#define assert_has(text, needle)                                                                  \
	do {                                                                                          \
		if (!strstr((text), (needle)))                                                            \
			fail_msg("\"%s\" does not contain \"%s\"", (text), (needle));                          \
	} while (0)

/* ---- the tests ----------------------------------------------------------- */

/* An order renewd authorises again without the token (at start, after a
 * crash): the plugin looks the payment up under the key and never charges. */
static void reconcile_without_token(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000090", "idem-reconcile", 4200, tok);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	forget("idem-reconcile");
	struct call b = pay(config_auto, "RO-2027-000090", "idem-reconcile", 4200, NULL);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.res.state, RD_PAY_CAPTURED);
	assert_string_equal(b.res.reference, a.res.reference);
	assert_int_equal(gw_charges("RO-2027-000090"), 1);
	/* nothing at the gateway under the key: nothing was charged, and nothing
	 * decided (the order stays created for the customer's card) */
	struct call c = pay(config_auto, "RO-2027-000091", "idem-reconcile-none", 4200, NULL);
	assert_int_equal(c.rc, RD_ENOTFOUND);
	assert_int_equal(gw_charges("RO-2027-000091"), 0);
	/* the customer's retry with the card, under the same key, pays once */
	char *tok2 = gw_token(NULL);
	struct call e = pay(config_auto, "RO-2027-000091", "idem-reconcile-none", 4200, tok2);
	assert_int_equal(e.rc, 0);
	assert_int_equal(e.res.state, RD_PAY_CAPTURED);
	assert_int_equal(gw_charges("RO-2027-000091"), 1);
	free(tok2);
	free(tok);
}

static void configure_validates(void **state)
{
	struct rd_plugin_ctx ctx = { 0 };
	assert_int_equal(plugin->configure(&ctx, config_auto), 0);
	assert_int_equal(plugin->configure(&ctx, config_manual), 0);
	memset(&ctx, 0, sizeof ctx);
	assert_true(plugin->configure(&ctx, "{\"base_url\": \"ftp://x\", \"secret_key\": \"secret:nope\", "
					    "\"capture\": \"sometimes\", \"timeout_ms\": 5}") < 0);
	assert_has(ctx.fields, "base_url: must be");
	assert_has(ctx.fields, "secret_key: names no secret of this vendor");
	assert_has(ctx.fields, "capture: must be");
	assert_has(ctx.fields, "timeout_ms: must be");
	assert_has(ctx.fields, "webhook_secret: is required");
	memset(&ctx, 0, sizeof ctx);
	assert_true(plugin->configure(&ctx, "{\"base_url\": \"http://x\", \"secret_key\": \"has space\", \"webhook_secret\": \"w\"}") < 0);
	assert_has(ctx.fields, "secret_key: must be");
	assert_null(strstr(ctx.fields, "has space")); /* a secret is never echoed */
}

static void happy_path(void **state)
{
	char *tok = gw_token(NULL);
	struct call c = pay(config_auto, "RO-2027-000001", "idem-happy", 12345, tok);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.res.state, RD_PAY_CAPTURED);
	assert_has(c.res.reference, "pi_");
	assert_int_equal(gw_charges("RO-2027-000001"), 1);
	/* A refund, repeated: refunded once. */
	struct rd_plugin_ctx ctx = { .config = config_auto };
	struct rd_payment_result r = { 0 };
	assert_int_equal(ops->refund(&ctx, c.res.reference, 12345, "GBP", &r), 0);
	assert_int_equal(r.state, RD_PAY_REFUNDED);
	assert_int_equal(ops->refund(&ctx, c.res.reference, 12345, "GBP", &r), 0);
	json_t *st = gw_call("GET", "/control/state", NULL, 0);
	size_t i;
	json_t *pi;
	json_array_foreach(json_object_get(st, "intents"), i, pi)
		if (!strcmp(json_string_value(json_object_get(pi, "id")), c.res.reference))
			assert_int_equal(json_integer_value(json_object_get(pi, "amount_refunded")), 12345);
	json_decref(st);
	free(tok);
}

static void replay_charges_once(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000002", "idem-replay", 5000, tok);
	struct call b = pay(config_auto, "RO-2027-000002", "idem-replay", 5000, tok); /* from storage */
	forget("idem-replay");
	struct call c = pay(config_auto, "RO-2027-000002", "idem-replay", 5000, tok); /* the gateway replays */
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	assert_int_equal(b.res.state, RD_PAY_CAPTURED);
	assert_int_equal(c.res.state, RD_PAY_CAPTURED);
	assert_string_equal(a.res.reference, b.res.reference);
	assert_string_equal(a.res.reference, c.res.reference);
	assert_int_equal(gw_charges("RO-2027-000002"), 1);
	free(tok);
}

static void same_key_other_body_is_refused(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000003", "idem-conflict", 5000, tok);
	forget("idem-conflict");
	struct call b = pay(config_auto, "RO-2027-000003", "idem-conflict", 9999, tok);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	assert_int_equal(b.rc, RD_EEXISTS);
	assert_has(b.err, "different request");
	assert_int_equal(gw_charges("RO-2027-000003"), 1);
	/* with the first answer still kept, the plugin refuses it itself */
	struct call c = pay(config_auto, "RO-2027-000003", "idem-conflict", 9999, tok);
	assert_int_equal(c.rc, RD_EEXISTS);
	assert_has(c.err, "different request");
	struct call d = pay(config_auto, "RO-2027-000003", "idem-conflict", 5000, tok);
	assert_int_equal(d.rc, 0);
	assert_int_equal(d.res.state, RD_PAY_CAPTURED);
	assert_string_equal(d.res.reference, a.res.reference);
	assert_int_equal(gw_charges("RO-2027-000003"), 1);
	free(tok);
}

static void gateway_failure_declines_with_message(void **state)
{
	char *tok = gw_token(NULL);
	gw_control("fail_next", "{\"status\": 500, \"message\": \"the acquirer is down\"}");
	struct call a = pay(config_auto, "RO-2027-000004", "idem-fail", 7000, tok);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.state, RD_PAY_DECLINED);
	assert_has(a.res.message, "the acquirer is down");
	assert_has(a.res.message, "nothing was charged");
	assert_int_equal(gw_charges("RO-2027-000004"), 0);
	/* Not kept: the customer's retry with the same key goes through. */
	struct call b = pay(config_auto, "RO-2027-000004", "idem-fail", 7000, tok);
	assert_int_equal(b.res.state, RD_PAY_CAPTURED);
	assert_int_equal(gw_charges("RO-2027-000004"), 1);
	free(tok);
}

static void declined_card(void **state)
{
	char *tok = gw_token("outcome=decline");
	struct call a = pay(config_auto, "RO-2027-000005", "idem-decline", 7000, tok);
	struct call b = pay(config_auto, "RO-2027-000005", "idem-decline", 7000, tok);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.state, RD_PAY_DECLINED);
	assert_has(a.res.message, "declined");
	assert_int_equal(b.res.state, RD_PAY_DECLINED);
	assert_int_equal(gw_charges("RO-2027-000005"), 0);
	free(tok);
}

/* The create acts but answers after the plugin's 1 s timeout: the plugin
 * finds the intent by its key and confirms it; then the confirm does the
 * same.  Each ends as one charge, and a replay changes nothing. */
static void timeout_then_success_is_one_charge(void **state)
{
	char *tok = gw_token(NULL);
	gw_control("timeout_next", "{\"seconds\": 2}");
	struct call a = pay(config_auto, "RO-2027-000006", "idem-timeout-create", 8000, tok);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	assert_int_equal(gw_charges("RO-2027-000006"), 1);

	gw_control("timeout_next", "{\"seconds\": 2, \"after\": 1}"); /* the confirm */
	struct call b = pay(config_auto, "RO-2027-000007", "idem-timeout-confirm", 8000, tok);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.res.state, RD_PAY_CAPTURED);
	forget("idem-timeout-confirm");
	struct call c = pay(config_auto, "RO-2027-000007", "idem-timeout-confirm", 8000, tok);
	assert_int_equal(c.res.state, RD_PAY_CAPTURED);
	assert_string_equal(b.res.reference, c.res.reference);
	assert_int_equal(gw_charges("RO-2027-000007"), 1);
	sleep(2); /* let the late answers drain before the next test */
	free(tok);
}

static void manual_capture(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_manual, "RO-2027-000008", "idem-manual", 4000, tok);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.state, RD_PAY_AUTHORISED);
	struct rd_plugin_ctx ctx = { .config = config_manual };
	struct rd_payment_result r = { 0 };
	assert_int_equal(ops->capture(&ctx, a.res.reference, 4000, "GBP", &r), 0);
	assert_int_equal(r.state, RD_PAY_CAPTURED);
	assert_int_equal(ops->capture(&ctx, a.res.reference, 4000, "GBP", &r), 0); /* repeated: still one */
	assert_int_equal(r.state, RD_PAY_CAPTURED);
	assert_int_equal(gw_charges("RO-2027-000008"), 2); /* the authorisation and the capture */
	assert_true(ops->capture(&ctx, "pi_nonexistent", 4000, "GBP", &r) < 0);
	assert_true(ops->capture(&ctx, "../../v1/refunds", 4000, "GBP", &r) < 0);
	free(tok);
}

static int webhook(const char *control, struct rd_payment_result *res, char order[64], char *err, size_t errcap,
		   int tamper)
{
	json_t *j = gw_call("POST", "/control/webhook", control, 0);
	char *body = strdup(json_string_value(json_object_get(j, "body")));
	const char *sig = json_string_value(json_object_get(j, "signature"));
	if (tamper)
		body[strlen(body) / 2] ^= 1;
	struct rd_plugin_ctx ctx = { .config = config_auto };
	int rc = ops->callback(&ctx, body, strlen(body), sig, res, order);
	snprintf(err, errcap, "%s", ctx.err);
	json_decref(j);
	free(body);
	return rc;
}

static void webhooks(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000009", "idem-webhook", 3000, tok);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	char control[256], order[64], err[512];
	struct rd_payment_result r;

	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"event_id\": \"evt_good_1\"}", a.res.reference);
	memset(&r, 0, sizeof r);
	assert_int_equal(webhook(control, &r, order, err, sizeof err, 0), 0);
	assert_int_equal(r.state, RD_PAY_CAPTURED);
	assert_string_equal(r.reference, a.res.reference);
	assert_string_equal(order, "RO-2027-000009");
	/* what the gateway says the payment is for: its amount received, its currency */
	assert_int_equal(r.amount, 3000);
	assert_string_equal(r.currency, "GBP");
	/* the same event again: acknowledged as a repeat, same result */
	assert_int_equal(webhook(control, &r, order, err, sizeof err, 0), RD_EEXISTS);
	assert_has(err, "already reported");
	assert_string_equal(order, "RO-2027-000009");
	/* an event that says another amount and currency: reported as said */
	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"object\": {\"amount_received\": 100, "
		 "\"currency\": \"usd\"}}", a.res.reference);
	memset(&r, 0, sizeof r);
	assert_int_equal(webhook(control, &r, order, err, sizeof err, 0), 0);
	assert_int_equal(r.amount, 100);
	assert_string_equal(r.currency, "USD");
	memset(&r, 0, sizeof r);

	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\"}", a.res.reference);
	assert_true(webhook(control, &r, order, err, sizeof err, 1) < 0); /* body changed */
	assert_has(err, "does not verify");

	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"secret\": \"whsec_other\"}", a.res.reference);
	assert_true(webhook(control, &r, order, err, sizeof err, 0) < 0); /* another secret */
	assert_has(err, "does not verify");

	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"timestamp\": %lld}", a.res.reference,
		 (long long)time(NULL) - 301);
	assert_true(webhook(control, &r, order, err, sizeof err, 0) < 0); /* stale */
	assert_has(err, "from now");

	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"type\": \"charge.refunded\"}", a.res.reference);
	assert_int_equal(webhook(control, &r, order, err, sizeof err, 0), 0);
	assert_int_equal(r.state, RD_PAY_REFUNDED);
	free(tok);
}

/* The hosted payment page: a checkout session at the gateway, the intent as
 * the reference and the gateway's page as redirect_url, pending until the
 * customer pays there; the same key again gets the same session; renewd's
 * reconciliation (no return_url, no token) leaves an unpaid session's
 * intent pending and never confirms it (it has no card); once paid on the
 * page, the reconciliation finds it paid. */
static void hosted_payment_page(void **state)
{
	struct rd_plugin_ctx ctx = { .config = config_auto };
	struct rd_payment_request req = { .order_ref = "RO-2027-000200", .idempotency_key = "idem-hosted", .amount = 5100,
					  .currency = "GBP", .option = "card", .customer_json = "{}",
					  .method_json = "{\"return_url\": \"http://127.0.0.1:9/portal/order\"}" };
	struct rd_payment_result a = { 0 }, b = { 0 };
	assert_int_equal(ops->authorise(&ctx, &req, &a), 0);
	assert_int_equal(a.state, RD_PAY_PENDING);
	assert_true(!strncmp(a.reference, "pi_", 3));
	char want[128];
	snprintf(want, sizeof want, "%s/pay/cs_", gw_url);
	assert_true(!strncmp(a.redirect_url, want, strlen(want)));
	assert_int_equal(ops->authorise(&ctx, &req, &b), 0); /* a retry: the same page */
	assert_string_equal(b.redirect_url, a.redirect_url);
	assert_string_equal(b.reference, a.reference);
	assert_int_equal(gw_charges("RO-2027-000200"), 0);
	/* a return URL that is not http(s): refused */
	struct rd_payment_request bad = req;
	bad.method_json = "{\"return_url\": \"javascript:alert(1)\"}";
	memset(&b, 0, sizeof b);
	assert_true(ops->authorise(&ctx, &bad, &b) < 0);
	assert_string_equal(b.redirect_url, "");
	/* reconciling while the customer is on the page: pending, nothing confirmed */
	struct call c = pay(config_auto, "RO-2027-000200", "idem-hosted", 5100, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.res.state, RD_PAY_PENDING);
	assert_int_equal(gw_charges("RO-2027-000200"), 0);
	/* the customer pays on the gateway's page (its form, as the browser posts it) */
	char path[200];
	snprintf(path, sizeof path, "/pay/%s", strstr(a.redirect_url, "/pay/") + 5);
	char url[300];
	snprintf(url, sizeof url, "%s%s", gw_url, path);
	struct rd_http_request post = { .method = "POST", .url = url, .body = "card_number=4242424242424242",
					 .body_len = strlen("card_number=4242424242424242") };
	struct rd_http_response resp = { 0 };
	assert_int_equal(h_http(NULL, &post, &resp), 0);
	assert_int_equal(resp.status, 303);
	free(resp.body);
	assert_int_equal(gw_charges("RO-2027-000200"), 1);
	c = pay(config_auto, "RO-2027-000200", "idem-hosted", 5100, NULL);
	assert_int_equal(c.res.state, RD_PAY_CAPTURED);
	assert_string_equal(c.res.reference, a.reference);
	assert_int_equal(gw_charges("RO-2027-000200"), 1);
}

/* A token payment made under the key, its outcome never kept (renewd
 * stopped before it stored the order), then the portal's form for the same
 * order (a return_url, no token): the plugin finds the payment under the
 * key and reports it; no payment page is opened to take the money again. */
static void hosted_after_token_payment(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000210", "idem-hosted-after", 6100, tok);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	forget("idem-hosted-after");
	struct rd_plugin_ctx ctx = { .config = config_auto };
	struct rd_payment_request req = { .order_ref = "RO-2027-000210", .idempotency_key = "idem-hosted-after",
					  .amount = 6100, .currency = "GBP", .option = "card", .customer_json = "{}",
					  .method_json = "{\"return_url\": \"http://127.0.0.1:9/portal/order\"}" };
	struct rd_payment_result b = { 0 };
	assert_int_equal(ops->authorise(&ctx, &req, &b), 0);
	assert_int_equal(b.state, RD_PAY_CAPTURED);
	assert_string_equal(b.reference, a.res.reference);
	assert_string_equal(b.redirect_url, "");
	assert_int_equal(gw_charges("RO-2027-000210"), 1);
	/* one intent for the order at the gateway: the token's; a page would be a second */
	json_t *st = gw_call("GET", "/control/state", NULL, 0), *pi;
	size_t i, n = 0;
	json_array_foreach(json_object_get(st, "intents"), i, pi)
		n += !strcmp(json_string_value(json_object_get(json_object_get(pi, "metadata"), "order")), "RO-2027-000210");
	json_decref(st);
	assert_int_equal(n, 1);
	free(tok);
}

/* The webhook's replay window is real time: a business clock a day ahead
 * (a test clock) does not refuse a fresh event, and a stale one is still
 * stale. */
static void webhook_window_is_real_time(void **state)
{
	char *tok = gw_token(NULL);
	struct call a = pay(config_auto, "RO-2027-000201", "idem-webhook-clock", 3000, tok);
	assert_int_equal(a.res.state, RD_PAY_CAPTURED);
	char control[256], order[64], err[512];
	struct rd_payment_result r;
	clock_skew = 86400;
	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\"}", a.res.reference);
	assert_int_equal(webhook(control, &r, order, err, sizeof err, 0), 0);
	snprintf(control, sizeof control, "{\"payment_intent\": \"%s\", \"timestamp\": %lld}", a.res.reference,
		 (long long)time(NULL) - 301);
	assert_true(webhook(control, &r, order, err, sizeof err, 0) < 0);
	assert_has(err, "from now");
	clock_skew = 0;
	free(tok);
}

/* Neither the secret key nor anything card-like is kept or logged. */
static void no_secrets_kept(void **state)
{
	char *dump = json_dumps(kv, 0);
	assert_null(strstr(dump, SECRET));
	assert_null(strstr(dump, WEBHOOK_SECRET));
	assert_null(strstr(dump, "tok_"));
	assert_null(strstr(logged, SECRET));
	assert_null(strstr(logged, WEBHOOK_SECRET));
	free(dump);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_payment_card FAKEGW.py PAYMENT-CARD.so\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	kv = json_object();
	if (start_gateway(argv[1]) < 0) {
		fprintf(stderr, "test_payment_card: the fake gateway did not start\n");
		return 1;
	}
	dl = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
	rd_plugin_entry_fn entry = dl ? (rd_plugin_entry_fn)(uintptr_t)dlsym(dl, RENEWD_PLUGIN_ENTRY) : NULL;
	plugin = entry ? entry() : NULL;
	struct rd_plugin_ctx ctx = { .config = "{}" };
	if (!plugin || plugin->kind != RD_PLUGIN_PAYMENT || plugin->init(&ctx, &host) < 0) {
		fprintf(stderr, "test_payment_card: %s does not load: %s %s\n", argv[2], dl ? "" : dlerror(), ctx.err);
		kill(gw_pid, SIGTERM);
		return 1;
	}
	ops = plugin->ops;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(configure_validates),
		cmocka_unit_test(happy_path),
		cmocka_unit_test(reconcile_without_token),
		cmocka_unit_test(replay_charges_once),
		cmocka_unit_test(same_key_other_body_is_refused),
		cmocka_unit_test(gateway_failure_declines_with_message),
		cmocka_unit_test(declined_card),
		cmocka_unit_test(timeout_then_success_is_one_charge),
		cmocka_unit_test(manual_capture),
		cmocka_unit_test(webhooks),
		cmocka_unit_test(hosted_payment_page),
		cmocka_unit_test(hosted_after_token_payment),
		cmocka_unit_test(webhook_window_is_real_time),
		cmocka_unit_test(no_secrets_kept),
	};
	int failed = cmocka_run_group_tests_name("payment_card", tests, NULL, NULL);
	if (plugin->deinit)
		plugin->deinit(&ctx);
	dlclose(dl);
	kill(gw_pid, SIGTERM);
	waitpid(gw_pid, NULL, 0);
	json_decref(kv);
	curl_global_cleanup();
	return failed;
}
