/* runtime.c: policy versions, activation, the per-vendor cache, dry runs. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include "domain/audit.h"
#include "domain/money.h"
#include "policy/runtime.h"
#include "policy/vectors.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

const char *rd_policy_kind(const char *s)
{
	if (s && !strcmp(s, "margin"))
		return "margin";
	if (s && !strcmp(s, "routing"))
		return "routing";
	return NULL;
}

static struct rd_sandbox_limits limits_of(const struct rd_vendor *v)
{
	return (struct rd_sandbox_limits){ .memory_bytes = (size_t)v->policy_memory_kb * 1024,
					   .instructions = v->policy_instructions };
}

/* On the loop thread: a short time limit per call. */
static struct rd_sandbox_limits loop_limits_of(const struct rd_vendor *v)
{
	struct rd_sandbox_limits lim = limits_of(v);
	lim.deadline_us = RD_POLICY_LOOP_DEADLINE_US;
	return lim;
}

/* ---- checks and dry runs, at a lower CPU priority ---------------------------------- */

/* A policy job (an upload's check, a dry run) spends the CPU a vendor's
 * script asks for: it runs on a thread of its own at nice RD_POLICY_NICE,
 * so that the loop thread and the rest of the pool (logins, imports, mail,
 * PDFs) come first when the CPUs are busy.  The calling pool thread waits
 * for it, which keeps the per-vendor count of jobs meaningful. */
#define RD_POLICY_NICE 10

struct low {
	void (*fn)(void *);
	void *arg;
};

static void low_main(void *p)
{
	struct low *l = p;
#ifdef __linux__
	/* A thread may always lower its own priority (raising it back would
	 * need a privilege, hence a thread of its own). */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), RD_POLICY_NICE) != 0)
		rd_log(RD_LOG_DEBUG, "policy", "could not lower the policy thread's priority");
#endif
	l->fn(l->arg);
}

static void run_low(void (*fn)(void *), void *arg)
{
	struct low l = { fn, arg };
	uv_thread_t t;
	if (uv_thread_create(&t, low_main, &l) != 0) {
		fn(arg); /* no thread: run here, at the pool's priority */
		return;
	}
	uv_thread_join(&t);
}

/* rd_policy_jobs_cancel: watched by every job's sandboxes. */
static atomic_bool jobs_cancelled;

void rd_policy_jobs_cancel(void)
{
	atomic_store(&jobs_cancelled, true);
}

/* A job cut short by rd_policy_jobs_cancel: RD_EBUSY, whatever its calls said. */
static int if_cancelled(int rc, char *err, size_t errlen)
{
	if (!atomic_load(&jobs_cancelled))
		return rc;
	snprintf(err, errlen, "renewd is stopping: the job was cancelled");
	return RD_EBUSY;
}

struct check_job {
	const struct rd_vendor *v;
	const char *kind, *name, *src;
	size_t len;
	json_t *vectors, *report;
	char *err;
	size_t errlen;
	int rc;
};

static int check_now(const struct rd_vendor *v, const char *kind, const char *name, const char *src, size_t len,
		     json_t *vectors, json_t *report, char *err, size_t errlen);

static void check_main(void *arg)
{
	struct check_job *j = arg;
	j->rc = check_now(j->v, j->kind, j->name, j->src, j->len, j->vectors, j->report, j->err, j->errlen);
}

int rd_policy_check(const struct rd_vendor *v, const char *kind, const char *name, const char *src, size_t len,
		    json_t *vectors, json_t *report, char *err, size_t errlen)
{
	struct check_job j = { v, kind, name, src, len, vectors, report, err, errlen, 0 };
	run_low(check_main, &j);
	return j.rc;
}

