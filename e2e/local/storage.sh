#!/usr/bin/env bash
# Gives the local cluster dynamic PersistentVolumes: Rancher's local-path-provisioner (the
# one kind ships), built from Go modules by build-tools.sh, run as a host process like
# the other components, with a default StorageClass `local-path`. A claim gets a
# directory under $VARDIR/local-path on the node, made (0777) and removed by a short
# helper pod in `local-path-storage` running the base image; deleting a pod keeps its
# claim's data, deleting the claim removes it.
#
#   storage.sh            (cluster-up.sh runs it once the node is Ready)
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
export KUBECONFIG=$STATE/kubeconfig
kubectl=$("$here/build-k8s.sh")/kubectl
provisioner=$("$here/build-tools.sh")/local-path-provisioner
volumes=$VARDIR/local-path
mkdir -p "$volumes"
# The helper pods run the base image (sh, mkdir, rm): every image the cluster runs is local.
helper_image=kappa.local/base:$(awk '$1 == "base" {print $2; exit}' "$here/../../runtime-images/images.txt")
"$kubectl" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: local-path-storage}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-provisioner, namespace: local-path-storage}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: '{"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["$volumes"]}]}'
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper-pod}
    spec:
      enableServiceLinks: false
      containers:
        - name: helper-pod
          image: $helper_image
          imagePullPolicy: Never
          securityContext: {runAsUser: 0}  # the image's user is not root; the node's directory is
YAML
sum_of() { "$kubectl" get configmap -n local-path-storage local-path-config -o jsonpath='{.data}' | sha256sum; }
config=$STATE/local-path-config.json
printf '{"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["%s"]}]}\n' \
  "$volumes" >"$config"
# It reads the helper pod at start: a changed ConfigMap needs a restart.
if pid_alive local-path-provisioner && [ "$(cat "$STATE/local-path-config.sum" 2>/dev/null)" != "$(sum_of)" ]; then
  kill "$(cat "$RUNDIR/pids/local-path-provisioner.pid")"
  sleep 1
fi
sum_of >"$STATE/local-path-config.sum"
if ! pid_alive local-path-provisioner; then
  log "starting local-path-provisioner"
  setsid "$provisioner" start --kubeconfig "$KUBECONFIG" --config "$config" \
    --namespace local-path-storage --configmap-name local-path-config \
    --service-account-name local-path-provisioner --helper-image "$helper_image" \
    </dev/null >>"$LOGS/local-path-provisioner.log" 2>&1 &
  echo $! >"$RUNDIR/pids/local-path-provisioner.pid"
fi
