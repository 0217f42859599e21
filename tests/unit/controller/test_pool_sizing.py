import pytest

from kappa.controller.pool_sizing import (
    PoolPod,
    PoolSpec,
    Reason,
    claim_rate,
    size,
)

NOW = 1000.0


def ready(count: int, *, prefix: str = "p", age: float = 60) -> list[PoolPod]:
    return [PoolPod(f"{prefix}{i}", ready=True, created=NOW - age - i) for i in range(count)]


def claims(count: int, *, within: float) -> list[float]:
    """``count`` claims spread evenly over the last ``within`` seconds."""
    return [NOW - within * (i + 0.5) / count for i in range(count)]


@pytest.mark.parametrize(
    ("times", "rate"),
    [
        pytest.param([], 0.0, id="no-claims"),
        pytest.param(claims(30, within=60), 0.5, id="steady-60s-rate"),
        pytest.param(claims(10, within=5), 1.0, id="a-burst-takes-the-10s-rate"),
        pytest.param([NOW - 61, NOW - 120], 0.0, id="older-than-a-minute"),
        pytest.param([NOW + 1], 0.0, id="future-claims-ignored"),
    ],
)
def test_claim_rate(times: list[float], rate: float) -> None:
    assert claim_rate(times, NOW) == pytest.approx(rate)


@pytest.mark.parametrize(
    ("spec", "live", "times", "headroom", "target", "create", "reason"),
    [
        pytest.param(PoolSpec(2, 10), 0, [], None, 2, 2, Reason.FLOOR, id="empty-fills-floor"),
        pytest.param(PoolSpec(2, 10), 2, [], None, 2, 0, Reason.FLOOR, id="at-floor"),
        pytest.param(
            PoolSpec(2, 10, refill_seconds=2), 2, claims(30, within=60), None, 3, 1,
            Reason.REACTIVE, id="half-a-claim-per-second-for-2s-adds-one",
        ),
        pytest.param(
            PoolSpec(2, 10, refill_seconds=2), 2, claims(20, within=5), None, 6, 4,
            Reason.REACTIVE, id="burst-of-2-per-second-adds-four",
        ),
        pytest.param(
            PoolSpec(2, 5, refill_seconds=2), 2, claims(50, within=5), None, 5, 3,
            Reason.MAX_SIZE, id="capped-by-max",
        ),
        pytest.param(
            PoolSpec(2, 10), 1, [], 0, 1, 0, Reason.QUOTA_CAPPED, id="quota-full-keeps-live",
        ),
        pytest.param(
            PoolSpec(4, 10), 0, [], 3, 3, 3, Reason.QUOTA_CAPPED, id="quota-below-the-floor",
        ),
        pytest.param(
            PoolSpec(2, 10), 3, [], -2, 1, 0, Reason.QUOTA_CAPPED, id="quota-shrank-removes",
        ),
        pytest.param(
            PoolSpec(0, 100, refill_seconds=10, burst=5), 0, claims(50, within=5), None, 50, 5,
            Reason.REACTIVE, id="creates-at-most-burst",
        ),
        pytest.param(PoolSpec(0, 10), 0, [], None, 0, 0, Reason.FLOOR, id="no-floor-no-claims"),
    ],
)  # fmt: skip
def test_size(
    spec: PoolSpec,
    live: int,
    times: list[float],
    headroom: int | None,
    target: int,
    create: int,
    reason: Reason,
) -> None:
    decided = size(spec, ready(live), times, quota_headroom=headroom, now=NOW)
    assert (decided.target, decided.create, decided.reason) == (target, create, reason)
    assert len(decided.remove) == max(0, live - target)
    assert decided.message


def test_surplus_goes_starting_first_then_newest_ready() -> None:
    pods = [
        PoolPod("old", ready=True, created=NOW - 300),
        PoolPod("new", ready=True, created=NOW - 10),
        PoolPod("starting", ready=False, created=NOW - 1),
    ]
    decided = size(PoolSpec(1, 10), pods, [], quota_headroom=None, now=NOW)
    assert decided.remove == ("starting", "new")


def test_the_reactive_part_decays_once_claims_age_out() -> None:
    spec = PoolSpec(1, 10, refill_seconds=2)
    burst = claims(20, within=5)
    assert size(spec, ready(1), burst, quota_headroom=None, now=NOW).target == 5
    later = size(spec, ready(5), burst, quota_headroom=None, now=NOW + 30)
    assert later.target == 2  # 20 claims in the last minute: 1/3 per s, for 2 s
    gone = size(spec, ready(5), burst, quota_headroom=None, now=NOW + 61)
    assert (gone.target, len(gone.remove), gone.reason) == (1, 4, Reason.FLOOR)
