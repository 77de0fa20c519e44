/*
 * api.c: the route table and its handlers, in-process.  Each input is one
 * request dispatched exactly as the server dispatches a request that came
 * over a connection (rd_server_dispatch: the same route_and_run, the real
 * handlers of core/daemon/routes.c), with the reply kept instead of sent.
 *
 * The input: byte 0 picks the route (the API's and the webhooks' routes of
 * the table, and /, /healthz, /metrics), byte 1 the caller, byte 2 the path
 * parameters, byte 3 flags (an Idempotency-Key, the Content-Type, a second
 * path parameter), then QUERY \n IDEMPOTENCY-KEY \n BODY.
 *
 * The callers: vendor 1's administrator, channel manager and sales; the
 * administrator and a salesperson of its reseller (partner 1) and of its
 * distributor (partner 2); another vendor's administrator; a customer's
 * link; the platform operator; a session token used as a bearer; a token
 * that is not known; no one.  Path ids are small (what the seed and
 * earlier inputs made, another vendor's among them) or malformed.
 *
 * After each input: a reply was given (within 10 s of the loop), it is
 * not a 500, a JSON reply parses, and a reply at 400 or above has the one
 * error shape {"error":{"code","message","field"}}.  At the 256th input,
 * each power of two after it, every 16,384th and at exit the store's
 * integrity check (rd_store_check) must find nothing.
 * Any of these failing aborts: a finding.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "daemon/routes.h"
#include "domain/date.h"
#include "fuzz.h"
#include "http/server.h"
#include "renew/renew.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/clock.h"

enum { P_ADMIN, P_CM, P_SALES, P_RES_ADMIN, P_RES_SALES, P_DIST_ADMIN, P_DIST_SALES, P_OTHER, P_LINK, P_OPERATOR,
       P_SESSION, P_BAD, P_NONE, N_PRINCIPALS };

static char tokens[N_PRINCIPALS][RD_TOKEN_LEN + 1];
static const struct rd_route *routes[512];
static size_t n_routes;
static struct rd_server *srv;
static unsigned long inputs, refreshes;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_api: %s: %s\n", what, detail);
	abort();
}

/* ---- the principals ------------------------------------------------------------------- */

struct seed {
	struct rd_domain *d;
	uint64_t other_vendor;
	unsigned gen;
	char email[64];
};

static struct seed world;

static int put_user(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint8_t role, uint64_t partner,
		    const char *email, uint8_t kind, char secret[RD_TOKEN_LEN + 1])
{
	struct rd_user *u = calloc(1, sizeof *u);
	struct rd_token *k = calloc(1, sizeof *k);
	snprintf(u->email, sizeof u->email, "%s", email);
	snprintf(u->name, sizeof u->name, "%s", email);
	u->role = role;
	u->partner_id = partner;
	u->created_at = rd_clock_now();
	int rc = rd_entity_put(t, d->users, &rd_entity_user, vendor, u, RD_PUT_NEW);
	if (rc == 0) {
		rd_token_new(secret, k->hash);
		snprintf(k->name, sizeof k->name, "fuzz");
		k->kind = kind;
		k->vendor_id = vendor;
		k->user_id = u->id;
		k->created_at = u->created_at;
		if (kind == RD_TOKEN_SESSION)
			k->expires_at = (uint64_t)time(NULL) + 30 * 86400;
		rc = rd_entity_put(t, d->tokens, &rd_entity_token, 0, k, RD_PUT_NEW);
	}
	free(u);
	free(k);
	return rc;
}

/* The callers' users, tokens and link, made anew (generation s->gen):
 * at the start, and after an input that may have deleted, disabled,
 * revoked or expired one of them (refresh). */
static const char *mail(struct seed *s, const char *who)
{
	snprintf(s->email, sizeof s->email, "%s%u.example", who, s->gen);
	return s->email;
}

