/*
 * session.c: authentication of API calls, login sessions, API tokens, the
 * caller's own vendor, and the audit writer every change goes through.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/call.h"
#include "config/config.h"
#include "web/web.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SESSION_TTL_S (12 * 3600)
#define COOKIE "rd_session"

uint64_t rd_parse_id(const char *s)
{
	if (!s || !*s || strlen(s) > 19)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return strtoull(s, NULL, 10);
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* ---- who is calling ------------------------------------------------------- */

/* The token of an Authorization header or a Cookie header (NULL: none).
 * out holds a cookie's value. */
static const char *token_of(const char *auth, const char *cookie, char *out, size_t cap, bool *session)
{
	*session = false;
	if (auth)
		return strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
	while (cookie && *cookie) {
		while (*cookie == ' ' || *cookie == ';')
			cookie++;
		if (strncmp(cookie, COOKIE "=", sizeof COOKIE) == 0) {
			const char *v = cookie + sizeof COOKIE;
			size_t n = strcspn(v, ";");
			if (n >= cap)
				return "";
			memcpy(out, v, n);
			out[n] = 0;
			*session = true;
			return out;
		}
		cookie = strchr(cookie, ';');
	}
	return NULL;
}

static const char *presented_token(struct rd_req *req, bool *session)
{
	const char *auth = rd_req_header(req, "authorization"), *cookie = rd_req_header(req, "cookie");
	size_t cap = cookie ? strlen(cookie) + 1 : 1;
	return token_of(auth, cookie, rd_req_alloc(req, cap), cap, session);
}

/* Loads a partner caller's scope: its partner and, for a distributor, its
 * resellers (partners whose parent it is). */
