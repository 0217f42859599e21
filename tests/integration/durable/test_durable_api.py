"""The durable execution API on the real gateway, with real boto3 clients and a real nats-server.

The test process plays the invoker (step 6 of the build plan makes the gateway do it):
it starts executions and claims invocations through its own ``DurableService`` on the
same nats-server and with the same durable key as the gateway process, which serves
the API (docs/internals/durable.md, "Build plan", step 5).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from botocore.exceptions import ClientError

from kappa.durable import service as durable
from kappa.durable import settings as durable_settings
from kappa.durable.store import DurableStore
from kappa.durable.tokens import CallbackTarget, callback_id
from tests.integration import nats_harness
from tests.integration.brokers import NatsServer
from tests.integration.gateway.conftest import (
    LambdaClient,
    StartGateway,
    lambda_client,
    start_gateway,
)
from tests.integration.gateway.gateway_harness import REGION, Gateway, function_entry

pytestmark = pytest.mark.integration

nats_server = nats_harness.nats_server  # a nats-server of each test's own
__all__ = ["lambda_client", "nats_server", "start_gateway"]

NAMESPACE = "team-a"
FUNCTION = "orders"


class Invoker:
    """The test's side: a DurableService on its own event loop and NATS connection."""

    def __init__(self, server: NatsServer, keys_dir: Path) -> None:
        self.runner = asyncio.Runner()
        self.nc = self.run(nats.connect(server.url, connect_timeout=2))
        store = DurableStore(self.nc.jetstream(timeout=5), durable_settings.DurableSettings())
        self.run(store.setup())
        self.service_keys = durable.load_keys(keys_dir)
        self.service = durable.DurableService(store, self.service_keys, region=REGION)

    def run(self, coroutine: Any) -> Any:
        return self.runner.run(asyncio.wait_for(coroutine, 30))

    def start(self, name: str, payload: str = '{"order": 1}') -> str:
        started = self.run(
            self.service.start(
                namespace=NAMESPACE,
                function=FUNCTION,
                version="$LATEST",
                name=name,
                payload=payload,
                timeout_seconds=3600,
            )
        )
        return str(started.arn)

    def close(self) -> None:
        self.run(self.nc.close())
        self.runner.close()


def durable_gateway(
    start_gateway: StartGateway, server: NatsServer, keys_dir: Path, **env: str
) -> Gateway:
    return start_gateway(
        [function_entry(FUNCTION, namespace=NAMESPACE)],
        extra_env={"KAPPA_NATS_URL": server.url, "KAPPA_DURABLE_KEYS_DIR": str(keys_dir), **env},
    )


StartDurable = Callable[..., Gateway]


@pytest.fixture
def start_durable(
    nats_server: NatsServer, start_gateway: StartGateway, keys_dir: Path
) -> StartDurable:
    """Gateways serving the durable API (``KAPPA_*`` settings as keywords).

    ``nats_server`` first: it is torn down after the gateways that use it.
    """
    return lambda **env: durable_gateway(start_gateway, nats_server, keys_dir, **env)


@pytest.fixture
def gateway(start_durable: StartDurable) -> Gateway:
    return start_durable()


@pytest.fixture
def invoker(nats_server: NatsServer, keys_dir: Path) -> Iterator[Invoker]:
    made = Invoker(nats_server, keys_dir)
    yield made
    made.close()


