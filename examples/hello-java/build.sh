#!/usr/bin/env bash
# Builds hello.jar, the function as Lambda takes a Java function: its classes at the
# root of a jar (a zip; dependencies would go in lib/ as jars). Compiled with javac
# for Java 17 against aws-lambda-java-core, which the runtime provides at run time
# (the jar need not carry it), fetched from Maven Central at the version and sha256
# the java17 runtime pins (runtime-images/runtime-java17/jars.txt).
#   examples/hello-java/build.sh [OUT.jar]        (default: ./hello.jar)
# Needs a JDK >= 17 (javac, jar) and curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-hello.jar}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
read -r coordinates sha256 < <(grep '^com.amazonaws:aws-lambda-java-core:' \
  "$here/../../runtime-images/runtime-java17/jars.txt")
version=${coordinates##*:}
core=$work/aws-lambda-java-core-$version.jar
curl -fsSL -o "$core" \
  "https://repo1.maven.org/maven2/com/amazonaws/aws-lambda-java-core/$version/aws-lambda-java-core-$version.jar"
echo "$sha256  $core" | sha256sum --check --quiet
javac --release 17 -cp "$core" -d "$work/classes" "$here"/src/example/*.java
jar --create --file "$out" -C "$work/classes" .
echo "$out"
