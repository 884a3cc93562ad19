-- The plain Lua 5.1 twin of continue-sharplua.lua.
nextbet = 0.01
chance = 49.5
rolls = {}

function dobet()
  rolls[#rolls + 1] = currentroll
  local total, counted = 0, 0
  for i = #rolls, 1, -1 do
    if rolls[i] >= 20 then
      if counted == 5 then break end
      total = total + rolls[i]
      counted = counted + 1
    end
  end
  local highs = 0
  for _, r in ipairs(rolls) do
    if r > 50 then
      highs = highs + 1
    end
  end
  local j, odd = 0, 0
  while j < #rolls do
    j = j + 1
    if j % 2 ~= 0 then
      odd = odd + 1
      if odd > 7 then break end
    end
  end
  chance = 20 + total / math.max(counted, 1) / 5 + odd
  bethigh = highs % 2 == 0
  nextbet = 0.01 * (1 + counted)
end