@pytest.fixture
def client(gateway: Gateway, lambda_client: LambdaClient) -> Any:
    return lambda_client(gateway)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_get_and_list_executions_through_boto3_and_its_paginator(
    invoker: Invoker, client: Any
) -> None:
    arns = [invoker.start(f"order-{n}", payload=f'{{"n": {n}}}') for n in range(3)]
    found = client.get_durable_execution(DurableExecutionArn=arns[0], IncludeExecutionData=True)
    assert found["DurableExecutionArn"] == arns[0]
    assert found["DurableExecutionName"] == "order-0"
    assert found["Status"] == "RUNNING"
    assert found["InputPayload"] == '{"n": 0}'
    assert found["FunctionArn"].endswith(f":{NAMESPACE}:function:{FUNCTION}:$LATEST")
    assert client.get_durable_execution(DurableExecutionArn=arns[0])["ExecutionDataIncluded"]
    bare = client.get_durable_execution(DurableExecutionArn=arns[0], IncludeExecutionData=False)
    assert "InputPayload" not in bare
    assert bare["ExecutionDataIncluded"] is False

    paginator = client.get_paginator("list_durable_executions_by_function")
    pages = list(
        paginator.paginate(FunctionName=f"{NAMESPACE}/{FUNCTION}", PaginationConfig={"PageSize": 1})
    )
    listed = [item["DurableExecutionArn"] for page in pages for item in page["DurableExecutions"]]
    assert sorted(listed) == sorted(arns)
    assert len(pages) == 3
    named = client.list_durable_executions_by_function(
        FunctionName=f"{NAMESPACE}/{FUNCTION}", DurableExecutionName="order-2"
    )
    assert [item["DurableExecutionArn"] for item in named["DurableExecutions"]] == [arns[2]]
    none = client.list_durable_executions_by_function(
        FunctionName=f"{NAMESPACE}/{FUNCTION}", Statuses=["SUCCEEDED", "FAILED"]
    )
    assert none["DurableExecutions"] == []


def test_checkpoint_state_pages_callback_and_stop(invoker: Invoker, client: Any) -> None:
    arn = invoker.start("order-cb")
    invocation = invoker.run(invoker.service.invoke(arn))
    event = invocation.event
    assert event["DurableExecutionArn"] == arn
    first = event["InitialExecutionState"]["Operations"]
    assert [op["Type"] for op in first] == ["EXECUTION"]
    assert first[0]["ExecutionDetails"]["InputPayload"] == '{"order": 1}'
    token = event["CheckpointToken"]

    answer = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=token,
        Updates=[
            {"Id": "step-1", "Type": "STEP", "SubType": "Step", "Action": "START", "Name": "one"},
            {
                "Id": "step-1",
                "Type": "STEP",
                "SubType": "Step",
                "Action": "SUCCEED",
                "Payload": '"done"',
            },
        ],
    )
    step = {op["Id"]: op for op in answer["NewExecutionState"]["Operations"]}["step-1"]
    assert step["Status"] == "SUCCEEDED"
    assert step["StepDetails"]["Result"] == '"done"'
    token = answer["CheckpointToken"]

    answer = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=token,
        Updates=[{"Id": "cb-1", "Type": "CALLBACK", "SubType": "Callback", "Action": "START"}],
    )
    callback = {op["Id"]: op for op in answer["NewExecutionState"]["Operations"]}["cb-1"]
    assert callback["Status"] == "STARTED"
    callback_id = callback["CallbackDetails"]["CallbackId"]
    token = answer["CheckpointToken"]

    paginator = client.get_paginator("get_durable_execution_state")
    pages = list(
        paginator.paginate(
            DurableExecutionArn=arn, CheckpointToken=token, PaginationConfig={"PageSize": 1}
        )
    )
    assert [op["Id"] for page in pages for op in page["Operations"]] == [
        first[0]["Id"], "step-1", "cb-1",
    ]  # fmt: skip
    assert len(pages) == 3

    # The callback id names its execution; a changed one is not found, as is one used twice.
    raw = bytearray(base64.b64decode(callback_id))
    raw[-1] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    code, _, status = error_of(
        client.send_durable_execution_callback_success, CallbackId=tampered, Result=b'"x"'
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    client.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"approved"')
    code, _, status = error_of(
        client.send_durable_execution_callback_success, CallbackId=callback_id, Result=b'"x"'
    )
    assert (code, status) == ("ResourceNotFoundException", 404)

    refresh = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=token, Updates=[]
    )
    done = {op["Id"]: op for op in refresh["NewExecutionState"]["Operations"]}["cb-1"]
    assert done["Status"] == "SUCCEEDED"
    assert done["CallbackDetails"]["Result"] == '"approved"'

    # A token the service did not mint, or an older one, is the message the SDK retries on.
    stale = error_of(
        client.checkpoint_durable_execution, DurableExecutionArn=arn, CheckpointToken=token
    )
    assert stale == ("InvalidParameterValueException", "Invalid checkpoint token", 400)
    forged = base64.b64encode(bytes(41)).decode()
    assert error_of(
        client.get_durable_execution_state, DurableExecutionArn=arn, CheckpointToken=forged
    ) == ("InvalidParameterValueException", "Invalid checkpoint token", 400)

    stopped = client.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorMessage": "no longer needed"}
    )
    assert stopped["StopTimestamp"]
    after = client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
    assert after["Status"] == "STOPPED"
    assert after["Error"] == {"ErrorMessage": "no longer needed"}
    assert "EndTimestamp" in after
    history_is_whole_in_order_and_paged(client, arn)


