-- identify release: give a lease back, or renew it.
--
-- KEYS: holders
-- ARGV: now ('' = TIME), lease id, renew ms (0 = release), wake channel
-- Reply: 1 if the lease was held, else 0
local now = clock(ARGV[1])
local id = ARGV[2]
local renew_ms = tonumber(ARGV[3])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if renew_ms > 0 then
    if not redis.call('ZSCORE', KEYS[1], id) then
        return 0
    end
    redis.call('ZADD', KEYS[1], now + renew_ms, id)
    if redis.call('PTTL', KEYS[1]) < renew_ms then
        redis.call('PEXPIRE', KEYS[1], renew_ms)
    end
    return 1
end
local held = redis.call('ZREM', KEYS[1], id)
if held == 1 then
    redis.call('PUBLISH', ARGV[4], 'free')
end
return held