static int load_scope(struct call *c, struct rd_txn *t)
{
	struct rd_principal *w = &c->who;
	w->n_scope = 0;
	if (!rd_role_is_partner(w->role))
		return 0;
	w->scope[w->n_scope++] = w->partner;
	uint8_t key[8];
	for (int i = 7, v = 0; i >= 0; i--, v++)
		key[i] = (uint8_t)(w->partner >> (8 * v));
	struct rd_iter it;
	struct rd_item item;
	int rc = rd_iter_index(&it, t, c->app->domain->partners, "parent", w->vendor, key, 8, NULL, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		if (w->n_scope == sizeof w->scope / sizeof *w->scope) {
			w->scope_truncated = true;
			break;
		}
		w->scope[w->n_scope++] = item.id;
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

/* Authenticates a token (presented as a bearer or a session cookie);
 * quiet: no reply, the reason in *why. */
static int authenticate(struct rd_app *app, struct rd_req *req, struct call *c, const char *token, bool session,
			const char **why)
{
	memset(c, 0, sizeof *c);
	c->req = req; /* NULL: a check before the request is read */
	c->app = app;
	char hash[RD_TOKEN_HASH_HEX];
	struct rd_domain *d = c->app->domain;
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_token tok;
	struct rd_user user;
	uint64_t id;
	*why = NULL;
	if (!token)
		*why = "no token";
	else if (!rd_token_hash(token, hash))
		*why = "the token is malformed";
	else if (rd_index_find(t, d->tokens, "hash", 0, hash, strlen(hash) + 1, &id) < 0 ||
		 rd_entity_get(t, d->tokens, &rd_entity_token, 0, id, &tok) < 0 || !rd_hash_equal(tok.hash, hash))
		*why = "the token is not known";
	else if (tok.revoked_at)
		*why = "the token was revoked";
	else if (tok.expires_at && tok.expires_at <= now_s())
		*why = "the token has expired";
	else if (session != (tok.kind == RD_TOKEN_SESSION))
		*why = "the token is used in the wrong place";
	else if (rd_entity_get(t, d->users, &rd_entity_user, tok.vendor_id, tok.user_id, &user) < 0 || user.disabled)
		*why = "the user is disabled or gone";
	else if (rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, tok.vendor_id, &c->vendor) < 0)
		*why = "the vendor is gone";
	if (*why) {
		rd_txn_end(t);
		return RD_EINVAL;
	}
	c->who = (struct rd_principal){ .vendor = tok.vendor_id, .user = user.id, .partner = user.partner_id,
					.role = user.role, .token = tok.id, .session = session };
	rc = load_scope(c, t);
	rd_txn_end(t);
	return rc;
}

int rd_call_begin(struct rd_req *req, struct call *c)
{
	bool session;
	const char *token = presented_token(req, &session), *why;
	if (!token) {
		memset(c, 0, sizeof *c);
		rd_reply_header(req, "www-authenticate", "Bearer");
		rd_reply_error(req, 401, "unauthenticated", NULL,
			       "this route needs an API token (Authorization: Bearer ...) or a session cookie");
		return RD_EINVAL;
	}
	int rc = authenticate(rd_req_app(req), req, c, token, session, &why);
	if (rc == RD_EINVAL) {
		rd_reply_header(req, "www-authenticate", "Bearer error=\"invalid_token\"");
		rd_reply_error(req, 401, "unauthenticated", NULL, "%s", why);
	}
	return rc;
}

bool rd_call_credentials_ok(void *app, const char *authorization, const char *cookie, bool *bulk)
{
	char buf[RD_TOKEN_LEN + 2];
	bool session;
	const char *token = token_of(authorization, cookie, buf, sizeof buf, &session), *why;
	*bulk = false;
	if (!token || !*token)
		return false;
	struct call *c = rd_malloc(sizeof *c);
	int rc = authenticate(app, NULL, c, token, session, &why);
	/* The bulk routes: imports, document uploads, payment files. */
	uint8_t role = c->who.role;
	*bulk = rc == 0 && (rd_authz(role, RD_RES_IMPORT, RD_ACT_CREATE) != RD_SCOPE_NONE ||
			    rd_authz(role, RD_RES_CONTRACT, RD_ACT_UPDATE) != RD_SCOPE_NONE ||
			    rd_authz(role, RD_RES_ORDER, RD_ACT_UPDATE) != RD_SCOPE_NONE);
	free(c);
	return rc == 0;
}

int rd_call_session(struct rd_req *req, struct call *c, const char *token)
{
	const char *why;
	return authenticate(rd_req_app(req), req, c, token, true, &why);
}

enum rd_scope rd_call_allow(struct call *c, enum rd_resource res, enum rd_action action)
{
	enum rd_scope s = rd_authz(c->who.role, res, action);
	if (s == RD_SCOPE_NONE) {
		static const char *const verbs[] = { "", "read", "create", "", "update", "", "", "", "delete" };
		rd_reply_error(c->req, 403, "forbidden", NULL, "a %s may not %s %s", rd_role_name(c->who.role),
			       verbs[action], rd_resource_name(res));
	}
	return s;
}

const char *rd_cookie_secure(const struct rd_app *app)
{
	const char *u = app && app->config ? app->config->public_url : NULL;
	return u && strncasecmp(u, "https://", 8) == 0 ? "; Secure" : "";
}

bool rd_call_in_scope(const struct call *c, uint64_t partner)
{
	for (unsigned i = 0; partner && i < c->who.n_scope; i++)
		if (c->who.scope[i] == partner)
			return true;
	return false;
}

/* A customer is a partner's when the partner is of record on one of its
 * contracts. */
static bool customer_in_scope(struct call *c, struct rd_txn *t, uint64_t customer)
{
	uint8_t key[8];
	for (int i = 7, v = 0; i >= 0; i--, v++)
		key[i] = (uint8_t)(customer >> (8 * v));
	struct rd_iter it;
	struct rd_item item;
	bool yes = false;
	int rc = rd_iter_index(&it, t, c->app->domain->contracts, "customer", c->who.vendor, key, 8, NULL, 0);
	while (!yes && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		struct rd_contract k;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) == 0)
			yes = rd_call_in_scope(c, k.reseller_id) || rd_call_in_scope(c, k.distributor_id);
	}
	rd_iter_close(&it);
	return yes;
}

/* Whether every contract of the customer that is not cancelled is in the
 * caller's channel: only then is the customer's identity (its e-mail, the
 * address its portal links go to, its contacts) the partner's to change.
 * A customer with no such contract is nobody's in particular: the vendor's. */
