/*
 * call.c: who is calling (a bearer token or a session cookie), what the
 * caller may see, and password logins, for the API and the pages alike.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "edge/call.h"
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
const char *rd_cookie_find(const char *header, const char *name, size_t *len)
{
	size_t n = strlen(name);
	const char *c = header;
	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		if (!strncmp(c, name, n) && c[n] == '=') {
			*len = strcspn(c + n + 1, ";");
			return c + n + 1;
		}
		c = strchr(c, ';');
	}
	return NULL;
}

static const char *token_of(const char *auth, const char *cookie, char *out, size_t cap, bool *session)
{
	*session = false;
	if (auth)
		return strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : "";
	size_t n;
	const char *v = rd_cookie_find(cookie, COOKIE, &n);
	if (!v)
		return NULL;
	if (n >= cap)
		return "";
	memcpy(out, v, n);
	out[n] = 0;
	*session = true;
	return out;
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
	rd_key_put_u64(key, w->partner);
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

/* ---- the principal cache ----------------------------------------------------
 * The token, user and vendor records a successful authentication decoded,
 * kept per token (64 slots, by the token's text).  While the store holds
 * byte-identical records under the same ids, the decoded token, user and
 * vendor are taken from here instead of decoded again; any change to one of
 * them (a revoked token, a disabled user, a new role, the vendor's settings)
 * changes its bytes, so the next request decodes afresh and sees it.
 *
 * Each entry also remembers the store's snapshot (rd_txn_snapshot) in which
 * its records were last found unchanged, and the caller's scope loaded in
 * it.  A request whose read transaction sees that same snapshot sees a store
 * in which nothing at all was written since, so the records are unchanged
 * without looking: the token's hash, its index look-up, the three records'
 * comparison and the scope's walk are skipped.  Any write (a revocation
 * included) makes a new snapshot, and the next request compares the bytes
 * again.  The token's text is compared in constant time and wiped when its
 * entry is dropped.  Expiry, the token's place and the user's and vendor's
 * flags are checked on every request. */
