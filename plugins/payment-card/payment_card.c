/*
 * payment-card: card payments through a Stripe-style gateway, spoken over
 * the host's HTTP client.  renewd never sees a card number.  Two ways in:
 *   - the hosted payment page (method_json {"return_url": ...}): a checkout
 *     session at the gateway; the customer pays on the gateway's page
 *     (res->redirect_url, on the gateway's own origin) and comes back to
 *     return_url; the gateway's webhook (callback) pays the order;
 *   - a token the gateway gave for the card ({"token": ...}), for the API.
 *
 * Exactly once: the order's idempotency key is the gateway's Idempotency-Key
 * (the create call; "<key>:confirm" for the confirm), so a retry replays the
 * gateway's answer instead of charging again.  When no answer arrives (a
 * timeout), the plugin asks the gateway what happened under the key (a
 * lookup by the order's metadata) before it says anything; a final outcome
 * is kept in storage as auth:<key>.
 *
 * Configuration (per vendor):
 *   {"base_url": "https://gw.example", "secret_key": "secret:card_key",
 *    "webhook_secret": "secret:card_webhook", "capture": "auto" | "manual",
 *    "timeout_ms": 10000}
 * secret_key and webhook_secret are declared secret settings: renewd seals
 * them at rest, never shows them again and hands them here only inside
 * configure and calls.  A secret given as "secret:NAME" is read instead from
 * the environment variable the operator mapped to this vendor's NAME
 * (renewd's secret_env); the answer for a name not mapped to this vendor is
 * the same whether or not another vendor has it.  Secrets are never
 * logged, stored by the plugin or echoed in errors.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../builtin.h"

static const struct rd_host_api *host;

enum { CAPTURE_AUTO = 0, CAPTURE_MANUAL = 1 };
#define WEBHOOK_TOLERANCE 300 /* seconds either side of the platform's clock */
#define MAX_KEY 100           /* idempotency keys and references: fit "auth:" + key in a kv key */

static int init(rd_plugin_ctx *ctx, const struct rd_host_api *h)
{
	if (!RD_HOST_HAS(h, config) || !RD_HOST_HAS(h, http) || !RD_HOST_HAS(h, kv_put)) {
		h->error(ctx, "this renewd lacks the HTTP client, storage or configuration services");
		return RD_EINVAL;
	}
	if (sodium_init() < 0) {
		h->error(ctx, "libsodium could not be initialised");
		return RD_EINTERNAL;
	}
	host = h;
	return 0;
}

/* ---- configuration ------------------------------------------------------ */

struct settings {
	json_t *root;              /* owns the strings below */
	const char *base_url;      /* without a trailing '/' in use: see url() */
	const char *secret_key;    /* resolved: never log */
	const char *webhook_secret;
	int capture;
	uint32_t timeout_ms;
};

static int printable(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f || n >= max)
			return 0;
	return n > 0;
}

/* A secret setting: the value itself, or "secret:NAME" from the environment. */
static const char *secret_value(rd_plugin_ctx *ctx, json_t *v, const char *field, int report, int *bad)
{
	const char *s = json_string_value(v);
	if (!s || !printable(s, 512)) {
		*bad = 1;
		if (report)
			host->field_error(ctx, field, "must be the secret (printable, no spaces, up to 512 characters) or secret:NAME");
		return NULL;
	}
	if (strncmp(s, "secret:", 7))
		return s;
	const char *r = RD_HOST_HAS(host, secret) ? host->secret(ctx, s + 7) : NULL;
	if (!r || !printable(r, 512)) {
		*bad = 1;
		if (report)
			host->field_error(ctx, field, "names no secret of this vendor: the operator maps secret names to "
					  "environment variables per vendor (renewd's secret_env)");
		return NULL;
	}
	return r;
}

/* Parses (and when report is set, reports each bad field of) a configuration.
 * On success the caller releases s->root. */