static int principals(struct rd_txn *t, struct seed *s)
{
	struct rd_domain *d = s->d;
	uint64_t v1 = fz_vendor()->id;
	/* vendor 1's users (partner 1 is the reseller, 2 the distributor) */
	int rc = put_user(t, d, v1, RD_ROLE_VENDOR_ADMIN, 0, mail(s, "admin@acme"), RD_TOKEN_API, tokens[P_ADMIN]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_CHANNEL_MANAGER, 0, mail(s, "cm@acme"), RD_TOKEN_API, tokens[P_CM]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_VENDOR_SALES, 0, mail(s, "sales@acme"), RD_TOKEN_API, tokens[P_SALES]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_PARTNER_ADMIN, 1, mail(s, "admin@res"), RD_TOKEN_API, tokens[P_RES_ADMIN]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_PARTNER_SALES, 1, mail(s, "sales@res"), RD_TOKEN_API, tokens[P_RES_SALES]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_PARTNER_ADMIN, 2, mail(s, "admin@dist"), RD_TOKEN_API, tokens[P_DIST_ADMIN]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_PARTNER_SALES, 2, mail(s, "sales@dist"), RD_TOKEN_API, tokens[P_DIST_SALES]);
	if (rc == 0)
		rc = put_user(t, d, s->other_vendor, RD_ROLE_VENDOR_ADMIN, 0, mail(s, "admin@other"), RD_TOKEN_API,
			      tokens[P_OTHER]);
	if (rc == 0)
		rc = put_user(t, d, v1, RD_ROLE_VENDOR_ADMIN, 0, mail(s, "session@acme"), RD_TOKEN_SESSION,
			      tokens[P_SESSION]);
	/* a customer's link to customer 1 of vendor 1 */
	struct rd_link *l = calloc(1, sizeof *l);
	rd_token_new(tokens[P_LINK], l->hash);
	l->vendor_id = v1;
	l->customer_id = 1;
	l->expires_at = rd_clock_now() + 3650ull * 86400;
	if (rc == 0)
		rc = rd_entity_put(t, d->links, &rd_entity_link, 0, l, RD_PUT_NEW);
	free(l);
	return rc;
}

static int seed(struct rd_txn *t, void *arg)
{
	struct seed *s = arg;
	struct rd_domain *d = s->d;
	int rc = 0;
	/* another vendor, with a partner, a customer, a product and a contract of its own */
	struct rd_vendor *v = calloc(1, sizeof *v);
	snprintf(v->name, sizeof v->name, "Other");
	snprintf(v->slug, sizeof v->slug, "other");
	memcpy(v->currency, "USD", 4);
	v->renewal_window_days = 90;
	v->decision_window_days = 14;
	v->statement_day = 20;
	rc = rd_entity_put(t, d->vendors, &rd_entity_vendor, 0, v, RD_PUT_NEW);
	s->other_vendor = v->id;
	free(v);
	struct rd_partner *p = calloc(1, sizeof *p);
	snprintf(p->name, sizeof p->name, "Other Reseller");
	snprintf(p->external_id, sizeof p->external_id, "O-RES");
	p->kind = RD_PARTNER_RESELLER;
	if (rc == 0)
		rc = rd_entity_put(t, d->partners, &rd_entity_partner, s->other_vendor, p, RD_PUT_NEW);
	uint64_t other_partner = p->id;
	free(p);
	struct rd_customer *c = calloc(1, sizeof *c);
	snprintf(c->external_id, sizeof c->external_id, "O-CUST");
	snprintf(c->name, sizeof c->name, "Other Customer");
	if (rc == 0)
		rc = rd_entity_put(t, d->customers, &rd_entity_customer, s->other_vendor, c, RD_PUT_NEW);
	struct rd_product *pr = calloc(1, sizeof *pr);
	snprintf(pr->external_id, sizeof pr->external_id, "O-SKU");
	snprintf(pr->name, sizeof pr->name, "Other Widget");
	if (rc == 0)
		rc = rd_entity_put(t, d->products, &rd_entity_product, s->other_vendor, pr, RD_PUT_NEW);
	struct rd_contract *k = calloc(1, sizeof *k);
	snprintf(k->external_id, sizeof k->external_id, "O-K");
	k->customer_id = c->id;
	k->product_id = pr->id;
	k->reseller_id = other_partner;
	k->quantity = 3;
	k->term = RD_TERM_ANNUAL;
	k->status = RD_CONTRACT_LIVE;
	k->start = rd_date_from_ymd(2026, 1, 1);
	k->end = rd_term_end(k->start, RD_TERM_ANNUAL);
	memcpy(k->currency, "USD", 4);
	if (rc == 0)
		rc = rd_entity_put(t, d->contracts, &rd_entity_contract, s->other_vendor, k, RD_PUT_NEW);
	free(c);
	free(pr);
	free(k);
	if (rc == 0)
		rc = principals(t, s);
	return rc;
}

