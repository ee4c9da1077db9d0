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
The collector config text: .Values.pipeline (a whole config, e.g. generated for a catalog by
`prodtel collector-config`) or else files/config.yaml, with .Values.config deep-merged on top.
Without `config` the text is kept as written (comments included). The config reads the env vars
the Deployment sets (docs/collector.md). The health_check extension must stay: the probes use it.
*/}}
{{- define "prodtel-collector.config" -}}
{{- $text := .Values.pipeline | default (.Files.Get "files/config.yaml") }}
{{- $cfg := fromYaml $text }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "the collector config (pipeline or files/config.yaml) is not valid YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- if .Values.config }}
{{- $cfg = mustMergeOverwrite $cfg (deepCopy .Values.config) }}
{{- $text = toYaml $cfg }}
{{- end }}
{{- $hc := toString (dig "extensions" "health_check" "endpoint" "" $cfg) }}
{{- if not (or (hasSuffix ":13133" $hc) (hasPrefix "${env:PRODTEL_HEALTH_ENDPOINT" $hc)) }}
{{- fail "config: the health_check extension must listen on :13133 or ${env:PRODTEL_HEALTH_ENDPOINT} (the liveness/readiness probes use it)" }}
{{- end }}
{{- if not (has "health_check" (dig "service" "extensions" (list) $cfg)) }}
{{- fail "config: service.extensions must include health_check (the liveness/readiness probes use it)" }}
{{- end }}
{{- range $name := list "logs/analytics" "logs/errors" }}
{{- if not (hasKey (dig "service" "pipelines" (dict) $cfg) $name) }}
{{- fail (printf "config: pipeline %q is missing (the chart selects its exporters with env vars)" $name) }}
{{- end }}
{{- end }}
{{- $text }}
{{- end }}

{{/* Exporter lists for PRODTEL_ANALYTICS_EXPORTERS / PRODTEL_ERRORS_EXPORTERS. */}}
{{- define "prodtel-collector.analyticsExporters" -}}
{{- if .Values.clickhouse.enabled }}[clickhouse]{{ else }}[file/analytics]{{ end }}
{{- end }}
{{- define "prodtel-collector.errorsExporters" -}}
{{- if include "prodtel-collector.sentryEnabled" . }}[sentry_events]{{ else }}[file/errors]{{ end }}
{{- end }}
