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
#include "config/config.h"
#include "policy/runtime.h"
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

/* ---- upload ------------------------------------------------------------------------- */

struct upload {
	struct call c;
	struct rd_policy_rec rec;
	json_t *vectors;
	json_t *report;
	int result;
	char err[512];
};

static void upload_check(void *arg)
{
	struct upload *u = arg;
	char name[32];
	snprintf(name, sizeof name, "%s (upload)", u->rec.kind);
	u->result = rd_policy_check(&u->c.vendor, u->rec.kind, name, u->rec.source, strlen(u->rec.source), u->vectors,
				    u->report, u->err, sizeof u->err);
}

static int upload_store(struct rd_txn *t, void *arg)
{
	struct upload *u = arg;
	return rd_policy_store(t, u->c.app->domain, u->c.who.vendor, &u->rec);
}

/* One vendor's share of the thread pool: a job more than
 * policy_jobs_per_vendor is refused with 429 and Retry-After (true). */
static bool pool_full(struct rd_req *req, struct call *c)
{
	unsigned max = (unsigned)c->app->config->policy_jobs_per_vendor;
	if (rd_policy_job_begin(c->app->policies, c->who.vendor, max))
		return false;
	rd_reply_header(req, "retry-after", "1");
	rd_reply_error(req, 429, "busy", NULL,
		       "this vendor already has %u policy checks or dry runs running (at most %u at a time): try again when "
		       "one has finished",
		       max, max);
	return true;
}

/* Queues a counted job; on failure the count is given back. */
static int queue_job(struct rd_req *req, struct call *c, rd_work_fn fn, rd_work_done_fn done, void *arg)
{
	int rc = rd_req_work(req, fn, done, arg);
	if (rc < 0)
		rd_policy_job_end(c->app->policies, c->who.vendor);
	return rc;
}

static void upload_done(struct rd_req *req, void *arg)
{
	struct upload *u = arg;
	rd_policy_job_end(u->c.app->policies, u->c.who.vendor);
	if (!req)
		goto out;
	if (u->result == RD_EINVAL) {
		json_t *e = json_pack("{s:s, s:s, s:s}", "code", "policy_error", "message", u->err, "field", "source");
		rd_reply_json(req, 422, json_pack("{s:o}", "error", e));
		goto out;
	}
	if (u->result > 0) {
		char msg[160];
		snprintf(msg, sizeof msg, "%d of %zu test vectors failed: the version is not stored", u->result,
			 json_array_size(u->vectors));
		json_t *e = json_pack("{s:s, s:s, s:s, s:O}", "code", "vectors_failed", "message", msg, "field", "vectors",
				      "failures", u->report);
		rd_reply_json(req, 422, json_pack("{s:o}", "error", e));
		goto out;
	}
	if (u->result < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the policy could not be checked: %s", u->err);
		goto out;
	}
	u->rec.vectors_passed = (uint32_t)json_array_size(u->vectors);
	int rc = rd_store_write(u->c.app->store, upload_store, u);
	if (rc < 0) {
		rd_reply_error(req, 500, "internal", NULL, "the version could not be stored: %s", rd_strerror(rc));
		goto out;
	}
	char loc[80];
	snprintf(loc, sizeof loc, "/api/v1/policies/%s/%u", u->rec.kind, u->rec.version);
	rd_reply_header(req, "location", loc);
	rd_reply_json(req, 201, summary(&u->rec));
out:
	json_decref(u->vectors);
	json_decref(u->report);
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
	const char *src = NULL, *note = "";
	json_t *vectors = NULL;
	json_error_t je;
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s:o, s?:s}", "source", &src, "vectors", &vectors, "note", &note) != 0) {
		rd_reply_error(req, 400, "invalid", NULL,
			       "an upload is {\"source\": Lua text, \"vectors\": [test vectors], \"note\": text}: %s", je.text);
		json_decref(body);
		free(u);
		return 0;
	}
	const char *bad = NULL;
	if (strlen(src) >= sizeof u->rec.source)
		bad = "source";
	else if (!json_is_array(vectors) || json_array_size(vectors) == 0 || json_array_size(vectors) > 1000)
		bad = "vectors";
	else if (strlen(note) >= sizeof u->rec.note)
		bad = "note";
	char *vtext = bad ? NULL : json_dumps(vectors, JSON_COMPACT);
	if (!bad && (!vtext || strlen(vtext) >= sizeof u->rec.vectors))
		bad = "vectors";
	if (bad) {
		rd_reply_error(req, 400, "invalid", bad,
			       "source is at most 64 KiB of Lua, vectors a list of 1..1000 test vectors (at most 64 KiB), note at most 255 bytes");
		free(vtext);
		json_decref(body);
		free(u);
		return 0;
	}
	snprintf(u->rec.kind, sizeof u->rec.kind, "%s", kind);
	memcpy(u->rec.source, src, strlen(src) + 1);
	memcpy(u->rec.vectors, vtext, strlen(vtext) + 1);
	snprintf(u->rec.note, sizeof u->rec.note, "%s", note);
	u->rec.user_id = u->c.who.user;
	free(vtext);
	u->vectors = json_incref(vectors);
	u->report = json_array();
	json_decref(body);
	int rc = pool_full(req, &u->c) ? 1 : queue_job(req, &u->c, upload_check, upload_done, u);
	if (rc != 0) { /* refused (answered) or not queued */
		json_decref(u->vectors);
		json_decref(u->report);
		free(u);
	}
	return rc < 0 ? rc : 0;
}

