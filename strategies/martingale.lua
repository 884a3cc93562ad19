-- Classic martingale (DiceBot programmer mode).
-- Double the stake after every loss, back to the base bet after a win. One win recovers the whole
-- losing streak plus one base bet; the risk is the streak you cannot afford, so this one stops itself
-- after `maxdoubles` losses in a row rather than betting the house.
--   betbot script check strategies/martingale.lua
--   betbot run --script strategies/martingale.lua --max-bets 1000 --stop-loss 10%

basebet    = 0.00000100
multiplier = 2
maxdoubles = 12   -- 12 losses in a row cost 4095 base bets

chance  = 49.5
bethigh = true
nextbet = basebet

function dobet()
  if win then
    nextbet = basebet
  else
    if currentstreak <= -maxdoubles then
      print("martingale: " .. maxdoubles .. " losses in a row, stopping")
      stop()
    end
    nextbet = previousbet * multiplier
  end
end
