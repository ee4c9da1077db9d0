-- Active installations in the range by version (`service.version`), OS (`os.type`), arch
-- (`host.arch`) and OS with arch, in one scan: each record counts once per dimension. An
-- installation seen on two versions counts under both.
SELECT dim.1 AS dimension, dim.2 AS value, dim.3 AS value2,
       uniqExact(installation) AS installations,
       uniqExact(session) AS sessions,
       count() AS events
FROM (
    SELECT ResourceAttributes['app.installation.id'] AS installation,
           ResourceAttributes['session.id'] AS session,
           ResourceAttributes['service.version'] AS version,
           ResourceAttributes['os.type'] AS os,
           ResourceAttributes['host.arch'] AS arch
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
)
ARRAY JOIN [('version', version, ''), ('os', os, ''), ('arch', arch, ''), ('os_arch', os, arch)] AS dim
GROUP BY dimension, value, value2
ORDER BY dimension, installations DESC, value, value2