bool rd_call_owns_customer(struct call *c, struct rd_txn *t, uint64_t customer)
{
	uint8_t key[8];
	for (int i = 7, v = 0; i >= 0; i--, v++)
		key[i] = (uint8_t)(customer >> (8 * v));
	struct rd_iter it;
	struct rd_item item;
	bool any = false, all = true;
	int rc = rd_iter_index(&it, t, c->app->domain->contracts, "customer", c->who.vendor, key, 8, NULL, 0);
	while (all && rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (item.key_len != 8 || memcmp(item.key, key, 8) != 0)
			break;
		struct rd_contract k;
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0) {
			all = false; /* unreadable: not provably the caller's */
			break;
		}
		if (k.status == RD_CONTRACT_CANCELLED)
			continue;
		any = true;
		all = rd_call_in_scope(c, k.reseller_id) || rd_call_in_scope(c, k.distributor_id);
	}
	rd_iter_close(&it);
	return rc >= 0 && any && all;
}

bool rd_call_sees(struct call *c, struct rd_txn *t, enum rd_resource res, const void *obj)
{
	const struct rd_principal *w = &c->who;
	switch (res) {
	case RD_RES_PARTNER:
		return rd_call_in_scope(c, ((const struct rd_partner *)obj)->id);
	case RD_RES_CONTRACT: {
		const struct rd_contract *k = obj;
		return rd_call_in_scope(c, k->reseller_id) || rd_call_in_scope(c, k->distributor_id);
	}
	case RD_RES_CUSTOMER:
		return customer_in_scope(c, t, ((const struct rd_customer *)obj)->id);
	case RD_RES_CONTACT:
		return customer_in_scope(c, t, ((const struct rd_contact *)obj)->customer_id);
	case RD_RES_USER: {
		const struct rd_user *u = obj;
		if (w->role == RD_ROLE_PARTNER_ADMIN)
			return u->partner_id == w->partner;
		return u->id == w->user;
	}
	case RD_RES_TOKEN:
		return ((const struct rd_token *)obj)->user_id == w->user;
	case RD_RES_COMMISSION: /* entries and statements: their own partner's only */
		return ((const struct rd_statement *)obj)->partner_id == w->partner;
	default:
		return false;
	}
}

static json_t *vendor_json(const struct rd_vendor *v);

/* ---- audit ------------------------------------------------------------------ */

static void dump_into(json_t *j, char *out, size_t cap)
{
	out[0] = 0;
	if (!j)
		return;
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return;
	size_t n = strlen(s);
	if (n >= cap) { /* keep it valid JSON: note the truncation instead */
		free(s);
		snprintf(out, cap, "{\"truncated\":true,\"bytes\":%zu}", n);
		return;
	}
	memcpy(out, s, n + 1);
	free(s);
}

int rd_audit_write(struct rd_txn *t, struct rd_domain *d, uint64_t tenant, uint64_t user, uint8_t action,
		   const char *object, uint64_t object_id, json_t *before, json_t *after, const char *note)
{
	struct rd_audit *a = rd_calloc(1, sizeof *a);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	a->at_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	a->user_id = user;
	a->action = action;
	snprintf(a->object, sizeof a->object, "%s", object);
	a->object_id = object_id;
	dump_into(before, a->before, sizeof a->before);
	dump_into(after, a->after, sizeof a->after);
	snprintf(a->note, sizeof a->note, "%s", note ? note : "");
	int rc = rd_entity_put(t, d->audit, &rd_entity_audit, tenant, a, 0);
	free(a);
	return rc;
}

/* ---- sessions --------------------------------------------------------------- */

struct login {
	uint64_t vendor, user;
	char hash[RD_PWHASH_MAX];
	char *password;
	bool ok;
	char limit_key[300];
	char peer[64];
	/* results written on the loop */
	char token[RD_TOKEN_LEN + 1];
	char token_hash[RD_TOKEN_HASH_HEX];
	uint64_t token_id;
	uint64_t expires;
};

static void login_verify(void *arg)
{
	struct login *l = arg;
	/* An unknown user is verified against a dummy hash: same cost. */
	l->ok = rd_password_verify(l->hash, l->password);
}

