/* health.c: /healthz, /metrics and the index page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "config/config.h"
#include "domain/model.h"
#include "metrics/metrics.h"
#include "plugin/host.h"
#include "rd_config.h"
#include "renew/renew.h"
#include "store/record.h"
#include "store/store.h"
#include "util/err.h"

static uint64_t real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What degrades /healthz, beyond its threshold (health_*_failing_ms). */
struct health {
	unsigned failing, vendors;      /* the sweep's failed actions now, and in how many vendors */
	unsigned sweep_vendors;         /* vendors failing for longer than the threshold */
	uint64_t sweep_since_s;         /* the longest of them, seconds */
	bool mail;                      /* mail failing for longer than the threshold */
	uint64_t mail_since_s;
};

static void health_of(const struct rd_app *app, struct health *h)
{
	memset(h, 0, sizeof *h);
	uint64_t now = real_ms();
	h->failing = app->renew ? rd_renew_failing(app->renew, &h->vendors) : 0;
	const struct rd_sweep_stat *ss;
	size_t n = rd_renew_sweep_stats(app->renew, &ss);
	for (size_t i = 0; i < n; i++) {
		if (!ss[i].failing_since_ms || now < ss[i].failing_since_ms + app->config->health_sweep_failing_ms)
			continue;
		h->sweep_vendors++;
		uint64_t since = (now - ss[i].failing_since_ms) / 1000;
		if (since > h->sweep_since_s)
			h->sweep_since_s = since;
	}
	struct rd_mail_stats ms;
	rd_renew_mail_stats(app->renew, &ms);
	if (ms.failing_since_ms && now >= ms.failing_since_ms + app->config->health_mail_failing_ms) {
		h->mail = true;
		h->mail_since_s = (now - ms.failing_since_ms) / 1000;
	}
}

int rd_api_healthz(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_store_stats st = { 0 };
	/* "Reachable" means the probe answers (LMDB: a read transaction
	 * begins; PostgreSQL: a timed SELECT 1) and the stats answer. */
	struct rd_store_health db;
	int rc = rd_store_health(app->store, &db);
	if (rc == 0)
		rc = rd_store_stats(app->store, &st);
	json_t *store = json_pack("{s:b, s:I, s:I, s:I}", "ok", rc == 0, "schema", (json_int_t)st.schema,
				  "map_bytes", (json_int_t)st.map_size, "used_bytes", (json_int_t)st.used_bytes);
	if (rc < 0)
		json_object_set_new(store, "error", json_string(rd_strerror(rc)));
	json_object_set_new(store, "backend", json_string(db.backend));
	json_object_set_new(store, "reachable", json_boolean(db.reachable));
	json_object_set_new(store, "latency_ms", json_real((double)(long long)(db.latency_seconds * 1e6 + 0.5) / 1000));
	json_object_set_new(store, "reconnects", json_integer((json_int_t)db.reconnects));
	json_object_set_new(store, "serialization_retries", json_integer((json_int_t)db.retries));
	json_object_set_new(store, "statement_timeouts", json_integer((json_int_t)db.statement_timeouts));
	json_object_set_new(store, "last_error", db.last_error[0] ? json_string(db.last_error) : json_null());
	json_object_set_new(store, "last_error_seconds_ago",
			    db.last_error_ms ? json_integer((json_int_t)((real_ms() > db.last_error_ms
									   ? real_ms() - db.last_error_ms : 0) / 1000))
					     : json_null());
	/* Degraded: serving, but renewal sweeps have failed (or left actions
	 * failing), or mail has not gone out, for longer than the operator's
	 * thresholds.  Counts only: which actions and why are for the vendor's
	 * admins (GET /api/v1/sweep/failures), the mail server's answer is in
	 * the log, not for anyone who asks. */
	struct health h;
	health_of(app, &h);
	json_t *reasons = json_array();
	if (rc < 0) {
		json_array_append_new(reasons, json_pack("{s:s, s:s}", "code", "store_unavailable", "message",
							  db.reachable ? "the store does not answer"
								       : "the database does not answer"));
	}
	if (h.sweep_vendors) {
		char msg[240];
		snprintf(msg, sizeof msg, "the renewal sweep of %u vendor(s) has failed or left actions failing for %llu s; "
			 "%u renewal action(s) of %u vendor(s) wait for a retry", h.sweep_vendors,
			 (unsigned long long)h.sweep_since_s, h.failing, h.vendors);
		json_array_append_new(reasons, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "code", "sweep_failing", "message",
							  msg, "vendors", (json_int_t)h.sweep_vendors, "failing_actions",
							  (json_int_t)h.failing, "since_seconds", (json_int_t)h.sweep_since_s,
							  "threshold_seconds",
							  (json_int_t)(app->config->health_sweep_failing_ms / 1000)));
	}
	if (h.mail) {
		char msg[200];
		snprintf(msg, sizeof msg, "mail delivery has failed for %llu s and no message was delivered since",
			 (unsigned long long)h.mail_since_s);
		json_array_append_new(reasons, json_pack("{s:s, s:s, s:I, s:I}", "code", "mail_failing", "message", msg,
							  "since_seconds", (json_int_t)h.mail_since_s, "threshold_seconds",
							  (json_int_t)(app->config->health_mail_failing_ms / 1000)));
	}
	const char *status = rc < 0 ? "unavailable" : json_array_size(reasons) ? "degraded" : "ok";
	struct rd_mail_stats ms;
	rd_renew_mail_stats(app->renew, &ms);
	uint64_t now = real_ms();
	json_t *body = json_pack("{s:s, s:s, s:o, s:{s:I, s:I}, s:{s:b, s:I}, s:o}", "status", status, "version",
				 RD_VERSION, "store", store, "sweep", "failing_actions", (json_int_t)h.failing, "vendors",
				 (json_int_t)h.vendors, "mail", "failing", ms.failing_since_ms != 0, "failing_seconds",
				 (json_int_t)(ms.failing_since_ms && now > ms.failing_since_ms
						      ? (now - ms.failing_since_ms) / 1000 : 0),
				 "reasons", reasons);
	rd_reply_json(req, rc == 0 ? 200 : 503, body);
	return 0;
}

