/*
 * console_feeds.c: the console's partner feeds: the feeds with their
 * reports (each links to its import page for the row errors) and the review
 * queue, where a person accepts the feed's value or keeps the stored one.
 */
#include <stdlib.h>
#include <string.h>

#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

static const char *source_text(uint8_t s)
{
	return s == RD_FEED_VENDOR ? "vendor" : s == RD_FEED_DISTRIBUTOR ? "distributor" : s == RD_FEED_RESELLER ? "reseller" : "";
}

int rd_page_vendor_feeds(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_IMPORT, RD_ACT_READ))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc < 0)
		return rc;
	json_t *feeds = json_array(), *reviews = json_array();
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_feed_review v;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, w.app->domain->imports, w.c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_import, item.val, item.len, r) == 0 && r->source)
			json_array_insert_new(feeds, 0, json_pack("{s:I, s:s, s:I, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
				"id", (json_int_t)r->id, "source", source_text(r->source), "partner_id", (json_int_t)r->partner_id,
				"started", rd_console_time_json(r->started_at),
				"status", rd_console_enum_text(&rd_entity_import, "status", r->status), "rows_ok", (json_int_t)r->rows_ok,
				"rows_failed", (json_int_t)r->rows_failed, "created", (json_int_t)r->created, "updated",
				(json_int_t)r->updated, "unchanged", (json_int_t)r->unchanged, "queued", (json_int_t)r->queued,
				"message", r->message));
	rd_iter_close(&it);
	if (rc >= 0)
		rc = rd_iter_records(&it, t, w.app->domain->feed_reviews, w.c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_feed_review, item.val, item.len, &v) == 0)
			json_array_append_new(reviews, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
				(json_int_t)v.id, "contract_id", (json_int_t)v.contract_id, "field", v.field, "current", v.current,
				"proposed", v.proposed, "owner", source_text(v.owner), "source", source_text(v.source), "state",
				rd_console_enum_text(&rd_entity_feed_review, "state", v.state), "open", v.state == RD_REVIEW_OPEN));
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(feeds);
		json_decref(reviews);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(&w, "Feeds", "/vendor/feeds");
	json_object_set_new(ctx, "feeds", feeds);
	json_object_set_new(ctx, "reviews", reviews);
	json_object_set_new(ctx, "can_decide", json_boolean(rd_console_may(&w, RD_RES_CONTRACT, RD_ACT_UPDATE)));
	rd_console_page(&w, 200, "vendor_feeds", ctx);
	return 0;
}

int rd_page_vendor_feed_review_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_CONTRACT, RD_ACT_UPDATE))
		return 0;
	const char *value = rd_form(req, "value");
	if (!value || (strcmp(value, "proposed") && strcmp(value, "current"))) {
		rd_web_message(&w, 400, "Choose a value", "Take the feed's value or keep the stored one.");
		return 0;
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_feed_review v;
	struct rd_serr e = { 0 };
	int rc = rd_feed_review_decide(w.app, &who, &w.c.vendor, rd_parse_id(rd_req_param(req, "id")),
				       !strcmp(value, "proposed"), &v, &e);
	if (rc == 0) {
		rd_web_redirect(req, "/vendor/feeds");
		return 0;
	}
	if (rc == RD_ENOTFOUND || rc == RD_EEXISTS || rc == RD_EINVAL) {
		rd_web_message(&w, rc == RD_ENOTFOUND ? 404 : rc == RD_EEXISTS ? 409 : 400, "Not decided", e.message);
		return 0;
	}
	return rc;
}

/* ---- the partner portal: its own feeds, their reports, a new feed ------------------------------ */

static bool partner_begin(struct rd_req *req, struct web *w)
{
	if (rd_web_user(req, w) < 0)
		return false;
	if (!rd_role_is_partner(w->c.who.role)) {
		rd_web_redirect(req, "/vendor/feeds");
		return false;
	}
	return true;
}

