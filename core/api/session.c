/*
 * session.c: the API's login and logout, API tokens, the caller's own
 * vendor (who is calling and the login itself: core/edge/call.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "config/config.h"
#include "services/imports.h"
#include "services/vendors.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define SESSION_TTL_S (12 * 3600)
#define COOKIE "rd_session"

static json_t *vendor_json(const struct rd_vendor *v);

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* The API's answer to a password login. */
static void login_done(struct rd_req *req, const struct rd_login_result *r)
{
	switch (r->outcome) {
	case RD_LOGIN_TOO_LONG:
		rd_reply_error(req, 400, "invalid", NULL, "the vendor, e-mail or password is too long");
		return;
	case RD_LOGIN_TOO_MANY:
		rd_reply_error(req, 429, "too_many_attempts", NULL, "too many failed logins: try again in %u seconds",
			       r->retry_after);
		return;
	case RD_LOGIN_WRONG:
		rd_reply_error(req, 401, "unauthenticated", NULL, "the vendor, e-mail or password is wrong");
		return;
	case RD_LOGIN_OK:
		break;
	}
	char exp[21];
	rd_time_format(r->expires_at, exp);
	rd_reply_json(req, 200, json_pack("{s:I, s:I, s:s}", "user_id", (json_int_t)r->user, "vendor_id",
					  (json_int_t)r->vendor, "expires_at", exp));
}

int rd_api_session_create(struct rd_req *req)
{
	json_t *body;
	if (!rd_same_origin(req))
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
	int rc = rd_login_begin(req, vendor, email, password, login_done);
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

static int by_token_id(const void *a, const void *b)
{
	uint64_t x = ((const struct rd_token *)a)->id, y = ((const struct rd_token *)b)->id;
	return (x > y) - (x < y);
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
	/* The vendor's tokens (the caller's own, for a scope of its own) by the
	 * tokens' user index, vendor then user: a walk of every token was every
	 * vendor's sessions too.  Answered in id order, as the walk was. */
	uint8_t from[16], to[16];
	rd_key_put_u64(from, c.who.vendor);
	rd_key_put_u64(from + 8, s == RD_SCOPE_OWN ? c.who.user : 0);
	rd_key_put_u64(to, s == RD_SCOPE_OWN ? c.who.vendor : c.who.vendor + 1);
	rd_key_put_u64(to + 8, s == RD_SCOPE_OWN ? c.who.user + 1 : 0);
	struct rd_token *toks = NULL;
	size_t n = 0, cap = 0;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_index(&it, t, c.app->domain->tokens, RD_IDX_TOKEN_USER, 0, from, 16, to, 16);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (n == cap)
			toks = rd_realloc(toks, (cap = cap ? cap * 2 : 16) * sizeof *toks);
		if (rd_entity_decode(&rd_entity_token, item.val, item.len, &toks[n]) < 0 ||
		    toks[n].vendor_id != c.who.vendor || toks[n].kind != RD_TOKEN_API ||
		    (s == RD_SCOPE_OWN && toks[n].user_id != c.who.user))
			continue;
		n++;
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc < 0) {
		free(toks);
		return rc;
	}
	qsort(toks, n, sizeof *toks, by_token_id);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, rd_entity_to_json(&rd_entity_token, &toks[i]));
	free(toks);
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
	/* The rules are the service's, shared with the console's settings form. */
	struct rd_txn *t;
	struct rd_serr e = { 0 };
	if ((rc = rd_store_read(c.app->store, &t)) < 0)
		return rc;
	rc = rd_vendor_settings_check(t, c.app, &p.v, &c.vendor, &e);
	rd_txn_end(t);
	if (rc == RD_EINVAL) {
		rd_reply_error(req, 400, "invalid", e.field, "%s", e.message);
		return 0;
	}
	if (rc < 0)
		return rc;
	p.before = vendor_json(&c.vendor);
	rc = rd_store_write(c.app->store, vendor_write, &p);
	json_decref(p.before);
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, vendor_json(&p.v));
	return 0;
}
