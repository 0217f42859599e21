"""`code.url`: the agent fetches the archive, checks its sha256 and unzips it before the runtimes start."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import StartAgent, python_bootstrap, serving

HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture
def code_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """(URL, sha256) of a zip of handlers/app.py, served over HTTP on loopback."""
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "code.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(HANDLERS / "app.py", "app.py")
    with serving(served) as base:
        yield f"{base}/code.zip", hashlib.sha256(archive.read_bytes()).digest()


def test_code_from_url_is_unpacked_and_run(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, code_server: tuple[str, bytes]
) -> None:
    url, digest = code_server
    agent = start_agent(
        handler="app.echo",
        bootstrap=python_bootstrap(tmp_path),
        code_url=url,
        code_sha256=digest.hex(),
    )
    assert (task_root / "app.py").is_file()
    result = agent.invoke({"x": 1}).json()
    assert isinstance(result, dict)
    assert result["event"] == {"x": 1}
    assert "code: 1 file(s) unpacked" in agent.output()


def test_checksum_mismatch_is_an_init_error(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, code_server: tuple[str, bytes]
) -> None:
    url, digest = code_server
    wrong = bytes(32)
    agent = start_agent(
        handler="app.echo",
        bootstrap=python_bootstrap(tmp_path),
        code_url=url,
        code_sha256=wrong.hex(),
        wait_ready=False,
    )
    assert agent.exit_status() == 1
    assert agent.termination_message() == {
        "errorType": "Kappa.CodeChecksumMismatch",
        "errorMessage": f"code archive sha256 is {digest.hex()}, expected {wrong.hex()}",
    }
    assert not (task_root / "app.py").exists()


def test_unreachable_code_url_is_an_init_error(
    start_agent: StartAgent, tmp_path: Path, code_server: tuple[str, bytes]
) -> None:
    url, digest = code_server
    agent = start_agent(
        handler="app.echo",
        bootstrap=python_bootstrap(tmp_path),
        code_url=url.replace("code.zip", "missing.zip"),
        code_sha256=digest.hex(),
        wait_ready=False,
    )
    assert agent.exit_status() == 1
    message = agent.termination_message()
    assert message["errorType"] == "Kappa.CodeFetchFailed"
    assert "404" in message["errorMessage"]