static void at_exit(void);

static int refresh_write(struct rd_txn *t, void *arg)
{
	(void)arg;
	uint64_t vendors[] = { fz_vendor()->id, world.other_vendor };
	struct rd_vendor *v = calloc(1, sizeof *v);
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++)
		if ((rc = rd_entity_get(t, world.d->vendors, &rd_entity_vendor, 0, vendors[i], v)) == 0 && v->suspended) {
			v->suspended = 0;
			rc = rd_entity_put(t, world.d->vendors, &rd_entity_vendor, 0, v, 0);
		}
	free(v);
	world.gen++;
	return rc < 0 ? rc : principals(t, &world);
}

/* After an input that may have taken a caller away (a user deleted or
 * disabled, a token or a link revoked, a vendor suspended, the clock
 * moved past a link's expiry): every caller anew, both vendors resumed,
 * so that the inputs after it still reach past authentication. */
static void refresh(void)
{
	struct rd_app *app = fz_app();
	struct rd_operator_token ot;
	struct rd_serr e = { 0 };
	if (rd_store_write(app->store, refresh_write, NULL) < 0 ||
	    rd_operator_token_create(app->store, app->domain, "fuzz", tokens[P_OPERATOR], &ot, &e) < 0)
		die("refresh", "the callers could not be made again");
}

static void setup(void)
{
	struct rd_app *app = fz_app_configured();
	world.d = app->domain;
	if (rd_store_write(app->store, seed, &world) < 0)
		die("seed", "the principals could not be stored");
	struct rd_operator_token ot;
	struct rd_serr e = { 0 };
	if (rd_operator_token_create(app->store, app->domain, "fuzz", tokens[P_OPERATOR], &ot, &e) < 0)
		die("operator token", e.message);
	snprintf(tokens[P_BAD], sizeof tokens[P_BAD], "rd_notatokenatall0000000000000000000000000");
	app->renew = rd_renew_new(app);
	/* the routes a token or a link opens, and the health routes (the pages
	 * take forms and cookies: the http harness has their parsers) */
	for (size_t i = 0; i < rd_n_routes && n_routes < sizeof routes / sizeof *routes; i++) {
		const char *p = rd_routes[i].pattern;
		if (!strncmp(p, "/api/", 5) || !strncmp(p, "/webhooks/", 10) || !strcmp(p, "/") || !strcmp(p, "/healthz") ||
		    !strcmp(p, "/metrics"))
			routes[n_routes++] = &rd_routes[i];
	}
	struct rd_server_opts o = { .max_body = 1 << 20, .max_bulk_body = 8 << 20, .max_anon_body = 64 << 10,
				    .routes = rd_routes, .n_routes = rd_n_routes, .app = app, .metrics = app->metrics };
	srv = rd_server_detached(app->loop, &o);
	atexit(at_exit);
}

/* ---- the checks ------------------------------------------------------------------------ */

static void report(const char *problem, void *arg)
{
	(void)arg;
	fprintf(stderr, "fuzz_api: store check: %s\n", problem);
}

static void check_store(void)
{
	int n = rd_store_check(fz_app()->store, report, NULL);
	if (n != 0)
		die("store check", n < 0 ? "failed to run" : "problems found (above)");
}

