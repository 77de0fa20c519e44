/*
 * api.h: the API's handlers (the route table in core/daemon/routes.c lists
 * them) and what the API's files share beyond the edge (core/edge/call.h).
 */
#ifndef RD_API_API_H
#define RD_API_API_H

#include "edge/call.h"


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
/* What the imports' and the feeds' GET handlers share (api/imports.c): one
 * record or the list, filtered by sees (NULL: every one of the vendor's). */
struct rd_import_rec;
typedef bool (*rd_import_seen_fn)(const struct call *c, const struct rd_import_rec *r);
int rd_api_import_reply_one(struct call *c, rd_import_seen_fn sees, const char *noun);
int rd_api_import_reply_list(struct call *c, rd_import_seen_fn sees);
int rd_api_feeds_create(struct rd_req *req);
int rd_api_feeds_get(struct rd_req *req);
int rd_api_feeds_list(struct rd_req *req);
int rd_api_feed_reviews_list(struct rd_req *req);
int rd_api_feed_reviews_accept(struct rd_req *req);
int rd_api_policies_list(struct rd_req *req);
int rd_api_policy_upload(struct rd_req *req);
int rd_api_policy_get(struct rd_req *req);
int rd_api_policy_dry_run(struct rd_req *req);
int rd_api_policy_activate(struct rd_req *req);
int rd_api_plugins_list(struct rd_req *req);
int rd_api_enablements_list(struct rd_req *req);
int rd_api_enablements_create(struct rd_req *req);
int rd_api_enablements_delete(struct rd_req *req);
/* Reports (reports.c; the figures: services/reports.c) */
int rd_api_reports_dashboard(struct rd_req *req);
int rd_api_reports_drilldown(struct rd_req *req);
int rd_api_reports_rankings(struct rd_req *req);
int rd_api_reports_programme(struct rd_req *req);
int rd_api_reports_scorecards(struct rd_req *req);
/* connector-webhook (hooks.c) */
int rd_api_hooks_list(struct rd_req *req);
int rd_api_hooks_create(struct rd_req *req);
int rd_api_hooks_get(struct rd_req *req);
int rd_api_hooks_update(struct rd_req *req);
int rd_api_hooks_delete(struct rd_req *req);
int rd_api_hooks_rotate(struct rd_req *req);
int rd_api_hooks_deliveries(struct rd_req *req);
int rd_api_hooks_redeliver(struct rd_req *req);
int rd_api_hooks_inbox(struct rd_req *req);
int rd_api_hooks_inbox_get(struct rd_req *req);
int rd_api_hooks_inbound(struct rd_req *req);
int rd_api_plugin_probe(struct rd_req *req);
int rd_api_clock_get(struct rd_req *req);
int rd_api_clock_set(struct rd_req *req);
int rd_api_schedule(struct rd_req *req);
int rd_api_opportunities_list(struct rd_req *req);
int rd_api_opportunity_get(struct rd_req *req);
int rd_api_opportunity_decide(struct rd_req *req);
int rd_api_opportunity_quote_pdf(struct rd_req *req);
int rd_api_opportunity_patch(struct rd_req *req);
int rd_api_outbox(struct rd_req *req);
int rd_api_tasks_list(struct rd_req *req);
int rd_api_task_patch(struct rd_req *req);
int rd_api_portal(struct rd_req *req);
int rd_api_portal_action(struct rd_req *req);
int rd_api_links_list(struct rd_req *req);
int rd_api_orders_list(struct rd_req *req);
/* the platform operator (operator.c) */
int rd_api_operator_vendors_list(struct rd_req *req);
int rd_api_operator_vendors_create(struct rd_req *req);
int rd_api_operator_vendor_get(struct rd_req *req);
int rd_api_operator_vendor_suspend(struct rd_req *req);
int rd_api_operator_vendor_resume(struct rd_req *req);
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

/* Lead distribution (leads.c). */
int rd_api_leads_list(struct rd_req *req);
int rd_api_leads_create(struct rd_req *req);
int rd_api_lead_get(struct rd_req *req);
int rd_api_lead_qualify(struct rd_req *req);
int rd_api_lead_route(struct rd_req *req);
int rd_api_lead_accept(struct rd_req *req);
int rd_api_lead_decline(struct rd_req *req);
int rd_api_lead_close(struct rd_req *req);
int rd_api_leads_dry_run(struct rd_req *req);

int rd_api_healthz(struct rd_req *req);
int rd_api_sweep_failures(struct rd_req *req);
int rd_api_metrics(struct rd_req *req);
int rd_api_index(struct rd_req *req);

#endif