/* ---- dry run and activation ---------------------------------------------------------- */

struct dry {
	struct call c;
	struct rd_policy_rec rec;
	json_t *report;
	int rc;
	char err[512];
};

static void dry_work(void *arg)
{
	struct dry *d = arg;
	d->rc = rd_policy_dry_run(d->c.app->store, d->c.app->domain, &d->c.vendor, &d->rec, &d->report, d->err, sizeof d->err);
}

static void dry_done(struct rd_req *req, void *arg)
{
	struct dry *d = arg;
	rd_policy_job_end(d->c.app->policies, d->c.who.vendor);
	if (req) {
		if (d->rc == 0)
			rd_reply_json(req, 200, json_incref(d->report));
		else
			rd_reply_error(req, 422, "policy_error", NULL, "the dry run failed: %s", d->err[0] ? d->err : rd_strerror(d->rc));
	}
	json_decref(d->report);
	free(d);
}

int rd_api_policy_dry_run(struct rd_req *req)
{
	struct dry *d = rd_calloc(1, sizeof *d);
	const char *kind;
	if (rd_call_begin(req, &d->c) < 0 || rd_call_allow(&d->c, RD_RES_POLICY, RD_ACT_READ) == RD_SCOPE_NONE ||
	    !(kind = kind_param(req))) {
		free(d);
		return 0;
	}
	if (strcmp(kind, "margin") != 0) {
		rd_reply_error(req, 400, "invalid", "kind",
			       "dry runs compare margins on the live contracts; a routing version is checked by its vectors");
		free(d);
		return 0;
	}
	struct rd_txn *t;
	int rc = rd_store_read(d->c.app->store, &t);
	if (rc < 0) {
		free(d);
		return rc;
	}
	uint32_t version = version_param(req);
	rc = version ? rd_policy_find(t, d->c.app->domain, d->c.who.vendor, kind, version, &d->rec) : RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc < 0) {
		if (rc == RD_ENOTFOUND)
			rd_reply_error(req, 404, "not_found", "version", "no %s policy version %s", kind, rd_req_param(req, "version"));
		free(d);
		return rc == RD_ENOTFOUND ? 0 : rc;
	}
	if (pool_full(req, &d->c)) {
		free(d);
		return 0;
	}
	if ((rc = queue_job(req, &d->c, dry_work, dry_done, d)) < 0)
		free(d);
	return rc;
}

struct activation {
	struct call *c;
	const char *kind;
	uint32_t version;
};

static int activate_write(struct rd_txn *t, void *arg)
{
	struct activation *a = arg;
	return rd_policy_activate(t, a->c->app->domain, a->c->who.vendor, a->kind, a->version, a->c->who.user);
}

int rd_api_policy_activate(struct rd_req *req)
{
	struct call c;
	struct activation a = { .c = &c };
	if (rd_call_begin(req, &c) < 0 || rd_call_allow(&c, RD_RES_POLICY, RD_ACT_UPDATE) == RD_SCOPE_NONE ||
	    !(a.kind = kind_param(req)))
		return 0;
	a.version = version_param(req);
	int rc = a.version ? rd_store_write(c.app->store, activate_write, &a) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND) {
		rd_reply_error(req, 404, "not_found", "version", "no %s policy version %s", a.kind, rd_req_param(req, "version"));
		return 0;
	}
	if (rc < 0)
		return rc;
	rd_reply_json(req, 200, json_pack("{s:s, s:i}", "kind", a.kind, "active", (int)a.version));
	return 0;
}
