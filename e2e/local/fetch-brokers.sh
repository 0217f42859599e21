#!/usr/bin/env bash
# Fetches the Kafka broker the integration tests and benchmarks run (KRaft mode,
# the machine's Java) from Maven Central: the runtime dependency set of
# org.apache.kafka:kafka_2.13 as resolved by Maven from the POMs
# (e2e/local/brokers/pom.xml), cached by version so only the first run pays:
#   $KAPPA_CACHE/brokers/kafka-<version>/libs/*.jar
# Prints the libs directory on stdout. RabbitMQ, Redis and nats-server come
# from Debian (e2e/local/deps.sh).
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
cache=${KAPPA_CACHE:-/var/cache/kappa}
pom="$here/brokers/pom.xml"
version=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$pom")
libs="$cache/brokers/kafka-$version/libs"
if [ ! -f "$libs/.complete" ]; then
  command -v mvn >/dev/null || { echo "fetch-brokers: mvn is needed (e2e/local/deps.sh installs Debian's maven)" >&2; exit 1; }
  echo "fetching Kafka $version and its dependencies (first time on this machine; cached in $libs)" >&2
  rm -rf "$libs.tmp"
  mvn -B -q -f "$pom" -Dmaven.repo.local="$cache/maven/repository" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >&2
  touch "$libs.tmp/.complete"
  rm -rf "$libs"
  mv "$libs.tmp" "$libs"
fi
echo "$libs"
