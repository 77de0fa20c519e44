/*
 * policies.c: uploading, dry-running and activating policy versions
 * (policies.h), for the API and the console alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "policy/runtime.h"
#include "services/policies.h"
#include "store/store.h"
#include "util/err.h"

int rd_policy_job_take(struct rd_policy_job *j, unsigned *max)
{
	*max = (unsigned)j->app->config->policy_jobs_per_vendor;
	return rd_policy_job_begin(j->app->policies, j->who.vendor, *max) ? 0 : RD_EBUSY;
}

void rd_policy_job_give(struct rd_policy_job *j)
{
	rd_policy_job_end(j->app->policies, j->who.vendor);
}

int rd_policy_upload_prepare(struct rd_policy_job *j, const char *kind, const char *source, json_t *vectors,
			     const char *note, struct rd_serr *e)
{
	note = note ? note : "";
	if (strlen(source) >= sizeof j->rec.source)
		return rd_serr_set(e, RD_EINVAL, "invalid", "source", "The source is Lua text of at most 64 KiB.");
	if (!json_is_array(vectors) || json_array_size(vectors) == 0 || json_array_size(vectors) > 1000)
		return rd_serr_set(e, RD_EINVAL, "invalid", "vectors", "The test vectors are a JSON list of 1 to 1000 vectors.");
	if (strlen(note) >= sizeof j->rec.note)
		return rd_serr_set(e, RD_EINVAL, "invalid", "note", "The note is at most 255 bytes.");
	char *text = json_dumps(vectors, JSON_COMPACT);
	if (!text || strlen(text) >= sizeof j->rec.vectors) {
		free(text);
		return rd_serr_set(e, RD_EINVAL, "invalid", "vectors", "The test vectors are at most 64 KiB.");
	}
	snprintf(j->rec.kind, sizeof j->rec.kind, "%s", kind);
	memcpy(j->rec.source, source, strlen(source) + 1);
	memcpy(j->rec.vectors, text, strlen(text) + 1);
	snprintf(j->rec.note, sizeof j->rec.note, "%s", note);
	j->rec.user_id = j->who.user;
	free(text);
	j->vectors = json_incref(vectors);
	j->report = json_array();
	return 0;
}

void rd_policy_upload_check(void *job)
{
	struct rd_policy_job *j = job;
	char name[32];
	snprintf(name, sizeof name, "%s (upload)", j->rec.kind);
	j->result = rd_policy_check(&j->vendor, j->rec.kind, name, j->rec.source, strlen(j->rec.source), j->vectors,
				    j->report, j->err, sizeof j->err);
}

static int upload_write(struct rd_txn *t, void *arg)
{
	struct rd_policy_job *j = arg;
	return rd_policy_store(t, j->app->domain, j->who.vendor, &j->rec);
}

int rd_policy_upload_store(struct rd_policy_job *j)
{
	j->rec.vectors_passed = (uint32_t)json_array_size(j->vectors);
	return rd_store_write(j->app->store, upload_write, j);
}

int rd_policy_dry_run_prepare(struct rd_policy_job *j, const char *kind, uint32_t version, struct rd_serr *e)
{
	if (strcmp(kind, "margin"))
		return rd_serr_set(e, RD_EINVAL, "invalid", "kind",
				   "this dry run compares margins on the live contracts; a routing version's dry run over the last "
				   "routed leads is POST /api/v1/leads/dry-run");
	struct rd_txn *t;
	int rc = rd_store_read(j->app->store, &t);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	rc = version ? rd_policy_find(t, j->app->domain, j->who.vendor, kind, version, &j->rec) : RD_ENOTFOUND;
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(e, rc, "not_found", "version", "no %s policy version %u", kind, version);
	if (rc < 0)
		return rd_serr_set(e, rc, "internal", NULL, "%s", rd_strerror(rc));
	return 0;
}

void rd_policy_dry_run_work(void *job)
{
	struct rd_policy_job *j = job;
	j->result = rd_policy_dry_run(j->app->store, j->app->domain, &j->vendor, &j->rec, &j->report, j->err,
				      sizeof j->err);
}

void rd_policy_job_clear(struct rd_policy_job *j)
{
	json_decref(j->vectors);
	json_decref(j->report);
	j->vectors = j->report = NULL;
}

struct activation {
	struct rd_app *app;
	const struct rd_actor *who;
	const char *kind;
	uint32_t version;
};

static int activate_write(struct rd_txn *t, void *arg)
{
	struct activation *a = arg;
	return rd_policy_activate(t, a->app->domain, a->who->vendor, a->kind, a->version, a->who->user);
}

int rd_policy_activate_as(struct rd_app *app, const struct rd_actor *who, const char *kind, uint32_t version)
{
	struct activation a = { app, who, kind, version };
	return version ? rd_store_write(app->store, activate_write, &a) : RD_ENOTFOUND;
}
