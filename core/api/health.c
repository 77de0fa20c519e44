/* health.c: /healthz, /metrics and the index page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "metrics/metrics.h"
#include "rd_config.h"
#include "renew/renew.h"
#include "store/store.h"
#include "util/err.h"

int rd_api_healthz(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_txn *txn;
	struct rd_store_stats st = { 0 };
	/* "Reachable" means a read transaction begins and the stats answer. */
	int rc = rd_store_read(app->store, &txn);
	if (rc == 0) {
		rd_txn_end(txn);
		rc = rd_store_stats(app->store, &st);
	}
	json_t *store = json_pack("{s:b, s:I, s:I, s:I}", "ok", rc == 0, "schema", (json_int_t)st.schema,
				  "map_bytes", (json_int_t)st.map_size, "used_bytes", (json_int_t)st.used_bytes);
	if (rc < 0)
		json_object_set_new(store, "error", json_string(rd_strerror(rc)));
	/* Degraded: serving, but some renewal actions fail and wait for a
	 * retry.  Counts only: which ones, and why, is for the vendor's
	 * admins (GET /api/v1/sweep/failures), not for anyone who asks. */
	unsigned vendors = 0, failing = app->renew ? rd_renew_failing(app->renew, &vendors) : 0;
	const char *status = rc < 0 ? "unavailable" : failing ? "degraded" : "ok";
	json_t *body = json_pack("{s:s, s:s, s:o, s:{s:I, s:I}}", "status", status, "version", RD_VERSION, "store", store,
				 "sweep", "failing_actions", (json_int_t)failing, "vendors", (json_int_t)vendors);
	if (failing && rc == 0) {
		char reason[160];
		snprintf(reason, sizeof reason, "%u renewal action(s) of %u vendor(s) failed in the sweep and wait for a retry",
			 failing, vendors);
		json_object_set_new(body, "reasons", json_pack("[s]", reason));
	}
	rd_reply_json(req, rc == 0 ? 200 : 503, body);
	return 0;
}

int rd_api_metrics(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_store_stats st;
	bool have = rd_store_stats(app->store, &st) == 0;
	unsigned vendors = 0, failing = app->renew ? rd_renew_failing(app->renew, &vendors) : 0;
	rd_metrics_sweep_failures(app->metrics, failing, vendors);
	char *text;
	size_t len;
	rd_metrics_render(app->metrics, have ? &st : NULL, &text, &len);
	rd_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return 0;
}

/* GET /api/v1/sweep/failures: the caller's vendor's failed sweep actions
 * (vendor admins). */
int rd_api_sweep_failures(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_VENDOR, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { NULL };
	const char *bad = rd_req_query_unknown(req, known);
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter \"%s\": this list takes none", bad);
		return 0;
	}
	json_t *items;
	int rc = rd_renew_failures(c.app->renew, c.who.vendor, &items);
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(items), "items", items));
	return 0;
}

int rd_api_index(struct rd_req *req)
{
	static const char page[] =
		"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>renewd</title></head><body><main><h1>renewd " RD_VERSION "</h1>"
		"<p>Channel renewals platform.</p>"
		"<h2>Sign in</h2><ul>"
		"<li><a href=\"/login\">Sign in</a>: one form for the vendor's people and its partners</li>"
		"<li><a href=\"/vendor\">Vendor console</a>: contracts, quotes, imports, policies, plugins (vendor staff)</li>"
		"<li><a href=\"/partner\">Partner portal</a>: decisions, quotes, statements (distributors and resellers)</li>"
		"<li>Customer portal: customers open the link in their renewal e-mail (<code>/c/...</code>); "
		"no password</li>"
		"</ul><h2>For operators</h2><ul>"
		"<li><a href=\"/healthz\">/healthz</a>: health of the daemon and its store</li>"
		"<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>"
		"<li><code>/api/v1/</code>: the JSON API (docs/openapi.yaml)</li>"
		"</ul></main></body></html>\n";
	rd_reply_raw(req, 200, "text/html; charset=utf-8", page, sizeof page - 1);
	return 0;
}
