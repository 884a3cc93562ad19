-- Logging every bet to a file, rotated: the pattern of many public scripts.
-- betbot confines the files to this script's own directory under betbot's data directory
-- ($XDG_DATA_HOME/betbot/scripts/file-log/): plain names only, a size cap per file.
-- When bets.log reaches `maxlines` lines it becomes bets.1.log (the older bets.1.log is removed).
--   betbot run --script strategies/file-log.lua --max-bets 500

basebet  = 0.00000100
maxlines = 100
chance   = 49.5
bethigh  = true
nextbet  = basebet

lines = 0
local log = assert(io.open("bets.log", "w"))
log:write("bet,roll,win,amount,profit,time\n")
log:close()

local function rotate()
  os.remove("bets.1.log")
  assert(os.rename("bets.log", "bets.1.log"))
  lines = 0
end

function dobet()
  local d = lastBet.date
  local f = assert(io.open("bets.log", "a"))
  f:write(string.format("%d,%.2f,%s,%.8f,%.8f,%04d-%02d-%02d %02d:%02d:%02d\n", bets, lastBet.Roll,
          tostring(win), lastBet.Amount, currentprofit, d.year, d.month, d.day, d.hour, d.minute, d.second))
  f:close()
  lines = lines + 1
  if lines >= maxlines then rotate() end
  if win then
    nextbet = basebet
  else
    nextbet = previousbet * 2
  end
end
