-- For upgrade lag: every version's first sighting (ever, up to the end of the range) and the
-- first day it reached 50% and 90% of the daily active installations (an installation counts
-- under every version it ran that day). Versions never seen in the range are included, so the
-- release order is complete. One scan: per day and version, and per day (all versions).
SELECT version,
       min(day) AS first_seen,
       max(day) AS last_seen,
       minIf(day, installations >= 0.5 * dau) AS day50,
       minIf(day, installations >= 0.9 * dau) AS day90,
       countIf(installations >= 0.5 * dau) > 0 AS reached50,
       countIf(installations >= 0.9 * dau) > 0 AS reached90,
       max(installations / dau) AS peak_share
FROM (
    SELECT day, version, all_versions, installations,
           max(if(all_versions = 1, installations, 0)) OVER (PARTITION BY day) AS dau
    FROM (
        SELECT toDate(Timestamp, 'UTC') AS day,
               ResourceAttributes['service.version'] AS version,
               grouping(version) AS all_versions,
               uniqExact(ResourceAttributes['app.installation.id']) AS installations
        FROM otel_logs
        WHERE ServiceName = {app:String}
          AND ResourceAttributes['app.installation.id'] != ''
          AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
        GROUP BY GROUPING SETS ((day, version), (day))
    )
)
WHERE all_versions = 0
GROUP BY version
