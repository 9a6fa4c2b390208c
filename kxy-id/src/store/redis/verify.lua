-- Checks KEYS[1] against its durable mark ARGV[2] ('' when the key has none) in the Redis
-- process whose run_id is ARGV[1]: raises the counter to the mark, then records the run_id in
-- the marker KEYS[2] (only beside a counter that exists, so unknown keys leave nothing).
-- (canonical and less come from compare.lua, prepended when the script is loaded)
local cur = redis.call('GET', KEYS[1])
if cur and (not canonical(cur) or string.len(cur) > 20) then
  return {'corrupt', cur}
end
if ARGV[2] ~= '' and (not cur or less(cur, ARGV[2])) then
  redis.call('SET', KEYS[1], ARGV[2])
  cur = ARGV[2]
end
if cur then
  redis.call('SET', KEYS[2], ARGV[1])
end
return {'ok', cur or ''}
