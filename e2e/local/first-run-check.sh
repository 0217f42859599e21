#!/usr/bin/env bash
# Checks what first-run.sh's builds left in the cache KAPPA_CACHE (under WORK):
#   first-run-check.sh WORK
# every binary runs, every image of images.txt is an archive tagged as listed whose
# config and layers are all there, and the jars are complete.
set -euo pipefail
trap 'echo "${0##*/}: line $LINENO: \"$BASH_COMMAND\" failed (exit status $?)" >&2' ERR  # say what failed
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:?usage: first-run-check.sh WORK}
cache=${KAPPA_CACHE:?}
fail() { echo "first-run check: $*" >&2; exit 1; }

"$work/venv/bin/kappa" --help >/dev/null || fail "the new venv's kappa does not run"
bin=$("$here/build-k8s.sh")
[[ $bin == "$cache"/* ]] || fail "build-k8s.sh used $bin, not the empty cache"
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  "$bin/$c" --version >/dev/null || fail "$bin/$c does not run"
done
"$bin/kubectl" version --client >/dev/null || fail "$bin/kubectl does not run"
tools=$("$here/build-tools.sh")
"$tools/helm" version --short >/dev/null || fail "helm does not run"
"$tools/kubeconform" -v >/dev/null || fail "kubeconform does not run"
[ -x "$tools/kstatus" ] || fail "kstatus was not built"
"$tools/local-path-provisioner" --version >/dev/null || fail "local-path-provisioner does not run"
if [ ! -f "$cache/tools/schemas/.done" ] || [ ! -f "$cache/tools/schemas/deployment-apps-v1.json" ]; then
  fail "the Kubernetes schemas are incomplete"
fi

# The archives build.sh prints (all cached now: the command only lists them).
archives=$("$repo/runtime-images/build.sh")
while read -r name tag _; do
  case $name in ''|'#'*) continue ;; esac
  archive=$(grep -E "/$name-$tag-[0-9a-f]{16}\.tar$" <<<"$archives") ||
    fail "no archive of kappa.local/$name:$tag"
  python3 - "$archive" "kappa.local/$name:$tag" <<'PY' || fail "$archive is incomplete"
import json, sys, tarfile
path, ref = sys.argv[1:]
with tarfile.open(path) as tar:
    names = set(tar.getnames())
    [manifest] = json.load(tar.extractfile("manifest.json"))
assert manifest["RepoTags"] == [ref], (manifest["RepoTags"], ref)
missing = [m for m in [manifest["Config"], *manifest["Layers"]] if m not in names]
assert not missing, missing
print(f"{ref}: {len(manifest['Layers'])} layers")
PY
done <"$repo/runtime-images/images.txt"

libs=$("$here/fetch-brokers.sh")
if [ ! -f "$libs/.complete" ] || ! compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
  fail "Kafka's jars are incomplete"
fi
lib=$("$here/elasticmq.sh" fetch)
compgen -G "$lib/elasticmq-server_2.13-*.jar" >/dev/null || fail "ElasticMQ's jars are incomplete"
echo "first-run check: binaries, tools, $(grep -c . <<<"$archives") images and jars are complete"
