from collections.abc import Callable

import pytest

from kappa.asyncq.bound import QueueBound, Queued, Refusal, Verdict, chain, decide, stored_size

QUEUED = Queued(events=4, bytes=1000, last_sequence=17)


@pytest.mark.parametrize(
    ("bound", "size", "expected"),
    [
        pytest.param(QueueBound(), 10**9, None, id="no-bound"),
        pytest.param(QueueBound(events=5), 100, None, id="under-the-events-bound"),
        pytest.param(QueueBound(events=4), 100, ("maxQueuedEvents", Verdict.THROTTLED),
                     id="at-the-events-bound"),
        pytest.param(QueueBound(events=0), 1, ("maxQueuedEvents", Verdict.THROTTLED),
                     id="events-bound-zero"),
        pytest.param(QueueBound(bytes=1100), 100, None, id="exactly-fills-the-bytes-bound"),
        pytest.param(QueueBound(bytes=1100), 101, ("maxQueuedBytes", Verdict.THROTTLED),
                     id="one-byte-past-the-bytes-bound"),
        pytest.param(QueueBound(bytes=500), 501, ("maxQueuedBytes", Verdict.TOO_LARGE),
                     id="larger-than-the-bound-alone"),
        pytest.param(QueueBound(bytes=500), 500, ("maxQueuedBytes", Verdict.THROTTLED),
                     id="fits-an-empty-queue-only"),
        pytest.param(QueueBound(events=4, bytes=10**6), 10, ("maxQueuedEvents", Verdict.THROTTLED),
                     id="events-bound-binds-first"),
        pytest.param(QueueBound(events=9, bytes=1050), 60, ("maxQueuedBytes", Verdict.THROTTLED),
                     id="bytes-bound-binds-first"),
        pytest.param(QueueBound(events=4, bytes=50), 60, ("maxQueuedBytes", Verdict.TOO_LARGE),
                     id="too-large-whatever-is-queued"),
    ],
)  # fmt: skip
def test_decide(bound: QueueBound, size: int, expected: tuple[str, Verdict] | None) -> None:
    refusal = decide("team", bound, QUEUED, size)
    assert (None if refusal is None else (refusal.field, refusal.verdict)) == expected


@pytest.mark.parametrize(
    ("bound", "size", "message"),
    [
        pytest.param(QueueBound(events=4), 123,
                     "Namespace team has 4 asynchronous invocations (1000 bytes) queued, its "
                     "ConcurrencyQuota's maxQueuedEvents (4); this event takes 123 bytes: "
                     "try again later.", id="events"),
        pytest.param(QueueBound(bytes=1100), 101,
                     "Namespace team has 4 asynchronous invocations (1000 bytes) queued; this "
                     "event's 101 bytes would pass its ConcurrencyQuota's maxQueuedBytes (1100): "
                     "try again later.", id="bytes"),
    ],
)  # fmt: skip
def test_a_throttled_events_message_names_the_field_what_is_queued_and_the_events_size(
    bound: QueueBound, size: int, message: str
) -> None:
    refusal = decide("team", bound, QUEUED, size)
    assert refusal is not None
    assert refusal.message == message


def test_an_event_larger_than_the_bound_says_it_can_never_be_queued() -> None:
    refusal = decide("team", QueueBound(bytes=100), Queued(0, 0, 0), 5000)
    assert refusal is not None
    assert "5000 bytes" in refusal.message
    assert "maxQueuedBytes (100)" in refusal.message
    assert "can never be queued" in refusal.message


def test_unbounded_only_when_neither_field_is_set() -> None:
    assert QueueBound().unbounded
    assert not QueueBound(events=0).unbounded
    assert not QueueBound(bytes=0).unbounded


@pytest.mark.parametrize(
    ("subject", "headers", "payload", "expected"),
    [
        # Figures read from nats-server 2.9.10's state.bytes (file storage).
        pytest.param("x.events.a.fn", {}, b"12345", 48, id="no-headers"),
        pytest.param("x.events.a.fn", {"Nats-Msg-Id": "abc", "K": "v"}, b"12345", 88,
                     id="with-headers"),
        pytest.param("s", {" K ": " v "}, b"", 30 + 1 + 4 + 10 + 6 + 2, id="stripped-as-sent"),
    ],
)  # fmt: skip
def test_stored_size(subject: str, headers: dict[str, str], payload: bytes, expected: int) -> None:
    assert stored_size(subject, headers, payload) == expected


def fixed(size: int) -> Callable[[int, int | None], int]:
    return lambda _sequence, _previous: size


def test_a_chain_admits_each_event_against_the_read_plus_those_admitted_before_it() -> None:
    bound = QueueBound(events=10, bytes=1400)
    decided = chain("team", bound, QUEUED, [fixed(100), fixed(250), fixed(100), fixed(200)])
    # 1000 queued: 100 → 1100 (expects 17), 250 would be 1350 (expects 18), 100 would pass
    # 1400 (1450), 200 too; the refused ones take no sequence.
    assert decided[:2] == [17, 18]
    assert [(r.field, r.verdict) for r in decided[2:] if isinstance(r, Refusal)] == [
        ("maxQueuedBytes", Verdict.THROTTLED), ("maxQueuedBytes", Verdict.THROTTLED)]  # fmt: skip


def test_a_chain_counts_events_and_sizes_each_at_its_expected_sequence() -> None:
    seen: list[tuple[int, int | None]] = []

    def size_at(sequence: int, previous: int | None) -> int:
        seen.append((sequence, previous))
        return 10

    decided = chain("team", QueueBound(events=6), QUEUED, [size_at] * 4)
    assert decided[:2] == [17, 18]
    assert all(isinstance(r, Refusal) and r.field == "maxQueuedEvents" for r in decided[2:])
    # Each after the last one admitted before it: a refused one is nobody's previous.
    assert seen == [(17, None), (18, 0), (19, 1), (19, 1)]


def test_a_refused_event_leaves_room_for_a_smaller_one_after_it() -> None:
    decided = chain("team", QueueBound(bytes=1100), QUEUED, [fixed(2000), fixed(300), fixed(50)])
    assert isinstance(decided[0], Refusal)
    assert decided[0].verdict is Verdict.TOO_LARGE
    assert isinstance(decided[1], Refusal)
    assert decided[1].verdict is Verdict.THROTTLED
    assert decided[2] == 17
