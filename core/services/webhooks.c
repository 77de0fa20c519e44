/*
 * webhooks.c: a gateway's event, verified by the payment plugin on the
 * thread pool and applied once on the loop (webhooks.h).  The API's handler
 * is core/api/orders.c (POST /webhooks/payments/{plugin}).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/money.h"
#include "plugin/host.h"
#include "services/orders.h"
#include "services/webhooks.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

/* Shared by the pool and the loop. */
struct hook_call {
	atomic_int refs;
	struct rd_app *app;
	uint64_t vendor;
	char plugin[64];
	char *body;
	size_t len;
	char signature[512];
	struct rd_payment_result res;
	rd_webhook_done_fn done;
	void *arg;
	struct rd_webhook_answer ans;
};

static void hook_unref(struct hook_call *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1) {
		free(h->body);
		free(h);
	}
}

static int hook_run(rd_plugin_ctx *ctx, const struct rd_plugin *desc, void *arg)
{
	struct hook_call *h = arg;
	const struct rd_payment_ops *ops = desc->ops;
	int rc = RD_ENOTFOUND;
	if (desc->kind == RD_PLUGIN_PAYMENT && ops && ops->callback) {
		rc = ops->callback(ctx, h->body, h->len, h->signature, &h->res, h->ans.order_ref);
		h->ans.order_ref[sizeof h->ans.order_ref - 1] = 0;
		h->res.reference[sizeof h->res.reference - 1] = 0;
		h->res.message[sizeof h->res.message - 1] = 0;
		h->res.currency[sizeof h->res.currency - 1] = 0;
	}
	hook_unref(h);
	return rc;
}

/* A captured payment the gateway reports for another amount or currency
 * than the order's: the order is not paid (it stays as it is, its
 * payment_ref too); the report is kept as its payment_message, audited, and
 * logged for a person.  The event is acknowledged: a retry would say the
 * same.  RD_EDECLINED when this report is on the order already. */
static int wrong_amount(struct rd_txn *t, struct hook_call *h, struct rd_order *o, const struct rd_order *before)
{
	/* Amounts as money text in their currency's exponent ("JPY 5,000"). */
	char said[40], cur[8], total[40];
	snprintf(cur, sizeof cur, "%s", h->res.currency[0] && rd_order_text_ok(h->res.currency, sizeof h->res.currency)
		 ? h->res.currency : o->currency);
	if (h->res.amount > 0)
		rd_money_format(h->res.amount, cur, said, sizeof said);
	else
		snprintf(said, sizeof said, "%s %s", h->res.amount ? "an invalid amount in" : "an unreported amount in", cur);
	rd_money_format(o->total, o->currency, total, sizeof total);
	snprintf(h->ans.result, sizeof h->ans.result, "not applied: payment %.64s is for %s, the order's total is %s",
		 h->res.reference, said, total);
	rd_log(RD_LOG_ERROR, "orders", "order %s: the gateway reports payment %s of %s, not the order's %s: the "
	       "order is not paid; refund the payment or record the right one by hand", o->number, h->res.reference, said,
	       total);
	char msg[sizeof o->payment_message];
	snprintf(msg, sizeof msg, "not paid: the gateway reported payment %.64s of %s (the total is %s)",
		 h->res.reference, said, total);
	if (!strcmp(o->payment_message, msg))
		return RD_EDECLINED; /* a repeat: recorded already */
	snprintf(o->payment_message, sizeof o->payment_message, "%s", msg);
	int rc = rd_entity_put(t, h->app->domain->orders, &rd_entity_order, h->vendor, o, 0);
	return rc < 0 ? rc : rd_order_audit(t, h->app->domain, h->vendor, 0, RD_AUDIT_UPDATE, before, o,
					    "payment gateway webhook: amount or currency not the order's");
}

/* The event's outcome, applied once (webhooks.h); RD_EDECLINED when
 * nothing changes. */
