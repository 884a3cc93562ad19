-- The 1 % hunter: a long wait for a 98x payout at 1 % chance.
-- Flat bets while the dry spell is short; every 50 losses in a row the stake goes up by a quarter, so a
-- hit late in a long streak still pays for the streak. Back to the base bet on a hit, and a stop once
-- the session is up by `target`.
--   betbot run --script strategies/one-percent-hunter.lua --max-bets 5000 --stop-loss 20%

basebet = 0.00000100
target  = 0.00050000
chance  = 1
bethigh = true
nextbet = basebet

dry = 0   -- losses since the last hit

function dobet()
  if win then
    dry = 0
    nextbet = basebet
    if profit >= target then
      print(string.format("hunter: hit after a dry spell; profit %.8f, done", profit))
      stop()
    end
  else
    dry = dry + 1
    if dry % 50 == 0 then
      nextbet = previousbet * 1.25
    end
  end
end
