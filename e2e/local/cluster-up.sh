#!/usr/bin/env bash
# Brings up a real single-node Kubernetes on this machine without Docker:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
# kube-proxy (one pinned version, built from Go modules by build-k8s.sh),
# containerd + runc + a CNI bridge from Debian, the project's images imported into
# containerd, a storage provisioner (storage.sh) and NetworkPolicy enforcement
# (network-policies.sh). Idempotent: components already running are kept.
#
#   cluster-up.sh [--kwok-nodes N]
#
# Writes $STATE/kubeconfig; every component logs to $STATE/logs/<name>.log.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pki.sh
. "$here/pki.sh"

kwok_nodes=0
while [ $# -gt 0 ]; do
  case $1 in
    --kwok-nodes) kwok_nodes=$2; shift 2 ;;
    *) die "unknown argument $1 (usage: cluster-up.sh [--kwok-nodes N])" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "the local cluster needs root (containerd, mounts, iptables)"
[ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] ||
  die "no memory cgroup controller under /sys/fs/cgroup"
"$here/deps.sh"
BIN=$("$here/build-k8s.sh")
export PATH=$BIN:$PATH

components=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
any_alive=0
for c in "${components[@]}"; do pid_alive "$c" && any_alive=1; done
if [ $any_alive = 1 ] && [ "$(cat "$RUNDIR/owner" 2>/dev/null)" != "$STATE" ]; then
  die "a local cluster of $(cat "$RUNDIR/owner" 2>/dev/null || echo 'another checkout') runs on this machine (one per machine): run its cluster-down first"
fi
if [ $any_alive = 0 ]; then
  # Nothing of ours runs: whatever a killed earlier cluster left (mounts,
  # netns, bridge, iptables rules, stale state) goes before a clean start.
  "$here/cluster-down.sh" --quiet
fi
mkdir -p "$STATE" "$LOGS" "$VARDIR" "$RUNDIR/pids" "$RUNDIR/cni/net.d"
echo "$STATE" >"$RUNDIR/owner"
make_pki

# start NAME CMD...: runs CMD in its own session unless NAME already runs.
start() {
  local name=$1; shift
  if pid_alive "$name"; then return 0; fi
  log "starting $name"
  printf '\n==== %s start %s\n' "$name" "$(date -Is)" >>"$LOGS/$name.log"
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$RUNDIR/pids/$name.pid"
}

# put FILE [COMPONENT]: writes stdin to FILE only if it changed (kube-proxy
# exits when its config file is touched); a running COMPONENT whose config
# changed is stopped here, so start() runs it again with the new one.
put() {
  local file=$1 component=${2:-} tmp
  tmp=$(mktemp "$file.XXXXXX")  # 0600: some of these hold keys
  cat >"$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; return 0; fi
  mv "$tmp" "$file"
  if [ -n "$component" ] && pid_alive "$component"; then
    log "config of $component changed: restarting it"
    kill "$(cat "$RUNDIR/pids/$component.pid")"
    while pid_alive "$component"; do sleep 0.1; done
  fi
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what not ready after ${limit}s; see $LOGS/"
    sleep 0.2
  done
}

# --- kernel: bridged pod traffic must pass iptables (kube-proxy), overlayfs --
for module in br_netfilter overlay; do
  if ! grep -qw "$module" /proc/modules 2>/dev/null && command -v modprobe >/dev/null; then
    modprobe "$module" 2>/dev/null || true  # built in on some kernels: checked below
  fi
done
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
  die "no /proc/sys/net/bridge: the kernel needs br_netfilter (modprobe br_netfilter)"
grep -qw overlay /proc/filesystems || die "no overlay filesystem: the kernel needs overlayfs"

# --- host network: a bridge that carries the node IP and the pod network ----
if [ ! -f "$RUNDIR/sysctl.saved" ]; then
  for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables; do
    echo "$k $(cat /proc/sys/$k)"
  done >"$RUNDIR/sysctl.saved"
fi
echo 1 >/proc/sys/net/ipv4/ip_forward
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/16" dev "$BRIDGE"
fi
ip link set "$BRIDGE" up
put "$RUNDIR/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true,
     "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$RUNDIR/cni/networks",
              "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "10.88.0.10", "gateway": "$NODE_IP"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}
EOF
# Containers must not wait on the host's resolver, which they cannot reach.
echo "nameserver 127.0.0.1" | put "$STATE/resolv.conf"

