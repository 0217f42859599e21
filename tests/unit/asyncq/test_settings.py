import pytest

from kappa.asyncq.settings import AsyncSettings, gateway_url
from kappa.base.env import SettingsError


def test_defaults_are_lambdas() -> None:
    settings = AsyncSettings.from_env({})
    assert not settings.enabled
    assert settings.retry_delays == (60.0, 120.0)
    assert (settings.requeue_min_seconds, settings.requeue_max_seconds) == (1.0, 300.0)


def test_values_are_read() -> None:
    settings = AsyncSettings.from_env({
        "KAPPA_NATS_URL": "nats://a:4222, nats://b:4222",
        "KAPPA_ASYNC_RETRY_DELAYS": "0.5,1",
        "KAPPA_ASYNC_WORKERS": "0",
        "KAPPA_ASYNC_PREFIX": "blue",
        "KAPPA_ASYNC_REPLICAS": "3",
    })  # fmt: skip
    assert settings.servers == ["nats://a:4222", "nats://b:4222"]
    assert settings.replicas == 3
    assert settings.retry_delays == (0.5, 1.0)
    assert (settings.workers, settings.prefix) == (0, "blue")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({"KAPPA_ASYNC_RETRY_DELAYS": "60"}, "KAPPA_ASYNC_RETRY_DELAYS", id="one-delay"),
        pytest.param({"KAPPA_ASYNC_RETRY_DELAYS": "1,-1"}, "KAPPA_ASYNC_RETRY_DELAYS",
                     id="negative-delay"),
        pytest.param({"KAPPA_ASYNC_WORKERS": "many"}, "KAPPA_ASYNC_WORKERS", id="not-a-number"),
        pytest.param({"KAPPA_ASYNC_PREFIX": "Kappa.X"}, "KAPPA_ASYNC_PREFIX", id="bad-prefix"),
        pytest.param({"KAPPA_ASYNC_REQUEUE_MIN_SECONDS": "10",
                      "KAPPA_ASYNC_REQUEUE_MAX_SECONDS": "5"},
                     "KAPPA_ASYNC_REQUEUE_MAX_SECONDS", id="max-below-min"),
        pytest.param({"KAPPA_ASYNC_REPLICAS": "0"}, "KAPPA_ASYNC_REPLICAS", id="no-replica"),
        pytest.param({"KAPPA_ASYNC_REPLICAS": "6"}, "KAPPA_ASYNC_REPLICAS",
                     id="more-replicas-than-jetstream-keeps"),
    ],
)  # fmt: skip
def test_bad_values_are_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        AsyncSettings.from_env(env)


def test_gateway_url_for_the_cli() -> None:
    assert gateway_url({}) == "http://127.0.0.1:8000"
    assert gateway_url({"KAPPA_GATEWAY_URL": "http://10.0.0.1/"}) == "http://10.0.0.1"


def test_nats_credentials_are_passed_to_connect_and_kept_out_of_repr() -> None:
    settings = AsyncSettings.from_env({
        "KAPPA_NATS_URL": "nats://a:4222",
        "KAPPA_NATS_USER": "gateway",
        "KAPPA_NATS_PASSWORD": "s3cret",
    })  # fmt: skip
    assert settings.credentials == {"user": "gateway", "password": "s3cret"}
    assert "s3cret" not in repr(settings)
    assert AsyncSettings.from_env({"KAPPA_NATS_URL": "nats://a:4222"}).credentials == {}


@pytest.mark.parametrize(
    "env",
    [pytest.param({"KAPPA_NATS_USER": "gateway"}, id="user-alone"),
     pytest.param({"KAPPA_NATS_PASSWORD": "s3cret"}, id="password-alone")],
)  # fmt: skip
def test_a_nats_user_without_password_or_the_reverse_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="KAPPA_NATS_USER and KAPPA_NATS_PASSWORD"):
        AsyncSettings.from_env(env)
