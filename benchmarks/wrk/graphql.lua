-- POSTs GraphQL requests and checks every answer; `make bench` runs it as
--   wrk -t THREADS -s graphql.lua URL -- BODIES EXPECT TOKEN THREADS
-- BODIES: a file written by benchmarks/traffic.py: template lines ("=" then a
-- request body up to its variables' value) and one line per request ("N VARS": the
-- N-th template, a space, the variables as JSON; the body is template .. VARS .. "}").
-- With one request line every request sends it; with more, thread i of n sends
-- lines i, i+n, i+2n... so that no two requests share a line (a fresh application
-- per approval), and counts a request that had to reuse a line once the file ran
-- out. THREADS must be wrk's -t: each thread runs its own copy of this script,
-- which cannot see how many were made.
-- EXPECT: texts separated by tabs ("-" for none); a good answer contains one of
-- them (a mixed file's operations each have their own). An answer is bad when its
-- status is not 200, it carries "errors", or it lacks every EXPECT.
-- done() prints one line, "BENCH_RESULT {json}", that benchmarks/load.py reads.

local threads = {}
local created = 0

function setup(thread)
  thread:set("index", created)
  created = created + 1
  table.insert(threads, thread)
end

local lines, templates, position, stride, expect, headers, single
local wrapped = false

function init(args)
  lines, templates = {}, {}
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if string.sub(line, 1, 1) == "=" then
      table.insert(templates, string.sub(line, 2))
    elseif #line > 0 then
      table.insert(lines, line)
    end
  end
  file:close()
  expect = nil
  if args[2] ~= "-" then
    expect = {}
    for text in string.gmatch(args[2], "[^\t]+") do table.insert(expect, text) end
  end
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. args[3],
  }
  if #lines == 1 then single = build(lines[1]) end
  stride = tonumber(args[4]) or 1
  position = index + 1
  bad, non200, errored, unexpected, reused = 0, 0, 0, 0, 0
end

function build(line)
  local space = string.find(line, " ", 1, true)
  local template = templates[tonumber(string.sub(line, 1, space - 1))]
  local body = template .. string.sub(line, space + 1) .. "}"
  return wrk.format("POST", nil, headers, body)
end

function request()
  if single then return single end
  if position > #lines then
    position = (position - 1) % #lines + 1
    wrapped = true
  end
  if wrapped then reused = reused + 1 end
  local chosen = lines[position]
  position = position + stride
  return build(chosen)
end

local function expected(body)
  if not expect then return true end
  for _, text in ipairs(expect) do
    if string.find(body, text, 1, true) then return true end
  end
  return false
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    bad = bad + 1
  elseif string.find(body, '"errors"', 1, true) then
    errored = errored + 1
    bad = bad + 1
  elseif not expected(body) then
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
