"""Layers: the real agent fetches each layer, checks it, unpacks them in order under its
/opt (KAPPA_OPT_ROOT here) before the runtimes start, and the real runtime imports from
/opt/python/lib/python3.11/site-packages, then /opt/python, as the python3.11 image's own
bootstrap puts them on the path."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import StartAgent, serving

HANDLER = """\
import greeting
import extra


def handler(event, context):
    return {"greeting": greeting.greet(event["name"]), "extra": extra.VALUE}
"""


@pytest.fixture
def layer_server(tmp_path: Path) -> Iterator[list[tuple[str, str]]]:
    """(URL, sha256) of two layers served over HTTP on loopback; the second replaces a file."""
    served = tmp_path / "served"
    served.mkdir()
    contents = [
        {
            "python/greeting.py": "def greet(n):\n    return 'hello ' + n\n",
            # Where Lambda's Python layers keep their dependencies, before /opt/python.
            "python/lib/python3.11/site-packages/extra.py": "VALUE = 1\n",
            "python/extra.py": "VALUE = 'shadowed'\n",
        },
        {"python/greeting.py": "def greet(n):\n    return 'hi ' + n\n"},
    ]
    for index, files in enumerate(contents):
        with zipfile.ZipFile(served / f"layer-{index}.zip", "w") as zipped:
            for name, text in files.items():
                zipped.writestr(name, text)
    with serving(served) as base:
        yield [
            (
                f"{base}/layer-{index}.zip",
                hashlib.sha256((served / f"layer-{index}.zip").read_bytes()).hexdigest(),
            )
            for index in range(len(contents))
        ]


REAL_BOOTSTRAP = Path(__file__).parents[3] / "runtime-images/runtime-python3.11/bootstrap"


def _bootstrap(directory: Path, opt: Path) -> Path:
    """The python3.11 image's own bootstrap, with this test's /opt and interpreter."""
    text = REAL_BOOTSTRAP.read_text()
    assert ":/opt/python" in text  # what is replaced
    assert "/usr/bin/python3 " in text
    path = directory / "bootstrap-layers"
    path.write_text(
        text.replace(":/opt/", f":{opt}/").replace("/usr/bin/python3 ", f"{sys.executable} ")
    )
    path.chmod(0o755)
    return path


def test_layers_are_unpacked_in_order_and_imported(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, layer_server: list[tuple[str, str]]
) -> None:
    (task_root / "app.py").write_text(HANDLER)
    opt = tmp_path / "opt"
    agent = start_agent(
        handler="app.handler",
        bootstrap=_bootstrap(tmp_path, opt),
        layers=json.dumps([{"url": url, "sha256": sha} for url, sha in layer_server]),
        opt_root=str(opt),
    )
    assert agent.invoke({"name": "x"}).json() == {"greeting": "hi x", "extra": 1}
    assert "layers: 4 file(s) of 2" in agent.output()


def test_a_layer_with_another_checksum_is_an_init_error(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, layer_server: list[tuple[str, str]]
) -> None:
    (task_root / "app.py").write_text(HANDLER)
    (url, sha), _ = layer_server
    agent = start_agent(
        handler="app.handler",
        bootstrap=_bootstrap(tmp_path, tmp_path / "opt"),
        layers=json.dumps([{"url": url, "sha256": "00" * 32}]),
        opt_root=str(tmp_path / "opt"),
        wait_ready=False,
    )
    assert agent.exit_status() == 1
    assert agent.termination_message() == {
        "errorType": "Kappa.CodeChecksumMismatch",
        "errorMessage": f"layer 0 sha256 is {sha}, expected {'00' * 32}",
    }
