-- "Binary walker": picks the side from the bits of a counter, SharpLua bit operators
-- (DiceBot 3 turns & | << >> ^^ into bit.* calls)
chance   = 49.5
base     = 0.00000050
nextbet  = base
bethigh  = true
counter  = 0
mask     = 0
lossmask = 0

function dobet()
  counter += 1
  -- remember the last 8 results as bits: 1 = win
  mask = ((mask << 1) | (win and 1 or 0)) & 255
  if !win then lossmask |= 1 << (counter % 8) else lossmask &= ~(1 << (counter % 8)) end

  bethigh = ((counter >> 1) ^^ (mask & 1)) & 1 == 1

  local streaklen = 0
  local m = mask
  for i = 1, 8 do
    if m & 1 != 0 then break end
    streaklen += 1
    m = m >> 1
  end

  if streaklen >= 2 then nextbet = base * (streaklen) else nextbet = base end
  if bit.band(lossmask, 255) == 255 then
    print("8 losses in the mask at " .. lastBet.Id .. " nonce " .. lastbet.nonce)
    lossmask = 0
  end
end
