"""CreateFunction and UpdateFunctionCode with zips past a ConfigMap's size, end to end in
one process: boto3 against the real gateway application (its body limits, budgets and
Lambda API handlers), which uploads to the real code store; the Kubernetes side is an
in-memory stand-in for the API server (the one thing not real here).
"""

import asyncio
import base64
import hashlib
import io
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from aiohttp import web
from botocore.config import Config
from botocore.exceptions import ClientError

from kappa.agent.code_archive import install
from kappa.auth.access import Access
from kappa.auth.access_keys import AccessKey
from kappa.auth.credentials import Credentials
from kappa.auth.guard import Guard
from kappa.auth.subject import Subject
from kappa.cli.gateway_client import GatewayError as CliGatewayError
from kappa.cli.gateway_client import put_code
from kappa.codestore.blobs import Blobs
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.server import StoreConfig, make_app
from kappa.gateway.app import Gateway
from kappa.gateway.body import CODE_BODY_MAX
from kappa.gateway.code_store import CodeStoreClient
from kappa.gateway.control_store import ControlStore
from kappa.gateway.function_api import FunctionApi
from kappa.gateway.settings import GatewaySettings
from kappa.invocation.registry import StaticRegistry
from kappa.resources.package import CONFIG_MAP_MAX_BYTES, PACKAGE_MAX_BYTES
from tests.integration.gateway.memory_store import MemoryStore

# The gateway keeps the caller under a string key (as it has since before aiohttp's
# RequestKey); the gateway's process does not turn that warning into an error.
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")

MiB = 1024 * 1024
KEY_ID = "AKIDCODESTORETEST"
SECRET = "code-store-test-secret"  # noqa: S105 - a test key


class Keys:
    """The guard's view of the cluster: one access key; RBAC allows all but team-b."""

    async def token(self, token: str) -> Subject | None:
        return Subject("bob") if token == "bob" else None  # noqa: S105 - a test token

    async def access(self, _subject: Subject, access: Access) -> bool:
        return access.namespace != "team-b"

    async def key(self, access_key_id: str) -> AccessKey | None:
        if access_key_id != KEY_ID:
            return None
        return AccessKey(KEY_ID, SECRET, Subject("alice"), "kappa-system/alice")


def _zip(size: int, marker: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(
            "handler.py", b"def handler(event, context):\n    return " + marker + b"\n"
        )
        archive.writestr("blob.bin", os.urandom(size))
    return out.getvalue()


class Running:
    """The gateway and the code store, served from one event loop in a thread."""

    def __init__(self, tmp_path: Path, *, with_store: bool = True) -> None:
        self.kube = MemoryStore()
        self.blobs = Blobs(tmp_path / "volume")
        self.blobs.prepare()
        self._loop = asyncio.new_event_loop()
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        self.store_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        store_url = self._call(self._serve(self._store_app(), listening))
        client = CodeStoreClient(store_url) if with_store else None
        guard = Guard(Keys(), region="us-east-1")
        api = FunctionApi(cast("ControlStore", self.kube), guard, "us-east-1", client)
        gateway = Gateway(GatewaySettings(), StaticRegistry(), guard=guard, control=(api,))
        self.url = self._call(self._serve(gateway.app()))

    def _store_app(self) -> web.Application:
        config = StoreConfig(self.store_url, self.blobs.signing_key(), 50 * MiB)
        return make_app(self.blobs, config, CodeStoreMetrics())

    async def _serve(self, app: web.Application, listening: socket.socket | None = None) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        if listening is None:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
        else:
            await web.SockSite(runner, listening).start()
        self._runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(60)

    def stop(self) -> None:
        for runner in reversed(self._runners):
            self._call(runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    served = Running(tmp_path)
    yield served
    served.stop()


def _client(url: str, secret: str = SECRET) -> Any:
    return boto3.session.Session().client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=120),
    )


