-- complete: a request ended; release its lease and learn from its response.
--
-- KEYS: route, blind, blinds, lease bucket, lease leases, response bucket,
--       response leases (stand-ins where there is no such bucket)
-- ARGV: [1] now ('' = TIME), [2] permit id, [3] lease bucket ('' = none),
--       [4] lease window seq (-1 = not known), [5] blind (1/0),
--       [6] outcome: none | ok | limited, [7] response bucket ('' = none),
--       [8] limit, [9] remaining, [10] reset-after ms, [11] window ms,
--       [12] raw Reset usable to tell windows apart ('' = none),
--       [13] block ms on 429 (else the fallback wait), [14] margin ms, [15] route ttl ms,
--       [16] idle ms, [17] wake channel, [18] route part (for wake-ups)
-- Reply: the response bucket's window seq, or 0.
local now = clock(ARGV[1])
local permit = ARGV[2]
local lease_bucket = ARGV[3]
local lease_seq = tonumber(ARGV[4])
local was_blind = ARGV[5] == '1'
local outcome = ARGV[6]
local bucket = ARGV[7]
local limit = opt_number(ARGV[8])
local remaining = opt_number(ARGV[9])
local reset_after = opt_number(ARGV[10])
local window = opt_number(ARGV[11])
local reset_id = opt_number(ARGV[12])
local block = tonumber(ARGV[13])
local margin = tonumber(ARGV[14])
local route_ttl = tonumber(ARGV[15])
local idle = tonumber(ARGV[16])
local channel = ARGV[17]
local route_part = ARGV[18]

if was_blind then
    local holder = redis.call('GET', KEYS[2])
    if holder and string.match(holder, '|(.*)$') == permit then
        redis.call('DEL', KEYS[2])
    end
    redis.call('ZREM', KEYS[3], permit)
    -- Waiters on the route, and buckets holding a slot back for it.
    redis.call('PUBLISH', channel, 'r:' .. route_part)
end

local released = 0
local lease_state = nil
if lease_bucket ~= '' then
    released = redis.call('ZREM', KEYS[5], permit)
    if lease_bucket ~= bucket or outcome == 'none' then
        lease_state = load_bucket(KEYS[4])
        if lease_state and lease_state.wait > now then
            -- Someone sleeps on it: a lease fewer may let them go.
            lease_state.wait = 0
            save_bucket(KEYS[4], lease_state, idle)
            redis.call('PUBLISH', channel, 'b:' .. lease_bucket)
        end
    end
end

if outcome == 'none' or bucket == '' then
    -- No response (transport error, timeout, cancelled): the request may
    -- have counted, so its slot stays taken until the window rolls.
    return 0
end

if was_blind or bucket ~= lease_bucket then
    redis.call('SET', KEYS[1], bucket, 'PX', route_ttl)
end

local s = load_bucket(KEYS[6]) or new_bucket()
expire_leases(KEYS[7], now)
roll(s, KEYS[7], now)
local in_flight = redis.call('ZCARD', KEYS[7])
local own = bucket == lease_bucket and lease_seq >= 0

-- What the bucket name and headers say about its limits.
if window then
    s.win = window
end
if limit and limit ~= s.lim then
    -- New, reactive until now, or changed at the server: never exceed it.
    s.lim = limit
end

-- Estimates when the window the response describes resets: within one
-- window length of now (it had started when the server answered), and
-- within the server's own Reset - Date.
local function estimate()
    local after = nil
    if s.win > 0 then
        after = s.win
    end
    if reset_after and (not after or reset_after < after) then
        after = reset_after
    end
    if not after then
        return 0
    end
    return now + after + margin
end

local function used_after(remaining)
    -- What the server has counted, plus every request still in flight,
    -- which it may yet count.
    return s.lim - math.min(remaining, s.lim) + in_flight
end

-- Which server window did the response land in, relative to ours?
local slack = math.max(0.5, s.win / 2000)
local where = 'same'
if reset_id then
    if s.rid ~= '' then
        local current = tonumber(s.rid)
        if reset_id > current + slack then
            where = 'later'
        elseif reset_id < current - slack then
            where = 'earlier'
        end
    elseif s.prid ~= '' and reset_id <= tonumber(s.prid) + slack then
        where = 'earlier'
    end
elseif own and lease_seq < s.seq then
    -- Sent in an earlier window and nothing tells where it landed: its
    -- slot stays taken, its counts describe a window that is gone.
    where = 'unknown'
end

if outcome == 'limited' then
    s.n429 = s.n429 + 1
    local until_ms = now + block
    s.blk = math.max(s.blk, until_ms)
    if s.lim > 0 and (where == 'same' or where == 'later') then
        -- The window is used up, and the server's wait bounds its reset.
        -- A 429 of a window that has ended says neither about this one:
        -- its wait may end before this window does.
        s.used = math.max(s.used, s.lim)
        s.dl = math.max(s.dl, until_ms)
    elseif where == 'earlier' and own and lease_seq < s.seq and released == 1 then
        -- Refused in a window that has ended: the slot it kept here is free.
        s.used = math.max(0, s.used - 1)
    end
else
    if where == 'earlier' then
        -- Counted in a window that has ended: the slot it kept in this one
        -- is free again. Its counts are stale.
        if own and lease_seq < s.seq and released == 1 then
            s.used = math.max(0, s.used - 1)
        end
    elseif where == 'later' then
        -- The server's window ended before our estimate: follow it.
        s.seq = s.seq + 1
        s.prid = s.rid
        s.rid = tostring(reset_id)
        s.seen = 1
        if s.lim > 0 and remaining then
            s.used = used_after(remaining)
        else
            s.used = in_flight
        end
        s.dl = estimate()
    elseif where == 'same' then
        if s.seen == 0 then
            s.seen = 1
            if reset_id then
                s.rid = tostring(reset_id)
            end
            local at = estimate()
            if at ~= 0 and (s.dl == 0 or at < s.dl) then
                s.dl = at
            end
        end
        if s.lim > 0 and remaining then
            s.used = math.max(s.used, used_after(remaining))
        end
    end
end

if s.lim > 0 and s.used >= s.lim and s.dl == 0 and in_flight == 0 then
    -- Exhausted with no reset known and nothing due to tell: never wedge.
    s.dl = now + block + margin
end

if s.wait > now or was_blind then
    s.wait = 0
    redis.call('PUBLISH', channel, 'b:' .. bucket)
end
save_bucket(KEYS[6], s, idle)
redis.call('PEXPIRE', KEYS[7], idle)
return s.seq
