-- Lua 5.1's pattern matching (lstrlib.c: match, str_find_aux, gmatch, gsub) written again in Lua, so that
-- it runs under the sandbox's instruction and time budget. The C matcher runs inside one C call, where no
-- hook fires: a backtracking pattern (`a*a*a*b` over 5000 characters) would run for hours there. The
-- sandbox sends a call here only when the pattern's worst case over that string is too large for C (see
-- `bounded` in prelude.lua); everything else takes the C path. Same results, same errors, same corner cases
-- as lstrlib.c of Lua 5.1 (tests/lua/test_lua_patterns.py compares the two on generated patterns).
--
-- Loaded by the prelude (betbot's own bytecode, never a script's) with the real string functions.
local s_sub, s_byte, s_find, s_len, s_format = string.sub, string.byte, string.find, string.len, string.format
local t_concat, tostring, tonumber, type, error, select, unpack = table.concat, tostring, tonumber, type, error,
    select, unpack

local CAP_UNFINISHED, CAP_POSITION = -1, -2
local PERCENT, LBRACKET, RBRACKET, CARET, DOLLAR = 37, 91, 93, 94, 36
local LPAREN, RPAREN, DOT = 40, 41, 46
local STAR, PLUS, MINUS, QUESTION = 42, 43, 45, 63

-- A character class ("%d", "[a-z]", ".", "x") as the set of the 256 bytes it matches, decided once by the
-- C matcher on each one-character string: the same classes as C by construction, then one table lookup
-- per character matched.
local s_char = string.char
local class_sets, class_count = {}, 0
local function class_set(cls)
  local set = class_sets[cls]
  if set == nil then
    set = {}
    local anchored = "^" .. cls
    for b = 0, 255 do
      if s_find(s_char(b), anchored) then set[b] = true end
    end
    if class_count >= 512 then class_sets, class_count = {}, 0 end
    class_sets[cls], class_count = set, class_count + 1
  end
  return set
end

local function class_end(p, plen, i)
  local c = s_byte(p, i)
  i = i + 1
  if c == PERCENT then
    if i > plen then error("malformed pattern (ends with '%')", 0) end
    return i + 1
  elseif c == LBRACKET then
    if s_byte(p, i) == CARET then i = i + 1 end
    repeat  -- look for a ']' (the first character of the set may be one)
      if i > plen then error("malformed pattern (missing ']')", 0) end
      local cc = s_byte(p, i)
      i = i + 1
      if cc == PERCENT and i <= plen then i = i + 1 end
    until s_byte(p, i) == RBRACKET
    return i + 1
  end
  return i
end

-- Whether the character at si matches the class at pi..ep-1 (the pattern's sets are looked up once per
-- match state and position).
local function single(ms, si, pi, ep)
  if si > ms.slen then return false end
  local sets = ms.sets
  local set = sets[pi]
  if set == nil then
    set = class_set(s_sub(ms.p, pi, ep - 1))
    sets[pi] = set
  end
  return set[s_byte(ms.s, si)] == true
end

local do_match

local function max_expand(ms, si, pi, ep)
  local i = 0
  while single(ms, si + i, pi, ep) do i = i + 1 end
  while i >= 0 do
    local r = do_match(ms, si + i, ep + 1)
    if r then return r end
    i = i - 1
  end
  return nil
end

local function min_expand(ms, si, pi, ep)
  while true do
    local r = do_match(ms, si, ep + 1)
    if r then return r end
    if single(ms, si, pi, ep) then si = si + 1 else return nil end
  end
end

local function start_capture(ms, si, pi, what)
  local level = ms.level + 1
  ms.init[level], ms.len[level], ms.level = si, what, level
  local r = do_match(ms, si, pi)
  if r == nil then ms.level = ms.level - 1 end
  return r
end

local function end_capture(ms, si, pi)
  local l = nil
  for k = ms.level, 1, -1 do
    if ms.len[k] == CAP_UNFINISHED then l = k break end
  end
  if l == nil then error("invalid pattern capture", 0) end
  ms.len[l] = si - ms.init[l]
  local r = do_match(ms, si, pi)
  if r == nil then ms.len[l] = CAP_UNFINISHED end
  return r
end

local function match_balance(ms, si, pi)
  local s, slen, p = ms.s, ms.slen, ms.p
  if pi + 1 > ms.plen then error("unbalanced pattern", 0) end
  local b, e = s_byte(p, pi), s_byte(p, pi + 1)
  if si > slen or s_byte(s, si) ~= b then return nil end
  local cont, i = 1, si + 1
  while i <= slen do
    local c = s_byte(s, i)
    if c == e then
      cont = cont - 1
      if cont == 0 then return i + 1 end
    elseif c == b then
      cont = cont + 1
    end
    i = i + 1
  end
  return nil
