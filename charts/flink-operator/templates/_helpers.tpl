{{/* Name of the chart, or nameOverride. */}}
{{- define "flink-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: fullnameOverride, else <release>-<name> (or <release> if it contains name). */}}
{{- define "flink-operator.fullname" -}}
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

{{- define "flink-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flink-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flink-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flink-operator.labels" -}}
helm.sh/chart: {{ include "flink-operator.chart" . }}
{{ include "flink-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flink-cpp
{{- end }}

{{/* The operator's service account. */}}
{{- define "flink-operator.serviceAccountName" -}}
{{- if .Values.operatorServiceAccount.create }}
{{- default (include "flink-operator.fullname" .) .Values.operatorServiceAccount.name }}
{{- else }}
{{- default "default" .Values.operatorServiceAccount.name }}
{{- end }}
{{- end }}

{{/* The Flink pods' service account. */}}
{{- define "flink-operator.jobServiceAccountName" -}}
{{- default "flink" .Values.jobServiceAccount.name }}
{{- end }}

{{/* repository:tag or repository@digest; tag defaults to the chart's appVersion. */}}
{{- define "flink-operator.imageRef" -}}
{{- $img := index . 0 }}{{- $root := index . 1 }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{- define "flink-operator.image" -}}
{{- include "flink-operator.imageRef" (list .Values.image .) }}
{{- end }}

{{- define "flink-operator.flinkImage" -}}
{{- include "flink-operator.imageRef" (list .Values.flinkImage .) }}
{{- end }}

{{/*
The namespaces the Flink pods' service account and Role go to: the watched namespaces, or the
release namespace when the operator watches all of them.
*/}}
{{- define "flink-operator.jobNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- join "," (uniq .Values.watchNamespaces) }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
What the operator may do to the resources it manages, in one namespace (Role) or all of them
(ClusterRole). It reads FlinkDeployments and FlinkStateSnapshots and writes their status (and
the scale and finalizer subresources), records the savepoints it takes as FlinkStateSnapshots
(and deletes them with the savepoint history), owns the JobManager/TaskManager Deployments, Services and
ConfigMaps it creates, reads pods (an upgrade waits until the old cluster's pods are gone) and
records Events. Nothing else: no pod writes, secrets or CRDs.
*/}}
{{- define "flink-operator.operatorRules" -}}
- apiGroups: ["flink.apache.org"]
  resources:
    - flinkdeployments
    - flinkdeployments/status
    - flinkdeployments/scale
    - flinkdeployments/finalizers
    - flinkstatesnapshots/status
    - flinkstatesnapshots/finalizers
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["flink.apache.org"]
  resources: ["flinkstatesnapshots"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
What Flink's Kubernetes high availability does in its namespace: leader election and the
job's pointers in ConfigMaps (KubernetesLeaderElector, KubernetesStateHandleStore, cleanup
of the cluster's ConfigMaps by label), and Leases for newer leader election.
*/}}
{{- define "flink-operator.jobRules" -}}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
{{- end }}
