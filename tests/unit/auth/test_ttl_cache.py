"""The bounded, time-limited cache of auth answers."""

from kappa.auth.ttl_cache import TtlCache


def test_an_answer_is_kept_for_its_time_and_then_forgotten() -> None:
    cache: TtlCache[str, bool] = TtlCache(5.0, 10)
    cache.put("a", value=False, now=100.0)
    assert cache.known("a", 104.9)
    assert cache.get("a", 104.9) is False
    assert not cache.known("a", 105.0)
    assert cache.get("a", 105.0) is None
    assert len(cache) == 0


def test_past_its_size_the_oldest_goes() -> None:
    cache: TtlCache[int, int] = TtlCache(60.0, 3)
    for n in range(5):
        cache.put(n, n * 10, now=float(n))
    assert len(cache) == 3
    assert cache.get(0, 5.0) is None
    assert cache.get(1, 5.0) is None
    assert [cache.get(n, 5.0) for n in (2, 3, 4)] == [20, 30, 40]


def test_zero_seconds_keeps_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(0.0, 3)
    cache.put("a", 1, now=0.0)
    assert not cache.known("a", 0.0)