end

local function match_capture(ms, si, digit)
  local l = digit - 48  -- '1' is capture 1
  if l < 1 or l > ms.level or ms.len[l] == CAP_UNFINISHED then error("invalid capture index", 0) end
  local len, init = ms.len[l], ms.init[l]
  -- A position capture's length is CAP_POSITION: C reads it as a size_t, too long for any rest of the
  -- subject, so a back-reference to it never matches.
  if len >= 0 and ms.slen - si + 1 >= len and s_sub(ms.s, init, init + len - 1) == s_sub(ms.s, si, si + len - 1) then
    return si + len
  end
  return nil
end

do_match = function(ms, si, pi)
  local s, slen, p, plen = ms.s, ms.slen, ms.p, ms.plen
  while true do
    if pi > plen then return si end
    local c = s_byte(p, pi)
    local default = false
    if c == LPAREN then
      if s_byte(p, pi + 1) == RPAREN then return start_capture(ms, si, pi + 2, CAP_POSITION) end
      return start_capture(ms, si, pi + 1, CAP_UNFINISHED)
    elseif c == RPAREN then
      return end_capture(ms, si, pi + 1)
    elseif c == PERCENT then
      local d = s_byte(p, pi + 1)
      if d == 98 then  -- %b
        si = match_balance(ms, si, pi + 2)
        if si == nil then return nil end
        pi = pi + 4
      elseif d == 102 then  -- %f
        pi = pi + 2
        if s_byte(p, pi) ~= LBRACKET then error("missing '[' after '%f' in pattern", 0) end
        local ep = class_end(p, plen, pi)
        local set = class_set(s_sub(p, pi, ep - 1))
        local before = si > 1 and s_byte(s, si - 1) or 0
        local here = si <= slen and s_byte(s, si) or 0
        if not set[before] and set[here] then pi = ep else return nil end
      elseif d and d >= 48 and d <= 57 then  -- %0-9: a back-reference
        si = match_capture(ms, si, d)
        if si == nil then return nil end
        pi = pi + 2
      else
        default = true
      end
    elseif c == DOLLAR and pi == plen then
      if si == slen + 1 then return si end
      return nil
    else
      default = true
    end
    if default then
      local ends = ms.ends
      local ep = ends[pi]
      if ep == nil then
        ep = class_end(p, plen, pi)
        ends[pi] = ep
      end
      local q = s_byte(p, ep)
      if q == QUESTION then
        if single(ms, si, pi, ep) then
          local r = do_match(ms, si + 1, ep + 1)
          if r then return r end
        end
        pi = ep + 1
      elseif q == STAR then
        return max_expand(ms, si, pi, ep)
      elseif q == PLUS then
        if not single(ms, si, pi, ep) then return nil end
        return max_expand(ms, si + 1, pi, ep)
      elseif q == MINUS then
        return min_expand(ms, si, pi, ep)
      else
        if not single(ms, si, pi, ep) then return nil end
        si, pi = si + 1, ep
      end
    end
  end
end

