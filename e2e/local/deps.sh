#!/usr/bin/env bash
# Installs the Debian packages the local cluster, the image builds and the
# integration tests need,
# once per machine (a no-op when every command is already present).
set -euo pipefail
# command -> Debian package
declare -A need=(
  [containerd]=containerd [runc]=runc [ctr]=containerd
  [etcd]=etcd-server [etcdctl]=etcd-client
  [iptables]=iptables [conntrack]=conntrack [ethtool]=ethtool [socat]=socat
  [debootstrap]=debootstrap [umoci]=umoci [buildah]=buildah [skopeo]=skopeo
  [openssl]=openssl [curl]=curl [ip]=iproute2 [nsenter]=util-linux [unshare]=util-linux
  # Integration tests: the pause binary (static), aws-lambda-ric's native build (node-gyp).
  [gcc]=gcc [g++]=g++ [make]=make [cmake]=cmake [autoreconf]=autoconf [automake]=automake
  [libtoolize]=libtool [modprobe]=kmod
  # Event source tests: ElasticMQ (an SQS server) from Maven Central, run with Java.
  [java]=default-jre-headless [mvn]=maven
  # Event source brokers the integration tests start (Kafka's jars: e2e/local/fetch-brokers.sh).
  [redis-server]=redis-server [rabbitmq-server]=rabbitmq-server [epmd]=erlang-base
  # Asynchronous invocation and the NATS event source: a real NATS server with JetStream.
  [nats-server]=nats-server
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
# `python3 -m venv` on Debian's python3 needs python3-venv.
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "[deps] installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
