import pytest

from kappa.gateway.admission import (
    CONCURRENT,
    RESERVED,
    Admit,
    Limits,
    Load,
    NamespaceQuota,
    Throttle,
    Wait,
    admit,
    when_full,
)


@pytest.mark.parametrize(
    ("reserved", "load", "limits", "quota", "expected"),
    [
        pytest.param(None, Load(), Limits(1000), None, None, id="idle"),
        pytest.param(0, Load(), Limits(1000), None, RESERVED, id="reserved-zero"),
        pytest.param(1, Load(), Limits(1000, 1), None, None, id="reserved-one-admits-the-first"),
        pytest.param(5, Load(function=4), Limits(1000, 5), None, None, id="under-reserved"),
        pytest.param(5, Load(function=5), Limits(1000, 5), None, RESERVED, id="at-reserved"),
        pytest.param(None, Load(cluster=1000), Limits(1000), None, CONCURRENT, id="cluster-full"),
        pytest.param(5, Load(cluster=1000, function=1), Limits(1000, 5), None, CONCURRENT,
                     id="cluster-full-binds-reserved-too"),
        pytest.param(None, Load(cluster=850, unreserved=800), Limits(1000, 200), None, CONCURRENT,
                     id="unreserved-pool-full"),
        pytest.param(None, Load(cluster=799, unreserved=799), Limits(1000, 200), None, None,
                     id="unreserved-pool-has-room"),
        pytest.param(300, Load(cluster=900, unreserved=800, function=100), Limits(1000, 200),
                     None, None, id="reserved-unaffected-by-full-pool"),
        pytest.param(None, Load(), Limits(100, 100), None, CONCURRENT, id="pool-empty"),
        pytest.param(None, Load(), Limits(1000), NamespaceQuota(10, 10), CONCURRENT,
                     id="namespace-quota-full"),
        pytest.param(None, Load(), Limits(1000), NamespaceQuota(10, 9), None,
                     id="namespace-quota-room"),
    ],
)  # fmt: skip
def test_admit(
    reserved: int | None,
    load: Load,
    limits: Limits,
    quota: NamespaceQuota | None,
    expected: object,
) -> None:
    decision = admit(reserved=reserved, load=load, limits=limits, quota=quota)
    if expected is None:
        assert decision == Admit()
    else:
        assert decision == Throttle(expected, "Rate Exceeded.")  # Lambda's 429 message


@pytest.mark.parametrize(
    ("reserved", "function_slots", "cluster_slots", "quota", "expected"),
    [
        pytest.param(None, 0, 0, None, None, id="scale-from-zero-waits"),
        pytest.param(None, 4, 10, None, None, id="room-to-grow"),
        pytest.param(2, 1, 10, None, None, id="below-reserved-waits"),
        pytest.param(2, 2, 10, None, RESERVED, id="at-reserved-cap"),
        pytest.param(None, 4, 1000, None, CONCURRENT, id="cluster-cap"),
        pytest.param(None, 2, 10, NamespaceQuota(2, 0, slots=2), CONCURRENT, id="namespace-cap"),
        pytest.param(None, 2, 10, NamespaceQuota(3, 0, slots=2), None, id="namespace-room"),
        pytest.param(None, 0, 10, NamespaceQuota(0, 0, slots=0), CONCURRENT, id="namespace-zero"),
        pytest.param(
            2, 2, 10, NamespaceQuota(2, 0, slots=2), RESERVED, id="reserved-binds-before-namespace"
        ),
    ],
)
def test_when_full(
    reserved: int | None,
    function_slots: int,
    cluster_slots: int,
    quota: NamespaceQuota | None,
    expected: object,
) -> None:
    decision = when_full(
        reserved=reserved,
        function_slots=function_slots,
        cluster_slots=cluster_slots,
        cluster_limit=1000,
        quota=quota,
    )
    if expected is None:
        assert decision == Wait()
    else:
        assert decision == Throttle(expected, "Rate Exceeded.")  # Lambda's 429 message


def test_unreserved_pool_never_negative() -> None:
    assert Limits(100, 500).unreserved_pool == 0
