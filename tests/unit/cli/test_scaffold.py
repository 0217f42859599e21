import pytest

from kappa.api.function import NODEJS_RUNTIMES, PYTHON_RUNTIMES
from kappa.cli.scaffold import RUNTIMES, scaffold


@pytest.mark.parametrize("runtime", PYTHON_RUNTIMES)
def test_python_folder(runtime: str) -> None:
    files = scaffold("hello", runtime)
    assert set(files) == {"kappa.yaml", "app.py", "requirements.txt"}
    assert "def handler(event, context):" in files["app.py"]
    assert f"runtime: {runtime}\n" in files["kappa.yaml"]
    assert "handler: app.handler\n" in files["kappa.yaml"]
    compile(files["app.py"], "app.py", "exec")


@pytest.mark.parametrize("runtime", NODEJS_RUNTIMES)
def test_node_folder(runtime: str) -> None:
    files = scaffold("hello", runtime)
    assert set(files) == {"kappa.yaml", "index.js", "package.json"}
    assert "exports.handler" in files["index.js"]
    assert '"name": "hello"' in files["package.json"]
    assert "handler: index.handler\n" in files["kappa.yaml"]


def test_every_runtime_with_a_handler_is_scaffolded() -> None:
    assert set(RUNTIMES) == {*PYTHON_RUNTIMES, *NODEJS_RUNTIMES}


@pytest.mark.parametrize("runtime", ["provided", "image", "python2.7"])
def test_other_runtimes_are_refused_with_the_choices(runtime: str) -> None:
    with pytest.raises(ValueError, match=r"choose one of python3\.11"):
        scaffold("hello", runtime)
