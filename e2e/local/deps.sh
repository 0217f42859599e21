#!/usr/bin/env bash
# Installs the Debian packages a step needs, once per machine (a no-op when every
# command is already present):
#   deps.sh           what `make up` needs: the local cluster and the image builds
#   deps.sh --lint    and shellcheck (`make lint`)
#   deps.sh --test    and what the integration tests start or build (`make test`):
#                     compilers, Java and Maven, Redis, RabbitMQ, nats-server
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
mode=${1:-up}
case $mode in up|--lint|--test) ;; *) echo "usage: deps.sh [--lint | --test]" >&2; exit 2 ;; esac
# command -> Debian package
declare -A need=(
  [containerd]=containerd [runc]=runc [ctr]=containerd
  [etcd]=etcd-server [etcdctl]=etcd-client
  [iptables]=iptables [conntrack]=conntrack [ethtool]=ethtool [socat]=socat
  [debootstrap]=debootstrap [umoci]=umoci [buildah]=buildah [skopeo]=skopeo
  [openssl]=openssl [curl]=curl [ip]=iproute2 [ss]=iproute2 [nsenter]=util-linux
  [unshare]=util-linux [findmnt]=util-linux [modprobe]=kmod
)
if [ "$mode" != up ]; then
  need+=([shellcheck]=shellcheck)
fi
if [ "$mode" = --test ]; then
  need+=(
    # The pause binary (static, tests/integration/test_pause.py), aws-lambda-ric's
    # native build for the Node.js runtime tests (node-gyp, aws-lambda-cpp; 4.0.2 unpacks
    # its curl from a .tar.xz).
    [gcc]=gcc [g++]=g++ [make]=make [cmake]=cmake [autoreconf]=autoconf [automake]=automake
    [libtoolize]=libtool [xz]=xz-utils
    # Event source tests: ElasticMQ (an SQS server) and Kafka from Maven Central, run with Java.
    [java]=default-jre-headless [mvn]=maven
    # The java17 runtime's tests: handlers compiled with javac (e2e/test_java.py,
    # tests/integration/java), run on Debian's Java 17 as in the runtime-java17 image.
    [javac]=openjdk-17-jdk-headless
    # Event source brokers the integration tests start.
    [redis-server]=redis-server [rabbitmq-server]=rabbitmq-server [epmd]=erlang-base
    # Asynchronous invocation and the NATS event source: a real NATS server with JetStream.
    [nats-server]=nats-server
    # kappa deploy's integration test packages a package.json with npm (and runs it with node).
    [npm]=npm
  )
fi
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
if [ "$mode" = --test ]; then
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
  [ -x "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)/bin/java" ] ||
    missing+=(openjdk-17-jre-headless)
fi
# `python3 -m venv` on Debian's python3 needs python3-venv.
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "[deps] installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
