"""The durable service's request reading: hostile input is Lambda's 4xx before any state is read.

The store under the service here is never reached (it has no connection): every case
is refused before it would be, which is the point (the token and the id are verified
before anything is read).
"""

import asyncio
import base64
from collections.abc import Coroutine
from typing import Any, cast

import pytest

from kappa.durable import decider
from kappa.durable.fields import FieldError
from kappa.durable.service import (
    DurableService,
    callback_outcome,
    list_filter,
    query_flag,
    query_integer,
)
from kappa.durable.settings import DurableSettings
from kappa.durable.store import DurableStore
from kappa.durable.tokens import (
    INVALID_CHECKPOINT_TOKEN,
    CallbackTarget,
    DurableKeys,
    callback_id,
)
from kappa.invocation.errors import GatewayError

pytestmark = pytest.mark.unit

KEYS = DurableKeys(b"k" * 32)
ARN = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST/durable-execution/o-1/ex-1"


def service() -> DurableService:
    store = DurableStore(cast("Any", None), DurableSettings())  # never reached
    return DurableService(store, KEYS, region="us-east-1", clock=lambda: 0)


def refusal(call: Coroutine[Any, Any, Any]) -> tuple[int, str, str]:
    with pytest.raises(GatewayError) as caught:
        asyncio.run(call)
    status, headers, body = caught.value.render()
    text = body.decode()
    return status, dict(headers)["x-amzn-ErrorType"], text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"CheckpointToken": "AAAA"}, INVALID_CHECKPOINT_TOKEN),
        ({"CheckpointToken": None}, INVALID_CHECKPOINT_TOKEN),
        ({"CheckpointToken": 7}, INVALID_CHECKPOINT_TOKEN),
        ({"CheckpointToken": base64.b64encode(bytes(41)).decode()}, INVALID_CHECKPOINT_TOKEN),
        ({"CheckpointToken": "A" * 5000}, INVALID_CHECKPOINT_TOKEN),
    ],
)
def test_a_bad_checkpoint_token_is_the_message_the_sdk_retries_on(
    body: dict[str, Any], message: str
) -> None:
    status, kind, text = refusal(service().checkpoint(ARN, body))
    assert (status, kind) == (400, "InvalidParameterValueException")
    assert f'"{message}"' in text


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:team-a:function:orders",
        "arn:aws:lambda:us-east-1:Team_A:function:orders:$LATEST/durable-execution/o/e",
        "x" * 2000,
        "",
    ],
)
def test_a_bad_arn_is_400_naming_the_field(arn: str) -> None:
    status, kind, text = refusal(service().checkpoint(arn, {"CheckpointToken": "AAAA"}))
    assert (status, kind) == (400, "InvalidParameterValueException")
    assert "DurableExecutionArn" in text
    status, _, text = refusal(service().get(arn, {}))
    assert status == 400
    assert "DurableExecutionArn" in text


def test_state_with_a_bad_token_is_refused_before_reading() -> None:
    status, _, text = refusal(service().state(ARN, {"CheckpointToken": "AAAA"}))
    assert (status, INVALID_CHECKPOINT_TOKEN in text) == (400, True)


def test_a_tampered_or_foreign_callback_id_is_not_found() -> None:
    target = CallbackTarget("team-a", "orders", "o-1", "op-1")
    good = callback_id(KEYS, target)
    assert service().callback_function(good) == ("team-a", "orders")
    raw = bytearray(base64.b64decode(good))
    raw[3] ^= 1
    for value in (
        base64.b64encode(bytes(raw)).decode(),
        callback_id(DurableKeys(b"o" * 32), target),
        "not base64!",
        "A" * 5000,
    ):
        with pytest.raises(GatewayError) as caught:
            service().callback_function(value)
        assert caught.value.status == 404


@pytest.mark.parametrize(
    ("query", "low", "high", "expected"),
    [({}, 0, 10, None), ({"M": "0"}, 0, 10, 0), ({"M": "10"}, 0, 10, 10)],
)
def test_query_integer_reads_bounded_whole_numbers(
    query: dict[str, str], low: int, high: int, expected: int | None
) -> None:
    assert query_integer(query, "M", low, high) == expected


@pytest.mark.parametrize("value", ["11", "-1", "1.5", "", "1e3", "9" * 40, " 1"])
def test_query_integer_refuses_the_rest(value: str) -> None:
    with pytest.raises(FieldError, match=r"^M "):
        query_integer({"M": value}, "M", 0, 10)


def test_query_flag() -> None:
    assert query_flag({}, "F") is False
    assert query_flag({"F": "true"}, "F") is True
    with pytest.raises(FieldError):
        query_flag({"F": "yes"}, "F")


def test_list_filter_reads_repeated_statuses_and_iso_times() -> None:
    wanted = list_filter(
        [
            ("Statuses", "RUNNING"),
            ("Statuses", "FAILED"),
            ("StartedAfter", "2024-01-01T00:00:00Z"),
            ("ReverseOrder", "true"),
            ("Qualifier", "$LATEST"),
        ]
    )
    assert wanted.statuses == {"RUNNING", "FAILED"}
    assert wanted.started_after_ms == 1_704_067_200_000
    assert wanted.reverse is True
    assert wanted.version == "$LATEST"


@pytest.mark.parametrize(
    "query",
    [
        [("Statuses", "DONE")],
        [("Statuses", "RUNNING")] * 9,
        [("StartedBefore", "yesterday")],
        [("StartedBefore", "2" * 100)],
        [("DurableExecutionName", "no spaces")],
        [("Qualifier", "a b")],
    ],
)
def test_list_filter_refuses_what_the_model_does(query: list[tuple[str, str]]) -> None:
    with pytest.raises(FieldError):
        list_filter(query)


def test_callback_outcomes_from_their_bodies() -> None:
    assert callback_outcome("succeed", b'"ok"') == decider.CallbackSuccess('"ok"')
    assert callback_outcome("succeed", b"") == decider.CallbackSuccess(None)
    assert callback_outcome("heartbeat", b"") == decider.CallbackHeartbeat()
    failed = callback_outcome("fail", b'{"ErrorMessage": "no", "ErrorType": "Denied"}')
    assert isinstance(failed, decider.CallbackFailure)
    assert failed.error is not None
    assert (failed.error.message, failed.error.type) == ("no", "Denied")


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("succeed", b"\xff\xfe"),
        ("fail", b"{not json"),
        ("fail", b"[1]"),
        ("fail", b'{"ErrorMessage": 7}'),
        ("fail", b'{"StackTrace": "one"}'),
    ],
)
def test_callback_bodies_that_are_not_the_models_are_400(kind: str, body: bytes) -> None:
    with pytest.raises(GatewayError) as caught:
        callback_outcome(kind, body)
    assert caught.value.status == 400
