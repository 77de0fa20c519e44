/*
 * margins.h: the margin table, the common case of a vendor's margin policy
 * as a form (core/services/margins.c; the console's /vendor/margins).
 *
 * A table gives the reseller's share in basis points per publish mode
 * (the partner sells, the vendor sells) and partner tier (platinum, gold,
 * silver).  It becomes a Lua margin policy of the seed programme's shape
 * (scripts/policies/margin.lua): a won deal registration adds the vendor's
 * deal bonus, the distributor of record gets the vendor's distributor
 * share, a distributor of record is paid the tier's share itself, the
 * vendor's own tier earns nothing; and the test vectors that pin each cell
 * of the table down.  Both are then uploaded like any policy version
 * (policies.h: compiled, the vectors run, stored; activated separately),
 * so the Lua editor stays for everything the table cannot say.
 */
#ifndef RD_SERVICES_MARGINS_H
#define RD_SERVICES_MARGINS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/model.h"
#include "services/service.h"

enum { RD_MARGIN_MODES = 2, RD_MARGIN_TIERS = 3 };

/* bp[mode][tier]: mode 0 the partner sells, 1 the vendor sells; tier 0
 * platinum, 1 gold, 2 silver. */
struct rd_margin_table {
	uint32_t bp[RD_MARGIN_MODES][RD_MARGIN_TIERS];
};

/* The names of the modes and tiers, as the policy and the form's fields
 * ("partner_platinum", ...) say them. */
extern const char *const rd_margin_modes[RD_MARGIN_MODES];
extern const char *const rd_margin_tiers[RD_MARGIN_TIERS];

/* The seed programme's table (scripts/policies/margin.lua). */
void rd_margin_table_default(struct rd_margin_table *m);

/* Whether every cell, with the vendor's deal bonus and distributor share
 * on top, stays within 10000 bp: 0, or RD_EINVAL with the field
 * ("partner_gold") and a sentence in e. */
int rd_margin_table_check(const struct rd_margin_table *m, const struct rd_vendor *v, struct rd_serr *e);

/* The policy's Lua source (a new string; its first line records the table)
 * and its test vectors (a new reference) for vendor v's settings. */
char *rd_margin_table_lua(const struct rd_margin_table *m);
json_t *rd_margin_table_vectors(const struct rd_margin_table *m, const struct rd_vendor *v);

/* The table a source made by rd_margin_table_lua records in its first
 * line: true, or false for any other source. */
bool rd_margin_table_parse(const char *source, struct rd_margin_table *m);

#endif
