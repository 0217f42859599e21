"""Durable settings from the environment: defaults, values, and refusals naming the variable."""

import pytest

from kappa.base.env import SettingsError
from kappa.durable.settings import MIB, DurableSettings

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    settings = DurableSettings.from_env({})
    assert settings == DurableSettings("kappa", 1, 64 * MIB, 100 * MIB)


def test_values() -> None:
    env = {
        "KAPPA_ASYNC_PREFIX": "blue",
        "KAPPA_ASYNC_REPLICAS": "3",
        "KAPPA_DURABLE_CACHE_BYTES": "0",
        "KAPPA_DURABLE_STATE_MAX_BYTES": str(2 * MIB),
    }
    assert DurableSettings.from_env(env) == DurableSettings("blue", 3, 0, 2 * MIB)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("KAPPA_ASYNC_PREFIX", "Blue.1", id="prefix"),
        pytest.param("KAPPA_ASYNC_REPLICAS", "6", id="replicas-high"),
        pytest.param("KAPPA_ASYNC_REPLICAS", "one", id="replicas-word"),
        pytest.param("KAPPA_DURABLE_CACHE_BYTES", "-1", id="cache-negative"),
        pytest.param("KAPPA_DURABLE_CACHE_BYTES", "64Mi", id="cache-unit"),
        pytest.param("KAPPA_DURABLE_STATE_MAX_BYTES", "1000", id="state-small"),
        pytest.param("KAPPA_DURABLE_STATE_MAX_BYTES", str(2048 * MIB), id="state-huge"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        DurableSettings.from_env({variable: value})
    [problem] = refused.value.problems
    assert problem.startswith(f"{variable}=")


def test_every_bad_variable_is_named_at_once() -> None:
    env = {"KAPPA_DURABLE_CACHE_BYTES": "x", "KAPPA_DURABLE_STATE_MAX_BYTES": "y"}
    with pytest.raises(SettingsError) as refused:
        DurableSettings.from_env(env)
    assert len(refused.value.problems) == 2