static void at_exit(void)
{
	struct rd_app *app = fz_app();
	check_store();
	rd_server_detached_free(&srv);
	/* what the renewal engine runs on the loop ends with it */
	for (int i = 0; i < 200 && rd_renew_busy(app->renew); i++)
		uv_run(app->loop, UV_RUN_NOWAIT);
	rd_renew_free(&app->renew);
}

static void check_reply(struct rd_req *req, const char *method, const char *target)
{
	int status;
	size_t len;
	const char *body = rd_req_reply(req, &status, &len);
	const char *ct = rd_req_reply_header(req, "content-type");
	char where[300];
	snprintf(where, sizeof where, "%s %.200s", method, target);
	if (status == 500 || status < 0) {
		fprintf(stderr, "fuzz_api: %d: %.*s\n", status, (int)(len > 2000 ? 2000 : len), body);
		die(where, status < 0 ? "a streamed reply was cut short" : "a 500");
	}
	bool json = ct && !strncasecmp(ct, "application/json", 16);
	if (status >= 400 && !json)
		die(where, "an error that is not JSON");
	if (!json || (len == 0 && status == 204))
		return;
	json_error_t e;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!j) {
		fprintf(stderr, "fuzz_api: %d: %.*s\n", status, (int)(len > 2000 ? 2000 : len), body);
		die(where, "a reply that is not JSON");
	}
	if (status >= 400) {
		json_t *err = json_object_get(j, "error"), *field = json_object_get(err, "field");
		if (!json_is_object(err) || !json_is_string(json_object_get(err, "code")) ||
		    !json_is_string(json_object_get(err, "message")) || !field || !(json_is_string(field) || json_is_null(field))) {
			fprintf(stderr, "fuzz_api: %d: %.*s\n", status, (int)(len > 2000 ? 2000 : len), body);
			die(where, "an error not in the shape {\"error\":{\"code\",\"message\",\"field\"}}");
		}
	}
	json_decref(j);
}

/* ---- one input ------------------------------------------------------------------------- */

static const char *const ids[] = { "1", "2", "3", "4", "5", "6", "8", "12", "0", "999999", "abc", "-1",
				   "18446744073709551615", "99999999999999999999", "1.5", "%31" };
static const char *const words[] = { "margin", "routing", "payment-card", "payment-po", "payment-bml",
				     "connector-x12", "connector-edifact", "branding-default", "1", "2", "x", "..",
				     "margin-reseller", "acme", "other", "" };

static const char *method_name(unsigned m)
{
	switch (m) {
	case RD_GET: return "GET";
	case RD_HEAD: return "HEAD";
	case RD_POST: return "POST";
	case RD_PUT: return "PUT";
	case RD_PATCH: return "PATCH";
	case RD_DELETE: return "DELETE";
	default: return "OPTIONS";
	}
}

/* The route's pattern with its parameters filled in: {id}-like ones from
 * ids, the others ({kind}, {name}, {plugin}, {version}) from words. */
