-- The plain Lua 5.1 twin of unary-plus-sharplua.lua.
nextbet = 0.01
chance = 49.5
drift = 0

function dobet()
  if win then drift = drift + 1 else drift = drift - 1 end
  nextbet = 0.01 + math.abs(drift) * 0.001
  chance = 45 + math.abs(drift % 7 - 3) * 2
  bethigh = math.abs(drift^2) > 4
end
