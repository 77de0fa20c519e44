/*
 * reports.c: the reporting pages (docs/reporting.md) of the vendor console
 * (/vendor/reports...) and of the partner portal (/partner/reports..., the
 * partner's channel only, in its branding): the dashboard, the drill-down
 * down to one contract, the rankings.  The figures are the reports
 * service's; charts are SVG drawn here (web/svg.c); every table links its
 * CSV export (the API's, which takes the session cookie).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "edge/sales.h"
#include "services/reports.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/svg.h"
#include "web/web.h"

/* ---- small helpers ---------------------------------------------------------------------------- */

/* Percent-encodes s for a query value into out (NUL-terminated). */
static void url_enc(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (; *s && n + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		    ch == '_' || ch == '.' || ch == '~') {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = 0;
}

/* A cell as people read it. */
static void cell_text(const char *kind, json_t *v, const char *cur, char *out, size_t cap)
{
	if (json_is_null(v) || !v) {
		snprintf(out, cap, "n/a");
	} else if (json_is_string(v)) {
		snprintf(out, cap, "%s", json_string_value(v));
	} else if (!strcmp(kind, "money")) {
		rd_money_format((int64_t)json_integer_value(v), cur ? cur : "", out, cap);
	} else if (!strcmp(kind, "rate")) {
		rd_bp_format((int64_t)json_integer_value(v), out, cap);
	} else {
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	}
}

static int col_index(json_t *table, const char *name)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(table, "columns"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			return (int)i;
	return -1;
}

/* A row's value by column name. */
static json_t *cell(json_t *table, json_t *row, const char *name)
{
	int i = col_index(table, name);
	return i < 0 ? NULL : json_array_get(row, (size_t)i);
}

static const char *cell_str(json_t *table, json_t *row, const char *name)
{
	const char *s = json_string_value(cell(table, row, name));
	return s ? s : "";
}

static int64_t cell_int(json_t *table, json_t *row, const char *name)
{
	return (int64_t)json_integer_value(cell(table, row, name));
}

/* Where a row's label links, or NULL (by: the report's grouping). */
typedef void (*link_fn)(const char *base, json_t *table, json_t *row, char *out, size_t cap);

/* One report table as the template shows it: head labels, rows of
 * {text, href}, its CSV export link. */
/* A report table for the page: its label cells linked by link (under
 * base); with open_base, a last column linking each row to the console's
 * contract page under open_base ("/vendor" or "/partner"), which applies
 * the caller's own scope again. */
static json_t *page_table_open(json_t *report, const char *name, const char *base, const char *csv_base, link_fn link,
			       const char *open_base)
{
	json_t *t = json_object_get(json_object_get(report, "tables"), name);
	if (!t)
		return NULL;
	json_t *head = json_array(), *rows = json_array(), *c, *row;
	size_t i, r;
	int cur_col = col_index(t, "currency"), label_col = col_index(t, "label");
	/* Ids are for links, not for reading (a line's id is its name, shown as the label). */
	json_array_foreach(json_object_get(t, "columns"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "kind")), "id") != 0 &&
		    strcmp(json_string_value(json_object_get(c, "name")), "id") != 0)
			json_array_append_new(head, json_pack("{s:O}", "label", json_object_get(c, "label")));
	json_array_foreach(json_object_get(t, "rows"), r, row) {
		const char *cur = cur_col >= 0 ? json_string_value(json_array_get(row, (size_t)cur_col)) : NULL;
		json_t *cells = json_array();
		json_array_foreach(json_object_get(t, "columns"), i, c) {
			const char *kind = json_string_value(json_object_get(c, "kind"));
			if (!strcmp(kind, "id") || !strcmp(json_string_value(json_object_get(c, "name")), "id"))
				continue;
			char text[160], href[512] = "";
			cell_text(kind, json_array_get(row, i), cur, text, sizeof text);
			if (link && (int)i == label_col)
				link(base, t, row, href, sizeof href);
			json_array_append_new(cells, json_pack("{s:s, s:o, s:b}", "text", text, "href",
							       href[0] ? json_string(href) : json_false(), "num",
							       strcmp(kind, "text") != 0));
		}
		if (open_base) {
			char href[512], text[200];
			snprintf(href, sizeof href, "%s/contracts/%lld", open_base, (long long)cell_int(t, row, "id"));
			snprintf(text, sizeof text, "Open %s", cell_str(t, row, "label"));
			json_array_append_new(cells, json_pack("{s:s, s:s, s:b}", "text", text, "href", href, "num", 0));
		}
		json_array_append_new(rows, json_pack("{s:o}", "cells", cells));
	}
	if (open_base)
		json_array_append_new(head, json_pack("{s:s}", "label", "Contract page"));
	char csv[768];
	snprintf(csv, sizeof csv, "%s%sformat=csv&table=%s", csv_base, strchr(csv_base, '?') ? "&" : "?", name);
	return json_pack("{s:O, s:s, s:s, s:o, s:o}", "title", json_object_get(t, "title"), "name", name, "csv", csv,
			 "head", head, "rows", rows);
}