static int settings(rd_plugin_ctx *ctx, const char *text, struct settings *s, int report)
{
	memset(s, 0, sizeof *s);
	s->timeout_ms = 10000;
	s->root = text ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(s->root)) {
		if (report)
			host->field_error(ctx, "", "the configuration must be a JSON object");
		json_decref(s->root);
		s->root = NULL;
		return RD_EINVAL;
	}
	int bad = 0;
	const char *key;
	json_t *v;
	json_object_foreach(s->root, key, v) {
		if (!strcmp(key, "base_url")) {
			const char *u = json_string_value(v);
			if (u && printable(u, 200) && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)) &&
			    !strchr(u, '?') && !strchr(u, '#'))
				s->base_url = u;
			else if ((bad = 1) && report)
				host->field_error(ctx, key, "must be the gateway's http:// or https:// URL (up to 200 characters, no query)");
		} else if (!strcmp(key, "secret_key")) {
			s->secret_key = secret_value(ctx, v, key, report, &bad);
		} else if (!strcmp(key, "webhook_secret")) {
			s->webhook_secret = secret_value(ctx, v, key, report, &bad);
		} else if (!strcmp(key, "capture")) {
			const char *c = json_string_value(v);
			if (c && !strcmp(c, "auto"))
				s->capture = CAPTURE_AUTO;
			else if (c && !strcmp(c, "manual"))
				s->capture = CAPTURE_MANUAL;
			else if ((bad = 1) && report)
				host->field_error(ctx, key, "must be \"auto\" (charge at once) or \"manual\" (hold, then capture)");
		} else if (!strcmp(key, "timeout_ms")) {
			json_int_t t = json_integer_value(v);
			if (json_is_integer(v) && t >= 500 && t <= 60000)
				s->timeout_ms = (uint32_t)t;
			else if ((bad = 1) && report)
				host->field_error(ctx, key, "must be a whole number of milliseconds from 500 to 60000");
		} else {
			bad = 1;
			if (report)
				host->field_error(ctx, key, "unknown setting (base_url, secret_key, webhook_secret, capture, timeout_ms)");
		}
	}
	static const char *const required[] = { "base_url", "secret_key", "webhook_secret" };
	for (size_t i = 0; i < 3; i++)
		if (!json_object_get(s->root, required[i])) {
			bad = 1;
			if (report)
				host->field_error(ctx, required[i], "is required");
		}
	if (bad) {
		json_decref(s->root);
		s->root = NULL;
		return RD_EINVAL;
	}
	return 0;
}

static int configure(rd_plugin_ctx *ctx, const char *config)
{
	struct settings s;
	int rc = settings(ctx, config, &s, 1);
	json_decref(s.root);
	return rc;
}

/* ---- the gateway --------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (!b->p && b->cap == (size_t)-1)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			free(b->p);
			*b = (struct buf){ .cap = (size_t)-1 }; /* out of memory: the request fails */
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* Appends name=value form-encoded (application/x-www-form-urlencoded). */
static void form(struct buf *b, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	if (b->len)
		buf_add(b, "&", 1);
	buf_add(b, name, strlen(name));
	buf_add(b, "=", 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			buf_add(b, (const char *)p, 1);
		else
			buf_add(b, e, 3);
	}
}

/* One exchange with the gateway.  0 with *status and *json (the parsed body,
 * the caller's; NULL when it is not JSON) when an answer arrived; < 0 when
 * none did (a timeout, a refused connection): the outcome is then unknown;
 * -2 when renewd refused to send it at all (a host not on its allow-list). */
static int gw(rd_plugin_ctx *ctx, const struct settings *s, const char *method, const char *path, const char *idem,
	      const struct buf *body, int *status, json_t **json)
{
	char url[512], auth[600], key[300];
	size_t blen = strlen(s->base_url);
	while (blen && s->base_url[blen - 1] == '/')
		blen--;
	snprintf(url, sizeof url, "%.*s%s", (int)blen, s->base_url, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->secret_key);
	const char *headers[4] = { auth, "Content-Type: application/x-www-form-urlencoded", NULL, NULL };
	if (idem) {
		snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
		headers[2] = key;
	}
	struct rd_http_request req = { .method = method, .url = url, .headers = headers,
				       .body = body ? body->p : NULL, .body_len = body ? body->len : 0,
				       .timeout_ms = s->timeout_ms };
	struct rd_http_response resp = { 0 };
	int rc = host->http(ctx, &req, &resp);
	sodium_memzero(auth, sizeof auth);
	*json = NULL;
	*status = resp.status;
	if (rc == 0 && resp.status > 0 && resp.body)
		*json = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (resp.body)
		host->release(resp.body);
	if (rc == RD_EINVAL)
		return -2;
	return rc < 0 || resp.status <= 0 ? -1 : 0;
}

/* The payment intent an answer carries: the body itself, or the one a
 * Stripe-style error names (error.payment_intent).  Borrowed from j. */
static json_t *intent_of(json_t *j)
{
	if (json_is_string(json_object_get(j, "id")) && json_is_string(json_object_get(j, "status")))
		return j;
	json_t *pi = json_object_get(json_object_get(j, "error"), "payment_intent");
	return json_is_object(pi) && json_is_string(json_object_get(pi, "id")) ? pi : NULL;
}

static const char *error_message(json_t *j)
{
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	return m ? m : "no message";
}

static const char *error_type(json_t *j)
{
	const char *t = json_string_value(json_object_get(json_object_get(j, "error"), "type"));
	return t ? t : "";
}

static int safe_ref(const char *r)
{
	if (!r || !*r || strlen(r) > MAX_KEY)
		return 0;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') || *r == '_' || *r == '-'))
			return 0;
	return 1;
}

static void set_result(struct rd_payment_result *res, int state, const char *ref, const char *fmt, const char *arg)
{
	res->state = state;
	snprintf(res->reference, sizeof res->reference, "%s", ref ? ref : "");
	snprintf(res->message, sizeof res->message, fmt, arg ? arg : "");
}

/* Has the intent a card (a token given with the order)?  A hosted payment
 * page's intent has none until the customer pays on the gateway's page. */