static int check_now(const struct rd_vendor *v, const char *kind, const char *name, const char *src, size_t len,
		     json_t *vectors, json_t *report, char *err, size_t errlen)
{
	struct rd_sandbox *sb;
	struct rd_sandbox_limits lim = limits_of(v);
	int rc = rd_sandbox_new(&sb, &lim);
	if (rc < 0) {
		snprintf(err, errlen, "the policy sandbox could not start");
		return rc;
	}
	rd_sandbox_limit_total(sb, RD_POLICY_JOB_MS, RD_POLICY_JOB_WALL_MS);
	rd_sandbox_cancel_on(sb, &jobs_cancelled);
	if (!strcmp(kind, "margin")) {
		struct rd_margin_policy p;
		rc = rd_margin_load(&p, sb, name, src, len, err, errlen);
		if (rc >= 0) {
			rd_margin_memo_enable(&p, false); /* every vector runs the script */
			rc = rd_vectors_margin(&p, vectors, report);
			rd_margin_unload(&p);
		}
	} else {
		struct rd_routing_policy p;
		rc = rd_routing_load(&p, sb, name, src, len, err, errlen);
		if (rc >= 0) {
			rc = rd_vectors_routing(&p, vectors, report);
			rd_routing_unload(&p);
		}
	}
	rd_sandbox_free(&sb);
	return if_cancelled(rc < 0 ? RD_EINVAL : rc, err, errlen);
}

static void version_key(const char *kind, uint32_t version, uint8_t *key, size_t *len)
{
	size_t n = strlen(kind) + 1;
	memcpy(key, kind, n);
	key[n] = (uint8_t)(version >> 24);
	key[n + 1] = (uint8_t)(version >> 16);
	key[n + 2] = (uint8_t)(version >> 8);
	key[n + 3] = (uint8_t)version;
	*len = n + 4;
}

int rd_policy_find(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *kind, uint32_t version,
		   struct rd_policy_rec *out)
{
	uint8_t key[32];
	size_t len;
	uint64_t id;
	version_key(kind, version, key, &len);
	int rc = rd_index_find(t, d->policies, "version", vendor, key, len, &id);
	if (rc < 0)
		return rc;
	return rd_entity_get(t, d->policies, &rd_entity_policy, vendor, id, out);
}

/* The highest version of a kind (0: none). */
static int last_version(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *kind, uint32_t *out)
{
	uint8_t from[32], to[32];
	size_t fl, tl;
	version_key(kind, 0, from, &fl);
	version_key(kind, UINT32_MAX, to, &tl);
	struct rd_iter it;
	struct rd_item item;
	*out = 0;
	int rc = rd_iter_index(&it, t, d->policies, "version", vendor, from, fl, to, tl);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		const uint8_t *k = item.key + item.key_len - 4;
		*out = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
	}
	rd_iter_close(&it);
	return rc < 0 ? rc : 0;
}

int rd_policy_store(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, struct rd_policy_rec *rec)
{
	uint32_t last;
	int rc = last_version(t, d, vendor, rec->kind, &last);
	if (rc < 0)
		return rc;
	rec->id = 0;
	rec->version = last + 1;
	rec->status = RD_POLICY_READY;
	rec->created_at = rd_clock_now();
	if ((rc = rd_entity_put(t, d->policies, &rd_entity_policy, vendor, rec, 0)) < 0)
		return rc;
	char note[200];
	snprintf(note, sizeof note, "%s policy version %u uploaded (%u vectors passed)", rec->kind, rec->version,
		 rec->vectors_passed);
	json_t *after = json_pack("{s:s, s:i, s:s}", "kind", rec->kind, "version", (int)rec->version, "note", rec->note);
	rc = rd_audit_write(t, d, vendor, rec->user_id, RD_AUDIT_CREATE, "policies", rec->id, NULL, after, note);
	json_decref(after);
	return rc;
}

int rd_policy_activate(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const char *kind, uint32_t version,
		       uint64_t user)
{
	struct rd_vendor v;
	struct rd_policy_rec *rec = rd_malloc(sizeof *rec);
	int rc = rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, vendor, &v);
	if (rc < 0 || (rc = rd_policy_find(t, d, vendor, kind, version, rec)) < 0)
		goto out;
	uint32_t *active = !strcmp(kind, "margin") ? &v.margin_version : &v.routing_version;
	uint32_t before = *active;
	if (before == version)
		goto out; /* already active: nothing changes */
	if (before) {
		struct rd_policy_rec *old = rd_malloc(sizeof *old);
		if (rd_policy_find(t, d, vendor, kind, before, old) == 0) {
			old->status = RD_POLICY_RETIRED;
			rc = rd_entity_put(t, d->policies, &rd_entity_policy, vendor, old, 0);
		}
		free(old);
		if (rc < 0)
			goto out;
	}
	rec->status = RD_POLICY_ACTIVE;
	rec->activated_at = rd_clock_now();
	if ((rc = rd_entity_put(t, d->policies, &rd_entity_policy, vendor, rec, 0)) < 0)
		goto out;
	*active = version;
	if ((rc = rd_entity_put(t, d->vendors, &rd_entity_vendor, 0, &v, 0)) < 0)
		goto out;
	char note[160];
	snprintf(note, sizeof note, "%s policy: version %u active (was %u)%s", kind, version, before,
		 before > version ? ", a roll back" : "");
	json_t *b = json_pack("{s:i}", "active_version", (int)before), *a = json_pack("{s:i}", "active_version", (int)version);
	rc = rd_audit_write(t, d, vendor, user, RD_AUDIT_UPDATE, "policies", rec->id, b, a, note);
	json_decref(b);
	json_decref(a);