static json_t *page_table(json_t *report, const char *name, const char *base, const char *csv_base, link_fn link)
{
	return page_table_open(report, name, base, csv_base, link, NULL);
}

/* ---- the pages' common part ------------------------------------------------------------------- */

struct rp {
	struct web w;
	bool partner;       /* the partner portal */
	const char *base;   /* "/vendor/reports" or "/partner/reports" */
	struct rd_rep_scope scope;
};

/* Authenticates, keeps each role in its own portal, checks the role may
 * read contracts, and takes the caller's scope.  false: answered. */
static bool begin(struct rd_req *req, struct rp *p, bool partner)
{
	memset(p, 0, sizeof *p);
	if (rd_web_user(req, &p->w) < 0)
		return false;
	bool is_partner = rd_role_is_partner(p->w.c.who.role);
	if (is_partner != partner) {
		rd_web_redirect(req, is_partner ? "/partner/reports" : "/vendor/reports");
		return false;
	}
	if (!rd_console_allowed(&p->w, RD_RES_CONTRACT, RD_ACT_READ))
		return false;
	p->partner = partner;
	p->base = partner ? "/partner/reports" : "/vendor/reports";
	struct rd_txn *t;
	int rc = rd_store_read(p->w.app->store, &t);
	if (rc == 0) {
		struct rd_actor a = rd_call_actor(&p->w.c);
		rc = rd_reports_scope(t, p->w.app->domain, &a, p->w.c.who.role, &p->scope);
		rd_txn_end(t);
	}
	if (rc < 0) {
		rd_web_message(&p->w, rc == RD_ETOOBIG ? 413 : 500, "Reports",
			       rc == RD_ETOOBIG ? "Your channel has too many partners for one report." : "The store could not be read.");
		return false;
	}
	return true;
}

/* Renders the page from report (dropped after), charts, tables, links and crumbs (all taken). */
static void render(struct rp *p, const char *title, json_t *report, json_t *charts, json_t *tables, json_t *links,
		   json_t *crumbs)
{
	json_t *ctx = rd_console_page_ctx(&p->w, title, p->base);
	json_object_set_new(ctx, "today", json_incref(json_object_get(report, "today")));
	json_object_set_new(ctx, "from", json_incref(json_object_get(json_object_get(report, "period"), "from")));
	json_object_set_new(ctx, "to", json_incref(json_object_get(json_object_get(report, "period"), "to")));
	/* The programme and the scorecards count other records (and the programme's contracts are
	 * everyone's): the count of the caller's contracts is the other reports'. */
	const char *name = json_string_value(json_object_get(report, "report"));
	bool counted = name && strcmp(name, "programme") != 0 && strcmp(name, "scorecards") != 0;
	json_object_set_new(ctx, "contracts", json_incref(json_object_get(report, "contracts")));
	json_object_set_new(ctx, "counted", json_boolean(counted));
	json_object_set_new(ctx, "charts", charts);
	json_object_set_new(ctx, "tables", tables);
	json_object_set_new(ctx, "links", links ? links : json_array());
	json_object_set_new(ctx, "crumbs", crumbs ? crumbs : json_array());
	rd_web_mark_lists(ctx);
	rd_web_page(&p->w, 200, "reports", p->partner ? p->w.c.who.partner : 0, ctx);
	json_decref(report);
}

static void add_chart(json_t *charts, char *svg)
{
	json_array_append_new(charts, json_pack("{s:s}", "svg", svg));
	free(svg);
}

static void refused(struct rp *p, const struct rd_serr *e)
{
	int status = rd_serr_status(e->rc);
	rd_web_message(&p->w, status, status == 404 ? "Not found" : "Reports", e->message);
}

/* Reads a page's report (and whatever else the page names) in one read
 * transaction; arg is the page's own. */
typedef int (*fetch_fn)(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e);

/* Reads the page's report with fn.  1: *rep is the report; 0: answered
 * (the service refused); < 0: the store could not be read. */
