#!/usr/bin/env bash
# make bench-cluster: how long the local cluster takes to come up, side by side
# in one run. Prints figures, asserts nothing.
#   up from down   cluster-down, then cluster-up with binaries and images cached
#   node Ready     from the start of cluster-up to the node's Ready transition
#   re-up          cluster-up while everything runs (the idempotent no-op)
#   cold           BENCH_COLD=1 also times a cluster-up with an empty build
#                  cache (a temporary KAPPA_CACHE): Go builds, debootstrap, images
# Runs: BENCH_RUNS (default 3).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
kubectl=$("$repo/e2e/local/build-k8s.sh")/kubectl
export KUBECONFIG=$repo/.local-cluster/kubeconfig
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

printf '%-6s %-16s %-14s %-10s\n' run "up-from-down(s)" "node-Ready(s)" "re-up(s)"
for i in $(seq "$runs"); do
  "$repo/e2e/local/cluster-down.sh" --quiet
  t0=$(now)
  "$repo/e2e/local/cluster-up.sh" 2>/dev/null
  up=$(since "$t0")
  ready_at=$("$kubectl" get node kappa-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')
  ready=$(python3 -c "import sys, datetime as d; print(f'{d.datetime.fromisoformat(sys.argv[1].replace(\"Z\", \"+00:00\")).timestamp() - float(sys.argv[2]):.0f}')" "$ready_at" "$t0")
  t1=$(now)
  "$repo/e2e/local/cluster-up.sh" 2>/dev/null
  reup=$(since "$t1")
  printf '%-6s %-16s %-14s %-10s\n' "$i" "$up" "$ready" "$reup"
done
if [ "${BENCH_COLD:-0}" = 1 ]; then
  "$repo/e2e/local/cluster-down.sh" --quiet
  cold=$(mktemp -d /var/tmp/kappa-cold-cache.XXXX)
  t0=$(now)
  KAPPA_CACHE=$cold "$repo/e2e/local/cluster-up.sh" 2>/dev/null
  echo "cold (empty build cache, Go module downloads included): $(since "$t0") s"
  "$repo/e2e/local/cluster-down.sh" --quiet
  rm -rf "$cold"
fi
