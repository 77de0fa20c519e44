/*
 * sched.c: the scheduler's timer, the per-vendor catch-up loop, the
 * schedule preview, and the actions people take (decisions, customer
 * requests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "domain/audit.h"
#include "policy/runtime.h"
#include "renew/internal.h"
#include "store/store.h"
#include "template/mustache.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#define CATCH_UP_MAX 400

void rd_renew_mail_start(struct rd_renew *r);
void rd_renew_mail_stop(struct rd_renew *r);

struct rd_renew *rd_renew_new(struct rd_app *app)
{
	struct rd_renew *r = rd_calloc(1, sizeof *r);
	r->app = app;
	snprintf(r->maildir, sizeof r->maildir, "%s/mail", app->config->data);
	if (app->config->public_url)
		snprintf(r->base_url, sizeof r->base_url, "%s", app->config->public_url);
	else
		snprintf(r->base_url, sizeof r->base_url, "http://%s", app->config->listen);
	size_t n = strlen(r->base_url);
	if (n && r->base_url[n - 1] == '/')
		r->base_url[n - 1] = 0;
	rd_require(uv_mutex_init(&r->templates_lock) == 0);
	rd_claims_init(r);
	return r;
}

void rd_renew_free(struct rd_renew **rp)
{
	struct rd_renew *r = *rp;
	if (!r)
		return;
	for (size_t i = 0; i < r->n_templates; i++)
		rd_mustache_free(r->templates[i].m);
	free(r->templates);
	rd_renew_kept_free(r);
	free(r->failing);
	free(r->sweep_stats);
	uv_mutex_destroy(&r->templates_lock);
	free(r);
	*rp = NULL;
}

static void sweep_meta_key(uint64_t vendor, char *key, size_t cap)
{
	snprintf(key, cap, "sweep:%llu", (unsigned long long)vendor);
}

/* The last day swept for a vendor (0 with *none when never). */
static rd_date last_swept(struct rd_txn *t, uint64_t vendor, bool *none)
{
	char key[48];
	sweep_meta_key(vendor, key, sizeof key);
	const void *v;
	size_t len;
	*none = true;
	if (rd_txn_meta_get(t, key, &v, &len) < 0 || len != 4)
		return 0;
	*none = false;
	int32_t d;
	memcpy(&d, v, 4);
	return d;
}

/* Where a day swept in chunks has got to (struct sweep_cursor), kept in
 * the store's settings as "sweep_at:VENDOR": the day (4 bytes), the walk
 * (4), the contract's id (8), its index key's length (1) and the key, in
 * the byte order of this machine (every node runs the same build). */
static void cursor_meta_key(uint64_t vendor, char *key, size_t cap)
{
	snprintf(key, cap, "sweep_at:%llu", (unsigned long long)vendor);
}

