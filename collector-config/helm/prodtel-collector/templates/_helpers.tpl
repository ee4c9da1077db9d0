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
The collector config text: .Values.pipeline (the config `prodtel collector-config` generated for
the app catalogs), with .Values.config deep-merged on top. Without `config` the text is kept as
written (comments included). Fail closed: no pipeline, or one without the catalog filter,
transform and redaction in its logs pipeline, does not render. The config reads the env vars the
workload sets (docs/collector.md). The health_check extension must stay: the probes use it.
*/}}
{{- define "prodtel-collector.config" -}}
{{- $how := "generate it from your catalog(s) with `prodtel collector-config --catalog mypkg.telemetry:CATALOG --output pipeline.yaml` and pass `--set-file pipeline=pipeline.yaml`" }}
{{- $text := .Values.pipeline }}
{{- if not (trim $text) }}
{{- fail (printf "pipeline is empty: the chart ships no catalog-free collector config; %s (docs/kubernetes.md)" $how) }}
{{- end }}
{{- $cfg := fromYaml $text }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "pipeline is not valid YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- $procs := dig "service" "pipelines" "logs" "processors" (list) $cfg }}
{{- range $p := list "filter/catalog" "transform/catalog" "redaction" }}
{{- if not (has $p $procs) }}
{{- fail (printf "pipeline: service.pipelines.logs must run the %s processor (it enforces the catalog); %s" $p $how) }}
{{- end }}
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

{{/* Exporter lists for PRODTEL_ANALYTICS_EXPORTERS / PRODTEL_TRACES_EXPORTERS /
PRODTEL_ERRORS_EXPORTERS. */}}
{{- define "prodtel-collector.analyticsExporters" -}}
{{- if .Values.clickhouse.enabled }}[clickhouse]{{ else }}[file/analytics]{{ end }}
{{- end }}
{{- define "prodtel-collector.tracesExporters" -}}
{{- if .Values.clickhouse.enabled }}[clickhouse]{{ else }}[file/traces]{{ end }}
{{- end }}
{{- define "prodtel-collector.errorsExporters" -}}
{{- if include "prodtel-collector.sentryEnabled" . }}[sentry_events]{{ else }}[file/errors]{{ end }}
{{- end }}

{{/* StatefulSet (a queue volume per replica) unless persistence is turned off. */}}
{{- define "prodtel-collector.workloadKind" -}}
{{- ternary "StatefulSet" "Deployment" .Values.persistence.enabled }}
{{- end }}
