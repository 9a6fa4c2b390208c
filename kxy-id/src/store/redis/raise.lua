-- Raises KEYS[1] to at least ARGV[1] (see allocator.rs: decimal-string comparison).
-- (canonical and less come from compare.lua, prepended when the script is loaded)
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
