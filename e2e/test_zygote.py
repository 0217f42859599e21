"""On the real cluster: a python Function of four slots per pod has its runtimes forked from
the image's zygote (``bootstrap --zygote``), each slot with its own init, all serving at once.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from kubernetes import client

from e2e.conftest import own_namespace
from e2e.test_autoscaling import create, live_pods
from e2e.test_gateway import Gateway, manifest

SLOTS = 4
FORKED = """
import os
import socket
import time

INIT_PID = os.getpid()


def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pod": socket.gethostname(), "pid": os.getpid(), "ppid": os.getppid(),
            "init_pid": INIT_PID, "api": os.environ["AWS_LAMBDA_RUNTIME_API"]}
"""


@pytest.fixture
def ns(core: client.CoreV1Api) -> Iterator[str]:
    with own_namespace(core, "zygote") as name:
        yield name


def invoke(gateway: Gateway, namespace: str, name: str, event: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{gateway.url}/2015-03-31/functions/{namespace}%2F{name}/invocations",
        data=json.dumps(event).encode(),
        method="POST",
    )
    with gateway.open(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.timeout(600)
def test_four_slots_forked_from_the_zygote_serve_at_once(
    gateway: Gateway, api: client.ApiClient, core: client.CoreV1Api, ns: str
) -> None:
    fn = manifest("forked", timeoutSeconds=30, concurrency={"perPod": SLOTS, "provisioned": SLOTS})
    fn["spec"]["code"] = {"inline": {"app.py": FORKED}}
    create(api, gateway, ns, fn)
    (pod,) = live_pods(core, ns, "forked")
    log = core.read_namespaced_pod_log(pod.metadata.name, ns, container="function")
    assert "zygote ready in" in log
    with ThreadPoolExecutor(SLOTS) as pool:
        results = list(
            pool.map(lambda _: invoke(gateway, ns, "forked", {"sleep": 2}), range(SLOTS))
        )
    assert {r["pod"] for r in results} == {pod.metadata.name}
    assert len({r["pid"] for r in results}) == SLOTS  # every slot served, side by side
    assert len({r["api"] for r in results}) == SLOTS  # each on its own slot's Runtime API
    assert all(r["init_pid"] == r["pid"] for r in results)  # init ran in each slot
    (zygote,) = {r["ppid"] for r in results}  # one parent: the zygote ...
    assert zygote != 1  # ... not the agent (the container's first process)
