"""DurableConfig through boto3: CreateFunction, UpdateFunctionConfiguration, PublishVersion and
GetFunctionConfiguration against the real gateway application (its Lambda API handlers, the
API's models, the version snapshot) in one process; the API server is an in-memory stand-in.

Only the configuration: a durable Function is stored and shown, not yet run durably.
"""

import asyncio
import io
import threading
import zipfile
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError

from kappa.auth.guard import Guard
from kappa.gateway.app import Gateway
from kappa.gateway.control_plane import ControlPlane
from kappa.gateway.control_store import ControlStore
from kappa.gateway.function_api import FunctionApi
from kappa.gateway.settings import GatewaySettings
from kappa.invocation.registry import StaticRegistry
from tests.integration.gateway.memory_store import MemoryStore

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

REGION = "us-east-1"


class Served:
    """The gateway with the Function calls and the control plane, on a thread's event loop."""

    def __init__(self) -> None:
        self.kube = MemoryStore()
        store = cast("ControlStore", self.kube)
        guard = Guard(None, region=REGION)  # authentication off: these tests are about shapes
        control = (FunctionApi(store, guard, REGION), ControlPlane(store, REGION))
        gateway = Gateway(GatewaySettings(), StaticRegistry(), guard=guard, control=control)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner = web.AppRunner(gateway.app())
        self._call(self._runner.setup())
        self._call(web.TCPSite(self._runner, "127.0.0.1", 0).start())
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def stop(self) -> None:
        self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def served() -> Iterator[Served]:
    running = Served()
    yield running
    running.stop()


@pytest.fixture
def lam(served: Served) -> Iterator[Any]:
    client = boto3.session.Session().client(
        "lambda",
        endpoint_url=served.url,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - authentication is off
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield client
    client.close()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return out.getvalue()


def _create(lam: Any, name: str, **extra: Any) -> dict[str, Any]:
    params = {"FunctionName": name, "Runtime": "python3.12", "Handler": "app.handler",
              "Role": "arn:aws:iam::000000000000:role/none", "Code": {"ZipFile": _zip()}}  # fmt: skip
    created: dict[str, Any] = lam.create_function(**(params | extra))
    return created


def _refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = error.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, response["Error"]["Code"], response["Error"]["Message"]


def test_durable_config_is_stored_shown_updated_and_published(served: Served, lam: Any) -> None:
    created = _create(
        lam, "team-a/order", DurableConfig={"ExecutionTimeout": 3600, "RetentionPeriodInDays": 30}
    )
    assert created["DurableConfig"] == {"ExecutionTimeout": 3600, "RetentionPeriodInDays": 30}
    stored = served.kube.functions["team-a", "order"]["spec"]
    assert stored["durable"] == {"executionTimeoutSeconds": 3600, "retentionPeriodInDays": 30}
    shown = lam.get_function_configuration(FunctionName="team-a/order")
    assert shown["DurableConfig"] == {"ExecutionTimeout": 3600, "RetentionPeriodInDays": 30}

    # The block is replaced whole: a retention left out is the default again.
    updated = lam.update_function_configuration(
        FunctionName="team-a/order", DurableConfig={"ExecutionTimeout": 7200, "KMSKeyArn": ""}
    )
    assert updated["DurableConfig"] == {"ExecutionTimeout": 7200, "RetentionPeriodInDays": 14}
    # Another field's update leaves it as it is.
    lam.update_function_configuration(FunctionName="team-a/order", Timeout=30)
    kept = lam.get_function_configuration(FunctionName="team-a/order")
    assert (kept["Timeout"], kept["DurableConfig"]["ExecutionTimeout"]) == (30, 7200)

    published = lam.publish_version(FunctionName="team-a/order")
    assert published["Version"] == "1"
    assert published["DurableConfig"] == {"ExecutionTimeout": 7200, "RetentionPeriodInDays": 14}
    snapshot = served.kube.function_versions["team-a", "order.1"]["spec"]["snapshot"]
    assert snapshot["durable"] == {"executionTimeoutSeconds": 7200, "retentionPeriodInDays": 14}
    version = lam.get_function_configuration(FunctionName="team-a/order", Qualifier="1")
    assert version["DurableConfig"] == published["DurableConfig"]
    listed = lam.list_versions_by_function(FunctionName="team-a/order")["Versions"]
    assert [v.get("DurableConfig", {}).get("ExecutionTimeout") for v in listed] == [7200, 7200]


def test_a_plain_function_has_no_durable_config(lam: Any) -> None:
    created = _create(lam, "team-a/plain")
    assert "DurableConfig" not in created
    assert "DurableConfig" not in lam.get_function_configuration(FunctionName="team-a/plain")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        pytest.param(
            {"DurableConfig": {"ExecutionTimeout": 60,
                               "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}},
            "DurableConfig.KMSKeyArn is not supported", id="kms-key",
        ),
        # botocore checks only the lower bounds before sending: the upper ones are Kappa's.
        pytest.param({"DurableConfig": {"ExecutionTimeout": 31_622_401}},
                     "ExecutionTimeout must be a whole number from 1 to 31622400", id="timeout"),
        pytest.param({"DurableConfig": {"ExecutionTimeout": 60, "RetentionPeriodInDays": 91}},
                     "RetentionPeriodInDays must be a whole number from 1 to 90", id="retention"),
        pytest.param({"DurableConfig": {"RetentionPeriodInDays": 7}},
                     "DurableConfig.ExecutionTimeout is required", id="no-timeout"),
        pytest.param({"Runtime": "nodejs22", "Handler": "index.handler",
                      "DurableConfig": {"ExecutionTimeout": 60}},
                     "spec.durable with runtime nodejs22 needs a Python runtime", id="nodejs"),
    ],
)  # fmt: skip
def test_a_wrong_durable_config_is_400_saying_why_and_nothing_is_written(
    served: Served, lam: Any, extra: dict[str, Any], says: str
) -> None:
    with pytest.raises(ClientError) as error:
        _create(lam, "team-a/order", **extra)
    status, code, message = _refusal(error)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert says in message
    assert served.kube.functions == {}


def test_a_function_with_retries_is_not_made_durable_until_they_are_removed(
    served: Served, lam: Any
) -> None:
    _create(lam, "team-a/job")
    # As a Function applied with spec.async.maximumRetryAttempts (or made before
    # spec.durable existed, with its old default) holds it.
    served.kube.functions["team-a", "job"]["spec"]["async"] = {"maximumRetryAttempts": 2}
    with pytest.raises(ClientError) as error:
        lam.update_function_configuration(
            FunctionName="team-a/job", DurableConfig={"ExecutionTimeout": 60}
        )
    status, code, message = _refusal(error)
    assert (status, code) == (400, "InvalidParameterValueException")
    assert "spec.async.maximumRetryAttempts does not apply to a durable Function" in message
    assert "durable" not in served.kube.functions["team-a", "job"]["spec"]
    del served.kube.functions["team-a", "job"]["spec"]["async"]
    made = lam.update_function_configuration(
        FunctionName="team-a/job", DurableConfig={"ExecutionTimeout": 60}
    )
    assert made["DurableConfig"] == {"ExecutionTimeout": 60, "RetentionPeriodInDays": 14}
