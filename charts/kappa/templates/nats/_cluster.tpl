{{/* The cluster.conf of the chart's NATS with nats.replicas above 1: the node's name and
its routes to every node of the JetStream cluster (itself included: NATS drops a route to
itself). The local cluster has no cluster DNS, so routes cannot use a headless Service's
names: each pod has a ClusterIP Service of its own (<release>-nats-<i>, made before the
StatefulSet, so Kubernetes gives the pods its <NAME>_SERVICE_HOST variable), and the
StatefulSet turns those variables into the KAPPA_NATS_ROUTE_<i> URLs read here. Routes
authenticate with the user `route` and the Secret's route-password. */}}
{{- define "kappa.natsCluster" -}}
server_name: $KAPPA_NATS_SERVER_NAME
cluster {
  name: {{ include "kappa.fullname" . }}-nats
  listen: 0.0.0.0:6222
  # Clients keep the address they were given (the Service): pod addresses change.
  no_advertise: true
  authorization {
    user: route
    password: $KAPPA_NATS_ROUTE_PASSWORD
  }
  routes: [
  {{- range $i := until (int .Values.nats.replicas) }}
    $KAPPA_NATS_ROUTE_{{ $i }}
  {{- end }}
  ]
}
{{- end -}}