static int fetch(struct rp *p, fetch_fn fn, void *arg, json_t **rep)
{
	struct rd_txn *t;
	int rc = rd_store_read(p->w.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_serr e = { 0 };
	*rep = NULL;
	rc = fn(t, p, arg, rep, &e);
	rd_txn_end(t);
	if (rc < 0) {
		refused(p, &e);
		return 0;
	}
	return 1;
}

/* Groups the rows of a report table by currency: the first 8 currencies, in order. */
static size_t currencies(json_t *t, char curs[8][4])
{
	json_t *row;
	size_t nc = 0, i;
	json_array_foreach(json_object_get(t, "rows"), i, row) {
		const char *cur = cell_str(t, row, "currency");
		size_t k = 0;
		while (k < nc && strcmp(curs[k], cur))
			k++;
		if (k == nc && nc < 8)
			snprintf(curs[nc++], 4, "%s", cur);
	}
	return nc;
}

/* Bars of one column of a report table by row label, one chart per
 * currency: "<id>-CUR", titled "<title>, CUR", described "<desc> in CUR:"
 * then each bar. */
struct bars {
	const char *table;     /* the report table */
	const char *column;    /* the value charted */
	bool rate;             /* a rate (else money in the row's currency) */
	const char *side;      /* only rows of this side, or NULL */
	size_t most;           /* bars a chart (at most 20) */
	size_t desc_cap;       /* the description's length (at most 2048) */
	const char *id, *title, *desc;
};

static void currency_bars(json_t *rep, json_t *charts, const struct bars *b)
{
	json_t *t = json_object_get(json_object_get(rep, "tables"), b->table), *row;
	char curs[8][4];
	size_t nc = currencies(t, curs), i;
	for (size_t k = 0; k < nc; k++) {
		struct rd_svg_point pts[20];
		char texts[20][64], labels[20][96], desc[2048], id[32], title[160];
		size_t n = 0, dl = (size_t)snprintf(desc, b->desc_cap, "%s in %s:", b->desc, curs[k]);
		json_array_foreach(json_object_get(t, "rows"), i, row) {
			if (strcmp(cell_str(t, row, "currency"), curs[k]) || (b->side && strcmp(cell_str(t, row, "side"), b->side)) ||
			    n == b->most)
				continue;
			json_t *v = cell(t, row, b->column);
			double value;
			if (b->rate) {
				cell_text("rate", v, NULL, texts[n], sizeof texts[n]);
				value = json_is_integer(v) ? (double)json_integer_value(v) : 0;
			} else {
				int64_t m = (int64_t)json_integer_value(v);
				rd_money_format(m, curs[k], texts[n], sizeof texts[n]);
				value = (double)m;
			}
			snprintf(labels[n], sizeof labels[n], "%s", cell_str(t, row, "label"));
			pts[n] = (struct rd_svg_point){ labels[n], value, texts[n] };
			if (dl < b->desc_cap)
				dl += (size_t)snprintf(desc + dl, b->desc_cap - dl, " %s %s;", labels[n], texts[n]);
			n++;
		}
		snprintf(id, sizeof id, "%s-%s", b->id, curs[k]);
		snprintf(title, sizeof title, "%s, %s", b->title, curs[k]);
		add_chart(charts, rd_svg_bars(id, title, desc, pts, n));
	}
}

static json_t *nlink(const char *href, const char *label)
{
	return json_pack("{s:s, s:s}", "href", href, "label", label);
}

static json_t *nav_links(const char *base)
{
	char a[128], b[128], c[128], d[128], e[128], f[128], g[128], h[128];
	snprintf(a, sizeof a, "%s/drilldown?by=line", base);
	snprintf(b, sizeof b, "%s/drilldown?by=customer", base);
	snprintf(c, sizeof c, "%s/rankings?by=customer", base);
	snprintf(d, sizeof d, "%s/rankings?by=reseller", base);
	snprintf(e, sizeof e, "%s/rankings?by=distributor", base);
	snprintf(f, sizeof f, "%s/rankings?by=sales", base);
	snprintf(g, sizeof g, "%s/programme", base);
	snprintf(h, sizeof h, "%s/scorecards", base);
	return json_pack("[o, o, o, o, o, o, o, o, o]", nlink(base, "Dashboard"), nlink(a, "Drill down by product line"),
			 nlink(b, "Drill down by customer"), nlink(c, "Rank customers"),
			 nlink(d, "Sales by partner: rank resellers"), nlink(e, "Rank distributors"),
			 nlink(f, "Rank sales people"), nlink(g, "Deal registrations and lead sources"),
			 nlink(h, "Partner scorecards"));
}

/* ---- the dashboard ---------------------------------------------------------------------------- */

static void dashboard_charts(json_t *rep, json_t *charts)
{
	json_t *tables = json_object_get(rep, "tables");
	json_t *due = json_object_get(tables, "due"), *rate = json_object_get(tables, "rate");
	json_t *months = json_object_get(tables, "months"), *mrr = json_object_get(tables, "mrr");
	json_t *row;
	size_t i;
	/* One set of charts per currency: never a figure across currencies. */
	json_array_foreach(json_object_get(rate, "rows"), i, row) {
		const char *cur = cell_str(rate, row, "currency");
		char id[32], title[128], desc[1024];
		/* Value due by window: bars. */
		struct rd_svg_point pts[5];
		char texts[5][64];
		size_t n = 0, r;
		json_t *drow;
		size_t dl = 0;
		dl += (size_t)snprintf(desc + dl, sizeof desc - dl, "Value due by window in %s:", cur);
		json_array_foreach(json_object_get(due, "rows"), r, drow) {
			if (strcmp(cell_str(due, drow, "currency"), cur) || n == 5)
				continue;
			int64_t v = cell_int(due, drow, "value");
			rd_money_format(v, cur, texts[n], sizeof texts[n]);
			pts[n] = (struct rd_svg_point){ cell_str(due, drow, "window"), (double)v, texts[n] };
			if (dl < sizeof desc)
				dl += (size_t)snprintf(desc + dl, sizeof desc - dl, " %s days %s (%lld contracts);",
						       pts[n].label, texts[n], (long long)cell_int(due, drow, "contracts"));
			n++;
		}
		snprintf(id, sizeof id, "due-%s", cur);
		snprintf(title, sizeof title, "Value due by window, %s", cur);
		add_chart(charts, rd_svg_bars(id, title, desc, pts, n));
		/* The rate split: a funnel of value due, resolved, won, renewed. */
		static const char *const stages[][2] = { { "due_value", "Value due" }, { "resolved_value", "Resolved" },
							   { "won_value", "Won" }, { "renewed_value", "Renewed" } };
		struct rd_svg_point fp[4];
		char ft[4][96];
		int64_t v0 = cell_int(rate, row, "due_value");
		for (int k = 0; k < 4; k++) {
			int64_t v = cell_int(rate, row, stages[k][0]);
			char money[64], pct[32] = "";
			rd_money_format(v, cur, money, sizeof money);
			if (v0 > 0)
				rd_bp_format((int64_t)((__int128)v * 10000 / v0), pct, sizeof pct);
			snprintf(ft[k], sizeof ft[k], "%s%s%s%s", money, pct[0] ? " (" : "", pct, pct[0] ? ")" : "");
			fp[k] = (struct rd_svg_point){ stages[k][1], (double)v, ft[k] };
		}
		char res[32] = "n/a", clo[32] = "n/a", con[32] = "n/a", tot[32] = "n/a";
		cell_text("rate", cell(rate, row, "resolution_value_bp"), cur, res, sizeof res);
		cell_text("rate", cell(rate, row, "close_value_bp"), cur, clo, sizeof clo);
		cell_text("rate", cell(rate, row, "conversion_bp"), cur, con, sizeof con);
		cell_text("rate", cell(rate, row, "rate_value_bp"), cur, tot, sizeof tot);
		snprintf(desc, sizeof desc,
			 "Renewal rate by value in %s over the period: %s = resolution %s x close %s x conversion %s. "
			 "Value due %s, resolved %s, won %s, renewed %s.",
			 cur, tot, res, clo, con, ft[0], ft[1], ft[2], ft[3]);
		snprintf(id, sizeof id, "funnel-%s", cur);
		snprintf(title, sizeof title, "Renewal rate split, %s: resolution, close, conversion", cur);
		add_chart(charts, rd_svg_funnel(id, title, desc, fp, 4));
		/* The rate by month: lines by count and by value. */
		struct rd_svg_point cnt[12], val[12];
		char ct[12][32], vt[12][32], mlabel[12][16];
		const char *xl[12];
		size_t m = 0;
		json_t *mrow;
		dl = (size_t)snprintf(desc, sizeof desc, "Renewal rate by month in %s (by count / by value):", cur);
		json_array_foreach(json_object_get(months, "rows"), r, mrow) {
			if (strcmp(cell_str(months, mrow, "currency"), cur) || m == 12)
				continue;
			snprintf(mlabel[m], sizeof mlabel[m], "%s", cell_str(months, mrow, "month"));
			xl[m] = mlabel[m];
			json_t *a = cell(months, mrow, "rate_count_bp"), *b = cell(months, mrow, "rate_value_bp");
			cell_text("rate", a, cur, ct[m], sizeof ct[m]);
			cell_text("rate", b, cur, vt[m], sizeof vt[m]);
			cnt[m] = (struct rd_svg_point){ mlabel[m], json_is_integer(a) ? (double)json_integer_value(a) : 0, ct[m] };
			val[m] = (struct rd_svg_point){ mlabel[m], json_is_integer(b) ? (double)json_integer_value(b) : 0, vt[m] };
			if (dl < sizeof desc)
				dl += (size_t)snprintf(desc + dl, sizeof desc - dl, " %s %s / %s;", mlabel[m], ct[m], vt[m]);
			m++;
		}
		struct rd_svg_series ser[2] = { { "By count", cnt }, { "By value", val } };
		snprintf(id, sizeof id, "months-%s", cur);
		snprintf(title, sizeof title, "Renewal rate by month, %s", cur);
		add_chart(charts, rd_svg_lines(id, title, desc, xl, m, ser, 2));
		/* Monthly recurring revenue by billing term: bars. */
		n = 0;
		dl = (size_t)snprintf(desc, sizeof desc, "Monthly recurring revenue by billing term in %s:", cur);
		json_array_foreach(json_object_get(mrr, "rows"), r, drow) {
			if (strcmp(cell_str(mrr, drow, "currency"), cur) || n == 5)
				continue;
			int64_t v = cell_int(mrr, drow, "mrr");
			rd_money_format(v, cur, texts[n], sizeof texts[n]);
			pts[n] = (struct rd_svg_point){ cell_str(mrr, drow, "term"), (double)v, texts[n] };
			if (dl < sizeof desc)
				dl += (size_t)snprintf(desc + dl, sizeof desc - dl, " %s %s;", pts[n].label, texts[n]);
			n++;
		}
		snprintf(id, sizeof id, "mrr-%s", cur);
		snprintf(title, sizeof title, "Monthly recurring revenue by billing term, %s", cur);
		add_chart(charts, rd_svg_bars(id, title, desc, pts, n));
	}
}

static int dashboard_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	(void)arg;
	return rd_reports_dashboard(t, p->w.app->domain, &p->scope, NULL, rep, e);
}