#define PCACHE_SLOTS 64
struct pentry {
	char token[RD_TOKEN_LEN + 1];
	char hash[RD_TOKEN_HASH_HEX];
	uint64_t token_id;
	uint64_t snap; /* the snapshot the records were last found unchanged in; 0: none */
	struct rd_principal who; /* the caller, its scope loaded in snapshot snap */
	uint8_t *raw; /* the three records' bytes, one after the other */
	size_t len[3];
	struct rd_token tok;
	struct rd_user user;
	struct rd_vendor vendor;
};
static struct pentry *pcache[PCACHE_SLOTS];
static pthread_mutex_t pcache_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned pslot(const char *token)
{
	unsigned h = 2166136261u;
	for (const char *p = token; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % PCACHE_SLOTS;
}

static void pentry_free(struct pentry *e)
{
	if (!e)
		return;
	rd_wipe(e->token, sizeof e->token);
	free(e->raw);
	free(e);
}

/* The raw records of a token: the token, its user, its vendor. */
static bool raw_records(struct rd_txn *t, struct rd_domain *d, uint64_t id, uint64_t vendor, uint64_t user,
			const void *raw[3], size_t len[3])
{
	return rd_txn_get(t, d->tokens, 0, id, &raw[0], &len[0]) == 0 &&
	       rd_txn_get(t, d->users, vendor, user, &raw[1], &len[1]) == 0 &&
	       rd_txn_get(t, d->vendors, 0, vendor, &raw[2], &len[2]) == 0;
}

/* A token whose entry was checked in this very snapshot: its records and
 * the caller's scope, without looking at the store. */
static bool pcache_same(uint64_t snap, const char *token, uint64_t *id, struct rd_token *tok, struct rd_user *user,
			struct rd_vendor *vendor, struct rd_principal *who)
{
	if (!snap || strlen(token) != RD_TOKEN_LEN)
		return false;
	pthread_mutex_lock(&pcache_lock);
	struct pentry *e = pcache[pslot(token)];
	bool hit = e && e->snap == snap && rd_hash_equal(e->token, token);
	if (hit) {
		*id = e->token_id;
		*tok = e->tok;
		*user = e->user;
		*vendor = e->vendor;
		*who = e->who;
	}
	pthread_mutex_unlock(&pcache_lock);
	return hit;
}

static bool pcache_get(struct rd_txn *t, struct rd_domain *d, const char *token, const char *hash, uint64_t id,
		       struct rd_token *tok, struct rd_user *user, struct rd_vendor *vendor)
{
	bool hit = false;
	pthread_mutex_lock(&pcache_lock);
	struct pentry *e = pcache[pslot(token)];
	const void *raw[3];
	size_t len[3];
	if (e && e->token_id == id && !strcmp(e->hash, hash) &&
	    raw_records(t, d, id, e->tok.vendor_id, e->tok.user_id, raw, len)) {
		hit = true;
		size_t off = 0;
		for (int i = 0; i < 3 && hit; i++) {
			hit = len[i] == e->len[i] && memcmp(raw[i], e->raw + off, len[i]) == 0;
			off += e->len[i];
		}
	}
	if (hit) {
		*tok = e->tok;
		*user = e->user;
		*vendor = e->vendor;
	}
	pthread_mutex_unlock(&pcache_lock);
	return hit;
}

static void pcache_put(struct rd_txn *t, struct rd_domain *d, const char *token, const char *hash, uint64_t id,
		       const struct rd_token *tok, const struct rd_user *user, const struct rd_vendor *vendor)
{
	const void *raw[3];
	size_t len[3];
	if (strlen(token) != RD_TOKEN_LEN || !raw_records(t, d, id, tok->vendor_id, tok->user_id, raw, len))
		return;
	struct pentry *e = rd_calloc(1, sizeof *e);
	memcpy(e->token, token, RD_TOKEN_LEN + 1);
	snprintf(e->hash, sizeof e->hash, "%s", hash);
	e->token_id = id;
	e->raw = rd_malloc(len[0] + len[1] + len[2] + 1);
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(e->raw + off, raw[i], len[i]);
		e->len[i] = len[i];
		off += len[i];
	}
	e->tok = *tok;
	e->user = *user;
	e->vendor = *vendor;
	pthread_mutex_lock(&pcache_lock);
	unsigned slot = pslot(token);
	struct pentry *old = pcache[slot];
	pcache[slot] = e;
	pthread_mutex_unlock(&pcache_lock);
	pentry_free(old);
}

/* The token's records were found unchanged (or just decoded) in snapshot
 * snap, and who is the caller with its scope loaded in it. */