local function state(s, p)
  return { s = s, slen = #s, p = p, plen = #p, level = 0, init = {}, len = {}, sets = {}, ends = {} }
end

local function one_capture(ms, i, si, e)
  if i > ms.level then
    if i == 1 then return s_sub(ms.s, si, e - 1) end
    error("invalid capture index", 0)
  end
  local len = ms.len[i]
  if len == CAP_UNFINISHED then error("unfinished capture", 0) end
  if len == CAP_POSITION then return ms.init[i] end
  return s_sub(ms.s, ms.init[i], ms.init[i] + len - 1)
end

local function captures(ms, si, e, whole)
  local n = (ms.level == 0 and whole) and 1 or ms.level
  local out = {}
  for i = 1, n do out[i] = one_capture(ms, i, si, e) end
  return out, n
end

local function check_string(value, n, name)
  local kind = type(value)
  if kind == "string" then return value end
  if kind == "number" then return tostring(value) end
  error(s_format("bad argument #%d to '%s' (string expected, got %s)", n, name, value == nil and "no value" or kind), 0)
end

local function check_integer(value, n, name, default)
  if value == nil then return default end
  local number = tonumber(value)
  if number == nil then
    error(s_format("bad argument #%d to '%s' (number expected, got %s)", n, name, type(value)), 0)
  end
  return number >= 0 and math.floor(number) or math.ceil(number)
end

local function find_aux(find, s, p, init, plain)
  local name = find and "find" or "match"
  s, p = check_string(s, 1, name), check_string(p, 2, name)
  local ls = #s
  init = check_integer(init, 3, name, 1)
  if init < 0 then init = ls + init + 1 end
  init = init - 1
  if init < 0 then init = 0 elseif init > ls then init = ls end
  if find and (plain or not s_find(p, "[%^%$%*%+%?%.%(%[%%%-]")) then
    return s_find(s, p, init + 1, true)
  end
  local pi, anchor = 1, s_byte(p, 1) == CARET
  if anchor then pi = 2 end
  local ms = state(s, p)
  local s1 = init + 1
  repeat
    ms.level = 0
    local e = do_match(ms, s1, pi)
    if e then
      if find then
        local caps, n = captures(ms, nil, 0, false)
        return s1, e - 1, unpack(caps, 1, n)
      end
      local caps, n = captures(ms, s1, e, true)
      return unpack(caps, 1, n)
    end
    s1 = s1 + 1
  until s1 > ls + 1 or anchor
  return nil
end

local patterns = {}

function patterns.find(s, p, init, plain) return find_aux(true, s, p, init, plain) end
function patterns.match(s, p, init) return find_aux(false, s, p, init, nil) end

function patterns.gmatch(s, p)
  s, p = check_string(s, 1, "gmatch"), check_string(p, 2, "gmatch")
  local ms = state(s, p)
  local src = 1
  return function()
    while src <= ms.slen + 1 do
      ms.level = 0
      local e = do_match(ms, src, 1)
      if e then
        local start = src
        src = (e == src) and e + 1 or e  -- an empty match: go at least one position on
        local caps, n = captures(ms, start, e, true)
        return unpack(caps, 1, n)
      end
      src = src + 1
    end
    return nil
  end
end

local function add_value(ms, out, si, e, repl, kind)
  local value
  if kind == "string" or kind == "number" then
    local news = tostring(repl)
    local parts, k, l = {}, 1, #news
    while k <= l do
      local c = s_byte(news, k)
      if c ~= PERCENT then
        parts[#parts + 1] = s_sub(news, k, k)
      else
        k = k + 1
        local d = s_byte(news, k)
        if d == nil then
          parts[#parts + 1] = "\0"  -- C reads the string's terminating NUL after a final '%'
        elseif d < 48 or d > 57 then
          parts[#parts + 1] = s_sub(news, k, k)
        elseif d == 48 then
          parts[#parts + 1] = s_sub(ms.s, si, e - 1)
        else
          parts[#parts + 1] = tostring(one_capture(ms, d - 48, si, e))
        end
      end
      k = k + 1
    end
    out[#out + 1] = t_concat(parts)
    return
  elseif kind == "function" then
    local caps, n = captures(ms, si, e, true)
    value = repl(unpack(caps, 1, n))
  else
    value = repl[one_capture(ms, 1, si, e)]
  end
  if not value then
    out[#out + 1] = s_sub(ms.s, si, e - 1)
  elseif type(value) == "string" or type(value) == "number" then
    out[#out + 1] = tostring(value)
  else
    error("invalid replacement value (a " .. type(value) .. ")", 0)
  end
end

function patterns.gsub(s, p, repl, max_n)
  s, p = check_string(s, 1, "gsub"), check_string(p, 2, "gsub")
  local kind = type(repl)
  if kind ~= "number" and kind ~= "string" and kind ~= "function" and kind ~= "table" then
    error("bad argument #3 to 'gsub' (string/function/table expected)", 0)
  end
  local srcl = #s
  max_n = check_integer(max_n, 4, "gsub", srcl + 1)
  local pi, anchor = 1, s_byte(p, 1) == CARET
  if anchor then pi = 2 end
  local ms = state(s, p)
  local out, src, n = {}, 1, 0
  while n < max_n do
    ms.level = 0
    local e = do_match(ms, src, pi)
    if e then
      n = n + 1
      add_value(ms, out, src, e, repl, kind)
    end
    if e and e > src then
      src = e
    elseif src <= srcl then
      out[#out + 1] = s_sub(s, src, src)
      src = src + 1
    else
      break
    end
    if anchor then break end
  end
  out[#out + 1] = s_sub(s, src)
  return t_concat(out), n
end

return patterns
