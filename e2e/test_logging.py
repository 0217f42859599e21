"""spec.loggingConfig in the cluster: a Function with logFormat JSON writes JSON lines
(platform.start/runtimeDone/report and the handler's logging records) that a JSON parser
reads, with its applicationLogLevel leaving out the records below it."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.gateway import Gateway
from e2e.pod_logs import PodLogs
from e2e.test_gateway import create_ready, manifest

LEVELED = """
import logging

def handler(event, context):
    logger = logging.getLogger()
    logger.info("an info record")
    logger.warning("a warning record")
    return "logged"
"""


def test_json_log_format_writes_json_lines_filtered_by_level(
    cluster: Cluster, api: client.ApiClient, gateway: Gateway, namespace: str
) -> None:
    fn = manifest(
        "jsonlogs",
        loggingConfig={"logFormat": "JSON", "applicationLogLevel": "WARN"},
    )
    fn["spec"]["code"] = {"inline": {"app.py": LEVELED}}
    create_ready(api, namespace, fn, replicas=1)
    response = gateway.lambda_client().invoke(FunctionName=f"{namespace}/jsonlogs", Payload=b"{}")
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    logs = PodLogs([*_kubectl(cluster), "-n", namespace])

    def mine() -> list[dict[str, Any]] | None:
        found = []
        for line in logs.lines("jsonlogs"):
            if request_id not in line:
                continue
            record = json.loads(line)  # every line of the call is JSON
            found.append(record)
        types = [r.get("type") for r in found]
        return found if "platform.report" in types else None

    found = Cluster.wait(mine, "the call's JSON log lines", 60)
    assert [r["type"] for r in found if "type" in r] == [
        "platform.start", "platform.runtimeDone", "platform.report"
    ]  # fmt: skip
    handler = [(r["level"], r["message"]) for r in found if "level" in r]
    assert handler == [("WARNING", "a warning record")]  # INFO is below WARN
