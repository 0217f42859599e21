"""The SDK's own example handlers run against Kappa by the testing package's cloud runner.

``DurableFunctionCloudTestRunner`` (aws-durable-execution-sdk-python-testing 1.4.0) is the
package's runner for a real Lambda endpoint: it invokes the Function (RequestResponse),
reads ``X-Amz-Durable-Execution-Arn``, polls GetDurableExecution and builds its result from
GetDurableExecutionHistory. Here the endpoint is the gateway of stack.py.

The examples are read at test time from the two packages' descriptions (their READMEs, in
the installed distributions' metadata), not copied here:

- ran: the SDK's Quick Start (``handler``: a ``@durable_step`` and a 5 s wait) and the
  testing package's Quick Start (``function_under_test``: three steps, one in a child
  context, a 1 s wait), adapted in two ways the test makes at run time: its block leaves out
  ``from typing import Any``, and its ``@durable_step`` functions take no step context,
  which SDK 3.0.0 passes first (as written, every step fails with "one() takes 2
  positional arguments but 3 were given", on Kappa as on any service);
- ran, expected to fail: the testing package's ``place_order``, which calls other
  Functions with ``context.invoke``: Kappa does not run chained invokes yet (build plan,
  step 10), and answers the CHAINED_INVOKE START FAILED with ``Kappa.ChainedInvokeUnsupported``;
- the testing package's Quick Start also runs under the package's in-memory service
  (``DurableFunctionTestRunner``), and both end with the same operations: a differential
  check of Kappa against the package's reading of the service;
- not run: the examples of the SDK's repository (``examples/src/...``), which are in
  neither package nor their sdists on PyPI.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_durable_execution_sdk_python.execution import InvocationStatus
from aws_durable_execution_sdk_python.serdes import ExtendedTypeSerDes
from aws_durable_execution_sdk_python_testing.runner import (
    DurableFunctionCloudTestRunner,
    Operation,
)

from tests.integration.agent.agent_harness import SOURCE_ROOT
from tests.integration.durable.stack import StartStack
from tests.integration.gateway.gateway_harness import REGION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SDK = "aws-durable-execution-sdk-python"
TESTING = "aws-durable-execution-sdk-python-testing"
RUN_TIMEOUT = 60  # the runners' own hang guard
REPOSITORY = Path(__file__).resolve().parents[3]


def readme_example(distribution: str, function: str, *, prelude: str = "") -> str:
    """The README's python block that defines ``function`` (the distribution's metadata)."""
    description = importlib.metadata.metadata(distribution).get_payload()
    assert isinstance(description, str)
    blocks = re.findall(r"```python\n(.*?)```", description, flags=re.DOTALL)
    found = [block for block in blocks if f"def {function}(" in block]
    assert len(found) == 1, f"{distribution}'s README: {len(found)} blocks define {function}"
    return prelude + found[0]


@pytest.fixture
def examples(task_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples as modules of the agents' task root; the runner's boto3 signs with keys."""
    (task_root / "sdk_quickstart.py").write_text(readme_example(SDK, "handler"))
    testing = readme_example(TESTING, "function_under_test", prelude="from typing import Any\n")
    # SDK 3.0.0 calls a @durable_step function with the step's context first.
    adapted = re.sub(r"(@durable_step\ndef \w+\()", r"\1_step_context, ", testing)
    assert adapted.count("_step_context") == 4  # one, two_1, two_2, three
    (task_root / "testing_quickstart.py").write_text(adapted)
    (task_root / "testing_invoke.py").write_text(readme_example(TESTING, "place_order"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "kappa-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "kappa-test")
    return task_root


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outline(operations: Sequence[Operation]) -> list[tuple[Any, ...]]:
    """What two services must agree on about operations (not their times)."""
    return [
        (op.operation_id, op.operation_type, op.sub_type, op.name, op.status,
         getattr(op, "result", None), outline(getattr(op, "child_operations", [])))
        for op in operations
    ]  # fmt: skip


def in_memory(path: Path, handler: str) -> dict[str, Any]:
    """The handler run by the package's in-memory runner, in a process of its own (the
    runner leaves its event loop and sockets unclosed): its result and operations' outline."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner\n"
        "from tests.integration.durable.test_sdk_examples import RUN_TIMEOUT, load_module, outline\n"
        "module = load_module(Path(sys.argv[1]))\n"
        "with DurableFunctionTestRunner(handler=getattr(module, sys.argv[2])) as local:\n"
        "    done = local.run(input='input str', execution_timeout=RUN_TIMEOUT)\n"
        "print(json.dumps({'result': done.result, 'operations': outline(done.operations)},"
        " default=str))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script, str(path), handler],
        capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT,
        env={**os.environ, "PYTHONPATH": f"{REPOSITORY}{os.pathsep}{SOURCE_ROOT}"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def cloud_runner(function: str, endpoint: str) -> DurableFunctionCloudTestRunner:
    return DurableFunctionCloudTestRunner(
        function_name=function, region=REGION, lambda_endpoint=endpoint, poll_interval=0.2
    )


def test_the_sdk_and_testing_package_quick_starts_succeed_under_the_cloud_runner(
    examples: Path, durable_stack: StartStack
) -> None:
    stack = durable_stack({
        "sdk-quickstart": "sdk_quickstart.handler",
        "testing-quickstart": "testing_quickstart.function_under_test",
    })  # fmt: skip

    quick = cloud_runner("sdk-quickstart", stack.gateway.url).run(
        input={"order_id": "o-1"}, timeout=RUN_TIMEOUT
    )
    assert quick.status is InvocationStatus.SUCCEEDED, quick.error
    assert json.loads(quick.result or "null") == {"status": "approved", "order_id": "o-1"}
    # A step's dict result is checkpointed in the SDK's own typed encoding.
    step = quick.get_step("validate_order").result or ""
    assert ExtendedTypeSerDes().deserialize(step) == {"order_id": "o-1", "valid": True}
    assert quick.get_wait("await_confirmation").status is not None

    # The testing package's README asserts exactly these against its in-memory service.
    testing = cloud_runner("testing-quickstart", stack.gateway.url).run(
        input="input str", timeout=RUN_TIMEOUT
    )
    assert testing.status is InvocationStatus.SUCCEEDED, testing.error
    assert testing.result == '["1 2", "3 4 4 3", "5 6"]'
    assert testing.get_step("one").result == '"1 2"'
    assert testing.get_context("two").result == '"3 4 4 3"'
    assert testing.get_step("three").result == '"5 6"'

    # The same handler under the package's in-memory service ends with the same operations:
    # ids, types, subtypes, names, statuses and results, children included.
    reference = in_memory(examples / "testing_quickstart.py", "function_under_test")
    assert reference["result"] == testing.result
    assert reference["operations"] == json.loads(
        json.dumps(outline(testing.operations), default=str)
    )


def test_the_chained_invoke_example_fails_as_kappa_runs_no_chained_invokes_yet(
    examples: Path, durable_stack: StartStack
) -> None:
    del examples
    stack = durable_stack({"place-order": "testing_invoke.place_order"})
    result = cloud_runner("place-order", stack.gateway.url).run(
        input={"sku": "book-1"}, timeout=RUN_TIMEOUT
    )
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.message == "Chained invokes are not supported yet."
