# Shared settings of the local cluster provider (sourced by cluster-up.sh,
# cluster-down.sh and images.sh). Everything the cluster makes lives under the
# paths named here, so cluster-down.sh can remove exactly that.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings below are read by the scripts that source this file

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAPPA_CACHE=${KAPPA_CACHE:-/var/cache/kappa}
# Per-checkout state: kubeconfig, PKI, etcd data, configs, logs (git-ignored).
STATE=${KAPPA_CLUSTER_DIR:-$repo/.local-cluster}
LOGS=$STATE/logs
PKI=$STATE/pki
# Machine-wide runtime state: one local cluster per machine.
VARDIR=/var/lib/kappa-local
RUNDIR=/run/kappa-local
CONTAINERD_SOCK=$RUNDIR/containerd/containerd.sock
CNI_NET=kappa-local
BRIDGE=kappa0
NODE_NAME=kappa-node
NODE_IP=10.88.0.1
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.96.0.0/16
APISERVER_PORT=${KAPPA_APISERVER_PORT:-6443}
ETCD_PORT=12379
ETCD_PEER_PORT=12380
# Images are imported under this prefix; pods use them with IfNotPresent/Never.
IMAGE_PREFIX=kappa.local
PAUSE_IMAGE=$IMAGE_PREFIX/pause:3.10

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# pid_alive NAME: the component NAME started by us is still running (a pid
# file left by a killed cluster may name a pid reused since: check argv too).
pid_alive() {
  local f=$RUNDIR/pids/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  # Read whole, then matched (a pipe into grep -q can fail by SIGPIPE under pipefail).
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$1"* ]]
}

ctr_k8s() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
