-- betbot's sandbox for DiceBot "programmer mode" scripts (Lua 5.1). Run once per runtime, in the runtime's
-- real global table, before any script code. It captures the real functions it needs as upvalues, builds
-- the script's environment `env` (the only table the script can reach), and returns a control table that
-- Python drives. Nothing here is reachable from the script except through the functions placed in `env`.
--
-- Arguments: `bridge` (Python callables: print, path, remove, rename, random, randomseed) and `cfg`
-- (budget, seconds, epoch, chunkname, site fields, currency, rep_cap, file_cap, gaps, history_cap).
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

-- The budget: a count hook every HOOK_EVERY instructions; a call that runs past `budget` instructions,
-- `seconds` of CPU time or `wall` seconds of wall-clock time is stopped. Once exhausted, the hook keeps
-- failing and the sandbox's pcall/xpcall pass the error on, so a script cannot catch its way out of the
-- budget. The message names the script's own line (the innermost frame of the script's chunk), never a
-- line of this prelude, whichever sandbox function the script was inside when the budget ran out.
local HOOK_EVERY = 10000
local budget, seconds, wall = cfg.budget, cfg.seconds, cfg.wall
local used, deadline, wall_deadline, exhausted = 0, 0, 0, nil
local getinfo = debug.getinfo
local chunkname = cfg.chunkname
local script_name = s_sub(chunkname, 2)

local function where(level)
  while true do
    local info = getinfo(level, "Sl")
    if info == nil then return script_name .. ": " end
    if info.source == chunkname and info.currentline and info.currentline > 0 then
      return script_name .. ":" .. info.currentline .. ": "
    end
    level = level + 1
  end
end

local function hook()
  used = used + HOOK_EVERY
  if exhausted == nil then
    if used == HOOK_EVERY then
      -- The clocks are read once a call has run a while, not per call.
      deadline, wall_deadline = real_clock() + seconds, os_time() + wall
    elseif used > budget then
      exhausted = where(3) .. "instruction budget exhausted (" .. budget .. " instructions in one call: an endless loop?)"
    elseif real_clock() > deadline then
      exhausted = where(3) .. "time budget exhausted (" .. seconds .. " s of CPU in one call: an endless loop?)"
    elseif os_time() > wall_deadline then
      exhausted = where(3) .. "time budget exhausted (" .. wall .. " s of wall-clock time in one call)"
    end
  end
  if exhausted then error(exhausted, 0) end
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

local UNSUPPORTED_WHY = { getHistoryByQuery = "SQL over DiceBot's own bet database" }
local function unsupported(name)
  local why = UNSUPPORTED_WHY[name] or "a DiceBot GUI feature"
  return function() error(name .. "() is not supported by betbot (" .. why .. ")", 2) end
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

-- pcall/xpcall that cannot swallow an exhausted budget. xpcall's handler is never handed to the real
-- xpcall: Lua 5.1 runs a message handler inside the failing frame, with hooks off when the error came
-- from the budget's hook, so a handler that loops would never be stopped. It runs after the unwinding
-- instead, as plain code under the budget (a script's handler loses only the failing frame's traceback).
local function passed(results)
  if exhausted then error(exhausted, 0) end
  return unpack(results, 1, results.n)
end
env.pcall = function(f, ...) return passed(pack(real_pcall(f, ...))) end
env.xpcall = function(f, handler)
  local results = pack(real_pcall(f))
  if exhausted then error(exhausted, 0) end
  if results[1] then return unpack(results, 1, results.n) end
  local _, handled = real_pcall(handler, results[2])  -- a failing handler: its error is the result, as in 5.1
  if exhausted then error(exhausted, 0) end
  return false, handled
end

-- string: a copy, with string.rep capped, string.dump refused and the pattern functions bounded; the
-- strings' own metatable points at it.
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

-- Lua's pattern matcher runs inside one C call, where no hook fires, and it backtracks: `a*a*a*b` over
-- 5000 characters is about 5000^4 steps. So before a match the worst case is estimated from the pattern's
-- shape, and a call whose bound is over `pattern_work` runs in patterns.lua instead: the same matcher
-- written in Lua, slower, but under the budget like any script code (a hopeless pattern ends with the
-- budget's one line at the script's line; an ordinary one over a long string just takes its time). The
-- bound: every `*`, `+`, `-`, `%b` and back-reference can range over the whole subject (n + 1 ways),
-- except a last quantifier that only captures may follow (it never backtracks); an unanchored search
-- tries n + 1 starts; each step costs the pattern's length.
local pattern_work = cfg.pattern_work
local shapes, shape_count = {}, 0

