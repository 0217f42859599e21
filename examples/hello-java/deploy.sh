#!/usr/bin/env bash
# Builds hello.jar (build.sh), stores it in a ConfigMap as the Function's code archive
# (a jar is a zip: the pods unpack it into /var/task, as Lambda does) and applies the
# Function.
#   examples/hello-java/deploy.sh [namespace]      (KUBECONFIG as kubectl uses it)
# KUBECTL overrides the kubectl command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
namespace=${1:-default}
# shellcheck disable=SC2206  # KUBECTL may carry arguments ("kubectl --context x"): split on purpose
kubectl=(${KUBECTL:-kubectl} -n "$namespace")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$here/build.sh" "$work/hello.jar" >/dev/null
# binaryData (the jar is not text); at most 1 MiB, a ConfigMap's limit: a larger jar
# goes to spec.code.url (any HTTP server the pods reach, with its sha256).
"${kubectl[@]}" create configmap hello-java-code --from-file=code.zip="$work/hello.jar" \
  --dry-run=client -o yaml | "${kubectl[@]}" apply -f -
"${kubectl[@]}" apply -f "$here/function.yaml"
