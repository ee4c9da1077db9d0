-- New installations per day: installations whose first record ever (not just in the range)
-- falls on that day.
SELECT day, toUInt64(count()) AS installations
FROM (
    SELECT ResourceAttributes['app.installation.id'] AS installation,
           toDate(min(Timestamp), 'UTC') AS day
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
    GROUP BY installation
)
WHERE day >= {start:Date}
GROUP BY day
ORDER BY day WITH FILL FROM {start:Date} TO {end:Date} + 1
