"""How a `kappa poller` process ends when it cannot run: its exit status and its one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.eventsources.conftest import sqs_mapping
from tests.integration.eventsources.harness import start_poller


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        pytest.param("KAPPA_ESM_REPORT_SECONDS", "soon", "is not a finite number", id="report"),
        pytest.param("KAPPA_ESM_METRICS_PORT", "70000", "is out of range", id="port"),
        pytest.param("KAPPA_LOG_LEVEL", "loud", "is not one of DEBUG, INFO", id="log-level"),
    ],
)
def test_a_bad_setting_is_named_on_one_line_and_the_exit_status_is_2(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    # Nothing listens at the gateway or the queue: the poller must stop before using them.
    mapping = sqs_mapping("http://127.0.0.1:9/000000000000/orders")
    poller = start_poller(tmp_path, mapping, "http://127.0.0.1:9", env={variable: value})
    assert poller.exit_status() == 2
    (line,) = poller.reader.output().splitlines()
    assert line.startswith(f"kappa poller: invalid settings: {variable}={value!r} {says}"), line


def test_a_mapping_without_a_spec_is_refused_with_status_2_and_no_traceback(
    tmp_path: Path,
) -> None:
    poller = start_poller(tmp_path, {"kind": "EventSourceMapping"}, "http://127.0.0.1:9")
    assert poller.exit_status() == 2
    output = poller.reader.output()
    assert "ERROR kappa.poller: the mapping: 2 validation errors" in output, output
    assert "Traceback" not in output
