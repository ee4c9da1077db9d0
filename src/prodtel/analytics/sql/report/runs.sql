-- The app's run durations: a numeric attribute (parameter attr) of its run-summary event
-- (parameter event), by default usage_report.duration in the app's own unit; p50/p95 per
-- version, total = 1 is all versions.
SELECT ResourceAttributes['service.version'] AS version,
       grouping(version) AS total,
       count() AS runs,
       quantileExactInclusive(0.5)(toFloat64OrNull(LogAttributes[{attr:String}])) AS p50,
       quantileExactInclusive(0.95)(toFloat64OrNull(LogAttributes[{attr:String}])) AS p95
FROM otel_logs
WHERE ServiceName = {app:String}
  AND EventName = {event:String}
  AND mapContains(LogAttributes, {attr:String})
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY version WITH ROLLUP
ORDER BY total, arrayMap(x -> toUInt32OrZero(x), splitByChar('.', version)) DESC, version DESC