/* ---- /metrics ---------------------------------------------------------------------- */

/* Counts the records of a table by an enum field (every vendor), reading
 * that field alone.  counts[value]; values past n are left out. */
static int count_by(const struct rd_app *app, struct rd_txn *t, struct rd_table *tb, const struct rd_entity *e,
		    const char *field, uint64_t *counts, size_t n)
{
	uint32_t no = 0;
	for (size_t i = 0; i < e->n_fields; i++)
		if (!strcmp(e->fields[i].json, field))
			no = e->fields[i].no;
	rd_require(no);
	struct rd_iter vit, it;
	struct rd_item v, item;
	int rc = rd_iter_records(&vit, t, app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&vit, &v)) > 0) {
		rc = rd_iter_records(&it, t, tb, v.id, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			struct rd_rec_reader rr;
			struct rd_rec_field f;
			if (rd_rec_open(&rr, item.val, item.len, e->kind, e->version) < 0)
				continue;
			while (rd_rec_next(&rr, &f) > 0)
				if (f.no == no && f.wire == RD_WIRE_UINT) {
					if (f.u < n)
						counts[f.u]++;
					break;
				}
		}
		rd_iter_close(&it);
	}
	rd_iter_close(&vit);
	return rc;
}

/* name{state=...} for each value of the entity's enum field. */
static void by_state(struct rd_mtext *o, const char *name, const char *help, const struct rd_entity *e,
		     const char *field, const uint64_t *counts)
{
	const char *const *names = NULL;
	for (size_t i = 0; i < e->n_fields; i++)
		if (!strcmp(e->fields[i].json, field))
			names = e->fields[i].names;
	rd_mtext_family(o, name, "gauge", help);
	for (size_t v = 1; names && names[v] && v < 16; v++) {
		if (!names[v][0])
			continue;
		const char *labels[] = { "state", names[v], NULL };
		rd_mtext_sample(o, name, labels, (double)counts[v]);
	}
}

