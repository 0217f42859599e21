"""The runner's semantics with an in-memory source, invoker and clock (no broker, no sockets)."""

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from kappa.api.filters import parse_all
from kappa.eventsources.batching import BatchPolicy
from kappa.eventsources.outcome import InvokeResult, RetryPolicy
from kappa.eventsources.runner import Runner, RunnerConfig
from kappa.eventsources.source import EventContext, Failure, Record, default_filter_view
from tests.unit.eventsources.fake_clock import FakeClock
from tests.unit.eventsources.records import ids, record

CONTEXT = EventContext("arn:src", "us-east-1", "arn:aws:lambda:us-east-1:ns:function:fn", None)


@dataclass
class FakeSource:
    ordered: bool = False
    waiting: list[Record] = field(default_factory=list)
    acked: list[Record] = field(default_factory=list)
    released: list[Record] = field(default_factory=list)
    event_source_arn: str = "arn:src"

    async def fetch(self, max_records: int, wait_seconds: float) -> list[Record]:  # noqa: ARG002
        got, self.waiting = self.waiting[:max_records], self.waiting[max_records:]
        return got

    async def ack(self, records: Sequence[Record]) -> None:
        self.acked.extend(records)

    async def release(self, records: Sequence[Record]) -> None:
        self.released.extend(records)
        # Redelivered with one more delivery counted, at the front (ordered sources).
        self.waiting[:0] = [
            Record(r.id, r.key, r.body, r.timestamp_ms, r.attempt + 1) for r in records
        ]

    async def backlog(self) -> int | None:
        return len(self.waiting)

    async def close(self) -> None:
        return None


@dataclass
class FakeInvoker:
    answer: Callable[[list[str]], InvokeResult]
    calls: list[list[str]] = field(default_factory=list)
    async_calls: list[tuple[str, Any]] = field(default_factory=list)

    async def invoke(
        self, namespace: str, name: str, event: object, *, asynchronous: bool = False
    ) -> InvokeResult:
        assert namespace == "ns"
        if asynchronous:
            self.async_calls.append((name, event))
            return InvokeResult(202)
        assert isinstance(event, dict)
        batch = [r["id"] for r in event["records"]]
        self.calls.append(batch)
        return self.answer(batch)


@dataclass
class FakeDestination:
    delivered: list[tuple[list[str], Failure]] = field(default_factory=list)

    async def deliver(self, records: Sequence[Record], failure: Failure) -> None:
        self.delivered.append((ids(list(records)), failure))

    async def close(self) -> None:
        return None


def _shape(records: Sequence[Record], context: EventContext) -> dict[str, object]:
    return {"records": [{"id": r.id, "body": r.body.decode()} for r in records]}


def _run(
    source: FakeSource,
    invoker: FakeInvoker,
    *,
    cycles: int = 1,
    destination: FakeDestination | None = None,
    **config: Any,
) -> Runner:
    options: dict[str, Any] = {"batch": BatchPolicy(10), **config}
    runner = Runner(
        source,
        shape=_shape,
        filter_view=default_filter_view,
        context=CONTEXT,
        invoker=invoker,
        config=RunnerConfig(namespace="ns", function_name="fn", **options),
        clock=FakeClock(),
        destination=destination,
    )

    async def go() -> None:
        for _ in range(cycles):
            await runner.cycle()

    asyncio.run(go())
    return runner


def _ok(_: list[str]) -> InvokeResult:
    return InvokeResult(200, b"{}")


def _failing(*bad: str) -> Callable[[list[str]], InvokeResult]:
    def answer(batch: list[str]) -> InvokeResult:
        if any(b in batch for b in bad):
            return InvokeResult(200, b'{"errorType": "E"}', function_error="Unhandled")
        return InvokeResult(200, b"{}")

    return answer


def _reporting(*bad: str) -> Callable[[list[str]], InvokeResult]:
    def answer(batch: list[str]) -> InvokeResult:
        failures = [{"itemIdentifier": b} for b in bad if b in batch]
        return InvokeResult(200, json.dumps({"batchItemFailures": failures}).encode())

    return answer


def test_a_batch_is_acked_after_success() -> None:
    source = FakeSource(waiting=[record(i) for i in range(3)])
    runner = _run(source, FakeInvoker(_ok))
    assert ids(source.acked) == ["m0", "m1", "m2"]
    assert runner.status.records_processed == 3
    assert runner.status.last_result == "OK"


def test_batch_size_caps_a_batch() -> None:
    source = FakeSource(waiting=[record(i) for i in range(7)])
    invoker = FakeInvoker(_ok)
    _run(source, invoker, cycles=3, batch=BatchPolicy(3))
    assert invoker.calls == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]


def test_reported_failures_are_released_and_the_rest_acked() -> None:
    source = FakeSource(waiting=[record(i) for i in range(3)])
    _run(source, FakeInvoker(_reporting("m1")), reports_item_failures=True)
    assert ids(source.acked) == ["m0", "m2"]
    assert ids(source.released) == ["m1"]


