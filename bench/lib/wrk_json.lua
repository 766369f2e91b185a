-- wrk_json.lua - print one machine-readable line when a wrk run ends.
--
-- wrk's human summary rounds latencies to two digits and mixes units;
-- this prints the raw counters and percentiles in microseconds so the
-- harness never parses prose. The line starts with "WRKJSON " so it can
-- be picked out of wrk's other output.

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
		'"err_connect":%d,"err_read":%d,"err_write":%d,' ..
		'"err_status":%d,"err_timeout":%d}\n',
		summary.requests, summary.duration, summary.bytes,
		math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
		math.floor(latency:percentile(99)), latency.mean, latency.max,
		e.connect, e.read, e.write, e.status, e.timeout))
end
