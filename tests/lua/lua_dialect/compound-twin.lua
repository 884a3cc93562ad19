-- The plain Lua 5.1 twin of compound-sharplua.lua.
nextbet = 0.01
chance = 49.5
counts = { 0, 0 }
cfg = { step = { up = 0.004 } }
label = ""
calls = 0

local function slot()
  calls = calls + 1
  return 2
end

function dobet()
  if win then
    counts[1] = counts[1] + 1
    nextbet = nextbet - 0.003
    label = label .. "w"
    cfg.step.up = cfg.step.up / 2
  else
    local _ = counts[slot()]  -- SharpLua writes the target twice: the index runs twice
    counts[slot()] = counts[2] + 1
    nextbet = nextbet + (cfg.step.up * 2)
    cfg.step.up = cfg.step.up * 1.5
    label = label .. ("l" .. calls)
  end
  if cfg.step.up > 0.05 then cfg.step.up = cfg.step.up % 0.05 end
  if nextbet < 0.01 then nextbet = 0.01 end
  local squared = counts[1]
  squared = squared ^ 2
  chance = 30 + (squared + calls) % 40
  bethigh = #label % 3 ~= 0
end