static int has_method(json_t *pi)
{
	const char *m = json_string_value(json_object_get(pi, "payment_method"));
	return m && *m;
}

/* What an intent's status means for the order.  Returns 1 when final. */
static int from_intent(json_t *pi, struct rd_payment_result *res)
{
	const char *id = json_string_value(json_object_get(pi, "id"));
	const char *st = json_string_value(json_object_get(pi, "status"));
	if (!safe_ref(id))
		id = "";
	if (!strcmp(st, "succeeded")) {
		set_result(res, RD_PAY_CAPTURED, id, "paid by card%s", "");
		return 1;
	}
	if (!strcmp(st, "requires_capture")) {
		set_result(res, RD_PAY_AUTHORISED, id, "the card payment is authorised and will be taken when the order is fulfilled%s", "");
		return 1;
	}
	if (!strcmp(st, "canceled")) {
		set_result(res, RD_PAY_DECLINED, id, "the card payment was cancelled%s", "");
		return 1;
	}
	if (!strcmp(st, "requires_payment_method") && !json_object_get(pi, "last_payment_error") && !has_method(pi)) {
		/* a hosted payment page's intent: the customer has not paid yet */
		set_result(res, RD_PAY_PENDING, id, "the card payment is awaited on the payment page%s", "");
		return 0;
	}
	if (!strcmp(st, "requires_payment_method")) {
		json_t *e = json_object_get(pi, "last_payment_error");
		const char *m = json_string_value(json_object_get(e, "message"));
		set_result(res, RD_PAY_DECLINED, id, "the card was declined: %.200s", m ? m : "no reason given");
		return e != NULL;
	}
	set_result(res, RD_PAY_PENDING, id, "the card payment is being processed (%.60s); the order updates when it completes", st);
	return 0;
}

/* The stored outcome under an idempotency key, "state\nreference\nfingerprint\nmessage",
 * the fingerprint being a hash of the request sent: 1 found, 2 found for a
 * different request, 0 none. */
static int stored(rd_plugin_ctx *ctx, const char *kvkey, const char *fp, struct rd_payment_result *res)
{
	char v[512];
	size_t len = 0;
	if (host->kv_get(ctx, kvkey, v, sizeof v - 1, &len) < 0)
		return 0;
	v[len] = 0;
	char *a = strchr(v, '\n'), *b = a ? strchr(a + 1, '\n') : NULL, *c = b ? strchr(b + 1, '\n') : NULL;
	if (!c)
		return 0;
	*a = *b = *c = 0;
	if (strcmp(b + 1, fp))
		return 2;
	res->state = atoi(v);
	snprintf(res->reference, sizeof res->reference, "%s", a + 1);
	snprintf(res->message, sizeof res->message, "%s", c + 1);
	return res->state >= RD_PAY_AUTHORISED && res->state <= RD_PAY_REFUNDED;
}

static int keep(rd_plugin_ctx *ctx, const char *kvkey, const char *fp, const struct rd_payment_result *res)
{
	char v[512];
	int n = snprintf(v, sizeof v, "%d\n%s\n%s\n%s", res->state, res->reference, fp, res->message);
	int rc = host->kv_put(ctx, kvkey, v, (size_t)(n < (int)sizeof v ? n : (int)sizeof v - 1));
	if (rc < 0)
		host->log(ctx, RD_PLOG_ERROR, "the outcome of %s could not be stored", kvkey);
	return rc;
}

/* Asks the gateway for the intent created under an idempotency key (by the
 * order's metadata).  1 found (*pi, the caller's), 0 none, -1 no answer. */
static int lookup(rd_plugin_ctx *ctx, const struct settings *s, const char *order_ref, const char *idem, json_t **pi)
{
	struct buf q = { 0 };
	form(&q, "metadata[order]", order_ref);
	if (!q.p)
		return -1;
	char path[400];
	snprintf(path, sizeof path, "/v1/payment_intents?%s", q.p);
	free(q.p);
	int status;
	json_t *j;
	*pi = NULL;
	if (gw(ctx, s, "GET", path, NULL, NULL, &status, &j) < 0 || status != 200) {
		json_decref(j);
		return -1;
	}
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(j, "data"), i, it) {
		const char *k = json_string_value(json_object_get(json_object_get(it, "metadata"), "idempotency_key"));
		if (k && !strcmp(k, idem) && intent_of(it)) {
			*pi = json_incref(it);
			break;
		}
	}
	json_decref(j);
	return *pi ? 1 : 0;
}

/* Confirms an intent that awaits it; answers with the intent as it is after.
 * NULL (and *unknown set) when no answer arrived. */
