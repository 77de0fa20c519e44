/* internal.h: what the renewal engine's files share. */
#ifndef RD_RENEW_INTERNAL_H
#define RD_RENEW_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "domain/app.h"
#include "domain/model.h"
#include "policy/policy.h"
#include "renew/renew.h"

struct rd_renew {
	struct rd_app *app;
	uv_timer_t sweep_timer, mail_timer;
	bool started;
	bool resume;             /* a sweep left work for the next turn: sweep again soon */
	/* Several nodes: a day's sweep in chunks (sched.c).  yield: this sweep
	 * runs from the timer and gives the loop back between chunks; resume_from:
	 * the vendor whose day is part done (the vendors before it are done in
	 * this round), 0 when none. */
	bool yield;
	uint64_t resume_from;
	/* delivery */
	bool delivering;         /* a batch is on the thread pool */
	bool kick_pending;       /* kicked while a batch was out: collect again when it ends */
	bool server_down;        /* the last attempt could not reach the mail server (mail.c) */
	unsigned busy;
	char maildir[4096];
	char base_url[512];
	/* e-mail templates, parsed once: the branding packs' texts live as
	 * long as the process (plugins are not unloaded while it runs) */
	struct parsed_template *templates;
	size_t n_templates, cap_templates;
	uv_mutex_t templates_lock;
	/* the template versions messages were queued with, read from the store
	 * (notify.c: rendered at send time); under templates_lock */
	struct kept_template **kept;
	size_t n_kept, cap_kept;
	struct template_pair *versions; /* the version of each pack's (text, HTML) pair, hashed once */
	size_t n_versions, cap_versions;
	/* Sweep actions failing, per vendor (failures.c), as last written: what
	 * /healthz, /metrics and the console read without a transaction. */
	struct rd_failing { uint64_t vendor; unsigned n; } *failing;
	size_t n_failing, cap_failing;
	/* What /metrics and /healthz read (sched.c, mail.c): */
	struct rd_mail_stats mail_stats;
	struct rd_sweep_stat *sweep_stats;
	size_t n_sweep_stats, cap_sweep_stats;
	rd_sweep_hook_fn hooks[RD_RENEW_HOOKS]; /* rd_renew_add_hook */
	size_t n_hooks;
	char node[128];          /* this node's id in claims (claims.c) */
	struct rd_table *action_keys; /* several nodes: actions' keys by their hash (claims.c); NULL on LMDB */
};

/* An action of a vendor-day that failed: aborted alone, recorded, left out
 * of the rest of the day. */
struct sweep_skip {
	char key[96];
	char error[240];
};

struct template_pair {
	const char *txt;
	size_t tl;
	const char *html;
	size_t hl;
	char version[33];
};

struct parsed_template {
	const char *src; /* the pack's text: the key, with len */
	size_t len;
	struct rd_mustache *m;
};

/* The longest index key a sweep's cursor keeps (sched.c): a walk over
 * longer keys starts over in each chunk (safe: each action once). */
#define RD_SWEEP_CURSOR_KEY 24

/* One vendor-day's sweep, inside its write transaction. */
struct sweep {
	struct rd_renew *r;
	struct rd_txn *t;
	struct rd_domain *d;
	struct rd_vendor v;
	rd_date day;
	uint64_t now;            /* business time for records */
	struct rd_margin_policy *margin; /* NULL when the active policy cannot load */
	char margin_error[300];
	/* The vendor's policy in this sweep (it runs on the loop thread): */
	uint64_t policy_ns;      /* time spent in its calls */
	unsigned policy_failures; /* quotes it failed on */
	uint64_t policy_failed_on; /* the contract whose quote it failed on last */
	char policy_stopped[300]; /* non-empty: not called again in this sweep, the reason */
	bool deferred;           /* its share of the sweep is used: the rest waits for the next turn */
	json_t *preview;         /* non-NULL: a dry run, collect what happens */
	bool cache_templates;    /* the day's sweep (write_day): the pack's templates looked up once per partner and kind */
	struct tmpl_cache *templates; /* notify.c; freed by rd_sweep_templates_free */
	int reminder_offset;
	char ref[96];            /* the action taken last: the ref of the messages it sends */
	unsigned taken, scanned;
	/* One failing action never stops the day (sched.c): */
	char acting[96];          /* the action in progress (the outermost one), "" between actions */
	char why[200];            /* what failed in it, when the code that failed says */
	bool nest;                /* each action in a child transaction of its own (the sweep, the preview) */
	struct rd_txn *day_t;     /* while an action's child is open: the day's transaction (s->t is the child) */
	unsigned taken_before;    /* s->taken, and the preview's length, when the action began */
	size_t preview_before;
	struct sweep_skip *skip;  /* actions that failed in this day: left out of the rest of it */
	size_t n_skip, cap_skip;
	char (*only)[96];         /* a retry of failed actions: only these are taken */
	size_t n_only;
	/* Several nodes: the day in chunks, each its own write transaction
	 * (sched.c, day_write).  A chunk ends after the contract in progress
	 * once it has run chunk_ms; where it ended (at) is written with it, in
	 * the store ("sweep_at:VENDOR"), and the next chunk goes on from there:
	 * the walks of contracts before at.walk are done, the one at at.walk
	 * goes on after the contract at.key/at.id. */
	uint64_t chunk_ms;        /* 0: the day in one transaction (LMDB, previews, retries) */
	uint64_t chunk_t0;        /* when this chunk began (uv_hrtime) */
	bool chunked;             /* this chunk is full: the day goes on in the next one */
	unsigned walk;            /* the walks of contracts in this run of the day, counted */
	struct sweep_cursor {
		bool set;
		rd_date day;
		uint32_t walk;
		uint64_t id;
		uint8_t key[RD_SWEEP_CURSOR_KEY];
		uint8_t klen;
	} at;
};

