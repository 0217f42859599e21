#!/usr/bin/env bash
# kind provider: for machines WITH Docker and kind (it cannot run on the
# project's own build machines, which have no Docker daemon; there the local
# provider in e2e/local/ is used). Creates a kind cluster, builds the project's
# images with Docker from the same Dockerfiles and loads them into the node,
# then prints the kubeconfig path for the e2e suite:
#   KUBECONFIG=$(e2e/kind/cluster-up.sh) make test-e2e
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=${KAPPA_KIND_CLUSTER:-kappa}
kubeconfig=$repo/.kind-$name.kubeconfig
command -v kind >/dev/null && command -v docker >/dev/null || {
  echo "kind provider: needs docker and kind on PATH" >&2; exit 1; }
kind get clusters | grep -qx "$name" || kind create cluster --name "$name" --wait 120s >&2
kind get kubeconfig --name "$name" >"$kubeconfig"
for archive in $(KAPPA_IMAGE_BUILDER=docker "$repo/runtime-images/build.sh"); do
  kind load image-archive "$archive" --name "$name" >&2
done
echo "$kubeconfig"
