/*
 * console_policies.c: the console's policies: versions per kind, upload (checked on the
 * thread pool), dry-run report, activation.
 * The console's routes are listed at the top of console.c.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/money.h"
#include "policy/runtime.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/err.h"
#include "web/console.h"
#include "web/web.h"

/* ---- policies ----------------------------------------------------------------------------------- */

struct policy_form {
	const char *kind;   /* the kind the form was for */
	const char *source, *vectors, *note;
	const char *error;  /* what was wrong */
	long line;          /* the source line the error names; 0: none */
	json_t *failures;   /* failing vectors [{vector, message}] */
};

/* "margin (upload):12: ..." -> 12 */
static long error_line(const char *err)
{
	for (const char *p = strchr(err, ':'); p; p = strchr(p + 1, ':')) {
		char *end;
		long n = strtol(p + 1, &end, 10);
		if (end != p + 1 && *end == ':' && n > 0)
			return n;
	}
	return 0;
}

static int policies_page(struct web *w, int status, const struct policy_form *f, const char *notice)
{
	struct rd_txn *t;
	int rc = rd_store_read(w->app->store, &t);
	if (rc < 0)
		return rc;
	static const char *const kinds[] = { "margin", "routing" };
	json_t *out = json_array();
	struct rd_policy_rec *r = rd_malloc(sizeof *r);
	bool can_upload = rd_console_may(w, RD_RES_POLICY, RD_ACT_CREATE), can_activate = rd_console_may(w, RD_RES_POLICY, RD_ACT_UPDATE);
	for (int k = 0; k < 2 && rc >= 0; k++) {
		uint32_t active = k ? w->vendor.routing_version : w->vendor.margin_version;
		json_t *versions = json_array();
		struct rd_iter it;
		struct rd_item item;
		rc = rd_iter_records(&it, t, w->app->domain->policies, w->c.who.vendor, 0);
		while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
			if (rd_entity_decode(&rd_entity_policy, item.val, item.len, r) < 0 || strcmp(r->kind, kinds[k]))
				continue;
			json_array_insert_new(versions, 0, json_pack("{s:s, s:I, s:s, s:b, s:b, s:b, s:o, s:o, s:I, s:s, s:b}",
								      "kind", kinds[k], "version", (json_int_t)r->version,
								      "status", rd_console_enum_text(&rd_entity_policy, "status", r->status),
								      "active", r->version == active, "can_activate",
								      can_activate && r->version != active, "rollback",
								      r->version < active, "created", rd_console_time_json(r->created_at),
								      "activated", rd_console_time_json(r->activated_at), "vectors_passed",
								      (json_int_t)r->vectors_passed, "note", r->note, "can_dry_run",
								      k == 0));
		}
		rd_iter_close(&it);
		if (rc < 0) {
			json_decref(versions);
			break;
		}
		json_t *form;
		if (f && !strcmp(f->kind, kinds[k])) {
			form = json_pack("{s:s, s:s, s:s}", "source", f->source ? f->source : "", "vectors",
					 f->vectors ? f->vectors : "", "note", f->note ? f->note : "");
			if (f->error)
				json_object_set_new(form, "error", json_string(f->error));
			if (f->line)
				json_object_set_new(form, "line", json_integer(f->line));
			if (f->failures)
				json_object_set_new(form, "failures", json_incref(f->failures));
		} else if (active && rd_policy_find(t, w->app->domain, w->c.who.vendor, kinds[k], active, r) == 0) {
			/* The active version, to edit. */
			json_t *vec = json_loads(r->vectors[0] ? r->vectors : "[]", 0, NULL);
			char *pretty = vec ? json_dumps(vec, JSON_INDENT(1)) : NULL;
			json_decref(vec);
			form = json_pack("{s:s, s:s, s:s}", "source", r->source, "vectors", pretty ? pretty : "[]", "note", "");
			free(pretty);
		} else {
			form = json_pack("{s:s, s:s, s:s}", "source", "", "vectors", "[]", "note", "");
		}
		json_array_append_new(out, json_pack("{s:s, s:I, s:o, s:o, s:b, s:s}", "kind", kinds[k], "active",
						     (json_int_t)active, "versions", versions, "form", form, "can_upload",
						     can_upload, "csrf", w->csrf));
	}
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(out);
		return rc;
	}
	json_t *ctx = rd_console_page_ctx(w, "Policies", "/vendor/policies");
	json_object_set_new(ctx, "kinds", out);
	if (notice)
		json_object_set_new(ctx, "notice", json_string(notice));
	rd_console_page(w, status, "vendor_policies", ctx);
	return 0;
}