/* True when the action with this key is left out of this run of the day
 * (it failed in it, or the run retries other actions only). */
bool rd_action_excluded(const struct sweep *s, const char *key);

/* The delivery worker's counters (stats.c): one attempt's outcome. */
void rd_renew_mail_counted(struct rd_renew *r, bool delivered, uint64_t now_ms);
/* The scheduler's (stats.c): one vendor's sweep ended, after seconds, with
 * actions taken; failed: it could not sweep a day or a step. */
void rd_renew_sweep_counted(struct rd_renew *r, const struct rd_vendor *v, double seconds, int actions, bool failed);

/* Failed actions (failures.c), kept per vendor in the store: */
int rd_failures_load(struct rd_txn *t, uint64_t vendor, json_t **out);
int rd_failures_save(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, json_t *list);
/* Records a failure of key (attempts counted); removes one. */
void rd_failures_note(json_t *list, const char *key, rd_date day, const char *error, uint64_t now);
void rd_failures_drop(json_t *list, const char *key);
void rd_failures_count(struct rd_renew *r, uint64_t vendor, unsigned n);

/* A vendor's margin policy in one sweep, on the loop thread: after it
 * failed on this many quotes it is not called again in that sweep (the
 * remaining quotes wait for attention); once its calls have taken
 * RD_SWEEP_POLICY_MS, the vendor's remaining contracts wait for the next
 * turn of the loop (the quote in progress is finished); and its calls
 * together never run past twice that (a call still running then is
 * stopped). */
#define RD_SWEEP_POLICY_FAILURES 3
#define RD_SWEEP_POLICY_MS 25
int rd_action_once(struct sweep *s, const char *key);
/* Ends the action in progress (if any) with its result rc, where the
 * sweep's loops go on to the next one.  Nested (s->nest): rc >= 0 commits
 * the action's child transaction; an error aborts it, undoes what the
 * action changed in *s (s->taken, the preview's entries), records the
 * action as failed (s->skip) and returns 0: the day goes on.  A systemic
 * error (rd_sweep_systemic) is returned: it stops the day.  Without an
 * action in progress, rc is returned as it is. */
int rd_action_end(struct sweep *s, int rc);
/* Errors of the store or the machine, not of one action. */
bool rd_sweep_systemic(int rc);

/* Claims (claims.c): shared work done by one node at a time on a store
 * several nodes share; not used on LMDB (one process). */
uint64_t rd_claim_real_ms(void);
bool rd_claims_used(const struct rd_renew *r);
void rd_claims_init(struct rd_renew *r);
/* Takes or renews the claim NAME in t for claim_lease_ms from now_ms;
 * RD_ELOCKED while another node's lease runs. */
int rd_claim_hold(struct rd_renew *r, struct rd_txn *t, const char *name, uint64_t now_ms);
int rd_claim_release(struct rd_renew *r, struct rd_txn *t, const char *name);
/* The same, each in a write transaction of its own (0 on LMDB). */
int rd_claim_take(struct rd_renew *r, const char *name);
void rd_claim_drop(struct rd_renew *r, const char *name);
/* Several nodes: an action's key held by the primary key of the table
 * action_keys (tenant, hash of the key).  rd_action_key_taken: 1 when the
 * key is there; rd_action_key_hold: records it in t, RD_EEXISTS when it is
 * there already.  Both do nothing (0) on LMDB. */
int rd_action_key_taken(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, const char *key);
int rd_action_key_hold(struct rd_renew *r, struct rd_txn *t, uint64_t vendor, const char *key);
int rd_opportunity_of(struct sweep *s, uint64_t contract, struct rd_opportunity *o);
int rd_sweep_day(struct sweep *s, bool full_window);
int rd_publish(struct sweep *s, struct rd_opportunity *o, uint8_t publish, bool by_default);

/* Messages (notify.c): each renders the branding pack's templates and
 * queues the message in the sweep's transaction. */
int rd_notify_quote(struct sweep *s, const struct rd_opportunity *o, const struct rd_partner *res,
		    const struct rd_customer *c, const struct rd_product *p, const struct rd_contract *k);
int rd_notify_pullback(struct sweep *s, const struct rd_opportunity *o, uint8_t mode);
/* k: the opportunity's contract when the caller has it read (else NULL). */
int rd_notify_customer(struct sweep *s, const struct rd_opportunity *o, const char *kind, int days_left,
		       const struct rd_contract *k);
int rd_digests(struct sweep *s);
/* A payment reminder for an order on terms, days_left before its due date
 * (negative: overdue), to the customer. */
int rd_notify_payment(struct sweep *s, const struct rd_order *o, int days_left);
int rd_notify_task(struct sweep *s, const struct rd_task *task, const char *to);
/* Frees the templates a sweep looked up (notify.c; write_day, between transactions). */
void rd_sweep_templates_free(struct sweep *s);
/* Frees the kept template versions (notify.c; at rd_renew_free). */
void rd_renew_kept_free(struct rd_renew *r);

/* Queues one message with the context ctx (a typed tree in a: template/tval.h;
 * the message's "subject" is set in it). */
struct rd_tv;
struct rd_tv_arena;
int rd_queue_message(struct sweep *s, const char *kind, const char *to, struct rd_tv_arena *a, struct rd_tv *ctx,
		     uint64_t opportunity, uint64_t partner, uint64_t customer);

/* Commission statements (statements.c): the month before, on the vendor's
 * statement day; the e-mail (notify.c). */
struct rd_statement_total;
int rd_statements(struct sweep *s);
int rd_notify_statement(struct sweep *s, const struct rd_partner *p, const struct rd_statement *st,
			const struct rd_statement_total *totals, size_t n_totals);

#endif
