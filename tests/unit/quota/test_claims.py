import pytest
from hypothesis import given
from hypothesis import strategies as st

from kappa.quota.claims import Claim, Sums, claim_of, grows, held, problem, refusal
from kappa.quota.limits import ClusterLimits, NamespaceLimits

QUOTA = NamespaceLimits(concurrency=10, reserved=6, provisioned=4)
CLUSTER = ClusterLimits(concurrency=1000, unreserved_minimum=100)


def claim(name: str = "fn", reserved: int | None = None, provisioned: int = 0) -> Claim:
    return Claim("team", name, reserved=reserved, provisioned=provisioned)


@pytest.mark.parametrize(
    ("new", "namespace", "cluster", "limits", "says"),
    [
        pytest.param(claim(), Sums(), Sums(), QUOTA, None, id="claims-nothing"),
        pytest.param(
            claim(reserved=0), Sums(reserved=6), Sums(), QUOTA, None, id="reserved-zero-fits"
        ),
        pytest.param(claim(reserved=6), Sums(), Sums(), QUOTA, None, id="reserved-at-the-limit"),
        pytest.param(
            claim(reserved=3),
            Sums(reserved=4, claimed=4),
            Sums(),
            QUOTA,
            "reserved concurrency of namespace team to 7, over its ConcurrencyQuota's "
            "maxReserved 6 (2 left): lower reserved or raise the quota",
            id="reserved-over",
        ),
        pytest.param(
            claim(provisioned=5),
            Sums(),
            Sums(),
            QUOTA,
            "provisioned concurrency of namespace team to 5, over its ConcurrencyQuota's "
            "maxProvisioned 4 (4 left)",
            id="provisioned-over",
        ),
        pytest.param(
            claim(reserved=2, provisioned=2),
            Sums(reserved=4, provisioned=3, claimed=4),
            Sums(),
            QUOTA,
            "provisioned concurrency of namespace team to 5",
            id="provisioned-inside-reserved-still-counts-for-provisioned",
        ),
        pytest.param(
            claim(provisioned=3),
            Sums(reserved=6, claimed=8),
            Sums(),
            QUOTA,
            "would bring what namespace team sets aside to 11, over its ConcurrencyQuota's "
            "maxConcurrency 10 (2 left)",
            id="claims-over-concurrency",
        ),
        pytest.param(
            claim(reserved=50),
            Sums(),
            Sums(claimed=880),
            None,
            "would leave less than the cluster's unreserved minimum of 100 of its 1000 "
            "concurrent executions (20 left to set aside)",
            id="cluster-unreserved-minimum",
        ),
        pytest.param(
            claim(reserved=20), Sums(), Sums(claimed=880), None, None, id="cluster-at-the-minimum"
        ),
        pytest.param(
            claim(reserved=500), Sums(), Sums(), None, None, id="no-quota-only-the-cluster"
        ),
    ],
)
def test_admission_decisions(
    new: Claim, namespace: Sums, cluster: Sums, limits: NamespaceLimits | None, says: str | None
) -> None:
    found = problem(
        new, namespace=namespace, cluster=cluster, limits=limits, cluster_limits=CLUSTER
    )
    if says is None:
        assert found is None
    else:
        assert found is not None
        assert says in found


def test_held_takes_functions_first_come_first_served() -> None:
    claims = [
        Claim("team", "late", reserved=4, created="2026-11-27T08:02:00Z"),
        Claim("team", "early", reserved=4, created="2026-11-27T08:00:00Z"),
        Claim("team", "free", created="2026-11-27T08:03:00Z"),
        Claim("other", "big", reserved=40, created="2026-11-27T08:01:00Z"),
    ]
    result = held(claims, {"team": QUOTA}, CLUSTER)
    assert set(result.messages) == {("team", "late")}
    assert "maxReserved 6" in result.messages["team", "late"]
    assert result.namespaces["team"].reserved == 4
    assert result.cluster.claimed == 44


def test_a_lowered_cluster_limit_holds_the_latest() -> None:
    claims = [
        Claim("a", "one", reserved=5, created="1"),
        Claim("b", "two", provisioned=5, created="2"),
    ]
    result = held(claims, {}, ClusterLimits(concurrency=11, unreserved_minimum=2))
    assert set(result.messages) == {("b", "two")}
    assert "unreserved minimum of 2" in result.messages["b", "two"]


claims_strategy = st.lists(
    st.builds(
        Claim,
        namespace=st.sampled_from(["a", "b"]),
        name=st.text("abc", min_size=1, max_size=3),
        reserved=st.none() | st.integers(0, 30),
        provisioned=st.integers(0, 30),
        created=st.text("0123", max_size=2),
    ).filter(lambda c: c.reserved is None or c.provisioned <= c.reserved),
    max_size=20,
    unique_by=lambda c: c.key,
)
limits_strategy = st.builds(
    lambda c, r, p: NamespaceLimits(c, min(r, c), min(p, c)),
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(0, 60),
)


@given(claims_strategy, limits_strategy, st.integers(0, 100), st.integers(0, 100))
def test_what_is_not_held_fits_every_limit(
    claims: list[Claim], limits: NamespaceLimits, concurrency: int, minimum: int
) -> None:
    cluster = ClusterLimits(concurrency, minimum)
    result = held(claims, {"a": limits}, cluster)
    kept = [c for c in claims if c.key not in result.messages]
    for namespace in ("a", "b"):
        sums = Sums.of(c for c in kept if c.namespace == namespace)
        if namespace == "a":
            assert sums.reserved <= limits.reserved
            assert sums.provisioned <= limits.provisioned
            assert sums.claimed <= limits.concurrency
    assert Sums.of(kept).claimed <= cluster.reservable
    # Nothing that claims nothing is held.
    assert all(c.claimed for c in claims if c.key in result.messages)


