-- p50/p95 (exact, linearly interpolated) of numeric declared attributes per version, for each
-- pair ({events:Array(String)}[i], {attrs:Array(String)}[i]); total = 1 is all versions. Records
-- without a number in the attribute are left out.
SELECT event, attr, version,
       grouping(version) AS total,
       count() AS n,
       quantileExactInclusive(0.5)(value) AS p50,
       quantileExactInclusive(0.95)(value) AS p95
FROM (
    SELECT event, attr, version, toFloat64OrNull(la[attr]) AS value
    FROM (
        SELECT EventName AS event, LogAttributes AS la,
               ResourceAttributes['service.version'] AS version
        FROM otel_logs
        WHERE ServiceName = {app:String}
          AND has({events:Array(String)}, EventName)
          AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
          AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
    )
    ARRAY JOIN arrayFilter((a, e) -> e = event, {attrs:Array(String)}, {events:Array(String)})
        AS attr
    WHERE value IS NOT NULL
)
GROUP BY GROUPING SETS ((event, attr, version), (event, attr))
ORDER BY event, attr, total, version
