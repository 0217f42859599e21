"""The store's pure parts: execution keys and the folded-state cache's bound (no NATS here)."""

import pytest

from kappa.durable.decider import start
from kappa.durable.state import Execution
from kappa.durable.store import FIELDS_ALLOWANCE, ExecutionKey, Folded, StateCache
from kappa.durable.summary import Identity

pytestmark = pytest.mark.unit

IDENTITY = Identity("arn:x", "ex", "$LATEST", "h")


def test_a_key_names_its_subject_tokens() -> None:
    key = ExecutionKey("team", "orders", "Order_1-a")
    assert key.token == "team.orders.Order_1-a"  # noqa: S105 - not a secret


@pytest.mark.parametrize(
    ("namespace", "function", "name", "part"),
    [
        pytest.param("Team", "orders", "o", "namespace", id="namespace-upper"),
        pytest.param("team.a", "orders", "o", "namespace", id="namespace-dot"),
        pytest.param("team", "", "o", "function", id="function-empty"),
        pytest.param("team", "orders>", "o", "function", id="function-wildcard"),
        pytest.param("team", "orders", "a.b", "name", id="name-dot"),
        pytest.param("team", "orders", "*", "name", id="name-wildcard"),
        pytest.param("team", "orders", "x" * 65, "name", id="name-long"),
        pytest.param("team", "orders", "", "name", id="name-empty"),
    ],
)
def test_a_bad_key_is_refused_naming_the_part(
    namespace: str, function: str, name: str, part: str
) -> None:
    with pytest.raises(ValueError, match=part):
        ExecutionKey(namespace, function, name)


def _folded(payload_bytes: int) -> Folded:
    state = start("ex", "x" * payload_bytes, None, 0).commit(1)
    folded = Folded(IDENTITY, state)
    folded.measure()
    return folded


def test_the_size_is_the_operations_json_and_an_allowance() -> None:
    small, large = _folded(10), _folded(10_000)
    assert large.size - small.size == 10_000 - 10
    assert small.size > FIELDS_ALLOWANCE


def test_the_cache_drops_the_least_recently_used_past_its_bytes() -> None:
    one = _folded(1000)
    cache = StateCache(limit=3 * one.size)
    for token in ("a", "b", "c"):
        cache.put(token, _folded(1000))
    assert cache.get("a") is not None  # now the most recently used
    cache.put("d", _folded(1000))
    assert cache.get("b") is None
    assert [cache.get(t) is not None for t in ("a", "c", "d")] == [True, True, True]
    # Putting one again after it grew charges its new size.
    grown = _folded(3 * one.size)
    cache.put("a", grown)
    assert len(cache) == 0  # over the limit alone: nothing kept
    cache.put("e", _folded(1000))
    assert cache.get("e") is not None


def test_a_cache_of_no_bytes_keeps_nothing() -> None:
    cache = StateCache(limit=0)
    cache.put("a", _folded(1))
    assert cache.get("a") is None


def test_a_tail_folded_in_twice_counts_once() -> None:
    """Two loads of one cached execution each read the log after it, concurrently; the
    second to come back finds its tail folded in already (seen: "Log sequence 11 is not
    after 11" from a GET racing the runner's wake)."""
    begun = start("ex", "{}", None, 0)
    assert begun.entry is not None
    folded = Folded(IDENTITY, Execution())
    folded.measure()
    folded.apply([(1, begun.entry)])
    folded.apply([(1, begun.entry)])
    assert folded.state == begun.commit(1)
    assert folded.since_snapshot == 1
