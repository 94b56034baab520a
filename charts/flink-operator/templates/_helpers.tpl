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
    - flinksessionjobs
    - flinksessionjobs/status
    - flinksessionjobs/finalizers
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
What a Flink JobManager does in its namespace: in native mode it creates, watches and
deletes its TaskManager pods and reads its own Deployment (the pods' owner reference); with
Kubernetes high availability, leader election and the job's pointers in ConfigMaps
(KubernetesLeaderElector, KubernetesStateHandleStore, cleanup of the cluster's ConfigMaps by
label), and Leases for newer leader election.
*/}}
{{- define "flink-operator.jobRules" -}}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
{{- end }}

{{/* The operator's (Cluster)Role and its binding: rbac.operatorRole(Binding).name, else the full name. */}}
{{- define "flink-operator.operatorRoleName" -}}
{{- default (include "flink-operator.fullname" .) .Values.rbac.operatorRole.name }}
{{- end }}
{{- define "flink-operator.operatorRoleBindingName" -}}
{{- default (include "flink-operator.fullname" .) .Values.rbac.operatorRoleBinding.name }}
{{- end }}

{{/* The Flink pods' Role and its binding: rbac.jobRole(Binding).name, else the job service account's name. */}}
{{- define "flink-operator.jobRoleName" -}}
{{- default (include "flink-operator.jobServiceAccountName" .) .Values.rbac.jobRole.name }}
{{- end }}
{{- define "flink-operator.jobRoleBindingName" -}}
{{- default (include "flink-operator.jobServiceAccountName" .) .Values.rbac.jobRoleBinding.name }}
{{- end }}

{{/* The metrics port: metrics.port, or 9999 when a values file sets it to null (the Apache chart's default). */}}
{{- define "flink-operator.metricsPort" -}}
{{- default 9999 .Values.metrics.port | int }}
{{- end }}

{{/*
flattenInto (dict "out" DICT "prefix" "" "map" MAP): sets out["a.b.c"] for every leaf of a
nested map, as the operator reads Flink configuration (nested and flat keys are the same key).
*/}}
{{- define "flink-operator.flattenInto" -}}
{{- $out := .out }}
{{- $prefix := .prefix }}
{{- range $k, $v := .map }}
{{- $key := ternary $k (printf "%s.%s" $prefix $k) (eq $prefix "") }}
{{- if kindIs "map" $v }}
{{- include "flink-operator.flattenInto" (dict "out" $out "prefix" $key "map" $v) }}
{{- else }}
{{- $_ := set $out $key $v }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The config.yaml of the operator's ConfigMap: with defaultConfiguration.append, the chart's
built-in conf/config.yaml, then the values' flink-conf.yaml, then config.yaml, each parsed and
flattened, a later key winning; without append only the two from the values.
*/}}
{{- define "flink-operator.operatorConfig" -}}
{{- $dc := .Values.defaultConfiguration }}
{{- $sources := list }}
{{- if $dc.append }}
{{- $sources = append $sources (list "conf/config.yaml (built in)" (.Files.Get "conf/config.yaml")) }}
{{- end }}
{{- $sources = append $sources (list "defaultConfiguration.flink-conf.yaml" (index $dc "flink-conf.yaml" | default "")) }}
{{- $sources = append $sources (list "defaultConfiguration.config.yaml" (index $dc "config.yaml" | default "")) }}
{{- $merged := dict }}
{{- range $sources }}
{{- $parsed := fromYaml (index . 1) }}
{{- if hasKey $parsed "Error" }}
{{- fail (printf "%s is not a YAML map of Flink configuration keys: %s" (index . 0) (get $parsed "Error")) }}
{{- end }}
{{- include "flink-operator.flattenInto" (dict "out" $merged "prefix" "" "map" $parsed) }}
{{- end }}
{{- if $merged }}
{{- toYaml $merged }}
{{- end }}
{{- end }}

{{/*
Values of the Apache operator's chart that flink-cpp has no use for, one "- key: why" line each,
listed only when set to something other than that chart's default (a values file copied from
the Apache chart unchanged prints nothing for them: at its defaults such a key asks for nothing
flink-cpp lacks, and listing every such key on every install would bury the lines that matter).
One exception, listed whenever set: logging files with a setting in them (the Apache defaults
hold only comments).
*/}}
{{- define "flink-operator.ignoredValues" -}}
{{- $v := .Values }}
{{- $comment := "^\\s*([#!].*)?$" }}
{{- if $v.webhookSecurityContext }}
- webhookSecurityContext: the webhook runs in the operator's container (operatorSecurityContext applies).
{{- end }}
{{- if and $v.webhook.create (not $v.webhook.keystore.useDefaultPassword) }}
- webhook.keystore: flink-cpp keeps its webhook certificate as PEM in the Secret flink-operator-webhook-secret (no keystore, no cert-manager).
{{- end }}
{{- if $v.rbac.nodesRule.create }}
- rbac.nodesRule.create: the operator never reads nodes; no nodes rule was added.
{{- end }}
{{- if or $v.jvmArgs.operator $v.jvmArgs.webhook }}
- jvmArgs: flink-cpp runs no JVM.
{{- end }}
{{- $lines := splitList "\n" (index $v.defaultConfiguration "log4j-console.properties" | default "") }}
{{- $set := false }}
{{- range $lines }}{{ if not (regexMatch $comment .) }}{{ $set = true }}{{ end }}{{ end }}
{{- if and $v.defaultConfiguration.create $set }}
- defaultConfiguration.log4j-console.properties: written to the ConfigMap, but not applied to FlinkDeployments; set their spec.logConfiguration (the operator's own levels come from log4j-operator.properties).
{{- end }}
{{- end }}

{{/* The admission webhook's configurations (Validating and Mutating share the name, as in the Apache chart). */}}
{{- define "flink-operator.webhookConfigurationName" -}}
flink-operator-{{ .Release.Namespace }}-webhook-configuration
{{- end }}

{{/* A webhook's client settings: dict root (the chart context), path, namespaces (watched ones, or empty). */}}
{{- define "flink-operator.webhookClient" -}}
clientConfig:
  service:
    name: flink-operator-webhook-service
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
sideEffects: None
admissionReviewVersions: ["v1"]
failurePolicy: {{ .root.Values.webhook.failurePolicy | default "Fail" }}
timeoutSeconds: 10
{{- with .namespaces }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: In
      values:
        {{- toYaml . | nindent 8 }}
{{- end }}
{{- end }}
