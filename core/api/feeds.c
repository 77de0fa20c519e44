/*
 * feeds.c: the /api/v1/feeds routes.  A partner feed is a contracts import
 * from a source (the vendor, a distributor, a reseller): the handlers parse
 * the request and call the import engine (services/imports.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"

/* Who may send feeds: the vendor's people who import contracts, and a
 * partner's admin (for its own channel). */
static bool may_feed(struct call *c)
{
	if (rd_role_is_partner(c->who.role)) {
		if (c->who.role == RD_ROLE_PARTNER_ADMIN)
			return true;
		rd_reply_error(c->req, 403, "forbidden", NULL, "only a partner's admin sends its feeds");
		return false;
	}
	return rd_call_allow(c, RD_RES_IMPORT, RD_ACT_CREATE) != RD_SCOPE_NONE &&
	       rd_call_allow(c, RD_RES_CONTRACT, RD_ACT_CREATE) != RD_SCOPE_NONE &&
	       rd_call_allow(c, RD_RES_CONTRACT, RD_ACT_UPDATE) != RD_SCOPE_NONE;
}

/* Whether the caller sees this import as a feed: the vendor's people see
 * every feed, a partner its own. */
static bool sees(const struct call *c, const struct rd_import_rec *r)
{
	if (!r->source)
		return false;
	return rd_role_is_partner(c->who.role) ? r->partner_id == c->who.partner : true;
}

int rd_api_feeds_create(struct rd_req *req)
{
	static const char *const params[] = { "format", "dry_run", NULL };
	struct call c;
	if (rd_call_begin(req, &c) < 0 || !may_feed(&c))
		return 0;
	const char *bad = rd_req_query_unknown(req, params);
	const char *format = rd_req_query(req, "format"), *dry = rd_req_query(req, "dry_run");
	bool dry_run = dry && (!strcmp(dry, "true") || !strcmp(dry, "1"));
	bool bad_format = format && strcmp(format, "csv") && strcmp(format, "jsonl");
	if (bad || bad_format ||
	    (dry && strcmp(dry, "true") && strcmp(dry, "1") && strcmp(dry, "false") && strcmp(dry, "0"))) {
		rd_reply_error(req, 400, "invalid", bad ? bad : bad_format ? "format" : "dry_run",
			       "a feed is POST /api/v1/feeds?format=csv|jsonl&dry_run=false with the file as the body");
		return 0;
	}
	/* Without format=, the body's content type says: JSON Lines
	 * (application/jsonl, application/x-ndjson, application/x-jsonlines)
	 * or CSV (anything else). */
	bool csv = true;
	if (format)
		csv = !strcmp(format, "csv");
	else {
		const char *ct = rd_req_header(req, "content-type");
		static const char *const jsonl_types[] = { "application/jsonl", "application/x-ndjson", "application/x-jsonlines",
							   "application/jsonlines", NULL };
		for (size_t i = 0; ct && jsonl_types[i]; i++) {
			size_t n = strlen(jsonl_types[i]);
			if (!strncasecmp(ct, jsonl_types[i], n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
				csv = false;
		}
	}
	size_t len;
	const void *body = rd_req_body(req, &len);
	if (len == 0) {
		rd_reply_error(req, 400, "invalid", NULL, "the request body (the feed file) is empty");
		return 0;
	}
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user,
				.partner = rd_role_is_partner(c.who.role) ? c.who.partner : 0 };
	struct rd_serr e = { 0 };
	if (rd_feed_start(c.app, &who, &c.vendor, csv, dry_run, body, len, r, &e) == 0) {
		char loc[64];
		snprintf(loc, sizeof loc, "/api/v1/feeds/%llu", (unsigned long long)r->id);
		rd_reply_header(req, "location", loc);
		rd_reply_json(req, 202, rd_import_json(c.who.vendor, r));
	} else {
		rd_reply_serr(req, &e);
	}
	free(r);
	return 0;
}

int rd_api_feeds_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	return rd_api_import_reply_one(&c, sees, "feed");
}

int rd_api_feeds_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_CONTRACT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	return rd_api_import_reply_list(&c, sees);
}

/* ---- the review queue: the vendor's people decide --------------------------------------- */

static bool may_review(struct call *c, enum rd_action a)
{
	if (rd_role_is_partner(c->who.role)) {
		rd_reply_error(c->req, 403, "forbidden", NULL, "the vendor's people decide the feed review queue");
		return false;
	}
	return rd_call_allow(c, RD_RES_CONTRACT, a) != RD_SCOPE_NONE;
}

int rd_api_feed_reviews_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || !may_review(&c, RD_ACT_READ))
		return 0;
	static const char *const params[] = { "state", NULL };
	const char *bad = rd_req_query_unknown(req, params), *state = rd_req_query(req, "state");
	int want = !state ? 0 : !strcmp(state, "open") ? RD_REVIEW_OPEN : !strcmp(state, "kept") ? RD_REVIEW_KEPT
		   : !strcmp(state, "taken") ? RD_REVIEW_TAKEN : -1;
	if (bad || want < 0) {
		rd_reply_error(req, 400, "invalid", bad ? bad : "state", "the review queue takes ?state=open|kept|taken");
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	json_t *items = json_array();
	struct rd_feed_review r;
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, c.app->domain->feed_reviews, c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_feed_review, item.val, item.len, &r)) < 0)
			break;
		if (!want || r.state == want)
			json_array_append_new(items, rd_entity_to_json(&rd_entity_feed_review, &r));
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	rd_reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

int rd_api_feed_reviews_accept(struct rd_req *req)
{
	struct call c;
	json_t *body = NULL;
	if (rd_call_begin(req, &c) < 0 || !may_review(&c, RD_ACT_UPDATE))
		return 0;
	if (rd_req_json(req, &body) < 0)
		return 0;
	json_t *v = json_is_object(body) ? json_object_get(body, "value") : NULL;
	const char *side = json_is_string(v) ? json_string_value(v) : NULL;
	if (!side || (strcmp(side, "proposed") && strcmp(side, "current")) || json_object_size(body) != 1) {
		json_decref(body);
		rd_reply_error(req, 400, "invalid", "value",
			       "accept one side: {\"value\": \"proposed\"} (the feed's) or {\"value\": \"current\"} (the stored)");
		return 0;
	}
	bool take = !strcmp(side, "proposed");
	json_decref(body);
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_feed_review r;
	struct rd_serr e = { 0 };
	if (!id) {
		rd_reply_error(req, 404, "not_found", "id", "no such review");
		return 0;
	}
	if (rd_feed_review_decide(c.app, &who, &c.vendor, id, take, &r, &e) == 0)
		rd_reply_json(req, 200, rd_entity_to_json(&rd_entity_feed_review, &r));
	else
		rd_reply_serr(req, &e);
	return 0;
}
