-- Active installations in the range by arch (`host.arch`). An installation seen on two
-- archs counts in both.
SELECT ResourceAttributes['host.arch'] AS arch,
       uniqExact(ResourceAttributes['app.installation.id']) AS installations,
       uniqExact(ResourceAttributes['session.id']) AS sessions,
       count() AS events
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY arch
ORDER BY installations DESC, arch
