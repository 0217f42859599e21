import pytest

from kappa.api.quota import ConcurrencyQuotaSpec
from kappa.quota.limits import ClusterLimits, NamespaceLimits, effective


def spec(
    concurrency: int, reserved: int | None = None, provisioned: int | None = None
) -> ConcurrencyQuotaSpec:
    return ConcurrencyQuotaSpec(
        max_concurrency=concurrency, max_reserved=reserved, max_provisioned=provisioned
    )


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param([], None, id="no-quota"),
        pytest.param([spec(10)], NamespaceLimits(10, 10, 10), id="unset-are-concurrency"),
        pytest.param([spec(10, 4, 2)], NamespaceLimits(10, 4, 2), id="one"),
        pytest.param(
            [spec(10, 4), spec(6, None, 5), spec(20, 5, 1)],
            NamespaceLimits(6, 4, 1),
            id="tightest-of-each",
        ),
    ],
)
def test_effective_is_the_tightest_of_each_limit(
    specs: list[ConcurrencyQuotaSpec], expected: NamespaceLimits | None
) -> None:
    assert effective(specs) == expected


def test_the_queued_events_bound_is_the_tightest_set_one() -> None:
    def queued(limit: int | None) -> ConcurrencyQuotaSpec:
        return ConcurrencyQuotaSpec(max_concurrency=10, max_queued_events=limit)

    assert effective([queued(None)]) == NamespaceLimits(10, 10, 10, None)  # unset: no bound
    found = effective([queued(None), queued(500), queued(50)])
    assert found is not None
    assert found.queued_events == 50


def test_the_queued_bytes_bound_is_the_tightest_set_one_apart_from_the_events_bound() -> None:
    def spec(events: int | None, size: int | None) -> ConcurrencyQuotaSpec:
        return ConcurrencyQuotaSpec(
            max_concurrency=10, max_queued_events=events, max_queued_bytes=size
        )

    assert effective([spec(None, None)]) == NamespaceLimits(10, 10, 10, None, None)
    found = effective([spec(5, None), spec(None, 4096), spec(9, 1024)])
    assert found is not None
    assert (found.queued_events, found.queued_bytes) == (5, 1024)


@pytest.mark.parametrize(
    ("cluster", "reservable"),
    [
        pytest.param(ClusterLimits(), 900, id="lambda-defaults"),
        pytest.param(ClusterLimits(50, 100), 0, id="minimum-above-limit"),
        pytest.param(ClusterLimits(200, 0), 200, id="no-minimum"),
    ],
)
def test_reservable_is_the_limit_less_the_unreserved_minimum(
    cluster: ClusterLimits, reservable: int
) -> None:
    assert cluster.reservable == reservable
