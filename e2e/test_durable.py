"""Durable functions on a real cluster, written with AWS's durable execution SDK
(aws-durable-execution-sdk-python 3.0.0, vendored by `kappa deploy` as a user would):

- the issue's order: two steps, a 30 s wait, a `wait_for_callback` completed with boto3's
  `send_durable_execution_callback_success`, a third step → SUCCEEDED; the handler was
  invoked several times (the history's InvocationCompleted events) and each step's body
  ran once (its line in the pods' logs, and one StepSucceeded each);
- the same while the gateway Deployment's pods and the Function's pod are deleted during
  the wait: the timer is in JetStream, the new gateway pods fire it and invoke a new pod,
  and the execution still succeeds with each step run once;
- `context.map` over 20 items, one of which fails its first attempt and is retried by
  its step's retry strategy: the results in the items' order, the item run twice, the
  others once;
- the SDK testing package's `DurableFunctionCloudTestRunner` (how the SDK's own tests run
  against Lambda: a synchronous Invoke, the ARN header, GetDurableExecution, the history
  read back into operations) runs the map against the gateway.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.lambda_service import OperationStatus
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionCloudTestRunner
from botocore.exceptions import BotoCoreError, ClientError
from kubernetes import client

from e2e.cluster import Cluster
from e2e.conftest import REPO, _kubectl, own_namespace
from e2e.gateway import SELECTOR, Gateway
from e2e.identity import ACCOUNT, NAMESPACE
from e2e.pod_logs import PodLogs
from e2e.test_codestore import grant, kappa_cli
from e2e.test_gateway import ready_pods

T = TypeVar("T")
FUNCTION = "durable-e2e"
SDK_REQUIREMENTS = REPO / "examples/durable-order/requirements.txt"
HANDLER = """
import sys

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy


def say(line):
    # One write per line: the map's items run in threads of one process.
    sys.stdout.write(line + "\\n")
    sys.stdout.flush()


def issue(event, context):
    run = event["run"]

    def body(name):
        def step(step_context: StepContext):
            say(f"STEP {run} {name} attempt {step_context.attempt}")
            return f"{name} done"

        return step

    steps = [context.step(body("one"), name="one"), context.step(body("two"), name="two")]
    context.wait(Duration.from_seconds(int(event.get("waitSeconds", 30))), name="wait")
    approval = context.wait_for_callback(
        lambda callback_id, _: say(f"CALLBACK {run} {callback_id}"), name="approval"
    )
    steps.append(context.step(body("three"), name="three"))
    return {"run": run, "steps": steps, "approval": approval}


# The failing item's second attempt 2 s after its first (no jitter).
RETRY = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(
    max_attempts=3, initial_delay=Duration.from_seconds(2), jitter_strategy=JitterStrategy.NONE)))


def squares(event, context):
    run, failing = event["run"], int(event["failing"])

    def item(item_context: DurableContext, n, index, items):
        def square(step_context: StepContext):
            say(f"ITEM {run} {n} attempt {step_context.attempt}")
            if n == failing and step_context.attempt == 1:
                raise ValueError(f"item {n} fails its first attempt")
            return n * n

        return item_context.step(square, name=f"square-{n}", config=RETRY)

    batch = context.map(list(range(20)), item, name="squares")
    batch.throw_if_error()
    return {"run": run, "squares": batch.get_results()}


@durable_execution
def handler(event, context: DurableContext):
    return squares(event, context) if event.get("scenario") == "map" else issue(event, context)
"""
KAPPA_YAML = f"""
name: {FUNCTION}
runtime: python3.11
handler: app.handler
timeoutSeconds: 60
durable:
  executionTimeoutSeconds: 900
  retentionPeriodInDays: 1
