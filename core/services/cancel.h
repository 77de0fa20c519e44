/*
 * cancel.h: cancelling an order that has not been paid
 * (core/services/cancel.c).
 *
 * The vendor cancels an order still created or awaiting payment, with a
 * reason.  In one write transaction the order becomes cancelled (its
 * payment message "cancelled: REASON", audited with the reason), which
 * takes it out of the opportunity's "live" index: the customer may accept
 * the quote again and order anew, and the sweep no longer holds the
 * quote's reminders nor its contract.  A contract held as renewal_ordered
 * (its end passed while the order awaited payment) expires in the same
 * transaction, by the sweep's own rule (domain/expiry.h), audited; the
 * sweep's overdue reminders go on from their next point.  One whose end
 * has not passed (moved since) goes back to live.  The payment plugins
 * offer no cancel or void operation (include/renewd/plugin.h), so none is
 * told.
 */
#ifndef RD_SERVICES_CANCEL_H
#define RD_SERVICES_CANCEL_H

#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

/* The answer: err.rc 0 with the order as cancelled, or a refusal (nothing
 * written): RD_EINVAL (field "reason": missing, empty, over 127 bytes,
 * control characters or invalid UTF-8), RD_ENOTFOUND (field "id": no such
 * order of the vendor), RD_EEXISTS (field "id": the order is paid,
 * fulfilled, refunded, failed or cancelled already; the message names the
 * state). */
struct rd_cancel_answer {
	struct rd_serr err;
	struct rd_order order;
};

/* Inside the write transaction t: cancels order id of who->vendor for
 * reason.  0, a refusal (a->err, nothing written: the caller aborts), or
 * the store's error (a->err.code NULL). */
int rd_order_cancel_in(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id,
		       const char *reason, struct rd_cancel_answer *a);

/* The same in a write of its own.  Returns a->err.rc, or the store's
 * error (a->err.code NULL). */
int rd_order_cancel(struct rd_app *app, const struct rd_actor *who, uint64_t id, const char *reason,
		    struct rd_cancel_answer *a);

#endif
