/*
 * sales.h: who may amend an opportunity (core/edge/sales.c), for the sales
 * view (POST /sales/opportunities/{id}) and the API (PATCH
 * /api/v1/opportunities/{id}).  The rule of the amendment itself (the
 * discount's bounds, the states, the note, the partner's channel) is the
 * quotes service's (core/services/quotes.h); here is only the role's part.
 *
 * Who: those who may update opportunities (the publish decision: vendor
 * admins, channel managers, partner admins within their scope) and the sales
 * roles on the opportunities they may read (vendor sales: all; partner sales:
 * their partner's and, for a distributor, its resellers').
 */
#ifndef RD_EDGE_SALES_H
#define RD_EDGE_SALES_H

#include <stdbool.h>
#include <stdint.h>

#include "domain/money.h"
#include "edge/call.h"
#include "services/quotes.h"

/* May this caller amend this opportunity (see above)? */
bool rd_sales_may_amend(const struct call *c, const struct rd_opportunity *o);
/* Whether s is NULL, empty or only white space. */
bool rd_blank(const char *s);

/* May this caller see it at all (opportunity read, within scope)? */
bool rd_sales_may_see(const struct call *c, const struct rd_opportunity *o);

/* The caller as the services' actor: its vendor, user and, for a partner's
 * user, its partner. */
struct rd_actor rd_call_actor(const struct call *c);

/* Amends opportunity id as the caller: -EACCES ("forbidden") when the
 * caller's role may not amend opportunities, else rd_quote_amend's answer
 * (0 with the result in *out, or the refusal in e). */
int rd_sales_amend(struct call *c, uint64_t id, const struct rd_quote_amendment *ch, struct rd_opportunity *out,
		   struct rd_serr *e);

#endif
