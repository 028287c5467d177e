-- Prints one machine-readable line when wrk finishes. Only done() is defined, so wrk keeps its fast path
-- (no per-request Lua). Numbers use %.0f because LuaJIT's %d refuses non-integral values.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'HDWBENCH {"requests":%.0f,"bytes":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,'
    .. '"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
