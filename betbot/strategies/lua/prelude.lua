-- betbot's sandbox for DiceBot "programmer mode" scripts (Lua 5.1). Run once per runtime, in the runtime's
-- real global table, before any script code. It captures the real functions it needs as upvalues, builds
-- the script's environment `env` (the only table the script can reach), and returns a control table that
-- Python drives. Nothing here is reachable from the script except through the functions placed in `env`.
--
-- Arguments: `bridge` (Python callables: print, path, remove, rename, random, randomseed) and `cfg`
-- (budget, seconds, epoch, chunkname, site fields, currency, rep_cap, file_cap).
local bridge, cfg = ...

local type, tostring, tonumber, select, pairs, ipairs, next = type, tostring, tonumber, select, pairs, ipairs, next
local error, assert, setmetatable, getmetatable, rawget, rawset = error, assert, setmetatable, getmetatable, rawget, rawset
local real_pcall, real_xpcall, unpack, loadstring, setfenv = pcall, xpcall, unpack, loadstring, setfenv
local sethook = debug.sethook
local real_clock, os_time, os_date, os_difftime = os.clock, os.time, os.date, os.difftime
local io_open, io_type = io.open, io.type
local co_create, co_resume, co_yield, co_status, co_running = coroutine.create, coroutine.resume,
    coroutine.yield, coroutine.status, coroutine.running
local floor, huge = math.floor, math.huge
local s_lower, s_rep, s_format, s_find, s_sub = string.lower, string.rep, string.format, string.find, string.sub
local t_concat = table.concat

local py_print, py_path, py_remove, py_rename = bridge.print, bridge.path, bridge.remove, bridge.rename
local py_random, py_randomseed = bridge.random, bridge.randomseed

-- The budget: a count hook every HOOK_EVERY instructions; a call that runs past `budget` instructions or
-- `seconds` of CPU time is stopped. Once exhausted, the hook keeps failing and the sandbox's pcall passes
-- the error on, so a script cannot catch its way out of the budget.
local HOOK_EVERY = 10000
local budget, seconds = cfg.budget, cfg.seconds
local used, deadline, exhausted = 0, 0, nil

local function hook()
  used = used + HOOK_EVERY
  if exhausted == nil then
    if used == HOOK_EVERY then
      deadline = real_clock() + seconds  -- the CPU clock is read once a call has run a while, not per call
    elseif used > budget then
      exhausted = "instruction budget exhausted (" .. budget .. " instructions in one call: an endless loop?)"
    elseif real_clock() > deadline then
      exhausted = "time budget exhausted (" .. seconds .. " s of CPU in one call: an endless loop?)"
    end
  end
  if exhausted then error(exhausted, 2) end
end

-- The hook stays installed (so arming a call is one assignment); `used` restarts at every call.
sethook(hook, "", HOOK_EVERY)

-- The virtual clock. os.clock/os.time advance as they are read: the first read in a call by a
-- microsecond, each later read by 5 % of the time the call has already "spent", so a busy-wait of any
-- length ends after a few hundred reads, costing no wall time, and overshoots by at most 5 %.
local vclock, call_start = 0.0, 0.0
local epoch = cfg.epoch
local pause = 0.0

local function read_clock()
  local step = (vclock - call_start) * 0.05
  if step < 1e-6 then step = 1e-6 end
  vclock = vclock + step
  return vclock
end

-- The script's environment.
local env = {}
env._G = env
env._VERSION = _VERSION

local function refused(name)
  return function() error(name .. " is not allowed in betbot's sandbox", 2) end
end

local function unsupported(name)
  return function() error(name .. "() is not supported by betbot", 2) end
end

local function refused_table(name)
  return setmetatable({}, {
    __index = function(_, key) error(name .. "." .. tostring(key) .. " is not allowed in betbot's sandbox", 2) end,
    __newindex = function() error(name .. " is not allowed in betbot's sandbox", 2) end,
    __metatable = false,
  })
end

local function pack(...) return { n = select("#", ...), ... } end

local function copy(source)
  local out = {}
  for k, v in pairs(source) do out[k] = v end
  return out
end

for _, name in ipairs({ "assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring", "type",
                        "unpack", "rawequal", "rawget", "rawset", "setmetatable", "getmetatable" }) do
  env[name] = _G[name]
end

env.collectgarbage = function(opt, arg)
  if opt == nil or opt == "collect" or opt == "count" or opt == "step" then return collectgarbage(opt, arg) end
  error("collectgarbage('" .. tostring(opt) .. "') is not allowed in betbot's sandbox", 2)
end

