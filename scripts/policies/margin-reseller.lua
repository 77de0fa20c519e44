-- renewd margin policy for a reseller programme shaped like the reseller
-- e-mail seed: resellers earn 20 % on annual and flex plans; monthly and
-- quarterly plans earn no margin.  The distributor of record, if any, is
-- paid the vendor's distributor share as in the default policy.

local paid_terms = { annual = true, flex = true }

function margin(line)
  local term = line.product.term
  local bp, reason = 0, "no margin on " .. tostring(term) .. " plans in the reseller programme"
  if paid_terms[term] then
    bp, reason = 2000, "reseller programme: 20 % on " .. term .. " plans"
  end
  if line.distributor then
    return "reseller", bp, reason, "distributor", line.vendor.distributor_bp, "distributor of record"
  end
  return "reseller", bp, reason
end
