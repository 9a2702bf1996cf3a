-- POST the order body in BENCH_ORDER_BODY, each request with a fresh Idempotency-Key.
local body = os.getenv("BENCH_ORDER_BODY")
local token = os.getenv("BENCH_TOKEN")
local run_id = os.getenv("BENCH_RUN_ID") or "run"
local thread_id = 0
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = wrk.thread:get("thread_id")
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = run_id .. "-" .. thread_id .. "-" .. counter,
    ["X-Forwarded-For"] = next_client(),
  }
  return wrk.format("POST", wrk.path, headers, body)
end
