from pathlib import Path

import pytest

from kappa.base.env import SettingsError
from kappa.gateway.settings import GatewaySettings


def test_defaults() -> None:
    settings = GatewaySettings.from_env({})
    assert settings == GatewaySettings()
    assert settings.port == 8000
    assert settings.queue_max_waiters == 100
    assert settings.queue_max_wait_seconds == 10.0
    assert settings.max_queued_bytes == 64 * 1024 * 1024
    assert settings.metrics_max_functions == 500
    assert settings.readiness_probe_seconds == 0.02
    assert settings.readiness_max_probes == 32


def test_values() -> None:
    settings = GatewaySettings.from_env(
        {
            "KAPPA_GATEWAY_PORT": "0",
            "KAPPA_GATEWAY_REGISTRY": "/r.json",
            "KAPPA_GATEWAY_QUEUE_MAX_WAIT_SECONDS": "0.5",
            "KAPPA_GATEWAY_BUSY_BACKOFF_MS": "50",
            "KAPPA_GATEWAY_MAX_QUEUED_BYTES": "8388608",
            "KAPPA_LOG_LEVEL": "debug",
            "KAPPA_LOG_FORMAT": "JSON",
            "KAPPA_METRICS_MAX_FUNCTIONS": "0",
            "KAPPA_GATEWAY_READINESS_PROBE_MS": "0",
            "KAPPA_GATEWAY_READINESS_PROBES": "4",
        }
    )
    assert settings.readiness_probe_seconds == 0
    assert settings.readiness_max_probes == 4
    assert settings.metrics_max_functions == 0
    assert settings.max_queued_bytes == 8 * 1024 * 1024
    assert settings.port == 0
    assert settings.registry_file == Path("/r.json")
    assert settings.queue_max_wait_seconds == 0.5
    assert settings.busy_backoff_seconds == 0.05
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "json"


def test_every_bad_variable_is_named() -> None:
    with pytest.raises(SettingsError) as refused:
        GatewaySettings.from_env(
            {
                "KAPPA_GATEWAY_PORT": "70000",
                "KAPPA_GATEWAY_CONCURRENCY_LIMIT": "many",
                "KAPPA_LOG_LEVEL": "loud",
                "KAPPA_LOG_FORMAT": "yaml",
                # Below the largest body: a 6 MB call could never be served.
                "KAPPA_GATEWAY_MAX_QUEUED_BYTES": "1048576",
                "KAPPA_METRICS_MAX_FUNCTIONS": "-1",
                "KAPPA_GATEWAY_READINESS_PROBE_MS": "-5",
                "KAPPA_GATEWAY_READINESS_PROBES": "0",
            }
        )
    message = str(refused.value)
    assert "KAPPA_GATEWAY_READINESS_PROBE_MS" in message
    assert "KAPPA_GATEWAY_READINESS_PROBES" in message
    assert "KAPPA_METRICS_MAX_FUNCTIONS" in message
    assert "KAPPA_GATEWAY_MAX_QUEUED_BYTES" in message
    assert "KAPPA_GATEWAY_PORT" in message
    assert "KAPPA_GATEWAY_CONCURRENCY_LIMIT" in message
    assert "KAPPA_LOG_LEVEL" in message
    assert "KAPPA_LOG_FORMAT='yaml' is not one of text, json" in message


