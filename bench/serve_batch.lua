-- wrk script: POST /v1/usage with a fresh batch of EVENTS events per request (unique ids per
-- thread and request, so every event is a new one to store and rate).
local events = tonumber(os.getenv("EVENTS") or "1000")
local token = os.getenv("TOKEN")
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, events do
    parts[i] = string.format(
      '{"record_id":"w%d-%d-%d","service":"voice","carrier":"acme","started_at":"2026-03-%02dT10:00:00Z","destination":"+4420%08d","quantity":"%d"}',
      thread_id, counter, i, 1 + (i % 28), i, 1 + (i % 600))
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/v1/usage", { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