static void pcache_seen(uint64_t snap, const char *token, uint64_t id, const struct rd_principal *who)
{
	if (!snap)
		return;
	pthread_mutex_lock(&pcache_lock);
	struct pentry *e = pcache[pslot(token)];
	if (e && e->token_id == id && rd_hash_equal(e->token, token)) {
		e->snap = snap;
		e->who = *who;
	}
	pthread_mutex_unlock(&pcache_lock);
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
	struct rd_token tok;
	struct rd_user user;
	struct rd_principal who;
	uint64_t id = 0, snap = rd_store_snapshot(c->app->store);
	/* same: nothing was written since this token's records were last
	 * checked (no read transaction is needed to know it); hit: its records
	 * are byte-identical to the cached ones. */
	bool same = token && pcache_same(snap, token, &id, &tok, &user, &c->vendor, &who), hit = same;
	struct rd_txn *t = NULL;
	int rc = 0;
	if (!same) {
		if ((rc = rd_store_read(c->app->store, &t)) < 0)
			return rc;
		snap = rd_txn_snapshot(t);
	}
	/* frc: a look-up's failure; only RD_ENOTFOUND says the caller is
	 * unknown: any other (the database lost) is answered as what it is,
	 * never as a token to throw away. */
	int frc = 0;
	*why = NULL;
	if (!token)
		*why = "no token";
	else if (!same && !rd_token_hash(token, hash))
		*why = "the token is malformed";
	else if (!same && (frc = rd_index_find(t, d->tokens, "hash", 0, hash, strlen(hash) + 1, &id)) < 0)
		*why = "the token is not known";
	else if (!same && !(hit = pcache_get(t, d, token, hash, id, &tok, &user, &c->vendor)) &&
		 ((frc = rd_entity_get(t, d->tokens, &rd_entity_token, 0, id, &tok)) < 0 || !rd_hash_equal(tok.hash, hash)))
		*why = "the token is not known";
	if (*why) {
		/* unknown: said above */
	} else if (tok.revoked_at)
		*why = "the token was revoked";
	else if (tok.expires_at && tok.expires_at <= now_s())
		*why = "the token has expired";
	else if (session != (tok.kind == RD_TOKEN_SESSION))
		*why = "the token is used in the wrong place";
	else if ((!hit && (frc = rd_entity_get(t, d->users, &rd_entity_user, tok.vendor_id, tok.user_id, &user)) < 0) ||
		 user.disabled)
		*why = "the user is disabled or gone";
	else if (!hit && (frc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, tok.vendor_id, &c->vendor)) < 0)
		*why = "the vendor is gone";
	else if (c->vendor.suspended)
		*why = "the vendor is suspended by the platform operator";
	if (frc < 0 && frc != RD_ENOTFOUND) {
		rd_txn_end(t);
		*why = NULL;
		return frc;
	}
	if (*why) {
		rd_txn_end(t);
		return RD_EINVAL;
	}
	if (same) {
		c->who = who;
		c->who.session = session;
		rc = 0;
	} else {
		if (!hit)
			pcache_put(t, d, token, hash, id, &tok, &user, &c->vendor);
		c->who = (struct rd_principal){ .vendor = tok.vendor_id, .user = user.id, .partner = user.partner_id,
						.role = user.role, .token = tok.id, .session = session };
		rc = load_scope(c, t);
		if (rc == 0)
			pcache_seen(snap, token, id, &c->who);
	}
	rd_txn_end(t);
	if (req && rc == 0)
		rd_req_set_who(req, c->who.vendor, c->who.user); /* the access log names the caller */
	return rc;
}

static const char *cross_site_why(struct rd_req *req);

int rd_call_begin(struct rd_req *req, struct call *c)
{
	bool session;
	const char *token = presented_token(req, &session), *why;
	/* The session cookie is a browser's ambient credential (SameSite=Lax:
	 * sent from a sibling subdomain, and a text/plain POST needs no CORS
	 * preflight): a request that changes something with it must come from
	 * this site, by the login's rule.  Bearer tokens are not ambient. */
	unsigned m = rd_req_method(req);
	const char *cross = token && session && !(m & (RD_GET | RD_HEAD | RD_OPTIONS)) ? cross_site_why(req) : NULL;
	if (cross) {
		memset(c, 0, sizeof *c);
		rd_reply_error(req, 403, "cross_site", NULL,
			       "a change made with the session cookie must come from this site's own pages: %s", cross);
		return RD_EINVAL;
	}
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
	} else if (rc == RD_EBUSY) { /* the store is unreachable (a PostgreSQL store's database is down) */
		rd_reply_error(req, 503, "unavailable", NULL, "the store is unavailable: try again later");
	} else if (rc < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the caller could not be checked: %s", rd_strerror(rc));
	}
	return rc;
}

