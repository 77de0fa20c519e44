/*
 * call.h: the context of one authenticated call, shared by the API's
 * handlers (core/api) and the pages (core/web): who is calling, logins,
 * list paging, the one Cookie parser.
 */
#ifndef RD_EDGE_CALL_H
#define RD_EDGE_CALL_H

#include "edge/app.h"
#include "auth/auth.h"
#include "domain/audit.h"
#include "domain/jsonw.h"
#include "domain/model.h"

struct rd_txn;

struct call {
	struct rd_req *req;
	struct rd_app *app;
	struct rd_principal who;
	struct rd_vendor vendor; /* the caller's vendor */
};

/* Authenticates the request (bearer token or session cookie) and loads the
 * caller's vendor and partner scope.  On failure it has replied 401 and
 * returns < 0: the handler returns 0. */
int rd_call_begin(struct rd_req *req, struct call *c);

/* Whether the credentials of a request not yet read (an Authorization or a
 * Cookie header value; either may be NULL) verify as rd_call_begin would
 * take them: 1 they do, 0 they do not, < 0 the store failed to look them
 * up (the HTTP edge answers 503, never "too large" for the small limit);
 * and in *bulk whether the caller's role may use a bulk route (create
 * imports, update contracts or orders).  The HTTP edge asks it to choose a
 * body limit. */
int rd_call_credentials_ok(void *app, const char *authorization, const char *cookie, bool *bulk);

/* The same for a page: the session token from the cookie, no reply on
 * failure (the page redirects to its login instead). */
int rd_call_session(struct rd_req *req, struct call *c, const char *token);

/* How a password login ended, for the caller's answer. */
enum rd_login_outcome {
	RD_LOGIN_OK,        /* the session cookie is set on the reply */
	RD_LOGIN_WRONG,     /* unknown vendor or e-mail, wrong password, disabled user */
	RD_LOGIN_TOO_LONG,  /* a field is longer than any account's */
	RD_LOGIN_TOO_MANY,  /* the failed-login limiter refused (Retry-After is set) */
};
struct rd_login_result {
	enum rd_login_outcome outcome;
	unsigned retry_after;   /* RD_LOGIN_TOO_MANY: seconds */
	uint64_t vendor, user;  /* RD_LOGIN_OK */
	uint8_t role;
	uint64_t expires_at;
};
/* Answers the request (JSON for the API, redirects for the login form);
 * called on the loop, r valid during the call only. */
typedef void (*rd_login_done_fn)(struct rd_req *req, const struct rd_login_result *r);

/* A password login, from the API or the login form.  Verifies on the
 * thread pool; sets the session cookie; done answers (a store failure
 * storing the session answers 503/500 itself).  A store failure looking the
 * vendor or user up returns < 0 unanswered (the handler returns it: 503 for
 * RD_EBUSY), never RD_LOGIN_WRONG. */
int rd_login_begin(struct rd_req *req, const char *vendor, const char *email, const char *password,
		   rd_login_done_fn done);

/* Login CSRF: a login (the form or POST /api/v1/session) is refused when
 * the browser says it comes from another site: Sec-Fetch-Site other than
 * same-origin or none, or, when the browser sends no Sec-Fetch-Site, an
 * Origin (else a Referer) whose host is neither
 * the request's Host nor public_url's.  A request with none of them (a
 * script, curl) passes.  Needs no cookie, so a first visit works.  On a
 * refusal answers 403 (JSON) and returns false. */
bool rd_same_origin(struct rd_req *req);

/* The one Cookie header parser: the value of cookie name in the header
 * (NULL when absent), *len its length (the value is not terminated). */
const char *rd_cookie_find(const char *header, const char *name, size_t *len);

/* Authorises an action on a resource; replies 403 and returns
 * RD_SCOPE_NONE when it is not allowed. */
enum rd_scope rd_call_allow(struct call *c, enum rd_resource res, enum rd_action action);

/* Whether a partner-scoped caller may see a record of this resource: 1 it
 * may, 0 it may not, < 0 the store failed to say (the caller answers the
 * store's failure, 503 for RD_EBUSY: never "not found" or "not yours").
 * Named apart from the old yes/no rd_call_sees so that no `!` test of it
 * survives a merge. */
int rd_call_visible(struct call *c, struct rd_txn *t, enum rd_resource res, const void *obj);
bool rd_call_in_scope(const struct call *c, uint64_t partner);
/* Reads opportunity id as the caller may see it with scope (all: any of
 * the vendor's; own: its partner's or its distributor's); RD_ENOTFOUND
 * when there is none or the caller may not see it. */
int rd_call_opportunity(struct call *c, enum rd_scope scope, struct rd_txn *t, uint64_t id, struct rd_opportunity *o);
/* Inside a transaction, for a change whose caller was authenticated before
 * a wait (its password hashed on the thread pool): whether the caller is
 * still who it was: its token neither revoked nor expired, its user
 * neither disabled nor gone nor given another role or partner, its vendor
 * not suspended.  0 yes; RD_EINVAL no (why says what); < 0 the store's
 * error.  A revocation committed during the wait stops the change. */
int rd_call_recheck(struct call *c, struct rd_txn *t, const char **why);
/* Answers 401 for rd_call_recheck's why, as rd_call_begin does. */
void rd_call_reply_unauthenticated(struct rd_req *req, const char *why);

/* The customers a partner-scoped caller sees (RD_RES_CUSTOMER's rule: a
 * customer of a contract whose reseller or distributor is in its scope),
 * read from the contracts' reseller and distributor indexes, so that a
 * partner's customer list costs its own contracts, not the vendor's every
 * customer.  Ascending, each once, into *ids (malloc'd: free it); 0, or
 * the store's error. */