struct login_ctx {
	struct login l;
	struct rd_app *app;
	bool page;          /* a login form: answer with redirects, not JSON */
	uint8_t role;
};

static int session_write(struct rd_txn *t, void *arg)
{
	struct login_ctx *x = arg;
	struct rd_token tok = { 0 };
	memcpy(tok.hash, x->l.token_hash, sizeof tok.hash);
	tok.vendor_id = x->l.vendor;
	tok.user_id = x->l.user;
	snprintf(tok.name, sizeof tok.name, "session");
	tok.kind = RD_TOKEN_SESSION;
	tok.created_at = now_s();
	tok.expires_at = tok.created_at + SESSION_TTL_S;
	int rc = rd_entity_put(t, x->app->domain->tokens, &rd_entity_token, 0, &tok, 0);
	if (rc < 0)
		return rc;
	x->l.token_id = tok.id;
	x->l.expires = tok.expires_at;
	return rd_audit_write(t, x->app->domain, x->l.vendor, x->l.user, RD_AUDIT_LOGIN, "users", x->l.user, NULL, NULL,
			      "password login");
}

static void login_done(struct rd_req *req, void *arg)
{
	struct login_ctx *x = arg;
	if (x->l.ok) { /* counted as a failure when it began: forgive it */
		rd_login_succeeded(x->l.limit_key);
		rd_login_forgive(x->l.peer);
	}
	if (!req)
		goto out;
	if (!x->l.ok) {
		if (x->page)
			rd_web_redirect(req, "/login?failed=1");
		else
			rd_reply_error(req, 401, "unauthenticated", NULL, "the vendor, e-mail or password is wrong");
		goto out;
	}
	rd_token_new(x->l.token, x->l.token_hash);
	int rc = rd_store_write(x->app->store, session_write, x);
	if (rc < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the session could not be stored: %s", rd_strerror(rc));
		goto out;
	}
	char cookie[160];
	snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", x->l.token,
		 SESSION_TTL_S, rd_cookie_secure(x->app));
	rd_reply_header(req, "set-cookie", cookie);
	if (x->page) {
		rd_web_redirect(req, rd_role_is_partner(x->role) ? "/partner" : "/vendor");
		goto out;
	}
	char exp[21];
	rd_time_format(x->l.expires, exp);
	rd_reply_json(req, 200, json_pack("{s:I, s:I, s:s}", "user_id", (json_int_t)x->l.user, "vendor_id",
					  (json_int_t)x->l.vendor, "expires_at", exp));
out:
	if (x->l.password) {
		memset(x->l.password, 0, strlen(x->l.password));
		free(x->l.password);
	}
	free(x);
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int rd_login_begin(struct rd_req *req, const char *vendor, const char *email, const char *password, bool page)
{
	struct rd_app *app = rd_req_app(req);
	if (strlen(email) >= RD_NAME_MAX || strlen(password) > 256 || strlen(vendor) >= RD_EXT_MAX) {
		if (page)
			rd_web_redirect(req, "/login?failed=1");
		else
			rd_reply_error(req, 400, "invalid", NULL, "the vendor, e-mail or password is too long");
		return 0;
	}
	struct login_ctx *x = rd_calloc(1, sizeof *x);
	x->app = app;
	x->page = page;
	char em[RD_NAME_MAX];
	snprintf(em, sizeof em, "%s", email);
	lower(em);
	snprintf(x->l.limit_key, sizeof x->l.limit_key, "%s/%s", vendor, em);
	unsigned retry;
	const char *peer = rd_req_peer(req);
	if (!rd_login_allowed(x->l.limit_key, now_s(), &retry) || !rd_login_allowed(peer, now_s(), &retry)) {
		char ra[16];
		snprintf(ra, sizeof ra, "%u", retry);
		rd_reply_header(req, "retry-after", ra);
		if (page)
			rd_web_redirect(req, "/login?failed=2");
		else
			rd_reply_error(req, 429, "too_many_attempts", NULL, "too many failed logins: try again in %u seconds",
				       retry);
		free(x);
		return 0;
	}
	/* Find the vendor by slug and the user by e-mail. */
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0) {
		free(x);
		return rc;
	}
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_vendor v;
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, &v) == 0 && strcmp(v.slug, vendor) == 0) {
			x->l.vendor = v.id;
			break;
		}
	}
	rd_iter_close(&it);
	uint64_t uid;
	struct rd_user u;
	if (x->l.vendor && rd_index_find(t, app->domain->users, "email", x->l.vendor, em, strlen(em) + 1, &uid) == 0 &&
	    rd_entity_get(t, app->domain->users, &rd_entity_user, x->l.vendor, uid, &u) == 0 && !u.disabled) {
		x->l.user = u.id;
		x->role = u.role;
		memcpy(x->l.hash, u.password_hash, sizeof x->l.hash);
	}
	rd_txn_end(t);
	x->l.password = rd_strdup(password);
	/* Every attempt counts as a failed one, against the e-mail and the
	 * address, until its password is verified: attempts in flight together
	 * cannot get past the limit.  login_done forgives a correct one. */
	snprintf(x->l.peer, sizeof x->l.peer, "%s", peer);
	rd_login_failed(x->l.limit_key, now_s());
	rd_login_failed(peer, now_s());
	int rc2 = rd_req_work(req, login_verify, login_done, x);
	if (rc2 < 0) { /* not queued: nothing will free it later */
		memset(x->l.password, 0, strlen(x->l.password));
		free(x->l.password);
		free(x);
	}
	return rc2;
}

