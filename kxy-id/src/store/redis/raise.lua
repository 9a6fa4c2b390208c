-- Raises KEYS[1] to at least ARGV[1] (see allocator.rs: decimal-string comparison).
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
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1])
  return {'created', ARGV[1]}
end
if not canonical(cur) or string.len(cur) > 20 then
  return {'corrupt', cur}
end
if less(cur, ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return {'raised', ARGV[1]}
end
return {'ahead', cur}
