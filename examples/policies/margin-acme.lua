-- A vendor's own margin policy (example): the seed programme, plus
--   * 2 points more for platinum resellers on enterprise customers,
--   * no margin at all on warranty-only renewals sold by the vendor,
--   * a referral fee of 5 % when a deal registration was approved but not won.
-- Push it with: renewctl --data DIR policy push --vendor acme --kind margin examples/policies/margin-acme.lua

local base = {
  partner = { platinum = 3300, gold = 2500, silver = 2000 },
  vendor  = { platinum = 2000, gold = 2000, silver = 1500 },
}

function margin(line)
  local tier = line.partner.tier
  local bp = (base[line.publish] or {})[tier] or 0
  local reason = tier .. " tier, " .. line.publish .. "-published"
  if tier == "platinum" and line.customer.segment == "enterprise" then
    bp = bp + 200
    reason = reason .. ", enterprise customer"
  end
  if line.deal == "won" then
    bp = bp + line.vendor.deal_bonus_bp
    reason = reason .. ", won deal registration"
  end
  if line.deal == "approved" then
    return "reseller", bp, reason, "referral", 500, "approved deal registration"
  end
  if line.distributor then
    return "reseller", bp, reason, "distributor", line.vendor.distributor_bp, "distributor of record"
  end
  return "reseller", bp, reason
end