# --- containerd ---------------------------------------------------------------
# Lowering an oom_score_adj needs CAP_SYS_RESOURCE (bit 24 of CapEff).
if (( (0x$(awk '/^CapEff/ {print $2}' /proc/self/status) >> 24) & 1 )); then
  restrict_oom=false kubelet_oom=-999
else
  log "no CAP_SYS_RESOURCE here: oom_score_adj requests are clamped at 0"
  restrict_oom=true kubelet_oom=0
fi
# --- containerd (config) ---------------------------------------------------------------
put "$STATE/containerd.toml" containerd <<EOF
version = 2
root = "$VARDIR/containerd"
state = "$RUNDIR/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$VARDIR/containerd-opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here may lack CAP_SYS_RESOURCE (so on this project's VMs): a negative
  # oom_score_adj (the kubelet asks -998 for sandboxes) then fails every pod.
  # Clamp requests at containerd's own score instead.
  restrict_oom_score_adj = $restrict_oom
  # Pods' network namespaces under our state dir, so cluster-down finds them
  # even when containerd is gone.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$RUNDIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUNDIR/cni/net.d"
EOF
start containerd containerd --config "$STATE/containerd.toml"
wait_for containerd 30 ctr_k8s version
"$here/images.sh" import

# --- etcd -------------------------------------------------------------------------
start etcd etcd --name kappa-local --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "kappa-local=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "http://127.0.0.1:12381" --quota-backend-bytes 4294967296 \
  --unsafe-no-fsync
wait_for etcd 30 curl -sf "http://127.0.0.1:12381/health"

# --- control plane -------------------------------------------------------------------
start kube-apiserver kube-apiserver \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 0.0.0.0 --advertise-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=true \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --enable-admission-plugins NodeRestriction,PodNodeSelector,PodTolerationRestriction \
  --profiling=false --endpoint-reconciler-type lease
kubeconfig "$STATE/kubeconfig" admin "https://127.0.0.1:$APISERVER_PORT"
for c in controller-manager scheduler kube-proxy kubelet; do
  kubeconfig "$STATE/$c.kubeconfig" "$c" "https://$NODE_IP:$APISERVER_PORT"
done
export KUBECONFIG=$STATE/kubeconfig
wait_for kube-apiserver 60 kubectl get --raw /readyz

# With simulated nodes (scale runs), the node lifecycle controller waits 10 minutes, not
# 50 s, for a node's lease: kwok renews 100 leases from one process, and on two busy
# cores it falls behind under a 10,000-pod load; a node then marked NotReady makes its
# pods Ready=False for good (kwok does not set them back), which a benchmark would count.
node_grace=()
[ "$kwok_nodes" -eq 0 ] || node_grace=(--node-monitor-grace-period=10m)
start kube-controller-manager kube-controller-manager "${node_grace[@]}" \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --cluster-cidr "$POD_CIDR" \
  --controllers '*,-nodeipam,-cloud-node-lifecycle,-service,-route'
start kube-scheduler kube-scheduler \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false

# --- node -------------------------------------------------------------------------------
put "$STATE/kubelet.yaml" kubelet <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
failSwapOn: false
oomScoreAdj: $kubelet_oom
resolvConf: $STATE/resolv.conf
clusterDomain: cluster.local
podCIDR: $POD_CIDR
maxPods: 250
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 5s
registerNode: true
nodeStatusReportFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 10s
EOF
start kubelet kubelet --config "$STATE/kubelet.yaml" \
  --kubeconfig "$STATE/kubelet.kubeconfig" --root-dir "$VARDIR/kubelet" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
  --cert-dir "$VARDIR/kubelet/pki" --v 1
put "$STATE/kube-proxy.yaml" kube-proxy <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $STATE/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
EOF
start kube-proxy kube-proxy --config "$STATE/kube-proxy.yaml"

wait_for "node $NODE_NAME" 120 kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
# Pods are created before the default service account exists only at startup.
wait_for "default service account" 60 kubectl get serviceaccount default -n default

"$here/storage.sh"  # PersistentVolumes (a default StorageClass)
"$here/network-policies.sh"  # NetworkPolicies enforced (kube-network-policies)

if [ "$kwok_nodes" -gt 0 ]; then
  "$here/kwok.sh" "$kwok_nodes"
fi
log "ready: export KUBECONFIG=$STATE/kubeconfig"
