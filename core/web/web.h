/*
 * web.h: the server-rendered pages (customer portal, partner portal, sales
 * view, vendor console).  Pages are Mustache templates from the branding
 * pack ("page/NAME.html" inside "page/layout.html"); every value is escaped
 * by the renderer; every form carries a CSRF token; every response carries
 * the security headers.
 */
#ifndef RD_WEB_WEB_H
#define RD_WEB_WEB_H

#include <jansson.h>
#include <stdbool.h>

#include "edge/call.h"

/* Who is looking at a page. */
struct web {
	struct rd_req *req;
	struct rd_app *app;
	bool user;              /* a logged-in user (who is filled) */
	bool customer;          /* a customer session from a link */
	struct call c;          /* user sessions: the caller, vendor and scope */
	struct rd_token tok;    /* the session record */
	struct rd_vendor vendor;
	char csrf[65];
};

/* A look-up the store failed (a database lost, a statement past its
 * timeout, an LMDB error): answers 503, a page saying the service is
 * briefly unavailable, with Retry-After.  Never a 401/404 or a redirect to a
 * login: the store's trouble is not the caller's. */
void rd_web_unavailable(struct web *w);

/* Authenticates a user page (the rd_session cookie); without one, redirects
 * to /login and returns < 0.  A look-up the store fails answers 503 (a page,
 * Retry-After) and returns < 0: the session is kept, never taken as unknown. */
int rd_web_user(struct rd_req *req, struct web *w);
/* Authenticates a customer page (the rd_customer cookie); without one,
 * answers 401 with a page explaining that links expire, and returns < 0.  A
 * look-up the store fails answers 503 as rd_web_user does. */
int rd_web_customer(struct rd_req *req, struct web *w);

/* The form field of a url-encoded POST body, decoded into the request
 * pool; NULL when absent. */
const char *rd_form(struct rd_req *req, const char *name);
/* A field given more than once (checkboxes of one name): its next value
 * from *at (0 to begin; moved past it), decoded as rd_form's; NULL after the last. */
const char *rd_form_next(struct rd_req *req, const char *name, size_t *at);
/* Checks the form's csrf field against the session's; on a mismatch
 * answers 403 and returns false. */
bool rd_web_csrf_ok(struct web *w);

/* Renders page/NAME.html inside the layout with ctx (stolen) and replies.
 * The branding comes from partner (0: the vendor's). */
void rd_web_page(struct web *w, int status, const char *name, uint64_t partner, json_t *ctx);
/* A short page with a title and a sentence (errors, confirmations). */
void rd_web_message(struct web *w, int status, const char *title, const char *text);
/* The server's page_error (http/server.h): a browser's 404, 405 or 413 outside
 * /api/ as a page saying so. */
bool rd_web_route_error(struct rd_req *req, int status);
void rd_web_redirect(struct rd_req *req, const char *to);
/* Adds the security headers every page carries. */
void rd_web_headers(struct rd_req *req);

/* Brand context of a partner (or the vendor when NULL). */

/* Page handlers (routes.c). */
int rd_page_login(struct rd_req *req);
int rd_page_login_post(struct rd_req *req);
int rd_page_logout(struct rd_req *req);
int rd_page_link(struct rd_req *req);
int rd_page_portal(struct rd_req *req);
int rd_page_portal_quote(struct rd_req *req);
int rd_page_portal_accept(struct rd_req *req);
int rd_page_portal_purchase(struct rd_req *req);
int rd_page_portal_request(struct rd_req *req);
int rd_page_portal_order(struct rd_req *req);
int rd_page_portal_order_view(struct rd_req *req);
int rd_page_portal_invoice(struct rd_req *req);
int rd_page_partner(struct rd_req *req);
int rd_page_partner_decide(struct rd_req *req);
int rd_page_partner_opportunity(struct rd_req *req);
int rd_page_static(struct rd_req *req);
int rd_page_static_pack(struct rd_req *req);

/* The quote's lines as the customer sees them (no margins; optional lines
 * marked, chosen when their SKU is in selected, or as stored when selected
 * is NULL) and their sums (rd_quote_total); NULL when the sums do not fit
 * in an amount (pages.c). */
json_t *rd_web_quote_lines(const struct rd_opportunity *o, json_t *selected, struct rd_quote_sum *sum);

/* Adds "has_NAME": true/false next to every list NAME in ctx (recursively),
 * for templates that wrap a non-empty list in a table (console.c). */
void rd_web_mark_lists(json_t *ctx);

/* The vendor console (console.c). */
int rd_page_portal_document(struct rd_req *req);
int rd_page_partner_contracts(struct rd_req *req);
int rd_page_partner_customers(struct rd_req *req);
int rd_page_partner_statements(struct rd_req *req);
/* The partner portal's navigation for the role (the sections it may open),
 * current being the page's path. */
json_t *rd_web_partner_nav(uint8_t role, const char *current);
/* Lead distribution (programmes_leads.c): the public web-to-lead form, the
 * partner's offered and accepted leads, the console's leads. */
