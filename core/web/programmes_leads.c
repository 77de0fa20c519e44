/*
 * programmes_leads.c: the pages of lead distribution (the rules are
 * core/services/leads.c):
 *   /f/{vendor}/lead       the vendor's public web-to-lead form (no login, no
 *                          JavaScript: a honeypot field and a signed time stamp)
 *   /partner/leads         leads offered to the partner (deadline, why, accept or
 *                          decline) and the ones it works (close won or lost)
 *   /vendor/leads          leads to qualify and route, pools in progress, why
 *                          each went where it went
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "services/leads.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

/* ---- the public form ---------------------------------------------------------------------- */

static void esc(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 7 < cap; s++) {
		const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;"
			      : *s == '\'' ? "&#39;" : NULL;
		if (r)
			o += (size_t)snprintf(out + o, cap - o, "%s", r);
		else
			out[o++] = *s;
	}
	out[o] = 0;
}

static void form_reply(struct rd_req *req, int status, const struct rd_vendor *v, const char *message, bool ok)
{
	char name[400], msg[700], stamp[96], slug[200];
	esc(name, sizeof name, v->name);
	esc(msg, sizeof msg, message ? message : "");
	esc(slug, sizeof slug, v->slug);
	rd_lead_form_stamp(v->id, stamp);
	char *html = rd_malloc(8192);
	int n = snprintf(html, 8192,
		"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
		"content=\"width=device-width, initial-scale=1\"><title>Contact %s</title><link rel=\"stylesheet\" "
		"href=\"/static/site.css\"></head>"
		"<body><main><h1>Contact %s</h1>%s%s%s"
		"%s<form class=\"stack\" method=\"post\" action=\"/f/%s/lead\">"
		"<input type=\"hidden\" name=\"ts\" value=\"%s\">"
		"<div class=\"hp\" aria-hidden=\"true\"><label for=\"website\">Leave this empty</label>"
		"<input id=\"website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\"></div>"
		"<label for=\"company\">Company</label><input id=\"company\" name=\"company\" maxlength=\"127\">"
		"<label for=\"contact_name\">Your name</label><input id=\"contact_name\" name=\"contact_name\" maxlength=\"127\">"
		"<label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"127\">"
		"<label for=\"phone\">Phone</label><input id=\"phone\" name=\"phone\" maxlength=\"39\">"
		"<label for=\"country\">Country (two letters)</label><input id=\"country\" name=\"country\" maxlength=\"2\">"
		"<label for=\"product\">Product of interest</label><input id=\"product\" name=\"product\" maxlength=\"63\">"
		"<label for=\"notes\">How can we help?</label><textarea id=\"notes\" name=\"notes\" maxlength=\"1023\"></textarea>"
		"<p><button type=\"submit\">Send</button></p></form>%s</main></body></html>",
		name, name, message ? (ok ? "<p role=\"status\" id=\"result\">" : "<p role=\"alert\" class=\"error\" id=\"result\">") : "",
		msg, message ? "</p>" : "", ok ? "<!--" : "", slug, stamp, ok ? "-->" : "");
	rd_web_headers(req);
	rd_reply_raw(req, status, "text/html; charset=utf-8", html, (size_t)(n < 8192 ? n : 8191));
	free(html);
}

int rd_page_lead_form(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_vendor v;
	int rc = rd_lead_form_vendor(app, rd_req_param(req, "vendor"), &v);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", NULL, "no such form");
		return 0;
	}
	if (rc < 0)
		return rc;
	form_reply(req, 200, &v, NULL, false);
	return 0;
}

