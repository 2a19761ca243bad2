-- identify acquire: take one of `capacity` identify leases, or learn how
-- long until the first one expires.
--
-- KEYS: holders (sorted set: member = lease id, score = expiry ms)
-- ARGV: now ('' = TIME), lease id, capacity, lease ms
-- Reply: {1, 0} held | {0, wait_ms} all taken
local now = clock(ARGV[1])
local id = ARGV[2]
local capacity = tonumber(ARGV[3])
local lease_ms = tonumber(ARGV[4])

-- Holders that neither released nor renewed in time are gone.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZCARD', KEYS[1]) < capacity then
    redis.call('ZADD', KEYS[1], now + lease_ms, id)
    if redis.call('PTTL', KEYS[1]) < lease_ms then
        redis.call('PEXPIRE', KEYS[1], lease_ms)
    end
    return {1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(first[2]) - now)}
