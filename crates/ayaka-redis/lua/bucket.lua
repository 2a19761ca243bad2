-- Shared by the rate-limit scripts: the clock and one bucket's state.
--
-- A bucket hash holds, all integers unless said otherwise:
--   lim   requests per window (0: not known, the bucket is reactive)
--   win   window length in ms, from the bucket name (0: not known)
--   seq   window number, +1 at every rollover
--   dl    Redis-clock ms by which the server's window has surely reset (0: not known)
--   used  slots of the current window taken: grants of this window plus one
--         for every request still in flight from an earlier one
--   rid   the server's raw Reset of the current window (string, '' if unseen)
--   prid  the same for the previous window
--   seen  1 once a response of the current window arrived
--   blk   Redis-clock ms until which a 429 blocks the bucket
--   wait  Redis-clock ms until which some process sleeps on the bucket
--   n429  429 responses seen
-- Invariant: every lease in the leases set holds one slot of `used`.

local FIELDS = {'lim', 'win', 'seq', 'dl', 'used', 'rid', 'prid', 'seen', 'blk', 'wait', 'n429'}
local STRINGS = {rid = true, prid = true}

local function load_bucket(key)
    local values = redis.call('HMGET', key, unpack(FIELDS))
    if not values[1] then
        return nil
    end
    local s = {}
    for i, name in ipairs(FIELDS) do
        local v = values[i]
        if STRINGS[name] then
            s[name] = v or ''
        else
            s[name] = tonumber(v) or 0
        end
    end
    return s
end

local function new_bucket()
    return {lim = 0, win = 0, seq = 1, dl = 0, used = 0, rid = '', prid = '',
            seen = 0, blk = 0, wait = 0, n429 = 0}
end

local function save_bucket(key, s, idle_ms)
    local args = {}
    for _, name in ipairs(FIELDS) do
        args[#args + 1] = name
        args[#args + 1] = s[name]
    end
    redis.call('HSET', key, unpack(args))
    redis.call('PEXPIRE', key, idle_ms)
end

-- Drops leases whose holder neither answered nor renewed in time (it died,
-- or its request timed out). Their slots stay taken until the window rolls.
local function expire_leases(leases, now)
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
end

-- Starts a new window once the current one has surely ended. Requests still
-- in flight may count in the new window: each keeps a slot of it.
local function roll(s, leases, now)
    if s.blk ~= 0 and s.blk <= now then
        s.blk = 0
    end
    if s.dl == 0 or s.dl > now then
        return
    end
    s.seq = s.seq + 1
    s.used = redis.call('ZCARD', leases)
    s.prid = s.rid
    s.rid = ''
    s.seen = 0
    -- Not now + window: the server starts its next window at the first
    -- request it counts, which may come later. The first response of the
    -- new window tells (and an exhausted bucket waits for it, bounded).
    s.dl = 0
end
