-- A stray top-level `end`: DiceBot ignores the rest of the file, so does betbot.
nextbet = 0.01
chance = 49.5

function dobet()
  if win then
    nextbet = 0.01
  else
    nextbet = previousbet * 1.5
  end
end
end
this line is not Lua at all, and nextbet = 5 never runs
