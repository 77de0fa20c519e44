/*
 * console_imports.c: the console's imports: the list, a new import from pasted CSV or
 * JSON Lines, one import's progress and errors.
 * The console's routes are listed at the top of console.c.
 */
#include <stdlib.h>
#include <string.h>

#include "services/imports.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

/* ---- imports ------------------------------------------------------------------------------------ */

static const char *const import_kinds[] = { "customers", "contacts", "products", "contracts", "leads", NULL };

static json_t *import_row(struct web *w, const struct rd_import_rec *r)
{
	json_t *j = rd_import_json(w->c.who.vendor, r);
	json_t *p = json_object_get(j, "progress");
	json_t *row = json_pack("{s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:s, s:o, s:o, s:I}", "id",
				(json_int_t)r->id, "kind", r->kind, "format", r->format, "status",
				rd_console_enum_text(&rd_entity_import, "status", r->status), "running", r->status == RD_IMPORT_RUNNING,
				"rows", json_integer_value(json_object_get(j, "rows")), "rows_ok", (json_int_t)r->rows_ok,
				"rows_failed", (json_int_t)r->rows_failed, "created", (json_int_t)r->created, "updated",
				(json_int_t)r->updated, "dry_run", r->dry_run != 0, "atomic", r->atomic != 0, "message",
				r->message, "started", rd_console_time_json(r->started_at), "finished", rd_console_time_json(r->finished_at),
				"percent", (json_int_t)(p ? json_real_value(json_object_get(p, "percent")) : 0));
	json_decref(j);
	return row;
}

/* The imports page, with the form (kept as submitted when refused). */
static int imports_page(struct web *w, int status, const char *error, const char *kind, const char *format,
			bool dry_run, bool atomic, const char *data)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *rows = json_array();
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, w->app->domain->imports, w->c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0)
		if (rd_entity_decode(&rd_entity_import, item.val, item.len, r) == 0)
			json_array_insert_new(rows, 0, import_row(w, r)); /* newest first */
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	while (json_array_size(rows) > 200)
		json_array_remove(rows, json_array_size(rows) - 1);
	json_t *ctx = rd_console_page_ctx(w, "Imports", "/vendor/imports");
	json_t *kinds = json_array();
	for (int i = 0; import_kinds[i]; i++)
		json_array_append_new(kinds, json_pack("{s:s, s:b}", "value", import_kinds[i], "selected",
						       kind && !strcmp(kind, import_kinds[i])));
	json_object_set_new(ctx, "rows", rows);
	json_object_set_new(ctx, "can_import", json_boolean(rd_console_may(w, RD_RES_IMPORT, RD_ACT_CREATE)));
	json_object_set_new(ctx, "form", json_pack("{s:o, s:b, s:b, s:b, s:s}", "kinds", kinds, "jsonl",
						   format && !strcmp(format, "jsonl"), "dry_run", dry_run, "atomic", atomic,
						   "data", data ? data : ""));
	if (error)
		json_object_set_new(ctx, "error", json_string(error));
	rd_console_page(w, status, "vendor_imports", ctx);
	return 0;
}

int rd_page_vendor_imports(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_IMPORT, RD_ACT_READ))
		return 0;
	return imports_page(&w, 200, NULL, NULL, NULL, false, true, NULL);
}

int rd_page_vendor_import_post(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_IMPORT, RD_ACT_CREATE))
		return 0;
	const char *kind = rd_form(req, "kind"), *format = rd_form(req, "format"), *data = rd_form(req, "data");
	bool dry_run = rd_form(req, "dry_run") != NULL, atomic = rd_form(req, "atomic") != NULL;
	int res = rd_import_kind(kind);
	bool csv = !format || !strcmp(format, "csv");
	if (res < 0 || (!csv && strcmp(format, "jsonl")))
		return imports_page(&w, 400, "Choose what to import (customers, contacts, products, contracts or leads) and the format "
				    "(CSV or JSON Lines).", kind, format, dry_run, atomic, data);
	/* As the API: an import creates and updates records of its kind. */
	if (!rd_console_allowed(&w, (enum rd_resource)res, RD_ACT_CREATE) || !rd_console_allowed(&w, (enum rd_resource)res, RD_ACT_UPDATE))
		return 0;
	if (!data || !*data)
		return imports_page(&w, 400, "Paste the file's text (or choose a file) first: the import is empty.", kind,
				    format, dry_run, atomic, data);
	size_t len = strlen(data);
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	struct rd_serr e = { 0 };
	int rc = rd_import_start(w.app, &who, &w.c.vendor, (enum rd_resource)res, csv, dry_run, atomic, data, len, r, &e);
	if (rc == 0) {
		char loc[64];
		snprintf(loc, sizeof loc, "/vendor/imports/%llu", (unsigned long long)r->id);
		rd_web_redirect(req, loc);
	}
	free(r);
	return rc;
}

int rd_page_vendor_import(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_IMPORT, RD_ACT_READ))
		return 0;
	uint64_t id = rd_parse_id(rd_req_param(req, "id"));
	struct rd_import_rec *r = rd_malloc(sizeof *r);
	struct rd_txn *t;
	int rc = rd_store_read(w.app->store, &t);
	if (rc == 0) {
		rc = id ? rd_entity_get(t, w.app->domain->imports, &rd_entity_import, w.c.who.vendor, id, r) : RD_ENOTFOUND;
		rd_txn_end(t);
	}
	if (rc == RD_ENOTFOUND) {
		free(r);
		rd_web_message(&w, 404, "Not found", "There is no such import.");
		return 0;
	}
	if (rc < 0) {
		free(r);
		return rc;
	}
	char title[48];
	snprintf(title, sizeof title, "Import %llu", (unsigned long long)r->id);
	json_t *ctx = rd_console_page_ctx(&w, title, "/vendor/imports");
	json_object_set_new(ctx, "import", import_row(&w, r));
	json_t *errors = json_loads(r->errors[0] ? r->errors : "[]", 0, NULL);
	json_object_set_new(ctx, "errors", errors ? errors : json_array());
	free(r);
	rd_console_page(&w, 200, "vendor_import", ctx);
	return 0;
}
