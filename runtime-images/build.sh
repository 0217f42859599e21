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
# kappa.local/<name>:<tag> (tag in images.txt).
set -euo pipefail
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
prev=""
while read -r name tag; do
  case $name in ''|'#'*) continue ;; esac
  ref=kappa.local/$name:$tag
  # The archive's name carries a hash of its inputs: the build context, the
  # Debian base and the image built before it (later images build on earlier).
  # An image dir's `inputs` file names the other repo paths its build copies.
  inputs=("runtime-images/$name")
  [ -f "$here/$name/inputs" ] && mapfile -t -O 1 inputs < <(grep -v '^#' "$here/$name/inputs")
  key=$( (cd "$repo" && find "${inputs[@]}" -type f ! -path '*/__pycache__/*' -print0 | sort -z |
    xargs -0 sha256sum; echo "$base_id $prev") | sha256sum | cut -c1-16)
  archive=$out/$name-$tag-$key.tar
  if [ ! -f "$archive" ]; then
    log "building $ref"
    bld --build-arg "BASE=$base" --build-arg "KAPPA_BASE=kappa.local/base:$(awk '$1=="base"{print $2}' "$here/images.txt")" \
      -f "$here/$name/Dockerfile" -t "$ref" "$repo" >&2
    tmp=$(mktemp "$archive.XXXXXX")  # concurrent builds must not share it
    save "$ref" "$tmp"
    mv "$tmp" "$archive"
    # Older archives of the same image are superseded.
    find "$out" -name "$name-$tag-*.tar" ! -path "$archive" -delete
  fi
  prev=$key
  echo "$archive"
done <"$here/images.txt"
