from typing import Any

import pytest
from pydantic import ValidationError

from kappa.api import crd
from kappa.api.quota import ConcurrencyQuota, ConcurrencyQuotaSpec, ConcurrencyQuotaStatus
from tests.unit.api.function_cases import Refusal
from tests.unit.api.quota_cases import ACCEPTED, REFUSED


@pytest.mark.schema
@pytest.mark.parametrize("refusal", REFUSED)
def test_model_refuses_saying_what_to_fix(refusal: Refusal) -> None:
    with pytest.raises(ValidationError) as excinfo:
        ConcurrencyQuota.model_validate(refusal.manifest)
    assert refusal.model_expects in str(excinfo.value)


@pytest.mark.schema
@pytest.mark.parametrize("body", ACCEPTED)
def test_model_accepts_and_round_trips(body: dict[str, Any]) -> None:
    parsed = ConcurrencyQuota.model_validate(body)
    dumped = parsed.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["spec"] == body["spec"]


@pytest.mark.parametrize(
    ("spec", "limits"),
    [
        pytest.param({"maxConcurrency": 10}, (10, 10), id="unset-are-max-concurrency"),
        pytest.param({"maxConcurrency": 10, "maxReserved": 3}, (3, 10), id="reserved-set"),
        pytest.param({"maxConcurrency": 10, "maxProvisioned": 0}, (10, 0), id="provisioned-zero"),
    ],
)
def test_unset_limits_are_max_concurrency(spec: dict[str, Any], limits: tuple[int, int]) -> None:
    parsed = ConcurrencyQuotaSpec.model_validate(spec)
    assert (parsed.reserved_limit, parsed.provisioned_limit) == limits


def test_status_reads_what_the_operator_writes() -> None:
    status = ConcurrencyQuotaStatus.model_validate(
        {
            "observedGeneration": 2,
            "functions": 3,
            "reserved": 4,
            "provisioned": 1,
            "slots": 2,
            "overQuota": ["big"],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "OverQuota",
                    "message": "1 Function does not fit",
                    "lastTransitionTime": "2026-11-27T08:00:00Z",
                    "observedGeneration": 2,
                }
            ],
        }
    )
    assert status.over_quota == ("big",)


def test_crd_names_scope_columns_and_rules() -> None:
    generated = crd.quota_crd()
    spec = generated["spec"]
    assert generated["metadata"]["name"] == "concurrencyquotas.kappa.dev"
    assert spec["names"]["shortNames"] == ["cq"]
    assert spec["scope"] == "Namespaced"
    (version,) = spec["versions"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert columns == ["Ready", "Max", "Slots", "Reserved", "Provisioned", "Age"]
    quota_spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert quota_spec["required"] == ["maxConcurrency"]
    rules = [rule["rule"] for rule in quota_spec["x-kubernetes-validations"]]
    assert rules == [
        "!has(self.maxReserved) || self.maxReserved <= self.maxConcurrency",
        "!has(self.maxProvisioned) || self.maxProvisioned <= self.maxConcurrency",
    ]
