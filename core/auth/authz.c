/*
 * authz.c: the one place that decides who may do what.  docs/security.md
 * shows the same matrix; tests walk every cell.
 *
 * Scope: ALL = every record of the caller's vendor; OWN = for partner roles,
 * the records of its own partner (a distributor: also its resellers') and
 * the customers and contracts those partners are of record for; for users
 * and tokens, OWN = the caller's own (or, for a partner admin, its
 * partner's users).  Nobody ever sees another vendor's data: the tenant is
 * part of every key.
 */
#include <string.h>

#include "auth/auth.h"

#define R RD_ACT_READ
#define C RD_ACT_CREATE
#define U RD_ACT_UPDATE
#define D RD_ACT_DELETE

/* For each role and resource: actions allowed on ALL records, and actions
 * allowed on OWN records. */
struct cell {
	unsigned all, own;
};

static const struct cell matrix[6][RD_RES_COUNT] = {
	[RD_ROLE_VENDOR_ADMIN] = {
		[RD_RES_VENDOR] = { R | U, 0 },
		[RD_RES_PARTNER] = { R | C | U | D, 0 },
		[RD_RES_USER] = { R | C | U | D, 0 },
		[RD_RES_TOKEN] = { R | D, C },
		[RD_RES_CUSTOMER] = { R | C | U | D, 0 },
		[RD_RES_CONTACT] = { R | C | U | D, 0 },
		[RD_RES_PRODUCT] = { R | C | U | D, 0 },
		[RD_RES_CONTRACT] = { R | C | U | D, 0 },
		[RD_RES_IMPORT] = { R | C, 0 },
		[RD_RES_AUDIT] = { R, 0 },
		[RD_RES_POLICY] = { R | C | U, 0 },
		[RD_RES_PLUGIN] = { R | C | U | D, 0 },
		[RD_RES_OPPORTUNITY] = { R | U, 0 },
		[RD_RES_OUTBOX] = { R, 0 },
		[RD_RES_TASK] = { R | U, 0 },
		[RD_RES_CLOCK] = { R | U, 0 },
		[RD_RES_ORDER] = { R | C | U, 0 },
		[RD_RES_COMMISSION] = { R, 0 },
		[RD_RES_DEAL] = { R | C | U, 0 },
		[RD_RES_LEAD] = { R | C | U, 0 },
	},
	[RD_ROLE_CHANNEL_MANAGER] = {
		[RD_RES_VENDOR] = { R, 0 },
		[RD_RES_PARTNER] = { R | C | U, 0 },
		[RD_RES_USER] = { R, U },
		[RD_RES_TOKEN] = { 0, R | C | D },
		[RD_RES_CUSTOMER] = { R | C | U | D, 0 },
		[RD_RES_CONTACT] = { R | C | U | D, 0 },
		[RD_RES_PRODUCT] = { R, 0 },
		[RD_RES_CONTRACT] = { R | C | U | D, 0 },
		[RD_RES_IMPORT] = { R | C, 0 },
		[RD_RES_AUDIT] = { R, 0 },
		[RD_RES_POLICY] = { R, 0 },
		[RD_RES_PLUGIN] = { R, 0 },
		[RD_RES_OPPORTUNITY] = { R | U, 0 },
		[RD_RES_OUTBOX] = { R, 0 },
		[RD_RES_TASK] = { R | U, 0 },
		[RD_RES_CLOCK] = { R, 0 },
		[RD_RES_ORDER] = { R | C | U, 0 },
		[RD_RES_COMMISSION] = { R, 0 },
		[RD_RES_DEAL] = { R | C | U, 0 },
		[RD_RES_LEAD] = { R | C | U, 0 },
	},
	[RD_ROLE_VENDOR_SALES] = {
		[RD_RES_VENDOR] = { R, 0 },
		[RD_RES_PARTNER] = { R, 0 },
		[RD_RES_USER] = { 0, R | U },
		[RD_RES_TOKEN] = { 0, R | C | D },
		[RD_RES_CUSTOMER] = { R | U, 0 },
		[RD_RES_CONTACT] = { R | C | U, 0 },
		[RD_RES_PRODUCT] = { R, 0 },
		[RD_RES_CONTRACT] = { R | U, 0 },
		[RD_RES_IMPORT] = { 0, 0 },
		[RD_RES_AUDIT] = { 0, 0 },
		[RD_RES_OPPORTUNITY] = { R, 0 },
		[RD_RES_TASK] = { R | U, 0 },
		[RD_RES_ORDER] = { R, 0 },
		[RD_RES_COMMISSION] = { 0, 0 },
		[RD_RES_DEAL] = { R, 0 },
		[RD_RES_LEAD] = { R | U, 0 },
	},
	[RD_ROLE_PARTNER_ADMIN] = {
		[RD_RES_VENDOR] = { R, 0 },
		[RD_RES_PARTNER] = { 0, R | U },
		[RD_RES_USER] = { 0, R | C | U | D },
		[RD_RES_TOKEN] = { 0, R | C | D },
		[RD_RES_CUSTOMER] = { 0, R | U },
		[RD_RES_CONTACT] = { 0, R | C | U | D },
		[RD_RES_PRODUCT] = { R, 0 },
		[RD_RES_CONTRACT] = { 0, R },
		[RD_RES_IMPORT] = { 0, 0 },
		[RD_RES_AUDIT] = { 0, 0 },
		[RD_RES_OPPORTUNITY] = { 0, R | U },
		[RD_RES_TASK] = { 0, R | U },
		[RD_RES_ORDER] = { 0, R | C },
		[RD_RES_COMMISSION] = { 0, R },
		[RD_RES_DEAL] = { 0, R | C | U },
		[RD_RES_LEAD] = { 0, R | U },
	},
	[RD_ROLE_PARTNER_SALES] = {
		[RD_RES_VENDOR] = { R, 0 },
		[RD_RES_PARTNER] = { 0, R },
		[RD_RES_USER] = { 0, R | U },
		[RD_RES_TOKEN] = { 0, R | C | D },
		[RD_RES_CUSTOMER] = { 0, R },
		[RD_RES_CONTACT] = { 0, R | C | U },
		[RD_RES_PRODUCT] = { R, 0 },
		[RD_RES_CONTRACT] = { 0, R },
		[RD_RES_IMPORT] = { 0, 0 },
		[RD_RES_AUDIT] = { 0, 0 },
		[RD_RES_OPPORTUNITY] = { 0, R },
		[RD_RES_TASK] = { 0, R | U },
		[RD_RES_ORDER] = { 0, R },
		[RD_RES_COMMISSION] = { 0, 0 },
		[RD_RES_DEAL] = { 0, R | C | U },
		[RD_RES_LEAD] = { 0, R | U },
	},
};