static int cursor_load(struct rd_txn *t, struct sweep *s)
{
	char key[48];
	cursor_meta_key(s->v.id, key, sizeof key);
	const void *v;
	size_t len;
	memset(&s->at, 0, sizeof s->at);
	int rc = rd_txn_meta_get(t, key, &v, &len);
	if (rc == RD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	const uint8_t *b = v;
	if (len < 17 || len != 17u + (b[16] <= RD_SWEEP_CURSOR_KEY ? b[16] : 0))
		return 0; /* not one of ours: the day starts over (each action once) */
	int32_t day;
	memcpy(&day, b, 4);
	if (day != s->day)
		return 0; /* another day's */
	s->at.day = day;
	memcpy(&s->at.walk, b + 4, 4);
	memcpy(&s->at.id, b + 8, 8);
	s->at.klen = b[16];
	if (s->at.klen <= RD_SWEEP_CURSOR_KEY)
		memcpy(s->at.key, b + 17, s->at.klen);
	s->at.set = true;
	return 0;
}

static int cursor_save(struct rd_txn *t, const struct sweep *s)
{
	char key[48];
	cursor_meta_key(s->v.id, key, sizeof key);
	uint8_t b[17 + RD_SWEEP_CURSOR_KEY];
	int32_t day = s->at.day;
	memcpy(b, &day, 4);
	memcpy(b + 4, &s->at.walk, 4);
	memcpy(b + 8, &s->at.id, 8);
	b[16] = s->at.klen;
	size_t klen = s->at.klen <= RD_SWEEP_CURSOR_KEY ? s->at.klen : 0;
	memcpy(b + 17, s->at.key, klen);
	return rd_txn_meta_put(t, key, b, 17 + klen);
}

struct day_job {
	struct sweep s;
	bool full;
	bool retry;          /* a retry of failed actions (s.only): the day is not marked swept again */
	bool wrote_failures; /* the vendor's list of failures was written, n_failing long */
	unsigned n_failing;
	bool nest;           /* this run: each action in a child transaction of its own */
	bool troubled;       /* the vendor has failing actions: its days nest from the start */
	const char *claim;   /* several nodes: the vendor's claim, renewed (and checked) by each day's write */
};

/* The day's failed actions (s->skip) into the vendor's list; a retry also
 * removes the ones it retried that did not fail again: taken now, or no
 * longer due. */
static int note_failures(struct day_job *j, struct rd_txn *t)
{
	struct sweep *s = &j->s;
	json_t *list;
	int rc = rd_failures_load(t, s->v.id, &list);
	if (rc < 0)
		return rc;
	for (size_t i = 0; j->retry && i < s->n_only; i++)
		if (!rd_action_excluded(s, s->only[i]))
			rd_failures_drop(list, s->only[i]);
	for (size_t i = 0; i < s->n_skip; i++)
		rd_failures_note(list, s->skip[i].key, s->day, s->skip[i].error, rd_clock_now());
	rc = rd_failures_save(s->r, t, s->v.id, list);
	j->n_failing = (unsigned)json_array_size(list);
	j->wrote_failures = rc == 0;
	json_decref(list);
	return rc;
}

static int day_write(struct rd_txn *t, void *arg)
{
	struct day_job *j = arg;
	struct sweep *s = &j->s;
	s->t = t;
	s->taken = s->scanned = 0;
	s->acting[0] = s->why[0] = 0;
	s->nest = j->nest || s->preview;
	s->day_t = NULL;
	s->n_skip = 0; /* (a replay after the map grew starts the day over) */
	j->wrote_failures = false;
	s->walk = 0;
	s->chunked = false;
	s->chunk_t0 = uv_hrtime();
	memset(&s->at, 0, sizeof s->at);
	/* Several nodes: the day is written only while this node holds the
	 * vendor's claim, and writing it renews the lease (claims.c).  A node
	 * that stalled past its lease finds the claim taken and writes nothing. */
	int rc;
	if (j->claim && !s->preview && (rc = rd_claim_hold(s->r, t, j->claim, rd_claim_real_ms())) < 0)
		return rc;
	/* A day swept in chunks goes on where its last chunk ended. */
	if (s->chunk_ms && !s->preview && !s->only && (rc = cursor_load(t, s)) < 0)
		return rc;
	/* Re-read the vendor in this transaction: a decision may have changed it. */
	rc = rd_entity_get(t, s->d->vendors, &rd_entity_vendor, 0, s->v.id, &s->v);
	if (rc >= 0)
		rc = rd_sweep_day(s, j->full);
	if (s->day_t) {
		/* every loop ends its actions: one left open is ended here, and an
		 * error that left it open stops the day (the day's transaction is
		 * thrown away with its child) */
		if (rc >= 0) {
			rc = rd_action_end(s, rc);
		} else {
			rd_txn_abort_child(s->t);
			s->t = s->day_t;
			s->day_t = NULL;
			s->acting[0] = 0;
		}
	}
	s->t = t;
	if (rc < 0)
		return rc;
	s->acting[0] = 0;
	if (s->preview)
		return 0;
	if ((s->n_skip || j->retry) && (rc = note_failures(j, t)) < 0)
		return rc;
	if (s->chunked)
		return cursor_save(t, s); /* the day goes on in the next chunk */
	if (s->deferred || j->retry)
		return 0; /* deferred: the day is swept again (each action once) */
	char key[48];
	if (s->at.set) {
		/* the day is done: its cursor goes (a day swept again, after a
		 * restore or by hand, starts from its beginning) */
		cursor_meta_key(s->v.id, key, sizeof key);
		if ((rc = rd_txn_meta_put(t, key, "", 0)) < 0)
			return rc;
	}
	sweep_meta_key(s->v.id, key, sizeof key);
	int32_t d = s->day;
	return rd_txn_meta_put(t, key, &d, 4);
}

/* Loads the vendor's margin policy for the sweep (a failure is noted on
 * every quote priced while it lasts). */
static void load_margin(struct rd_renew *r, struct sweep *s)
{
	struct rd_txn *t;
	s->margin = NULL;
	s->margin_error[0] = 0;
	if (rd_store_read(r->app->store, &t) < 0)
		return;
	if (rd_policy_margin(r->app->policies, t, r->app->domain, &s->v, &s->margin, s->margin_error,
			     sizeof s->margin_error) < 0)
		s->margin = NULL;
	rd_txn_end(t);
	/* The loop thread's share for this vendor's policy in this sweep: CPU
	 * time (a busy machine does not count against the policy), with a
	 * wall-clock backstop. */
	if (s->margin)
		rd_sandbox_limit_total(s->margin->sb, 2 * RD_SWEEP_POLICY_MS,
				       2 * RD_SWEEP_POLICY_MS * RD_SANDBOX_WALL_FACTOR);
}

/* Runs one day (or one retry) of j in its write transaction.  Nested, each
 * action runs in a child transaction of the day's (engine.c, rd_action_once
 * .. rd_action_end): one that fails is aborted alone and recorded as failed
 * in the day's transaction, and the day goes on, however many fail.  A
 * child costs a few microseconds (LMDB copies the pages it touches), so a
 * vendor with no failing actions runs its days flat, in the day's
 * transaction alone; when an action fails there, that run is thrown away
 * and the day run once more, nested (and the vendor's later days nest from
 * the start).  Only an error of the store or the machine
 * (rd_sweep_systemic), or one outside any action, stops the vendor's day
 * (it is swept again next time). */
static int write_day(struct rd_renew *r, struct day_job *j)
{
	struct sweep *s = &j->s;
	s->skip = NULL;
	s->n_skip = s->cap_skip = 0;
	j->nest = j->troubled || j->retry;
	s->cache_templates = true;
	int rc = rd_store_write(r->app->store, day_write, j);
	rd_sweep_templates_free(s); /* a new transaction may see another pack enabled */
	if (rc < 0 && !j->nest && s->acting[0] && !rd_sweep_systemic(rc)) {
		j->nest = j->troubled = true;
		rc = rd_store_write(r->app->store, day_write, j);
		rd_sweep_templates_free(s);
	}
	s->cache_templates = false;
	if (rc >= 0 && j->wrote_failures)
		rd_failures_count(r, s->v.id, j->n_failing);
	free(s->skip);
	s->skip = NULL;
	s->n_skip = s->cap_skip = 0;
	return rc;
}

/* Retries the vendor's failed actions, a day at a time (at most
 * RETRY_DAYS days and RETRY_KEYS actions a day in one sweep, the least
 * recently tried first). */
#define RETRY_DAYS 8
#define RETRY_KEYS 64
static int retry_failures(struct rd_renew *r, struct day_job *j)
{
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc < 0)
		return rc;
	json_t *list;
	rc = rd_failures_load(t, j->s.v.id, &list);
	rd_txn_end(t);
	if (rc < 0)
		return rc;
	rd_failures_count(r, j->s.v.id, (unsigned)json_array_size(list));
	j->troubled = json_array_size(list) > 0;
	char(*keys)[96] = json_array_size(list) ? rd_malloc(RETRY_KEYS * sizeof *keys) : NULL;
	int taken = 0;
	for (int days = 0; days < RETRY_DAYS && json_array_size(list); days++) {
		/* the day of the action tried least recently (the list runs from
		 * it: failures.c), and that day's actions in the same order, so
		 * that every failed action has its turn */
		rd_date day = (rd_date)json_integer_value(json_object_get(json_array_get(list, 0), "day"));
		size_t i, n = 0;
		json_t *e;
		for (i = 0; i < json_array_size(list);) {
			e = json_array_get(list, i);
			if ((rd_date)json_integer_value(json_object_get(e, "day")) != day) {
				i++;
				continue;
			}
			if (n < RETRY_KEYS)
				snprintf(keys[n++], sizeof *keys, "%s", json_string_value(json_object_get(e, "key")) ?: "");
			json_array_remove(list, i);
		}
		j->s.only = keys;
		j->s.n_only = n;
		j->s.day = day;
		j->s.now = rd_clock_now();
		j->full = false;
		j->retry = true;
		rc = write_day(r, j);
		j->retry = false;
		j->s.only = NULL;
		j->s.n_only = 0;
		if (rc == RD_ELOCKED && j->claim)
			break; /* another node's claim now (sweep_vendor says so) */
		if (rc < 0) {
			rd_log(RD_LOG_ERROR, "renew", "vendor %llu: the retry of failed actions failed: %s",
			       (unsigned long long)j->s.v.id, rd_strerror(rc));
			break;
		}
		taken += (int)j->s.taken;
	}
	free(keys);
	json_decref(list);
	return rc < 0 ? rc : taken;
}

