from typing import Any

import pytest

from kappa.cli.project import Project, ProjectError, project, read_kappa_yaml

NO_FLAGS: dict[str, str | None] = {
    "name": None,
    "namespace": None,
    "runtime": None,
    "handler": None,
}


def _project(settings: dict[str, Any], context: str | None = None, **flags: str) -> Project:
    return project(
        read_kappa_yaml(settings),
        {**NO_FLAGS, **flags},
        folder_name="my-fn",
        context_namespace=context,
    )


def test_kappa_yaml_gives_every_setting() -> None:
    settings = {
        "name": "orders",
        "namespace": "team-a",
        "runtime": "python3.12",
        "handler": "main.run",
        "memoryMB": 512,
        "timeoutSeconds": 60,
    }
    assert _project(settings) == Project("orders", "team-a", "python3.12", "main.run", 512, 60)


def test_flags_win_over_kappa_yaml() -> None:
    found = _project(
        {"name": "orders", "runtime": "python3.12"},
        name="other",
        namespace="team-b",
        runtime="nodejs22",
        handler="index.go",
    )
    assert (found.name, found.namespace, found.runtime, found.handler) == (
        "other",
        "team-b",
        "nodejs22",
        "index.go",
    )


@pytest.mark.parametrize(
    ("runtime", "handler", "python"),
    [
        pytest.param("python3.11", "app.handler", "3.11", id="python"),
        pytest.param("python3.13", "app.handler", "3.13", id="python-3.13"),
        pytest.param("nodejs20", "index.handler", None, id="node"),
    ],
)
def test_defaults_name_namespace_and_handler(
    runtime: str, handler: str, python: str | None
) -> None:
    found = _project({}, runtime=runtime)
    assert (found.name, found.namespace, found.handler) == ("my-fn", "default", handler)
    assert found.python_version == python


def test_the_kubeconfig_contexts_namespace_is_the_default() -> None:
    assert _project({"runtime": "python3.11"}, context="team-c").namespace == "team-c"


@pytest.mark.parametrize(
    ("settings", "flags", "says"),
    [
        pytest.param({}, {}, "say which runtime: --runtime RUNTIME", id="no-runtime"),
        pytest.param({"runtime": "java21"}, {}, "'java21' is not one of", id="unknown-runtime"),
        pytest.param({"runtime": "provided"}, {}, "is not one of", id="provided-not-packaged"),
        pytest.param(
            {"runtime": "python3.11"}, {"name": "My_Fn"}, "pass --name NAME", id="bad-name"
        ),
        pytest.param(
            {"runtime": "python3.11", "namespace": "Team A"}, {}, "namespace", id="bad-namespace"
        ),
        pytest.param(
            {"runtime": "python3.11", "handler": "handler"}, {}, "FILE.FUNCTION", id="bad-handler"
        ),
    ],
)
def test_refusals_say_what_to_fix(
    settings: dict[str, Any], flags: dict[str, str], says: str
) -> None:
    with pytest.raises(ProjectError, match=None) as excinfo:
        _project(settings, **flags)
    assert says in str(excinfo.value)


@pytest.mark.parametrize(
    ("document", "says"),
    [
        pytest.param(["runtime"], "must be a mapping", id="not-a-mapping"),
        pytest.param({"runtme": "python3.11"}, "unknown setting runtme", id="typo"),
        pytest.param({"runtime": 3.11}, "runtime must be text", id="number-runtime"),
        pytest.param({"memoryMB": 64}, "memoryMB must be a whole number from 128", id="memory"),
        pytest.param({"timeoutSeconds": "30"}, "timeoutSeconds must be", id="timeout-text"),
        pytest.param({"timeoutSeconds": True}, "timeoutSeconds must be", id="timeout-bool"),
    ],
)
def test_kappa_yaml_refusals(document: Any, says: str) -> None:
    with pytest.raises(ProjectError) as excinfo:
        read_kappa_yaml(document)
    assert says in str(excinfo.value)


def test_an_empty_kappa_yaml_is_no_settings() -> None:
    assert read_kappa_yaml(None) == {}


def test_layers_from_kappa_yaml_or_the_flags() -> None:
    from_yaml = _project({"runtime": "python3.11", "layers": ["shared", "deps"]})
    assert from_yaml.layers == ("shared", "deps")
    settings = read_kappa_yaml({"runtime": "python3.11", "layers": ["shared"]})
    from_flags = project(
        settings, NO_FLAGS, folder_name="f", context_namespace=None, layer_flags=["other"]
    )
    assert from_flags.layers == ("other",)


@pytest.mark.parametrize(
    ("layers", "says"),
    [
        pytest.param("shared", "layers must be a list", id="not-a-list"),
        pytest.param([f"l{i}" for i in range(6)], "up to 5 Layer names", id="six"),
        pytest.param([1], "layers must be a list", id="not-names"),
    ],
)
def test_bad_layers_in_kappa_yaml(layers: Any, says: str) -> None:
    with pytest.raises(ProjectError) as excinfo:
        read_kappa_yaml({"layers": layers})
    assert says in str(excinfo.value)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        pytest.param(["a", "a"], "each once", id="twice"),
        pytest.param(["Shared"], "layer 'Shared'", id="not-a-name"),
    ],
)
def test_bad_layer_flags(flags: list[str], says: str) -> None:
    with pytest.raises(ProjectError) as excinfo:
        project(
            {"runtime": "python3.11"},
            NO_FLAGS,
            folder_name="f",
            context_namespace=None,
            layer_flags=flags,
        )
    assert says in str(excinfo.value)


def test_durable_from_kappa_yaml_goes_to_the_project() -> None:
    durable = {"executionTimeoutSeconds": 600, "retentionPeriodInDays": 1}
    assert _project({"runtime": "python3.11", "durable": durable}).durable == durable


@pytest.mark.parametrize(
    "durable",
    [
        pytest.param("yes", id="not-a-mapping"),
        pytest.param({"executionTimeoutSeconds": "600"}, id="not-a-number"),
        pytest.param({"executionTimeoutSeconds": True}, id="a-boolean"),
    ],
)
def test_bad_durable_in_kappa_yaml(durable: Any) -> None:
    with pytest.raises(ProjectError) as excinfo:
        read_kappa_yaml({"durable": durable})
    assert "durable must be a mapping of whole numbers" in str(excinfo.value)
