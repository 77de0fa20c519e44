/*
 * quotes.h: the rules of changing a quote (core/services/quotes.c), one for
 * the API and the pages: the sales person's amendment (the sales view's
 * POST /sales/opportunities/{id}, the API's PATCH /api/v1/opportunities/{id})
 * and the customer's acceptance (the portal's POST /portal/accept).
 *
 * Amendment.  What: a discount in basis points on the quote's total,
 * 0..10000 and within the vendor's bound (max_discount_bp); won (a
 * published or accepted quote), or lost with a reason; a note.  Closed
 * opportunities (won, lost, expired) change no more.  Where: the vendor's
 * own people (actor.partner 0) reach every opportunity of the vendor; a
 * partner's user (actor.partner set) only those of its channel: where the
 * partner, or a reseller whose distributor it is, is of record; any other
 * answers RD_ENOTFOUND, as a missing one.  Whether the actor's role may
 * amend at all is the caller's to ask first (the role matrix, core/auth).
 * Every change is audited in the transaction that makes it.
 *
 * Refusals (struct rd_serr; the status comes from the one map in
 * core/edge/reply.c): RD_EINVAL the input (its field named), RD_ENOTFOUND
 * no such opportunity for this actor, RD_EEXISTS the opportunity's state
 * refuses the change (field state), RD_ERANGE a discount beyond the
 * vendor's bound (code discount_beyond_bound, field discount_bp).
 */
#ifndef RD_SERVICES_QUOTES_H
#define RD_SERVICES_QUOTES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/app.h"
#include "domain/model.h"
#include "services/service.h"

struct rd_txn;

struct rd_quote_amendment {
	bool set_discount;
	int64_t discount_bp;     /* with set_discount: 0..10000 and within the vendor's bound */
	uint8_t state;           /* 0: unchanged; RD_OPP_WON or RD_OPP_LOST */
	const char *lost_reason; /* needed with RD_OPP_LOST, refused without */
	const char *note;        /* NULL or "": none */
};

/* Applies ch to opportunity id as who, in one write transaction with its
 * audit entry.  0 with the result in *out, or a refusal in e (above), or
 * the store's error. */
int rd_quote_amend(struct rd_app *app, const struct rd_actor *who, uint64_t id, const struct rd_quote_amendment *ch,
		   struct rd_opportunity *out, struct rd_serr *e);

/* Whether o is in the actor's channel (above): always for the vendor's own
 * people. */
bool rd_quote_in_channel(struct rd_txn *t, const struct rd_app *app, const struct rd_actor *who,
			 const struct rd_opportunity *o);

/* Whether an opportunity is closed (won, lost, expired): it changes no more. */
bool rd_quote_closed(uint8_t state);

/* The customer of a portal link (who: portal, customer) accepts the quote
 * of opportunity id, choosing the optional lines whose SKUs are in
 * selected (a list of strings; other lines are not chosen).  0; RD_EEXISTS
 * with a sentence for the customer when the quote is no longer its or
 * cannot be bought online (only a quote the vendor sells, published or
 * accepted, can); RD_ENOTFOUND; or the store's error. */
int rd_quote_accept(struct rd_app *app, const struct rd_actor *who, uint64_t id, json_t *selected, struct rd_serr *e);

#endif