def history_is_whole_in_order_and_paged(client: Any, arn: str) -> None:
    """GetDurableExecutionHistory of the callback test's execution, through boto3's paginator."""
    paginator = client.get_paginator("get_durable_execution_history")
    pages = list(paginator.paginate(DurableExecutionArn=arn, PaginationConfig={"PageSize": 2}))
    events = [event for page in pages for event in page["Events"]]
    assert [event["EventType"] for event in events] == [
        "ExecutionStarted", "StepStarted", "StepSucceeded", "CallbackStarted",
        "CallbackSucceeded", "ExecutionStopped",
    ]  # fmt: skip
    assert [event["EventId"] for event in events] == [1, 2, 3, 4, 5, 6]
    assert len(pages) == 3
    newest = client.get_durable_execution_history(
        DurableExecutionArn=arn, ReverseOrder=True, MaxItems=1
    )
    assert [event["EventType"] for event in newest["Events"]] == ["ExecutionStopped"]


def post(gateway: Gateway, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(gateway.url + path, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_hostile_requests_get_lambdas_4xx_and_the_gateway_keeps_serving(
    invoker: Invoker, client: Any, gateway: Gateway
) -> None:
    arn = invoker.start("order-h")
    quoted = urllib.request.quote(arn, safe="")
    status, body = post(
        gateway, f"/2025-12-01/durable-executions/{quoted}/checkpoint", b" " * (7 * 1024 * 1024)
    )
    assert status == 413
    assert body.get("Type") == "User"
    code, message, status = error_of(
        client.get_durable_execution, DurableExecutionArn="arn:aws:lambda:nope"
    )
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "DurableExecutionArn" in message
    assert error_of(
        client.checkpoint_durable_execution, DurableExecutionArn=arn, CheckpointToken="AAAA"
    ) == ("InvalidParameterValueException", "Invalid checkpoint token", 400)
    status, body = post(gateway, f"/2025-12-01/durable-executions/{quoted}/checkpoint", b"[1]")
    assert status == 400
    minted = callback_id(
        invoker.service_keys, CallbackTarget(NAMESPACE, FUNCTION, "order-h", "cb-x")
    )
    callback = "/2025-12-01/durable-execution-callbacks/" + urllib.request.quote(minted, safe="")
    status, _ = post(gateway, callback + "/succeed", b"x" * (1024 * 1024 + 1))
    assert status == 413
    status, body = post(gateway, callback + "/fail", b'{"ErrorMessage": 7}')
    assert status == 400
    assert "ErrorMessage" in body["message"]
    status, _ = post(gateway, callback + "/succeed", b"ok")  # the execution has no such callback
    assert status == 404
    missing = arn.replace("order-h", "order-none")
    code, _, status = error_of(client.get_durable_execution, DurableExecutionArn=missing)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"


def test_a_checkpoint_past_the_state_bound_fails_the_execution_and_ends_the_invocation(
    start_durable: StartDurable, invoker: Invoker, lambda_client: LambdaClient
) -> None:
    small = start_durable(KAPPA_DURABLE_STATE_MAX_BYTES=str(1024 * 1024))
    client = lambda_client(small)
    arn = invoker.start("order-big")
    token = invoker.run(invoker.service.invoke(arn)).event["CheckpointToken"]
    answer = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=token,
        Updates=[
            {"Id": "big", "Type": "STEP", "Action": "SUCCEED", "Payload": "x" * (1024 * 1024)}
        ],
    )
    assert "CheckpointToken" not in answer  # the SDK's "quota exceeded": it reports PENDING
    found = client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=True)
    assert found["Status"] == "FAILED"
    assert found["Error"]["ErrorType"] == "Kappa.StateTooLarge"


