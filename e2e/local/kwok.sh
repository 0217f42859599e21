#!/usr/bin/env bash
# Makes N simulated nodes (kwok) run beside the real one, for scale tests:
#   kwok.sh N
# kwok is built from Go modules (pinned below) into $KAPPA_CACHE. v0.8.0 ships
# no default stages, so the node-initialize, node-heartbeat (lease), pod-ready,
# pod-complete and pod-delete stages are taken from the module's kustomize/stage.
# Simulated nodes carry the taint kwok.x-k8s.io/node=fake:NoSchedule, so only
# pods that tolerate it land there; real test pods keep the real node.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
n=${1:?usage: kwok.sh N}
version=v0.8.0
export GOMODCACHE=${GOMODCACHE:-$KAPPA_CACHE/go/mod} GOCACHE=${GOCACHE:-$KAPPA_CACHE/go/build}
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
bin=$KAPPA_CACHE/kwok-$version/bin
# shellcheck source=go-toolchain.sh
. "$here/go-toolchain.sh"
if [ ! -x "$bin/kwok" ]; then
  need_go kwok 26 go1.26.8  # the toolchain build-tools.sh uses: new enough for kwok
  log "building kwok $version (first time on this machine)"
  GOBIN=$bin CGO_ENABLED=0 go install "sigs.k8s.io/kwok/cmd/kwok@$version"
fi
stages=$(go mod download -json "sigs.k8s.io/kwok@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')/kustomize/stage
config=$STATE/kwok-stages.yaml
: >"$config"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  { echo "---"; cat "$stages/$f"; } >>"$config"
done
export KUBECONFIG=$STATE/kubeconfig
kubectl=$("$here/build-k8s.sh")/kubectl
if ! pid_alive kwok; then
  log "starting kwok"
  setsid "$bin/kwok" --kubeconfig "$KUBECONFIG" --config "$config" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr=10.92.0.0/16 --node-ip=10.92.0.1 \
    --server-address=127.0.0.1:10247 </dev/null >>"$LOGS/kwok.log" 2>&1 &
  echo $! >"$RUNDIR/pids/kwok.pid"
fi
for i in $(seq 0 $((n - 1))); do
  cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
status:
  allocatable: {cpu: "32", memory: 256Gi, ephemeral-storage: 1Ti, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, ephemeral-storage: 1Ti, pods: "110"}
EOF
done | "$kubectl" apply -f - >/dev/null
# Exactly N: simulated nodes from an earlier, larger call go.
# Assigned first: set -e does not see a failing command inside `for x in $(...)`.
nodes=$("$kubectl" get nodes -l type=kwok -o name)
for node in $nodes; do
  [ "${node##*-}" -lt "$n" ] || "$kubectl" delete "$node" >/dev/null
done
"$kubectl" wait --for=condition=Ready node -l type=kwok --timeout=120s >/dev/null
log "$n kwok nodes Ready"
