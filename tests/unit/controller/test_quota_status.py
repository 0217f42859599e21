from datetime import UTC, datetime

import pytest

from kappa.api.quota import ConcurrencyQuotaSpec
from kappa.controller.quota_status import quota_condition, quota_status
from kappa.quota.claims import Sums

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SPEC = ConcurrencyQuotaSpec(max_concurrency=4, max_reserved=2)


@pytest.mark.parametrize(
    ("held", "slots", "expected"),
    [
        pytest.param(
            {},
            3,
            ("True", "WithinQuota", "reserved 1 of 2, provisioned 2 of 4, ready slots 3 of 4"),
            id="within",
        ),
        pytest.param(
            {"b": "why b", "a": "why a"},
            1,
            (
                "False",
                "OverQuota",
                "2 Function(s) do not fit and are held at Ready=False: a, b. a: why a",
            ),
            id="held-names-sorted-first-reason-given",
        ),
        pytest.param(
            {},
            5,
            (
                "False",
                "OverQuota",
                (
                    "the namespace's ready pods have 5 invocation slots, more than maxConcurrency "
                    "4: the gateway throttles beyond 4; lower provisioned concurrency or raise "
                    "the quota"
                ),
            ),
            id="more-slots-than-the-quota",
        ),
    ],
)
def test_quota_condition(held: dict[str, str], slots: int, expected: tuple[str, str, str]) -> None:
    condition = quota_condition(SPEC, Sums(reserved=1, provisioned=2), held, slots)
    assert (condition.status, condition.reason, condition.message) == expected


def test_many_held_are_counted_not_all_named() -> None:
    held = {f"fn{i:02}": "why" for i in range(70)}
    condition = quota_condition(SPEC, Sums(), held, 0)
    assert "fn00, fn01" in condition.message
    assert "fn09 and 60 more. fn00: why" in condition.message


def test_status_has_the_use_and_the_generation() -> None:
    held = {f"fn{i:02}": "why" for i in range(70)}
    status = quota_status(SPEC, Sums(1, 2, 3, 4), held, 3, generation=7, now=NOW, previous=[])
    assert {k: v for k, v in status.items() if k not in {"conditions", "overQuota"}} == {
        "observedGeneration": 7,
        "functions": 4,
        "reserved": 1,
        "provisioned": 2,
        "slots": 3,
    }
    assert len(status["overQuota"]) == 64
    (ready,) = status["conditions"]
    assert ready["observedGeneration"] == 7
    assert ready["lastTransitionTime"] == "2026-11-27T08:00:00Z"
