-- A pause between bets the way public scripts do it: a busy-wait on os.clock.
-- In betbot os.clock is a virtual clock that advances as it is read, so this costs no wall time in a
-- simulation and never freezes a live session; DiceBot's own sleep(ms) is the better way to pause.
--   betbot run --script strategies/busywait-sleep.lua --max-bets 200

local clock = os.clock
function sleep(n)  -- seconds; this script's own sleep, as in the wild (it replaces DiceBot's sleep(ms))
  local t0 = clock()
  while clock() - t0 <= n do end
end

basebet = 0.00000100
delay   = 0.75
chance  = 66
bethigh = false
nextbet = basebet

function dobet()
  sleep(delay)
  if win then
    nextbet = basebet
  else
    nextbet = previousbet * 3
  end
end
