-- Apps (service.name) with data, busiest first. No parameters.
SELECT ServiceName AS app, count() AS events, min(Timestamp) AS first_seen, max(Timestamp) AS last_seen
FROM otel_logs
GROUP BY app
ORDER BY events DESC, app
