-- POSTs GraphQL requests and checks every answer; `make bench` runs it as
--   wrk -t THREADS -s graphql.lua URL -- BODIES EXPECT TOKEN THREADS
-- BODIES: a file of JSON request bodies, one a line. With one line every request
-- sends it; with more, thread i of n sends lines i, i+n, i+2n... so that no two
-- requests share a line (a fresh application per approval), and counts a request
-- that had to reuse a line once the file ran out. THREADS must be wrk's -t: each
-- thread runs its own copy of this script, which cannot see how many were made.
-- EXPECT: text every good answer contains ("-" for none). An answer is bad when
-- its status is not 200, it carries "errors", or it lacks EXPECT.
-- done() prints one line, "BENCH_RESULT {json}", that benchmarks/load.py reads.

local threads = {}
local created = 0

function setup(thread)
  thread:set("index", created)
  created = created + 1
  table.insert(threads, thread)
end

local requests, position, stride, expect
local wrapped = false

function init(args)
  local lines = {}
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if #line > 0 then table.insert(lines, line) end
  end
  file:close()
  expect = args[2] ~= "-" and args[2] or nil
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. args[3],
  }
  requests = {}
  for i, body in ipairs(lines) do
    requests[i] = wrk.format("POST", nil, headers, body)
  end
  stride = tonumber(args[4]) or 1
  position = index + 1
  bad, non200, errored, unexpected, reused = 0, 0, 0, 0, 0
end

function request()
  if #requests == 1 then return requests[1] end
  if position > #requests then
    position = (position - 1) % #requests + 1
    wrapped = true
  end
  if wrapped then reused = reused + 1 end
  local chosen = requests[position]
  position = position + stride
  return chosen
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    bad = bad + 1
  elseif string.find(body, '"errors"', 1, true) then
    errored = errored + 1
    bad = bad + 1
  elseif expect and not string.find(body, expect, 1, true) then
    unexpected = unexpected + 1
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local totals = {bad = 0, non200 = 0, errored = 0, unexpected = 0, reused = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"status_errors": %d, "timeouts": %d, "bad": %d, "non200": %d, ' ..
    '"errored": %d, "unexpected": %d, "reused": %d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout,
    totals.bad, totals.non200, totals.errored, totals.unexpected, totals.reused))
end