static int dashboard(struct rd_req *req, bool partner)
{
	struct rp p;
	json_t *rep;
	if (!begin(req, &p, partner))
		return 0;
	int rc = fetch(&p, dashboard_fetch, NULL, &rep);
	if (rc <= 0)
		return rc;
	json_t *charts = json_array(), *tables = json_array();
	dashboard_charts(rep, charts);
	static const char *const names[] = { "due", "rate", "months", "quarters", "cancellations", "lost_reasons", "mrr",
					     "publish", "channel", "pipeline" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		json_t *pt = page_table(rep, names[i], p.base, "/api/v1/reports/dashboard", NULL);
		if (pt)
			json_array_append_new(tables, pt);
	}
	render(&p, "Reports", rep, charts, tables, nav_links(p.base), NULL);
	return 0;
}

int rd_page_vendor_reports(struct rd_req *req) { return dashboard(req, false); }
int rd_page_partner_reports(struct rd_req *req) { return dashboard(req, true); }

/* ---- the drill-down --------------------------------------------------------------------------- */

static void link_line(const char *base, json_t *t, json_t *row, char *out, size_t cap)
{
	char enc[200];
	url_enc(cell_str(t, row, "label"), enc, sizeof enc);
	snprintf(out, cap, "%s/drilldown?by=product&line=%s", base, enc);
}

