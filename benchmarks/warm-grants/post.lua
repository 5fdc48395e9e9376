-- wrk script: POSTs one JSON body with HTTP Basic auth, and prints one machine-readable line
-- at the end for run-warm-grants to parse (wrk's own text output rounds and changes units).
-- Environment: BENCH_BODY_FILE (the JSON body), BENCH_AUTH (base64 of user:password).

local body_file = assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set")
local auth = assert(os.getenv("BENCH_AUTH"), "BENCH_AUTH is not set")
local f = assert(io.open(body_file, "r"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. auth

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
         .. "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect, e.read, e.write, e.timeout))
end