static json_t *confirm(rd_plugin_ctx *ctx, const struct settings *s, json_t *pi, const char *idem, int *unknown,
		       struct rd_payment_result *res)
{
	const char *id = json_string_value(json_object_get(pi, "id"));
	if (!safe_ref(id)) {
		set_result(res, RD_PAY_DECLINED, "", "the card gateway answered with a malformed payment reference%s", "");
		return NULL;
	}
	char path[200], key[MAX_KEY + 16];
	snprintf(path, sizeof path, "/v1/payment_intents/%s/confirm", id);
	snprintf(key, sizeof key, "%s:confirm", idem);
	int status;
	json_t *j;
	if (gw(ctx, s, "POST", path, key, NULL, &status, &j) < 0) {
		*unknown = 1;
		return NULL;
	}
	json_t *after = intent_of(j);
	if (after) {
		json_incref(after);
	} else {
		set_result(res, RD_PAY_DECLINED, id, "the card gateway refused the payment: %.200s", error_message(j));
		*unknown = status >= 500;
	}
	json_decref(j);
	return after;
}

/* An intent that still awaits its confirmation is confirmed (once: the
 * confirm has its own key); answers the intent as it stands after, or NULL
 * with res set when that is known.  When the confirm had no answer and
 * asking again does not tell (no answer, or the intent still awaits its
 * confirmation), nothing is decided: NULL with RD_EBUSY in *rc, so that the
 * order stays created and the next request for it settles it (a payment
 * left awaiting, that nothing would ever confirm, is not made).  Takes pi. */
static json_t *settle(rd_plugin_ctx *ctx, const struct settings *s, json_t *pi, const char *order_ref, const char *idem,
		      struct rd_payment_result *res, int *rc)
{
	if (!pi)
		return NULL;
	const char *st = json_string_value(json_object_get(pi, "status"));
	if (!has_method(pi) || (strcmp(st, "requires_confirmation") &&
				(strcmp(st, "requires_payment_method") || json_object_get(pi, "last_payment_error"))))
		return pi; /* no card: a hosted payment page's intent is paid there, never confirmed here */
	int unknown = 0;
	json_t *after = confirm(ctx, s, pi, idem, &unknown, res);
	if (unknown) { /* the confirm may have gone through: ask again */
		json_decref(after);
		after = NULL;
		json_t *again = NULL;
		const char *now = NULL;
		if (lookup(ctx, s, order_ref, idem, &again) > 0 &&
		    (now = json_string_value(json_object_get(again, "status"))) && strcmp(now, "requires_confirmation")) {
			after = again;
		} else {
			json_decref(again);
			host->error(ctx, "order %s: the card gateway did not answer the confirmation; nothing is decided: "
				    "the next request for the order confirms it, once", order_ref);
			*rc = RD_EBUSY;
		}
	}
	json_decref(pi);
	return after;
}

/* No card in the request: renewd reconciles an order it did not hear the
 * end of (it never keeps tokens).  What the gateway holds under the key
 * answers; nothing there means nothing was charged, and nothing is decided
 * either: the order stays created for the customer's retry with the card
 * (renewd may have died before the payment call reached the gateway). */
static int reconcile(rd_plugin_ctx *ctx, const struct settings *s, const struct rd_payment_request *req,
		     struct rd_payment_result *res)
{
	json_t *pi = NULL;
	int found = lookup(ctx, s, req->order_ref, req->idempotency_key, &pi);
	if (found < 0) {
		host->error(ctx, "order %s: the card gateway did not answer; the payment is checked again later", req->order_ref);
		return RD_EBUSY;
	}
	if (found == 0) {
		host->error(ctx, "order %s: nothing at the card gateway under its key (nothing was charged): "
			    "the order waits for the customer's card", req->order_ref);
		return RD_ENOTFOUND;
	}
	int rc = 0;
	pi = settle(ctx, s, pi, req->order_ref, req->idempotency_key, res, &rc);
	if (pi)
		from_intent(pi, res);
	json_decref(pi);
	return rc;
}

/* Is url on the gateway's own origin (base_url's scheme, host and port)?
 * The customer is only ever sent to the gateway renewd was configured with. */
static int on_gateway(const struct settings *s, const char *url)
{
	const char *h = strstr(s->base_url, "://");
	if (!h || !url)
		return 0;
	size_t n = (size_t)(h + 3 - s->base_url);
	n += strcspn(h + 3, "/");
	return strlen(url) < 512 && printable(url, 511) && !strncmp(url, s->base_url, n) && url[n] == '/' &&
	       !strpbrk(url, "\"'<>\\");
}

/* The hosted payment page: a checkout session at the gateway for the
 * order, under the order's key (a retry gets the same session); the
 * customer pays on the gateway's page, never on renewd's, and the
 * gateway's webhook confirms the payment.  Answers RD_PAY_PENDING with the
 * intent as the reference and the page as redirect_url. */
