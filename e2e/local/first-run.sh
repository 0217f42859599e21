#!/usr/bin/env bash
# The first-run paths of `make up`, taken on every CI run (.ci/run): the build scripts
# run against a fresh, empty KAPPA_CACHE, as on a machine that never ran them, and what
# they leave is checked, then the temporary cache goes. A first-run-only bug (a
# pipeline failing under pipefail when there is nothing to do, a directory that does
# not exist yet, a half-written cache) fails here instead of on a new user's machine.
#
#   first-run.sh              (about 15 min on 2 cores; `make first-run`)
#
# Cold here: Debian's debootstrap and every image build (apt, pip, npm and the native
# addon inside), the Kubernetes binaries' and Helm/kubeconform/kstatus's build scripts
# writing into an empty cache, the offline schemas, the Kafka jars (Maven, empty local
# repository), ElasticMQ's jars, a new venv. Warm (shared, on purpose): Go's module
# and build caches (GOMODCACHE, GOCACHE: content-addressed by Go itself; a cold Go build
# of Kubernetes takes ~12 min more), pip's and Maven's download caches for the venv and
# ElasticMQ, and the Debian packages on the machine (deps.sh only checks them here;
# removing packages from a shared CI machine is not an option).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
# shellcheck source=steps.sh
. "$here/steps.sh"
shared=${KAPPA_CACHE:-/var/cache/kappa}
export GOMODCACHE=${GOMODCACHE:-$shared/go/mod} GOCACHE=${GOCACHE:-$shared/go/build}
# Not /tmp: it may be a tmpfs, too small for the images and without overlayfs upper dirs.
work=$(mktemp -d /var/tmp/kappa-first-run.XXXXXX)
export KAPPA_CACHE=$work/cache
STEP_LOGS=$repo/.local-cluster/logs/first-run STEP_TOTAL=7 STEP_RERUN="make first-run"
rm -rf "$STEP_LOGS"

cleanup() {
  # buildah's overlay storage keeps its layers mounted: unmount them (deepest first)
  # before removing the tree. awk, not grep: nothing mounted is not an error.
  buildah --root "$KAPPA_CACHE/buildah/storage" --runroot "$KAPPA_CACHE/buildah/run" \
    --storage-driver overlay rm --all >/dev/null 2>&1 || true
  findmnt -rno TARGET | awk -v p="$work/" 'index($0, p) == 1' | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "first-run check: an empty cache in $KAPPA_CACHE (Go's caches shared: $GOCACHE)" >&2
step deps "Debian packages (deps.sh, each mode)" -- \
  bash -c "'$here/deps.sh' && '$here/deps.sh' --lint && '$here/deps.sh' --test"
# The images first: the likeliest to break on a first run, and it fails within seconds.
step images "Debian bootstrap and every image into the empty cache" -- runtime-images/build.sh
step kubernetes "Kubernetes binaries into the empty cache" -- "$here/build-k8s.sh"
step tools "helm, kubeconform, kstatus and the schemas into the empty cache" -- "$here/build-tools.sh"
step brokers "Kafka's and ElasticMQ's jars into the empty cache" -- \
  bash -c "'$here/fetch-brokers.sh' && '$here/elasticmq.sh' fetch"
step venv "a new venv" -- make --no-print-directory venv "VENV=$work/venv"
step check "what the first run left is complete and works" -- "$here/first-run-check.sh" "$work"
echo "first-run check: passed" >&2
