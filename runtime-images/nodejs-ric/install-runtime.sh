#!/bin/sh
# Builds the Node.js runtime of a Kappa image into RUNTIME_DIR:
#
#   install-runtime.sh NODE_PREFIX RUNTIME_DIR      e.g. /var/lang /var/runtime
#
# NODE_PREFIX is a Node installation with its headers and npm (fetch_node.py
# makes one). aws-lambda-ric, pinned by package-lock.json, is installed with
# `npm ci`: its install scripts build curl and aws-lambda-cpp from the sources
# in the package (cmake, autoreconf, libtool, make, g++) and then its native
# addon with node-gyp, against NODE_PREFIX's headers (npm_config_nodedir), so
# nothing is downloaded but the npm packages. RUNTIME_DIR then holds:
#   ric/        aws-lambda-ric's dist/ (index.mjs, rapid-client.node) and licences
#   index.cjs   the entry point: runs $_HANDLER from $LAMBDA_TASK_ROOT
#   bootstrap   what the kappa agent starts (node is RUNTIME_DIR/../lang/bin/node)
#   ric-mc/     Node >= 22 only: aws-lambda-ric 4 (concurrent/, pinned the same way), the
#               client of Lambda Managed Instances, which the bootstrap runs instead when
#               AWS_LAMBDA_MAX_CONCURRENCY is set (spec.concurrency.perRuntime over 1)
# The runtime images and tests/integration/nodejs both build with this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(cd "$1" && pwd)
out=$2
major=$("$prefix/bin/node" -p 'process.versions.node.split(".")[0]')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
# The user's npm configuration (a nodedir, a registry mirror…) must not make
# this build differ from the image's.
export NPM_CONFIG_USERCONFIG=/dev/null npm_config_nodedir="$prefix" \
  npm_config_cache="$work/.npm" npm_config_update_notifier=false
# Every package is pinned by its sha512 in package-lock.json, which npm ci
# checks: when the network re-signs TLS with a CA this container does not
# trust (a TLS-inspecting egress proxy whose CA only the host has), the
# registry's certificate is not checked and those hashes authenticate the
# packages instead.
if ! "$prefix/bin/node" -e '
  const request = require("https").get("https://registry.npmjs.org/", (r) => process.exit(0));
  request.on("error", (e) => process.exit(/CERT|SELF_SIGNED/.test(e.code || "") ? 3 : 0));
  request.setTimeout(30000, () => process.exit(0));'; then
  echo "warning: registry.npmjs.org's certificate is not trusted here; package-lock.json's" \
    "integrity hashes authenticate the packages" >&2
  export npm_config_strict_ssl=false
fi
(cd "$work" && PATH="$prefix/bin:$PATH" npm ci --no-audit --no-fund --loglevel=warn >&2)
ric=$work/node_modules/aws-lambda-ric
[ -f "$ric/dist/rapid-client.node" ] || { echo "aws-lambda-ric built no rapid-client.node" >&2; exit 1; }
mkdir -p "$out"
rm -rf "$out/ric"
mkdir "$out/ric"
cp -R "$ric/dist" "$ric/package.json" "$ric/LICENSE" "$ric/NOTICE" "$ric/THIRD-PARTY-LICENSES" "$out/ric/"
rm -rf "$out/ric-mc"
if [ "$major" -ge 22 ]; then
  mkdir "$work/concurrent"
  cp "$here/concurrent/package.json" "$here/concurrent/package-lock.json" "$work/concurrent/"
  (cd "$work/concurrent" && PATH="$prefix/bin:$PATH" npm ci --no-audit --no-fund --loglevel=warn >&2)
  mc=$work/concurrent/node_modules/aws-lambda-ric
  [ -f "$mc/rapid-client.node" ] || { echo "aws-lambda-ric 4 built no rapid-client.node" >&2; exit 1; }
  mkdir "$out/ric-mc"
  # One bundled module (it starts itself, and its worker threads load it again) and the addon.
  cp "$mc/index.mjs" "$mc/rapid-client.node" "$mc/package.json" "$mc/LICENSE" "$mc/NOTICE" \
    "$mc/THIRD-PARTY-LICENSES" "$out/ric-mc/"
fi
cp "$here/index.cjs" "$out/index.cjs"
sed "s/@NODE_MAJOR@/$major/g" "$here/bootstrap" >"$out/bootstrap"
chmod -R a+rX "$out"
chmod 755 "$out/bootstrap"
