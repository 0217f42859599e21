"""The log setup: every JSON line parses, carries the request id inside a call only."""

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import kopf
import pytest
from kopf._core.actions.loggers import LocalObjectLogger

from kappa.base import logs
from kappa.controller.main import KOPF_SUCCESS

pytestmark = pytest.mark.unit


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The process's logging set up to write JSON into a buffer; put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("kappa", "kopf", "noisy")}
    buffer = io.StringIO()
    logs.configure("INFO", "json", ("kappa", "kopf"), stream=buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_a_line_has_time_level_logger_and_message(stream: io.StringIO) -> None:
    logging.getLogger("kappa.gateway").info("listening on %s:%d", "127.0.0.1", 8000)
    [line] = lines(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "kappa.gateway"
    assert line["message"] == "listening on 127.0.0.1:8000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert datetime.fromisoformat(line["time"]).tzinfo is not None
    assert "requestId" not in line


def test_rfc3339_ms_keeps_milliseconds_in_utc() -> None:
    assert logs.rfc3339_ms(1767225600.1239) == "2026-01-01T00:00:00.123Z"


def test_inside_a_call_every_line_carries_its_request_id(stream: io.StringIO) -> None:
    log = logging.getLogger("kappa.gateway")
    log.info("before")
    with logs.serving("req-1"):
        log.warning("during")
        with logs.serving("req-2"):  # a nested call (a bisected batch)
            log.info("nested")
        log.info("after the nested one")
    log.info("after")
    assert [(line["message"], line.get("requestId")) for line in lines(stream)] == [
        ("before", None),
        ("during", "req-1"),
        ("nested", "req-2"),
        ("after the nested one", "req-1"),
        ("after", None),
    ]


def test_tasks_started_inside_a_call_carry_its_id_and_others_do_not(
    stream: io.StringIO,
) -> None:
    log = logging.getLogger("kappa.gateway")

    async def call(request_id: str) -> None:
        with logs.serving(request_id):
            await asyncio.sleep(0)
            await asyncio.create_task(_log_later(log, f"for {request_id}"))

    async def main() -> None:
        await asyncio.gather(call("a"), call("b"))
        log.info("outside")

    asyncio.run(main())
    seen = {line["message"]: line.get("requestId") for line in lines(stream)}
    assert seen == {"for a": "a", "for b": "b", "outside": None}


async def _log_later(log: logging.Logger, message: str) -> None:
    await asyncio.sleep(0)
    log.info(message)


def test_a_task_serving_from_now_keeps_its_id_to_itself(stream: io.StringIO) -> None:
    log = logging.getLogger("kappa.asyncq")

    async def event() -> None:
        logs.serving_from_now("event-1")
        log.info("in the event's task")

    async def main() -> None:
        await asyncio.create_task(event())
        log.info("the worker's loop")

    asyncio.run(main())
    seen = [(line["message"], line.get("requestId")) for line in lines(stream)]
    assert seen == [("in the event's task", "event-1"), ("the worker's loop", None)]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param('a "quoted" word, a \\ backslash', id="quotes"),
        pytest.param("first line\nsecond line\r\nthird\u2028fourth", id="newlines"),
        pytest.param("bytes that were not UTF-8: \udcff\udcfe", id="lone-surrogates"),
        pytest.param("control \x00\x1b[31m and tabs\t", id="control-characters"),
        pytest.param("résumé ✓ 漢字", id="non-ascii"),
    ],
)
def test_any_message_stays_one_valid_line(stream: io.StringIO, message: str) -> None:
    with logs.serving('req\n"odd"'):
        logging.getLogger("kappa.poller").error("%s", message, extra={"field": message})
    raw = stream.getvalue()
    assert raw.count("\n") == 1
    raw.encode("ascii")  # nothing a terminal or a log shipper could split or mangle
    [line] = lines(stream)
    assert line["requestId"] == 'req\n"odd"'
    expected = message.encode("utf-8", "backslashreplace").decode("utf-8")
    assert line["message"] == expected
    assert line["field"] == expected


