-- Totals for one app over [start, end] (UTC days, inclusive).
SELECT
    count() AS events,
    uniqExactIf(ResourceAttributes['app.installation.id'],
                ResourceAttributes['app.installation.id'] != '') AS installations,
    uniqExactIf(ResourceAttributes['session.id'], ResourceAttributes['session.id'] != '') AS sessions,
    uniqExactIf(ResourceAttributes['app.installation.id'],
                EventName = 'TelemetryDisabled'
                AND ResourceAttributes['app.installation.id'] != '') AS opted_out,
    if(installations = 0, 0, opted_out / installations) AS opt_out_rate,
    countIf(EventName = 'exception' AND LogAttributes['exception.handled'] = 'false') AS crashes,
    countIf(EventName = 'exception' AND LogAttributes['exception.handled'] = 'true') AS handled_errors,
    uniqExactIf(ResourceAttributes['session.id'],
                EventName = 'exception' AND LogAttributes['exception.handled'] = 'false'
                AND ResourceAttributes['session.id'] != '') AS crashed_sessions,
    if(sessions = 0, 1, 1 - crashed_sessions / sessions) AS crash_free_sessions
FROM otel_logs
WHERE ServiceName = {app:String}
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