static int hosted(rd_plugin_ctx *ctx, const struct settings *s, const struct rd_payment_request *req, const char *cur,
		  const char *return_url, struct rd_payment_result *res)
{
	if (!printable(return_url, 400) || (strncmp(return_url, "http://", 7) && strncmp(return_url, "https://", 8))) {
		host->error(ctx, "order %s: the return URL is not an http(s) URL", req->order_ref);
		return RD_EINVAL;
	}
	struct buf b = { 0 };
	char amount[24], key[MAX_KEY + 16];
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	form(&b, "amount", amount);
	form(&b, "currency", cur);
	form(&b, "capture_method", s->capture == CAPTURE_MANUAL ? "manual" : "automatic");
	form(&b, "metadata[order]", req->order_ref);
	form(&b, "metadata[idempotency_key]", req->idempotency_key);
	form(&b, "success_url", return_url);
	form(&b, "cancel_url", return_url);
	if (!b.p) {
		host->error(ctx, "out of memory");
		return RD_EINTERNAL;
	}
	snprintf(key, sizeof key, "%s:checkout", req->idempotency_key);
	int status, rc = 0;
	json_t *j = NULL;
	if (gw(ctx, s, "POST", "/v1/checkout/sessions", key, &b, &status, &j) < 0) {
		host->error(ctx, "order %s: the card gateway did not answer; try again (the payment page is made once)",
			    req->order_ref);
		rc = RD_EBUSY;
	} else if (status == 200) {
		const char *url = json_string_value(json_object_get(j, "url"));
		const char *pi = json_string_value(json_object_get(j, "payment_intent"));
		if (!safe_ref(pi) || !on_gateway(s, url)) {
			host->error(ctx, "order %s: the card gateway's payment page is not on its own address, or has no payment",
				    req->order_ref);
			rc = RD_EINVAL;
		} else {
			set_result(res, RD_PAY_PENDING, pi, "the card payment is awaited on the payment page%s", "");
			snprintf(res->redirect_url, sizeof res->redirect_url, "%s", url);
		}
	} else {
		host->error(ctx, "order %s: the card gateway refused the payment page (%d): %.200s", req->order_ref, status,
			    error_message(j));
		rc = status >= 500 || status == 429 ? RD_EBUSY : RD_EINVAL;
	}
	json_decref(j);
	free(b.p);
	return rc;
}

