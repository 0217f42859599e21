"""Pages of operations and their markers: concatenated pages are the whole list, each
page within its bounds, and a marker is read back only for the execution it was made for."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.durable.model import Operation, OperationStatus, OperationType, Timestamps
from kappa.durable.pages import (
    MARKER_MAX_LENGTH,
    Page,
    PageBounds,
    PagePosition,
    PageRefused,
    event_page,
    marker,
    max_items,
    operation_bytes,
    read_marker,
    take_page,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:1/durable-execution/order/e1"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:fn:1/durable-execution/order/e2"
NOT_A_MARKER = PageRefused("Marker", "is not a marker of this execution's state")


def operation(index: int, payload: int) -> Operation:
    return Operation(
        id=f"op{index}",
        type=OperationType.STEP,
        status=OperationStatus.STARTED,
        start_ms=1_000 + index,
        name="x" * payload,
    )


operation_lists = st.lists(st.integers(0, 200), max_size=40).map(
    lambda sizes: [operation(i, size) for i, size in enumerate(sizes)]
)


def all_pages(operations: list[Operation], items: int | None, max_bytes: int) -> list[Page]:
    count = max_items(items)
    assert isinstance(count, int)
    bounds = PageBounds(count, max_bytes, Timestamps.SECONDS)
    position = PagePosition(7, 0)
    pages = []
    while True:
        page = take_page(operations, ARN, position, bounds)
        assert isinstance(page, Page)
        pages.append(page)
        if page.next_marker is None:
            return pages
        found = read_marker(ARN, page.next_marker)
        assert isinstance(found, PagePosition)
        assert found.sequence == 7
        position = found


@given(operation_lists, st.one_of(st.none(), st.integers(0, 1000)), st.integers(1, 2_000))
def test_concatenated_pages_are_the_whole_list(
    operations: list[Operation], items: int | None, max_bytes: int
) -> None:
    pages = all_pages(operations, items, max_bytes)
    assert [o for page in pages for o in page.operations] == operations
    limit = items or 1000
    for page in pages:
        assert len(page.operations) <= limit
        used = sum(operation_bytes(o, Timestamps.SECONDS) for o in page.operations)
        assert used <= max_bytes or len(page.operations) == 1
        assert page.operations or not operations


@given(operation_lists, st.integers(1, 20_000))
def test_event_page_is_a_prefix_within_the_budget(operations: list[Operation], budget: int) -> None:
    page = event_page(operations, ARN, 3, budget)
    sent = list(page.operations)
    assert sent == operations[: len(sent)]
    used = sum(operation_bytes(o, Timestamps.MILLISECONDS) for o in sent)
    assert used <= budget or len(sent) == 1
    if len(sent) < len(operations):
        assert page.next_marker is not None
        assert read_marker(ARN, page.next_marker) == PagePosition(3, len(sent))
        assert used + operation_bytes(operations[len(sent)], Timestamps.MILLISECONDS) > budget
    else:
        assert page.next_marker is None


def test_event_page_of_everything_under_the_default_budget() -> None:
    operations = [operation(i, 10) for i in range(3)]
    assert event_page(operations, ARN, 1) == Page(tuple(operations), None)


def test_one_operation_over_the_budget_still_goes_alone() -> None:
    operations = [operation(0, 500), operation(1, 0)]
    page = event_page(operations, ARN, 1, budget=10)
    assert page.operations == (operations[0],)
    assert page.next_marker == marker(ARN, PagePosition(1, 1))


@given(st.integers(0, 2**63 - 1), st.integers(0, 10**9))
def test_marker_round_trip(sequence: int, offset: int) -> None:
    text = marker(ARN, PagePosition(sequence, offset))
    assert len(text) <= MARKER_MAX_LENGTH
    assert read_marker(ARN, text) == PagePosition(sequence, offset)
    assert read_marker(OTHER, text) == NOT_A_MARKER


@given(st.text(max_size=300))
def test_junk_is_refused(junk: str) -> None:
    assert read_marker(ARN, junk) == NOT_A_MARKER


def encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GOOD = marker(ARN, PagePosition(5, 2))
CHECK = base64.urlsafe_b64decode(GOOD + "=" * (-len(GOOD) % 4)).decode().rsplit(":", 1)[1]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("A" * (MARKER_MAX_LENGTH + 1), id="too-long"),
        pytest.param(GOOD + "=", id="padded"),
        pytest.param(GOOD[:-1], id="cut"),
        pytest.param(encoded(f"1:5:3:{CHECK}"), id="offset-edited"),
        pytest.param(encoded(f"1:6:2:{CHECK}"), id="sequence-edited"),
        pytest.param(encoded(f"2:5:2:{CHECK}"), id="other-version"),
        pytest.param(encoded(f"1:05:2:{CHECK}"), id="leading-zero"),
        pytest.param(encoded(f"1:5:-2:{CHECK}"), id="negative"),
        pytest.param(encoded(f"1:5:2:{CHECK.upper()}"), id="check-case"),
        pytest.param(encoded(f"1:{2**63}:2:{CHECK}"), id="sequence-too-big"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-ascii"),
        pytest.param("a/b+", id="not-url-safe"),
        pytest.param("A", id="bad-base64-length"),
    ],
)
def test_tampered_markers_are_refused(value: str) -> None:
    assert read_marker(ARN, value) == NOT_A_MARKER


def test_marker_beyond_the_state_is_refused() -> None:
    bounds = PageBounds(10, 1_000, Timestamps.SECONDS)
    page = take_page([operation(0, 0)], ARN, PagePosition(1, 2), bounds)
    assert page == PageRefused("Marker", "is beyond this execution's state")
    assert page.message == "Marker is beyond this execution's state"


def test_marker_at_the_end_gives_an_empty_last_page() -> None:
    bounds = PageBounds(10, 1_000, Timestamps.SECONDS)
    assert take_page([operation(0, 0)], ARN, PagePosition(1, 1), bounds) == Page((), None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, 1000, id="absent"),
        pytest.param(0, 1000, id="zero"),
        pytest.param(1, 1, id="one"),
        pytest.param(1000, 1000, id="max"),
        pytest.param(
            1001, PageRefused("MaxItems", "must be between 0 and 1000, not 1001"), id="over"
        ),
        pytest.param(
            -1, PageRefused("MaxItems", "must be between 0 and 1000, not -1"), id="negative"
        ),
    ],
)
def test_max_items(value: int | None, expected: int | PageRefused) -> None:
    assert max_items(value) == expected


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(PagePosition(-1, 0), id="negative-sequence"),
        pytest.param(PagePosition(0, 10**9 + 1), id="offset"),
    ],
)
def test_no_marker_for_an_impossible_position(position: PagePosition) -> None:
    with pytest.raises(ValueError, match="no marker for"):
        marker(ARN, position)


def test_bounds_hold_at_least_one_operation() -> None:
    with pytest.raises(ValueError, match="a page holds at least one operation"):
        PageBounds(0, 10, Timestamps.SECONDS)
