"""The one log setup of the operator, the gateway and the pollers: text or JSON lines.

``configure`` gives the root logger one handler on stderr: Kappa's loggers (and the
ones a process names, kopf's for the operator) at the chosen level, every other
library at WARNING, so that a hostile caller cannot make aiohttp or a broker client
flood the log. In ``json`` format each record is one line holding one JSON object::

    {"time": "2026-12-03T20:34:55.123Z", "level": "INFO", "logger": "kappa.gateway",
     "message": "...", "requestId": "...", ...fields}

``time`` is RFC 3339 in UTC with milliseconds; ``requestId`` is there while the process
serves a call (:func:`serving`, a context variable the gateway, its async workers and
the pollers set around a call), absent otherwise; the fields are a record's ``extra``
values, kopf's object reference as ``object``, and a traceback as ``exception``. The
line is ASCII (``json.dumps`` escapes the rest), so newlines, quotes and text that is
not valid Unicode in a message never break it.
"""

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, TextIO

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_TEXT_WITH_REQUEST: Final = "%(asctime)s %(levelname)s %(name)s: [%(requestId)s] %(message)s"


class LogFormat(StrEnum):
    """How a process writes its log lines (``KAPPA_LOG_FORMAT``, chart ``logging.format``)."""

    TEXT = "text"
    JSON = "json"


LOG_FORMATS: Final = tuple(f.value for f in LogFormat)

_request_id: ContextVar[str | None] = ContextVar("kappa_request_id", default=None)


@contextlib.contextmanager
def serving(request_id: str | None) -> Iterator[None]:
    """Every record logged inside (tasks started inside included) carries ``request_id``."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def serving_from_now(request_id: str | None) -> None:
    """This task serves ``request_id`` from here to its end (a task of its own per call).

    The task's context ends with it, so nothing leaks to the next call; a coroutine
    not run as a task of its own uses :func:`serving`.
    """
    _request_id.set(request_id)


def current_request_id() -> str | None:
    """The request id of the call being served here, if any."""
    return _request_id.get()


# What every LogRecord has; the rest of its attributes are a caller's `extra` fields.
_RECORD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "requestId",
    "taskName",
}
# kopf's: its settings object and whether to post an event say nothing to a reader.
_KOPF_INTERNAL: Final = frozenset({"settings", "k8s_skip"})


def _clean(text: str) -> str:
    """``text`` as valid Unicode: what is not (lone surrogates) written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _value(value: object) -> object:
    if isinstance(value, str):
        return _clean(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {_clean(str(k)): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return _clean(str(value))


def rfc3339_ms(created: float) -> str:
    """``created`` (seconds since the epoch) as ``2026-12-03T20:34:55.123Z``."""
    stamp = datetime.fromtimestamp(created, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One record, one line, one JSON object (see the module's docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's JSON line, without the newline."""
        document: dict[str, object] = {
            "time": rfc3339_ms(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": _clean(record.getMessage()),
        }
        request_id = getattr(record, "requestId", None)
        if request_id is not None:
            document["requestId"] = _clean(str(request_id))
        for key, value in record.__dict__.items():
            if key in _RECORD_ATTRIBUTES or key in _KOPF_INTERNAL or key in document:
                continue
            document["object" if key == "k8s_ref" else key] = _value(value)
        if record.exc_info:
            document["exception"] = _clean(self.formatException(record.exc_info))
        if record.stack_info:
            document["stack"] = _clean(self.formatStack(record.stack_info))
        return json.dumps(document, ensure_ascii=True, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Kappa's text lines.

    The request id in brackets while serving a call (unless the message names it
    already), kopf's object as ``[namespace/name]``.
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._with_request = logging.Formatter(_TEXT_WITH_REQUEST)

    def format(self, record: logging.LogRecord) -> str:
        """The record's text line."""
        ref = getattr(record, "k8s_ref", None)
        if isinstance(ref, dict) and ref.get("name"):
            where = "/".join(str(p) for p in (ref.get("namespace"), ref["name"]) if p)
            record = logging.makeLogRecord({**record.__dict__, "msg": f"[{where}] {record.msg}"})
        request_id = getattr(record, "requestId", None)
        if request_id is not None and str(request_id) not in record.getMessage():
            return self._with_request.format(record)
        return super().format(record)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id being served (``requestId``), if any.

    On the handler: records are handled in the context that logged them, so the
    context variable is the caller's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: it only adds the attribute."""
        if getattr(record, "requestId", None) is None:
            record.requestId = _request_id.get()
        return True


class Demote(logging.Filter):
    """Writes INFO records whose whole message matches ``pattern`` at DEBUG instead.

    For lines a library logs at INFO once per event of a busy cluster (kopf's
    "Handler 'x' succeeded." for every event of every watched object): kept for
    DEBUG, gone otherwise. Put on the logger that emits them.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        super().__init__()
        self._pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        """False unless the record may go on (at DEBUG when its message matches)."""
        if record.levelno != logging.INFO or not self._pattern.fullmatch(record.getMessage()):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def configure(
    level: str,
    log_format: str,
    loggers: Iterable[str] = ("kappa",),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Set up this process's logging; the handler it installed.

    ``loggers`` (and their children) log at ``level``, everything else at WARNING
    or above; lines go to ``stream`` (stderr).
    """
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(
        JsonFormatter() if LogFormat(log_format) is LogFormat.JSON else TextFormatter()
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in loggers:
        logging.getLogger(name).setLevel(level)
    return handler
