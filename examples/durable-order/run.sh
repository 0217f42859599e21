#!/usr/bin/env bash
# The durable order from start to end: deploys this folder with `kappa deploy` (the SDK
# vendored; kappa.yaml's `durable` becomes spec.durable), publishes a version, starts an
# execution of it with the AWS CLI (InvocationType Event), finds the approval's callback
# id in the execution's history, approves, and waits for the end. The last line printed
# is the execution's final status (SUCCEEDED).
#   examples/durable-order/run.sh [namespace]      (KUBECONFIG as kubectl uses it)
# The caller: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of a Kappa access key allowed to
# create Functions in the namespace (kappa-author) and to invoke and view them.
# KAPPA overrides the kappa command, KUBECTL kubectl, GATEWAY_URL the gateway's URL
# (default: the kappa-gateway Service's address, as `make gateway-url` prints it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
namespace=${1:-default}
# shellcheck disable=SC2206  # KAPPA/KUBECTL may carry arguments ("python3 -m kappa"): split on purpose
kappa=(${KAPPA:-kappa})
# shellcheck disable=SC2206
kubectl=(${KUBECTL:-kubectl})
url=${GATEWAY_URL:-$("${kubectl[@]}" -n kappa-system get service kappa-gateway \
  -o jsonpath='http://{.spec.clusterIP}')}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
lambda=(aws lambda --endpoint-url "$url" --output text)
# AWS CLI v2 reads blob arguments (--payload, --result) as base64 unless told otherwise.
raw=()
case $(aws --version 2>&1) in aws-cli/2*) raw=(--cli-binary-format raw-in-base64-out) ;; esac

# 1. The Function (its package goes to the code store: the SDK brings boto3) and a version.
"${kappa[@]}" deploy "$here" --namespace "$namespace" --gateway "$url" >&2
version=$("${kappa[@]}" publish durable-order --namespace "$namespace" \
  --description "the durable order example")
echo "version $version of $namespace/durable-order" >&2

# 2. Start: 202 at once, the execution's ARN in X-Amz-Durable-Execution-Arn. The name
#    makes the start idempotent (the same name and payload: the same execution), so it is
#    safe to try again while the gateway does not know the new version yet.
name=order-A-1-$(date +%Y%m%d%H%M%S)
arn=
for _ in $(seq 30); do
  if arn=$("${lambda[@]}" invoke --function-name "$namespace/durable-order" \
    --qualifier "$version" --invocation-type Event --durable-execution-name "$name" \
    "${raw[@]}" --query DurableExecutionArn /dev/null \
    --payload '{"order": "A-1", "item": "widget", "quantity": 2, "price": 5, "coolOffSeconds": 10}'
  ); then
    break
  fi
  arn=
  sleep 2
done
[ -n "$arn" ] || { echo "could not start an execution of $namespace/durable-order:$version" >&2; exit 1; }
echo "started $arn" >&2

status() {
  "${lambda[@]}" get-durable-execution --durable-execution-arn "$arn" --query Status
}

# 3. After the cooling-off wait the handler asks for approval: the callback's id is in
#    the history's CallbackStarted event.
callback=None
for _ in $(seq 120); do
  callback=$("${lambda[@]}" get-durable-execution-history --durable-execution-arn "$arn" \
    --query "Events[?EventType=='CallbackStarted'] | [0].CallbackStartedDetails.CallbackId") ||
    callback=None
  [ "$callback" != None ] && break
  now=$(status) || now=RUNNING
  if [ "$now" != RUNNING ]; then
    echo "the execution ended before asking for approval" >&2
    echo "$now"
    exit 1
  fi
  sleep 2
done
if [ "$callback" = None ]; then
  echo "no approval asked for after 4 minutes" >&2
  status
  exit 1
fi
echo "approving through callback $callback" >&2
"${lambda[@]}" send-durable-execution-callback-success --callback-id "$callback" "${raw[@]}" \
  --result '{"approved": true, "by": "run.sh"}' >/dev/null

# 4. The handler is invoked again, replays its checkpoints, charges, ships and ends.
now=RUNNING
for _ in $(seq 90); do
  now=$(status) || now=RUNNING
  [ "$now" != RUNNING ] && break
  sleep 2
done
"${lambda[@]}" get-durable-execution --durable-execution-arn "$arn" --include-execution-data \
  --query Result >&2 || true
echo "$now"
[ "$now" = SUCCEEDED ]