/* Sweeps a vendor's days up to today.  Several nodes: each day in chunks
 * (day_write); from the timer (r->yield) the loop gets control back after
 * each chunk (*pending: the vendor's day goes on in the next turn, its
 * claim kept), otherwise the chunks follow one another here. */
static int sweep_vendor(struct rd_renew *r, const struct rd_vendor *v, rd_date today, const char *claim,
			bool *pending)
{
	struct day_job j = { .s = { .r = r, .d = r->app->domain, .v = *v }, .claim = claim };
	*pending = false;
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc < 0)
		return rc;
	bool none;
	rd_date last = last_swept(t, v->id, &none);
	rd_txn_end(t);
	rd_date from = none ? today : last + 1;
	if (today - from > CATCH_UP_MAX)
		from = today - CATCH_UP_MAX;
	int taken = 0;
	load_margin(r, &j.s);
	/* What failed in earlier sweeps first: retried as of its own day. */
	if ((rc = retry_failures(r, &j)) > 0)
		taken += rc;
	j.s.chunk_ms = claim ? r->app->config->sweep_chunk_ms : 0;
	for (rd_date day = from; day <= today; day++) {
		j.s.day = day;
		/* Records of a day caught up carry that day, not today. */
		j.s.now = day < today ? (uint64_t)day * 86400 + 12 * 3600 : rd_clock_now();
		j.full = none && day == from;
		if ((rc = write_day(r, &j)) == RD_ELOCKED && claim) {
			rd_log(RD_LOG_WARN, "renew", "vendor %llu: another node took over the sweep (this node's claim "
			       "ran out): this node stops", (unsigned long long)v->id);
			return rc;
		}
		if (rc < 0) {
			rd_log(RD_LOG_ERROR, "renew", "vendor %llu: the sweep of a day failed: %s", (unsigned long long)v->id,
			       rd_strerror(rc));
			return rc;
		}
		taken += (int)j.s.taken;
		if (j.s.chunked && !r->yield) {
			day--; /* the same day's next chunk */
			continue;
		}
		if (j.s.chunked) {
			r->resume = true;
			*pending = true;
			break;
		}
		if (j.s.deferred) {
			rd_log(RD_LOG_WARN, "renew", "vendor %llu: the margin policy took %llu ms of this sweep: the rest of "
			       "the vendor's work waits for the next turn of the loop", (unsigned long long)v->id,
			       (unsigned long long)(j.s.policy_ns / 1000000));
			r->resume = true;
			break;
		}
	}
	return taken;
}

