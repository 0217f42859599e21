#!/usr/bin/env bash
# Prints the path of a kubectl or helm to use, so installing on an existing cluster
# builds nothing:
#   tool.sh kubectl   kubectl from PATH when it runs and is within one minor version of
#                     the cluster's API server (Kubernetes' kubectl skew policy; of the
#                     pinned version e2e/local/k8s/go.mod when no server answers);
#                     otherwise the pinned one, built once by build-k8s.sh
#   tool.sh helm      helm from PATH when it is Helm 3 or 4; otherwise the pinned one,
#                     built once by build-tools.sh
# KAPPA_BUILT_TOOLS=1 always takes the pinned builds (what CI's chart lint uses).
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)

# minor_of JSON KEY: the minor version in `kubectl version -o json`'s KEY (clientVersion...).
minor_of() {
  python3 -c 'import json, re, sys
try:
    v = json.loads(sys.argv[1]).get(sys.argv[2]) or {}
    print(re.match(r"\d+", v.get("minor", "")).group())
except (ValueError, AttributeError):
    pass' "$1" "$2"
}

path_kubectl() {
  local kubectl json client server
  kubectl=$(command -v kubectl) || return 1
  json=$("$kubectl" version --client -o json 2>/dev/null) || return 1
  client=$(minor_of "$json" clientVersion)
  [ -n "$client" ] || return 1
  # The server's version when one answers (quickly); else the pinned version's.
  json=$("$kubectl" version -o json --request-timeout=5s 2>/dev/null || true)
  server=$(minor_of "$json" serverVersion)
  if [ -z "$server" ]; then
    server=$(awk '/^require k8s.io\/kubernetes/ {print $3}' "$here/k8s/go.mod" | cut -d. -f2)
  fi
  [ $((client - server)) -le 1 ] && [ $((server - client)) -le 1 ] || return 1
  echo "$kubectl"
}

path_helm() {
  local helm version
  helm=$(command -v helm) || return 1
  version=$("$helm" version --template '{{.Version}}' 2>/dev/null) || return 1
  case $version in v3.*|v4.*) echo "$helm" ;; *) return 1 ;; esac
}

case ${1:-} in
  kubectl)
    if [ "${KAPPA_BUILT_TOOLS:-0}" = 1 ] || ! path_kubectl; then
      echo "$("$here/build-k8s.sh")/kubectl"
    fi ;;
  helm)
    if [ "${KAPPA_BUILT_TOOLS:-0}" = 1 ] || ! path_helm; then
      echo "$("$here/build-tools.sh")/helm"
    fi ;;
  *) echo "usage: $0 kubectl | helm" >&2; exit 2 ;;
esac