out:
	free(rec);
	return rc;
}

int rd_policy_seed_defaults(struct rd_txn *t, struct rd_domain *d, struct rd_vendor *v)
{
	const char *kinds[] = { "margin", "routing" };
	const char *srcs[] = { rd_default_margin_lua, rd_default_routing_lua };
	const char *vecs[] = { rd_default_margin_vectors, rd_default_routing_vectors };
	for (int i = 0; i < 2; i++) {
		struct rd_policy_rec *rec = rd_calloc(1, sizeof *rec);
		snprintf(rec->kind, sizeof rec->kind, "%s", kinds[i]);
		snprintf(rec->source, sizeof rec->source, "%s", srcs[i]);
		snprintf(rec->vectors, sizeof rec->vectors, "%s", vecs[i]);
		snprintf(rec->note, sizeof rec->note, "renewd's shipped default (scripts/policies/%s.lua)", kinds[i]);
		json_t *vj = json_loads(vecs[i], 0, NULL);
		rec->vectors_passed = (uint32_t)json_array_size(vj);
		json_decref(vj);
		int rc = rd_policy_store(t, d, v->id, rec);
		uint32_t version = rec->version;
		free(rec);
		if (rc < 0 || (rc = rd_policy_activate(t, d, v->id, kinds[i], version, 0)) < 0)
			return rc;
	}
	return rd_entity_get(t, d->vendors, &rd_entity_vendor, 0, v->id, v);
}

/* ---- the loaded policies ---------------------------------------------------------- */

struct loaded {
	uint64_t vendor;
	struct rd_sandbox *sb;
	uint32_t margin_version, routing_version;
	struct rd_sandbox_limits limits;
	struct rd_margin_policy margin;
	struct rd_routing_policy routing;
	bool have_margin, have_routing;
	struct loaded *next;
};

struct jobs {
	uint64_t vendor;
	unsigned n;
	struct jobs *next;
};

struct rd_policy_runtime {
	struct loaded *list;
	struct jobs *jobs; /* vendors with policy jobs on the thread pool */
};

bool rd_policy_job_begin(struct rd_policy_runtime *rt, uint64_t vendor, unsigned max)
{
	struct jobs *j;
	for (j = rt->jobs; j && j->vendor != vendor; j = j->next)
		;
	if (!j) {
		j = rd_calloc(1, sizeof *j);
		j->vendor = vendor;
		j->next = rt->jobs;
		rt->jobs = j;
	}
	if (j->n >= max)
		return false;
	j->n++;
	return true;
}

void rd_policy_job_end(struct rd_policy_runtime *rt, uint64_t vendor)
{
	for (struct jobs **p = &rt->jobs; *p; p = &(*p)->next) {
		if ((*p)->vendor != vendor)
			continue;
		struct jobs *j = *p;
		if (j->n)
			j->n--;
		if (!j->n) { /* the list holds only vendors with jobs */
			*p = j->next;
			free(j);
		}
		return;
	}
}

struct rd_policy_runtime *rd_policy_runtime_new(void)
{
	return rd_calloc(1, sizeof(struct rd_policy_runtime));
}

static void unload(struct loaded *l)
{
	if (l->have_margin)
		rd_margin_unload(&l->margin);
	if (l->have_routing)
		rd_routing_unload(&l->routing);
	rd_sandbox_free(&l->sb);
	l->have_margin = l->have_routing = false;
}