int rd_api_session_create(struct rd_req *req)
{
	json_t *body;
	if (!rd_web_same_origin(req))
		return 0;
	if (rd_req_json(req, &body) < 0)
		return 0;
	const char *vendor = NULL, *email = NULL, *password = NULL;
	json_error_t je;
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s:s, s:s}", "vendor", &vendor, "email", &email, "password",
			   &password) != 0) {
		rd_reply_error(req, 400, "invalid", NULL, "a login is {\"vendor\": slug, \"email\": ..., \"password\": ...}: %s",
			       je.text);
		json_decref(body);
		return 0;
	}
	int rc = rd_login_begin(req, vendor, email, password, false);
	json_decref(body);
	return rc;
}

static int session_revoke(struct rd_txn *t, void *arg)
{
	struct call *c = arg;
	struct rd_token tok;
	int rc = rd_entity_get(t, c->app->domain->tokens, &rd_entity_token, 0, c->who.token, &tok);
	if (rc < 0)
		return rc;
	tok.revoked_at = now_s();
	return rd_entity_put(t, c->app->domain->tokens, &rd_entity_token, 0, &tok, 0);
}

int rd_api_session_delete(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0)
		return 0;
	if (!c.who.session) {
		rd_reply_error(req, 400, "invalid", NULL, "no session cookie: revoke API tokens with DELETE /api/v1/tokens/{id}");
		return 0;
	}
	int rc = rd_store_write(c.app->store, session_revoke, &c);
	if (rc < 0)
		return rc;
	char cookie[120];
	snprintf(cookie, sizeof cookie, COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s", rd_cookie_secure(c.app));
	rd_reply_header(req, "set-cookie", cookie);
	rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}

int rd_api_me(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0)
		return 0;
	struct rd_txn *t;
	struct rd_user u;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	rc = rd_entity_get(t, c.app->domain->users, &rd_entity_user, c.who.vendor, c.who.user, &u);
	rd_txn_end(t);
	if (rc < 0)
		return rc;
	json_t *j = rd_entity_to_json(&rd_entity_user, &u);
	json_t *scope = json_array();
	for (unsigned i = 0; i < c.who.n_scope; i++)
		json_array_append_new(scope, json_integer((json_int_t)c.who.scope[i]));
	json_object_set_new(j, "partner_scope", scope);
	json_object_set_new(j, "vendor", vendor_json(&c.vendor));
	rd_reply_json(req, 200, j);
	return 0;
}

/* ---- API tokens ---------------------------------------------------------------- */

struct token_new {
	struct call *c;
	struct rd_token tok;
};

