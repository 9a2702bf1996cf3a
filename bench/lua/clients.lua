-- Prepended to every scenario script. Each request names one of 1,000 client addresses in
-- X-Forwarded-For, as a load balancer in front of Zapora would, so rate limits and their
-- counters are per client as in production instead of one bucket for all the traffic.
local client_count = 1000
local client_index = math.random(0, client_count - 1)

function next_client()
  client_index = (client_index + 1) % client_count
  return "10.0." .. math.floor(client_index / 250) .. "." .. (client_index % 250 + 1)
end
