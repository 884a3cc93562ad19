-- SharpLua's unary `+` is math.abs: a drift that only its size matters for.
nextbet = 0.01
chance = 49.5
drift = 0

function dobet()
  if win then drift = drift + 1 else drift = drift - 1 end
  nextbet = 0.01 + +drift * 0.001
  chance = 45 + +(drift % 7 - 3) * 2
  bethigh = +drift^2 > 4
end