@pytest.mark.parametrize(
    ("env", "url"),
    [
        pytest.param({}, None, id="none"),
        pytest.param({"KAPPA_GATEWAY_AUTOSCALER_URL": "http://op:81"}, "http://op:81", id="given"),
        pytest.param(
            {"KAPPA_OPERATOR_SERVICE_HOST": "10.0.0.7", "KAPPA_OPERATOR_SERVICE_PORT": "8081"},
            "http://10.0.0.7:8081",
            id="service-variables",
        ),
        pytest.param(
            {"KAPPA_OPERATOR_SERVICE_HOST": "fd00::7", "KAPPA_OPERATOR_SERVICE_PORT": "1",
             "KAPPA_OPERATOR_SERVICE_PORT_AUTOSCALER": "8081"},
            "http://[fd00::7]:8081",
            id="named-port-ipv6",
        ),
        pytest.param(
            {"KAPPA_GATEWAY_AUTOSCALER_URL": "http://x:1", "KAPPA_OPERATOR_SERVICE_HOST": "h",
             "KAPPA_OPERATOR_SERVICE_PORT": "2"},
            "http://x:1",
            id="explicit-wins",
        ),
    ],
)  # fmt: skip
def test_autoscaler_url(env: dict[str, str], url: str | None) -> None:
    assert GatewaySettings.from_env(env).autoscaler_url == url


def test_tracing_is_off_unless_a_collector_is_named() -> None:
    assert GatewaySettings.from_env({}).tracing_endpoint is None
    settings = GatewaySettings.from_env(
        {"KAPPA_TRACING_OTLP_ENDPOINT": " http://otel:4318 ", "KAPPA_TRACING_SAMPLE_RATIO": "0.1"}
    )
    assert settings.tracing_endpoint is not None
    assert (settings.tracing_endpoint.host, settings.tracing_endpoint.port) == ("otel", 4318)
    assert settings.tracing_sample_ratio == 0.1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param(
            {"KAPPA_TRACING_OTLP_ENDPOINT": "otel:4318"},
            "KAPPA_TRACING_OTLP_ENDPOINT",
            id="no-scheme",
        ),
        pytest.param(
            {"KAPPA_TRACING_OTLP_ENDPOINT": "http://u:p@otel"}, "credentials", id="credentials"
        ),
        pytest.param(
            {"KAPPA_TRACING_SAMPLE_RATIO": "1.5"}, "KAPPA_TRACING_SAMPLE_RATIO", id="ratio-above-1"
        ),
        pytest.param(
            {"KAPPA_TRACING_SAMPLE_RATIO": "-0.1"}, "KAPPA_TRACING_SAMPLE_RATIO", id="negative"
        ),
        pytest.param({"KAPPA_TRACING_SAMPLE_RATIO": "nan"}, "KAPPA_TRACING_SAMPLE_RATIO", id="nan"),
    ],
)
def test_bad_tracing_settings_are_refused(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        GatewaySettings.from_env(env)


@pytest.mark.parametrize(
    ("value", "url"),
    [
        pytest.param("", None, id="unset-no-store"),
        pytest.param("http://10.96.0.9:8080/", "http://10.96.0.9:8080", id="trailing-slash"),
        pytest.param("https://store.example", "https://store.example", id="https"),
    ],
)
def test_code_store_url(value: str, url: str | None) -> None:
    settings = GatewaySettings.from_env({"KAPPA_GATEWAY_CODE_STORE_URL": value})
    assert settings.code_store_url == url


@pytest.mark.parametrize("value", ["ftp://x", "10.0.0.1:8080", "http://a b"])
def test_a_bad_code_store_url_is_named(value: str) -> None:
    with pytest.raises(SettingsError, match="KAPPA_GATEWAY_CODE_STORE_URL"):
        GatewaySettings.from_env({"KAPPA_GATEWAY_CODE_STORE_URL": value})


def test_the_stream_idle_timeout_is_read_and_bounded() -> None:
    assert GatewaySettings.from_env({}).stream_idle_timeout_seconds == 60.0
    env = {"KAPPA_GATEWAY_STREAM_IDLE_TIMEOUT_SECONDS": "2.5"}
    assert GatewaySettings.from_env(env).stream_idle_timeout_seconds == 2.5
    for bad in ("0", "901", "soon"):
        with pytest.raises(SettingsError, match="KAPPA_GATEWAY_STREAM_IDLE_TIMEOUT_SECONDS"):
            GatewaySettings.from_env({"KAPPA_GATEWAY_STREAM_IDLE_TIMEOUT_SECONDS": bad})
