"""The dead-letter queue through the gateway's endpoint and `kappa dlq`: list, show, redrive,
delete, with a real nats-server and real handlers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from tests.integration.asyncq.conftest import Calls, StartAsyncGateway, with_async
from tests.integration.asyncq.test_async_invoke import send_event
from tests.integration.gateway.conftest import LambdaClient, StartFunctionAgent
from tests.integration.gateway.gateway_harness import Gateway, function_entry

DLQ = "/kappa/v1/namespaces/{}/dead-letters"


def kappa_dlq(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kappa", "dlq", *args, "--gateway", gateway.url],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip


def dead_letters(gateway: Gateway, count: int, namespace: str = "default") -> list[dict[str, Any]]:
    """The namespace's entries, once there are ``count``."""
    deadline = time.monotonic() + 60  # a hang guard
    while True:
        page = json.loads(gateway.request("GET", DLQ.format(namespace)).body)
        if len(page["deadLetters"]) >= count:
            return list(page["deadLetters"])
        assert time.monotonic() < deadline, f"fewer than {count} dead letters"
        time.sleep(0.05)


def test_failed_events_are_listed_shown_redriven_and_deleted(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    failing = with_async(
        function_entry("job", [start_agent("asyncfns.fail", name="job")]), maximumRetryAttempts=0
    )
    gateway = async_gateway([failing])
    client = lambda_client(gateway)
    first = send_event(client, "job", b'{"item": 1}')
    second = send_event(client, "job", b'{"item": 2}')
    entries = dead_letters(gateway, 2)
    by_id = {e["requestId"]: e for e in entries}
    assert set(by_id) == {first, second}
    entry = by_id[first]
    assert entry["function"] == "job"
    assert entry["condition"] == "RetriesExhausted"
    assert entry["errorCode"] == "200"
    assert entry["errorMessage"] == "ValueError: always fails: {'item': 1}"
    assert entry["approximateInvokeCount"] == 1

    # `kappa dlq list` and `show`: the table, then the event alone (Lambda's DLQ body).
    listing = kappa_dlq(gateway, "list")
    assert listing.returncode == 0, listing.stderr
    assert first in listing.stdout
    assert "RetriesExhausted" in listing.stdout
    shown = kappa_dlq(gateway, "show", str(entry["sequence"]))
    assert json.loads(shown.stdout)["payload"] == {"item": 1}

    # The function is fixed (now it succeeds); redrive one entry by its sequence.
    fixed = function_entry("job", [start_agent("asyncfns.ok", name="job")])
    gateway.set_functions([fixed])
    gateway.reader.wait_for("registry reloaded")
    redriven = kappa_dlq(gateway, "redrive", str(entry["sequence"]))
    assert redriven.returncode == 0, redriven.stderr
    [again] = json.loads(redriven.stdout)["redriven"]
    assert again["requestId"] not in {first, second}  # a new invocation
    ran = [c for c in calls("job", 3) if c["requestId"] == again["requestId"]]
    assert [c["event"] for c in ran] == [{"item": 1}]
    remaining = json.loads(gateway.request("GET", DLQ.format("default")).body)["deadLetters"]
    assert [e["requestId"] for e in remaining] == [second]

    # Another namespace sees none of them; an unknown entry is a 404; delete removes it.
    assert json.loads(gateway.request("GET", DLQ.format("other")).body)["deadLetters"] == []
    missing = kappa_dlq(gateway, "show", "99999")
    assert missing.returncode == 1
    assert "404 ResourceNotFoundException" in missing.stderr
    deleted = gateway.request("DELETE", f"{DLQ.format('default')}/{remaining[0]['sequence']}")
    assert deleted.status == 204
    assert json.loads(gateway.request("GET", DLQ.format("default")).body)["deadLetters"] == []


def test_redrive_of_a_whole_function_and_bad_requests(
    start_agent: StartFunctionAgent, async_gateway: StartAsyncGateway,
    lambda_client: LambdaClient, calls: Calls,
) -> None:  # fmt: skip
    gateway = async_gateway([
        with_async(function_entry("job", [start_agent("asyncfns.fail", name="job")]),
                   maximumRetryAttempts=0),
    ])  # fmt: skip
    client = lambda_client(gateway)
    sent = {send_event(client, "job", json.dumps({"n": n}).encode()) for n in range(3)}
    assert {e["requestId"] for e in dead_letters(gateway, 3)} == sent
    bad = gateway.request("POST", DLQ.format("default") + "/redrive", b"[]")
    assert bad.status == 400
    assert bad.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    # Namespace and function go into NATS subjects: wildcards and dots are refused, so a
    # caller allowed in one namespace cannot reach every namespace's dead letters.
    for method, path, body in (
        ("GET", DLQ.format("*"), b""),
        ("GET", DLQ.format("default") + "?function=%3E", b""),
        ("GET", DLQ.format("a.b") + "/1", b""),
        ("DELETE", DLQ.format("%3E") + "/1", b""),
        ("POST", DLQ.format("default") + "/redrive", b'{"function": "*"}'),
        # A version's dead letters are its own (job.1); a dot takes a number only.
        ("GET", DLQ.format("default") + "?function=job.%2A", b""),
        ("GET", DLQ.format("default") + "?function=job.1.2", b""),
        ("POST", DLQ.format("default") + "/redrive", b'{"function": "job.>"}'),
    ):
        hostile = gateway.request(method, path, body)
        assert hostile.status == 400, (path, hostile.body)
        assert hostile.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    version = gateway.request("GET", DLQ.format("default") + "?function=job.1", b"")
    assert (version.status, json.loads(version.body)["deadLetters"]) == (200, [])
    assert kappa_dlq(gateway, "redrive").returncode == 1  # says what to redrive
    everything = kappa_dlq(gateway, "redrive", "--function", "job")
    assert len(json.loads(everything.stdout)["redriven"]) == 3
    # Still failing: each redriven event ran once more and is dead-lettered again.
    assert len(calls("job", 6)) == 6
    assert len(dead_letters(gateway, 3)) == 3