void rd_renew_add_hook(struct rd_renew *r, rd_sweep_hook_fn fn)
{
	rd_require(r->n_hooks < RD_RENEW_HOOKS);
	r->hooks[r->n_hooks++] = fn;
}

static void on_sweep(uv_timer_t *t);

/* A sweep that left work for later sweeps again this soon. */
#define RESUME_MS 20

int rd_renew_sweep(struct rd_renew *r)
{
	rd_date today = rd_clock_today();
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc < 0)
		return rc;
	size_t n = 0, cap = 16;
	struct rd_vendor *vs = rd_malloc(cap * sizeof *vs);
	struct rd_iter it;
	struct rd_item item;
	rc = rd_iter_records(&it, t, r->app->domain->vendors, 0, 0);
	while (rc >= 0 && (rc = rd_iter_next(&it, &item)) > 0) {
		if (n == cap)
			vs = rd_realloc(vs, (cap *= 2) * sizeof *vs);
		/* A vendor the platform operator suspended is not swept (its
		 * links would open nothing); resumed, it catches up. */
		if (rd_entity_decode(&rd_entity_vendor, item.val, item.len, &vs[n]) == 0 && !vs[n].suspended)
			n++;
	}
	rd_iter_close(&it);
	rd_txn_end(t);
	int total = 0;
	/* From the timer, a round that gave the loop back in the middle of a
	 * vendor's day goes on with that vendor (the ones before it are done
	 * in this round); any other sweep is a whole round. */
	uint64_t from_vendor = r->yield ? r->resume_from : 0;
	r->resume_from = 0;
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		if (vs[i].id < from_vendor)
			continue;
		/* Several nodes: the vendor's work is done by the node that holds
		 * its claim (claims.c); the others pass it by until the claim is
		 * dropped or its lease runs out. */
		char claim[48];
		snprintf(claim, sizeof claim, "sweep:%llu", (unsigned long long)vs[i].id);
		bool claims = rd_claims_used(r);
		if (claims) {
			int c = rd_claim_take(r, claim);
			if (c == RD_ELOCKED && vs[i].id == from_vendor)
				rd_log(RD_LOG_WARN, "renew", "vendor %llu: another node took over the sweep (this node's "
				       "claim ran out between two chunks of a day): this node stops",
				       (unsigned long long)vs[i].id);
			if (c == RD_ELOCKED)
				continue;
			if (c < 0) {
				rd_log(RD_LOG_ERROR, "renew", "vendor %llu: the sweep's claim could not be taken: %s",
				       (unsigned long long)vs[i].id, rd_strerror(c));
				continue;
			}
		}
		uint64_t t0 = uv_hrtime();
		bool pending;
		int k = sweep_vendor(r, &vs[i], today, claims ? claim : NULL, &pending), taken = k > 0 ? k : 0;
		if (k == RD_ELOCKED && claims) {
			rd_renew_sweep_counted(r, &vs[i], (double)(uv_hrtime() - t0) / 1e9, 0, false);
			continue; /* the claim is another node's now: so are the hooks */
		}
		if (pending) {
			/* its day goes on in the next turn, the claim kept (each
			 * chunk renews its lease); the hooks run when it is done */
			total += taken;
			rd_renew_sweep_counted(r, &vs[i], (double)(uv_hrtime() - t0) / 1e9, taken, false);
			r->resume_from = vs[i].id;
			break;
		}
		/* The hooks are the claim's work too: its lease is renewed first,
		 * and a node that lost it (its lease ran out) leaves them to the
		 * node that has it. */
		int c = claims ? rd_claim_take(r, claim) : 0;
		if (c == RD_ELOCKED) {
			rd_log(RD_LOG_WARN, "renew", "vendor %llu: another node took over the sweep (this node's claim "
			       "ran out): this node stops", (unsigned long long)vs[i].id);
			rd_renew_sweep_counted(r, &vs[i], (double)(uv_hrtime() - t0) / 1e9, taken, false);
			total += taken;
			continue;
		}
		bool failed = k < 0;
		for (size_t h = 0; h < r->n_hooks; h++) {
			k = r->hooks[h](r->app, vs[i].id, today);
			if (k > 0) {
				taken += k;
			} else if (k < 0) {
				failed = true;
				rd_log(RD_LOG_ERROR, "renew", "vendor %llu: a sweep step failed: %s",
				       (unsigned long long)vs[i].id, rd_strerror(k));
			}
		}
		total += taken;
		rd_renew_sweep_counted(r, &vs[i], (double)(uv_hrtime() - t0) / 1e9, taken, failed);
		if (claims)
			rd_claim_drop(r, claim);
	}
	free(vs);
	if (r->resume) {
		/* some vendor's work waits: sweep again soon, after what else
		 * the loop has to do */
		r->resume = false;
		if (r->started) {
			/* RESUME_MS from now, the end of this turn: the loop's
			 * cached time is the turn's start, and a timer due from
			 * there would be due already (the loop would get one look
			 * at its sockets between two turns, and a reply that h2o
			 * finishes on a timer of its own would wait for the next
			 * turn too). */
			uv_update_time(r->app->loop);
			uv_timer_start(&r->sweep_timer, on_sweep, RESUME_MS, r->app->config->sched_interval_ms);
		}
	}
	if (total) {
		rd_log(RD_LOG_INFO, "renew", "sweep to %d: %d action(s)", today, total);
		rd_renew_kick(r);
	}
	return rc < 0 ? rc : total;
}

