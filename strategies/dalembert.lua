-- D'Alembert: one unit more after a loss, one unit less after a win (never below one unit).
-- A gentle negative progression: the stake grows linearly, not geometrically.
--   betbot run --script strategies/dalembert.lua --max-bets 1000

unit    = 0.00000100
chance  = 49.5
bethigh = false
nextbet = unit

function dobet()
  if win then
    nextbet = previousbet - unit
    if nextbet < unit then nextbet = unit end
  else
    nextbet = previousbet + unit
  end
end
