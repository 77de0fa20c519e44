/*
 * imports.c: the /api/v1/imports routes.  Each parses the request, calls
 * the import engine (core/services/imports.c) and replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"

static bool flag_param(struct rd_req *req, const char *name, bool def, bool *ok)
{
	const char *v = rd_req_query(req, name);
	if (!v)
		return def;
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		return true;
	if (!strcmp(v, "false") || !strcmp(v, "0"))
		return false;
	*ok = false;
	return def;
}

int rd_api_imports_create(struct rd_req *req)
{
	static const char *const params[] = { "kind", "format", "dry_run", "atomic", NULL };
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_IMPORT, RD_ACT_CREATE) == RD_SCOPE_NONE)
		return 0;
	const char *bad = rd_req_query_unknown(req, params);
	const char *kind = rd_req_query(req, "kind"), *format = rd_req_query(req, "format");
	bool ok_dry = true, ok_atomic = true;
	bool dry_run = flag_param(req, "dry_run", false, &ok_dry);
	bool atomic = flag_param(req, "atomic", true, &ok_atomic);
	int res = rd_import_kind(kind);
	if (bad || res < 0 || (format && strcmp(format, "csv") && strcmp(format, "jsonl")) || !ok_dry || !ok_atomic) {
		rd_reply_error(req, 400, "invalid",
			       bad ? bad : res < 0 ? "kind" : !ok_dry ? "dry_run" : !ok_atomic ? "atomic" : "format",
			       "an import is POST /api/v1/imports?kind=customers|contacts|products|contracts|leads"
			       "&format=csv|jsonl&dry_run=false&atomic=true with the file as the body");
		return 0;
	}
	/* An import creates and updates records of its kind: the caller must be
	 * allowed both (a channel manager may import customers, not products). */
	if (rd_call_allow(&c, (enum rd_resource)res, RD_ACT_CREATE) == RD_SCOPE_NONE ||
	    rd_call_allow(&c, (enum rd_resource)res, RD_ACT_UPDATE) == RD_SCOPE_NONE)
		return 0;
	size_t len;
	const void *body = rd_req_body(req, &len);
	if (len == 0) {
		rd_reply_error(req, 400, "invalid", NULL, "the request body (the file to import) is empty");
		return 0;
	}
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	struct rd_serr e = { 0 };
	if (rd_import_start(c.app, &who, &c.vendor, (enum rd_resource)res, !format || !strcmp(format, "csv"), dry_run,
			    atomic, body, len, r, &e) == 0) {
		char loc[64];
		snprintf(loc, sizeof loc, "/api/v1/imports/%llu", (unsigned long long)r->id);
		rd_reply_header(req, "location", loc);
		rd_reply_json(req, 202, rd_import_json(c.who.vendor, r));
	} else {
		rd_reply_serr(req, &e);
	}
	free(r);
	return 0;
}

/* One import record as the caller sees it (sees NULL: every one of the
 * vendor's), else 404 naming the noun ("import", "feed"). */
int rd_api_import_reply_one(struct call *c, rd_import_seen_fn sees, const char *noun)
{
	uint64_t id = rd_parse_id(rd_req_param(c->req, "id"));
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc == 0) {
		rc = id ? rd_entity_get(t, c->app->domain->imports, &rd_entity_import, c->who.vendor, id, r) : RD_ENOTFOUND;
		rd_txn_end(t);
	}
	if (rc == 0 && sees && !sees(c, r))
		rc = RD_ENOTFOUND;
	if (rc == 0) {
		rd_reply_json(c->req, 200, rd_import_json(c->who.vendor, r));
	} else if (rc == RD_ENOTFOUND) {
		rd_reply_error(c->req, 404, "not_found", "id", "no such %s", noun);
		rc = 0;
	}
	free(r);
	return rc;
}

/* The import records the caller sees (sees NULL: every one of the
 * vendor's), newest first, without their errors (GET one for those). */
int rd_api_import_reply_list(struct call *c, rd_import_seen_fn sees)
{
	static const char *const params[] = { NULL };
	const char *bad = rd_req_query_unknown(c->req, params);
	if (bad) {
		rd_reply_error(c->req, 400, "invalid", bad, "unknown query parameter \"%s\"", bad);
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(c->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *items = json_array();
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, c->app->domain->imports, c->who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_import, item.val, item.len, r)) < 0)
			break;
		if (sees && !sees(c, r))
			continue;
		json_t *j = rd_import_json(c->who.vendor, r);
		json_object_del(j, "errors"); /* the list stays small; GET one for its errors */
		json_array_insert_new(items, 0, j); /* newest first */
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	rd_reply_json(c->req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
	return 0;
}

int rd_api_imports_get(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_IMPORT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	return rd_api_import_reply_one(&c, NULL, "import");
}

int rd_api_imports_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_IMPORT, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	return rd_api_import_reply_list(&c, NULL);
}
