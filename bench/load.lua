-- Mixed load for bench/load.sh: creates (each with a unique resource_id), filtered list
-- pages and single reads of records this thread created. It counts every status and
-- every acknowledged create, and prints them with the latency percentiles at the end.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("ERASURED_TOKEN")
  n, created, ids, statuses = 0, 0, {}, {}
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/vnd.api+json" }
  last = nil
end

function request()
  n = n + 1
  local kind = n % 10
  if kind < 5 then
    last = "create"
    local body = string.format(
      '{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"load-%d-%d"}}}', tid, n)
    return wrk.format("POST", "/v2/personal-data/erasure-requests", headers, body)
  elseif kind < 8 or #ids == 0 then
    last = "list"
    return wrk.format("GET", "/v2/personal-data/erasure-requests?filter=eq(resource_type,user)&page[limit]=25&sort=-created_at", headers)
  else
    last = "get"
    return wrk.format("GET", "/v2/personal-data/erasure-requests/" .. ids[math.random(#ids)], headers)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 201 then
    created = created + 1
    local id = string.match(body, '"id":"([0-9a-f%-]+)"')
    if id and #ids < 1000 then table.insert(ids, id) end
  end
end

function done(summary, latency, requests)
  local total, acked = {}, 0
  for _, t in ipairs(threads) do
    acked = acked + t:get("created")
    for status, count in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  io.write("statuses:")
  for status, count in pairs(total) do io.write(string.format(" %d=%d", status, count)) end
  io.write("\n")
  io.write(string.format("requests/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency p50: %.2f ms, p99: %.2f ms, max: %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("acknowledged creates: %d\n", acked))
end
