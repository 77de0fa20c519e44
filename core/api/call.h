/*
 * call.h: the context of one authenticated API call, shared by the route
 * handlers in core/api.
 */
#ifndef RD_API_CALL_H
#define RD_API_CALL_H

#include "api/app.h"
#include "auth/auth.h"
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
 * take them, and in *bulk whether the caller's role may use a bulk route
 * (create imports, update contracts or orders).  The HTTP edge asks it to
 * choose a body limit. */
bool rd_call_credentials_ok(void *app, const char *authorization, const char *cookie, bool *bulk);

/* The same for a page: the session token from the cookie, no reply on
 * failure (the page redirects to its login instead). */
int rd_call_session(struct rd_req *req, struct call *c, const char *token);

/* A password login, from the API (JSON replies) or the login form (page:
 * redirects).  Verifies on the thread pool; sets the session cookie. */
int rd_login_begin(struct rd_req *req, const char *vendor, const char *email, const char *password, bool page);

/* Authorises an action on a resource; replies 403 and returns
 * RD_SCOPE_NONE when it is not allowed. */
enum rd_scope rd_call_allow(struct call *c, enum rd_resource res, enum rd_action action);

/* Whether a partner-scoped caller may see a record of this resource. */
bool rd_call_sees(struct call *c, struct rd_txn *t, enum rd_resource res, const void *obj);
bool rd_call_in_scope(const struct call *c, uint64_t partner);
/* Whether a partner-scoped caller may change the customer's identity (its
 * record and its contacts): every contract of the customer that is not
 * cancelled is in the caller's channel, and there is one. */
bool rd_call_owns_customer(struct call *c, struct rd_txn *t, uint64_t customer);

/* Appends an audit entry in the caller's write transaction. before/after
 * may be NULL; they are serialised as JSON (private fields omitted). */
int rd_audit_write(struct rd_txn *t, struct rd_domain *d, uint64_t tenant, uint64_t user, uint8_t action,
		   const char *object, uint64_t object_id, json_t *before, json_t *after, const char *note);

/* One page of a list (page.c): begin parses limit and cursor (and, when
 * known is given, refuses other query parameters), replying 400 itself;
 * add takes items in id order until the page is full (then returns false);
 * finish replies, or frees on rc < 0 and returns rc. */
struct rd_page {
	struct rd_req *req;
	uint64_t limit, cursor, n, last;
	bool more;
	json_t *items;
};
int rd_page_begin(struct rd_page *p, struct rd_req *req, const char *const *known);
bool rd_page_add(struct rd_page *p, uint64_t id, json_t *j);
int rd_page_finish(struct rd_page *p, int rc);
/* A whole list handler's walk: the table's records after the page's
 * cursor, in id order, each decoded and given to row(ctx, obj), which
 * returns its JSON or NULL to leave it out; then finish. */
typedef json_t *(*rd_page_row_fn)(void *ctx, const void *obj);
int rd_page_records(struct rd_page *p, struct call *c, struct rd_table *tb, const struct rd_entity *e, rd_page_row_fn row,
		    void *ctx);
/* j when its string member key is want (or want is NULL); else frees j
 * and returns NULL: a filter on a value as the API shows it. */
json_t *rd_page_if(json_t *j, const char *key, const char *want);

/* Parses an unsigned id from a path parameter; 0 when malformed. */
uint64_t rd_parse_id(const char *s);

/* The create/update rules of a resource, for the importer: fills defaults,
 * checks references and cross-field rules.  0, or RD_EINVAL with the field
 * and reason; *status is 409 for conflicts. */
int rd_crud_prepare(struct call *c, struct rd_txn *t, enum rd_resource res, void *obj, const void *old,
		    const char **field, char *why, size_t whylen);
/* The first field a create needs that obj lacks, or NULL. */
const char *rd_crud_missing(enum rd_resource res, const void *obj);

/* Imports (imports.c). */
struct rd_import;
/* Marks imports a stopped daemon left running as failed (nothing of them
 * was applied: daemon imports write in one transaction at the end). */
int rd_imports_recover(struct rd_app *app);
/* Imports still parsing on the thread pool; cancel asks them to stop. */
bool rd_imports_busy(void);
void rd_imports_cancel(void);

/* Handlers (routes.c lists them). */
int rd_api_session_create(struct rd_req *req);
int rd_api_session_delete(struct rd_req *req);
int rd_api_me(struct rd_req *req);
int rd_api_tokens_list(struct rd_req *req);
int rd_api_tokens_create(struct rd_req *req);
int rd_api_tokens_revoke(struct rd_req *req);
int rd_api_vendor_get(struct rd_req *req);
int rd_api_vendor_patch(struct rd_req *req);
int rd_api_list(struct rd_req *req);
int rd_api_create(struct rd_req *req);
int rd_api_get(struct rd_req *req);
int rd_api_patch(struct rd_req *req);
int rd_api_delete(struct rd_req *req);
int rd_api_audit_list(struct rd_req *req);
int rd_api_duplicates(struct rd_req *req);
int rd_api_merge(struct rd_req *req);
int rd_api_imports_create(struct rd_req *req);
int rd_api_imports_get(struct rd_req *req);
int rd_api_imports_list(struct rd_req *req);
int rd_api_policies_list(struct rd_req *req);
int rd_api_policy_upload(struct rd_req *req);
int rd_api_policy_get(struct rd_req *req);
int rd_api_policy_dry_run(struct rd_req *req);
int rd_api_policy_activate(struct rd_req *req);
int rd_api_plugins_list(struct rd_req *req);
int rd_api_enablements_list(struct rd_req *req);
int rd_api_enablements_create(struct rd_req *req);
int rd_api_enablements_delete(struct rd_req *req);
int rd_api_plugin_probe(struct rd_req *req);
int rd_api_clock_get(struct rd_req *req);
int rd_api_clock_set(struct rd_req *req);
int rd_api_schedule(struct rd_req *req);
int rd_api_opportunities_list(struct rd_req *req);
int rd_api_opportunity_get(struct rd_req *req);
int rd_api_opportunity_decide(struct rd_req *req);
int rd_api_opportunity_quote_pdf(struct rd_req *req);
/* Renders the quote PDF on the thread pool and replies with it (attachment,
 * named after the quote number); takes q (malloc'd).  < 0 when the work
 * could not be queued (q freed, nothing replied). */
struct rd_quote_doc;
int rd_quote_reply(struct rd_req *req, struct rd_quote_doc *q);
int rd_api_opportunity_patch(struct rd_req *req);
int rd_api_outbox(struct rd_req *req);
int rd_api_tasks_list(struct rd_req *req);
int rd_api_task_patch(struct rd_req *req);
int rd_api_portal(struct rd_req *req);
int rd_api_portal_action(struct rd_req *req);
int rd_api_links_list(struct rd_req *req);
int rd_api_orders_list(struct rd_req *req);
int rd_api_orders_create(struct rd_req *req);
int rd_api_order_get(struct rd_req *req);
int rd_api_order_payment(struct rd_req *req);
int rd_api_commissions_list(struct rd_req *req);
int rd_api_statements_list(struct rd_req *req);
int rd_api_statement_get(struct rd_req *req);
int rd_api_statement_csv(struct rd_req *req);
int rd_api_statement_pdf(struct rd_req *req);
json_t *rd_statement_json(const struct rd_statement *st);
int rd_api_payment_webhook(struct rd_req *req);
int rd_api_link_revoke(struct rd_req *req);

#endif
