import pytest

from kappa.gateway.body_budget import BodyBudget, reservation

MiB = 1024 * 1024


def test_calls_hold_the_budget_until_they_finish() -> None:
    budget = BodyBudget(limit=8 * MiB)
    assert budget.reserve(3 * MiB)
    assert budget.reserve(5 * MiB)  # exactly full
    assert not budget.reserve(1)  # refused, and holds nothing
    assert budget.held == 8 * MiB
    budget.release(5 * MiB)
    assert budget.reserve(2 * MiB)
    budget.release(3 * MiB)
    budget.release(2 * MiB)
    assert budget.held == 0


@pytest.mark.parametrize(
    ("content_length", "has_body", "reserved"),
    [
        pytest.param(1000, True, 1000, id="declared"),
        pytest.param(0, False, 0, id="empty"),
        pytest.param(None, False, 0, id="no-body"),
        pytest.param(None, True, 6 * MiB, id="chunked-reserves-the-largest"),
        pytest.param(6 * MiB + 1, True, 0, id="too-large-is-refused-unread"),
    ],
)  # fmt: skip
def test_what_a_request_reserves_before_its_body_is_read(
    content_length: int | None,
    has_body: bool,  # noqa: FBT001 - a parameter of the table
    reserved: int,
) -> None:
    assert reservation(content_length, has_body=has_body, largest=6 * MiB) == reserved
