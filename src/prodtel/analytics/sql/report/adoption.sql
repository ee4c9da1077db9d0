-- Feature adoption: distinct installations that sent each event name and ran each `command`
-- (the built-in event's `command` attribute), per period of {period:UInt32} days from
-- {start:Date} and over the whole range (total = 1); kind 'active' counts every installation.
SELECT kind, name,
       grouping(p) AS total,
       p AS period,
       uniqExact(installation) AS installations
FROM (
    SELECT DISTINCT ResourceAttributes['app.installation.id'] AS installation,
           intDiv(dateDiff('day', {start:Date}, toDate(Timestamp, 'UTC')), {period:UInt32}) AS p,
           EventName AS event,
           if(EventName = 'command', LogAttributes['command'], '') AS command
    FROM otel_logs
    WHERE ServiceName = {app:String}
      AND ResourceAttributes['app.installation.id'] != ''
      AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
      AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
)
ARRAY JOIN if(event = 'command',
              [('active', ''), ('event', event), ('command', command)],
              [('active', ''), ('event', event)]) AS feature
GROUP BY GROUPING SETS ((feature.1 AS kind, feature.2 AS name, p), (kind, name))
ORDER BY kind, name, total, period
