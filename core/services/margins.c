/*
 * margins.c: the margin table as a Lua margin policy and its test vectors
 * (margins.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/margins.h"
#include "util/err.h"

const char *const rd_margin_modes[RD_MARGIN_MODES] = { "partner", "vendor" };
const char *const rd_margin_tiers[RD_MARGIN_TIERS] = { "platinum", "gold", "silver" };

#define HEADER "-- renewd margin table:"

void rd_margin_table_default(struct rd_margin_table *m)
{
	static const uint32_t seed[RD_MARGIN_MODES][RD_MARGIN_TIERS] = { { 3300, 2500, 2000 }, { 2000, 2000, 1500 } };
	memcpy(m->bp, seed, sizeof seed);
}

int rd_margin_table_check(const struct rd_margin_table *m, const struct rd_vendor *v, struct rd_serr *e)
{
	uint64_t extra = (uint64_t)v->deal_bonus_bp + v->distributor_bp;
	for (int i = 0; i < RD_MARGIN_MODES; i++)
		for (int j = 0; j < RD_MARGIN_TIERS; j++) {
			static const char *const fields[RD_MARGIN_MODES][RD_MARGIN_TIERS] = {
				{ "partner_platinum", "partner_gold", "partner_silver" },
				{ "vendor_platinum", "vendor_gold", "vendor_silver" },
			};
			if (m->bp[i][j] > 10000 || m->bp[i][j] + extra > 10000) {
				return rd_serr_set(e, RD_EINVAL, "invalid", fields[i][j],
						   "%s-published %s: %u bp with the deal bonus (%u bp) and the distributor "
						   "share (%u bp) is more than 100 %%",
						   rd_margin_modes[i], rd_margin_tiers[j], m->bp[i][j], v->deal_bonus_bp,
						   v->distributor_bp);
			}
		}
	return 0;
}

char *rd_margin_table_lua(const struct rd_margin_table *m)
{
	char head[200], table[400];
	snprintf(head, sizeof head, HEADER " partner %u %u %u; vendor %u %u %u\n", m->bp[0][0], m->bp[0][1], m->bp[0][2],
		 m->bp[1][0], m->bp[1][1], m->bp[1][2]);
	snprintf(table, sizeof table,
		 "local shares = {\n"
		 "  partner = { platinum = %u, gold = %u, silver = %u },\n"
		 "  vendor  = { platinum = %u, gold = %u, silver = %u },\n"
		 "}\n",
		 m->bp[0][0], m->bp[0][1], m->bp[0][2], m->bp[1][0], m->bp[1][1], m->bp[1][2]);
	static const char body[] =
		"--\n"
		"-- Made from the console's margin table (/vendor/margins): the reseller's\n"
		"-- share in basis points per publish mode and tier.  A won deal registration\n"
		"-- adds the vendor's deal bonus; the distributor of record is paid the\n"
		"-- vendor's distributor share (docs/policies.md).  Edit it as Lua for\n"
		"-- anything the table cannot say.\n"
		"\n"
		"%s"
		"\n"
		"local reasons, won_reasons = {}, {}\n"
		"for mode, tiers in pairs(shares) do\n"
		"  reasons[mode], won_reasons[mode] = {}, {}\n"
		"  for tier in pairs(tiers) do\n"
		"    reasons[mode][tier] = tier .. \" tier, \" .. mode .. \"-published\"\n"
		"    won_reasons[mode][tier] = tier .. \" tier, \" .. mode .. \"-published, plus the won deal registration bonus\"\n"
		"  end\n"
		"end\n"
		"\n"
		"function margin(line)\n"
		"  local mode, tier = line.publish, line.partner.tier\n"
		"  local bp = shares[mode] and shares[mode][tier]\n"
		"  if not bp then\n"
		"    return \"reseller\", 0, \"no channel margin for tier \" .. tostring(tier)\n"
		"  end\n"
		"  local reason = reasons[mode][tier]\n"
		"  if line.deal == \"won\" then\n"
		"    bp = bp + line.vendor.deal_bonus_bp\n"
		"    reason = won_reasons[mode][tier]\n"
		"  end\n"
		"  local party = line.partner.kind == \"distributor\" and \"distributor\" or \"reseller\"\n"
		"  if line.distributor and party == \"reseller\" then\n"
		"    return party, bp, reason, \"distributor\", line.vendor.distributor_bp, \"distributor of record\"\n"
		"  end\n"
		"  return party, bp, reason\n"
		"end\n";
	size_t n = strlen(head) + sizeof body + strlen(table) + 1;
	char *out = rd_malloc(n);
	int k = snprintf(out, n, "%s", head);
	snprintf(out + k, n - (size_t)k, body, table);
	return out;
}

static json_t *vector(const struct rd_vendor *v, const char *name, const char *kind, const char *tier, const char *mode,
		      const char *deal, bool distributor, json_t *expect)
{
	json_t *line = json_pack("{s:{s:i, s:s, s:s}, s:s, s:s, s:{s:s, s:s, s:s}, s:i, s:{s:i, s:s}, s:{s:s, s:s},"
				 " s:{s:I, s:I}}",
				 "partner", "id", 3, "kind", kind, "tier", tier, "publish", mode, "deal", deal, "product",
				 "sku", "SKU-1", "line", "Line", "term", "annual", "quantity", 10, "list", "amount", 100000,
				 "currency", v->currency[0] ? v->currency : "GBP", "customer", "segment", "smb", "country",
				 "GB", "vendor", "deal_bonus_bp", (json_int_t)v->deal_bonus_bp, "distributor_bp",
				 (json_int_t)v->distributor_bp);
	if (distributor)
		json_object_set_new(line, "distributor", json_integer(1));
	return json_pack("{s:s, s:o, s:o}", "name", name, "line", line, "expect", expect);
}

json_t *rd_margin_table_vectors(const struct rd_margin_table *m, const struct rd_vendor *v)
{
	json_t *a = json_array();
	char name[120];
	for (int i = 0; i < RD_MARGIN_MODES; i++)
		for (int j = 0; j < RD_MARGIN_TIERS; j++) {
			const char *mode = rd_margin_modes[i], *tier = rd_margin_tiers[j];
			json_int_t bp = m->bp[i][j];
			snprintf(name, sizeof name, "%s %s-published", tier, mode);
			json_array_append_new(a, vector(v, name, "reseller", tier, mode, "none", false,
							json_pack("[[s, I]]", "reseller", bp)));
			snprintf(name, sizeof name, "%s %s-published with a distributor", tier, mode);
			json_array_append_new(a, vector(v, name, "reseller", tier, mode, "none", true,
							json_pack("[[s, I], [s, I]]", "reseller", bp, "distributor",
								  (json_int_t)v->distributor_bp)));
			snprintf(name, sizeof name, "%s %s-published, won deal registration", tier, mode);
			json_array_append_new(a, vector(v, name, "reseller", tier, mode, "won", false,
							json_pack("[[s, I]]", "reseller", bp + (json_int_t)v->deal_bonus_bp)));
			snprintf(name, sizeof name, "%s %s-published, a distributor of record", tier, mode);
			json_array_append_new(a, vector(v, name, "distributor", tier, mode, "none", false,
							json_pack("[[s, I]]", "distributor", bp)));
		}
	json_array_append_new(a, vector(v, "the vendor's own tier earns nothing", "reseller", "vendor", "vendor", "none",
					false, json_pack("[[s, i]]", "reseller", 0)));
	return a;
}

bool rd_margin_table_parse(const char *source, struct rd_margin_table *m)
{
	unsigned x[6];
	char rest;
	if (!source || strncmp(source, HEADER, strlen(HEADER)))
		return false;
	if (sscanf(source + strlen(HEADER), " partner %u %u %u; vendor %u %u %u%c", &x[0], &x[1], &x[2], &x[3], &x[4],
		   &x[5], &rest) != 7 ||
	    rest != '\n')
		return false;
	for (int k = 0; k < 6; k++) {
		if (x[k] > 10000)
			return false;
		m->bp[k / 3][k % 3] = x[k];
	}
	return true;
}
