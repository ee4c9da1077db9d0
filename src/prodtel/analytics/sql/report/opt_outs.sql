-- Opt-outs per day: installations that sent TelemetryDisabled (the last record of a disable),
-- next to that day's active installations. An opt-out by env var or flag sends nothing, so it
-- cannot be counted here.
SELECT toDate(Timestamp, 'UTC') AS day,
       uniqExactIf(ResourceAttributes['app.installation.id'], EventName = 'TelemetryDisabled') AS opt_outs,
       uniqExact(ResourceAttributes['app.installation.id']) AS active,
       if(active = 0, 0, opt_outs / active) AS rate
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY day
ORDER BY day WITH FILL FROM {start:Date} TO {end:Date} + 1
