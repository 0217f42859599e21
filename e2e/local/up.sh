#!/usr/bin/env bash
# `make up`: a fresh machine to a local cluster with Kappa installed and the example
# invoked, in numbered steps with their elapsed time (e2e/local/steps.sh). Each step's
# raw output is in .local-cluster/logs/<step>.log; a failed step shows its log's last
# lines and how to run it again. Every step is cached or idempotent: running `make up`
# again redoes only what is missing.
#   up.sh [--kwok-nodes N]      (arguments go to cluster-up.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=steps.sh
. "$here/steps.sh"
cd "$repo"
STEP_LOGS=$LOGS STEP_TOTAL=7 STEP_RERUN="make up (finished steps are cached)"
start=$(date +%s)
k8s_version=$(awk '/^require k8s.io\/kubernetes/ {print $3}' "$here/k8s/go.mod")

# first_run MARKER HINT: HINT when MARKER (what the step caches) is absent.
first_run() { [ -e "$1" ] || printf 'first run: %s' "$2"; }

step deps "Debian packages the cluster and the image builds need" \
  "$(first_run "$(command -v buildah || true)" 'about 1 min')" -- "$here/deps.sh"
step venv "Python environment ($PWD/.venv)" "$(first_run .venv/bin/kappa 'about 2 min')" -- \
  make --no-print-directory venv
# Which binary builds now (go build says nothing while it compiles).
STEP_STATUS="grep -a '^building' '$LOGS/kubernetes.log' | tail -n 1" \
  step kubernetes "Kubernetes $k8s_version binaries, built from Go modules" \
  "$(first_run "$KAPPA_CACHE/k8s-$k8s_version/bin/kubectl" 'about 5 min on 2 cores')" -- \
  "$here/build-k8s.sh"
# Which image builds now (the build's last line is often a long-running RUN's).
STEP_STATUS="grep -a '^\[images\]' '$LOGS/images.log' | tail -n 1" \
  step images "images (runtime-images/images.txt)" \
  "$(first_run "$KAPPA_CACHE/debootstrap/bookworm/bin/sh" 'Debian bootstrap and 8 builds, about 7 min')" -- \
  runtime-images/build.sh
step cluster "local cluster: containerd, etcd, control plane, node; images imported" -- \
  "$here/cluster-up.sh" "$@"
kubectl="$(KUBECONFIG=$STATE/kubeconfig "$here/tool.sh" kubectl) --kubeconfig $STATE/kubeconfig"
# What install.sh is at: a tool it builds, or the pods helm still waits for.
STEP_STATUS="grep -aE '^(building|using|helm)' '$LOGS/install.log' | tail -n 1" \
  step install "Kappa installed with Helm (charts/install.sh)" \
  "$(first_run "$(command -v helm || echo "$KAPPA_CACHE/tools/bin/helm")" 'builds helm from Go modules, about 3 min')" -- \
  charts/install.sh
STEP_STATUS="$kubectl get function hello-python --no-headers 2>/dev/null | sed 's/^/function /'" \
  step example "examples/hello-python applied, Ready and invoked" -- make --no-print-directory example
tail -n 1 "$LOGS/example.log" | sed 's/^/  response: /' >&2
printf 'Kappa is up after %s. Gateway: %s\n' "$(duration $(($(date +%s) - start)))" \
  "$(make -s gateway-url)"
printf 'export KUBECONFIG=%s  # kubectl: %s\n' "$STATE/kubeconfig" "${kubectl%% *}"
