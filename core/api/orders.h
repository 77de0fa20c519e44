/*
 * orders.h: orders from accepted quotes, exactly once (core/api/orders.c).
 *
 * One rule for the customer portal (POST /portal/order) and the API (POST
 * /api/v1/orders).  An order is placed in two write transactions around one
 * call of the payment plugin's authorise on the thread pool:
 *
 *   1. find the order of the idempotency key, else the live order of the
 *      opportunity, else create one (state created) with its audit entry;
 *   2. authorise(idempotency key = the order's number) on the pool;
 *   3. apply the answer (awaiting_payment, paid or failed) with its audit entry.
 *
 * An order left in created (a plugin timeout, a crash between 1 and 3) is
 * authorised again by the next request that finds it: the plugin sees the
 * same key, so it does not charge or raise a balance twice.  Concurrent
 * requests for one order in this process wait for the one call in flight.
 */
#ifndef RD_API_ORDERS_H
#define RD_API_ORDERS_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/model.h"
#include "edge/app.h"

/* What is asked: validated for types and lengths by the caller. */
struct rd_order_ask {
	uint64_t vendor, user;       /* user 0: the customer in the portal */
	uint64_t opportunity_id;
	uint64_t customer_id;        /* the portal: the session's customer; 0 from the API */
	bool portal;                 /* the portal: the quote must have been accepted there */
	char option[32];
	char po_number[64];
	char key[140];               /* the idempotency key, unique per vendor */
	char card_token[128];        /* card: the gateway's token for the card (never a card number); not stored */
};

/* The answer: status 201 (a new order), 200 (the existing one), or a
 * refusal (400, 409, 502, 503, 504) with code, field and a sentence. */
struct rd_order_answer {
	int status;
	const char *code, *field;
	char why[256];
	struct rd_order order;
};

/* Called on the loop once (possibly before rd_order_place returns); a is
 * valid during the call only. */
typedef void (*rd_order_done_fn)(const struct rd_order_answer *a, void *arg);

/* Places (or finds) the order; done is always called, unless < 0 is
 * returned (the store failed before anything was written). */
int rd_order_place(struct rd_app *app, const struct rd_order_ask *ask, rd_order_done_fn done, void *arg);

/* Checks a text field from outside: valid UTF-8, no control characters,
 * 1..cap-1 bytes. */
bool rd_order_text_ok(const char *s, size_t cap);

/* POST /api/v1/orders/{id}/refund: a paid order, in full (orders.c). */
int rd_api_order_refund(struct rd_req *req);

/* POST /api/v1/orders/payments: payments from a CSV file, all or nothing. */
int rd_api_order_payments_file(struct rd_req *req);

/* Reconciliation at start (and from the scheduler's sweep): every order
 * still in created is authorised again under its own key, so the plugin
 * asks its gateway what became of the first attempt instead of charging
 * again.  Loop thread; the answers are logged. */
void rd_orders_reconcile(struct rd_app *app);

#endif
