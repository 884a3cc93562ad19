-- The plain Lua 5.1 twin of stray-end-sharplua.lua.
nextbet = 0.01
chance = 49.5

function dobet()
  if win then
    nextbet = 0.01
  else
    nextbet = previousbet * 1.5
  end
end