static void link_product(const char *base, json_t *t, json_t *row, char *out, size_t cap)
{
	snprintf(out, cap, "%s/drilldown?by=contract&product=%lld", base, (long long)cell_int(t, row, "id"));
}

static void link_customer(const char *base, json_t *t, json_t *row, char *out, size_t cap)
{
	snprintf(out, cap, "%s/drilldown?by=contract&customer=%lld", base, (long long)cell_int(t, row, "id"));
}

static void link_contract(const char *base, json_t *t, json_t *row, char *out, size_t cap)
{
	snprintf(out, cap, "%s/contracts/%lld", base, (long long)cell_int(t, row, "id"));
}

/* A bar chart of the rows' value due, per currency (the first 20 rows of each). */
static void drill_charts(json_t *rep, json_t *charts, const char *what)
{
	char desc[96], title[96];
	snprintf(desc, sizeof desc, "Value due over the period by %s", what);
	snprintf(title, sizeof title, "Value due by %s", what);
	currency_bars(rep, charts, &(struct bars){ .table = "rows", .column = "due_value", .most = 20, .desc_cap = 2048,
						   .id = "drill", .title = title, .desc = desc });
}

static bool query_id(struct rp *p, const char *name, uint64_t *out)
{
	const char *s = rd_req_query(p->w.req, name);
	*out = s ? rd_parse_id(s) : 0;
	if (s && !*out) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s is a positive whole number.", name);
		rd_web_message(&p->w, 400, "Reports", msg);
		return false;
	}
	return true;
}

/* The drill-down's report, and the names of the product and the customer it is filtered to. */
struct drill_q {
	int by;
	struct rd_rep_filter *f;
	char product_name[200], customer_name[160];
};

static int drill_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	struct drill_q *q = arg;
	struct rd_rep_filter *f = q->f;
	int rc = rd_reports_drill(t, p->w.app->domain, &p->scope, q->by, f, NULL, rep, e);
	if (rc == 0 && f->product) {
		struct rd_product pr;
		if (rd_entity_get(t, p->w.app->domain->products, &rd_entity_product, p->w.c.who.vendor, f->product, &pr) == 0) {
			snprintf(q->product_name, sizeof q->product_name, "%s (%s)", pr.name, pr.external_id);
			if (!f->line[0])
				snprintf(f->line, sizeof f->line, "%s", pr.line);
		}
	}
	if (rc == 0 && f->customer) {
		struct rd_customer cu;
		if (rd_entity_get(t, p->w.app->domain->customers, &rd_entity_customer, p->w.c.who.vendor, f->customer, &cu) == 0)
			snprintf(q->customer_name, sizeof q->customer_name, "%s", cu.name);
	}
	return rc;
}