static void fill(const char *pattern, unsigned pick, unsigned pick2, char *out, size_t cap)
{
	size_t o = 0;
	unsigned n = 0;
	for (const char *p = pattern; *p && o + 1 < cap;) {
		if (*p != '{') {
			out[o++] = *p++;
			continue;
		}
		const char *end = strchr(p, '}');
		size_t nl = (size_t)(end - p - 1);
		unsigned sel = n++ ? pick2 : pick;
		const char *v = (nl == 2 && !memcmp(p + 1, "id", 2)) ? ids[sel % 16] : words[sel % 16];
		if (nl == 7 && !memcmp(p + 1, "version", 7))
			v = ids[sel % 8];
		o += (size_t)snprintf(out + o, cap - o, "%s", v);
		if (o >= cap)
			o = cap - 1;
		p = end + 1;
	}
	out[o] = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		setup();
	if (size < 4)
		return 0;
	const struct rd_route *rt = routes[data[0] % n_routes];
	unsigned who = data[1] % N_PRINCIPALS, flags = data[3];
	char *query, *rest, *key, *body;
	size_t rest_len, body_len;
	fz_split(data + 4, size - 4, '\n', &query, &rest, &rest_len);
	fz_split((const uint8_t *)rest, rest_len, '\n', &key, &body, &body_len);

	char path[400], target[4600];
	fill(rt->pattern, data[2] & 0x0f, (data[2] >> 4) ^ (flags >> 4), path, sizeof path);
	snprintf(target, sizeof target, "%s%s%.4000s", path, query[0] ? "?" : "", query);

	const char *headers[16];
	size_t h = 0;
	char auth[RD_TOKEN_LEN + 16], cookie[RD_TOKEN_LEN + 16];
	if (who == P_SESSION && (flags & 8)) { /* a session as the browser shows it: its cookie */
		snprintf(cookie, sizeof cookie, "rd_session=%.*s", RD_TOKEN_LEN, tokens[who]);
		headers[h++] = "cookie";
		headers[h++] = cookie;
	} else if (who != P_NONE) {
		snprintf(auth, sizeof auth, "Bearer %s", tokens[who]);
		headers[h++] = "authorization";
		headers[h++] = auth;
	}
	if (flags & 1) {
		headers[h++] = "idempotency-key";
		headers[h++] = key;
	}
	headers[h++] = "content-type";
	headers[h++] = (flags & 6) == 0 ? "text/csv" : (flags & 6) == 2 ? "application/x-ndjson" : "application/json";
	headers[h++] = "host";
	headers[h++] = "renewd.example";
	headers[h] = NULL;

	const char *method = method_name(rt->method);
	struct rd_req *req = rd_server_dispatch(srv, method, target, strlen(target), headers,
						body_len || rt->method != RD_GET ? body : NULL, body_len);
	/* a handler that answers from the thread pool or a plugin call answers
	 * once the loop has run */
	int status;
	size_t len;
	for (int i = 0; !rd_req_reply(req, &status, &len) && i < 10000; i++) {
		uv_run(fz_app()->loop, UV_RUN_NOWAIT);
		if (!rd_req_reply(req, &status, &len))
			usleep(1000);
	}
	if (!rd_req_reply(req, &status, &len))
		die(target, "no reply within 10 s");
	if (getenv("RENEWD_FUZZ_TRACE")) /* what each input asked and got */
		fprintf(stderr, "%s %s as %u: %d %.*s\n", method, target, who, status, (int)(len > 300 ? 300 : len),
			(const char *)rd_req_reply(req, &status, &len));
	check_reply(req, method, target);
	const char *p = rt->pattern;
	bool taken = status < 300 && (rt->method == RD_PATCH || rt->method == RD_DELETE || rt->method == RD_POST) &&
		     ((rt->method != RD_POST && (!strcmp(p, "/api/v1/users/{id}") || !strcmp(p, "/api/v1/tokens/{id}") ||
						 !strcmp(p, "/api/v1/session") || !strcmp(p, "/api/v1/links/{id}"))) ||
		      (rt->method == RD_POST && (!strcmp(p, "/api/v1/clock") || strstr(p, "/suspend"))));
	rd_req_detached_free(req);
	if (taken)
		refresh();
	/* what the reply left running (a feed's import, a webhook's delivery) */
	uv_run(fz_app()->loop, UV_RUN_NOWAIT);
	if (taken)
		refreshes++;
	/* the check reads the whole store, which grows with the run: at the
	 * 256th input, then at each power of two and every 16,384th */
	if (++inputs % 16384 == 0 || (inputs >= 256 && !(inputs & (inputs - 1)))) {
		check_store();
		if (getenv("RENEWD_FUZZ_TRACE"))
			fprintf(stderr, "fuzz_api: %lu inputs, %lu refreshes\n", inputs, refreshes);
	}
	free(query);
	free(rest);
	free(key);
	free(body);
	return 0;
}
