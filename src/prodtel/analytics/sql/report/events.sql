-- Event counts by event name and app version.
SELECT EventName AS event, ResourceAttributes['service.version'] AS version,
       count() AS count,
       uniqExactIf(ResourceAttributes['app.installation.id'],
                   ResourceAttributes['app.installation.id'] != '') AS installations
FROM otel_logs
WHERE ServiceName = {app:String}
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY event, version
ORDER BY event, arrayMap(x -> toUInt32OrZero(x), splitByChar('.', version)) DESC, version DESC