static void renew_series(struct rd_app *app, struct rd_txn *t, struct rd_mtext *o)
{
	uint64_t now = real_ms();
	struct rd_outbox_stats ob = { 0 };
	if (t && app->renew)
		rd_renew_outbox_stats(app->renew, t, &ob);
	rd_mtext_family(o, "renewd_outbox_queued_messages", "gauge", "Messages in the outbox waiting to be delivered.");
	rd_mtext_sample(o, "renewd_outbox_queued_messages", NULL, (double)ob.queued);
	rd_mtext_family(o, "renewd_outbox_failing_messages", "gauge",
			"Queued messages whose last delivery attempt failed (they are retried with backoff).");
	rd_mtext_sample(o, "renewd_outbox_failing_messages", NULL, (double)ob.failing);
	rd_mtext_family(o, "renewd_outbox_oldest_age_seconds", "gauge",
			"Age of the oldest queued message (business clock); 0 when none is queued.");
	rd_mtext_sample(o, "renewd_outbox_oldest_age_seconds", NULL, ob.oldest_age_s);
	rd_mtext_family(o, "renewd_outbox_max_attempts", "gauge", "The most delivery attempts of one queued message.");
	rd_mtext_sample(o, "renewd_outbox_max_attempts", NULL, (double)ob.max_attempts);
	rd_mtext_family(o, "renewd_outbox_scan_truncated", "gauge",
			"1 when more messages are queued than a scrape reads: the outbox figures are lower bounds.");
	rd_mtext_sample(o, "renewd_outbox_scan_truncated", NULL, ob.truncated);

	struct rd_mail_stats ms;
	rd_renew_mail_stats(app->renew, &ms);
	rd_mtext_family(o, "renewd_outbox_attempts_total", "counter", "Delivery attempts since start, by result.");
	const char *ok[] = { "result", "delivered", NULL }, *bad[] = { "result", "failed", NULL };
	rd_mtext_sample(o, "renewd_outbox_attempts_total", ok, (double)ms.attempts_ok);
	rd_mtext_sample(o, "renewd_outbox_attempts_total", bad, (double)ms.attempts_failed);
	rd_mtext_family(o, "renewd_outbox_delivered_total", "counter", "Messages delivered since start.");
	rd_mtext_sample(o, "renewd_outbox_delivered_total", NULL, (double)ms.attempts_ok);
	rd_mtext_family(o, "renewd_mail_failing_seconds", "gauge",
			"How long mail delivery has been failing with no message delivered since; 0 when it is not.");
	rd_mtext_sample(o, "renewd_mail_failing_seconds", NULL,
			ms.failing_since_ms && now > ms.failing_since_ms ? (double)(now - ms.failing_since_ms) / 1000 : 0);
	rd_mtext_family(o, "renewd_mail_last_delivered_timestamp_seconds", "gauge",
			"When a message was last delivered (unix time); 0: none since start.");
	rd_mtext_sample(o, "renewd_mail_last_delivered_timestamp_seconds", NULL, (double)ms.last_success_ms / 1000);

	/* The scheduler, one series per vendor: vendors are made by the
	 * operator, never by a client, so the label's values are bounded. */
	const struct rd_sweep_stat *ss;
	size_t n = rd_renew_sweep_stats(app->renew, &ss);
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "renewd_sweep_last_timestamp_seconds", "gauge", "When the vendor's last sweep ended (unix time)." },
		{ "renewd_sweep_duration_seconds", "gauge", "How long the vendor's last sweep took." },
		{ "renewd_sweep_actions_total", "counter", "Renewal actions the sweep took for the vendor since start." },
		{ "renewd_sweep_errors_total", "counter",
		  "Sweeps of the vendor that failed (a day or a step could not be swept) since start." },
		{ "renewd_sweep_failing_actions", "gauge", "The vendor's failed actions waiting for a retry." },
		{ "renewd_sweep_failing_seconds", "gauge",
		  "How long the vendor's sweeps have failed or left failed actions; 0 when its last sweep was clean." },
	};
	for (size_t f = 0; f < sizeof fam / sizeof *fam; f++) {
		rd_mtext_family(o, fam[f].name, fam[f].type, fam[f].help);
		for (size_t i = 0; i < n; i++) {
			const char *labels[] = { "vendor", ss[i].slug, NULL };
			double v = 0;
			switch (f) {
			case 0: v = (double)ss[i].last_ms / 1000; break;
			case 1: v = ss[i].last_seconds; break;
			case 2: v = (double)ss[i].actions; break;
			case 3: v = (double)ss[i].errors; break;
			case 4: v = ss[i].failing; break;
			default:
				v = ss[i].failing_since_ms && now > ss[i].failing_since_ms
					    ? (double)(now - ss[i].failing_since_ms) / 1000 : 0;
			}
			rd_mtext_sample(o, fam[f].name, labels, v);
		}
	}
}

static void plugin_series(struct rd_app *app, struct rd_mtext *o)
{
	struct rd_plugin_stats ps[64];
	size_t n = rd_plugins_stats(app->plugins, ps, 64);
	if (n > 64)
		n = 64;
	size_t nb;
	const double *bounds = rd_plugin_call_bounds(&nb);
	rd_mtext_family(o, "renewd_plugin_calls_total", "counter",
			"Plugin calls on the thread pool since start, by plugin and result (ok, error, timeout, busy).");
	for (size_t i = 0; i < n; i++) {
		static const char *const results[] = { "ok", "error", "timeout", "busy" };
		const uint64_t v[] = { ps[i].ok, ps[i].failed, ps[i].timeouts, ps[i].busy };
		for (size_t r = 0; r < 4; r++) {
			const char *labels[] = { "plugin", ps[i].name, "result", results[r], NULL };
			rd_mtext_sample(o, "renewd_plugin_calls_total", labels, (double)v[r]);
		}
	}
	rd_mtext_family(o, "renewd_plugin_timeouts_total", "counter", "Plugin calls that did not answer in time.");
	for (size_t i = 0; i < n; i++) {
		const char *labels[] = { "plugin", ps[i].name, NULL };
		rd_mtext_sample(o, "renewd_plugin_timeouts_total", labels, (double)ps[i].timeouts);
	}
	rd_mtext_family(o, "renewd_plugin_call_duration_seconds", "histogram",
			"Time from a plugin call's start to its answer (or its timeout), by plugin.");
	for (size_t i = 0; i < n; i++) {
		struct rd_hist h = { .count = ps[i].count, .sum = ps[i].sum };
		for (size_t b = 0; b <= nb && b < RD_HIST_MAX && b < RD_PLUGIN_BUCKETS; b++)
			h.bucket[b] = ps[i].bucket[b];
		const char *labels[] = { "plugin", ps[i].name, NULL };
		rd_mtext_hist(o, "renewd_plugin_call_duration_seconds", labels, bounds, nb, &h);
	}
}

