-- Command durations from the built-in `command` event: runs, failures, p50 and p95 of
-- `duration_ms` (exact, linearly interpolated), per command; the row with total = 1 is all
-- commands together.
SELECT LogAttributes['command'] AS command,
       grouping(command) AS total,
       count() AS runs,
       countIf(LogAttributes['outcome'] = 'error') AS errors,
       quantileExactInclusive(0.5)(toFloat64OrNull(LogAttributes['duration_ms'])) AS p50_ms,
       quantileExactInclusive(0.95)(toFloat64OrNull(LogAttributes['duration_ms'])) AS p95_ms
FROM otel_logs
WHERE ServiceName = {app:String}
  AND EventName = 'command'
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY command WITH ROLLUP
ORDER BY total, runs DESC, command
