from datetime import UTC, datetime

from kappa.eventsources.runner import RunnerStatus
from kappa.eventsources.source import SourceCredentialsError, SourceUnreachableError
from kappa.eventsources.source_status import source_status

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_an_open_error_before_the_runner_runs_reports_disconnected() -> None:
    status = source_status(None, SourceCredentialsError("refused"), None, NOW)
    assert status.connected is False
    assert (status.reason, status.message) == ("CredentialsRejected", "refused")
    assert status.last_processing_result is None
    assert status.records_processed is None
    assert status.last_poll_time == NOW


def test_the_runners_view_is_reported() -> None:
    runner = RunnerStatus(last_result="OK", records_processed=3)
    status = source_status(runner, None, 5, NOW)
    assert (status.connected, status.backlog, status.records_processed) == (True, 5, 3)
    assert status.last_processing_result == "OK"


def test_the_runners_source_error_and_a_missing_function_are_reported() -> None:
    runner = RunnerStatus(function_missing=True, source_error=SourceUnreachableError("down"))
    status = source_status(runner, None, None, NOW)
    assert status.connected is False
    assert status.message == "down"
    assert status.last_processing_result == "PROBLEM: Function not found"