static int drill(struct rd_req *req, bool partner)
{
	struct rp p;
	if (!begin(req, &p, partner))
		return 0;
	const char *bs = rd_req_query(req, "by"), *line = rd_req_query(req, "line");
	int by = bs ? rd_rep_by_parse(bs) : RD_REP_BY_LINE;
	struct rd_rep_filter f = { 0 };
	if (!by) {
		rd_web_message(&p.w, 400, "Reports", "by is line, product, contract or customer.");
		return 0;
	}
	if (!query_id(&p, "product", &f.product) || !query_id(&p, "customer", &f.customer))
		return 0;
	if (line && (!line[0] || strlen(line) >= sizeof f.line)) {
		rd_web_message(&p.w, 400, "Reports", "line is a product line name.");
		return 0;
	}
	if (line)
		snprintf(f.line, sizeof f.line, "%s", line);
	struct drill_q q = { by, &f, "", "" };
	json_t *rep;
	int rc = fetch(&p, drill_fetch, &q, &rep);
	if (rc <= 0)
		return rc;
	const char *product_name = q.product_name, *customer_name = q.customer_name;
	/* Where this level sits: dashboard > lines > line > product. */
	json_t *crumbs = json_array();
	char href[512], enc[200], csv[512];
	json_array_append_new(crumbs, nlink(p.base, "Dashboard"));
	if (by == RD_REP_BY_CUSTOMER || f.customer) {
		snprintf(href, sizeof href, "%s/drilldown?by=customer", p.base);
		json_array_append_new(crumbs, nlink(href, "Customers"));
		if (f.customer)
			json_array_append_new(crumbs, json_pack("{s:s, s:b}", "label", customer_name, "href", 0));
	} else {
		snprintf(href, sizeof href, "%s/drilldown?by=line", p.base);
		json_array_append_new(crumbs, nlink(href, "Product lines"));
		if (f.line[0]) {
			url_enc(f.line, enc, sizeof enc);
			snprintf(href, sizeof href, "%s/drilldown?by=product&line=%s", p.base, enc);
			json_array_append_new(crumbs, nlink(href, f.line));
		}
		if (f.product)
			json_array_append_new(crumbs, json_pack("{s:s, s:b}", "label", product_name, "href", 0));
	}
	url_enc(f.line, enc, sizeof enc);
	snprintf(csv, sizeof csv, "/api/v1/reports/drilldown?by=%s", rd_rep_by_name(by));
	size_t cl = strlen(csv);
	if (f.line[0] && !f.product && !f.customer)
		cl += (size_t)snprintf(csv + cl, sizeof csv - cl, "&line=%s", enc);
	if (f.product)
		cl += (size_t)snprintf(csv + cl, sizeof csv - cl, "&product=%llu", (unsigned long long)f.product);
	if (f.customer)
		snprintf(csv + cl, sizeof csv - cl, "&customer=%llu", (unsigned long long)f.customer);
	static const link_fn links[] = { NULL, link_line, link_product, link_contract, link_customer };
	static const char *const what[] = { "", "product line", "product", "contract", "customer" };
	json_t *charts = json_array(), *tables = json_array();
	drill_charts(rep, charts, what[by]);
	/* Contract rows: the report's contract page, and the console's (the same portal's). */
	json_array_append_new(tables, page_table_open(rep, "rows", p.base, csv, links[by],
						      by == RD_REP_BY_CONTRACT ? (p.partner ? "/partner" : "/vendor") : NULL));
	json_array_append_new(tables, page_table(rep, "totals", p.base, csv, NULL));
	char title[256];
	snprintf(title, sizeof title, "Reports: %s%s%s", by == RD_REP_BY_LINE ? "product lines" : by == RD_REP_BY_PRODUCT ? "products"
							 : by == RD_REP_BY_CUSTOMER ? "customers" : "contracts",
		 product_name[0] || customer_name[0] ? " of " : "", product_name[0] ? product_name : customer_name);
	render(&p, title, rep, charts, tables, nav_links(p.base), crumbs);
	return 0;
}

int rd_page_vendor_reports_drill(struct rd_req *req) { return drill(req, false); }
int rd_page_partner_reports_drill(struct rd_req *req) { return drill(req, true); }

/* ---- one contract ----------------------------------------------------------------------------- */

/* One contract's report, with the contract, its product and its customer. */
struct contract_q {
	struct rd_rep_filter *f;
	struct rd_contract k;
	struct rd_product pr;
	struct rd_customer cu;
};

