{{/* Name of the objects the chart creates. */}}
{{- define "coder.name" -}}
coder
{{- end }}

{{/* Chart label value. */}}
{{- define "coder.chart" -}}
{{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Labels selecting the server pods. */}}
{{- define "coder.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coder.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "coder.labels" -}}
helm.sh/chart: {{ include "coder.chart" . }}
{{ include "coder.selectorLabels" . }}
app.kubernetes.io/part-of: {{ include "coder.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.coder.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Service account name. */}}
{{- define "coder.serviceAccountName" -}}
{{ .Values.coder.serviceAccount.name | default "coder" }}
{{- end }}

{{/* Image reference. */}}
{{- define "coder.image" -}}
{{ .Values.coder.image.repo }}:{{ .Values.coder.image.tag | default (printf "v%s" .Chart.AppVersion) }}
{{- end }}

{{/* "true" when coder.env sets the variable named .name. */}}
{{- define "coder.hasEnv" -}}
{{- $found := false -}}
{{- range .env -}}
{{- if eq .name $.name -}}{{- $found = true -}}{{- end -}}
{{- end -}}
{{- if $found -}}true{{- end -}}
{{- end }}

{{/* Rules of the workspace Role. */}}
{{- define "coder.workspaceRules" -}}
- apiGroups: [""]
  resources: ["pods", "persistentvolumeclaims"]
  verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
{{- if .enableDeployments }}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
{{- end }}
{{- with .extraRules }}
{{ toYaml . }}
{{- end }}
{{- end }}