static void on_sweep(uv_timer_t *t)
{
	struct rd_renew *r = t->data;
	r->yield = true; /* several nodes: the loop gets control back between a day's chunks */
	rd_renew_sweep(r);
	r->yield = false;
}

void rd_renew_start(struct rd_renew *r)
{
	uv_timer_init(r->app->loop, &r->sweep_timer);
	r->sweep_timer.data = r;
	uv_timer_start(&r->sweep_timer, on_sweep, 0, r->app->config->sched_interval_ms);
	rd_renew_mail_start(r);
	r->started = true;
}

void rd_renew_stop(struct rd_renew *r)
{
	if (!r->started)
		return;
	uv_timer_stop(&r->sweep_timer);
	uv_close((uv_handle_t *)&r->sweep_timer, NULL);
	if (r->resume_from && rd_claims_used(r)) {
		/* stopping in the middle of a vendor's day: its claim is given
		 * back, so that another node goes on from the last chunk at once
		 * instead of waiting out the lease */
		char claim[48];
		snprintf(claim, sizeof claim, "sweep:%llu", (unsigned long long)r->resume_from);
		rd_claim_drop(r, claim);
		r->resume_from = 0;
	}
	rd_renew_mail_stop(r);
	r->started = false;
}

/* ---- preview ------------------------------------------------------------------------ */

