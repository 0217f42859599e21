import pytest

from kappa.asyncq.envelope import DeadLetter
from kappa.asyncq.progress import Final, Progress, decode, encode
from kappa.asyncq.record import RecordCondition


@pytest.mark.parametrize(
    "progress",
    [
        pytest.param(Progress(), id="none"),
        pytest.param(Progress(2), id="two-failed-invocations"),
        pytest.param(Progress(1, Final(RecordCondition.SUCCESS, {"version": "1.0"})), id="success"),
        pytest.param(
            Progress(3, Final(RecordCondition.RETRIES_EXHAUSTED, {"a": [1]},
                              DeadLetter("RetriesExhausted", "200", "boom", 3, 7))),
            id="failure-with-dead-letter",
        ),
    ],
)  # fmt: skip
def test_progress_round_trips(progress: Progress) -> None:
    assert decode(encode(progress)) == progress


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="absent"),
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="not-json"),
        pytest.param(b'{"final": {"condition": "Nope", "record": {}}}', id="unknown-condition"),
    ],
)
def test_unreadable_progress_is_no_progress(value: bytes | None) -> None:
    assert decode(value) == Progress()
