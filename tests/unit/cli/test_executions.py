"""``kappa executions``' table (kappa.cli.executions.table) and its list's shape."""

from dataclasses import dataclass

import pytest

from kappa.cli.executions import table
from kappa.gateway.durable_shapes import glance_answer

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Facts:
    arn: str = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST/durable-execution/o-1/x"
    name: str = "o-1"
    function_arn: str = "arn:aws:lambda:us-east-1:team-a:function:orders:$LATEST"
    version: str = "$LATEST"
    status: str = "RUNNING"
    start_ms: int = 1_767_225_600_000
    end_ms: int | None = None
    input_payload: str | None = None
    result: str | None = None
    error: None = None
    trace_id: str | None = None
    retention_days: int = 14
    timeout_seconds: int = 3600
    current: str | None = "WAIT cool-off STARTED"
    next_wakeup_ms: int | None = 1_767_226_200_000


def test_the_list_says_where_each_execution_stands_in_utc() -> None:
    answer = glance_answer([Facts(), Facts(name="o-2", current=None, next_wakeup_ms=None)], "2")
    first, second = answer["executions"]
    assert first == {
        "name": "o-1",
        "arn": Facts.arn,
        "status": "RUNNING",
        "version": "$LATEST",
        "started": "2026-01-01T00:00:00.000+00:00",
        "ended": None,
        "current": "WAIT cool-off STARTED",
        "nextWakeUp": "2026-01-01T00:10:00.000+00:00",
    }
    assert (second["current"], second["nextWakeUp"]) == (None, None)
    assert answer["nextMarker"] == "2"


def test_the_table_has_a_row_per_execution_and_a_dash_for_what_is_not_there() -> None:
    rows = glance_answer([Facts(), Facts(name="o-2", current=None, next_wakeup_ms=None)], None)
    lines = table(rows["executions"]).splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATUS",
        "VERSION",
        "STARTED",
        "CURRENT",
        "NEXT",
        "WAKE-UP",
    ]
    assert lines[1].split() == [
        "o-1", "RUNNING", "$LATEST", "2026-01-01T00:00:00.000+00:00",
        "WAIT", "cool-off", "STARTED", "2026-01-01T00:10:00.000+00:00",
    ]  # fmt: skip
    assert lines[2].split()[4:] == ["-", "-"]
