-- Compound assignments on names, indexes and fields; an index with a side effect runs twice, as in SharpLua.
nextbet = 0.01
chance = 49.5
counts = { 0, 0 }
cfg = { step = { up = 0.004 } }
label = ""
calls = 0

local function slot()
  calls += 1
  return 2
end

function dobet()
  if win then
    counts[1] += 1
    nextbet -= 0.003
    label ..= "w"
    cfg.step.up /= 2
  else
    counts[slot()] += 1
    nextbet += cfg.step.up * 2
    cfg.step.up *= 1.5
    label ..= "l" .. calls
  end
  if cfg.step.up > 0.05 then cfg.step.up %= 0.05 end
  if nextbet < 0.01 then nextbet = 0.01 end
  local squared = counts[1]
  squared ^= 2
  chance = 30 + (squared + calls) % 40
  bethigh = #label % 3 != 0
end
