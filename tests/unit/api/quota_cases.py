"""ConcurrencyQuota manifests the API must refuse or accept: one table for the models and the API.

tests/unit/api/test_quota.py checks the pydantic models against it; e2e/test_quota.py
creates the same manifests (server-side dry run) on a real API server with the
generated CRD. ``says`` is a substring both word alike, ``apiserver_says`` and
``model_says`` where each has its own words.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.api.function_cases import Refusal


def quota(name: str = "default", **spec: Any) -> dict[str, Any]:
    """A ConcurrencyQuota manifest with ``spec`` (maxConcurrency 10 unless given)."""
    return {
        "apiVersion": "kappa.dev/v1alpha1",
        "kind": "ConcurrencyQuota",
        "metadata": {"name": name},
        "spec": {"maxConcurrency": 10, **spec},
    }


REFUSED = [
    pytest.param(
        Refusal(quota(maxReserved=11), "spec.maxReserved is greater than spec.maxConcurrency"),
        id="reserved-above-concurrency",
    ),
    pytest.param(
        Refusal(
            quota(maxProvisioned=20), "spec.maxProvisioned is greater than spec.maxConcurrency"
        ),
        id="provisioned-above-concurrency",
    ),
    pytest.param(
        Refusal(quota(maxConcurrency=-1), "greater than or equal to 0"),
        id="concurrency-negative",
    ),
    pytest.param(
        Refusal(quota(maxConcurrency=1_000_001), "less than or equal to 1000000"),
        id="concurrency-above-a-million",
    ),
    pytest.param(
        Refusal(quota(maxReserved=-1), "greater than or equal to 0"), id="reserved-negative"
    ),
    pytest.param(
        Refusal(quota(maxProvisioned=-1), "greater than or equal to 0"),
        id="provisioned-negative",
    ),
    pytest.param(
        Refusal(quota(maxQueuedEvents=-1), "greater than or equal to 0"),
        id="queued-events-negative",
    ),
    pytest.param(
        Refusal(quota(maxQueuedEvents=10_000_001), "less than or equal to 10000000"),
        id="queued-events-above-ten-million",
    ),
    pytest.param(
        Refusal(quota(maxQueuedBytes=-1), "greater than or equal to 0"),
        id="queued-bytes-negative",
    ),
    pytest.param(
        Refusal(quota(maxQueuedBytes=(1 << 40) + 1), "less than or equal to 1099511627776"),
        id="queued-bytes-above-a-tebibyte",
    ),
    pytest.param(
        Refusal(
            {**quota(), "spec": {"maxReserved": 1}},
            apiserver_says="spec.maxConcurrency: Required value",
            model_says="maxConcurrency\n  Field required",
        ),
        id="concurrency-missing",
    ),
    pytest.param(
        Refusal(
            quota(maxConcurrency="10"),
            apiserver_says="must be of type integer",
            model_says="Input should be a valid integer",
        ),
        id="concurrency-as-string",
    ),
]

ACCEPTED = [
    pytest.param(quota(), id="concurrency-only"),
    pytest.param(quota(maxReserved=10, maxProvisioned=10), id="all-at-the-limit"),
    pytest.param(quota(maxConcurrency=0), id="zero-throttles-everything"),
    pytest.param(quota(maxReserved=0, maxProvisioned=5), id="no-reservations"),
    pytest.param(quota(maxQueuedEvents=0), id="no-async-events"),
    pytest.param(quota(maxQueuedEvents=50_000), id="queued-events-above-concurrency"),
    pytest.param(quota(maxQueuedBytes=64 << 20), id="queued-bytes"),
    pytest.param(quota(maxQueuedEvents=100, maxQueuedBytes=0), id="no-async-bytes"),
]
