#!/usr/bin/env bash
# Invoke a Kappa Function with the unmodified AWS CLI (v1 or v2).
#   examples/invoke/invoke_awscli.sh URL FUNCTION [PAYLOAD_JSON]
# URL is the gateway's (`make -s gateway-url`); FUNCTION is name, namespace/name or an ARN.
# Prints the CLI's answer (StatusCode, ExecutedVersion, the decoded log tail) and the
# function's result. Credentials: an access key Kappa issued (kappa access-key create,
# docs/security.md) in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the gateway checks them.
set -euo pipefail
url=$1 function=$2 payload=${3:-'{"name": "aws-cli"}'}
: "${AWS_ACCESS_KEY_ID:?set it (and AWS_SECRET_ACCESS_KEY) to a Kappa access key}"
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
args=(lambda invoke --endpoint-url "$url" --function-name "$function" --payload "$payload"
      --log-type Tail --query '{StatusCode: StatusCode, ExecutedVersion: ExecutedVersion, LogResult: LogResult}')
# AWS CLI v2 reads --payload as base64 unless told otherwise; v1 takes it as is.
if aws --version 2>&1 | grep -q '^aws-cli/2'; then args+=(--cli-binary-format raw-in-base64-out); fi
answer=$(aws "${args[@]}" "$out")
echo "$answer" | python3 -c 'import base64, json, sys
a = json.load(sys.stdin); a["LogResult"] = base64.b64decode(a["LogResult"] or "").decode()
print(json.dumps(a))'
cat "$out"; echo
