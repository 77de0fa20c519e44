-- renewd's default lead-routing policy.
--
-- Each eligible partner is scored on the lead's region and country, its
-- specialisations against the product of interest, its tier for large
-- companies, and its open load.  A clear winner gets the lead for 48 hours;
-- otherwise the best few share it as a pool (the first to accept wins) for
-- 24 hours.  With no eligible partner the call fails, and renewd returns the
-- lead to the channel manager.

local tier_weight = { platinum = 2, gold = 1, silver = 0 }

local function contains(list, value)
  if value == nil then return false end
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

function route(lead, candidates, excluded)
  local scored = {}
  for _, c in ipairs(candidates) do
    if not excluded[c.id] then
      local s = 0
      if contains(c.regions, lead.region) then s = s + 3 end
      if contains(c.regions, lead.country) then s = s + 3 end
      if contains(c.specialisations, lead.product) then s = s + 2 end
      if lead.company_size == "enterprise" or lead.company_size == "large" then
        s = s + (tier_weight[c.tier] or 0)
      end
      s = s - c.open_load / 10 + c.acceptance_pct / 100
      scored[#scored + 1] = { id = c.id, score = s }
    end
  end
  if #scored == 0 then
    error("no eligible partner for this lead")
  end
  table.sort(scored, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    return a.id < b.id
  end)
  local best, second = scored[1], scored[2]
  if best.score >= 3 and (second == nil or best.score - second.score >= 1) then
    return "partner", best.id, 48, string.format("best match (score %.1f)", best.score)
  end
  local pool = {}
  for i = 1, math.min(5, #scored) do pool[i] = scored[i].id end
  return "pool", pool, 24, "no clear match: the first of the pool to accept takes it"
end
