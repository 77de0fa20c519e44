/*
 * refunds.c: refunding a paid order through its payment plugin, then
 * undoing the sale in one transaction (refunds.h).  The API's handler is
 * core/api/orders.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/host.h"
#include "services/commissions.h"
#include "services/orders.h"
#include "domain/events.h"
#include "services/refunds.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

/* Shared by the pool and the loop. */
struct refunding {
	atomic_int refs;
	struct rd_app *app;
	struct rd_actor who;
	uint64_t id;
	int64_t amount;           /* asked: 0 for in full */
	char reason[128];
	char reference[128], currency[4], number[24];
	int64_t paid;             /* what the plugin pays back */
	rd_refund_done_fn done;
	void *arg;
	struct rd_refund_answer ans;
};

static void refund_unref(struct refunding *r)
{
	if (atomic_fetch_sub(&r->refs, 1) == 1)
		free(r);
}

/* The order as it must be to be refunded (in t): 0, RD_EDECLINED with the
 * refusal in r->ans.err (or refunded already: r->ans.err.rc 0), or the
 * store's error. */
static int refundable(struct rd_txn *t, struct refunding *r)
{
	struct rd_order *o = &r->ans.order;
	int rc = r->id ? rd_entity_get(t, r->app->domain->orders, &rd_entity_order, r->who.vendor, r->id, o) : RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND) {
		rd_serr_set(&r->ans.err, RD_ENOTFOUND, "not_found", "id", "no such order");
		return RD_EDECLINED;
	}
	if (rc < 0)
		return rc;
	if (o->state == RD_ORDER_REFUNDED)
		return RD_EDECLINED; /* refunded already: nothing changes */
	if (o->state != RD_ORDER_PAID && o->state != RD_ORDER_FULFILLED) {
		rd_serr_set(&r->ans.err, RD_EEXISTS, "conflict", "id", "only a paid order can be refunded");
		return RD_EDECLINED;
	}
	int64_t paid = o->paid_amount ? o->paid_amount : o->total;
	if (r->amount > paid) {
		rd_serr_set(&r->ans.err, RD_ERANGE, "amount_mismatch", "amount",
			    "a refund is at most what was paid (%" PRId64 " minor units)", paid);
		return RD_EDECLINED;
	}
	if (r->amount && r->amount != paid) {
		rd_serr_set(&r->ans.err, RD_EINVAL, "invalid", "amount",
			    "a refund pays back the whole payment (%" PRId64 " minor units)", paid);
		return RD_EDECLINED;
	}
	r->paid = paid;
	return 0;
}

/* A contract the refunded order made, cancelled (audited) if still live. */
static int cancel_contract(struct rd_txn *t, struct rd_domain *d, uint64_t v, uint64_t u, uint64_t id)
{
	struct rd_contract k, kb;
	if (!id || rd_entity_get(t, d->contracts, &rd_entity_contract, v, id, &k) != 0 || k.status != RD_CONTRACT_LIVE)
		return 0;
	kb = k;
	k.status = RD_CONTRACT_CANCELLED;
	return rd_order_put_audited(t, d, d->contracts, &rd_entity_contract, v, u, &kb, &k, 0, "refunded");
}

static int refund_write(struct rd_txn *t, void *arg)
{
	struct refunding *r = arg;
	int rc = refundable(t, r);
	if (rc < 0)
		return rc;
	struct rd_domain *d = r->app->domain;
	uint64_t v = r->who.vendor, u = r->who.user;
	struct rd_order *n = &r->ans.order, before = *n;
	n->state = RD_ORDER_REFUNDED;
	snprintf(n->payment_message, sizeof n->payment_message, "refunded: %s", r->reason);
	if ((rc = rd_order_put_audited(t, d, d->orders, &rd_entity_order, v, u, &before, n, 0, "refunded")) < 0 ||
	    (rc = rd_commissions_reverse(t, d, v, n)) < 0 || (rc = rd_event_order(t, d, v, "order.refunded", n)) < 0)
		return rc;
	/* Every contract the order made: the renewal line's (or the up-sell's in
	 * its place), new_contract_id, and each cross-sell line's own. */
	for (int i = -1; i < (int)n->n_lines; i++) {
		uint64_t kid = i < 0 ? n->new_contract_id : n->lines[i].contract_id;
		if ((rc = cancel_contract(t, d, v, u, kid)) < 0)
			return rc;
	}
	struct rd_opportunity *o = rd_malloc(sizeof *o), *ob = rd_malloc(sizeof *ob);
	if (rd_entity_get(t, d->opportunities, &rd_entity_opportunity, v, n->opportunity_id, o) == 0 &&
	    o->state == RD_OPP_WON) {
		*ob = *o;
		o->state = RD_OPP_LOST;
		o->lost_reason_set = 1;
		snprintf(o->lost_reason, sizeof o->lost_reason, "refunded: %.100s", r->reason);
		rd_utf8_mend(o->lost_reason); /* the cut may split a character of the reason */
		rc = rd_order_put_audited(t, d, d->opportunities, &rd_entity_opportunity, v, u, ob, o, 0, "refunded");
	}
	free(o);
	free(ob);
	return rc;
}

