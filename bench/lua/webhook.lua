-- POST pre-signed webhook deliveries from BENCH_WEBHOOK_FILE ("signature<TAB>body" lines).
-- Thread n of N sends lines n, n+N, n+2N... so no two requests carry the same message id.
local file_name = os.getenv("BENCH_WEBHOOK_FILE")
local threads = {}
local requests = {}
local next_index = 1
local wrapped = 0

function setup(thread)
  thread:set("thread_id", #threads)
  thread:set("thread_count", 0)
  table.insert(threads, thread)
  for _, other in ipairs(threads) do
    other:set("thread_count", #threads)
  end
end

function init(args)
  local thread_id = wrk.thread:get("thread_id")
  local thread_count = wrk.thread:get("thread_count")
  local index = 0
  for line in io.lines(file_name) do
    if index % thread_count == thread_id then
      local tab = string.find(line, "\t", 1, true)
      local signature = string.sub(line, 1, tab - 1)
      local body = string.sub(line, tab + 1)
      local headers = {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = signature,
      }
      table.insert(requests, wrk.format("POST", wrk.path, headers, body))
    end
    index = index + 1
  end
end

function request()
  if next_index > #requests then
    -- Out of fresh bodies: repeats are duplicates, which the server stores nothing for.
    next_index = 1
    wrapped = wrapped + 1
    wrk.thread:set("wrapped", wrapped)
  end
  local item = requests[next_index]
  next_index = next_index + 1
  return item
end
