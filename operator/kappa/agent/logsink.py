r"""The agent's stdout, where runtime output, Lambda's platform lines and the agent's lines meet.

Everything goes to one stream in the order it happened, as in a Lambda log
stream; ``kubectl logs -l kappa.dev/function=NAME`` shows it. The agent's own
lines take the shape awslambdaric gives log records (``[LEVEL]\t<time>\t<request
id>\t<message>``), so the request id is always in the same column.
"""

from typing import BinaryIO

from kappa.agent.report import iso_timestamp
from kappa.base.clock import Clock


class LogSink:
    """Writes whole lines or raw runtime output, flushed at once (a pod log is read live)."""

    def __init__(self, stream: BinaryIO, clock: Clock) -> None:
        self._stream = stream
        self._clock = clock

    def raw(self, data: bytes) -> None:
        """Runtime output, as the runtime wrote it."""
        self._stream.write(data)
        self._stream.flush()

    def text(self, text: str) -> None:
        """A platform line such as ``START``/``END``/``REPORT`` (newline included)."""
        self.raw(text.encode())

    def log(self, level: str, message: str, request_id: str = "-") -> None:
        """One of the agent's own lines."""
        when = iso_timestamp(self._clock.wall_ms())
        self.text(f"[{level}]\t{when}\t{request_id}\tkappa-agent: {message}\n")
