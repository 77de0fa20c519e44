-- renewd's default margin policy: the seed renewal programme.
--
--   publish mode   platinum   gold   silver
--   partner          33 %     25 %    20 %
--   vendor           20 %     20 %    15 %
--
-- A won deal registration adds the vendor's deal bonus to the reseller's
-- share; the distributor of record is paid the vendor's distributor share.
-- The contract (docs/policies.md): margin(line) returns (party, basis
-- points, reason) triples.

local shares = {
  partner = { platinum = 3300, gold = 2500, silver = 2000 },
  vendor  = { platinum = 2000, gold = 2000, silver = 1500 },
}

-- Reasons are built once, not per call.
local reasons, won_reasons = {}, {}
for mode, tiers in pairs(shares) do
  reasons[mode], won_reasons[mode] = {}, {}
  for tier in pairs(tiers) do
    reasons[mode][tier] = tier .. " tier, " .. mode .. "-published"
    won_reasons[mode][tier] = tier .. " tier, " .. mode .. "-published, plus the won deal registration bonus"
  end
end

function margin(line)
  local mode, tier = line.publish, line.partner.tier
  local bp = shares[mode] and shares[mode][tier]
  if not bp then
    return "reseller", 0, "no channel margin for tier " .. tostring(tier)
  end
  local reason = reasons[mode][tier]
  if line.deal == "won" then
    bp = bp + line.vendor.deal_bonus_bp
    reason = won_reasons[mode][tier]
  end
  local party = line.partner.kind == "distributor" and "distributor" or "reseller"
  if line.distributor and party == "reseller" then
    return party, bp, reason, "distributor", line.vendor.distributor_bp, "distributor of record"
  end
  return party, bp, reason
end
