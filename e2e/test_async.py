"""Asynchronous invocation in the cluster: the chart's NATS (JetStream, from Debian's
package) and the gateway's workers, driven by the real boto3: an Event reaches the function,
and a failing function's event lands in its onFailure destination after its retries, and in
the namespace's dead-letter queue (listed with `kappa dlq list`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import _kubectl
from e2e.pod_logs import PodLogs
from e2e.test_gateway import GROUP, PLURAL, VERSION, Gateway, ready

# Logs the record it is given (the failure destination) or the event, with the request id.
RECORDER = """
import json

def handler(event, context):
    print("GOT " + json.dumps({"requestId": context.aws_request_id, "event": event}))
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True}
"""
# Fast retries for the test (Lambda's are about 1 and 2 minutes): set on the gateway for
# the module, then removed again.
FAST_RETRIES = "KAPPA_ASYNC_RETRY_DELAYS=2,3"


@pytest.fixture(scope="module")
def async_gateway(cluster: Cluster, gateway: Gateway) -> Iterator[Gateway]:
    system = [*_kubectl(cluster), "-n", "kappa-system"]
    subprocess.run([*system, "set", "env", "deployment/kappa-gateway", FAST_RETRIES], check=True)
    subprocess.run(
        [*system, "rollout", "status", "deployment/kappa-gateway", "--timeout=180s"], check=True
    )
    try:
        yield gateway
    finally:
        unset = FAST_RETRIES.split("=", 1)[0] + "-"
        subprocess.run([*system, "set", "env", "deployment/kappa-gateway", unset], check=True)
        subprocess.run(
            [*system, "rollout", "status", "deployment/kappa-gateway", "--timeout=180s"],
            check=True,
        )


def recorder(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Function",
        "metadata": {"name": name},
        "spec": {"runtime": "python3.11", "handler": "app.handler",
                 "code": {"inline": {"app.py": RECORDER}}, **spec},
    }  # fmt: skip


@pytest.fixture(scope="module")
def functions(
    core: client.CoreV1Api, api: client.ApiClient, async_gateway: Gateway
) -> Iterator[str]:
    """`work` (failures go to `sink` after one retry) and `sink`, Ready: the namespace."""
    namespace = f"async-e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    try:
        Cluster.wait(lambda: core.list_namespaced_service_account(namespace).items, "SA", 60)
        crd = client.CustomObjectsApi(api)
        for body in (
            recorder("sink"),
            recorder("work", **{"async": {"maximumRetryAttempts": 1,
                                          "onFailure": {"function": "sink"}}}),
        ):  # fmt: skip
            crd.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
        for name in ("sink", "work"):
            Cluster.wait(lambda n=name: ready(crd, namespace, n), f"{name} Ready", 180)
            Cluster.wait(lambda n=name: async_gateway.knows(namespace, n), f"{name} known", 30)
        yield namespace
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")


@pytest.fixture(scope="module")
def logs(cluster: Cluster, functions: str) -> PodLogs:
    """The namespace's function logs, remembered across the module's tests."""
    return PodLogs([*_kubectl(cluster), "-n", functions])


def got(logs: PodLogs, name: str) -> list[dict[str, Any]]:
    """The `GOT` lines the Function's pods logged (every pod a poll has seen)."""
    return [json.loads(line) for line in logs.after(name, "GOT ")]


def invoke_event(gateway: Gateway, function: str, payload: dict[str, Any]) -> str:
    response = gateway.lambda_client().invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(payload)
    )
    assert response["StatusCode"] == 202
    return str(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])


def test_an_event_reaches_the_function(
    async_gateway: Gateway, functions: str, logs: PodLogs
) -> None:
    request_id = invoke_event(async_gateway, f"{functions}/work", {"hello": "async"})

    def ran() -> bool:
        return any(g["requestId"] == request_id for g in got(logs, "work"))

    try:
        Cluster.wait(ran, "the event to run", 60)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\ngateway:\n{async_gateway.logs()}") from None
    [call] = [g for g in got(logs, "work") if g["requestId"] == request_id]
    assert call["event"] == {"hello": "async"}


