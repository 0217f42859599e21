"""Where a poller's view of its source goes: the ``Reporter`` interface and the stdout one.

In a cluster the reporter is ``kube_status.KubeStatus`` (the mapping's status
subresource); ``kappa poller --mapping FILE`` prints JSON lines instead.
"""

import json
from typing import Protocol

from kappa.api.event_source_mapping import SourceStatus


class Reporter(Protocol):
    """Where the poller's view of the source goes."""

    async def report(self, status: SourceStatus) -> None:
        """Publish ``status``."""
        ...


class LogReporter:
    """Reports as JSON lines on stdout (``--mapping FILE`` runs: tests, benchmarks)."""

    async def report(self, status: SourceStatus) -> None:
        """Print ``status``."""
        line = status.model_dump(mode="json", by_alias=True, exclude_none=True)
        print(json.dumps({"status": line}), flush=True)  # noqa: T201 - the report is output