static int token_create(struct rd_txn *t, void *arg)
{
	struct token_new *n = arg;
	n->tok.id = 0;
	int rc = rd_entity_put(t, n->c->app->domain->tokens, &rd_entity_token, 0, &n->tok, 0);
	if (rc < 0)
		return rc;
	json_t *after = rd_entity_to_json(&rd_entity_token, &n->tok); /* rd_audit_write does not take it */
	rc = rd_audit_write(t, n->c->app->domain, n->c->who.vendor, n->c->who.user, RD_AUDIT_CREATE, "tokens",
			    n->tok.id, NULL, after, NULL);
	json_decref(after);
	return rc;
}

int rd_api_tokens_create(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_TOKEN, RD_ACT_CREATE) == RD_SCOPE_NONE)
		return 0;
	json_t *body;
	if (rd_req_json(req, &body) < 0)
		return 0;
	const char *name = NULL;
	json_int_t days = 0;
	json_error_t je;
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s?:I}", "name", &name, "expires_in_days", &days) != 0 ||
	    strlen(name) == 0 || strlen(name) >= RD_NAME_MAX || days < 0 || days > 3650) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", NULL,
			       "a token is {\"name\": text (1-127 bytes), \"expires_in_days\": 0-3650 (0: never)}");
		return 0;
	}
	struct token_new n = { .c = &c };
	char secret[RD_TOKEN_LEN + 1];
	rd_token_new(secret, n.tok.hash);
	n.tok.vendor_id = c.who.vendor;
	n.tok.user_id = c.who.user;
	snprintf(n.tok.name, sizeof n.tok.name, "%s", name);
	n.tok.kind = RD_TOKEN_API;
	n.tok.created_at = now_s();
	n.tok.expires_at = days ? n.tok.created_at + (uint64_t)days * 86400 : 0;
	json_decref(body);
	int rc = rd_store_write(c.app->store, token_create, &n);
	if (rc < 0)
		return rc;
	json_t *j = rd_entity_to_json(&rd_entity_token, &n.tok);
	json_object_set_new(j, "token", json_string(secret));
	rd_reply_json(req, 201, j);
	return 0;
}