static int authorise(rd_plugin_ctx *ctx, const struct rd_payment_request *req, struct rd_payment_result *res)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		set_result(res, RD_PAY_DECLINED, "", "card payments are not set up for this vendor%s", "");
		return 0;
	}
	const char *idem = req->idempotency_key;
	if (!idem || !printable(idem, MAX_KEY) || !req->order_ref || !printable(req->order_ref, 64)) {
		json_decref(s.root);
		host->error(ctx, "a card payment needs an idempotency key and an order reference (printable, up to %d characters)", MAX_KEY);
		return RD_EINVAL;
	}
	char kvkey[MAX_KEY + 8];
	snprintf(kvkey, sizeof kvkey, "auth:%s", idem);
	json_t *m = json_loads(req->method_json ? req->method_json : "{}", 0, NULL);
	const char *token = json_string_value(json_object_get(m, "token"));
	char cur[4] = { 0 };
	for (int i = 0; i < 3; i++)
		cur[i] = (char)((req->currency[i] >= 'A' && req->currency[i] <= 'Z') ? req->currency[i] - 'A' + 'a' : 0);
	const char *return_url = json_string_value(json_object_get(m, "return_url"));
	if (!token && return_url && req->amount > 0 && strlen(cur) == 3) {
		/* First what the gateway holds under the key, as the token path
		 * asks when it has no answer: a payment made with a token (the
		 * order left created, retried from a form that sends none) is
		 * reported as it stands, and no page is opened to pay it again.
		 * A page's own intent, or a card refused, gets the page. */
		json_t *pi = NULL;
		int rc = 0, found = lookup(ctx, &s, req->order_ref, idem, &pi);
		const char *st = found > 0 ? json_string_value(json_object_get(pi, "status")) : NULL;
		if (found < 0) {
			host->error(ctx, "order %s: the card gateway did not answer; try again (the payment page is made once)",
				    req->order_ref);
			rc = RD_EBUSY;
		} else if (found > 0 && has_method(pi) && st && strcmp(st, "requires_payment_method")) {
			pi = settle(ctx, &s, pi, req->order_ref, idem, res, &rc);
			if (pi)
				from_intent(pi, res);
		} else {
			rc = hosted(ctx, &s, req, cur, return_url, res);
		}
		json_decref(pi);
		json_decref(m);
		json_decref(s.root);
		return rc;
	}
	if (!token && req->amount > 0 && strlen(cur) == 3) {
		json_decref(m);
		int rc = reconcile(ctx, &s, req, res);
		json_decref(s.root);
		return rc;
	}
	if (!token || !safe_ref(token) || req->amount <= 0 || strlen(cur) != 3) {
		set_result(res, RD_PAY_DECLINED, "", "%s", !token || !safe_ref(token) ? "no card was given: enter the card again" : "the amount or currency is not valid");
		json_decref(m);
		json_decref(s.root);
		return 0;
	}
	struct buf b = { 0 };
	char amount[24];
	snprintf(amount, sizeof amount, "%lld", (long long)req->amount);
	form(&b, "amount", amount);
	form(&b, "currency", cur);
	form(&b, "payment_method", token);
	form(&b, "capture_method", s.capture == CAPTURE_MANUAL ? "manual" : "automatic");
	form(&b, "metadata[order]", req->order_ref);
	form(&b, "metadata[idempotency_key]", idem);
	json_decref(m);
	if (!b.p) {
		host->error(ctx, "out of memory");
		json_decref(s.root);
		return RD_EINTERNAL;
	}
	/* Answered before under this key: the same answer, no call; the same
	 * key for another request is refused, as the gateway refuses it. */
	unsigned char h[16];
	char fp[2 * sizeof h + 1];
	crypto_generichash(h, sizeof h, (const unsigned char *)b.p, b.len, NULL, 0);
	sodium_bin2hex(fp, sizeof fp, h, sizeof h);
	int was = stored(ctx, kvkey, fp, res);
	if (was) {
		free(b.p);
		json_decref(s.root);
		if (was == 1)
			return 0;
		memset(res, 0, sizeof *res);
		host->error(ctx, "idempotency key %s was used for a different request (another amount, currency, card or order)", idem);
		return RD_EEXISTS;
	}

	int status, unknown = 0, failed = 0, rc = 0;
	char why[200] = "";
	json_t *j = NULL, *pi = NULL;
	if (gw(ctx, &s, "POST", "/v1/payment_intents", idem, &b, &status, &j) < 0) {
		unknown = 1;
	} else if (status == 200 && intent_of(j)) {
		pi = json_incref(intent_of(j));
	} else if (!strcmp(error_type(j), "idempotency_error")) {
		host->error(ctx, "the gateway refused idempotency key %s: it was used for a different request (%s)", idem,
			    error_message(j));
		rc = RD_EEXISTS;
	} else if (status >= 500 || status == 429) {
		host->log(ctx, RD_PLOG_WARN, "order %s: the card gateway failed (%d): %s", req->order_ref, status, error_message(j));
		snprintf(why, sizeof why, "%d: %.150s", status, error_message(j));
		failed = 1; /* it may have acted before failing: ask */
	} else if (intent_of(j)) { /* a card error naming the intent */
		pi = json_incref(intent_of(j));
	} else {
		if (status == 401 || status == 403)
			host->log(ctx, RD_PLOG_ERROR, "the card gateway refused the secret key (%d)", status);
		set_result(res, RD_PAY_DECLINED, "", "the card gateway refused the payment: %.200s", error_message(j));
		if (status == 402 || !strcmp(error_type(j), "card_error"))
			keep(ctx, kvkey, fp, res);
	}
	json_decref(j);
	free(b.p);
	if (unknown || failed) {
		/* No answer, or a failure: ask what happened under the key.  Not
		 * found after a failure: nothing was charged.  Not found after no
		 * answer: the request may still be on its way, so not declined. */
		int found = lookup(ctx, &s, req->order_ref, idem, &pi);
		if (found < 0 || (found == 0 && unknown)) {
			/* Nothing known: nothing decided.  The order stays created,
			 * and the next request for it (or renewd at start) asks
			 * again under the key: an awaiting order nothing would ever
			 * check again is not made here. */
			host->error(ctx, "order %s: the card gateway did not answer; nothing is decided: the next request "
				    "for the order asks again under its key, and never charges twice", req->order_ref);
			json_decref(pi);
			json_decref(s.root);
			return RD_EBUSY;
		} else if (found == 0)
			set_result(res, RD_PAY_DECLINED, "", "the card gateway failed (%s); nothing was charged: try again", why);
		unknown = 0;
	}
	pi = settle(ctx, &s, pi, req->order_ref, idem, res, &rc);
	if (pi && from_intent(pi, res))
		keep(ctx, kvkey, fp, res);
	json_decref(pi);
	json_decref(s.root);
	return rc;
}

