-- A GET of the URL given to wrk; BENCH_TOKEN, when set, is sent as a bearer token.
-- Requests come from many clients behind a trusted proxy (see clients.lua).
local token = os.getenv("BENCH_TOKEN")
local headers = {}
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

function request()
  headers["X-Forwarded-For"] = next_client()
  return wrk.format("GET", wrk.path, headers)
end