def test_a_large_zip_goes_to_the_store_and_the_function_names_it(
    running: Running, tmp_path: Path
) -> None:
    first = _zip(5 * MiB, b"1")  # past 6 MB in base64: past every other call's limit
    lam = _client(running.url)
    created = lam.create_function(
        FunctionName="team-a/big", Runtime="python3.11", Handler="handler.handler",
        Role="arn:aws:iam::000000000000:role/none", Code={"ZipFile": first},
    )  # fmt: skip
    assert created["FunctionName"] == "team-a/big"
    function = running.kube.functions["team-a", "big"]
    code = function["spec"]["code"]
    assert set(code) == {"url"}
    assert code["url"]["sha256"] == hashlib.sha256(first).hexdigest()
    assert running.kube.configmaps == {}  # nothing of it in a ConfigMap
    assert code["url"]["url"].startswith(running.store_url + "/v1/packages/team-a/")
    stored = running.blobs.list()
    assert [p.key.sha256 for p in stored] == [code["url"]["sha256"]]
    assert [p.key.namespace for p in stored] == ["team-a"]

    second = _zip(2 * MiB, b"2")
    lam.update_function_code(FunctionName="team-a/big", ZipFile=second)
    code = running.kube.functions["team-a", "big"]["spec"]["code"]
    assert code["url"]["sha256"] == hashlib.sha256(second).hexdigest()
    assert len(running.blobs.list()) == 2  # the first stays until nothing names it

    # Back to a small zip: the ConfigMap again, and no url left in the spec.
    small = _zip(10, b"3")
    lam.update_function_code(FunctionName="team-a/big", ZipFile=small)
    code = running.kube.functions["team-a", "big"]["spec"]["code"]
    assert set(code) == {"configMap"}
    assert ("team-a", "big-package") in running.kube.configmaps
    assert len(small) < CONFIG_MAP_MAX_BYTES


def test_the_stored_package_installs_as_a_pod_would(running: Running, tmp_path: Path) -> None:
    package = _zip(2 * MiB, b"42")
    lam = _client(running.url)
    lam.create_function(FunctionName="team-a/f", Runtime="python3.11", Handler="handler.handler",
                        Role="r", Code={"ZipFile": package})  # fmt: skip
    code = running.kube.functions["team-a", "f"]["spec"]["code"]["url"]
    root = tmp_path / "task"
    install(code["url"], bytes.fromhex(code["sha256"]), root)
    assert b"return 42" in (root / "handler.py").read_bytes()


