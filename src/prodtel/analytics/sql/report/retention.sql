-- Retention cohorts: installations whose first record ever falls in period c of the range
-- (periods of {period:UInt32} days from {start:Date}), and how many of them were active in each
-- later period of the range. Installations first seen before the range are in no cohort. One
-- scan: per installation its first record and the periods it was seen in.
SELECT cohort, p - cohort AS offset, toUInt64(count()) AS active
FROM (
    SELECT ResourceAttributes['app.installation.id'] AS installation,
           min(Timestamp) AS first,
           intDiv(dateDiff('day', {start:Date}, toDate(first, 'UTC')), {period:UInt32}) AS cohort,
           groupUniqArray(
               intDiv(dateDiff('day', {start:Date}, toDate(Timestamp, 'UTC')), {period:UInt32})
           ) AS periods
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
    GROUP BY installation
    HAVING first >= toDateTime64({start:Date}, 9, 'UTC')
)
ARRAY JOIN periods AS p
GROUP BY cohort, offset
ORDER BY cohort, offset
