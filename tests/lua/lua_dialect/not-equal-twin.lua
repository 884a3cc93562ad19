-- The plain Lua 5.1 twin of not-equal-sharplua.lua.
nextbet = 0.01
chance = 49.5
bethigh = true
last = nil

function dobet()
  local side = currentroll > 50
  if last ~= nil and side ~= last then bethigh = not bethigh end
  last = side
  if not win and previousbet < 1 then
    nextbet = previousbet * 2
  else
    nextbet = 0.01
  end
  if (not win) == (currentstreak ~= -3) then chance = 60 else chance = 49.5 end
end
