-- Bit operators and their compound forms: the last four results as a bit mask.
nextbet = 0.01
chance = 49.5
mask = 0

function dobet()
  mask = mask << 1 | (win and 1 or 0) & 1
  mask &= 15
  local pattern = mask ^^ 5
  bethigh = pattern & 1 == 1
  chance = 30 + (mask >> 1) * 2 + (~mask & 3)
  local wide = 1 << 4 | 2 ^^ 3 & 6
  wide ^^= 1
  wide |= 64
  wide >>= 1
  wide <<= 2
  nextbet = 0.01 * (1 + (pattern & 7)) + wide / 100000
end