void rd_policy_runtime_free(struct rd_policy_runtime **rtp)
{
	struct rd_policy_runtime *rt = *rtp;
	if (!rt)
		return;
	while (rt->list) {
		struct loaded *l = rt->list;
		rt->list = l->next;
		unload(l);
		free(l);
	}
	while (rt->jobs) {
		struct jobs *j = rt->jobs;
		rt->jobs = j->next;
		free(j);
	}
	free(rt);
	*rtp = NULL;
}

/* The vendor's entry, with a sandbox matching its current limits. */
static int entry(struct rd_policy_runtime *rt, const struct rd_vendor *v, struct loaded **out)
{
	struct loaded *l;
	for (l = rt->list; l && l->vendor != v->id; l = l->next)
		;
	struct rd_sandbox_limits lim = loop_limits_of(v);
	if (l && (l->limits.memory_bytes != lim.memory_bytes || l->limits.instructions != lim.instructions))
		unload(l); /* the vendor changed its limits: start afresh */
	if (!l) {
		l = rd_calloc(1, sizeof *l);
		l->vendor = v->id;
		l->next = rt->list;
		rt->list = l;
	}
	if (!l->sb) {
		int rc = rd_sandbox_new(&l->sb, &lim);
		if (rc < 0)
			return rc;
		l->limits = lim;
	}
	/* A limit for all calls belongs to the run that set it (a sweep):
	 * loading a version now is bounded by the per-call deadline only. */
	rd_sandbox_limit_total(l->sb, 0, 0);
	*out = l;
	return 0;
}

static int load_version(struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v, const char *kind,
			uint32_t version, struct rd_policy_rec **rec, char *err, size_t errlen)
{
	if (!version) {
		snprintf(err, errlen, "vendor %llu has no active %s policy", (unsigned long long)v->id, kind);
		return RD_ENOTFOUND;
	}
	*rec = rd_malloc(sizeof **rec);
	int rc = rd_policy_find(t, d, v->id, kind, version, *rec);
	if (rc < 0) {
		snprintf(err, errlen, "%s policy version %u is missing from the store", kind, version);
		free(*rec);
		*rec = NULL;
	}
	return rc;
}

int rd_policy_margin(struct rd_policy_runtime *rt, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		     struct rd_margin_policy **out, char *err, size_t errlen)
{
	struct loaded *l;
	int rc = entry(rt, v, &l);
	if (rc < 0)
		return rc;
	if (l->have_margin && l->margin_version == v->margin_version) {
		*out = &l->margin;
		return 0;
	}
	struct rd_policy_rec *rec;
	if ((rc = load_version(t, d, v, "margin", v->margin_version, &rec, err, errlen)) < 0)
		return rc;
	if (l->have_margin)
		rd_margin_unload(&l->margin);
	char name[32];
	snprintf(name, sizeof name, "margin v%u", rec->version);
	rc = rd_margin_load(&l->margin, l->sb, name, rec->source, strlen(rec->source), err, errlen);
	free(rec);
	l->have_margin = rc == 0;
	l->margin_version = rc == 0 ? v->margin_version : 0;
	if (rc == 0)
		*out = &l->margin;
	return rc;
}

int rd_policy_routing(struct rd_policy_runtime *rt, struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
		      struct rd_routing_policy **out, char *err, size_t errlen)
{
	struct loaded *l;
	int rc = entry(rt, v, &l);
	if (rc < 0)
		return rc;
	if (l->have_routing && l->routing_version == v->routing_version) {
		*out = &l->routing;
		return 0;
	}
	struct rd_policy_rec *rec;
	if ((rc = load_version(t, d, v, "routing", v->routing_version, &rec, err, errlen)) < 0)
		return rc;
	if (l->have_routing)
		rd_routing_unload(&l->routing);
	char name[32];
	snprintf(name, sizeof name, "routing v%u", rec->version);
	rc = rd_routing_load(&l->routing, l->sb, name, rec->source, strlen(rec->source), err, errlen);
	free(rec);
	l->have_routing = rc == 0;
	l->routing_version = rc == 0 ? v->routing_version : 0;
	if (rc == 0)
		*out = &l->routing;
	return rc;
}

/* ---- pricing lines ------------------------------------------------------------------ */

