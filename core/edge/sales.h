/*
 * sales.h: the sales person's amendments to an opportunity (core/edge/sales.c),
 * one rule for the sales view (POST /sales/opportunities/{id}) and the API
 * (PATCH /api/v1/opportunities/{id}).
 *
 * Who: those who may update opportunities (the publish decision: vendor
 * admins, channel managers, partner admins within their scope) and the sales
 * roles on the opportunities they may read (vendor sales: all; partner sales:
 * their partner's and, for a distributor, its resellers').
 * What: a discount in basis points on the quote's total, within the vendor's
 * bound (max_discount_bp); won, or lost with a reason; a note.  Closed
 * opportunities (won, lost, expired) change no more.  Every change is
 * audited in the transaction that makes it.
 */
#ifndef RD_EDGE_SALES_H
#define RD_EDGE_SALES_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/money.h"
#include "edge/call.h"

struct rd_sales_change {
	bool set_discount;
	uint32_t discount_bp;
	uint8_t state;           /* 0: unchanged; RD_OPP_WON or RD_OPP_LOST */
	const char *lost_reason; /* needed with RD_OPP_LOST */
	const char *note;        /* NULL or "": none */
};

/* Why an amendment was refused: the HTTP status to answer (400, 403, 404,
 * 409, 422), an error code, the field, and a sentence for people. */
struct rd_sales_refusal {
	int status;
	const char *code;
	const char *field;
	char why[256];
};

/* May this caller amend this opportunity (see above)? */
bool rd_sales_may_amend(const struct call *c, const struct rd_opportunity *o);
/* Whether an opportunity is closed (won, lost, expired): it changes no more. */
bool rd_sales_closed(uint8_t state);
/* Whether s is NULL, empty or only white space. */
bool rd_blank(const char *s);

/* May this caller see it at all (opportunity read, within scope)? */
bool rd_sales_may_see(const struct call *c, const struct rd_opportunity *o);

/* Applies ch to opportunity id in one write transaction with its audit
 * entry.  0 with the result in *out; RD_EINVAL when refused (see *no);
 * another code < 0 when the store failed. */
int rd_sales_amend(struct call *c, uint64_t id, const struct rd_sales_change *ch, struct rd_opportunity *out,
		   struct rd_sales_refusal *no);

#endif
