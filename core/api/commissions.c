/*
 * commissions.c: commission entries and monthly statements (docs/commissions.md).
 *   GET /api/v1/commissions            ?partner= &month= &kind= &limit= &cursor=
 *   GET /api/v1/statements             ?partner= &month= &limit= &cursor=
 *   GET /api/v1/statements/{id}
 *   GET /api/v1/statements/{id}/csv
 *   GET /api/v1/statements/{id}/pdf
 * Partner roles see their own partner's entries and statements only.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "domain/money.h"
#include "pdf/statement.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

/* ---- the API ------------------------------------------------------------------------------ */

static bool month_ok(const char *s)
{
	return s && strlen(s) == 7 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	       s[2] <= '9' && s[3] >= '0' && s[3] <= '9' && s[4] == '-' &&
	       ((s[5] == '0' && s[6] >= '1' && s[6] <= '9') || (s[5] == '1' && s[6] >= '0' && s[6] <= '2'));
}

/* The partner filter: partner roles are held to their own partner.  Replies
 * 400 and returns false on a bad filter. */
static bool filters(struct call *c, enum rd_scope scope, uint64_t *partner, const char **month)
{
	const char *ps = rd_req_query(c->req, "partner");
	*month = rd_req_query(c->req, "month");
	*partner = ps ? rd_parse_id(ps) : 0;
	if (ps && !*partner) {
		rd_reply_error(c->req, 400, "invalid", "partner", "partner is a partner id");
		return false;
	}
	if (*month && !month_ok(*month)) {
		rd_reply_error(c->req, 400, "invalid", "month", "month is YYYY-MM");
		return false;
	}
	if (scope != RD_SCOPE_ALL) {
		if (*partner && *partner != c->who.partner) {
			*partner = UINT64_MAX; /* another partner's: nothing to see */
			return true;
		}
		*partner = c->who.partner;
	}
	return true;
}

/* The lists' filters: a partner, a month, a kind (commissions). */
struct month_filter {
	uint64_t partner;
	const char *month, *kind;
};

static json_t *commission_row(void *ctx, const void *obj)
{
	const struct month_filter *f = ctx;
	const struct rd_commission *cm = obj;
	if ((f->partner && cm->partner_id != f->partner) || (f->month && strcmp(cm->month, f->month)))
		return NULL;
	return rd_page_if(rd_entity_to_json(&rd_entity_commission, cm), "kind", f->kind);
}

static json_t *statement_row(void *ctx, const void *obj)
{
	const struct month_filter *f = ctx;
	const struct rd_statement *st = obj;
	if ((f->partner && st->partner_id != f->partner) || (f->month && strcmp(st->month, f->month)))
		return NULL;
	return rd_statement_json(st);
}

int rd_api_commissions_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_COMMISSION, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "partner", "month", "kind", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0)
		return 0;
	uint64_t partner;
	const char *month, *kind = rd_req_query(req, "kind");
	if (!filters(&c, scope, &partner, &month)) {
		json_decref(pg.items);
		return 0;
	}
	if (kind && strcmp(kind, "earned") && strcmp(kind, "retained") && strcmp(kind, "reversal")) {
		json_decref(pg.items);
		rd_reply_error(req, 400, "invalid", "kind", "kind is earned, retained or reversal");
		return 0;
	}
	struct month_filter f = { partner, month, kind };
	return rd_page_records(&pg, &c, c.app->domain->commissions, &rd_entity_commission, commission_row, &f);
}

json_t *rd_statement_json(const struct rd_statement *st)
{
	json_t *j = rd_entity_to_json(&rd_entity_statement, st);
	json_t *totals = json_loads(st->totals[0] ? st->totals : "[]", 0, NULL);
	json_object_set_new(j, "totals", totals ? totals : json_array());
	char path[96];
	snprintf(path, sizeof path, "/api/v1/statements/%llu/csv", (unsigned long long)st->id);
	json_object_set_new(j, "csv_url", json_string(path));
	snprintf(path, sizeof path, "/api/v1/statements/%llu/pdf", (unsigned long long)st->id);
	json_object_set_new(j, "pdf_url", json_string(path));
	return j;
}