int rd_page_lead_form_post(struct rd_req *req)
{
	struct rd_app *app = rd_req_app(req);
	struct rd_lead_form f = { rd_form(req, "ts"), rd_form(req, "website"), rd_form(req, "company"),
				  rd_form(req, "contact_name"), rd_form(req, "email"), rd_form(req, "phone"),
				  rd_form(req, "country"), rd_form(req, "product"), rd_form(req, "notes") };
	struct rd_lead *l = rd_malloc(sizeof *l);
	struct rd_serr e;
	int rc = rd_lead_form_submit(app, rd_req_param(req, "vendor"), rd_req_client_key(req), &f, l, &e);
	free(l);
	struct rd_vendor v;
	if (rc == RD_ENOTFOUND || rd_lead_form_vendor(app, rd_req_param(req, "vendor"), &v) < 0) {
		rd_reply_error(req, 404, "not_found", NULL, "no such form");
		return 0;
	}
	if (rc == 0) {
		form_reply(req, 201, &v, "Thank you: we have your enquiry and will be in touch.", true);
	} else if (e.code && !strcmp(e.code, "rate_limited")) {
		rd_reply_header(req, "Retry-After", "3600");
		form_reply(req, 429, &v, e.message, false);
	} else if (rc == RD_EINVAL) {
		form_reply(req, 400, &v, e.message, false);
	} else {
		return rc;
	}
	return 0;
}

/* ---- the partner's leads and the console's ----------------------------------------------------- */

static const char *const state_names[] = { "", "new", "qualified", "assigned", "accepted", "won", "lost", "returned" };

static json_t *lead_row(struct rd_txn *t, struct web *w, const struct rd_lead *l)
{
	struct rd_lead_assignment *a = rd_calloc(1, sizeof *a);
	if (l->assignment_id)
		rd_entity_get(t, w->app->domain->lead_assignments, &rd_entity_lead_assignment, w->c.who.vendor,
			      l->assignment_id, a);
	char value[48] = "";
	if (l->state == RD_LEAD_WON)
		rd_money_format((int64_t)l->value, l->currency, value, sizeof value);
	bool partner = rd_role_is_partner(w->c.who.role);
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:b, s:b, s:b, s:b, s:b}",
		"id", (json_int_t)l->id, "company", l->company[0] ? l->company : l->contact_name, "state", state_names[l->state],
		"country", l->country, "region", l->region, "product", l->product, "size", l->company_size,
		"reason", a->reason, "lost_reason", l->lost_reason, "returned_reason", l->returned_reason,
		"targets", partner ? "" : a->targets, "value", value, "policy_version", (int)a->policy_version,
		"offered", l->state == RD_LEAD_ASSIGNED, "working", l->state == RD_LEAD_ACCEPTED,
		"to_qualify", l->state == RD_LEAD_NEW, "to_route", l->state == RD_LEAD_QUALIFIED || l->state == RD_LEAD_RETURNED,
		"pool", a->kind == RD_ASSIGN_POOL, "closed", l->state == RD_LEAD_WON || l->state == RD_LEAD_LOST);
	json_object_set_new(j, "deadline", rd_console_time_json(l->state == RD_LEAD_ASSIGNED ? a->deadline : 0));
	/* A rep's own offers and leads: the forms a partner gets, in the console. */
	char me[24];
	snprintf(me, sizeof me, "%llu", (unsigned long long)w->c.who.user);
	bool rep_offer = !partner && l->state == RD_LEAD_ASSIGNED && a->kind == RD_ASSIGN_REP && !strcmp(a->targets, me);
	bool rep_works = !partner && l->state == RD_LEAD_ACCEPTED && l->rep_id == w->c.who.user;
	json_object_set_new(j, "act", json_boolean(partner || rep_offer || rep_works));
	json_object_set_new(j, "base", json_string(partner ? "/partner/leads" : "/vendor/leads"));
	json_object_set_new(j, "csrf", json_string(w->csrf));
	json_object_set_new(j, "currency", json_string(w->vendor.currency));
	free(a);
	return j;
}

/* An outcome of the dry run as a person reads it: "partner 4", "pool 1 2 3". */
static json_t *outcome_text(json_t *o)
{
	char buf[300] = "";
	size_t n = (size_t)snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(o, "kind")) ?: "");
	size_t i;
	json_t *id;
	json_array_foreach(json_object_get(o, "ids"), i, id)
		if (n < sizeof buf)
			n += (size_t)snprintf(buf + n, sizeof buf - n, " %lld", (long long)json_integer_value(id));
	return json_string(buf);
}

/* The console's routing dry run (?dry_run=VERSION&last=N): the report as the
 * page shows it, or the reason it cannot run, into ctx. */