static int hook_write(struct rd_txn *t, void *arg)
{
	struct hook_call *h = arg;
	struct rd_domain *d = h->app->domain;
	struct rd_order *o = &h->ans.order;
	char *why = h->ans.result;
	size_t cap = sizeof h->ans.result;
	uint64_t v = h->vendor;
	const char *dash = strrchr(h->ans.order_ref, '-');
	uint64_t id = dash ? strtoull(dash + 1, NULL, 10) : 0;
	int rc = id ? rd_entity_get(t, d->orders, &rd_entity_order, v, id, o) : RD_ENOTFOUND;
	if (rc == 0 && (strcmp(o->number, h->ans.order_ref) || strcmp(o->payment_plugin, h->plugin)))
		rc = RD_ENOTFOUND;
	if (rc == RD_ENOTFOUND) {
		snprintf(why, cap, "no order %s of this plugin: ignored", h->ans.order_ref);
		return RD_EDECLINED; /* acknowledged: the gateway has nothing to retry */
	}
	if (rc < 0)
		return rc;
	snprintf(why, cap, "nothing changed: order %s is %s", o->number,
		 o->state == RD_ORDER_CREATED ? "created" : o->state == RD_ORDER_AWAITING_PAYMENT ? "awaiting payment"
		 : "settled already");
	if (h->res.state == RD_PAY_CAPTURED && (o->state == RD_ORDER_FAILED || o->state == RD_ORDER_CANCELLED))
		rd_log(RD_LOG_ERROR, "orders", "order %s %s, but the gateway reports payment %s taken: refund it or "
		       "place the order by hand", o->number, o->state == RD_ORDER_FAILED ? "failed" : "was cancelled",
		       h->res.reference);
	bool open = o->state == RD_ORDER_CREATED || o->state == RD_ORDER_AWAITING_PAYMENT;
	bool same = !o->payment_ref[0] || !strcmp(o->payment_ref, h->res.reference);
	if (!open || !same || (h->res.state != RD_PAY_CAPTURED && !(h->res.state == RD_PAY_DECLINED &&
								     o->state == RD_ORDER_CREATED)))
		return RD_EDECLINED; /* nothing changes */
	if (!rd_order_text_ok(h->res.reference, sizeof o->payment_ref))
		return RD_EDECLINED;
	struct rd_order before = *o;
	if (h->res.state == RD_PAY_CAPTURED && ((h->res.amount && h->res.amount != o->total) ||
						(h->res.currency[0] && strcasecmp(h->res.currency, o->currency))))
		return wrong_amount(t, h, o, &before);
	snprintf(o->payment_ref, sizeof o->payment_ref, "%s", h->res.reference);
	if (rd_order_text_ok(h->res.message, sizeof o->payment_message))
		snprintf(o->payment_message, sizeof o->payment_message, "%s", h->res.message);
	snprintf(why, cap, "applied");
	if (h->res.state == RD_PAY_DECLINED) {
		o->state = RD_ORDER_FAILED;
	} else {
		o->state = RD_ORDER_PAID;
		o->paid_at = rd_clock_now();
		o->paid_amount = o->total;
		snprintf(o->paid_reference, sizeof o->paid_reference, "%s", h->res.reference);
	}
	if ((rc = rd_entity_put(t, d->orders, &rd_entity_order, v, o, 0)) < 0 ||
	    (rc = rd_order_audit(t, d, v, 0, RD_AUDIT_UPDATE, &before, o, "payment gateway webhook")) < 0)
		return rc;
	return o->state == RD_ORDER_PAID ? rd_order_fulfil(t, d, v, 0, o) : 0;
}

static void hook_done(int rc, const char *message, void *arg)
{
	struct hook_call *h = arg;
	struct rd_webhook_answer *a = &h->ans;
	const char *said = message && *message ? message : NULL;
	if (rc == 0 || rc == RD_EEXISTS) { /* a repeat carries the same outcome: applying it again changes nothing */
		int wrc = rd_store_write(h->app->store, hook_write, h);
		if (wrc < 0 && wrc != RD_EDECLINED) {
			rd_log(RD_LOG_ERROR, "orders", "webhook for order %s could not be stored: %s", a->order_ref,
			       rd_strerror(wrc));
			rd_serr_set(&a->err, RD_EINTERNAL, "internal", NULL, "the event could not be stored: %s",
				    rd_strerror(wrc));
		} else if (rc == RD_EEXISTS && wrc == RD_EDECLINED) {
			snprintf(a->result, sizeof a->result, "duplicate: nothing changed");
		}
	} else if (rc == RD_EDECLINED) {
		a->ignored = true;
		snprintf(a->result, sizeof a->result, "ignored: not about a payment's outcome");
	} else if (rc == -ETIMEDOUT) {
		rd_serr_set(&a->err, -ETIMEDOUT, "plugin_timeout", NULL,
			    "the payment plugin did not answer in time; deliver the event again");
	} else if (rc == RD_EINVAL) {
		rd_serr_set(&a->err, RD_EINVAL, "invalid", "Gateway-Signature", "%s", said ? said : "the event is refused");
	} else if (rc < 0) {
		rd_serr_set(&a->err, -EIO, "plugin_failed", NULL, "%s", said ? said : rd_strerror(rc));
	}
	h->done(a, h->arg);
	hook_unref(h);
}

