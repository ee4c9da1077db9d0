-- Daily, weekly and monthly active installations, for each day in the range: distinct
-- installations seen on that day, in the 7 days and in the 30 days ending that day.
SELECT d AS day,
       uniqExactIf(installation, seen = d) AS dau,
       uniqExactIf(installation, seen > d - 7) AS wau,
       uniqExact(installation) AS mau
FROM (
    SELECT DISTINCT toDate(Timestamp, 'UTC') AS seen,
           ResourceAttributes['app.installation.id'] AS installation
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp >= toDateTime64({start:Date} - 29, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
)
ARRAY JOIN arrayMap(i -> seen + i, range(30)) AS d
WHERE d >= {start:Date} AND d <= {end:Date}
GROUP BY d
ORDER BY day WITH FILL FROM {start:Date} TO {end:Date} + 1
