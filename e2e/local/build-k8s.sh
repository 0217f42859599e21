#!/usr/bin/env bash
# Builds the pinned Kubernetes binaries from Go modules (see k8s/go.mod) into a
# cache keyed by version, so only the first build on a machine pays:
#   $KAPPA_CACHE/k8s-<version>/bin/{kube-apiserver,kube-controller-manager,...}
# Prints the bin directory on stdout.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
cache=${KAPPA_CACHE:-/var/cache/kappa}
version=$(awk '/^require k8s.io\/kubernetes/ {print $3}' "$here/k8s/go.mod")
minor=$(echo "$version" | cut -d. -f2)
bin="$cache/k8s-$version/bin"
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
mkdir -p "$bin"
export GOMODCACHE=${GOMODCACHE:-$cache/go/mod} GOCACHE=${GOCACHE:-$cache/go/build}
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
# Kubernetes 1.32 wants Go 1.23.
. "$here/go-toolchain.sh"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
cd "$here/k8s"
for c in "${cmds[@]}"; do
  if [ -x "$bin/$c" ]; then continue; fi
  need_go build-k8s 23 go1.23.12
  echo "building $c $version (first time on this machine; cached in $bin)" >&2
  # kubelet needs cgo off too: upstream builds every command static.
  CGO_ENABLED=0 go build -trimpath -tags=selinux,notest -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2
  mv "$bin/$c.tmp" "$bin/$c"
done
echo "$bin"
