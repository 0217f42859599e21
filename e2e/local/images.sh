#!/usr/bin/env bash
# Builds the project's images (runtime-images/build.sh) and imports them into
# the local cluster's containerd, so pods use them without a registry.
#   images.sh [import]   build (cached) and import
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
archives=$("$repo/runtime-images/build.sh")
[ -S "$CONTAINERD_SOCK" ] || { log "containerd not running: images built, not imported"; exit 0; }
have=$(ctr_k8s images ls -q 2>/dev/null || true)
for a in $archives; do
  ref=$(tar -xOf "$a" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')
  id=$(tar -xOf "$a" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')
  # Re-import only when the tag points elsewhere (the archive's config differs from the
  # last one imported, whichever checkout imported it: the marker is the cluster's).
  marker=$RUNDIR/images/$(basename "$a")
  if grep -qx "$ref" <<<"$have" && [ "$(cat "$marker" 2>/dev/null)" = "$id" ]; then continue; fi
  log "importing $ref"
  ctr_k8s images import --no-unpack=false "$a" >/dev/null
  mkdir -p "$RUNDIR/images" && echo "$id" >"$marker"
done