static void refund_answer(struct refunding *r)
{
	if (r->done)
		r->done(&r->ans, r->arg);
	r->done = NULL;
}

/* After the plugin's answer (or with no plugin to ask): the refund is
 * written whether or not the caller still waits, since the money moved. */
static void refund_commit(struct refunding *r)
{
	int rc = rd_store_write_wait(r->app->store, refund_write, r); /* the money moved */
	if (rc < 0 && rc != RD_EDECLINED) {
		rd_log(RD_LOG_ERROR, "orders", "order %s: refunded by the payment plugin but not stored: %s",
		       r->ans.order.number, rd_strerror(rc));
		rd_serr_set(&r->ans.err, RD_EINTERNAL, "internal", NULL, "the refund was made but could not be stored: %s",
			    rd_strerror(rc));
	}
	refund_answer(r);
}

static int refund_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct refunding *r = arg;
	const struct rd_payment_ops *ops = desc->ops;
	int rc = 0;
	if (desc->kind == RD_PLUGIN_PAYMENT && ops && ops->refund) {
		struct rd_payment_result res = { 0 };
		rc = ops->refund(ctx, r->reference, r->paid, r->currency, &res);
	}
	refund_unref(r);
	return rc;
}

static void refund_done(int rc, const char *message, void *arg)
{
	struct refunding *r = arg;
	if (rc < 0) {
		rd_serr_set(&r->ans.err, -EIO, "gateway_error", NULL, "the payment plugin did not refund: %s",
			    message ? message : rd_strerror(rc));
		refund_answer(r);
	} else {
		refund_commit(r);
	}
	refund_unref(r);
}

int rd_refund(struct rd_app *app, const struct rd_actor *who, uint64_t id, int64_t amount, const char *reason,
	      rd_refund_done_fn done, void *arg)
{
	struct refunding *r = rd_calloc(1, sizeof *r);
	atomic_init(&r->refs, 1);
	r->app = app;
	r->who = *who;
	r->id = id;
	r->amount = amount;
	r->done = done;
	r->arg = arg;
	if (!reason || !rd_order_text_ok(reason, sizeof r->reason)) {
		rd_serr_set(&r->ans.err, RD_EINVAL, "invalid", "reason",
			    "reason is text of 1-127 bytes, without control characters");
		refund_answer(r);
		refund_unref(r);
		return 0;
	}
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0) {
		free(r);
		return rc;
	}
	rc = refundable(t, r);
	struct rd_order *o = &r->ans.order;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	struct rd_loaded *l = rc == 0 ? rd_plugins_find(app->plugins, o->payment_plugin) : NULL;
	bool ask = l && o->payment_ref[0] &&
		   rd_enablement_find(t, app->domain, who->vendor, o->payment_plugin, o->reseller_id, e) == 0;
	rd_txn_end(t);
	if (rc < 0 && rc != RD_EDECLINED) {
		free(e);
		free(r);
		return rc;
	}
	if (rc == RD_EDECLINED) {
		refund_answer(r);
	} else if (!ask) { /* nothing to undo at a gateway: the vendor pays back itself */
		refund_commit(r);
	} else {
		snprintf(r->reference, sizeof r->reference, "%s", o->payment_ref);
		snprintf(r->number, sizeof r->number, "%s", o->number);
		memcpy(r->currency, o->currency, sizeof r->currency);
		atomic_store(&r->refs, 3); /* this call, the plugin call and its answer */
		if (rd_plugins_call(app->plugins, l, who->vendor, o->reseller_id, e->config, RD_ORDER_PLUGIN_TIMEOUT_MS,
				    refund_run, refund_done, r) < 0) {
			atomic_store(&r->refs, 1);
			rd_serr_set(&r->ans.err, RD_EBUSY, "unavailable", NULL,
				    "the payment plugin cannot be called now: try again");
			refund_answer(r);
		}
	}
	free(e);
	refund_unref(r);
	return 0;
}
