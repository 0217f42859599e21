"""The schedule source: real pollers firing a real handler through the real gateway."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.eventsources.harness import Poller, read_jsonl, start_poller
from tests.integration.gateway.gateway_harness import Gateway, function_entry
from tests.integration.waiting import wait_until


@pytest.fixture
def ticker(start_agent: Any, start_gateway: Any) -> Gateway:
    agent = start_agent("esm_fns.scheduled", name="ticker")
    return start_gateway([function_entry("ticker", [agent], handler="esm_fns.scheduled")])


def _mapping(**schedule: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "EventSourceMapping",
        "metadata": {"name": "tick", "namespace": "default"},
        "spec": {"functionRef": {"name": "ticker"}, "schedule": schedule},
    }


def _fires(task_root: Path) -> list[dict[str, Any]]:
    return [entry["event"] for entry in read_jsonl(task_root / "scheduled.jsonl")]


def test_fires_scheduled_events_and_never_twice_across_a_restart(
    ticker: Gateway,
    pollers: Callable[..., Poller],
    task_root: Path,
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    mapping = _mapping(cron="*/2 * * * * *")
    first = pollers(mapping, ticker, state=state)
    wait_until(lambda: len(_fires(task_root)) >= 2, 30, "two fires")
    first.kill()  # no goodbye: the state file is all the next poller has
    saved = json.loads(state.read_text())["lastFire"]
    pollers(mapping, ticker, state=state)
    wait_until(lambda: len(_fires(task_root)) >= 5, 30, "three more fires")
    events = _fires(task_root)
    times = [e["time"] for e in events]
    assert len(times) == len(set(times)), f"a fire time ran twice: {times}"
    assert times == sorted(times)
    event = events[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:default:rule/tick"]
    assert len({e["id"] for e in events}) == len(events)
    # The restarted poller went on after the last fire the first one saved.
    saved_time = datetime.fromisoformat(saved).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert saved_time in times
    assert any(t > saved_time for t in times)


def test_the_payload_is_the_event(
    ticker: Gateway, pollers: Callable[..., Poller], task_root: Path
) -> None:
    pollers(_mapping(cron="* * * * * *", payload='{"job": "cleanup", "n": [1, 2]}'), ticker)
    wait_until(lambda: _fires(task_root), 30, "a fire")
    assert _fires(task_root)[0] == {"job": "cleanup", "n": [1, 2]}


def test_an_error_no_part_handles_ends_the_process_with_status_1(
    ticker: Gateway, task_root: Path, tmp_path: Path
) -> None:
    """A real fault: the state file's directory is a regular file, so saving the first fire
    time fails (NotADirectoryError) inside the runner's fetch, an error no source turns into
    a SourceError. The process exits 1 (Kubernetes restarts it) with the mapping named at
    ERROR; nothing answers /healthz any more."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    # Started without the `pollers` fixture: its check that no traceback was logged is
    # wrong here, the error's traceback is what the log must hold.
    poller = start_poller(
        tmp_path, _mapping(cron="* * * * * *"), ticker.url, state=blocker / "state.json"
    )
    assert poller.exit_status() == 1
    output = poller.reader.output()
    assert "ERROR kappa.poller: mapping default/tick: the poller failed" in output, output
    assert "NotADirectoryError" in output
    assert not _fires(task_root)  # the fire was not sent: its time could not be kept
    with pytest.raises(OSError, match="Connection refused"):
        poller.healthz()
