-- Shared by every script: the clock, and optional arguments.

-- Now, in Redis-clock milliseconds; tests pass it in.
local function clock(arg)
    if arg ~= nil and arg ~= '' then
        return tonumber(arg)
    end
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function opt_number(arg)
    if arg == nil or arg == '' then
        return nil
    end
    return tonumber(arg)
end

