/*
 * reports.c: the reports' routes (docs/reporting.md); the figures are the
 * reports service's (core/services/reports.c).
 *   GET /api/v1/reports/dashboard   ?format=json|csv &table=
 *   GET /api/v1/reports/drilldown   ?by=line|product|contract|customer &line= &product= &customer= &contract= &limit=
 *                                   &format= &table=
 *   GET /api/v1/reports/rankings    ?by=customer (default)|reseller|distributor|sales &currency= &limit= &format= &table=
 *   GET /api/v1/reports/programme   ?format= &table=
 *   GET /api/v1/reports/scorecards  ?format= &table=
 * Who may read contracts may read the reports, over the contracts the
 * caller sees (the service's scope: a partner's channel, a sales person's own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "edge/sales.h"
#include "services/reports.h"
#include "store/store.h"
#include "util/err.h"

enum which { DASHBOARD, DRILL, RANKINGS, PROGRAMME, SCORECARDS };

/* A CSV export on its way: the report it reads and the cursor in its table;
 * about 32 KiB go out at a time (rd_reply_stream). */
struct csv_stream {
	json_t *report;
	struct rd_rep_csv cur;
	struct rd_rep_buf buf;
};

static int csv_next(void *arg, const char **chunk, size_t *len)
{
	struct csv_stream *cs = arg;
	cs->buf.len = 0;
	bool more = rd_rep_csv_next(&cs->cur, &cs->buf, 32768);
	*chunk = cs->buf.p ? cs->buf.p : "";
	*len = cs->buf.len;
	return more ? 1 : 0;
}

static void csv_free(void *arg)
{
	struct csv_stream *cs = arg;
	json_decref(cs->report);
	free(cs->buf.p);
	free(cs);
}

static bool parse_u64(struct rd_req *req, const char *name, uint64_t *out)
{
	const char *s = rd_req_query(req, name);
	*out = 0;
	if (!s)
		return true;
	*out = rd_parse_id(s);
	if (!*out) {
		rd_reply_error(req, 400, "invalid", name, "%s is a positive whole number", name);
		return false;
	}
	return true;
}

static int reply(struct rd_req *req, enum which w)
{
	static const char *const known[] = { "format", "table", "by", "line", "product", "customer", "contract", "limit",
					     "currency", NULL };
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	const char *bad = rd_req_query_unknown(req, known);
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad, "unknown query parameter %s", bad);
		return 0;
	}
	const char *format = rd_req_query(req, "format"), *tname = rd_req_query(req, "table");
	if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
		rd_reply_error(req, 400, "invalid", "format", "format is json or csv");
		return 0;
	}
	bool csv = format && strcmp(format, "csv") == 0;
	if (csv && !tname) {
		rd_reply_error(req, 400, "invalid", "table", "a CSV export names its table (table=...)");
		return 0;
	}
	struct rd_rep_filter f = { 0 };
	struct rd_rep_opts o = { 0 };
	uint64_t limit;
	if (!parse_u64(req, "product", &f.product) || !parse_u64(req, "customer", &f.customer) ||
	    !parse_u64(req, "contract", &f.contract) ||
	    !parse_u64(req, "limit", &limit))
		return 0;
	if (limit > 10000) {
		rd_reply_error(req, 400, "invalid", "limit", "limit is at most 10000");
		return 0;
	}
	o.limit = (unsigned)limit;
	const char *line = rd_req_query(req, "line"), *cur = rd_req_query(req, "currency");
	if (line && (strlen(line) >= sizeof f.line || !line[0])) {
		rd_reply_error(req, 400, "invalid", "line", "line is a product line of 1 to %zu bytes", sizeof f.line - 1);
		return 0;
	}
	if (line)
		snprintf(f.line, sizeof f.line, "%s", line);
	if (cur && strlen(cur) != 3) {
		rd_reply_error(req, 400, "invalid", "currency", "currency is an ISO 4217 code such as EUR");
		return 0;
	}
	if (cur)
		snprintf(o.currency, sizeof o.currency, "%s", cur);
	int by = 0;
	if (w == DRILL || w == RANKINGS) {
		const char *bs = rd_req_query(req, "by");
		by = bs ? rd_rep_by_parse(bs) : w == DRILL ? RD_REP_BY_LINE : RD_REP_BY_CUSTOMER;
		if (!by) {
			rd_reply_error(req, 400, "invalid", "by",
				       w == DRILL ? "by is line, product, contract or customer"
						  : "by is customer, reseller, distributor or sales");
			return 0;
		}
	}
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_actor who = rd_call_actor(&c);
	struct rd_rep_scope scope;
	struct rd_serr e = { 0 };
	json_t *rep = NULL;
	rc = rd_reports_scope(t, c.app->domain, &who, c.who.role, &scope);
	if (rc == RD_ETOOBIG)
		rd_serr_set(&e, rc, "too_large", NULL, "the channel has more than %d partners: reports cover it only whole",
			    RD_REP_MAX_PARTNERS);
	if (rc >= 0)
		rc = w == DASHBOARD   ? rd_reports_dashboard(t, c.app->domain, &scope, &o, &rep, &e)
		     : w == DRILL     ? rd_reports_drill(t, c.app->domain, &scope, by, &f, &o, &rep, &e)
		     : w == RANKINGS  ? rd_reports_rankings(t, c.app->domain, &scope, by, &o, &rep, &e)
		     : w == PROGRAMME ? rd_reports_programme(t, c.app->domain, &scope, &o, &rep, &e)
				      : rd_reports_scorecards(t, c.app->domain, &scope, &o, &rep, &e);
	rd_txn_end(t);
	if (rc < 0) {
		if (e.code)
			rd_reply_serr(req, &e);
		return e.code ? 0 : rc;
	}
	if (!csv) {
		rd_reply_json(req, 200, rep);
		return 0;
	}
	struct csv_stream *cs = rd_calloc(1, sizeof *cs);
	cs->report = rep;
	if (rd_rep_csv_begin(&cs->cur, rep, tname) == RD_ENOTFOUND) {
		csv_free(cs);
		rd_reply_error(req, 400, "invalid", "table", "this report has no table %s", tname);
		return 0;
	}
	char disp[160];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s-%s.csv\"",
		 w == DASHBOARD ? "dashboard" : w == DRILL ? "drilldown" : w == RANKINGS ? "rankings" : w == PROGRAMME ? "programme" : "scorecards",
		 strspn(tname, "abcdefghijklmnopqrstuvwxyz_") == strlen(tname) ? tname : "table");
	rd_reply_header(req, "content-disposition", disp);
	rd_reply_header(req, "x-content-type-options", "nosniff");
	rd_reply_stream(req, 200, "text/csv; charset=utf-8", csv_next, csv_free, cs);
	return 0;
}

int rd_api_reports_dashboard(struct rd_req *req) { return reply(req, DASHBOARD); }
int rd_api_reports_drilldown(struct rd_req *req) { return reply(req, DRILL); }
int rd_api_reports_rankings(struct rd_req *req) { return reply(req, RANKINGS); }
int rd_api_reports_programme(struct rd_req *req) { return reply(req, PROGRAMME); }
int rd_api_reports_scorecards(struct rd_req *req) { return reply(req, SCORECARDS); }
