#!/usr/bin/env bash
# Installs or upgrades Kappa from charts/kappa into the cluster of KUBECONFIG (default:
# the local cluster), then waits for it to be ready:
#   1. the CRDs, applied server-side: Helm creates a chart's crds/ on first install but
#      never upgrades them, so every run applies them (a no-op when unchanged);
#   2. objects an older `kubectl apply -f deploy/` made are adopted by the release;
#   3. helm upgrade --install --wait (extra arguments go to helm: --set, -f …).
# KAPPA_RELEASE (kappa) and KAPPA_RELEASE_NAMESPACE (kappa-system) name the release.
# kubectl and helm come from PATH when they are there (e2e/local/tool.sh says when).
# The images must be in the cluster already (README: "Installing on your own cluster").
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
repo=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=${KUBECONFIG:-$repo/.local-cluster/kubeconfig}
release=${KAPPA_RELEASE:-kappa}
namespace=${KAPPA_RELEASE_NAMESPACE:-kappa-system}
chart="$repo/charts/kappa"
# From PATH when there and fit for this cluster; built (once, cached) only otherwise.
kubectl=$("$repo/e2e/local/tool.sh" kubectl)
helm=$("$repo/e2e/local/tool.sh" helm)
echo "using $kubectl and $helm" >&2

"$kubectl" apply --server-side --force-conflicts -f "$chart/crds/" >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s -f "$chart/crds/" >/dev/null

# The operator and the gateway run under Pod Security "restricted"; so may nothing else here.
if ! "$kubectl" get namespace "$namespace" >/dev/null 2>&1; then
  "$kubectl" create namespace "$namespace" >/dev/null
fi
"$kubectl" label --overwrite namespace "$namespace" pod-security.kubernetes.io/enforce=restricted >/dev/null

# Adopt what deploy/*.yaml made before the chart existed (same names, same selectors).
if [ "$release" = kappa ]; then
  for obj in serviceaccount/kappa-operator serviceaccount/kappa-gateway deployment/kappa-operator \
             deployment/kappa-gateway service/kappa-gateway clusterrole/kappa-operator \
             clusterrole/kappa-gateway clusterrolebinding/kappa-operator clusterrolebinding/kappa-gateway \
             service/kappa-operator statefulset/kappa-nats configmap/kappa-nats service/kappa-nats; do
    owner=$("$kubectl" -n "$namespace" get "$obj" --ignore-not-found \
      -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}{"|"}{.metadata.name}')
    if [ "$owner" = "|${obj#*/}" ]; then
      "$kubectl" -n "$namespace" label --overwrite "$obj" app.kubernetes.io/managed-by=Helm >/dev/null
      "$kubectl" -n "$namespace" annotate --overwrite "$obj" meta.helm.sh/release-name="$release" \
        meta.helm.sh/release-namespace="$namespace" >/dev/null
      echo "adopted $obj into the Helm release $release" >&2
    fi
  done
fi

echo "helm upgrade --install $release (waits up to 5 min for the release's pods to be Ready)" >&2
# helm --wait says nothing while it waits: every 20 s, the pods that are not Ready yet.
(
  while sleep 20; do
    pending=$("$kubectl" -n "$namespace" get pods --no-headers 2>/dev/null | awk '{
      split($2, r, "/"); if (r[1] != r[2] || $3 != "Running") printf "%s %s %s; ", $1, $2, $3 }')
    echo "helm: still waiting for ${pending:-the objects of the release}" >&2
  done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null' EXIT
"$helm" upgrade --install "$release" "$chart" --namespace "$namespace" \
  --wait --timeout 5m "$@"
