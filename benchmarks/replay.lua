-- wrk script: replay a pool of pre-signed requests round-robin, then print one JSON summary line.
--
--   wrk -t1 -c16 -d8s -s benchmarks/replay.lua http://127.0.0.1:PORT/ -- POOL_FILE
--
-- POOL_FILE is a Lua chunk written by get_secret_value.py just before the run:
--   return { {headers = {["Host"] = "...", ...}, body = "..."}, ... }
-- Requests are formatted once in init(), so the per-request cost in wrk is a table lookup.
-- No response() callback: defining one makes wrk parse every response body in Lua.

local formatted = {}
local position = 0

function init(args)
    local pool = dofile(args[1])
    for index, entry in ipairs(pool) do
        formatted[index] = wrk.format("POST", "/", entry.headers, entry.body)
    end
    if #formatted == 0 then
        error("empty request pool: " .. tostring(args[1]))
    end
end

function request()
    position = position % #formatted + 1
    return formatted[position]
end

function done(summary, latency, _)
    local errors = summary.errors
    io.write(string.format(
        'WRK_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
            .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
            .. '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
        summary.requests, summary.duration, summary.bytes,
        errors.connect, errors.read, errors.write, errors.status, errors.timeout,
        latency.mean, latency:percentile(50), latency:percentile(90),
        latency:percentile(99), latency.max
    ))
end
