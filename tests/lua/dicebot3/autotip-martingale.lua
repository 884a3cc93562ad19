-- Martingale with auto tip + auto withdraw (DiceBot 3)
-- tips the dev a part of every profit milestone, withdraws once the session profit is big
chance     = 49.5
basebet    = 0.00000100
nextbet    = basebet
bethigh    = true
multiplier = 2
maxlosses  = 10
tipto      = "seuntjie"
tippercent = 10       -- % of each milestone tipped
milestone  = 0.00001000
nexttip    = milestone
withdrawat = 0.0005
address    = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
autotip    = true
enablezz   = false

local losses = 0

function dobet()
  if !win then
    losses += 1
    nextbet = previousbet * multiplier
    if losses >= maxlosses then
      print("max losses reached, back to base")
      nextbet = basebet
      losses = 0
    end
  else
    losses = 0
    nextbet = basebet
  end

  if autotip and profit >= nexttip then
    tip(tipto, milestone * tippercent / 100)
    nexttip += milestone
  end

  if site.canwithdraw and profit >= withdrawat then
    withdraw(profit, address)
  end

  -- switch sides every 25 bets, like the zig zag option
  if bets % 25 == 0 then bethigh = !bethigh end
end