int rd_api_tokens_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope s;
	if (rd_call_begin(req, &c) < 0 || (s = rd_call_allow(&c, RD_RES_TOKEN, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	json_t *items = json_array();
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, c.app->domain->tokens, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		struct rd_token tok;
		if (rd_entity_decode(&rd_entity_token, item.val, item.len, &tok) < 0 || tok.vendor_id != c.who.vendor ||
		    tok.kind != RD_TOKEN_API)
			continue;
		if (s == RD_SCOPE_OWN && tok.user_id != c.who.user)
			continue;
		json_array_append_new(items, rd_entity_to_json(&rd_entity_token, &tok));
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

struct token_revoke {
	struct call *c;
	uint64_t id;
	enum rd_scope scope;
};

static int token_revoke(struct rd_txn *t, void *arg)
{
	struct token_revoke *r = arg;
	struct rd_token tok;
	int rc = rd_entity_get(t, r->c->app->domain->tokens, &rd_entity_token, 0, r->id, &tok);
	if (rc < 0)
		return rc;
	if (tok.vendor_id != r->c->who.vendor || (r->scope == RD_SCOPE_OWN && tok.user_id != r->c->who.user))
		return RD_ENOTFOUND;
	if (tok.revoked_at)
		return 0;
	json_t *before = rd_entity_to_json(&rd_entity_token, &tok);
	tok.revoked_at = now_s();
	if ((rc = rd_entity_put(t, r->c->app->domain->tokens, &rd_entity_token, 0, &tok, 0)) < 0) {
		json_decref(before);
		return rc;
	}
	json_t *after = rd_entity_to_json(&rd_entity_token, &tok);
	rc = rd_audit_write(t, r->c->app->domain, r->c->who.vendor, r->c->who.user, RD_AUDIT_REVOKE, "tokens", tok.id,
			    before, after, NULL);
	json_decref(before);
	json_decref(after);
	return rc;
}

int rd_api_tokens_revoke(struct rd_req *req)
{
	struct call c;
	struct token_revoke r = { .c = &c };
	if (rd_call_begin(req, &c) < 0 || (r.scope = rd_call_allow(&c, RD_RES_TOKEN, RD_ACT_DELETE)) == RD_SCOPE_NONE)
		return 0;
	r.id = rd_parse_id(rd_req_param(req, "id"));
	int rc = r.id ? rd_store_write(c.app->store, token_revoke, &r) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "id", "no such token");
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_raw(req, 204, "application/json", "", 0);
	return 0;
}

/* ---- the caller's vendor ----------------------------------------------------- */

/* The vendor as JSON, with the discount bound in force (an unset bound is the default). */
static json_t *vendor_json(const struct rd_vendor *v)
{
	json_t *j = rd_entity_to_json(&rd_entity_vendor, v);
	json_object_set_new(j, "max_discount_bp", json_integer(rd_vendor_max_discount(v)));
	return j;
}

int rd_api_vendor_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_VENDOR, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	rd_reply_json(req, 200, vendor_json(&c.vendor));
	return 0;
}

struct vendor_patch {
	struct call *c;
	struct rd_vendor v;
	json_t *before;
};

static int vendor_write(struct rd_txn *t, void *arg)
{
	struct vendor_patch *p = arg;
	int rc = rd_entity_put(t, p->c->app->domain->vendors, &rd_entity_vendor, 0, &p->v, 0);
	if (rc < 0)
		return rc;
	json_t *after = vendor_json(&p->v);
	rc = rd_audit_write(t, p->c->app->domain, p->v.id, p->c->who.user, RD_AUDIT_UPDATE, "vendor", p->v.id, p->before,
			    after, NULL);
	json_decref(after);
	return rc;
}

int rd_api_vendor_patch(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_VENDOR, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	json_t *body;
	if (rd_req_json(req, &body) < 0)
		return 0;
	struct vendor_patch p = { .c = &c, .v = c.vendor };
	const char *bad;
	char why[256];
	int rc = rd_entity_from_json(&rd_entity_vendor, body, &p.v, &bad, why, sizeof why);
	if (rc < 0) {
		/* bad may point at a key of body: reply before freeing it */
		rd_reply_error(req, 400, "invalid", bad, "%s", why);
		json_decref(body);
		return 0;
	}
	if (json_object_get(body, "max_discount_bp"))
		p.v.max_discount_set = 1;
	json_decref(body);
	if (strcmp(p.v.slug, c.vendor.slug) != 0) {
		rd_reply_error(req, 400, "invalid", "slug", "a vendor's slug is fixed when it is created");
		return 0;
	}
	if (p.v.renewal_window_days == 0 || p.v.renewal_window_days > 365 || p.v.decision_window_days > 90 ||
	    p.v.statement_day < 1 || p.v.statement_day > 28) {
		rd_reply_error(req, 400, "invalid",
			       p.v.renewal_window_days == 0 || p.v.renewal_window_days > 365 ? "renewal_window_days"
			       : p.v.decision_window_days > 90 ? "decision_window_days" : "statement_day",
			       "renewal_window_days must be 1-365, decision_window_days 0-90, statement_day 1-28");
		return 0;
	}
	if (p.v.deal_bonus_bp > 10000 || p.v.distributor_bp > 10000 || p.v.max_discount_bp > 10000) {
		rd_reply_error(req, 400, "invalid", p.v.deal_bonus_bp > 10000 ? "deal_bonus_bp"
			       : p.v.distributor_bp > 10000 ? "distributor_bp" : "max_discount_bp",
			       "basis points are 0-10000");
		return 0;
	}
	if ((p.v.policy_memory_kb && (p.v.policy_memory_kb < 1024 || p.v.policy_memory_kb > 262144)) ||
	    (p.v.policy_instructions && (p.v.policy_instructions < 10000 || p.v.policy_instructions > 100000000))) {
		rd_reply_error(req, 400, "invalid", p.v.policy_memory_kb > 262144 || (p.v.policy_memory_kb && p.v.policy_memory_kb < 1024)
							? "policy_memory_kb" : "policy_instructions",
			       "policy_memory_kb is 1024-262144 (0: 16384) and policy_instructions 10000-100000000 (0: 1000000)");
		return 0;
	}
	p.before = vendor_json(&c.vendor);
	rc = rd_store_write(c.app->store, vendor_write, &p);
	json_decref(p.before);
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, vendor_json(&p.v));
	return 0;
}