def test_extra_fields_and_a_traceback_become_fields(stream: io.StringIO) -> None:
    log = logging.getLogger("kappa.controller")
    try:
        raise ValueError("boom\nsecond line")  # noqa: TRY301 - the traceback under test
    except ValueError:
        log.exception("failed", extra={"function": "team-a/echo", "attempt": 2, "obj": object()})
    [line] = lines(stream)
    assert line["function"] == "team-a/echo"
    assert line["attempt"] == 2
    assert line["obj"].startswith("<object object")
    assert "ValueError: boom\nsecond line" in line["exception"]
    assert line["level"] == "ERROR"


def test_libraries_log_warnings_only_kappa_and_kopf_their_level(stream: io.StringIO) -> None:
    logging.getLogger("noisy").info("a library's chatter")
    logging.getLogger("noisy").warning("a library's warning")
    logging.getLogger("kappa.gateway").debug("below the level")
    logging.getLogger("kopf.activities").info("kopf's own line")
    assert [line["message"] for line in lines(stream)] == [
        "a library's warning",
        "kopf's own line",
    ]


def body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "team-a", "uid": "u-1"},
    }


def test_kopf_object_lines_carry_the_object_not_its_settings(stream: io.StringIO) -> None:
    logger = LocalObjectLogger(body=kopf.Body(body("code")), settings=kopf.OperatorSettings())
    logger.warning("Handler 'configmap_changed' failed temporarily: nope")
    [line] = lines(stream)
    assert line["logger"] == "kopf.objects"
    assert line["object"] == {"apiVersion": "v1", "kind": "ConfigMap", "name": "code",
                              "uid": "u-1", "namespace": "team-a"}  # fmt: skip
    assert "settings" not in line
    assert "k8s_skip" not in line


def test_kopf_handler_successes_are_written_at_debug(stream: io.StringIO) -> None:
    objects = logging.getLogger("kopf.objects")
    demote = logs.Demote(KOPF_SUCCESS)
    objects.addFilter(demote)
    try:
        logger = LocalObjectLogger(body=kopf.Body(body("cm")), settings=kopf.OperatorSettings())
        logger.info("Handler 'configmap_changed' succeeded.")
        logger.info("Handler 'configmap_changed' succeeded with a twist.")
        logger.error("Handler 'configmap_changed' failed permanently: nope")
        assert [line["message"] for line in lines(stream)] == [
            "Handler 'configmap_changed' succeeded with a twist.",
            "Handler 'configmap_changed' failed permanently: nope",
        ]
        logging.getLogger("kopf").setLevel("DEBUG")
        logger.info("Handler 'pod_changed' succeeded.")
        last = lines(stream)[-1]
        assert (last["message"], last["level"]) == ("Handler 'pod_changed' succeeded.", "DEBUG")
    finally:
        objects.removeFilter(demote)


def test_the_operator_demotes_what_kopf_writes_on_success() -> None:
    """The pattern matches kopf's own wording (kopf/_core/actions/execution.py)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.event("configmaps", id="configmap_changed", registry=registry)
    def changed(**_: Any) -> None:
        """Never called."""

    handlers = registry._watching.get_all_handlers()  # noqa: SLF001 - kopf's wording under test
    assert [KOPF_SUCCESS.fullmatch(f"{h} succeeded.") is not None for h in handlers] == [True]


def test_text_lines_name_the_request_once(stream: io.StringIO) -> None:
    buffer = io.StringIO()
    logs.configure("INFO", "text", stream=buffer)
    log = logging.getLogger("kappa.gateway")
    with logs.serving("req-9"):
        log.info("pod unreachable")
        log.info("%s: throttled", "req-9")
    log.info("idle")
    text = buffer.getvalue().splitlines()
    assert text[0].endswith("INFO kappa.gateway: [req-9] pod unreachable")
    assert text[1].endswith("INFO kappa.gateway: req-9: throttled")
    assert text[2].endswith("INFO kappa.gateway: idle")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="xml"):
        logs.configure("INFO", "xml", stream=io.StringIO())
