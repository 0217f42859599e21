#!/usr/bin/env bash
# Builds the vegeta load generator (github.com/tsenart/vegeta, a Go module) into the
# cache once, as <cache>/tools/vegeta-<version>, and prints its path. The benches that
# need an open-loop load generator outside Python's event loop use it (bench/gateway_ceiling.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${KAPPA_CACHE:-/var/cache/kappa}
version=v12.13.0
target="$cache/tools/vegeta-$version"
if [ ! -x "$target" ]; then
  export GOMODCACHE=${GOMODCACHE:-$cache/go/mod} GOCACHE=${GOCACHE:-$cache/go/build}
  export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
  # shellcheck source=../e2e/local/go-toolchain.sh
  . "$here/../e2e/local/go-toolchain.sh"
  need_go vegeta 22 go1.26.8
  echo "building vegeta $version (first time on this machine; cached in $cache/tools)" >&2
  mkdir -p "$cache/tools"
  tmp=$(mktemp -d)
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "github.com/tsenart/vegeta/v12@$version" >&2
  mv "$tmp/vegeta" "$target"
  rmdir "$tmp"
fi
echo "$target"