static int contract_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	struct contract_q *q = arg;
	int rc = rd_reports_drill(t, p->w.app->domain, &p->scope, RD_REP_BY_CONTRACT, q->f, NULL, rep, e);
	if (rc == 0 &&
	    rd_entity_get(t, p->w.app->domain->contracts, &rd_entity_contract, p->w.c.who.vendor, q->f->contract, &q->k) == 0) {
		rd_entity_get(t, p->w.app->domain->products, &rd_entity_product, p->w.c.who.vendor, q->k.product_id, &q->pr);
		rd_entity_get(t, p->w.app->domain->customers, &rd_entity_customer, p->w.c.who.vendor, q->k.customer_id, &q->cu);
	}
	return rc;
}

static int contract(struct rd_req *req, bool partner)
{
	struct rp p;
	if (!begin(req, &p, partner))
		return 0;
	struct rd_rep_filter f = { 0 };
	f.contract = rd_parse_id(rd_req_param(req, "id"));
	if (!f.contract) {
		rd_web_message(&p.w, 404, "Not found", "No such contract.");
		return 0;
	}
	struct contract_q q = { .f = &f };
	json_t *rep;
	int rc = fetch(&p, contract_fetch, &q, &rep);
	if (rc <= 0)
		return rc;
	const struct rd_contract *k = &q.k;
	const struct rd_product *pr = &q.pr;
	const struct rd_customer *cu = &q.cu;
	json_t *crumbs = json_array();
	char href[512], enc[200], title[256], csv[160];
	json_array_append_new(crumbs, nlink(p.base, "Dashboard"));
	snprintf(href, sizeof href, "%s/drilldown?by=line", p.base);
	json_array_append_new(crumbs, nlink(href, "Product lines"));
	url_enc(pr->line, enc, sizeof enc);
	snprintf(href, sizeof href, "%s/drilldown?by=product&line=%s", p.base, enc);
	json_array_append_new(crumbs, nlink(href, pr->line));
	snprintf(href, sizeof href, "%s/drilldown?by=contract&product=%llu", p.base, (unsigned long long)k->product_id);
	json_array_append_new(crumbs, nlink(href, pr->name));
	json_array_append_new(crumbs, json_pack("{s:s, s:b}", "label", k->external_id, "href", 0));
	json_t *links = nav_links(p.base);
	snprintf(href, sizeof href, "%s/drilldown?by=contract&customer=%llu", p.base, (unsigned long long)k->customer_id);
	char label[200];
	snprintf(label, sizeof label, "Every contract of %s", cu->name);
	json_array_insert_new(links, 1, nlink(href, label));
	snprintf(href, sizeof href, "%s/contracts/%llu", p.partner ? "/partner" : "/vendor", (unsigned long long)f.contract);
	snprintf(label, sizeof label, "Contract %s in the console", k->external_id);
	json_array_insert_new(links, 2, nlink(href, label));
	snprintf(csv, sizeof csv, "/api/v1/reports/drilldown?by=contract&contract=%llu", (unsigned long long)f.contract);
	json_t *tables = json_array();
	json_array_append_new(tables, page_table(rep, "rows", p.base, csv, NULL));
	snprintf(title, sizeof title, "Reports: contract %s", k->external_id);
	render(&p, title, rep, json_array(), tables, links, crumbs);
	return 0;
}

int rd_page_vendor_report_contract(struct rd_req *req) { return contract(req, false); }
int rd_page_partner_report_contract(struct rd_req *req) { return contract(req, true); }

/* ---- the rankings ----------------------------------------------------------------------------- */

static int rankings_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	return rd_reports_rankings(t, p->w.app->domain, &p->scope, *(int *)arg, NULL, rep, e);
}

static int rankings(struct rd_req *req, bool partner)
{
	struct rp p;
	if (!begin(req, &p, partner))
		return 0;
	const char *bs = rd_req_query(req, "by");
	int by = bs ? rd_rep_by_parse(bs) : RD_REP_BY_CUSTOMER;
	if (by != RD_REP_BY_CUSTOMER && by != RD_REP_BY_RESELLER && by != RD_REP_BY_DISTRIBUTOR && by != RD_REP_BY_SALES) {
		rd_web_message(&p.w, 400, "Reports", "by is customer, reseller, distributor or sales.");
		return 0;
	}
	json_t *rep;
	int rc = fetch(&p, rankings_fetch, &by, &rep);
	if (rc <= 0)
		return rc;
	char csv[128];
	snprintf(csv, sizeof csv, "/api/v1/reports/rankings?by=%s", rd_rep_by_name(by));
	json_t *charts = json_array(), *tables = json_array();
	/* The best by value renewed, per currency: bars. */
	currency_bars(rep, charts, &(struct bars){ .table = "by_value", .column = "renewed_value", .side = "best", .most = 10,
						   .desc_cap = 1536, .id = "best", .title = "Best by value renewed",
						   .desc = "The best by value renewed" });
	json_array_append_new(tables, page_table(rep, "by_value", p.base, csv, by == RD_REP_BY_CUSTOMER ? link_customer : NULL));
	json_array_append_new(tables, page_table(rep, "by_rate", p.base, csv, by == RD_REP_BY_CUSTOMER ? link_customer : NULL));
	char title[96];
	snprintf(title, sizeof title, "Reports: ranking %s", by == RD_REP_BY_CUSTOMER ? "customers" : by == RD_REP_BY_RESELLER ? "resellers"
								: by == RD_REP_BY_DISTRIBUTOR ? "distributors" : "sales people");
	render(&p, title, rep, charts, tables, nav_links(p.base), NULL);
	return 0;
}