int rd_page_lead_form(struct rd_req *req);
int rd_page_lead_form_post(struct rd_req *req);
int rd_page_partner_leads(struct rd_req *req);
int rd_page_partner_lead_post(struct rd_req *req);
int rd_page_vendor_leads(struct rd_req *req);
int rd_page_vendor_lead_post(struct rd_req *req);
int rd_page_vendor(struct rd_req *req);
int rd_page_vendor_partners(struct rd_req *req);
int rd_page_vendor_customers(struct rd_req *req);
int rd_page_vendor_products(struct rd_req *req);
int rd_page_vendor_contracts(struct rd_req *req);
int rd_page_vendor_opportunities(struct rd_req *req);
int rd_page_vendor_imports(struct rd_req *req);
int rd_page_vendor_import_post(struct rd_req *req);
int rd_page_vendor_import(struct rd_req *req);
int rd_page_vendor_feeds(struct rd_req *req);
int rd_page_vendor_feed_review_post(struct rd_req *req);
int rd_page_vendor_webhooks(struct rd_req *req);
int rd_page_vendor_webhooks_post(struct rd_req *req);
int rd_page_vendor_webhook_rotate(struct rd_req *req);
int rd_page_vendor_webhook_deliveries(struct rd_req *req);
int rd_page_vendor_webhook_redeliver(struct rd_req *req);
int rd_page_vendor_webhook_inbox(struct rd_req *req);
int rd_page_partner_feeds(struct rd_req *req);
int rd_page_partner_feeds_post(struct rd_req *req);
int rd_page_partner_feed(struct rd_req *req);
int rd_page_vendor_policies(struct rd_req *req);
int rd_page_vendor_policy_upload(struct rd_req *req);
int rd_page_vendor_policy_dry_run(struct rd_req *req);
int rd_page_vendor_policy_activate(struct rd_req *req);
int rd_page_vendor_plugins(struct rd_req *req);
int rd_page_vendor_plugin_enable(struct rd_req *req);
int rd_page_vendor_plugin_disable(struct rd_req *req);
int rd_page_vendor_outbox(struct rd_req *req);
/* The tasks inboxes (console_tasks.c). */
int rd_page_vendor_tasks(struct rd_req *req);
int rd_page_vendor_task_post(struct rd_req *req);
int rd_page_partner_tasks(struct rd_req *req);
int rd_page_partner_task_post(struct rd_req *req);

/* The console's working pages: orders (console_orders.c), a contract's and
 * a customer's page (console_detail.c), users (console_users.c), a
 * message, deciding for a silent partner (console_work.c). */
int rd_page_vendor_orders(struct rd_req *req);
int rd_page_vendor_order(struct rd_req *req);
int rd_page_vendor_order_payment(struct rd_req *req);
int rd_page_vendor_order_refund(struct rd_req *req);
int rd_page_vendor_contract(struct rd_req *req);
int rd_page_vendor_customer(struct rd_req *req);
int rd_page_partner_contract(struct rd_req *req);
int rd_page_partner_customer(struct rd_req *req);
int rd_page_vendor_users(struct rd_req *req);
int rd_page_vendor_users_post(struct rd_req *req);
int rd_page_vendor_user_post(struct rd_req *req);
int rd_page_partner_users(struct rd_req *req);
int rd_page_partner_users_post(struct rd_req *req);
int rd_page_partner_user_post(struct rd_req *req);
int rd_page_vendor_message(struct rd_req *req);
/* The records' forms: partners, customers, products, contracts added and
 * changed (console_records.c). */
int rd_page_vendor_record_new(struct rd_req *req);
int rd_page_vendor_record_create(struct rd_req *req);
int rd_page_vendor_record_edit(struct rd_req *req);
int rd_page_vendor_record_update(struct rd_req *req);
/* The vendor's own settings (console_records.c; the vendor's admins). */
int rd_page_vendor_settings(struct rd_req *req);
int rd_page_vendor_settings_post(struct rd_req *req);
int rd_page_vendor_decide(struct rd_req *req);
/* Margins as a form (console_margins.c). */
int rd_page_vendor_margins(struct rd_req *req);
int rd_page_vendor_margins_post(struct rd_req *req);
/* Reports (reports.c): the dashboard, drill-down, one contract, rankings. */
int rd_page_vendor_reports(struct rd_req *req);
int rd_page_vendor_reports_drill(struct rd_req *req);
int rd_page_vendor_report_contract(struct rd_req *req);
int rd_page_vendor_reports_rankings(struct rd_req *req);
int rd_page_vendor_reports_programme(struct rd_req *req);
int rd_page_vendor_reports_scorecards(struct rd_req *req);
int rd_page_partner_reports(struct rd_req *req);
int rd_page_partner_reports_drill(struct rd_req *req);
int rd_page_partner_report_contract(struct rd_req *req);
int rd_page_partner_reports_rankings(struct rd_req *req);
int rd_page_partner_reports_programme(struct rd_req *req);
int rd_page_partner_reports_scorecards(struct rd_req *req);

/* The sales view (sales.c). */
int rd_page_sales(struct rd_req *req);
int rd_page_sales_amend(struct rd_req *req);
int rd_page_sales_task(struct rd_req *req);

#endif
