-- Zig-zag: switch between high and low after every `every` losses in a row, with a martingale stake.
-- (Both sides have the same odds; switching only changes which rolls win.)
--   betbot run --script strategies/zigzag.lua --max-bets 1000

basebet = 0.00000100
every   = 2
chance  = 49.5
bethigh = true
nextbet = basebet

function dobet()
  if win then
    nextbet = basebet
  else
    nextbet = previousbet * 2
    if currentstreak % every == 0 then
      bethigh = not bethigh
    end
  end
end