int rd_call_scope_customers(struct call *c, struct rd_txn *t, uint64_t **ids, size_t *n);
/* The same for the contracts it sees (RD_RES_CONTRACT's rule: reseller or
 * distributor in its scope), from the same two indexes. */
int rd_call_scope_contracts(struct call *c, struct rd_txn *t, uint64_t **ids, size_t *n);
/* Whether a partner-scoped caller may change the customer's identity (its
 * record and its contacts): every contract of the customer that is not
 * cancelled is in the caller's channel, and there is one.  1 yes, 0 no,
 * < 0 the store failed to say. */
int rd_call_customer_owned(struct call *c, struct rd_txn *t, uint64_t customer);

/* One page of a list (page.c): begin parses limit and cursor (and, when
 * known is given, refuses other query parameters), replying 400 itself;
 * add takes items in id order until the page is full (then returns false);
 * finish replies, or frees on rc < 0 and returns rc. */
struct rd_page {
	struct rd_req *req;
	uint64_t limit, cursor, n, last;
	bool more;
	json_t *items;
	struct rd_txn *t; /* rd_page_records: its read transaction, while row() runs */
	struct rd_jsonw *raw; /* rd_page_raw: the items are written there (domain/jsonw.h) */
};
int rd_page_begin(struct rd_page *p, struct rd_req *req, const char *const *known);
bool rd_page_add(struct rd_page *p, uint64_t id, json_t *j);
/* Items written as text instead of trees: after rd_page_begin, the page's
 * envelope goes into w (grown in the request's pool), rd_page_room says
 * whether another item fits (false: the page is full, next_cursor follows)
 * and puts the comma before it, the caller writes the item, then
 * rd_page_wrote(id); rd_page_finish closes the envelope and replies.  The
 * bytes are the tree path's. */
void rd_page_raw(struct rd_page *p, struct rd_jsonw *w);
static inline bool rd_page_room(struct rd_page *p)
{
	if (p->n == p->limit) {
		p->more = true;
		return false;
	}
	if (p->n)
		rd_jsonw_raw(p->raw, ",", 1);
	return true;
}
static inline void rd_page_wrote(struct rd_page *p, uint64_t id)
{
	p->last = id;
	p->n++;
}
/* A writer whose buffer is taken from req's pool (freed with the request). */
void rd_jsonw_for_req(struct rd_jsonw *w, struct rd_req *req, size_t cap);
int rd_page_finish(struct rd_page *p, int rc);
/* A whole list handler's walk: the table's records after the page's
 * cursor, in id order, each decoded and given to row(ctx, obj), which
 * returns its JSON or NULL to leave it out; then finish. */
typedef json_t *(*rd_page_row_fn)(void *ctx, const void *obj);
int rd_page_records(struct rd_page *p, struct call *c, struct rd_table *tb, const struct rd_entity *e, rd_page_row_fn row,
		    void *ctx);
/* rd_page_records for a partner-scoped caller (a partner role with a scope):
 * only the records under one of the caller's scope partners in one of the
 * n indexes (8-byte partner id keys, model.h RD_IDX_PARTNER*), in id order
 * after the cursor: O(the partner's own records), not the vendor's table.
 * row still decides on each record, so the page is the one the table walk
 * gives as long as every record row keeps has an entry under a scope
 * partner in one of the indexes.  Any other caller: rd_page_records. */
/* The ids after `after` of tb's records under one of the caller's scope
 * partners in one of the n indexes (8-byte partner id keys), ascending and
 * each once, into *ids (malloc'd: free it); none for a caller of no scope. */
int rd_call_scope_ids(struct call *c, struct rd_txn *t, struct rd_table *tb, const char *const *indexes, size_t n,
		      uint64_t after, uint64_t **ids, size_t *n_ids);
int rd_page_records_scoped(struct rd_page *p, struct call *c, struct rd_table *tb, const struct rd_entity *e,
			   const char *const *indexes, size_t n, rd_page_row_fn row, void *ctx);
/* An enum filter of a list: the query parameter (when given) must be one of
 * names (NULL-terminated; a leading "" is skipped, as in a field's names),
 * else a 400 naming the parameter and its values is replied, the page let
 * go, and RD_EINVAL returned (the handler returns 0).  _field takes the
 * names of an entity's enum field. */
int rd_page_enum(struct rd_page *p, const char *param, const char *const *names);
int rd_page_enum_field(struct rd_page *p, const char *param, const struct rd_entity *e, const char *field);
/* j when its string member key is want (or want is NULL); else frees j
 * and returns NULL: a filter on a value as the API shows it. */
json_t *rd_page_if(json_t *j, const char *key, const char *want);

/* Renders the quote PDF on the thread pool and replies with it (attachment,
 * named after the quote number); takes q (malloc'd).  < 0 when the work
 * could not be queued (q freed, nothing replied). */
struct rd_quote_doc;
int rd_quote_reply(struct rd_req *req, struct rd_quote_doc *q);

/* The one map from a service's answer (services/service.h) to an HTTP
 * status, shared by the API and the pages (reply.c):
 *   RD_EINVAL 400, RD_ENOTFOUND 404, RD_EEXISTS 409, RD_ETOOBIG 413, RD_ERANGE 422,
 *   -EIO 502 (a plugin failed), RD_EBUSY 503, -ETIMEDOUT 504, other 500. */
struct rd_serr;
int rd_serr_status(int rc);
/* Replies the JSON error of e with its status. */
void rd_reply_serr(struct rd_req *req, const struct rd_serr *e);

/* Answers with a document's file: its type, and a download under its name. */
void rd_document_reply(struct rd_req *req, const struct rd_document *doc, const void *bytes, size_t len);

/* Parses an unsigned id from a path parameter; 0 when malformed. */
uint64_t rd_parse_id(const char *s);

#endif