"""


@dataclass(frozen=True)
class Deployed:
    namespace: str
    kubectl: list[str]  # up to and including -n NAMESPACE

    @property
    def name(self) -> str:
        return f"{self.namespace}/{FUNCTION}"


def make_author(cluster: Cluster, api: client.ApiClient, namespace: str) -> None:
    """The e2e caller bound to kappa-author in ``namespace``, once the API server says so:
    `kappa deploy` of a package over a ConfigMap's size sends CreateFunction through the
    gateway, which asks the API server whether the caller may create Functions."""
    grant(api, namespace, "kappa-author")
    can_i = [*_kubectl(cluster), "auth", "can-i", "create", "functions.kappa.dev",
             "-n", namespace, "--as", f"system:serviceaccount:{NAMESPACE}:{ACCOUNT}"]  # fmt: skip

    def allowed() -> bool:
        done = subprocess.run(can_i, capture_output=True, text=True, check=False)
        return done.stdout.strip() == "yes"

    Cluster.wait(allowed, f"the e2e caller to be an author in {namespace}", 30)


def deploy_with_sdk(
    cluster: Cluster, api: client.ApiClient, gateway: Gateway, folder: Path, namespace: str
) -> None:
    """`kappa deploy` of ``folder`` (the SDK vendored: over a ConfigMap's size, so through
    the gateway to the code store) into ``namespace``; Ready and known to the gateway."""
    make_author(cluster, api, namespace)
    kappa_cli(cluster, folder.parent, "deploy", folder.name, "--namespace", namespace,
              "--gateway", gateway.url)  # fmt: skip
    name = folder.name
    Cluster.wait(lambda: answers(lambda: gateway.knows(namespace, name)), f"{name} known", 30)


@pytest.fixture(scope="module")
def durable_fn(
    cluster: Cluster,
    api: client.ApiClient,
    core: client.CoreV1Api,
    gateway: Gateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployed]:
    folder = tmp_path_factory.mktemp("durable") / FUNCTION
    folder.mkdir()
    (folder / "app.py").write_text(HANDLER)
    (folder / "requirements.txt").write_text(SDK_REQUIREMENTS.read_text())
    (folder / "kappa.yaml").write_text(KAPPA_YAML)
    with own_namespace(core, "e2e-durable") as namespace:
        deploy_with_sdk(cluster, api, gateway, folder, namespace)
        yield Deployed(namespace, [*_kubectl(cluster), "-n", namespace])


def answers(call: Callable[[], T]) -> T | None:
    """``call()``, or None while the gateway is away or not ready (a 5xx, no connection):
    its pods may be restarting, and its durable store connects in the background."""
    try:
        return call()
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
            return None
        raise
    except BotoCoreError:
        return None


def start(lam: Any, function: str, payload: dict[str, Any]) -> str:
    """An execution of ``function`` named ``payload["run"]``, started with Event: its ARN.

    Tried again while the gateway is not ready: the same name and payload is the same
    execution, so a start whose answer was lost is not made twice."""
    answer = Cluster.wait(
        lambda: answers(lambda: lam.invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(payload),
            DurableExecutionName=payload["run"])),
        f"an execution of {function} started",
        60,
        interval=1,
    )  # fmt: skip
    assert answer["StatusCode"] == 202
    arn = str(answer["DurableExecutionArn"])
    assert f"/durable-execution/{payload['run']}/" in arn, arn
    return arn


def history(lam: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of the execution, page after page."""
    events: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = lam.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True, **marker
        )
        events.extend(page["Events"])
        if not page.get("NextMarker"):
            return events
        marker = {"Marker": page["NextMarker"]}


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["EventType"] == event_type]


def ended(lam: Any, arn: str, logs: PodLogs, timeout: float) -> dict[str, Any]:
    """The execution once it is no longer RUNNING (the logs read meanwhile)."""

    def finished() -> dict[str, Any] | None:
        logs.lines(FUNCTION)
        found = answers(lambda: lam.get_durable_execution(
            DurableExecutionArn=arn, IncludeExecutionData=True))  # fmt: skip
        return found if found is not None and found["Status"] != "RUNNING" else None

    return Cluster.wait(finished, f"the end of {arn}", timeout, interval=2)


def event_seen(lam: Any, arn: str, event_type: str, logs: PodLogs, timeout: float) -> Any:
    """The execution's first event of ``event_type``, once there (the logs read meanwhile)."""

    def found() -> dict[str, Any] | None:
        logs.lines(FUNCTION)
        events = answers(lambda: history(lam, arn))
        return next(iter(of_type(events or [], event_type)), None)

    return Cluster.wait(found, f"{event_type} in the history of {arn}", timeout, interval=2)