def test_callback_failure_heartbeat_and_a_retried_checkpoint(invoker: Invoker, client: Any) -> None:
    arn = invoker.start("order-fail")
    token = invoker.run(invoker.service.invoke(arn)).event["CheckpointToken"]
    start = {
        "Id": "cb-2",
        "Type": "CALLBACK",
        "SubType": "Callback",
        "Action": "START",
        "CallbackOptions": {"HeartbeatTimeoutSeconds": 60},
    }
    # botocore keeps one ClientToken across its own retries: the same call twice is answered
    # the same, and the execution holds one callback.
    first = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=token, Updates=[start], ClientToken="retry-1"
    )
    again = client.checkpoint_durable_execution(
        DurableExecutionArn=arn, CheckpointToken=token, Updates=[start], ClientToken="retry-1"
    )
    assert again["CheckpointToken"] == first["CheckpointToken"]
    assert again["NewExecutionState"] == first["NewExecutionState"]
    callback_id = first["NewExecutionState"]["Operations"][0]["CallbackDetails"]["CallbackId"]
    token = first["CheckpointToken"]

    client.send_durable_execution_callback_heartbeat(CallbackId=callback_id)
    client.send_durable_execution_callback_failure(
        CallbackId=callback_id, Error={"ErrorMessage": "declined", "ErrorType": "Refused"}
    )
    code, _, status = error_of(
        client.send_durable_execution_callback_heartbeat, CallbackId=callback_id
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    refresh = client.checkpoint_durable_execution(DurableExecutionArn=arn, CheckpointToken=token)
    operations = refresh["NewExecutionState"]["Operations"]
    assert [op["Id"] for op in operations] == ["cb-2"]
    assert operations[0]["Status"] == "FAILED"
    assert operations[0]["CallbackDetails"]["Error"] == {
        "ErrorMessage": "declined", "ErrorType": "Refused",
    }  # fmt: skip
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"


def test_a_gateway_started_before_nats_serves_the_durable_api_once_nats_is_up(
    nats_server: NatsServer,
    start_gateway: StartGateway,
    keys_dir: Path,
    lambda_client: LambdaClient,
) -> None:
    """A fresh install starts NATS and the gateways at once: the gateway connects in the
    background, answers 503 ServiceException meanwhile, and serves when NATS is up."""
    nats_server.stop()
    client = lambda_client(durable_gateway(start_gateway, nats_server, keys_dir))
    name = f"{NAMESPACE}/{FUNCTION}"
    code, _, status = error_of(client.list_durable_executions_by_function, FunctionName=name)
    assert (code, status) == ("ServiceException", 503)
    nats_server.start()
    deadline = time.monotonic() + 60  # guards a hang only
    statuses = []
    while True:
        try:
            listed = client.list_durable_executions_by_function(FunctionName=name)
            break
        except ClientError as error:
            statuses.append(error.response["ResponseMetadata"]["HTTPStatusCode"])
        assert time.monotonic() < deadline, "the durable API never came up"
        time.sleep(0.5)
    assert set(statuses) <= {503}  # unavailable until then, never another error
    assert listed["DurableExecutions"] == []


def kappa_executions(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    """``kappa executions ARGS`` (the real CLI, as a process) against ``gateway``."""
    return subprocess.run(
        [sys.executable, "-m", "kappa", "executions", *args, "--gateway", gateway.url],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "KAPPA_TOKEN": "unchecked-here"},
    )  # fmt: skip


def test_kappa_executions_lists_each_ones_current_step_and_next_wake_up(
    invoker: Invoker, client: Any, gateway: Gateway
) -> None:
    """``kappa executions`` (the real CLI, as a process) over Kappa's list route: each
    execution's status, its last started operation and its earliest live timer."""
    waiting = invoker.start("order-waits")
    invoker.start("order-new")
    event = invoker.run(invoker.service.invoke(waiting)).event
    client.checkpoint_durable_execution(
        DurableExecutionArn=waiting,
        CheckpointToken=event["CheckpointToken"],
        Updates=[{"Id": "wait-1", "Type": "WAIT", "SubType": "Wait", "Action": "START",
                  "Name": "cool-off", "WaitOptions": {"WaitSeconds": 600}}],
    )  # fmt: skip
    done = kappa_executions(gateway, FUNCTION, "-n", NAMESPACE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATUS",
        "VERSION",
        "STARTED",
        "CURRENT",
        "NEXT",
        "WAKE-UP",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["order-waits"][1:3] == ["RUNNING", "$LATEST"]
    assert rows["order-waits"][4:7] == ["WAIT", "cool-off", "STARTED"]
    wake = rows["order-waits"][7]
    assert abs(datetime.fromisoformat(wake).timestamp() - (time.time() + 600)) < 60
    # A new execution: no operation yet, and its next wake-up its execution timeout (1 h).
    assert rows["order-new"][4] == "-"

    # The route itself: bounded and checked before anything is read.
    base = f"{gateway.url}/kappa/v1/namespaces/{NAMESPACE}/functions/{FUNCTION}"
    for query, status in (("?limit=5000", 400), ("?marker=x", 400), ("?status=NOPE", 400)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/durable-executions{query}", timeout=10)
        refused.value.close()
        assert refused.value.code == status, query
    bad = f"{gateway.url}/kappa/v1/namespaces/Team_A/functions/{FUNCTION}/durable-executions"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=10)
    refused.value.close()
    assert refused.value.code == 400


def test_kappa_executions_show_callback_and_stop(
    invoker: Invoker, client: Any, gateway: Gateway
) -> None:
    """``show``, ``callback`` and ``stop`` (the real CLI) on Lambda's routes of the gateway."""
    arn = invoker.start("order-cli")
    event = invoker.run(invoker.service.invoke(arn)).event
    answer = client.checkpoint_durable_execution(
        DurableExecutionArn=arn,
        CheckpointToken=event["CheckpointToken"],
        Updates=[{"Id": "cb-1", "Type": "CALLBACK", "SubType": "Callback", "Action": "START",
                  "Name": "approval", "CallbackOptions": {"TimeoutSeconds": 600}}],
    )  # fmt: skip
    operations = {op["Id"]: op for op in answer["NewExecutionState"]["Operations"]}
    callback = operations["cb-1"]["CallbackDetails"]["CallbackId"]

    heartbeat = kappa_executions(gateway, "callback", callback, "--heartbeat")
    assert (heartbeat.returncode, heartbeat.stdout.strip()) == (0, "callback heartbeat sent")
    bad = kappa_executions(gateway, "callback", callback, "--succeed", "{not json")
    assert bad.returncode == 1
    assert "takes JSON" in bad.stderr
    sent = kappa_executions(gateway, "callback", callback, "--succeed", '{"approved": true}')
    assert sent.returncode == 0, sent.stderr
    again = kappa_executions(gateway, "callback", callback, "--fail", "late")
    assert again.returncode == 1
    assert "404" in again.stderr

    shown = kappa_executions(gateway, "show", arn)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "Name:     order-cli" in lines
    assert "Status:   RUNNING" in lines
    assert 'Input:    {"order": 1}' in lines
    history = lines[lines.index("History:") + 1 :]
    assert any(line.split()[1:] == ["CallbackSucceeded", "cb-1", "approval"] for line in history)

    stopped = kappa_executions(gateway, "stop", arn)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.startswith("stopped at ")
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "STOPPED"
    listed = kappa_executions(gateway, FUNCTION, "-n", NAMESPACE, "--status", "STOPPED")
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["order-cli"]
    other = kappa_executions(gateway, FUNCTION, "-n", NAMESPACE, "--qualifier", "3")
    assert other.stdout.splitlines()[1:] == []  # every execution here is of $LATEST
    missing = kappa_executions(gateway, "show", arn.replace("order-cli", "order-none"))
    assert missing.returncode == 1
    assert "404" in missing.stderr
