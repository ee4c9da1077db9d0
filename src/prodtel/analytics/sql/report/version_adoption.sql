-- Daily active installations per version: how fast new versions are picked up.
SELECT toDate(Timestamp, 'UTC') AS day, ResourceAttributes['service.version'] AS version,
       uniqExact(ResourceAttributes['app.installation.id']) AS installations
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY day, version
ORDER BY day, arrayMap(x -> toUInt32OrZero(x), splitByChar('.', version)), version
