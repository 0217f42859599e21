"""Lambda's platform log lines and the per-invocation log tail. Pure: values in, values out.

Lambda tools (and people) parse these lines, so they copy Lambda's format to the
character: tab-separated ``REPORT`` fields, two decimals for durations, whole
megabytes for memory, and ``Init Duration`` only on an environment's first
invocation.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

# X-Amz-Log-Result carries the last 4 KB of an invocation's log.
LOG_TAIL_BYTES: Final = 4096


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills in whole milliseconds, rounded up, at least 1.

    Rounds what the REPORT line shows (two decimals) so that ``Duration: 2.00
    ms`` never comes with ``Billed Duration: 3 ms`` from float noise.
    """
    return max(1, math.ceil(round(duration_ms, 2)))


def start_line(request_id: str, version: str) -> str:
    """``START`` as Lambda prints it when an invocation begins."""
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    """``END`` as Lambda prints it when the function has answered."""
    return f"END RequestId: {request_id}\n"


@dataclass(frozen=True, slots=True)
class Report:
    """The figures of one invocation's ``REPORT`` line.

    ``status`` and ``error_type`` are Lambda's additions for invocations that did
    not end normally (``Status: timeout``; ``Status: error`` with ``Error Type:
    Runtime.ExitError``).
    """

    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None
    error_type: str | None = None

    def line(self) -> str:
        """The ``REPORT`` line, newline included."""
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {billed_duration_ms(self.duration_ms)} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            fields.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.status is not None:
            fields.append(f"Status: {self.status}")
        if self.error_type is not None:
            fields.append(f"Error Type: {self.error_type}")
        return "\t".join(fields) + "\n"


# The system log levels (spec.loggingConfig.systemLogLevel), least severe first.
SYSTEM_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARN")


class PlatformLog:
    """The agent's START/END/REPORT lines in the Function's log format, at its system level.

    Text (Lambda's default): the lines above, every one. JSON (``loggingConfig.logFormat:
    JSON``): one object a line, as Lambda writes them, ``platform.start``,
    ``platform.runtimeDone`` (END) and ``platform.report``, each with ``time``, ``type``
    and ``record``; written only at or above ``system_level``:

    ====================  =========================================
    record                level
    ====================  =========================================
    platform.start        INFO
    platform.runtimeDone  INFO
    platform.report       INFO; WARN when the invocation timed out or its runtime crashed
    ====================  =========================================
    """

    def __init__(self, *, json_format: bool = False, system_level: str = "INFO") -> None:
        self.json_format = json_format
        self._least = SYSTEM_LOG_LEVELS.index(system_level)

    def start(self, request_id: str, version: str, epoch_ms: int) -> str:
        """The line that opens an invocation."""
        if not self.json_format:
            return start_line(request_id, version)
        return self._record("INFO", epoch_ms, "platform.start",
                            {"requestId": request_id, "version": version})  # fmt: skip

    def closing(self, report: Report, epoch_ms: int, timeout_message: str | None) -> str:
        """The lines that close an invocation: Lambda's timeout message (Text), END, REPORT."""
        if not self.json_format:
            opening = "" if timeout_message is None else timeout_message + "\n"
            return opening + end_line(report.request_id) + report.line()
        status = report.status or "success"
        metrics: dict[str, float | int] = {
            "durationMs": round(report.duration_ms, 2),
            "billedDurationMs": billed_duration_ms(report.duration_ms),
            "memorySizeMB": report.memory_size_mb,
            "maxMemoryUsedMB": report.max_memory_used_mb,
        }
        if report.init_duration_ms is not None:
            metrics["initDurationMs"] = round(report.init_duration_ms, 2)
        done: dict[str, object] = {
            "requestId": report.request_id,
            "status": status,
            "metrics": {"durationMs": metrics["durationMs"]},
        }
        if report.error_type is not None:
            done["errorType"] = report.error_type
        full: dict[str, object] = {"requestId": report.request_id, "metrics": metrics,
                                   "status": status}  # fmt: skip
        if report.error_type is not None:
            full["errorType"] = report.error_type
        return self._record("INFO", epoch_ms, "platform.runtimeDone", done) + self._record(
            "INFO" if report.status is None else "WARN", epoch_ms, "platform.report", full
        )

    def _record(self, level: str, epoch_ms: int, kind: str, record: dict[str, object]) -> str:
        if SYSTEM_LOG_LEVELS.index(level) < self._least:
            return ""
        body = {"time": iso_timestamp(epoch_ms), "type": kind, "record": record}
        return json.dumps(body, separators=(",", ":")) + "\n"


def iso_timestamp(epoch_ms: int) -> str:
    """``2024-05-01T12:00:00.123Z``: the timestamp Lambda puts in its messages."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def timeout_message(epoch_ms: int, request_id: str, elapsed_s: float) -> str:
    """Lambda's timeout message, used both as a log line and as ``errorMessage``."""
    return f"{iso_timestamp(epoch_ms)} {request_id} Task timed out after {elapsed_s:.2f} seconds"


def max_memory_used_mb(proc_status: str) -> int | None:
    """Peak resident memory (``VmHWM``) in whole MB, rounded up, from ``/proc/<pid>/status``."""
    for line in proc_status.splitlines():
        if line.startswith("VmHWM:"):
            parts = line.split()
            try:
                kilobytes = int(parts[1])
            except (IndexError, ValueError):
                return None
            return math.ceil(kilobytes / 1024)
    return None


class LogTail:
    """The last ``limit`` bytes of one invocation's log, kept as it is written.

    Appends are amortised O(1): the buffer is trimmed only once it holds twice
    the limit, so a chatty function does not copy 4 KB per line.
    """

    __slots__ = ("_buffer", "_limit")

    def __init__(self, limit: int = LOG_TAIL_BYTES) -> None:
        self._limit = limit
        self._buffer = bytearray()

    def append(self, data: bytes) -> None:
        """Add log bytes; older bytes beyond the limit are dropped."""
        self._buffer += data
        if len(self._buffer) > 2 * self._limit:
            del self._buffer[: -self._limit]

    def value(self) -> bytes:
        """The kept bytes: at most ``limit``, the newest."""
        return bytes(self._buffer[-self._limit :])
