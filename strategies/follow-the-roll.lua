-- Follow the roll: bet on the side the last roll landed on (lastBet.Roll), with a martingale stake.
-- Superstition, not strategy (every roll is independent), but it is the classic example of reading
-- the last bet: lastBet.Roll, lastBet.Chance, lastBet.Amount work in any letter case (lastbet.roll too).
--   betbot run --script strategies/follow-the-roll.lua --max-bets 500

basebet = 0.00000100
chance  = 49.5
bethigh = true
nextbet = basebet

function dobet()
  bethigh = lastBet.Roll >= 50
  if win then
    nextbet = basebet
  else
    nextbet = lastbet.amount * 2
  end
end
