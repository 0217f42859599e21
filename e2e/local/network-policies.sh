#!/usr/bin/env bash
# Makes the local cluster enforce NetworkPolicies, as a cluster with Calico or Cilium does:
# kube-network-policies (sigs.k8s.io, the implementation kind uses), built from its Go
# module into $KAPPA_CACHE and run as a host process like kube-proxy.
#   network-policies.sh            (cluster-up.sh runs it once the node is Ready)
#
# It hands the packets of pods that policies select to itself through an nfqueue. Upstream
# does that with nftables' own `queue` expression, which this machine's kernel lacks
# (`zcat /proc/config.gz | grep NFT_QUEUE`: "CONFIG_NFT_QUEUE is not set"), while it has
# the xtables NFQUEUE target and nftables' bridge to xtables targets
# (CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y, CONFIG_NFT_COMPAT=y). So the build swaps the
# expression for that target (xt_NFQ_info_v3: the same queue number and bypass flag; the
# packets reach the same nfnetlink queue), makes its rule sync keep its chains hooked
# (upstream deletes its table at each sync, which drops the packets queued at that moment:
# a new connection then waits 1 s for its SYN's resend), and makes it read KUBECONFIG
# (upstream knows only the in-cluster configuration of a DaemonSet);
# network-policies-patch.py says more. Nothing else of it changes. Traffic the node's root
# user makes (the kubelet's probes, the tests run on this host) is not filtered, as
# upstream decides.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
version=v0.8.0
cache=${KAPPA_CACHE:-/var/cache/kappa}
# The binary is named after the patch it was built with: a changed patch builds again.
patch=$(sha256sum "$here/network-policies-patch.py" | cut -c1-12)
target=$cache/tools/kube-network-policies-$version-$patch
export GOMODCACHE=${GOMODCACHE:-$cache/go/mod} GOCACHE=${GOCACHE:-$cache/go/build}
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
# shellcheck source=go-toolchain.sh
. "$here/go-toolchain.sh"
if [ ! -x "$target" ]; then
  need_go network-policies 26 go1.26.8
  log "building kube-network-policies $version (first time on this machine; cached in $cache/tools)"
  src=$(go mod download -json "sigs.k8s.io/kube-network-policies@$version" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  work=$(mktemp -d)
  cp -r "$src/." "$work/" && chmod -R u+w "$work"
  python3 "$here/network-policies-patch.py" "$work"
  mkdir -p "$cache/tools"
  (cd "$work" && go build -trimpath -ldflags "-s -w" -o "$target.tmp.$$" ./cmd) >&2
  mv "$target.tmp.$$" "$target"
  rm -rf "$work"
fi
export KUBECONFIG=$STATE/kubeconfig
if ! pid_alive kube-network-policies; then
  log "starting kube-network-policies (NetworkPolicies enforced)"
  printf '\n==== kube-network-policies start %s\n' "$(date -Is)" >>"$LOGS/kube-network-policies.log"
  setsid "$target" --hostname-override "$NODE_NAME" \
    --disable-nri --metrics-bind-address 127.0.0.1:9080 --v 1 \
    </dev/null >>"$LOGS/kube-network-policies.log" 2>&1 &
  echo $! >"$RUNDIR/pids/kube-network-policies.pid"
fi
