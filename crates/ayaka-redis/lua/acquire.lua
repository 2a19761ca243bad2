-- acquire: may one request on a route go now?
--
-- KEYS: route, blind, blinds, bucket, leases (the bucket the caller believes
-- the route uses, or stand-ins)
-- ARGV: now ('' = TIME), permit id, declared bucket ('' = none), lease ms,
--       margin ms, fallback ms, route ttl ms, idle ms
-- Reply: {0, wait_ms} wait | {1, seq, bucket} granted | {2, 0, ''} blind
--        request granted | {3, 0, bucket} the route uses another bucket
local now = clock(ARGV[1])
local permit = ARGV[2]
local declared = ARGV[3]
local lease_ms = tonumber(ARGV[4])
local margin = tonumber(ARGV[5])
local fallback = tonumber(ARGV[6])
local route_ttl = tonumber(ARGV[7])
local idle = tonumber(ARGV[8])

redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)

-- The blind key holds '<expiry ms>|<permit>'. Its expiry is checked
-- against `now` (PX only collects garbage), so an injected clock works.
local function blind()
    local holder = redis.call('GET', KEYS[2])
    if holder then
        local expiry = tonumber(string.match(holder, '^(%d+)|'))
        if expiry and expiry > now then
            -- Its answer wakes us; until then poll now and then.
            return {0, math.min(expiry - now, fallback), ''}
        end
    end
    redis.call('SET', KEYS[2], (now + lease_ms) .. '|' .. permit, 'PX', lease_ms)
    redis.call('ZADD', KEYS[3], now + lease_ms, permit)
    redis.call('PEXPIRE', KEYS[3], math.max(lease_ms, idle))
    return {2, 0, ''}
end

local mapped = redis.call('GET', KEYS[1])
if mapped and mapped ~= declared then
    return {3, 0, mapped}
end
local s = nil
if declared ~= '' then
    s = load_bucket(KEYS[4])
end
if not s then
    -- Unknown route, or its bucket's state was lost (expired, Redis
    -- restarted): learn it again with one blind request.
    if mapped then
        redis.call('DEL', KEYS[1])
    end
    return blind()
end
if not mapped then
    -- The route's entry expired while its bucket lives on: the caller
    -- learned the mapping from us, so it stands.
    redis.call('SET', KEYS[1], declared, 'PX', route_ttl)
end

expire_leases(KEYS[5], now)
roll(s, KEYS[5], now)

local wait = 0
if s.blk > now then
    wait = s.blk - now
elseif s.lim > 0 then
    local held_back = redis.call('ZCARD', KEYS[3])
    if s.used >= s.lim then
        if s.dl == 0 then
            local first = redis.call('ZRANGE', KEYS[5], 0, 0, 'WITHSCORES')
            if first[2] then
                -- No window known yet, but a response is due: it will tell.
                wait = math.min(tonumber(first[2]) - now, fallback)
            else
                -- Nothing will tell: make sure the bucket cannot wedge.
                s.dl = now + fallback + margin
                wait = s.dl - now
            end
        else
            wait = s.dl - now
        end
    elseif s.used + held_back >= s.lim then
        -- A blind request in flight may count against this bucket: keep
        -- its slot until it answers.
        local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
        wait = fallback
        if first[2] then
            wait = math.min(tonumber(first[2]) - now, fallback)
        end
    end
end

if wait > 0 then
    wait = math.max(1, math.ceil(wait))
    s.wait = math.max(s.wait, now + wait)
    save_bucket(KEYS[4], s, idle)
    return {0, wait, ''}
end

if s.lim > 0 then
    s.used = s.used + 1
end
redis.call('ZADD', KEYS[5], now + lease_ms, permit)
redis.call('PEXPIRE', KEYS[5], math.max(lease_ms, idle))
save_bucket(KEYS[4], s, idle)
return {1, s.seq, declared}
