-- Error rate of the built-in `command` event: runs and `outcome = error` per command and
-- version, per command (all versions) and per version (all commands).
SELECT LogAttributes['command'] AS command,
       ResourceAttributes['service.version'] AS version,
       grouping(command) AS all_commands,
       grouping(version) AS all_versions,
       count() AS runs,
       countIf(LogAttributes['outcome'] = 'error') AS errors,
       errors / runs AS error_rate
FROM otel_logs
WHERE ServiceName = {app:String}
  AND EventName = 'command'
  AND Timestamp >= toDateTime64({start:Date}, 9, 'UTC')
  AND Timestamp < toDateTime64({end:Date} + 1, 9, 'UTC')
GROUP BY GROUPING SETS ((command, version), (command), (version))
ORDER BY all_commands, all_versions, command, version
