-- wrk script of the bidding benchmark (benchmarks/bidding.py), run as
--   wrk -tN -cN -s load.lua URL -- MODE SECONDS ORIGIN THREADS TOKENS_FILE AUCTIONS_FILE
-- MODE is "noop" (POST /diagnostics/noop) or "bid" (POST /api/v1/auctions/ID/bids), ORIGIN
-- a CLOCK_MONOTONIC reading, THREADS the thread (and connection) count, TOKENS_FILE one
-- bearer token a line, AUCTIONS_FILE one auction id a line ("-" for none).
--
-- One connection per thread, so each connection is one bidder (one token) and a thread
-- knows when its connection has nothing in flight: after SECONDS it stops on its next
-- answer instead of leaving a bid unanswered, so every committed bid has been counted.
-- Every request carries an Idempotency-Key, as a real client's bid does: unique per
-- request (the run's ORIGIN, the thread and its count of requests), so none is a retry.
-- The last line of stdout is "bench-result " followed by JSON.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) / 1e9
end

-- Amounts in cents follow one clock shared by every thread: up to 1,000 cents a
-- microsecond from ORIGIN (two of the largest increments every 20 us), plus the thread id
-- to break ties; fewer in a long run, so that no amount passes the most a bid may be
-- (MAX_AMOUNT_CENTS, 10^10: at 1,000 cents a microsecond, 10 s from ORIGIN).
-- Bids then reach a book in nearly rising order, and one is refused only when two bids
-- sent after it were applied before it. A per-thread counter would not do: the bids of a
-- batch would come in random order and most would fall below the second-highest maximum.
local BASE_CENTS = 1000000
local MAX_CENTS = 9000000000 -- below MAX_AMOUNT_CENTS, with room for the last answers
local LAST_ANSWER_SECONDS = 10 -- how long after SECONDS a bid may still be sent

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

function init(args)
  -- args[0] is the URL; the arguments after "--" follow.
  mode = args[1]
  seconds = tonumber(args[2])
  origin = tonumber(args[3])
  thread_count = tonumber(args[4])
  cents_per_microsecond = math.min(
    1000, math.floor(MAX_CENTS / ((seconds + LAST_ANSWER_SECONDS) * 1e6))
  )
  local tokens = read_lines(args[5])
  auctions = args[6] == "-" and {} or read_lines(args[6])
  bid_field = args[7] or "max_amount_cents"
  headers = {
    ["Authorization"] = "Bearer " .. tokens[id % #tokens + 1],
    ["Content-Type"] = "application/json",
  }
  run_tag = string.format("%.6f", origin)
  sent, statuses, codes, stopped = 0, {}, {}, false
  -- wrk asks thread 0 for one request before the run to check it, and never sends it.
  probing = id == 0
end

function request()
  local t = now()
  local amount = BASE_CENTS + math.floor((t - origin) * 1e6) * cents_per_microsecond + id
  -- The no-op takes any positive number as its value; a bid takes it as its maximum.
  local path, field = "/diagnostics/noop", "value"
  if mode == "bid" then
    -- Over many books each thread walks them in turn from its own, evenly spaced start:
    -- two connections seldom bid on one book at once, and each book sees several bidders.
    local first = math.floor(id * #auctions / thread_count)
    path = "/api/v1/auctions/" .. auctions[(first + sent) % #auctions + 1] .. "/bids"
    field = bid_field
  end
  local body = string.format('{"%s":%.0f}', field, amount)
  if probing then
    probing = false
    headers["Idempotency-Key"] = run_tag .. "-probe"
  else
    started = started or t
    sent = sent + 1
    headers["Idempotency-Key"] = string.format("%s-%d-%d", run_tag, id, sent)
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, _, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 400 then
    local code = body:match('"code":"([%w_]+)"') or tostring(status)
    codes[code] = (codes[code] or 0) + 1
  end
  finished = now()
  if finished - started >= seconds then
    stopped = true
    io.stderr:write("bench: thread stopped\n")
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local merged, codes, longest, stopped_threads, sent_total = {}, {}, 0, 0, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + count
    end
    for code, count in pairs(thread:get("codes") or {}) do
      codes[code] = (codes[code] or 0) + count
    end
    local first, last = thread:get("started"), thread:get("finished")
    if first and last and last - first > longest then
      longest = last - first
    end
    if thread:get("stopped") then
      stopped_threads = stopped_threads + 1
    end
    sent_total = sent_total + (thread:get("sent") or 0)
  end
  local counts, refusals = {}, {}
  for status, count in pairs(merged) do
    counts[#counts + 1] = string.format('"%d": %d', status, count)
  end
  for code, count in pairs(codes) do
    refusals[#refusals + 1] = string.format('"%s": %d', code, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'bench-result {"statuses": {%s}, "codes": {%s}, "seconds": %.6f, "threads": %d, '
      .. '"stopped": %d, "sent": %d, "p50_us": %.1f, "p99_us": %.1f, "max_us": %.1f, '
      .. '"socket_errors": %d}\n',
    table.concat(counts, ", "), table.concat(refusals, ", "), longest, #threads,
    stopped_threads, sent_total,
    latency:percentile(50), latency:percentile(99), latency.max,
    errors.connect + errors.read + errors.write + errors.timeout
  ))
end
