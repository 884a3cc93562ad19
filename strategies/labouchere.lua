-- Labouchere (the cancellation system): bet the first plus the last number of a line of units.
-- A win crosses both off; a loss writes the units lost at the end. Clearing the line wins its sum
-- (10 units with 1, 2, 3, 4), and the line starts again.
--   betbot run --script strategies/labouchere.lua --max-bets 1000

unit    = 0.00000100
start   = { 1, 2, 3, 4 }
chance  = 49.5
bethigh = false

local function copy(t)
  local out = {}
  for i, v in ipairs(t) do out[i] = v end
  return out
end

line = copy(start)

local function stake()
  if #line == 1 then return line[1] * unit end
  return (line[1] + line[#line]) * unit
end

nextbet = stake()

function dobet()
  if win then
    table.remove(line, #line)
    if #line > 0 then table.remove(line, 1) end
    if #line == 0 then line = copy(start) end
  else
    line[#line + 1] = previousbet / unit
  end
  nextbet = stake()
end