static const char *kind_param(struct rd_req *req)
{
	return rd_policy_kind(rd_req_param(req, "kind"));
}

static uint32_t version_param(struct rd_req *req)
{
	uint64_t v = rd_parse_id(rd_req_param(req, "version"));
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* "?stored=margin-3" and "?activated=routing-2": what the last action did. */
static bool done_param(struct rd_req *req, const char *name, const char **kind, uint32_t *version)
{
	const char *s = rd_req_query(req, name);
	if (!s)
		return false;
	const char *dash = strchr(s, '-');
	if (!dash)
		return false;
	*kind = !strncmp(s, "margin-", 7) ? "margin" : !strncmp(s, "routing-", 8) ? "routing" : NULL;
	uint64_t v = rd_parse_id(dash + 1);
	*version = v > UINT32_MAX ? 0 : (uint32_t)v;
	return *kind && *version;
}

int rd_page_vendor_policies(struct rd_req *req)
{
	struct web w;
	if (!rd_console_begin(req, &w) || !rd_console_allowed(&w, RD_RES_POLICY, RD_ACT_READ))
		return 0;
	const char *kind;
	uint32_t version;
	char notice[120];
	const char *note = NULL;
	if (done_param(req, "stored", &kind, &version)) {
		snprintf(notice, sizeof notice, "Stored %s policy version %u: every test vector passed. Dry-run it, then activate it.",
			 kind, version);
		note = notice;
	} else if (done_param(req, "activated", &kind, &version)) {
		snprintf(notice, sizeof notice, "%s policy version %u is active.", kind, version);
		notice[0] = (char)(notice[0] - 'a' + 'A');
		note = notice;
	}
	return policies_page(&w, 200, NULL, note);
}

struct upload {
	struct rd_policy_job j; /* first: the pool's work takes the job (services/policies.h) */
	struct web w;
};

/* The job of a console user: who, and the vendor as loaded. */
static void job_of(struct rd_policy_job *j, struct web *w)
{
	j->app = w->app;
	j->who = (struct rd_actor){ .vendor = w->c.who.vendor, .user = w->c.who.user };
	j->vendor = w->vendor;
}

/* One vendor's share of the thread pool (as POST /api/v1/policies/{kind}):
 * a job more than policy_jobs_per_vendor gets a 429 page (true). */
static bool pool_full(struct web *w, struct rd_policy_job *j)
{
	unsigned max;
	if (rd_policy_job_take(j, &max) == 0)
		return false;
	rd_reply_header(w->req, "retry-after", "1");
	char text[200];
	snprintf(text, sizeof text,
		 "Policy checks and dry runs run at most %u at a time for a vendor, and %u are running now. Try again when "
		 "one has finished.",
		 max, max);
	rd_web_message(w, 429, "Busy", text);
	return true;
}

static void upload_done(struct rd_req *req, void *arg)
{
	struct upload *u = arg;
	struct rd_policy_job *j = &u->j;
	rd_policy_job_give(j);
	if (!req)
		goto out;
	u->w.req = req;
	u->w.c.req = req;
	char *vtext = json_dumps(j->vectors, JSON_INDENT(1));
	struct policy_form f = { .kind = j->rec.kind, .source = j->rec.source, .vectors = vtext, .note = j->rec.note };
	char msg[600];
	int rc = 0;
	if (j->result == RD_EINVAL) {
		f.error = j->err;
		f.line = error_line(j->err);
		rc = policies_page(&u->w, 422, &f, NULL);
	} else if (j->result > 0) {
		snprintf(msg, sizeof msg, "%d of %zu test vectors failed: the version is not stored.", j->result,
			 json_array_size(j->vectors));
		f.error = msg;
		f.failures = j->report;
		rc = policies_page(&u->w, 422, &f, NULL);
	} else if (j->result == RD_EBUSY) {
		/* Cancelled: renewd is stopping (as the API's 503 unavailable). */
		snprintf(msg, sizeof msg, "The check was cancelled (%s): nothing was stored. Upload it again once renewd is back.",
			 j->err[0] ? j->err : "renewd is stopping");
		f.error = msg;
		rd_reply_header(req, "retry-after", "5");
		rc = policies_page(&u->w, 503, &f, NULL);
		if (rc < 0) {
			rd_web_message(&u->w, 503, "Check cancelled", msg);
			rc = 0;
		}
	} else if (j->result < 0) {
		snprintf(msg, sizeof msg, "The policy could not be checked: %s", j->err);
		f.error = msg;
		rc = policies_page(&u->w, 500, &f, NULL);
	} else {
		rc = rd_policy_upload_store(j);
		if (rc == 0) {
			char loc[80];
			snprintf(loc, sizeof loc, "/vendor/policies?stored=%s-%u", j->rec.kind, j->rec.version);
			rd_web_redirect(req, loc);
		}
	}
	free(vtext);
	if (rc < 0)
		rd_web_message(&u->w, 500, "Something went wrong", "The policy could not be stored. Try again.");
out:
	rd_policy_job_clear(j);
	free(u);
}

int rd_page_vendor_policy_upload(struct rd_req *req)
{
	struct upload *u = rd_calloc(1, sizeof *u);
	const char *kind;
	if (!rd_console_begin(req, &u->w) || !rd_web_csrf_ok(&u->w) || !rd_console_allowed(&u->w, RD_RES_POLICY, RD_ACT_CREATE)) {
		free(u);
		return 0;
	}
	if (!(kind = kind_param(req))) {
		rd_web_message(&u->w, 404, "Not found", "Policies are of kind margin or routing.");
		free(u);
		return 0;
	}
	job_of(&u->j, &u->w);
	const char *src = rd_form(req, "source"), *vtext = rd_form(req, "vectors"), *note = rd_form(req, "note");
	struct policy_form f = { .kind = kind, .source = src, .vectors = vtext, .note = note };
	json_error_t je;
	json_t *vectors = vtext ? json_loads(vtext, 0, &je) : NULL;
	char msg[300];
	struct rd_serr e;
	if (!src || !*src) {
		f.error = "The source is Lua text of at most 64 KiB.";
	} else if (!vectors) {
		snprintf(msg, sizeof msg, "The test vectors are not JSON (line %d, column %d): %s", je.line, je.column, je.text);
		f.error = msg;
	} else if (rd_policy_upload_prepare(&u->j, kind, src, vectors, note, &e) < 0) {
		snprintf(msg, sizeof msg, "%s", e.message);
		f.error = msg;
	}
	json_decref(vectors); /* the job holds its own reference */
	if (f.error) {
		int rc = policies_page(&u->w, 400, &f, NULL);
		free(u);
		return rc;
	}
	int q = pool_full(&u->w, &u->j) ? 1 : rd_req_work(req, rd_policy_upload_check, upload_done, u);
	if (q < 0)
		rd_policy_job_give(&u->j);
	if (q != 0) {
		rd_policy_job_clear(&u->j);
		free(u);
	}
	return q < 0 ? q : 0;
}

struct dry {
	struct rd_policy_job j; /* first: the pool's work takes the job */
	struct web w;
};

static json_t *shares_text(json_t *shares)
{
	json_t *a = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(shares, i, s) {
		char text[200], pct[24];
		int64_t bp = json_integer_value(json_object_get(s, "bp"));
		rd_bp_format(bp, pct, sizeof pct);
		snprintf(text, sizeof text, "%s %s", json_string_value(json_object_get(s, "party")) ?: "", pct);
		json_array_append_new(a, json_string(text));
	}
	return a;
}

/* A dry run's publish mode, as the page says it. */
static const char *mode_text(json_t *publish)
{
	const char *p = json_string_value(publish);
	return p && !strcmp(p, "partner") ? "the partner" : "the vendor";
}

static void dry_done(struct rd_req *req, void *arg)
{
	struct dry *d = arg;
	rd_policy_job_give(&d->j);
	if (!req)
		goto out;
	d->w.req = req;
	d->w.c.req = req;
	if (d->j.result == RD_EBUSY) {
		/* Cancelled: renewd is stopping (as the API's 503 unavailable). */
		char text[600];
		snprintf(text, sizeof text, "The dry run was cancelled (%s): nothing was changed. Run it again once renewd is back.",
			 d->j.err[0] ? d->j.err : "renewd is stopping");
		rd_reply_header(req, "retry-after", "5");
		rd_web_message(&d->w, 503, "Dry run cancelled", text);
		goto out;
	}
	if (d->j.result < 0) {
		char text[600];
		snprintf(text, sizeof text, "The dry run failed: %s", d->j.err[0] ? d->j.err : rd_strerror(d->j.result));
		rd_web_message(&d->w, 422, "Dry run failed", text);
		goto out;
	}
	struct rd_txn *t;
	if (rd_store_read(d->w.app->store, &t) < 0) {
		rd_web_message(&d->w, 500, "Something went wrong", "The store could not be read. Try again.");
		goto out;
	}
	json_t *r = d->j.report, *partners = json_array(), *largest = json_array(), *errors = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(r, "per_partner"), i, x) {
		struct rd_partner p;
		uint64_t id = (uint64_t)json_integer_value(json_object_get(x, "partner_id"));
		const char *cur = json_string_value(json_object_get(x, "currency")) ?: "";
		json_array_append_new(partners, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o}", "partner_id", (json_int_t)id,
							  "partner", rd_console_partner_name(t, &d->w, id, &p), "mode",
							  mode_text(json_object_get(x, "publish")), "before",
							  rd_money_json(json_integer_value(json_object_get(x, "before")), cur),
							  "after", rd_money_json(json_integer_value(json_object_get(x, "after")), cur),
							  "delta", rd_money_json(json_integer_value(json_object_get(x, "delta")), cur)));
	}
	json_array_foreach(json_object_get(r, "largest_changes"), i, x) {
		struct rd_contract k;
		struct rd_customer cu;
		uint64_t id = (uint64_t)json_integer_value(json_object_get(x, "contract_id"));
		bool have = rd_entity_get(t, d->w.app->domain->contracts, &rd_entity_contract, d->w.c.who.vendor, id, &k) == 0;
		const char *cur = json_string_value(json_object_get(x, "currency")) ?: "";
		json_array_append_new(largest, json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o}", "contract_id", (json_int_t)id,
							 "contract", have ? k.external_id : "", "mode",
							 mode_text(json_object_get(x, "publish")), "customer",
							 have ? rd_console_customer_name(t, &d->w, k.customer_id, &cu) : "", "delta",
							 rd_money_json(json_integer_value(json_object_get(x, "delta")), cur),
							 "before", shares_text(json_object_get(x, "before")), "after",
							 shares_text(json_object_get(x, "after"))));
	}
	json_array_foreach(json_object_get(r, "errors"), i, x) json_array_append(errors, x);
	rd_txn_end(t);
	char title[64];
	snprintf(title, sizeof title, "Dry run: %s policy version %u", d->j.rec.kind, d->j.rec.version);
	json_t *ctx = rd_console_page_ctx(&d->w, title, "/vendor/policies");
	uint32_t active = d->w.vendor.margin_version;
	json_object_set_new(ctx, "report",
			    json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:o, s:o, s:o}", "kind", d->j.rec.kind,
				      "version", (json_int_t)d->j.rec.version, "compared_with", json_object_get(r, "compared_with"),
				      "lines", json_object_get(r, "lines"), "lines_changed", json_object_get(r, "lines_changed"),
				      "lines_failed", json_object_get(r, "lines_failed"), "lines_failed_before",
				      json_object_get(r, "lines_failed_before"), "contracts_without_price",
				      json_object_get(r, "contracts_without_price"), "per_partner", partners, "largest_changes",
				      largest, "errors", errors));
	json_object_set_new(ctx, "can_activate",
			    json_boolean(rd_console_may(&d->w, RD_RES_POLICY, RD_ACT_UPDATE) && d->j.rec.version != active));
	json_object_set_new(ctx, "rollback", json_boolean(d->j.rec.version < active));
	rd_console_page(&d->w, 200, "vendor_dry_run", ctx);
