/*
 * sales.c: who may amend an opportunity (edge/sales.h); the amendment's
 * rule is the quotes service's (services/quotes.c).
 */
#include <errno.h>
#include <string.h>

#include "edge/sales.h"
#include "util/err.h"

bool rd_sales_may_see(const struct call *c, const struct rd_opportunity *o)
{
	enum rd_scope s = rd_authz(c->who.role, RD_RES_OPPORTUNITY, RD_ACT_READ);
	return s == RD_SCOPE_ALL ||
	       (s == RD_SCOPE_OWN && (rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id)));
}

/* Those who may update opportunities, and the sales roles where they read. */
static enum rd_scope amend_scope(uint8_t role)
{
	enum rd_scope s = rd_authz(role, RD_RES_OPPORTUNITY, RD_ACT_UPDATE);
	if (s == RD_SCOPE_NONE && (role == RD_ROLE_VENDOR_SALES || role == RD_ROLE_PARTNER_SALES))
		s = rd_authz(role, RD_RES_OPPORTUNITY, RD_ACT_READ);
	return s;
}

bool rd_sales_may_amend(const struct call *c, const struct rd_opportunity *o)
{
	enum rd_scope s = amend_scope(c->who.role);
	return s == RD_SCOPE_ALL ||
	       (s == RD_SCOPE_OWN && (rd_call_in_scope(c, o->reseller_id) || rd_call_in_scope(c, o->distributor_id)));
}

bool rd_blank(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

struct rd_actor rd_call_actor(const struct call *c)
{
	return (struct rd_actor){ .vendor = c->who.vendor, .user = c->who.user,
				  .partner = rd_role_is_partner(c->who.role) ? c->who.partner : 0 };
}

int rd_sales_amend(struct call *c, uint64_t id, const struct rd_quote_amendment *ch, struct rd_opportunity *out,
		   struct rd_serr *e)
{
	memset(e, 0, sizeof *e);
	if (amend_scope(c->who.role) == RD_SCOPE_NONE)
		return rd_serr_set(e, -EACCES, "forbidden", NULL, "a %s may not amend opportunities", rd_role_name(c->who.role));
	struct rd_actor who = rd_call_actor(c);
	return rd_quote_amend(c->app, &who, id, ch, out, e);
}
