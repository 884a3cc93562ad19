-- A tip to a friend after a big win, guarded by a setting that is off: public scripts ship like this.
-- betbot does not support tip() (nor withdraw or invest): with `autotip = false` the call is never
-- reached and the script runs; set it to true and the session stops with an error naming tip and the line.
--   betbot run --script strategies/tip-guarded.lua --max-bets 500

autotip   = false
tipto     = "friend"
tipamount = 0.00001000

basebet = 0.00000100
chance  = 49.5
bethigh = true
nextbet = basebet

function dobet()
  if win and currentprofit > 0.00000300 and autotip then
    tip(tipto, tipamount)
  end
  if win then nextbet = basebet else nextbet = previousbet * 2 end
end