int rd_policy_contract_line(struct rd_txn *t, struct rd_domain *d, const struct rd_vendor *v,
			    const struct rd_contract *k, uint8_t publish, struct rd_margin_line *line,
			    char strings[4][RD_NAME_MAX])
{
	struct rd_partner p;
	struct rd_product pr;
	struct rd_customer c;
	int rc;
	if ((rc = rd_entity_get(t, d->partners, &rd_entity_partner, v->id, k->reseller_id, &p)) < 0 ||
	    (rc = rd_entity_get(t, d->products, &rd_entity_product, v->id, k->product_id, &pr)) < 0 ||
	    (rc = rd_entity_get(t, d->customers, &rd_entity_customer, v->id, k->customer_id, &c)) < 0)
		return rc;
	memset(line, 0, sizeof *line);
	line->partner_id = p.id;
	line->partner_kind = p.kind;
	line->partner_tier = p.tier;
	line->distributor_id = k->distributor_id;
	line->publish = publish;
	snprintf(strings[0], RD_NAME_MAX, "%s", pr.external_id);
	snprintf(strings[1], RD_NAME_MAX, "%s", pr.line);
	snprintf(strings[2], RD_NAME_MAX, "%s", c.segment);
	snprintf(strings[3], RD_NAME_MAX, "%s", c.country);
	line->sku = strings[0];
	line->product_line = strings[1];
	line->segment = strings[2];
	line->country = strings[3];
	line->term = k->term;
	line->quantity = k->quantity;
	line->currency = k->currency;
	line->list_amount = -1;
	for (int i = 0; i < pr.n_prices; i++) /* seats x price that do not fit: not priced, as in the sweep */
		if (pr.prices[i].term == k->term && !strcmp(pr.prices[i].currency, k->currency) &&
		    rd_money_mul(pr.prices[i].amount, (int64_t)k->quantity, &line->list_amount) < 0)
			line->list_amount = -1;
	/* the reseller's registration for this customer and line, as the sweep prices it */
	int deal = rd_deal_margin_state(t, d, v->id, p.id, c.id, pr.line, rd_clock_today());
	line->deal = deal > 0 ? (uint8_t)deal : RD_DEAL_NONE;
	line->deal_bonus_bp = v->deal_bonus_bp;
	line->distributor_bp = v->distributor_bp;
	return line->list_amount < 0 ? RD_ENOTFOUND : 0;
}

/* ---- dry run ------------------------------------------------------------------------ */

/* A dry run prices every live contract in both publish modes (the mode an
 * opportunity ends up in is the partner's choice, or the vendor's default
 * on pullback): a change to either mode's margins shows, whichever mode
 * the vendor's default is. */

/* One partner's payout from one line in one mode, before and after. */
struct delta {
	uint64_t partner;
	char currency[4];
	uint8_t publish;
	int64_t before, after;
};

struct change {
	uint64_t contract;
	uint8_t publish;
	int64_t delta; /* total channel payout change, minor units */
	char currency[4];
	struct rd_margin_result before, after;
};

static const char *publish_name(uint8_t p)
{
	return p == RD_PUBLISH_PARTNER ? "partner" : "vendor";
}

static int by_partner(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	if (x->partner != y->partner)
		return x->partner < y->partner ? -1 : 1;
	int c = strcmp(x->currency, y->currency);
	if (c)
		return c;
	return strcmp(publish_name(x->publish), publish_name(y->publish));
}

static int by_size(const void *a, const void *b)
{
	int64_t x = llabs(((const struct change *)a)->delta), y = llabs(((const struct change *)b)->delta);
	return x < y ? 1 : x > y ? -1 : 0;
}

static json_t *shares_json(const struct rd_margin_result *r)
{
	json_t *a = json_array();
	for (int i = 0; i < r->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:i, s:s}", "party", r->shares[i].party, "bp", r->shares[i].bp,
						   "reason", r->shares[i].reason));
	return a;
}

static int64_t share_of(const struct rd_margin_result *r, const char *party)
{
	for (int i = 0; i < r->n; i++)
		if (!strcmp(r->shares[i].party, party))
			return r->shares[i].bp;
	return 0;
}

static int dry_run_now(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v,
		       const struct rd_policy_rec *candidate, json_t **report, char *err, size_t errlen);

struct dry_job {
	struct rd_store *s;
	struct rd_domain *d;
	const struct rd_vendor *v;
	const struct rd_policy_rec *candidate;
	json_t **report;
	char *err;
	size_t errlen;
	int rc;
};

