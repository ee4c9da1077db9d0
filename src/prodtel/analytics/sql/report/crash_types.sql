-- The most frequent crash types (exception.type of unhandled exceptions) and where they hit.
SELECT LogAttributes['exception.type'] AS type,
       count() AS crashes,
       uniqExactIf(ResourceAttributes['session.id'], ResourceAttributes['session.id'] != '') AS sessions,
       uniqExactIf(ResourceAttributes['app.installation.id'],
                   ResourceAttributes['app.installation.id'] != '') AS installations,
       arraySort(groupUniqArray(ResourceAttributes['service.version'])) AS versions
FROM otel_logs
WHERE ServiceName = {app:String}
  AND EventName = 'exception'
  AND LogAttributes['exception.handled'] = 'false'
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY type
ORDER BY crashes DESC, type
LIMIT 20