/* The database: backend, reachable, the probe's round trip, reconnects,
 * replays, statement timeouts and when the last error was. */
static void db_series(const struct rd_store_health *db, struct rd_mtext *o)
{
	const char *backend[] = { "backend", db->backend, NULL };
	rd_mtext_family(o, "renewd_store_info", "gauge", "The store's backend (lmdb or postgresql), always 1.");
	rd_mtext_sample(o, "renewd_store_info", backend, 1);
	rd_mtext_family(o, "renewd_store_up", "gauge",
			"1 when the store answered this scrape's probe (PostgreSQL: SELECT 1), 0 when not.");
	rd_mtext_sample(o, "renewd_store_up", NULL, db->reachable);
	rd_mtext_family(o, "renewd_store_probe_seconds", "gauge",
			"Round trip of this scrape's probe of the store; 0 when it did not answer.");
	rd_mtext_sample(o, "renewd_store_probe_seconds", NULL, db->latency_seconds);
	static const struct {
		const char *name, *help;
	} fam[] = {
		{ "renewd_store_reconnects_total", "Times a working connection to the database was made again after it was lost." },
		{ "renewd_store_connect_failures_total", "Connection attempts to the database that failed." },
		{ "renewd_store_serialization_retries_total",
		  "Write transactions replayed after a serialization failure or deadlock (PostgreSQL)." },
		{ "renewd_store_statement_timeouts_total",
		  "Statements cancelled by store_statement_timeout_ms (their requests answered 503)." },
	};
	const uint64_t v[] = { db->reconnects, db->connect_failures, db->retries, db->statement_timeouts };
	for (size_t i = 0; i < sizeof fam / sizeof *fam; i++) {
		rd_mtext_family(o, fam[i].name, "counter", fam[i].help);
		rd_mtext_sample(o, fam[i].name, NULL, (double)v[i]);
	}
	rd_mtext_family(o, "renewd_store_last_error_timestamp_seconds", "gauge",
			"When the store last failed (unix time; 0: never since start); /healthz names what failed.");
	rd_mtext_sample(o, "renewd_store_last_error_timestamp_seconds", NULL, (double)db->last_error_ms / 1000);
}

int rd_api_metrics(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_store_stats st;
	struct rd_store_health db;
	bool have = rd_store_health(app->store, &db) == 0 && rd_store_stats(app->store, &st) == 0;
	unsigned vendors = 0, failing = app->renew ? rd_renew_failing(app->renew, &vendors) : 0;
	rd_metrics_sweep_failures(app->metrics, failing, vendors);
	struct rd_mtext o = { 0 };
	rd_metrics_render(app->metrics, have ? &st : NULL, &o);

	struct rd_txn *t = NULL;
	if (rd_store_read(app->store, &t) < 0)
		t = NULL;
	renew_series(app, t, &o);
	plugin_series(app, &o);
	uint64_t orders[16] = { 0 }, imports[16] = { 0 };
	if (t) {
		count_by(app, t, app->domain->orders, &rd_entity_order, "state", orders, 16);
		count_by(app, t, app->domain->imports, &rd_entity_import, "status", imports, 16);
		rd_txn_end(t);
	}
	by_state(&o, "renewd_orders", "Orders by state, all vendors.", &rd_entity_order, "state", orders);
	by_state(&o, "renewd_imports", "Imports by state, all vendors.", &rd_entity_import, "status", imports);

	struct health h;
	health_of(app, &h);
	rd_mtext_family(&o, "renewd_health_degraded", "gauge",
			"1 while /healthz answers degraded for this reason (the thresholds are health_*_failing_ms).");
	const char *sweep[] = { "reason", "sweep_failing", NULL }, *mail[] = { "reason", "mail_failing", NULL };
	rd_mtext_sample(&o, "renewd_health_degraded", mail, h.mail);
	rd_mtext_sample(&o, "renewd_health_degraded", sweep, h.sweep_vendors > 0);

	db_series(&db, &o);
	rd_metrics_process(&o);
	rd_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", o.buf, o.len);
	free(o.buf);
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
