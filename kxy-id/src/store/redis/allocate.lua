-- Hands out the next ARGV[1] IDs of KEYS[1]. ARGV[2] is the largest value this server saw the
-- counter take: a counter below it went back (Redis lost writes, or someone rewound it) and is
-- reported as {'behind', value} without a change. A missing counter is reported (nil), never
-- created by INCRBY; an overflow or a non-integer value makes INCRBY fail without a change.
-- The new value is read back with GET, exact past 2^53.
-- (canonical and less come from compare.lua, prepended when the script is loaded)
local cur = redis.call('GET', KEYS[1])
if not cur then return false end
-- Counters hold 0 or more; a negative value is corrupt (written by hand or by another tool).
if string.sub(cur, 1, 1) == '-' then return {'corrupt', cur} end
if canonical(cur) and string.len(cur) <= 20 and less(cur, ARGV[2]) then
  return {'behind', cur}
end
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then return r end
return redis.call('GET', KEYS[1])
