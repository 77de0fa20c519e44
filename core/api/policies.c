/*
 * policies.c: the vendor's Lua policies over HTTP.
 *   GET  /api/v1/policies                             versions of each kind, which is active
 *   POST /api/v1/policies/{kind}                      upload {source, vectors, note}: compiled and
 *                                                     tested on the thread pool, stored only if both pass
 *   GET  /api/v1/policies/{kind}/{version}            one version with its source and vectors
 *   POST /api/v1/policies/{kind}/{version}/dry-run    what it would change on the live contracts
 *   POST /api/v1/policies/{kind}/{version}/activate   make it active (also how to roll back)
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "policy/runtime.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/err.h"

static const char *kind_param(struct rd_req *req)
{
	const char *k = rd_policy_kind(rd_req_param(req, "kind"));
	if (!k)
		rd_reply_error(req, 404, "not_found", "kind", "policies are of kind margin or routing");
	return k;
}

static uint32_t version_param(struct rd_req *req)
{
	uint64_t v = rd_parse_id(rd_req_param(req, "version"));
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

static json_t *summary(const struct rd_policy_rec *r)
{
	json_t *j = rd_entity_to_json(&rd_entity_policy, r);
	json_object_del(j, "source");
	json_object_del(j, "vectors");
	return j;
}

int rd_api_policies_list(struct rd_req *req)
{
	struct call c;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_POLICY, RD_ACT_READ) == RD_SCOPE_NONE)
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	json_t *margin = json_array(), *routing = json_array();
	struct rd_policy_rec *r = rd_malloc(sizeof *r);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, c.app->domain->policies, c.who.vendor, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if ((rc = rd_entity_decode(&rd_entity_policy, item.val, item.len, r)) < 0)
			break;
		json_array_append_new(strcmp(r->kind, "margin") ? routing : margin, summary(r));
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	free(r);
	if (rc < 0) {
		json_decref(margin);
		json_decref(routing);
		return rc;
	}
	rd_reply_json(req, 200, json_pack("{s:{s:i, s:o}, s:{s:i, s:o}}", "margin", "active", (int)c.vendor.margin_version,
					  "versions", margin, "routing", "active", (int)c.vendor.routing_version,
					  "versions", routing));
	return 0;
}

int rd_api_policy_get(struct rd_req *req)
{
	struct call c;
	const char *kind;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_POLICY, RD_ACT_READ) == RD_SCOPE_NONE ||
	    !(kind = kind_param(req)))
		return 0;
	struct rd_txn *t;
	int rc = rd_store_read(c.app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_policy_rec *r = rd_malloc(sizeof *r);
	uint32_t version = version_param(req);
	rc = version ? rd_policy_find(t, c.app->domain, c.who.vendor, kind, version, r) : RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc == 0) {
		json_t *j = rd_entity_to_json(&rd_entity_policy, r);
		json_t *vec = json_loads(r->vectors[0] ? r->vectors : "[]", 0, NULL);
		json_object_set_new(j, "vectors", vec ? vec : json_array());
		rd_reply_json(req, 200, j);
	} else if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "version", "no %s policy version %s", kind, rd_req_param(req, "version"));
		rc = 0;
	}
	free(r);
	return rc;
}

/* ---- upload, dry run, activation (the rules: services/policies.h) ------------------------ */

struct upload {
	struct rd_policy_job j; /* first: the pool's work takes the job */
	struct call c;
};

/* A place for the vendor's job, or 429 with Retry-After (true). */
static bool pool_full(struct rd_req *req, struct rd_policy_job *j)
{
	unsigned max;
	if (rd_policy_job_take(j, &max) == 0)
		return false;
	rd_reply_header(req, "retry-after", "1");
	rd_reply_error(req, 429, "busy", NULL,
		       "this vendor already has %u policy checks or dry runs running (at most %u at a time): try again when "
		       "one has finished",
		       max, max);
	return true;
}

/* Queues a job holding a place; on failure the place is given back. */
static int queue_job(struct rd_req *req, struct rd_policy_job *j, rd_work_fn fn, rd_work_done_fn done)
{
	int rc = rd_req_work(req, fn, done, j);
	if (rc < 0)
		rd_policy_job_give(j);
	return rc;
}

/* The job of a caller: who, and the vendor as loaded by rd_call_begin. */
static void job_of(struct rd_policy_job *j, struct call *c)
{
	j->app = c->app;
	j->who = (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user };
	j->vendor = c->vendor;
}

