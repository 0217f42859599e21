"""`code.url`: the agent fetches the archive, checks its sha256 and unzips it before the runtimes start."""

from __future__ import annotations

import hashlib
import http.server
import stat
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.integration.agent.agent_harness import StartAgent, python_bootstrap
from tests.unit.agent.archives import make_zip

HANDLERS = Path(__file__).parent / "handlers"


Served = tuple[str, bytes]
"""An archive's URL on loopback and its sha256."""


@pytest.fixture
def serve_archive(tmp_path: Path) -> Iterator[Callable[[list[tuple[str, bytes, int]]], Served]]:
    """Serve a zip of (name, content, st_mode) members over HTTP on loopback."""
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(members: list[tuple[str, bytes, int]]) -> Served:
        archive = make_zip(served / "code.zip", members)
        port = server.server_address[1]
        return f"http://127.0.0.1:{port}/code.zip", hashlib.sha256(archive.read_bytes()).digest()

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def code_server(serve_archive: Callable[[list[tuple[str, bytes, int]]], Served]) -> Served:
    """(URL, sha256) of a zip of handlers/app.py."""
    return serve_archive([("app.py", (HANDLERS / "app.py").read_bytes(), stat.S_IFREG | 0o644)])


def test_code_from_url_is_unpacked_and_run(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, code_server: Served
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


def failed_init(start_agent: StartAgent, tmp_path: Path, url: str, digest: bytes) -> object:
    """The termination message of an agent whose code at ``url`` cannot be put in place."""
    agent = start_agent(
        handler="app.echo",
        bootstrap=python_bootstrap(tmp_path),
        code_url=url,
        code_sha256=digest.hex(),
        wait_ready=False,
    )
    assert agent.exit_status() == 1
    return agent.termination_message()


def test_checksum_mismatch_is_an_init_error(
    start_agent: StartAgent, task_root: Path, tmp_path: Path, code_server: Served
) -> None:
    url, digest = code_server
    wrong = bytes(32)
    assert failed_init(start_agent, tmp_path, url, wrong) == {
        "errorType": "Kappa.CodeChecksumMismatch",
        "errorMessage": f"code archive sha256 is {digest.hex()}, expected {wrong.hex()}",
    }
    assert not (task_root / "app.py").exists()


def test_unreachable_code_url_is_an_init_error(
    start_agent: StartAgent, tmp_path: Path, code_server: Served
) -> None:
    url, digest = code_server
    message = failed_init(start_agent, tmp_path, url.replace("code.zip", "missing.zip"), digest)
    assert isinstance(message, dict)
    assert message["errorType"] == "Kappa.CodeFetchFailed"
    assert "404" in message["errorMessage"]


def test_an_archive_that_writes_through_a_symlink_is_an_init_error(
    start_agent: StartAgent,
    tmp_path: Path,
    serve_archive: Callable[[list[tuple[str, bytes, int]]], Served],
) -> None:
    url, digest = serve_archive(
        [
            ("app.py", (HANDLERS / "app.py").read_bytes(), stat.S_IFREG | 0o644),
            ("dir", b".", stat.S_IFLNK | 0o777),
            ("dir", b"overwrite through the link", stat.S_IFREG | 0o644),
        ]
    )
    assert failed_init(start_agent, tmp_path, url, digest) == {
        "errorType": "Kappa.CodeArchiveInvalid",
        "errorMessage": "'dir': a symlink of that name is unpacked before it; "
        "writing through a symlink is refused",
    }