static void dry_run_ctx(struct web *w, json_t *ctx)
{
	const char *vs = rd_req_query(w->req, "dry_run"), *ls = rd_req_query(w->req, "last");
	json_object_set_new(ctx, "can_dry_run", json_boolean(rd_console_may(w, RD_RES_LEAD, RD_ACT_UPDATE)));
	if (!vs || !rd_console_may(w, RD_RES_LEAD, RD_ACT_UPDATE))
		return;
	struct rd_actor who = { .vendor = w->c.who.vendor, .user = w->c.who.user };
	uint64_t version = rd_parse_id(vs), last = ls && *ls ? rd_parse_id(ls) : 20;
	struct rd_serr e = { 0 };
	json_t *report = NULL;
	int rc = version && version <= UINT32_MAX
			 ? rd_lead_dry_run(w->app, &who, (uint32_t)version, last > 200 ? 0 : (uint32_t)last, &report, &e)
			 : rd_serr_set(&e, RD_EINVAL, "invalid", "version", "give a routing policy version (1, 2, ...)");
	if (rc < 0) {
		json_object_set_new(ctx, "dry_run_error", json_string(e.message[0] ? e.message : "the dry run failed"));
		return;
	}
	json_t *rows = json_array(), *item;
	size_t i;
	json_array_foreach(json_object_get(report, "items"), i, item)
		json_array_append_new(rows, json_pack("{s:O, s:o, s:o, s:O, s:b}", "lead_id", json_object_get(item, "lead_id"),
						      "actual", outcome_text(json_object_get(item, "actual")), "would",
						      outcome_text(json_object_get(item, "would")), "reason",
						      json_object_get(json_object_get(item, "would"), "reason"), "changed",
						      json_is_true(json_object_get(item, "changed"))));
	json_object_set_new(ctx, "dry_run", json_pack("{s:O, s:O, s:O, s:o}", "version", json_object_get(report, "version"),
						      "leads", json_object_get(report, "leads"), "changed",
						      json_object_get(report, "changed"), "items", rows));
	json_decref(report);
}

static int leads_page(struct web *w, int status, const char *error, const char *notice)
{
	bool partner = rd_role_is_partner(w->c.who.role);
	struct rd_actor who = { .vendor = w->c.who.vendor, .user = w->c.who.user, .partner = partner ? w->c.who.partner : 0 };
	json_t *ctx = rd_console_page_ctx(w, "Leads", partner ? "/partner/leads" : "/vendor/leads");
	if (!partner)
		dry_run_ctx(w, ctx); /* before the page's read transaction: it opens its own */
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0) {
		json_decref(ctx);
		return rc;
	}
	json_t *offered = json_array(), *working = json_array(), *rest = json_array();
	struct rd_iter it;
	struct rd_item item;
	struct rd_lead *l = rd_malloc(sizeof *l);
	unsigned n = 0;
	rc = rd_iter_records(&it, t, w->app->domain->leads, who.vendor, 0);
	while (rc >= 0 && n < 500 && (rc = rd_iter_next(&it, &item)) == 1) {
		if (rd_entity_decode(&rd_entity_lead, item.val, item.len, l) < 0 || !rd_lead_visible(t, NULL, &who, l, NULL))
			continue;
		n++;
		json_t *row = lead_row(t, w, l);
		json_array_append_new(l->state == RD_LEAD_ASSIGNED ? offered : l->state == RD_LEAD_ACCEPTED ? working : rest, row);
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(l);
	if (rc < 0) {
		json_decref(ctx);
		json_decref(offered);
		json_decref(working);
		json_decref(rest);
		return rc;
	}
	json_object_set_new(ctx, "offered", offered);
	json_object_set_new(ctx, "working", working);
	json_object_set_new(ctx, "others", rest);
	json_object_set_new(ctx, "csrf", json_string(w->csrf));
	json_object_set_new(ctx, "vendor_view", json_boolean(!partner));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	rd_console_page(w, status, partner ? "partner_leads" : "vendor_leads", ctx);
	return 0;
}

