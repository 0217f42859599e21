{{/* Names: the release "kappa" gives kappa-operator, kappa-gateway; others <release>-kappa-…. */}}
{{- define "kappa.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries; "component" is operator, gateway or functions. */}}
{{- define "kappa.labels" -}}
app.kubernetes.io/name: kappa
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Selector labels: stable across upgrades (a Deployment's selector is immutable), and
the ones deploy/*.yaml used, so that charts/install.sh can adopt what they made. One
release per cluster, so the instance is not needed to tell pods apart. */}}
{{- define "kappa.selectorLabels" -}}
app.kubernetes.io/name: kappa
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "kappa.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Pod and container hardening shared by the operator and the gateway (PSS restricted). */}}
{{- define "kappa.podSecurityContext" -}}
runAsNonRoot: true
seccompProfile: {type: RuntimeDefault}
{{- end -}}
{{- define "kappa.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}

{{/* Scheduling knobs of one component's values (nodeSelector, tolerations, affinity). */}}
{{- define "kappa.scheduling" -}}
{{- $s := dict -}}
{{- range $key := list "nodeSelector" "tolerations" "affinity" -}}
{{- with index $ $key }}{{ $_ := set $s $key . }}{{ end -}}
{{- end -}}
{{- if $s }}{{ toYaml $s }}{{ end -}}
{{- end -}}

{{/* The prefix of the variables the kubelet injects for a Service (service links):
     "kappa-operator" -> "KAPPA_OPERATOR". Pods reach Kappa's Services through them,
     so the chart works on clusters without DNS (the local one has none). */}}
{{- define "kappa.serviceEnv" -}}
{{- . | upper | replace "-" "_" -}}
{{- end -}}
