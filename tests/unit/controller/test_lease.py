from datetime import UTC, datetime, timedelta

import pytest

from kappa.controller.lease import (
    LEASE_SECONDS,
    LeaseView,
    Step,
    held_spec,
    lease_view,
    next_step,
    released_spec,
)

NOW = datetime(2026, 12, 3, 12, 0, 0, 250000, tzinfo=UTC)


def held(holder: str, ago: float, transitions: int = 3) -> LeaseView:
    return LeaseView(holder, NOW - timedelta(seconds=ago), LEASE_SECONDS, transitions)


@pytest.mark.parametrize(
    ("lease", "step"),
    [
        pytest.param(None, Step.TAKE, id="no-lease"),
        pytest.param(LeaseView("", None, 10, 4), Step.TAKE, id="released"),
        pytest.param(held("me", 30), Step.RENEW, id="mine-even-expired"),
        pytest.param(held("other", 9.999), Step.WAIT, id="other-just-renewed"),
        pytest.param(held("other", 10), Step.TAKE, id="other-expired-exactly"),
        pytest.param(held("other", 60), Step.TAKE, id="other-long-gone"),
        pytest.param(LeaseView("other", None, 10, 1), Step.TAKE, id="other-never-renewed"),
    ],
)
def test_next_step(lease: LeaseView | None, step: Step) -> None:
    assert next_step(lease, "me", NOW) is step


def test_taking_counts_a_transition_and_renewing_does_not() -> None:
    taken = held_spec(held("other", 60), "me", NOW)
    assert taken == {
        "holderIdentity": "me",
        "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": "2026-12-03T12:00:00.250000Z",
        "acquireTime": "2026-12-03T12:00:00.250000Z",
        "leaseTransitions": 4,
    }
    renewed = held_spec(held("me", 2), "me", NOW)
    assert renewed["leaseTransitions"] == 3
    assert "acquireTime" not in renewed
    assert held_spec(None, "me", NOW)["leaseTransitions"] == 0


def test_a_lease_read_back_is_the_one_written() -> None:
    spec = held_spec(None, "me", NOW)
    assert lease_view(spec) == LeaseView("me", NOW, LEASE_SECONDS, 0)
    assert lease_view(None) is None
    assert lease_view({"renewTime": "2026-12-03T12:00:00Z"}) == LeaseView(
        "", datetime(2026, 12, 3, 12, tzinfo=UTC), LEASE_SECONDS, 0
    )
    # The Python client hands back renewTime as a datetime, serialised with an offset.
    echoed = lease_view({"holderIdentity": "x", "renewTime": "2026-12-03T12:00:00.250000+00:00"})
    assert echoed == LeaseView("x", NOW, LEASE_SECONDS, 0)
    assert next_step(echoed, "me", NOW + timedelta(seconds=9)) is Step.WAIT
    assert lease_view({"holderIdentity": "x", "renewTime": "yesterday"}).renewed is None  # type: ignore[union-attr]


def test_only_the_holder_releases() -> None:
    assert released_spec(held("me", 1), "me") == {"holderIdentity": "", "leaseTransitions": 3}
    assert released_spec(held("other", 1), "me") is None
