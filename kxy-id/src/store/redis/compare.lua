-- Shared by the scripts: exact comparison of 64-bit integers held as decimal strings
-- (Lua numbers are doubles and would round values past 2^53).
local function canonical(s)
  return s == '0' or string.match(s, '^-?[1-9]%d*$') ~= nil
end
local function less(a, b)
  local an, bn = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
  if an ~= bn then return an end
  if an then a = string.sub(a, 2); b = string.sub(b, 2) end
  local lt
  if #a ~= #b then lt = #a < #b else lt = a < b end
  if an then return (not lt) and a ~= b end
  return lt
end
