#!/usr/bin/env bash
# Builds the chart and GitOps tools from Go modules into a cache keyed by version, so only
# the first build on a machine pays (about a minute each):
#   $KAPPA_CACHE/tools/helm-<version>, kubeconform-<version>, kstatus-<cli-utils version>,
#   local-path-provisioner-<version> (the local cluster's storage)
# and the Kubernetes JSON schemas kubeconform validates against (offline, see
# docs/operations.md, "Linting the chart"):  $KAPPA_CACHE/tools/schemas-<k8s version>/
# Prints the bin directory on stdout (helm, kubeconform, kstatus and argocd-health there are symlinks).
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
cache=${KAPPA_CACHE:-/var/cache/kappa}
helm_version=v3.22.0
kubeconform_version=v0.8.0
local_path_version=v0.0.30
kstatus_version=$(awk '/sigs.k8s.io\/cli-utils / {print $2; exit}' "$here/kstatus/go.mod")
gopher_lua_version=$(awk '/github.com\/yuin\/gopher-lua / {print $NF; exit}' "$here/argocd-health/go.mod")
k8s_version=$(awk '/^require k8s.io\/kubernetes/ {print $3}' "$here/k8s/go.mod")
tools="$cache/tools"
bin="$tools/bin"
mkdir -p "$bin"
export GOMODCACHE=${GOMODCACHE:-$cache/go/mod} GOCACHE=${GOCACHE:-$cache/go/build}
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
# helm v3.22 and kubeconform v0.8 want Go 1.26.
. "$here/go-toolchain.sh"
# go install <module>/<cmd>@<version> into the cache as <name>-<version>.
install_tool() {
  local name=$1 pkg=$2 version=$3 ldflags="-s -w ${4:-}" target="$tools/$1-$3"
  if [ ! -x "$target" ]; then
    need_go build-tools 26 go1.26.8
    echo "building $name $version (first time on this machine; cached in $tools)" >&2
    local tmp
    tmp=$(mktemp -d)
    GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "$pkg@$version" >&2
    mv "$tmp/$(basename "$pkg")" "$target"
    rmdir "$tmp"
  fi
  ln -sfn "$target" "$bin/$name"
}
# Helm's version and its default Kubernetes version (for `helm lint`/`template` without a
# cluster) are link-time variables, as in Helm's own Makefile.
k8s_minor=$(echo "$k8s_version" | cut -d. -f2)
install_tool helm helm.sh/helm/v3/cmd/helm "$helm_version" "-X helm.sh/helm/v3/internal/version.version=$helm_version \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
install_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$kubeconform_version"
# The local cluster's storage provisioner (storage.sh): the one kind ships.
install_tool local-path-provisioner github.com/rancher/local-path-provisioner "$local_path_version"
# go build a tiny program of ours (e2e/local/<name>) into the cache as <name>-<version>.
build_ours() {
  local name=$1 version=$2 about=$3 target="$tools/$1-$2"
  if [ ! -x "$target" ]; then
    need_go build-tools 26 go1.26.8
    echo "building $name ($about $version; cached in $tools)" >&2
    (cd "$here/$name" && go build -trimpath -ldflags "-s -w" -o "$target.tmp.$$" .) >&2
    mv "$target.tmp.$$" "$target"
  fi
  ln -sfn "$target" "$bin/$name"
}
# kstatus: around sigs.k8s.io/cli-utils' kstatus.
build_ours kstatus "$kstatus_version" cli-utils
# argocd-health: runs Argo CD health scripts in gopher-lua, as Argo CD does
# (charts/kappa/gitops/argocd-health.lua is tested with it).
build_ours argocd-health "$gopher_lua_version" gopher-lua
# Kubernetes' own OpenAPI (v2) document ships in the k8s.io/kubernetes module that
# build-k8s.sh already fetches; the schemas are generated from it, never downloaded.
schemas="$tools/schemas-$k8s_version"
if [ ! -f "$schemas/.done" ]; then
  swagger="$GOMODCACHE/k8s.io/kubernetes@$k8s_version/api/openapi-spec/swagger.json"
  if [ ! -f "$swagger" ]; then
    need_go build-tools 26 go1.26.8
    (cd "$here/k8s" && go mod download k8s.io/kubernetes) >&2
  fi
  rm -rf "$schemas" && mkdir -p "$schemas"
  python3 "$here/openapi2jsonschema.py" k8s "$swagger" "$schemas" >&2
  touch "$schemas/.done"
fi
ln -sfn "$schemas" "$tools/schemas"
echo "$bin"
