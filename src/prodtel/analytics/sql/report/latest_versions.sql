-- The version each installation active in the range ran last (its latest record in the range).
SELECT version, toUInt64(count()) AS installations
FROM (
    SELECT ResourceAttributes['app.installation.id'] AS installation,
           argMax(ResourceAttributes['service.version'], Timestamp) AS version
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
    GROUP BY installation
)
GROUP BY version
ORDER BY version
