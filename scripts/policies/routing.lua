-- renewd's default lead-routing policy.
--
-- 1. Partners excluded for this lead (they let it lapse or declined it) and
--    inactive partners (no lead accepted or closed for over 30 days;
--    last_active_days is -1 for a partner that never had one) are left out.
-- 2. Each remaining partner is scored on the lead's region (3) and country
--    (3), its specialisations against the product of interest (2), and its
--    tier for large companies (platinum 2, gold 1).
-- 3. A match of 3 or more gets the lead for 48 hours.  When several partners
--    share the best score, the lead goes round robin by weight: to the one
--    with the fewest open leads per unit of weight ((open_load + 1) /
--    weight), then the higher acceptance rate, then the lower id.  A partner
--    of weight 2 thus gets about twice the leads of a partner of weight 1.
-- 4. Without such a match the best five share it as a pool (the first to
--    accept wins) for 24 hours.
-- With no eligible partner the call fails, and renewd returns the lead to
-- the channel manager.

local tier_weight = { platinum = 2, gold = 1, silver = 0 }
local INACTIVE_DAYS = 30

local function contains(list, value)
  if value == nil then return false end
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

local function per_weight(c)
  local w = c.weight
  if w == nil or w < 1 then w = 1 end
  return (c.open_load + 1) / w
end

function route(lead, candidates, excluded)
  local scored, inactive = {}, 0
  for _, c in ipairs(candidates) do
    if not excluded[c.id] then
      if c.last_active_days ~= nil and c.last_active_days > INACTIVE_DAYS then
        inactive = inactive + 1
      else
        local s = 0
        if contains(c.regions, lead.region) then s = s + 3 end
        if contains(c.regions, lead.country) then s = s + 3 end
        if contains(c.specialisations, lead.product) then s = s + 2 end
        if lead.company_size == "enterprise" or lead.company_size == "large" then
          s = s + (tier_weight[c.tier] or 0)
        end
        scored[#scored + 1] = { id = c.id, score = s, load = per_weight(c), acc = c.acceptance_pct }
      end
    end
  end
  if #scored == 0 then
    error("no eligible partner for this lead")
  end
  table.sort(scored, function(a, b)
    if a.score ~= b.score then return a.score > b.score end
    if a.load ~= b.load then return a.load < b.load end
    if a.acc ~= b.acc then return a.acc > b.acc end
    return a.id < b.id
  end)
  local skipped = ""
  if inactive > 0 then
    skipped = string.format("; %d inactive partner(s) skipped", inactive)
  end
  local best = scored[1]
  if best.score >= 3 then
    local tied = 0
    for _, s in ipairs(scored) do
      if s.score == best.score then tied = tied + 1 end
    end
    if tied > 1 then
      return "partner", best.id, 48, string.format(
        "best match (score %d), shared by %d: round robin by weight, fewest open leads per weight (%.2f)%s",
        best.score, tied, best.load, skipped)
    end
    return "partner", best.id, 48, string.format("best match (score %d)%s", best.score, skipped)
  end
  local pool = {}
  for i = 1, math.min(5, #scored) do pool[i] = scored[i].id end
  return "pool", pool, 24, "no clear match: the first of the pool to accept takes it" .. skipped
end