local function shape(p)
  local known = shapes[p]
  if known then return known[1], known[2] end
  local n, i, spans, anchored, last_free = #p, 1, 0, s_sub(p, 1, 1) == "^", false
  if anchored then i = 2 end
  while i <= n do
    local c = s_sub(p, i, i)
    local single = true
    if c == "(" or c == ")" then
      single = false
      i = i + 1
    elseif c == "%" then
      local d = s_sub(p, i + 1, i + 1)
      if d == "b" then
        spans, single, i = spans + 1, false, i + 4
      elseif d == "f" then
        single, i = false, i + 2
        if s_sub(p, i, i) == "[" then i = i + 1 end
        if s_sub(p, i, i) == "^" then i = i + 1 end
        if s_sub(p, i, i) == "]" then i = i + 1 end
        while i <= n and s_sub(p, i, i) ~= "]" do i = i + (s_sub(p, i, i) == "%" and 2 or 1) end
        i = i + 1
      elseif s_find(d, "^%d$") then
        spans, single, i = spans + 1, false, i + 2
      else
        i = i + 2
      end
    elseif c == "[" then
      i = i + 1
      if s_sub(p, i, i) == "^" then i = i + 1 end
      if s_sub(p, i, i) == "]" then i = i + 1 end
      while i <= n and s_sub(p, i, i) ~= "]" do i = i + (s_sub(p, i, i) == "%" and 2 or 1) end
      i = i + 1
    else
      i = i + 1
    end
    if single then
      local q = s_sub(p, i, i)
      if q == "*" or q == "+" or q == "-" then
        spans, i = spans + 1, i + 1
        last_free = not s_find(p, "[^)]", i)
      elseif q == "?" then
        i = i + 1
      end
    end
  end
  if last_free then spans = spans - 1 end
  if shape_count >= 256 then shapes, shape_count = {}, 0 end
  shapes[p], shape_count = { spans, anchored }, shape_count + 1
  return spans, anchored
end

local patterns_code, budgeted = cfg.patterns, nil
local function budgeted_matcher()  -- loaded the first time it is needed: most scripts never need it
  if budgeted == nil then budgeted = loadstring(patterns_code, "=patterns.lua")() end
  return budgeted
end