out:
	rd_policy_job_clear(&d->j);
	free(d);
}

int rd_page_vendor_policy_dry_run(struct rd_req *req)
{
	struct dry *d = rd_calloc(1, sizeof *d);
	const char *kind;
	if (!rd_console_begin(req, &d->w) || !rd_web_csrf_ok(&d->w) || !rd_console_allowed(&d->w, RD_RES_POLICY, RD_ACT_READ)) {
		free(d);
		return 0;
	}
	if (!(kind = kind_param(req))) {
		rd_web_message(&d->w, 404, "Not found", "Policies are of kind margin or routing.");
		free(d);
		return 0;
	}
	job_of(&d->j, &d->w);
	struct rd_serr e;
	int rc = rd_policy_dry_run_prepare(&d->j, kind, version_param(req), &e);
	if (rc == RD_EINVAL)
		rd_web_message(&d->w, 400, "No dry run for routing",
			       "This dry run compares margins on the live contracts; a routing version's dry run over the "
			       "last routed leads is on the leads page (/vendor/leads).");
	else if (rc == RD_ENOTFOUND)
		rd_web_message(&d->w, 404, "Not found", "There is no such policy version.");
	if (rc < 0 || pool_full(&d->w, &d->j)) {
		free(d);
		return rc == RD_ENOTFOUND || rc == RD_EINVAL ? 0 : rc;
	}
	if ((rc = rd_req_work(req, rd_policy_dry_run_work, dry_done, d)) < 0) {
		rd_policy_job_give(&d->j);
		free(d);
	}
	return rc;
}

int rd_page_vendor_policy_activate(struct rd_req *req)
{
	struct web w;
	const char *kind;
	if (!rd_console_begin(req, &w) || !rd_web_csrf_ok(&w) || !rd_console_allowed(&w, RD_RES_POLICY, RD_ACT_UPDATE))
		return 0;
	if (!(kind = kind_param(req))) {
		rd_web_message(&w, 404, "Not found", "Policies are of kind margin or routing.");
		return 0;
	}
	struct rd_actor who = { .vendor = w.c.who.vendor, .user = w.c.who.user };
	uint32_t version = version_param(req);
	int rc = rd_policy_activate_as(w.app, &who, kind, version);
	if (rc == RD_ENOTFOUND) {
		rd_web_message(&w, 404, "Not found", "There is no such policy version.");
		return 0;
	}
	if (rc < 0)
		return rc;
	char loc[80];
	snprintf(loc, sizeof loc, "/vendor/policies?activated=%s-%u", kind, version);
	rd_web_redirect(req, loc);
	return 0;
}
