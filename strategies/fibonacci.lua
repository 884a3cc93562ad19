-- Fibonacci: stakes follow 1, 1, 2, 3, 5, 8, ... units; one step on after a loss, two back after a win.
--   betbot run --script strategies/fibonacci.lua --max-bets 1000

unit    = 0.00000100
chance  = 49.5
bethigh = true

fib  = { 1, 1 }
step = 1

local function units(n)
  while #fib < n do fib[#fib + 1] = fib[#fib] + fib[#fib - 1] end
  return fib[n]
end

nextbet = unit * units(step)

function dobet()
  if win then
    step = math.max(1, step - 2)
  else
    step = step + 1
  end
  nextbet = unit * units(step)
end
