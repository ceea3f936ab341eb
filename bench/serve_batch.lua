-- wrk script: POST /v1/usage with a fresh batch of EVENTS events per request (unique ids per
-- PREFIX, thread and request, so every event is a new one to store and rate), over 12 customers.
--
-- setup() runs in wrk's main Lua state, once per thread, and thread:set() writes a *global* of
-- that thread's own state. request() must read that global: a file-level `local` of the same
-- name would shadow it and stay 0 in every thread, so that all threads sent the same ids and
-- the load counted duplicates, not new events.
local events = tonumber(os.getenv("EVENTS") or "1000")
local token = os.getenv("TOKEN")
local prefix = os.getenv("PREFIX") or "w"
local counter = 0
local threads_set_up = 0

function setup(thread)
  thread:set("thread_index", threads_set_up)
  threads_set_up = threads_set_up + 1
end

function request()
  counter = counter + 1
  local parts = {}
  for i = 1, events do
    parts[i] = string.format(
      '{"record_id":"%s%d-%d-%d","service":"voice","carrier":"acme","customer":"cust%d","started_at":"2026-03-%02dT10:00:00Z","destination":"+4420%08d","quantity":"%d"}',
      prefix, thread_index, counter, i, i % 12, 1 + (i % 28), i, 1 + (i % 600))
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/v1/usage", { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