/* What the last action did ("?done=accepted"): a fixed sentence, never the query's text. */
static const char *done_text(const char *done)
{
	static const char *const map[][2] = {
		{ "accepted", "You accepted the lead: it is yours to work." },
		{ "declined", "You declined the lead." },
		{ "won", "The lead is won." },
		{ "lost", "The lead is lost." },
		{ "qualified", "The lead is qualified." },
		{ "routed", "The lead is routed." },
		{ "returned", "The routing policy placed it nowhere: it is returned." },
	};
	for (size_t i = 0; done && i < sizeof map / sizeof *map; i++)
		if (!strcmp(done, map[i][0]))
			return map[i][1];
	return NULL;
}

static int lead_post(struct web *w)
{
	bool partner = rd_role_is_partner(w->c.who.role);
	struct rd_actor who = { .vendor = w->c.who.vendor, .user = w->c.who.user, .partner = partner ? w->c.who.partner : 0 };
	uint64_t id = rd_parse_id(rd_req_param(w->req, "id"));
	const char *action = rd_form(w->req, "action");
	struct rd_lead *l = rd_malloc(sizeof *l);
	struct rd_serr e = { 0 };
	int rc;
	const char *done = NULL;
	if (!action) {
		rc = rd_serr_set(&e, RD_EINVAL, "invalid", "action", "choose an action");
	} else if (!strcmp(action, "accept")) {
		rc = rd_lead_accept(w->app, &who, id, l, &e);
		done = "accepted";
	} else if (!strcmp(action, "decline")) {
		rc = rd_lead_decline(w->app, &who, id, rd_form(w->req, "reason"), l, &e);
		done = "declined";
	} else if (!strcmp(action, "won")) {
		/* an amount as a person writes it, in the vendor's currency ("12000" or
		 * "12000.50", as the deal form takes it), not minor units */
		const char *v = rd_form(w->req, "value");
		int64_t value = 0;
		if (!v || rd_money_parse_decimal(v, w->vendor.currency, &value) < 0 || value <= 0)
			rc = rd_serr_set(&e, RD_EINVAL, "invalid", "value", "the value won is an amount of %s above 0, such "
					 "as 12000 or 12000.50", w->vendor.currency);
		else
			rc = rd_lead_close(w->app, &who, id, true, (uint64_t)value, NULL, l, &e);
		done = "won";
	} else if (!strcmp(action, "lost")) {
		rc = rd_lead_close(w->app, &who, id, false, 0, rd_form(w->req, "reason"), l, &e);
		done = "lost";
	} else if (!partner && !strcmp(action, "qualify")) {
		struct rd_lead_qual q = { rd_form(w->req, "situation"), rd_form(w->req, "product"),
					  rd_form(w->req, "time_frame"), rd_form(w->req, "company_size"),
					  rd_form(w->req, "region"), rd_form(w->req, "country") };
		rc = rd_lead_qualify(w->app, &who, id, &q, l, &e);
		done = "qualified";
	} else if (!partner && !strcmp(action, "route")) {
		rc = rd_lead_route(w->app, &who, id, l, &e);
		done = rc == 0 && l->state == RD_LEAD_RETURNED ? "returned" : "routed";
	} else {
		rc = rd_serr_set(&e, RD_EINVAL, "invalid", "action", "unknown action");
	}
	free(l);
	if (rc < 0 && e.rc == rc && e.code && strcmp(e.code, "internal"))
		return leads_page(w, rd_serr_status(rc), e.message, NULL);
	if (rc < 0)
		return rc;
	char to[64];
	snprintf(to, sizeof to, "%s?done=%s", partner ? "/partner/leads" : "/vendor/leads", done);
	rd_web_redirect(w->req, to);
	return 0;
}

static bool partner_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor/leads");
		return false;
	}
	return true;
}

int rd_page_partner_leads(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_console_allowed(&w, RD_RES_LEAD, RD_ACT_READ))
		return 0;
	return leads_page(&w, 200, NULL, done_text(rd_req_query(req, "done")));
}

int rd_page_partner_lead_post(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_LEAD, RD_ACT_UPDATE))
		return 0;
	return lead_post(&w);
}

int rd_page_vendor_leads(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_LEAD, RD_ACT_READ))
		return 0;
	return leads_page(&w, 200, NULL, done_text(rd_req_query(req, "done")));
}

int rd_page_vendor_lead_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_LEAD, RD_ACT_UPDATE))
		return 0;
	return lead_post(&w);
}
