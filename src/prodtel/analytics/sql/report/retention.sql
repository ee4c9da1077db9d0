-- Retention cohorts: installations whose first record ever falls in period c of the range
-- (periods of {period:UInt32} days from {start:Date}), and how many of them were active in each
-- later period of the range. Installations first seen before the range are in no cohort.
SELECT f.cohort AS cohort,
       a.p - f.cohort AS offset,
       toUInt64(count()) AS active
FROM (
    SELECT ResourceAttributes['app.installation.id'] AS installation,
           intDiv(dateDiff('day', {start:Date}, toDate(min(Timestamp), 'UTC')), {period:UInt32})
               AS cohort
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
    GROUP BY installation
    HAVING min(Timestamp) >= toDateTime64({start:Date}, 9, 'UTC')
) AS f
INNER JOIN (
    SELECT DISTINCT ResourceAttributes['app.installation.id'] AS installation,
           intDiv(dateDiff('day', {start:Date}, toDate(Timestamp, 'UTC')), {period:UInt32}) AS p
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
) AS a ON a.installation = f.installation
WHERE a.p >= f.cohort
GROUP BY cohort, offset
ORDER BY cohort, offset
