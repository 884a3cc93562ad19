-- Labouchere with a preset line from text, a seed reset every 100 bets and a bet log in memory
-- paste the line as text, numbers in units of the base bet
line_text = "1,2,3,2,1"
unit      = 0.00000100
chance    = 49.5
bethigh   = false

line = {}
for i, v in ipairs(string.split(line_text, ",")) do line[i] = tonumber(v) end
orig = table.copy(line)
log  = ""

function amount()
  if #line == 0 then line = table.copy(orig) end
  if #line == 1 then return line[1] * unit end
  return (line[1] + line[#line]) * unit
end

nextbet = amount()

function dobet()
  local n = previousbet / unit
  if win then
    table.remove(line, 1)
    if #line > 0 then table.remove(line) end
  else
    line[#line + 1] = math.round(n, 0)
  end
  if #line > 12 then line = table.copy(orig) end
  nextbet = amount()

  log ..= (win and "W" or "L")
  if #log >= 50 then
    local w = select(2, string.gsub(log, "W", ""))
    print("last 50: " .. w .. " wins, balance " .. string.format("%.8f", balance))
    log = ""
  end

  local k = bets
  k %= 100
  if k == 0 then
    resetseed()
    print("seed reset, server hash was " .. tostring(lastBet.serverhash))
  end
  if table.find(orig, 5) != nil then stop() end
end
end
-- everything below the stray end above is ignored by DiceBot (old copy of the settings)
line_text = "5,5,5"
