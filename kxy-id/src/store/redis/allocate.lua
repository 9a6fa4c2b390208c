-- Hands out the next ARGV[1] IDs of KEYS[1] (see allocator.rs for why it reads the value back).
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then return r end
return redis.call('GET', KEYS[1])