/* Answers a refusal before any call; returns 0. */
static int refuse(rd_webhook_done_fn done, void *arg, int rc, const char *code, const char *field, const char *why)
{
	struct rd_webhook_answer *a = rd_calloc(1, sizeof *a);
	rd_serr_set(&a->err, rc, code, field, "%s", why);
	done(a, arg);
	free(a);
	return 0;
}

int rd_webhook_receive(struct rd_app *app, const struct rd_actor *who, const char *plugin, const void *body, size_t len,
		       const char *signature, rd_webhook_done_fn done, void *arg)
{
	if (len > RD_WEBHOOK_MAX_BYTES)
		return refuse(done, arg, RD_ETOOBIG, "too_large", NULL, "an event is at most 65536 bytes");
	if (!who->vendor)
		return refuse(done, arg, RD_EINVAL, "invalid", "vendor", "the webhook URL names the vendor: ?vendor=ID");
	struct rd_loaded *l = plugin ? rd_plugins_find(app->plugins, plugin) : NULL;
	const struct rd_plugin *desc = l ? rd_loaded_desc(l) : NULL;
	const struct rd_payment_ops *ops = desc && desc->kind == RD_PLUGIN_PAYMENT ? desc->ops : NULL;
	if (!ops || !ops->callback)
		return refuse(done, arg, RD_ENOTFOUND, "not_found", "plugin",
			      "no loaded payment plugin of this name takes webhooks");
	if (!signature || strlen(signature) >= sizeof ((struct hook_call *)0)->signature)
		return refuse(done, arg, RD_EINVAL, "invalid", "Gateway-Signature",
			      "the event carries no signature header (Gateway-Signature)");
	struct rd_txn *t;
	int rc = rd_store_read(app->store, &t);
	if (rc < 0)
		return rc;
	struct rd_enablement *e = rd_malloc(sizeof *e);
	rc = rd_enablement_find(t, app->domain, who->vendor, plugin, 0, e);
	rd_txn_end(t);
	if (rc == RD_ENOTFOUND) {
		free(e);
		return refuse(done, arg, RD_ENOTFOUND, "not_found", "vendor", "this plugin is not enabled for this vendor");
	}
	if (rc < 0) {
		free(e);
		return rc;
	}
	struct hook_call *h = rd_calloc(1, sizeof *h);
	atomic_init(&h->refs, 2);
	h->app = app;
	h->vendor = who->vendor;
	snprintf(h->plugin, sizeof h->plugin, "%s", plugin);
	h->body = rd_malloc(len + 1);
	memcpy(h->body, body ? body : "", len);
	h->body[len] = 0;
	h->len = len;
	snprintf(h->signature, sizeof h->signature, "%s", signature);
	h->done = done;
	h->arg = arg;
	rc = rd_plugins_call_anonymous(app->plugins, l, who->vendor, e->config, RD_ORDER_PLUGIN_TIMEOUT_MS, hook_run,
				       hook_done, h);
	free(e);
	if (rc < 0) {
		free(h->body);
		free(h);
		if (rc != RD_EBUSY)
			return rc;
		/* Webhooks share a few places whatever vendor they name: a gateway
		 * delivers the event again. */
		return refuse(done, arg, RD_EBUSY, "plugin_busy", NULL,
			      "too many webhook events in flight; deliver the event again");
	}
	return 0;
}
