-- Low chance hunter v2 (DiceBot 3 programmer mode)
-- watches the rolls with zero bets until the wanted number has not come for a while, then hunts
-- settings -------------------------------------------------------
basebet   = 0.00000010
huntchance = 8
watchfor  = 15      -- rolls without a hit before hunting
increase  = 1.09    -- after each loss while hunting
targets   = {250, 500, 1000}   -- profit milestones in satoshi, printed when reached
------------------------------------------------------------------
resetstats()
chance   = huntchance
bethigh  = false
nextbet  = 0
nohit    = 0
hunting  = false
reached  = {}
print("hunting on " .. site.name .. " (edge " .. site.edge .. "%, max roll " .. site.maxroll .. ")")

function sat(x) return math.floor(x * 100000000 + 0.5) end

function dobet()
  if lastBet.Roll < huntchance then nohit = 0 else nohit += 1 end

  for i = 1, #targets do
    if reached[i] then continue end
    if sat(profit) >= targets[i] then
      reached[i] = true
      print("milestone " .. targets[i] .. " sat reached after " .. bets .. " bets")
    end
  end

  if hunting then
    if win then
      hunting = false
      nextbet = 0
      print("hit " .. lastBet.Roll .. " at bet " .. bets)
    else
      nextbet *= increase
    end
  elseif nohit >= watchfor and !hunting then
    hunting = true
    nextbet = basebet
  end
  if hunting != true then nextbet = 0 end
end
