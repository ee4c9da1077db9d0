-- Active installations in the range by version (`service.version`). An installation seen on two
-- versions counts in both.
SELECT ResourceAttributes['service.version'] AS version,
       uniqExact(ResourceAttributes['app.installation.id']) AS installations,
       uniqExact(ResourceAttributes['session.id']) AS sessions,
       count() AS events
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY version
ORDER BY arrayMap(x -> toUInt32OrZero(x), splitByChar('.', version)) DESC, version DESC
