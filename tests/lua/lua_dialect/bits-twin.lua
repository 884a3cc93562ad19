-- The plain Lua 5.1 twin of bits-sharplua.lua (precedence as C and Lua 5.3: | < ^^ < & < shifts < ..).
nextbet = 0.01
chance = 49.5
mask = 0

function dobet()
  mask = bit.bor(bit.lshift(mask, 1), bit.band(win and 1 or 0, 1))
  mask = bit.band(mask, 15)
  local pattern = bit.bxor(mask, 5)
  bethigh = bit.band(pattern, 1) == 1
  chance = 30 + bit.rshift(mask, 1) * 2 + bit.band(bit.bnot(mask), 3)
  local wide = bit.bor(bit.lshift(1, 4), bit.bxor(2, bit.band(3, 6)))
  wide = bit.bxor(wide, 1)
  wide = bit.bor(wide, 64)
  wide = bit.rshift(wide, 1)
  wide = bit.lshift(wide, 2)
  nextbet = 0.01 * (1 + bit.band(pattern, 7)) + wide / 100000
end
