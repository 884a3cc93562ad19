-- SharpLua's `!=` and `!`: follow the side of the last roll, double after a loss.
nextbet = 0.01
chance = 49.5
bethigh = true
last = nil

function dobet()
  local side = currentroll > 50
  if last != nil and side != last then bethigh = !bethigh end
  last = side
  if !win and previousbet < 1 then
    nextbet = previousbet * 2
  else
    nextbet = 0.01
  end
  if !win == (currentstreak != -3) then chance = 60 else chance = 49.5 end
end
