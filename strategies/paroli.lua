-- Paroli: the positive progression. Double after a win, up to three wins in a row, then bank it and
-- start again; back to the base bet after any loss. Small losses, the occasional run of three wins.
--   betbot run --script strategies/paroli.lua --max-bets 1000

basebet  = 0.00000100
maxwins  = 3
chance   = 49.5
bethigh  = true
nextbet  = basebet

function dobet()
  if win and currentstreak < maxwins then
    nextbet = previousbet * 2
  else
    nextbet = basebet
  end
end