@pytest.mark.timeout(300)
def test_a_failing_event_lands_in_its_failure_destination_and_the_dlq(
    async_gateway: Gateway, functions: str, logs: PodLogs
) -> None:
    request_id = invoke_event(async_gateway, f"{functions}/work", {"fail": True, "n": 7})

    def records() -> list[dict[str, Any]]:
        return [
            g["event"] for g in got(logs, "sink")
            if g["event"].get("requestContext", {}).get("requestId") == request_id
        ]  # fmt: skip

    def arrived() -> bool:
        attempts()  # read `work` too while its pods run: one may scale away before the end
        return bool(records())

    def attempts() -> list[dict[str, Any]]:
        return [g for g in got(logs, "work") if g["requestId"] == request_id]

    try:
        Cluster.wait(arrived, "the failure record at the sink", 120)
    except TimeoutError as exc:
        raise AssertionError(
            f"{exc}\nwork: {got(logs, 'work')}\n"
            f"sink: {got(logs, 'sink')}\ngateway:\n{async_gateway.logs()}"
        ) from None
    [record] = records()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # one retry
    assert record["requestPayload"] == {"fail": True, "n": 7}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"

    # Both attempts ran before the record was sent; this waits only for their logs (and
    # the assertion below says what was seen if they never show).
    with contextlib.suppress(TimeoutError):
        Cluster.wait(lambda: len(attempts()) >= 2, "both attempts in the logs", 30)
    assert len(attempts()) == 2, (got(logs, "work"), logs.errors)
    listing = subprocess.run(
        [sys.executable, "-m", "kappa", "dlq", "list", "-n", functions,
         "--gateway", async_gateway.url], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert request_id in listing
    assert "RetriesExhausted" in listing


def test_a_missing_destination_function_shows_on_the_status(
    api: client.ApiClient, functions: str
) -> None:
    crd = client.CustomObjectsApi(api)

    def destinations(name: str) -> dict[str, Any] | None:
        fn = crd.get_namespaced_custom_object(GROUP, VERSION, functions, PLURAL, name)
        conditions = (fn.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "DestinationsReady"), None)

    body = recorder("orphan", **{"async": {"onSuccess": {"function": "later"}}})
    crd.create_namespaced_custom_object(GROUP, VERSION, functions, PLURAL, body)
    Cluster.wait(lambda: destinations("orphan") is not None, "DestinationsReady on orphan", 60)
    missing = destinations("orphan")
    assert missing is not None
    assert (missing["status"], missing["reason"]) == ("False", "DestinationNotFound")
    assert "'later' does not exist" in missing["message"]
    crd.create_namespaced_custom_object(GROUP, VERSION, functions, PLURAL, recorder("later"))

    def found() -> bool:
        condition = destinations("orphan")
        return condition is not None and condition["status"] == "True"

    Cluster.wait(found, "DestinationsReady=True once `later` exists", 60)


# Run inside a gateway pod (its image has nats-py, its environment the chart's NATS user).
NATS_PROBE = """
import asyncio, json, os
import nats

async def main():
    url, seen, errors = os.environ["KAPPA_NATS_URL"], {}, []
    try:
        anonymous = await nats.connect(url, allow_reconnect=False, connect_timeout=3)
        seen["anonymous"] = "connected"
        await anonymous.close()
    except Exception as error:
        seen["anonymous"] = str(error)

    async def collect(error):
        errors.append(str(error))

    nc = await nats.connect(url, user=os.environ["KAPPA_NATS_USER"],
                            password=os.environ["KAPPA_NATS_PASSWORD"], error_cb=collect)
    js = nc.jetstream(timeout=3)
    seen["stream"] = (await js.stream_info("kappa-dlq")).config.name
    try:
        await js.purge_stream("kappa-dlq")
        seen["purge"] = "purged"
    except Exception as error:
        seen["purge"] = type(error).__name__
    # The server's permissions error comes on its own: wait for it (30 s: a hang guard).
    for _ in range(3000):
        if any("purge" in error for error in errors):
            break
        await asyncio.sleep(0.01)
    seen["errors"] = errors
    await nc.close()
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_nats_refuses_anonymous_clients_and_the_gateway_user_cannot_purge(
    cluster: Cluster, gateway: Gateway
) -> None:
    # The chart's NATS with its generated password, from inside a gateway pod: the user
    # the gateway runs as reads the dead-letter stream (made at its start; the event
    # streams come with a namespace's first event); without credentials no client gets
    # in; a purge is refused by NATS's permissions.
    done = subprocess.run(
        [*_kubectl(cluster), "-n", "kappa-system", "exec", "deployment/kappa-gateway",
         "-c", "gateway", "--", "python3", "-c", NATS_PROBE],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Authorization Violation" in seen["anonymous"]
    assert seen["stream"] == "kappa-dlq"
    assert seen["purge"] == "TimeoutError"
    assert any('"$js.api.stream.purge.kappa-dlq"' in e for e in seen["errors"]), seen
