"""A WarmPool's spec: what it defaults to and what it refuses, saying what to fix."""

import pytest
from pydantic import ValidationError

from kappa.api.crd import warm_pool_crd
from kappa.api.warm_pool import WarmPool

pytestmark = pytest.mark.unit


def pool(**spec: object) -> WarmPool:
    return WarmPool.model_validate(
        {"metadata": {"name": "py", "namespace": "team"}, "spec": {"runtime": "python3.11", **spec}}
    )


def test_a_pool_defaults_to_one_pod_of_the_default_size_class() -> None:
    spec = pool().spec
    assert (spec.memory_mb, spec.ephemeral_storage_mb, spec.refill_seconds) == (128, 512, 2)
    assert (spec.size.min, spec.size.max) == (1, 10)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"runtime": "image"}, "a runtime image is its Function's own pod"),
        ({"size": {"min": 3, "max": 2}}, "spec.size.min must be at most spec.size.max"),
        ({"size": {"min": 101}}, "less than or equal to 100"),
        ({"memoryMB": 64}, "greater than or equal to 128"),
        ({"refillSeconds": 0}, "greater than or equal to 1"),
        ({"runtime": "cobol"}, "Input should be"),
    ],
)
def test_a_pool_that_cannot_be_kept_is_refused_saying_what_to_fix(
    spec: dict[str, object], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        pool(**spec)
    assert says in str(refused.value)


def test_the_crd_carries_the_same_rules_for_the_api_server() -> None:
    rendered = str(warm_pool_crd())
    assert "self.runtime != 'image'" in rendered
    assert "self.min <= self.max" in rendered
