"""``status.source`` from what the poller knows: the runner's status, an open error, the backlog.

Pure: the time of the report is an argument.
"""

from datetime import datetime

from kappa.api.event_source_mapping import SourceStatus
from kappa.eventsources.runner import RunnerStatus
from kappa.eventsources.source import SourceError


def source_status(
    runner: RunnerStatus | None,
    error: SourceError | None,
    backlog: int | None,
    now: datetime,
) -> SourceStatus:
    """The report at ``now``: connected unless ``error`` or the runner's source error says not."""
    problem = error or (None if runner is None else runner.source_error)
    last: str | None
    if runner is not None and runner.function_missing:
        last = "PROBLEM: Function not found"
    else:
        last = None if runner is None else runner.last_result
    return SourceStatus(
        connected=problem is None,
        reason=None if problem is None else problem.reason,
        message=None if problem is None else str(problem),
        backlog=backlog,
        last_processing_result=last,
        last_poll_time=now,
        records_processed=None if runner is None else runner.records_processed,
    )
