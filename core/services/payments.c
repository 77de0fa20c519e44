/*
 * payments.c: recording a payment, and the capture that follows it
 * (payments.h).  The API's handler is core/api/orders.c.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "domain/audit.h"
#include "plugin/host.h"
#include "services/orders.h"
#include "services/payments.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

int rd_payment_record_in(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, int64_t amount,
			 const char *reference, struct rd_payment_answer *a)
{
	uint64_t v = who->vendor;
	a->unchanged = false;
	a->err = (struct rd_serr){ 0 };
	if (amount <= 0)
		return rd_serr_set(&a->err, RD_EINVAL, "invalid", "amount", "amount is a positive whole number of minor units");
	if (!rd_order_text_ok(reference, sizeof a->order.paid_reference))
		return rd_serr_set(&a->err, RD_EINVAL, "invalid", "reference",
				   "reference is text of 1-127 bytes, without control characters");
	int rc = id ? rd_entity_get(t, d->orders, &rd_entity_order, v, id, &a->order) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND)
		return rd_serr_set(&a->err, RD_ENOTFOUND, "not_found", "id", "no such order");
	if (rc < 0)
		return rc;
	if (a->order.paid_reference[0]) { /* recorded already: the same payment again changes nothing */
		if (!strcmp(a->order.paid_reference, reference)) {
			a->unchanged = true;
			return 0;
		}
		return rd_serr_set(&a->err, RD_EEXISTS, "conflict", "reference",
				   "this order is paid already, under another reference");
	}
	if (a->order.state != RD_ORDER_AWAITING_PAYMENT)
		return rd_serr_set(&a->err, RD_EEXISTS, "conflict", "id", "only an order awaiting payment can be paid");
	if (amount != a->order.total)
		return rd_serr_set(&a->err, RD_ERANGE, "amount_mismatch", "amount",
				   "the amount must be the order's total exactly");
	struct rd_order before = a->order;
	a->order.state = RD_ORDER_PAID;
	a->order.paid_at = rd_clock_now();
	a->order.paid_amount = amount;
	snprintf(a->order.paid_reference, sizeof a->order.paid_reference, "%s", reference);
	if ((rc = rd_entity_put(t, d->orders, &rd_entity_order, v, &a->order, 0)) < 0 ||
	    (rc = rd_order_audit(t, d, v, who->user, RD_AUDIT_UPDATE, &before, &a->order, "payment recorded")) < 0)
		return rc;
	return rd_order_fulfil(t, d, v, who->user, &a->order);
}

struct recording {
	struct rd_domain *d;
	const struct rd_actor *who;
	uint64_t id;
	int64_t amount;
	const char *reference;
	struct rd_payment_answer *a;
};

static int record_write(struct rd_txn *t, void *arg)
{
	struct recording *r = arg;
	int rc = rd_payment_record_in(t, r->d, r->who, r->id, r->amount, r->reference, r->a);
	if (rc < 0 && r->a->err.code)
		return RD_EDECLINED; /* a refusal: nothing of it is written */
	return rc == 0 && r->a->unchanged ? RD_EDECLINED : rc; /* nothing to commit */
}

int rd_payment_record(struct rd_app *app, const struct rd_actor *who, uint64_t id, int64_t amount, const char *reference,
		      struct rd_payment_answer *a)
{
	struct recording r = { app->domain, who, id, amount, reference, a };
	int rc = rd_store_write(app->store, record_write, &r);
	if (rc == RD_EDECLINED && a->unchanged)
		return 0;
	if (rc == RD_EDECLINED && a->err.code)
		return a->err.rc;
	if (rc < 0) {
		a->err = (struct rd_serr){ .rc = rc };
		return rc;
	}
	rd_payment_capture(app, who, &a->order);
	return 0;
}

/* ---- capture -------------------------------------------------------------------------------- */

/* Shared by the pool and the loop. */
struct capture_call {
	atomic_int refs;
	char reference[128], currency[4], number[24];
	int64_t amount;
};

static void capture_unref(struct capture_call *k)
{
	if (atomic_fetch_sub(&k->refs, 1) == 1)
		free(k);
}

static int capture_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct capture_call *k = arg;
	const struct rd_payment_ops *ops = desc->ops;
	int rc = 0;
	if (desc->kind == RD_PLUGIN_PAYMENT && ops && ops->capture) {
		struct rd_payment_result res = { 0 };
		rc = ops->capture(ctx, k->reference, k->amount, k->currency, &res);
	}
	capture_unref(k);
	return rc;
}

static void capture_done(int rc, const char *message, void *arg)
{
	struct capture_call *k = arg;
	if (rc < 0)
		rd_log(RD_LOG_WARN, "orders", "order %s: the payment plugin's capture failed: %s", k->number, message);
	capture_unref(k);
}

void rd_payment_capture(struct rd_app *app, const struct rd_actor *who, const struct rd_order *o)
{
	struct rd_loaded *l = rd_plugins_find(app->plugins, o->payment_plugin);
	struct rd_txn *t;
	if (!l || !o->payment_ref[0] || rd_store_read(app->store, &t) < 0)
		return;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	int rc = rd_enablement_find(t, app->domain, who->vendor, o->payment_plugin, o->reseller_id, e);
	rd_txn_end(t);
	struct capture_call *k = rd_calloc(1, sizeof *k);
	atomic_init(&k->refs, 2);
	snprintf(k->reference, sizeof k->reference, "%s", o->payment_ref);
	snprintf(k->number, sizeof k->number, "%s", o->number);
	memcpy(k->currency, o->currency, sizeof k->currency);
	k->amount = o->paid_amount;
	if (rc < 0 || rd_plugins_call(app->plugins, l, who->vendor, o->reseller_id, e->config, RD_ORDER_PLUGIN_TIMEOUT_MS,
				      capture_run, capture_done, k) < 0) {
		rd_log(RD_LOG_WARN, "orders", "order %s: the payment plugin was not told of the payment", o->number);
		free(k);
	}
	free(e);
}
