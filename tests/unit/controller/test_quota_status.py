from datetime import UTC, datetime

import pytest

from kappa.api.quota import USAGE_LISTED, ConcurrencyQuotaSpec, ConcurrencyQuotaStatus
from kappa.controller.quota_status import quota_condition, quota_status, usage_status
from kappa.quota.claims import Sums
from kappa.quota.usage import Usage

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


def test_usage_sums_the_namespace_and_ranks_functions_by_gb_seconds() -> None:
    usage = {
        "thumbs": sum((Usage.of(100, 512) for _ in range(100)), Usage()),  # 5 GB-s
        "tiny": Usage.of(1, 128),
        "big": Usage.of(3000, 10240),  # 30 GB-s
    }
    block = usage_status(usage, NOW)
    assert block == {
        "since": "2026-11-27T08:00:00Z",
        "requests": 102,
        "billedSeconds": 13.001,
        "gbSeconds": 35.0,  # 35.000125, to the thousandth
        "functions": [
            {"name": "big", "requests": 1, "billedSeconds": 3.0, "gbSeconds": 30.0},
            {"name": "thumbs", "requests": 100, "billedSeconds": 10.0, "gbSeconds": 5.0},
            {"name": "tiny", "requests": 1, "billedSeconds": 0.001, "gbSeconds": 0.0},
        ],
    }
    # What the builder writes is what the CRD's schema takes.
    ConcurrencyQuotaStatus.model_validate({"usage": block})


def test_usage_lists_the_top_functions_only_ties_by_name() -> None:
    usage = {f"fn{i:02}": Usage.of(10 * (i // 2) + 10, 128) for i in range(30)}
    listed = usage_status(usage, NOW)["functions"]
    assert len(listed) == USAGE_LISTED
    assert [f["name"] for f in listed[:4]] == ["fn28", "fn29", "fn26", "fn27"]
    assert usage_status(usage, NOW)["requests"] == 30  # the sums count every Function


def test_no_usage_yet_shows_zeros_since_the_start() -> None:
    status = quota_status(SPEC, Sums(), {}, 0, generation=1, now=NOW, previous=[],
                          usage={}, since=NOW)  # fmt: skip
    assert status["usage"] == {"since": "2026-11-27T08:00:00Z", "requests": 0,
                               "billedSeconds": 0.0, "gbSeconds": 0.0, "functions": []}  # fmt: skip