struct preview {
	struct day_job j;
	rd_date from, to;
	bool none;
};

static int preview_write(struct rd_txn *t, void *arg)
{
	struct preview *p = arg;
	json_array_clear(p->j.s.preview); /* (a replay after the map grew starts over) */
	for (rd_date day = p->from; day <= p->to; day++) {
		p->j.s.day = day;
		p->j.s.now = (uint64_t)day * 86400;
		p->j.full = p->none && day == p->from;
		int rc = day_write(t, &p->j);
		if (rc < 0)
			return rc;
		/* The next simulated day starts from this one's effects. */
		char key[48];
		sweep_meta_key(p->j.s.v.id, key, sizeof key);
		int32_t d = day;
		if ((rc = rd_txn_meta_put(t, key, &d, 4)) < 0)
			return rc;
	}
	return RD_EDECLINED; /* a dry run: throw it all away */
}

int rd_renew_preview(struct rd_renew *r, uint64_t vendor, int days, json_t **out)
{
	struct preview *p = rd_calloc(1, sizeof *p);
	p->j.s.r = r;
	p->j.s.d = r->app->domain;
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc < 0) {
		free(p);
		return rc;
	}
	rc = rd_entity_get(t, r->app->domain->vendors, &rd_entity_vendor, 0, vendor, &p->j.s.v);
	rd_date last = last_swept(t, vendor, &p->none);
	rd_txn_end(t);
	if (rc < 0) {
		free(p);
		return rc;
	}
	rd_date today = rd_clock_today();
	p->from = p->none ? today : last + 1;
	p->to = today + days;
	load_margin(r, &p->j.s);
	p->j.s.preview = json_array();
	/* An action that fails is left out of the preview as the sweep leaves
	 * it out of its day (write_day): its child transaction aborted and its
	 * entries dropped (rd_action_end); the rest is still shown. */
	rc = rd_store_write(r->app->store, preview_write, p);
	free(p->j.s.skip);
	p->j.s.skip = NULL;
	if (rc == RD_EDECLINED)
		rc = 0;
	*out = rc == 0 ? p->j.s.preview : NULL;
	if (rc < 0)
		json_decref(p->j.s.preview);
	free(p);
	return rc;
}

/* ---- what people do ------------------------------------------------------------------------ */

struct decision {
	struct sweep s;
	uint64_t opportunity, user;
	uint8_t publish;
	char *why;
	size_t whylen;
};

