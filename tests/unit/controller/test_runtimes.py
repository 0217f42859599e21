import pytest

from kappa.base.env import SettingsError
from kappa.controller.runtimes import runtime_refusal
from kappa.settings import DEFAULT_RUNTIMES, Settings

HERE = ("python3.11", "nodejs20", "image")


def fn(runtime: object) -> dict[str, object]:
    return {"spec": {"runtime": runtime, "handler": "app.handler"}}


@pytest.mark.parametrize("runtime", HERE)
def test_an_installed_runtime_passes(runtime: str) -> None:
    assert runtime_refusal(fn(runtime), HERE) is None


def test_a_runtime_without_images_is_refused_naming_those_there_are() -> None:
    assert runtime_refusal(fn("python3.12"), HERE) == (
        "spec.runtime python3.12 is not installed in this cluster: use one of "
        "python3.11, nodejs20, image (the platform team adds runtimes with the chart value "
        "runtimeImages.runtimes and their images)"
    )


@pytest.mark.parametrize(
    "body", [{}, {"spec": {}}, fn(None), fn(3)], ids=["no-spec", "no-runtime", "null", "number"]
)
def test_what_is_no_runtime_is_left_to_the_schema(body: dict[str, object]) -> None:
    assert runtime_refusal(body, HERE) is None


def test_settings_read_the_runtimes_from_the_environment() -> None:
    assert Settings.from_env({}).runtimes == DEFAULT_RUNTIMES
    assert Settings.from_env({"KAPPA_RUNTIMES": " python3.12, image ,"}).runtimes == (
        "python3.12",
        "image",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("python2.7,image", "unknown runtimes python2.7", id="unknown"),
        pytest.param(" , ", "name at least one runtime", id="empty"),
    ],
)
def test_settings_refuse_runtimes_kappa_does_not_know(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        Settings.from_env({"KAPPA_RUNTIMES": value})
    assert "KAPPA_RUNTIMES" in str(refused.value)