for _, name in ipairs({ "require", "load", "loadstring", "loadfile", "dofile", "module", "setfenv", "getfenv",
                        "newproxy", "gcinfo" }) do
  env[name] = refused(name)
end
env.debug = refused_table("debug")
env.package = refused_table("package")

-- pcall/xpcall that cannot swallow an exhausted budget.
local function passed(results)
  if exhausted then error(type(results[2]) == "string" and results[2] or exhausted, 0) end
  return unpack(results, 1, results.n)
end
env.pcall = function(f, ...) return passed(pack(real_pcall(f, ...))) end
env.xpcall = function(f, handler) return passed(pack(real_xpcall(f, handler))) end

-- string: a copy, with string.rep capped and string.dump refused; the strings' own metatable points at it.
local rep_cap = cfg.rep_cap
env.string = copy(string)
env.string.dump = refused("string.dump")
env.string.rep = function(s, n)
  local size = #tostring(s) * (tonumber(n) or 0)
  if size > rep_cap then
    error(s_format("string.rep: a result of %.0f bytes is over the sandbox's %d-byte cap", size, rep_cap), 2)
  end
  return s_rep(s, n)
end
local string_meta = getmetatable("")
string_meta.__index = env.string
string_meta.__metatable = false

env.table = copy(table)
env.table.unpack = unpack  -- Lua 5.2 spelling (MoonSharp's), for scripts written against DiceBot 3
env.table.pack = function(...) return { n = select("#", ...), ... } end

env.math = copy(math)
env.math.random = function(m, n) return py_random(m, n) end
env.math.randomseed = function(x) py_randomseed(x) end

env.bit32 = nil

-- coroutines: every new coroutine gets the budget's hook too; resume passes an exhausted budget on.
env.coroutine = {
  create = function(f)
    local co = co_create(f)
    sethook(co, hook, "", HOOK_EVERY)
    return co
  end,
  resume = function(co, ...) return passed(pack(co_resume(co, ...))) end,
  yield = co_yield,
  status = co_status,
  running = co_running,
}
env.coroutine.wrap = function(f)
  local co = env.coroutine.create(f)
  return function(...)
    local results = pack(co_resume(co, ...))
    passed(results)
    if not results[1] then error(results[2], 0) end
    return unpack(results, 2, results.n)
  end
end

-- os: the virtual clock and the harmless date functions; files only inside the script's directory.
env.os = {
  clock = read_clock,
  time = function(t)
    if t ~= nil then return os_time(t) end
    return floor(epoch + read_clock())
  end,
  date = function(fmt, t)
    if t == nil then t = floor(epoch + vclock) end
    return os_date(fmt or "%c", t)
  end,
  difftime = os_difftime,
  remove = function(name) return py_remove(name) end,
  rename = function(old, new) return py_rename(old, new) end,
}
for _, name in ipairs({ "execute", "exit", "getenv", "tmpname", "setlocale" }) do
  env.os[name] = refused("os." .. name)
end

-- Files: a script's handle is a proxy; the real handle is kept where the script cannot reach it, and
-- every write is checked against the file size cap.
local file_cap = cfg.file_cap
local handles = setmetatable({}, { __mode = "k" })
local File = {}
local file_meta = { __index = File, __metatable = false,
                    __tostring = function(self) return "file (" .. tostring(handles[self] and "open") .. ")" end }

local function real(self)
  local fh = handles[self]
  if fh == nil then error("bad argument #1 (file expected)", 3) end
  return fh
end

function File:write(...)
  local fh = real(self)
  local add = 0
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    add = add + #(type(v) == "number" and s_format("%.14g", v) or tostring(v))
  end
  local cur = fh:seek("cur")
  local size = fh:seek("end")
  fh:seek("set", cur)
  if cur and size and (cur > size and cur or size) + add > file_cap then
    return nil, "file size cap reached (" .. file_cap .. " bytes per file in betbot's sandbox)"
  end
  local ok, err = fh:write(...)
  if not ok then return nil, err end
  return self
end
function File:read(...) return real(self):read(...) end
function File:lines() return real(self):lines() end
function File:seek(...) return real(self):seek(...) end
function File:flush() return real(self):flush() end
function File:setvbuf(...) return real(self):setvbuf(...) end
function File:close() return real(self):close() end

-- At most MAX_OPEN files open at once: the descriptors are the process's, which a live session needs too.
local MAX_OPEN = 16
local function open_count()
  local n = 0
  for _, fh in pairs(handles) do
    if io_type(fh) == "file" then n = n + 1 end
  end
  return n
end

local function open(name, mode)
  mode = mode or "r"
  if type(mode) ~= "string" or not s_find(mode, "^[rwa]%+?b?$") then
    error("bad argument #2 to 'open' (invalid mode '" .. tostring(mode) .. "')", 3)
  end
  local path, err = py_path(name, mode)
  if path == nil then return nil, err, 2 end
  if open_count() >= MAX_OPEN then
    collectgarbage("collect")  -- handles the script dropped without closing are closed by the collector
    if open_count() >= MAX_OPEN then
      return nil, tostring(name) .. ": too many open files (betbot's sandbox allows " .. MAX_OPEN .. " at once)", 24
    end
  end
  local fh, ferr, code = io_open(path, mode)
  if fh == nil then
    -- Lua's message names the absolute path; the script knows the file by its plain name.
    local at = s_find(ferr, ": ", 1, true)
    return nil, tostring(name) .. (at and s_sub(ferr, at) or ": cannot open"), code
  end
  local proxy = setmetatable({}, file_meta)
  handles[proxy] = fh
  return proxy
end

env.io = {
  open = function(name, mode) return open(name, mode) end,
  lines = function(name)
    local f, err = open(name, "r")
    if f == nil then error(err, 2) end
    return handles[f]:lines()
  end,
  close = function(f) return real(f):close() end,
  type = function(f)
    local fh = handles[f]
    if fh == nil then return nil end
    return io_type(fh)
  end,
}
for _, name in ipairs({ "popen", "read", "write", "input", "output", "tmpfile" }) do
  env.io[name] = refused("io." .. name)
end

-- DiceBot's functions.
local stop_requested, reseed_requested = false, false

env.print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  py_print(t_concat(parts, "\t"))
end
env.stop = function() stop_requested = true end
env.resetseed = function() reseed_requested = true end
env.sleep = function(ms)
  local s = (tonumber(ms) or 0) / 1000
  if s > 0 then
    pause = pause + s
    vclock = vclock + s
  end
end

for _, name in ipairs({ "withdraw", "invest", "tip", "getHistory", "getHistoryByDate", "getHistoryByQuery",
                        "runsim", "read", "readadv", "alarm", "ching", "resetbuiltin", "setvalueint",
                        "setvaluestring", "setvaluedecimal", "setvaluebool", "getvalue", "loadstrategy",
                        "resetpartialprofit", "vault", "scriptlog", "resetchart" }) do
  env[name] = unsupported(name)
end

-- The statistics the script sees, with resetstats()'s offsets.
local raw = { bets = 0, wins = 0, losses = 0, profit = 0, wagered = 0 }
local base = { bets = 0, wins = 0, losses = 0, profit = 0, wagered = 0 }

local function publish_stats()
  env.bets = raw.bets - base.bets
  env.wins = raw.wins - base.wins
  env.losses = raw.losses - base.losses
  env.profit = raw.profit - base.profit
  env.wagered = raw.wagered - base.wagered
end

env.resetstats = function()
  for k, v in pairs(raw) do base[k] = v end
  publish_stats()
end

-- Built-in progressions as helpers (MyDiceBot's martingale(win) and friends): the next amount.
local helpers = { fib = 0, line = nil }
local function unit() return tonumber(env.basebet) or 0 end
local function fib(n)
  local a, b = 1, 1
  for _ = 1, n do a, b = b, a + b end
  return a
end
env.martingale = function(won)
  if won then return unit() end
  return (tonumber(env.previousbet) or unit()) * 2
end
env.dalembert = function(won)
  local prev = tonumber(env.previousbet) or unit()
  if won then
    local n = prev - unit()
    if n < unit() then n = unit() end
    return n
  end
  return prev + unit()
end
env.fibonacci = function(won)
  if won then
    helpers.fib = helpers.fib - 2
    if helpers.fib < 0 then helpers.fib = 0 end
  else
    helpers.fib = helpers.fib + 1
  end
  return unit() * fib(helpers.fib)
end
env.labouchere = function(won)
  local line = helpers.line or { 1, 2, 3, 4 }
  local last = #line
  if won then
    table.remove(line, last)
    if #line > 0 then table.remove(line, 1) end
  else
    local lost = (last == 1) and line[1] or (line[1] + line[last])
    line[#line + 1] = lost
  end
  if #line == 0 then line = { 1, 2, 3, 4 } end
  helpers.line = line
  local n = #line
  return unit() * ((n == 1) and line[1] or (line[1] + line[n]))
end

-- lastBet: one proxy table, looked up case-insensitively; `date` is built when first read.
local last = {}
local last_time = epoch
local last_date = nil
-- The bet's time as DiceBot shows a date: year, month, day, hour, minute, second (Lua's min and sec too),
-- read in any letter case (lastBet.date.Year).
local date_meta = {
  __index = function(t, key)
    if type(key) == "string" then return rawget(t, s_lower(key)) end
    return nil
  end,
}
local function bet_date(at)
  local d = os_date("*t", floor(at))
  d.minute, d.second, d.millisecond = d.min, d.sec, floor((at % 1) * 1000)
  return setmetatable(d, date_meta)
end

local lastbet_meta = {
  __index = function(_, key)
    if type(key) ~= "string" then return nil end
    key = s_lower(key)
    if key == "date" then
      if last_date == nil then last_date = bet_date(last_time) end
      return last_date
    end
    return last[key]
  end,
  __newindex = function() end,
}
local lastbet = setmetatable({}, lastbet_meta)

env.site = { name = cfg.site_name, edge = cfg.site_edge, maxroll = 99.99, currency = cfg.currency }
env.currency = cfg.currency
env.chance = 49.5
env.bethigh = true
env.win = false
env.currentprofit = 0
env.currentstreak = 0
env.previousbet = 0
env.currentroll = 0
env.inflight = 0
env.balance = cfg.balance
env.lastBet = lastbet
env.lastbet = lastbet
publish_stats()

-- Running script code under the budget: pcall, so an error comes back as (false, message) with no
-- traceback appended, and the budget is fresh again afterwards whatever happened.
local function guarded(f, ...)
  call_start = vclock
  used, exhausted = 0, nil
  local ok, err = real_pcall(f, ...)
  used, exhausted = 0, nil
  if not ok then
    if type(err) ~= "string" then err = tostring(err) end
    return false, err
  end
  return true
end

local control = { env = env }

function control.load(source)
  -- Lua 5.1 would load precompiled bytecode too, and bytecode can break out of any sandbox: text only.
  if s_sub(source, 1, 1) == "\27" then return false, "precompiled Lua bytecode is not allowed; give the source" end
  local chunk, err = loadstring(source, cfg.chunkname)
  if chunk == nil then return false, err end
  setfenv(chunk, env)
  local ok, rerr = guarded(chunk)
  if not ok then return false, rerr end
  return true
end

local function decision()
  local p = pause
  pause = 0.0
  local s, r = stop_requested, reseed_requested
  stop_requested, reseed_requested = false, false
  return true, env.nextbet, env.chance, env.bethigh, env.currency, s, r, p
end

function control.decision() return decision() end

-- After each result, in order: the globals of dicebot-lua.md, then dobet(). Answers (nextbet, chance,
-- bethigh, false) when the script only chose its next bet, (nil, nil, nil, true) when it asked for more
-- (stop, resetseed, sleep, another currency: read them with decision()), (nil, nil, nil, message) on error.
local currency = cfg.currency
function control.step(amount, won, cprofit, roll, chance, high, nonce, id, balance, profit, wagered, bets, wins,
                      losses, streak, inflight, bet_currency, serverhash, clientseed)
  env.previousbet, env.nextbet, env.win, env.currentprofit, env.currentroll = amount, amount, won, cprofit, roll
  env.currentstreak, env.balance, env.inflight = streak, balance, inflight
  raw.bets, raw.wins, raw.losses, raw.profit, raw.wagered = bets, wins, losses, profit, wagered
  env.bets, env.wins, env.losses = bets - base.bets, wins - base.wins, losses - base.losses
  env.profit, env.wagered = profit - base.profit, wagered - base.wagered
  last.amount, last.totalamount, last.chance, last.roll, last.profit = amount, amount, chance, roll, cprofit
  last.high, last.nonce, last.id, last.currency, last.win = high, nonce, id, bet_currency, won
  last.serverhash, last.clientseed = serverhash, clientseed
  last_time, last_date = epoch + vclock, nil
  env.lastBet, env.lastbet = lastbet, lastbet
  local dobet = env.dobet
  if type(dobet) ~= "function" then return nil, nil, nil, "dobet is not a function any more (the script replaced it)" end
  local ok, err = guarded(dobet)
  if not ok then return nil, nil, nil, err end
  if stop_requested or reseed_requested or pause > 0 or env.currency ~= currency then return nil, nil, nil, true end
  return env.nextbet, env.chance, env.bethigh, false
end

function control.state()
  return { vclock = vclock, base = base, helpers = helpers }
end

function control.restore(state)
  if type(state) ~= "table" then return end
  if type(state.vclock) == "number" then vclock = state.vclock end
  if type(state.base) == "table" then
    for k in pairs(base) do base[k] = tonumber(state.base[k]) or 0 end
  end
  if type(state.helpers) == "table" then
    helpers.fib = tonumber(state.helpers.fib) or 0
    if type(state.helpers.line) == "table" then helpers.line = state.helpers.line end
  end
  publish_stats()
end

function control.now() return vclock end

return control
