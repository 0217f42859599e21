import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.quota.headroom import NamespaceUse, namespace_headroom, namespace_use
from kappa.quota.limits import NamespaceLimits

TEN = NamespaceLimits(concurrency=10, reserved=10, provisioned=10)


@pytest.mark.parametrize(
    ("limits", "use", "reserved", "headroom"),
    [
        pytest.param(None, NamespaceUse(slots=500), None, None, id="no-quota-no-cap"),
        pytest.param(TEN, NamespaceUse(), None, 10, id="empty-namespace"),
        pytest.param(TEN, NamespaceUse(slots=7, unreserved_slots=7), None, 3, id="three-left"),
        pytest.param(TEN, NamespaceUse(slots=12, unreserved_slots=12), None, 0, id="over-is-zero"),
        pytest.param(
            TEN,
            NamespaceUse(slots=2, unreserved_slots=2, reserved=6),
            None,
            2,
            id="unreserved-cannot-take-reserved-slots",
        ),
        pytest.param(
            TEN,
            NamespaceUse(slots=4, unreserved_slots=4, reserved=6),
            5,
            6,
            id="reserved-function-may-use-its-reservation",
        ),
        pytest.param(NamespaceLimits(0, 0, 0), NamespaceUse(), None, 0, id="zero-quota-no-slots"),
    ],
)
def test_headroom_table(
    limits: NamespaceLimits | None, use: NamespaceUse, reserved: int | None, headroom: int | None
) -> None:
    assert namespace_headroom(limits, use, reserved=reserved) == headroom


counts = st.integers(min_value=0, max_value=10_000)


@st.composite
def namespaces(draw: st.DrawFn) -> tuple[NamespaceLimits, NamespaceUse]:
    concurrency = draw(counts)
    reserved_sum = draw(st.integers(min_value=0, max_value=concurrency))
    unreserved_slots = draw(counts)
    reserved_slots = draw(counts)
    limits = NamespaceLimits(concurrency, concurrency, concurrency)
    use = NamespaceUse(
        slots=unreserved_slots + reserved_slots,
        unreserved_slots=unreserved_slots,
        reserved=reserved_sum,
    )
    return limits, use


@given(namespaces(), st.none() | counts)
def test_adding_the_headroom_never_takes_the_namespace_over(
    namespace: tuple[NamespaceLimits, NamespaceUse], reserved: int | None
) -> None:
    limits, use = namespace
    headroom = namespace_headroom(limits, use, reserved=reserved)
    assert headroom is not None
    assert headroom >= 0
    if headroom:
        assert use.slots + headroom <= limits.concurrency


@given(namespaces())
def test_unreserved_functions_never_eat_into_the_reserved_pool(
    namespace: tuple[NamespaceLimits, NamespaceUse],
) -> None:
    limits, use = namespace
    headroom = namespace_headroom(limits, use, reserved=None)
    assert headroom is not None
    if headroom:
        assert use.unreserved_slots + headroom <= limits.concurrency - use.reserved


@given(namespaces(), st.none() | counts, st.integers(min_value=1, max_value=100))
def test_more_slots_never_give_more_headroom(
    namespace: tuple[NamespaceLimits, NamespaceUse], reserved: int | None, more: int
) -> None:
    limits, use = namespace
    before = namespace_headroom(limits, use, reserved=reserved)
    grown = NamespaceUse(use.slots + more, use.unreserved_slots + more, use.reserved)
    after = namespace_headroom(limits, grown, reserved=reserved)
    assert before is not None
    assert after is not None
    assert after <= before


@pytest.mark.parametrize(
    ("functions", "use"),
    [
        pytest.param([], NamespaceUse(), id="empty"),
        pytest.param([(None, 3), (None, 1)], NamespaceUse(4, 4, 0), id="unreserved"),
        pytest.param([(5, 2), (None, 3), (0, 0)], NamespaceUse(5, 3, 5), id="mixed"),
    ],
)
def test_namespace_use(functions: list[tuple[int | None, int]], use: NamespaceUse) -> None:
    assert namespace_use(functions) == use
