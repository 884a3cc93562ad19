-- Coloured output with ANSI escape codes, as many public scripts print it. The colours show in
-- `betbot script check`; betbot's logs strip them. Flat bets that stop at a profit target.
--   betbot script check strategies/ansi-print.lua

green, red, reset = "\27[32m", "\27[31m", "\27[0m"

basebet = 0.00000100
target  = 0.00000300
chance  = 60
bethigh = false
nextbet = basebet

function dobet()
  local colour = win and green or red
  print(string.format("%s#%d %s %.2f%s profit %.8f", colour, bets, win and "WIN " or "LOSS",
                      currentroll, reset, profit))
  if profit >= target then
    print(green .. "target reached" .. reset)
    stop()
  end
end
