/*
 * policies.h: uploading, dry-running and activating a vendor's policy
 * versions (core/services/policies.c): one rule for the API
 * (/api/v1/policies) and the console (/vendor/policies).
 *
 * An upload is checked (compiled, its test vectors run) and a dry run
 * computed on the thread pool, as a job: each vendor runs at most
 * policy_jobs_per_vendor of them at a time.  The caller keeps the job in
 * its own context (the job is its first member or held beside it):
 *
 *   prepare (loop) -> take a place -> work (pool) -> finish (loop) -> free
 */
#ifndef RD_SERVICES_POLICIES_H
#define RD_SERVICES_POLICIES_H

#include <jansson.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_policy_job {
	struct rd_app *app;
	struct rd_actor who;
	struct rd_vendor vendor;   /* the acting vendor, as loaded by the caller */
	struct rd_policy_rec rec;  /* the version uploaded, or dry-run */
	json_t *vectors;           /* upload: the test vectors */
	json_t *report;            /* upload: the failures; dry run: the report */
	int result;                /* upload: 0 passed, > 0 vectors failed, RD_EINVAL the source, < 0 not checked;
				    * dry run: 0 or < 0 */
	char err[512];
};

/* Takes one of the vendor's places for a job: 0, or RD_EBUSY (*max: the
 * vendor's share, for the message).  A place taken is given back with
 * rd_policy_job_give once the job is done or was not queued. */
int rd_policy_job_take(struct rd_policy_job *j, unsigned *max);
void rd_policy_job_give(struct rd_policy_job *j);

/* An upload of kind ("margin" or "routing") into j: the source (Lua, at
 * most 64 KiB), the vectors (a list of 1..1000, borrowed; at most 64 KiB as
 * text) and the note (at most 255 bytes; NULL: none).  0, or RD_EINVAL with
 * the field and a sentence in e. */
int rd_policy_upload_prepare(struct rd_policy_job *j, const char *kind, const char *source, json_t *vectors,
			     const char *note, struct rd_serr *e);
/* On the thread pool: compiles the source and runs the vectors (j->result). */
void rd_policy_upload_check(void *job);
/* On the loop, when j->result is 0: stores the version (its number in
 * j->rec.version).  0, or the store's error. */
int rd_policy_upload_store(struct rd_policy_job *j);

/* A dry run of margin version `version` of kind: RD_EINVAL (field kind) for
 * a routing policy, RD_ENOTFOUND (field version) for no such version. */
int rd_policy_dry_run_prepare(struct rd_policy_job *j, const char *kind, uint32_t version, struct rd_serr *e);
/* On the thread pool: the report of what it would change (j->result). */
void rd_policy_dry_run_work(void *job);

/* Frees what the job holds (not the job). */
void rd_policy_job_clear(struct rd_policy_job *j);

/* Makes version the active one of kind (also how to roll back), audited
 * as who.  0, RD_ENOTFOUND, or the store's error. */
int rd_policy_activate_as(struct rd_app *app, const struct rd_actor *who, const char *kind, uint32_t version);

#endif
