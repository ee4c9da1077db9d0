-- Active installations in the range by os (`os.type`). An installation seen on two
-- oss counts in both.
SELECT ResourceAttributes['os.type'] AS os,
       uniqExact(ResourceAttributes['app.installation.id']) AS installations,
       uniqExact(ResourceAttributes['session.id']) AS sessions,
       count() AS events
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY os
ORDER BY installations DESC, os
