/*
 * renew.h: the renewal engine.  A scheduler on the loop sweeps each vendor
 * day by day (catching up after downtime): it prices a quote when a
 * contract enters the renewal window, applies the vendor's default when a
 * partner does not decide in time, sends the customer notice and the
 * reminders, marks expiry, and sends the weekly partner digests.  Every
 * action has an idempotency key written in the transaction of its effect,
 * and every message goes to the outbox in that same transaction; a
 * delivery worker sends the outbox by SMTP or into a mail folder.
 */
#ifndef RD_RENEW_RENEW_H
#define RD_RENEW_RENEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/date.h"
#include "domain/money.h"

struct rd_app;
struct rd_renew;
struct rd_txn;

struct rd_renew *rd_renew_new(struct rd_app *app);
void rd_renew_free(struct rd_renew **r);
/* Starts the sweep timer and the outbox delivery (loop thread). */
void rd_renew_start(struct rd_renew *r);
/* Stops both; deliveries in flight finish on their own. */
void rd_renew_stop(struct rd_renew *r);
bool rd_renew_busy(const struct rd_renew *r);

/* A time-based step of a higher layer (a deal registration's expiry) that
 * each sweep runs for each vendor after the renewal actions: main()
 * registers it, so the engine never calls services.  It returns the
 * actions it took (it must be idempotent) or a negative code, which is
 * logged.  At most RD_RENEW_HOOKS. */
typedef int (*rd_sweep_hook_fn)(struct rd_app *app, uint64_t vendor, rd_date today);
#define RD_RENEW_HOOKS 4
void rd_renew_add_hook(struct rd_renew *r, rd_sweep_hook_fn fn);

/* Sweeps every vendor up to today; returns the number of actions taken. */
int rd_renew_sweep(struct rd_renew *r);
/* Asks the delivery worker to look at the outbox now. */
void rd_renew_kick(struct rd_renew *r);

/* Every action due in the next `days` days for a vendor, without taking
 * any: [{day, key, kind, opportunity_id?, contract_id?, partner_id?, to?}] */
int rd_renew_preview(struct rd_renew *r, uint64_t vendor, int days, json_t **out);

/* The partner's (or the vendor's) publish decision on an opportunity:
 * sends the customer notice.  RD_EINVAL with why when the state forbids. */
int rd_renew_decide(struct rd_renew *r, uint64_t vendor, uint64_t user, uint64_t opportunity, uint8_t publish,
		    char *why, size_t whylen);

/* A customer's action from the portal link: creates a task and tells the
 * responsible people. */
int rd_renew_customer_action(struct rd_renew *r, uint64_t vendor, uint64_t customer, uint64_t opportunity,
			     uint8_t kind, const char *message, uint64_t *task_id);

/* The vendor's sweep actions that failed and wait for the next sweep:
 * [{key, kind, record?: {type, id}, day, error, attempts, first_at,
 * last_at}], the least recently tried first. */
int rd_renew_failures(struct rd_renew *r, uint64_t vendor, json_t **out);
/* How many actions are failing now, over all vendors (and in how many
 * vendors): what /healthz and /metrics report, read without the store. */
unsigned rd_renew_failing(const struct rd_renew *r, unsigned *vendors);

/* ---- what /metrics and /healthz read (loop thread, no store) ---- */

/* The delivery worker since start.  failing_since_ms: real time of the
 * first failed attempt since the last delivered message (0: the last
 * attempt delivered, or none failed yet). */
struct rd_mail_stats {
	uint64_t attempts_ok, attempts_failed;
	uint64_t failing_since_ms, last_success_ms, last_failure_ms;
};
void rd_renew_mail_stats(const struct rd_renew *r, struct rd_mail_stats *out);

/* The outbox now, read in t: queued messages, those of them whose last
 * attempt failed, the most attempts of one, and the age of the oldest
 * (business clock; 0 when none is queued).  A scrape reads at most
 * RD_OUTBOX_SCAN_MAX messages (about 15 us each, measured): past that the
 * figures are lower bounds and truncated is set. */
#define RD_OUTBOX_SCAN_MAX 20000
struct rd_outbox_stats {
	uint64_t queued, failing, max_attempts;
	double oldest_age_s;
	bool truncated;
};
/* A message queued as templates' version and parameters (notify.c) gets
 * its text and HTML rendered into m, the bytes rendering at queue time gave;
 * a message stored rendered is left as it is.  0, or an error with a
 * sentence in err (its templates are not in the store, its parameters do
 * not read). */
struct rd_message;
struct rd_txn;
int rd_message_render(struct rd_renew *r, struct rd_txn *t, struct rd_message *m, char *err, size_t errlen);

int rd_renew_outbox_stats(struct rd_renew *r, struct rd_txn *t, struct rd_outbox_stats *out);

/* The scheduler, per vendor swept since start (real times in ms). */
struct rd_sweep_stat {
	uint64_t vendor;
	char slug[64];
	uint64_t last_ms;          /* when its last sweep ended; 0: none yet */
	double last_seconds;       /* how long that sweep took */
	uint64_t actions;          /* actions taken since start */
	uint64_t errors;           /* sweeps that failed (a day or a step could not be swept) since start */
	unsigned failing;          /* its failed actions waiting for a retry, after its last sweep */
	bool last_failed;          /* its last sweep failed, or left failed actions */
	uint64_t failing_since_ms; /* the end of the first sweep of the current failing run; 0: not failing */
};
size_t rd_renew_sweep_stats(const struct rd_renew *r, const struct rd_sweep_stat **out);

#endif
