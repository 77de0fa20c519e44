/* health.c: /healthz, /metrics and the index page. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "metrics/metrics.h"
#include "rd_config.h"
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
	json_t *body = json_pack("{s:s, s:s, s:o}", "status", rc == 0 ? "ok" : "unavailable", "version", RD_VERSION,
				 "store", store);
	rd_reply_json(req, rc == 0 ? 200 : 503, body);
	return 0;
}

int rd_api_metrics(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_store_stats st;
	bool have = rd_store_stats(app->store, &st) == 0;
	char *text;
	size_t len;
	rd_metrics_render(app->metrics, have ? &st : NULL, &text, &len);
	rd_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
	return 0;
}

int rd_api_index(struct rd_req *req)
{
	static const char page[] =
		"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		"<title>renewd</title></head><body><main><h1>renewd " RD_VERSION "</h1>"
		"<p>Channel renewals platform.</p><ul>"
		"<li><a href=\"/healthz\">/healthz</a>: health of the daemon and its store</li>"
		"<li><a href=\"/metrics\">/metrics</a>: Prometheus metrics</li>"
		"</ul></main></body></html>\n";
	rd_reply_raw(req, 200, "text/html; charset=utf-8", page, sizeof page - 1);
	return 0;
}
