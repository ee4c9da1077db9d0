{{- define "prodtel-collector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "prodtel-collector.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "prodtel-collector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "prodtel-collector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: collector
{{- end }}

{{- define "prodtel-collector.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "prodtel-collector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: prodtel
{{- end }}

{{- define "prodtel-collector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "prodtel-collector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "prodtel-collector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "prodtel-collector.sentryEnabled" -}}
{{- if .Values.errors.sentry.existingSecret }}true{{ end }}
{{- end }}

{{/*
A Kubernetes memory quantity (e.g. 512Mi, 1Gi, 1.5G, 536870912) in MiB, as a float.
The schema restricts the accepted suffixes to the ones handled here.
*/}}
{{- define "prodtel-collector.memoryMiB" -}}
{{- $q := toString . }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $q }}
{{- $suffix := trimPrefix $num $q }}
{{- $factors := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 }}
{{- if or (not $num) (not (hasKey $factors $suffix)) }}
{{- fail (printf "resources.limits.memory %q is not a memory quantity this chart understands (use e.g. 512Mi, 1Gi, 1G)" $q) }}
{{- end }}
{{- divf (mulf (float64 $num) (get $factors $suffix)) 1048576.0 }}
{{- end }}

{{/* Whole MiB at a percentage of the memory limit. Call with (list $ percent). */}}
{{- define "prodtel-collector.memoryPercentMiB" -}}
{{- $root := index . 0 }}
{{- $mib := include "prodtel-collector.memoryMiB" $root.Values.resources.limits.memory | float64 }}
{{- printf "%d" (int64 (floor (divf (mulf $mib (float64 (index . 1))) 100.0))) }}
{{- end }}

{{/*
The collector config: files/config.yaml, then the clickhouse / sentry switches, then
.Values.config deep-merged on top. The result must keep the health_check extension on :13133
because the probes depend on it.
*/}}
{{- define "prodtel-collector.config" -}}
{{- $cfg := .Files.Get "files/config.yaml" | fromYaml }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "files/config.yaml is not valid YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- $pipelines := $cfg.service.pipelines }}
{{- if .Values.clickhouse.enabled }}
{{- $ch := dict
    "endpoint" "${env:CLICKHOUSE_ENDPOINT}"
    "username" "${env:CLICKHOUSE_USERNAME}"
    "password" "${env:CLICKHOUSE_PASSWORD}"
    "database" .Values.clickhouse.database
    "logs_table_name" .Values.clickhouse.table
    "create_schema" false
    "sending_queue" (dict
      "num_consumers" .Values.clickhouse.sendingQueue.numConsumers
      "queue_size" .Values.clickhouse.sendingQueue.queueSize
      "batch" (dict
        "min_size" .Values.clickhouse.sendingQueue.batch.minSize
        "flush_timeout" .Values.clickhouse.sendingQueue.batch.flushTimeout))
    "retry_on_failure" (dict
      "enabled" true
      "initial_interval" .Values.clickhouse.retryOnFailure.initialInterval
      "max_interval" .Values.clickhouse.retryOnFailure.maxInterval
      "max_elapsed_time" .Values.clickhouse.retryOnFailure.maxElapsedTime) }}
{{- include "prodtel-collector.swapExporter" (list $cfg "logs/analytics" "file/analytics" "clickhouse" $ch) }}
{{- end }}
{{- if include "prodtel-collector.sentryEnabled" . }}
{{- $sentry := dict "dsn" "${env:SENTRY_DSN}" }}
{{- include "prodtel-collector.swapExporter" (list $cfg "logs/errors" "file/errors" "sentry_events" $sentry) }}
{{- end }}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .Values.config) }}
{{- $hc := dig "extensions" "health_check" "endpoint" "" $cfg }}
{{- if not (hasSuffix ":13133" (toString $hc)) }}
{{- fail "config: the health_check extension must listen on :13133 (the liveness/readiness probes use it)" }}
{{- end }}
{{- if not (has "health_check" (dig "service" "extensions" (list) $cfg)) }}
{{- fail "config: service.extensions must include health_check (the liveness/readiness probes use it)" }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/*
In pipeline P, replace exporter OLD with NEW (configured as CFG) and drop OLD's config.
Call with (list $cfg P OLD NEW CFG). Fails if files/config.yaml broke the contract.
*/}}
{{- define "prodtel-collector.swapExporter" -}}
{{- $cfg := index . 0 }}
{{- $name := index . 1 }}
{{- $old := index . 2 }}
{{- $new := index . 3 }}
{{- $pipeline := index $cfg.service.pipelines $name }}
{{- if or (not $pipeline) (not (has $old ($pipeline.exporters | default list))) }}
{{- fail (printf "files/config.yaml: pipeline %q must export to %q (the chart swaps it for %q)" $name $old $new) }}
{{- end }}
{{- $exporters := list }}
{{- range $pipeline.exporters }}
{{- $exporters = append $exporters (ternary $new . (eq . $old)) }}
{{- end }}
{{- $_ := set $pipeline "exporters" $exporters }}
{{- $_ = unset $cfg.exporters $old }}
{{- $_ = set $cfg.exporters $new (index . 4) }}
{{- end }}