local function bounded(name, real_fn, anchorable)
  return function(s, p, ...)
    local subject = type(s) == "number" and tostring(s) or s
    local pattern = type(p) == "number" and tostring(p) or p
    if type(subject) == "string" and type(pattern) == "string" and not (name == "find" and select(2, ...)) then
      local n = #subject
      if n * (#pattern + 1) > 64 then
        local spans, anchored = shape(pattern)
        local work = (#pattern + 1) * ((anchored and anchorable) and 1 or n + 1) * (n + 1) ^ spans
        if work > pattern_work then
          local results = pack(real_pcall(budgeted_matcher()[name], s, p, ...))
          if exhausted then error(exhausted, 0) end
          if not results[1] then error(tostring(results[2]), 2) end  -- at the script's line, as C's would be
          return unpack(results, 2, results.n)
        end
      end
    end
    return real_fn(s, p, ...)
  end
end
env.string.find = bounded("find", string.find, true)
env.string.match = bounded("match", string.match, true)
env.string.gmatch = bounded("gmatch", string.gmatch, false)
env.string.gsub = bounded("gsub", string.gsub, true)

-- SharpLua's extra string function: split on a plain separator (never a pattern), empty pieces kept.
env.string.split = function(s, sep)
  s = tostring(s)
  sep = sep == nil and " " or tostring(sep)
  local out, start = {}, 1
  if sep == "" then
    for k = 1, #s do out[k] = s_sub(s, k, k) end
    return out
  end
  while true do
    local at, stop = s_find(s, sep, start, true)
    if at == nil then break end
    out[#out + 1] = s_sub(s, start, at - 1)
    start = stop + 1
  end
  out[#out + 1] = s_sub(s, start)
  return out
end

local string_meta = getmetatable("")
string_meta.__index = env.string
string_meta.__metatable = false

env.table = copy(table)
env.table.unpack = unpack  -- Lua 5.2 spelling (MoonSharp's), for scripts written against DiceBot 3
env.table.pack = function(...) return { n = select("#", ...), ... } end
-- SharpLua's extras: the first key holding a value, and a shallow copy.
env.table.find = function(t, value)
  for k, v in pairs(t) do
    if v == value then return k end
  end
  return nil
end
env.table.copy = function(t) return copy(t) end

env.math = copy(math)
env.math.random = function(m, n) return py_random(m, n) end
env.math.randomseed = function(x) py_randomseed(x) end
-- SharpLua's extras. math.round is .NET's Math.Round: to `digits` places, a tie to the even neighbour.
env.math.round = function(x, digits)
  x = tonumber(x)
  if x == nil then error("bad argument #1 to 'round' (number expected)", 2) end
  local scale = 10 ^ (tonumber(digits) or 0)
  local y = x * scale
  local r = floor(y + 0.5)
  if r - y == 0.5 and r % 2 ~= 0 then r = r - 1 end
  return r / scale
end
env.math.factorial = function(n)
  n = tonumber(n)
  if n == nil or n < 0 or n ~= floor(n) then error("bad argument #1 to 'factorial' (a whole number >= 0 expected)", 2) end
  local f = 1
  for k = 2, (n > 170 and 171 or n) do f = f * k end
  return f
end

env.tobool = function(v)
  if type(v) == "boolean" then return v end
  if type(v) == "number" then return v ~= 0 end
  if type(v) == "string" then
    local w = s_lower(v)
    if w == "true" or w == "1" or w == "yes" then return true end
    if w == "false" or w == "0" or w == "no" or w == "" then return false end
    return nil
  end
  return v ~= nil
end

-- bit (LuaBitOp's names; 32-bit results as signed numbers) and bit32 (Lua 5.2's; unsigned), both done
-- in Python on 32-bit integers: Lua 5.1 has no bit operators of its own.
local py_bits = bridge.bits
local function bit_library(names, label)
  local lib = {}
  for name in string.gmatch(names, "%S+") do
    -- A Lua closure per function around the one Python callable: the script never holds a Python
    -- object; a bad argument comes back as text and is raised here, at the script's line.
    lib[name] = function(...)
      local result, problem = py_bits(label, name, ...)
      if problem ~= nil then error("bad argument to '" .. label .. "." .. name .. "' (" .. problem .. ")", 2) end
      return result
    end
  end
  return lib
end
env.bit = bit_library(cfg.bit_names, "bit")
env.bit32 = bit_library(cfg.bit32_names, "bit32")

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

-- The caps on the script's files: per file, and for the whole directory (kept up to date by every write).
local file_cap, dir_cap = cfg.file_cap, cfg.dir_cap
local py_used = bridge.used
-- Bytes in the script's directory: read when a file is opened for writing (a write needs such a handle),
-- removed or renamed, and kept up to date by every write in between.
local dir_used = 0

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
  remove = function(name)
    local ok, err = py_remove(name)
    dir_used = py_used()
    return ok, err
  end,
  rename = function(old, new)
    local ok, err = py_rename(old, new)
    dir_used = py_used()
    return ok, err
  end,
}
for _, name in ipairs({ "execute", "exit", "getenv", "tmpname", "setlocale" }) do
  env.os[name] = refused("os." .. name)
end

-- Files: a script's handle is a proxy; the real handle is kept where the script cannot reach it, and
-- every write is checked against the file size cap.
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
  local grows = (cur and size) and (cur + add - size) or add
  if grows > 0 then
    if dir_used + grows > dir_cap then
      -- Not nil-and-a-message: a script that ignores write's result would go on filling the disk.
      error(s_format("the script's files would pass the %d-byte cap of its directory (%s); delete old files "
                     .. "there or write less", dir_cap, cfg.files_dir), 2)
    end
    dir_used = dir_used + grows
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
  if mode ~= "r" and mode ~= "rb" then dir_used = py_used() end  -- "w" may have truncated a file
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

env.wait = env.sleep  -- DiceBot's other name for it

-- The DiceBot functions betbot skips or lacks, as `cfg.gaps` lists them (one Python mapping:
-- betbot.strategies.lua.surface.DICEBOT_GAPS). "skip": the call moves money (tip, withdraw, invest),
-- which betbot never does: it is reported to Python (the name, the amount, the script's line) and the
-- script goes on. "noop": a GUI alert, harmless to leave out. "unsupported": one line naming the
-- function and the script's line, instead of Lua's "attempt to call a nil value".
local py_skipped = bridge.skipped
for name, kind in string.gmatch(cfg.gaps, "(%w+)=(%w+)") do
  if kind == "skip" then
    env[name] = function(...)
      -- tip(user, amount); withdraw(amount, address); invest(amount)
      local amount = tonumber((select(name == "tip" and 2 or 1, ...)))
      local place = where(2)
      py_skipped(name, amount, s_sub(place, 1, #place - 2))
    end
  elseif kind == "noop" then
    env[name] = function() end
  elseif kind == "session" then
    -- getHistory and getHistoryByDate: defined with lastBet, below
  else
    env[name] = unsupported(name)
  end
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
local helpers = { fib = 0, line = nil, preset = 1 }
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
-- DiceBot's preset list: amounts in units of basebet (the script's `presets` table, else betbot's
-- preset-list default 1, 2, 3, 5, 8), back to the first after a win, on to the next after a loss, looping.
local DEFAULT_PRESETS = { 1, 2, 3, 5, 8 }
env.presetlist = function(won)
  local list = type(env.presets) == "table" and #env.presets > 0 and env.presets or DEFAULT_PRESETS
  if won then helpers.preset = 1 else helpers.preset = (helpers.preset or 1) + 1 end
  if helpers.preset > #list then helpers.preset = 1 end
  return unit() * (tonumber(list[helpers.preset]) or 0)
end

-- lastBet: one proxy table, looked up case-insensitively; `date` is built when first read.
local last = { uid = 0, verified = false }  -- serverseed stays nil: the site reveals it only after a rotation
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
    elseif key == "betdate" then
      return os_date("%Y-%m-%d %H:%M:%S", floor(last_time))
    elseif key == "playerwin" then
      return last.win
    elseif key == "guid" then
      return last.id
    end
    return last[key]
  end,
  __newindex = function() end,
}
local lastbet = setmetatable({}, lastbet_meta)

-- getHistory() and getHistoryByDate(from, until): DiceBot answers from its database of every bet on the
-- site; betbot from the bets settled since the script was loaded (the ones the journal holds for this
-- session), the last `cfg.history_cap` of them. Rows are kept only when the script's text names
-- getHistory (most scripts never do: no cost per bet for them). The answer has the shape of DiceBot's
-- .NET array: indexed from 0, `Length` rows, oldest first, each row with lastBet's fields in any case.
local history_cap, history_on = cfg.history_cap, false
local history, history_count = {}, 0
local ROW_TIME = {}  -- a row's time, under a key no script can write by name
local row_meta = {
  __index = function(row, key)
    if type(key) ~= "string" then return nil end
    key = s_lower(key)
    if key == "date" then return bet_date(row[ROW_TIME])
    elseif key == "betdate" then return os_date("%Y-%m-%d %H:%M:%S", floor(row[ROW_TIME]))
    elseif key == "playerwin" then return rawget(row, "win")
    elseif key == "guid" then return rawget(row, "id")
    end
    return rawget(row, key)
  end,
}

local function remember_bet()
  local row = setmetatable({
    amount = last.amount, totalamount = last.amount, chance = last.chance, roll = last.roll,
    profit = last.profit, high = last.high, nonce = last.nonce, id = last.id, currency = last.currency,
    win = last.win, serverhash = last.serverhash, clientseed = last.clientseed, uid = 0, verified = false,
    [ROW_TIME] = last_time,
  }, row_meta)
  history[history_count % history_cap + 1] = row
  history_count = history_count + 1
end

local function history_rows(from, till)
  local out, n = {}, 0
  local first = history_count > history_cap and history_count - history_cap or 0
  for k = first, history_count - 1 do
    local row = history[k % history_cap + 1]
    local at = row[ROW_TIME]
    if from == nil or (at >= from and at <= till) then
      out[n] = row
      n = n + 1
    end
  end
  out.Length = n
  return out
end

-- A date as DiceBot's DateTime.Parse (invariant culture) reads the usual ones: "2024-05-01",
-- "2024-05-01 13:45[:00]" (or with a T), "05/01/2024 [13:45[:00]]" (month first); nil otherwise.
local s_match = string.match
local function parse_date(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, rest = s_match(text, "^%s*(%d%d%d%d)-(%d%d?)-(%d%d?)(.-)%s*$")
  if y == nil then mo, d, y, rest = s_match(text, "^%s*(%d%d?)/(%d%d?)/(%d%d%d%d)(.-)%s*$") end
  if y == nil then return nil end
  local h, mi, se = 0, 0, 0
  if rest ~= "" then
    h, mi, se = s_match(rest, "^[T ]%s*(%d%d?):(%d%d):?(%d?%d?)$")
    if h == nil then return nil end
  end
  y, mo, d, h, mi, se = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(se) or 0
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or se > 59 then return nil end
  return os_time({ year = y, month = mo, day = d, hour = h, min = mi, sec = se })
end

env.getHistory = function() return history_rows() end
env.getHistoryByDate = function(from, till)
  local t0, t1 = parse_date(from), parse_date(till)
  if t0 == nil or t1 == nil then
    local bad = t0 == nil and from or till
    error("getHistoryByDate() cannot read the date '" .. tostring(bad) .. "': write it as 'YYYY-MM-DD HH:MM:SS'", 2)
  end
  return history_rows(t0, t1)
end

-- `site`: DuckDice as DiceBot 3 describes it (DuckDice.cs), read in any letter case (site.Balance, site.balance);
-- the session's figures are brought up to date before every dobet().
local site = {
  name = cfg.site_name, edge = cfg.site_edge, maxroll = 99.99, currency = cfg.currency, cantip = true,
  tipusingname = true, canwithdraw = false, canresetseed = true, caninvest = false, siteurl = cfg.site_url,
}
local site_balance = cfg.balance
local insensitive_meta = {
  -- The session's figures are read when asked for (not copied before every dobet: most scripts never ask).
  __index = function(_, key)
    if type(key) ~= "string" then return nil end
    key = s_lower(key)
    if key == "balance" then return site_balance end
    if key == "wins" or key == "losses" or key == "profit" or key == "wagered" or key == "bets" then return raw[key] end
    return site[key]
  end,
  __newindex = function() end,
}
env.site = setmetatable({}, insensitive_meta)
env.currencies = {}
for name in string.gmatch(cfg.currencies, "%S+") do env.currencies[#env.currencies + 1] = name end
env.enablersc, env.enablezz = false, false
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

local control = { env = env, patterns = budgeted_matcher }  -- patterns: for the tests that compare it with C

function control.load(source)
  -- Lua 5.1 would load precompiled bytecode too, and bytecode can break out of any sandbox: text only.
  if s_sub(source, 1, 1) == "\27" then return false, "precompiled Lua bytecode is not allowed; give the source" end
  history_on = s_find(source, "getHistory", 1, true) ~= nil
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

-- After each result, in order: the globals of docs/dicebot-scripts.md, then dobet(). Answers (nextbet, chance,
-- bethigh, false) when the script only chose its next bet, (nil, nil, nil, true) when it asked for more
-- (stop, resetseed, sleep, another currency: read them with decision()), (nil, nil, nil, message) on error.
local currency = cfg.currency

-- DiceBot keeps the previous value of nextbet, chance or bethigh that dobet() left nil or not a
-- number/boolean (a numeric string counts as its number); Python is told, and says so once per name.
local py_kept = bridge.kept
local function kept(nb, ch, bh, amount, chance_before, high_before)
  if type(nb) ~= "number" then
    local n = type(nb) == "string" and tonumber(nb) or nil
    if n == nil then py_kept("nextbet", type(nb)) end
    nb = n or amount
    env.nextbet = nb
  end
  if type(ch) ~= "number" then
    local n = type(ch) == "string" and tonumber(ch) or nil
    if n == nil then py_kept("chance", type(ch)) end
    ch = n or chance_before
    env.chance = ch
  end
  if type(bh) ~= "boolean" then
    py_kept("bethigh", type(bh))
    bh = high_before
    env.bethigh = bh
  end
  return nb, ch, bh
end

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
  last_time, last_date, site_balance = epoch + vclock, nil, balance
  if history_on then remember_bet() end
  env.lastBet, env.lastbet = lastbet, lastbet
  local dobet = env.dobet
  if type(dobet) ~= "function" then return nil, nil, nil, "dobet is not a function any more (the script replaced it)" end
  local chance_before, high_before = env.chance, env.bethigh
  local ok, err = guarded(dobet)
  if not ok then return nil, nil, nil, err end
  local nb, ch, bh = env.nextbet, env.chance, env.bethigh
  if type(nb) ~= "number" or type(ch) ~= "number" or type(bh) ~= "boolean" then
    nb, ch, bh = kept(nb, ch, bh, amount, chance_before, high_before)
  end
  if stop_requested or reseed_requested or pause > 0 or env.currency ~= currency then return nil, nil, nil, true end
  return nb, ch, bh, false
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
    helpers.preset = tonumber(state.helpers.preset) or 1
    if type(state.helpers.line) == "table" then helpers.line = state.helpers.line end
  end
  publish_stats()
end

function control.now() return vclock end

return control
