/*
 * payments.h: recording a payment against an order, and telling the
 * payment plugin of it (capture) (core/services/payments.c).
 *
 * One rule for POST /api/v1/orders/{id}/payments and each row of a payment
 * file (payfiles.h): an order awaiting payment is paid by exactly its
 * total, once, under a reference; the same payment again (the same
 * reference) changes nothing; the order is then fulfilled in the same
 * transaction (orders.h, rd_order_fulfil).
 */
#ifndef RD_SERVICES_PAYMENTS_H
#define RD_SERVICES_PAYMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

/* The answer: err.rc 0 with the order (unchanged: recorded already under
 * this reference), or a refusal: RD_EINVAL (field "amount": not positive;
 * field "reference": not text of 1-127 bytes), RD_ENOTFOUND (field "id": no such order),
 * RD_EEXISTS (field "reference": paid under another reference; field "id":
 * not awaiting payment), RD_ERANGE (field "amount": not the order's total). */
struct rd_payment_answer {
	bool unchanged;
	struct rd_serr err;
	struct rd_order order;
};

/* Inside the write transaction t: records the payment of amount under
 * reference for order id of who->vendor, with its audit entry, and fulfils
 * the order.  0 (a->unchanged when nothing was written), a refusal (a->err,
 * nothing written), or the store's error (a->err.code NULL). */
int rd_payment_record_in(struct rd_txn *t, struct rd_domain *d, const struct rd_actor *who, uint64_t id, int64_t amount,
			 const char *reference, struct rd_payment_answer *a);

/* The same in a write of its own, then the payment plugin hears of it
 * (rd_payment_capture).  Returns a->err.rc, or the store's error (a->err.code NULL). */
int rd_payment_record(struct rd_app *app, const struct rd_actor *who, uint64_t id, int64_t amount, const char *reference,
		      struct rd_payment_answer *a);

/* After a payment is committed, the order's payment plugin hears of it
 * (its capture, on the thread pool): Bill Me Later lowers the customer's
 * open amount.  Best effort: the payment stands whatever the plugin
 * answers, and a failure is logged.  Loop thread. */
void rd_payment_capture(struct rd_app *app, const struct rd_actor *who, const struct rd_order *o);

#endif
