-- wrk script: GET the request paths listed one per line in a file, round and round.
--
--   wrk -t2 -c16 -d15s --latency -s bench/wrk_paths.lua http://127.0.0.1:PORT -- PATHS_FILE
--
-- Each wrk thread has its own Lua state and reads the file itself. Threads start at different
-- offsets so they do not request the same resource in lockstep (which would flatter any cache).

local threads_made = 0

-- Runs in the main Lua state, once per thread, before the threads start.
function setup(thread)
  thread:set("thread_number", threads_made)
  threads_made = threads_made + 1
end

local requests = {}
local position = 0

function init(args)
  local name = args[1]
  if name == nil then
    error("usage: wrk <options> URL -- PATHS_FILE")
  end
  local file = assert(io.open(name, "r"))
  for line in file:lines() do
    if line ~= "" then
      -- Formatted once here so that request() costs a table lookup, not string building.
      requests[#requests + 1] = wrk.format("GET", line, { ["Accept"] = "application/fhir+json" })
    end
  end
  file:close()
  if #requests == 0 then
    error("no request paths in " .. name)
  end
  position = ((thread_number or 0) * 7919) % #requests
end

function request()
  position = position % #requests + 1
  return requests[position]
end
