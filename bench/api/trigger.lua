-- trigger.lua: POST /api/v1/dags/{dag}/dagRuns with a unique dag_run_id per
-- request (thread number, counter, start time), then report.lua's line.
local threads = 0
local stamp = os.time()

function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end

local n = 0
request = function()
	n = n + 1
	local body = string.format('{"dag_run_id": "bench_%d_%d_%d", "conf": {}}', stamp, tid, n)
	return wrk.format("POST", nil, nil, body)
end

-- done(): report.lua, from this script's folder.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