int rd_page_vendor_reports_rankings(struct rd_req *req) { return rankings(req, false); }
int rd_page_partner_reports_rankings(struct rd_req *req) { return rankings(req, true); }

/* ---- the programmes --------------------------------------------------------------------------- */

static int programme_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	(void)arg;
	return rd_reports_programme(t, p->w.app->domain, &p->scope, NULL, rep, e);
}

static int programme(struct rd_req *req, bool partner)
{
	struct rp p;
	json_t *rep;
	if (!begin(req, &p, partner))
		return 0;
	int rc = fetch(&p, programme_fetch, NULL, &rep);
	if (rc <= 0)
		return rc;
	/* Lead conversion by source: bars. */
	json_t *charts = json_array(), *tables = json_array(), *row;
	json_t *ls = json_object_get(json_object_get(rep, "tables"), "lead_sources");
	struct rd_svg_point pts[16];
	char texts[16][32], labels[16][24], desc[1024];
	size_t n = 0, i, dl = (size_t)snprintf(desc, sizeof desc, "Leads won of all leads, by source:");
	json_array_foreach(json_object_get(ls, "rows"), i, row) {
		if (n == 16)
			break;
		json_t *conv = cell(ls, row, "conversion_bp");
		cell_text("rate", conv, NULL, texts[n], sizeof texts[n]);
		snprintf(labels[n], sizeof labels[n], "%s", cell_str(ls, row, "source"));
		pts[n] = (struct rd_svg_point){ labels[n], json_is_integer(conv) ? (double)json_integer_value(conv) : 0,
						texts[n] };
		if (dl < sizeof desc)
			dl += (size_t)snprintf(desc + dl, sizeof desc - dl, " %s %s of %lld;", labels[n], texts[n],
					       (long long)cell_int(ls, row, "leads"));
		n++;
	}
	add_chart(charts, rd_svg_bars("lead-conversion", "Lead conversion by source", desc, pts, n));
	static const char *const names[] = { "deal_states", "lead_sources", "lead_value" };
	for (size_t k = 0; k < 3; k++)
		json_array_append_new(tables, page_table(rep, names[k], p.base, "/api/v1/reports/programme", NULL));
	render(&p, "Reports: deal registrations and lead sources", rep, charts, tables, nav_links(p.base), NULL);
	return 0;
}

int rd_page_vendor_reports_programme(struct rd_req *req) { return programme(req, false); }
int rd_page_partner_reports_programme(struct rd_req *req) { return programme(req, true); }

/* ---- partner scorecards ----------------------------------------------------------------------- */

static int scorecards_fetch(struct rd_txn *t, struct rp *p, void *arg, json_t **rep, struct rd_serr *e)
{
	(void)arg;
	return rd_reports_scorecards(t, p->w.app->domain, &p->scope, NULL, rep, e);
}

static int scorecards(struct rd_req *req, bool partner)
{
	struct rp p;
	json_t *rep;
	if (!begin(req, &p, partner))
		return 0;
	int rc = fetch(&p, scorecards_fetch, NULL, &rep);
	if (rc <= 0)
		return rc;
	/* The renewal rate by value of each card against the programme, per currency: bars. */
	json_t *charts = json_array(), *tables = json_array();
	currency_bars(rep, charts, &(struct bars){ .table = "rates", .column = "rate_value_bp", .rate = true, .most = 20,
						   .desc_cap = 2048, .id = "cards",
						   .title = "Renewal rate by value against the programme",
						   .desc = "Renewal rate by value" });
	json_array_append_new(tables, page_table(rep, "cards", p.base, "/api/v1/reports/scorecards", NULL));
	json_array_append_new(tables, page_table(rep, "rates", p.base, "/api/v1/reports/scorecards", NULL));
	render(&p, "Reports: partner scorecards", rep, charts, tables, nav_links(p.base), NULL);
	return 0;
}

int rd_page_vendor_reports_scorecards(struct rd_req *req) { return scorecards(req, false); }
int rd_page_partner_reports_scorecards(struct rd_req *req) { return scorecards(req, true); }
