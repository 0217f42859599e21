import pytest

from kappa.eventsources.redis_streams import start_id


@pytest.mark.parametrize(
    ("position", "timestamp_ms", "expected"),
    [
        pytest.param("LATEST", None, "$", id="latest"),
        pytest.param("TRIM_HORIZON", None, "0", id="trim-horizon"),
        pytest.param(
            "AT_TIMESTAMP", 1700000000000, "1699999999999-18446744073709551615", id="at-timestamp"
        ),
        pytest.param("AT_TIMESTAMP", 0, "0", id="at-epoch"),
        pytest.param("AT_TIMESTAMP", None, "$", id="at-timestamp-without-one"),
    ],
)
def test_group_start_id(position: str, timestamp_ms: int | None, expected: str) -> None:
    assert start_id(position, timestamp_ms) == expected
