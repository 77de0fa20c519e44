/*
 * refunds.h: refunding a paid order, in full (core/services/refunds.c).
 *
 * The payment plugin refunds first (a card: at the gateway, under a key, so
 * a retry never refunds twice); only then, in one transaction, the order is
 * refunded, its earned commissions reversed (commissions.h), the renewed
 * contract cancelled and the opportunity lost.  A plugin that refuses
 * leaves everything as it was.  Refunding a refunded order changes nothing.
 */
#ifndef RD_SERVICES_REFUNDS_H
#define RD_SERVICES_REFUNDS_H

#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

/* The answer: err.rc 0 with the order (refunded now or before), or a
 * refusal: RD_ENOTFOUND (field "id"), RD_EINVAL (field "reason" or
 * "amount": a part of the payment), RD_EEXISTS (field "id": not paid),
 * RD_ERANGE (field "amount": more than was paid), -EIO (the plugin did not
 * refund), RD_EBUSY (the plugin cannot be called now), RD_EINTERNAL (the
 * refund was made but could not be stored: logged). */
struct rd_refund_answer {
	struct rd_serr err;
	struct rd_order order;
};

/* Called on the loop once (possibly before rd_refund returns); a is valid
 * during the call only. */
typedef void (*rd_refund_done_fn)(const struct rd_refund_answer *a, void *arg);

/* Refunds order id of who->vendor: amount is what the caller means to pay
 * back (0: what was paid; refunds are in full), reason text of 1-127 bytes
 * (the order's payment message and the opportunity's lost reason).  done is
 * always called, unless < 0 is returned (the store failed before anything
 * was asked or written). */
int rd_refund(struct rd_app *app, const struct rd_actor *who, uint64_t id, int64_t amount, const char *reason,
	      rd_refund_done_fn done, void *arg);

#endif
