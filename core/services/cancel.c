/*
 * cancel.c: cancelling an order that has not been paid (cancel.h).  The
 * API's handler is core/api/orders.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "domain/expiry.h"
#include "services/cancel.h"
#include "services/orders.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"

static const char *state_name(uint8_t state)
{
	switch (state) {
	case RD_ORDER_PAID: return "paid";
	case RD_ORDER_FAILED: return "failed";
	case RD_ORDER_CANCELLED: return "cancelled";
	case RD_ORDER_FULFILLED: return "fulfilled";
	case RD_ORDER_REFUNDED: return "refunded";
	default: return "settled";
	}
}

/* The order's contract, held as renewal_ordered while the order awaited
 * payment: nothing holds it now.  Its end passed (the sweep held it the
 * day after): it expires now by the sweep's own rule (domain/expiry.h),
 * audited, and the sweep's overdue reminders go on from their next point;
 * its end not passed (moved since): it is live again, and the sweep
 * expires it after its end as any other. */
static int release_contract(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who,
			    const struct rd_order *n, const char *note)
{
	uint64_t v = who->vendor;
	struct rd_opportunity *o = rd_malloc(sizeof *o);
	int rc = rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, n->opportunity_id, o);
	struct rd_contract k, before;
	if (rc == 0)
		rc = rd_entity_get(t, d->contracts, &rd_entity_contract, v, o->contract_id, &k);
	free(o);
	if (rc == RD_ENOTFOUND)
		return 0; /* a dangling order: nothing is held */
	if (rc < 0 || k.status != RD_CONTRACT_ORDERED)
		return rc;
	if (k.end < (rd_date)rd_clock_today())
		return rd_contract_expire(t, d, v, who->user, &k, note);
	before = k;
	k.status = RD_CONTRACT_LIVE;
	return rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, who->user, &before, &k, 0, note);
}

int rd_order_cancel_in(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id,
		       const char *reason, struct rd_cancel_answer *a)
{
	uint64_t v = who->vendor;
	a->err = (struct rd_serr){ 0 };
	if (who->partner || who->portal)
		return rd_serr_set(&a->err, -EACCES, "forbidden", NULL, "only the vendor's people cancel orders");
	if (!reason || !rd_order_text_ok(reason, 128))
		return rd_serr_set(&a->err, RD_EINVAL, "invalid", "reason",
				   "reason is text of 1-127 bytes, without control characters");
	int rc = id ? rd_entity_get(t, d->orders, &rd_entity_order, v, id, &a->order) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(&a->err, RD_ENOTFOUND, "not_found", "id", "no such order");
	if (rc < 0)
		return rc;
	struct rd_order *n = &a->order, before = *n;
	if (n->state != RD_ORDER_CREATED && n->state != RD_ORDER_AWAITING_PAYMENT)
		return rd_serr_set(&a->err, RD_EEXISTS, "conflict", "id",
				   "order %s is %s: only an order not yet paid (created or awaiting payment) can be "
				   "cancelled", n->number, state_name(n->state));
	char note[160];
	snprintf(note, sizeof note, "cancelled: %s", reason);
	n->state = RD_ORDER_CANCELLED;
	snprintf(n->payment_message, sizeof n->payment_message, "%s", note);
	if ((rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, v, who->user, &before, n, 0, note)) < 0)
		return rc;
	return release_contract(t, d, who, n, note);
}

struct cancelling {
	struct rd_domain *d;
	const struct rd_actor *who;
	uint64_t id;
	const char *reason;
	struct rd_cancel_answer *a;
};

static int cancel_write(struct rd_txn *t, void *arg)
{
	struct cancelling *c = arg;
	int rc = rd_order_cancel_in(t, c->d, c->who, c->id, c->reason, c->a);
	return rc < 0 && c->a->err.code ? RD_EDECLINED : rc; /* a refusal: nothing of it is written */
}

int rd_order_cancel(struct rd_app *app, const struct rd_actor *who, uint64_t id, const char *reason,
		    struct rd_cancel_answer *a)
{
	struct cancelling c = { app->domain, who, id, reason, a };
	int rc = rd_store_write(app->store, cancel_write, &c);
	if (rc == RD_EDECLINED && a->err.code)
		return a->err.rc;
	if (rc < 0) {
		a->err = (struct rd_serr){ .rc = rc };
		return rc;
	}
	return 0;
}
