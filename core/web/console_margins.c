/*
 * console_margins.c: margins as a form, for the common case.
 *   GET  /vendor/margins   the tier x publish-mode table (percentages), filled from
 *                          the active margin policy when the table made it, else
 *                          the seed programme's
 *   POST /vendor/margins   partner_platinum ... vendor_silver (percent, two decimals
 *                          at most): the table becomes a Lua margin policy and its
 *                          test vectors (services/margins.h), uploaded like any version
 *                          (services/policies.h: compiled and its vectors run on the
 *                          thread pool, then stored); it is then dry-run and activated
 *                          on /vendor/policies, where the Lua editor stays for
 *                          everything else
 * Reading needs policies: read; the form policies: create, as POST
 * /api/v1/policies/margin.  The form carries the session's CSRF token; a
 * bad cell is answered with the form again naming the field.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "policy/runtime.h"
#include "services/margins.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/console_work.h"
#include "web/web.h"

static void percent(uint32_t bp, char *out, size_t cap)
{
	if (bp % 100)
		snprintf(out, cap, "%u.%02u", bp / 100, bp % 100);
	else
		snprintf(out, cap, "%u", bp / 100);
}

/* The page: the table m (typed: the form's own text per cell, after a refusal). */
static int margins_page(struct web *w, int status, const struct rd_margin_table *m, bool typed, const char *error,
			const char *field)
{
	struct rd_margin_table shown;
	bool from_active = false;
	if (m) {
		shown = *m;
	} else {
		rd_margin_table_default(&shown);
		struct rd_txn *t;
		int rc = rd_store_read(w->app->store, &t);
		if (rc < 0)
			return rc;
		struct rd_policy_rec *r = rd_malloc(sizeof *r);
		if (w->vendor.margin_version &&
		    rd_policy_find(t, w->app->domain, w->c.who.vendor, "margin", w->vendor.margin_version, r) == 0)
			from_active = rd_margin_table_parse(r->source, &shown);
		rd_txn_end(t);
		free(r);
	}
	json_t *ctx = rd_console_page_ctx(w, "Margins", "/vendor/policies");
	json_t *rows = json_array();
	static const char *const mode_text[] = { "The partner sells (partner-published)", "The vendor sells (vendor-published)" };
	for (int i = 0; i < RD_MARGIN_MODES; i++) {
		json_t *cells = json_array();
		for (int j = 0; j < RD_MARGIN_TIERS; j++) {
			char name[40], value[24];
			snprintf(name, sizeof name, "%s_%s", rd_margin_modes[i], rd_margin_tiers[j]);
			const char *raw = typed ? rd_form(w->req, name) : NULL;
			percent(shown.bp[i][j], value, sizeof value);
			json_array_append_new(cells, json_pack("{s:s, s:s, s:s, s:b}", "name", name, "tier", rd_margin_tiers[j],
							       "value", raw ? raw : value, "wrong", field && !strcmp(field, name)));
		}
		json_array_append_new(rows, json_pack("{s:s, s:o}", "mode", mode_text[i], "cells", cells));
	}
	char bonus[24], dist[24];
	rd_bp_format(w->vendor.deal_bonus_bp, bonus, sizeof bonus);
	rd_bp_format(w->vendor.distributor_bp, dist, sizeof dist);
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "tiers", json_pack("[s, s, s]", "platinum", "gold", "silver"));
	json_object_set_new(ctx, "from_active", json_boolean(from_active));
	json_object_set_new(ctx, "active", json_integer(w->vendor.margin_version));
	json_object_set_new(ctx, "deal_bonus", json_string(bonus));
	json_object_set_new(ctx, "distributor_share", json_string(dist));
	json_object_set_new(ctx, "can_upload", json_boolean(rd_console_may(w, RD_RES_POLICY, RD_ACT_CREATE)));
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (field)
		json_object_set_new(ctx, "error_field", json_string(field));
	rd_console_page(w, status, "vendor_margins", ctx);
	return 0;
}

int rd_page_vendor_margins(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_POLICY, RD_ACT_READ))
		return 0;
	return margins_page(&w, 200, NULL, false, NULL, NULL);
}