int rd_api_statements_list(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_COMMISSION, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	static const char *const known[] = { "limit", "cursor", "partner", "month", NULL };
	struct rd_page pg;
	if (rd_page_begin(&pg, req, known) < 0)
		return 0;
	uint64_t partner;
	const char *month;
	if (!filters(&c, scope, &partner, &month)) {
		json_decref(pg.items);
		return 0;
	}
	struct month_filter f = { partner, month, NULL };
	static const char *const own[] = { RD_IDX_PARTNER }; /* statement_row: the caller's partner's */
	if (scope != RD_SCOPE_ALL)
		return rd_page_records_scoped(&pg, &c, c.app->domain->statements, &rd_entity_statement, own, 1,
					      statement_row, &f);
	return rd_page_records(&pg, &c, c.app->domain->statements, &rd_entity_statement, statement_row, &f);
}

/* The statement of {id} the caller may see, with its doc when want_doc;
 * replies 404 otherwise (returns RD_ENOTFOUND). */
static int load_statement(struct call *c, enum rd_scope scope, struct rd_statement *st, struct rd_statement_doc **doc)
{
	const char *ids = rd_req_param(c->req, "id");
	uint64_t id = rd_parse_id(ids);
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rc;
	rc = id ? rd_entity_get(t, c->app->domain->statements, &rd_entity_statement, c->who.vendor, id, st) : RD_ENOTFOUND;
	if (rc == 0 && scope != RD_SCOPE_ALL && st->partner_id != c->who.partner)
		rc = RD_ENOTFOUND;
	if (rc == 0 && doc)
		rc = rd_statement_load(t, c->app->domain, c->who.vendor, st, doc);
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND)
		rd_reply_error(c->req, 404, "not_found", "id", "no such statement");
	return rc;
}

int rd_api_statement_get(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_COMMISSION, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_statement st;
	int rc = load_statement(&c, scope, &st, NULL);
	if (rc == 0)
		rd_reply_json(req, 200, rd_statement_json(&st));
	return rc == RD_ENOTFOUND ? 0 : rc;
}

int rd_api_statement_csv(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_COMMISSION, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_statement st;
	struct rd_statement_doc *doc = NULL;
	int rc = load_statement(&c, scope, &st, &doc);
	if (rc < 0)
		return rc == RD_ENOTFOUND ? 0 : rc;
	size_t len;
	char *csv = rd_statement_csv(doc, &len);
	char name[64], disp[128];
	rd_statement_filename(&st, "csv", name, sizeof name);
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
	rd_reply_header(req, "content-disposition", disp);
	rd_reply_raw(req, 200, "text/csv; charset=utf-8", csv, len);
	free(csv);
	rd_statement_doc_free(doc);
	return 0;
}

struct pdf_job {
	struct rd_statement_doc *doc;
	void *pdf;
	size_t len;
	int rc;
	char err[200];
};

static void pdf_work(void *arg)
{
	struct pdf_job *j = arg;
	j->rc = rd_statement_render(j->doc, &j->pdf, &j->len, j->err, sizeof j->err);
}

static void pdf_done(struct rd_req *req, void *arg)
{
	struct pdf_job *j = arg;
	if (req && j->rc == 0) {
		char name[64], disp[128];
		rd_statement_filename(&j->doc->st, "pdf", name, sizeof name);
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
		rd_reply_header(req, "content-disposition", disp);
		rd_reply_header(req, "x-content-type-options", "nosniff");
		rd_reply_raw(req, 200, "application/pdf", j->pdf, j->len);
	} else if (req) {
		rd_log(RD_LOG_ERROR, "pdf", "statement %s: %s", j->doc->st.number, j->err);
		rd_reply_error(req, 500, "internal", NULL, "the statement PDF could not be made");
	}
	free(j->pdf);
	rd_statement_doc_free(j->doc);
	free(j);
}

int rd_api_statement_pdf(struct rd_req *req)
{
	struct call c;
	enum rd_scope scope;
	if (rd_call_begin(req, &c) < 0 || (scope = rd_call_allow(&c, RD_RES_COMMISSION, RD_ACT_READ)) == RD_SCOPE_NONE)
		return 0;
	struct rd_statement st;
	struct rd_statement_doc *doc = NULL;
	int rc = load_statement(&c, scope, &st, &doc);
	if (rc < 0)
		return rc == RD_ENOTFOUND ? 0 : rc;
	struct pdf_job *j = rd_calloc(1, sizeof *j);
	j->doc = doc;
	if ((rc = rd_req_work(req, pdf_work, pdf_done, j)) < 0) {
		rd_statement_doc_free(doc);
		free(j);
	}
	return rc;
}