static void dry_main(void *arg)
{
	struct dry_job *j = arg;
	j->rc = if_cancelled(dry_run_now(j->s, j->d, j->v, j->candidate, j->report, j->err, j->errlen), j->err, j->errlen);
}

int rd_policy_dry_run(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v,
		      const struct rd_policy_rec *candidate, json_t **report, char *err, size_t errlen)
{
	struct dry_job j = { s, d, v, candidate, report, err, errlen, 0 };
	run_low(dry_main, &j);
	return j.rc;
}

static int dry_run_now(struct rd_store *s, struct rd_domain *d, const struct rd_vendor *v,
		       const struct rd_policy_rec *candidate, json_t **report, char *err, size_t errlen)
{
	struct rd_sandbox *sb_old = NULL, *sb_new = NULL;
	struct rd_sandbox_limits lim = limits_of(v);
	struct rd_margin_policy old_p, new_p;
	bool have_old = false, have_new = false;
	struct rd_policy_rec *active = rd_malloc(sizeof *active);
	struct rd_txn *t = NULL;
	struct delta *deltas = NULL;
	struct change *changes = NULL;
	size_t n_deltas = 0, cap_deltas = 0, n_changes = 0, cap_changes = 0;
	uint64_t lines = 0, changed = 0, failed_old = 0, failed_new = 0, unpriced = 0;
	json_t *errors = json_array();
	int rc = rd_store_read(s, &t);
	if (rc < 0)
		goto out;
	if ((rc = rd_sandbox_new(&sb_old, &lim)) < 0 || (rc = rd_sandbox_new(&sb_new, &lim)) < 0)
		goto out;
	/* The job's limits, half for the calls of each version. */
	rd_sandbox_limit_total(sb_old, RD_POLICY_JOB_MS / 2, RD_POLICY_JOB_WALL_MS / 2);
	rd_sandbox_limit_total(sb_new, RD_POLICY_JOB_MS / 2, RD_POLICY_JOB_WALL_MS / 2);
	rd_sandbox_cancel_on(sb_old, &jobs_cancelled);
	rd_sandbox_cancel_on(sb_new, &jobs_cancelled);
	char name[32];
	snprintf(name, sizeof name, "margin v%u", candidate->version);
	if ((rc = rd_margin_load(&new_p, sb_new, name, candidate->source, strlen(candidate->source), err, errlen)) < 0)
		goto out;
	have_new = true;
	/* A dry run calls both versions on every line, as it always did: its
	 * job's time limits see every call (the memo is the sweep's). */
	rd_margin_memo_enable(&new_p, false);
	if (v->margin_version && rd_policy_find(t, d, v->id, "margin", v->margin_version, active) == 0) {
		snprintf(name, sizeof name, "margin v%u", active->version);
		if (rd_margin_load(&old_p, sb_old, name, active->source, strlen(active->source), err, errlen) == 0) {
			have_old = true;
			rd_margin_memo_enable(&old_p, false);
		}
	}
	struct rd_iter it;
	struct rd_item item;
	struct rd_contract k;
	static const uint8_t modes[] = { RD_PUBLISH_VENDOR, RD_PUBLISH_PARTNER };
	rc = rd_iter_records(&it, t, d->contracts, v->id, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (rd_entity_decode(&rd_entity_contract, item.val, item.len, &k) < 0 || k.status != RD_CONTRACT_LIVE)
			continue;
		struct rd_margin_line line;
		char strings[4][RD_NAME_MAX];
		if (rd_policy_contract_line(t, d, v, &k, v->publish_default, &line, strings) < 0) {
			unpriced++; /* no list price in the contract's currency and term */
			continue;
		}
		lines++;
		bool line_changed = false, line_failed = false, line_failed_old = false;
		for (int m = 0; m < 2; m++) {
			line.publish = modes[m];
			struct change c = { .contract = k.id, .publish = modes[m] };
			memcpy(c.currency, k.currency, 4);
			char e[300];
			if (have_old && rd_margin_eval(&old_p, &line, &c.before, e, sizeof e) < 0) {
				line_failed_old = true;
				/* a failed call may have filled some shares: it paid nothing */
				memset(&c.before, 0, sizeof c.before);
			}
			if (rd_margin_eval(&new_p, &line, &c.after, e, sizeof e) < 0) {
				if (!line_failed && failed_new < 10)
					json_array_append_new(errors, json_pack("{s:I, s:s, s:s}", "contract_id", (json_int_t)k.id,
										"publish", publish_name(modes[m]), "message", e));
				line_failed = true;
				continue;
			}
			/* Each partner's payout in this mode, before and after (also
			 * unchanged ones: the totals are the partner's whole book). */
			const char *parties[] = { "reseller", "distributor" };
			uint64_t partners[] = { k.reseller_id, k.distributor_id };
			for (int i = 0; i < 2; i++) {
				if (!partners[i])
					continue;
				if (n_deltas == cap_deltas)
					deltas = rd_realloc(deltas, (cap_deltas = cap_deltas ? 2 * cap_deltas : 1024) * sizeof *deltas);
				deltas[n_deltas] = (struct delta){ partners[i], "", modes[m],
								   rd_money_share(line.list_amount, share_of(&c.before, parties[i])),
								   rd_money_share(line.list_amount, share_of(&c.after, parties[i])) };
				memcpy(deltas[n_deltas++].currency, k.currency, 4);
			}
			int64_t pay_before = rd_money_share(line.list_amount, c.before.total_bp);
			int64_t pay_after = rd_money_share(line.list_amount, c.after.total_bp);
			bool differs = c.before.n != c.after.n || pay_before != pay_after;
			for (int i = 0; !differs && i < c.after.n; i++)
				differs = share_of(&c.before, c.after.shares[i].party) != c.after.shares[i].bp;
			if (!differs)
				continue;
			line_changed = true;
			c.delta = pay_after - pay_before;
			if (n_changes == cap_changes)
				changes = rd_realloc(changes, (cap_changes = cap_changes ? 2 * cap_changes : 256) * sizeof *changes);
			changes[n_changes++] = c;
		}
		changed += line_changed;
		failed_new += line_failed;
		failed_old += line_failed_old;
	}
	rd_iter_close(&it);
	if (rc < 0)
		goto out;
	/* Per partner, currency and mode: what it is paid before and after.
	 * Amounts in different currencies are never added together. */
	if (n_deltas) /* qsort must not be given NULL, even for no elements */
		qsort(deltas, n_deltas, sizeof *deltas, by_partner);
	json_t *per_partner = json_array();
	for (size_t i = 0; i < n_deltas;) {
		size_t j = i;
		int64_t before = 0, after = 0;
		while (j < n_deltas && !by_partner(&deltas[i], &deltas[j])) {
			before += deltas[j].before;
			after += deltas[j++].after;
		}
		if (before != after)
			json_array_append_new(per_partner,
					      json_pack("{s:I, s:s, s:s, s:I, s:I, s:I}", "partner_id", (json_int_t)deltas[i].partner,
							"currency", deltas[i].currency, "publish", publish_name(deltas[i].publish),
							"before", (json_int_t)before, "after", (json_int_t)after, "delta",
							(json_int_t)(after - before)));
		i = j;
	}
	if (n_changes)
		qsort(changes, n_changes, sizeof *changes, by_size);
	json_t *largest = json_array();
	for (size_t i = 0; i < n_changes && i < 10; i++)
		json_array_append_new(largest, json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "contract_id",
							 (json_int_t)changes[i].contract, "publish",
							 publish_name(changes[i].publish), "currency", changes[i].currency,
							 "delta", (json_int_t)changes[i].delta, "before",
							 shares_json(&changes[i].before), "after", shares_json(&changes[i].after)));
	*report = json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "kind", "margin", "version",
			    (int)candidate->version, "compared_with", (int)(have_old ? active->version : 0), "lines",
			    (json_int_t)lines, "lines_changed", (json_int_t)changed, "lines_failed", (json_int_t)failed_new,
			    "lines_failed_before", (json_int_t)failed_old, "contracts_without_price", (json_int_t)unpriced,
			    "per_partner", per_partner, "largest_changes", largest, "errors", errors);
	errors = NULL;
	rc = 0;
out:
	json_decref(errors);
	if (have_old)
		rd_margin_unload(&old_p);
	if (have_new)
		rd_margin_unload(&new_p);
	rd_sandbox_free(&sb_old);
	rd_sandbox_free(&sb_new);
	rd_txn_end(t);
	free(active);
	free(deltas);
	free(changes);
	return rc;
}
