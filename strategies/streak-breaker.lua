-- Streak breaker: flat base bets until the losing streak reaches `wait`, then a martingale on the
-- assumption that the streak will break (it has no memory: the point is to see currentstreak at work).
-- currentstreak is +N after N wins in a row and -N after N losses in a row.
--   betbot run --script strategies/streak-breaker.lua --max-bets 2000

basebet = 0.00000100
wait    = 3
chance  = 49.5
bethigh = false
nextbet = basebet

function dobet()
  if currentstreak > 0 then
    nextbet = basebet
  elseif currentstreak <= -wait then
    nextbet = previousbet * 2
  else
    nextbet = basebet
  end
end
