#!/usr/bin/env bash
# kind provider teardown (machines with Docker and kind only; see cluster-up.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=${KAPPA_KIND_CLUSTER:-kappa}
kind delete cluster --name "$name"
rm -f "$repo/.kind-$name.kubeconfig"