/* capture and refund: the same shape of call on an existing payment. */
static int money(rd_plugin_ctx *ctx, int refund, const char *reference, int64_t amount, const char *currency,
		 struct rd_payment_result *res)
{
	const char *what = refund ? "refund" : "capture";
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "card payments are not set up for this vendor");
		return RD_EINVAL;
	}
	if (!safe_ref(reference) || amount <= 0) {
		json_decref(s.root);
		host->error(ctx, "%s: not a card payment reference, or not a positive amount", what);
		return RD_EINVAL;
	}
	char amt[24], path[200], key[2 * MAX_KEY];
	snprintf(amt, sizeof amt, "%lld", (long long)amount);
	struct buf b = { 0 };
	if (refund) {
		form(&b, "payment_intent", reference);
		form(&b, "amount", amt);
		snprintf(path, sizeof path, "/v1/refunds");
		snprintf(key, sizeof key, "refund:%s:%s", reference, amt); /* a repeat refunds once */
	} else {
		form(&b, "amount_to_capture", amt);
		snprintf(path, sizeof path, "/v1/payment_intents/%s/capture", reference);
		snprintf(key, sizeof key, "capture:%s", reference);
	}
	int status, rc = 0;
	json_t *j = NULL;
	if (!b.p) {
		rc = RD_EINTERNAL;
		host->error(ctx, "out of memory");
	} else if (gw(ctx, &s, "POST", path, key, &b, &status, &j) < 0) {
		rc = RD_EBUSY;
		host->error(ctx, "%s of %s: the card gateway did not answer; retry (it is done once)", what, reference);
	} else if (status == 404) {
		rc = RD_ENOTFOUND;
		host->error(ctx, "%s: the card gateway has no payment %s", what, reference);
	} else if (status >= 500) {
		rc = RD_EBUSY;
		host->error(ctx, "%s of %s: the card gateway failed (%d): %.200s", what, reference, status, error_message(j));
	} else if (refund && status == 200) {
		set_result(res, RD_PAY_REFUNDED, reference, "refunded to the card%s", "");
	} else if (!refund && intent_of(j) && !strcmp(json_string_value(json_object_get(intent_of(j), "status")), "succeeded")) {
		set_result(res, RD_PAY_CAPTURED, reference, "paid by card%s", ""); /* captured now, or before */
	} else {
		rc = RD_EINVAL;
		host->error(ctx, "%s of %s refused by the card gateway: %.200s", what, reference, error_message(j));
	}
	json_decref(j);
	free(b.p);
	json_decref(s.root);
	return rc;
}

static int capture(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		   struct rd_payment_result *res)
{
	return money(ctx, 0, reference, amount, currency, res);
}

static int refund(rd_plugin_ctx *ctx, const char *reference, int64_t amount, const char *currency,
		  struct rd_payment_result *res)
{
	return money(ctx, 1, reference, amount, currency, res);
}

/* ---- webhooks ------------------------------------------------------------ */

/* Checks "t=TIMESTAMP,v1=HEX[,v1=HEX...]": 0 good, < 0 with host->error. */
static int verify(rd_plugin_ctx *ctx, const struct settings *s, const void *body, size_t len, const char *sig)
{
	long long t = -1;
	int good = 0, any = 0;
	const char *p = sig ? sig : "";
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 2 && !strncmp(p, "t=", 2)) {
			char num[24];
			if (n - 2 < sizeof num) {
				memcpy(num, p + 2, n - 2);
				num[n - 2] = 0;
				char *e;
				t = strtoll(num, &e, 10);
				if (*e || num[0] == '-')
					t = -1;
			}
		} else if (n == 3 + 2 * crypto_auth_hmacsha256_BYTES && !strncmp(p, "v1=", 3) && t >= 0) {
			unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
			size_t bin = 0;
			char ts[24];
			int tn = snprintf(ts, sizeof ts, "%lld.", t);
			crypto_auth_hmacsha256_state st;
			crypto_auth_hmacsha256_init(&st, (const unsigned char *)s->webhook_secret, strlen(s->webhook_secret));
			crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tn);
			crypto_auth_hmacsha256_update(&st, body, len);
			crypto_auth_hmacsha256_final(&st, want);
			any = 1;
			if (sodium_hex2bin(got, sizeof got, p + 3, n - 3, NULL, &bin, NULL) == 0 && bin == sizeof got &&
			    sodium_memcmp(got, want, sizeof got) == 0)
				good = 1;
			sodium_memzero(&st, sizeof st);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (!good) {
		host->error(ctx, "webhook refused: %s", any ? "the signature does not verify" : "no signature (t=...,v1=...)");
		return RD_EINVAL;
	}
	/* The gateway signs with the real time: the replay window is real time
	 * too, not the platform's business clock (which a test clock moves). */
	long long now = (long long)time(NULL);
	if (t < now - WEBHOOK_TOLERANCE || t > now + WEBHOOK_TOLERANCE) {
		host->error(ctx, "webhook refused: signed at %lld, more than %d s from now (a replay?)", t, WEBHOOK_TOLERANCE);
		return RD_EINVAL;
	}
	return 0;
}

/* What the event's payment is for, as the gateway says: a payment intent's
 * amount_received once taken (else its amount), its currency upper-cased;
 * left 0 and "" (not reported) when the event does not say. */
static void event_amount(json_t *obj, int state, struct rd_payment_result *res)
{
	json_t *got = json_object_get(obj, "amount_received"), *amt = json_object_get(obj, "amount");
	if (state == RD_PAY_CAPTURED && json_is_integer(got) && json_integer_value(got) > 0)
		amt = got;
	if (json_is_integer(amt)) /* said, but not a positive amount: -1, which no order's total is */
		res->amount = json_integer_value(amt) > 0 ? (int64_t)json_integer_value(amt) : -1;
	json_t *c = json_object_get(obj, "currency");
	const char *cur = json_string_value(c);
	if (cur && strlen(cur) == 3) {
		for (int i = 0; i < 3; i++)
			res->currency[i] = (char)(cur[i] >= 'a' && cur[i] <= 'z' ? cur[i] - 'a' + 'A' : cur[i]);
		res->currency[3] = 0;
	} else if (c) { /* said, but not a currency: "?", which no order's currency is */
		snprintf(res->currency, sizeof res->currency, "?");
	}
}

