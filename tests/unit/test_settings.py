from collections.abc import Mapping

import pydantic
import pytest

from kappa.base.env import SettingsError
from kappa.base.logs import LogFormat
from kappa.settings import LogLevel, Settings, load


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, Settings(), id="empty-env-gives-defaults"),
        pytest.param(
            {"KAPPA_NAMESPACE": "team-a"},
            Settings(namespace="team-a"),
            id="namespace",
        ),
        pytest.param(
            {"KAPPA_LOG_LEVEL": "debug"},
            Settings(log_level=LogLevel.DEBUG),
            id="log-level-any-case",
        ),
        pytest.param(
            {"KAPPA_LOG_LEVEL": " Warning "},
            Settings(log_level=LogLevel.WARNING),
            id="log-level-stripped",
        ),
        pytest.param(
            {"KAPPA_LOG_FORMAT": " JSON "},
            Settings(log_format=LogFormat.JSON),
            id="log-format-any-case",
        ),
        pytest.param(
            {"KAPPA_NAMESPACE": "ns1", "KAPPA_LOG_LEVEL": "ERROR", "HOME": "/root"},
            Settings(namespace="ns1", log_level=LogLevel.ERROR),
            id="unrelated-variables-ignored",
        ),
        pytest.param(
            {
                "KAPPA_CONCURRENCY_LIMIT": "3000",
                "KAPPA_UNRESERVED_MINIMUM": "0",
                "KAPPA_WEBHOOK_SERVICE": "kappa-operator",
                "KAPPA_WEBHOOK_PORT": "8443",
            },
            Settings(
                concurrency_limit=3000,
                unreserved_minimum=0,
                webhook_service="kappa-operator",
                webhook_port=8443,
            ),
            id="limits-and-webhook",
        ),
        pytest.param({"KAPPA_KUBE_THREADS": "64"}, Settings(kube_threads=64), id="kube-threads"),
        pytest.param(
            {"KAPPA_RESYNC_SECONDS": "36000"}, Settings(resync_seconds=36000), id="resync"
        ),
        pytest.param(
            {"KAPPA_LEADER_ELECTION": "true", "KAPPA_POD_NAME": "kappa-operator-7d9f-x2l.a"},
            Settings(leader_election=True, pod_name="kappa-operator-7d9f-x2l.a"),
            id="leader-election",
        ),
    ],
)
def test_from_env(env: Mapping[str, str], expected: Settings) -> None:
    assert Settings.from_env(env) == expected


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.namespace == "kappa-system"
    assert settings.log_level is LogLevel.INFO
    assert (settings.concurrency_limit, settings.unreserved_minimum) == (1000, 100)
    assert settings.webhook_service == ""
    assert settings.kube_threads == 6  # measured (BENCHMARKS.md), whatever the node's CPUs


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"KAPPA_NAMESPACE": ""},
            "KAPPA_NAMESPACE='' is invalid: '' is not a valid DNS-1123 label: it is empty",
            id="empty-namespace",
        ),
        pytest.param(
            {"KAPPA_NAMESPACE": "Kappa"},
            "KAPPA_NAMESPACE='Kappa' is invalid",
            id="uppercase-namespace",
        ),
        pytest.param(
            {"KAPPA_LOG_FORMAT": "xml"},
            "KAPPA_LOG_FORMAT='xml' is invalid",
            id="unknown-log-format",
        ),
        pytest.param(
            {"KAPPA_LOG_LEVEL": "LOUD"},
            "KAPPA_LOG_LEVEL='LOUD' is invalid",
            id="unknown-log-level",
        ),
        pytest.param(
            {"KAPPA_CONCURRENCY_LIMIT": "0"},
            "KAPPA_CONCURRENCY_LIMIT='0' is invalid: Input should be greater than or equal to 1",
            id="zero-cluster-limit",
        ),
        pytest.param(
            {"KAPPA_UNRESERVED_MINIMUM": "-1"},
            "KAPPA_UNRESERVED_MINIMUM='-1' is invalid",
            id="negative-unreserved-minimum",
        ),
        pytest.param(
            {"KAPPA_WEBHOOK_SERVICE": "Kappa_Op"},
            "KAPPA_WEBHOOK_SERVICE='Kappa_Op' is invalid",
            id="webhook-service-not-a-label",
        ),
        pytest.param(
            {"KAPPA_KUBE_THREADS": "0"},
            "KAPPA_KUBE_THREADS='0' is invalid: Input should be greater than or equal to 1",
            id="no-kube-threads",
        ),
        pytest.param(
            {"KAPPA_KUBE_THREADS": "10000"},
            "KAPPA_KUBE_THREADS='10000' is invalid: Input should be less than or equal to 256",
            id="too-many-kube-threads",
        ),
        pytest.param(
            {"KAPPA_RESYNC_SECONDS": "1"},
            "KAPPA_RESYNC_SECONDS='1' is invalid: Input should be greater than or equal to 10",
            id="resync-too-short",
        ),
        pytest.param(
            {"KAPPA_POD_NAME": "Kappa_Operator"},
            "KAPPA_POD_NAME='Kappa_Operator' is invalid: must be a pod's name",
            id="pod-name-not-a-name",
        ),
    ],
)
def test_invalid_value_names_the_variable(env: Mapping[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env(env)
    assert str(excinfo.value).startswith(message)


def test_every_invalid_variable_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as excinfo:
        Settings.from_env({"KAPPA_NAMESPACE": "-x", "KAPPA_LOG_LEVEL": "LOUD"})
    lines = str(excinfo.value).splitlines()
    assert [line.split("=", 1)[0] for line in lines] == ["KAPPA_NAMESPACE", "KAPPA_LOG_LEVEL"]


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(pydantic.ValidationError):
        settings.namespace = "other"  # type: ignore[misc]


def test_load_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPPA_NAMESPACE", "from-process")
    monkeypatch.delenv("KAPPA_LOG_LEVEL", raising=False)
    assert load() == Settings(namespace="from-process")


def test_direct_construction_validates_too() -> None:
    # Code that builds Settings by hand (tests, embedding) gets the same checks as from_env.
    with pytest.raises(pydantic.ValidationError, match="DNS-1123"):
        Settings(namespace="Not_Valid")


def test_network_policy_settings_are_json_lists_of_objects() -> None:
    settings = Settings.from_env({
        "KAPPA_NETWORK_POLICIES": "true",
        "KAPPA_NETWORK_POLICY_METRICS_FROM": '[{"namespaceSelector": {}}]',
    })  # fmt: skip
    assert settings.network_policies
    assert settings.network_policy_metrics_from == ({"namespaceSelector": {}},)
    assert settings.network_policy_egress is None  # unset: egress unrestricted
    assert Settings.from_env({"KAPPA_NETWORK_POLICY_EGRESS": "[]"}).network_policy_egress == ()
    for bad in ("{", '{"a": 1}', "[1]", "[" * 100_000, "[" + "{}," * 30_000 + "{}]"):
        with pytest.raises(SettingsError, match="KAPPA_NETWORK_POLICY_EGRESS"):
            Settings.from_env({"KAPPA_NETWORK_POLICY_EGRESS": bad})


def test_tracing_settings_are_checked() -> None:
    assert Settings.from_env({}).tracing_otlp_endpoint == ""  # off
    on = Settings.from_env({
        "KAPPA_TRACING_OTLP_ENDPOINT": " http://otel.observability:4318 ",
        "KAPPA_TRACING_SAMPLE_RATIO": "0.5",
    })  # fmt: skip
    assert (on.tracing_otlp_endpoint, on.tracing_sample_ratio) == (
        "http://otel.observability:4318",
        0.5,
    )
    for variable, bad in (
        ("KAPPA_TRACING_OTLP_ENDPOINT", "otel:4318"),
        ("KAPPA_TRACING_OTLP_ENDPOINT", "http://otel/?x=1"),
        ("KAPPA_TRACING_SAMPLE_RATIO", "1.01"),
        ("KAPPA_TRACING_SAMPLE_RATIO", "-1"),
    ):
        with pytest.raises(SettingsError, match=variable):
            Settings.from_env({variable: bad})
