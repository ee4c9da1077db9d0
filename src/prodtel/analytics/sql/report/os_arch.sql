-- Active installations in the range by OS and architecture together.
SELECT ResourceAttributes['os.type'] AS os, ResourceAttributes['host.arch'] AS arch,
       uniqExact(ResourceAttributes['app.installation.id']) AS installations
FROM otel_logs
WHERE ServiceName = {app:String}
  AND ResourceAttributes['app.installation.id'] != ''
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY os, arch
ORDER BY installations DESC, os, arch
