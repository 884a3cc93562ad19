-- A coin flip for the side, and a random chance between 40 % and 60 %: math.random in a script.
-- betbot seeds math.random from the session's seed, so a run with --seed replays exactly.
--   betbot run --script strategies/random-side.lua --max-bets 500 --seed demo

basebet = 0.00000100
nextbet = basebet
chance  = 49.5
bethigh = true

function dobet()
  bethigh = math.random() < 0.5
  chance = math.random(40, 60)
  if win then nextbet = basebet else nextbet = previousbet * 2 end
end
