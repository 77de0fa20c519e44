/*
 * runtime.h: vendors' policies in the running daemon and in renewctl:
 * versions in the store, the active version loaded in the vendor's own
 * sandbox, checks before a version is stored, activation, and the dry run.
 */
#ifndef RD_POLICY_RUNTIME_H
#define RD_POLICY_RUNTIME_H

#include <jansson.h>

#include "domain/model.h"
#include "policy/policy.h"

struct rd_store;
struct rd_txn;
struct rd_policy_runtime;

/* The shipped defaults (embedded from scripts/policies). */
extern const char rd_default_margin_lua[], rd_default_margin_vectors[];
extern const char rd_default_margin_reseller_lua[], rd_default_margin_reseller_vectors[];
extern const char rd_default_routing_lua[], rd_default_routing_vectors[];

/* Policies run in two places.  On the loop thread (the sweep pricing
 * quotes) each call has RD_POLICY_LOOP_DEADLINE_US of CPU time (and
 * RD_SANDBOX_WALL_FACTOR times that of wall clock).  On the thread pool
 * (checks of an upload, dry runs) each call has the sandbox's default limit
 * and the whole job RD_POLICY_JOB_MS of CPU time, and RD_POLICY_JOB_WALL_MS
 * of wall clock however busy the machine (it bounds how long the job holds
 * its thread, and a shutdown's wait for it: under the default
 * shutdown_timeout_ms of 10 s, so no job outlives a default drain); and
 * one vendor has at most
 * `policy_jobs_per_vendor` (configuration) jobs there at a time. */
#define RD_POLICY_LOOP_DEADLINE_US 10000
#define RD_POLICY_JOB_MS 5000
#define RD_POLICY_JOB_WALL_MS 8000

/* Stops every check and dry run on the thread pool, now and from now on:
 * their calls fail at once and they return RD_EBUSY (renewd stopping; any
 * thread may call it).  The sweep's calls on the loop thread are not
 * touched. */
void rd_policy_jobs_cancel(void);

/* "margin" or "routing"; NULL otherwise. */
const char *rd_policy_kind(const char *s);

/* Compiles src in a fresh sandbox with the vendor's limits and runs the
 * vectors.  Returns 0 when it compiles and every vector passes; RD_EINVAL
 * with the compiler's or loader's message in err ("margin v3:12: ..."); or
 * the number of failing vectors (> 0), each described in report. */
int rd_policy_check(const struct rd_vendor *v, const char *kind, const char *name, const char *src, size_t len,
		    json_t *vectors, json_t *report, char *err, size_t errlen);

/* Stores a checked version as the next number for its kind. */
int rd_policy_store(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_policy_rec *rec);
int rd_policy_find(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *kind, uint32_t version,
		   struct rd_policy_rec *out);
/* Makes a stored version the active one (activation and roll back alike),
 * with an audit entry. */
int rd_policy_activate(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *kind, uint32_t version,
		       uint64_t user);
/* Version 1 of each kind from the shipped defaults, active: every new
 * vendor starts with the seed programme. */
int rd_policy_seed_defaults(struct rd_txn *t, struct rd_domain *d, struct rd_vendor *v);

/* Counts a vendor's policy job on the thread pool: false (nothing counted)
 * when it already has `max` in flight.  Loop thread only; every true is
 * paired with one rd_policy_job_end. */
bool rd_policy_job_begin(struct rd_policy_runtime *rt, uint64_t vendor, unsigned max);
void rd_policy_job_end(struct rd_policy_runtime *rt, uint64_t vendor);

/* The loaded active policies, per vendor (one thread: the loop's). */
struct rd_policy_runtime *rd_policy_runtime_new(void);
void rd_policy_runtime_free(struct rd_policy_runtime **rt);
int rd_policy_margin(struct rd_policy_runtime *rt, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		     struct rd_margin_policy **out, char *err, size_t errlen);
int rd_policy_routing(struct rd_policy_runtime *rt, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		      struct rd_routing_policy **out, char *err, size_t errlen);

/* The margin line of a contract as renewd prices its renewal. */
int rd_policy_contract_line(struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
			    const struct rd_contract *k, uint8_t publish, struct rd_margin_line *line,
			    char strings[4][RD_NAME_MAX]);

/* Runs a candidate margin version against the vendor's live contracts next
 * to the active one and reports what would change, writing nothing.  Any
 * thread: it uses its own sandboxes and read transaction. */
int rd_policy_dry_run(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v,
		      const struct rd_policy_rec *candidate, json_t **report, char *err, size_t errlen);

#endif