/* The answer to an upload whose check has finished. */
static void upload_answer(struct rd_req *req, struct rd_policy_job *j)
{
	if (j->result == RD_EINVAL) {
		json_t *e = json_pack("{s:s, s:s, s:s}", "code", "policy_error", "message", j->err, "field", "source");
		rd_reply_json(req, 422, json_pack("{s:o}", "error", e));
		return;
	}
	if (j->result > 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "%d of %zu test vectors failed: the version is not stored", j->result,
			 json_array_size(j->vectors));
		json_t *e = json_pack("{s:s, s:s, s:s, s:O}", "code", "vectors_failed", "message", msg, "field", "vectors",
				      "failures", j->report);
		rd_reply_json(req, 422, json_pack("{s:o}", "error", e));
		return;
	}
	if (j->result == RD_EBUSY) {
		rd_reply_error(req, 503, "unavailable", NULL, "%s: nothing was stored; upload again once renewd is back",
			       j->err);
		return;
	}
	if (j->result < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the policy could not be checked: %s", j->err);
		return;
	}
	int rc = rd_policy_upload_store(j);
	if (rc < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the version could not be stored: %s", rd_strerror(rc));
		return;
	}
	char loc[80];
	snprintf(loc, sizeof loc, "/api/v1/policies/%s/%u", j->rec.kind, j->rec.version);
	rd_reply_header(req, "location", loc);
	rd_reply_json(req, 201, summary(&j->rec));
}

static void upload_done(struct rd_req *req, void *arg)
{
	struct upload *u = arg;
	rd_policy_job_give(&u->j);
	if (req) /* NULL: the client went away */
		upload_answer(req, &u->j);
	rd_policy_job_clear(&u->j);
	free(u);
}

int rd_api_policy_upload(struct rd_req *req)
{
	struct upload *u = rd_calloc(1, sizeof *u);
	const char *kind;
	json_t *body = NULL;
	if (rd_call_begin(req, &u->c) < 0 || rd_call_allow(&u->c, RD_RES_POLICY, RD_ACT_CREATE) == RD_SCOPE_NONE ||
	    !(kind = kind_param(req)) || rd_req_json(req, &body) < 0) {
		free(u);
		return 0;
	}
	job_of(&u->j, &u->c);
	const char *src = NULL, *note = "";
	json_t *vectors = NULL;
	json_error_t je;
	struct rd_serr e;
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s:o, s?:s}", "source", &src, "vectors", &vectors, "note", &note) != 0) {
		rd_reply_error(req, 400, "invalid", NULL,
			       "an upload is {\"source\": Lua text, \"vectors\": [test vectors], \"note\": text}: %s", je.text);
		json_decref(body);
		free(u);
		return 0;
	}
	if (rd_policy_upload_prepare(&u->j, kind, src, vectors, note, &e) < 0) {
		rd_reply_error(req, 400, "invalid", e.field,
			       "source is at most 64 KiB of Lua, vectors a list of 1..1000 test vectors (at most 64 KiB), note at most 255 bytes");
		json_decref(body);
		free(u);
		return 0;
	}
	json_decref(body);
	int rc = pool_full(req, &u->j) ? 1 : queue_job(req, &u->j, rd_policy_upload_check, upload_done);
	if (rc != 0) { /* refused (answered) or not queued */
		rd_policy_job_clear(&u->j);
		free(u);
	}
	return rc < 0 ? rc : 0;
}

struct dry {
	struct rd_policy_job j; /* first: the pool's work takes the job */
	struct call c;
};

static void dry_done(struct rd_req *req, void *arg)
{
	struct dry *d = arg;
	rd_policy_job_give(&d->j);
	if (req) {
		if (d->j.result == 0)
			rd_reply_json(req, 200, json_incref(d->j.report));
		else if (d->j.result == RD_EBUSY)
			rd_reply_error(req, 503, "unavailable", NULL, "%s: run it again once renewd is back", d->j.err);
		else
			rd_reply_error(req, 422, "policy_error", NULL, "the dry run failed: %s",
				       d->j.err[0] ? d->j.err : rd_strerror(d->j.result));
	}
	rd_policy_job_clear(&d->j);
	free(d);
}

int rd_api_policy_dry_run(struct rd_req *req)
{
	struct rd_serr e;
	const char *kind;
	struct dry *d = rd_calloc(1, sizeof *d);
	if (rd_call_begin(req, &d->c) < 0 || rd_call_allow(&d->c, RD_RES_POLICY, RD_ACT_READ) == RD_SCOPE_NONE ||
	    !(kind = kind_param(req))) {
		free(d);
		return 0;
	}
	job_of(&d->j, &d->c);
	int rc = rd_policy_dry_run_prepare(&d->j, kind, version_param(req), &e);
	if (rc == RD_ENOTFOUND)
		rd_reply_error(req, 404, "not_found", "version", "no %s policy version %s", kind, rd_req_param(req, "version"));
	else if (rc == RD_EINVAL)
		rd_reply_serr(req, &e);
	if (rc < 0 || pool_full(req, &d->j)) {
		free(d);
		return rc == RD_ENOTFOUND || rc == RD_EINVAL ? 0 : rc;
	}
	if ((rc = queue_job(req, &d->j, rd_policy_dry_run_work, dry_done)) < 0)
		free(d);
	return rc;
}

int rd_api_policy_activate(struct rd_req *req)
{
	struct call c;
	const char *kind;
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_POLICY, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    !(kind = kind_param(req)))
		return 0;
	struct rd_actor who = { .vendor = c.who.vendor, .user = c.who.user };
	uint32_t version = version_param(req);
	int rc = rd_policy_activate_as(c.app, &who, kind, version);
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "version", "no %s policy version %s", kind, rd_req_param(req, "version"));
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, json_pack("{s:s, s:i}", "kind", kind, "active", (int)version));
	return 0;
}
