/* routes.c: every HTTP route renewd serves, in one table.  Literal paths
 * come before {parameter} paths that would also match them.  docs/openapi.yaml
 * describes each row; a test keeps the two in step. */
#include "api/api.h"
#include "api/documents.h"
#include "api/orders.h"
#include "daemon/routes.h"
#include "web/web.h"

const struct rd_route rd_routes[] = {
	{ RD_GET, "/", rd_api_index },
	{ RD_GET, "/healthz", rd_api_healthz },
	{ RD_GET, "/metrics", rd_api_metrics },

	/* Pages (core/web). */
	{ RD_GET, "/login", rd_page_login },
	{ RD_POST, "/login", rd_page_login_post },
	{ RD_POST, "/logout", rd_page_logout },
	{ RD_GET, "/c/{token}", rd_page_link },
	{ RD_GET, "/portal", rd_page_portal },
	{ RD_GET, "/portal/quote.pdf", rd_page_portal_quote },
	{ RD_POST, "/portal/accept", rd_page_portal_accept },
	{ RD_GET, "/portal/purchase", rd_page_portal_purchase },
	{ RD_POST, "/portal/order", rd_page_portal_order },
	{ RD_POST, "/portal/request", rd_page_portal_request },
	{ RD_GET, "/partner", rd_page_partner },
	{ RD_GET, "/partner/opportunities/{id}", rd_page_partner_opportunity },
	{ RD_POST, "/partner/opportunities/{id}/decision", rd_page_partner_decide },
	{ RD_GET, "/partner/contracts", rd_page_partner_contracts },
	{ RD_GET, "/partner/customers", rd_page_partner_customers },
	{ RD_GET, "/partner/statements", rd_page_partner_statements },
	{ RD_GET, "/vendor", rd_page_vendor },
	{ RD_GET, "/vendor/partners", rd_page_vendor_partners },
	{ RD_GET, "/vendor/products", rd_page_vendor_products },
	{ RD_GET, "/vendor/contracts", rd_page_vendor_contracts },
	{ RD_GET, "/vendor/opportunities", rd_page_vendor_opportunities },
	{ RD_GET, "/vendor/imports", rd_page_vendor_imports },
	{ RD_POST, "/vendor/imports", rd_page_vendor_import_post, .bulk = true },
	{ RD_GET, "/vendor/imports/{id}", rd_page_vendor_import },
	{ RD_GET, "/vendor/policies", rd_page_vendor_policies },
	{ RD_POST, "/vendor/policies/{kind}", rd_page_vendor_policy_upload },
	{ RD_POST, "/vendor/policies/{kind}/{version}/dry-run", rd_page_vendor_policy_dry_run },
	{ RD_POST, "/vendor/policies/{kind}/{version}/activate", rd_page_vendor_policy_activate },
	{ RD_GET, "/vendor/plugins", rd_page_vendor_plugins },
	{ RD_POST, "/vendor/plugins/{name}/enablements", rd_page_vendor_plugin_enable },
	{ RD_POST, "/vendor/plugins/{name}/enablements/{id}/disable", rd_page_vendor_plugin_disable },
	{ RD_GET, "/vendor/outbox", rd_page_vendor_outbox },
	{ RD_GET, "/sales/opportunities/{id}", rd_page_sales },
	{ RD_POST, "/sales/opportunities/{id}", rd_page_sales_amend },
	{ RD_POST, "/sales/opportunities/{id}/tasks", rd_page_sales_task },
	{ RD_GET, "/portal/documents/{id}", rd_page_portal_document },
	{ RD_GET, "/static/{name}", rd_page_static },
	{ RD_GET, "/static/{pack}/{name}", rd_page_static_pack },

	{ RD_POST, "/api/v1/session", rd_api_session_create },
	{ RD_DELETE, "/api/v1/session", rd_api_session_delete },
	{ RD_GET, "/api/v1/me", rd_api_me },
	{ RD_GET, "/api/v1/tokens", rd_api_tokens_list },
	{ RD_POST, "/api/v1/tokens", rd_api_tokens_create },
	{ RD_DELETE, "/api/v1/tokens/{id}", rd_api_tokens_revoke },
	{ RD_GET, "/api/v1/vendor", rd_api_vendor_get },
	{ RD_PATCH, "/api/v1/vendor", rd_api_vendor_patch },
	{ RD_GET, "/api/v1/audit", rd_api_audit_list },

	{ RD_GET, "/api/v1/customers/duplicates", rd_api_duplicates },
	{ RD_POST, "/api/v1/customers/{id}/merge", rd_api_merge },
	{ RD_GET, "/api/v1/imports", rd_api_imports_list },
	{ RD_POST, "/api/v1/imports", rd_api_imports_create, .bulk = true },
	{ RD_GET, "/api/v1/imports/{id}", rd_api_imports_get },
	{ RD_GET, "/api/v1/policies", rd_api_policies_list },
	{ RD_POST, "/api/v1/policies/{kind}", rd_api_policy_upload },
	{ RD_GET, "/api/v1/policies/{kind}/{version}", rd_api_policy_get },
	{ RD_POST, "/api/v1/policies/{kind}/{version}/dry-run", rd_api_policy_dry_run },
	{ RD_POST, "/api/v1/policies/{kind}/{version}/activate", rd_api_policy_activate },
	{ RD_GET, "/api/v1/plugins", rd_api_plugins_list },
	{ RD_GET, "/api/v1/plugins/{name}/enablements", rd_api_enablements_list },
	{ RD_POST, "/api/v1/plugins/{name}/enablements", rd_api_enablements_create },
	{ RD_DELETE, "/api/v1/plugins/{name}/enablements/{id}", rd_api_enablements_delete },
	{ RD_POST, "/api/v1/plugins/{name}/probe", rd_api_plugin_probe },
	{ RD_GET, "/api/v1/clock", rd_api_clock_get },
	{ RD_POST, "/api/v1/clock", rd_api_clock_set },
	{ RD_GET, "/api/v1/schedule", rd_api_schedule },
	{ RD_GET, "/api/v1/opportunities", rd_api_opportunities_list },
	{ RD_GET, "/api/v1/opportunities/{id}", rd_api_opportunity_get },
	{ RD_PATCH, "/api/v1/opportunities/{id}", rd_api_opportunity_patch },
	{ RD_POST, "/api/v1/opportunities/{id}/decision", rd_api_opportunity_decide },
	{ RD_GET, "/api/v1/opportunities/{id}/links", rd_api_links_list },
	{ RD_GET, "/api/v1/opportunities/{id}/quote.pdf", rd_api_opportunity_quote_pdf },
	{ RD_DELETE, "/api/v1/links/{id}", rd_api_link_revoke },
	{ RD_GET, "/api/v1/contracts/{id}/documents", rd_api_documents_list },
	{ RD_POST, "/api/v1/contracts/{id}/documents", rd_api_documents_create, .bulk = true },
	{ RD_GET, "/api/v1/documents/{id}", rd_api_document_get },
	{ RD_GET, "/api/v1/documents/{id}/content", rd_api_document_content },
	{ RD_DELETE, "/api/v1/documents/{id}", rd_api_document_delete },
	{ RD_GET, "/api/v1/outbox", rd_api_outbox },
	{ RD_GET, "/api/v1/tasks", rd_api_tasks_list },
	{ RD_PATCH, "/api/v1/tasks/{id}", rd_api_task_patch },
	{ RD_GET, "/api/v1/portal", rd_api_portal },
	{ RD_POST, "/api/v1/portal/actions", rd_api_portal_action },
	{ RD_GET, "/api/v1/orders", rd_api_orders_list },
	{ RD_POST, "/api/v1/orders", rd_api_orders_create },
	{ RD_GET, "/api/v1/orders/{id}", rd_api_order_get },
	{ RD_POST, "/api/v1/orders/payments", rd_api_order_payments_file, .bulk = true },
	{ RD_POST, "/api/v1/orders/{id}/payments", rd_api_order_payment },
	{ RD_POST, "/api/v1/orders/{id}/refund", rd_api_order_refund },
	{ RD_GET, "/api/v1/commissions", rd_api_commissions_list },
	{ RD_GET, "/api/v1/statements", rd_api_statements_list },
	{ RD_GET, "/api/v1/statements/{id}", rd_api_statement_get },
	{ RD_GET, "/api/v1/statements/{id}/csv", rd_api_statement_csv },
	{ RD_GET, "/api/v1/statements/{id}/pdf", rd_api_statement_pdf },
	{ RD_POST, "/webhooks/payments/{plugin}", rd_api_payment_webhook },

#define CRUD(name)                                              \
	{ RD_GET, "/api/v1/" name, rd_api_list },               \
	{ RD_POST, "/api/v1/" name, rd_api_create },            \
	{ RD_GET, "/api/v1/" name "/{id}", rd_api_get },        \
	{ RD_PATCH, "/api/v1/" name "/{id}", rd_api_patch },    \
	{ RD_DELETE, "/api/v1/" name "/{id}", rd_api_delete }
	CRUD("partners"),
	CRUD("customers"),
	CRUD("contacts"),
	CRUD("products"),
	CRUD("contracts"),
	CRUD("users"),
#undef CRUD
};

const size_t rd_n_routes = sizeof rd_routes / sizeof *rd_routes;
