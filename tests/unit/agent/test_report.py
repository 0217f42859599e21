import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.agent.report import (
    LOG_TAIL_BYTES,
    LogTail,
    PlatformLog,
    Report,
    billed_duration_ms,
    end_line,
    iso_timestamp,
    max_memory_used_mb,
    start_line,
    timeout_message,
)


@pytest.mark.parametrize(
    ("duration_ms", "billed"),
    [
        pytest.param(0.0, 1, id="zero-bills-the-minimum"),
        pytest.param(0.004, 1, id="sub-millisecond"),
        pytest.param(1.0, 1, id="exact"),
        pytest.param(1.001, 1, id="rounds-to-shown-1.00"),
        pytest.param(1.005001, 2, id="shown-as-1.01"),
        pytest.param(1.23, 2, id="up"),
        pytest.param(2.0000000001, 2, id="float-noise"),
        pytest.param(999.5, 1000, id="large"),
    ],
)
def test_billed_duration_rounds_up_to_whole_ms(duration_ms: float, billed: int) -> None:
    assert billed_duration_ms(duration_ms) == billed


@given(st.floats(min_value=0, max_value=900_000, allow_nan=False))
def test_billed_duration_covers_the_shown_duration(duration_ms: float) -> None:
    billed = billed_duration_ms(duration_ms)
    shown = round(duration_ms, 2)
    assert billed >= shown
    assert billed - shown < 1 or billed == 1


def test_start_and_end_lines() -> None:
    assert start_line("id-1", "$LATEST") == "START RequestId: id-1 Version: $LATEST\n"
    assert end_line("id-1") == "END RequestId: id-1\n"


@pytest.mark.parametrize(
    ("report", "line"),
    [
        pytest.param(
            Report("id-1", 1.234, 128, 40),
            "REPORT RequestId: id-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 40 MB\n",
            id="warm",
        ),
        pytest.param(
            Report("id-2", 10.0, 256, 50, init_duration_ms=101.456),
            "REPORT RequestId: id-2\tDuration: 10.00 ms\tBilled Duration: 10 ms\t"
            "Memory Size: 256 MB\tMax Memory Used: 50 MB\tInit Duration: 101.46 ms\n",
            id="cold",
        ),
        pytest.param(
            Report("id-3", 3000.5, 128, 60, status="timeout"),
            "REPORT RequestId: id-3\tDuration: 3000.50 ms\tBilled Duration: 3001 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: timeout\n",
            id="timeout",
        ),
        pytest.param(
            Report("id-4", 5.0, 128, 60, status="error", error_type="Runtime.ExitError"),
            "REPORT RequestId: id-4\tDuration: 5.00 ms\tBilled Duration: 5 ms\t"
            "Memory Size: 128 MB\tMax Memory Used: 60 MB\tStatus: error\t"
            "Error Type: Runtime.ExitError\n",
            id="runtime-exit",
        ),
    ],
)
def test_report_line(report: Report, line: str) -> None:
    assert report.line() == line


def test_iso_timestamp_has_milliseconds_and_z() -> None:
    assert iso_timestamp(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_timeout_message_is_lambdas() -> None:
    assert (
        timeout_message(1_700_000_000_123, "id-9", 3.004)
        == "2023-11-14T22:13:20.123Z id-9 Task timed out after 3.00 seconds"
    )


@pytest.mark.parametrize(
    ("status", "megabytes"),
    [
        pytest.param("Name:\tpython3\nVmHWM:\t   40960 kB\nVmRSS:\t1 kB\n", 40, id="exact"),
        pytest.param("VmHWM:\t   40961 kB\n", 41, id="rounds-up"),
        pytest.param("Name:\tzombie\n", None, id="absent"),
        pytest.param("VmHWM:\tlots\n", None, id="garbled"),
        pytest.param("", None, id="empty"),
    ],
)
def test_max_memory_used_from_proc_status(status: str, megabytes: int | None) -> None:
    assert max_memory_used_mb(status) == megabytes


def test_log_tail_keeps_everything_under_the_limit() -> None:
    tail = LogTail()
    tail.append(b"START\n")
    tail.append(b"hello\n")
    assert tail.value() == b"START\nhello\n"


def test_log_tail_keeps_the_last_4_kb() -> None:
    tail = LogTail()
    for index in range(1000):
        tail.append(f"line {index:04d}\n".encode())
    value = tail.value()
    assert len(value) == LOG_TAIL_BYTES
    assert value.endswith(b"line 0999\n")
    assert b"line 0000" not in value


@given(st.lists(st.binary(max_size=3000), max_size=30), st.integers(min_value=1, max_value=64))
def test_log_tail_is_the_suffix_of_everything_written(chunks: list[bytes], limit: int) -> None:
    tail = LogTail(limit)
    for chunk in chunks:
        tail.append(chunk)
    assert tail.value() == b"".join(chunks)[-limit:]


REPORT = Report(request_id="r-1", duration_ms=101.234, memory_size_mb=512, max_memory_used_mb=60)
MS = 1_700_000_000_123


def test_text_platform_lines_are_lambdas_lines() -> None:
    log = PlatformLog()
    assert log.start("r-1", "$LATEST", MS) == start_line("r-1", "$LATEST")
    assert log.closing(REPORT, MS, None) == end_line("r-1") + REPORT.line()
    assert log.closing(REPORT, MS, "Task timed out").startswith("Task timed out\nEND RequestId")


def test_json_platform_lines_are_lambdas_records() -> None:
    log = PlatformLog(json_format=True)
    start = json.loads(log.start("r-1", "$LATEST", MS))
    assert start == {
        "time": "2023-11-14T22:13:20.123Z",
        "type": "platform.start",
        "record": {"requestId": "r-1", "version": "$LATEST"},
    }
    done, report = (json.loads(line) for line in log.closing(REPORT, MS, None).splitlines())
    assert done["type"] == "platform.runtimeDone"
    assert done["record"]["status"] == "success"
    assert report["type"] == "platform.report"
    assert report["record"]["metrics"] == {
        "durationMs": 101.23,
        "billedDurationMs": 102,
        "memorySizeMB": 512,
        "maxMemoryUsedMB": 60,
    }


@pytest.mark.parametrize(
    ("level", "status", "types"),
    [
        pytest.param("DEBUG", None, ["platform.runtimeDone", "platform.report"], id="debug"),
        pytest.param("INFO", None, ["platform.runtimeDone", "platform.report"], id="info"),
        pytest.param("WARN", None, [], id="warn: a success is not written"),
        pytest.param("WARN", "timeout", ["platform.report"], id="warn: a timeout's report is"),
    ],
)
def test_json_platform_lines_below_the_system_level_are_left_out(
    level: str, status: str | None, types: list[str]
) -> None:
    log = PlatformLog(json_format=True, system_level=level)
    closing = log.closing(replace(REPORT, status=status), MS, None)
    assert [json.loads(line)["type"] for line in closing.splitlines()] == types
    assert (log.start("r-1", "$LATEST", MS) == "") is (level == "WARN")