def runs(logs: PodLogs, prefix: str) -> Counter[str]:
    """How many times each line after ``prefix`` was logged by the Function's pods.

    Found anywhere on a line: the map's items run in threads of one runtime process, and
    what another thread prints in two writes (``print``'s text, then its newline; the SDK's
    report of item 7's error is one) can leave its text without its newline just before a
    marker (seen: ``ValueError: item 7 fails its first attemptITEM … 13 attempt 1``).
    """
    return Counter(
        line[line.index(prefix) + len(prefix) :] for line in logs.lines(FUNCTION) if prefix in line
    )


def explained(gateway: Gateway, deployed: Deployed, arn: str) -> str:
    """What the gateway and the Function's pods said, and the history (for a failure)."""
    pods = subprocess.run(
        [*deployed.kubectl, "logs", "-l", f"kappa.dev/function={FUNCTION}", "--tail=60"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    events = answers(lambda: history(gateway.lambda_client(), arn))
    return (
        f"history: {json.dumps(events, default=str)}\n"
        f"function pods:\n{pods.stdout}{pods.stderr}\ngateway:\n{gateway.logs()}"
    )


def the_issues_order(
    gateway: Gateway, deployed: Deployed, during_the_wait: Callable[[], None]
) -> None:
    """Run the issue's scenario, calling ``during_the_wait`` while its 30 s wait runs, and
    check it ends SUCCEEDED with each step run once over several invocations."""
    lam = gateway.lambda_client()
    logs = PodLogs(deployed.kubectl)
    run = f"issue-{uuid.uuid4().hex[:12]}"
    arn = start(lam, deployed.name, {"run": run, "waitSeconds": 30})
    try:
        event_seen(lam, arn, "WaitStarted", logs, 180)
        # The steps before the wait ran (read now: their pod may be deleted next).
        Cluster.wait(
            lambda: runs(logs, f"STEP {run} ").keys() >= {"one attempt 1", "two attempt 1"},
            "steps one and two in the logs",
            60,
        )
        during_the_wait()
        started = event_seen(lam, arn, "CallbackStarted", logs, 300)
        callback_id = started["CallbackStartedDetails"]["CallbackId"]
        waiting = Cluster.wait(
            lambda: answers(lambda: lam.get_durable_execution(DurableExecutionArn=arn)),
            "the execution's status",
            60,
        )
        assert waiting["Status"] == "RUNNING", waiting
        # The SDK hands the callback's result to the handler as sent.
        Cluster.wait(
            lambda: answers(lambda: lam.send_durable_execution_callback_success(
                CallbackId=callback_id, Result=b"approved")),
            "the callback completed",
            60,
        )  # fmt: skip
        execution = ended(lam, arn, logs, 240)
    except (AssertionError, TimeoutError) as error:
        raise AssertionError(f"{error}\n{explained(gateway, deployed, arn)}") from None
    assert execution["Status"] == "SUCCEEDED", explained(gateway, deployed, arn)
    assert json.loads(execution["Result"]) == {
        "run": run, "steps": ["one done", "two done", "three done"], "approval": "approved",
    }  # fmt: skip
    events = history(lam, arn)
    succeeded = Counter(e["Name"] for e in of_type(events, "StepSucceeded"))
    assert {step: succeeded[step] for step in ("one", "two", "three")} == {
        "one": 1, "two": 1, "three": 1,
    }, events  # fmt: skip
    assert not of_type(events, "StepFailed"), events
    # Invoked at the start, after the wait, after the callback (and again after a lost pod).
    assert len(of_type(events, "InvocationCompleted")) >= 3, events
    # Each step's body ran once: replays returned its checkpointed result.
    Cluster.wait(lambda: runs(logs, f"STEP {run} ").get("three attempt 1"), "step three's line", 60)
    assert runs(logs, f"STEP {run} ") == {
        "one attempt 1": 1, "two attempt 1": 1, "three attempt 1": 1,
    }, logs.lines(FUNCTION)  # fmt: skip


@pytest.mark.timeout(900)
def test_the_issues_order_succeeds_with_each_step_run_once(
    gateway: Gateway, durable_fn: Deployed
) -> None:
    the_issues_order(gateway, durable_fn, lambda: None)


@pytest.mark.timeout(900)
def test_the_order_survives_its_gateway_and_function_pods_deleted_during_the_wait(
    cluster: Cluster, core: client.CoreV1Api, gateway: Gateway, durable_fn: Deployed
) -> None:
    system = [*_kubectl(cluster), "-n", "kappa-system"]

    def delete_the_pods() -> None:
        before = {p.metadata.name for p in ready_pods(core, "kappa-system", SELECTOR)}
        assert before, "no gateway pod"
        subprocess.run([*system, "delete", "pod", "-l", SELECTOR, "--wait=false"], check=True)
        subprocess.run(
            [*durable_fn.kubectl, "delete", "pod", "-l", f"kappa.dev/function={FUNCTION}",
             "--wait=false"],
            check=True,
        )  # fmt: skip

        def replaced() -> bool:
            now = {p.metadata.name for p in ready_pods(core, "kappa-system", SELECTOR)}
            return len(now) >= len(before) and not now & before

        Cluster.wait(replaced, "new gateway pods Ready", 180)
        Cluster.wait(
            lambda: answers(lambda: gateway.knows(durable_fn.namespace, FUNCTION)),
            "the new gateway pods to know the Function",
            60,
        )

    the_issues_order(gateway, durable_fn, delete_the_pods)


@pytest.mark.timeout(600)
def test_a_map_retries_its_failing_item_and_keeps_the_items_order(
    gateway: Gateway, durable_fn: Deployed
) -> None:
    lam = gateway.lambda_client()
    logs = PodLogs(durable_fn.kubectl)
    run = f"map-{uuid.uuid4().hex[:12]}"
    arn = start(lam, durable_fn.name, {"scenario": "map", "run": run, "failing": 7})
    try:
        execution = ended(lam, arn, logs, 300)
    except TimeoutError as error:
        raise AssertionError(f"{error}\n{explained(gateway, durable_fn, arn)}") from None
    assert execution["Status"] == "SUCCEEDED", explained(gateway, durable_fn, arn)
    assert json.loads(execution["Result"]) == {"run": run, "squares": [n * n for n in range(20)]}
    events = history(lam, arn)
    # The retry is a StepFailed with its error and when the next attempt comes.
    [retried] = of_type(events, "StepFailed")
    assert retried["Name"] == "square-7", retried
    details = retried["StepFailedDetails"]
    assert details["Error"]["Payload"]["ErrorMessage"] == "item 7 fails its first attempt", details
    assert details["RetryDetails"]["CurrentAttempt"] == 1, details
    succeeded = Counter(e["Name"] for e in of_type(events, "StepSucceeded"))
    assert succeeded == Counter(f"square-{n}" for n in range(20)), events
    with contextlib.suppress(TimeoutError):
        Cluster.wait(lambda: len(runs(logs, f"ITEM {run} ")) >= 21, "every item's lines", 60)
    expected = Counter(f"{n} attempt 1" for n in range(20)) + Counter(["7 attempt 2"])
    found = runs(logs, f"ITEM {run} ")
    assert found == expected, (found, logs.errors, logs.lines(FUNCTION)[-60:])


@pytest.mark.timeout(600)
def test_the_sdk_testing_packages_cloud_runner_runs_the_map_against_the_gateway(
    gateway: Gateway, durable_fn: Deployed
) -> None:
    # Signs with the environment's access key (the e2e caller's, set by the fixture).
    runner = DurableFunctionCloudTestRunner(
        function_name=durable_fn.name, region="us-east-1", lambda_endpoint=gateway.url,
        poll_interval=2,
    )  # fmt: skip
    run = f"cloud-{uuid.uuid4().hex[:12]}"
    result = runner.run(input={"scenario": "map", "run": run, "failing": 3}, timeout=300)
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    # GetDurableExecution without IncludeExecutionData: its data is included by default.
    assert result.result is not None, "GetDurableExecution left the result out"
    assert json.loads(result.result) == {"run": run, "squares": [n * n for n in range(20)]}
    squares = result.get_context("squares")
    assert squares.status is OperationStatus.SUCCEEDED
    assert len(squares.child_operations) == 20
    assert {item.status for item in squares.child_operations} == {OperationStatus.SUCCEEDED}
