#!/usr/bin/env bash
# Lints charts/kappa without a cluster: `helm lint --strict`, then every manifest the
# chart renders (defaults and each charts/kappa/ci/*-values.yaml, CRDs included) and
# every example is validated by kubeconform -strict against schemas generated offline:
# Kubernetes' own (from its swagger.json, by e2e/local/build-tools.sh) and Kappa's
# CRDs (from charts/kappa/crds). ServiceMonitor and PodMonitor are skipped: prometheus-operator's CRDs
# are not ours to carry, and no cluster is asked.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bin=$(e2e/local/build-tools.sh)
schemas=${KAPPA_CACHE:-/var/cache/kappa}/tools/schemas
python=${PYTHON:-.venv/bin/python}
chart=charts/kappa
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" e2e/local/openapi2jsonschema.py crds "$chart/crds" "$tmp/crds" 2>/dev/null
# shellcheck disable=SC2054  # the comma is kubeconform's own list separator (-skip A,B)
kubeconform=("$bin/kubeconform" -strict -summary -skip ServiceMonitor,PodMonitor
  -schema-location "$schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"
  -schema-location "$tmp/crds/{{ .ResourceKind }}{{ .KindSuffix }}.json")
for values in "" "$chart"/ci/*-values.yaml; do
  args=()
  [ -n "$values" ] && args=(-f "$values")
  echo "== ${values:-defaults}"
  "$bin/helm" lint --strict "$chart" "${args[@]}" --namespace kappa-system | grep -v '^$'
  "$bin/helm" template kappa "$chart" --namespace kappa-system --include-crds "${args[@]}" \
    > "$tmp/rendered.yaml"
  "${kubeconform[@]}" "$tmp/rendered.yaml"
done
echo "== examples"
# kappa.yaml is `kappa deploy`'s settings, not an object (tests/unit/test_example_*.py
# check that it makes a valid Function).
find examples -name '*.yaml' ! -name kappa.yaml -print0 | xargs -0 "${kubeconform[@]}"
# The checks must be able to fail: a misspelt field, a wrong value and a bad chart
# value are each refused, or this lint is worthless.
echo "== the checks refuse what they should"
refuses() {
  if "$@" >"$tmp/out" 2>&1; then
    echo "lint-chart: expected a refusal from: $*" >&2; cat "$tmp/out" >&2; exit 1
  fi
}
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 1\n' > "$tmp/typo.yaml"
refuses "${kubeconform[@]}" "$tmp/typo.yaml"
printf 'apiVersion: kappa.dev/v1alpha1\nkind: Function\nmetadata: {name: x}\nspec: {runtime: python3.11, handler: a.b, code: {inline: {a.py: ""}}, memoryMB: 64}\n' > "$tmp/fn.yaml"
refuses "${kubeconform[@]}" "$tmp/fn.yaml"
refuses "$bin/helm" template kappa "$chart" --set gateway.queue.maxWaiter=1
refuses "$bin/helm" template kappa "$chart" --set nats.streamReplicas=3  # the chart's NATS is one node
echo "ok"
