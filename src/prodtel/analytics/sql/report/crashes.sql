-- Crashes (`exception` records with exception.handled = false) and crash-free sessions per
-- version: the share of sessions (session.id, one per process) without a crash. total = 1 is
-- all versions together.
SELECT ResourceAttributes['service.version'] AS version,
       grouping(version) AS total,
       uniqExact(ResourceAttributes['session.id']) AS sessions,
       uniqExactIf(ResourceAttributes['session.id'], crash) AS crashed_sessions,
       countIf(crash) AS crashes,
       countIf(EventName = 'exception' AND LogAttributes['exception.handled'] = 'true') AS handled_errors,
       if(sessions = 0, 1, 1 - crashed_sessions / sessions) AS crash_free_sessions
FROM (
    SELECT *, EventName = 'exception' AND LogAttributes['exception.handled'] = 'false' AS crash
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['session.id'] != ''
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
)
GROUP BY version WITH ROLLUP
ORDER BY total, arrayMap(x -> toUInt32OrZero(x), splitByChar('.', version)) DESC, version DESC
