-- wrk -s bench/wrk_task_create.lua -H "Host: ..." -H "Authorization: Bearer ..." URL
-- POSTs a task to the project's task list (URL) on every request; the host and the token come
-- from -H. done() prints the WRK_JSON line bench/http_tasks.py's parse_wrk reads.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

wrk.method = "POST"
wrk.body = '{"title": "A task from wrk"}'
wrk.headers["Content-Type"] = "application/json"
