-- Matrix's send: PUT <PREFIX><transaction id>, a new transaction id for every request (Synapse answers a
-- repeated one from its cache, storing nothing). NONCE keeps one run's ids apart from another's.
local prefix = os.getenv("PREFIX")
local nonce = os.getenv("NONCE") or "0"
local body = os.getenv("BODY")
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local n = 0
function request()
  n = n + 1
  return wrk.format("PUT", prefix .. nonce .. "-" .. tid .. "-" .. n, headers, body)
end