static int decide_write(struct rd_txn *t, void *arg)
{
	struct decision *d = arg;
	struct sweep *s = &d->s;
	s->t = t;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	int rc = rd_entity_get(t, s->d->opportunities, &rd_entity_opportunity, s->v.id, d->opportunity, o);
	if (rc < 0)
		goto out;
	if (o->state != RD_OPP_PENDING_DECISION) {
		snprintf(d->why, d->whylen, "the opportunity is no longer awaiting a decision");
		rc = RD_EINVAL;
		goto out;
	}
	json_t *before = rd_entity_to_json(&rd_entity_opportunity, o);
	char key[64];
	snprintf(key, sizeof key, "decision:%llu", (unsigned long long)o->id);
	if ((rc = rd_action_once(s, key)) < 0 || (rc = rd_publish(s, o, d->publish, false)) < 0) {
		json_decref(before);
		goto out;
	}
	json_t *after = rd_entity_to_json(&rd_entity_opportunity, o);
	rc = rd_audit_write(t, s->d, s->v.id, d->user, RD_AUDIT_UPDATE, "opportunities", o->id, before, after,
			    d->publish == RD_PUBLISH_PARTNER ? "decision: publish-partner" : "decision: publish-vendor");
	json_decref(before);
	json_decref(after);
out:
	free(o);
	return rc;
}

int rd_renew_decide(struct rd_renew *r, uint64_t vendor, uint64_t user, uint64_t opportunity, uint8_t publish,
		    char *why, size_t whylen)
{
	struct decision *d = rd_calloc(1, sizeof *d);
	d->s.r = r;
	d->s.d = r->app->domain;
	d->s.day = rd_clock_today();
	d->s.now = rd_clock_now();
	d->opportunity = opportunity;
	d->user = user;
	d->publish = publish;
	d->why = why;
	d->whylen = whylen;
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc == 0) {
		rc = rd_entity_get(t, r->app->domain->vendors, &rd_entity_vendor, 0, vendor, &d->s.v);
		rd_txn_end(t);
	}
	if (rc == 0)
		rc = rd_store_write(r->app->store, decide_write, d);
	free(d);
	if (rc == 0)
		rd_renew_kick(r);
	return rc;
}

struct request {
	struct sweep s;
	struct rd_task task;
};

static int request_write(struct rd_txn *t, void *arg)
{
	struct request *q = arg;
	struct sweep *s = &q->s;
	s->t = t;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	int rc = rd_entity_get(t, s->d->opportunities, &rd_entity_opportunity, s->v.id, q->task.opportunity_id, o);
	if (rc < 0 || o->customer_id != q->task.customer_id) {
		free(o);
		return rc < 0 ? rc : RD_ENOTFOUND;
	}
	/* Who acts: the reseller when it sells or when the customer asks for it;
	 * otherwise the vendor's renewals team. */
	bool partner = q->task.kind == RD_TASK_CONTACT_RESELLER || o->publish == RD_PUBLISH_PARTNER;
	q->task.partner_id = partner ? o->reseller_id : 0;
	q->task.created_at = s->now;
	q->task.id = 0;
	if ((rc = rd_entity_put(t, s->d->tasks, &rd_entity_task, s->v.id, &q->task, 0)) < 0) {
		free(o);
		return rc;
	}
	snprintf(s->ref, sizeof s->ref, "task:%llu", (unsigned long long)q->task.id);
	const char *to = s->v.notify_email;
	struct rd_partner p;
	if (partner && rd_entity_get(t, s->d->partners, &rd_entity_partner, s->v.id, o->reseller_id, &p) == 0)
		to = p.email;
	free(o);
	return rd_notify_task(s, &q->task, to);
}

int rd_renew_customer_action(struct rd_renew *r, uint64_t vendor, uint64_t customer, uint64_t opportunity,
			     uint8_t kind, const char *message, uint64_t *task_id)
{
	struct request *q = rd_calloc(1, sizeof *q);
	q->s.r = r;
	q->s.d = r->app->domain;
	q->s.day = rd_clock_today();
	q->s.now = rd_clock_now();
	q->task.kind = kind;
	q->task.customer_id = customer;
	q->task.opportunity_id = opportunity;
	snprintf(q->task.message, sizeof q->task.message, "%s", message ? message : "");
	struct rd_txn *t;
	int rc = rd_store_read(r->app->store, &t);
	if (rc == 0) {
		rc = rd_entity_get(t, r->app->domain->vendors, &rd_entity_vendor, 0, vendor, &q->s.v);
		rd_txn_end(t);
	}
	if (rc == 0)
		rc = rd_store_write(r->app->store, request_write, q);
	*task_id = q->task.id;
	free(q);
	if (rc == 0)
		rd_renew_kick(r);
	return rc;
}
