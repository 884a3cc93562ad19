-- D'Alembert with a pause after losing streaks, a file log, invest on profit and a stop target
-- uses getHistory() for a win rate check every 50 bets
base       = 0.00000200
nextbet    = base
chance     = 66
bethigh    = true
target     = 0.00010000
stoploss   = -0.00020000
pausems    = 1500
investpct  = 25
logfile    = "profit-stopper.log"

local clock = os.clock
function sleep2(ms)
  local t = clock()
  while clock() - t <= ms / 1000 do end
end

local f = io.open(logfile, "w")
if f then f:write("bet,roll,profit\n") f:close() end

function dobet()
  local f = io.open(logfile, "a")
  if f then f:write(bets .. "," .. lastBet.Roll .. "," .. string.format("%.8f", profit) .. "\n") f:close() end

  if win then
    nextbet = previousbet - base
  else
    nextbet = previousbet + base
  end
  if nextbet < base then nextbet = base end
  nextbet = +nextbet

  if currentstreak <= -5 then
    print("losing streak of " .. -currentstreak .. ", pausing")
    sleep2(pausems)
  end

  if bets % 50 == 0 then
    local h = getHistory()
    local w = 0
    for i = 0, h.Length - 1 do
      if h[i].PlayerWin then w += 1 end
    end
    print(string.format("win rate %.1f%% over %d bets", 100 * w / h.Length, h.Length))
  end

  if profit >= target then
    invest(profit * investpct / 100)
    print("target reached")
    stop()
  elseif profit <= stoploss then
    print("stop loss")
    stop()
  end
end
