from typing import Any

import pytest

from kappa.api.function import FunctionSpec
from kappa.api.meta import ConditionStatus
from kappa.controller.pool_eligibility import (
    Eligibility,
    PoolClass,
    Reason,
    eligibility,
    eligibility_condition,
)

POOLS = [
    PoolClass("py-256", "python3.11", 256, 512),
    PoolClass("py-128", "python3.11", 128, 512),
    PoolClass("a-py-256", "python3.11", 256, 512),
    PoolClass("node-256", "nodejs22", 256, 512),
]


def spec(**fields: Any) -> FunctionSpec:
    base: dict[str, Any] = {
        "runtime": "python3.11",
        "handler": "app.handler",
        "code": {"inline": {"app.py": "def handler(e, c):\n    return e\n"}},
        "memoryMB": 256,
    }
    return FunctionSpec.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("fields", "pool", "reason", "says"),
    [
        pytest.param({}, "a-py-256", Reason.ELIGIBLE, "a-py-256", id="first-matching-by-name"),
        pytest.param({"memoryMB": 128}, "py-128", Reason.ELIGIBLE, "py-128", id="size-class"),
        pytest.param(
            {"runtime": "nodejs22", "handler": "index.handler",
             "code": {"url": {"url": "https://example.com/c.zip", "sha256": "a" * 64}}},
            "node-256", Reason.ELIGIBLE, "node-256", id="url-code-node",
        ),
        pytest.param(
            {"env": [{"name": "MODE", "value": "fast"}]}, "a-py-256", Reason.ELIGIBLE, "pool",
            id="literal-env-is-fine",
        ),
        pytest.param(
            {"concurrency": {"perPod": 4}}, "a-py-256", Reason.ELIGIBLE, "pool",
            id="slots-start-at-specialisation",
        ),
        pytest.param(
            {"runtime": "image", "handler": None, "code": {"image": "registry.example/fn:1"}},
            None, Reason.RUNTIME_IMAGE, "own image", id="image",
        ),
        pytest.param(
            {"code": {"image": "registry.example/fn-code:1"}},
            None, Reason.CODE_IMAGE, "fn-code:1", id="code-image",
        ),
        pytest.param(
            {"serviceAccountName": "reader"}, None, Reason.SERVICE_ACCOUNT, "reader",
            id="service-account",
        ),
        pytest.param(
            {"env": [{"name": "TOKEN",
                      "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
            None, Reason.ENV_FROM_REFERENCES, "TOKEN", id="secret-env",
        ),
        pytest.param(
            {"layers": [{"name": "shared"}]}, None, Reason.LAYERS, "layers", id="layers",
        ),
        pytest.param(
            {"concurrency": {"perRuntime": 8}}, None, Reason.PER_RUNTIME, "perRuntime 8",
            id="per-runtime",
        ),
        pytest.param(
            {"durable": {"executionTimeoutSeconds": 3600}}, None, Reason.DURABLE,
            "pod credential", id="durable",
        ),
        pytest.param({"memoryMB": 512}, None, Reason.NO_POOL, "512 MB", id="no-size-class"),
        pytest.param(
            {"ephemeralStorageMB": 1024}, None, Reason.NO_POOL, "1024 MB", id="other-storage",
        ),
        pytest.param(
            {"runtime": "python3.12"}, None, Reason.NO_POOL, "python3.12", id="no-runtime-pool",
        ),
    ],
)  # fmt: skip
def test_eligibility(fields: dict[str, Any], pool: str | None, reason: Reason, says: str) -> None:
    found = eligibility(spec(**fields), POOLS)
    assert (found.pool, found.reason) == (pool, reason)
    assert says in found.message


def test_no_pools_at_all() -> None:
    assert eligibility(spec(), []).reason is Reason.NO_POOL


def test_the_condition_says_the_pool_or_why_not() -> None:
    yes = eligibility_condition(Eligibility("py", Reason.ELIGIBLE, "starts from warm pool py"))
    assert (yes.type, yes.status, yes.reason) == ("PoolEligible", ConditionStatus.TRUE, "Eligible")
    no = eligibility_condition(Eligibility(None, Reason.NO_POOL, "not from a warm pool: ..."))
    assert (no.status, no.reason, no.message) == (
        ConditionStatus.FALSE, "NoPool", "not from a warm pool: ..."
    )  # fmt: skip
