/*
 * orders.h: orders from accepted quotes, exactly once; fulfilment
 * (core/services/orders.c, fulfil.c).
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
#ifndef RD_SERVICES_ORDERS_H
#define RD_SERVICES_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/checkout.h"
#include "services/service.h"

struct rd_txn;
struct rd_table;
struct rd_entity;

/* How long a payment plugin's call may take (authorise, capture, refund, a webhook). */
#define RD_ORDER_PLUGIN_TIMEOUT_MS 10000

/* What is asked, besides who asks (the actor: vendor, user, the portal's
 * customer): validated for types and lengths by the caller. */
struct rd_order_ask {
	uint64_t opportunity_id;
	char option[32];
	char po_number[64];
	char key[140];               /* the idempotency key, unique per vendor */
	char card_token[128];        /* card: the gateway's token for the card (never a card number); not stored */
	/* The billing details (services/checkout.h): checked and stored on the
	 * order when billing_given, else the customer record's are; with
	 * update_customer the customer record takes them (audited). */
	bool billing_given, update_customer;
	struct rd_billing billing;
	/* card, hosted: where the gateway's payment page sends the customer
	 * back ("": no hosted payment page; a card_token is then needed). */
	char return_url[512];
};

/* The answer: err.rc 0 with the order (created: a new one, else the
 * existing one), or a refusal (RD_EINVAL, RD_EEXISTS, -EIO, RD_EBUSY,
 * -ETIMEDOUT, RD_EINTERNAL) with code, field and a sentence. */
struct rd_order_answer {
	bool created;
	struct rd_serr err;
	struct rd_order order;
};

/* Called on the loop once (possibly before rd_order_place returns); a is
 * valid during the call only. */
typedef void (*rd_order_done_fn)(const struct rd_order_answer *a, void *arg);

/* Places (or finds) the order for who (who->portal: the quote must have
 * been accepted in the portal, and be who->customer's); done is always
 * called, unless < 0 is returned (the store failed before anything was
 * written). */
int rd_order_place(struct rd_app *app, const struct rd_actor *who, const struct rd_order_ask *ask, rd_order_done_fn done,
		   void *arg);

/* Inside a transaction: the lines order n freezes from opportunity o
 * (rd_quote_select, domain/quote.h: a chosen up-sell replaces the renewal
 * line, chosen cross-sells add), each with the product it delivers (the
 * contract's for the renewal line, the catalogue's SKU for the others), and
 * the quote's discount.  0; RD_EINVAL when more than one up-sell is chosen;
 * RD_ENOTFOUND when a chosen line's SKU is no longer in the catalogue (the
 * SKU in sku); or the store's error. */
int rd_order_freeze(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, const struct rd_opportunity *o,
		    struct rd_order *n, char *sku, size_t cap);

/* Inside a transaction: the live order of an opportunity (any state but
 * failed, cancelled and refunded): 0 with *out, RD_ENOTFOUND, or the
 * store's error. */
int rd_order_live(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t opportunity, struct rd_order *out);

/* Checks a text field from outside: valid UTF-8, no control characters,
 * 1..cap-1 bytes. */
bool rd_order_text_ok(const char *s, size_t cap);

/* Reconciliation at start: every order still in created is authorised
 * again under its own key, so the plugin asks its gateway what became of
 * the first attempt instead of charging again.  Loop thread; the answers
 * are logged. */
void rd_orders_reconcile(struct rd_app *app);

/* Inside a write transaction: a paid order n becomes what its frozen
 * lines say (the renewal or up-sell line: a new contract renewing the old
 * one, which is marked renewed; each cross-sell line: a new contract of its
 * own, of the same term), the opportunity won, n fulfilled with each line's
 * contract, and its channel commissions accrued over the same lines
 * (commissions.h).  0, or the store's error. */
int rd_order_fulfil(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, struct rd_order *n);

/* Inside a write transaction: contract renews as the frozen lines say,
 * the one rule a paid order (rd_order_fulfil) and a quote the partner of
 * record won itself (renewal.h) share.  The renewal or up-sell line makes
 * the new contract of its product and seats (external_id = number); each
 * cross-sell line with its product makes a contract of its own
 * (number-N) of the same term and dates; with no renewal line (n_lines 0)
 * the contract renews as it was.  Each line records its contract; the old
 * one is marked renewed; every write is audited with note.  *renewed: the
 * renewing contract.  0, or the store's error. */
int rd_contract_renew(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, uint64_t contract,
		      struct rd_quote_line *lines, uint8_t n_lines, const char *number, const char *currency,
		      const char *note, uint64_t *renewed);

/* The audit entry of an order's change (before NULL: created). */
int rd_order_audit(struct rd_txn *t, struct rd_domain *d, uint64_t vendor, uint64_t user, uint8_t action,
		   const struct rd_order *before, const struct rd_order *after, const char *note);

/* Puts a record and writes its audit entry (before NULL: created). */
int rd_order_put_audited(struct rd_txn *t, struct rd_domain *d, struct rd_table *tb, const struct rd_entity *e,
			 uint64_t vendor, uint64_t user, const void *before, void *after, unsigned flags, const char *note);

#endif
