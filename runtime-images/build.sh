#!/usr/bin/env bash
# Builds the project's images from their Dockerfiles without a registry and
# writes each as a docker-archive tarball under $KAPPA_CACHE/images/, from
# which a cluster imports them (local: ctr import; kind: kind load).
#
#   build.sh            build what changed, print the archive paths
#
# Builder: buildah (no daemon) by default, or Docker when
# KAPPA_IMAGE_BUILDER=docker. The Debian base is `debian:bookworm-slim` with
# Docker; without a registry it is debootstrapped once from Debian's mirror
# and committed as kappa.local/debian:bookworm.
# Images are listed, in build order, in images.txt; each is tagged
# kappa.local/<name>:<tag> (tag in images.txt) and built from
# runtime-images/<dir>/Dockerfile with the build arguments its line gives.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")  # the build context of every image (see .dockerignore)
cache=${KAPPA_CACHE:-/var/cache/kappa}
builder=${KAPPA_IMAGE_BUILDER:-buildah}
out=$cache/images
mkdir -p "$out"
log() { printf '[images] %s\n' "$*" >&2; }

if [ "$builder" = docker ]; then
  base=debian:bookworm-slim
  bld() { docker build "$@"; }
  save() { docker save -o "$2" "$1"; }
else
  broot=$cache/buildah
  B=(buildah --root "$broot/storage" --runroot "$broot/run" --storage-driver overlay)
  base=kappa.local/debian:bookworm
  bld() { "${B[@]}" bud --isolation chroot --network host --layers "$@"; }
  save() { rm -f "$2"; "${B[@]}" push -q "$1" "docker-archive:$2:$1" >/dev/null; }
  if ! "${B[@]}" inspect --type image "$base" >/dev/null 2>&1; then
    rootfs=$cache/debootstrap/bookworm
    if [ ! -x "$rootfs/bin/sh" ]; then
      log "debootstrapping Debian bookworm into $rootfs (once per machine)"
      # A debootstrap killed midway may leave proc/sys mounted in its tree.
      # (awk, not grep: grep exits 1 when nothing matches, which pipefail turns
      # into a failure on every first run.)
      findmnt -rno TARGET | awk -v p="$rootfs.tmp/" 'index($0, p) == 1' | sort -r |
        xargs -r -n1 umount -l
      rm -rf --one-file-system "$rootfs.tmp"
      debootstrap --variant=minbase bookworm "$rootfs.tmp" http://deb.debian.org/debian >&2
      mv "$rootfs.tmp" "$rootfs"
    fi
    log "committing $base"
    tarball=$(mktemp --suffix=.tar)
    trap 'rm -f "$tarball"' EXIT
    # Leave out what is host-specific or regenerated in every container.
    tar -C "$rootfs" --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* \
      --exclude=./var/cache/apt/archives/*.deb -cf "$tarball" .
    c=$("${B[@]}" from scratch)
    "${B[@]}" add "$c" "$tarball" / >/dev/null
    printf '' | "${B[@]}" copy "$c" /dev/stdin /etc/resolv.conf 2>/dev/null || true
    "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env LANG=C.UTF-8 --cmd /bin/bash "$c"
    "${B[@]}" commit -q "$c" "$base" >/dev/null
    "${B[@]}" rm "$c" >/dev/null
    rm -f "$tarball"
  fi
fi

base_id=$base
[ "$builder" = docker ] || base_id=$("${B[@]}" inspect --type image --format '{{.FromImageID}}' "$base")
base_tag=$(awk '$1 == "base" {print $2}' "$here/images.txt")
prev=""
while read -r name tag rest; do
  case $name in ''|'#'*) continue ;; esac
  # Optional columns: the Dockerfile's directory (default: the name), then build arguments.
  read -r -a extra <<<"${rest:-}"
  dir=$name
  if [ ${#extra[@]} -gt 0 ] && [[ ${extra[0]} != *=* ]]; then dir=${extra[0]}; extra=("${extra[@]:1}"); fi
  args=()
  for a in "${extra[@]}"; do args+=(--build-arg "$a"); done
  ref=kappa.local/$name:$tag
  # The archive's name carries a hash of its inputs: the build context, the
  # build arguments, the Debian base and the image built before it (later
  # images build on earlier). An image dir's `inputs` file names the other
  # repo paths its build copies.
  inputs=("runtime-images/$dir")
  if [ -f "$here/$dir/inputs" ]; then
    mapfile -t -O 1 inputs < <(sed -e '/^#/d' -e '/^$/d' "$here/$dir/inputs")
  fi
  key=$( (cd "$repo" && find "${inputs[@]}" -type f ! -path '*/__pycache__/*' -print0 | sort -z |
    xargs -0 sha256sum; echo "$base_id $prev ${extra[*]}") | sha256sum | cut -c1-16)
  archive=$out/$name-$tag-$key.tar
  if [ ! -f "$archive" ]; then
    log "building $ref"
    bld --build-arg "BASE=$base" --build-arg "KAPPA_BASE=kappa.local/base:$base_tag" "${args[@]}" \
      -f "$here/$dir/Dockerfile" -t "$ref" "$repo" >&2
    tmp=$(mktemp "$archive.XXXXXX")  # concurrent builds must not share it
    save "$ref" "$tmp"
    mv "$tmp" "$archive"
    # Older archives of the same image are superseded.
    find "$out" -name "$name-$tag-*.tar" ! -path "$archive" -delete
  fi
  prev=$key
  echo "$archive"
done <"$here/images.txt"
