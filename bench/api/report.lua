-- report.lua: wrk's summary as one parseable line (GET scenarios).
done = function(summary, latency, requests)
	local secs = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format("WRK_RESULT requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non2xx=%d\n",
		summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000,
		e.connect + e.read + e.write + e.timeout, e.status))
end