static int callback(rd_plugin_ctx *ctx, const void *body, size_t len, const char *signature, struct rd_payment_result *res,
		    char order_ref[64])
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "card payments are not set up for this vendor");
		return RD_EINVAL;
	}
	int rc = verify(ctx, &s, body, len, signature);
	json_decref(s.root);
	if (rc < 0)
		return rc;
	json_t *ev = json_loadb(body, len, 0, NULL);
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(json_object_get(ev, "data"), "object");
	const char *pi = json_string_value(json_object_get(obj, "payment_intent"));
	if (!pi)
		pi = json_string_value(json_object_get(obj, "id"));
	const char *order = json_string_value(json_object_get(json_object_get(obj, "metadata"), "order"));
	int state = 0;
	if (type && !strcmp(type, "payment_intent.succeeded"))
		state = RD_PAY_CAPTURED;
	else if (type && !strcmp(type, "payment_intent.amount_capturable_updated"))
		state = RD_PAY_AUTHORISED;
	else if (type && (!strcmp(type, "payment_intent.payment_failed") || !strcmp(type, "payment_intent.canceled")))
		state = RD_PAY_DECLINED;
	else if (type && (!strcmp(type, "charge.refunded") || !strcmp(type, "refund.created")))
		state = RD_PAY_REFUNDED;
	if (!safe_ref(id) || !safe_ref(pi) || !order || !printable(order, 63)) {
		host->error(ctx, "webhook: the event lacks an id, a payment or an order reference");
		rc = RD_EINVAL;
	} else if (!state) {
		host->error(ctx, "webhook: event %s (%.60s) is not about a payment's outcome", id, type ? type : "no type");
		rc = RD_EDECLINED;
	} else {
		snprintf(order_ref, 64, "%s", order);
		res->state = state;
		snprintf(res->reference, sizeof res->reference, "%s", pi);
		snprintf(res->message, sizeof res->message, "card gateway event %s (%s)", id, type);
		event_amount(obj, state, res);
		/* Deliveries repeat: the first one reports, a repeat answers
		 * RD_EEXISTS with the same result (acknowledge it, change nothing). */
		char kvkey[MAX_KEY + 8], v[8];
		size_t vl = 0;
		snprintf(kvkey, sizeof kvkey, "evt:%s", id);
		if (host->kv_get(ctx, kvkey, v, sizeof v, &vl) == 0) {
			host->error(ctx, "webhook: event %s was already reported (a repeated delivery)", id);
			rc = RD_EEXISTS;
		} else if ((rc = host->kv_put(ctx, kvkey, "1", 1)) < 0) {
			host->error(ctx, "webhook: event %s could not be recorded", id);
		}
	}
	json_decref(ev);
	return rc;
}

/* A cheap authenticated call: is the gateway there, does it take the key? */
static int probe(rd_plugin_ctx *ctx)
{
	struct settings s;
	if (settings(ctx, host->config(ctx), &s, 0) < 0) {
		host->error(ctx, "card payments are not set up for this vendor");
		return RD_EINVAL;
	}
	int status, rc = 0;
	json_t *j;
	int sent = gw(ctx, &s, "GET", "/v1/payment_intents?limit=1", NULL, NULL, &status, &j);
	if (sent == -2) {
		host->error(ctx, "renewd refused to send to the card gateway's host (outbound_hosts; see renewd's log)");
		rc = RD_EINVAL;
	} else if (sent < 0) {
		host->error(ctx, "the card gateway does not answer");
		rc = RD_EBUSY;
	} else if (status == 401 || status == 403) {
		host->error(ctx, "the card gateway refuses the secret key (%d)", status);
		rc = RD_EINVAL;
	} else if (status != 200) {
		host->error(ctx, "the card gateway answered %d", status);
		rc = RD_EBUSY;
	}
	json_decref(j);
	json_decref(s.root);
	return rc;
}

static const char *const options[] = { "card", NULL };
/* What the customer reads on the checkout page (ops V2). */
static const char *const labels[] = { "Pay by card", NULL };
static const char *const secrets[] = { "secret_key", "webhook_secret", NULL };

static const struct rd_payment_ops ops = {
	.version = RD_PAYMENT_OPS_V2,
	.options = options,
	.labels = labels,
	.authorise = authorise,
	.capture = capture,
	.refund = refund,
	.callback = callback,
};

static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI,
	.size = sizeof(struct rd_plugin),
	.name = "payment-card",
	.version = "1.0.0",
	.kind = RD_PLUGIN_PAYMENT,
	.description = "Card payments through a Stripe-style gateway: tokens only, each order charged once",
	.init = init,
	.configure = configure,
	.probe = probe,
	.ops = &ops,
	.secret_settings = secrets,
};

RD_PLUGIN_ENTRY_DEFINE(rd_builtin_payment_card)
{
	return &desc;
}
