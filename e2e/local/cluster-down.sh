#!/usr/bin/env bash
# Tears the local cluster down: stops every process it started (and every
# container), unmounts what they mounted, removes the pods' network
# namespaces, the bridge, the iptables rules of kube-proxy and CNI, restores
# the sysctls it changed and removes its state. Safe to run any number of
# times, also after the processes were killed from outside.
# Component logs stay in $STATE/logs for post-mortems (`make clean` removes them).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
quiet=0 force=0
for arg in "$@"; do
  case $arg in
    --quiet) quiet=1 ;;
    --force) force=1 ;;  # take down a cluster another checkout brought up
    *) die "unknown argument $arg (usage: cluster-down.sh [--quiet] [--force])" ;;
  esac
done
say() { [ $quiet = 1 ] || log "$@"; }

owner=$(cat "$RUNDIR/owner" 2>/dev/null || true)
if [ -n "$owner" ] && [ "$owner" != "$STATE" ] && [ $force = 0 ]; then
  for c in containerd etcd kube-apiserver kubelet; do
    if pid_alive "$c"; then
      die "the running local cluster belongs to $owner; run its cluster-down (or this one with --force)"
    fi
  done
fi

# Network namespaces of our sandboxes, read while containerd still answers.
netns_list=$(mktemp)
if [ -S "$CONTAINERD_SOCK" ] && ctr_k8s version >/dev/null 2>&1; then
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers info "$id" 2>/dev/null | python3 -c '
import json, sys
spec = json.load(sys.stdin).get("Spec") or {}
for ns in (spec.get("linux") or {}).get("namespaces") or []:
    if ns.get("type") == "network" and ns.get("path"):
        print(ns["path"])' >>"$netns_list" || true
  done
fi

stop() {
  local name=$1 f=$RUNDIR/pids/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $name"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
# The kubelet first, so it restarts nothing while the rest goes.
for c in kube-network-policies local-path-provisioner kwok kubelet kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done
# Containers: every process in the kubelet's pod cgroups, then their shims
# (started by our containerd, its socket in their argv), which reap them.
kill_pods() {
  find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -name cgroup.procs \
    -exec cat {} + 2>/dev/null | sort -u | xargs -r kill -KILL 2>/dev/null
}
kill_pods
sleep 0.2
pkill -KILL -f "containerd-shim.*$RUNDIR/containerd" 2>/dev/null
kill_pods
stop containerd
# containerd 1.6 puts shim sockets in /run/containerd/s whatever its state
# dir: remove those no process listens on any more.
if [ -d /run/containerd/s ]; then
  listening=$(ss -xlnH 2>/dev/null | awk '{print $5}')
  for sock in /run/containerd/s/*; do
    [ -e "$sock" ] || continue
    grep -qxF "$sock" <<<"$listening" || rm -f "$sock"
  done
  rmdir /run/containerd/s /run/containerd 2>/dev/null
fi
# Processes left by an earlier cluster whose pid files are gone: those whose
# command line names our directories (fixed strings, not patterns), except
# this script's own ancestry.
for cmdline in /proc/[0-9]*/cmdline; do
  pid=${cmdline#/proc/}; pid=${pid%/cmdline}
  [ "$pid" = $$ ] || [ "$pid" = "$PPID" ] && continue
  argv=$(tr '\0' ' ' <"$cmdline" 2>/dev/null) || continue
  case $argv in
    *cluster-down.sh*|*cluster-up.sh*|*pytest*) continue ;;
  esac
  for dir in "$VARDIR" "$RUNDIR" "$STATE/"; do
    if [[ $argv == *"$dir"* ]]; then kill -KILL "$pid" 2>/dev/null; break; fi
  done
done
sleep 0.2

# Mounts under our directories (deepest first), then the sandboxes' netns.
for _ in 1 2 3; do
  mounts=$(awk -v a="$VARDIR" -v b="$RUNDIR" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r)
  [ -z "$mounts" ] && break
  for m in $mounts; do umount -l "$m" 2>/dev/null; done
done
while read -r ns; do
  [ -n "$ns" ] || continue
  umount "$ns" 2>/dev/null
  rm -f "$ns"
done <"$netns_list"
rm -f "$netns_list"
# libcni keeps results of our network outside containerd's root.
rm -rf /var/lib/cni/results/"$CNI_NET"-* 2>/dev/null

# The kubelet's pod cgroups, deepest first (empty now that their processes are gone).
for _ in 1 2 3 4 5; do
  dirs=$(find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -depth -type d 2>/dev/null)
  [ -z "$dirs" ] && break
  for d in $dirs; do rmdir "$d" 2>/dev/null; done
  sleep 0.2
done

if ip link show "$BRIDGE" >/dev/null 2>&1; then
  say "removing bridge $BRIDGE"
  ip link delete "$BRIDGE"
fi

# iptables (IPv4 and IPv6): kube-proxy's KUBE-* chains and the CNI plugins' CNI-* chains.
for family in iptables ip6tables; do
  command -v "$family-save" >/dev/null || continue
  for table in nat filter mangle; do
    # Saved first, then searched: `save | grep -q` under pipefail fails by SIGPIPE
    # as soon as grep stops reading a long table.
    saved=$("$family-save" -t "$table" 2>/dev/null) || continue
    if grep -qE 'KUBE-|CNI-' <<<"$saved"; then
      say "removing KUBE-/CNI- rules from $family table $table"
      # Restoring a table replaces it whole: every other rule is kept as saved.
      grep -vE 'KUBE-|CNI-' <<<"$saved" | "$family-restore" -T "$table" ||
        log "warning: could not restore $family table $table without KUBE-/CNI- rules"
    fi
  done
done

if [ -f "$RUNDIR/sysctl.saved" ]; then
  while read -r k v; do echo "$v" >"/proc/sys/$k"; done <"$RUNDIR/sysctl.saved"
fi
rm -rf "$VARDIR" "$RUNDIR"
# Everything in the state dir but the logs.
if [ -d "$STATE" ]; then
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
fi
say "down"