def test_retries_exhausted_go_to_the_failure_destination_then_are_acked() -> None:
    source = FakeSource(waiting=[record(0), record(1)])
    destination = FakeDestination()
    _run(
        source,
        FakeInvoker(_reporting("m1")),
        cycles=3,
        destination=destination,
        reports_item_failures=True,
        retry=RetryPolicy(maximum_retry_attempts=1),
    )
    # First try and one retry, then the destination.
    assert [d[0] for d in destination.delivered] == [["m1"]]
    failure = destination.delivered[0][1]
    assert failure.condition == "RetryAttemptsExhausted"
    assert failure.approximate_invoke_count == 2
    assert ids(source.acked) == ["m0", "m1"]
    assert source.waiting == []


def test_a_function_destination_gets_an_invocation_record() -> None:
    source = FakeSource(waiting=[record(0)])
    invoker = FakeInvoker(_failing("m0"))
    _run(
        source,
        invoker,
        retry=RetryPolicy(maximum_retry_attempts=0),
        failure_function="dlq",
    )
    ((name, event),) = invoker.async_calls
    assert name == "dlq"
    assert event["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert event["responseContext"]["functionError"] == "Unhandled"
    assert event["requestPayload"] == {"records": [{"id": "m0", "body": "xxxx"}]}
    assert ids(source.acked) == ["m0"]


def test_old_records_skip_the_function() -> None:
    source = FakeSource(waiting=[record(0, timestamp_ms=0), record(1, timestamp_ms=999_000)])
    destination = FakeDestination()
    invoker = FakeInvoker(_ok)
    _run(
        source,
        invoker,
        destination=destination,
        retry=RetryPolicy(maximum_record_age_seconds=60),
    )
    assert destination.delivered[0][0] == ["m0"]
    assert destination.delivered[0][1].condition == "MaximumRecordAgeExceeded"
    assert invoker.calls == [["m1"]]


def test_filtered_out_records_are_acked_without_an_invocation() -> None:
    records = [
        Record("a", "", b'{"kind": "order"}', 0),
        Record("b", "", b'{"kind": "refund"}', 0),
    ]
    source = FakeSource(waiting=records)
    invoker = FakeInvoker(_ok)
    runner = _run(source, invoker, patterns=parse_all(['{"body": {"kind": ["order"]}}']))
    assert invoker.calls == [["a"]]
    assert ids(source.acked) == ["b", "a"]
    assert runner.status.records_filtered == 1


def test_bisect_isolates_the_bad_record_of_an_ordered_batch() -> None:
    source = FakeSource(ordered=True, waiting=[record(i, "p0") for i in range(4)])
    invoker = FakeInvoker(_failing("m2"))
    _run(source, invoker, bisect=True, retry=RetryPolicy(maximum_retry_attempts=0))
    assert invoker.calls == [["m0", "m1", "m2", "m3"], ["m0", "m1"], ["m2", "m3"], ["m2"]]
    # m3 comes after the bad m2 of its partition: released untried, to keep the order.
    assert ids(source.acked) == ["m0", "m1", "m2"]
    assert ids(source.released) == ["m3"]


def test_ordered_partial_failure_checkpoints_at_the_lowest_failed_per_key() -> None:
    waiting = [record(0, "a"), record(1, "b"), record(2, "a"), record(3, "b")]
    source = FakeSource(ordered=True, waiting=waiting)
    _run(source, FakeInvoker(_reporting("m0")), reports_item_failures=True)
    assert ids(source.acked) == ["m1", "m3"]
    assert ids(source.released) == ["m0", "m2"]


@pytest.mark.parametrize("status", [429, 404, 502, 0])
def test_not_invoked_releases_the_batch_and_backs_off(status: int) -> None:
    source = FakeSource(waiting=[record(0)])
    runner = _run(source, FakeInvoker(lambda _: InvokeResult(status)))
    assert ids(source.released) == ["m0"]
    assert source.acked == []
    assert runner.status.function_missing is (status == 404)


def test_a_batch_too_large_is_split_and_a_single_record_goes_to_the_destination() -> None:
    source = FakeSource(waiting=[record(0), record(1, size=10), record(2)])
    destination = FakeDestination()

    def answer(batch: list[str]) -> InvokeResult:
        return InvokeResult(413) if "m1" in batch else InvokeResult(200, b"{}")

    invoker = FakeInvoker(answer)
    _run(source, invoker, destination=destination)
    assert invoker.calls == [["m0", "m1", "m2"], ["m0", "m1"], ["m0"], ["m1"], ["m2"]]
    assert destination.delivered[0][0] == ["m1"]
    assert destination.delivered[0][1].condition == "PayloadTooLarge"
    assert sorted(ids(source.acked)) == ["m0", "m1", "m2"]
