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
if ! command -v kind >/dev/null || ! command -v docker >/dev/null; then
  echo "kind provider: needs docker and kind on PATH" >&2; exit 1
fi
# Read whole, then matched: `kind get clusters | grep -q` under pipefail fails when grep
# exits early and kind gets SIGPIPE, and would then create the cluster a second time.
clusters=$(kind get clusters 2>/dev/null)
if ! grep -qx "$name" <<<"$clusters"; then
  kind create cluster --name "$name" --wait 120s >&2
fi
kind get kubeconfig --name "$name" >"$kubeconfig"
# Assigned first: set -e does not see a failing build inside `for a in $(...)`.
archives=$(KAPPA_IMAGE_BUILDER=docker "$repo/runtime-images/build.sh")
for archive in $archives; do
  kind load image-archive "$archive" --name "$name" >&2
done
echo "$kubeconfig"
