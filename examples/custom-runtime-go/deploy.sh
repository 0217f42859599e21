#!/usr/bin/env bash
# Builds the Go function (a static linux/amd64 `bootstrap`, aws-lambda-go from the Go
# module proxy), zips it, serves the zip from an in-cluster file server
# (artifact-server.yaml) and applies the Function pointing at it with its sha256.
#   examples/custom-runtime-go/deploy.sh [namespace]      (KUBECONFIG as kubectl uses it)
# KUBECTL overrides the kubectl command. Needs Go >= 1.21 and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
namespace=${1:-default}
# shellcheck disable=SC2206  # KUBECTL may carry arguments ("kubectl --context x"): split on purpose
kubectl=(${KUBECTL:-kubectl} -n "$namespace")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The bootstrap: static (no libc needed in the runtime image), stripped.
(cd "$here" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod \
  go build -trimpath -ldflags "-s -w" -o "$work/bootstrap" .)
# 2. The archive: bootstrap at its root, executable (the zip carries the mode).
python3 - "$work" <<'PY'
import sys, zipfile
work = sys.argv[1]
info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16
info.compress_type = zipfile.ZIP_DEFLATED
with zipfile.ZipFile(f"{work}/bootstrap.zip", "w") as archive, open(f"{work}/bootstrap", "rb") as f:
    archive.writestr(info, f.read())
PY
sha=$(sha256sum "$work/bootstrap.zip" | cut -d' ' -f1)
# 3. Served from inside the cluster.
"${kubectl[@]}" apply -f "$here/artifact-server.yaml" >&2
"${kubectl[@]}" wait --for=condition=Ready pod/code-artifacts --timeout=120s >&2
"${kubectl[@]}" exec -i code-artifacts -- /usr/bin/python3 -c \
  "import sys; open('/srv/bootstrap-$sha.zip', 'wb').write(sys.stdin.buffer.read())" \
  < "$work/bootstrap.zip"
ip=$("${kubectl[@]}" get service code-artifacts -o jsonpath='{.spec.clusterIP}')
# 4. The Function (pods have no cluster DNS on the local cluster: the Service's IP).
sed -e "s|CODE_URL|http://$ip/bootstrap-$sha.zip|" -e "s|CODE_SHA256|$sha|" \
  "$here/function.yaml.tmpl" | "${kubectl[@]}" apply -f -
