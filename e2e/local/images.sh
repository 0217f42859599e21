#!/usr/bin/env bash
# Builds the project's images (runtime-images/build.sh) and imports them into
# the local cluster's containerd, so pods use them without a registry.
#   images.sh [import]   build (cached) and import
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
archives=$("$repo/runtime-images/build.sh")
[ -S "$CONTAINERD_SOCK" ] || { log "containerd not running: images built, not imported"; exit 0; }
# The digest the tag points at now (empty when absent).
digest_of() { ctr_k8s images ls 2>/dev/null | awk -v ref="$1" '$1 == ref {print $3}'; }
for a in $archives; do
  ref=$(tar -xOf "$a" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["RepoTags"][0])')
  id=$(tar -xOf "$a" manifest.json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"])')
  # Re-import only when the tag points elsewhere (the archive's config differs).
  # Skip only when the tag still points at what this archive imported: another checkout
  # may have imported a different build under the same tag since (its digest differs).
  current="$RUNDIR/images/${ref//[\/:]/_}.current"
  if [ -f "$RUNDIR/images/$(basename "$a")" ] \
      && [ "$(cat "$current" 2>/dev/null)" = "$(basename "$a") $(digest_of "$ref")" ]; then continue; fi
  log "importing $ref"
  ctr_k8s images import --no-unpack=false "$a" >/dev/null
  mkdir -p "$RUNDIR/images" && echo "$id" >"$RUNDIR/images/$(basename "$a")"
  echo "$(basename "$a") $(digest_of "$ref")" >"$current"
done
