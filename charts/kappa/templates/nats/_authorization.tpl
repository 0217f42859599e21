{{/* The users of the chart's NATS and what each may do (least privilege): the
authorization.conf of its ConfigMap. Anonymous connections are refused (no
no_auth_user). Passwords are NATS variables resolved from the server's environment,
which takes them from the Secret kappa.natsSecret names.

One user per component that connects: only the gateway does (it enqueues Event calls
and runs the async workers and the dead-letter endpoints). It may publish to the
event and dead-letter subjects of the installation (kappa.events.> of today's
per-namespace streams, kappa.async.> of the shared stream earlier versions wrote, still
read and written by old replicas during an upgrade), to the progress bucket, acks of
consumers, the JetStream API calls the async queue makes (stream list, info, create,
update and message get, consumer create/info/next: of any stream, since every namespace
has an event stream of its own, kappa-events_<namespace>, and NATS permissions match
whole tokens; message delete on the dead-letter stream only: a redriven or deleted dead
letter; and the deletion of one consumer, `workers` of kappa-async, which earlier
versions used: a work-queue stream takes no overlapping consumers, and deleting a
consumer leaves its events in the stream), and
onSuccess/onFailure destination subjects <namespace>.> of the namespaces in
nats.destinationNamespaces. For durable functions (kappa.durable.store): publish to the
durable log's subjects (kappa.durable.log.>), the timers' (kappa.durable.timer.>: their
work-queue stream and its consumer per namespace use the API calls above) and the two buckets ($KV.kappa-durable-executions.>,
$KV.kappa-durable-snapshots.>), the purge of the durable log stream alone (an execution's
subject when its retention ends), and the one ephemeral consumer kind a listing of the
executions bucket makes (create on KV_kappa-durable-executions, and its flow-control
replies). Purging any other stream, deleting any stream, or any other consumer, is
refused (NATS's deny wins over allow, so purges are refused by not being allowed); it
subscribes to its own reply inboxes only.
The names follow kappa.asyncq.envelope.Names with KAPPA_ASYNC_PREFIX's default,
kappa (the chart does not set it). */}}
{{- define "kappa.natsAuthorization" -}}
{{- $p := "kappa" -}}
{{- $events := printf "%s-async" $p -}}
{{- $dlq := printf "%s-dlq" $p -}}
{{- $bucket := printf "%s-async-progress" $p -}}
{{- $kv := printf "KV_%s" $bucket -}}
{{- $durableLog := printf "%s-durable-log" $p -}}
{{- $executions := printf "%s-durable-executions" $p -}}
{{- $snapshots := printf "%s-durable-snapshots" $p -}}
{{- $destinations := .Values.nats.destinationNamespaces -}}
authorization {
  users: [
    {
      user: gateway
      password: $KAPPA_NATS_GATEWAY_PASSWORD
      permissions: {
        publish: {
          allow: [
            "{{ $p }}.events.>", "{{ $p }}.async.>", "{{ $p }}.dlq.>",
            "$KV.{{ $bucket }}.>",
            "$JS.ACK.*.*.>",
            "$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
            "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.CREATE.*",
            "$JS.API.STREAM.UPDATE.*", "$JS.API.STREAM.MSG.GET.*",
            "$JS.API.DIRECT.GET.{{ $kv }}", "$JS.API.DIRECT.GET.{{ $kv }}.>",
            "$JS.API.CONSUMER.CREATE.*.*", "$JS.API.CONSUMER.CREATE.*.*.>",
            "$JS.API.CONSUMER.DURABLE.CREATE.*.*",
            "$JS.API.CONSUMER.INFO.*.*",
            "$JS.API.CONSUMER.MSG.NEXT.*.*",
            "$JS.API.CONSUMER.DELETE.{{ $events }}.workers",
            "$JS.API.STREAM.MSG.DELETE.{{ $dlq }}",
            "{{ $p }}.durable.log.>", "{{ $p }}.durable.timer.>",
            "$KV.{{ $executions }}.>", "$KV.{{ $snapshots }}.>",
            "$JS.API.STREAM.PURGE.{{ $durableLog }}",
            "$JS.API.CONSUMER.CREATE.KV_{{ $executions }}",
            "$JS.FC.KV_{{ $executions }}.>",
            {{- range $destinations }}
            {{- if ne . $p }}
            "{{ . }}.>",
            {{- end }}
            {{- end }}
          ]
          deny: ["$JS.API.STREAM.DELETE.>"]
        }
        subscribe: {allow: ["_INBOX.>"]}
      }
    }
  ]
}
{{- end -}}

{{/* The Secret holding the gateway's NATS password (key gateway-password). */}}
{{- define "kappa.natsSecret" -}}
{{- .Values.nats.existingSecret | default (printf "%s-nats-auth" (include "kappa.fullname" .)) -}}
{{- end -}}
