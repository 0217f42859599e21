"""The real code store on a temporary volume, over HTTP: uploads, downloads, refusals.

The agent's own fetcher (kappa.agent.code_archive.install) downloads a package by the
URL the upload answered, checks its sha256 and unpacks it, as a function pod does.
"""

import asyncio
import hashlib
import io
import os
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kappa.agent import code_archive
from kappa.agent.code_archive import CodeError, install
from kappa.codestore.blobs import Blobs
from kappa.codestore.capability import package_key, package_url
from kappa.codestore.metrics import CodeStoreMetrics
from kappa.codestore.server import StoreConfig, make_app

TOKEN = "gateway-token"  # noqa: S105 - a test token
MAX = 4 * 1024 * 1024
UPLOADER = {"Authorization": f"Bearer {TOKEN}"}


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


async def _only_the_gateway(authorization: str | None) -> bool:
    return authorization == f"Bearer {TOKEN}"


Scenario = Callable[[aiohttp.ClientSession, str, Blobs], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario, *, max_uploads: int = 4) -> CodeStoreMetrics:
    async def main() -> None:
        blobs = Blobs(tmp_path / "volume")
        blobs.prepare()
        key = blobs.signing_key()
        runner = web.AppRunner(
            make_app(blobs, StoreConfig("", key, MAX, max_uploads), metrics, _only_the_gateway)
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession(base) as session:
                await scenario(session, base, blobs)
        finally:
            await runner.cleanup()

    metrics = CodeStoreMetrics()
    asyncio.run(asyncio.wait_for(main(), 60))
    return metrics


async def _upload(
    session: aiohttp.ClientSession, namespace: str, data: Any, sha: str, **headers: str
) -> tuple[int, dict[str, Any]]:
    body = io.BytesIO(data) if isinstance(data, bytes) else data
    async with session.put(
        f"/v1/packages/{namespace}/{sha}", data=body, headers={**UPLOADER, **headers}
    ) as response:
        return response.status, await response.json()


def _with_base(url: str, base: str) -> str:
    # StoreConfig("") gives URLs without a host; a real store has its Service's URL.
    return base + url if url.startswith("/") else url


def test_a_package_round_trips_and_the_agent_installs_it(tmp_path: Path) -> None:
    package = _zip({"handler.py": b"def handler(e, c):\n    return 1\n",
                    "blob.bin": os.urandom(2 * 1024 * 1024)})  # fmt: skip
    sha = hashlib.sha256(package).hexdigest()

    async def scenario(session: aiohttp.ClientSession, base: str, blobs: Blobs) -> None:
        status, answer = await _upload(session, "team-a", package, sha)
        assert status == 201
        assert answer["sha256"] == sha
        assert answer["size"] == len(package)
        url = _with_base(answer["url"], base)
        assert f"/v1/packages/team-a/{sha}?sig=" in url
        async with session.get(url) as response:
            assert response.status == 200
            assert await response.read() == package
        root = tmp_path / "task"
        written = await asyncio.to_thread(install, url, bytes.fromhex(sha), root)
        assert written == 2
        assert (root / "handler.py").read_bytes().startswith(b"def handler")
        # The same bytes again: 200, the same URL, one package.
        status, again = await _upload(session, "team-a", package, sha)
        assert (status, again["url"]) == (200, answer["url"])
        assert len(blobs.list()) == 1

    metrics = _run(tmp_path, scenario)
    assert metrics.packages._value.get() == 1  # noqa: SLF001 - the gauge's value
    assert metrics.bytes._value.get() == len(package)  # noqa: SLF001


def test_hostile_requests_get_4xx_and_the_store_keeps_serving(tmp_path: Path) -> None:
    package = _zip({"handler.py": b"x = 1\n"})
    sha = hashlib.sha256(package).hexdigest()
    other = hashlib.sha256(b"other").hexdigest()

    async def scenario(session: aiohttp.ClientSession, base: str, blobs: Blobs) -> None:
        # No token, a wrong token: 401, nothing stored.
        async with session.put(f"/v1/packages/team-a/{sha}", data=io.BytesIO(package)) as response:
            assert response.status == 401
        status, _ = await _upload(session, "team-a", package, sha, Authorization="Bearer nope")
        assert status == 401
        # Bytes that are not the sha256 named: 400.
        status, answer = await _upload(session, "team-a", package, other)
        assert status == 400
        assert sha in answer["message"]
        # Larger than the store takes, declared or streamed: 413.
        status, _ = await _upload(session, "team-a", b"x" * (MAX + 1), other)
        assert status == 413

        async def endless() -> AsyncIterator[bytes]:
            for _ in range(MAX // 65536 + 2):
                yield b"y" * 65536

        async with session.put(
            f"/v1/packages/team-a/{other}", data=endless(), headers=UPLOADER
        ) as response:
            assert response.status in (411, 413)
        # Names that are not a namespace and a sha256: 400, never a path on the volume.
        for path in (f"/v1/packages/..%2F..%2Fetc/{sha}", f"/v1/packages/%2e%2e/{sha}",
                     f"/v1/packages/team-a/{sha.upper()}", "/v1/packages/team-a/..%2Fsigning-key",
                     f"/v1/packages/Team-A/{sha}"):  # fmt: skip
            async with session.put(path, data=io.BytesIO(package), headers=UPLOADER) as response:
                assert response.status in (400, 404), path
            async with session.get(path + "?sig=" + "0" * 64) as response:
                assert response.status in (400, 404), path
        assert blobs.list() == []
        assert [p.name for p in (tmp_path / "volume" / "tmp").iterdir()] == []

        # A good upload still works; its capability reads it and nothing else.
        status, answer = await _upload(session, "team-a", package, sha)
        assert status == 201
        url = _with_base(answer["url"], base)
        signature = url.rpartition("sig=")[2]
        for wrong in (
            f"/v1/packages/team-a/{sha}",  # no signature
            f"/v1/packages/team-a/{sha}?sig={'0' * 64}",  # a made-up one
            f"/v1/packages/team-b/{sha}?sig={signature}",  # another namespace's path
            f"/v1/packages/team-a/{sha}?sig={signature[:-1]}{'0' if signature[-1] != '0' else '1'}",
        ):
            async with session.get(wrong) as response:
                assert response.status == 403, wrong
        # Signed with the store's key, but for a package that is not there: 404.
        missing = package_url(base, blobs.signing_key(), package_key("team-b", sha))
        async with session.get(missing) as response:
            assert response.status == 404
        async with session.get(url) as response:
            assert response.status == 200
            assert await response.read() == package
        async with session.get("/healthz") as response:
            assert response.status == 200

    _run(tmp_path, scenario)


def test_the_agent_refuses_a_package_whose_sha256_differs(tmp_path: Path) -> None:
    package = _zip({"handler.py": b"x = 1\n"})
    sha = hashlib.sha256(package).hexdigest()

    async def scenario(session: aiohttp.ClientSession, base: str, _blobs: Blobs) -> None:
        _, answer = await _upload(session, "team-a", package, sha)
        url = _with_base(answer["url"], base)
        with pytest.raises(CodeError) as refused:
            await asyncio.to_thread(install, url, b"\x00" * 32, tmp_path / "task")
        assert refused.value.error.error_type == "Kappa.CodeChecksumMismatch"
        assert not (tmp_path / "task").exists()

    _run(tmp_path, scenario)


def test_uploads_past_the_bound_at_once_get_429(tmp_path: Path) -> None:
    package = _zip({"handler.py": b"x = 1\n"})
    sha = hashlib.sha256(package).hexdigest()

    async def scenario(session: aiohttp.ClientSession, _base: str, _blobs: Blobs) -> None:
        release = asyncio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield package[:10]
            await release.wait()
            yield package[10:]

        first = asyncio.create_task(
            _upload(session, "team-a", slow(), sha, **{"Content-Length": str(len(package))})
        )
        await asyncio.sleep(0.2)  # the first upload is under way (not a timing assertion)
        status, answer = await _upload(session, "team-a", package, sha)
        assert status == 429, answer
        release.set()
        assert (await first)[0] == 201

    _run(tmp_path, scenario, max_uploads=1)


def test_the_agent_stops_a_download_past_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _zip({"blob.bin": os.urandom(3 * 1024 * 1024)})
    sha = hashlib.sha256(package).hexdigest()
    monkeypatch.setattr(code_archive, "MAX_ARCHIVE_BYTES", 1024 * 1024)

    async def scenario(session: aiohttp.ClientSession, base: str, _blobs: Blobs) -> None:
        _, answer = await _upload(session, "team-a", package, sha)
        url = _with_base(answer["url"], base)
        with pytest.raises(CodeError) as refused:
            await asyncio.to_thread(install, url, bytes.fromhex(sha), tmp_path / "task")
        assert refused.value.error.error_type == "Kappa.CodeTooLarge"
        assert not (tmp_path / "task").exists()

    _run(tmp_path, scenario)