static json_t *feed_row(const struct rd_import_rec *r)
{
	return json_pack("{s:I, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b}", "id", (json_int_t)r->id, "started",
			 rd_console_time_json(r->started_at), "status",
			 rd_console_enum_text(&rd_entity_import, "status", r->status), "rows_ok", (json_int_t)r->rows_ok,
			 "rows_failed", (json_int_t)r->rows_failed, "created", (json_int_t)r->created, "updated",
			 (json_int_t)r->updated, "unchanged", (json_int_t)r->unchanged, "queued", (json_int_t)r->queued,
			 "message", r->message, "running", r->status == RD_IMPORT_RUNNING);
}

static int partner_feeds_page(struct web *w, int status, const char *error, const char *data, bool jsonl)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *feeds = json_array();
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, w->app->domain->imports, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_import, item.val, item.len, r) == 0 && r->source &&
		    r->partner_id == w->c.who.partner)
			json_array_insert_new(feeds, 0, feed_row(r));
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(feeds);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(w, "Feeds", "/partner/feeds");
	json_object_set_new(ctx, "feeds", feeds);
	json_object_set_new(ctx, "can_send", json_boolean(w->c.who.role == RD_ROLE_PARTNER_ADMIN));
	json_object_set_new(ctx, "data", json_string(data ? data : ""));
	json_object_set_new(ctx, "jsonl", json_boolean(jsonl));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_console_page(w, status, "partner_feeds", ctx);
	return 0;
}

int rd_page_partner_feeds(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w))
		return 0;
	return partner_feeds_page(&w, 200, NULL, NULL, false);
}

int rd_page_partner_feeds_post(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w) || !rd_web_csrf_ok(&w))
		return 0;
	if (w.c.who.role != RD_ROLE_PARTNER_ADMIN) {
		rd_web_message(&w, 403, "Not allowed", "Only your organisation's admin sends its feeds.");
		return 0;
	}
	const char *data = rd_form(req, "data"), *format = rd_form(req, "format");
	if (format && strcmp(format, "csv") && strcmp(format, "jsonl")) {
		rd_web_message(&w, 400, "Choose a format", "A feed is CSV or JSON Lines.");
		return 0;
	}
	bool jsonl = format && !strcmp(format, "jsonl");
	if (!data || !*data)
		return partner_feeds_page(&w, 400, "Paste the feed's text (or choose a file) first: the feed is empty.", data,
					  jsonl);
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user, .partner = w.c.who.partner };
	struct rd_serr e = { 0 };
	int rc = rd_feed_start(w.app, &who, &w.c.vendor, !jsonl, false, data, strlen(data), r, &e);
	if (rc == 0) {
		char loc[64];
		snprintf(loc, sizeof loc, "/partner/feeds/%llu", (unsigned long long)r->id);
		rd_web_redirect(req, loc);
	} else if (rc == RD_EINVAL) {
		rc = partner_feeds_page(&w, 400, e.message, data, jsonl);
	}
	free(r);
	return rc;
}

int rd_page_partner_feed(struct rd_req *req)
{
	struct web w;
	if (!partner_begin(req, &w))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc == 0) {
		rc = id ? rd_entity_get(t, w.app->domain->imports, &rd_entity_import, w.c.who.vendor, id, r) : RD_ENOTFOUND;
		rd_txn_end(t);
	}
	if (rc == 0 && (!r->source || r->partner_id != w.c.who.partner))
		rc = RD_ENOTFOUND; /* another partner's feed, or not a feed */
	if (rc == RD_ENOTFOUND) {
		free(r);
		rd_web_message(&w, 404, "Not found", "There is no such feed.");
		return 0;
	}
	if (rc < 0) {
		free(r);
		return rc;
	}
	char title[48];
	snprintf(title, sizeof title, "Feed %llu", (unsigned long long)r->id);
	json_t *ctx = rd_console_page_ctx(&w, title, "/partner/feeds");
	json_object_set_new(ctx, "feed", feed_row(r));
	json_t *errors = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_object_set_new(ctx, "has_errors", json_boolean(errors && json_array_size(errors)));
	json_object_set_new(ctx, "errors", errors ? errors : json_array());
	free(r);
	rd_console_page(&w, 200, "partner_feed", ctx);
	return 0;
}