int rd_call_credentials_ok(void *app, const char *authorization, const char *cookie, bool *bulk)
{
	char buf[RD_TOKEN_LEN + 2];
	bool session;
	const char *token = token_of(authorization, cookie, buf, sizeof buf, &session), *why;
	*bulk = false;
	if (!token || !*token)
		return 0;
	struct call *c = rd_calloc(1, sizeof *c);
	int rc = authenticate(app, NULL, c, token, session, &why);
	/* The bulk routes: imports, document uploads, payment files. */
	uint8_t role = c->who.role;
	*bulk = rc == 0 && (rd_authz(role, RD_RES_IMPORT, RD_ACT_CREATE) != RD_SCOPE_NONE ||
			    rd_authz(role, RD_RES_CONTRACT, RD_ACT_UPDATE) != RD_SCOPE_NONE ||
			    rd_authz(role, RD_RES_ORDER, RD_ACT_UPDATE) != RD_SCOPE_NONE);
	free(c);
	/* Only RD_EINVAL says the credentials are wrong; any other failure is
	 * the store's, answered as such by the edge. */
	return rc == 0 ? 1 : rc == RD_EINVAL ? 0 : rc;
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
 * contracts: 1 it is, 0 it is not, < 0 the store failed to say. */
static int customer_in_scope(struct call *c, struct rd_txn *t, uint64_t customer)
{
	uint8_t key[8];
	rd_key_put_u64(key, customer);
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
	return yes ? 1 : rc < 0 ? rc : 0;
}

/* Whether every contract of the customer that is not cancelled is in the
 * caller's channel: only then is the customer's identity (its e-mail, the
 * address its portal links go to, its contacts) the partner's to change.
 * A customer with no such contract is nobody's in particular: the vendor's. */
int rd_call_customer_owned(struct call *c, struct rd_txn *t, uint64_t customer)
{
	uint8_t key[8];
	rd_key_put_u64(key, customer);
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
	return rc < 0 ? rc : any && all;
}

int rd_call_opportunity(struct call *c, enum rd_scope scope, struct rd_txn *t, uint64_t id, struct rd_opportunity *o)
{
	int rc = id ? rd_entity_get(t, c->app->domain->opportunities, &rd_entity_opportunity, c->who.vendor, id, o)
		    : RD_ENOTFOUND;
	if (rc == 0 && scope != RD_SCOPE_ALL && !rd_call_in_scope(c, o->reseller_id) &&
	    !rd_call_in_scope(c, o->distributor_id))
		rc = RD_ENOTFOUND;
	return rc;
}

int rd_call_visible(struct call *c, struct rd_txn *t, enum rd_resource res, const void *obj)
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
		return 0;
	}
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
	rd_login_done_fn done; /* answers: JSON for the API, redirects for the form */
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
		x->done(req, &(struct rd_login_result){ .outcome = RD_LOGIN_WRONG });
		goto out;
	}
	rd_token_new(x->l.token, x->l.token_hash);
	int rc = rd_store_write(x->app->store, session_write, x);
	if (rc == RD_EBUSY) { /* an import's rows hold the store's writer (rd_store_write_long) */
		rd_reply_error(req, 503, "unavailable", NULL,
			       "the session could not be stored now (the store is busy, e.g. writing an import): "
			       "try again in a moment");
		goto out;
	}
	if (rc < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the session could not be stored: %s", rd_strerror(rc));
		goto out;
	}
	char cookie[160];
	snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", x->l.token,
		 SESSION_TTL_S, rd_cookie_secure(x->app));
	rd_reply_header(req, "set-cookie", cookie);
	x->done(req, &(struct rd_login_result){ .outcome = RD_LOGIN_OK, .vendor = x->l.vendor, .user = x->l.user,
						.role = x->role, .expires_at = x->l.expires });
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

