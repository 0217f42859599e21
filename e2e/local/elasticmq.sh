#!/usr/bin/env bash
# ElasticMQ (an SQS-compatible server) from Maven Central, run with the machine's Java.
#   e2e/local/elasticmq.sh fetch            download once into the cache, print the lib folder
#   e2e/local/elasticmq.sh run HOST PORT    run in the foreground (exec), serving on HOST:PORT
# The jars are resolved by Maven (org.elasticmq:elasticmq-server_2.13 and its dependencies)
# into /var/cache/kappa/elasticmq/VERSION/lib; later runs use the cache.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed

VERSION=${ELASTICMQ_VERSION:-1.6.11}
CACHE=${KAPPA_CACHE:-/var/cache/kappa}/elasticmq/$VERSION

fetch() {
  if [[ -f $CACHE/lib/elasticmq-server_2.13-$VERSION.jar ]]; then
    echo "$CACHE/lib"
    return
  fi
  command -v mvn >/dev/null || { echo "elasticmq.sh: mvn is missing (e2e/local/deps.sh installs maven)" >&2; exit 1; }
  local work
  work=$(mktemp -d)
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.kappa</groupId><artifactId>elasticmq-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId><artifactId>elasticmq-server_2.13</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  mkdir -p "$CACHE"
  # Whatever an interrupted fetch left is not trusted: a fresh folder, renamed when whole.
  rm -rf "$CACHE/lib.partial"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/lib.partial" >&2
  rm -rf "${CACHE:?}/lib"
  mv "$CACHE/lib.partial" "$CACHE/lib"
  rm -rf "$work"
  echo "$CACHE/lib"
}

run() {
  local host=$1 port=$2 lib conf
  lib=$(fetch)
  conf=$(mktemp --suffix=.conf)
  cat >"$conf" <<CONF
include classpath("application.conf")
node-address { protocol = http, host = "$host", port = $port, context-path = "" }
rest-sqs { enabled = true, bind-port = $port, bind-hostname = "$host", sqs-limits = strict }
rest-stats { enabled = false }
CONF
  exec java -Xmx256m -Dconfig.file="$conf" -cp "$lib/*" org.elasticmq.server.Main
}

case ${1:-} in
  fetch) fetch ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 fetch | run HOST PORT" >&2; exit 2 ;;
esac