def fn_obj(name: str = "fn", **concurrency: object) -> dict[str, object]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team",
            "creationTimestamp": "2026-11-27T08:00:00Z",
        },
        "spec": {"concurrency": concurrency},
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(fn_obj(), Claim("team", "fn", None, 0, "2026-11-27T08:00:00Z"), id="none"),
        pytest.param(
            fn_obj(reserved=3, provisioned=2),
            Claim("team", "fn", 3, 2, "2026-11-27T08:00:00Z"),
            id="both",
        ),
        pytest.param(
            fn_obj(reserved="3", provisioned=True),
            Claim("team", "fn", None, 0, "2026-11-27T08:00:00Z"),
            id="wrong-types-count-as-unset",
        ),
        pytest.param({"metadata": {}}, Claim("", ""), id="empty"),
    ],
)
def test_claim_of(obj: dict[str, object], expected: Claim) -> None:
    assert claim_of(obj) == expected


@pytest.mark.parametrize(
    ("new", "old", "grows_"),
    [
        pytest.param(claim(), None, False, id="new-claims-nothing"),
        pytest.param(claim(provisioned=1), None, True, id="new-claims"),
        pytest.param(claim(reserved=2), claim(reserved=3), False, id="lowered"),
        pytest.param(claim(reserved=3), claim(reserved=3), False, id="same"),
        pytest.param(claim(reserved=4), claim(reserved=3), True, id="raised"),
        pytest.param(
            claim(reserved=2, provisioned=2), claim(reserved=2), True, id="more-provisioned"
        ),
        pytest.param(claim(provisioned=1), claim(reserved=0), True, id="reserved-zero-to-unset"),
        pytest.param(claim(reserved=0), claim(provisioned=1), False, id="unset-to-reserved-zero"),
    ],
)
def test_grows(new: Claim, old: Claim | None, grows_: bool) -> None:  # noqa: FBT001
    assert grows(new, old) is grows_


def test_refusal_lets_through_what_does_not_grow_even_over_quota() -> None:
    over = Sums(reserved=50, claimed=50)

    def answer(new: Claim, old: Claim) -> str | None:
        return refusal(new, old, namespace=over, cluster=over, limits=QUOTA, cluster_limits=CLUSTER)

    assert answer(claim(reserved=4), claim(reserved=5)) is None
    refused = answer(claim(reserved=6), claim(reserved=5))
    assert refused is not None
    assert "maxReserved 6" in refused


def test_sums_without_takes_a_claim_out() -> None:
    sums = Sums.of([claim("a", reserved=3, provisioned=1), claim("b", provisioned=2)])
    assert sums == Sums(reserved=3, provisioned=3, claimed=5, functions=2)
    assert sums.without(claim("b", provisioned=2)) == Sums(3, 1, 3, 1)
    assert sums.without(None) == sums


def test_claim_of_reads_slots_per_pod_and_the_uid() -> None:
    obj = fn_obj(reserved=0, perPod=4)
    obj["metadata"]["uid"] = "u-1"  # type: ignore[index]
    assert claim_of(obj) == Claim("team", "fn", 0, 0, "2026-11-27T08:00:00Z", per_pod=4, uid="u-1")
    assert claim_of(fn_obj(perPod=0)).per_pod == 1  # (the schema forbids 0: one slot)


def test_the_unreserved_minimum_is_passed_even_when_the_quota_fits() -> None:
    found = refusal(
        claim(reserved=50), None, namespace=Sums(), cluster=Sums(claimed=880),
        limits=NamespaceLimits(concurrency=100, reserved=100, provisioned=100),
        cluster_limits=CLUSTER,
    )  # fmt: skip
    assert found == (
        "setting aside 50 (reserved, else provisioned concurrency) would leave less than the "
        "cluster's unreserved minimum of 100 of its 1000 concurrent executions (20 left to set "
        "aside): lower it, or ask the platform team to raise the cluster limit"
    )


@pytest.mark.parametrize(
    ("namespace", "says"),
    [
        pytest.param(Sums(claimed=8), None, id="exactly-max-concurrency-fits"),
        pytest.param(Sums(claimed=12), "maxConcurrency 10 (0 left)", id="over-says-none-left"),
    ],
)
def test_max_concurrency_boundary(namespace: Sums, says: str | None) -> None:
    limits = NamespaceLimits(concurrency=10, reserved=100, provisioned=100)
    found = problem(
        claim(reserved=2), namespace=namespace, cluster=Sums(), limits=limits,
        cluster_limits=CLUSTER,
    )  # fmt: skip
    assert found is None if says is None else (found is not None and says in found)


def test_a_first_reservation_grows_even_below_what_was_provisioned() -> None:
    assert grows(claim(reserved=1, provisioned=5), claim(provisioned=5))


def test_a_claims_slots_per_pod_are_processes_times_calls_each() -> None:
    assert claim_of(fn_obj(perPod=2, perRuntime=50)).per_pod == 100
    assert claim_of(fn_obj(perRuntime=8)).per_pod == 8
    assert claim_of(fn_obj(perPod=3, perRuntime=0)).per_pod == 3  # (the schema forbids 0)