struct upload {
	struct rd_policy_job j; /* first: the pool's work takes the job (services/policies.h) */
	struct web w;
	struct rd_margin_table m;
};

static void checked(struct rd_req *req, void *arg)
{
	struct upload *u = arg;
	struct rd_policy_job *j = &u->j;
	rd_policy_job_give(j);
	if (req) {
		u->w.req = req;
		u->w.c.req = req;
		int rc = 0;
		if (j->result == 0 && (rc = rd_policy_upload_store(j)) == 0) {
			char loc[80];
			snprintf(loc, sizeof loc, "/vendor/policies?stored=margin-%u", j->rec.version);
			rd_web_redirect(req, loc);
		} else {
			char text[600];
			snprintf(text, sizeof text, "The table's policy was not stored: %s",
				 j->result > 0 ? "its test vectors failed" : j->err[0] ? j->err : "it could not be checked");
			if (margins_page(&u->w, 500, &u->m, false, text, NULL) < 0)
				rd_web_message(&u->w, 500, "Something went wrong", "The policy could not be stored.");
		}
	}
	rd_policy_job_clear(j);
	free(u);
}

int rd_page_vendor_margins_post(struct rd_req *req)
{
	struct upload *u = rd_calloc(1, sizeof *u);
	if (!rd_console_begin(req, &u->w) || !rd_web_csrf_ok(&u->w) ||
	    !rd_console_allowed(&u->w, RD_RES_POLICY, RD_ACT_CREATE)) {
		free(u);
		return 0;
	}
	struct web *w = &u->w;
	for (int i = 0; i < RD_MARGIN_MODES; i++)
		for (int j = 0; j < RD_MARGIN_TIERS; j++) {
			char name[40], text[200];
			snprintf(name, sizeof name, "%s_%s", rd_margin_modes[i], rd_margin_tiers[j]);
			int64_t bp;
			/* A percentage with two decimals at most: hundredths of a per cent are basis points. */
			if (rd_form_amount(rd_form(req, name), "EUR", &bp) < 0 || bp > 10000) {
				snprintf(text, sizeof text, "%s: a percentage from 0 to 100 with two decimals at most (33 or 12.5)",
					 name);
				static const char *const fields[RD_MARGIN_MODES][RD_MARGIN_TIERS] = {
					{ "partner_platinum", "partner_gold", "partner_silver" },
					{ "vendor_platinum", "vendor_gold", "vendor_silver" },
				};
				int rc = margins_page(w, 400, &u->m, true, text, fields[i][j]);
				free(u);
				return rc;
			}
			u->m.bp[i][j] = (uint32_t)bp;
		}
	struct rd_serr e;
	if (rd_margin_table_check(&u->m, &w->vendor, &e) < 0) {
		char text[320];
		snprintf(text, sizeof text, "%s: %s", e.field, e.message);
		int rc = margins_page(w, 400, &u->m, true, text, e.field);
		free(u);
		return rc;
	}
	u->j.app = w->app;
	u->j.who = (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user };
	u->j.vendor = w->vendor;
	char *source = rd_margin_table_lua(&u->m);
	json_t *vectors = rd_margin_table_vectors(&u->m, &w->vendor);
	int rc = rd_policy_upload_prepare(&u->j, "margin", source, vectors, "from the margin table", &e);
	free(source);
	json_decref(vectors);
	if (rc < 0) {
		char text[320];
		snprintf(text, sizeof text, "%s", e.message);
		rc = margins_page(w, 400, &u->m, false, text, e.field);
		rd_policy_job_clear(&u->j);
		free(u);
		return rc;
	}
	unsigned max;
	if (rd_policy_job_take(&u->j, &max) != 0) {
		rd_reply_header(req, "retry-after", "1");
		rd_web_message(w, 429, "Busy", "Policy checks run a few at a time for a vendor: try again in a moment.");
		rd_policy_job_clear(&u->j);
		free(u);
		return 0;
	}
	int q = rd_req_work(req, rd_policy_upload_check, checked, u);
	if (q < 0) {
		rd_policy_job_give(&u->j);
		rd_policy_job_clear(&u->j);
		free(u);
	}
	return q;
}