def test_hostile_code_requests_are_refused_and_nothing_is_written(running: Running) -> None:
    lam = _client(running.url)
    # Past Lambda's 50 MB zipped: 413 before anything is decoded or written.
    body = json.dumps({"FunctionName": "team-a/huge", "Runtime": "python3.11",
                       "Handler": "h.h", "Role": "r",
                       "Code": {"ZipFile": "A" * (70 * MiB)}}).encode()  # fmt: skip
    request = urllib.request.Request(
        running.url + "/2015-03-31/functions", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer bob"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    # Not base64 / not a zip: 400.
    for zip_file in ("not base64!", base64.b64encode(b"plain text").decode()):
        with pytest.raises(ClientError) as error:
            lam.create_function(FunctionName="team-a/bad", Runtime="python3.11",
                                Handler="h.h", Role="r", Code={"ZipFile": zip_file})  # fmt: skip
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Another call's body limit is unchanged: 6 MB.
    with pytest.raises(ClientError) as error:
        lam.update_function_configuration(FunctionName="team-a/x", Description="d" * (7 * MiB))
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    # A wrong signature, and a caller RBAC refuses: 403, and nothing uploaded.
    package = _zip(2 * MiB, b"1")
    with pytest.raises(ClientError) as error:
        _client(running.url, secret="wrong").create_function(  # noqa: S106 - the wrong one
            FunctionName="team-a/f", Runtime="python3.11", Handler="h.h", Role="r",
            Code={"ZipFile": package})  # fmt: skip
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as error:
        lam.create_function(FunctionName="team-b/f", Runtime="python3.11", Handler="h.h",
                            Role="r", Code={"ZipFile": package})  # fmt: skip
    assert error.value.response["Error"]["Code"] == "AccessDeniedException"
    assert running.kube.functions == {}
    assert running.blobs.list() == []


def test_without_a_store_a_large_zip_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    served = Running(tmp_path, with_store=False)
    try:
        lam = _client(served.url)
        with pytest.raises(ClientError) as error:
            lam.create_function(FunctionName="team-a/big", Runtime="python3.11",
                                Handler="handler.handler", Role="r",
                                Code={"ZipFile": _zip(2 * MiB, b"1")})  # fmt: skip
        assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "no code store" in error.value.response["Error"]["Message"]
        assert served.kube.functions == {}
    finally:
        served.stop()


def test_one_code_upload_at_a_time_per_gateway_others_get_429(running: Running) -> None:
    lam = _client(running.url)
    host, port = running.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as held:
        # An upload still being sent holds the code budget (its declared length: all of
        # it, as a zip of 50 MB does).
        held.sendall(
            b"POST /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bob\r\n"
            b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{"Fun' % CODE_BODY_MAX
        )
        deadline = time.monotonic() + 30
        while True:  # the held upload reaches the gateway (a deadline only against a hang)
            try:
                lam.create_function(FunctionName="team-a/second", Runtime="python3.11",
                                    Handler="handler.handler", Role="r",
                                    Code={"ZipFile": _zip(10, b"1")})  # fmt: skip
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TooManyRequestsException"  # noqa: PT017
                break
            running.kube.functions.clear()
            assert time.monotonic() < deadline, "the held upload never held the budget"
        # Invocations and other calls keep their own budget.
        with pytest.raises(ClientError) as other:
            lam.get_function_configuration(FunctionName="team-a/nothing")
        assert other.value.response["ResponseMetadata"]["HTTPStatusCode"] != 429
    deadline = time.monotonic() + 30
    while True:  # the closed connection gives the budget back
        try:
            lam.create_function(FunctionName="team-a/third", Runtime="python3.11",
                                Handler="handler.handler", Role="r",
                                Code={"ZipFile": _zip(10, b"1")})  # fmt: skip
            break
        except ClientError as error:
            assert error.response["Error"]["Code"] == "TooManyRequestsException"  # noqa: PT017
            assert time.monotonic() < deadline, "the budget never came back"
    assert ("team-a", "third") in running.kube.functions


def test_kappa_deploys_client_creates_then_updates_through_the_store(running: Running) -> None:
    keys = Credentials(access_key_id=KEY_ID, secret_access_key=SECRET)
    first, second = _zip(3 * MiB, b"1"), _zip(3 * MiB, b"2")
    put_code(running.url, keys, namespace="team-a", name="cli", archive=first,
             create=("python3.11", "handler.handler"))  # fmt: skip
    code = running.kube.functions["team-a", "cli"]["spec"]["code"]
    assert code["url"]["sha256"] == hashlib.sha256(first).hexdigest()
    put_code(running.url, keys, namespace="team-a", name="cli", archive=second, create=None)
    code = running.kube.functions["team-a", "cli"]["spec"]["code"]
    assert code["url"]["sha256"] == hashlib.sha256(second).hexdigest()
    # A refusal is the gateway's message, not a traceback.
    with pytest.raises(CliGatewayError, match=r"403: .*kappa-author"):
        put_code(running.url, keys, namespace="team-b", name="cli", archive=first,
                 create=("python3.11", "handler.handler"))  # fmt: skip
    with pytest.raises(CliGatewayError, match="404"):
        put_code(running.url, keys, namespace="team-a", name="absent", archive=first, create=None)


def test_lambdas_largest_zip_is_stored_and_one_byte_more_is_refused(running: Running) -> None:
    lam = _client(running.url)
    largest = b"PK" + os.urandom(PACKAGE_MAX_BYTES - 2)
    lam.create_function(FunctionName="team-a/largest", Runtime="python3.11",
                        Handler="handler.handler", Role="r", Code={"ZipFile": largest})  # fmt: skip
    [stored] = running.blobs.list()
    assert stored.size == PACKAGE_MAX_BYTES
    assert stored.key.sha256 == hashlib.sha256(largest).hexdigest()
    del largest
    with pytest.raises(ClientError) as error:
        lam.update_function_code(FunctionName="team-a/largest",
                                 ZipFile=b"PK" + bytes(PACKAGE_MAX_BYTES - 1))  # fmt: skip
    assert error.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "52,428,800" in error.value.response["Error"]["Message"]
    assert len(running.blobs.list()) == 1
