"""Many calls in one execution environment on the real cluster (issue 22): a python3.11
Function with ``concurrency.perRuntime: 20`` and an ``async def`` handler; 20 calls at
once through the gateway run overlapped in one runtime process of one pod, which the
Function's pod spec says (``AWS_LAMBDA_MAX_CONCURRENCY``), and a Function asking for it
on a runtime that cannot is refused at apply time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from e2e.conftest import own_namespace
from e2e.gateway import Gateway
from e2e.test_autoscaling import create, live_pods
from e2e.test_gateway import GROUP, PLURAL, VERSION, manifest

ASYNC_HANDLER = """\
import asyncio
import os
import time


async def handler(event, context):
    started = time.time()
    await asyncio.sleep(event["sleep"])
    return {"pid": os.getpid(), "started": started, "ended": time.time(),
            "request": context.aws_request_id}
"""
CALLS = 20


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "multiconc") as name:
        yield name


@pytest.mark.timeout(600)
def test_calls_at_once_overlap_in_one_runtime_process_of_one_pod(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    fn = manifest("conc", concurrency={"perRuntime": CALLS, "provisioned": 1})
    fn["spec"]["code"] = {"inline": {"app.py": ASYNC_HANDLER}}
    create(api, gateway, ns, fn)
    [pod] = live_pods(core, ns, "conc")
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["AWS_LAMBDA_MAX_CONCURRENCY"] == str(CALLS)
    clients = [gateway.lambda_client() for _ in range(CALLS)]  # a connection each

    def call(lam: Any) -> dict[str, Any]:
        answer = lam.invoke(FunctionName=f"{ns}/conc", Payload=json.dumps({"sleep": 2}))
        assert "FunctionError" not in answer, answer
        result: dict[str, Any] = json.loads(answer["Payload"].read())
        return result

    with ThreadPoolExecutor(CALLS) as callers:
        results = list(callers.map(call, clients))
    assert len({r["request"] for r in results}) == CALLS
    # One runtime process took them all (the pod's 20 slots of capacity took them at once).
    assert len({r["pid"] for r in results}) == 1
    # Overlapped: every call started before the first one ended (each sleeps 2 s).
    first_end = min(r["ended"] for r in results)
    assert all(r["started"] < first_end for r in results)


def test_a_runtime_that_takes_one_call_at_a_time_is_refused_at_apply(
    api: client.ApiClient, ns: str
) -> None:
    fn = manifest("one-at-a-time", runtime="nodejs20", handler="index.handler",
                  concurrency={"perRuntime": 4})  # fmt: skip
    fn["spec"]["code"] = {"inline": {"index.js": "exports.handler = async () => 1;"}}
    with pytest.raises(ApiException) as refused:
        client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, fn)
    assert refused.value.status == 422
    assert "perRuntime" in refused.value.body
