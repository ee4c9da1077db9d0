-- Breakdowns by declared attributes: records and installations per value of an attribute of an
-- event, for each pair ({events:Array(String)}[i], {attrs:Array(String)}[i]). A record without
-- the attribute counts under ''.
SELECT event, attr, LogAttributes[attr] AS value,
       count() AS count,
       uniqExactIf(ResourceAttributes['app.installation.id'],
                   ResourceAttributes['app.installation.id'] != '') AS installations
FROM (
    SELECT EventName AS event, LogAttributes, ResourceAttributes
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND has({events:Array(String)}, EventName)
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
)
ARRAY JOIN arrayFilter((a, e) -> e = event, {attrs:Array(String)}, {events:Array(String)}) AS attr
GROUP BY event, attr, value
ORDER BY event, attr, count DESC, value
