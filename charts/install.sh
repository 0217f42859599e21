#!/usr/bin/env bash
# Installs or upgrades Kappa from charts/kappa into the cluster of KUBECONFIG (default:
# the local cluster), then waits for it to be ready:
#   1. the CRDs, applied server-side: Helm creates a chart's crds/ on first install but
#      never upgrades them, so every run applies them (a no-op when unchanged);
#   2. objects an older `kubectl apply -f deploy/` made are adopted by the release;
#   3. helm upgrade --install --wait (extra arguments go to helm: --set, -f …).
# KAPPA_RELEASE (kappa) and KAPPA_RELEASE_NAMESPACE (kappa-system) name the release.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=${KUBECONFIG:-$repo/.local-cluster/kubeconfig}
release=${KAPPA_RELEASE:-kappa}
namespace=${KAPPA_RELEASE_NAMESPACE:-kappa-system}
chart="$repo/charts/kappa"
kubectl="$("$repo/e2e/local/build-k8s.sh")/kubectl"
helm="$("$repo/e2e/local/build-tools.sh")/helm"

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

"$helm" upgrade --install "$release" "$chart" --namespace "$namespace" \
  --wait --timeout 5m "$@"
