import json

import pytest

from kappa.invocation.agent_readiness import (
    MAX_STATUS_BYTES,
    answer_confirms,
    routable,
    still_confirmed,
    to_probe,
)
from kappa.invocation.routing import Endpoint

ARN = "arn:aws:lambda:us-east-1:team:function:echo"


def endpoint(pod: str, *, ready: bool = False, terminating: bool = False, ip: str = "") -> Endpoint:
    return Endpoint(pod, f"{ip or pod}:8080", 1, ready, terminating)


def status(state: str = "ready", function: str = ARN) -> bytes:
    return json.dumps({"state": state, "slots": 1, "busy": 0, "function": function}).encode()


@pytest.mark.parametrize(
    ("endpoints", "confirmed", "probing", "last", "room", "expected"),
    [
        pytest.param([endpoint("a")], {}, set(), {}, 4, ["a"], id="not-ready-never-asked"),
        pytest.param([endpoint("a", ready=True)], {}, set(), {}, 4, [], id="kubelet-ready"),
        pytest.param([endpoint("a", terminating=True)], {}, set(), {}, 4, [], id="terminating"),
        pytest.param([endpoint("a")], {"a": "a:8080"}, set(), {}, 4, [], id="confirmed"),
        pytest.param(
            [endpoint("a", ip="10.0.0.2")], {"a": "a:8080"}, set(), {}, 4, ["a"],
            id="confirmed-at-another-address-asked-again",
        ),
        pytest.param([endpoint("a")], {}, {"a"}, {}, 4, [], id="probe-running"),
        pytest.param([endpoint("a")], {}, set(), {"a": 9.99}, 4, [], id="asked-too-recently"),
        pytest.param([endpoint("a")], {}, set(), {"a": 9.85}, 4, ["a"], id="interval-passed"),
        pytest.param(
            [endpoint("a"), endpoint("b"), endpoint("c")], {}, set(), {}, 2, ["a", "b"],
            id="at-most-room-in-order",
        ),
        pytest.param([endpoint("a")], {}, set(), {}, 0, [], id="no-room"),
    ],
)  # fmt: skip
def test_to_probe(
    endpoints: list[Endpoint],
    confirmed: dict[str, str],
    probing: set[str],
    last: dict[str, float],
    room: int,
    expected: list[str],
) -> None:
    chosen = to_probe(endpoints, confirmed, probing, last, 10.0, interval=0.1, room=room)
    assert [e.pod for e in chosen] == expected


@pytest.mark.parametrize(
    ("code", "body", "confirms"),
    [
        pytest.param(200, status(), True, id="ready-and-ours"),
        pytest.param(200, status(state="initializing"), False, id="still-initialising"),
        pytest.param(200, status(function=ARN.replace("echo", "other")), False, id="other-fn"),
        pytest.param(200, status(function=""), False, id="no-function-named"),
        pytest.param(503, status(), False, id="not-200"),
        pytest.param(200, b"ready", False, id="not-json"),
        pytest.param(200, b"[1]", False, id="not-an-object"),
        pytest.param(200, status() + b" " * MAX_STATUS_BYTES, False, id="too-large"),
    ],
)
def test_answer_confirms(code: int, body: bytes, confirms: bool) -> None:  # noqa: FBT001
    assert answer_confirms(code, body, ARN) is confirms


def test_an_empty_arn_confirms_nothing() -> None:
    assert not answer_confirms(200, status(function=""), "")


def test_routable_counts_confirmed_pods_ready_at_their_address_only() -> None:
    endpoints = [endpoint("a"), endpoint("b"), endpoint("c", terminating=True), endpoint("d")]
    confirmed = {"a": "a:8080", "b": "10.9.9.9:8080", "c": "c:8080"}
    result = {e.pod: (e.ready, e.terminating) for e in routable(endpoints, confirmed)}
    assert result == {
        "a": (True, False),
        "b": (False, False),  # confirmed at another address: not this pod's agent
        "c": (True, True),  # ready, but terminating still keeps calls away
        "d": (False, False),
    }


def test_still_confirmed_drops_gone_ready_and_moved_pods() -> None:
    endpoints = [endpoint("a"), endpoint("b", ready=True), endpoint("c", ip="10.0.0.3")]
    confirmed = {"a": "a:8080", "b": "b:8080", "c": "c:8080", "gone": "gone:8080"}
    assert still_confirmed(endpoints, confirmed) == {"a": "a:8080"}
