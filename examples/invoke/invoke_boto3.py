"""Invoke a Kappa Function with the unmodified AWS SDK for Python (boto3).

    python3 examples/invoke/invoke_boto3.py URL FUNCTION [PAYLOAD_JSON]

URL is the gateway's (`make -s gateway-url`); FUNCTION is `name` (namespace
`default`), `namespace/name` or an ARN. Prints one JSON line per call: a
synchronous invoke (with the log tail) and a DryRun (204). Credentials are boto3's usual
ones: an access key Kappa issued (`kappa access-key create`, docs/security.md) in
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the gateway verifies the signature.
"""

import base64
import json
import sys

import boto3
from botocore.config import Config


def main(url: str, function: str, payload: str = '{"name": "boto3"}') -> None:
    """Invoke FUNCTION at URL synchronously, then as a DryRun; print what came back."""
    lam = boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    answer = lam.invoke(FunctionName=function, Payload=payload, LogType="Tail")
    result = {
        "StatusCode": answer["StatusCode"],
        "FunctionError": answer.get("FunctionError"),
        "ExecutedVersion": answer.get("ExecutedVersion"),
        "Payload": json.loads(answer["Payload"].read()),
        "LogTail": base64.b64decode(answer.get("LogResult", "")).decode(),
    }
    sys.stdout.write(json.dumps(result) + "\n")
    dry = lam.invoke(FunctionName=function, InvocationType="DryRun")
    sys.stdout.write(json.dumps({"DryRun": dry["StatusCode"]}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