enum rd_scope rd_authz(uint8_t role, enum rd_resource res, enum rd_action action)
{
	if (role < RD_ROLE_VENDOR_ADMIN || role > RD_ROLE_PARTNER_SALES || res >= RD_RES_COUNT)
		return RD_SCOPE_NONE;
	const struct cell *c = &matrix[role][res];
	if (c->all & action)
		return RD_SCOPE_ALL;
	if (c->own & action)
		return RD_SCOPE_OWN;
	return RD_SCOPE_NONE;
}

bool rd_role_is_partner(uint8_t role)
{
	return role == RD_ROLE_PARTNER_ADMIN || role == RD_ROLE_PARTNER_SALES;
}

static const char *const role_names[] = { "", "vendor-admin", "channel-manager", "vendor-sales", "partner-admin",
					  "partner-sales" };

const char *rd_role_name(uint8_t role)
{
	return role >= 1 && role <= 5 ? role_names[role] : "unknown";
}

int rd_role_parse(const char *name)
{
	for (int i = 1; i <= 5; i++)
		if (strcmp(role_names[i], name) == 0)
			return i;
	return -1;
}

const char *rd_resource_name(enum rd_resource res)
{
	static const char *const names[] = { "vendor", "partners", "users", "tokens", "customers", "contacts",
					     "products", "contracts", "imports", "audit", "policies", "plugins",
					     "opportunities", "outbox", "tasks", "clock", "orders", "commissions",
					     "deals", "leads" };
	return res < RD_RES_COUNT ? names[res] : "unknown";
}
