import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kappa
from kappa import cli

SOURCE_ROOT = Path(__file__).resolve().parents[2] / "operator"


def test_version_via_main_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["version"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{kappa.__version__}\n"
    assert captured.err == ""


def test_version_via_python_dash_m_prints_the_package_version(tmp_path: Path) -> None:
    # PYTHONPATH pins the source tree under test, whatever copy of kappa is installed.
    result = subprocess.run(
        [sys.executable, "-m", "kappa", "version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(SOURCE_ROOT), "PATH": ""},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{kappa.__version__}\n"


def test_gateway_help_names_the_registry_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["gateway", "--help"])
    assert excinfo.value.code == 0
    assert "--registry FILE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="no-command"),
        pytest.param(["frobnicate"], id="unknown-command"),
    ],
)
def test_bad_usage_exits_with_status_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    assert excinfo.value.code == 2


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(["init", "--help"], "--runtime", id="init"),
        pytest.param(["deploy", "--help"], "--dry-run", id="deploy"),
        pytest.param(["invoke", "--help"], "--payload", id="invoke"),
        pytest.param(["logs", "--help"], "--request-id", id="logs"),
        pytest.param(["url", "--help"], "--kappa-namespace", id="url"),
        pytest.param(["layer", "publish", "--help"], "--name", id="layer-publish"),
    ],
)
def test_the_authors_commands(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        cli.main(argv)
    assert excinfo.value.code == 0
    assert says in capsys.readouterr().out


def test_the_kubectl_plugin_runs_the_same_command() -> None:
    scripts = tomllib.loads((SOURCE_ROOT.parent / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    assert scripts["kubectl-kappa"] == scripts["kappa"] == "kappa.cli:main"
