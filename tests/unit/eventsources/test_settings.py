import pytest

from kappa.base.env import SettingsError
from kappa.eventsources.settings import PollerSettings
from kappa.resources.poller_env import field_name, secret_variable


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        pytest.param("password", "KAPPA_ESM_SECRET_PASSWORD", id="one-word"),
        pytest.param("accessKeyId", "KAPPA_ESM_SECRET_ACCESS_KEY_ID", id="camel"),
        pytest.param("secretAccessKey", "KAPPA_ESM_SECRET_SECRET_ACCESS_KEY", id="camel-3"),
    ],
)
def test_secret_variables_round_trip(field: str, variable: str) -> None:
    assert secret_variable(field) == variable
    assert field_name(variable) == field


def test_gateway_from_the_service_variables_the_kubelet_sets() -> None:
    settings = PollerSettings.from_env(
        {"KAPPA_GATEWAY_SERVICE_HOST": "10.96.0.9", "KAPPA_GATEWAY_SERVICE_PORT": "80"}
    )
    assert settings.gateway_url == "http://10.96.0.9:80"


def test_an_explicit_gateway_url_wins() -> None:
    settings = PollerSettings.from_env(
        {"KAPPA_GATEWAY_URL": "http://gw:8000", "KAPPA_GATEWAY_SERVICE_HOST": "10.96.0.9"}
    )
    assert settings.gateway_url == "http://gw:8000"


def test_credentials_are_collected_by_field() -> None:
    settings = PollerSettings.from_env(
        {"KAPPA_ESM_SECRET_ACCESS_KEY_ID": "AK", "KAPPA_ESM_SECRET_PASSWORD": "pw", "OTHER": "x"}
    )
    assert settings.credentials == {"accessKeyId": "AK", "password": "pw"}


def test_bad_numbers_name_the_variables() -> None:
    with pytest.raises(SettingsError, match="KAPPA_ESM_METRICS_PORT"):
        PollerSettings.from_env({"KAPPA_ESM_METRICS_PORT": "http"})


def test_every_bad_variable_is_named_with_its_value() -> None:
    with pytest.raises(SettingsError) as caught:
        PollerSettings.from_env(
            {
                "KAPPA_ESM_REPORT_SECONDS": "0",
                "KAPPA_LOG_LEVEL": "chatty",
                "KAPPA_LOG_FORMAT": "logfmt",
                "KAPPA_GATEWAY_SERVICE_HOST": "10.96.0.9",
                "KAPPA_GATEWAY_SERVICE_PORT": "http",
            }
        )
    problems = caught.value.problems
    assert [p.split("=")[0] for p in problems] == [
        "KAPPA_GATEWAY_SERVICE_PORT",
        "KAPPA_LOG_LEVEL",
        "KAPPA_LOG_FORMAT",
        "KAPPA_ESM_REPORT_SECONDS",
    ]
    assert "'chatty'" in problems[1]


def test_defaults_and_a_lower_case_log_level() -> None:
    settings = PollerSettings.from_env({"KAPPA_LOG_LEVEL": "debug"})
    assert settings.log_format == "text"
    assert PollerSettings.from_env({"KAPPA_LOG_FORMAT": "Json"}).log_format == "json"
    assert (settings.log_level, settings.report_seconds, settings.metrics_port) == ("DEBUG", 5, 0)
    assert settings.gateway_url is None
