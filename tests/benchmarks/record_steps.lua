-- wrk script for bench_api.py: POST /steps with valid, ever-new case steps.
-- args: <bearer token> <case id prefix> <service point> <cases in rotation per thread> <max requests per thread>
-- Each thread rotates through its own cases, one step of the happy path per request, so a case's
-- next step is sent only after its previous one was answered (rotation > connections per thread).

local steps = {
  {"application_received", 0, '{"service_point":"%s","channel":"walk_in","category":"civil","groups":[]}'},
  {"reviewed", 10, '{"decision":"granted"}'},
  {"accepted", 20, '{}'},
  {"assigned", 30, '{"handler":"lawyer-01","handler_kind":"lawyer"}'},
  {"first_meeting", 40, '{"mode":"in_person"}'},
  {"closed", 50, '{"outcome":"favourable"}'},
  {"documents_reviewed", 55, '{}'},
  {"follow_up_call", 58, '{"reached":true,"satisfaction":"satisfied"}'},
}

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  token, prefix, point = args[1], args[2], args[3]
  rotation, max_requests = tonumber(args[4]), tonumber(args[5])
  sent, answered, refused, primed = 0, 0, 0, false
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  -- wrk calls request() once before the thread's first send and discards that request: the first
  -- call does not advance, so no step is skipped (were it ever sent, its repeat is a no-op).
  local i = sent
  if primed then sent = sent + 1 else primed = true end
  local slot = i % rotation
  local round = math.floor(i / rotation)
  local k = round % #steps
  local generation = math.floor(round / #steps)
  local case_id = string.format("%s-%d-%d-%d", prefix, id, generation, slot)
  local step = steps[k + 1]
  local data = step[3]
  if k == 0 then data = string.format(data, point) end
  local body = string.format(
    '{"event_id":"%s-%d","case_id":"%s","type":"%s","occurred_at":"2026-03-02T09:%02d:00+08:00","data":%s}',
    case_id, k, case_id, step[1], step[2], data)
  return wrk.format("POST", "/steps", headers, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 201 and status ~= 200 then refused = refused + 1 end
  if answered >= max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local acknowledged, not_ok = 0, 0
  for _, thread in ipairs(threads) do
    acknowledged = acknowledged + thread:get("answered") - thread:get("refused")
    not_ok = not_ok + thread:get("refused")
  end
  io.write(string.format(
    'WRK-JSON {"requests":%d,"duration_us":%d,"acknowledged":%d,"not_2xx":%d,' ..
    '"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, acknowledged, not_ok,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
