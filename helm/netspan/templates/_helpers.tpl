{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "netspan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "netspan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "netspan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "netspan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "netspan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "netspan.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{- define "netspan.serviceAccountName" -}}
{{- if eq .Values.mode "sidecar" -}}
{{- required "sidecar.serviceAccountName is required in sidecar mode with rbac.create (the ServiceAccount of the workload netspan runs beside)" .Values.sidecar.serviceAccountName -}}
{{- else if .Values.serviceAccount.create -}}
{{- default (include "netspan.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "netspan.configMapName" -}}
{{- default (include "netspan.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* The pipeline files (YAML map file name → document): the value, or the built-in. */}}
{{- define "netspan.pipelines" -}}
{{- if .Values.pipelines -}}
{{- toYaml .Values.pipelines -}}
{{- else -}}
{{- toYaml (dict "netspan.yaml" (fromYaml (.Files.Get "files/netspan.yaml"))) -}}
{{- end -}}
{{- end -}}

{{- define "netspan.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
A pipeline document as rendered into the ConfigMap: the value's document
plus telemetry.health (the probes' endpoint, always set),
telemetry.log_level (unless the document sets one) and, on every otlp
exporter, a headers.<header>: "${env:NETSPAN_OTLP_HEADER_...}" reference per
otlp.headersFromSecrets entry (the value itself stays in the Secret and the
container's environment, never in the ConfigMap).
*/}}
{{- define "netspan.pipelineDocument" -}}
{{- $doc := deepCopy .doc -}}
{{- $tel := deepCopy (default (dict) $doc.telemetry) -}}
{{- if not (hasKey $tel "log_level") -}}
{{- $_ := set $tel "log_level" .root.Values.logLevel -}}
{{- end -}}
{{- $_ := set $tel "health" (dict "enabled" true "host" (default "0.0.0.0" .root.Values.health.host) "port" (int .root.Values.health.port) "failing_threshold_ms" (int .root.Values.health.failingThresholdMs)) -}}
{{- $_ := set $doc "telemetry" $tel -}}
{{- $file := .file -}}
{{- with .root.Values.otlp.headersFromSecrets -}}
{{- $secretHeaders := . -}}
{{- range $id, $exp := (default (dict) $doc.exporters) -}}
{{- if regexMatch "^otlp(/|$)" $id -}}
{{- $e := default (dict) $exp -}}
{{- $h := default (dict) $e.headers -}}
{{- range $secretHeaders -}}
{{- $ref := printf "${env:%s}" (include "netspan.otlpHeaderEnv" .header) -}}
{{- if and (hasKey $h .header) (ne (toString (index $h .header)) $ref) -}}
{{- fail (printf "pipeline %s: exporters.%s.headers.%s is set, and otlp.headersFromSecrets sets it too (to %s); remove one" $file $id .header $ref) -}}
{{- end -}}
{{- $_ := set $h .header $ref -}}
{{- end -}}
{{- $_ := set $e "headers" $h -}}
{{- $_ := set $doc.exporters $id $e -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml $doc -}}
{{- end -}}

{{/*
The environment variable that carries the value of OTLP header .header from
otlp.headersFromSecrets: NETSPAN_OTLP_HEADER_<header upper-cased, "-" and "." as "_">.
*/}}
{{- define "netspan.otlpHeaderEnv" -}}
{{- printf "NETSPAN_OTLP_HEADER_%s" (. | upper | replace "-" "_" | replace "." "_") -}}
{{- end -}}

{{/*
The container's security context: least privilege that runs bpftrace.
- capabilities: BPF (load programs, create maps), PERFMON (attach kprobes,
  tracepoints, uprobes via perf_event_open; read kernel memory in probes),
  SYS_RESOURCE (raise RLIMIT_MEMLOCK for BPF maps on kernels < 5.11, which
  charge maps to memlock rather than the memory cgroup); everything else dropped.
- runAsUser 0: bpftrace refuses to run unless its effective uid is 0, and
  tracefs/debugfs files are owned by root with mode 0700/0600; with every
  capability dropped (no DAC_OVERRIDE), only uid 0 as their owner can read them.
  Root without capabilities is not privileged: it cannot load modules, mount,
  or touch other containers' files it does not own.
- privileged: false; securityContext.privileged=true switches to a privileged
  container for kernels < 5.8 (no CAP_BPF/CAP_PERFMON) or restrictive LSMs.
*/}}
{{- define "netspan.securityContext" -}}
{{- if .Values.securityContext.privileged -}}
privileged: true
allowPrivilegeEscalation: true
readOnlyRootFilesystem: true
runAsUser: 0
runAsNonRoot: false
{{- else -}}
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsUser: 0
runAsNonRoot: false
capabilities:
  drop: [ALL]
  add:
    - BPF
    - PERFMON
    - SYS_RESOURCE
    {{- if .Values.securityContext.sysAdmin }}
    - SYS_ADMIN
    {{- end }}
    {{- range .Values.securityContext.extraCapabilities }}
    - {{ . }}
    {{- end }}
seccompProfile:
  # Unconfined by default: older container runtimes' default seccomp profiles
  # refuse bpf(2) and perf_event_open(2) even with CAP_BPF/CAP_PERFMON.
  type: {{ .Values.securityContext.seccompProfile }}
{{- with .Values.securityContext.appArmorProfile }}
appArmorProfile:
  {{- if or (eq . "RuntimeDefault") (eq . "runtime/default") }}
  type: RuntimeDefault
  {{- else if or (eq . "Unconfined") (eq . "unconfined") }}
  type: Unconfined
  {{- else }}
  type: Localhost
  localhostProfile: {{ trimPrefix "localhost/" . | quote }}
  {{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/* Environment: identity from the downward API, endpoints, secrets only by reference. */}}
{{- define "netspan.env" -}}
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
{{- with .Values.otlp.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- $headerEnv := dict }}
{{- range .Values.otlp.headersFromSecrets }}
{{- $name := include "netspan.otlpHeaderEnv" .header }}
{{- if hasKey $headerEnv $name }}
{{- fail (printf "otlp.headersFromSecrets: headers %s and %s share the environment variable %s" (get $headerEnv $name) .header $name) }}
{{- end }}
{{- $_ := set $headerEnv $name .header }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .secretKey }}
{{- end }}
{{- with .Values.kafka.brokers }}
- name: KAFKA_BROKERS
  value: {{ join "," . | quote }}
{{- end }}
{{- if .Values.kafka.sasl.existingSecret }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .Values.kafka.sasl.existingSecret }}
      key: {{ .Values.kafka.sasl.usernameKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The netspan container (DaemonSet and sidecar alike). */}}
{{- define "netspan.container" -}}
name: netspan
image: {{ include "netspan.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
args: [--config, /etc/netspan/{{ .Values.configFile }}]
env:
  {{- include "netspan.env" . | nindent 2 }}
ports:
  - name: netspan-health
    containerPort: {{ .Values.health.port }}
    protocol: TCP
{{- if .Values.livenessProbe.enabled }}
livenessProbe:
  httpGet:
    path: /healthz
    port: netspan-health
  {{- toYaml (omit .Values.livenessProbe "enabled") | nindent 2 }}
{{- end }}
{{- if .Values.readinessProbe.enabled }}
readinessProbe:
  httpGet:
    path: /readyz
    port: netspan-health
  {{- toYaml (omit .Values.readinessProbe "enabled") | nindent 2 }}
{{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  {{- include "netspan.securityContext" . | nindent 2 }}
volumeMounts:
  - name: netspan-config
    mountPath: /etc/netspan
    readOnly: true
  - name: netspan-tmp
    mountPath: /tmp
  - name: netspan-tracefs
    mountPath: /sys/kernel/tracing
    readOnly: true
  {{- if .Values.hostMounts.debugfs }}
  - name: netspan-debugfs
    mountPath: /sys/kernel/debug
    readOnly: true
  {{- end }}
  {{- if .Values.hostMounts.btf }}
  - name: netspan-btf
    mountPath: /sys/kernel/btf
    readOnly: true
  {{- end }}
  - name: netspan-cgroup
    mountPath: /sys/fs/cgroup
    readOnly: true
  - name: netspan-host-proc
    mountPath: /host/proc
    readOnly: true
  {{- if .Values.hostMounts.kernelHeaders }}
  - name: netspan-lib-modules
    mountPath: /lib/modules
    readOnly: true
  - name: netspan-usr-src
    mountPath: /usr/src
    readOnly: true
  {{- end }}
  {{- if .Values.kafka.sasl.existingSecret }}
  - name: netspan-kafka-sasl
    mountPath: /etc/netspan/secrets/kafka-sasl
    readOnly: true
  {{- end }}
  {{- if .Values.kafka.tls.existingSecret }}
  - name: netspan-kafka-tls
    mountPath: /etc/netspan/secrets/kafka-tls
    readOnly: true
  {{- end }}
  {{- range .Values.secretMounts }}
  - name: {{ .name }}
    mountPath: {{ .mountPath }}
    readOnly: true
  {{- end }}
{{- end -}}

{{/* The pod volumes the container mounts. */}}
{{- define "netspan.volumes" -}}
- name: netspan-config
  configMap:
    name: {{ include "netspan.configMapName" . }}
- name: netspan-tmp
  emptyDir:
    sizeLimit: 64Mi
- name: netspan-tracefs
  hostPath:
    path: /sys/kernel/tracing
{{- if .Values.hostMounts.debugfs }}
- name: netspan-debugfs
  hostPath:
    path: /sys/kernel/debug
{{- end }}
{{- if .Values.hostMounts.btf }}
- name: netspan-btf
  hostPath:
    path: /sys/kernel/btf
{{- end }}
- name: netspan-cgroup
  hostPath:
    path: /sys/fs/cgroup
    type: Directory
- name: netspan-host-proc
  hostPath:
    path: /proc
    type: Directory
{{- if .Values.hostMounts.kernelHeaders }}
- name: netspan-lib-modules
  hostPath:
    path: /lib/modules
    type: Directory
- name: netspan-usr-src
  hostPath:
    path: /usr/src
    type: Directory
{{- end }}
{{- if .Values.kafka.sasl.existingSecret }}
- name: netspan-kafka-sasl
  secret:
    secretName: {{ .Values.kafka.sasl.existingSecret }}
    items:
      - key: {{ .Values.kafka.sasl.passwordKey }}
        path: {{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- if .Values.kafka.tls.existingSecret }}
- name: netspan-kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
    items:
      - key: {{ .Values.kafka.tls.caKey }}
        path: {{ .Values.kafka.tls.caKey }}
{{- end }}
{{- range .Values.secretMounts }}
- name: {{ .name }}
  secret:
    secretName: {{ .secretName }}
{{- end }}
{{- end -}}

{{- define "netspan.podAnnotations" -}}
{{- if not .Values.existingConfigMap }}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}
{{- if .Values.metrics.podAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.health.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Sidecar snippet: what a workload's pod spec needs to run netspan beside its
containers. Use it as a strategic-merge patch (the chart renders one in
sidecar mode, templates/sidecar-patch.yaml) or, from a parent chart that has
netspan as a dependency:
  {{ include "netspan.sidecar.podSpec" (dict "Values" .Values.netspan "Release" .Release "Chart" (dict "Name" "netspan" "Version" "0.1.0" "AppVersion" "0.1.0") "Template" .Template) | nindent 6 }}
*/}}
{{- define "netspan.sidecar.podSpec" -}}
shareProcessNamespace: true
containers:
  - {{- include "netspan.container" . | nindent 4 }}
volumes:
  {{- include "netspan.volumes" . | nindent 2 }}
{{- end -}}
