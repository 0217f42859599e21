"""Durable handlers on the real SDK (aws-durable-execution-sdk-python 3.0.0), run by awslambdaric.

Each run of a step (and each invocation) leaves one file in ``DURABLE_EFFECTS_DIR``, named
``<kind>.<random>``: the tests count them to see what ran and how often.
"""

import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import (
    Duration,
    JitterStrategy,
    StepConfig,
    WaitForCallbackConfig,
)
from aws_durable_execution_sdk_python.exceptions import CallbackTimeoutError
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.types import WaitForConditionCheckContext
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig, WaitForConditionDecision

EFFECTS = Path(os.environ["DURABLE_EFFECTS_DIR"])
FLAKY_ITEM = 7  # the item of ``squares`` whose first attempt fails


def record(kind: str) -> None:
    """One file for one run of ``kind``."""
    (EFFECTS / f"{kind}.{uuid.uuid4().hex}").touch()


def recorded(kind: str, result: str) -> Callable[[StepContext], str]:
    def run(_step: StepContext) -> str:
        record(kind)
        return result

    return run


@durable_execution
def order(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """The issue's handler: three steps, a wait, a callback."""
    record("invocation")
    steps = [
        context.step(recorded("reserve", "reserved"), name="reserve"),
        context.step(recorded("charge", "charged"), name="charge"),
        context.step(recorded("ship", "shipped"), name="ship"),
    ]
    context.wait(Duration.from_seconds(event["wait"]), name="cool-off")
    approval = context.wait_for_callback(lambda _id, _ctx: record("submit"), name="approval")
    return {"order": event["order"], "steps": steps, "approval": approval}


def square(context: DurableContext, item: int, _index: int, _items: Sequence[int]) -> int:
    def run(_step: StepContext) -> int:
        record(f"item-{item}")
        failed_once = EFFECTS / "flaky-failed"
        if item == FLAKY_ITEM and not failed_once.exists():
            failed_once.touch()
            raise RuntimeError(f"item {item} fails on its first attempt")
        return item * item

    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    return context.step(run, name=f"square-{item}", config=StepConfig(retry_strategy=retry))


@durable_execution
def squares(event: dict[str, Any], context: DurableContext) -> list[int]:
    """``map`` over ``count`` items, one of which fails once and is retried."""
    record("invocation")
    return context.map(list(range(event["count"])), square, name="squares").get_results()


@durable_execution
def greet(event: dict[str, Any], context: DurableContext) -> dict[str, str]:
    """A short execution: one step."""
    loud = context.step(lambda _step: str(event["name"]).upper(), name="upper")
    return {"hello": loud}


@durable_execution
def refuse(event: dict[str, Any], context: DurableContext) -> None:
    """An execution that fails: the handler raises."""
    del context
    raise ValueError(f"no order {event['order']}")


def tenfold(n: int) -> Callable[[DurableContext], int]:
    def branch(context: DurableContext) -> int:
        return context.step(recorded_value(f"branch-{n}", n * 10), name=f"branch-{n}")

    return branch


def recorded_value(kind: str, value: Any) -> Callable[[StepContext], Any]:
    def run(_step: StepContext) -> Any:
        record(kind)
        return value

    return run


def poll(state: int, _context: WaitForConditionCheckContext) -> int:
    record("poll")
    return state + 1


def until_three(state: int, _attempts: int) -> WaitForConditionDecision:
    if state >= 3:
        return WaitForConditionDecision.stop_polling()
    return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))


def large(context: DurableContext) -> str:
    # Over the SDK's 256 KiB checkpoint limit for a context's result: the CONTEXT is
    # checkpointed with ReplayChildren and its children are replayed to rebuild it.
    return str(context.step(recorded_value("large-part", "x" * 300_000), name="large-part"))


@durable_execution
def primitives(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """``parallel``, ``wait_for_condition`` and a child context with a large result."""
    del event
    record("invocation")
    branches = context.parallel([tenfold(n) for n in range(3)], name="fan").get_results()
    config = WaitForConditionConfig(wait_strategy=until_three, initial_state=0)
    polled = context.wait_for_condition(poll, config, name="poll")
    text = context.run_in_child_context(large, name="large")
    context.wait(Duration.from_seconds(1), name="then-replay")
    return {"branches": branches, "polled": polled, "large": len(text)}


def held(_step: StepContext) -> str:
    """Runs until the test creates ``gate`` (or the pod is killed first)."""
    record("held")
    while not (EFFECTS / "gate").exists():
        time.sleep(0.05)
    return "released"


@durable_execution
def gated(event: dict[str, Any], context: DurableContext) -> list[str]:
    """A step, then a step the test holds while it kills the pod."""
    del event
    record("invocation")
    return [
        context.step(recorded("before", "done"), name="before"),
        context.step(held, name="held"),
    ]


@durable_execution
def deadline(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """A callback with a timeout and a heartbeat timeout (seconds, from the event)."""
    config = WaitForCallbackConfig(
        timeout=Duration.from_seconds(event["timeout"]),
        heartbeat_timeout=Duration.from_seconds(event["heartbeat"]),
    )
    try:
        answer = context.wait_for_callback(lambda _id, _ctx: None, name="answer", config=config)
    except CallbackTimeoutError as error:
        return {"timedOut": str(error)}
    return {"answer": answer}
