-- wrk -s bench/wrk_webhooks.lua URL -- EVENTS_FILE THREADS
-- Posts pre-signed Stripe events, each once: a fresh event id per request, as Stripe sends
-- them (a repeated id would take the cheaper duplicate path). bench/webhooks.py writes the
-- file, one record per event: "<Stripe-Signature>\t<body length>\n<body>"; thread k of
-- THREADS takes records k, k + THREADS, ... A thread that runs out sends its last event
-- again: done() reports it (WRK_EXHAUSTED), and the bench refuses that round's figures.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")
local report = done
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local count, index = tonumber(args[2]), 0
  prepared, sent = {}, 0
  while true do
    local line = file:read("*l")
    if not line then break end
    local signature, length = line:match("^(%S+)\t(%d+)$")
    local body = file:read(tonumber(length))
    if index % count == id then
      local headers = {}
      for name, value in pairs(wrk.headers) do headers[name] = value end
      headers["Stripe-Signature"] = signature
      headers["Content-Type"] = "application/json"
      prepared[#prepared + 1] = wrk.format("POST", nil, headers, body)
    end
    index = index + 1
  end
  file:close()
  available = #prepared
end

function request()
  sent = sent + 1
  return prepared[math.min(sent, available)]
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("sent") > thread:get("available") then
      io.write(string.format("WRK_EXHAUSTED %d %d\n", thread:get("sent"), thread:get("available")))
    end
  end
  report(summary, latency, requests)
end