int rd_login_begin(struct rd_req *req, const char *vendor, const char *email, const char *password,
		   rd_login_done_fn done)
{
	struct rd_app *app = rd_req_app(req);
	if (strlen(email) >= RD_NAME_MAX || strlen(password) > 256 || strlen(vendor) >= RD_EXT_MAX) {
		done(req, &(struct rd_login_result){ .outcome = RD_LOGIN_TOO_LONG });
		return 0;
	}
	struct login_ctx *x = rd_calloc(1, sizeof *x);
	x->app = app;
	x->done = done;
	char em[RD_NAME_MAX];
	snprintf(em, sizeof em, "%s", email);
	lower(em);
	snprintf(x->l.limit_key, sizeof x->l.limit_key, "%s/%s", vendor, em);
	unsigned retry;
	const char *peer = rd_req_client_key(req);
	if (!rd_login_allowed(x->l.limit_key, now_s(), &retry) || !rd_login_allowed(peer, now_s(), &retry)) {
		char ra[16];
		snprintf(ra, sizeof ra, "%u", retry);
		rd_reply_header(req, "retry-after", ra);
		done(req, &(struct rd_login_result){ .outcome = RD_LOGIN_TOO_MANY, .retry_after = retry });
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
			x->l.vendor = v.suspended ? 0 : v.id; /* a suspended vendor's users may not sign in */
			break;
		}
	}
	rd_iter_close(&it);
	uint64_t uid;
	struct rd_user u;
	if (rc >= 0 && x->l.vendor &&
	    (rc = rd_index_find(t, app->domain->users, "email", x->l.vendor, em, strlen(em) + 1, &uid)) == 0 &&
	    (rc = rd_entity_get(t, app->domain->users, &rd_entity_user, x->l.vendor, uid, &u)) == 0 && !u.disabled) {
		x->l.user = u.id;
		x->role = u.role;
		memcpy(x->l.hash, u.password_hash, sizeof x->l.hash);
	}
	rd_txn_end(t);
	/* Only "not found" says the vendor or user is unknown: a look-up the
	 * store failed (the database lost, a statement timeout) is answered as
	 * what it is (503), never as a wrong password, and not counted against
	 * the caller by the failed-login limiter. */
	if (rc < 0 && rc != RD_ENOTFOUND) {
		free(x);
		return rc;
	}
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

/* ---- login CSRF ------------------------------------------------------------ */

/* The host[:port] of a URL (scheme://authority/...) into out, lower case,
 * without the scheme's default port; false when it has no authority. */
static bool authority(const char *url, char *out, size_t cap)
{
	const char *a = strstr(url, "://");
	if (!a)
		return false;
	bool https = strncasecmp(url, "https", 5) == 0;
	a += 3;
	size_t n = strcspn(a, "/?#");
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)a[i]);
	out[n] = 0;
	const char *dflt = https ? ":443" : ":80";
	if (n > strlen(dflt) && !strcmp(out + n - strlen(dflt), dflt))
		out[n - strlen(dflt)] = 0;
	return true;
}

/* Why a browser's request comes from another site (NULL: it does not, or it
 * carries none of these headers: a script). */
static const char *cross_site_why(struct rd_req *req)
{
	const char *site = rd_req_header(req, "sec-fetch-site"), *origin = rd_req_header(req, "origin");
	const char *from = origin ? origin : rd_req_header(req, "referer"), *why = NULL;
	/* A browser that sends Sec-Fetch-Site is believed (no page can forge
	 * it); Origin is then often "null" (the pages' Referrer-Policy is
	 * no-referrer).  Only without it do Origin and Referer decide. */
	if (site) {
		if (strcasecmp(site, "same-origin") && strcasecmp(site, "none"))
			why = "the browser marks it as sent from another site";
	} else if (from) {
		const struct rd_app *app = rd_req_app(req);
		const char *host = rd_req_header(req, "host"), *pub = app->config ? app->config->public_url : NULL;
		char got[256], want[256], hp[300];
		snprintf(hp, sizeof hp, "http://%s", host ? host : "");
		bool ok = authority(from, got, sizeof got) &&
			  ((host && authority(hp, want, sizeof want) && !strcmp(got, want)) ||
			   (pub && authority(pub, want, sizeof want) && !strcmp(got, want)));
		if (!ok)
			why = origin ? "its Origin is another site" : "its Referer is another site";
	}
	return why;
}

bool rd_same_origin(struct rd_req *req)
{
	const char *why = cross_site_why(req);
	if (!why)
		return true;
	rd_reply_error(req, 403, "cross_site", NULL, "a login must come from this site's own page: %s", why);
	return false;
}
