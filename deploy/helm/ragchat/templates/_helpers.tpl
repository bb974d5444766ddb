{{/* Chart name. */}}
{{- define "ragchat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-wide name prefix. */}}
{{- define "ragchat.fullname" -}}
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

{{- define "ragchat.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of one service's Deployment/Service: <fullname>-<service>. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "ragchat.componentName" -}}
{{- printf "%s-%s" (include "ragchat.fullname" .root | trunc 50 | trimSuffix "-") .name }}
{{- end }}

{{/* Labels common to every object. */}}
{{- define "ragchat.commonLabels" -}}
helm.sh/chart: {{ include "ragchat.chart" . }}
app.kubernetes.io/name: {{ include "ragchat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ragchat
{{- end }}

{{/* Selector labels of one service. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "ragchat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ragchat.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* All labels of one service's objects. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "ragchat.labels" -}}
{{ include "ragchat.commonLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Image of one service: <registry>/ragchat-<service>:<tag>. Call with (dict "root" $ "name" "gateway"). */}}
{{- define "ragchat.image" -}}
{{- $img := .root.Values.image }}
{{- printf "%s/ragchat-%s:%s" (trimSuffix "/" $img.registry) .name (default .root.Chart.AppVersion $img.tag | toString) }}
{{- end }}

{{- define "ragchat.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ragchat.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ConfigMap with the environment shared by every service. */}}
{{- define "ragchat.envConfigMapName" -}}
{{- printf "%s-env" (include "ragchat.fullname" .) }}
{{- end }}

{{/* Secret holding POSTGRES_PASSWORD, and its key. */}}
{{- define "ragchat.postgresSecretName" -}}
{{- if .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecret }}
{{- else }}
{{- printf "%s-postgresql" (include "ragchat.fullname" .) }}
{{- end }}
{{- end }}

{{- define "ragchat.postgresSecretKey" -}}
{{- if .Values.postgresql.existingSecret }}
{{- .Values.postgresql.existingSecretPasswordKey }}
{{- else -}}
POSTGRES_PASSWORD
{{- end }}
{{- end }}

{{/* host:port of a service's gRPC endpoint. Call with (dict "root" $ "name" "auth"). */}}
{{- define "ragchat.grpcTarget" -}}
{{- $svc := index .root.Values.services .name }}
{{- printf "%s:%v" (include "ragchat.componentName" .) $svc.grpcPort }}
{{- end }}

{{/* A NAME: value map rendered as a container env list (sorted by name). */}}
{{- define "ragchat.envList" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}
